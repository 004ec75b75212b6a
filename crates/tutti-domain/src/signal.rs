//! Signals: the cockpit's sensors, computed from the data, and the rules that
//! say when one fires.
//!
//! A signal names what fired (`kind`), about what (`subject_id`), the figures
//! its explanation is rendered from (`params`, so that the cockpit can say it
//! in German or English and a webhook in the language it was set up with),
//! and where a leader acts on it (`link`, a cockpit path). Its fingerprint is
//! stable while the condition holds, so an alert is raised once, not on every
//! evaluation, and cleared when the condition is gone.
//!
//! A signal also says whom it concerns (`Concern`: the team its subject sits
//! in, the person it is about), so that each reader's cockpit leads with the
//! alerts that are theirs (`Audience`); everyone may still read them all.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::access::Actor;
use crate::labour::ReviewStats;
use crate::org::Role;
use crate::text_enum;
use crate::validate::{Invalid, ValidationResult};

text_enum! {
    SignalKind {
        /// An objective's progress trails its period, or its people doubt it.
        ObjectiveAtRisk => "objective_at_risk",
        /// A budget's use passed its warn line (or its limit).
        BudgetPastWarn => "budget_past_warn",
        /// A decision still waits for people after its deadline.
        DecisionOverdue => "decision_overdue",
        /// Work has sat in `blocked` for longer than the rule allows.
        WorkBlocked => "work_blocked",
        /// People send an AI worker's results back too often.
        WorkerHighReviseRate => "worker_high_revise_rate",
        /// Many decisions wait on one person.
        LeaderBottleneck => "leader_bottleneck",
        /// A promise to a customer has less than a quarter of its time
        /// left, or is past its due time.
        PromiseAtRisk => "promise_at_risk",
        /// A promise to a customer was broken this week.
        PromiseBroken => "promise_broken",
        /// Breakdowns crowd out planned work: the reactive share of new
        /// work rose several weeks in a row.
        ReactiveShareRising => "reactive_share_rising",
        /// A case held at a gate is past the date its hold was given for.
        GateHoldOverdue => "gate_hold_overdue",
        /// A gate sends too many cases back to redo their stage.
        GateRecycleRate => "gate_recycle_rate",
        /// A learning has waited for an answer too long.
        LearningUnanswered => "learning_unanswered",
        RoutineStalled => "routine_stalled",
        /// A round of a pulse is open: the team is asked (the alert's
        /// webhook is the invitation to the team's channel).
        PulseOpen => "pulse_open",
        /// A team's pulse (its eNPS or its score) fell between two rounds
        /// by more than the survey allows; shown figures only.
        PulseDropped => "pulse_dropped",
        /// Someone carries more than the org's load limits.
        MemberOverloaded => "member_overloaded",
    }
}

text_enum! {
    /// The message shape an incoming webhook accepts.
    WebhookFormat { Slack => "slack", Teams => "teams" }
}

/// Whom an alert concerns: the team its subject sits in and the person it is
/// about (an objective's owner, a blocked item's assignee, the person
/// decisions queue on). Both empty means the whole org (an org budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Concern {
    pub team_id: Option<Uuid>,
    pub person_id: Option<Uuid>,
}

impl Concern {
    /// Whether the alert sits in `team` or a team below it; `parents` maps
    /// each of the org's teams to its parent.
    pub fn within_team(&self, team: Uuid, parents: &HashMap<Uuid, Option<Uuid>>) -> bool {
        let mut at = self.team_id;
        // A chain longer than the org has teams would be a cycle.
        for _ in 0..=parents.len() {
            match at {
                Some(id) if id == team => return true,
                Some(id) => at = parents.get(&id).copied().flatten(),
                None => return false,
            }
        }
        false
    }
}

/// The alerts a reader's cockpit leads with ("mine").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Audience {
    /// Admins and owners steer the whole org: every alert is theirs.
    #[default]
    Everyone,
    /// Everybody else: the alerts about them, and those in the teams they
    /// belong to or lead (a lead's teams include every team below them).
    Only { person_id: Uuid, teams: Vec<Uuid> },
}

impl Audience {
    pub fn of(reader: &Actor) -> Self {
        if reader.role.at_least(Role::Admin) {
            return Self::Everyone;
        }
        let mut teams: Vec<Uuid> = reader
            .teams
            .iter()
            .chain(&reader.led_teams)
            .copied()
            .collect();
        teams.sort_unstable();
        teams.dedup();
        Self::Only {
            person_id: reader.member_id,
            teams,
        }
    }

