//! `/service-products` and `/promises`: the service catalogue, and the
//! promises made to customers with their sign-off, pauses and end.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::access::Action;
use tutti_domain::service::{
    Promise, PromiseHealth, PromiseRiskRule, PromiseState, PromiseStep, ServiceKind,
    ServiceProduct, WeekLoad,
};
use tutti_engine::service;
use tutti_store::prelude::*;
use tutti_store::{NewPromise, NewServiceProduct, PromiseFilter};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ListParams, PageOf, ctx, page_request};
use crate::error::Problem;
use crate::extract::{ApiJson, ApiQuery, Auth, IdPath, IdempotencyKey};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateServiceProduct {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub customer_group: String,
    #[serde(default)]
    pub owner_id: Option<Uuid>,
    pub kind: ServiceKind,
    /// The service levels it promises, one text each.
    #[serde(default)]
    pub levels: Vec<String>,
}

/// Lists the service catalogue.
#[utoipa::path(get, path = "/api/v1/service-products", tag = "service", params(ListParams),
    responses((status = 200, body = PageOf<ServiceProduct>), (status = 401, body = Problem)))]
pub async fn list_products<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<PageOf<ServiceProduct>>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(
        state
            .store
            .service_products(actor.org_id, params.page()?)
            .await?
            .into(),
    ))
}

/// Adds a service product (admins and leads).
#[utoipa::path(post, path = "/api/v1/service-products", tag = "service", request_body = CreateServiceProduct,
    responses((status = 201, body = ServiceProduct), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_product<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateServiceProduct>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let new = NewServiceProduct {
        name: input.name,
        description: input.description,
        customer_group: input.customer_group,
        owner_id: input.owner_id,
        kind: input.kind,
        levels: input.levels,
    };
    let store = state.store.clone();
    let asker = actor.clone();
    super::create(
        &state,
        &actor,
        key,
        "POST /service-products",
        &body.digest,
        |ctx| async move { service::create_service_product(&store, &asker, &ctx, new).await },
    )
    .await
}

/// Shows a service product.
#[utoipa::path(get, path = "/api/v1/service-products/{id}", tag = "service", params(("id" = Uuid, Path)),
    responses((status = 200, body = ServiceProduct), (status = 404, body = Problem)))]
