//! Steering the AI workforce in the cockpit.
//!
//! `/templates` is the org's prompt library: each template with how its
//! versions fare, a form to write one (admins, leads). A template's page
//! shows each version's and each author's record, says honestly when two
//! versions cannot be told apart yet, takes a new version (side by side or
//! replacing), and makes work from the template. `/capacity` shows each AI
//! worker's concurrency, queue and wait, and lets admins change a worker's
//! concurrency and the org's cap. A space's guard-rail checks are set on
//! the space's page (`/spaces/{id}/guards`); evidence is attached to a
//! check-in from the objective's page (`/check-ins/{id}/evidence`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::access::Action;
use tutti_domain::guard::{Finding, GuardCheck};
use tutti_domain::labour::template::{PLACEHOLDERS, Record};
use tutti_domain::org::MemberKind;
use tutti_domain::work::{Priority, WorkKind, WorkState};
use tutti_engine::workforce;
use tutti_i18n::args;
use tutti_store::prelude::*;
use tutti_store::{FromTemplate, MemberPatch, NewTemplateVersion, PageRequest};
use uuid::Uuid;

use super::{Form, Nav, Web, optional_id, see_other};
use crate::{ApiError, AppState};
use axum::extract::Query;
use tutti_domain::labour::leverage::LeverageBy;

fn all() -> PageRequest {
    PageRequest::first(PageRequest::MAX_LIMIT)
}

/// A finding in the reader's words.
pub(crate) fn finding_text(web: &Web, finding: &Finding) -> String {
    let t = &web.t;
    match finding {
        Finding::ForbiddenPhrase { phrase } => {
            t.with("guard-forbidden", &args([("phrase", phrase.as_str())]))
        }
        Finding::AmountOver { written, limit, .. } => t.with(
            "guard-amount",
            &args([
                ("written", written.clone()),
                ("limit", t.int(*limit as i64)),
            ]),
        ),
        Finding::SectionMissing { heading } => {
            t.with("guard-section", &args([("heading", heading.as_str())]))
        }
    }
}

fn share(web: &Web, value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| web.t.percent(v))
}

fn one_decimal(web: &Web, value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| web.t.decimal(v, 1))
}

/// The figures of a record, as table cells.
fn record_cells(web: &Web, r: &Record) -> Markup {
    let t = &web.t;
    html! {
        td { (r.items) }
        td { (r.accepted) }
        td { (share(web, r.accept_rate)) }
        td { (one_decimal(web, r.revise_rounds)) }
        td { (one_decimal(web, r.mean_rating)) }
        td { (r.tokens_per_accepted.map_or_else(|| "–".into(), |n| t.int(n))) }
        td { (r.cost_per_accepted.map_or_else(|| "–".into(), |c| web.money(c))) }
        td { (one_decimal(web, r.hours_to_accept)) }
        td { (r.guard_findings) }
    }
}

fn record_head(web: &Web, first: &str) -> Markup {
    let t = &web.t;
    html! {
        thead { tr {
            th scope="col" { (first) }
            @for key in ["template-items", "template-accepted", "template-accept-rate", "template-rounds",
                         "template-rating", "template-tokens", "template-cost", "template-hours", "template-findings"] {
                th scope="col" { (t.get(key)) }
            }
        } }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TemplateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    criteria: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    side_by_side: Option<String>,
}

fn placeholder_hint(web: &Web) -> Markup {
    let list = PLACEHOLDERS
        .iter()
        .map(|p| format!("{{{p}}}"))
        .collect::<Vec<_>>()
        .join(" ");
    html! { p.quiet { (web.t.get("template-placeholders")) " " code { (list) } } }
}

pub async fn page<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    let rendered = list_body(&state, &web, None).await;
    web.show(rendered, "templates-title", Nav::Work)
}

