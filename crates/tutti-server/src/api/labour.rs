//! AI labour over REST: model providers and prices, budgets, runs (queue,
//! watch live, cancel), reviews, and the token ledger.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::access::Action;
use tutti_domain::labour::{
    Budget, BudgetPeriod, BudgetScope, BudgetState, CallLimits, LedgerEntry, LedgerGroup,
    LedgerKind, LimitsPatch, MaxTokens, Model, NewReview, Prices, Provider, ProviderKind, Review,
    ReviewStats, Run, RunStatus, Verdict,
};
use tutti_engine::{LiveEvent, labour, work};
use tutti_store::prelude::*;
use tutti_store::{
    BudgetPatch, LedgerFilter, LedgerLine, LedgerTotals, NewBudget, NewModel, NewProvider,
    RunFilter,
};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{PageOf, create, ctx, double_option};
use crate::error::Problem;
use crate::extract::{ApiJson, ApiQuery, Auth, IdPath, IdempotencyKey};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateProvider {
    pub name: String,
    /// `embedded` (the GGUF model in the server) or `openai` (any
    /// OpenAI-compatible endpoint).
    pub kind: ProviderKind,
    /// For `openai`: e.g. `http://127.0.0.1:8000/v1`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Read the key from this environment variable of the server.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Or keep the key in the store; it is never returned.
    #[serde(default)]
    pub api_key: Option<String>,
    /// How long calls wait on an `openai` provider; each limit left out
    /// takes its default (connect 5 s, first byte 20 s, between pieces 20 s,
    /// the whole call 45 s).
    #[serde(default)]
    pub limits: LimitsPatch,
}

/// Lists the org's model providers with their priced models.
#[utoipa::path(get, path = "/api/v1/providers", tag = "labour", responses((status = 200, body = Vec<Provider>)))]
pub async fn list_providers<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<Vec<Provider>>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(state.store.providers(actor.org_id).await?))
}

/// Adds a model provider (admins).
#[utoipa::path(post, path = "/api/v1/providers", tag = "labour", request_body = CreateProvider,
    responses((status = 201, body = Provider), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_provider<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateProvider>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let new = NewProvider {
        name: input.name,
        kind: input.kind,
        base_url: input.base_url,
        api_key_env: input.api_key_env,
        api_key: input.api_key,
        limits: input.limits.applied_to(CallLimits::default())?,
    };
    let (store, asker) = (state.store.clone(), actor.clone());
    create(
        &state,
        &actor,
        key,
        "POST /providers",
        &body.digest,
        |ctx| async move { labour::create_provider(&store, &asker, &ctx, new).await },
    )
    .await
}

