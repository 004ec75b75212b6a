//! Model providers: where AI work runs, what its tokens cost, and how long
//! a call may wait on an upstream — the cockpit's view of `tutti provider …`.
//! Everyone sees them (never a key); admins add a provider, change its call
//! limits and set a model's prices, through the same use cases as the API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::Invalid;
use tutti_domain::access::Action;
use tutti_domain::labour::{CallLimits, LimitsPatch, Prices, Provider, ProviderKind, parse_money};
use tutti_engine::labour;
use tutti_i18n::args;
use tutti_store::prelude::*;
use tutti_store::{NewModel, NewProvider};
use uuid::Uuid;

use super::{Form, Nav, PageId, Web, see_other};
use crate::{ApiError, AppState};

/// A provider's call limits as typed, in seconds; empty keeps a limit (or,
/// for a new provider, takes the default).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct LimitsForm {
    #[serde(default)]
    connect: String,
    #[serde(default)]
    first_byte: String,
    #[serde(default)]
    idle: String,
    #[serde(default)]
    deadline: String,
}

impl LimitsForm {
    fn patch(&self) -> Result<LimitsPatch, Invalid> {
        let secs = |field: &str, text: &str| -> Result<Option<u32>, Invalid> {
            let text = text.trim();
            if text.is_empty() {
                return Ok(None);
            }
            text.parse().map(Some).map_err(|_| {
                Invalid::new(field, format!("`{text}` is not a whole number of seconds"))
            })
        };
        Ok(LimitsPatch {
            connect_timeout_secs: secs("connect_timeout_secs", &self.connect)?,
            first_byte_timeout_secs: secs("first_byte_timeout_secs", &self.first_byte)?,
            idle_timeout_secs: secs("idle_timeout_secs", &self.idle)?,
            deadline_secs: secs("deadline_secs", &self.deadline)?,
        })
    }

    fn of(limits: CallLimits) -> Self {
        Self {
            connect: limits.connect_timeout_secs.to_string(),
            first_byte: limits.first_byte_timeout_secs.to_string(),
            idle: limits.idle_timeout_secs.to_string(),
            deadline: limits.deadline_secs.to_string(),
        }
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ProviderForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    base_url: String,
    /// Kept in the store, never shown again.
    #[serde(default)]
    api_key: String,
    #[serde(default)]
    api_key_env: String,
    #[serde(flatten)]
    limits: LimitsForm,
}

/// A model's prices per million tokens, in the org's currency as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ModelForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    input: String,
    /// Empty: the input price.
    #[serde(default)]
    cached_input: String,
    #[serde(default)]
    output: String,
}

/// Which form a refusal belongs to, with what was typed into it.
#[derive(Debug, Clone)]
enum Refused {
    Add(ProviderForm),
    Limits(Uuid, LimitsForm),
    Model(Uuid, ModelForm),
}

/// What the page shows again after a refusal: the draft and why.
#[derive(Default)]
struct Draft {
    refused: Option<(Refused, Markup)>,
}

pub async fn page<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    render(&state, &web, Draft::default(), StatusCode::OK).await
}

async fn render<S: Store>(
    state: &AppState<S>,
    web: &Web,
    draft: Draft,
    status: StatusCode,
) -> Response {
    let rendered = body(state, web, &draft).await;
    web.show_with_status(status, rendered, "providers-title", Nav::Ledger)
}

