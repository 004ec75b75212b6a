//! `/objectives`, `/key-results` and their check-ins: strategy, with progress
//! rolled up key result → objective → parent objective, and each objective's
//! health against the time elapsed in its period.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tutti_domain::access::{Action, Actor, Scope};
use tutti_domain::strategy::{
    CheckIn, Health, KeyResult, Objective, ObjectiveStatus, assess_health, parse_confidence,
    rollups,
};
use tutti_domain::validate::finite;
use tutti_store::{
    EventFilter, KeyResultPatch, NewCheckIn, NewKeyResult, NewObjective, ObjectiveForest,
    ObjectivePatch, Store,
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ListParams, PageOf, ctx, double_option, page_request};
use crate::error::Problem;
use crate::extract::{ApiJson, ApiQuery, Auth, IdPath, IdempotencyKey};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateObjective {
    pub title: String,
    /// The purpose: why this objective matters.
    #[serde(default)]
    pub why: String,
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    #[serde(default)]
    pub team_id: Option<Uuid>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    #[serde(default)]
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateObjective {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub why: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub owner_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub team_id: Option<Option<Uuid>>,
    #[serde(default)]
    pub period_start: Option<NaiveDate>,
    #[serde(default)]
    pub period_end: Option<NaiveDate>,
    #[serde(default, deserialize_with = "double_option")]
    pub parent_id: Option<Option<Uuid>>,
    #[serde(default)]
    pub status: Option<ObjectiveStatus>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyResult {
    pub title: String,
    pub baseline: f64,
    pub target: f64,
    /// Defaults to the baseline.
    #[serde(default)]
    pub current: Option<f64>,
    #[serde(default)]
    pub unit: String,
    /// 0–10, default 5.
    #[serde(default)]
    pub confidence: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateKeyResult {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub baseline: Option<f64>,
    #[serde(default)]
    pub target: Option<f64>,
    #[serde(default)]
    pub unit: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCheckIn {
    pub value: f64,
    /// 0–10.
    pub confidence: i64,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ObjectiveParams {
    /// Return the whole alignment tree instead of a page.
    #[serde(default)]
    pub tree: bool,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// An objective with its rolled-up progress and health.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectiveSummary {
    #[serde(flatten)]
    pub objective: Objective,
    /// 0–1, the mean of its key results and child objectives.
    pub progress: f64,
    pub health: Health,
}

/// An objective with everything needed to judge it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectiveDetail {
    #[serde(flatten)]
    pub objective: Objective,
    pub progress: f64,
    pub health: Health,
    pub key_results: Vec<KeyResult>,
    pub children: Vec<ObjectiveSummary>,
}

/// A node of the alignment tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectiveNode {
    #[serde(flatten)]
    pub objective: Objective,
    pub progress: f64,
    pub health: Health,
    pub key_results: Vec<KeyResult>,
    #[schema(no_recursion)]
    pub children: Vec<ObjectiveNode>,
}

/// The alignment tree: objectives without a parent at the top.
#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectiveTree {
    pub roots: Vec<ObjectiveNode>,
}

/// An org's whole forest, judged, as of one audit event and one day.
pub(crate) struct JudgedForest {
    pub(crate) forest: ObjectiveForest,
    pub(crate) judged: Judged,
}

/// The last judged forest of each org, as of one audit head and one day.
///
/// When the head has moved, the events since tell what changed. Events on
/// subjects outside the forest (work, runs, decisions, budgets, people…)
/// leave it as it was; check-ins and key result edits reload just those key
/// results and judge the forest again; anything else (objectives created or
/// changed, imports, teams, or more than [`CATCH_UP_EVENTS`] events) loads
/// the whole forest afresh. A new day judges afresh too: health depends on
/// the elapsed share of each period.
#[derive(Default)]
pub struct RollupCache {
    orgs: std::sync::Mutex<HashMap<Uuid, CachedForest>>,
}

/// A judged forest with the audit head and the day it holds for.
type CachedForest = (i64, NaiveDate, std::sync::Arc<JudgedForest>);

/// Past this many events since the cached head, reloading is cheaper than
/// reading them.
const CATCH_UP_EVENTS: u32 = 200;

/// Subjects whose events never change an objective or a key result.
const OUTSIDE_THE_FOREST: &[&str] = &[
    "alert",
    "budget",
    "decision",
    "decision_space",
    "member",
    "provider",
    "run",
    "webhook",
    "work_item",
];

/// What the events since the cached head ask of the cache.
enum CatchUp {
    Keep,
    Reload(std::collections::BTreeSet<Uuid>),
    Rebuild,
}

impl RollupCache {
    pub(crate) async fn get<S: Store>(
        &self,
        state: &AppState<S>,
        org_id: Uuid,
    ) -> Result<std::sync::Arc<JudgedForest>, ApiError> {
        let head = state.store.audit_seq(org_id).await?;
        let today = state.clock.now().date_naive();
        let cached = self
            .orgs
            .lock()
            .ok()
            .and_then(|orgs| orgs.get(&org_id).cloned())
            .filter(|(_, day, _)| *day == today);
        let fresh = match cached {
            Some((seq, _, cached)) if seq == head => return Ok(cached),
            Some((seq, _, cached)) => match catch_up(state, org_id, seq).await? {
                CatchUp::Keep => cached,
                CatchUp::Reload(ids) => {
                    let mut forest = cached.forest.clone();
                    for id in ids {
                        let key_result = state.store.key_result(org_id, id).await?;
                        match forest.key_results.iter_mut().find(|kr| kr.id == id) {
                            Some(slot) => *slot = key_result,
                            None => forest.key_results.push(key_result),
                        }
                    }
                    let judged = Judged::new(state, &forest);
                    std::sync::Arc::new(JudgedForest { forest, judged })
                }
                CatchUp::Rebuild => load_judged(state, org_id).await?,
            },
            None => load_judged(state, org_id).await?,
        };
        if let Ok(mut orgs) = self.orgs.lock() {
            orgs.insert(org_id, (head, today, fresh.clone()));
        }
        Ok(fresh)
    }
}

async fn load_judged<S: Store>(
    state: &AppState<S>,
    org_id: Uuid,
) -> Result<std::sync::Arc<JudgedForest>, ApiError> {
    let forest = state.store.all_objectives(org_id).await?;
    let judged = Judged::new(state, &forest);
    Ok(std::sync::Arc::new(JudgedForest { forest, judged }))
}

/// Reads the events after `since` and says what they change in the forest.
async fn catch_up<S: Store>(
    state: &AppState<S>,
    org_id: Uuid,
    since: i64,
) -> Result<CatchUp, ApiError> {
    let events = state
        .store
        .events(
            org_id,
            &EventFilter {
                after_seq: Some(since),
                limit: CATCH_UP_EVENTS,
                action: None,
                subject_id: None,
            },
        )
        .await?;
    if events.next_cursor.is_some() {
        return Ok(CatchUp::Rebuild);
    }
    let mut key_results = std::collections::BTreeSet::new();
    for event in &events.items {
        match (
            event.subject_type.as_str(),
            event.action.as_str(),
            event.subject_id,
        ) {
            (subject, _, _) if OUTSIDE_THE_FOREST.contains(&subject) => {}
            ("key_result", "check_in.created" | "key_result.updated", Some(id)) => {
                key_results.insert(id);
            }
            _ => return Ok(CatchUp::Rebuild),
        }
    }
    Ok(if key_results.is_empty() {
        CatchUp::Keep
    } else {
        CatchUp::Reload(key_results)
    })
}

/// A forest with every objective's progress and its key results at hand.
pub(crate) struct Judged {
    progress: HashMap<Uuid, f64>,
    key_results: HashMap<Uuid, Vec<KeyResult>>,
    today: NaiveDate,
    rule: tutti_domain::strategy::RiskRule,
}

impl Judged {
    pub(crate) fn new<S: Store>(state: &AppState<S>, forest: &ObjectiveForest) -> Self {
        let mut key_results: HashMap<Uuid, Vec<KeyResult>> = HashMap::new();
        for kr in &forest.key_results {
            key_results
                .entry(kr.objective_id)
                .or_default()
                .push(kr.clone());
        }
        Self {
            progress: rollups(&forest.objectives, &forest.key_results),
            key_results,
            today: state.clock.now().date_naive(),
            rule: state.risk,
        }
    }

    pub(crate) fn key_results_of(&self, id: Uuid) -> Vec<KeyResult> {
        self.key_results.get(&id).cloned().unwrap_or_default()
    }

    pub(crate) fn summary(&self, objective: Objective) -> ObjectiveSummary {
        let progress = self.progress.get(&objective.id).copied().unwrap_or(0.0);
        let health = assess_health(
            &objective,
            progress,
            &self.key_results_of(objective.id),
            self.today,
            self.rule,
        );
        ObjectiveSummary {
            objective,
            progress,
            health,
        }
    }
}

fn scope_of(objective: &Objective) -> Scope {
    Scope {
        team_id: objective.team_id,
        owner_id: objective.owner_id,
    }
}

async fn objective_scope<S: Store>(
    state: &AppState<S>,
    actor: &Actor,
    objective_id: Uuid,
) -> Result<Scope, ApiError> {
    Ok(scope_of(
        &state.store.objective(actor.org_id, objective_id).await?,
    ))
}

/// Lists objectives with progress and health, or (`tree=true`) the whole
/// alignment tree.
#[utoipa::path(get, path = "/api/v1/objectives", tag = "objectives", params(ObjectiveParams),
    responses((status = 200, description = "A page of `ObjectiveSummary`, or an `ObjectiveTree` with `tree=true`", body = PageOf<ObjectiveSummary>),
              (status = 401, body = Problem)))]
pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<ObjectiveParams>,
) -> Result<Response, ApiError> {
    use axum::response::IntoResponse;
    actor.may(Action::Read)?;
    if params.tree {
        return Ok(Json(tree(&state, actor.org_id).await?).into_response());
    }
    let page = state
        .store
        .objectives(
            actor.org_id,
            page_request(params.limit, params.cursor.as_deref())?,
        )
        .await?;
    let roots: Vec<Uuid> = page.items.iter().map(|o| o.id).collect();
    let forest = state.store.objective_forest(actor.org_id, &roots).await?;
    let judged = Judged::new(&state, &forest);
    let items = page.items.into_iter().map(|o| judged.summary(o)).collect();
    Ok(Json(PageOf {
        items,
        next_cursor: page.next_cursor,
    })
    .into_response())
}

async fn tree<S: Store>(state: &AppState<S>, org_id: Uuid) -> Result<ObjectiveTree, ApiError> {
    let forest = state.store.all_objectives(org_id).await?;
    let judged = Judged::new(state, &forest);
    let known: std::collections::HashSet<Uuid> = forest.objectives.iter().map(|o| o.id).collect();
    let mut children: HashMap<Option<Uuid>, Vec<Objective>> = HashMap::new();
    for objective in forest.objectives {
        let parent = objective.parent_id.filter(|p| known.contains(p));
        children.entry(parent).or_default().push(objective);
    }
    fn build(
        objective: Objective,
        children: &mut HashMap<Option<Uuid>, Vec<Objective>>,
        judged: &Judged,
    ) -> ObjectiveNode {
        let below = children.remove(&Some(objective.id)).unwrap_or_default();
        let key_results = judged.key_results_of(objective.id);
        let summary = judged.summary(objective);
        ObjectiveNode {
            objective: summary.objective,
            progress: summary.progress,
            health: summary.health,
            key_results,
            children: below
                .into_iter()
                .map(|c| build(c, children, judged))
                .collect(),
        }
    }
    let top = children.remove(&None).unwrap_or_default();
    let roots = top
        .into_iter()
        .map(|o| build(o, &mut children, &judged))
        .collect();
    Ok(ObjectiveTree { roots })
}

