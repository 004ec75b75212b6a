//! The storage contract for the cockpit's figures: aggregates over work and
//! the ledger that its charts and cards are drawn from. Reads only.

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::labour::LedgerGroup;
use tutti_domain::work::WorkState;
use uuid::Uuid;

use crate::Result;

/// The flow of work, for the cockpit's chart and figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkFlow {
    pub by_state: Vec<(WorkState, i64)>,
    /// Work not done or cancelled, split by kind.
    pub planned_open: i64,
    pub unplanned_open: i64,
    /// Items that reached `done` per week (Monday of the week), oldest first.
    pub done_per_week: Vec<(NaiveDate, i64)>,
}

/// Work that sits in `blocked`, and since when.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BlockedWork {
    pub id: Uuid,
    pub title: String,
    pub since: DateTime<Utc>,
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
}

/// Settled cost and tokens of one group on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpendPoint {
    pub day: NaiveDate,
    pub key: Option<String>,
    pub cost: i64,
    pub tokens: i64,
}

/// Whose arrived work to count: a team's, a service product's, both, or
/// (by default) the whole org's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadScope {
    pub team_id: Option<Uuid>,
    pub service_product_id: Option<Uuid>,
}

/// The cockpit's aggregates. Errors as [`crate::Store`] says.
pub trait Figures: Clone + Send + Sync + 'static {
    /// Work by state, open work by kind, and throughput of the last `weeks`.
    fn work_flow(
        &self,
        org_id: Uuid,
        now: DateTime<Utc>,
        weeks: u32,
    ) -> impl Future<Output = Result<WorkFlow>> + Send;
    /// Work blocked since before `before`, longest first, at most `limit`.
    fn blocked_work(
        &self,
        org_id: Uuid,
        before: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<BlockedWork>>> + Send;
    /// The work that arrived (was created) in each of the last `weeks`
    /// ISO weeks up to `now`, planned and unplanned, oldest first; only
    /// the team's and the service product's `scope` names. Every week is
    /// there, empty ones too.
    fn load_by_week(
        &self,
        org_id: Uuid,
        now: DateTime<Utc>,
        weeks: u32,
        scope: LoadScope,
    ) -> impl Future<Output = Result<Vec<tutti_domain::service::WeekLoad>>> + Send;
    /// Settled use per day and group in `[from, to)`.
    fn spend_by_day(
        &self,
        org_id: Uuid,
        group: LedgerGroup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<SpendPoint>>> + Send;
}
