//! What each person and AI worker carries, and when it is too much: the
//! rules behind the workload view ("was hängt und wo Ressourcen fehlen").
//!
//! A person is overloaded by too much open work or too much of it overdue;
//! an AI worker by a queue of runs long against the runs it may do at once.
//! The limits are the org's (`LoadLimits`, checked by `check_limits`). Who
//! could take new work: the team's members of the asked kind who are not
//! overloaded, those with the most room first.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::org::MemberKind;
use crate::validate::{Invalid, ValidationResult};

/// What one member carries now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Carried {
    pub member_id: Uuid,
    pub name: String,
    pub kind: MemberKind,
    /// Work in their hands by state: backlog, ready, running, in review.
    pub backlog: u32,
    pub ready: u32,
    pub running: u32,
    pub in_review: u32,
    pub blocked: u32,
    /// Open work due within the next week, and open work past its due date.
    pub due_soon: u32,
    pub overdue: u32,
    /// Decisions assigned to them that wait for a vote.
    pub decisions_waiting: u32,
    /// Runs that wait for their review.
    pub reviews_waiting: u32,
    /// An AI worker's runs queued and running, against how many it may run
    /// at once.
    pub runs_queued: u32,
    pub concurrency: u32,
}

impl Carried {
    /// Open work: everything in their hands that is not done or cancelled.
    pub fn open(&self) -> u32 {
        self.backlog + self.ready + self.running + self.in_review + self.blocked
    }
}

/// When a member counts as overloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoadLimits {
    /// A person with more open work than this.
    pub open: u32,
    /// A person with more overdue work than this.
    pub overdue: u32,
    /// An AI worker with more queued runs than this many per run it may do
    /// at once.
    pub queue_per_slot: u32,
}

impl Default for LoadLimits {
    fn default() -> Self {
        Self {
            open: 8,
            overdue: 2,
            queue_per_slot: 3,
        }
    }
}

/// Limits that mean something: open work 1–100, overdue 0–50, a queue of
/// 1–20 runs per slot.
pub fn check_limits(limits: LoadLimits) -> ValidationResult<LoadLimits> {
    let within = |field: &str, value: u32, low: u32, high: u32| {
        if (low..=high).contains(&value) {
            Ok(())
        } else {
            Err(Invalid::new(field, format!("between {low} and {high}")))
        }
    };
    within("open", limits.open, 1, 100)?;
    within("overdue", limits.overdue, 0, 50)?;
    within("queue_per_slot", limits.queue_per_slot, 1, 20)?;
    Ok(limits)
}

/// Why a member is overloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Overload {
    OpenWork { open: u32, limit: u32 },
    Overdue { overdue: u32, limit: u32 },
    LongQueue { queued: u32, slots: u32 },
}

/// Every way `carried` exceeds `limits`; none when the load is fine.
pub fn overloads(carried: &Carried, limits: LoadLimits) -> Vec<Overload> {
    let mut found = Vec::new();
    match carried.kind {
        MemberKind::Human => {
            if carried.open() > limits.open {
                found.push(Overload::OpenWork {
                    open: carried.open(),
                    limit: limits.open,
                });
            }
            if carried.overdue > limits.overdue {
                found.push(Overload::Overdue {
                    overdue: carried.overdue,
                    limit: limits.overdue,
                });
            }
        }
        MemberKind::Ai => {
            let slots = carried.concurrency.max(1);
            if carried.runs_queued > slots.saturating_mul(limits.queue_per_slot) {
                found.push(Overload::LongQueue {
                    queued: carried.runs_queued,
                    slots,
                });
            }
        }
    }
    found
}

/// The share of their limit a member uses, 0 and up (1 is at the limit):
/// open work against the open limit for a person, queued runs against what
/// its slots allow for an AI worker.
pub fn used_share(carried: &Carried, limits: LoadLimits) -> f64 {
    match carried.kind {
        MemberKind::Human => f64::from(carried.open()) / f64::from(limits.open.max(1)),
        MemberKind::Ai => {
            f64::from(carried.runs_queued)
                / f64::from(carried.concurrency.max(1) * limits.queue_per_slot.max(1))
        }
    }
}

