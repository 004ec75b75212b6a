//! `/flows`, `/gates`, `/cases` and `/learnings`: value streams with their
//! quality gates, the cases moving through them with their checks and
//! verdicts, and the learnings that flow back.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::access::Action;
use tutti_domain::decision::Decision;
use tutti_domain::service::{
    Amendment, Case, CaseStatus, Criterion, CriterionCheck, CriterionResult, Flow, Gate,
    GateVerdict, GateVersion, Learning, LearningStatus, LearningSubject, Stage, Verdict,
};
use tutti_engine::flows::{self, CheckRequest, VerdictRequest};
use tutti_store::prelude::*;
use tutti_store::{CaseFilter, LearningFilter, NewCase, NewFlow, NewLearning};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ListParams, PageOf, ctx, page_request};
use crate::error::Problem;
use crate::extract::{ApiJson, ApiQuery, Auth, IdPath, IdempotencyKey};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateFlow {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The stages in order (2–12, names distinct); a gate sits between each two.
    #[schema(min_items = 2, max_items = 12)]
    pub stages: Vec<Stage>,
    /// The decision space whose policy decides the gates' verdicts.
    pub space_id: Uuid,
}

/// A flow with its gates.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowView {
    #[serde(flatten)]
    pub flow: Flow,
    pub gates: Vec<Gate>,
}

/// Lists the org's flows.
#[utoipa::path(get, path = "/api/v1/flows", tag = "flows", params(ListParams),
    responses((status = 200, body = PageOf<Flow>)))]
pub async fn list_flows<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<PageOf<Flow>>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(
        state
            .store
            .flows(actor.org_id, params.page()?)
            .await?
            .into(),
    ))
}

/// Creates a flow with a gate between each two stages (admins and leads).
#[utoipa::path(post, path = "/api/v1/flows", tag = "flows", request_body = CreateFlow,
    responses((status = 201, body = Flow), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_flow<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateFlow>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let new = NewFlow {
        name: input.name,
        description: input.description,
        stages: input.stages,
        space_id: input.space_id,
    };
    let store = state.store.clone();
    let asker = actor.clone();
    super::create(
        &state,
        &actor,
        key,
        "POST /flows",
        &body.digest,
        |ctx| async move { flows::create_flow(&store, &asker, &ctx, new).await },
    )
    .await
}

/// Shows a flow with its gates.
#[utoipa::path(get, path = "/api/v1/flows/{id}", tag = "flows", params(("id" = Uuid, Path)),
    responses((status = 200, body = FlowView), (status = 404, body = Problem)))]
pub async fn show_flow<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<FlowView>, ApiError> {
    actor.may(Action::Read)?;
    let flow = state.store.flow(actor.org_id, id).await?;
    let gates = state.store.gates(actor.org_id, id).await?;
    Ok(Json(FlowView { flow, gates }))
}

/// A gate with every version of its criteria and the learnings about it.
#[derive(Debug, Serialize, ToSchema)]
pub struct GateView {
    #[serde(flatten)]
    pub gate: Gate,
    pub versions: Vec<GateVersion>,
    pub learnings: Vec<Learning>,
}

/// Shows a gate: its criteria, their versions, and which learnings shaped them.
#[utoipa::path(get, path = "/api/v1/gates/{id}", tag = "flows", params(("id" = Uuid, Path)),
    responses((status = 200, body = GateView), (status = 404, body = Problem)))]
pub async fn show_gate<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<GateView>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(gate_view(&state.store, actor.org_id, id).await?))
}

