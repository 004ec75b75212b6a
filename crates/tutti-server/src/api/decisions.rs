//! Decision spaces and decisions over REST: spaces with their Cedar policy
//! (validated on save, simulated without storing), decisions routed by it,
//! votes, outcome reviews, and the register (JSON, CSV, and a summary).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tutti_domain::access::{Action, Actor};
use tutti_domain::audit::Event;
use tutti_domain::decision::{
    AttributeType, AttributeValue, Decision, DecisionSpace, DecisionStatus, Facts, NewSpace,
    Outcome, PolicyVerdict, Proposal, RegisterSummary, Risk, Routing, SpacePatch, Vote,
    format_amount, parse_amount,
};
use tutti_engine::decisions::{self as engine, Cast, DecisionRequest, Hypothesis};
use tutti_store::prelude::*;
use tutti_store::{DecisionFilter, EventFilter, PageRequest};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{PageOf, create, ctx, double_option};
use crate::error::Problem;
use crate::extract::{ApiJson, ApiQuery, Auth, IdPath, IdempotencyKey};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSpace {
    pub name: String,
    /// Exactly one of `team_id` and `objective_id`.
    #[serde(default)]
    pub team_id: Option<Uuid>,
    #[serde(default)]
    pub objective_id: Option<Uuid>,
    /// Short guard-rails every AI work order in the space carries.
    #[serde(default)]
    pub principles: Vec<String>,
    /// Cedar source, validated against the space's schema.
    pub policy: String,
    /// Attributes the space's decisions carry besides the standard ones.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeType>,
    /// Approvals a decision needs unless a policy's `@quorum` asks more (default 1).
    #[serde(default)]
    pub quorum: Option<i64>,
    #[serde(default)]
    pub escalate_after_secs: Option<i64>,
    #[serde(default)]
    pub escalate_to: Option<Uuid>,
}

/// Lists the org's decision spaces.
#[utoipa::path(get, path = "/api/v1/decision-spaces", tag = "decisions", params(super::ListParams),
    responses((status = 200, body = PageOf<DecisionSpace>)))]
pub async fn list_spaces<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<super::ListParams>,
) -> Result<Json<PageOf<DecisionSpace>>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(
        state
            .store
            .spaces(actor.org_id, params.page()?)
            .await?
            .into(),
    ))
}

/// Creates a decision space (admins, and leads of its team).
#[utoipa::path(post, path = "/api/v1/decision-spaces", tag = "decisions", request_body = CreateSpace,
    responses((status = 201, body = DecisionSpace), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_space<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateSpace>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let new = NewSpace {
        name: input.name,
        team_id: input.team_id,
        objective_id: input.objective_id,
        principles: input.principles,
        policy: input.policy,
        attributes: input.attributes,
        quorum: input.quorum.unwrap_or(1),
        escalate_after_secs: input.escalate_after_secs,
        escalate_to: input.escalate_to,
    };
    let (store, asker) = (state.store.clone(), actor.clone());
    create(
        &state,
        &actor,
        key,
        "POST /decision-spaces",
        &body.digest,
        |ctx| async move { engine::create_space(&store, &asker, &ctx, new).await },
    )
    .await
}

/// A decision space with its policy.
#[utoipa::path(get, path = "/api/v1/decision-spaces/{id}", tag = "decisions", params(("id" = Uuid, Path)),
    responses((status = 200, body = DecisionSpace), (status = 404, body = Problem)))]
pub async fn show_space<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<DecisionSpace>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(state.store.space(actor.org_id, id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateSpace {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub principles: Option<Vec<String>>,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub attributes: Option<BTreeMap<String, AttributeType>>,
    #[serde(default)]
    pub quorum: Option<i64>,
    #[serde(default, deserialize_with = "double_option")]
    pub escalate_after_secs: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub escalate_to: Option<Option<Uuid>>,
}

/// Changes a space; the new version is in the audit chain (admins, and
/// leads of its team; never an AI worker).
#[utoipa::path(patch, path = "/api/v1/decision-spaces/{id}", tag = "decisions", params(("id" = Uuid, Path)), request_body = UpdateSpace,
    responses((status = 200, body = DecisionSpace), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "Another space already has the name.", body = Problem), (status = 422, body = Problem)))]