/// Changes how long calls wait on a provider (admins): connect, first byte,
/// between two pieces of a stream, and the whole call, in seconds.
#[utoipa::path(patch, path = "/api/v1/providers/{id}/limits", tag = "labour", request_body = LimitsPatch,
    params(("id" = Uuid, Path, description = "The provider")),
    responses((status = 200, body = Provider), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_limits<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<LimitsPatch>,
) -> Result<Json<Provider>, ApiError> {
    let ctx = ctx(&state, &actor);
    Ok(Json(
        labour::update_limits(&state.store, &actor, &ctx, id, body.value).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutModel {
    pub name: String,
    /// Prices in micro-units of the org's currency per million tokens
    /// (0.15 € per million = 150000).
    pub input_price: i64,
    #[serde(default)]
    pub cached_input_price: Option<i64>,
    pub output_price: i64,
}

/// Adds a model to a provider, or changes its prices (admins).
#[utoipa::path(post, path = "/api/v1/providers/{id}/models", tag = "labour", params(("id" = Uuid, Path)), request_body = PutModel,
    responses((status = 200, body = Model), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn put_model<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<PutModel>,
) -> Result<Json<Model>, ApiError> {
    let input = body.value;
    let prices = Prices {
        input: input.input_price,
        cached_input: input.cached_input_price.unwrap_or(input.input_price),
        output: input.output_price,
    };
    let model = NewModel {
        name: input.name,
        prices,
    };
    let model = labour::put_model(&state.store, &actor, &ctx(&state, &actor), id, model).await?;
    Ok(Json(model))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBudget {
    pub name: String,
    pub scope: BudgetScope,
    /// The team, objective or worker; omitted for `org`.
    #[serde(default)]
    pub scope_id: Option<Uuid>,
    pub period: BudgetPeriod,
    #[serde(default)]
    pub token_limit: Option<i64>,
    /// In micro-units of the org's currency.
    #[serde(default)]
    pub cost_limit: Option<i64>,
    /// Default 80.
    #[serde(default)]
    pub warn_percent: Option<i64>,
    /// Default true: refuse calls that could pass the limit.
    #[serde(default)]
    pub hard: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBudget {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub token_limit: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub cost_limit: Option<Option<i64>>,
    #[serde(default)]
    pub warn_percent: Option<i64>,
    #[serde(default)]
    pub hard: Option<bool>,
}

/// Lists budgets with their use in the current window.
#[utoipa::path(get, path = "/api/v1/budgets", tag = "labour", responses((status = 200, body = Vec<BudgetState>)))]
pub async fn list_budgets<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<Vec<BudgetState>>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(
        state.store.budgets(actor.org_id, state.clock.now()).await?,
    ))
}

/// Sets a budget on the org, a team, an objective or a worker (admins; leads
/// for their teams).
#[utoipa::path(post, path = "/api/v1/budgets", tag = "labour", request_body = CreateBudget,
    responses((status = 201, body = Budget), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_budget<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateBudget>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let new = NewBudget {
        name: input.name,
        scope: input.scope,
        scope_id: input.scope_id,
        period: input.period,
        token_limit: input.token_limit,
        cost_limit: input.cost_limit,
        warn_percent: input.warn_percent.unwrap_or(80),
        hard: input.hard.unwrap_or(true),
    };
    let (store, asker) = (state.store.clone(), actor.clone());
    create(
        &state,
        &actor,
        key,
        "POST /budgets",
        &body.digest,
        |ctx| async move { labour::create_budget(&store, &asker, &ctx, new).await },
    )
    .await
}

/// Changes a budget's limits, warn line or hardness.
#[utoipa::path(patch, path = "/api/v1/budgets/{id}", tag = "labour", params(("id" = Uuid, Path)), request_body = UpdateBudget,
    responses((status = 200, body = Budget), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_budget<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<UpdateBudget>,
) -> Result<Json<Budget>, ApiError> {
    let input = body.value;
    let patch = BudgetPatch {
        name: input.name,
        token_limit: input.token_limit,
        cost_limit: input.cost_limit,
        warn_percent: input.warn_percent,
        hard: input.hard,
    };
    Ok(Json(
        labour::update_budget(&state.store, &actor, &ctx(&state, &actor), id, patch).await?,
    ))
}

/// Deletes a budget and its use; the ledger keeps every entry. A budget
/// that a running call has reserved against is refused with 409.
#[utoipa::path(delete, path = "/api/v1/budgets/{id}", tag = "labour", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_budget<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<axum::http::StatusCode, ApiError> {
    labour::delete_budget(&state.store, &actor, &ctx(&state, &actor), id).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    /// The longest answer, in tokens (default 400); the budget reservation
    /// is built on it.
    #[serde(default)]
    pub max_tokens: Option<i64>,
}

/// Queues a run of a work item by the AI worker it is assigned to.
#[utoipa::path(post, path = "/api/v1/work-items/{id}/runs", tag = "labour", params(("id" = Uuid, Path)), request_body = StartRun,
    responses((status = 201, body = Run), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn start_run<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    key: IdempotencyKey,
    body: ApiJson<StartRun>,
) -> Result<Response, ApiError> {
    let max_tokens = match body.value.max_tokens {
        Some(max_tokens) => MaxTokens::parse(max_tokens)?,
        None => MaxTokens::default(),
    };
    let (store, runtime, asker) = (state.store.clone(), state.runtime.clone(), actor.clone());
    create(
        &state,
        &actor,
        key,
        &format!("POST /work-items/{id}/runs"),
        &body.digest,
        |ctx| async move { work::start_run(&store, &runtime, &asker, &ctx, id, max_tokens).await },
    )
    .await
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RunParams {
    pub status: Option<RunStatus>,
    pub work_item: Option<Uuid>,
    pub worker: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Lists runs, oldest first.
#[utoipa::path(get, path = "/api/v1/runs", tag = "labour", params(RunParams), responses((status = 200, body = PageOf<Run>)))]
pub async fn list_runs<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<RunParams>,
) -> Result<Json<PageOf<Run>>, ApiError> {
    actor.may(Action::Read)?;
    let page = super::page_request(params.limit, params.cursor.as_deref())?;
    let filter = RunFilter {
        status: params.status,
        work_item_id: params.work_item,
        worker_id: params.worker,
    };
    Ok(Json(
        state.store.runs(actor.org_id, &filter, page).await?.into(),
    ))
}

/// A run with its work order, output, tokens and cost.
#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "labour", params(("id" = Uuid, Path)),
    responses((status = 200, body = Run), (status = 404, body = Problem)))]
pub async fn show_run<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Run>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(state.store.run(actor.org_id, id).await?))
}

