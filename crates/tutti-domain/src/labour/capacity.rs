//! Elastic capacity: how much AI work runs at once, and how long work waits.
//!
//! Each AI worker runs at most its `concurrency` runs at once
//! (`org::check_concurrency`); an org may also cap all its workers together
//! ([`check_org_cap`]), across every process. The claim takes the oldest
//! queued run of any worker with room ([`has_room`]), so a worker at its limit
//! never holds back the others' work.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::validate::{Invalid, ValidationResult};

/// The highest org-wide cap: beyond it, the cap is no cap.
pub const ORG_CAP_MAX: i64 = 1024;

/// An org's cap on AI runs running at once: none, or 1 to [`ORG_CAP_MAX`].
pub fn check_org_cap(cap: Option<i64>) -> ValidationResult<Option<i64>> {
    match cap {
        Some(n) if !(1..=ORG_CAP_MAX).contains(&n) => Err(Invalid::new(
            "ai_concurrency",
            format!("must be between 1 and {ORG_CAP_MAX}, or null for no cap"),
        )),
        cap => Ok(cap),
    }
}

/// Whether a worker with `running` of its `concurrency` runs going, in an
/// org with `org_running` runs going under `org_cap`, may start one more.
pub fn has_room(running: i64, concurrency: i64, org_running: i64, org_cap: Option<i64>) -> bool {
    running < concurrency && org_cap.is_none_or(|cap| org_running < cap)
}

/// An AI worker's queue as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkerQueue {
    pub worker_id: Uuid,
    pub name: String,
    pub external: bool,
    pub concurrency: i64,
    pub running: i64,
    pub queued: i64,
    /// How long the oldest queued run has waited, in seconds.
    pub oldest_wait_secs: Option<i64>,
    /// The mean wait from queued to started of the runs started in the last
    /// [`WAIT_WINDOW_DAYS`] days, in seconds; none when none started.
    pub mean_wait_secs: Option<i64>,
    /// How many runs started in that window.
    pub started: i64,
}

/// How far back the mean wait looks.
pub const WAIT_WINDOW_DAYS: i64 = 7;

/// The org's AI capacity: its cap, what runs, and each worker's queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Capacity {
    pub ai_concurrency: Option<i64>,
    pub running: i64,
    pub queued: i64,
    pub workers: Vec<WorkerQueue>,
}

/// The mean of the waits from queued to started, in whole seconds.
pub fn mean_wait(runs: &[(DateTime<Utc>, DateTime<Utc>)]) -> Option<i64> {
    if runs.is_empty() {
        return None;
    }
    let total: i64 = runs
        .iter()
        .map(|(queued, started)| (*started - *queued).num_seconds().max(0))
        .sum();
    Some(total / runs.len() as i64)
}

/// How long the oldest queued run has waited at `now`, in seconds.
pub fn oldest_wait(oldest_queued: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<i64> {
    oldest_queued.map(|at| (now - at).num_seconds().max(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    #[test]
    fn the_cap_is_none_or_in_range() {
        assert_eq!(check_org_cap(None), Ok(None));
        assert_eq!(check_org_cap(Some(4)), Ok(Some(4)));
        for bad in [0, -1, ORG_CAP_MAX + 1] {
            assert!(check_org_cap(Some(bad)).is_err_and(|e| e.field == "ai_concurrency"));
        }
    }

    #[test]
    fn room_needs_both_the_worker_and_the_org_below_their_limits() {
        assert!(has_room(1, 2, 3, None));
        assert!(!has_room(2, 2, 3, None));
        assert!(has_room(0, 2, 3, Some(4)));
        assert!(!has_room(0, 2, 4, Some(4)));
    }

    #[test]
    fn waits_are_measured_from_queued_to_started() {
        let t = DateTime::<Utc>::MIN_UTC + Duration::days(1);
        let runs = [
            (t, t + Duration::seconds(10)),
            (t, t + Duration::seconds(31)),
        ];
        assert_eq!(mean_wait(&runs), Some(20));
        assert_eq!(mean_wait(&[]), None);
        assert_eq!(oldest_wait(Some(t), t + Duration::minutes(2)), Some(120));
    }
}
