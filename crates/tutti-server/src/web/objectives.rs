//! Objectives: the alignment tree with roll-ups, an objective with its key
//! results, their check-in history and the check-in form, and the work that
//! serves no key result; and, for those who may write objectives, the forms
//! that create an objective (at the top or below another), change it
//! (re-parent it too), add a key result, change one (a moved target is
//! kept, the old one stays visible), close an objective, and create work
//! for a key result.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::access::{Action, Scope};
use tutti_domain::strategy::{NewCheckIn, ObjectiveStatus, ObjectiveSummary, RiskReason};
use tutti_engine::strategy;
use tutti_i18n::args;
use tutti_store::prelude::*;
use tutti_store::{
    KeyResultPatch, NewKeyResult, NewObjective, ObjectivePatch, PageRequest, WorkFilter,
};
use uuid::Uuid;

use super::{Form, Nav, PageId, Web, charts, optional_id, progress_bar, see_other, svg};
use crate::api::objectives::judged;
use crate::{ApiError, AppState};

/// Children shown under each objective in the tree before "and N more".
const CHILDREN_SHOWN: usize = 10;
const ROOTS_SHOWN: usize = 100;

/// A root as the tree shows it: its summary, its first children (each with
/// how many objectives hang below it), and how many children it has in all.
type Branch = (ObjectiveSummary, Vec<(ObjectiveSummary, usize)>, usize);

pub async fn tree<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    let rendered = render_tree(&state, &web, None).await;
    web.show(rendered, "objectives-title", Nav::Objectives)
}

/// An objective as typed; empty fields are left out.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ObjectiveForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    why: String,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    period_start: String,
    #[serde(default)]
    period_end: String,
    /// Set when it is created below another objective.
    #[serde(default)]
    parent: Option<String>,
}

fn date(field: &str, text: &str) -> Result<chrono::NaiveDate, ApiError> {
    text.trim().parse().map_err(|_| {
        tutti_domain::Invalid::new(field, format!("`{text}` is not a date like 2026-12-31")).into()
    })
}

impl ObjectiveForm {
    fn parse(&self) -> Result<NewObjective, ApiError> {
        Ok(NewObjective {
            title: self.title.clone(),
            why: self.why.clone(),
            owner_id: optional_id("owner", &self.owner)?,
            team_id: optional_id("team", &self.team)?,
            period_start: date("period_start", &self.period_start)?,
            period_end: date("period_end", &self.period_end)?,
            parent_id: optional_id("parent", &self.parent)?,
        })
    }

    /// Every field as a change: an empty team, owner or parent clears it.
    fn patch(&self) -> Result<ObjectivePatch, ApiError> {
        Ok(ObjectivePatch {
            title: Some(self.title.clone()),
            why: Some(self.why.clone()),
            owner_id: Some(optional_id("owner", &self.owner)?),
            team_id: Some(optional_id("team", &self.team)?),
            period_start: Some(date("period_start", &self.period_start)?),
            period_end: Some(date("period_end", &self.period_end)?),
            parent_id: Some(optional_id("parent", &self.parent)?),
            status: None,
        })
    }

    fn of(o: &tutti_domain::strategy::Objective) -> Self {
        let id = |id: Option<Uuid>| id.map(|id| id.to_string());
        Self {
            title: o.title.clone(),
            why: o.why.clone(),
            team: id(o.team_id),
            owner: id(o.owner_id),
            period_start: o.period_start.to_string(),
            period_end: o.period_end.to_string(),
            parent: id(o.parent_id),
        }
    }
}

/// A key result's definition as changed: every field is sent, so each is
/// a change; a new target is kept as a move with its reason.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct KeyResultEditForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    baseline: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    reason: String,
}

impl KeyResultEditForm {
    fn parse(&self) -> Result<KeyResultPatch, ApiError> {
        Ok(KeyResultPatch {
            title: Some(self.title.clone()),
            baseline: Some(number("baseline", &self.baseline)?),
            target: Some(number("target", &self.target)?),
            unit: Some(self.unit.clone()),
            target_reason: Some(self.reason.clone()),
        })
    }

    fn of(kr: &tutti_domain::strategy::KeyResult) -> Self {
        Self {
            title: kr.title.clone(),
            baseline: kr.baseline.to_string(),
            target: kr.target.to_string(),
            unit: kr.unit.clone(),
            reason: String::new(),
        }
    }
}

