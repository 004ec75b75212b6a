//! The storage contract for routines: planned, recurring work, and the
//! record of each time one fell due.
//!
//! - Firing is `tutti_domain::routine`'s rule (`Routine::fire`), applied
//!   here to the routine as it stands under its row lock, with the org's
//!   zone and the owner's rights read in the same transaction. The work it
//!   makes, its runs, the occurrences (keyed by routine and instant) and the
//!   audit events commit together or not at all: two nodes firing at once
//!   serialise on the lock, and the second finds nothing left to do.
//! - References (team, assignee, key result, service product) are checked
//!   to exist in the org; a reactive service product is refused, naming it.

use std::future::Future;

use chrono::{DateTime, Utc};
use tutti_domain::RuleResult;
use tutti_domain::routine::{CatchUp, Occurrence, Routine, Schedule};
use tutti_domain::work::{Priority, WorkItem};
use uuid::Uuid;

use crate::{Ctx, Page, PageRequest, Result};

#[derive(Debug, Clone)]
pub struct NewRoutine {
    pub name: String,
    pub description: String,
    pub customer: String,
    /// Checked (`Schedule::checked`).
    pub schedule: Schedule,
    /// An IANA zone, checked; `None` for the org's.
    pub time_zone: Option<String>,
    pub catch_up: CatchUp,
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub key_result_id: Option<Uuid>,
    pub service_product_id: Option<Uuid>,
    pub priority: Priority,
    pub paused: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RoutinePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub customer: Option<String>,
    /// Checked. A new schedule starts from now: nothing before is made.
    pub schedule: Option<Schedule>,
    pub time_zone: Option<Option<String>>,
    pub catch_up: Option<CatchUp>,
    pub team_id: Option<Option<Uuid>>,
    pub assignee_id: Option<Option<Uuid>>,
    pub key_result_id: Option<Option<Uuid>>,
    pub service_product_id: Option<Option<Uuid>>,
    pub priority: Option<Priority>,
    /// Pausing stops it; resuming does not catch up the pause.
    pub paused: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct RoutineFilter {
    pub service_product_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
}

/// What one firing did.
#[derive(Debug, Clone)]
pub struct Fired {
    pub routine: Routine,
    pub created: Vec<WorkItem>,
    pub skipped: usize,
}

/// Who may change a routine, asked of it as it stands inside the
/// transaction that changes it.
pub type MayChangeRoutine<'a> = &'a (dyn Fn(&Routine, &RoutinePatch) -> RuleResult<()> + Sync);

/// Routines. Errors as [`crate::Store`] says.
pub trait Routines: Clone + Send + Sync + 'static {
    /// Creates a routine owned by the context's actor. It makes nothing for
    /// the time before it was made. `Invalid` for a reference outside the
    /// org or a reactive service product.
    fn create_routine(
        &self,
        ctx: &Ctx,
        new: NewRoutine,
    ) -> impl Future<Output = Result<Routine>> + Send;
    /// `NotFound` for a routine of another org.
    fn routine(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Routine>> + Send;
    /// The org's routines that match `filter`, oldest first.
    fn routines(
        &self,
        org_id: Uuid,
        filter: &RoutineFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Routine>>> + Send;
    /// Applies a patch once `may` allows it for the routine as it stands.
    fn update_routine(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: RoutinePatch,
        may: MayChangeRoutine<'_>,
    ) -> impl Future<Output = Result<Routine>> + Send;
    /// A routine's occurrences, latest first, at most `limit`.
    fn occurrences(
        &self,
        org_id: Uuid,
        routine_id: Uuid,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Occurrence>>> + Send;
    /// Routines of any org whose next occurrence is due by `now`, soonest
    /// first: (org, routine).
    fn due_routines(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(Uuid, Uuid)>>> + Send;
    /// Fires a routine at `now` under its lock, as `Routine::fire` says;
    /// `None` when nothing was due any more (another node was first).
    fn fire_routine(
        &self,
        org_id: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Fired>>> + Send;
}
