//! The storage contract for AI work: the run queue with its leases, the
//! engines that claim from it, and reviews of the results.
//!
//! A run's state, its work item's state, its ledger entries and its audit
//! event change in one transaction. The rules — when a run is queued, what
//! its end does to the item, retry or fail after a lost lease, what a
//! verdict does — are `tutti_domain::labour`'s; the queue's atomic SQL (the
//! claim with `SKIP LOCKED`, the worker's concurrency under its row lock,
//! leases) is here.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::labour::{MaxTokens, NewReview, Review, ReviewStats, Run, RunStatus, Tokens};
use uuid::Uuid;

use crate::ledger::{Charge, Reservation};
use crate::providers::ModelRoute;
use crate::{Ctx, Page, PageRequest, Result};

#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub status: Option<RunStatus>,
    pub work_item_id: Option<Uuid>,
    pub worker_id: Option<Uuid>,
}

/// An engine process as the queues see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineNode {
    /// Its name, which its leases carry.
    pub name: String,
    /// It has the embedded model, so it can run work on the embedded provider.
    pub embedded_model: bool,
}

/// A run handed to an engine, with how to reach its model.
#[derive(Debug, Clone)]
pub struct ClaimedRun {
    pub org_id: Uuid,
    pub run: Run,
    pub route: ModelRoute,
}

/// How a run ended, as reported by the engine that held its lease.
#[derive(Debug, Clone)]
pub enum RunEnd {
    Succeeded {
        output: String,
        used: Tokens,
    },
    Failed {
        output: String,
        used: Tokens,
        error: String,
    },
    Cancelled {
        output: String,
        used: Tokens,
    },
}

/// What a heartbeat learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    /// Still ours; carry on.
    Held,
    /// Still ours, but a person asked to cancel.
    CancelRequested,
    /// No longer ours (expired and taken over, or finished elsewhere): stop
    /// without writing anything.
    Lost,
}

/// What an agent reported while working on a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunNote {
    pub id: Uuid,
    pub run_id: Uuid,
    pub note: String,
    pub created_at: DateTime<Utc>,
}

/// Which of an external agent's runs to claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimTarget {
    /// The oldest queued run of the agent's work.
    Next,
    /// The run waiting on this work item.
    Item(Uuid),
}

/// A review and, for `revise`, the next iteration it queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reviewed {
    pub review: Review,
    pub next_run: Option<Run>,
}

