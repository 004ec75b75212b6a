//! The storage contract for the token economy: budgets, reservations against
//! them, and the append-only ledger.
//!
//! The guarantees live here, in single transactions:
//! - a reservation raises the use of every budget that applies to the call
//!   by the call's worst case with a conditional upsert, so a hard budget
//!   cannot be passed however many calls (or processes) reserve at once;
//! - a reservation is settled exactly once (a unique index makes a second
//!   settle fail), writing `settle` for the actual use and `release` for the
//!   rest, so reserve = settle + release for every reservation.
//!
//! What a call may cost, which budgets hold it, when one refuses or warns
//! and how a reservation settles are `tutti_domain::labour::budget`'s rules;
//! the reservation algorithm that applies them exists once
//! (`shared/ledger.rs`), for runs and gateway calls, on both backends.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::labour::{
    Budget, BudgetPeriod, BudgetScope, BudgetState, LedgerEntry, LedgerGroup, LedgerKind, Prices,
    Tokens,
};
use uuid::Uuid;

use crate::{Ctx, Page, PageRequest, Result};

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

/// What a call is charged to.
#[derive(Debug, Clone)]
pub struct Charge {
    pub worker_id: Uuid,
    pub run_id: Option<Uuid>,
    /// The work item the call serves (an external agent's gateway call for
    /// its run): its team's, objective's and key result's budgets hold it.
    pub work_item_id: Option<Uuid>,
    pub route_provider: String,
    pub route_model: String,
    pub prices: Prices,
    /// An upper bound of the prompt's tokens.
    pub input_tokens: i64,
    /// The most tokens the call may generate; the call is capped to it.
    pub max_output_tokens: i64,
    /// How long the reservation may stay open before it is presumed abandoned.
    pub expires_at: DateTime<Utc>,
    /// The process making the call (its engine node's name): once it stops
    /// announcing itself, its open reservations are settled without waiting
    /// for `expires_at`.
    pub holder: Option<String>,
}

/// A reservation held against budgets until settled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reservation {
    pub id: Uuid,
    pub reserved: Tokens,
    pub cost: i64,
}

/// A reservation not yet settled: a call in flight, or one a lost process
/// left to recovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct OpenReservation {
    pub id: Uuid,
    pub worker_id: Uuid,
    pub run_id: Option<Uuid>,
    /// The process making the call, when it runs an engine.
    pub holder: Option<String>,
    pub opened_at: DateTime<Utc>,
    /// When recovery settles it if its holder is still alive by then.
    pub expires_at: DateTime<Utc>,
}

/// The ledger's column a summary groups by.
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
    pub kind: Option<LedgerKind>,
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

/// Budgets, reservations and the ledger. Errors as [`crate::Store`] says;
/// a hard budget without room for a call is `BudgetRefused`, naming it.
pub trait Ledger: Clone + Send + Sync + 'static {
    /// `Invalid` for a budget that breaks `Budget::check` or whose scope
    /// names nothing of the org.
    fn create_budget(
        &self,
        ctx: &Ctx,
        budget: NewBudget,
    ) -> impl Future<Output = Result<Budget>> + Send;
    /// `NotFound` for a budget of another org; `Invalid` as for creating.
    fn update_budget(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: BudgetPatch,
    ) -> impl Future<Output = Result<Budget>> + Send;
    /// Deletes a budget and its use; the ledger keeps every entry.
    /// `Conflict` while a call it holds a reservation for is still open.
    fn delete_budget(&self, ctx: &Ctx, id: Uuid) -> impl Future<Output = Result<()>> + Send;
    /// `NotFound` for a budget of another org.
    fn budget(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Budget>> + Send;
    /// Every budget with its use in the window that contains `now`.
    fn budgets(
        &self,
        org_id: Uuid,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<BudgetState>>> + Send;

    /// Reserves a gateway call's worst case against every budget that
    /// applies (charged to the worker's first team). `BudgetRefused` names
    /// the budget without room; `Invalid` for a call that may generate
    /// nothing.
    fn reserve(
        &self,
        ctx: &Ctx,
        charge: Charge,
    ) -> impl Future<Output = Result<Reservation>> + Send;
    /// Settles a reservation to the actual use (capped to what was
    /// reserved) and releases the rest; returns what was settled.
    /// `Conflict` for a reservation already settled (or of another org).
    fn settle(
        &self,
        ctx: &Ctx,
        reservation_id: Uuid,
        used: Tokens,
    ) -> impl Future<Output = Result<Tokens>> + Send;

    /// Settled use in `[from, to)`, grouped.
    fn ledger_summary(
        &self,
        org_id: Uuid,
        group: LedgerGroup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<LedgerLine>>> + Send;
    /// Reserved, settled and released totals, and how many reservations are open.
    fn ledger_totals(&self, org_id: Uuid) -> impl Future<Output = Result<LedgerTotals>> + Send;
    /// The ledger's entries, oldest first.
    fn ledger_entries(
        &self,
        org_id: Uuid,
        filter: &LedgerFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<LedgerEntry>>> + Send;
    /// Reservations whose entries do not add up (there should be none): not
    /// exactly one reserve, or once closed not exactly one settle and one
    /// release with reserve = settle + release, or entries that disagree
    /// with the reservation being open or closed. An open reservation (a
    /// call in flight, or one awaiting recovery) is not unbalanced.
    fn unbalanced_reservations(
        &self,
        org_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Uuid>>> + Send;
    /// The org's open reservations, oldest first.
    fn open_reservations(
        &self,
        org_id: Uuid,
    ) -> impl Future<Output = Result<Vec<OpenReservation>>> + Send;
}
