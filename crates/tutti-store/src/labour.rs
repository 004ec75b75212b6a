//! The storage contract for AI labour: providers and prices, the run queue
//! with its leases, the token ledger with budget reservations, and reviews.
//!
//! The ledger's guarantees live here, in single transactions:
//! - a reservation raises every applicable budget's use by the call's worst
//!   case with a conditional update, so a hard budget cannot be passed however
//!   many calls (or processes) reserve at once;
//! - a reservation is settled exactly once (a unique index makes a second
//!   settle fail), writing `settle` for the actual use and `release` for the
//!   rest, so reserve = settle + release for every reservation;
//! - a run's state changes together with its ledger entries and audit event.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::labour::{
    Budget, BudgetPeriod, BudgetScope, BudgetState, LedgerEntry, Model, Prices, Provider,
    ProviderKind, Review, ReviewStats, Run, RunStatus, Tokens, Verdict,
};
use tutti_domain::org::MemberKind;
use uuid::Uuid;

use crate::{Ctx, Page, PageRequest, Result};

#[derive(Debug, Clone)]
pub struct NewProvider {
    pub name: String,
    pub kind: ProviderKind,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub api_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewModel {
    pub name: String,
    pub prices: Prices,
}

/// How to reach a model, with its key: for the engine only, never rendered.
#[derive(Clone)]
pub struct ModelRoute {
    pub provider: String,
    pub kind: ProviderKind,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub api_key: Option<String>,
    pub model: String,
    pub prices: Prices,
}

/// The member behind an API token and the model it runs on: what the
/// gateway needs to know of its caller, read in one statement per call.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenHolder {
    pub org_id: Uuid,
    pub member_id: Uuid,
    pub kind: MemberKind,
    pub provider: Option<String>,
    pub model: Option<String>,
}

impl std::fmt::Debug for ModelRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelRoute")
            .field("provider", &self.provider)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct NewBudget {
    pub name: String,
    pub scope: BudgetScope,
    pub scope_id: Option<Uuid>,
    pub period: BudgetPeriod,
    pub token_limit: Option<i64>,
    pub cost_limit: Option<i64>,
    pub warn_percent: i64,
    pub hard: bool,
}

#[derive(Debug, Clone, Default)]
pub struct BudgetPatch {
    pub name: Option<String>,
    pub token_limit: Option<Option<i64>>,
    pub cost_limit: Option<Option<i64>>,
    pub warn_percent: Option<i64>,
    pub hard: Option<bool>,
}

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

/// What a call is charged to.
#[derive(Debug, Clone)]
pub struct Charge {
    pub worker_id: Uuid,
    pub run_id: Option<Uuid>,
    pub route_provider: String,
    pub route_model: String,
    pub prices: Prices,
    /// An upper bound of the prompt's tokens.
    pub input_tokens: i64,
    /// The most tokens the call may generate; the call is capped to it.
    pub max_output_tokens: i64,
    /// How long the reservation may stay open before it is presumed abandoned.
    pub expires_at: DateTime<Utc>,
}

/// A reservation held against budgets until settled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: Uuid,
    pub reserved: Tokens,
    pub cost: i64,
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

#[derive(Debug, Clone)]
pub struct NewReview {
    pub verdict: Verdict,
    pub feedback: String,
    pub rating: i64,
}

/// A review and, for `revise`, the next iteration it queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reviewed {
    pub review: Review,
    pub next_run: Option<Run>,
}

pub use tutti_domain::labour::LedgerGroup;

/// The longest answer a run may give unless asked otherwise.
pub const DEFAULT_RUN_MAX_TOKENS: i64 = 400;

pub(crate) fn ledger_column(group: LedgerGroup) -> &'static str {
    match group {
        LedgerGroup::Worker => "worker_id",
        LedgerGroup::Team => "team_id",
        LedgerGroup::Objective => "objective_id",
        LedgerGroup::KeyResult => "key_result_id",
        LedgerGroup::Model => "model",
    }
}

/// Settled use of one group in a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerLine {
    /// The id of the worker, team, objective or key result, or the model's
    /// `provider/model`; `null` for use that served none.
    pub key: Option<String>,
    pub calls: i64,
    pub tokens: Tokens,
    pub cost: i64,
}

#[derive(Debug, Clone, Default)]
pub struct LedgerFilter {
    pub worker_id: Option<Uuid>,
    pub run_id: Option<Uuid>,
    pub reservation_id: Option<Uuid>,
    pub kind: Option<tutti_domain::labour::LedgerKind>,
}

