//! Steering the AI workforce: a decision space's guard-rail checks
//! (`/decision-spaces/{id}/guards`), the org's AI capacity (`/capacity`,
//! `/org/capacity`), work-order templates with their track record
//! (`/templates`), and evidence behind check-ins (`/check-ins/{id}/evidence`,
//! `/key-results/{id}/evidence`), and the leverage view (`/leverage`,
//! `/leverage/export`).

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tutti_domain::guard::GuardCheck;
use tutti_domain::labour::capacity::Capacity;
use tutti_domain::labour::leverage::LeverageBy;
use tutti_domain::labour::template::Template;
use tutti_domain::strategy::Evidence;
use tutti_domain::work::{Priority, WorkItem, WorkKind, WorkState};
use tutti_engine::workforce::{self, LeverageReport, TemplateRecord};
use tutti_store::prelude::*;
use tutti_store::{FromTemplate, NewTemplateVersion};
use utoipa::ToSchema;
use uuid::Uuid;

use super::ctx;
use crate::error::Problem;
use crate::extract::{ApiJson, ApiQuery, Auth, IdPath, IdempotencyKey};
use crate::{ApiError, AppState};

/// A space's guard-rail checks, applied to every AI output in its scope
/// before a person sees it.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Guards {
    /// `forbidden` (`phrases`), `amount_above` (`limit`, whole euros) or
    /// `required_sections` (`headings`); at most 50.
    pub checks: Vec<GuardCheck>,
}

#[utoipa::path(get, path = "/api/v1/decision-spaces/{id}/guards", tag = "workforce", params(("id" = Uuid, Path)),
    responses((status = 200, body = Guards), (status = 404, body = Problem)))]
pub async fn show_guards<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Guards>, ApiError> {
    let checks = workforce::guards(&state.store, &actor, id).await?;
    Ok(Json(Guards { checks }))
}

/// Replaces a space's checks (whoever manages the space; never an AI
/// worker).
#[utoipa::path(put, path = "/api/v1/decision-spaces/{id}/guards", tag = "workforce", params(("id" = Uuid, Path)),
    request_body = Guards,
    responses((status = 200, body = Guards), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn set_guards<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<Guards>,
) -> Result<Json<Guards>, ApiError> {
    let ctx = ctx(&state, &actor);
    let checks = workforce::set_guards(&state.store, &actor, &ctx, id, body.value.checks).await?;
    Ok(Json(Guards { checks }))
}

/// The org's AI capacity: its cap, what runs and waits, each AI worker's
/// concurrency, queue and wait.
#[utoipa::path(get, path = "/api/v1/capacity", tag = "workforce",
    responses((status = 200, body = Capacity), (status = 401, body = Problem)))]
pub async fn show_capacity<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<Capacity>, ApiError> {
    Ok(Json(
        workforce::capacity(&state.store, &actor, state.clock.now()).await?,
    ))
}

/// The org's cap on AI runs running at once, across its workers and every
/// process; `null` for none.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgCapacity {
    pub ai_concurrency: Option<i64>,
}

/// Sets or lifts the org's cap (admins). A worker's own concurrency is
/// changed on the member (`PATCH /members/{id}`).
#[utoipa::path(put, path = "/api/v1/org/capacity", tag = "workforce", request_body = OrgCapacity,
    responses((status = 200, body = OrgCapacity), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn set_capacity<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    body: ApiJson<OrgCapacity>,
) -> Result<Json<OrgCapacity>, ApiError> {
    let ctx = ctx(&state, &actor);
    let ai_concurrency = workforce::set_ai_concurrency(
        &state.store,
        &state.runtime,
        &actor,
        &ctx,
        body.value.ai_concurrency,
    )
    .await?;
    Ok(Json(OrgCapacity { ai_concurrency }))
}

/// The org's templates with their versions.
#[utoipa::path(get, path = "/api/v1/templates", tag = "workforce",
    responses((status = 200, body = Vec<Template>), (status = 401, body = Problem)))]
