//! Flows and their quality gates: the ordered stages of a value stream
//! ("Vertrieb → Auftragsklärung → Montage → Service"), the gate between two
//! stages with its criteria, and the cases that move through them.
//!
//! A criterion is checked by a person, by an AI worker (a metered call on
//! its model that answers pass or fail with its reasons) or by a rule over
//! tutti's own data. Only the checks of a case's current round at its
//! stage count: a recycled case is checked again. At a gate a verdict is given —
//! `go`, `hold` (why, and until when), `recycle` (what to redo) or `kill` —
//! and it keeps a snapshot of the criteria and their results as they were.
//! The verdict is a decision in the flow's decision space, so the space's
//! policy says who may give it; a `go` needs every criterion passed.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::refused::{Refused, RuleResult};
use crate::text_enum;
use crate::validate::{BODY_MAX, Invalid, TITLE_MAX, ValidationResult, optional_text, text};

use super::{Feasibility, Promise, PromiseHealth, PromiseRiskRule, PromiseState};

/// How many stages one flow may have (and at least two).
pub const STAGES_MAX: usize = 12;
/// How many criteria one gate may have.
pub const CRITERIA_MAX: usize = 20;
/// How long a hold lasts when the deciders chose `hold` but the proposal
/// was another verdict, so no date was given.
pub const DEFAULT_HOLD: Duration = Duration::days(7);

/// One stage of a flow, and the team that works it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stage {
    pub name: String,
    #[serde(default)]
    pub team_id: Option<Uuid>,
}

/// A value stream: its stages in order and the decision space whose policy
/// decides its gates' verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Flow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub stages: Vec<Stage>,
    pub space_id: Uuid,
    pub created_at: DateTime<Utc>,
}

impl Flow {
    /// The name of stage `position`, or `?` for one that is not there.
    pub fn stage_name(&self, position: i64) -> &str {
        usize::try_from(position)
            .ok()
            .and_then(|p| self.stages.get(p))
            .map_or("?", |s| s.name.as_str())
    }

    /// The team of stage `position`.
    pub fn stage_team(&self, position: i64) -> Option<Uuid> {
        usize::try_from(position)
            .ok()
            .and_then(|p| self.stages.get(p))
            .and_then(|s| s.team_id)
    }
}

/// A flow's name, description and stages, checked: two to [`STAGES_MAX`]
/// stages, each named, no name twice.
pub fn check_flow(
    name: &str,
    description: &str,
    stages: &[Stage],
) -> ValidationResult<(String, String, Vec<Stage>)> {
    let name = text("name", name, TITLE_MAX)?;
    let description = optional_text("description", description, BODY_MAX)?;
    if !(2..=STAGES_MAX).contains(&stages.len()) {
        return Err(Invalid::new(
            "stages",
            format!("a flow has 2 to {STAGES_MAX} stages, not {}", stages.len()),
        ));
    }
    let mut checked: Vec<Stage> = Vec::with_capacity(stages.len());
    for (i, stage) in stages.iter().enumerate() {
        let name = text(&format!("stages[{i}].name"), &stage.name, TITLE_MAX)?;
        if checked.iter().any(|s| s.name == name) {
            return Err(Invalid::new(
                format!("stages[{i}].name"),
                format!("the stage `{name}` is named twice"),
            ));
        }
        checked.push(Stage {
            name,
            team_id: stage.team_id,
        });
    }
    Ok((name, description, checked))
}

text_enum! {
    /// Who checks a criterion.
    CheckBy { Person => "person", Ai => "ai", Rule => "rule" }
}

text_enum! {
    /// The rules over tutti's own data a criterion can name.
    DataRule {
        /// Every promise of the case is signed off as feasible.
        PromisesSignedOff => "promises_signed_off",
        /// No work of the case is blocked.
        NoBlockedWork => "no_blocked_work",
        /// No open promise of the case is at risk or overdue.
        NoPromiseAtRisk => "no_promise_at_risk",
    }
}

impl DataRule {
    /// Judges the rule over the case's promises and its blocked work.
    pub fn judge(
        self,
        promises: &[Promise],
        blocked_work: i64,
        now: DateTime<Utc>,
    ) -> (bool, String) {
        match self {
            DataRule::PromisesSignedOff => {
                let missing = promises
                    .iter()
                    .filter(|p| !p.state.is_final() && p.feasibility != Feasibility::Feasible)
                    .count();
                if missing == 0 {
                    (
                        true,
                        format!("{} promises, all signed off as feasible", promises.len()),
                    )
                } else {
                    (
                        false,
                        format!("{missing} promises not signed off as feasible"),
                    )
                }
            }
            DataRule::NoBlockedWork => {
                if blocked_work == 0 {
                    (true, "no blocked work".into())
                } else {
                    (false, format!("{blocked_work} work items blocked"))
                }
            }
            DataRule::NoPromiseAtRisk => {
                let endangered = promises
                    .iter()
                    .filter(|p| {
                        p.state == PromiseState::Open
                            && matches!(
                                p.health(now, PromiseRiskRule::default()),
                                PromiseHealth::AtRisk | PromiseHealth::Overdue
                            )
                    })
                    .count();
                if endangered == 0 {
                    (true, "no promise at risk".into())
                } else {
                    (false, format!("{endangered} promises at risk or overdue"))
                }
            }
        }
    }
}

