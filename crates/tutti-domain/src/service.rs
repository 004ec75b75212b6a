//! Service quality: the service catalogue, and the promises made to
//! customers across hand-overs.
//!
//! A *service product* is what the firm sells as service ("Notdienst 24/7",
//! "Wartungsvertrag Premium"), preventive or reactive, with the service
//! levels it promises. A *promise* is what one stage told one customer
//! (a deliverable or a service level, due at a time); the stage that must
//! keep it signs it off as feasible or not — the seed's "Wer sichert ab,
//! dass diese auch eingehalten werden können?".
//!
//! A promise's life: `open → kept | broken`, and `open ⇄ paused` while the
//! firm waits on the customer. A pause moves the due time by its length, so
//! waiting on the customer never counts against the keeper. `kept` and
//! `broken` are final, so a promise is never both. An open promise is *at
//! risk* once less than a share of its whole time is left, and *overdue*
//! once its (moved) due time has passed.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::refused::{Denied, Refused, RuleResult};

pub mod flow;
pub mod learning;

use crate::text_enum;
use crate::validate::{BODY_MAX, TITLE_MAX, ValidationResult, optional_text, text};
pub use flow::*;
pub use learning::*;

/// How many service levels one product may promise.
pub const LEVELS_MAX: usize = 20;

text_enum! {
    /// Preventive service is planned and sold as such (a yearly
    /// maintenance); reactive service answers events (the emergency call).
    ServiceKind { Preventive => "preventive", Reactive => "reactive" }
}

/// A service the firm sells, with the levels it promises.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServiceProduct {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    /// Whom it is for ("Privatkunden", "Wohnungsbaugesellschaften").
    pub customer_group: String,
    pub owner_id: Option<Uuid>,
    pub kind: ServiceKind,
    /// The service levels it promises, one per line ("Reaktionszeit 4 h,
    /// 24/7").
    pub levels: Vec<String>,
    /// Raised by each accepted learning that changes the levels.
    pub version: i64,
    pub created_at: DateTime<Utc>,
}

/// A service product's texts, checked: a name, a description, a customer
/// group and at most [`LEVELS_MAX`] levels, none empty.
pub fn check_product_texts(
    name: &str,
    description: &str,
    customer_group: &str,
    levels: &[String],
) -> ValidationResult<(String, String, String, Vec<String>)> {
    let name = text("name", name, TITLE_MAX)?;
    let description = optional_text("description", description, BODY_MAX)?;
    let customer_group = optional_text("customer_group", customer_group, TITLE_MAX)?;
    if levels.len() > LEVELS_MAX {
        return Err(crate::Invalid::new(
            "levels",
            format!("{} levels; at most {LEVELS_MAX} are allowed", levels.len()),
        ));
    }
    let levels = levels
        .iter()
        .map(|l| text("levels", l, TITLE_MAX))
        .collect::<ValidationResult<Vec<_>>>()?;
    Ok((name, description, customer_group, levels))
}

text_enum! {
    PromiseState { Open => "open", Paused => "paused", Kept => "kept", Broken => "broken" }
}

impl PromiseState {
    /// Kept and broken promises stay as they are.
    pub fn is_final(self) -> bool {
        matches!(self, PromiseState::Kept | PromiseState::Broken)
    }
}

text_enum! {
    /// The keeping stage's word on a promise: not yet given, feasible, or
    /// not feasible (with why).
    Feasibility { Pending => "pending", Feasible => "feasible", NotFeasible => "not_feasible" }
}

/// Where an open promise stands against its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PromiseHealth {
    OnTrack,
    AtRisk,
    Overdue,
    /// Paused, kept or broken: the clock is not running against it.
    Still,
}

/// When an open promise counts as at risk: less than this share of its
/// whole time left.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PromiseRiskRule {
    pub remaining_share: f64,
}

impl Default for PromiseRiskRule {
    fn default() -> Self {
        Self {
            remaining_share: 0.25,
        }
    }
}