    /// Whether an alert with this concern is the reader's.
    pub fn includes(&self, concern: &Concern) -> bool {
        match self {
            Self::Everyone => true,
            Self::Only { person_id, teams } => {
                concern.person_id == Some(*person_id)
                    || concern.team_id.is_some_and(|team| teams.contains(&team))
            }
        }
    }
}

/// A sensor reading that says something needs a leader.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub kind: SignalKind,
    pub subject_id: Option<Uuid>,
    pub concern: Concern,
    /// The figures its explanation is rendered from; plain strings and numbers.
    pub params: Value,
    /// The cockpit page where a leader acts on it.
    pub link: String,
}

impl Signal {
    /// Stable while the condition holds: the kind and the subject.
    pub fn fingerprint(&self) -> String {
        match self.subject_id {
            Some(id) => format!("{}:{id}", self.kind),
            None => self.kind.to_string(),
        }
    }
}

/// A signal that fired, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub id: Uuid,
    pub kind: SignalKind,
    pub subject_id: Option<Uuid>,
    #[serde(flatten)]
    pub concern: Concern,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub params: Value,
    pub link: String,
    pub raised_at: DateTime<Utc>,
    /// When the condition stopped holding; `None` while it is open.
    pub cleared_at: Option<DateTime<Utc>>,
}

/// The thresholds signals fire at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignalRules {
    /// Work blocked for more whole days than this fires.
    pub blocked_days: i64,
    /// An AI worker whose revise + reject share reaches this fires…
    pub revise_reject_rate: f64,
    /// …once it has at least this many reviews.
    pub min_reviews: i64,
    /// This many decisions waiting on one person fire.
    pub bottleneck_queue: usize,
    /// The reactive share of new work rising this many weeks in a row
    /// fires (counted over complete weeks).
    pub reactive_rising_weeks: usize,
    /// A gate whose recycles reach this share of its verdicts fires…
    pub recycle_rate: f64,
    /// …once it gave at least this many in the last [`RECYCLE_WINDOW_DAYS`].
    pub min_verdicts: usize,
    /// A learning unanswered for more whole days than this fires.
    pub learning_days: i64,
}

/// The days of verdicts a gate's recycle rate looks back on.
pub const RECYCLE_WINDOW_DAYS: i64 = 90;

impl Default for SignalRules {
    fn default() -> Self {
        Self {
            blocked_days: 5,
            revise_reject_rate: 0.5,
            min_reviews: 3,
            bottleneck_queue: 5,
            reactive_rising_weeks: 3,
            recycle_rate: 0.3,
            min_verdicts: 4,
            learning_days: 14,
        }
    }
}

impl SignalRules {
    /// Whether the reactive share of new work rose in each of the last
    /// [`Self::reactive_rising_weeks`] steps between the complete `weeks`
    /// given (oldest first); a week without new work breaks the run.
    /// Returns the share where the run started and where it is now.
    pub fn reactive_rising(&self, weeks: &[crate::service::WeekLoad]) -> Option<(f64, f64)> {
        let n = self.reactive_rising_weeks.max(1);
        if weeks.len() < n + 1 {
            return None;
        }
        let run = &weeks[weeks.len() - n - 1..];
        let busy = run.iter().all(|w| w.planned + w.unplanned > 0);
        let rising = run
            .windows(2)
            .all(|pair| pair[1].reactive_share() > pair[0].reactive_share());
        (busy && rising).then(|| (run[0].reactive_share(), run[n].reactive_share()))
    }

    /// Whether an AI worker's reviews say its results come back too often.
    pub fn worker_struggles(&self, stats: &ReviewStats) -> bool {
        stats.reviews >= self.min_reviews
            && (stats.revised + stats.rejected) as f64 / stats.reviews as f64
                >= self.revise_reject_rate
    }

    /// Whether work blocked since `since` has been blocked too long at `now`.
    pub fn blocked_too_long(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        (now - since).num_days() > self.blocked_days
    }
}