/// A gate with its versions and learnings.
pub async fn gate_view<S: Store>(store: &S, org_id: Uuid, id: Uuid) -> Result<GateView, ApiError> {
    let gate = store.gate(org_id, id).await?;
    let versions = store.gate_versions(org_id, id).await?;
    let filter = LearningFilter {
        gate_id: Some(id),
        ..LearningFilter::default()
    };
    let learnings = store
        .learnings(
            org_id,
            &filter,
            tutti_store::PageRequest::first(tutti_store::PageRequest::MAX_LIMIT),
        )
        .await?
        .items;
    Ok(GateView {
        gate,
        versions,
        learnings,
    })
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetCriteria {
    /// The whole list of criteria as it should be.
    pub criteria: Vec<Criterion>,
    /// The version these criteria replace; a gate changed meanwhile is a 409.
    pub based_on: i64,
}

/// Sets a gate's criteria as its next version (admins and leads).
#[utoipa::path(put, path = "/api/v1/gates/{id}/criteria", tag = "flows", params(("id" = Uuid, Path)), request_body = SetCriteria,
    responses((status = 200, body = Gate), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn set_criteria<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<SetCriteria>,
) -> Result<Json<Gate>, ApiError> {
    let input = body.value;
    let gate = flows::set_criteria(
        &state.store,
        &actor,
        &ctx(&state, &actor),
        id,
        input.criteria,
        input.based_on,
    )
    .await?;
    Ok(Json(gate))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenCase {
    pub flow_id: Uuid,
    /// The order, project or request ("Heizungstausch Hoffmann").
    pub title: String,
    #[serde(default)]
    pub customer: String,
    /// The work item it rests on; its promises are the case's.
    #[serde(default)]
    pub work_item_id: Option<Uuid>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CaseParams {
    pub flow: Option<Uuid>,
    pub status: Option<CaseStatus>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Lists cases, oldest first.
#[utoipa::path(get, path = "/api/v1/cases", tag = "flows", params(CaseParams),
    responses((status = 200, body = PageOf<Case>)))]
pub async fn list_cases<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<CaseParams>,
) -> Result<Json<PageOf<Case>>, ApiError> {
    actor.may(Action::Read)?;
    let filter = CaseFilter {
        flow_id: params.flow,
        status: params.status,
        ..CaseFilter::default()
    };
    let page = page_request(params.limit, params.cursor.as_deref())?;
    Ok(Json(
        state.store.cases(actor.org_id, &filter, page).await?.into(),
    ))
}

/// Opens a case at its flow's first stage, by that stage's team.
#[utoipa::path(post, path = "/api/v1/cases", tag = "flows", request_body = OpenCase,
    responses((status = 201, body = Case), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn open_case<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<OpenCase>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let new = NewCase {
        flow_id: input.flow_id,
        title: input.title,
        customer: input.customer,
        work_item_id: input.work_item_id,
    };
    let store = state.store.clone();
    let asker = actor.clone();
    super::create(
        &state,
        &actor,
        key,
        "POST /cases",
        &body.digest,
        |ctx| async move { flows::open_case(&store, &asker, &ctx, new).await },
    )
    .await
}

/// A case where it stands: its stage, the gate ahead with its criteria as
/// they are judged now, its checks and its verdicts.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseView {
    #[serde(flatten)]
    pub case: Case,
    pub stage_name: String,
    /// The gate ahead; none once the case passed the last.
    pub gate: Option<Gate>,
    /// The gate's criteria with their results now.
    pub criteria: Vec<CriterionResult>,
    pub checks: Vec<CriterionCheck>,
    pub verdicts: Vec<GateVerdict>,
}

/// A case with its gate, criteria, checks and verdicts, as of `now`.
pub async fn case_view<S: Store>(
    store: &S,
    org_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<CaseView, ApiError> {
    let at = flows::case_at(store, org_id, id).await?;
    let gate = at.gate().cloned();
    let criteria = match &gate {
        Some(gate) => flows::current_snapshot(store, org_id, &at.case, gate, now).await?,
        None => Vec::new(),
    };
    Ok(CaseView {
        stage_name: at.flow.stage_name(at.case.stage).to_owned(),
        checks: store.checks(org_id, id).await?,
        verdicts: store.verdicts(org_id, id).await?,
        gate,
        criteria,
        case: at.case,
    })
}

/// Shows a case with the gate ahead and its criteria as judged now.
#[utoipa::path(get, path = "/api/v1/cases/{id}", tag = "flows", params(("id" = Uuid, Path)),
    responses((status = 200, body = CaseView), (status = 404, body = Problem)))]
