//! Work: the board by state with filters, where work is created and moved
//! on; and a work item with its runs — each run's work order, its output
//! streamed live while it runs — the review form that accepts, asks for a
//! revision, or rejects, and the forms that move it and hand it on. Every
//! form offers only what the rules let the reader do
//! (`work::may_patch`), and the use case checks again.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::access::Action;
use tutti_domain::labour::{MaxTokens, NewReview, RunStatus, Verdict};
use tutti_domain::org::MemberKind;
use tutti_domain::work::{Priority, WorkItem, WorkKind, WorkState};
use tutti_engine::signals::directory;
use tutti_engine::work;
use tutti_i18n::args;
use tutti_store::RunFilter;
use tutti_store::prelude::*;
use tutti_store::{NewWorkItem, PageRequest, WorkFilter, WorkItemPatch};
use uuid::Uuid;

use super::{Form, Nav, PageId, Web, optional_id, see_other};
use crate::api::labour::run_events;
use crate::{ApiError, AppState};

/// Items shown per column of the board.
const PER_COLUMN: u32 = 25;

#[derive(Debug, Default, Deserialize)]
pub struct BoardQuery {
    state: Option<String>,
    team: Option<String>,
    assignee: Option<String>,
    #[serde(default)]
    unaligned: Option<String>,
}

pub async fn board<S: Store>(
    State(state): State<AppState<S>>,
    web: Web,
    Query(query): Query<BoardQuery>,
) -> Response {
    let rendered = render_board(&state, &web, query, None).await;
    web.show(rendered, "work-title", Nav::Work)
}

/// What a person types to create work; empty fields are left out.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct NewItemForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    assignee: Option<String>,
    #[serde(default)]
    state: String,
    #[serde(default)]
    priority: String,
    #[serde(default)]
    due: String,
    /// Set when the work is created from a key result's page.
    #[serde(default)]
    key_result: Option<String>,
    /// `planned` (the default) or `unplanned`.
    #[serde(default)]
    kind: String,
    #[serde(default)]
    product: Option<String>,
}

impl NewItemForm {
    fn parse(&self) -> Result<NewWorkItem, ApiError> {
        let filled = |text: &str| Some(text.trim().to_owned()).filter(|t| !t.is_empty());
        let state = match filled(&self.state) {
            Some(text) => text
                .parse::<WorkState>()
                .map_err(|e| tutti_domain::Invalid::new("state", e))?,
            None => WorkState::Backlog,
        };
        let priority = match filled(&self.priority) {
            Some(text) => text
                .parse::<Priority>()
                .map_err(|e| tutti_domain::Invalid::new("priority", e))?,
            None => Priority::Normal,
        };
        let due = match filled(&self.due) {
            Some(text) => Some(text.parse::<chrono::NaiveDate>().map_err(|_| {
                tutti_domain::Invalid::new("due", format!("`{text}` is not a date like 2026-12-31"))
            })?),
            None => None,
        };
        Ok(NewWorkItem {
            title: self.title.clone(),
            description: self.description.clone(),
            team_id: optional_id("team", &self.team)?,
            assignee_id: optional_id("assignee", &self.assignee)?,
            state,
            kind: match filled(&self.kind) {
                Some(text) => text
                    .parse::<WorkKind>()
                    .map_err(|e| tutti_domain::Invalid::new("kind", e))?,
                None => WorkKind::Planned,
            },
            priority,
            due,
            parent_id: None,
            key_result_id: optional_id("key_result", &self.key_result)?,
            service_product_id: optional_id("service_product_id", &self.product)?,
        })
    }
}

/// Whether the reader may create any work at all (a viewer may not).
fn may_create_some(actor: &tutti_domain::access::Actor) -> bool {
    actor
        .may(Action::CreateWork {
            team_id: None,
            assignee_id: Some(actor.member_id),
        })
        .is_ok()
}

