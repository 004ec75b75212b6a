//! Use cases of routines: planned, recurring work.
//!
//! People make, change, pause and resume routines with the rights they have
//! over the work the routine makes (`tutti_domain::routine::may_plan`). The
//! engine fires the routines that fell due: each under its lock in one
//! store transaction, as `Routine::fire` says, so an occurrence is made
//! once however many nodes tick, and the AI worker's runs it queues wake the
//! runtime.

use chrono::{DateTime, Utc};
use tutti_domain::RuleResult;
use tutti_domain::access::{Action, Actor};
use tutti_domain::routine::{Occurrence, Routine, Tz, may_plan, parse_time_zone};
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewRoutine, RoutinePatch};
use uuid::Uuid;

use crate::{EngineResult, Runtime};

/// How many routines one tick fires at most; the rest wait for the next.
const FIRE_BATCH: i64 = 50;

/// Makes a routine. Its schedule and zone are checked; it makes nothing for
/// the time before it was made.
pub async fn create<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    mut new: NewRoutine,
) -> EngineResult<Routine> {
    may_plan(actor, new.team_id, new.assignee_id)?;
    new.schedule = new.schedule.checked()?;
    if let Some(zone) = &new.time_zone {
        new.time_zone = Some(parse_time_zone("time_zone", zone)?.name().to_owned());
    }
    Ok(store.create_routine(ctx, new).await?)
}

/// Whether `actor` may apply `patch` to `routine` as it stands: change the
/// work it makes now, and make it for whom the patch names.
pub fn may_change(actor: &Actor, routine: &Routine, patch: &RoutinePatch) -> RuleResult<()> {
    actor.may(Action::UpdateWork {
        team_id: routine.team_id,
        assignee_id: routine.assignee_id,
        created_by: routine.owner_id,
    })?;
    may_plan(
        actor,
        patch.team_id.unwrap_or(routine.team_id),
        patch.assignee_id.unwrap_or(routine.assignee_id),
    )
}

/// Changes, pauses or resumes a routine.
pub async fn update<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
    mut patch: RoutinePatch,
) -> EngineResult<Routine> {
    if let Some(schedule) = patch.schedule.take() {
        patch.schedule = Some(schedule.checked()?);
    }
    if let Some(Some(zone)) = &patch.time_zone {
        patch.time_zone = Some(Some(parse_time_zone("time_zone", zone)?.name().to_owned()));
    }
    let may = |routine: &Routine, patch: &RoutinePatch| may_change(actor, routine, patch);
    Ok(store.update_routine(ctx, id, patch, &may).await?)
}

/// How many coming occurrences a routine's page shows.
pub const UPCOMING: usize = 5;

/// A routine as its page shows it: its latest occurrences (made and
/// skipped), the next ones it will make, and the zone they are read in.
#[derive(Debug, Clone)]
pub struct RoutineOverview {
    pub routine: Routine,
    pub occurrences: Vec<Occurrence>,
    pub upcoming: Vec<DateTime<Utc>>,
    pub zone: Tz,
}

/// A routine with its latest `limit` occurrences and the next
/// [`UPCOMING`] ones, for whoever may read the org.
pub async fn overview<S: Store>(
    store: &S,
    org_id: Uuid,
    id: Uuid,
    limit: i64,
    now: DateTime<Utc>,
) -> EngineResult<RoutineOverview> {
    let routine = store.routine(org_id, id).await?;
    let occurrences = store.occurrences(org_id, id, limit).await?;
    let org_zone = store.org(org_id).await?.zone();
    let zone = routine.zone(org_zone);
    Ok(RoutineOverview {
        upcoming: upcoming(&routine, zone, now),
        routine,
        occurrences,
        zone,
    })
}

/// The next [`UPCOMING`] occurrences a routine will make after `now`;
/// none while it is paused.
pub fn upcoming(routine: &Routine, zone: Tz, now: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    if routine.paused {
        return Vec::new();
    }
    let mut next = Vec::with_capacity(UPCOMING);
    let mut after = routine.handled_until.max(now);
    while next.len() < UPCOMING {
        let Some(at) = routine.schedule.next_after(zone, after) else {
            break;
        };
        next.push(at);
        after = at;
    }
    next
}

/// Fires every routine due by `now`, each in its own transaction; wakes
/// the runtime when work reached an AI worker's queue. Returns how many
/// work items were made.
pub async fn fire_due<S: Store>(
    store: &S,
    runtime: &Runtime,
    now: DateTime<Utc>,
) -> EngineResult<usize> {
    let mut made = 0;
    for (org_id, id) in store.due_routines(now, FIRE_BATCH).await? {
        match store.fire_routine(org_id, id, now).await {
            Ok(Some(fired)) => {
                if fired.skipped > 0 {
                    tracing::info!(routine = %id, skipped = fired.skipped, "routine skipped occurrences");
                }
                made += fired.created.len();
            }
            Ok(None) => {}
            // One broken routine must not hold the others.
            Err(e) => tracing::warn!(routine = %id, "cannot fire routine: {e}"),
        }
    }
    if made > 0 {
        runtime.wake();
    }
    Ok(made)
}
