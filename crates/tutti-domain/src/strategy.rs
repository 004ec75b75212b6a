//! Strategy: objectives with their *why*, key results, check-ins, and how progress
//! rolls up and when an objective is at risk.
//!
//! Progress of a key result is the share of the way from baseline to target,
//! clamped to `0..=1` (it works for falling metrics too: baseline 10, target 5).
//! An objective's progress is the mean of its parts, where its parts are its key
//! results and its child objectives, each counted once. An objective is *at risk*
//! when its progress trails the elapsed share of its period by more than a
//! threshold, or when any key result's confidence is low.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text_enum;
use crate::validate::{Invalid, ValidationResult};

/// A key result's unit ("%", "Tage", "EUR") is at most this long.
pub const UNIT_MAX: usize = 32;

text_enum! {
    ObjectiveStatus { Active => "active", Achieved => "achieved", Dropped => "dropped" }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Objective {
    pub id: Uuid,
    pub title: String,
    /// The purpose that gives the work under this objective its meaning.
    pub why: String,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub parent_id: Option<Uuid>,
    pub status: ObjectiveStatus,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyResult {
    pub id: Uuid,
    pub objective_id: Uuid,
    pub title: String,
    pub baseline: f64,
    pub target: f64,
    pub current: f64,
    pub unit: String,
    /// How sure the owner is that the target will be reached, 0–10.
    pub confidence: u8,
    /// Derived from baseline, target and current; always within `0..=1`.
    pub progress: f64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckIn {
    pub id: Uuid,
    pub key_result_id: Uuid,
    pub value: f64,
    pub confidence: u8,
    pub note: String,
    pub author_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Work shown as evidence behind a check-in: done work, or an accepted run
/// of it, with what its AI runs cost.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Evidence {
    pub check_in_id: Uuid,
    pub work_item_id: Uuid,
    pub title: String,
    pub state: crate::work::WorkState,
    /// The accepted run it points at, if one was named.
    pub run_id: Option<Uuid>,
    /// The settled tokens and cost (micro-units) of all the item's runs.
    pub tokens: i64,
    pub cost: i64,
    /// How many of its runs AI workers made.
    pub runs: i64,
    pub attached_by: Uuid,
    pub attached_at: DateTime<Utc>,
}

/// Whether work may stand as evidence behind a check-in: an accepted run
/// of the item (`run`: whether it is the item's, whether it was accepted),
/// or, with no run named, the item done.
pub fn check_evidence(
    item_state: crate::work::WorkState,
    run: Option<(bool, bool)>,
) -> crate::RuleResult<()> {
    use crate::refused::Refused;
    match run {
        Some((false, _)) => Err(Refused::invalid(
            "run_id",
            "the run is not of this work item",
        )),
        Some((true, false)) => Err(Refused::conflict(
            "the run has not been accepted; only an accepted result is evidence",
        )),
        Some((true, true)) => Ok(()),
        None if item_state == crate::work::WorkState::Done => Ok(()),
        None => Err(Refused::conflict(format!(
            "the work is {item_state}; done work, or an accepted run of it, is evidence"
        ))),
    }
}

/// A key result's target moved during its period: the seeds' moving target.
/// Kept, so the old target stays visible next to the new one and progress
/// is never silently re-based.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TargetMove {
    pub id: Uuid,
    pub key_result_id: Uuid,
    /// The target before the move.
    pub from: f64,
    /// The target after it.
    pub to: f64,
    /// Why it moved, as the person who moved it said; may be empty.
    pub reason: String,
    /// `None` when tutti itself moved it (seeding).
    pub author_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// Whether setting `new` as a key result's target moves it from `old`; a
/// patch that repeats the target is no move and leaves no record.
pub fn moves_target(old: f64, new: f64) -> bool {
    (old - new).abs() > 0.0
}

/// Why a target moved, checked: optional text of a note's length.
pub fn target_reason(reason: &str) -> ValidationResult<String> {
    crate::validate::optional_text("target_reason", reason, crate::validate::BODY_MAX)
}

/// Confidence is 0–10.
pub const CONFIDENCE_MAX: u8 = 10;

pub fn parse_confidence(value: i64) -> ValidationResult<u8> {
    u8::try_from(value)
        .ok()
        .filter(|c| *c <= CONFIDENCE_MAX)
        .ok_or_else(|| {
            Invalid::new(
                "confidence",
                format!("must be between 0 and 10, got {value}"),
            )
        })
}

/// A check-in as a person makes it, checked: its value is a number, its
/// confidence 0–10, its note text.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCheckIn {
    pub value: f64,
    pub confidence: u8,
    pub note: String,
}

impl NewCheckIn {
    pub fn parse(value: f64, confidence: i64, note: &str) -> ValidationResult<Self> {
        Ok(Self {
            value: crate::validate::finite("value", value)?,
            confidence: parse_confidence(confidence)?,
            note: crate::validate::optional_text("note", note, crate::validate::BODY_MAX)?,
        })
    }
}

/// A period must not end before it starts.
pub fn check_period(start: NaiveDate, end: NaiveDate) -> ValidationResult<()> {
    if end < start {
        return Err(Invalid::new(
            "period_end",
            "must not be before period_start",
        ));
    }
    Ok(())
}

/// The share of the way from `baseline` to `target` that `current` has covered,
/// clamped to `0..=1`. When baseline and target coincide, the result is done (1)
/// once current has reached the target, else 0.
pub fn key_result_progress(baseline: f64, target: f64, current: f64) -> f64 {
    let span = target - baseline;
    let share = if span == 0.0 {
        if (current - target).abs() < f64::EPSILON {
            1.0
        } else {
            0.0
        }
    } else {
        (current - baseline) / span
    };
    if share.is_nan() {
        0.0
    } else {
        share.clamp(0.0, 1.0)
    }
}

/// The mean of the parts' progress; an objective without parts has made none.
pub fn mean_progress(parts: &[f64]) -> f64 {
    if parts.is_empty() {
        return 0.0;
    }
    let sum: f64 = parts.iter().map(|p| p.clamp(0.0, 1.0)).sum();
    (sum / parts.len() as f64).clamp(0.0, 1.0)
}

/// An objective as the roll-up sees it: its key results' progress and its child
/// objectives.
#[derive(Debug, Clone, Default)]
pub struct ProgressNode {
    pub key_results: Vec<f64>,
    pub children: Vec<ProgressNode>,
}

impl ProgressNode {
    /// The rolled-up progress: the mean over the key results and the children's
    /// own roll-ups.
    pub fn rollup(&self) -> f64 {
        mean_progress(&self.parts())
    }

    /// The progress of each direct part, key results first.
    pub fn parts(&self) -> Vec<f64> {
        self.key_results
            .iter()
            .copied()
            .chain(self.children.iter().map(ProgressNode::rollup))
            .collect()
    }
}

/// The rolled-up progress of every objective in a forest given as flat lists
/// (objectives whose parent is not in the list count as roots). Equal to
/// [`ProgressNode::rollup`] on the same tree; iterative, so a deep tree cannot
/// exhaust the stack.
pub fn rollups(objectives: &[Objective], key_results: &[KeyResult]) -> HashMap<Uuid, f64> {
    let known: HashMap<Uuid, usize> = objectives
        .iter()
        .enumerate()
        .map(|(i, o)| (o.id, i))
        .collect();
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); objectives.len()];
    let mut roots = Vec::new();
    for (i, o) in objectives.iter().enumerate() {
        match o.parent_id.and_then(|p| known.get(&p)) {
            Some(&parent) => children[parent].push(i),
            None => roots.push(i),
        }
    }
    let mut parts: Vec<Vec<f64>> = vec![Vec::new(); objectives.len()];
    for kr in key_results {
        if let Some(&i) = known.get(&kr.objective_id) {
            parts[i].push(kr.progress);
        }
    }
    let mut progress: HashMap<Uuid, f64> = HashMap::with_capacity(objectives.len());
    // Post-order walk: a node is finished once all its children are.
    let mut stack: Vec<(usize, bool)> = roots.into_iter().map(|r| (r, false)).collect();
    while let Some((node, expanded)) = stack.pop() {
        if expanded {
            let mut own = std::mem::take(&mut parts[node]);
            own.extend(
                children[node]
                    .iter()
                    .filter_map(|c| progress.get(&objectives[*c].id)),
            );
            progress.insert(objectives[node].id, mean_progress(&own));
        } else {
            stack.push((node, true));
            stack.extend(children[node].iter().map(|c| (*c, false)));
        }
    }
    progress
}