/// Settled use and open reservations, for checks and the cockpit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerTotals {
    pub reserved_tokens: i64,
    pub settled_tokens: i64,
    pub released_tokens: i64,
    pub reserved_cost: i64,
    pub settled_cost: i64,
    pub released_cost: i64,
    pub open_reservations: i64,
}

/// The contract for AI labour; see the module documentation for the
/// guarantees.
pub trait Labour: Clone + Send + Sync + 'static {
    fn create_provider(
        &self,
        ctx: &Ctx,
        provider: NewProvider,
    ) -> impl Future<Output = Result<Provider>> + Send;
    fn providers(&self, org_id: Uuid) -> impl Future<Output = Result<Vec<Provider>>> + Send;
    /// Adds a model to a provider, or changes its prices.
    fn put_model(
        &self,
        ctx: &Ctx,
        provider_id: Uuid,
        model: NewModel,
    ) -> impl Future<Output = Result<Model>> + Send;
    /// How to reach a model of the org: by `provider` and `model` name.
    fn route(
        &self,
        org_id: Uuid,
        provider: &str,
        model: &str,
    ) -> impl Future<Output = Result<ModelRoute>> + Send;
    /// The member a token hash belongs to with its provider and model, or
    /// `None` for an unknown token.
    fn token_holder(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<TokenHolder>>> + Send;
    /// Every model of the org, as `(provider, model)`.
    fn models(&self, org_id: Uuid) -> impl Future<Output = Result<Vec<(String, Model)>>> + Send;

    fn create_budget(
        &self,
        ctx: &Ctx,
        budget: NewBudget,
    ) -> impl Future<Output = Result<Budget>> + Send;
    fn update_budget(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: BudgetPatch,
    ) -> impl Future<Output = Result<Budget>> + Send;
    /// Deletes a budget and its use; the ledger keeps every entry. Refused
    /// while a call it holds a reservation for is still open.
    fn delete_budget(&self, ctx: &Ctx, id: Uuid) -> impl Future<Output = Result<()>> + Send;
    fn budget(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Budget>> + Send;
    /// Every budget with its use in the window that contains `now`.
    fn budgets(
        &self,
        org_id: Uuid,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<BudgetState>>> + Send;

    /// Queues a run of a work item by its AI assignee, with the work order
    /// rendered from the worker's role card, the item and its why.
    fn queue_run(
        &self,
        ctx: &Ctx,
        work_item_id: Uuid,
        max_tokens: i64,
    ) -> impl Future<Output = Result<Run>> + Send;
    fn run(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Run>> + Send;
    fn runs(
        &self,
        org_id: Uuid,
        filter: &RunFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Run>>> + Send;
    /// Cancels a queued run at once; asks the engine holding a running one to stop.
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
    /// that has it, and takes them only when there is none.
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
    /// Reserves a run's next call; `Err(BudgetRefused)` names the budget.
    fn reserve_for_run(
        &self,
        run_id: Uuid,
        owner: &str,
        now: DateTime<Utc>,
        charge: Charge,
    ) -> impl Future<Output = Result<Reservation>> + Send;
    /// Ends a run held by `owner`: settles its reservation, moves the work
    /// item on (to `in_review` on success), and records it.
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

    /// Reserves a gateway call.
    fn reserve(
        &self,
        ctx: &Ctx,
        charge: Charge,
    ) -> impl Future<Output = Result<Reservation>> + Send;
    /// Settles a reservation to the actual use (capped to what was reserved).
    fn settle(
        &self,
        ctx: &Ctx,
        reservation_id: Uuid,
        used: Tokens,
    ) -> impl Future<Output = Result<Tokens>> + Send;

    fn review_run(
        &self,
        ctx: &Ctx,
        run_id: Uuid,
        review: NewReview,
    ) -> impl Future<Output = Result<Reviewed>> + Send;
    fn reviews(
        &self,
        org_id: Uuid,
        work_item_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Review>>> + Send;
    fn review_stats(
        &self,
        org_id: Uuid,
        worker_id: Uuid,
    ) -> impl Future<Output = Result<ReviewStats>> + Send;

    /// Settled use in `[from, to)`, grouped.
    fn ledger_summary(
        &self,
        org_id: Uuid,
        group: LedgerGroup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<LedgerLine>>> + Send;
    fn ledger_totals(&self, org_id: Uuid) -> impl Future<Output = Result<LedgerTotals>> + Send;
    /// The ledger's entries, oldest first.
    fn ledger_entries(
        &self,
        org_id: Uuid,
        filter: &LedgerFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<LedgerEntry>>> + Send;
    /// Reservations whose reserve ≠ settle + release (there should be none).
    fn unbalanced_reservations(
        &self,
        org_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Uuid>>> + Send;
}
