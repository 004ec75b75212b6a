//! Alerts: every signal that fired, open and cleared, with its explanation
//! and where to act; and, for admins, the webhooks alerts are sent to, with
//! each one's latest deliveries (retries, errors) — the cockpit's view of
//! `tutti alert …` and `tutti webhook …`.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::access::Action;
use tutti_domain::signal::{Audience, WebhookFormat};
use tutti_engine::signals::{directory, explain};
use tutti_store::prelude::*;
use tutti_store::{AlertFilter, DeliveryStatus, NewWebhook};

use super::{Form, Nav, PageId, Web, see_other};
use crate::{ApiError, AppState};

/// How many alerts the page lists, newest first.
const ALERTS_SHOWN: u32 = 100;
/// How many deliveries each webhook shows.
const DELIVERIES_SHOWN: u32 = 10;

#[derive(Debug, Default, Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    format: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    locale: String,
    /// Empty: every alert.
    #[serde(default)]
    team: Option<String>,
}

/// `?mine=1` lists only the reader's alerts (about them, in their teams).
#[derive(Debug, Default, Deserialize)]
pub struct AlertsQuery {
    mine: Option<String>,
}

/// What the add form shows again after a refusal: the draft and why.
#[derive(Default)]
struct Draft {
    form: WebhookForm,
    problem: Option<Markup>,
    mine: bool,
}

pub async fn page<S: Store>(
    State(state): State<AppState<S>>,
    web: Web,
    Query(query): Query<AlertsQuery>,
) -> Response {
    let draft = Draft {
        mine: query.mine.as_deref() == Some("1"),
        ..Draft::default()
    };
    render(&state, &web, draft, StatusCode::OK).await
}

async fn render<S: Store>(
    state: &AppState<S>,
    web: &Web,
    draft: Draft,
    status: StatusCode,
) -> Response {
    let rendered = body(state, web, draft).await;
    web.show_with_status(status, rendered, "alerts-title", Nav::Alerts)
}

