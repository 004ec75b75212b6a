//! Routines: the planned, recurring work of the org — the yearly
//! maintenance each contract customer bought, the weekly report an AI
//! worker drafts. The list says when each falls due next, in the org's
//! zone, and lets whoever may change one pause or resume it; a routine's
//! page shows the next five and what became of the last (made, or skipped
//! and why). People make routines here for the work they may create.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{NaiveDate, NaiveTime};
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::access::Action;
use tutti_domain::org::Member;
use tutti_domain::routine::{Cadence, CatchUp, OccurrenceOutcome, Routine, Schedule};
use tutti_domain::service::ServiceKind;
use tutti_domain::work::Priority;
use tutti_engine::routines;
use tutti_store::prelude::*;
use tutti_store::{NewRoutine, PageRequest, RoutineFilter, RoutinePatch};
use uuid::Uuid;

use super::{Form, Nav, Web, optional_id, see_other};
use crate::{ApiError, AppState};

/// The latest occurrences a routine's page shows.
const OCCURRENCES_SHOWN: i64 = 30;

#[derive(Debug, Default, Clone, Deserialize)]
pub struct RoutineForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    customer: String,
    #[serde(default)]
    description: String,
    /// `daily`, `weekly`, `monthly` or `rule`.
    #[serde(default)]
    cadence: String,
    /// Weekdays (Mo,Do or 1,4) or days of the month (1,15).
    #[serde(default)]
    days: String,
    #[serde(default)]
    rule: String,
    /// `HH:MM`, in the org's zone.
    #[serde(default)]
    at: String,
    /// Every N days, weeks or months; 1 when empty.
    #[serde(default)]
    every: String,
    /// `YYYY-MM-DD`.
    #[serde(default)]
    starts: String,
    /// `YYYY-MM-DD`, or empty for no end.
    #[serde(default)]
    ends: String,
    #[serde(default)]
    catch_up: String,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    priority: String,
}

/// The list's choice: the routines of one service product, or all.
#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    product: Option<String>,
}

pub async fn page<S: Store>(
    State(state): State<AppState<S>>,
    Query(query): Query<ListQuery>,
    web: Web,
) -> Response {
    let product = match optional_id("product", &query.product) {
        Ok(product) => product,
        Err(e) => return web.error(e),
    };
    let rendered = body(&state, &web, product, None).await;
    web.show(rendered, "routines-title", Nav::Work)
}

/// Members and service products by id, for names in the list and choices
/// in the form.
struct Names {
    members: Vec<Member>,
    products: Vec<tutti_domain::service::ServiceProduct>,
    teams: Vec<tutti_domain::org::Team>,
}

impl Names {
    async fn of<S: Store>(state: &AppState<S>, org_id: Uuid) -> Result<Self, ApiError> {
        let all = PageRequest::first(PageRequest::MAX_LIMIT);
        Ok(Self {
            members: state.store.members(org_id, all).await?.items,
            products: state.store.service_products(org_id, all).await?.items,
            teams: state.store.teams(org_id, all).await?.items,
        })
    }

    fn member(&self, id: Option<Uuid>) -> String {
        id.and_then(|id| self.members.iter().find(|m| m.id == id))
            .map(|m| m.name.clone())
            .unwrap_or_else(|| "–".into())
    }

    fn product(&self, id: Option<Uuid>) -> Option<String> {
        id.and_then(|id| self.products.iter().find(|p| p.id == id))
            .map(|p| p.name.clone())
    }
}

/// A schedule in the reader's words: "weekly on Mon at 07:00".
fn schedule_words(web: &Web, schedule: &Schedule) -> String {
    let t = &web.t;
    let at = schedule.at.format("%H:%M").to_string();
    let Some(cadence) = schedule.cadence else {
        return t.with(
            "routine-by-rule",
            &tutti_i18n::args([
                ("rule", schedule.rule.clone().unwrap_or_default()),
                ("at", at),
            ]),
        );
    };
    let days = match cadence {
        Cadence::Daily => String::new(),
        Cadence::Weekly => schedule
            .days
            .iter()
            .map(|d| t.get(&format!("weekday-{d}")))
            .collect::<Vec<_>>()
            .join(", "),
        Cadence::Monthly => schedule
            .days
            .iter()
            .map(|d| format!("{d}."))
            .collect::<Vec<_>>()
            .join(", "),
    };
    let key = if schedule.every == 1 {
        format!("routine-every-{cadence}")
    } else {
        format!("routine-every-n-{cadence}")
    };
    t.with(
        &key,
        &tutti_i18n::args([
            ("n", schedule.every.to_string()),
            ("days", days),
            ("at", at),
        ]),
    )
}