async fn list_body<S: Store>(
    state: &AppState<S>,
    web: &Web,
    draft: Option<(TemplateForm, Markup)>,
) -> Result<Markup, ApiError> {
    let t = &web.t;
    let templates = workforce::templates_with_records(&state.store, &web.actor).await?;
    let may_write = web.actor.may(Action::ManageTemplates).is_ok();
    let (form, problem) = match draft {
        Some((form, problem)) => (form, Some(problem)),
        None => (TemplateForm::default(), None),
    };
    Ok(html! {
        p.lede { (t.get("templates-lede")) }
        p { a href="/capacity" { (t.get("capacity-title")) } }
        section.card aria-labelledby="templates-h" {
            h2 #templates-h { (t.get("templates-list")) " " span.count { (templates.len()) } }
            @if templates.is_empty() { p.quiet { (t.get("templates-none")) } }
            @else {
                table {
                    caption.visually-hidden { (t.get("templates-list")) }
                    (record_head(web, &t.get("template-name")))
                    tbody {
                        @for (template, record) in &templates {
                            @let in_use: Vec<Uuid> = template.in_use().map(|v| v.id).collect();
                            tr {
                                th scope="row" {
                                    a href=(format!("/templates/{}", template.id)) { (template.name) }
                                    " " small.quiet { (t.with("template-in-use", &args([("versions", template.versions.iter().filter(|v| in_use.contains(&v.id)).map(|v| format!("v{}", v.version)).collect::<Vec<_>>().join(", "))]))) }
                                }
                                (record_cells(web, record))
                            }
                        }
                    }
                }
            }
            @if may_write {
                details open[problem.is_some()] {
                    summary #template-new-h { (t.get("template-new")) }
                    @if let Some(problem) = &problem { (problem) }
                    form.stacked method="post" action="/templates" aria-labelledby="template-new-h" {
                        (web.csrf_field())
                        label { (t.get("template-name")) " " input type="text" name="name" required maxlength="120" value=(form.name); }
                        label { (t.get("template-body")) " " textarea name="body" rows="6" required { (form.body) } }
                        (placeholder_hint(web))
                        label { (t.get("template-criteria")) " " textarea name="criteria" rows="3" required { (form.criteria) } }
                        button type="submit" { (t.get("template-create")) }
                    }
                }
            }
        }
    })
}

pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<TemplateForm>,
) -> Response {
    let Form { web, value } = form;
    let ctx = crate::api::ctx(&state, &web.actor);
    let first = NewTemplateVersion {
        body: value.body.clone(),
        criteria: value.criteria.clone(),
        note: String::new(),
        side_by_side: false,
    };
    match workforce::create_template(&state.store, &web.actor, &ctx, &value.name, first).await {
        Ok(template) => see_other(&format!("/templates/{}", template.id)),
        Err(e) => {
            refused(&web, e.into(), "templates-title", Nav::Work, |problem| {
                list_body(&state, &web, Some((value, problem)))
            })
            .await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct UseForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    details: String,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    key_result: Option<String>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    kind: String,
}

pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<Uuid>,
    web: Web,
) -> Response {
    let rendered = template_body(&state, &web, id, None).await;
    web.show(rendered, "templates-title", Nav::Work)
}

async fn template_body<S: Store>(
    state: &AppState<S>,
    web: &Web,
    id: Uuid,
    problem: Option<Markup>,
) -> Result<Markup, ApiError> {
    let t = &web.t;
    let org_id = web.actor.org_id;
    let shown = workforce::track_record(&state.store, &web.actor, id).await?;
    let may_write = web.actor.may(Action::ManageTemplates).is_ok();
    let teams = state.store.teams(org_id, all()).await?.items;
    let members = state.store.members(org_id, all()).await?.items;
    let may = |team_id, assignee_id| {
        web.actor
            .may(Action::CreateWork {
                team_id,
                assignee_id,
            })
            .is_ok()
    };
    let teams: Vec<_> = teams.iter().filter(|t| may(Some(t.id), None)).collect();
    let people: Vec<_> = members
        .iter()
        .filter(|m| may(None, Some(m.id)) || teams.iter().any(|t| may(Some(t.id), Some(m.id))))
        .collect();
    let forest = state.judged_forest(org_id).await?;
    let key_results = &forest.forest.key_results;
    let newest = shown.template.versions.last();
    Ok(html! {
        h2 { (shown.template.name) }
        @if let Some(problem) = &problem { (problem) }
        section.card aria-labelledby="versions-h" {
            h3 #versions-h { (t.get("template-versions")) }
            table {
                caption.visually-hidden { (t.get("template-versions")) }
                (record_head(web, &t.get("template-version")))
                tbody {
                    @for v in &shown.versions {
                        tr {
                            th scope="row" {
                                "v" (v.version)
                                @if v.in_use { " " span.badge { (t.get("template-active")) } }
                                @if !v.note.is_empty() { br; small.quiet { (v.note) } }
                            }
                            (record_cells(web, &v.record))
                        }
                    }
                }
            }
            @if let Some(c) = &shown.comparison {
                p class=(if c.enough_to_tell { "quiet" } else { "problem" }) role="status" {
                    @if c.enough_to_tell { (t.get("template-enough")) } @else { (t.with("template-too-few", &args([("n", t.int(tutti_domain::labour::template::ENOUGH_TO_TELL))]))) }
                }
            }
            @if !shown.authors.is_empty() {
                h3 { (t.get("template-authors")) }
                table {
                    caption.visually-hidden { (t.get("template-authors")) }
                    (record_head(web, &t.get("template-author")))
                    tbody {
                        @for a in &shown.authors { tr { th scope="row" { (a.name) } (record_cells(web, &a.record)) } }
                    }
                }
            }
            @for v in shown.template.versions.iter().rev().filter(|v| v.in_use) {
                details {
                    summary { (t.with("template-text-of", &args([("version", v.version as f64)]))) }
                    pre.order { (v.body) }
                    p { strong { (t.get("template-criteria")) ": " } (v.criteria) }
                }
            }
        }
        @if !teams.is_empty() || !people.is_empty() {
            section.card aria-labelledby="use-h" {
                h3 #use-h { (t.get("template-use")) }
                form.stacked method="post" action=(format!("/templates/{id}/use")) aria-labelledby="use-h" {
                    (web.csrf_field())
                    label { (t.get("work-new-title")) " " input type="text" name="title" required maxlength="200"; }
                    label { (t.get("template-details")) " " textarea name="details" rows="3" {} }
                    label { (t.get("filter-team")) " "
                        select name="team" {
                            option value="" { (t.get("work-new-no-team")) }
                            @for team in &teams { option value=(team.id) { (team.name) } }
                        }
                    }
                    label { (t.get("work-assignee")) " "
                        select name="assignee" {
                            option value="" { (t.get("work-new-nobody")) }
                            @for m in &people {
                                option value=(m.id) { (m.name) @if m.kind == MemberKind::Ai { " (" (t.get("ai-worker")) ")" } }
                            }
                        }
                    }
                    label { (t.get("template-key-result")) " "
                        select name="key_result" {
                            option value="" { "–" }
                            @for kr in key_results.iter() { option value=(kr.id) { (kr.title) } }
                        }
                    }
                    label { (t.get("work-state")) " "
                        select name="state" {
                            @for s in [WorkState::Ready, WorkState::Backlog] {
                                option value=(s.as_str()) { (t.get(&format!("work-state-{s}"))) }
                            }
                        }
                    }
                    label { (t.get("work-kind")) " "
                        select name="kind" {
                            @for k in [WorkKind::Planned, WorkKind::Unplanned] {
                                option value=(k.as_str()) { (t.get(&format!("work-kind-{k}"))) }
                            }
                        }
                    }
                    button type="submit" { (t.get("template-use-submit")) }
                }
            }
        }
        @if may_write {
            section.card aria-labelledby="version-h" {
                h3 #version-h { (t.get("template-new-version")) }
                form.stacked method="post" action=(format!("/templates/{id}/versions")) aria-labelledby="version-h" {
                    (web.csrf_field())
                    label { (t.get("template-body")) " " textarea name="body" rows="6" required { (newest.map(|v| v.body.as_str()).unwrap_or_default()) } }
                    (placeholder_hint(web))
                    label { (t.get("template-criteria")) " " textarea name="criteria" rows="3" required { (newest.map(|v| v.criteria.as_str()).unwrap_or_default()) } }
                    label { (t.get("template-note")) " " input type="text" name="note" maxlength="500"; }
                    label.check { input type="checkbox" name="side_by_side" value="on"; " " (t.get("template-side-by-side")) }
                    button type="submit" { (t.get("template-add-version")) }
                }
            }
        }
    })
}

/// A refused form: for what its input caused, the page again with the
/// problem above the form (422); any other failure gets the error page.
async fn refused<Fut>(
    web: &Web,
    e: ApiError,
    title_id: &str,
    active: Nav,
    again: impl FnOnce(Markup) -> Fut,
) -> Response
where
    Fut: std::future::Future<Output = Result<Markup, ApiError>>,
{
    if !matches!(
        e,
        ApiError::Invalid(_) | ApiError::Malformed { .. } | ApiError::Conflict(_)
    ) {
        return web.error(e);
    }
    let rendered = again(web.form_problem(&e)).await;
    web.show_with_status(StatusCode::UNPROCESSABLE_ENTITY, rendered, title_id, active)
}

pub async fn add_version<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<Uuid>,
    form: Form<TemplateForm>,
) -> Response {
    let Form { web, value } = form;
    let ctx = crate::api::ctx(&state, &web.actor);
    let version = NewTemplateVersion {
        body: value.body,
        criteria: value.criteria,
        note: value.note.trim().to_owned(),
        side_by_side: value.side_by_side.is_some(),
    };
    match workforce::add_version(&state.store, &web.actor, &ctx, id, version).await {
        Ok(_) => see_other(&format!("/templates/{id}")),
        Err(e) => {
            refused(&web, e.into(), "templates-title", Nav::Work, |problem| {
                template_body(&state, &web, id, Some(problem))
            })
            .await
        }
    }
}