fn optional(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

async fn body<S: Store>(state: &AppState<S>, web: &Web, draft: &Draft) -> Result<Markup, ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let providers = state.store.providers(web.actor.org_id).await?;
    let admin = web.actor.may(Action::ManageProviders).is_ok();
    let problem_for = |target: &dyn Fn(&Refused) -> bool| {
        draft
            .refused
            .as_ref()
            .filter(|(r, _)| target(r))
            .map(|(_, markup)| markup.clone())
    };
    let add = match &draft.refused {
        Some((Refused::Add(form), _)) => form.clone(),
        _ => ProviderForm {
            limits: LimitsForm::of(CallLimits::default()),
            ..ProviderForm::default()
        },
    };
    Ok(html! {
        (super::ledger::sections(t, "providers"))
        section.card aria-labelledby="providers-h" {
            h2 #providers-h { (t.get("providers-list")) }
            p.quiet { (t.get("providers-intro")) }
            @if providers.is_empty() { p.quiet { (t.get("providers-none")) } }
            @for provider in &providers {
                @let limits_draft = match &draft.refused {
                    Some((Refused::Limits(id, form), _)) if *id == provider.id => form.clone(),
                    _ => LimitsForm::of(provider.limits),
                };
                @let model_draft = match &draft.refused {
                    Some((Refused::Model(id, form), _)) if *id == provider.id => form.clone(),
                    _ => ModelForm::default(),
                };
                (provider_card(web, provider, admin, &limits_draft, &model_draft,
                    problem_for(&|r| matches!(r, Refused::Limits(id, _) if *id == provider.id)),
                    problem_for(&|r| matches!(r, Refused::Model(id, _) if *id == provider.id))))
            }
        }
        @if admin {
            section.card aria-labelledby="provider-add-h" {
                h2 #provider-add-h { (t.get("providers-add")) }
                p.quiet { (t.get("providers-add-intro")) }
                @if let Some(problem) = problem_for(&|r| matches!(r, Refused::Add(_))) { (problem) }
                form.stacked method="post" action="/providers" aria-labelledby="provider-add-h" {
                    (web.csrf_field())
                    label { (t.get("providers-name")) " " input type="text" name="name" required maxlength="200" value=(add.name); }
                    label { (t.get("providers-kind")) " "
                        select name="kind" {
                            option value="openai" selected[add.kind != "embedded"] { (t.get("providers-kind-openai")) }
                            option value="embedded" selected[add.kind == "embedded"] { (t.get("providers-kind-embedded")) }
                        }
                    }
                    label { (t.get("providers-base-url")) " " input type="url" name="base_url" size="50" placeholder="http://127.0.0.1:8000/v1" value=(add.base_url); }
                    label { (t.get("providers-api-key")) " " input type="password" name="api_key" autocomplete="off" size="40"; }
                    label { (t.get("providers-api-key-env")) " " input type="text" name="api_key_env" placeholder="OPENAI_API_KEY" value=(add.api_key_env); }
                    (limit_fields(web, &add.limits))
                    button type="submit" { (t.get("providers-add-save")) }
                }
            }
        }
    })
}

fn provider_card(
    web: &Web,
    provider: &Provider,
    admin: bool,
    limits: &LimitsForm,
    model: &ModelForm,
    limits_problem: Option<Markup>,
    model_problem: Option<Markup>,
) -> Markup {
    let t = &web.t;
    let key = match (&provider.api_key_env, provider.has_stored_key) {
        (Some(var), _) => t.with("providers-key-env", &args([("var", var.as_str())])),
        (None, true) => t.get("providers-key-stored"),
        (None, false) => t.get("providers-key-none"),
    };
    let l = provider.limits;
    let secs = |s: u32| t.with("seconds", &args([("n", f64::from(s))]));
    let heading = format!("provider-{}-h", provider.id);
    html! {
        article.provider aria-labelledby=(heading) {
            h3 id=(heading) { (provider.name) " " span.badge { (t.get(&format!("providers-kind-{}", provider.kind))) } }
            dl.facts {
                @if let Some(url) = &provider.base_url { dt { (t.get("providers-base-url")) } dd { code { (url) } } }
                @if provider.kind == ProviderKind::Openai {
                    dt { (t.get("providers-api-key")) } dd { (key) }
                    dt { (t.get("providers-limits")) }
                    dd { (t.with("providers-limits-are", &args([
                        ("connect", secs(l.connect_timeout_secs)),
                        ("first_byte", secs(l.first_byte_timeout_secs)),
                        ("idle", secs(l.idle_timeout_secs)),
                        ("deadline", secs(l.deadline_secs)),
                    ]))) }
                }
            }
            @if provider.models.is_empty() { p.quiet { (t.get("providers-no-models")) } }
            @else {
                table.models {
                    caption { (t.get("providers-models")) }
                    thead { tr {
                        th scope="col" { (t.get("providers-model")) }
                        th scope="col" { (t.get("providers-price-input")) }
                        th scope="col" { (t.get("providers-price-cached")) }
                        th scope="col" { (t.get("providers-price-output")) }
                    } }
                    tbody { @for m in &provider.models { tr {
                        th scope="row" { code { (m.name) } }
                        td { (web.money(m.prices.input)) }
                        td { (web.money(m.prices.cached_input)) }
                        td { (web.money(m.prices.output)) }
                    } } }
                }
            }
            @if admin {
                @if provider.kind == ProviderKind::Openai {
                    details open[limits_problem.is_some()] {
                        summary { (t.get("providers-limits-change")) }
                        p.quiet { (t.get("providers-limits-intro")) }
                        @if let Some(problem) = limits_problem { (problem) }
                        form.stacked method="post" action=(format!("/providers/{}/limits", provider.id)) {
                            (web.csrf_field())
                            (limit_fields(web, limits))
                            button type="submit" { (t.get("providers-limits-save")) }
                        }
                    }
                }
                details open[model_problem.is_some()] {
                    summary { (t.get("providers-model-change")) }
                    p.quiet { (t.get("providers-model-intro")) }
                    @if let Some(problem) = model_problem { (problem) }
                    form.stacked method="post" action=(format!("/providers/{}/models", provider.id)) {
                        (web.csrf_field())
                        label { (t.get("providers-model")) " " input type="text" name="name" required maxlength="200" value=(model.name); }
                        label { (t.get("providers-price-input")) " " input type="text" inputmode="decimal" name="input" required placeholder="0,15" value=(model.input); }
                        label { (t.get("providers-price-cached")) " " input type="text" inputmode="decimal" name="cached_input" placeholder=(t.get("providers-price-cached-default")) value=(model.cached_input); }
                        label { (t.get("providers-price-output")) " " input type="text" inputmode="decimal" name="output" required placeholder="0,60" value=(model.output); }
                        button type="submit" { (t.get("providers-model-save")) }
                    }
                }
            }
        }
    }
}

