//! `/routines`: planned, recurring work — its schedule, who carries it,
//! pausing and resuming, and the record of each time it fell due.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::access::Action;
use tutti_domain::routine::{CatchUp, Occurrence, Routine, Schedule};
use tutti_domain::work::Priority;
use tutti_engine::routines;
use tutti_store::prelude::*;
use tutti_store::{NewRoutine, RoutineFilter, RoutinePatch};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{PageOf, ctx, double_option, page_request};
use crate::error::Problem;
use crate::extract::{ApiJson, ApiQuery, Auth, IdPath, IdempotencyKey};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoutine {
    /// The title of the work it makes.
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Whom it serves under a contract ("Familie Hoffmann").
    #[serde(default)]
    pub customer: String,
    pub schedule: Schedule,
    /// An IANA zone (`Europe/Berlin`); the org's when absent.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// After downtime: make `all` missed occurrences, only the `latest`, or
    /// `none`. Default `latest`.
    #[serde(default)]
    pub catch_up: Option<CatchUp>,
    #[serde(default)]
    pub team_id: Option<Uuid>,
    /// A person or an AI worker.
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    #[serde(default)]
    pub key_result_id: Option<Uuid>,
    /// A preventive service product it delivers.
    #[serde(default)]
    pub service_product_id: Option<Uuid>,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Made paused, to start it later.
    #[serde(default)]
    pub paused: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoutine {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub customer: Option<String>,
    /// A new schedule starts from now: nothing before is made after the fact.
    #[serde(default)]
    pub schedule: Option<Schedule>,
    #[serde(default, deserialize_with = "double_option")]
    pub time_zone: Option<Option<String>>,
    #[serde(default)]
    pub catch_up: Option<CatchUp>,
    #[serde(default, deserialize_with = "double_option")]
    pub team_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub assignee_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub key_result_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub service_product_id: Option<Option<Uuid>>,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Pause (true) or resume (false); resuming does not catch up the pause.
    #[serde(default)]
    pub paused: Option<bool>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RoutineParams {
    /// Service product id: the routines that deliver it.
    pub service_product: Option<Uuid>,
    pub team: Option<Uuid>,
    /// Member id: the routines whose work they carry.
    pub assignee: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// A routine with the record of its latest occurrences and the next ones.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoutineView {
    #[serde(flatten)]
    pub routine: Routine,
    /// The zone its schedule is read in.
    pub zone: String,
    /// Its latest 50 occurrences, latest first: made or skipped, and why.
    pub occurrences: Vec<Occurrence>,
    /// The next five it will make.
    pub upcoming: Vec<DateTime<Utc>>,
}

/// Lists the org's routines.
#[utoipa::path(get, path = "/api/v1/routines", tag = "routines", params(RoutineParams),
    responses((status = 200, body = PageOf<Routine>), (status = 401, body = Problem)))]
pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<RoutineParams>,
) -> Result<Json<PageOf<Routine>>, ApiError> {
    actor.may(Action::Read)?;
    let filter = RoutineFilter {
        service_product_id: params.service_product,
        team_id: params.team,
        assignee_id: params.assignee,
    };
    let page = page_request(params.limit, params.cursor.as_deref())?;
    Ok(Json(
        state
            .store
            .routines(actor.org_id, &filter, page)
            .await?
            .into(),
    ))
}

/// Makes a routine: people plan, for the work they may create.
#[utoipa::path(post, path = "/api/v1/routines", tag = "routines", request_body = CreateRoutine,
    responses((status = 201, body = Routine), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateRoutine>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let new = NewRoutine {
        name: input.name,
        description: input.description,
        customer: input.customer,
        schedule: input.schedule,
        time_zone: input.time_zone,
        catch_up: input.catch_up.unwrap_or(CatchUp::Latest),
        team_id: input.team_id,
        assignee_id: input.assignee_id,
        key_result_id: input.key_result_id,
        service_product_id: input.service_product_id,
        priority: input.priority.unwrap_or(Priority::Normal),
        paused: input.paused,
    };
    let store = state.store.clone();
    let asker = actor.clone();
    super::create(
        &state,
        &actor,
        key,
        "POST /routines",
        &body.digest,
        |ctx| async move { routines::create(&store, &asker, &ctx, new).await },
    )
    .await
}

/// Shows a routine with its latest occurrences and the next ones.
#[utoipa::path(get, path = "/api/v1/routines/{id}", tag = "routines", params(("id" = Uuid, Path)),
    responses((status = 200, body = RoutineView), (status = 404, body = Problem)))]
pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<RoutineView>, ApiError> {
    actor.may(Action::Read)?;
    let now = state.clock.now();
    let overview = routines::overview(&state.store, actor.org_id, id, 50, now).await?;
    Ok(Json(RoutineView {
        zone: overview.zone.name().to_owned(),
        routine: overview.routine,
        occurrences: overview.occurrences,
        upcoming: overview.upcoming,
    }))
}

/// Changes, pauses or resumes a routine.
#[utoipa::path(patch, path = "/api/v1/routines/{id}", tag = "routines", params(("id" = Uuid, Path)),
    request_body = UpdateRoutine,
    responses((status = 200, body = Routine), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<UpdateRoutine>,
) -> Result<Json<Routine>, ApiError> {
    let input = body.value;
    let patch = RoutinePatch {
        name: input.name,
        description: input.description,
        customer: input.customer,
        schedule: input.schedule,
        time_zone: input.time_zone,
        catch_up: input.catch_up,
        team_id: input.team_id,
        assignee_id: input.assignee_id,
        key_result_id: input.key_result_id,
        service_product_id: input.service_product_id,
        priority: input.priority,
        paused: input.paused,
    };
    let ctx = ctx(&state, &actor);
    Ok(Json(
        routines::update(&state.store, &actor, &ctx, id, patch).await?,
    ))
}