/// Who could take new work: members of `kind` (any when `None`) who are
/// not overloaded, most room first (then by name).
pub fn who_could_take(
    members: &[Carried],
    kind: Option<MemberKind>,
    limits: LoadLimits,
) -> Vec<Uuid> {
    let mut free: Vec<&Carried> = members
        .iter()
        .filter(|c| kind.is_none_or(|k| c.kind == k))
        .filter(|c| overloads(c, limits).is_empty())
        .collect();
    free.sort_by(|a, b| {
        used_share(a, limits)
            .total_cmp(&used_share(b, limits))
            .then_with(|| a.name.cmp(&b.name))
    });
    free.into_iter().map(|c| c.member_id).collect()
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn person(id: u128, name: &str, open: u32, overdue: u32) -> Carried {
        Carried {
            member_id: Uuid::from_u128(id),
            name: name.into(),
            kind: MemberKind::Human,
            backlog: 0,
            ready: open,
            running: 0,
            in_review: 0,
            blocked: 0,
            due_soon: 0,
            overdue,
            decisions_waiting: 0,
            reviews_waiting: 0,
            runs_queued: 0,
            concurrency: 2,
        }
    }

    fn worker(id: u128, queued: u32, concurrency: u32) -> Carried {
        Carried {
            kind: MemberKind::Ai,
            runs_queued: queued,
            concurrency,
            ready: 0,
            ..person(id, "Emil", 0, 0)
        }
    }

    #[test]
    fn a_person_is_overloaded_by_open_or_overdue_work() {
        let limits = LoadLimits::default();
        assert!(overloads(&person(1, "Jonas", 8, 2), limits).is_empty());
        assert_eq!(
            overloads(&person(1, "Jonas", 9, 3), limits),
            [
                Overload::OpenWork { open: 9, limit: 8 },
                Overload::Overdue {
                    overdue: 3,
                    limit: 2
                }
            ]
        );
    }

    #[test]
    fn an_ai_worker_is_overloaded_by_a_long_queue_for_its_slots() {
        let limits = LoadLimits::default();
        assert!(overloads(&worker(1, 6, 2), limits).is_empty());
        assert_eq!(
            overloads(&worker(1, 7, 2), limits),
            [Overload::LongQueue {
                queued: 7,
                slots: 2
            }]
        );
    }

    #[test]
    fn the_freest_of_the_asked_kind_come_first() {
        let members = [
            person(1, "Jonas", 9, 0),
            person(2, "Lea", 5, 0),
            person(3, "Mehmet", 1, 0),
            worker(4, 0, 2),
        ];
        let limits = LoadLimits::default();
        let people = who_could_take(&members, Some(MemberKind::Human), limits);
        assert_eq!(
            people,
            [Uuid::from_u128(3), Uuid::from_u128(2)],
            "Jonas is overloaded"
        );
        assert_eq!(
            who_could_take(&members, None, limits)[0],
            Uuid::from_u128(4)
        );
    }

    #[test]
    fn limits_must_mean_something() {
        assert!(check_limits(LoadLimits::default()).is_ok());
        let bad = LoadLimits {
            open: 0,
            ..LoadLimits::default()
        };
        assert_eq!(check_limits(bad).unwrap_err().field, "open");
    }

    proptest! {
        /// Nobody suggested to take work is overloaded, everyone suggested
        /// is of the asked kind, and the suggestions go from most room to
        /// least.
        #[test]
        fn suggestions_are_never_overloaded_and_freest_first(
            loads in proptest::collection::vec((0u32..20, 0u32..6, 0u32..15, 1u32..4, any::<bool>()), 0..12),
        ) {
            let limits = LoadLimits::default();
            let members: Vec<Carried> = loads.iter().enumerate().map(|(i, (open, overdue, queued, slots, ai))| {
                if *ai { worker(i as u128, *queued, *slots) } else { person(i as u128, "P", *open, *overdue) }
            }).collect();
            for kind in [None, Some(MemberKind::Human), Some(MemberKind::Ai)] {
                let chosen = who_could_take(&members, kind, limits);
                let shares: Vec<f64> = chosen.iter().map(|id| {
                    let c = members.iter().find(|m| m.member_id == *id).unwrap_or(&members[0]);
                    prop_assert!(overloads(c, limits).is_empty());
                    prop_assert!(kind.is_none_or(|k| c.kind == k));
                    Ok(used_share(c, limits))
                }).collect::<Result<_, TestCaseError>>()?;
                prop_assert!(shares.windows(2).all(|w| w[0] <= w[1]));
            }
        }
    }
}