/// Creates an objective (admins; leads in the teams they lead).
#[utoipa::path(post, path = "/api/v1/objectives", tag = "objectives", request_body = CreateObjective,
    responses((status = 201, body = Objective), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateObjective>,
) -> Result<Response, ApiError> {
    let input = body.value;
    actor.may(Action::WriteObjective(Scope {
        team_id: input.team_id,
        owner_id: input.owner_id,
    }))?;
    let new = NewObjective {
        title: input.title,
        why: input.why,
        owner_id: input.owner_id,
        team_id: input.team_id,
        period_start: input.period_start,
        period_end: input.period_end,
        parent_id: input.parent_id,
    };
    let store = state.store.clone();
    super::create(
        &state,
        &actor,
        key,
        "POST /objectives",
        &body.digest,
        |ctx| async move { store.create_objective(&ctx, new).await },
    )
    .await
}

/// Shows an objective with its key results, its children and its progress
/// rolled up through everything below it.
#[utoipa::path(get, path = "/api/v1/objectives/{id}", tag = "objectives", params(("id" = Uuid, Path)),
    responses((status = 200, body = ObjectiveDetail), (status = 404, body = Problem)))]
pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<ObjectiveDetail>, ApiError> {
    actor.may(Action::Read)?;
    let forest = state.store.objective_forest(actor.org_id, &[id]).await?;
    let judged = Judged::new(&state, &forest);
    let mut objective = None;
    let mut children = Vec::new();
    for o in forest.objectives {
        if o.id == id {
            objective = Some(o);
        } else if o.parent_id == Some(id) {
            children.push(judged.summary(o));
        }
    }
    let objective = objective.ok_or(ApiError::NotFound("objective"))?;
    let key_results = judged.key_results_of(id);
    let summary = judged.summary(objective);
    Ok(Json(ObjectiveDetail {
        objective: summary.objective,
        progress: summary.progress,
        health: summary.health,
        key_results,
        children,
    }))
}