/// One criterion of a gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Criterion {
    /// What must hold ("Liefertermin mit Montage abgestimmt").
    pub text: String,
    pub check_by: CheckBy,
    /// The rule, for a criterion checked by a rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<DataRule>,
    /// The AI worker, for a criterion checked by an AI worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<Uuid>,
}

/// A gate's criteria, checked: at most [`CRITERIA_MAX`], each with a text
/// given once, a rule exactly when a rule checks it, a worker exactly when
/// an AI worker does.
pub fn check_criteria(criteria: &[Criterion]) -> ValidationResult<Vec<Criterion>> {
    if criteria.len() > CRITERIA_MAX {
        return Err(Invalid::new(
            "criteria",
            format!(
                "{} criteria; at most {CRITERIA_MAX} are allowed",
                criteria.len()
            ),
        ));
    }
    let mut checked: Vec<Criterion> = Vec::with_capacity(criteria.len());
    for (i, c) in criteria.iter().enumerate() {
        let field = |name: &str| format!("criteria[{i}].{name}");
        let text = text(&field("text"), &c.text, TITLE_MAX)?;
        if checked.iter().any(|k| k.text == text) {
            return Err(Invalid::new(
                field("text"),
                format!("the criterion `{text}` is there twice"),
            ));
        }
        match (c.check_by, c.rule, c.worker_id) {
            (CheckBy::Rule, None, _) => {
                return Err(Invalid::new(
                    field("rule"),
                    format!(
                        "a criterion checked by a rule names it: {}",
                        DataRule::ALL
                            .iter()
                            .map(|r| r.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            (CheckBy::Ai, _, None) => {
                return Err(Invalid::new(
                    field("worker_id"),
                    "a criterion checked by an AI worker names the worker",
                ));
            }
            (CheckBy::Person | CheckBy::Ai, Some(_), _) => {
                return Err(Invalid::new(
                    field("rule"),
                    "only a rule criterion names a rule",
                ));
            }
            (CheckBy::Person | CheckBy::Rule, _, Some(_)) => {
                return Err(Invalid::new(
                    field("worker_id"),
                    "only a criterion checked by an AI worker names a worker",
                ));
            }
            _ => {}
        }
        checked.push(Criterion {
            text,
            check_by: c.check_by,
            rule: c.rule,
            worker_id: c.worker_id,
        });
    }
    Ok(checked)
}

/// The gate after stage `position`, into the next; its criteria are
/// versioned, and each change (by hand or by an accepted learning) makes a
/// new version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gate {
    pub id: Uuid,
    pub flow_id: Uuid,
    /// The stage before the gate; the case goes on to `position + 1`.
    pub position: i64,
    pub name: String,
    pub criteria: Vec<Criterion>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

/// One version of a gate's criteria, and what made it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateVersion {
    pub version: i64,
    pub criteria: Vec<Criterion>,
    /// The accepted learning that made it, if one did.
    pub learning_id: Option<Uuid>,
    pub changed_by: Option<Uuid>,
    pub at: DateTime<Utc>,
}

/// The name of the gate between two stages.
pub fn gate_name(from: &str, to: &str) -> String {
    format!("{from} → {to}")
}

text_enum! {
    /// `active` at its stage, `on_hold` until a date, `killed` (final), or
    /// `completed` once past the last gate.
    CaseStatus { Active => "active", OnHold => "on_hold", Killed => "killed", Completed => "completed" }
}

impl CaseStatus {
    /// Killed and completed cases take no more checks or verdicts.
    pub fn is_final(self) -> bool {
        matches!(self, CaseStatus::Killed | CaseStatus::Completed)
    }
}

/// An order, a project or a customer request moving through a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Case {
    pub id: Uuid,
    pub flow_id: Uuid,
    pub title: String,
    pub customer: String,
    /// The work item the case rests on; its promises are the case's.
    pub work_item_id: Option<Uuid>,
    /// The stage it is at, from 0.
    pub stage: i64,
    pub status: CaseStatus,
    /// Since when it is at its stage (a recycle starts the stage again).
    pub stage_since: DateTime<Utc>,
    /// Counts the times a stage started (each go and each recycle); only
    /// the checks of the current round count.
    pub round: i64,
    pub hold_until: Option<DateTime<Utc>>,
    pub hold_reason: String,
    /// What to redo, after a recycle.
    pub redo: String,
    pub opened_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Case {
    /// Whether a hold has run past its date at `now`.
    pub fn hold_overdue(&self, now: DateTime<Utc>) -> bool {
        self.status == CaseStatus::OnHold && self.hold_until.is_some_and(|until| until < now)
    }

    /// Whether the case may be judged at `gate` now: it is at the gate's
    /// stage and neither killed nor through the flow.
    pub fn may_be_judged_at(&self, gate: &Gate) -> RuleResult<()> {
        match self.status {
            CaseStatus::Killed => {
                return Err(Refused::conflict("the case was killed; it stays so"));
            }
            CaseStatus::Completed => {
                return Err(Refused::conflict("the case has passed every gate"));
            }
            CaseStatus::Active | CaseStatus::OnHold => {}
        }
        if gate.position != self.stage {
            return Err(Refused::conflict(format!(
                "the case is at another stage; the gate `{}` judges cases at the stage before it",
                gate.name
            )));
        }
        Ok(())
    }

    /// Applies a given verdict at `now`; `stages` is the flow's count.
    pub fn apply(&mut self, terms: &VerdictTerms, stages: usize, now: DateTime<Utc>) {
        match terms.verdict {
            Verdict::Go => {
                self.stage += 1;
                self.round += 1;
                self.stage_since = now;
                self.hold_until = None;
                self.hold_reason.clear();
                self.redo.clear();
                self.status = if self.stage + 1 >= i64::try_from(stages).unwrap_or(i64::MAX) {
                    CaseStatus::Completed
                } else {
                    CaseStatus::Active
                };
            }
            Verdict::Hold => {
                self.status = CaseStatus::OnHold;
                self.hold_until = terms.until;
                self.hold_reason = terms.reason.clone();
            }
            Verdict::Recycle => {
                self.status = CaseStatus::Active;
                self.round += 1;
                self.stage_since = now;
                self.hold_until = None;
                self.hold_reason.clear();
                self.redo = terms.redo.clone();
            }
            Verdict::Kill => self.status = CaseStatus::Killed,
        }
        self.updated_at = now;
    }
}

text_enum! {
    /// A gate's verdict on a case. Named `GateVerdictKind` in the API's
    /// schemas: `Verdict` there is a review's (accept, revise, reject).
    #[cfg_attr(feature = "openapi", schema(as = GateVerdictKind))]
    Verdict { Go => "go", Hold => "hold", Recycle => "recycle", Kill => "kill" }
}

impl Verdict {
    /// How a verdict looks to a space's policy: a kill cannot be undone and
    /// is high risk, a go moves the customer on (medium), a hold or a
    /// recycle keeps the case where it is (low).
    pub fn risk(self) -> crate::decision::Risk {
        use crate::decision::Risk;
        match self {
            Verdict::Go => Risk::Medium,
            Verdict::Hold | Verdict::Recycle => Risk::Low,
            Verdict::Kill => Risk::High,
        }
    }

    pub fn reversible(self) -> bool {
        self != Verdict::Kill
    }
}

/// A verdict with what it needs: a hold a reason and a date after now, a
/// recycle what to redo, a kill a reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VerdictTerms {
    pub verdict: Verdict,
    pub reason: String,
    pub until: Option<DateTime<Utc>>,
    pub redo: String,
}

impl VerdictTerms {
    /// The terms, checked at `now`.
    pub fn parse(
        verdict: Verdict,
        reason: &str,
        until: Option<DateTime<Utc>>,
        redo: &str,
        now: DateTime<Utc>,
    ) -> ValidationResult<Self> {
        let reason = optional_text("reason", reason, BODY_MAX)?;
        let redo = optional_text("redo", redo, BODY_MAX)?;
        match verdict {
            Verdict::Hold => {
                if reason.is_empty() {
                    return Err(Invalid::new("reason", "say why the case is held"));
                }
                match until {
                    None => return Err(Invalid::new("until", "say until when the case is held")),
                    Some(until) if until <= now => {
                        return Err(Invalid::new("until", "a hold lasts until a time after now"));
                    }
                    Some(_) => {}
                }
            }
            Verdict::Recycle if redo.is_empty() => {
                return Err(Invalid::new("redo", "say what the stage must redo"));
            }
            Verdict::Kill if reason.is_empty() => {
                return Err(Invalid::new("reason", "say why the case is killed"));
            }
            _ => {}
        }
        if verdict != Verdict::Hold && until.is_some() {
            return Err(Invalid::new("until", "only a hold has a date"));
        }
        if verdict != Verdict::Recycle && !redo.is_empty() {
            return Err(Invalid::new("redo", "only a recycle says what to redo"));
        }
        Ok(Self {
            verdict,
            reason,
            until,
            redo,
        })
    }

    /// The terms a gate's deciders gave: the proposal's own when they chose
    /// its verdict, otherwise the chosen verdict with their reason (a hold
    /// lasting [`DEFAULT_HOLD`]). `None` when the choice names no verdict.
    pub fn as_decided(
        &self,
        choice: &str,
        reason: Option<&str>,
        decided_at: DateTime<Utc>,
    ) -> Option<VerdictTerms> {
        let verdict: Verdict = choice.parse().ok()?;
        if verdict == self.verdict {
            return Some(self.clone());
        }
        let reason = reason
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or("chosen by the gate's deciders")
            .to_owned();
        Some(VerdictTerms {
            verdict,
            until: (verdict == Verdict::Hold).then(|| decided_at + DEFAULT_HOLD),
            redo: if verdict == Verdict::Recycle {
                reason.clone()
            } else {
                String::new()
            },
            reason,
        })
    }
}

text_enum! {
    /// Where a criterion stands for a case.
    CheckOutcome { Passed => "passed", Failed => "failed", Pending => "pending", Unchecked => "unchecked" }
}

/// A check of one criterion for one case at one gate: by a person at once,
/// by an AI worker once its call answered (`pending` until then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CriterionCheck {
    pub id: Uuid,
    pub case_id: Uuid,
    pub gate_id: Uuid,
    /// The criterion's text when it was checked.
    pub criterion: String,
    pub check_by: CheckBy,
    /// The case's round it was made in (see [`Case::round`]).
    pub round: i64,
    pub outcome: CheckOutcome,
    pub reason: String,
    /// The person who checked, or the AI worker.
    pub checked_by: Uuid,
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
    pub checked_at: Option<DateTime<Utc>>,
}

/// One criterion and its result, as a verdict keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CriterionResult {
    pub text: String,
    pub check_by: CheckBy,
    pub outcome: CheckOutcome,
    pub reason: String,
    pub checked_by: Option<Uuid>,
    pub checked_at: Option<DateTime<Utc>>,
    pub check_id: Option<Uuid>,
}

/// The criteria of `gate` for a case in its `round` at the stage, with
/// their results: a rule's from `judge`, a person's or an AI worker's from
/// the latest check of that criterion made in that round.
pub fn snapshot(
    gate: &Gate,
    checks: &[CriterionCheck],
    round: i64,
    judge: impl Fn(DataRule) -> (bool, String),
) -> Vec<CriterionResult> {
    gate.criteria
        .iter()
        .map(|criterion| {
            if let (CheckBy::Rule, Some(rule)) = (criterion.check_by, criterion.rule) {
                let (passed, reason) = judge(rule);
                return CriterionResult {
                    text: criterion.text.clone(),
                    check_by: CheckBy::Rule,
                    outcome: if passed {
                        CheckOutcome::Passed
                    } else {
                        CheckOutcome::Failed
                    },
                    reason,
                    checked_by: None,
                    checked_at: None,
                    check_id: None,
                };
            }
            let latest = checks
                .iter()
                .filter(|c| {
                    c.gate_id == gate.id && c.criterion == criterion.text && c.round == round
                })
                .max_by_key(|c| (c.requested_at, c.id));
            match latest {
                Some(check) => CriterionResult {
                    text: criterion.text.clone(),
                    check_by: criterion.check_by,
                    outcome: check.outcome,
                    reason: check.reason.clone(),
                    checked_by: Some(check.checked_by),
                    checked_at: check.checked_at,
                    check_id: Some(check.id),
                },
                None => CriterionResult {
                    text: criterion.text.clone(),
                    check_by: criterion.check_by,
                    outcome: CheckOutcome::Unchecked,
                    reason: String::new(),
                    checked_by: None,
                    checked_at: None,
                    check_id: None,
                },
            }
        })
        .collect()
}

/// A `go` needs every criterion passed; the refusal names the others.
pub fn may_go(snapshot: &[CriterionResult]) -> RuleResult<()> {
    let open: Vec<String> = snapshot
        .iter()
        .filter(|r| r.outcome != CheckOutcome::Passed)
        .map(|r| format!("`{}` ({})", r.text, r.outcome))
        .collect();
    if open.is_empty() {
        Ok(())
    } else {
        Err(Refused::conflict(format!(
            "a go needs every criterion passed; not passed: {}",
            open.join(", ")
        )))
    }
}

text_enum! {
    /// A verdict waits on its decision, then is given or refused.
    VerdictStatus { Pending => "pending", Given => "given", Refused => "refused" }
}

/// A verdict at a gate, as proposed and as settled by its decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GateVerdict {
    pub id: Uuid,
    pub case_id: Uuid,
    pub gate_id: Uuid,
    /// The version of the gate's criteria judged.
    pub gate_version: i64,
    /// What was proposed.
    pub proposed: VerdictTerms,
    /// What was given, once the decision settled it.
    pub given: Option<VerdictTerms>,
    pub status: VerdictStatus,
    /// Why it was refused, or which decision gave it.
    pub note: String,
    /// The criteria and their results when the verdict was proposed.
    pub snapshot: Vec<CriterionResult>,
    pub decision_id: Uuid,
    pub proposed_by: Uuid,
    pub proposed_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
}