/// The builders keep each kind's params in one place, so that the cockpit's
/// and the webhooks' texts always find the figures they name.
impl Signal {
    pub fn objective_at_risk(
        id: Uuid,
        concern: Concern,
        title: &str,
        progress: f64,
        expected: f64,
    ) -> Self {
        Self {
            kind: SignalKind::ObjectiveAtRisk,
            subject_id: Some(id),
            concern,
            params: json!({
                "title": title,
                "progress": percent(progress),
                "expected": percent(expected),
            }),
            link: format!("/objectives/{id}"),
        }
    }

    pub fn budget_past_warn(
        id: Uuid,
        concern: Concern,
        name: &str,
        used_percent: i64,
        exhausted: bool,
    ) -> Self {
        Self {
            kind: SignalKind::BudgetPastWarn,
            subject_id: Some(id),
            concern,
            params: json!({
                "name": name,
                "used": used_percent,
                "state": if exhausted { "exhausted" } else { "warn" },
            }),
            link: "/ledger".into(),
        }
    }

    pub fn decision_overdue(id: Uuid, concern: Concern, question: &str, hours_over: i64) -> Self {
        Self {
            kind: SignalKind::DecisionOverdue,
            subject_id: Some(id),
            concern,
            params: json!({ "question": question, "hours": hours_over }),
            link: format!("/decisions/{id}"),
        }
    }

    /// `hours_left` is negative once the promise is overdue.
    pub fn promise_at_risk(
        id: Uuid,
        keeper_team: Option<Uuid>,
        title: &str,
        customer: &str,
        hours_left: i64,
    ) -> Self {
        Self {
            kind: SignalKind::PromiseAtRisk,
            subject_id: Some(id),
            concern: Concern {
                team_id: keeper_team,
                person_id: None,
            },
            params: json!({
                "title": title,
                "customer": customer,
                "hours": hours_left.abs(),
                "overdue": if hours_left < 0 { "yes" } else { "no" },
            }),
            link: format!("/service#promise-{id}"),
        }
    }

    /// Names the stage that was to keep it, the last gate its case passed
    /// (if it rests on a case that passed one), and why it broke.
    pub fn promise_broken(
        id: Uuid,
        keeper_team: Option<Uuid>,
        title: &str,
        customer: &str,
        (stage, gate): (&str, Option<&str>),
        why: &str,
    ) -> Self {
        Self {
            kind: SignalKind::PromiseBroken,
            subject_id: Some(id),
            concern: Concern {
                team_id: keeper_team,
                person_id: None,
            },
            params: json!({ "title": title, "customer": customer, "stage": stage,
                            "gate": gate.unwrap_or_default(),
                            "gate_passed": if gate.is_some() { "yes" } else { "no" }, "why": why }),
            link: format!("/service#promise-{id}"),
        }
    }

    /// A case held at `gate` since its hold ran out `days` ago.
    pub fn gate_hold_overdue(
        case: Uuid,
        stage_team: Option<Uuid>,
        title: &str,
        gate: &str,
        days: i64,
        reason: &str,
    ) -> Self {
        Self {
            kind: SignalKind::GateHoldOverdue,
            subject_id: Some(case),
            concern: Concern {
                team_id: stage_team,
                person_id: None,
            },
            params: json!({ "title": title, "gate": gate, "days": days, "reason": reason }),
            link: format!("/cases/{case}"),
        }
    }

    /// A gate that recycled `rate` of its last `verdicts` verdicts.
    pub fn gate_recycle_rate(
        gate: Uuid,
        team: Option<Uuid>,
        name: &str,
        rate: f64,
        verdicts: usize,
    ) -> Self {
        Self {
            kind: SignalKind::GateRecycleRate,
            subject_id: Some(gate),
            concern: Concern {
                team_id: team,
                person_id: None,
            },
            params: json!({ "gate": name, "rate": (rate * 100.0).round() as i64, "verdicts": verdicts }),
            link: format!("/gates/{gate}"),
        }
    }

    /// A learning nobody answered for `days` days.
    pub fn learning_unanswered(id: Uuid, team: Option<Uuid>, title: &str, days: i64) -> Self {
        Self {
            kind: SignalKind::LearningUnanswered,
            subject_id: Some(id),
            concern: Concern {
                team_id: team,
                person_id: None,
            },
            params: json!({ "title": title, "days": days }),
            link: format!("/flows#learning-{id}"),
        }
    }