/// A key result as typed.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct KeyResultForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    baseline: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    confidence: String,
}

fn number(field: &str, text: &str) -> Result<f64, ApiError> {
    text.trim()
        .replace(',', ".")
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| {
            tutti_domain::Invalid::new(field, format!("`{text}` is not a number")).into()
        })
}

impl KeyResultForm {
    fn parse(&self) -> Result<NewKeyResult, ApiError> {
        let confidence = match self.confidence.trim() {
            "" => 5,
            text => text.parse::<u8>().map_err(|_| {
                tutti_domain::Invalid::new("confidence", "must be a whole number from 0 to 10")
            })?,
        };
        Ok(NewKeyResult {
            title: self.title.clone(),
            baseline: number("baseline", &self.baseline)?,
            target: number("target", &self.target)?,
            current: None,
            unit: self.unit.clone(),
            confidence,
        })
    }
}

/// Whether the reader may write some objective: admins anywhere, leads in
/// the teams they lead.
fn may_write_some(actor: &tutti_domain::access::Actor, teams: &[tutti_domain::org::Team]) -> bool {
    let may = |team_id| {
        actor
            .may(Action::WriteObjective(Scope {
                team_id,
                owner_id: None,
            }))
            .is_ok()
    };
    may(None) || teams.iter().any(|t| may(Some(t.id)))
}

/// The fields an objective is created and changed with.
fn objective_fields(
    web: &Web,
    teams: &[tutti_domain::org::Team],
    people: &[&tutti_domain::org::Member],
    form: &ObjectiveForm,
) -> Markup {
    let t = &web.t;
    let is = |field: &Option<String>, id: Uuid| field.as_deref() == Some(id.to_string().as_str());
    html! {
        label { (t.get("objective-title")) " " input type="text" name="title" required maxlength="200" value=(form.title); }
        label { (t.get("objective-why")) " " textarea name="why" rows="2" maxlength="20000" { (form.why) } }
        label { (t.get("filter-team")) " "
            select name="team" {
                option value="" { (t.get("work-new-no-team")) }
                @for team in teams { option value=(team.id) selected[is(&form.team, team.id)] { (team.name) } }
            }
        }
        label { (t.get("objective-owner")) " "
            select name="owner" {
                option value="" { (t.get("work-new-nobody")) }
                @for m in people { option value=(m.id) selected[is(&form.owner, m.id)] { (m.name) } }
            }
        }
        label { (t.get("objective-period-start")) " " input type="date" name="period_start" required value=(form.period_start); }
        label { (t.get("objective-period-end")) " " input type="date" name="period_end" required value=(form.period_end); }
    }
}

/// The fields that define a key result, as typed.
fn key_result_fields(web: &Web, title: &str, baseline: &str, target: &str, unit: &str) -> Markup {
    let t = &web.t;
    html! {
        label { (t.get("kr-title")) " " input type="text" name="title" required maxlength="200" value=(title); }
        label { (t.get("kr-baseline")) " " input type="text" inputmode="decimal" name="baseline" required value=(baseline); }
        label { (t.get("kr-target")) " " input type="text" inputmode="decimal" name="target" required value=(target); }
        label { (t.get("kr-unit")) " " input type="text" name="unit" maxlength="32" value=(unit); }
    }
}

/// The form that creates an objective (below `parent` when given).
fn objective_form(
    web: &Web,
    teams: &[tutti_domain::org::Team],
    people: &[&tutti_domain::org::Member],
    draft: Option<&(ObjectiveForm, Markup)>,
    parent: Option<&tutti_domain::strategy::Objective>,
) -> Markup {
    let t = &web.t;
    let (form, problem) = match draft {
        Some((form, problem)) => (form.clone(), Some(problem.clone())),
        None => (
            ObjectiveForm {
                team: parent.and_then(|p| p.team_id).map(|id| id.to_string()),
                period_start: parent
                    .map(|p| p.period_start.to_string())
                    .unwrap_or_default(),
                period_end: parent.map(|p| p.period_end.to_string()).unwrap_or_default(),
                ..ObjectiveForm::default()
            },
            None,
        ),
    };
    let heading = if parent.is_some() {
        "objective-new-child"
    } else {
        "objective-new"
    };
    html! {
        details.new-objective open[problem.is_some()] {
            summary #objective-new-h { (t.get(heading)) }
            @if let Some(problem) = problem { (problem) }
            form.stacked method="post" action="/objectives" aria-labelledby="objective-new-h" {
                (web.csrf_field())
                @if let Some(parent) = parent { input type="hidden" name="parent" value=(parent.id); }
                (objective_fields(web, teams, people, &form))
                button type="submit" { (t.get("objective-new-save")) }
            }
        }
    }
}