pub async fn show_case<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<CaseView>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(
        case_view(&state.store, actor.org_id, id, state.clock.now()).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckCriterion {
    /// The criterion's text, as the gate states it.
    pub criterion: String,
    /// A person's result; left out for a criterion an AI worker checks
    /// (the worker is then asked).
    #[serde(default)]
    pub passed: Option<bool>,
    /// Why (needed when it failed).
    #[serde(default)]
    pub reason: String,
}

/// Checks a criterion of the gate ahead of the case (the stage the case
/// goes on to), or asks its AI worker to.
#[utoipa::path(post, path = "/api/v1/cases/{id}/checks", tag = "flows", params(("id" = Uuid, Path)), request_body = CheckCriterion,
    responses((status = 201, body = CriterionCheck), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn check<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    key: IdempotencyKey,
    body: ApiJson<CheckCriterion>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let request = CheckRequest {
        criterion: input.criterion,
        passed: input.passed,
        reason: input.reason,
    };
    let store = state.store.clone();
    let runtime = state.runtime.clone();
    let asker = actor.clone();
    super::create(
        &state,
        &actor,
        key,
        &format!("POST /cases/{id}/checks"),
        &body.digest,
        |ctx| async move { flows::check(&store, &runtime, &asker, &ctx, id, request).await },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeVerdict {
    pub verdict: Verdict,
    /// Why (needed for hold and kill).
    #[serde(default)]
    pub reason: String,
    /// Until when a hold lasts.
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
    /// What the stage must redo, for a recycle.
    #[serde(default)]
    pub redo: String,
}

/// A proposed verdict and the decision that gives it.
#[derive(Debug, Serialize, ToSchema)]
pub struct VerdictView {
    #[serde(flatten)]
    pub verdict: GateVerdict,
    pub decision: Decision,
}

/// Proposes a verdict at the gate ahead of the case: a decision in the
/// flow's space, routed by its policy; given once that decision is decided.
#[utoipa::path(post, path = "/api/v1/cases/{id}/verdicts", tag = "flows", params(("id" = Uuid, Path)), request_body = ProposeVerdict,
    responses((status = 201, body = VerdictView), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn propose_verdict<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    key: IdempotencyKey,
    body: ApiJson<ProposeVerdict>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let request = VerdictRequest {
        verdict: input.verdict,
        reason: input.reason,
        until: input.until,
        redo: input.redo,
    };
    let store = state.store.clone();
    let runtime = state.runtime.clone();
    let asker = actor.clone();
    super::create(
        &state,
        &actor,
        key,
        &format!("POST /cases/{id}/verdicts"),
        &body.digest,
        |ctx| async move {
            let (verdict, decision) =
                flows::propose_verdict(&store, &runtime.policies, &asker, &ctx, id, request)
                    .await?;
            Ok(VerdictView { verdict, decision })
        },
    )
    .await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteLearning {
    /// What happened.
    pub title: String,
    /// What to change, and why.
    #[serde(default)]
    pub body: String,
    /// The team (stage) that learned it.
    #[serde(default)]
    pub team_id: Option<Uuid>,
    /// The promise it concerns (name at least one of the three).
    #[serde(default)]
    pub promise_id: Option<Uuid>,
    /// The gate it concerns.
    #[serde(default)]
    pub gate_id: Option<Uuid>,
    /// The service product it concerns.
    #[serde(default)]
    pub service_product_id: Option<Uuid>,
    /// New criteria for the gate, or new levels for the service product.
    #[serde(default)]
    pub amendment: Option<Amendment>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LearningParams {
    pub status: Option<LearningStatus>,
    pub gate: Option<Uuid>,
    pub service_product: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Lists learnings, oldest first.
#[utoipa::path(get, path = "/api/v1/learnings", tag = "flows", params(LearningParams),
    responses((status = 200, body = PageOf<Learning>)))]
pub async fn list_learnings<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<LearningParams>,
) -> Result<Json<PageOf<Learning>>, ApiError> {
    actor.may(Action::Read)?;
    let filter = LearningFilter {
        status: params.status,
        gate_id: params.gate,
        service_product_id: params.service_product,
        ..LearningFilter::default()
    };
    let page = page_request(params.limit, params.cursor.as_deref())?;
    Ok(Json(
        state
            .store
            .learnings(actor.org_id, &filter, page)
            .await?
            .into(),
    ))
}

/// Writes down what a stage learned, about a promise, a gate or a service
/// product, with an amendment it proposes.
#[utoipa::path(post, path = "/api/v1/learnings", tag = "flows", request_body = WriteLearning,
    responses((status = 201, body = Learning), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn write_learning<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<WriteLearning>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let new = NewLearning {
        title: input.title,
        body: input.body,
        team_id: input.team_id,
        subject: LearningSubject {
            promise_id: input.promise_id,
            gate_id: input.gate_id,
            service_product_id: input.service_product_id,
        },
        amendment: input.amendment,
    };
    let store = state.store.clone();
    let asker = actor.clone();
    super::create(
        &state,
        &actor,
        key,
        "POST /learnings",
        &body.digest,
        |ctx| async move { flows::write_learning(&store, &asker, &ctx, new).await },
    )
    .await
}

/// Shows a learning.
#[utoipa::path(get, path = "/api/v1/learnings/{id}", tag = "flows", params(("id" = Uuid, Path)),
    responses((status = 200, body = Learning), (status = 404, body = Problem)))]
pub async fn show_learning<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Learning>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(state.store.learning(actor.org_id, id).await?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// Why it is declined (needed then), or a word on accepting it.
    #[serde(default)]
    pub answer: String,
}

/// Accepts a learning: its amendment becomes the next version of its
/// gate's criteria or its product's levels.
#[utoipa::path(post, path = "/api/v1/learnings/{id}/accept", tag = "flows", params(("id" = Uuid, Path)), request_body = Answer,
    responses((status = 200, body = Learning), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn accept_learning<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<Answer>,
) -> Result<Json<Learning>, ApiError> {
    let answer = body.value.answer;
    let learning =
        flows::answer_learning(&state.store, &actor, &ctx(&state, &actor), id, true, answer)
            .await?;
    Ok(Json(learning))
}

/// Declines a learning, saying why.
#[utoipa::path(post, path = "/api/v1/learnings/{id}/decline", tag = "flows", params(("id" = Uuid, Path)), request_body = Answer,
    responses((status = 200, body = Learning), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn decline_learning<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<Answer>,
) -> Result<Json<Learning>, ApiError> {
    let answer = body.value.answer;
    let learning = flows::answer_learning(
        &state.store,
        &actor,
        &ctx(&state, &actor),
        id,
        false,
        answer,
    )
    .await?;
    Ok(Json(learning))
}