pub async fn use_template<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<Uuid>,
    form: Form<UseForm>,
) -> Response {
    let Form { web, value } = form;
    let made = async {
        let parse = |field: &str, text: &str| {
            tutti_domain::Invalid::new(field, format!("`{text}` is not known"))
        };
        let new = FromTemplate {
            title: value.title.clone(),
            details: value.details.clone(),
            team_id: optional_id("team", &value.team)?,
            assignee_id: optional_id("assignee", &value.assignee)?,
            key_result_id: optional_id("key_result", &value.key_result)?,
            state: if value.state.is_empty() {
                WorkState::Ready
            } else {
                value
                    .state
                    .parse()
                    .map_err(|_| parse("state", &value.state))?
            },
            kind: if value.kind.is_empty() {
                WorkKind::Planned
            } else {
                value.kind.parse().map_err(|_| parse("kind", &value.kind))?
            },
            priority: Priority::Normal,
            due: None,
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(
            workforce::create_from_template(
                &state.store,
                &state.runtime,
                &web.actor,
                &ctx,
                id,
                new,
            )
            .await?,
        )
    }
    .await;
    match made {
        Ok(item) => see_other(&format!("/work/{}", item.id)),
        Err(e) => {
            refused(&web, e, "templates-title", Nav::Work, |problem| {
                template_body(&state, &web, id, Some(problem))
            })
            .await
        }
    }
}

pub async fn capacity_page<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    let rendered = capacity_body(&state, &web, None).await;
    web.show(rendered, "capacity-title", Nav::People)
}

fn wait(web: &Web, secs: Option<i64>) -> String {
    match secs {
        None => "–".into(),
        Some(s) if s < 120 => web.t.with("capacity-secs", &args([("n", s as f64)])),
        Some(s) if s < 7200 => web.t.with("capacity-mins", &args([("n", (s / 60) as f64)])),
        Some(s) => web
            .t
            .with("capacity-hours", &args([("n", (s / 3600) as f64)])),
    }
}

