//! Reviews: a person's verdict on an AI worker's result, and what it does to
//! the work.
//!
//! Only a finished run that is its item's latest iteration, with the item
//! waiting in review, can be reviewed, and only once. `accept` closes the
//! item, `revise` sends it back with feedback for the next iteration, and
//! `reject` hands it back unassigned. Who may review is `access`'s.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Run, RunStatus};
use crate::refused::{Refused, RuleResult};
use crate::text_enum;
use crate::validate::{BODY_MAX, Invalid, ValidationResult, optional_text};
use crate::work::WorkState;

text_enum! {
    /// A person's verdict on a run.
    Verdict { Accept => "accept", Revise => "revise", Reject => "reject" }
}

/// Where a verdict moves the work item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemMove {
    pub to: WorkState,
    /// The item goes back unassigned.
    pub unassign: bool,
}

impl Verdict {
    /// `accept` closes the item; `revise` makes it ready for the next
    /// iteration in the same hands; `reject` makes it ready for someone else.
    pub fn item_move(self) -> ItemMove {
        let (to, unassign) = match self {
            Verdict::Accept => (WorkState::Done, false),
            Verdict::Revise => (WorkState::Ready, false),
            Verdict::Reject => (WorkState::Ready, true),
        };
        ItemMove { to, unassign }
    }
}

/// A review's rating of a result: 1 (poor) to 5 (excellent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rating(i64);

impl Rating {
    /// The ratings there are.
    pub const RANGE: std::ops::RangeInclusive<i64> = 1..=5;