pub async fn update_space<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<UpdateSpace>,
) -> Result<Json<DecisionSpace>, ApiError> {
    let input = body.value;
    let patch = SpacePatch {
        name: input.name,
        principles: input.principles,
        policy: input.policy,
        attributes: input.attributes,
        quorum: input.quorum,
        escalate_after_secs: input.escalate_after_secs,
        escalate_to: input.escalate_to,
    };
    Ok(Json(
        engine::update_space(&state.store, &actor, &ctx(&state, &actor), id, patch).await?,
    ))
}

/// Deletes a space that holds no decisions.
#[utoipa::path(delete, path = "/api/v1/decision-spaces/{id}", tag = "decisions", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn delete_space<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    engine::delete_space(&state.store, &actor, &ctx(&state, &actor), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyTemplate {
    pub name: String,
    pub title: String,
    pub source: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Templates {
    pub templates: Vec<PolicyTemplate>,
    /// The Cedar schema policies are validated against (for a space that
    /// declares no further attributes).
    pub schema: String,
}

/// Starter policies a leader can pick and edit, and the schema.
#[utoipa::path(get, path = "/api/v1/decision-spaces/templates", tag = "decisions", responses((status = 200, body = Templates)))]
pub async fn templates(Auth(actor): Auth) -> Result<Json<Templates>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(Templates {
        templates: tutti_policy::TEMPLATES
            .iter()
            .map(|t| PolicyTemplate {
                name: t.name.into(),
                title: t.title.into(),
                source: t.source.into(),
            })
            .collect(),
        schema: tutti_policy::schema_source(&BTreeMap::new()),
    }))
}

/// What a policy sees of a decision, as sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FactsInput {
    /// In the currency's major unit: a whole number (`500`) or a text with
    /// up to two decimals (`"499.50"`).
    #[schema(value_type = String)]
    pub amount: serde_json::Value,
    /// Defaults to the org's currency.
    #[serde(default)]
    pub currency: Option<String>,
    pub risk: Risk,
    pub reversible: bool,
    pub customer_facing: bool,
    /// The attributes the space declares.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeValue>,
}