/// The share of the period that has elapsed on `today`, within `0..=1`. A
/// one-day period is fully elapsed on its day.
pub fn elapsed_share(start: NaiveDate, end: NaiveDate, today: NaiveDate) -> f64 {
    if today < start {
        return 0.0;
    }
    // Both ends are inclusive days.
    let total = (end - start).num_days() + 1;
    let done = (today - start).num_days() + 1;
    if total <= 0 {
        return 1.0;
    }
    (done as f64 / total as f64).clamp(0.0, 1.0)
}

/// When an objective counts as at risk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskRule {
    /// How far progress may trail the elapsed share before it is at risk.
    pub behind_by: f64,
    /// A key-result confidence below this puts the objective at risk.
    pub low_confidence: u8,
}

impl Default for RiskRule {
    fn default() -> Self {
        Self {
            behind_by: 0.2,
            low_confidence: 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum RiskReason {
    /// Progress trails the elapsed share of the period.
    Behind { progress: f64, expected: f64 },
    /// A key result's owner is not confident.
    LowConfidence { key_result_id: Uuid, confidence: u8 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub at_risk: bool,
    /// The elapsed share of the period: where progress should roughly be.
    pub expected_progress: f64,
    pub reasons: Vec<RiskReason>,
}

/// An objective with its rolled-up progress and health.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ObjectiveSummary {
    #[serde(flatten)]
    pub objective: Objective,
    /// 0–1, the mean of its key results and child objectives.
    pub progress: f64,
    pub health: Health,
}

/// What an audited change means for a judged forest of objectives: nothing,
/// a key result to read again, or the whole forest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForestChange {
    Untouched,
    KeyResult(Uuid),
    Everything,
}

/// Subjects whose events never change an objective or a key result.
const OUTSIDE_THE_FOREST: &[&str] = &[
    "alert",
    "budget",
    "case",
    "decision",
    "decision_space",
    "flow",
    "gate",
    "learning",
    "member",
    "promise",
    "provider",
    "run",
    "service_product",
    "template",
    "webhook",
    "work_item",
];

impl ForestChange {
    /// What the audit event `action` on `subject_type` `subject_id` changes
    /// in the forest. A check-in or an edit of a key result changes that key
    /// result; an event on a subject that never touches strategy changes
    /// nothing; anything else — objectives, imports, teams, and any subject
    /// this list does not know yet — changes everything, so a judged forest
    /// is never kept past a change it cannot account for.
    pub fn of(subject_type: &str, action: &str, subject_id: Option<Uuid>) -> Self {
        match (subject_type, action, subject_id) {
            (subject, _, _) if OUTSIDE_THE_FOREST.contains(&subject) => Self::Untouched,
            ("key_result", "check_in.created" | "key_result.updated", Some(id)) => {
                Self::KeyResult(id)
            }
            _ => Self::Everything,
        }
    }
}

/// Judges an objective's health from its rolled-up progress, its period and its
/// key results' confidence. Only active objectives can be at risk.
pub fn assess_health(
    objective: &Objective,
    progress: f64,
    key_results: &[KeyResult],
    today: NaiveDate,
    rule: RiskRule,
) -> Health {
    let expected = elapsed_share(objective.period_start, objective.period_end, today);
    let mut reasons = Vec::new();
    if objective.status == ObjectiveStatus::Active {
        if expected - progress > rule.behind_by {
            reasons.push(RiskReason::Behind { progress, expected });
        }
        reasons.extend(
            key_results
                .iter()
                .filter(|kr| kr.confidence < rule.low_confidence && kr.progress < 1.0)
                .map(|kr| RiskReason::LowConfidence {
                    key_result_id: kr.id,
                    confidence: kr.confidence,
                }),
        );
    }
    Health {
        at_risk: !reasons.is_empty(),
        expected_progress: expected,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn evidence_is_done_work_or_an_accepted_run_of_it() {
        use crate::refused::Refused;
        use crate::work::WorkState;
        assert!(check_evidence(WorkState::Done, None).is_ok());
        assert!(check_evidence(WorkState::InReview, Some((true, true))).is_ok());
        assert!(matches!(
            check_evidence(WorkState::InReview, None),
            Err(Refused::Conflict(_))
        ));
        assert!(matches!(
            check_evidence(WorkState::Done, Some((true, false))),
            Err(Refused::Conflict(_))
        ));
        assert!(matches!(
            check_evidence(WorkState::Done, Some((false, true))),
            Err(Refused::Invalid(e)) if e.field == "run_id"
        ));
    }

    #[test]
    fn only_a_different_target_is_a_move() {
        assert!(moves_target(100.0, 120.0));
        assert!(moves_target(10.0, 5.0));
        assert!(!moves_target(100.0, 100.0));
        assert!(!moves_target(0.0, -0.0));
        assert!(target_reason(&"x".repeat(crate::validate::BODY_MAX + 1)).is_err());
        assert_eq!(target_reason("  Markt größer ").unwrap(), "Markt größer");
    }

    #[test]
    fn only_changes_to_strategy_reach_a_judged_forest() {
        let id = Uuid::from_u128(7);
        assert_eq!(
            ForestChange::of("work_item", "work_item.updated", Some(id)),
            ForestChange::Untouched
        );
        assert_eq!(
            ForestChange::of("run", "run.succeeded", Some(id)),
            ForestChange::Untouched
        );
        assert_eq!(
            ForestChange::of("key_result", "check_in.created", Some(id)),
            ForestChange::KeyResult(id)
        );
        assert_eq!(
            ForestChange::of("key_result", "key_result.updated", Some(id)),
            ForestChange::KeyResult(id)
        );
        assert_eq!(
            ForestChange::of("key_result", "key_result.created", Some(id)),
            ForestChange::Everything
        );
        assert_eq!(
            ForestChange::of("objective", "objective.updated", Some(id)),
            ForestChange::Everything
        );
        assert_eq!(
            ForestChange::of("org", "import.completed", Some(id)),
            ForestChange::Everything
        );
        assert_eq!(
            ForestChange::of("pulse", "pulse.answered", None),
            ForestChange::Everything,
            "unknown subjects are not assumed harmless"
        );
    }

    #[test]
    fn a_check_in_is_a_number_with_a_confidence_of_zero_to_ten() {
        let check_in = NewCheckIn::parse(14.0, 7, " Notdienstplan greift ").unwrap();
        assert_eq!(
            (check_in.confidence, check_in.note.as_str()),
            (7, "Notdienstplan greift")
        );
        assert!(NewCheckIn::parse(f64::NAN, 7, "").is_err_and(|e| e.field == "value"));
        assert!(NewCheckIn::parse(f64::INFINITY, 7, "").is_err_and(|e| e.field == "value"));
        for confidence in [-1, 11] {
            assert!(NewCheckIn::parse(1.0, confidence, "").is_err_and(|e| e.field == "confidence"));
        }
        assert!(NewCheckIn::parse(1.0, 5, "\u{7}").is_err_and(|e| e.field == "note"));
    }

    fn objective(start: &str, end: &str) -> Objective {
        Objective {
            id: Uuid::nil(),
            title: "Kundenbindung stärken".into(),
            why: "Weil treue Kunden uns tragen.".into(),
            owner_id: None,
            team_id: None,
            period_start: date(start),
            period_end: date(end),
            parent_id: None,
            status: ObjectiveStatus::Active,
            created_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    fn key_result(progress: f64, confidence: u8) -> KeyResult {
        KeyResult {
            id: Uuid::from_u128(7),
            objective_id: Uuid::nil(),
            title: "NPS".into(),
            baseline: 0.0,
            target: 1.0,
            current: progress,
            unit: "".into(),
            confidence,
            progress,
            updated_at: DateTime::<Utc>::MIN_UTC,
        }
    }

    #[test]
    fn progress_handles_rising_falling_and_flat_metrics() {
        assert_eq!(key_result_progress(0.0, 100.0, 25.0), 0.25);
        assert_eq!(key_result_progress(10.0, 5.0, 7.0), 0.6);
        assert_eq!(key_result_progress(0.0, 100.0, 150.0), 1.0);
        assert_eq!(key_result_progress(0.0, 100.0, -5.0), 0.0);
        assert_eq!(key_result_progress(5.0, 5.0, 5.0), 1.0);
        assert_eq!(key_result_progress(5.0, 5.0, 4.0), 0.0);
    }

    #[test]
    fn elapsed_share_counts_inclusive_days() {
        let (start, end) = (date("2026-01-01"), date("2026-01-10"));
        assert_eq!(elapsed_share(start, end, date("2025-12-31")), 0.0);
        assert_eq!(elapsed_share(start, end, date("2026-01-05")), 0.5);
        assert_eq!(elapsed_share(start, end, date("2026-01-10")), 1.0);
        assert_eq!(elapsed_share(start, end, date("2026-03-01")), 1.0);
    }

    #[test]
    fn behind_schedule_is_at_risk_and_says_why() {
        let o = objective("2026-01-01", "2026-01-10");
        let health = assess_health(&o, 0.1, &[], date("2026-01-05"), RiskRule::default());
        assert!(health.at_risk);
        assert_eq!(
            health.reasons,
            vec![RiskReason::Behind {
                progress: 0.1,
                expected: 0.5
            }]
        );
        let fine = assess_health(&o, 0.4, &[], date("2026-01-05"), RiskRule::default());
        assert!(!fine.at_risk);
    }

    #[test]
    fn low_confidence_is_at_risk_unless_done() {
        let o = objective("2026-01-01", "2026-12-31");
        let today = date("2026-01-02");
        let doubtful = assess_health(&o, 0.0, &[key_result(0.0, 2)], today, RiskRule::default());
        assert!(doubtful.at_risk);
        let done = assess_health(&o, 1.0, &[key_result(1.0, 2)], today, RiskRule::default());
        assert!(!done.at_risk);
    }

    #[test]
    fn finished_objectives_are_never_at_risk() {
        let mut o = objective("2026-01-01", "2026-01-10");
        o.status = ObjectiveStatus::Achieved;
        let health = assess_health(
            &o,
            0.0,
            &[key_result(0.0, 0)],
            date("2026-01-10"),
            RiskRule::default(),
        );
        assert!(!health.at_risk);
    }

    fn tree() -> impl Strategy<Value = ProgressNode> {
        let leaf = prop::collection::vec(-2.0f64..3.0, 0..5).prop_map(|key_results| ProgressNode {
            key_results,
            children: vec![],
        });
        leaf.prop_recursive(4, 64, 4, |inner| {
            (
                prop::collection::vec(-2.0f64..3.0, 0..4),
                prop::collection::vec(inner, 0..4),
            )
                .prop_map(|(key_results, children)| ProgressNode {
                    key_results,
                    children,
                })
        })
    }

    proptest! {
        #[test]
        fn key_result_progress_is_clamped(baseline in -1e6f64..1e6, target in -1e6f64..1e6, current in -1e7f64..1e7) {
            let p = key_result_progress(baseline, target, current);
            prop_assert!((0.0..=1.0).contains(&p));
        }

        #[test]
        fn rollup_is_clamped(node in tree()) {
            prop_assert!((0.0..=1.0).contains(&node.rollup()));
        }

        #[test]
        fn rollup_equals_the_sum_of_its_parts(node in tree()) {
            let parts = node.parts();
            let clamped_sum: f64 = parts.iter().map(|p| p.clamp(0.0, 1.0)).sum();
            prop_assert!((node.rollup() * parts.len() as f64 - clamped_sum).abs() < 1e-9);
        }

        #[test]
        fn flat_rollups_equal_the_tree_rollup(node in tree()) {
            let mut objectives = Vec::new();
            let mut key_results = Vec::new();
            let mut counter = 0u128;
            fn flatten(node: &ProgressNode, parent: Option<Uuid>, counter: &mut u128, objectives: &mut Vec<Objective>, key_results: &mut Vec<KeyResult>) -> Uuid {
                *counter += 1;
                let id = Uuid::from_u128(*counter);
                let mut o = objective("2026-01-01", "2026-12-31");
                o.id = id;
                o.parent_id = parent;
                objectives.push(o);
                for p in &node.key_results {
                    *counter += 1;
                    let mut kr = key_result(p.clamp(0.0, 1.0), 5);
                    kr.id = Uuid::from_u128(*counter);
                    kr.objective_id = id;
                    key_results.push(kr);
                }
                for child in &node.children {
                    flatten(child, Some(id), counter, objectives, key_results);
                }
                id
            }
            let root = flatten(&node, None, &mut counter, &mut objectives, &mut key_results);
            objectives.reverse();
            let flat = rollups(&objectives, &key_results);
            prop_assert!((flat[&root] - node.rollup()).abs() < 1e-9);
            prop_assert_eq!(flat.len(), objectives.len());
        }

        #[test]
        fn elapsed_share_is_clamped(start in 0i64..2000, len in 0i64..400, offset in -500i64..1000) {
            let base = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
            let s = base + chrono::Days::new(start as u64);
            let e = s + chrono::Days::new(len as u64);
            let today = if offset >= 0 { s + chrono::Days::new(offset as u64) } else { s - chrono::Days::new((-offset) as u64) };
            let share = elapsed_share(s, e, today);
            prop_assert!((0.0..=1.0).contains(&share));
        }
    }
}