    /// A routine whose owner may no longer create its work: planned work,
    /// a maintenance sold under contract, that will not be made. `next_at`
    /// is when it next falls due (rendered in each reader's zone).
    pub fn routine_stalled(
        id: Uuid,
        concern: Concern,
        title: &str,
        reason: &str,
        next_at: DateTime<Utc>,
    ) -> Self {
        Self {
            kind: SignalKind::RoutineStalled,
            subject_id: Some(id),
            concern,
            params: json!({ "title": title, "reason": reason, "next_at": next_at }),
            link: format!("/routines/{id}"),
        }
    }

    pub fn pulse_open(
        survey_id: Uuid,
        team_id: Uuid,
        title: &str,
        round: u32,
        closes_on: chrono::NaiveDate,
    ) -> Self {
        Self {
            kind: SignalKind::PulseOpen,
            subject_id: Some(survey_id),
            concern: Concern {
                team_id: Some(team_id),
                person_id: None,
            },
            params: json!({ "title": title, "round": round + 1, "closes_on": closes_on.to_string() }),
            link: format!("/pulse/{survey_id}"),
        }
    }

    /// `team_id` is the subject: one alert per team whose pulse fell.
    pub fn pulse_dropped(
        survey_id: Uuid,
        team_id: Uuid,
        team: &str,
        drop: crate::pulse::Drop,
    ) -> Self {
        Self {
            kind: SignalKind::PulseDropped,
            subject_id: Some(team_id),
            concern: Concern {
                team_id: Some(team_id),
                person_id: None,
            },
            params: json!({
                "team": team,
                "figure": drop.figure.as_str(),
                "from": (drop.from * 10.0).round() / 10.0,
                "to": (drop.to * 10.0).round() / 10.0,
            }),
            link: format!("/pulse/{survey_id}"),
        }
    }

    pub fn member_overloaded(team_id: Option<Uuid>, carried: &crate::workload::Carried) -> Self {
        Self {
            kind: SignalKind::MemberOverloaded,
            subject_id: Some(carried.member_id),
            concern: Concern {
                team_id,
                person_id: Some(carried.member_id),
            },
            params: json!({
                "name": carried.name,
                "open": carried.open(),
                "overdue": carried.overdue,
                "queued": carried.runs_queued,
            }),
            link: match team_id {
                Some(team) => format!("/workload?team={team}"),
                None => "/workload".to_owned(),
            },
        }
    }

    pub fn work_blocked(id: Uuid, concern: Concern, title: &str, days: i64) -> Self {
        Self {
            kind: SignalKind::WorkBlocked,
            subject_id: Some(id),
            concern,
            params: json!({ "title": title, "days": days }),
            link: format!("/work/{id}"),
        }
    }

    pub fn worker_high_revise_rate(
        id: Uuid,
        concern: Concern,
        name: &str,
        stats: &ReviewStats,
    ) -> Self {
        let sent_back = stats.revised + stats.rejected;
        Self {
            kind: SignalKind::WorkerHighReviseRate,
            subject_id: Some(id),
            concern,
            params: json!({
                "name": name,
                "sent_back": sent_back,
                "reviews": stats.reviews,
            }),
            link: "/".into(),
        }
    }

    /// Concerns the person decisions wait on (and the admins), not a team.
    /// The org's reactive share rose `weeks` weeks in a row, from `from` to
    /// `to`.
    pub fn reactive_share_rising(weeks: usize, from: f64, to: f64) -> Self {
        Self {
            kind: SignalKind::ReactiveShareRising,
            subject_id: None,
            concern: Concern::default(),
            params: json!({ "weeks": weeks, "from": percent(from), "to": percent(to) }),
            link: "/service#load-h".into(),
        }
    }

    pub fn leader_bottleneck(id: Uuid, name: &str, waiting: usize) -> Self {
        Self {
            kind: SignalKind::LeaderBottleneck,
            subject_id: Some(id),
            concern: Concern {
                team_id: None,
                person_id: Some(id),
            },
            params: json!({ "name": name, "count": waiting }),
            link: "/decisions".into(),
        }
    }
}

/// A share as a whole percentage, for texts.
pub fn percent(share: f64) -> i64 {
    (share.clamp(0.0, 1.0) * 100.0).round() as i64
}

/// A webhook's name is at most this long …
pub const WEBHOOK_NAME_MAX: usize = 100;
/// … and its URL.
pub const WEBHOOK_URL_MAX: usize = 2000;