fn may_change(web: &Web, routine: &Routine) -> bool {
    routines::may_change(&web.actor, routine, &RoutinePatch::default()).is_ok()
}

/// A pause or resume button; `on_page`: it sits on the routine's own page,
/// which the reader comes back to (else the list).
fn pause_button(web: &Web, routine: &Routine, on_page: bool) -> Markup {
    let t = &web.t;
    let (action, label) = if routine.paused {
        ("resume", t.get("routine-resume"))
    } else {
        ("pause", t.get("routine-pause"))
    };
    html! {
        form.inline method="post" action=(format!("/routines/{}/{action}", routine.id)) {
            (web.csrf_field())
            @if on_page { input type="hidden" name="back" value="page"; }
            button.secondary type="submit" aria-label=(format!("{label}: {}", routine.name)) { (label) }
        }
    }
}

async fn body<S: Store>(
    state: &AppState<S>,
    web: &Web,
    product: Option<Uuid>,
    draft: Option<(RoutineForm, Markup)>,
) -> Result<Markup, ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let names = Names::of(state, org_id).await?;
    let list = state
        .store
        .routines(
            org_id,
            &RoutineFilter {
                service_product_id: product,
                ..RoutineFilter::default()
            },
            PageRequest::first(PageRequest::MAX_LIMIT),
        )
        .await?
        .items;
    let plans =
        tutti_domain::routine::may_plan(&web.actor, None, Some(web.actor.member_id)).is_ok();
    let (form, problem) = match draft {
        Some((form, problem)) => (form, Some(problem)),
        None => (
            RoutineForm {
                cadence: "weekly".into(),
                every: "1".into(),
                at: "07:00".into(),
                starts: state
                    .clock
                    .now()
                    .with_timezone(&web.zone())
                    .date_naive()
                    .to_string(),
                catch_up: CatchUp::Latest.as_str().into(),
                priority: Priority::Normal.as_str().into(),
                ..RoutineForm::default()
            },
            None,
        ),
    };
    let selected =
        |value: &Option<String>, id: Uuid| value.as_deref() == Some(id.to_string().as_str());
    Ok(html! {
        p.lede { (t.get("routines-lede")) }
        section.card aria-labelledby="routines-h" {
            h2 #routines-h { (t.get("routines-list")) " " span.count { (list.len()) } }
            @if let Some(name) = names.product(product) {
                p { (t.with("routines-of-product", &tutti_i18n::args([("product", name)]))) " · " a href="/routines" { (t.get("routines-all")) } }
            }
            @if list.is_empty() { p.quiet { (t.get("routines-none")) } }
            @else {
                table.routines {
                    caption.visually-hidden { (t.get("routines-list")) }
                    thead { tr {
                        th scope="col" { (t.get("routine-name")) }
                        th scope="col" { (t.get("routine-schedule")) }
                        th scope="col" { (t.get("work-assignee")) }
                        th scope="col" { (t.get("routine-next")) }
                        th scope="col" { (t.get("routine-steps")) }
                    } }
                    tbody {
                        @for r in &list {
                            tr id=(format!("routine-{}", r.id)) {
                                th scope="row" {
                                    a href=(format!("/routines/{}", r.id)) { (r.name) }
                                    @if !r.customer.is_empty() { " · " (r.customer) }
                                    @if let Some(name) = names.product(r.service_product_id) { br; small.quiet { (name) } }
                                }
                                td { (schedule_words(web, &r.schedule)) }
                                td { (names.member(r.assignee_id)) }
                                td {
                                    @if r.paused { span.badge.warn { (t.get("routine-paused")) } }
                                    @else if let Some(next) = r.next_due { (t.datetime(next)) }
                                    @else { span.quiet { (t.get("routine-ended")) } }
                                }
                                td { @if may_change(web, r) { (pause_button(web, r, false)) } }
                            }
                        }
                    }
                }
            }
            @if plans {
                details open[problem.is_some()] {
                    summary #routine-new-h { (t.get("routine-new")) }
                    @if let Some(problem) = &problem { (problem) }
                    form.stacked method="post" action="/routines" aria-labelledby="routine-new-h" {
                        (web.csrf_field())
                        label { (t.get("routine-name")) " " input type="text" name="name" required maxlength="200" value=(form.name); }
                        label { (t.get("routine-customer")) " " input type="text" name="customer" maxlength="200" value=(form.customer); }
                        label { (t.get("routine-description")) " " textarea name="description" rows="2" maxlength="20000" { (form.description) } }
                        label { (t.get("routine-cadence")) " "
                            select name="cadence" {
                                @for c in ["daily", "weekly", "monthly", "rule"] {
                                    option value=(c) selected[form.cadence == c] { (t.get(&format!("routine-cadence-{c}"))) }
                                }
                            }
                        }
                        label { (t.get("routine-every")) " " input type="number" name="every" min="1" max="366" value=(form.every); }
                        label { (t.get("routine-days")) " " input type="text" name="days" maxlength="100" value=(form.days) placeholder=(t.get("routine-days-hint")); }
                        label { (t.get("routine-rule")) " " input type="text" name="rule" maxlength="500" value=(form.rule) placeholder="FREQ=MONTHLY;BYDAY=1MO"; }
                        label { (t.get("routine-at")) " " input type="time" name="at" required value=(form.at); }
                        label { (t.get("routine-starts")) " " input type="date" name="starts" required value=(form.starts); }
                        label { (t.get("routine-ends")) " " input type="date" name="ends" value=(form.ends); }
                        label { (t.get("routine-catch-up")) " "
                            select name="catch_up" {
                                @for c in CatchUp::ALL {
                                    option value=(c.as_str()) selected[form.catch_up == c.as_str()] { (t.get(&format!("routine-catch-up-{c}"))) }
                                }
                            }
                        }
                        label { (t.get("filter-team")) " "
                            select name="team" {
                                option value="" { (t.get("work-new-no-team")) }
                                @for team in &names.teams { option value=(team.id) selected[selected(&form.team, team.id)] { (team.name) } }
                            }
                        }
                        label { (t.get("work-assignee")) " "
                            select name="assignee" {
                                option value="" { (t.get("work-new-nobody")) }
                                @for m in &names.members { option value=(m.id) selected[selected(&form.assignee, m.id)] { (m.name) } }
                            }
                        }
                        label { (t.get("routine-product")) " "
                            select name="product" {
                                option value="" { "–" }
                                @for p in names.products.iter().filter(|p| p.kind == ServiceKind::Preventive) {
                                    option value=(p.id) selected[selected(&form.product, p.id)] { (p.name) }
                                }
                            }
                        }
                        label { (t.get("work-priority")) " "
                            select name="priority" {
                                @for p in Priority::ALL {
                                    option value=(p.as_str()) selected[form.priority == p.as_str()] { (t.get(&format!("priority-{p}"))) }
                                }
                            }
                        }
                        p.quiet { (t.with("routine-zone-hint", &tutti_i18n::args([("zone", web.org.time_zone.clone())]))) }
                        button type="submit" { (t.get("routine-save")) }
                    }
                }
            }
        }
    })
}