pub async fn list_templates<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<Vec<Template>>, ApiError> {
    Ok(Json(workforce::templates(&state.store, &actor).await?))
}

/// A version's text: the body with placeholders (`{title}`, `{details}`,
/// `{key_result}`, `{objective}`, `{why}`, `{team}`, `{due}`) and the
/// acceptance criteria the reviewer judges by.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplate {
    pub name: String,
    pub body: String,
    pub criteria: String,
}

/// Writes a template with its first version (admins and leads).
#[utoipa::path(post, path = "/api/v1/templates", tag = "workforce", request_body = CreateTemplate,
    responses((status = 201, body = Template), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_template<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateTemplate>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let first = NewTemplateVersion {
        body: input.body,
        criteria: input.criteria,
        note: String::new(),
        side_by_side: false,
    };
    let (store, asker) = (state.store.clone(), actor.clone());
    super::create(&state, &actor, key, "POST /templates", &body.digest, |ctx| async move {
        workforce::create_template(&store, &asker, &ctx, &input.name, first).await
    })
    .await
}

/// A template with each version's and each author's record, and the two
/// versions in use (else the newest two) compared.
#[utoipa::path(get, path = "/api/v1/templates/{id}", tag = "workforce", params(("id" = Uuid, Path)),
    responses((status = 200, body = TemplateRecord), (status = 404, body = Problem)))]