impl FactsInput {
    async fn into_facts<S: Store>(
        self,
        state: &AppState<S>,
        org_id: Uuid,
    ) -> Result<Facts, ApiError> {
        // Decimals travel as text: a JSON number must be whole (`500`, or
        // `500.0`, which JSON reads the same), never `499.5` rounded somewhere.
        let amount = match &self.amount {
            serde_json::Value::String(text) => parse_amount("amount", text)?,
            serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => {
                parse_amount("amount", &n.to_string())?
            }
            _ => {
                return Err(tutti_domain::Invalid::new(
                    "amount",
                    "expected a whole number or a text with up to two decimals, like \"1234.50\"",
                )
                .into());
            }
        };
        let currency = match self.currency {
            Some(c) => tutti_domain::org::parse_currency(&c)
                .map_err(|e| tutti_domain::Invalid::new("currency", e.message))?,
            None => state.store.org(org_id).await?.currency,
        };
        Ok(Facts {
            amount_minor: amount,
            currency,
            risk: self.risk,
            reversible: self.reversible,
            customer_facing: self.customer_facing,
            attributes: self.attributes,
        })
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Simulate {
    pub facts: FactsInput,
    /// The AI worker to route for; without one the route is `human_only`.
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    /// Also ask whether this member may approve.
    #[serde(default)]
    pub approver_id: Option<Uuid>,
    /// A draft policy to try instead of the stored one (nothing is saved).
    #[serde(default)]
    pub policy: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Simulation {
    pub routing: Routing,
    pub approval: Option<PolicyVerdict>,
}

/// Evaluates a hypothetical decision against the space's policy (or a
/// draft of it) without storing anything.
#[utoipa::path(post, path = "/api/v1/decision-spaces/{id}/simulate", tag = "decisions", params(("id" = Uuid, Path)), request_body = Simulate,
    responses((status = 200, body = Simulation), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn simulate<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<Simulate>,
) -> Result<Json<Simulation>, ApiError> {
    actor.may(Action::Read)?;
    let input = body.value;
    let space = state.store.space(actor.org_id, id).await?;
    let facts = input.facts.into_facts(&state, actor.org_id).await?;

    let hypothesis = Hypothesis {
        facts,
        assignee: input.assignee_id,
        approver: input.approver_id,
        draft: input.policy,
    };
    let (routing, approval) = engine::simulate(
        &state.store,
        &state.runtime.policies,
        actor.org_id,
        &space,
        &hypothesis,
    )
    .await?;
    Ok(Json(Simulation { routing, approval }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateDecision {
    pub space_id: Uuid,
    pub question: String,
    #[serde(default)]
    pub context: String,
    pub facts: FactsInput,
    /// 2 to 10 options.
    pub options: Vec<String>,
    /// The AI worker to decide or prepare it. An AI worker asking is the
    /// assignee itself.
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    /// The run the decision came up in.
    #[serde(default)]
    pub run_id: Option<Uuid>,
    /// An AI worker's own choice or recommendation.
    #[serde(default)]
    pub proposal: Option<Proposal>,
}

/// Raises a decision: the space's policy routes it at once — the AI worker
/// decides, prepares for people, or people decide alone.
#[utoipa::path(post, path = "/api/v1/decisions", tag = "decisions", request_body = CreateDecision,
    responses((status = 201, body = Decision), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_decision<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateDecision>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let facts = input.facts.into_facts(&state, actor.org_id).await?;
    let request = DecisionRequest {
        space_id: input.space_id,
        question: input.question,
        context: input.context,
        facts,
        options: input.options,
        assignee_id: input.assignee_id,
        run_id: input.run_id,
        proposal: input.proposal,
    };
    let store = state.store.clone();
    let runtime = state.runtime.clone();
    let asker = actor.clone();
    create(
        &state,
        &actor,
        key,
        "POST /decisions",
        &body.digest,
        |ctx| async move {
            engine::request(&store, &runtime.policies, &asker, &ctx, request).await
        },
    )
    .await
}

/// Whose vote the listed decisions wait on; only the caller's can be asked for.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Awaiting {
    Me,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DecisionParams {
    pub space: Option<Uuid>,
    pub status: Option<DecisionStatus>,
    /// `me`: decisions the caller may vote on now.
    pub awaiting: Option<Awaiting>,
    pub requested_by: Option<Uuid>,
    pub assignee: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Lists decisions; `awaiting=me` gives those waiting on the caller's vote.
#[utoipa::path(get, path = "/api/v1/decisions", tag = "decisions", params(DecisionParams),
    responses((status = 200, body = PageOf<Decision>), (status = 422, body = Problem)))]
pub async fn list_decisions<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<DecisionParams>,
) -> Result<Json<PageOf<Decision>>, ApiError> {
    actor.may(Action::Read)?;
    let page = super::page_request(params.limit, params.cursor.as_deref())?;
    let awaiting_me = params.awaiting.is_some();
    let filter = DecisionFilter {
        space_id: params.space,
        status: params.status,
        requested_by: params.requested_by,
        assignee_id: params.assignee,
        waiting: awaiting_me,
    };
    if !awaiting_me {
        return Ok(Json(
            state
                .store
                .decisions(actor.org_id, &filter, page)
                .await?
                .into(),
        ));
    }
    let (items, next) = engine::awaiting(
        &state.store,
        &state.runtime.policies,
        &actor,
        page.after,
        page.limit as usize,
    )
    .await?;
    let next_cursor = next.map(|id| id.to_string());
    Ok(Json(PageOf { items, next_cursor }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DecisionView {
    #[serde(flatten)]
    pub decision: Decision,
    /// Every step in the audit chain: requested (with the routing verdicts),
    /// prepared, each vote with its verdict, escalated, decided, reviewed.
    pub trail: Vec<Event>,
}

/// A decision with its full trail.
#[utoipa::path(get, path = "/api/v1/decisions/{id}", tag = "decisions", params(("id" = Uuid, Path)),
    responses((status = 200, body = DecisionView), (status = 404, body = Problem)))]
pub async fn show_decision<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<DecisionView>, ApiError> {
    actor.may(Action::Read)?;
    let decision = state.store.decision(actor.org_id, id).await?;
    let filter = EventFilter {
        after_seq: None,
        limit: PageRequest::MAX_LIMIT,
        action: None,
        subject_id: Some(id),
    };
    let trail = state.store.events(actor.org_id, &filter).await?.items;
    Ok(Json(DecisionView { decision, trail }))
}

/// The assigned AI worker's choice (when it may decide) or recommendation
/// (when it may prepare) for an open decision.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/propose", tag = "decisions", params(("id" = Uuid, Path)), request_body = Proposal,
    responses((status = 200, body = Decision), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn propose<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<Proposal>,
) -> Result<Json<Decision>, ApiError> {
    Ok(Json(
        engine::propose(&state.store, &actor, &ctx(&state, &actor), id, body.value).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    /// The option approved.
    pub option: String,
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reject {
    pub reason: String,
}

async fn cast_vote<S: Store>(
    state: &AppState<S>,
    actor: &Actor,
    id: Uuid,
    cast: Cast,
) -> Result<Json<Decision>, ApiError> {
    let ctx = ctx(state, actor);
    let policies = &state.runtime.policies;
    Ok(Json(
        engine::vote(&state.store, policies, actor, &ctx, id, cast).await?,
    ))
}

/// Approves an option. The policy's `approve` must allow the caller; AI
/// workers never approve; nobody counts twice.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/approve", tag = "decisions", params(("id" = Uuid, Path)), request_body = Approve,
    responses((status = 200, body = Decision), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn approve<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<Approve>,
) -> Result<Json<Decision>, ApiError> {
    let cast = Cast {
        vote: Vote::Approve,
        option: Some(body.value.option),
        reason: body.value.reason,
    };
    cast_vote(&state, &actor, id, cast).await
}

/// Rejects the decision (one rejection closes it).
#[utoipa::path(post, path = "/api/v1/decisions/{id}/reject", tag = "decisions", params(("id" = Uuid, Path)), request_body = Reject,
    responses((status = 200, body = Decision), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn reject<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<Reject>,
) -> Result<Json<Decision>, ApiError> {
    let cast = Cast {
        vote: Vote::Reject,
        option: None,
        reason: body.value.reason,
    };
    cast_vote(&state, &actor, id, cast).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewOutcome {
    pub outcome: Outcome,
    #[serde(default)]
    pub note: String,
}

/// Looks back on a decided decision: `good`, `bad` or `unclear`. People
/// only: the requester, a voter, or whoever may manage the space.
#[utoipa::path(post, path = "/api/v1/decisions/{id}/outcome", tag = "decisions", params(("id" = Uuid, Path)), request_body = ReviewOutcome,
    responses((status = 200, body = Decision), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn review_outcome<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<ReviewOutcome>,
) -> Result<Json<Decision>, ApiError> {
    let input = body.value;
    let ctx = ctx(&state, &actor);
    Ok(Json(
        engine::review_outcome(&state.store, &actor, &ctx, id, input.outcome, input.note).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RegisterParams {
    pub space: Option<Uuid>,
    /// `json` (default) or `csv`.
    pub format: Option<RegisterFormat>,
}

/// How the decision register is written out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RegisterFormat {
    #[default]
    Json,
    Csv,
}

/// One line of the register.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegisterRow {
    pub id: Uuid,
    pub space_id: Uuid,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub question: String,
    pub amount: String,
    pub currency: String,
    pub risk: Risk,
    pub reversible: bool,
    pub customer_facing: bool,
    pub requested_by: Uuid,
    pub assignee_id: Option<Uuid>,
    pub autonomy: String,
    pub quorum: i64,
    /// The policies the routing verdicts named.
    pub policies: String,
    /// Why it was routed so.
    pub why: String,
    pub status: DecisionStatus,
    pub recommendation: Option<String>,
    pub confidence: Option<f64>,
    pub choice: Option<String>,
    pub decided_by: Option<Uuid>,
    pub decided_at: Option<chrono::DateTime<chrono::Utc>>,
    pub approvals: usize,
    pub followed_recommendation: Option<bool>,
    pub escalated_at: Option<chrono::DateTime<chrono::Utc>>,
    pub outcome: Option<Outcome>,
    pub outcome_note: Option<String>,
}

impl From<&Decision> for RegisterRow {
    fn from(d: &Decision) -> Self {
        let mut policies: Vec<&str> = d
            .routing
            .verdicts
            .iter()
            .flat_map(|v| v.policies.iter().map(String::as_str))
            .collect();
        policies.dedup();
        Self {
            id: d.id,
            space_id: d.space_id,
            created_at: d.created_at,
            question: d.question.clone(),
            amount: format_amount(d.facts.amount_minor),
            currency: d.facts.currency.clone(),
            risk: d.facts.risk,
            reversible: d.facts.reversible,
            customer_facing: d.facts.customer_facing,
            requested_by: d.requested_by,
            assignee_id: d.assignee_id,
            autonomy: d.routing.autonomy.to_string(),
            quorum: d.routing.quorum,
            policies: policies.join(" "),
            why: d.routing.explanation.clone(),
            status: d.status,
            recommendation: d.recommendation.as_ref().map(|r| r.option.clone()),
            confidence: d.recommendation.as_ref().map(|r| r.confidence),
            choice: d.choice.clone(),
            decided_by: d.decided_by,
            decided_at: d.decided_at,
            approvals: d.ballots.iter().filter(|b| b.vote == Vote::Approve).count(),
            followed_recommendation: d.followed_recommendation(),
            escalated_at: d.escalated_at,
            outcome: d.outcome,
            outcome_note: d.outcome_note.clone(),
        }
    }
}

/// The most decisions one export reads.
const REGISTER_MAX: usize = 100_000;

pub(crate) async fn all_decisions<S: Store>(
    state: &AppState<S>,
    org_id: Uuid,
    space: Option<Uuid>,
) -> Result<Vec<Decision>, ApiError> {
    let filter = DecisionFilter {
        space_id: space,
        ..DecisionFilter::default()
    };
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .decisions(
                org_id,
                &filter,
                PageRequest {
                    after,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        after = page.items.last().map(|d| d.id);
        all.extend(page.items);
        if page.next_cursor.is_none() || all.len() >= REGISTER_MAX {
            return Ok(all);
        }
    }
}

/// The decision register: every decision, how it was routed and why, the
/// AI recommendation, the final choice, and how it turned out. `format=csv`
/// for a spreadsheet.
#[utoipa::path(get, path = "/api/v1/decision-register", tag = "decisions", params(RegisterParams),
    responses(
        (status = 200, description = "The register, as JSON or (`format=csv`) as CSV with a header row.",
            content((Vec<RegisterRow> = "application/json"), (String = "text/csv"))),
        (status = 422, body = Problem)))]
pub async fn register<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<RegisterParams>,
) -> Result<Response, ApiError> {
    actor.may(Action::Read)?;
    let csv = params.format.unwrap_or_default() == RegisterFormat::Csv;
    let rows: Vec<RegisterRow> = all_decisions(&state, actor.org_id, params.space)
        .await?
        .iter()
        .map(Into::into)
        .collect();
    if !csv {
        return Ok(Json(rows).into_response());
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in &rows {
        writer
            .serialize(row)
            .map_err(|e| ApiError::Internal(format!("cannot write CSV: {e}")))?;
    }
    let body = writer
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("cannot write CSV: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"decision-register.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// The register's summary is JSON only, so it takes no `format`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SpaceParams {
    pub space: Option<Uuid>,
}

/// How the register adds up: routing, how often AI recommendations were
/// followed, and how each kind turned out.
#[utoipa::path(get, path = "/api/v1/decision-register/summary", tag = "decisions", params(SpaceParams),
    responses((status = 200, body = RegisterSummary)))]
pub async fn register_summary<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<SpaceParams>,
) -> Result<Json<RegisterSummary>, ApiError> {
    actor.may(Action::Read)?;
    let decisions = all_decisions(&state, actor.org_id, params.space).await?;
    Ok(Json(RegisterSummary::of(&decisions)))
}