/// A promise to a customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Promise {
    pub id: Uuid,
    /// What was promised ("Heizung läuft bis Freitag wieder").
    pub title: String,
    /// To whom ("Familie Hoffmann").
    pub customer: String,
    pub service_product_id: Option<Uuid>,
    /// The case it belongs to: a work item (an order, a request).
    pub work_item_id: Option<Uuid>,
    /// The stage that made it.
    pub made_by_team_id: Option<Uuid>,
    /// The stage that must keep it.
    pub keeper_team_id: Option<Uuid>,
    pub promised_by: Uuid,
    pub made_at: DateTime<Utc>,
    /// Due as promised; pauses move the effective due time (see
    /// [`Promise::effective_due`]).
    pub due_at: DateTime<Utc>,
    pub state: PromiseState,
    /// Set while paused.
    pub paused_since: Option<DateTime<Utc>>,
    /// The length of the pauses that ended, in seconds.
    pub paused_secs: i64,
    pub feasibility: Feasibility,
    pub feasibility_by: Option<Uuid>,
    pub feasibility_note: String,
    pub closed_at: Option<DateTime<Utc>>,
    /// Why it was broken, or what kept it; empty while open.
    pub close_note: String,
}

/// A new promise, checked: a title, a customer, due after it is made.
pub fn check_new_promise(
    title: &str,
    customer: &str,
    made_at: DateTime<Utc>,
    due_at: DateTime<Utc>,
) -> ValidationResult<(String, String)> {
    let title = text("title", title, TITLE_MAX)?;
    let customer = text("customer", customer, TITLE_MAX)?;
    if due_at <= made_at {
        return Err(crate::Invalid::new(
            "due_at",
            "must be after the promise is made",
        ));
    }
    Ok((title, customer))
}

/// What a person does to a promise.
#[derive(Debug, Clone, PartialEq)]
pub enum PromiseStep {
    /// The keeping stage says whether it can be kept.
    SignOff {
        feasible: bool,
        note: String,
    },
    /// Waiting on the customer: the clock stops.
    Pause,
    Resume,
    Keep {
        note: String,
    },
    Break {
        note: String,
    },
}

impl Promise {
    /// The due time moved by every pause, the running one up to `now`.
    pub fn effective_due(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let running = self
            .paused_since
            .map(|since| (now - since).max(Duration::zero()))
            .unwrap_or_else(Duration::zero);
        self.due_at + Duration::seconds(self.paused_secs.max(0)) + running
    }

    /// Where the promise stands at `now` under `rule`.
    pub fn health(&self, now: DateTime<Utc>, rule: PromiseRiskRule) -> PromiseHealth {
        if self.state != PromiseState::Open {
            return PromiseHealth::Still;
        }
        let due = self.effective_due(now);
        if now >= due {
            return PromiseHealth::Overdue;
        }
        let whole = (due - self.made_at).num_seconds().max(1) as f64;
        let left = (due - now).num_seconds() as f64;
        if left < rule.remaining_share * whole {
            PromiseHealth::AtRisk
        } else {
            PromiseHealth::OnTrack
        }
    }

    /// Applies `step` at `now`, or says why it cannot be taken. A final
    /// promise takes no step; a sign-off that is not feasible needs a why.
    pub fn apply(&mut self, step: PromiseStep, by: Uuid, now: DateTime<Utc>) -> RuleResult<()> {
        if self.state.is_final() {
            return Err(Refused::conflict(format!(
                "the promise is {}; it stays so",
                self.state
            )));
        }
        match step {
            PromiseStep::SignOff { feasible, note } => {
                self.may_sign_off(by)?;
                let note = optional_text("note", &note, BODY_MAX)?;
                if !feasible && note.is_empty() {
                    return Err(Refused::invalid(
                        "note",
                        "say why the promise cannot be kept",
                    ));
                }
                self.feasibility = if feasible {
                    Feasibility::Feasible
                } else {
                    Feasibility::NotFeasible
                };
                self.feasibility_by = Some(by);
                self.feasibility_note = note;
            }
            PromiseStep::Pause => {
                if self.state == PromiseState::Paused {
                    return Err(Refused::conflict("the promise is already paused"));
                }
                self.state = PromiseState::Paused;
                self.paused_since = Some(now);
            }
            PromiseStep::Resume => {
                if self.state != PromiseState::Paused {
                    return Err(Refused::conflict("only a paused promise resumes"));
                }
                self.end_pause(now);
            }
            PromiseStep::Keep { note } => {
                let note = optional_text("note", &note, BODY_MAX)?;
                self.end_pause(now);
                self.state = PromiseState::Kept;
                self.closed_at = Some(now);
                self.close_note = note;
            }
            PromiseStep::Break { note } => {
                let note = text("note", &note, BODY_MAX)
                    .map_err(|_| Refused::invalid("note", "say why the promise was broken"))?;
                self.end_pause(now);
                self.state = PromiseState::Broken;
                self.closed_at = Some(now);
                self.close_note = note;
            }
        }
        Ok(())
    }