impl GateVerdict {
    /// Settles the verdict once its decision is final: decided on a
    /// verdict, it is given (a `go` only with every criterion of the
    /// snapshot passed); rejected, it is refused. Returns the terms to apply
    /// to the case, if any.
    pub fn settle(
        &mut self,
        decision: &crate::decision::Decision,
        now: DateTime<Utc>,
    ) -> Option<VerdictTerms> {
        use crate::decision::DecisionStatus;
        if self.status != VerdictStatus::Pending || !decision.status.is_final() {
            return None;
        }
        self.settled_at = Some(now);
        let decided = (decision.status == DecisionStatus::Decided)
            .then_some(decision.choice.as_deref())
            .flatten()
            .and_then(|choice| {
                self.proposed.as_decided(
                    choice,
                    decision.reason.as_deref(),
                    decision.decided_at.unwrap_or(now),
                )
            });
        let Some(terms) = decided else {
            self.status = VerdictStatus::Refused;
            self.note = format!(
                "the decision was {}: {}",
                decision.status,
                decision.reason.as_deref().unwrap_or("no reason given")
            );
            return None;
        };
        if terms.verdict == Verdict::Go
            && let Err(why) = may_go(&self.snapshot)
        {
            self.status = VerdictStatus::Refused;
            self.note = why.to_string();
            return None;
        }
        self.status = VerdictStatus::Given;
        self.note = format!("given by decision {}", decision.id);
        self.given = Some(terms.clone());
        Some(terms)
    }
}