/// A webhook's URL: http or https, short enough, no spaces; trimmed.
pub fn parse_webhook_url(url: &str) -> ValidationResult<String> {
    let url = url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.chars().count() > WEBHOOK_URL_MAX
        || url.contains(char::is_whitespace)
    {
        return Err(Invalid::new(
            "url",
            format!("must be an http:// or https:// URL of at most {WEBHOOK_URL_MAX} characters"),
        ));
    }
    Ok(url.to_owned())
}

/// The regular expression (for an API document's `pattern`) that matches
/// exactly the URLs [`parse_webhook_url`] accepts.
pub fn webhook_url_pattern() -> String {
    use crate::validate::SPACE;
    let rest = |scheme: &str| WEBHOOK_URL_MAX - scheme.len();
    format!(
        "^[{SPACE}]*(?:http://[^{SPACE}]{{0,{}}}|https://[^{SPACE}]{{0,{}}})[{SPACE}]*$",
        rest("http://"),
        rest("https://")
    )
}

/// A language the cockpit and its messages speak: `de` or `en`.
pub fn check_locale(locale: &str) -> ValidationResult<()> {
    if matches!(locale, "de" | "en") {
        Ok(())
    } else {
        Err(Invalid::new(
            "locale",
            format!("`{locale}` is not offered; use de or en"),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_reactive_share_rising_three_weeks_in_a_row_fires_and_a_dip_or_an_empty_week_does_not() {
        let week = |planned, unplanned| crate::service::WeekLoad {
            week: chrono::NaiveDate::MIN,
            planned,
            unplanned,
        };
        let rules = SignalRules::default();
        let rising = [week(5, 1), week(4, 2), week(4, 3), week(3, 4)];
        let (from, to) = rules.reactive_rising(&rising).unwrap();
        assert!((from - 1.0 / 6.0).abs() < 1e-9 && (to - 4.0 / 7.0).abs() < 1e-9);
        let dip = [week(5, 1), week(4, 2), week(5, 1), week(3, 4)];
        assert_eq!(rules.reactive_rising(&dip), None);
        let empty = [week(5, 1), week(0, 0), week(4, 3), week(3, 4)];
        assert_eq!(rules.reactive_rising(&empty), None);
        assert_eq!(rules.reactive_rising(&rising[1..]), None);
    }

    #[test]
    fn the_webhook_url_pattern_accepts_exactly_what_parse_webhook_url_accepts() {
        let pattern = regex::Regex::new(&webhook_url_pattern()).unwrap();
        let long = |n: usize| format!("https://{}", "ä".repeat(n));
        for value in [
            "https://hooks.example.org/T/B/x".to_owned(),
            " http://example.org\n".to_owned(),
            "http://".to_owned(),
            "ftp://example.org".to_owned(),
            "https://exa mple.org".to_owned(),
            "https://example.org/\u{3000}x".to_owned(),
            "HTTPS://example.org".to_owned(),
            String::new(),
            long(WEBHOOK_URL_MAX - 8),
            long(WEBHOOK_URL_MAX - 7),
        ] {
            assert_eq!(
                pattern.is_match(&value),
                parse_webhook_url(&value).is_ok(),
                "{value:?}"
            );
        }
    }

    #[test]
    fn a_webhook_goes_to_an_http_url_in_a_language_the_cockpit_speaks() {
        assert_eq!(
            parse_webhook_url(" https://hooks.slack.com/x ").unwrap(),
            "https://hooks.slack.com/x"
        );
        for bad in ["ftp://example", "https://a b", "hooks.slack.com/x"] {
            assert!(
                parse_webhook_url(bad).is_err_and(|e| e.field == "url"),
                "{bad}"
            );
        }
        let long = format!("https://x/{}", "a".repeat(WEBHOOK_URL_MAX));
        assert!(parse_webhook_url(&long).is_err());
        assert!(check_locale("de").is_ok() && check_locale("en").is_ok());
        assert!(check_locale("fr").is_err_and(|e| e.field == "locale"));
    }
    use proptest::prelude::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for &kind in SignalKind::ALL {
            assert_eq!(kind.as_str().parse::<SignalKind>(), Ok(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
        }
        assert!("pulse_drop".parse::<SignalKind>().is_err());
    }

    #[test]
    fn fingerprint_is_kind_and_subject() {
        let id = Uuid::nil();
        let a = Signal::work_blocked(id, Concern::default(), "Ersatzteil fehlt", 6);
        let b = Signal::work_blocked(id, Concern::default(), "Ersatzteil fehlt", 9);
        assert_eq!(
            a.fingerprint(),
            b.fingerprint(),
            "days moving on is the same alert"
        );
        assert_ne!(
            a.fingerprint(),
            Signal::decision_overdue(id, Concern::default(), "?", 1).fingerprint()
        );
    }

    #[test]
    fn a_reader_leads_with_alerts_about_them_and_their_teams() {
        let (me, colleague) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let (mine, below, foreign) = (
            Uuid::from_u128(10),
            Uuid::from_u128(11),
            Uuid::from_u128(12),
        );
        let reader = |role, teams: Vec<Uuid>, led_teams: Vec<Uuid>| Actor {
            org_id: Uuid::nil(),
            member_id: me,
            kind: crate::org::MemberKind::Human,
            role,
            teams,
            led_teams,
        };
        let about = |team_id, person_id| Concern { team_id, person_id };
        let org_wide = Concern::default();

        let lead = Audience::of(&reader(Role::Lead, vec![mine], vec![mine, below]));
        assert!(lead.includes(&about(Some(mine), None)));
        assert!(
            lead.includes(&about(Some(below), Some(colleague))),
            "teams below the led one"
        );
        assert!(
            lead.includes(&about(Some(foreign), Some(me))),
            "about the reader, wherever it sits"
        );
        assert!(!lead.includes(&about(Some(foreign), Some(colleague))));
        assert!(
            !lead.includes(&org_wide),
            "the org's alerts are the admins'"
        );

        let member = Audience::of(&reader(Role::Member, vec![mine], vec![]));
        assert!(member.includes(&about(Some(mine), None)));
        assert!(
            !member.includes(&about(Some(below), None)),
            "only a lead sees below"
        );

        let admin = Audience::of(&reader(Role::Admin, vec![], vec![]));
        assert!(
            admin.includes(&org_wide) && admin.includes(&about(Some(foreign), Some(colleague)))
        );
    }

    #[test]
    fn a_team_holds_the_alerts_of_the_teams_below_it() {
        let (top, middle, bottom, other) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(3),
            Uuid::from_u128(4),
        );
        let parents: HashMap<Uuid, Option<Uuid>> = [
            (top, None),
            (middle, Some(top)),
            (bottom, Some(middle)),
            (other, None),
        ]
        .into();
        let in_team = |team| Concern {
            team_id: Some(team),
            person_id: None,
        };
        assert!(in_team(bottom).within_team(top, &parents));
        assert!(in_team(middle).within_team(middle, &parents));
        assert!(
            !in_team(middle).within_team(bottom, &parents),
            "not upwards"
        );
        assert!(!in_team(other).within_team(top, &parents));
        assert!(
            !Concern::default().within_team(top, &parents),
            "the org's are no team's"
        );
        let cycle: HashMap<Uuid, Option<Uuid>> = [(top, Some(middle)), (middle, Some(top))].into();
        assert!(!in_team(top).within_team(other, &cycle), "a cycle ends");
    }

    #[test]
    fn blocked_counts_whole_days_past_the_limit() {
        let rules = SignalRules::default();
        let since: DateTime<Utc> = "2026-11-01T09:00:00Z".parse().unwrap();
        let day = chrono::Duration::days(1);
        assert!(!rules.blocked_too_long(since, since + day * 5));
        assert!(!rules.blocked_too_long(since, since + day * 6 - chrono::Duration::seconds(1)));
        assert!(rules.blocked_too_long(since, since + day * 6));
    }

    proptest! {
        #[test]
        fn a_worker_struggles_exactly_when_enough_reviews_come_back(
            accepted in 0i64..20, revised in 0i64..20, rejected in 0i64..20,
        ) {
            let rules = SignalRules::default();
            let stats = ReviewStats::from_counts(accepted, revised, rejected, 0);
            let reviews = accepted + revised + rejected;
            let expected = reviews >= rules.min_reviews
                && 2 * (revised + rejected) >= reviews;
            prop_assert_eq!(rules.worker_struggles(&stats), expected);
        }

        #[test]
        fn percent_stays_within_zero_and_a_hundred(share in -10.0f64..10.0) {
            let p = percent(share);
            prop_assert!((0..=100).contains(&p));
        }
    }
}