    /// The one who made a promise does not sign it off: the stage that
    /// keeps it does.
    pub fn may_sign_off(&self, by: Uuid) -> RuleResult<()> {
        if by == self.promised_by {
            return Err(Denied(
                "the one who made a promise does not sign it off: the stage that keeps it does"
                    .into(),
            )
            .into());
        }
        Ok(())
    }

    fn end_pause(&mut self, now: DateTime<Utc>) {
        if let Some(since) = self.paused_since.take() {
            self.paused_secs += (now - since).num_seconds().max(0);
        }
        if self.state == PromiseState::Paused {
            self.state = PromiseState::Open;
        }
    }
}

/// The work that arrived in one ISO week, by kind: planned (preventive)
/// and unplanned (reactive) — the seed's "buffer for disruptions" against
/// "planned services we can sell".
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WeekLoad {
    /// The Monday the week starts on.
    pub week: chrono::NaiveDate,
    pub planned: i64,
    pub unplanned: i64,
}

impl WeekLoad {
    /// The reactive share of what arrived, `0..=1`; 0 for an empty week.
    pub fn reactive_share(&self) -> f64 {
        reactive_share(self.planned, self.unplanned)
    }
}

/// Unplanned over all work, `0..=1`; 0 when there is none.
pub fn reactive_share(planned: i64, unplanned: i64) -> f64 {
    let all = planned + unplanned;
    if all <= 0 {
        0.0
    } else {
        unplanned as f64 / all as f64
    }
}

/// How many weeks of arrived work may be asked for at once.
pub const LOAD_WEEKS: std::ops::RangeInclusive<u32> = 1..=104;