/// How often a gate sends cases back: recycles over verdicts given, once at
/// least `min_verdicts` were given; `None` before.
pub fn recycle_rate(given: &[Verdict], min_verdicts: usize) -> Option<f64> {
    if given.len() < min_verdicts.max(1) {
        return None;
    }
    let recycled = given.iter().filter(|v| **v == Verdict::Recycle).count();
    Some(recycled as f64 / given.len() as f64)
}

/// What a gate's verdict tells the space's policy: no amount, the
/// verdict's risk and reversibility, customer-facing (a case is a
/// customer's), and — when the space declares them as strings — the
/// `verdict` and the `gate`.
pub fn verdict_facts(
    verdict: Verdict,
    gate: &str,
    declared: &std::collections::BTreeMap<String, crate::decision::AttributeType>,
) -> crate::decision::Facts {
    use crate::decision::{AttributeType, AttributeValue};
    let mut attributes = std::collections::BTreeMap::new();
    for (name, value) in [("verdict", verdict.as_str()), ("gate", gate)] {
        if declared.get(name) == Some(&AttributeType::String) {
            attributes.insert(name.to_owned(), AttributeValue::String(value.to_owned()));
        }
    }
    crate::decision::Facts {
        amount_minor: 0,
        currency: "EUR".into(),
        risk: verdict.risk(),
        reversible: verdict.reversible(),
        customer_facing: true,
        attributes,
    }
}