/// The form that creates work, with a refused draft and its problem.
pub(super) fn new_item_form(
    web: &Web,
    people: &[&tutti_domain::org::Member],
    teams: &[tutti_domain::org::Team],
    products: &[tutti_domain::service::ServiceProduct],
    draft: Option<&(NewItemForm, Markup)>,
    key_result: Option<Uuid>,
) -> Markup {
    let t = &web.t;
    let (form, problem) = match draft {
        Some((form, problem)) => (form.clone(), Some(problem.clone())),
        None => (NewItemForm::default(), None),
    };
    let id = match key_result {
        Some(kr) => format!("new-work-{kr}"),
        None => "new-work".to_owned(),
    };
    // Only the teams and people the reader may create work for: a member
    // sees their own teams and themselves, a lead the teams they lead and
    // everyone they may hand work to there.
    let may = |team_id, assignee_id| {
        web.actor
            .may(Action::CreateWork {
                team_id,
                assignee_id,
            })
            .is_ok()
    };
    let teams: Vec<_> = teams.iter().filter(|t| may(Some(t.id), None)).collect();
    let people: Vec<_> = people
        .iter()
        .filter(|m| may(None, Some(m.id)) || teams.iter().any(|t| may(Some(t.id), Some(m.id))))
        .collect();
    html! {
        details.new-work open[problem.is_some()] {
            summary id=(id) { (t.get("work-new")) }
            @if let Some(problem) = problem { (problem) }
            form.stacked method="post" action="/work" aria-labelledby=(id) {
                (web.csrf_field())
                @if let Some(kr) = key_result { input type="hidden" name="key_result" value=(kr); }
                label { (t.get("work-new-title")) " " input type="text" name="title" required maxlength="200" value=(form.title); }
                label { (t.get("work-new-description")) " " textarea name="description" rows="3" maxlength="20000" { (form.description) } }
                label { (t.get("filter-team")) " "
                    select name="team" {
                        option value="" { (t.get("work-new-no-team")) }
                        @for team in &teams { option value=(team.id) selected[form.team.as_deref() == Some(team.id.to_string().as_str())] { (team.name) } }
                    }
                }
                label { (t.get("work-assignee")) " "
                    select name="assignee" {
                        option value="" { (t.get("work-new-nobody")) }
                        @for m in &people {
                            option value=(m.id) selected[form.assignee.as_deref() == Some(m.id.to_string().as_str())] {
                                (m.name) @if m.kind == MemberKind::Ai { " (" (t.get("ai-worker")) ")" }
                            }
                        }
                    }
                }
                label { (t.get("work-state")) " "
                    select name="state" {
                        @for s in [WorkState::Backlog, WorkState::Ready] {
                            option value=(s.as_str()) selected[form.state == s.as_str()] { (t.get(&format!("work-state-{s}"))) }
                        }
                    }
                }
                label { (t.get("work-priority")) " "
                    select name="priority" {
                        @for p in [Priority::Low, Priority::Normal, Priority::High, Priority::Urgent] {
                            option value=(p.as_str()) selected[form.priority == p.as_str() || (form.priority.is_empty() && p == Priority::Normal)] { (t.get(&format!("priority-{p}"))) }
                        }
                    }
                }
                label { (t.get("work-due")) " " input type="date" name="due" value=(form.due); }
                label { (t.get("work-kind")) " "
                    select name="kind" {
                        @for k in [WorkKind::Planned, WorkKind::Unplanned] {
                            option value=(k.as_str()) selected[form.kind == k.as_str()] { (t.get(&format!("work-kind-{k}"))) }
                        }
                    }
                }
                @if !products.is_empty() {
                    label { (t.get("promise-product")) " "
                        select name="product" {
                            option value="" { "–" }
                            @for p in products { option value=(p.id) selected[form.product.as_deref() == Some(p.id.to_string().as_str())] { (p.name) } }
                        }
                    }
                }
                p.quiet { (t.get("work-new-ai-hint")) }
                button type="submit" { (t.get("work-new-save")) }
            }
        }
    }
}

/// Creates work from the board or from a key result's page: to the new
/// item on success; a refusal back to the board with the draft.
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<NewItemForm>,
) -> Response {
    let Form { web, value } = form;
    let created = async {
        let new = value.parse()?;
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(
            work::create_item(&state.store, &state.runtime, &web.actor, &ctx, new)
                .await?
                .id,
        )
    }
    .await;
    match created {
        Ok(id) => see_other(&format!("/work/{id}")),
        Err(e @ ApiError::Invalid(_)) => {
            let draft = (value, web.form_problem(&e));
            let rendered = render_board(&state, &web, BoardQuery::default(), Some(&draft)).await;
            web.show_with_status(
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                rendered,
                "work-title",
                Nav::Work,
            )
        }
        Err(e) => web.error(e),
    }
}