async fn capacity_body<S: Store>(
    state: &AppState<S>,
    web: &Web,
    problem: Option<Markup>,
) -> Result<Markup, ApiError> {
    let t = &web.t;
    let capacity = workforce::capacity(&state.store, &web.actor, state.clock.now()).await?;
    let admin = web.actor.may(Action::ManageOrgSettings).is_ok();
    Ok(html! {
        p.lede { (t.get("capacity-lede")) }
        @if let Some(problem) = &problem { (problem) }
        section.card aria-labelledby="capacity-h" {
            h2 #capacity-h { (t.get("capacity-workers")) }
            p {
                (t.with("capacity-summary", &args([("running", capacity.running as f64), ("queued", capacity.queued as f64)])))
                " · "
                @match capacity.ai_concurrency {
                    Some(cap) => (t.with("capacity-cap", &args([("cap", cap as f64)]))),
                    None => (t.get("capacity-no-cap")),
                }
            }
            table {
                caption.visually-hidden { (t.get("capacity-workers")) }
                thead { tr {
                    th scope="col" { (t.get("capacity-worker")) }
                    th scope="col" { (t.get("people-concurrency")) }
                    th scope="col" { (t.get("capacity-running")) }
                    th scope="col" { (t.get("capacity-queued")) }
                    th scope="col" { (t.get("capacity-oldest")) }
                    th scope="col" { (t.get("capacity-mean-wait")) }
                } }
                tbody {
                    @for w in &capacity.workers {
                        tr {
                            th scope="row" { (w.name) @if w.external { " " small.quiet { (t.get("capacity-external")) } } }
                            td {
                                @if admin {
                                    form.inline method="post" action=(format!("/capacity/workers/{}", w.worker_id)) {
                                        (web.csrf_field())
                                        label.visually-hidden for=(format!("c-{}", w.worker_id)) { (t.get("people-concurrency")) }
                                        input id=(format!("c-{}", w.worker_id)) type="number" name="concurrency" min="1" max="64" value=(w.concurrency);
                                        " " button.secondary type="submit" { (t.get("capacity-save")) }
                                    }
                                } @else { (w.concurrency) }
                            }
                            td { (w.running) }
                            td { (w.queued) }
                            td { (wait(web, w.oldest_wait_secs)) }
                            td { (wait(web, w.mean_wait_secs)) " " small.quiet { "(" (w.started) ")" } }
                        }
                    }
                }
            }
            @if admin {
                form.inline method="post" action="/capacity/org" {
                    (web.csrf_field())
                    label { (t.get("capacity-org-cap")) " " input type="number" name="ai_concurrency" min="1" max="1024" value=[capacity.ai_concurrency]; }
                    " " button type="submit" { (t.get("capacity-save")) }
                    " " small.quiet { (t.get("capacity-org-cap-hint")) }
                }
            }
        }
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct CapForm {
    #[serde(default)]
    ai_concurrency: String,
    #[serde(default)]
    concurrency: String,
}

fn whole(field: &str, text: &str) -> Result<Option<i64>, ApiError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(|_| {
        ApiError::Invalid(tutti_domain::Invalid::new(
            field,
            format!("`{text}` is not a whole number"),
        ))
    })
}

async fn after_capacity<S: Store>(
    state: &AppState<S>,
    web: Web,
    done: Result<(), ApiError>,
) -> Response {
    match done {
        Ok(()) => see_other("/capacity"),
        Err(e) => {
            refused(&web, e, "capacity-title", Nav::People, |problem| {
                capacity_body(state, &web, Some(problem))
            })
            .await
        }
    }
}

pub async fn set_org_cap<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<CapForm>,
) -> Response {
    let Form { web, value } = form;
    let done = async {
        let cap = whole("ai_concurrency", &value.ai_concurrency)?;
        let ctx = crate::api::ctx(&state, &web.actor);
        workforce::set_ai_concurrency(&state.store, &state.runtime, &web.actor, &ctx, cap).await?;
        Ok(())
    }
    .await;
    after_capacity(&state, web, done).await
}

pub async fn set_worker_concurrency<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<Uuid>,
    form: Form<CapForm>,
) -> Response {
    let Form { web, value } = form;
    let done = async {
        let concurrency = whole("concurrency", &value.concurrency)?.ok_or_else(|| {
            tutti_domain::Invalid::new("concurrency", "a whole number from 1 to 64")
        })?;
        let ctx = crate::api::ctx(&state, &web.actor);
        let patch = MemberPatch {
            concurrency: Some(concurrency),
            ..MemberPatch::default()
        };
        tutti_engine::directory::update_member(
            &state.store,
            &state.runtime,
            &web.actor,
            &ctx,
            id,
            patch,
        )
        .await?;
        Ok(())
    }
    .await;
    after_capacity(&state, web, done).await
}

