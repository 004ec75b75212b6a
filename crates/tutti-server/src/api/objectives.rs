//! `/objectives`, `/key-results` and their check-ins: strategy, with progress
//! rolled up key result → objective → parent objective, and each objective's
//! health against the time elapsed in its period.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tutti_domain::access::Action;
pub use tutti_domain::strategy::ObjectiveSummary;
use tutti_domain::strategy::{
    CheckIn, Health, KeyResult, NewCheckIn, Objective, ObjectiveStatus, TargetMove,
    parse_confidence,
};
use tutti_domain::validate::finite;
use tutti_engine::strategy::{self, Judged};
use tutti_store::prelude::*;
use tutti_store::{KeyResultPatch, NewKeyResult, NewObjective, ObjectiveForest, ObjectivePatch};
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
    /// Why the target moves; kept with the move (see `target-moves`).
    #[serde(default)]
    pub target_reason: Option<String>,
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

/// What `GET /objectives` answers: a page of summaries, or with `tree=true`
/// the alignment tree.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum ObjectiveListing {
    Page(PageOf<ObjectiveSummary>),
    Tree(ObjectiveTree),
}

/// The forest judged as of today, by the server's risk rule.
pub(crate) fn judged<S: Store>(state: &AppState<S>, forest: &ObjectiveForest) -> Judged {
    Judged::new(forest, state.clock.now().date_naive(), state.risk)
}

/// Lists objectives with progress and health, or (`tree=true`) the whole
/// alignment tree.
#[utoipa::path(get, path = "/api/v1/objectives", tag = "objectives", params(ObjectiveParams),
    responses((status = 200, description = "A page of `ObjectiveSummary`, or an `ObjectiveTree` with `tree=true`", body = ObjectiveListing),
              (status = 401, body = Problem)))]
pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<ObjectiveParams>,
) -> Result<Json<ObjectiveListing>, ApiError> {
    actor.may(Action::Read)?;
    if params.tree {
        return Ok(Json(ObjectiveListing::Tree(
            tree(&state, actor.org_id).await?,
        )));
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
    let judged = judged(&state, &forest);
    let items = page.items.into_iter().map(|o| judged.summary(o)).collect();
    Ok(Json(ObjectiveListing::Page(PageOf {
        items,
        next_cursor: page.next_cursor,
    })))
}

async fn tree<S: Store>(state: &AppState<S>, org_id: Uuid) -> Result<ObjectiveTree, ApiError> {
    let forest = state.store.all_objectives(org_id).await?;
    let judged = judged(state, &forest);
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
    let asker = actor.clone();
    super::create(
        &state,
        &actor,
        key,
        "POST /objectives",
        &body.digest,
        |ctx| async move { strategy::create_objective(&store, &asker, &ctx, new).await },
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
    let judged = judged(&state, &forest);
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
        strategy::update_objective(&state.store, &actor, &ctx(&state, &actor), id, patch).await?,
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
    let new = NewKeyResult {
        title: input.title,
        baseline: finite("baseline", input.baseline)?,
        target: finite("target", input.target)?,
        current: input.current.map(|c| finite("current", c)).transpose()?,
        unit: input.unit,
        confidence: parse_confidence(input.confidence.unwrap_or(5))?,
    };
    let store = state.store.clone();
    let asker = actor.clone();
    let route = format!("POST /objectives/{id}/key-results");
    super::create(
        &state,
        &actor,
        key,
        &route,
        &body.digest,
        |ctx| async move { strategy::create_key_result(&store, &asker, &ctx, id, new).await },
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
    let patch = KeyResultPatch {
        title: input.title,
        baseline: input.baseline.map(|v| finite("baseline", v)).transpose()?,
        target: input.target.map(|v| finite("target", v)).transpose()?,
        unit: input.unit,
        target_reason: input.target_reason,
    };
    Ok(Json(
        strategy::update_key_result(&state.store, &actor, &ctx(&state, &actor), id, patch).await?,
    ))
}

/// How a key result's target moved, oldest first: the old targets stay
/// visible next to the new.
#[utoipa::path(get, path = "/api/v1/key-results/{id}/target-moves", tag = "objectives", params(("id" = Uuid, Path), ListParams),
    responses((status = 200, body = PageOf<TargetMove>), (status = 404, body = Problem)))]
pub async fn list_target_moves<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<PageOf<TargetMove>>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(
        state
            .store
            .target_moves(actor.org_id, id, params.page()?)
            .await?
            .into(),
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
    let new = NewCheckIn::parse(input.value, input.confidence, &input.note)?;
    let store = state.store.clone();
    let asker = actor.clone();
    let route = format!("POST /key-results/{id}/check-ins");
    super::create(
        &state,
        &actor,
        key,
        &route,
        &body.digest,
        |ctx| async move { strategy::check_in(&store, &asker, &ctx, id, new).await },
    )
    .await
}

/// The objectives and their key results as a CSV sheet, a row per key
/// result: objective, why, status, period, owner (email, else name), team,
/// parent (its title), key result, baseline, target, current, unit,
/// confidence.
#[utoipa::path(get, path = "/api/v1/objectives/export", tag = "objectives",
    responses(
        (status = 200, description = "The sheet, with a header row.", content((String = "text/csv"))),
        (status = 401, body = Problem)))]
pub async fn export<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Response, ApiError> {
    let sheet = strategy::export_sheet(&state.store, &actor).await?;
    Ok(super::csv_download("objectives.csv", sheet))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportObjectives {
    /// As `tutti import objectives` reads them from a sheet.
    pub objectives: Vec<tutti_domain::sheet::SheetObjective>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ObjectivesImportedView {
    pub objectives: usize,
    pub key_results: usize,
}

/// Creates objectives with their key results (admins), all or nothing:
/// owners by email or name, teams by name, parents by title (in the same
/// call, else the org's); a name that matches nothing is refused naming
/// the objective.
#[utoipa::path(post, path = "/api/v1/objectives/import", tag = "objectives", request_body = ImportObjectives,
    responses((status = 200, body = ObjectivesImportedView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn import<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    body: ApiJson<ImportObjectives>,
) -> Result<Json<ObjectivesImportedView>, ApiError> {
    let done = strategy::import_sheet(
        &state.store,
        &actor,
        &ctx(&state, &actor),
        &body.value.objectives,
    )
    .await?;
    Ok(Json(ObjectivesImportedView {
        objectives: done.objectives,
        key_results: done.key_results,
    }))
}