/// Where a move or a hand-over sends the reader back to.
#[derive(Debug, Deserialize)]
pub struct MoveForm {
    state: String,
    #[serde(default)]
    back: Option<String>,
}

/// Moves a work item to another state (the board's and the item's form).
pub async fn move_item<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<MoveForm>,
) -> Response {
    let Form { web, value } = form;
    let moved = async {
        let to = value
            .state
            .parse::<WorkState>()
            .map_err(|e| tutti_domain::Invalid::new("state", e))?;
        let patch = WorkItemPatch {
            state: Some(to),
            ..WorkItemPatch::default()
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        work::update_item(&state.store, &state.runtime, &web.actor, &ctx, id, patch).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match moved {
        Ok(()) => see_other(&super::back_to(
            value.back.as_deref(),
            &format!("/work/{id}"),
        )),
        Err(e) => web.error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    assignee: Option<String>,
}

/// Hands a work item to a person or an AI worker, or to nobody.
pub async fn assign<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<AssignForm>,
) -> Response {
    let Form { web, value } = form;
    let assigned = async {
        let patch = WorkItemPatch {
            assignee_id: Some(optional_id("assignee", &value.assignee)?),
            ..WorkItemPatch::default()
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        work::update_item(&state.store, &state.runtime, &web.actor, &ctx, id, patch).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match assigned {
        Ok(()) => see_other(&format!("/work/{id}")),
        Err(e) => web.error(e),
    }
}

/// The moves the reader may make with `item`, as a small form; nothing
/// when there are none.
fn move_form(web: &Web, item: &WorkItem, back: &str) -> Markup {
    let t = &web.t;
    let allowed: Vec<WorkState> = item
        .state
        .next_states()
        .iter()
        .copied()
        .filter(|to| {
            let patch = WorkItemPatch {
                state: Some(*to),
                ..WorkItemPatch::default()
            };
            work::may_patch(&web.actor, item, &patch).is_ok()
        })
        .collect();
    if allowed.is_empty() {
        return html! {};
    }
    let label = t.with("work-move-label", &args([("title", item.title.as_str())]));
    html! {
        form.move method="post" action=(format!("/work/{}/move", item.id)) {
            (web.csrf_field())
            input type="hidden" name="back" value=(back);
            select name="state" aria-label=(label) {
                @for to in &allowed { option value=(to.as_str()) { (t.get(&format!("work-state-{to}"))) } }
            }
            " "
            button.secondary type="submit" { (t.get("work-move")) }
        }
    }
}

async fn render_board<S: Store>(
    state: &AppState<S>,
    web: &Web,
    query: BoardQuery,
    draft: Option<&(NewItemForm, Markup)>,
) -> Result<Markup, ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let only_state = match query.state.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => Some(text.parse::<WorkState>().map_err(|e| ApiError::Malformed {
            field: Some("state".into()),
            detail: e,
        })?),
        None => None,
    };
    let team_id = optional_id("team", &query.team)?;
    let assignee_id = optional_id("assignee", &query.assignee)?;
    let unaligned = query.unaligned.as_deref() == Some("true");
    let teams = state
        .store
        .teams(org_id, PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items;
    let members = directory(&state.store, org_id).await?;
    let mut people: Vec<_> = members.values().collect();
    people.sort_by(|a, b| a.name.cmp(&b.name));
    let states: Vec<WorkState> = match only_state {
        Some(s) => vec![s],
        None => WorkState::ALL
            .iter()
            .copied()
            .filter(|s| *s != WorkState::Cancelled)
            .collect(),
    };
    let flow = state.store.work_flow(org_id, state.clock.now(), 1).await?;
    let mut columns: Vec<(WorkState, Vec<WorkItem>, bool)> = Vec::new();
    for s in states {
        let filter = WorkFilter {
            state: Some(s),
            assignee_id,
            team_id,
            unaligned,
            ..WorkFilter::default()
        };
        // The newest first: a board shows what moves now.
        let page = state
            .store
            .work_items(org_id, &filter, PageRequest::first(PER_COLUMN))
            .await?;
        columns.push((s, page.items, page.next_cursor.is_some()));
    }
    let total = |s: WorkState| {
        flow.by_state
            .iter()
            .find(|(x, _)| *x == s)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let filtered = team_id.is_some() || assignee_id.is_some() || unaligned;
    let creates = may_create_some(&web.actor);
    let products = if creates {
        state
            .store
            .service_products(org_id, PageRequest::first(PageRequest::MAX_LIMIT))
            .await?
            .items
    } else {
        Vec::new()
    };
    Ok(html! {
        @if creates { (new_item_form(web, &people, &teams, &products, draft, None)) }
        p { a href="/routines" { (t.get("work-routines")) } " · " a href="/templates" { (t.get("templates-title")) } " · " a href="/transfer" { (t.get("transfer-link")) } }
        form.filters method="get" action="/work" role="search" {
            label { (t.get("filter-state")) " "
                select name="state" {
                    option value="" { (t.get("filter-all")) }
                    @for s in WorkState::ALL { option value=(s.as_str()) selected[only_state == Some(*s)] { (t.get(&format!("work-state-{s}"))) } }
                }
            }
            label { (t.get("filter-team")) " "
                select name="team" {
                    option value="" { (t.get("filter-all")) }
                    @for team in &teams { option value=(team.id) selected[team_id == Some(team.id)] { (team.name) } }
                }
            }
            label { (t.get("filter-assignee")) " "
                select name="assignee" {
                    option value="" { (t.get("filter-all")) }
                    @for m in &people { option value=(m.id) selected[assignee_id == Some(m.id)] { (m.name) @if m.kind == MemberKind::Ai { " (KI)" } } }
                }
            }
            label { input type="checkbox" name="unaligned" value="true" checked[unaligned]; " " (t.get("filter-unaligned")) }
            button type="submit" { (t.get("filter-apply")) }
        }
        div.board {
            @for (s, items, more) in &columns {
                section.column aria-labelledby=(format!("col-{s}")) {
                    h2 id=(format!("col-{s}")) { (t.get(&format!("work-state-{s}")))
                        " " span.count { @if filtered { (items.len()) @if *more { "+" } } @else { (t.int(total(*s))) } }
                    }
                    ul {
                        @for item in items {
                            li.item {
                                a href=(format!("/work/{}", item.id)) { (item.title) }
                                br;
                                small.quiet {
                                    (t.get(&format!("priority-{}", item.priority)))
                                    @if let Some(a) = item.assignee_id.and_then(|a| members.get(&a)) { " · " (a.name) }
                                    @if item.key_result_id.is_none() { " · " span.badge { (t.get("unaligned")) } }
                                }
                                (move_form(web, item, "/work"))
                            }
                        }
                    }
                    @if *more { p.quiet { a href=(format!("/work?state={s}")) { (t.get("work-more")) } } }
                }
            }
        }
    })
}

pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    web: Web,
    PageId(id): PageId,
) -> Response {
    match render_item(&state, &web, id).await {
        Ok((title, body)) => web.page(&title, Nav::Work, body),
        Err(e) => web.error(e),
    }
}

async fn render_item<S: Store>(
    state: &AppState<S>,
    web: &Web,
    id: Uuid,
) -> Result<(String, Markup), ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let item = state.store.work_item(org_id, id).await?;
    let members = directory(&state.store, org_id).await?;
    let runs = state
        .store
        .runs(
            org_id,
            &RunFilter {
                work_item_id: Some(id),
                ..RunFilter::default()
            },
            PageRequest::first(PageRequest::MAX_LIMIT),
        )
        .await?
        .items;
    let reviews = state.store.reviews(org_id, id).await?;
    let reviewed: HashMap<Uuid, _> = reviews.iter().map(|r| (r.run_id, r)).collect();
    // What an external agent reported on each of its runs.
    let mut notes = HashMap::new();
    for run in &runs {
        if members.get(&run.worker_id).is_some_and(|m| m.external) {
            notes.insert(run.id, state.store.run_notes(org_id, run.id).await?);
        }
    }
    let may_review = work::may_review(&web.actor, &item).is_ok();
    let assignee = item.assignee_id.and_then(|a| members.get(&a));
    let may_start = assignee.is_some_and(|a| a.kind == MemberKind::Ai)
        && work::may_steer(&web.actor, &item).is_ok()
        && !item.state.is_final()
        && !runs.iter().any(|r| !r.status.is_final());
    let name = |id: Uuid| {
        members
            .get(&id)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| "?".into())
    };
    let key_result = match item.key_result_id {
        Some(kr) => Some(state.store.key_result(org_id, kr).await?),
        None => None,
    };
    // Handing the item on needs the right to change it and to give it to
    // someone; the store checks the chosen person again.
    let may_assign = !item.state.is_final() && work::may_steer(&web.actor, &item).is_ok();
    // Whom to hand it to: who is overloaded, and who of its team has room.
    let (overloaded, room) = if may_assign {
        let now = state.clock.now();
        let org = tutti_engine::workload::of_team(&state.store, &web.actor, None, now).await?;
        let overloaded: std::collections::HashSet<Uuid> = org
            .members
            .iter()
            .filter(|l| !l.overloads.is_empty())
            .map(|l| l.carried.member_id)
            .collect();
        let room =
            tutti_engine::workload::who_could(&state.store, &web.actor, item.team_id, None, now)
                .await?;
        (overloaded, room)
    } else {
        Default::default()
    };
    let mut people: Vec<_> = members.values().collect();
    people.sort_by(|a, b| a.name.cmp(&b.name));
    let body = html! {
        dl.facts {
            dt { (t.get("work-state")) } dd {
                span.badge { (t.get(&format!("work-state-{}", item.state))) }
                " " small.quiet.since { (t.with("since", &args([("when", t.datetime(item.state_since))]))) }
            }
            dt { (t.get("work-kind")) } dd { (t.get(&format!("work-kind-{}", item.kind))) }
            dt { (t.get("work-priority")) } dd { (t.get(&format!("priority-{}", item.priority))) }
            @if let Some(a) = assignee { dt { (t.get("work-assignee")) } dd { (a.name) @if a.kind == MemberKind::Ai { " " span.badge { (t.get("ai-worker")) } } } }
            @if let Some(due) = item.due { dt { (t.get("work-due")) } dd { (t.date(due)) } }
            dt { (t.get("work-serves")) } dd {
                @match &key_result {
                    Some(kr) => a href=(format!("/objectives/{}#kr-{}", kr.objective_id, kr.id)) { (kr.title) },
                    None => span.badge { (t.get("unaligned")) },
                }
            }
        }
        @if !item.description.is_empty() { p.description { (item.description) } }
        (move_form(web, &item, &format!("/work/{id}")))
        @if may_assign {
            form.assign method="post" action=(format!("/work/{id}/assign")) {
                (web.csrf_field())
                label { (t.get("work-assign")) " "
                    select name="assignee" {
                        option value="" { (t.get("work-new-nobody")) }
                        @for m in &people {
                            option value=(m.id) selected[item.assignee_id == Some(m.id)] {
                                (m.name) @if m.kind == MemberKind::Ai { " (" (t.get("ai-worker")) ")" }
                                @if overloaded.contains(&m.id) { " — " (t.get("workload-overloaded")) }
                            }
                        }
                    }
                }
                " "
                button.secondary type="submit" { (t.get("work-assign-save")) }
            }
            p.quiet.hint {
                (t.get("workload-who-could")) ": "
                @if room.is_empty() { (t.get("workload-nobody-free")) }
                @else { (room.iter().take(4).map(|l| format!("{} ({:.0} %)", l.carried.name, l.used * 100.0)).collect::<Vec<_>>().join(" · ")) }
                " · " a href=(match item.team_id { Some(team) => format!("/workload?team={team}"), None => "/workload?team=".to_owned() }) { (t.get("workload-title")) }
            }
        }
        @if may_start {
            form method="post" action=(format!("/work/{id}/runs")) {
                (web.csrf_field())
                button type="submit" { (t.get("run-start")) }
            }
        }
        h2 { (t.get("runs")) }
        @if runs.is_empty() { p.quiet { (t.get("runs-none")) } }
        @for run in runs.iter().rev() {
            section.card.run id=(format!("run-{}", run.id)) aria-labelledby=(format!("run-h-{}", run.id)) {
                h3 id=(format!("run-h-{}", run.id)) {
                    (t.with("run-iteration", &args([("iteration", run.iteration as f64)])))
                    " · " (name(run.worker_id))
                    " " span class=(format!("badge run-{}", run.status)) { (t.get(&format!("run-status-{}", run.status))) }
                }
                p.quiet {
                    (t.with("run-usage", &args([
                        ("tokens", t.int(run.tokens.input + run.tokens.cached_input + run.tokens.output)),
                        ("cost", web.money(run.cost)),
                    ])))
                    @if let Some(model) = &run.model { " · " (model) }
                }
                details {
                    summary { (t.get("run-work-order")) }
                    pre.order { (run.work_order) }
                }
                @let live = !run.status.is_final();
                @if let Some(notes) = notes.get(&run.id) {
                    @if run.status == RunStatus::Queued { p.quiet { (t.get("run-waits-for-agent")) } }
                    @if !notes.is_empty() {
                        ol.notes aria-label=(t.get("run-notes")) {
                            @for note in notes { li { small.quiet { (t.datetime(note.created_at)) } " " (note.note) } }
                        }
                    }
                }
                div.output aria-live="polite" data-stream=[live.then(|| format!("/runs/{}/stream", run.id))] {
                    @if run.output.is_empty() && !live { span.quiet { (t.get("run-no-output")) } }
                    (run.output)
                }
                @if let Some(error) = &run.error { p.problem { (error) } }
                @if !run.findings.is_empty() {
                    div.problem.findings role="status" {
                        strong { (t.get(if run.sent_back { "guard-sent-back" } else { "guard-found" })) }
                        ul { @for f in &run.findings { li { (super::workforce::finding_text(web, f)) } } }
                    }
                }
                @if let Some(review) = reviewed.get(&run.id) {
                    p.review {
                        strong { (t.get(&format!("verdict-{}", review.verdict))) }
                        " · " (t.with("review-rating", &args([("rating", review.rating as f64)])))
                        " · " (name(review.reviewer_id))
                        @if !review.feedback.is_empty() { br; q { (review.feedback) } }
                    }
                } @else if may_review && run.status == RunStatus::Succeeded && item.state == WorkState::InReview {
                    form.review method="post" action=(format!("/runs/{}/review", run.id)) {
                        (web.csrf_field())
                        fieldset {
                            legend { (t.get("review-verdict")) }
                            @for v in [Verdict::Accept, Verdict::Revise, Verdict::Reject] {
                                label { input type="radio" name="verdict" value=(v.as_str()) required checked[v == Verdict::Accept]; " " (t.get(&format!("verdict-{v}"))) }
                            }
                        }
                        label { (t.get("review-rating-label")) " "
                            select name="rating" { @for r in (1..=5).rev() { option value=(r) selected[r == 4] { (r) } } }
                        }
                        label.wide { (t.get("review-feedback")) textarea name="feedback" rows="3" maxlength="4000" {} }
                        button type="submit" { (t.get("review-submit")) }
                    }
                }
            }
        }
    };
    Ok((item.title, body))
}

pub async fn start_run<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<super::session::Empty>,
) -> Response {
    let web = form.web;
    let result = async {
        let ctx = crate::api::ctx(&state, &web.actor);
        let max_tokens = MaxTokens::default();
        work::start_run(
            &state.store,
            &state.runtime,
            &web.actor,
            &ctx,
            id,
            max_tokens,
        )
        .await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match result {
        Ok(()) => see_other(&format!("/work/{id}")),
        Err(e) => web.error(e),
    }
}

#[derive(Deserialize)]
pub struct ReviewForm {
    verdict: String,
    rating: String,
    #[serde(default)]
    feedback: String,
}

pub async fn review<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<ReviewForm>,
) -> Response {
    let Form { web, value } = form;
    let result = async {
        let verdict = value
            .verdict
            .parse::<Verdict>()
            .map_err(|e| ApiError::Malformed {
                field: Some("verdict".into()),
                detail: e,
            })?;
        let rating = value.rating.trim().parse::<i64>().map_err(|_| {
            tutti_domain::Invalid::new("rating", "must be a whole number from 1 to 5")
        })?;
        let review = NewReview::parse(verdict, &value.feedback, rating)?;
        let ctx = crate::api::ctx(&state, &web.actor);
        let reviewed =
            work::review(&state.store, &state.runtime, &web.actor, &ctx, id, review).await?;
        Ok::<_, ApiError>(reviewed.review.work_item_id)
    }
    .await;
    match result {
        Ok(item_id) => see_other(&format!("/work/{item_id}")),
        Err(e) => web.error(e),
    }
}

/// A run's live output for the page's script, with the session's rights.
pub async fn stream<S: Store>(
    State(state): State<AppState<S>>,
    web: Web,
    PageId(id): PageId,
) -> Response {
    if let Err(e) = web.actor.may(Action::Read) {
        return web.error(e);
    }
    match state.store.run(web.actor.org_id, id).await {
        Ok(_) => run_events(&state, web.actor.org_id, id),
        Err(e) => web.error(e),
    }
}