/// The guard-rail checks as the space's form writes them: phrases and
/// headings one per line, a limit in whole euros.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct GuardsForm {
    #[serde(default)]
    forbidden: String,
    #[serde(default)]
    amount_above: String,
    #[serde(default)]
    sections: String,
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The guards form's fields for checks as they stand.
pub(crate) fn guards_form(
    web: &Web,
    space_id: Uuid,
    checks: &[GuardCheck],
    may_edit: bool,
    refused: Option<&(GuardsForm, Markup)>,
) -> Markup {
    let t = &web.t;
    let mut forbidden = Vec::new();
    let mut sections = Vec::new();
    let mut limit = None;
    for check in checks {
        match check {
            GuardCheck::Forbidden { phrases } => forbidden.extend(phrases.iter().cloned()),
            GuardCheck::RequiredSections { headings } => sections.extend(headings.iter().cloned()),
            GuardCheck::AmountAbove { limit: l } => {
                limit = Some(limit.map_or(*l, |m: u32| m.min(*l)))
            }
        }
    }
    html! {
        section.card aria-labelledby="guards-h" {
            h2 #guards-h { (t.get("guards-title")) }
            p.quiet { (t.get("guards-lede")) }
            @if may_edit {
                @let (forbidden, amount, sections) = match refused {
                    Some((draft, _)) => (draft.forbidden.clone(), draft.amount_above.clone(), draft.sections.clone()),
                    None => (forbidden.join("\n"), limit.map(|l| l.to_string()).unwrap_or_default(), sections.join("\n")),
                };
                @if let Some((_, problem)) = refused { (problem) }
                form.stacked method="post" action=(format!("/spaces/{space_id}/guards")) aria-labelledby="guards-h" {
                    (web.csrf_field())
                    label { (t.get("guards-forbidden")) " " textarea name="forbidden" rows="3" { (forbidden) } }
                    label { (t.get("guards-amount")) " " input type="number" name="amount_above" min="1" value=(amount); }
                    label { (t.get("guards-sections")) " " textarea name="sections" rows="2" { (sections) } }
                    button type="submit" { (t.get("guards-save")) }
                }
            } @else {
                dl.facts {
                    dt { (t.get("guards-forbidden-shown")) } dd { @if forbidden.is_empty() { "–" } @else { (forbidden.join(", ")) } }
                    dt { (t.get("guards-amount-shown")) } dd { @if let Some(l) = limit { (t.int(i64::from(l))) " €" } @else { "–" } }
                    dt { (t.get("guards-sections-shown")) } dd { @if sections.is_empty() { "–" } @else { (sections.join(", ")) } }
                }
            }
        }
    }
}