    pub fn parse(value: i64) -> ValidationResult<Self> {
        if Self::RANGE.contains(&value) {
            Ok(Self(value))
        } else {
            Err(Invalid::new("rating", "must be between 1 and 5"))
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// A verdict as a person gives it, checked: its rating is 1–5 and a
/// revision says what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReview {
    pub verdict: Verdict,
    pub feedback: String,
    pub rating: Rating,
}

impl NewReview {
    pub fn parse(verdict: Verdict, feedback: &str, rating: i64) -> ValidationResult<Self> {
        let rating = Rating::parse(rating)?;
        let feedback = optional_text("feedback", feedback, BODY_MAX)?;
        if verdict == Verdict::Revise && feedback.is_empty() {
            return Err(Invalid::new(
                "feedback",
                "a revision needs feedback that says what to change",
            ));
        }
        Ok(Self {
            verdict,
            feedback,
            rating,
        })
    }
}

/// Whether `run` can be reviewed now: it succeeded, it is its item's latest
/// iteration (`latest_iteration`), and the item waits in review.
pub fn check_reviewable(run: &Run, latest_iteration: i64, item_state: WorkState) -> RuleResult<()> {
    if run.status != RunStatus::Succeeded {
        return Err(Refused::conflict(format!(
            "the run is {}; only a finished (succeeded) run can be reviewed",
            run.status
        )));
    }
    if latest_iteration != run.iteration {
        return Err(Refused::conflict(
            "a later iteration of this item exists; review that one",
        ));
    }
    if item_state != WorkState::InReview {
        return Err(Refused::conflict(format!(
            "the item is {item_state}, not in_review"
        )));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Review {
    pub id: Uuid,
    pub run_id: Uuid,
    pub work_item_id: Uuid,
    pub worker_id: Uuid,
    pub reviewer_id: Uuid,
    pub verdict: Verdict,
    pub feedback: String,
    pub rating: i64,
    pub created_at: DateTime<Utc>,
}

/// How a worker's results fare in review.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReviewStats {
    pub reviews: i64,
    pub accepted: i64,
    pub revised: i64,
    pub rejected: i64,
    pub accept_rate: Option<f64>,
    pub revise_rate: Option<f64>,
    pub reject_rate: Option<f64>,
    pub mean_rating: Option<f64>,
}

impl ReviewStats {
    pub fn from_counts(accepted: i64, revised: i64, rejected: i64, rating_sum: i64) -> Self {
        let reviews = accepted + revised + rejected;
        let share = |n: i64| (reviews > 0).then(|| n as f64 / reviews as f64);
        Self {
            reviews,
            accepted,
            revised,
            rejected,
            accept_rate: share(accepted),
            revise_rate: share(revised),
            reject_rate: share(rejected),
            mean_rating: (reviews > 0).then(|| rating_sum as f64 / reviews as f64),
        }
    }
}

impl ReviewStats {
    /// Settled spend per accepted result, rounded down; none before the
    /// first acceptance.
    pub fn cost_per_accepted(&self, spent: i64) -> Option<i64> {
        (self.accepted > 0).then(|| spent / self.accepted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labour::{MaxTokens, Tokens};
    use crate::org::{Member, MemberKind, Role};

    fn finished_run(iteration: i64) -> Run {
        let worker = Member {
            id: Uuid::from_u128(5),
            kind: MemberKind::Ai,
            name: "Ada".into(),
            email: None,
            role: Role::Member,
            teams: vec![],
            role_card: None,
            provider: None,
            model: None,
            concurrency: 2,
            external: false,
            created_at: DateTime::<Utc>::MIN_UTC,
        };
        let mut run = Run::queued(
            Uuid::from_u128(3),
            Uuid::from_u128(9),
            &worker,
            iteration,
            String::new(),
            MaxTokens::default(),
            DateTime::<Utc>::MIN_UTC,
        );
        run.end(
            RunStatus::Succeeded,
            "Fertig".into(),
            None,
            Tokens::default(),
            0,
            DateTime::<Utc>::MIN_UTC,
        );
        run
    }

    #[test]
    fn accept_closes_revise_keeps_reject_hands_back_unassigned() {
        assert_eq!(
            Verdict::Accept.item_move(),
            ItemMove {
                to: WorkState::Done,
                unassign: false
            }
        );
        assert_eq!(
            Verdict::Revise.item_move(),
            ItemMove {
                to: WorkState::Ready,
                unassign: false
            }
        );
        assert_eq!(
            Verdict::Reject.item_move(),
            ItemMove {
                to: WorkState::Ready,
                unassign: true
            }
        );
    }

    #[test]
    fn a_review_is_rated_one_to_five_and_a_revision_says_what_to_change() {
        assert!(NewReview::parse(Verdict::Accept, "", 5).is_ok());
        for rating in [0, 6, -3] {
            assert!(
                NewReview::parse(Verdict::Accept, "", rating).is_err_and(|e| e.field == "rating")
            );
        }
        assert!(NewReview::parse(Verdict::Revise, "  ", 3).is_err_and(|e| e.field == "feedback"));
        let revise = NewReview::parse(Verdict::Revise, " Bitte mit Zeitfenster ", 3);
        assert_eq!(
            revise.map(|r| r.feedback),
            Ok("Bitte mit Zeitfenster".to_owned())
        );
    }

    #[test]
    fn only_the_latest_finished_run_of_work_in_review_is_reviewed() {
        let run = finished_run(2);
        assert_eq!(check_reviewable(&run, 2, WorkState::InReview), Ok(()));
        let conflict = |r: RuleResult<()>| matches!(r, Err(Refused::Conflict(_)));
        assert!(
            conflict(check_reviewable(&run, 3, WorkState::InReview)),
            "a later iteration exists"
        );
        assert!(
            conflict(check_reviewable(&run, 2, WorkState::Done)),
            "not in review"
        );
        let running = Run {
            status: RunStatus::Running,
            ..run
        };
        assert!(conflict(check_reviewable(&running, 2, WorkState::InReview)));
    }

    #[test]
    fn cost_per_accepted_result_needs_an_acceptance() {
        let stats = ReviewStats::from_counts(4, 1, 0, 20);
        assert_eq!(stats.cost_per_accepted(1_000), Some(250));
        assert_eq!(
            ReviewStats::from_counts(0, 2, 1, 6).cost_per_accepted(1_000),
            None
        );
    }
}
