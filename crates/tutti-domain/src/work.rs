//! Execution: work items, their life cycle, and whether they serve a key result.
//!
//! The life cycle is `backlog → ready → running → in_review → done`, with `blocked`
//! reachable from any open state and `cancelled` ending any open item. `done` and
//! `cancelled` are final: an item that needs more work is a new item.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::refused::{Refused, RuleResult};
use crate::text_enum;
use crate::validate::{Invalid, ValidationResult};

text_enum! {
    WorkState {
        Backlog => "backlog",
        Ready => "ready",
        Running => "running",
        InReview => "in_review",
        Done => "done",
        Blocked => "blocked",
        Cancelled => "cancelled",
    }
}

text_enum! {
    /// Planned work is preventive, unplanned work is reactive; the share of the
    /// latter says how much a team is driven by events.
    WorkKind { Planned => "planned", Unplanned => "unplanned" }
}

text_enum! {
    Priority { Low => "low", Normal => "normal", High => "high", Urgent => "urgent" }
}

impl WorkState {
    pub fn is_final(self) -> bool {
        matches!(self, WorkState::Done | WorkState::Cancelled)
    }

    /// The states an item in this state may move to.
    pub fn next_states(self) -> &'static [WorkState] {
        use WorkState::*;
        match self {
            Backlog => &[Ready, Running, Blocked, Cancelled],
            Ready => &[Backlog, Running, Blocked, Cancelled],
            Running => &[Ready, InReview, Done, Blocked, Cancelled],
            InReview => &[Ready, Running, Done, Blocked, Cancelled],
            Blocked => &[Backlog, Ready, Running, Cancelled],
            Done | Cancelled => &[],
        }
    }

    /// Checks the state new work starts in: `backlog` or `ready`. Later
    /// states are reached by moving it, so every move is checked.
    pub fn check_initial(self) -> ValidationResult<WorkState> {
        match self {
            WorkState::Backlog | WorkState::Ready => Ok(self),
            _ => Err(Invalid::new("state", "new work starts in backlog or ready")),
        }
    }

    /// Checks a move; staying in the same state is not a move. A move the
    /// table does not allow conflicts with the state the item is in (the
    /// same request is fine for an item elsewhere), so it is a conflict.
    pub fn transition(self, to: WorkState) -> RuleResult<WorkState> {
        if self.next_states().contains(&to) {
            Ok(to)
        } else if self.is_final() {
            Err(Refused::conflict(format!(
                "the item is {self}, which is final; it cannot move to {to}"
            )))
        } else {
            let allowed: Vec<&str> = self.next_states().iter().map(|s| s.as_str()).collect();
            Err(Refused::conflict(format!(
                "cannot move from {self} to {to}; from {self} an item may move to {}",
                allowed.join(", ")
            )))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkItem {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub state: WorkState,
    pub kind: WorkKind,
    pub priority: Priority,
    pub due: Option<NaiveDate>,
    pub parent_id: Option<Uuid>,
    /// The key result this work serves; `None` means the work is unaligned.
    pub key_result_id: Option<Uuid>,
    /// The service product it belongs to (a maintenance under a contract,
    /// an emergency call), for the planned/unplanned share per product.
    #[serde(default)]
    pub service_product_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When it entered its current state: how long work has been blocked,
    /// and when it was done, whatever was edited since.
    pub state_since: DateTime<Utc>,
}

impl WorkItem {
    pub fn is_aligned(&self) -> bool {
        self.key_result_id.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_happy_path_is_allowed() {
        use WorkState::*;
        let path = [Backlog, Ready, Running, InReview, Done];
        for pair in path.windows(2) {
            assert!(
                pair[0].transition(pair[1]).is_ok(),
                "{} → {}",
                pair[0],
                pair[1]
            );
        }
    }

    #[test]
    fn final_states_refuse_every_move_and_say_so() {
        for from in [WorkState::Done, WorkState::Cancelled] {
            for to in WorkState::ALL {
                let err = from.transition(*to).err();
                assert!(
                    matches!(&err, Some(Refused::Conflict(message)) if message.contains("final")),
                    "{err:?}"
                );
            }
        }
    }

    #[test]
    fn new_work_starts_in_backlog_or_ready() {
        for state in WorkState::ALL {
            let allowed = matches!(state, WorkState::Backlog | WorkState::Ready);
            assert_eq!(state.check_initial().is_ok(), allowed, "{state}");
        }
    }

    #[test]
    fn skipping_review_from_backlog_is_refused() {
        let err = WorkState::Backlog.transition(WorkState::Done).err();
        assert!(
            matches!(&err, Some(Refused::Conflict(message)) if message.contains("backlog")),
            "{err:?}"
        );
    }

    proptest! {
        #[test]
        fn transitions_follow_the_table(from in prop::sample::select(WorkState::ALL), to in prop::sample::select(WorkState::ALL)) {
            let allowed = from.next_states().contains(&to);
            prop_assert_eq!(from.transition(to).is_ok(), allowed);
            // No state lists itself as a move.
            prop_assert!(!from.next_states().contains(&from));
            // Every open state can be cancelled; no final state can be left.
            prop_assert_eq!(from.is_final(), from.next_states().is_empty());
            if !from.is_final() {
                prop_assert!(from.next_states().contains(&WorkState::Cancelled));
            }
        }
    }
}