fn routine_of(value: &RoutineForm) -> Result<NewRoutine, ApiError> {
    let invalid = |field: &str, message: String| {
        ApiError::Invalid(tutti_domain::Invalid::new(field, message))
    };
    let at = NaiveTime::parse_from_str(value.at.trim(), "%H:%M")
        .map_err(|_| invalid("at", format!("`{}` is not a time like 07:00", value.at)))?;
    let date = |field: &str, text: &str| {
        text.trim()
            .parse::<NaiveDate>()
            .map_err(|_| invalid(field, format!("`{text}` is not a date like 2026-12-07")))
    };
    let ends = Some(value.ends.trim())
        .filter(|text| !text.is_empty())
        .map(|text| date("ends", text))
        .transpose()?;
    let every = match value.every.trim() {
        "" => 1,
        text => text
            .parse::<u32>()
            .map_err(|_| invalid("every", format!("`{text}` is not a whole number")))?,
    };
    let starts = date("starts", &value.starts)?;
    let (cadence, rule) = match value.cadence.as_str() {
        "rule" => (None, Some(value.rule.trim().to_owned())),
        other => (
            Some(
                other
                    .parse::<Cadence>()
                    .map_err(|e| invalid("cadence", e))?,
            ),
            None,
        ),
    };
    let days = match cadence {
        Some(c @ (Cadence::Weekly | Cadence::Monthly)) => {
            tutti_domain::routine::parse_days(c, &value.days)?
        }
        _ => Vec::new(),
    };
    Ok(NewRoutine {
        name: value.name.clone(),
        description: value.description.clone(),
        customer: value.customer.clone(),
        schedule: Schedule {
            cadence,
            // A rule says its own interval.
            every: if rule.is_some() { 1 } else { every },
            days,
            rule,
            at,
            starts,
            ends,
        },
        time_zone: None,
        catch_up: value.catch_up.parse().map_err(|e| invalid("catch_up", e))?,
        team_id: optional_id("team", &value.team)?,
        assignee_id: optional_id("assignee", &value.assignee)?,
        key_result_id: None,
        service_product_id: optional_id("product", &value.product)?,
        priority: value.priority.parse().map_err(|e| invalid("priority", e))?,
        paused: false,
    })
}

