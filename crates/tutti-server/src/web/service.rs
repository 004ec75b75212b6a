//! Service: the promises made to customers and the service catalogue — the
//! seed's three questions at a glance: which promises do we make, who
//! checks that they can be kept, and which are at risk or broken. Promises
//! at risk and overdue lead, then the ones broken this week, then every
//! open one; each with the steps the reader may take (sign off, pause,
//! resume, keep, break). Whoever belongs to a team makes promises here;
//! admins and leads shape the catalogue.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::access::Action;
use tutti_domain::service::{
    Feasibility, Promise, PromiseHealth, PromiseRiskRule, PromiseState, PromiseStep, ServiceKind,
};
use tutti_engine::service;
use tutti_store::prelude::*;
use tutti_store::{NewPromise, NewServiceProduct, PageRequest, PromiseFilter, PromiseOrder};
use uuid::Uuid;

use super::{Form, Nav, Web, optional_id, see_other};
use crate::{ApiError, AppState};

/// Broken promises shown: those closed within this many days, at most
/// [`BROKEN_SHOWN`].
const BROKEN_DAYS: i64 = 7;
const BROKEN_SHOWN: u32 = 50;
/// Open promises read, soonest due first: the urgent ones are among them.
const SOONEST_READ: u32 = 200;
/// Open promises on track shown, soonest due first.
const OPEN_SHOWN: usize = 25;
/// Weeks of arrived work the load chart shows.
const LOAD_WEEKS: u32 = 12;

#[derive(Debug, Default, Clone, Deserialize)]
pub struct PromiseForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    customer: String,
    /// `YYYY-MM-DDTHH:MM`, in the org's time zone.
    #[serde(default)]
    due: String,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    keeper: Option<String>,
    #[serde(default)]
    product: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct ProductForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    customer_group: String,
    #[serde(default)]
    description: String,
    /// One level per line.
    #[serde(default)]
    levels: String,
}

/// A refused draft the page shows again in its form, and whose load the
/// chart shows.
#[derive(Default)]
struct Drafts {
    promise: Option<(PromiseForm, Markup)>,
    product: Option<(ProductForm, Markup)>,
    scope: tutti_store::LoadScope,
}

/// The load chart's choice: one team's, one service product's, or all.
#[derive(Debug, Default, Deserialize)]
pub struct LoadQuery {
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    product: Option<String>,
}

pub async fn page<S: Store>(
    State(state): State<AppState<S>>,
    axum::extract::Query(query): axum::extract::Query<LoadQuery>,
    web: Web,
) -> Response {
    let scope = match (
        optional_id("team", &query.team),
        optional_id("product", &query.product),
    ) {
        (Ok(team_id), Ok(service_product_id)) => tutti_store::LoadScope {
            team_id,
            service_product_id,
        },
        (Err(e), _) | (_, Err(e)) => return web.error(e),
    };
    let drafts = Drafts {
        scope,
        ..Drafts::default()
    };
    render(&state, &web, drafts, StatusCode::OK).await
}

async fn render<S: Store>(
    state: &AppState<S>,
    web: &Web,
    drafts: Drafts,
    status: StatusCode,
) -> Response {
    match body(state, web, drafts).await {
        Ok(body) => web.page_with_status(status, &web.t.get("service-title"), Nav::Service, body),
        Err(e) => web.error(e),
    }
}

fn due_at(text: &str, zone: tutti_domain::routine::Tz) -> Result<DateTime<Utc>, ApiError> {
    NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M")
        .map(|local| tutti_domain::routine::local_instant(local, zone))
        .map_err(|_| {
            tutti_domain::Invalid::new(
                "due_at",
                format!("`{text}` is not a time like 2026-12-18T16:00"),
            )
            .into()
        })
}