async fn body<S: Store>(state: &AppState<S>, web: &Web, draft: Draft) -> Result<Markup, ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let filter = AlertFilter {
        include_cleared: true,
        audience: if draft.mine {
            Audience::of(&web.actor)
        } else {
            Audience::Everyone
        },
    };
    let alerts = state.store.alerts(org_id, &filter, ALERTS_SHOWN).await?;
    let members = directory(&state.store, org_id).await?;
    let teams = super::team_names(&state.store, org_id).await?;
    let admin = web.actor.may(Action::ManageOrg).is_ok();
    let mut hooks = Vec::new();
    if admin {
        for hook in state.store.webhooks(org_id).await? {
            let deliveries = state
                .store
                .latest_deliveries(org_id, hook.id, DELIVERIES_SHOWN)
                .await?;
            hooks.push((hook, deliveries));
        }
    }
    let mut team_choices: Vec<(&uuid::Uuid, &String)> = teams.iter().collect();
    team_choices.sort_by(|a, b| a.1.cmp(b.1));
    let kinds: std::collections::HashMap<_, _> = alerts.iter().map(|a| (a.id, a.kind)).collect();
    let form = &draft.form;
    Ok(html! {
        section.card aria-labelledby="alerts-h" {
            h2 #alerts-h { (t.get(if draft.mine { "alerts-mine" } else { "alerts-all" })) }
            nav.scope aria-label=(t.get("alerts-scope")) {
                (t.get("alerts-scope")) ": "
                a href="/alerts" aria-current=[(!draft.mine).then_some("page")] { (t.get("alerts-scope-all")) }
                " · "
                a href="/alerts?mine=1" aria-current=[draft.mine.then_some("page")] { (t.get("alerts-scope-mine")) }
            }
            @if alerts.is_empty() { p.quiet { (t.get(if draft.mine { "home-alerts-none-mine" } else { "home-no-alerts" })) } }
            @else {
                table.alerts-log {
                    thead { tr {
                        th scope="col" { (t.get("alerts-signal")) }
                        th scope="col" { (t.get("alerts-why")) }
                        th scope="col" { (t.get("alerts-concerns")) }
                        th scope="col" { (t.get("alerts-raised")) }
                        th scope="col" { (t.get("alerts-state")) }
                    } }
                    tbody {
                        @for alert in &alerts {
                            tr class=(if alert.cleared_at.is_some() { "cleared" } else { "open" }) {
                                td { a href=(alert.link) { (t.get(&format!("signal-title-{}", alert.kind))) } }
                                td { (explain(t, alert.kind, &alert.params)) }
                                td.concern {
                                    @let team = alert.concern.team_id.and_then(|id| teams.get(&id));
                                    @let person = alert.concern.person_id.and_then(|id| members.get(&id));
                                    @if let Some(team) = team { (team) }
                                    @if team.is_some() && person.is_some() { " · " }
                                    @if let Some(person) = person { (person.name) }
                                    @if team.is_none() && person.is_none() { span.quiet { (t.get("alerts-concerns-org")) } }
                                }
                                td { (t.datetime(alert.raised_at)) }
                                td { @match alert.cleared_at {
                                    Some(at) => { (t.get("alerts-cleared")) " " small.quiet { (t.datetime(at)) } }
                                    None => strong { (t.get("alerts-open")) }
                                } }
                            }
                        }
                    }
                }
            }
        }
        @if admin {
            section.card aria-labelledby="webhooks-h" {
                h2 #webhooks-h { (t.get("webhooks-title")) }
                p.quiet { (t.get("webhooks-intro")) }
                @if hooks.is_empty() { p.quiet { (t.get("webhooks-none")) } }
                @for (hook, deliveries) in &hooks {
                    article.webhook aria-label=(hook.name) {
                        h3 { (hook.name) " " span.badge { (hook.format) } " " small.quiet {
                            (hook.url_hint) " · " (hook.locale) " · "
                            @match hook.team_id.and_then(|id| teams.get(&id)) {
                                Some(team) => (t.with("webhooks-for-team", &tutti_i18n::args([("team", team.as_str())]))),
                                None => (t.get("webhooks-team-all")),
                            }
                        } }
                        form method="post" action=(format!("/webhooks/{}/delete", hook.id)) {
                            (web.csrf_field())
                            button.secondary type="submit" { (t.get("webhooks-delete")) }
                        }
                        @if deliveries.is_empty() { p.quiet { (t.get("webhooks-no-deliveries")) } }
                        @else {
                            table.deliveries {
                                caption { (t.get("webhooks-deliveries")) }
                                thead { tr {
                                    th scope="col" { (t.get("alerts-signal")) }
                                    th scope="col" { (t.get("alerts-state")) }
                                    th scope="col" { (t.get("webhooks-attempts")) }
                                    th scope="col" { (t.get("webhooks-when")) }
                                    th scope="col" { (t.get("webhooks-error")) }
                                } }
                                tbody {
                                    @for d in deliveries {
                                        tr {
                                            td { (kinds.get(&d.alert_id).map(|k| t.get(&format!("signal-title-{k}"))).unwrap_or_default()) }
                                            td { (t.get(match d.status {
                                                DeliveryStatus::Pending => "delivery-pending",
                                                DeliveryStatus::Delivered => "delivery-delivered",
                                                DeliveryStatus::Failed => "delivery-failed",
                                            })) }
                                            td { (d.attempts) }
                                            td { (t.datetime(d.delivered_at.unwrap_or(d.next_attempt_at))) }
                                            td { @if let Some(e) = &d.last_error { small { (e) } } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                h3 #webhook-add-h { (t.get("webhooks-add")) }
                @if let Some(problem) = &draft.problem { (problem) }
                form.stacked method="post" action="/webhooks" aria-labelledby="webhook-add-h" {
                    (web.csrf_field())
                    label { (t.get("webhooks-name")) " " input type="text" name="name" required maxlength="200" value=(form.name); }
                    label { (t.get("webhooks-format")) " "
                        select name="format" {
                            option value="slack" selected[form.format != "teams"] { "Slack" }
                            option value="teams" selected[form.format == "teams"] { "Microsoft Teams" }
                        }
                    }
                    label { (t.get("webhooks-url")) " " input type="url" name="url" required size="60" value=(form.url); }
                    label { (t.get("webhooks-locale")) " "
                        select name="locale" {
                            option value="de" selected[form.locale != "en"] { "Deutsch" }
                            option value="en" selected[form.locale == "en"] { "English" }
                        }
                    }
                    label { (t.get("webhooks-team")) " "
                        select name="team" {
                            option value="" { (t.get("webhooks-team-all")) }
                            @for (id, name) in &team_choices {
                                option value=(id) selected[form.team.as_deref() == Some(id.to_string().as_str())] { (name) }
                            }
                        }
                    }
                    button type="submit" { (t.get("webhooks-save")) }
                }
            }
        }
    })
}

pub async fn add_webhook<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<WebhookForm>,
) -> Response {
    let Form { web, value } = form;
    let added = async {
        let format = value
            .format
            .parse::<WebhookFormat>()
            .map_err(|e| tutti_domain::Invalid::new("format", e))?;
        let new = NewWebhook {
            name: value.name.clone(),
            format,
            url: value.url.clone(),
            locale: value.locale.clone(),
            team_id: super::optional_id("team", &value.team)?,
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        tutti_engine::signals::create_webhook(&state.store, &web.actor, &ctx, new).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match added {
        Ok(()) => see_other("/alerts#webhooks-h"),
        // A refused webhook stays in the form, with what is wrong above it.
        Err(e @ ApiError::Invalid(_)) => {
            let draft = Draft {
                form: value,
                problem: Some(web.form_problem(&e)),
                mine: false,
            };
            render(&state, &web, draft, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => web.error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct Nothing {}

pub async fn delete_webhook<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<Nothing>,
) -> Response {
    let web = form.web;
    let deleted = async {
        let ctx = crate::api::ctx(&state, &web.actor);
        tutti_engine::signals::delete_webhook(&state.store, &web.actor, &ctx, id).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match deleted {
        Ok(()) => see_other("/alerts#webhooks-h"),
        Err(e) => web.error(e),
    }
}
