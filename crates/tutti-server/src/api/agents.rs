//! The claim protocol of external AI workers: an agent outside tutti lists
//! the work in its hands, reads a work item's brief (its work order with
//! the *why* and the principles), claims a run with a lease, reports
//! progress (which renews the lease), submits its result for review or
//! gives the work back. The MCP server's tools are these calls.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::labour::agent::{AgentLease, AgentResult, Attachment};
use tutti_domain::labour::{BudgetState, Review, Run};
use tutti_domain::strategy::{KeyResult, Objective};
use tutti_domain::work::WorkItem;
use tutti_engine::agents;
use tutti_store::ClaimTarget;
use tutti_store::prelude::*;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ctx;
use crate::error::Problem;
use crate::extract::{ApiJson, Auth, IdPath};
use crate::{ApiError, AppState};

/// A piece of work in an agent's hands and its latest run.
#[derive(Debug, Serialize, ToSchema)]
pub struct MyWork {
    pub item: WorkItem,
    /// `queued`: waiting to be claimed; `running`: claimed.
    pub run: Option<Run>,
}

/// What an agent reported on a run.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoteView {
    pub id: Uuid,
    pub note: String,
    pub created_at: DateTime<Utc>,
}

/// A work item with all an agent needs to do it.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkBrief {
    pub item: WorkItem,
    /// The key result the work serves, and its objective: the *why*.
    pub key_result: Option<KeyResult>,
    pub objective: Option<Objective>,
    /// The latest run: its `role_card` is who the worker is, its
    /// `work_order` the task with its why and the principles that hold
    /// (a revision's order ends with the reviewer's feedback).
    pub run: Option<Run>,
    pub notes: Vec<NoteView>,
    pub reviews: Vec<Review>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    /// The item whose waiting run to claim; the oldest queued run of the
    /// agent's when absent.
    #[serde(default)]
    pub work_item_id: Option<Uuid>,
    /// How long the claim lasts without progress reports: 30 to 3600
    /// seconds, 300 by default.
    #[serde(default)]
    #[schema(minimum = 30, maximum = 3600)]
    pub lease_seconds: Option<i64>,
}

/// A claim: the run now held, or none when nothing waits.
#[derive(Debug, Serialize, ToSchema)]
pub struct Claim {
    pub run: Option<Run>,
    /// When the claim runs out unless progress is reported.
    pub lease_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProgressReport {
    /// What was done so far, for the people following the work (1 to 2 000
    /// characters); without one, the claim is only renewed.
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    #[schema(minimum = 30, maximum = 3600)]
    pub lease_seconds: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Progress {
    pub run_id: Uuid,
    pub lease_until: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitResult {
    /// The answer, as the reviewer will read it.
    pub text: String,
    /// Up to 20 http(s) links to what was made.
    #[serde(default)]
    pub links: Vec<String>,
    /// Up to 10 texts attached, each with a name.
    #[serde(default)]
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// Why the work goes back, for the person who picks it up.
    pub reason: String,
}

fn lease(seconds: Option<i64>) -> Result<AgentLease, ApiError> {
    Ok(seconds
        .map(AgentLease::parse)
        .transpose()?
        .unwrap_or_default())
}

/// The open work in the caller's hands, each with its latest run.
#[utoipa::path(get, path = "/api/v1/me/work", tag = "agents",
    responses((status = 200, body = Vec<MyWork>), (status = 401, body = Problem)))]
pub async fn my_work<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<Vec<MyWork>>, ApiError> {
    let work = agents::my_work(&state.store, &actor).await?;
    Ok(Json(
        work.into_iter()
            .map(|(item, run)| MyWork { item, run })
            .collect(),
    ))
}

/// The budgets that hold the caller's model calls, with their use.
#[utoipa::path(get, path = "/api/v1/me/budgets", tag = "agents",
    responses((status = 200, body = Vec<BudgetState>), (status = 401, body = Problem)))]
pub async fn my_budgets<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<Vec<BudgetState>>, ApiError> {
    let ctx = ctx(&state, &actor);
    Ok(Json(agents::budgets(&state.store, &actor, &ctx).await?))
}

/// A work item's brief: the item, its why, its work order, notes and reviews.
#[utoipa::path(get, path = "/api/v1/work-items/{id}/brief", tag = "agents", params(("id" = Uuid, Path)),
    responses((status = 200, body = WorkBrief), (status = 404, body = Problem)))]
pub async fn brief<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<WorkBrief>, ApiError> {
    let brief = agents::brief(&state.store, &actor, id).await?;
    Ok(Json(WorkBrief {
        item: brief.item,
        key_result: brief.key_result,
        objective: brief.objective,
        run: brief.run,
        notes: brief
            .notes
            .into_iter()
            .map(|n| NoteView {
                id: n.id,
                note: n.note,
                created_at: n.created_at,
            })
            .collect(),
        reviews: brief.reviews,
    }))
}

/// An external agent claims its next queued run (or one item's) with a lease.
#[utoipa::path(post, path = "/api/v1/runs/claim", tag = "agents", request_body = ClaimRequest,
    responses((status = 200, body = Claim), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn claim<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    body: ApiJson<ClaimRequest>,
) -> Result<Json<Claim>, ApiError> {
    let input = body.value;
    let lease = lease(input.lease_seconds)?;
    let target = input
        .work_item_id
        .map_or(ClaimTarget::Next, ClaimTarget::Item);
    let ctx = ctx(&state, &actor);
    let run = agents::claim(&state.store, &actor, &ctx, target, lease).await?;
    Ok(Json(Claim {
        lease_until: run.as_ref().map(|_| lease.until(ctx.now)),
        run,
    }))
}

/// Reports progress on a claimed run, which renews its lease.
#[utoipa::path(post, path = "/api/v1/runs/{id}/progress", tag = "agents", params(("id" = Uuid, Path)),
    request_body = ProgressReport,
    responses((status = 200, body = Progress), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn progress<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<ProgressReport>,
) -> Result<Json<Progress>, ApiError> {
    let input = body.value;
    let lease = lease(input.lease_seconds)?;
    let ctx = ctx(&state, &actor);
    agents::report_progress(&state.store, &ctx, id, input.note.as_deref(), lease).await?;
    Ok(Json(Progress {
        run_id: id,
        lease_until: lease.until(ctx.now),
    }))
}

/// Submits the result of a claimed run: the work goes to review.
#[utoipa::path(post, path = "/api/v1/runs/{id}/result", tag = "agents", params(("id" = Uuid, Path)),
    request_body = SubmitResult,
    responses((status = 200, body = Run), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn submit<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<SubmitResult>,
) -> Result<Json<Run>, ApiError> {
    let input = body.value;
    let result = AgentResult::parse(&input.text, &input.links, &input.attachments)?;
    let ctx = ctx(&state, &actor);
    Ok(Json(
        agents::submit(&state.store, &state.runtime, &ctx, id, result).await?,
    ))
}

/// Gives a claimed run back with a reason: the work returns to people.
#[utoipa::path(post, path = "/api/v1/runs/{id}/release", tag = "agents", params(("id" = Uuid, Path)),
    request_body = ReleaseRequest,
    responses((status = 200, body = Run), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn release<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<ReleaseRequest>,
) -> Result<Json<Run>, ApiError> {
    let ctx = ctx(&state, &actor);
    Ok(Json(
        agents::release(&state.store, &state.runtime, &ctx, id, &body.value.reason).await?,
    ))
}