pub async fn show_template<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<TemplateRecord>, ApiError> {
    Ok(Json(
        workforce::track_record(&state.store, &actor, id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddVersion {
    pub body: String,
    pub criteria: String,
    /// What changed, for those comparing the versions.
    #[serde(default)]
    pub note: String,
    /// Keep the newest version in use beside this one, new work taking
    /// turns between them (A/B); otherwise this one takes all new work.
    #[serde(default)]
    pub side_by_side: bool,
}

/// Adds a version (admins and leads).
#[utoipa::path(post, path = "/api/v1/templates/{id}/versions", tag = "workforce", params(("id" = Uuid, Path)),
    request_body = AddVersion,
    responses((status = 201, body = Template), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_version<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    key: IdempotencyKey,
    body: ApiJson<AddVersion>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let version = NewTemplateVersion {
        body: input.body,
        criteria: input.criteria,
        note: input.note,
        side_by_side: input.side_by_side,
    };
    let (store, asker) = (state.store.clone(), actor.clone());
    let route = format!("POST /templates/{id}/versions");
    super::create(
        &state,
        &actor,
        key,
        &route,
        &body.digest,
        |ctx| async move { workforce::add_version(&store, &asker, &ctx, id, version).await },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFromTemplate {
    pub title: String,
    /// Fills `{details}`: what this case needs besides the template.
    #[serde(default)]
    pub details: String,
    #[serde(default)]
    pub team_id: Option<Uuid>,
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    #[serde(default)]
    pub key_result_id: Option<Uuid>,
    /// `backlog` (default) or `ready`.
    #[serde(default)]
    pub state: Option<WorkState>,
    #[serde(default)]
    pub kind: Option<WorkKind>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub due: Option<NaiveDate>,
}

/// Creates a work item from the template's version whose turn it is; its
/// runs name the version.
#[utoipa::path(post, path = "/api/v1/templates/{id}/work-items", tag = "workforce", params(("id" = Uuid, Path)),
    request_body = CreateFromTemplate,
    responses((status = 201, body = WorkItem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_work_item<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    key: IdempotencyKey,
    body: ApiJson<CreateFromTemplate>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let new = FromTemplate {
        title: input.title,
        details: input.details,
        team_id: input.team_id,
        assignee_id: input.assignee_id,
        key_result_id: input.key_result_id,
        state: input.state.unwrap_or(WorkState::Backlog),
        kind: input.kind.unwrap_or(WorkKind::Planned),
        priority: input.priority.unwrap_or(Priority::Normal),
        due: input.due,
    };
    let (store, runtime, asker) = (state.store.clone(), state.runtime.clone(), actor.clone());
    let route = format!("POST /templates/{id}/work-items");
    super::create(
        &state,
        &actor,
        key,
        &route,
        &body.digest,
        |ctx| async move {
            workforce::create_from_template(&store, &runtime, &asker, &ctx, id, new).await
        },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachEvidence {
    pub work_item_id: Uuid,
    /// An accepted run of the item; without it, the item must be done, and
    /// its last accepted run, if it has one, is named.
    #[serde(default)]
    pub run_id: Option<Uuid>,
}

/// Attaches done work, or an accepted run of it, as evidence behind a
/// check-in (whoever may check in on its key result).
#[utoipa::path(post, path = "/api/v1/check-ins/{id}/evidence", tag = "workforce", params(("id" = Uuid, Path)),
    request_body = AttachEvidence,
    responses((status = 201, body = Evidence), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn attach_evidence<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    key: IdempotencyKey,
    body: ApiJson<AttachEvidence>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let (store, asker) = (state.store.clone(), actor.clone());
    let route = format!("POST /check-ins/{id}/evidence");
    super::create(
        &state,
        &actor,
        key,
        &route,
        &body.digest,
        |ctx| async move {
            workforce::attach_evidence(&store, &asker, &ctx, id, input.work_item_id, input.run_id)
                .await
        },
    )
    .await
}

/// The work and AI results behind a key result's check-ins.
#[utoipa::path(get, path = "/api/v1/key-results/{id}/evidence", tag = "workforce", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Evidence>), (status = 404, body = Problem)))]
pub async fn list_evidence<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Vec<Evidence>>, ApiError> {
    Ok(Json(workforce::evidence(&state.store, &actor, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LeverageParams {
    /// `objective` (default), `team`, or `role` (of whoever ordered the work).
    pub by: Option<LeverageBy>,
    /// `quarter` (default, the current one), `month`, `all`, or a month as `YYYY-MM`.
    #[param(pattern = "^(month|quarter|all|[0-9]{4}-(0[1-9]|1[0-2]))$")]
    pub period: Option<String>,
}

/// Where AI labour has leverage: settled AI spend from the ledger against
/// the results accepted, the hours from order to acceptance, and the
/// percentage points the served key results moved (from check-ins) in the
/// period, by objective, team or the orderer's role. A row without a key
/// holds spend on work without one; `moves_nothing` marks spend whose key
/// results did not move forward.
#[utoipa::path(get, path = "/api/v1/leverage", tag = "workforce", params(LeverageParams),
    responses((status = 200, body = LeverageReport), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn leverage<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<LeverageParams>,
) -> Result<Json<LeverageReport>, ApiError> {
    Ok(Json(
        workforce::leverage(
            &state.store,
            &actor,
            params.by.unwrap_or(LeverageBy::Objective),
            params.period.as_deref(),
            state.clock.now(),
        )
        .await?,
    ))
}

/// The leverage view as a CSV sheet: `group`, `tokens`, `cost` (decimal),
/// `accepted`, `cycle_hours`, `key_results`, `points_moved`,
/// `cost_per_point`, `moves_nothing`, `key`; the org's total last.
#[utoipa::path(get, path = "/api/v1/leverage/export", tag = "workforce", params(LeverageParams),
    responses(
        (status = 200, description = "The sheet, with a header row.", content((String = "text/csv"))),
        (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn leverage_export<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<LeverageParams>,
) -> Result<Response, ApiError> {
    let report = workforce::leverage(
        &state.store,
        &actor,
        params.by.unwrap_or(LeverageBy::Objective),
        params.period.as_deref(),
        state.clock.now(),
    )
    .await?;
    Ok(super::csv_download(
        "leverage.csv",
        workforce::leverage_sheet(&report, "none"),
    ))
}