/// The four limits, in seconds.
fn limit_fields(web: &Web, limits: &LimitsForm) -> Markup {
    let t = &web.t;
    let max = CallLimits::MAX_SECS;
    html! {
        fieldset {
            legend { (t.get("providers-limits")) }
            label { (t.get("providers-limit-connect")) " " input type="number" name="connect" min="1" max=(max) value=(limits.connect); }
            label { (t.get("providers-limit-first-byte")) " " input type="number" name="first_byte" min="1" max=(max) value=(limits.first_byte); }
            label { (t.get("providers-limit-idle")) " " input type="number" name="idle" min="1" max=(max) value=(limits.idle); }
            label { (t.get("providers-limit-deadline")) " " input type="number" name="deadline" min="1" max=(max) value=(limits.deadline); }
        }
    }
}

/// Ends a form's POST: back to the page on success; a refused input shown
/// again above its form with the draft; anything else as an error page.
async fn answer<S: Store>(
    state: &AppState<S>,
    web: Web,
    done: Result<(), ApiError>,
    refused: Refused,
) -> Response {
    match done {
        Ok(()) => see_other("/providers"),
        Err(e @ ApiError::Invalid(_)) => {
            let draft = Draft {
                refused: Some((refused, web.form_problem(&e))),
            };
            render(state, &web, draft, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => web.error(e),
    }
}

pub async fn add<S: Store>(State(state): State<AppState<S>>, form: Form<ProviderForm>) -> Response {
    let Form { web, value } = form;
    let done = async {
        let kind = value
            .kind
            .parse::<ProviderKind>()
            .map_err(|e| Invalid::new("kind", e))?;
        let new = NewProvider {
            name: value.name.clone(),
            kind,
            base_url: optional(&value.base_url),
            api_key_env: optional(&value.api_key_env),
            api_key: optional(&value.api_key),
            limits: value.limits.patch()?.applied_to(CallLimits::default())?,
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        labour::create_provider(&state.store, &web.actor, &ctx, new).await?;
        Ok(())
    }
    .await;
    // The key is never shown again, not even in a refused draft.
    let draft = ProviderForm {
        api_key: String::new(),
        ..value
    };
    answer(&state, web, done, Refused::Add(draft)).await
}

pub async fn set_limits<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<LimitsForm>,
) -> Response {
    let Form { web, value } = form;
    let done = async {
        let patch = value.patch()?;
        let ctx = crate::api::ctx(&state, &web.actor);
        labour::update_limits(&state.store, &web.actor, &ctx, id, patch).await?;
        Ok(())
    }
    .await;
    answer(&state, web, done, Refused::Limits(id, value)).await
}

pub async fn set_model<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<ModelForm>,
) -> Response {
    let Form { web, value } = form;
    let done = async {
        let input = parse_money("input_price", &value.input)?;
        let cached_input = match optional(&value.cached_input) {
            Some(text) => parse_money("cached_input_price", &text)?,
            None => input,
        };
        let output = parse_money("output_price", &value.output)?;
        let model = NewModel {
            name: value.name.clone(),
            prices: Prices {
                input,
                cached_input,
                output,
            },
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        labour::put_model(&state.store, &web.actor, &ctx, id, model).await?;
        Ok(())
    }
    .await;
    answer(&state, web, done, Refused::Model(id, value)).await
}