/// Changes an objective.
#[utoipa::path(patch, path = "/api/v1/objectives/{id}", tag = "objectives", params(("id" = Uuid, Path)), request_body = UpdateObjective,
    responses((status = 200, body = Objective), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<UpdateObjective>,
) -> Result<Json<Objective>, ApiError> {
    let input = body.value;
    let current = state.store.objective(actor.org_id, id).await?;
    actor.may(Action::WriteObjective(scope_of(&current)))?;
    // Moving it elsewhere needs the right to write there too.
    let moved = Scope {
        team_id: input.team_id.unwrap_or(current.team_id),
        owner_id: input.owner_id.unwrap_or(current.owner_id),
    };
    actor.may(Action::WriteObjective(moved))?;
    let patch = ObjectivePatch {
        title: input.title,
        why: input.why,
        owner_id: input.owner_id,
        team_id: input.team_id,
        period_start: input.period_start,
        period_end: input.period_end,
        parent_id: input.parent_id,
        status: input.status,
    };
    Ok(Json(
        state
            .store
            .update_objective(&ctx(&state, &actor), id, patch)
            .await?,
    ))
}

/// Lists an objective's key results.
#[utoipa::path(get, path = "/api/v1/objectives/{id}/key-results", tag = "objectives", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<KeyResult>), (status = 404, body = Problem)))]
pub async fn list_key_results<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Vec<KeyResult>>, ApiError> {
    actor.may(Action::Read)?;
    let forest = state.store.objective_forest(actor.org_id, &[id]).await?;
    if !forest.objectives.iter().any(|o| o.id == id) {
        return Err(ApiError::NotFound("objective"));
    }
    Ok(Json(
        forest
            .key_results
            .into_iter()
            .filter(|kr| kr.objective_id == id)
            .collect(),
    ))
}