pub async fn set_guards<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<Uuid>,
    form: Form<GuardsForm>,
) -> Response {
    let Form { web, value } = form;
    let draft = value.clone();
    let done = async {
        let mut checks = Vec::new();
        let forbidden = lines(&value.forbidden);
        if !forbidden.is_empty() {
            checks.push(GuardCheck::Forbidden { phrases: forbidden });
        }
        if let Some(limit) = whole("amount_above", &value.amount_above)? {
            let limit = u32::try_from(limit).map_err(|_| {
                tutti_domain::Invalid::new(
                    "amount_above",
                    "a whole number of euros from 1 to 4 294 967 295",
                )
            })?;
            checks.push(GuardCheck::AmountAbove { limit });
        }
        let sections = lines(&value.sections);
        if !sections.is_empty() {
            checks.push(GuardCheck::RequiredSections { headings: sections });
        }
        let ctx = crate::api::ctx(&state, &web.actor);
        workforce::set_guards(&state.store, &web.actor, &ctx, id, checks).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match done {
        Ok(()) => see_other(&format!("/spaces/{id}#guards-h")),
        Err(e @ (ApiError::Invalid(_) | ApiError::Malformed { .. })) => {
            let editing = super::decisions::Editing::guards_refused(draft, web.form_problem(&e));
            super::decisions::render_space(
                &state,
                &web,
                id,
                editing,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => web.error(e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct EvidenceForm {
    #[serde(default)]
    work_item: Option<String>,
    #[serde(default)]
    back: Option<String>,
}

/// Attaches done work to a check-in, naming its accepted run when it has one.
pub async fn attach_evidence<S: Store>(
    State(state): State<AppState<S>>,
    Path(check_in): Path<Uuid>,
    form: Form<EvidenceForm>,
) -> Response {
    let Form { web, value } = form;
    let done = async {
        let item = optional_id("work_item", &value.work_item)?
            .ok_or_else(|| tutti_domain::Invalid::new("work_item", "choose the work"))?;
        let ctx = crate::api::ctx(&state, &web.actor);
        workforce::attach_evidence(&state.store, &web.actor, &ctx, check_in, item, None).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match done {
        Ok(()) => see_other(&super::back_to(value.back.as_deref(), "/objectives")),
        Err(e) => web.error(e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct LeverageQuery {
    by: Option<String>,
    period: Option<String>,
}

impl LeverageQuery {
    fn by(&self) -> Result<LeverageBy, ApiError> {
        match self.by.as_deref().filter(|b| !b.is_empty()) {
            None => Ok(LeverageBy::Objective),
            Some(text) => text.parse().map_err(|_| ApiError::Malformed {
                field: Some("by".into()),
                detail: format!("`{text}`: use objective, team or role"),
            }),
        }
    }

    fn period(&self) -> Option<&str> {
        self.period.as_deref().filter(|p| !p.is_empty())
    }
}

/// The leverage view: where AI spend moved objectives, and where it moved
/// nothing.
pub async fn leverage_page<S: Store>(
    State(state): State<AppState<S>>,
    web: Web,
    Query(query): Query<LeverageQuery>,
) -> Response {
    let rendered = leverage_body(&state, &web, &query).await;
    web.show(rendered, "leverage-title", Nav::Ledger)
}

/// The leverage view as a sheet, with the groups named as the page names
/// them.
pub async fn leverage_csv<S: Store>(
    State(state): State<AppState<S>>,
    web: Web,
    Query(query): Query<LeverageQuery>,
) -> Response {
    let report = async {
        let by = query.by()?;
        Ok::<_, ApiError>(
            workforce::leverage(
                &state.store,
                &web.actor,
                by,
                query.period(),
                state.clock.now(),
            )
            .await?,
        )
    }
    .await;
    match report {
        Ok(mut report) => {
            for row in &mut report.rows {
                if report.by == LeverageBy::Role {
                    row.label = row.key.as_deref().map(|r| web.t.get(&format!("role-{r}")));
                }
            }
            let none = web.t.get(&format!("leverage-none-{}", report.by));
            crate::api::csv_download("leverage.csv", workforce::leverage_sheet(&report, &none))
        }
        Err(e) => web.error(e),
    }
}

async fn leverage_body<S: Store>(
    state: &AppState<S>,
    web: &Web,
    query: &LeverageQuery,
) -> Result<Markup, ApiError> {
    let t = &web.t;
    let by = query.by()?;
    let period = query.period().unwrap_or("quarter");
    let report = workforce::leverage(
        &state.store,
        &web.actor,
        by,
        Some(period),
        state.clock.now(),
    )
    .await?;
    let name = |row: &tutti_domain::labour::leverage::LeverageRow| match (&row.key, by) {
        (None, _) => t.get(&format!("leverage-none-{by}")),
        (Some(role), LeverageBy::Role) => t.get(&format!("role-{role}")),
        (Some(_), _) => row.label.clone().unwrap_or_default(),
    };
    let units = |micro: i64| micro as f64 / 1_000_000.0;
    let dots: Vec<(String, f64, f64)> = report
        .rows
        .iter()
        .map(|r| (name(r), units(r.cost), r.points_moved))
        .collect();
    let link = |by: LeverageBy, period: &str| format!("/leverage?by={by}&period={period}");
    let last_day = report.to - chrono::Duration::days(1);
    Ok(html! {
        (super::ledger::sections(t, "leverage"))
        p.lede { (t.get("leverage-lede")) }
        nav.tabs aria-label=(t.get("leverage-by")) {
            @for b in [LeverageBy::Objective, LeverageBy::Team, LeverageBy::Role] {
                a href=(link(b, period)) aria-current=[(b == by).then_some("page")] { (t.get(&format!("leverage-by-{b}"))) }
            }
        }
        form.inline method="get" action="/leverage" {
            input type="hidden" name="by" value=(by);
            label { (t.get("leverage-period")) " "
                select name="period" {
                    @for p in ["quarter", "month", "all"] {
                        option value=(p) selected[period == p] { (t.get(&format!("leverage-period-{p}"))) }
                    }
                }
            }
            " " button type="submit" { (t.get("leverage-show")) }
        }
        section.card aria-labelledby="leverage-h" {
            h2 #leverage-h { (t.with("leverage-window", &args([("from", t.date(report.from.date_naive())), ("to", t.date(last_day.date_naive()))]))) }
            @if report.rows.is_empty() {
                p.quiet { (t.get("leverage-empty")) }
            } @else {
                figure role="img" aria-label=(t.get("leverage-chart")) {
                    (super::svg(super::charts::leverage(&dots, &t.with("leverage-axis-cost", &args([("currency", report.currency.as_str())])), &t.get("leverage-axis-points"), &|x, d| t.decimal(x, d))))
                    figcaption { (t.get("leverage-chart")) }
                }
                    table {
                        caption.visually-hidden { (t.get("leverage-title")) }
                        thead { tr {
                            th scope="col" { (t.get(&format!("leverage-by-{by}"))) }
                            th scope="col" { (t.get("leverage-cost")) }
                            th scope="col" { (t.get("leverage-tokens")) }
                            th scope="col" { (t.get("leverage-accepted")) }
                            th scope="col" { (t.get("leverage-cycle")) }
                            th scope="col" { (t.get("leverage-points")) }
                            th scope="col" { (t.get("leverage-per-point")) }
                        } }
                        tbody {
                            @for row in report.rows.iter().chain(std::iter::once(&report.total)) {
                                @let total = std::ptr::eq(row, &report.total);
                                tr {
                                    th scope="row" {
                                        @if total { (t.get("leverage-total")) } @else { (name(row)) }
                                        @if row.moves_nothing && !total { " " span.badge.warn { (t.get("leverage-moves-nothing")) } }
                                    }
                                    td { (web.money(row.cost)) }
                                    td { (t.int(row.tokens)) }
                                    td { (row.accepted) }
                                    td { (row.cycle_hours.map_or_else(|| "–".into(), |h| t.with("leverage-hours", &args([("n", t.decimal(h, 1))])))) }
                                    td { (t.decimal(row.points_moved, 1)) " " small.quiet { (t.with("leverage-of-krs", &args([("n", row.key_results as f64)]))) } }
                                    td { (row.cost_per_point.map_or_else(|| "–".into(), |c| web.money(c))) }
                                }
                            }
                        }
                    }
                p.quiet { (t.get("leverage-how")) }
            }
            p { a href=(format!("/leverage.csv?by={by}&period={period}")) download { (t.get("leverage-csv")) } }
        }
    })
}