/// Makes a promise; back to the list, or the draft with why.
pub async fn make_promise<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<PromiseForm>,
) -> Response {
    let Form { web, value } = form;
    let made = async {
        let new = NewPromise {
            title: value.title.clone(),
            customer: value.customer.clone(),
            service_product_id: optional_id("product", &value.product)?,
            work_item_id: None,
            made_by_team_id: optional_id("team", &value.team)?,
            keeper_team_id: optional_id("keeper", &value.keeper)?,
            due_at: due_at(&value.due, web.zone())?,
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(
            service::make_promise(&state.store, &web.actor, &ctx, new)
                .await?
                .id,
        )
    }
    .await;
    match made {
        Ok(id) => see_other(&format!("/service#promise-{id}")),
        Err(e @ (ApiError::Invalid(_) | ApiError::Malformed { .. })) => {
            let drafts = Drafts {
                promise: Some((value, web.form_problem(&e))),
                ..Drafts::default()
            };
            render(&state, &web, drafts, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => web.error(e),
    }
}

/// Adds a service product; back to the catalogue, or the draft with why.
pub async fn add_product<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<ProductForm>,
) -> Response {
    let Form { web, value } = form;
    let added = async {
        let kind = value
            .kind
            .parse::<ServiceKind>()
            .map_err(|e| tutti_domain::Invalid::new("kind", e))?;
        let new = NewServiceProduct {
            name: value.name.clone(),
            description: value.description.clone(),
            customer_group: value.customer_group.clone(),
            owner_id: Some(web.actor.member_id),
            kind,
            levels: value
                .levels
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        service::create_service_product(&state.store, &web.actor, &ctx, new).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match added {
        Ok(()) => see_other("/service#catalogue-h"),
        Err(e @ ApiError::Invalid(_)) => {
            let drafts = Drafts {
                product: Some((value, web.form_problem(&e))),
                ..Drafts::default()
            };
            render(&state, &web, drafts, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => web.error(e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct StepForm {
    #[serde(default)]
    note: String,
    /// For a sign-off: `yes` or `no`.
    #[serde(default)]
    feasible: String,
}

/// Takes one step on a promise: `sign-off`, `pause`, `resume`, `keep` or
/// `break`.
pub async fn step<S: Store>(
    State(state): State<AppState<S>>,
    Path((id, step)): Path<(String, String)>,
    form: Form<StepForm>,
) -> Response {
    let Form { web, value } = form;
    let Ok(id) = id.parse::<Uuid>() else {
        return web.error(ApiError::NotFound("promise"));
    };
    let taken = match step.as_str() {
        "sign-off" => PromiseStep::SignOff {
            feasible: value.feasible != "no",
            note: value.note,
        },
        "pause" => PromiseStep::Pause,
        "resume" => PromiseStep::Resume,
        "keep" => PromiseStep::Keep { note: value.note },
        "break" => PromiseStep::Break { note: value.note },
        _ => return web.error(ApiError::NotFound("step")),
    };
    let ctx = crate::api::ctx(&state, &web.actor);
    match service::step_promise(&state.store, &web.actor, &ctx, id, taken).await {
        Ok(_) => see_other(&format!("/service#promise-{id}")),
        Err(e) => web.error(e),
    }
}

async fn body<S: Store>(
    state: &AppState<S>,
    web: &Web,
    drafts: Drafts,
) -> Result<Markup, ApiError> {
    web.actor.may(Action::Read)?;
    let handovers = super::flows::summary(state, web).await?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let now = state.clock.now();
    let rule = PromiseRiskRule::default();
    let products = state
        .store
        .service_products(org_id, PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items;
    let teams = state
        .store
        .teams(org_id, PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items;
    // The open promises due soonest (where the urgent ones are) and the
    // latest closed: bounded reads, whatever the org's history.
    let unfinished = state
        .store
        .promises(
            org_id,
            &PromiseFilter {
                unfinished: true,
                order: PromiseOrder::SoonestDue,
                ..PromiseFilter::default()
            },
            PageRequest::first(SOONEST_READ),
        )
        .await?
        .items;
    let broken: Vec<Promise> = state
        .store
        .promises(
            org_id,
            &PromiseFilter {
                state: Some(PromiseState::Broken),
                order: PromiseOrder::LatestClosed,
                ..PromiseFilter::default()
            },
            PageRequest::first(BROKEN_SHOWN),
        )
        .await?
        .items
        .into_iter()
        .filter(|p| {
            p.closed_at
                .is_some_and(|at| now - at <= Duration::days(BROKEN_DAYS))
        })
        .collect();
    let read_all = (unfinished.len() as u32) < SOONEST_READ;
    let (mut urgent, mut calm): (Vec<_>, Vec<_>) = unfinished.into_iter().partition(|p| {
        matches!(
            p.health(now, rule),
            PromiseHealth::AtRisk | PromiseHealth::Overdue
        )
    });
    let more_than_shown = !read_all || calm.len() > OPEN_SHOWN;
    calm.truncate(OPEN_SHOWN);
    urgent.sort_by_key(|p| p.effective_due(now));
    let team_name = |id: Option<Uuid>| {
        id.and_then(|id| teams.iter().find(|t| t.id == id))
            .map(|t| t.name.clone())
            .unwrap_or_else(|| "–".into())
    };
    let product_name = |id: Option<Uuid>| {
        id.and_then(|id| products.iter().find(|p| p.id == id))
            .map(|p| p.name.clone())
    };
    let promise_teams: Vec<_> = teams
        .iter()
        .filter(|team| {
            web.actor
                .may(Action::MakePromise {
                    team_id: Some(team.id),
                })
                .is_ok()
        })
        .collect();
    let shapes_catalogue = web.actor.may(Action::ManageServices).is_ok();
    let load = state
        .store
        .load_by_week(org_id, now, LOAD_WEEKS, drafts.scope)
        .await?;
    let week_labels: Vec<String> = load
        .iter()
        .map(|w| {
            t.with(
                "week-label",
                &tutti_i18n::args([("week", w.week.format("%V").to_string())]),
            )
        })
        .collect();
    let this_week = load.last().map(|w| w.reactive_share()).unwrap_or(0.0);
    let (planned_all, unplanned_all) = load
        .iter()
        .fold((0, 0), |(p, u), w| (p + w.planned, u + w.unplanned));
    let on_average = tutti_domain::service::reactive_share(planned_all, unplanned_all);
    let row = |p: &Promise| -> Markup {
        let health = p.health(now, rule);
        html! {
            tr id=(format!("promise-{}", p.id)) {
                th scope="row" { (p.title) @if let Some(name) = product_name(p.service_product_id) { br; small.quiet { (name) } } }
                td { (p.customer) }
                td { (t.datetime(p.effective_due(now)))
                    @if p.paused_secs > 0 || p.paused_since.is_some() { br; small.quiet { (t.get("promise-moved-by-pause")) } } }
                td {
                    span class=(format!("badge {}", health_class(p, health))) { (t.get(&state_key(p, health))) }
                    " " span.badge { (t.get(&format!("feasibility-{}", p.feasibility))) }
                }
                td { (team_name(p.made_by_team_id)) " → " (team_name(p.keeper_team_id)) }
                td { (steps(web, p)) }
            }
        }
    };
    let (promise_form, promise_problem) = match drafts.promise {
        Some((form, problem)) => (form, Some(problem)),
        None => (PromiseForm::default(), None),
    };
    let (product_form, product_problem) = match drafts.product {
        Some((form, problem)) => (form, Some(problem)),
        None => (ProductForm::default(), None),
    };
    let table = |rows: &[Promise], caption: &str| -> Markup {
        html! {
            table.promises {
                caption { (caption) }
                thead { tr {
                    th scope="col" { (t.get("promise-title")) } th scope="col" { (t.get("promise-customer")) }
                    th scope="col" { (t.get("promise-due")) } th scope="col" { (t.get("promise-state")) }
                    th scope="col" { (t.get("promise-teams")) } th scope="col" { (t.get("promise-steps")) }
                } }
                tbody { @for p in rows { (row(p)) } }
            }
        }
    };
    Ok(html! {
        p.lede { (t.get("service-lede")) }
        section.card aria-labelledby="urgent-h" {
            h2 #urgent-h { (t.get("promises-urgent")) " " span.count { (urgent.len()) } }
            @if urgent.is_empty() { p.quiet { (t.get("promises-urgent-none")) } }
            @else { (table(&urgent, &t.get("promises-urgent-caption"))) }
        }
        section.card aria-labelledby="broken-h" {
            h2 #broken-h { (t.get("promises-broken")) " " span.count { (broken.len()) } }
            @if broken.is_empty() { p.quiet { (t.get("promises-broken-none")) } }
            ul {
                @for p in &broken {
                    li id=(format!("promise-{}", p.id)) {
                        strong { (p.title) } " · " (p.customer) " · " (team_name(p.keeper_team_id))
                        @if !p.close_note.is_empty() { " — " q { (p.close_note) } }
                    }
                }
            }
        }
        (handovers)
        section.card aria-labelledby="open-h" {
            h2 #open-h { (t.get("promises-open")) " " span.count { (calm.len()) } }
            @if more_than_shown { p.quiet { (t.get("promises-more")) } }
            @if calm.is_empty() { p.quiet { (t.get("promises-open-none")) } }
            @else { (table(&calm, &t.get("promises-open-caption"))) }
            @if !promise_teams.is_empty() {
                details open[promise_problem.is_some()] {
                    summary #promise-new-h { (t.get("promise-new")) }
                    @if let Some(problem) = &promise_problem { (problem) }
                    form.stacked method="post" action="/promises" aria-labelledby="promise-new-h" {
                        (web.csrf_field())
                        label { (t.get("promise-title")) " " input type="text" name="title" required maxlength="200" value=(promise_form.title); }
                        label { (t.get("promise-customer")) " " input type="text" name="customer" required maxlength="200" value=(promise_form.customer); }
                        label { (t.get("promise-due-utc")) " " input type="datetime-local" name="due" required value=(promise_form.due); }
                        label { (t.get("promise-made-by")) " "
                            select name="team" required {
                                @for team in &promise_teams { option value=(team.id) selected[promise_form.team.as_deref() == Some(team.id.to_string().as_str())] { (team.name) } }
                            }
                        }
                        label { (t.get("promise-keeper")) " "
                            select name="keeper" {
                                option value="" { "–" }
                                @for team in &teams { option value=(team.id) selected[promise_form.keeper.as_deref() == Some(team.id.to_string().as_str())] { (team.name) } }
                            }
                        }
                        label { (t.get("promise-product")) " "
                            select name="product" {
                                option value="" { "–" }
                                @for p in &products { option value=(p.id) selected[promise_form.product.as_deref() == Some(p.id.to_string().as_str())] { (p.name) } }
                            }
                        }
                        button type="submit" { (t.get("promise-new-save")) }
                    }
                }
            }
        }
        section.card aria-labelledby="load-h" {
            h2 #load-h { (t.get("service-load")) }
            form.filters method="get" action="/service#load-h" role="search" aria-label=(t.get("service-load-filter")) {
                label { (t.get("filter-team")) " "
                    select name="team" {
                        option value="" { (t.get("service-load-all")) }
                        @for team in &teams { option value=(team.id) selected[drafts.scope.team_id == Some(team.id)] { (team.name) } }
                    }
                }
                label { (t.get("promise-product")) " "
                    select name="product" {
                        option value="" { (t.get("service-load-all")) }
                        @for p in &products { option value=(p.id) selected[drafts.scope.service_product_id == Some(p.id)] { (p.name) } }
                    }
                }
                button.secondary type="submit" { (t.get("service-load-show")) }
            }
            p { (t.with("service-load-share", &tutti_i18n::args([("week", t.percent(this_week)), ("average", t.percent(on_average))]))) }
            figure role="img" aria-label=(t.get("service-load-chart")) {
                figcaption { (t.get("service-load-chart")) }
                (super::svg(super::charts::stacked_bars(
                    &week_labels,
                    &[
                        (t.get("work-kind-planned"), load.iter().map(|w| w.planned as f64).collect()),
                        (t.get("work-kind-unplanned"), load.iter().map(|w| w.unplanned as f64).collect()),
                    ],
                )))
            }
        }
        section.card aria-labelledby="catalogue-h" {
            h2 #catalogue-h { (t.get("service-catalogue")) }
            @if products.is_empty() { p.quiet { (t.get("service-catalogue-none")) } }
            @else {
                table {
                    thead { tr {
                        th scope="col" { (t.get("service-name")) } th scope="col" { (t.get("service-kind")) }
                        th scope="col" { (t.get("service-for")) } th scope="col" { (t.get("service-levels")) }
                    } }
                    tbody { @for p in &products { tr {
                        th scope="row" { (p.name) @if !p.description.is_empty() { br; small.quiet { (p.description) } } }
                        td {
                            span.badge { (t.get(&format!("service-kind-{}", p.kind))) }
                            @if p.kind == ServiceKind::Preventive {
                                br; a href=(format!("/routines?product={}", p.id)) { (t.get("service-routines")) }
                            }
                        }
                        td { (p.customer_group) }
                        td { ul.levels { @for level in &p.levels { li { (level) } } } }
                    } } }
                }
            }
            @if shapes_catalogue {
                details open[product_problem.is_some()] {
                    summary #product-new-h { (t.get("service-new")) }
                    @if let Some(problem) = &product_problem { (problem) }
                    form.stacked method="post" action="/service/products" aria-labelledby="product-new-h" {
                        (web.csrf_field())
                        label { (t.get("service-name")) " " input type="text" name="name" required maxlength="200" value=(product_form.name); }
                        label { (t.get("service-kind")) " "
                            select name="kind" {
                                @for kind in [ServiceKind::Preventive, ServiceKind::Reactive] {
                                    option value=(kind.as_str()) selected[product_form.kind == kind.as_str()] { (t.get(&format!("service-kind-{kind}"))) }
                                }
                            }
                        }
                        label { (t.get("service-for")) " " input type="text" name="customer_group" maxlength="200" value=(product_form.customer_group); }
                        label { (t.get("service-description")) " " textarea name="description" rows="2" maxlength="20000" { (product_form.description) } }
                        label { (t.get("service-levels-lines")) " " textarea name="levels" rows="3" { (product_form.levels) } }
                        button type="submit" { (t.get("service-new-save")) }
                    }
                }
            }
        }
    })
}

fn state_key(p: &Promise, health: PromiseHealth) -> String {
    match (p.state, health) {
        (PromiseState::Open, PromiseHealth::AtRisk) => "promise-at-risk".into(),
        (PromiseState::Open, PromiseHealth::Overdue) => "promise-overdue".into(),
        (state, _) => format!("promise-state-{state}"),
    }
}

fn health_class(p: &Promise, health: PromiseHealth) -> &'static str {
    match (p.state, health) {
        (_, PromiseHealth::Overdue) | (PromiseState::Broken, _) => "risk",
        (_, PromiseHealth::AtRisk) => "warn",
        _ => "",
    }
}

/// The steps the reader may take on an unfinished promise, each its own
/// small form; none for a reader the rules refuse.
fn steps(web: &Web, p: &Promise) -> Markup {
    let t = &web.t;
    let may = |step: &PromiseStep| service::may_step(&web.actor, p, step).is_ok();
    let sign_off = PromiseStep::SignOff {
        feasible: true,
        note: String::new(),
    };
    let signs_off = p.feasibility == Feasibility::Pending && may(&sign_off);
    let acts = may(&PromiseStep::Pause);
    let action = |step: &str| format!("/promises/{}/{step}", p.id);
    html! {
        @if signs_off {
            form.inline method="post" action=(action("sign-off")) {
                (web.csrf_field())
                input type="hidden" name="feasible" value="yes";
                button.secondary type="submit" { (t.get("promise-feasible")) }
            }
            form.inline method="post" action=(action("sign-off")) {
                (web.csrf_field())
                input type="hidden" name="feasible" value="no";
                label { span.visually-hidden { (t.get("promise-why-not")) } input type="text" name="note" required maxlength="2000" placeholder=(t.get("promise-why-not")); }
                button.secondary type="submit" { (t.get("promise-not-feasible")) }
            }
        }
        @if acts {
            @if p.state == PromiseState::Paused {
                form.inline method="post" action=(action("resume")) { (web.csrf_field()) button.secondary type="submit" { (t.get("promise-resume")) } }
            } @else {
                form.inline method="post" action=(action("pause")) { (web.csrf_field()) button.secondary type="submit" { (t.get("promise-pause")) } }
            }
            form.inline method="post" action=(action("keep")) { (web.csrf_field()) button type="submit" { (t.get("promise-keep")) } }
            form.inline method="post" action=(action("break")) {
                (web.csrf_field())
                label { span.visually-hidden { (t.get("promise-why-broken")) } input type="text" name="note" required maxlength="2000" placeholder=(t.get("promise-why-broken")); }
                button.secondary type="submit" { (t.get("promise-break")) }
            }
        }
    }
}