/// Streams a run's output as server-sent events: `text` events carry pieces
/// of output as they are generated, one `end` event the run's final state
/// (`{"status", "output"}`). A finished run sends just its `end`.
#[utoipa::path(get, path = "/api/v1/runs/{id}/stream", tag = "labour", params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "text/event-stream", description = "text and end events"), (status = 404, body = Problem)))]
pub async fn stream_run<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Response, ApiError> {
    actor.may(Action::Read)?;
    state.store.run(actor.org_id, id).await?;
    Ok(run_events(&state, actor.org_id, id))
}

/// A run's output as server-sent events: what it has written so far, each
/// new piece as `text`, and `end` with its final state.
pub(crate) fn run_events<S: Store>(state: &AppState<S>, org_id: Uuid, id: Uuid) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<SseEvent>(64);
    let store = state.store.clone();
    let runtime = state.runtime.clone();
    tokio::spawn(async move {
        let end = |run: Run| {
            SseEvent::default()
                .event("end")
                .json_data(serde_json::json!({ "status": run.status, "output": run.output, "error": run.error }))
                .unwrap_or_default()
        };
        loop {
            if let Some((text, mut events)) = runtime.live.subscribe(id) {
                if !text.is_empty()
                    && sender
                        .send(SseEvent::default().event("text").data(text))
                        .await
                        .is_err()
                {
                    return;
                }
                loop {
                    match events.recv().await {
                        Ok(LiveEvent::Text(piece)) => {
                            if sender
                                .send(SseEvent::default().event("text").data(piece))
                                .await
                                .is_err()
                            {
                                return;
                            }
                        }
                        Ok(LiveEvent::End(_))
                        | Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    }
                }
            }
            match store.run(org_id, id).await {
                Ok(run) if run.status.is_final() => {
                    let _ = sender.send(end(run)).await;
                    return;
                }
                Ok(_) => {
                    // Queued, or running on another node: look again shortly.
                    if sender.is_closed() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(_) => return,
            }
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|event| (Ok::<_, Infallible>(event), receiver))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Cancels a queued run at once, or asks the engine to stop a running one.
#[utoipa::path(post, path = "/api/v1/runs/{id}/cancel", tag = "labour", params(("id" = Uuid, Path)),
    responses((status = 200, body = Run), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn cancel_run<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Run>, ApiError> {
    Ok(Json(
        work::cancel_run(&state.store, &actor, &ctx(&state, &actor), id).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateReview {
    pub verdict: Verdict,
    /// Required for `revise`: what to change. It is appended to the next
    /// iteration's work order.
    #[serde(default)]
    pub feedback: String,
    /// 1–5.
    pub rating: i64,
}

/// A person's verdict on a finished run: `accept` closes the item, `revise`
/// queues the next iteration with the feedback, `reject` hands the item back
/// unassigned.
#[utoipa::path(post, path = "/api/v1/runs/{id}/review", tag = "labour", params(("id" = Uuid, Path)), request_body = CreateReview,
    responses((status = 201, body = inline(Object)), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn review_run<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    key: IdempotencyKey,
    body: ApiJson<CreateReview>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let review = NewReview::parse(input.verdict, &input.feedback, input.rating)?;
    let (store, runtime, asker) = (state.store.clone(), state.runtime.clone(), actor.clone());
    create(
        &state,
        &actor,
        key,
        &format!("POST /runs/{id}/review"),
        &body.digest,
        |ctx| async move { work::review(&store, &runtime, &asker, &ctx, id, review).await },
    )
    .await
}

/// The reviews of a work item's runs.
#[utoipa::path(get, path = "/api/v1/work-items/{id}/reviews", tag = "labour", params(("id" = Uuid, Path)),
    responses((status = 200, body = Vec<Review>), (status = 404, body = Problem)))]
pub async fn list_reviews<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Vec<Review>>, ApiError> {
    actor.may(Action::Read)?;
    state.store.work_item(actor.org_id, id).await?;
    Ok(Json(state.store.reviews(actor.org_id, id).await?))
}

/// How a worker's runs fare in review: accept, revise and reject rates and
/// the mean rating.
#[utoipa::path(get, path = "/api/v1/members/{id}/review-stats", tag = "labour", params(("id" = Uuid, Path)),
    responses((status = 200, body = ReviewStats), (status = 404, body = Problem)))]
pub async fn review_stats<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<ReviewStats>, ApiError> {
    actor.may(Action::Read)?;
    state.store.member(actor.org_id, id).await?;
    Ok(Json(state.store.review_stats(actor.org_id, id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    /// `worker`, `team`, `objective`, `key_result` or `model`.
    pub group_by: LedgerGroup,
    /// `month` (default, the current one), `quarter`, `all`, or a month as `YYYY-MM`.
    #[param(pattern = "^(month|quarter|all|[0-9]{4}-(0[1-9]|1[0-2]))$")]
    pub period: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LedgerSummary {
    pub group_by: LedgerGroup,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub currency: String,
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<LedgerLine>,
}

/// Settled token use and cost, grouped by worker, team, objective, key
/// result or model, for a period.
#[utoipa::path(get, path = "/api/v1/ledger/summary", tag = "labour", params(SummaryParams),
    responses((status = 200, body = LedgerSummary), (status = 422, body = Problem)))]
pub async fn ledger_summary<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<SummaryParams>,
) -> Result<Json<LedgerSummary>, ApiError> {
    actor.may(Action::Read)?;
    let (from, to) =
        tutti_domain::labour::report_window(params.period.as_deref(), "month", state.clock.now())?;
    let lines = state
        .store
        .ledger_summary(actor.org_id, params.group_by, from, to)
        .await?;
    let currency = state.store.org(actor.org_id).await?.currency;
    Ok(Json(LedgerSummary {
        group_by: params.group_by,
        from,
        to,
        currency,
        lines,
    }))
}

#[derive(Debug, Serialize)]
pub struct LedgerCheck {
    #[serde(flatten)]
    pub totals: LedgerTotals,
    /// Reservations not yet settled, oldest first: calls in flight, and any
    /// a lost process left (recovery settles those within seconds of the
    /// process going silent). Open is not a fault.
    pub open: Vec<OpenCall>,
    /// Reservations whose entries do not add up (reserve ≠ settle + release,
    /// settled twice, or entries that disagree with the reservation): empty
    /// unless the ledger was altered. The check fails only on these.
    pub unbalanced_reservations: Vec<Uuid>,
}

/// An open reservation and how long it has been open.
#[derive(Debug, Serialize)]
pub struct OpenCall {
    pub reservation_id: Uuid,
    pub worker_id: Uuid,
    pub run_id: Option<Uuid>,
    pub opened_at: DateTime<Utc>,
    pub age_secs: i64,
}

/// Reserved, settled and released totals of the whole ledger, the open
/// reservations with their age, and any reservation that does not balance.
#[utoipa::path(get, path = "/api/v1/ledger/totals", tag = "labour", responses((status = 200, body = inline(Object))))]
pub async fn ledger_totals<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<LedgerCheck>, ApiError> {
    actor.may(Action::Read)?;
    let now = state.clock.now();
    let totals = state.store.ledger_totals(actor.org_id).await?;
    let open = state
        .store
        .open_reservations(actor.org_id)
        .await?
        .into_iter()
        .map(|r| OpenCall {
            reservation_id: r.id,
            worker_id: r.worker_id,
            run_id: r.run_id,
            opened_at: r.opened_at,
            age_secs: (now - r.opened_at).num_seconds().max(0),
        })
        .collect();
    let unbalanced_reservations = state.store.unbalanced_reservations(actor.org_id).await?;
    Ok(Json(LedgerCheck {
        totals,
        open,
        unbalanced_reservations,
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntryParams {
    pub worker: Option<Uuid>,
    pub run: Option<Uuid>,
    pub reservation: Option<Uuid>,
    /// `reserve`, `settle`, `release` or `adjust`.
    pub kind: Option<LedgerKind>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The ledger's entries, oldest first: every reservation, settlement and
/// release, with what it served.
#[utoipa::path(get, path = "/api/v1/ledger/entries", tag = "labour", params(EntryParams), responses((status = 200, body = PageOf<LedgerEntry>)))]
pub async fn ledger_entries<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<EntryParams>,
) -> Result<Json<PageOf<LedgerEntry>>, ApiError> {
    actor.may(Action::Read)?;
    let page = super::page_request(params.limit, params.cursor.as_deref())?;
    let filter = LedgerFilter {
        worker_id: params.worker,
        run_id: params.run,
        reservation_id: params.reservation,
        kind: params.kind,
    };
    Ok(Json(
        state
            .store
            .ledger_entries(actor.org_id, &filter, page)
            .await?
            .into(),
    ))
}