/// Makes a routine; back to the list, or the draft with why.
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<RoutineForm>,
) -> Response {
    let Form { web, value } = form;
    let made = async {
        let new = routine_of(&value)?;
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(routines::create(&state.store, &web.actor, &ctx, new).await?)
    }
    .await;
    match made {
        Ok(routine) => see_other(&format!("/routines#routine-{}", routine.id)),
        Err(e @ ApiError::Invalid(_)) => {
            let problem = web.form_problem(&e);
            let rendered = body(&state, &web, None, Some((value, problem))).await;
            web.show_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                rendered,
                "routines-title",
                Nav::Work,
            )
        }
        Err(e) => web.error(e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PauseForm {
    /// `page` when sent from the routine's own page.
    #[serde(default)]
    back: String,
}

/// Pauses or resumes a routine; back where the reader was.
pub async fn pause_or_resume<S: Store>(
    State(state): State<AppState<S>>,
    Path((id, how)): Path<(String, String)>,
    form: Form<PauseForm>,
) -> Response {
    let Form { web, value } = form;
    let Ok(id) = id.parse::<Uuid>() else {
        return web.error(ApiError::NotFound("routine"));
    };
    let paused = match how.as_str() {
        "pause" => true,
        "resume" => false,
        _ => return web.error(ApiError::NotFound("routine step")),
    };
    let ctx = crate::api::ctx(&state, &web.actor);
    let patch = RoutinePatch {
        paused: Some(paused),
        ..RoutinePatch::default()
    };
    match routines::update(&state.store, &web.actor, &ctx, id, patch).await {
        Ok(_) if value.back == "page" => see_other(&format!("/routines/{id}")),
        Ok(_) => see_other(&format!("/routines#routine-{id}")),
        Err(e) => web.error(e),
    }
}

/// A routine: its schedule, the next five, and what became of the last.
pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    web: Web,
) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return web.error(ApiError::NotFound("routine"));
    };
    let rendered = async {
        web.actor.may(Action::Read)?;
        let t = &web.t;
        let now = state.clock.now();
        let overview =
            routines::overview(&state.store, web.actor.org_id, id, OCCURRENCES_SHOWN, now).await?;
        let names = Names::of(&state, web.actor.org_id).await?;
        let r = &overview.routine;
        Ok::<_, ApiError>(html! {
            h2 { (r.name) @if !r.customer.is_empty() { " · " (r.customer) } }
            @if !r.description.is_empty() { p { (r.description) } }
            dl.facts {
                dt { (t.get("routine-schedule")) } dd { (schedule_words(&web, &r.schedule)) }
                dt { (t.get("routine-zone")) } dd { (overview.zone.name()) }
                dt { (t.get("work-assignee")) } dd { (names.member(r.assignee_id)) }
                @if let Some(name) = names.product(r.service_product_id) { dt { (t.get("routine-product")) } dd { (name) } }
                dt { (t.get("routine-catch-up")) } dd { (t.get(&format!("routine-catch-up-{}", r.catch_up))) }
                dt { (t.get("routine-owner")) } dd { (names.member(Some(r.owner_id))) }
            }
            @if r.paused { p { span.badge.warn { (t.get("routine-paused")) } } }
            @if may_change(&web, r) { (pause_button(&web, r, true)) }
            section.card aria-labelledby="upcoming-h" {
                h2 #upcoming-h { (t.get("routine-upcoming")) }
                @if overview.upcoming.is_empty() { p.quiet { (t.get("routine-upcoming-none")) } }
                ol { @for at in &overview.upcoming { li { (t.datetime(*at)) } } }
            }
            section.card aria-labelledby="history-h" {
                h2 #history-h { (t.get("routine-history")) }
                @if overview.occurrences.is_empty() { p.quiet { (t.get("routine-history-none")) } }
                @else {
                    table {
                        caption.visually-hidden { (t.get("routine-history")) }
                        thead { tr {
                            th scope="col" { (t.get("routine-due")) }
                            th scope="col" { (t.get("routine-outcome")) }
                        } }
                        tbody {
                            @for o in &overview.occurrences {
                                tr {
                                    td { (t.datetime(o.due_at)) }
                                    td {
                                        @match (o.outcome, o.reason, o.work_item_id) {
                                            (OccurrenceOutcome::Created, _, Some(item)) => {
                                                a href=(format!("/work/{item}")) { (t.get("routine-made")) }
                                            }
                                            (_, Some(reason), _) => {
                                                span.badge { (t.get(&format!("routine-skipped-{reason}"))) }
                                                @if !o.detail.is_empty() { " " span.quiet lang="en" { (o.detail) } }
                                            }
                                            _ => { (o.outcome.as_str()) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            p { a href="/routines" { (t.get("routines-back")) } }
        })
    }
    .await;
    web.show(rendered, "routines-title", Nav::Work)
}