/// Creates an objective (from the tree, or below another): to it on
/// success; a refusal shown with the draft.
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<ObjectiveForm>,
) -> Response {
    let Form { web, value } = form;
    let created = async {
        let new = value.parse()?;
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(
            strategy::create_objective(&state.store, &web.actor, &ctx, new)
                .await?
                .id,
        )
    }
    .await;
    match created {
        Ok(id) => see_other(&format!("/objectives/{id}")),
        Err(e @ ApiError::Invalid(_)) => {
            let draft = (value.clone(), web.form_problem(&e));
            match optional_id("parent", &value.parent).ok().flatten() {
                Some(parent) => {
                    objective_again(
                        &state,
                        &web,
                        parent,
                        Drafts {
                            child: Some(&draft),
                            ..Drafts::default()
                        },
                    )
                    .await
                }
                None => {
                    let rendered = render_tree(&state, &web, Some(&draft)).await;
                    web.show_with_status(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        rendered,
                        "objectives-title",
                        Nav::Objectives,
                    )
                }
            }
        }
        Err(e) => web.error(e),
    }
}

/// Adds a key result to an objective.
pub async fn add_key_result<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<KeyResultForm>,
) -> Response {
    let Form { web, value } = form;
    let created = async {
        let new = value.parse()?;
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(
            strategy::create_key_result(&state.store, &web.actor, &ctx, id, new)
                .await?
                .id,
        )
    }
    .await;
    match created {
        Ok(kr) => see_other(&format!("/objectives/{id}#kr-{kr}")),
        Err(e @ ApiError::Invalid(_)) => {
            let draft = (value, web.form_problem(&e));
            let drafts = Drafts {
                key_result: Some(&draft),
                ..Drafts::default()
            };
            objective_again(&state, &web, id, drafts).await
        }
        Err(e) => web.error(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    status: String,
}

/// Closes an objective as achieved or dropped, or opens it again.
pub async fn set_status<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<StatusForm>,
) -> Response {
    let Form { web, value } = form;
    let changed = async {
        let status = value
            .status
            .parse::<ObjectiveStatus>()
            .map_err(|e| tutti_domain::Invalid::new("status", e))?;
        let patch = ObjectivePatch {
            status: Some(status),
            ..ObjectivePatch::default()
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        strategy::update_objective(&state.store, &web.actor, &ctx, id, patch).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match changed {
        Ok(()) => see_other(&format!("/objectives/{id}")),
        Err(e) => web.error(e),
    }
}

/// Changes an objective: its title, why, team, owner, period and parent.
pub async fn edit<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<ObjectiveForm>,
) -> Response {
    let Form { web, value } = form;
    let changed = async {
        let patch = value.patch()?;
        let ctx = crate::api::ctx(&state, &web.actor);
        strategy::update_objective(&state.store, &web.actor, &ctx, id, patch).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match changed {
        Ok(()) => see_other(&format!("/objectives/{id}")),
        Err(e @ (ApiError::Invalid(_) | ApiError::Malformed { .. })) => {
            let draft = (value, web.form_problem(&e));
            let drafts = Drafts {
                edit: Some(&draft),
                ..Drafts::default()
            };
            objective_again(&state, &web, id, drafts).await
        }
        Err(e) => web.error(e),
    }
}

/// Changes a key result's definition; a new target is kept as a move.
pub async fn edit_key_result<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<KeyResultEditForm>,
) -> Response {
    let Form { web, value } = form;
    let objective_id = match state.store.key_result(web.actor.org_id, id).await {
        Ok(kr) => kr.objective_id,
        Err(e) => return web.error(e),
    };
    let changed = async {
        let patch = value.parse()?;
        let ctx = crate::api::ctx(&state, &web.actor);
        strategy::update_key_result(&state.store, &web.actor, &ctx, id, patch).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match changed {
        Ok(()) => see_other(&format!("/objectives/{objective_id}#kr-{id}")),
        Err(e @ ApiError::Invalid(_)) => {
            let draft = (value, web.form_problem(&e));
            let drafts = Drafts {
                key_result_edit: Some((id, &draft)),
                ..Drafts::default()
            };
            objective_again(&state, &web, objective_id, drafts).await
        }
        Err(e) => web.error(e),
    }
}

/// The objective page again, with a refused draft in its form (422).
async fn objective_again<S: Store>(
    state: &AppState<S>,
    web: &Web,
    id: Uuid,
    drafts: Drafts<'_>,
) -> Response {
    match render_objective(state, web, id, drafts).await {
        Ok((title, body)) => web.page_with_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &title,
            Nav::Objectives,
            body,
        ),
        Err(e) => web.error(e),
    }
}

/// Refused drafts the objective page shows again in their forms.
#[derive(Default, Clone, Copy)]
struct Drafts<'a> {
    child: Option<&'a (ObjectiveForm, Markup)>,
    edit: Option<&'a (ObjectiveForm, Markup)>,
    key_result: Option<&'a (KeyResultForm, Markup)>,
    key_result_edit: Option<(Uuid, &'a (KeyResultEditForm, Markup))>,
}

/// The objectives an objective may be hung below, as the edit form offers
/// them: the top two levels of the tree (where parents sit in practice),
/// never the objective itself or one below it (that would be a circle),
/// and always its current parent. Bounded, so the form stays light in an
/// org of thousands; the API re-parents anywhere.
fn parent_choices(forest: &[tutti_domain::strategy::Objective], id: Uuid) -> Vec<(Uuid, String)> {
    use std::collections::{HashMap, HashSet};
    const SHOWN: usize = 300;
    let parent_of: HashMap<Uuid, Option<Uuid>> =
        forest.iter().map(|o| (o.id, o.parent_id)).collect();
    let below_self = |mut at: Option<Uuid>| {
        let mut seen = HashSet::new();
        while let Some(here) = at {
            if here == id {
                return true;
            }
            if !seen.insert(here) {
                return false;
            }
            at = parent_of.get(&here).copied().flatten();
        }
        false
    };
    let current = parent_of.get(&id).copied().flatten();
    let mut choices: Vec<(Uuid, String)> = forest
        .iter()
        .filter(|o| {
            let top_two = o
                .parent_id
                .is_none_or(|p| parent_of.get(&p).copied().flatten().is_none());
            Some(o.id) == current
                || (top_two && o.status == ObjectiveStatus::Active && !below_self(Some(o.id)))
        })
        .map(|o| (o.id, o.title.clone()))
        .collect();
    choices.sort_by(|a, b| a.1.cmp(&b.1));
    if choices.len() > SHOWN {
        let keep = current.and_then(|c| choices.iter().position(|(id, _)| *id == c));
        let kept = keep.map(|i| choices[i].clone());
        choices.truncate(SHOWN);
        if let Some(kept) = kept
            && !choices.iter().any(|(id, _)| *id == kept.0)
        {
            choices.push(kept);
        }
    }
    choices
}

/// The form that changes an objective.
fn objective_edit_form(
    web: &Web,
    teams: &[tutti_domain::org::Team],
    people: &[&tutti_domain::org::Member],
    parents: &[(Uuid, String)],
    objective: &tutti_domain::strategy::Objective,
    draft: Option<&(ObjectiveForm, Markup)>,
) -> Markup {
    let t = &web.t;
    let (form, problem) = match draft {
        Some((form, problem)) => (form.clone(), Some(problem.clone())),
        None => (ObjectiveForm::of(objective), None),
    };
    let is = |field: &Option<String>, id: Uuid| field.as_deref() == Some(id.to_string().as_str());
    html! {
        details.edit-objective open[problem.is_some()] {
            summary #objective-edit-h { (t.get("objective-edit")) }
            @if let Some(problem) = problem { (problem) }
            form.stacked method="post" action=(format!("/objectives/{}", objective.id)) aria-labelledby="objective-edit-h" {
                (web.csrf_field())
                (objective_fields(web, teams, people, &form))
                label { (t.get("objective-parent")) " "
                    select name="parent" {
                        option value="" { (t.get("objective-parent-none")) }
                        @for (id, title) in parents { option value=(id) selected[is(&form.parent, *id)] { (title) } }
                    }
                }
                button type="submit" { (t.get("objective-edit-save")) }
            }
        }
    }
}

/// The form that changes a key result; the reason goes with a moved target.
fn key_result_edit_form(
    web: &Web,
    kr: &tutti_domain::strategy::KeyResult,
    draft: Option<&(KeyResultEditForm, Markup)>,
) -> Markup {
    let t = &web.t;
    let (form, problem) = match draft {
        Some((form, problem)) => (form.clone(), Some(problem.clone())),
        None => (KeyResultEditForm::of(kr), None),
    };
    let heading = format!("kr-edit-{}", kr.id);
    let hint = format!("kr-reason-hint-{}", kr.id);
    html! {
        details.edit-kr open[problem.is_some()] {
            summary id=(heading) { (t.get("kr-edit")) }
            @if let Some(problem) = problem { (problem) }
            form.stacked method="post" action=(format!("/key-results/{}", kr.id)) aria-labelledby=(heading) {
                (web.csrf_field())
                (key_result_fields(web, &form.title, &form.baseline, &form.target, &form.unit))
                label { (t.get("kr-target-reason")) " " input type="text" name="reason" maxlength="2000" aria-describedby=(hint) value=(form.reason); }
                small.quiet id=(hint) { (t.get("kr-target-reason-hint")) }
                button type="submit" { (t.get("kr-edit-save")) }
            }
        }
    }
}

fn row(web: &Web, s: &ObjectiveSummary) -> Markup {
    let t = &web.t;
    html! {
        a href=(format!("/objectives/{}", s.objective.id)) { (s.objective.title) }
        @if s.health.at_risk { " " span.badge.risk { (t.get("at-risk")) } }
        " " (progress_bar(t, s.progress, Some(s.health.expected_progress)))
    }
}

async fn render_tree<S: Store>(
    state: &AppState<S>,
    web: &Web,
    draft: Option<&(ObjectiveForm, Markup)>,
) -> Result<Markup, ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let teams = state
        .store
        .teams(web.actor.org_id, PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items;
    let writes = may_write_some(&web.actor, &teams);
    let members = tutti_engine::signals::directory(&state.store, web.actor.org_id).await?;
    let mut people: Vec<_> = members
        .values()
        .filter(|m| m.kind == tutti_domain::org::MemberKind::Human)
        .collect();
    people.sort_by(|a, b| a.name.cmp(&b.name));
    let cached = state.judged_forest(web.actor.org_id).await?;
    // Only what is shown is judged: the roots, and a few children of each.
    let mut below: std::collections::HashMap<Uuid, Vec<&tutti_domain::strategy::Objective>> =
        std::collections::HashMap::new();
    let mut all_roots = Vec::new();
    for o in &cached.forest.objectives {
        match o.parent_id {
            Some(parent) => below.entry(parent).or_default().push(o),
            None => all_roots.push(o),
        }
    }
    let total_roots = all_roots.len();
    let summarize = |o: &tutti_domain::strategy::Objective| cached.judged.summary(o.clone());
    let roots: Vec<Branch> = all_roots
        .iter()
        .take(ROOTS_SHOWN)
        .map(|root| {
            let kids = below.get(&root.id).map(Vec::as_slice).unwrap_or(&[]);
            let shown = kids
                .iter()
                .take(CHILDREN_SHOWN)
                .map(|k| (summarize(k), below.get(&k.id).map(Vec::len).unwrap_or(0)))
                .collect();
            (summarize(root), shown, kids.len())
        })
        .collect();
    let unaligned = state
        .store
        .work_items(
            web.actor.org_id,
            &WorkFilter {
                unaligned: true,
                ..WorkFilter::default()
            },
            PageRequest::first(20),
        )
        .await?;
    Ok(html! {
        p.lede { (t.get("objectives-lede")) }
        p { a href="/transfer" { (t.get("transfer-link")) } }
        @if writes { (objective_form(web, &teams, &people, draft, None)) }
        @if roots.is_empty() { p.quiet { (t.get("objectives-none")) } }
        ul.tree {
            @for (root, kids, all_kids) in &roots {
                li {
                    (row(web, root))
                    @if !kids.is_empty() {
                        ul {
                            @for (kid, grandchildren) in kids {
                                li {
                                    (row(web, kid))
                                    @if *grandchildren > 0 {
                                        " " small.quiet { (t.with("objectives-below", &args([("count", *grandchildren as f64)]))) }
                                    }
                                }
                            }
                            @if *all_kids > kids.len() {
                                li.quiet { a href=(format!("/objectives/{}", root.objective.id)) { (t.with("and-more", &args([("count", (all_kids - kids.len()) as f64)]))) } }
                            }
                        }
                    }
                }
            }
            @if total_roots > ROOTS_SHOWN {
                li.quiet { (t.with("and-more", &args([("count", (total_roots - ROOTS_SHOWN) as f64)]))) }
            }
        }
        section.card aria-labelledby="unaligned-h" {
            h2 #unaligned-h { (t.get("objectives-unaligned")) }
            p.quiet { (t.get("objectives-unaligned-lede")) }
            @if unaligned.items.is_empty() { p.quiet { (t.get("objectives-unaligned-none")) } }
            ul {
                @for item in &unaligned.items {
                    li { a href=(format!("/work/{}", item.id)) { (item.title) } " " span.badge { (t.get(&format!("work-state-{}", item.state))) } }
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
    match render_objective(&state, &web, id, Drafts::default()).await {
        Ok((title, body)) => web.page(&title, Nav::Objectives, body),
        Err(e) => web.error(e),
    }
}

async fn render_objective<S: Store>(
    state: &AppState<S>,
    web: &Web,
    id: Uuid,
    drafts: Drafts<'_>,
) -> Result<(String, Markup), ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let forest = state.store.objective_forest(org_id, &[id]).await?;
    let judged = judged(state, &forest);
    let mut objective = None;
    let mut children = Vec::new();
    for o in forest.objectives {
        if o.id == id {
            objective = Some(judged.summary(o));
        } else if o.parent_id == Some(id) {
            children.push(judged.summary(o));
        }
    }
    let summary = objective.ok_or(ApiError::NotFound("objective"))?;
    let o = &summary.objective;
    let scope = Scope {
        team_id: o.team_id,
        owner_id: o.owner_id,
    };
    let may_check_in = web.actor.may(Action::CheckIn(scope)).is_ok();
    let may_write = web.actor.may(Action::WriteObjective(scope)).is_ok();
    let members = tutti_engine::signals::directory(&state.store, org_id).await?;
    let mut people: Vec<_> = members.values().collect();
    people.sort_by(|a, b| a.name.cmp(&b.name));
    let humans: Vec<_> = people
        .iter()
        .copied()
        .filter(|m| m.kind == tutti_domain::org::MemberKind::Human)
        .collect();
    let teams = state
        .store
        .teams(org_id, PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items;
    let creates_work = web
        .actor
        .may(Action::CreateWork {
            team_id: None,
            assignee_id: Some(web.actor.member_id),
        })
        .is_ok();
    let owner = o
        .owner_id
        .and_then(|id| members.get(&id))
        .map(|m| m.name.clone());
    let mut key_results = Vec::new();
    for kr in judged.key_results_of(id) {
        let history = state
            .store
            .check_ins(org_id, kr.id, PageRequest::first(PageRequest::MAX_LIMIT))
            .await?
            .items;
        let moves = state
            .store
            .target_moves(org_id, kr.id, PageRequest::first(PageRequest::MAX_LIMIT))
            .await?
            .items;
        let evidence = state.store.evidence(org_id, kr.id).await?;
        let done = state
            .store
            .work_items(
                org_id,
                &WorkFilter {
                    key_result_id: Some(kr.id),
                    state: Some(tutti_domain::work::WorkState::Done),
                    ..WorkFilter::default()
                },
                PageRequest::first(PageRequest::MAX_LIMIT),
            )
            .await?
            .items;
        key_results.push((kr, history, moves, evidence, done));
    }
    let parents = if may_write {
        let cached = state.judged_forest(org_id).await?;
        parent_choices(&cached.forest.objectives, id)
    } else {
        Vec::new()
    };
    let body = html! {
        p.why { strong { (t.get("objective-why")) ": " } (o.why) }
        dl.facts {
            dt { (t.get("objective-period")) } dd { (t.date(o.period_start)) " – " (t.date(o.period_end)) }
            @if let Some(owner) = &owner { dt { (t.get("objective-owner")) } dd { (owner) } }
            dt { (t.get("objective-progress")) } dd { (progress_bar(t, summary.progress, Some(summary.health.expected_progress))) }
        }
        @if summary.health.at_risk {
            div.problem role="status" {
                strong { (t.get("at-risk")) ": " }
                @for reason in &summary.health.reasons {
                    @match reason {
                        RiskReason::Behind { progress, expected } => span { (t.with("risk-behind", &args([("progress", t.percent(*progress)), ("expected", t.percent(*expected))]))) " " },
                        RiskReason::LowConfidence { confidence, .. } => span { (t.with("risk-low-confidence", &args([("confidence", f64::from(*confidence))]))) " " },
                    }
                }
            }
        }
        @if let Some(parent) = o.parent_id { p { a href=(format!("/objectives/{parent}")) { "↑ " (t.get("objective-parent")) } } }
        @if may_write {
            form.inline.status method="post" action=(format!("/objectives/{id}/status")) {
                (web.csrf_field())
                label { (t.get("objective-status")) " "
                    select name="status" {
                        @for st in [ObjectiveStatus::Active, ObjectiveStatus::Achieved, ObjectiveStatus::Dropped] {
                            option value=(st.as_str()) selected[o.status == st] { (t.get(&format!("objective-status-{st}"))) }
                        }
                    }
                }
                " " button.secondary type="submit" { (t.get("objective-status-save")) }
            }
            (objective_edit_form(web, &teams, &humans, &parents, o, drafts.edit))
        }
        h2 { (t.get("key-results")) }
        @if key_results.is_empty() { p.quiet { (t.get("key-results-none")) } }
        @for (kr, history, moves, evidence, done) in &key_results {
            section.card.kr aria-labelledby=(format!("kr-{}", kr.id)) {
                h3 id=(format!("kr-{}", kr.id)) { (kr.title) }
                p {
                    (progress_bar(t, kr.progress, None)) " · "
                    (t.with("kr-figures", &args([
                        ("current", format!("{} {}", t.decimal(kr.current, 1), kr.unit)),
                        ("target", format!("{} {}", t.decimal(kr.target, 1), kr.unit)),
                        ("baseline", format!("{} {}", t.decimal(kr.baseline, 1), kr.unit)),
                    ])))
                    @if let Some(first) = moves.first() {
                        " (" (t.with("kr-target-first", &args([("target", format!("{} {}", t.decimal(first.from, 1), kr.unit))]))) ")"
                    }
                    " · " (t.with("kr-confidence", &args([("confidence", f64::from(kr.confidence))])))
                }
                @if !moves.is_empty() {
                    details.target-moves open {
                        summary { (t.with("kr-target-moves", &args([("count", moves.len() as f64)]))) }
                        ul.history {
                            @for m in moves.iter().rev() {
                                li { (t.date(m.created_at.date_naive())) ": "
                                    (t.with("kr-target-moved", &args([
                                        ("from", format!("{} {}", t.decimal(m.from, 1), kr.unit)),
                                        ("to", format!("{} {}", t.decimal(m.to, 1), kr.unit)),
                                    ])))
                                    @if !m.reason.is_empty() { " — " (m.reason) }
                                    " " small.quiet { (m.author_id.and_then(|a| members.get(&a)).map(|m| m.name.as_str()).unwrap_or("tutti")) }
                                }
                            }
                        }
                    }
                }
                @if history.len() > 1 {
                    @let labels: Vec<String> = history.iter().map(|c| t.date(c.created_at.date_naive())).collect();
                    figure role="img" aria-label=(t.with("kr-history", &args([("title", kr.title.as_str())]))) {
                        (svg(charts::lines(&labels, &[(kr.title.clone(), history.iter().map(|c| c.value).collect())], &|y| t.decimal(y, 1))))
                    }
                }
                @if !history.is_empty() {
                    details {
                        summary { (t.with("kr-check-ins", &args([("count", history.len() as f64)]))) }
                        ul.history {
                            @for c in history.iter().rev() {
                                li { (t.date(c.created_at.date_naive())) ": " strong { (t.decimal(c.value, 1)) " " (kr.unit) } " · " (t.with("kr-confidence", &args([("confidence", f64::from(c.confidence))])))
                                    @if !c.note.is_empty() { " — " (c.note) }
                                    " " small.quiet { (members.get(&c.author_id).map(|m| m.name.as_str()).unwrap_or("?")) }
                                    @let behind: Vec<_> = evidence.iter().filter(|e| e.check_in_id == c.id).collect();
                                    @if !behind.is_empty() {
                                        ul.evidence aria-label=(t.get("evidence-title")) {
                                            @for e in behind {
                                                li { (t.get("evidence-by")) " " a href=(format!("/work/{}", e.work_item_id)) { (e.title) }
                                                    @if e.runs > 0 { " " small.quiet { (t.with("evidence-ai", &args([("runs", e.runs as f64)]))) " · " (web.money(e.cost)) } }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if may_write {
                    (key_result_edit_form(web, kr, drafts.key_result_edit.filter(|(k, _)| *k == kr.id).map(|(_, d)| d)))
                }
                @if creates_work { (super::work::new_item_form(web, &people, &teams, &[], None, Some(kr.id))) }
                @if may_check_in {
                    form.inline method="post" action=(format!("/key-results/{}/check-ins", kr.id)) {
                        (web.csrf_field())
                        label { (t.get("check-in-value")) " " input type="number" step="any" name="value" required value=(kr.current); }
                        label { (t.get("check-in-confidence")) " " input type="number" min="0" max="10" name="confidence" required value=(kr.confidence); }
                        label.wide { (t.get("check-in-note")) " " input type="text" name="note" maxlength="2000"; }
                        button type="submit" { (t.get("check-in-submit")) }
                    }
                    @if !history.is_empty() && !done.is_empty() {
                        @let latest = history.last().map(|c| c.id);
                        form.inline.evidence method="post" action=(format!("/check-ins/{}/evidence", latest.unwrap_or_default())) {
                            (web.csrf_field())
                            input type="hidden" name="back" value=(format!("/objectives/{id}"));
                            label { (t.get("evidence-attach")) " "
                                select name="work_item" {
                                    @for w in done.iter() { option value=(w.id) { (w.title) } }
                                }
                            }
                            " " button.secondary type="submit" { (t.get("evidence-submit")) }
                        }
                    }
                }
            }
        }
        @if may_write {
            @let (kr_form, kr_problem) = match drafts.key_result {
                Some((form, problem)) => (form.clone(), Some(problem.clone())),
                None => (KeyResultForm { confidence: "5".into(), ..KeyResultForm::default() }, None),
            };
            details.new-kr open[kr_problem.is_some()] {
                summary #kr-new-h { (t.get("kr-new")) }
                @if let Some(problem) = kr_problem { (problem) }
                form.stacked method="post" action=(format!("/objectives/{id}/key-results")) aria-labelledby="kr-new-h" {
                    (web.csrf_field())
                    (key_result_fields(web, &kr_form.title, &kr_form.baseline, &kr_form.target, &kr_form.unit))
                    label { (t.get("check-in-confidence")) " " input type="number" min="0" max="10" name="confidence" value=(kr_form.confidence); }
                    button type="submit" { (t.get("kr-new-save")) }
                }
            }
        }
        @if !children.is_empty() {
            h2 { (t.get("objective-children")) }
            ul.tree { @for c in &children { li { (row(web, c)) } } }
        }
        @if may_write { (objective_form(web, &teams, &humans, drafts.child, Some(o))) }
    };
    Ok((o.title.clone(), body))
}

#[derive(Deserialize)]
pub struct CheckInForm {
    value: String,
    confidence: String,
    #[serde(default)]
    note: String,
}

pub async fn check_in<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<CheckInForm>,
) -> Response {
    let Form { web, value } = form;
    let result = async {
        let number = value
            .value
            .trim()
            .replace(',', ".")
            .parse::<f64>()
            .map_err(|_| {
                tutti_domain::Invalid::new("value", format!("`{}` is not a number", value.value))
            })?;
        let confidence = value.confidence.trim().parse::<i64>().map_err(|_| {
            tutti_domain::Invalid::new("confidence", "must be a whole number from 0 to 10")
        })?;
        let new = NewCheckIn::parse(number, confidence, &value.note)?;
        let ctx = crate::api::ctx(&state, &web.actor);
        strategy::check_in(&state.store, &web.actor, &ctx, id, new).await?;
        let kr = state.store.key_result(web.actor.org_id, id).await?;
        Ok::<_, ApiError>(kr.objective_id)
    }
    .await;
    match result {
        Ok(objective_id) => see_other(&format!("/objectives/{objective_id}#kr-{id}")),
        Err(e) => web.error(e),
    }
}