/// Runs, leases and reviews. Errors as [`crate::Store`] says.
pub trait Runs: Clone + Send + Sync + 'static {
    /// Queues a run of a work item by its AI assignee, with the work order
    /// rendered from the item, its why and its space's principles, and the
    /// worker's role card. `NotFound` for an item of another org; `Invalid`
    /// for a final item or one not in an AI worker's hands; `Conflict` when
    /// a run is queued or running already.
    fn queue_run(
        &self,
        ctx: &Ctx,
        work_item_id: Uuid,
        max_tokens: MaxTokens,
    ) -> impl Future<Output = Result<Run>> + Send;
    /// `NotFound` for a run of another org.
    fn run(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Run>> + Send;
    /// The org's runs that match `filter`, oldest first.
    fn runs(
        &self,
        org_id: Uuid,
        filter: &RunFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Run>>> + Send;
    /// Cancels a queued run at once; asks the engine holding a running one
    /// to stop. `Conflict` for a run that has ended.
    fn cancel_run(&self, ctx: &Ctx, id: Uuid) -> impl Future<Output = Result<Run>> + Send;

    /// Says that the engine `node` is alive until `seen_until`, and whether
    /// it has the embedded model; forgets nodes not seen for a day.
    fn announce_node(
        &self,
        node: &EngineNode,
        now: DateTime<Utc>,
        seen_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Takes the oldest queued run whose worker is below its concurrency
    /// limit, leasing it to `node` until `lease_until`. A node without the
    /// embedded model leaves runs on the embedded provider to a live node
    /// that has it, and takes them only when there is none. A run whose
    /// worker has no usable model fails on the spot, saying why.
    fn claim_run(
        &self,
        node: &EngineNode,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<ClaimedRun>>> + Send;
    /// Extends a lease and keeps the output so far.
    fn heartbeat(
        &self,
        run_id: Uuid,
        owner: &str,
        lease_until: DateTime<Utc>,
        output: &str,
        used: Tokens,
    ) -> impl Future<Output = Result<LeaseState>> + Send;
    /// Reserves a run's next call. `BudgetRefused` names the budget without
    /// room; `Conflict` when the lease is lost or a reservation is open.
    fn reserve_for_run(
        &self,
        run_id: Uuid,
        owner: &str,
        now: DateTime<Utc>,
        charge: Charge,
    ) -> impl Future<Output = Result<Reservation>> + Send;
    /// Ends a run held by `owner`: settles its reservation, moves the work
    /// item on (to `in_review` on success), and records it. `Conflict` when
    /// the lease is lost.
    fn end_run(
        &self,
        run_id: Uuid,
        owner: &str,
        now: DateTime<Utc>,
        end: RunEnd,
    ) -> impl Future<Output = Result<Run>> + Send;
    /// Runs whose lease expired go back to the queue (or fail once out of
    /// attempts), their reservations settled at what was last seen; abandoned
    /// gateway reservations are settled the same way. Returns how many runs
    /// and reservations were recovered.
    fn recover(&self, now: DateTime<Utc>) -> impl Future<Output = Result<(u64, u64)>> + Send;
    /// Hands back the leases `owner` holds, as a process does when it stops:
    /// they expire now, so the next recovery (here or on another node) queues
    /// the runs again at once, and `owner`'s own heartbeats find them lost.
    fn hand_back_leases(
        &self,
        owner: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// An external agent (the context's actor) claims one of its queued
    /// runs, leased to it until `lease_until` (`tutti_domain::labour::agent`
    /// says who may claim what); the item moves to `running`. `Ok(None)`
    /// when nothing of its is queued (for `ClaimTarget::Next`); `Denied`
    /// for a member that is not an external AI worker or another worker's
    /// run; `Conflict` for a run claimed already, or an agent at its
    /// concurrency limit; `NotFound` for an item of another org.
    fn claim_for_agent(
        &self,
        ctx: &Ctx,
        target: ClaimTarget,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Run>>> + Send;
    /// Renews the agent's lease on a run it holds until `lease_until`,
    /// keeping `note` (already checked) when it reports one. `Conflict`
    /// when the agent no longer holds the run.
    fn agent_heartbeat(
        &self,
        ctx: &Ctx,
        run_id: Uuid,
        lease_until: DateTime<Utc>,
        note: Option<String>,
    ) -> impl Future<Output = Result<Run>> + Send;
    /// Ends a run the agent holds with its result (`output`, rendered):
    /// the item goes to review. The run's tokens and cost are what its
    /// gateway calls settled. `Conflict` when the agent no longer holds it.
    fn submit_run(
        &self,
        ctx: &Ctx,
        run_id: Uuid,
        output: String,
    ) -> impl Future<Output = Result<Run>> + Send;
    /// The agent gives a run it holds back with `reason`: the run ends
    /// `cancelled` and the item is `ready` again without an assignee, for a
    /// person to hand on. `Conflict` when the agent no longer holds it.
    fn release_run(
        &self,
        ctx: &Ctx,
        run_id: Uuid,
        reason: String,
    ) -> impl Future<Output = Result<Run>> + Send;
    /// What agents reported on a run, oldest first.
    fn run_notes(
        &self,
        org_id: Uuid,
        run_id: Uuid,
    ) -> impl Future<Output = Result<Vec<RunNote>>> + Send;
    /// The run an external agent's gateway call serves: `run_id` when the
    /// agent names one it holds, else the one run it holds if it holds
    /// exactly one. With its work item, whose budgets the call is charged.
    fn agent_call_run(
        &self,
        org_id: Uuid,
        worker_id: Uuid,
        run_id: Option<Uuid>,
    ) -> impl Future<Output = Result<Option<(Uuid, Uuid)>>> + Send;

    /// A person's verdict on a run by the context's actor: `accept` closes
    /// the item, `revise` queues the next iteration with the feedback,
    /// `reject` hands the item back unassigned. `NotFound` for a run of
    /// another org; `Conflict` for a run that is not the latest finished one
    /// of work in review, or was reviewed already.
    fn review_run(
        &self,
        ctx: &Ctx,
        run_id: Uuid,
        review: NewReview,
    ) -> impl Future<Output = Result<Reviewed>> + Send;
    /// The reviews of a work item's runs, oldest first.
    fn reviews(
        &self,
        org_id: Uuid,
        work_item_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Review>>> + Send;
    /// How a worker's results fare in review.
    fn review_stats(
        &self,
        org_id: Uuid,
        worker_id: Uuid,
    ) -> impl Future<Output = Result<ReviewStats>> + Send;
}