/// Adds a key result to an objective.
#[utoipa::path(post, path = "/api/v1/objectives/{id}/key-results", tag = "objectives", params(("id" = Uuid, Path)), request_body = CreateKeyResult,
    responses((status = 201, body = KeyResult), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_key_result<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    key: IdempotencyKey,
    body: ApiJson<CreateKeyResult>,
) -> Result<Response, ApiError> {
    let input = body.value;
    actor.may(Action::WriteObjective(
        objective_scope(&state, &actor, id).await?,
    ))?;
    let new = NewKeyResult {
        title: input.title,
        baseline: finite("baseline", input.baseline)?,
        target: finite("target", input.target)?,
        current: input.current.map(|c| finite("current", c)).transpose()?,
        unit: input.unit,
        confidence: parse_confidence(input.confidence.unwrap_or(5))?,
    };
    let store = state.store.clone();
    let route = format!("POST /objectives/{id}/key-results");
    super::create(
        &state,
        &actor,
        key,
        &route,
        &body.digest,
        |ctx| async move { store.create_key_result(&ctx, id, new).await },
    )
    .await
}

/// Shows a key result.
#[utoipa::path(get, path = "/api/v1/key-results/{id}", tag = "objectives", params(("id" = Uuid, Path)),
    responses((status = 200, body = KeyResult), (status = 404, body = Problem)))]
pub async fn show_key_result<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<KeyResult>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(state.store.key_result(actor.org_id, id).await?))
}

/// Changes a key result's definition; its current value moves by check-ins.
#[utoipa::path(patch, path = "/api/v1/key-results/{id}", tag = "objectives", params(("id" = Uuid, Path)), request_body = UpdateKeyResult,
    responses((status = 200, body = KeyResult), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_key_result<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<UpdateKeyResult>,
) -> Result<Json<KeyResult>, ApiError> {
    let input = body.value;
    let (team_id, owner_id) = state.store.key_result_scope(actor.org_id, id).await?;
    actor.may(Action::WriteObjective(Scope { team_id, owner_id }))?;
    let patch = KeyResultPatch {
        title: input.title,
        baseline: input.baseline.map(|v| finite("baseline", v)).transpose()?,
        target: input.target.map(|v| finite("target", v)).transpose()?,
        unit: input.unit,
    };
    Ok(Json(
        state
            .store
            .update_key_result(&ctx(&state, &actor), id, patch)
            .await?,
    ))
}

/// A key result's check-ins, oldest first.
#[utoipa::path(get, path = "/api/v1/key-results/{id}/check-ins", tag = "objectives", params(("id" = Uuid, Path), ListParams),
    responses((status = 200, body = PageOf<CheckIn>), (status = 404, body = Problem)))]
pub async fn list_check_ins<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<PageOf<CheckIn>>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(
        state
            .store
            .check_ins(actor.org_id, id, params.page()?)
            .await?
            .into(),
    ))
}

/// Checks in: a new value and confidence for a key result, with a note.
#[utoipa::path(post, path = "/api/v1/key-results/{id}/check-ins", tag = "objectives", params(("id" = Uuid, Path)), request_body = CreateCheckIn,
    responses((status = 201, body = CheckIn), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_check_in<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    key: IdempotencyKey,
    body: ApiJson<CreateCheckIn>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let (team_id, owner_id) = state.store.key_result_scope(actor.org_id, id).await?;
    actor.may(Action::CheckIn(Scope { team_id, owner_id }))?;
    let new = NewCheckIn {
        value: finite("value", input.value)?,
        confidence: parse_confidence(input.confidence)?,
        note: input.note,
    };
    let store = state.store.clone();
    let route = format!("POST /key-results/{id}/check-ins");
    super::create(
        &state,
        &actor,
        key,
        &route,
        &body.digest,
        |ctx| async move { store.create_check_in(&ctx, id, new).await },
    )
    .await
}