/// A number of weeks of arrived work, checked.
pub fn check_load_weeks(weeks: u32) -> ValidationResult<u32> {
    if LOAD_WEEKS.contains(&weeks) {
        Ok(weeks)
    } else {
        Err(crate::Invalid::new(
            "weeks",
            format!(
                "must be between {} and {}",
                LOAD_WEEKS.start(),
                LOAD_WEEKS.end()
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::hours(1_000_000) + Duration::hours(hours)
    }

    fn promise(made: i64, due: i64) -> Promise {
        Promise {
            id: Uuid::from_u128(1),
            title: "Heizung läuft bis Freitag".into(),
            customer: "Familie Hoffmann".into(),
            service_product_id: None,
            work_item_id: None,
            made_by_team_id: None,
            keeper_team_id: None,
            promised_by: Uuid::from_u128(2),
            made_at: at(made),
            due_at: at(due),
            state: PromiseState::Open,
            paused_since: None,
            paused_secs: 0,
            feasibility: Feasibility::Pending,
            feasibility_by: None,
            feasibility_note: String::new(),
            closed_at: None,
            close_note: String::new(),
        }
    }

    const BY: Uuid = Uuid::from_u128(3);

    #[test]
    fn a_pause_moves_the_due_time_by_its_length() {
        let mut p = promise(0, 100);
        p.apply(PromiseStep::Pause, BY, at(10)).unwrap();
        assert_eq!(p.effective_due(at(30)), at(120));
        p.apply(PromiseStep::Resume, BY, at(40)).unwrap();
        assert_eq!(p.effective_due(at(50)), at(130));
        assert_eq!(p.state, PromiseState::Open);
    }

    #[test]
    fn at_risk_when_less_than_a_quarter_is_left_and_overdue_after() {
        let p = promise(0, 100);
        let rule = PromiseRiskRule::default();
        assert_eq!(p.health(at(70), rule), PromiseHealth::OnTrack);
        assert_eq!(p.health(at(80), rule), PromiseHealth::AtRisk);
        assert_eq!(p.health(at(100), rule), PromiseHealth::Overdue);
    }

    #[test]
    fn a_broken_promise_says_why_and_a_final_one_takes_no_step() {
        let mut p = promise(0, 100);
        assert!(
            p.apply(PromiseStep::Break { note: " ".into() }, BY, at(5))
                .is_err()
        );
        assert_eq!(p.state, PromiseState::Open);
        p.apply(
            PromiseStep::Break {
                note: "Ersatzteil kam zu spät".into(),
            },
            BY,
            at(5),
        )
        .unwrap();
        assert!(
            p.apply(
                PromiseStep::Keep {
                    note: String::new()
                },
                BY,
                at(6)
            )
            .is_err()
        );
        assert_eq!(p.state, PromiseState::Broken);
    }

    #[test]
    fn not_feasible_needs_a_why_and_the_maker_never_signs_off() {
        let mut p = promise(0, 100);
        let own = p.apply(
            PromiseStep::SignOff {
                feasible: true,
                note: String::new(),
            },
            p.promised_by,
            at(1),
        );
        assert!(own.is_err());
        assert_eq!(p.feasibility, Feasibility::Pending);
        let refused = p.apply(
            PromiseStep::SignOff {
                feasible: false,
                note: String::new(),
            },
            BY,
            at(1),
        );
        assert!(refused.is_err());
        p.apply(
            PromiseStep::SignOff {
                feasible: true,
                note: String::new(),
            },
            BY,
            at(1),
        )
        .unwrap();
        assert_eq!(
            (p.feasibility, p.feasibility_by),
            (Feasibility::Feasible, Some(BY))
        );
    }

    #[test]
    fn the_reactive_share_is_a_share_and_zero_for_an_empty_week() {
        let week = |planned, unplanned| WeekLoad {
            week: chrono::NaiveDate::MIN,
            planned,
            unplanned,
        };
        assert_eq!(week(0, 0).reactive_share(), 0.0);
        assert_eq!(week(3, 1).reactive_share(), 0.25);
        assert_eq!(week(0, 5).reactive_share(), 1.0);
        assert!(check_load_weeks(0).is_err() && check_load_weeks(105).is_err());
        assert_eq!(check_load_weeks(12).unwrap(), 12);
    }

    #[test]
    fn a_promise_is_due_after_it_is_made() {
        assert!(check_new_promise("x", "y", at(5), at(5)).is_err());
        assert!(check_new_promise("x", "", at(5), at(6)).is_err());
        assert!(check_new_promise("x", "y", at(5), at(6)).is_ok());
    }

    fn step() -> impl Strategy<Value = (u8, i64)> {
        (0u8..5, 0i64..48)
    }

    proptest! {
        /// Whatever steps are taken, at any times: the effective due is
        /// never before the promised one, it moves by exactly the time spent
        /// paused, and a promise ends at most once, never both kept and
        /// broken.
        #[test]
        fn pauses_add_up_and_a_promise_ends_once(steps in proptest::collection::vec(step(), 0..20)) {
            let mut p = promise(0, 100);
            let mut now = at(0);
            let mut paused_total = 0i64;
            let mut paused_from: Option<DateTime<Utc>> = None;
            let mut ended = 0;
            for (kind, gap) in steps {
                now += Duration::hours(gap);
                let before = p.state;
                let step = match kind {
                    0 => PromiseStep::Pause,
                    1 => PromiseStep::Resume,
                    2 => PromiseStep::Keep { note: String::new() },
                    3 => PromiseStep::Break { note: "zu spät".into() },
                    _ => PromiseStep::SignOff { feasible: true, note: String::new() },
                };
                let done = p.apply(step.clone(), BY, now).is_ok();
                if done {
                    match step {
                        PromiseStep::Pause => paused_from = Some(now),
                        PromiseStep::Resume | PromiseStep::Keep { .. } | PromiseStep::Break { .. } => {
                            if let Some(from) = paused_from.take() {
                                paused_total += (now - from).num_seconds();
                            }
                        }
                        PromiseStep::SignOff { .. } => {}
                    }
                    if p.state.is_final() && !before.is_final() {
                        ended += 1;
                    }
                } else {
                    prop_assert_eq!(p.state, before);
                }
                prop_assert!(p.effective_due(now) >= p.due_at);
                let running = paused_from.map(|f| (now - f).num_seconds()).unwrap_or(0);
                prop_assert_eq!(p.effective_due(now), p.due_at + Duration::seconds(paused_total + running));
            }
            prop_assert!(ended <= 1);
            prop_assert!(!(p.state == PromiseState::Kept && p.close_note == "zu spät"));
        }

        /// Time only makes an open promise worse: on track, then at risk,
        /// then overdue, never back.
        #[test]
        fn health_only_worsens_while_the_clock_runs(due in 1i64..500, a in 0i64..600, b in 0i64..600) {
            let p = promise(0, due);
            let rule = PromiseRiskRule::default();
            let (early, late) = (a.min(b), a.max(b));
            let rank = |h: PromiseHealth| match h {
                PromiseHealth::OnTrack => 0,
                PromiseHealth::AtRisk => 1,
                PromiseHealth::Overdue => 2,
                PromiseHealth::Still => 3,
            };
            prop_assert!(rank(p.health(at(early), rule)) <= rank(p.health(at(late), rule)));
        }
    }
}