pub async fn show_product<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<ServiceProduct>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(state.store.service_product(actor.org_id, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePromise {
    /// What was promised.
    pub title: String,
    /// To whom.
    pub customer: String,
    pub due_at: DateTime<Utc>,
    #[serde(default)]
    pub service_product_id: Option<Uuid>,
    /// The case it belongs to.
    #[serde(default)]
    pub work_item_id: Option<Uuid>,
    /// The team that makes it; the maker must belong to it.
    pub made_by_team_id: Uuid,
    /// The team that must keep it and signs it off.
    #[serde(default)]
    pub keeper_team_id: Option<Uuid>,
}

/// A promise with where it stands now.
#[derive(Debug, Serialize, ToSchema)]
pub struct PromiseView {
    #[serde(flatten)]
    pub promise: Promise,
    /// The due time moved by every pause.
    pub effective_due_at: DateTime<Utc>,
    pub health: PromiseHealth,
}

impl PromiseView {
    pub fn of(promise: Promise, now: DateTime<Utc>) -> Self {
        Self {
            effective_due_at: promise.effective_due(now),
            health: promise.health(now, PromiseRiskRule::default()),
            promise,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PromiseParams {
    pub state: Option<PromiseState>,
    pub service_product: Option<Uuid>,
    /// Team id: the promises it must keep.
    pub keeper_team: Option<Uuid>,
    /// Only open and paused promises.
    #[serde(default)]
    pub unfinished: bool,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Lists promises, filtered, with their health.
#[utoipa::path(get, path = "/api/v1/promises", tag = "service", params(PromiseParams),
    responses((status = 200, body = PageOf<PromiseView>), (status = 422, body = Problem)))]
pub async fn list_promises<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<PromiseParams>,
) -> Result<Json<PageOf<PromiseView>>, ApiError> {
    actor.may(Action::Read)?;
    let filter = PromiseFilter {
        state: params.state,
        service_product_id: params.service_product,
        keeper_team_id: params.keeper_team,
        unfinished: params.unfinished,
        ..PromiseFilter::default()
    };
    let page = page_request(params.limit, params.cursor.as_deref())?;
    let found = state.store.promises(actor.org_id, &filter, page).await?;
    let now = state.clock.now();
    Ok(Json(PageOf {
        items: found
            .items
            .into_iter()
            .map(|p| PromiseView::of(p, now))
            .collect(),
        next_cursor: found.next_cursor,
    }))
}

/// Makes a promise to a customer on behalf of a team one belongs to.
#[utoipa::path(post, path = "/api/v1/promises", tag = "service", request_body = CreatePromise,
    responses((status = 201, body = Promise), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn make_promise<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreatePromise>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let new = NewPromise {
        title: input.title,
        customer: input.customer,
        service_product_id: input.service_product_id,
        work_item_id: input.work_item_id,
        made_by_team_id: Some(input.made_by_team_id),
        keeper_team_id: input.keeper_team_id,
        due_at: input.due_at,
    };
    let store = state.store.clone();
    let asker = actor.clone();
    super::create(
        &state,
        &actor,
        key,
        "POST /promises",
        &body.digest,
        |ctx| async move { service::make_promise(&store, &asker, &ctx, new).await },
    )
    .await
}

/// Shows a promise with its health.
#[utoipa::path(get, path = "/api/v1/promises/{id}", tag = "service", params(("id" = Uuid, Path)),
    responses((status = 200, body = PromiseView), (status = 404, body = Problem)))]
pub async fn show_promise<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<PromiseView>, ApiError> {
    actor.may(Action::Read)?;
    let promise = state.store.promise(actor.org_id, id).await?;
    Ok(Json(PromiseView::of(promise, state.clock.now())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignOff {
    pub feasible: bool,
    /// Why not, when it is not feasible.
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepNote {
    /// What kept it, or why it broke (needed then).
    #[serde(default)]
    pub note: String,
}

async fn step<S: Store>(
    state: &AppState<S>,
    actor: &tutti_domain::access::Actor,
    id: Uuid,
    step: PromiseStep,
) -> Result<Json<PromiseView>, ApiError> {
    let promise = service::step_promise(&state.store, actor, &ctx(state, actor), id, step).await?;
    Ok(Json(PromiseView::of(promise, state.clock.now())))
}

/// The keeping stage says whether the promise can be kept.
#[utoipa::path(post, path = "/api/v1/promises/{id}/sign-off", tag = "service", params(("id" = Uuid, Path)), request_body = SignOff,
    responses((status = 200, body = PromiseView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn sign_off<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<SignOff>,
) -> Result<Json<PromiseView>, ApiError> {
    let input = body.value;
    let taken = PromiseStep::SignOff {
        feasible: input.feasible,
        note: input.note,
    };
    step(&state, &actor, id, taken).await
}

/// Pauses the promise while the firm waits on the customer: its due time
/// moves by the pause.
#[utoipa::path(post, path = "/api/v1/promises/{id}/pause", tag = "service", params(("id" = Uuid, Path)),
    responses((status = 200, body = PromiseView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn pause<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<PromiseView>, ApiError> {
    step(&state, &actor, id, PromiseStep::Pause).await
}

/// Resumes a paused promise.
#[utoipa::path(post, path = "/api/v1/promises/{id}/resume", tag = "service", params(("id" = Uuid, Path)),
    responses((status = 200, body = PromiseView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn resume<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<PromiseView>, ApiError> {
    step(&state, &actor, id, PromiseStep::Resume).await
}

/// Marks the promise kept.
#[utoipa::path(post, path = "/api/v1/promises/{id}/keep", tag = "service", params(("id" = Uuid, Path)), request_body = StepNote,
    responses((status = 200, body = PromiseView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn keep<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<StepNote>,
) -> Result<Json<PromiseView>, ApiError> {
    let note = body.value.note;
    step(&state, &actor, id, PromiseStep::Keep { note }).await
}

/// Marks the promise broken, saying why.
#[utoipa::path(post, path = "/api/v1/promises/{id}/break", tag = "service", params(("id" = Uuid, Path)), request_body = StepNote,
    responses((status = 200, body = PromiseView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn break_promise<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<StepNote>,
) -> Result<Json<PromiseView>, ApiError> {
    let note = body.value.note;
    step(&state, &actor, id, PromiseStep::Break { note }).await
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LoadParams {
    /// How many ISO weeks up to this one (1–104, default 12; the bounds
    /// are `tutti_domain::service::LOAD_WEEKS`, repeated here for the schema).
    #[param(minimum = 1, maximum = 104)]
    pub weeks: Option<u32>,
    /// Only this team's work.
    pub team: Option<Uuid>,
    /// Only this service product's work.
    pub service_product: Option<Uuid>,
}

/// One week's arrived work with its reactive share.
#[derive(Debug, Serialize, ToSchema)]
pub struct WeekLoadView {
    #[serde(flatten)]
    pub load: WeekLoad,
    /// Unplanned over all work that arrived, `0..=1`.
    pub reactive_share: f64,
}

/// The work that arrived per week, planned (preventive) and unplanned
/// (reactive), for the org, one team or one service product: how much
/// buffer disruptions need.
#[utoipa::path(get, path = "/api/v1/service/load", tag = "service", params(LoadParams),
    responses((status = 200, body = Vec<WeekLoadView>), (status = 422, body = Problem)))]
pub async fn load<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<LoadParams>,
) -> Result<Json<Vec<WeekLoadView>>, ApiError> {
    actor.may(Action::Read)?;
    let weeks = tutti_domain::service::check_load_weeks(params.weeks.unwrap_or(12))?;
    let loads = state
        .store
        .load_by_week(
            actor.org_id,
            state.clock.now(),
            weeks,
            tutti_store::LoadScope {
                team_id: params.team,
                service_product_id: params.service_product,
            },
        )
        .await?;
    Ok(Json(
        loads
            .into_iter()
            .map(|load| WeekLoadView {
                reactive_share: load.reactive_share(),
                load,
            })
            .collect(),
    ))
}