/// The work order for an AI worker checking one criterion of a case.
pub fn render_check_order(
    criterion: &str,
    case: &Case,
    flow: &Flow,
    gate: &Gate,
    facts: &[String],
) -> String {
    let mut order = format!(
        "# Quality gate check\n\nFlow: {}\nGate: {}\nCase: {}",
        flow.name, gate.name, case.title
    );
    if !case.customer.is_empty() {
        order.push_str(&format!(" (customer: {})", case.customer));
    }
    order.push_str(&format!("\n\n## Criterion\n{criterion}\n"));
    if !facts.is_empty() {
        order.push_str("\n## What tutti knows about the case\n");
        for fact in facts {
            order.push_str(&format!("- {fact}\n"));
        }
    }
    order.push_str(
        "\nDoes the case meet the criterion? Answer `pass` or `fail`, then a colon and your reasons in one line.\n",
    );
    order
}

/// The shape of an answer to [`render_check_order`] as a GBNF grammar.
pub const CHECK_GRAMMAR: &str = "root ::= (\"pass\" | \"fail\") \": \" word \" \" [^\\n]+\nword ::= [A-Za-zÄÖÜäöüß] [A-Za-zÄÖÜäöüß]*\n";

/// Reads an AI worker's answer to [`render_check_order`]: `pass` or `fail`
/// first, then the reasons. An answer that says neither leaves the
/// criterion unchecked, saying so.
pub fn read_check(answer: &str) -> (CheckOutcome, String) {
    let answer = answer.trim();
    let lower = answer.to_lowercase();
    let (outcome, rest) = if lower.starts_with("pass") {
        (CheckOutcome::Passed, &answer[4..])
    } else if lower.starts_with("fail") {
        (CheckOutcome::Failed, &answer[4..])
    } else {
        let shown: String = answer.chars().take(200).collect();
        return (
            CheckOutcome::Unchecked,
            format!("the AI worker's answer said neither pass nor fail: “{shown}”"),
        );
    };
    let reasons: String = rest
        .trim_start_matches([':', ' '])
        .trim()
        .chars()
        .take(BODY_MAX)
        .collect();
    (outcome, reasons)
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, hour, 0, 0).unwrap()
    }

    fn person(text: &str) -> Criterion {
        Criterion {
            text: text.into(),
            check_by: CheckBy::Person,
            rule: None,
            worker_id: None,
        }
    }

    fn gate(criteria: Vec<Criterion>) -> Gate {
        Gate {
            id: Uuid::from_u128(7),
            flow_id: Uuid::from_u128(1),
            position: 0,
            name: gate_name("Vertrieb", "Montage"),
            criteria,
            version: 1,
            updated_at: at(8),
        }
    }

    fn case() -> Case {
        Case {
            id: Uuid::from_u128(3),
            flow_id: Uuid::from_u128(1),
            title: "Heizung Hoffmann".into(),
            customer: "Familie Hoffmann".into(),
            work_item_id: None,
            stage: 0,
            status: CaseStatus::Active,
            stage_since: at(8),
            round: 1,
            hold_until: None,
            hold_reason: String::new(),
            redo: String::new(),
            opened_by: Uuid::from_u128(9),
            created_at: at(8),
            updated_at: at(8),
        }
    }

    fn check_in_round(
        criterion: &str,
        outcome: CheckOutcome,
        hour: u32,
        round: i64,
    ) -> CriterionCheck {
        CriterionCheck {
            id: Uuid::now_v7(),
            case_id: Uuid::from_u128(3),
            gate_id: Uuid::from_u128(7),
            criterion: criterion.into(),
            check_by: CheckBy::Person,
            round,
            outcome,
            reason: format!("{outcome} at {hour}"),
            checked_by: Uuid::from_u128(9),
            requested_by: Uuid::from_u128(9),
            requested_at: at(hour),
            checked_at: Some(at(hour)),
        }
    }

    #[test]
    fn a_flow_has_two_to_twelve_distinct_stages() {
        let stage = |name: &str| Stage {
            name: name.into(),
            team_id: None,
        };
        assert!(
            check_flow("Auftrag", "", &[stage("Vertrieb")]).is_err_and(|e| e.field == "stages")
        );
        let twice = check_flow("Auftrag", "", &[stage("Vertrieb"), stage(" Vertrieb ")]);
        assert!(twice.is_err_and(|e| e.field == "stages[1].name"));
        assert!(check_flow("Auftrag", "", &vec![stage("x"); STAGES_MAX + 1]).is_err());
        let (_, _, stages) =
            check_flow("Auftrag", "", &[stage("Vertrieb"), stage("Montage")]).unwrap();
        assert_eq!(stages.len(), 2);
    }

    #[test]
    fn a_criterion_names_its_rule_or_worker_exactly_when_it_needs_one() {
        let rule = Criterion {
            check_by: CheckBy::Rule,
            ..person("Alle Zusagen abgesichert")
        };
        assert!(
            check_criteria(std::slice::from_ref(&rule))
                .is_err_and(|e| e.field == "criteria[0].rule")
        );
        let ai = Criterion {
            check_by: CheckBy::Ai,
            ..person("Angebot vollständig")
        };
        assert!(
            check_criteria(std::slice::from_ref(&ai))
                .is_err_and(|e| e.field == "criteria[0].worker_id")
        );
        let person_with_rule = Criterion {
            rule: Some(DataRule::NoBlockedWork),
            ..person("x")
        };
        assert!(check_criteria(&[person_with_rule]).is_err());
        assert!(
            check_criteria(&[person("a"), person(" a")])
                .is_err_and(|e| e.field == "criteria[1].text")
        );
        let fine = [
            Criterion {
                rule: Some(DataRule::PromisesSignedOff),
                ..rule
            },
            Criterion {
                worker_id: Some(Uuid::from_u128(5)),
                ..ai
            },
            person("Termin abgestimmt"),
        ];
        assert_eq!(check_criteria(&fine).unwrap().len(), 3);
    }

    #[test]
    fn only_checks_of_the_current_round_count_and_the_latest_wins() {
        let gate = gate(vec![
            person("Termin abgestimmt"),
            person("Material bestellt"),
        ]);
        let checks = [
            check_in_round("Termin abgestimmt", CheckOutcome::Passed, 7, 1),
            check_in_round("Material bestellt", CheckOutcome::Failed, 9, 2),
            check_in_round("Material bestellt", CheckOutcome::Passed, 10, 2),
        ];
        let shot = snapshot(&gate, &checks, 2, |_| (true, String::new()));
        assert_eq!(
            shot[0].outcome,
            CheckOutcome::Unchecked,
            "a check of an earlier round"
        );
        assert_eq!(shot[1].outcome, CheckOutcome::Passed);
        assert!(may_go(&shot).is_err_and(|e| e.to_string().contains("Termin abgestimmt")));
        let first = snapshot(&gate, &checks, 1, |_| (true, String::new()));
        assert_eq!(first[0].outcome, CheckOutcome::Passed);
        assert_eq!(first[1].outcome, CheckOutcome::Unchecked);
    }

    #[test]
    fn a_rule_criterion_is_judged_over_the_data() {
        let gate = gate(vec![Criterion {
            check_by: CheckBy::Rule,
            rule: Some(DataRule::NoBlockedWork),
            ..person("Nichts blockiert")
        }]);
        let shot = snapshot(&gate, &[], 1, |rule| DataRule::judge(rule, &[], 2, at(8)));
        assert_eq!(shot[0].outcome, CheckOutcome::Failed);
        assert_eq!(shot[0].reason, "2 work items blocked");
    }

    #[test]
    fn hold_recycle_and_kill_say_what_they_need() {
        let now = at(8);
        assert!(
            VerdictTerms::parse(Verdict::Hold, "Kunde im Urlaub", None, "", now)
                .is_err_and(|e| e.field == "until")
        );
        assert!(
            VerdictTerms::parse(Verdict::Hold, "", Some(at(9)), "", now)
                .is_err_and(|e| e.field == "reason")
        );
        assert!(
            VerdictTerms::parse(Verdict::Hold, "x", Some(at(7)), "", now)
                .is_err_and(|e| e.field == "until")
        );
        assert!(
            VerdictTerms::parse(Verdict::Recycle, "", None, "", now)
                .is_err_and(|e| e.field == "redo")
        );
        assert!(
            VerdictTerms::parse(Verdict::Kill, "", None, "", now)
                .is_err_and(|e| e.field == "reason")
        );
        assert!(
            VerdictTerms::parse(Verdict::Go, "", Some(at(9)), "", now)
                .is_err_and(|e| e.field == "until")
        );
        assert!(VerdictTerms::parse(Verdict::Go, "", None, "", now).is_ok());
    }

    #[test]
    fn go_moves_on_recycle_starts_the_stage_again_and_the_last_go_completes() {
        let mut case = case();
        let go = VerdictTerms::parse(Verdict::Go, "", None, "", at(9)).unwrap();
        case.apply(&go, 3, at(9));
        assert_eq!(
            (case.stage, case.status, case.round),
            (1, CaseStatus::Active, 2)
        );
        let recycle =
            VerdictTerms::parse(Verdict::Recycle, "", None, "Aufmaß fehlt", at(10)).unwrap();
        case.apply(&recycle, 3, at(10));
        assert_eq!(
            (case.stage, case.round, case.redo.as_str()),
            (1, 3, "Aufmaß fehlt")
        );
        case.apply(&go, 3, at(11));
        assert_eq!((case.stage, case.status), (2, CaseStatus::Completed));
        assert!(case.may_be_judged_at(&gate(vec![])).is_err());
    }

    #[test]
    fn a_gate_judges_only_cases_at_its_stage() {
        let mut case = case();
        let mut at_next = gate(vec![]);
        at_next.position = 1;
        assert!(case.may_be_judged_at(&at_next).is_err());
        assert!(case.may_be_judged_at(&gate(vec![])).is_ok());
        case.status = CaseStatus::Killed;
        assert!(case.may_be_judged_at(&gate(vec![])).is_err());
    }

    #[test]
    fn a_hold_is_overdue_only_past_its_date() {
        let mut case = case();
        let hold =
            VerdictTerms::parse(Verdict::Hold, "Kunde verreist", Some(at(12)), "", at(8)).unwrap();
        case.apply(&hold, 3, at(8));
        assert!(!case.hold_overdue(at(11)));
        assert!(case.hold_overdue(at(13)));
    }

    #[test]
    fn an_ai_check_reads_pass_or_fail_first_and_nothing_else() {
        assert_eq!(
            read_check("pass: Termin steht"),
            (CheckOutcome::Passed, "Termin steht".into())
        );
        assert_eq!(read_check(" FAIL: Aufmaß fehlt").0, CheckOutcome::Failed);
        let (outcome, why) = read_check("Ich denke schon");
        assert_eq!(outcome, CheckOutcome::Unchecked);
        assert!(why.contains("neither pass nor fail"));
    }

    #[test]
    fn a_verdict_shows_the_policy_its_risk_and_declared_attributes_only() {
        use crate::decision::{AttributeType, Risk};
        let declared =
            std::collections::BTreeMap::from([("verdict".to_owned(), AttributeType::String)]);
        let facts = verdict_facts(Verdict::Kill, "Vertrieb → Montage", &declared);
        assert_eq!((facts.risk, facts.reversible), (Risk::High, false));
        assert_eq!(facts.attributes.len(), 1);
        assert!(
            verdict_facts(Verdict::Go, "g", &Default::default())
                .attributes
                .is_empty()
        );
    }

    #[test]
    fn the_recycle_rate_waits_for_enough_verdicts() {
        use Verdict::*;
        assert_eq!(recycle_rate(&[Recycle, Go], 4), None);
        assert_eq!(recycle_rate(&[Recycle, Go, Go, Recycle], 4), Some(0.5));
    }

    fn decision(status: &str, choice: Option<&str>) -> crate::decision::Decision {
        serde_json::from_value(serde_json::json!({
            "id": Uuid::from_u128(11), "space_id": Uuid::from_u128(12), "question": "q", "context": "",
            "facts": { "amount_minor": 0, "currency": "EUR", "risk": "low", "reversible": true, "customer_facing": false },
            "options": ["go", "hold", "recycle", "kill"], "requested_by": Uuid::from_u128(9),
            "assignee_id": null, "run_id": null, "status": status,
            "routing": { "autonomy": "human_only", "quorum": 1, "verdicts": [], "explanation": "" },
            "space_version": 1, "recommendation": null, "ballots": [], "choice": choice,
            "decided_by": null, "reason": "Aufmaß nachholen", "decided_at": at(10), "deadline": null,
            "escalated_to": null, "escalated_at": null, "escalation": null, "outcome": null,
            "outcome_note": null, "outcome_by": null, "outcome_at": null,
            "created_at": at(9), "updated_at": at(10)
        }))
        .unwrap()
    }

    fn pending(proposed: Verdict, snapshot: Vec<CriterionResult>) -> GateVerdict {
        GateVerdict {
            id: Uuid::from_u128(13),
            case_id: Uuid::from_u128(3),
            gate_id: Uuid::from_u128(7),
            gate_version: 1,
            proposed: VerdictTerms {
                verdict: proposed,
                reason: String::new(),
                until: None,
                redo: String::new(),
            },
            given: None,
            status: VerdictStatus::Pending,
            note: String::new(),
            snapshot,
            decision_id: Uuid::from_u128(11),
            proposed_by: Uuid::from_u128(9),
            proposed_at: at(9),
            settled_at: None,
        }
    }

    #[test]
    fn a_verdict_is_given_as_its_decision_decided_and_a_go_only_on_passed_criteria() {
        let open = snapshot(&gate(vec![person("Termin")]), &[], 1, |_| {
            (true, String::new())
        });
        let mut go = pending(Verdict::Go, open.clone());
        assert!(
            go.settle(&decision("awaiting_approval", None), at(10))
                .is_none()
        );
        assert_eq!(go.status, VerdictStatus::Pending);
        assert!(
            go.settle(&decision("decided", Some("go")), at(10))
                .is_none()
        );
        assert_eq!(
            go.status,
            VerdictStatus::Refused,
            "a go over an unchecked criterion"
        );
        let mut chosen = pending(Verdict::Go, open);
        let terms = chosen
            .settle(&decision("decided", Some("recycle")), at(10))
            .unwrap();
        assert_eq!(
            (terms.verdict, terms.redo.as_str()),
            (Verdict::Recycle, "Aufmaß nachholen")
        );
        let mut rejected = pending(Verdict::Hold, vec![]);
        assert!(
            rejected
                .settle(&decision("rejected", None), at(10))
                .is_none()
        );
        assert_eq!(rejected.status, VerdictStatus::Refused);
        assert!(
            rejected
                .settle(&decision("decided", Some("hold")), at(11))
                .is_none(),
            "settled once"
        );
    }

    proptest! {
        /// Whatever verdicts follow one another, a case never leaves its
        /// flow's stages, never comes back from a kill, and its stage only
        /// moves forward, one at a time, on a go.
        #[test]
        fn a_case_moves_forward_one_stage_per_go_and_a_kill_is_final(
            verdicts in proptest::collection::vec(0usize..4, 0..30),
            stages in 2usize..6,
        ) {
            let mut case = case();
            for (i, pick) in verdicts.into_iter().enumerate() {
                let verdict = Verdict::ALL[pick];
                let now = at(9) + Duration::minutes(i as i64);
                let gate = Gate { position: case.stage, ..gate(vec![]) };
                let before = case.clone();
                if case.may_be_judged_at(&gate).is_err() {
                    prop_assert!(matches!(case.status, CaseStatus::Killed | CaseStatus::Completed));
                    continue;
                }
                let terms = VerdictTerms {
                    verdict,
                    reason: "r".into(),
                    until: (verdict == Verdict::Hold).then(|| now + Duration::days(1)),
                    redo: if verdict == Verdict::Recycle { "r".into() } else { String::new() },
                };
                case.apply(&terms, stages, now);
                let moved = case.stage - before.stage;
                prop_assert_eq!(moved, i64::from(verdict == Verdict::Go));
                prop_assert!(case.stage < stages as i64);
                prop_assert_eq!(case.status == CaseStatus::Killed, verdict == Verdict::Kill);
            }
        }
    }
}
