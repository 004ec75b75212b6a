//! Decision spaces and decisions: what a decision states about itself, the
//! autonomy a policy grants an AI worker for it, and the rules by which
//! people's votes close it.
//!
//! The policy itself is evaluated by `tutti-policy` (Cedar); what is here is
//! pure and independent of it: the facts a policy sees, the verdicts it gives,
//! the tally of approvals — a quorum of distinct people agreeing on one
//! option, never the requester alone — and a decision's life from its routing
//! to its outcome (`lifecycle`), and what makes a space well-formed (`space`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text_enum;
use crate::validate::{Invalid, ValidationResult};

mod lifecycle;
mod space;

pub use lifecycle::*;
pub use space::*;

text_enum! {
    /// What the policy lets the assigned AI worker do with a decision.
    Autonomy { AiDecides => "ai_decides", AiPrepares => "ai_prepares", HumanOnly => "human_only" }
}

text_enum! {
    /// `open` (waiting for the AI worker's proposal) → `awaiting_approval` →
    /// `decided` | `rejected`; past its deadline a waiting decision becomes
    /// `escalated`, and is then still decided or rejected by people.
    DecisionStatus {
        Open => "open",
        AwaitingApproval => "awaiting_approval",
        Escalated => "escalated",
        Decided => "decided",
        Rejected => "rejected",
    }
}

impl DecisionStatus {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Decided | Self::Rejected)
    }

    /// Whether people's votes are being collected.
    pub fn takes_votes(self) -> bool {
        matches!(self, Self::AwaitingApproval | Self::Escalated)
    }
}

text_enum! {
    Risk { Low => "low", Medium => "medium", High => "high" }
}

text_enum! {
    /// The actions of the Cedar schema.
    PolicyAction { Prepare => "prepare", Decide => "decide", Approve => "approve", Escalate => "escalate" }
}

text_enum! {
    Vote { Approve => "approve", Reject => "reject" }
}

text_enum! {
    /// Looking back: did the decision turn out well?
    Outcome { Good => "good", Bad => "bad", Unclear => "unclear" }
}

text_enum! {
    /// The type of an attribute a space declares for its decisions.
    AttributeType { Long => "long", String => "string", Bool => "bool" }
}

/// A declared attribute's value on a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum AttributeValue {
    Bool(bool),
    Long(i64),
    String(String),
}

impl AttributeValue {
    pub fn kind(&self) -> AttributeType {
        match self {
            Self::Bool(_) => AttributeType::Bool,
            Self::Long(_) => AttributeType::Long,
            Self::String(_) => AttributeType::String,
        }
    }
}

/// The attribute names every decision has; a space cannot declare them again.
pub const STANDARD_ATTRIBUTES: &[&str] = &[
    "amount",
    "currency",
    "risk",
    "reversible",
    "customer_facing",
];

/// What a policy sees of a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facts {
    /// In the currency's minor unit (cents). Policies see whole units, rounded
    /// up, so 999.01 € never slips under a 1 000 € line.
    pub amount_minor: i64,
    pub currency: String,
    pub risk: Risk,
    pub reversible: bool,
    pub customer_facing: bool,
    /// The attributes the space declares.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeValue>,
}

impl Facts {
    /// The amount in whole units, rounded up, as policies see it.
    pub fn whole_amount(&self) -> i64 {
        self.amount_minor.div_euclid(100) + i64::from(self.amount_minor.rem_euclid(100) != 0)
    }
}

/// Reads an amount given in the currency's major unit with at most two
/// decimals (`500`, `499.5`, `"1234.56"`) into minor units.
pub fn parse_amount(field: &str, value: &str) -> ValidationResult<i64> {
    let bad = || {
        Invalid::new(
            field,
            format!("`{value}` is not an amount: expected up to two decimals, like 1234.50"),
        )
    };
    let value = value.trim();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || fraction.len() > 2
        || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let cents: i64 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(cents))
        .filter(|v| *v <= MAX_AMOUNT_MINOR)
        .ok_or_else(|| Invalid::new(field, "the amount is too large"))
}

/// A trillion in major units: more than any decision a team makes.
pub const MAX_AMOUNT_MINOR: i64 = 100_000_000_000_000;

/// The regular expression (for an API document's `pattern`) that matches
/// exactly the texts [`parse_amount`] accepts: white space around, digits,
/// at most two decimals, at most [`MAX_AMOUNT_MINOR`].
pub fn amount_pattern() -> String {
    use crate::validate::SPACE;
    // The largest whole amount is a one and zeros: below it any number of
    // digits one fewer (after leading zeros), or it exactly, with no cents.
    let largest = MAX_AMOUNT_MINOR / 100;
    let fewer = largest.to_string().len() - 1;
    format!(
        r"^[{SPACE}]*0*(?:[0-9]{{1,{fewer}}}(?:\.[0-9]{{0,2}})?|{largest}(?:\.0{{0,2}})?)[{SPACE}]*$"
    )
}

/// Formats minor units as a plain amount: `50000` → `500.00`.
pub fn format_amount(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// Checks a decision's attributes against what its space declares: every
/// declared one present with its type, nothing else.
pub fn check_attributes(
    declared: &BTreeMap<String, AttributeType>,
    given: &BTreeMap<String, AttributeValue>,
) -> ValidationResult<()> {
    for (name, kind) in declared {
        match given.get(name) {
            None => {
                return Err(Invalid::new(
                    format!("attributes.{name}"),
                    format!("the space requires `{name}` ({kind})"),
                ));
            }
            Some(value) if value.kind() != *kind => {
                return Err(Invalid::new(
                    format!("attributes.{name}"),
                    format!("expected a {kind}, got a {}", value.kind()),
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(name) = given.keys().find(|name| !declared.contains_key(*name)) {
        let known = declared
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Invalid::new(
            format!("attributes.{name}"),
            if known.is_empty() {
                "the space declares no further attributes".to_owned()
            } else {
                format!("the space does not declare `{name}`; it declares: {known}")
            },
        ));
    }
    Ok(())
}

/// Checks the name of an attribute a space declares.
pub fn check_attribute_name(name: &str) -> ValidationResult<()> {
    let field = format!("attributes.{name}");
    let mut bytes = name.bytes();
    let well_formed = name.len() <= 40
        && bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        return Err(Invalid::new(
            field,
            "an attribute name is lowercase letters, digits and `_`, starting with a letter, at most 40 long",
        ));
    }
    if STANDARD_ATTRIBUTES.contains(&name) {
        return Err(Invalid::new(
            field,
            format!("`{name}` is a standard attribute of every decision"),
        ));
    }
    Ok(())
}

/// One evaluation of the policy: who asked to do what, the answer, and the
/// policies that gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PolicyVerdict {
    pub action: PolicyAction,
    pub principal_id: Uuid,
    pub allowed: bool,
    /// The ids of the policies that decided; empty for a deny by default
    /// (no policy permits).
    pub policies: Vec<String>,
    /// Policies that failed to evaluate (they are skipped, as Cedar does).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl PolicyVerdict {
    /// A sentence a person can read, like "allowed by ai-decides-small".
    pub fn explain(&self) -> String {
        let verb = if self.allowed { "allowed" } else { "denied" };
        if self.policies.is_empty() {
            format!("{} {verb}: no policy permits it", self.action)
        } else {
            format!("{} {verb} by {}", self.action, self.policies.join(", "))
        }
    }
}

/// The route a decision took when it was created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Routing {
    pub autonomy: Autonomy,
    /// Human approvals needed (0 when the AI worker decides).
    pub quorum: i64,
    pub verdicts: Vec<PolicyVerdict>,
    /// Why, in one sentence.
    pub explanation: String,
}

/// An AI worker's proposal: its choice when it decides, its recommendation
/// when it prepares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Proposal {
    pub option: String,
    pub rationale: String,
    /// 0 to 1.
    pub confidence: f64,
}

/// A person's vote on a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ballot {
    pub member_id: Uuid,
    pub vote: Vote,
    pub option: Option<String>,
    pub reason: String,
    pub verdict: PolicyVerdict,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecisionSpace {
    pub id: Uuid,
    pub name: String,
    pub team_id: Option<Uuid>,
    pub objective_id: Option<Uuid>,
    /// Guard-rails every AI work order in the space carries.
    pub principles: Vec<String>,
    /// Cedar source.
    pub policy: String,
    /// Attributes its decisions carry besides the standard ones.
    pub attributes: BTreeMap<String, AttributeType>,
    /// Human approvals a decision needs unless a policy's `@quorum` asks more.
    pub quorum: i64,
    /// A waiting decision escalates this long after it was created.
    pub escalate_after_secs: Option<i64>,
    pub escalate_to: Option<Uuid>,
    /// Starts at 1; each edit adds one (and is in the audit chain).
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Decision {
    pub id: Uuid,
    pub space_id: Uuid,
    pub question: String,
    pub context: String,
    pub facts: Facts,
    pub options: Vec<String>,
    pub requested_by: Uuid,
    /// The AI worker that decides or prepares, if any.
    pub assignee_id: Option<Uuid>,
    /// The run it came from, if an AI worker raised it while working.
    pub run_id: Option<Uuid>,
    pub status: DecisionStatus,
    pub routing: Routing,
    /// The space's version the routing used.
    pub space_version: i64,
    pub recommendation: Option<Proposal>,
    pub ballots: Vec<Ballot>,
    pub choice: Option<String>,
    pub decided_by: Option<Uuid>,
    pub reason: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub deadline: Option<DateTime<Utc>>,
    pub escalated_to: Option<Uuid>,
    pub escalated_at: Option<DateTime<Utc>>,
    pub escalation: Option<PolicyVerdict>,
    pub outcome: Option<Outcome>,
    pub outcome_note: Option<String>,
    pub outcome_by: Option<Uuid>,
    pub outcome_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Decision {
    /// Whether the final choice followed the AI worker's recommendation;
    /// `None` when there was none or nothing is decided yet.
    pub fn followed_recommendation(&self) -> Option<bool> {
        match (&self.recommendation, &self.choice, self.status) {
            (Some(rec), Some(choice), DecisionStatus::Decided) => Some(&rec.option == choice),
            (Some(_), _, DecisionStatus::Rejected) => Some(false),
            _ => None,
        }
    }
}

/// Where the votes leave a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tally {
    Waiting { approvals_needed: i64 },
    Decided { option: String },
    Rejected,
}

/// Counts votes: one reject closes the decision; an escalation target that
/// the policy allowed decides alone; otherwise an option is chosen once
/// `quorum` distinct people approved it and at least one of them is not the
/// requester. A member's repeated ballot counts once (the first).
pub fn tally(
    ballots: &[Ballot],
    quorum: i64,
    requested_by: Uuid,
    empowered_escalation: Option<Uuid>,
) -> Tally {
    let mut seen = Vec::new();
    let mut counts: Vec<(&str, i64, bool)> = Vec::new();
    for ballot in ballots {
        if seen.contains(&ballot.member_id) {
            continue;
        }
        seen.push(ballot.member_id);
        let option = match (ballot.vote, &ballot.option) {
            (Vote::Reject, _) => return Tally::Rejected,
            (Vote::Approve, Some(option)) => option.as_str(),
            (Vote::Approve, None) => continue,
        };
        if empowered_escalation == Some(ballot.member_id) {
            return Tally::Decided {
                option: option.to_owned(),
            };
        }
        let not_requester = ballot.member_id != requested_by;
        match counts.iter_mut().find(|(o, _, _)| *o == option) {
            Some(entry) => {
                entry.1 += 1;
                entry.2 |= not_requester;
            }
            None => counts.push((option, 1, not_requester)),
        }
    }
    let needed = quorum.max(1);
    if let Some((option, _, _)) = counts.iter().find(|(_, n, other)| *n >= needed && *other) {
        return Tally::Decided {
            option: (*option).to_owned(),
        };
    }
    let best = counts.iter().map(|(_, n, _)| *n).max().unwrap_or(0);
    Tally::Waiting {
        approvals_needed: (needed - best).max(1),
    }
}

/// How outcomes fell, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutcomeCounts {
    pub good: i64,
    pub bad: i64,
    pub unclear: i64,
    /// Decided, not yet reviewed.
    pub unreviewed: i64,
}

impl OutcomeCounts {
    fn add(&mut self, outcome: Option<Outcome>) {
        match outcome {
            Some(Outcome::Good) => self.good += 1,
            Some(Outcome::Bad) => self.bad += 1,
            Some(Outcome::Unclear) => self.unclear += 1,
            None => self.unreviewed += 1,
        }
    }
}

/// The register's account of a set of decisions: how they were routed, how
/// often people followed the AI worker's recommendation, and how each kind
/// turned out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegisterSummary {
    pub decisions: i64,
    pub ai_decides: i64,
    pub ai_prepares: i64,
    pub human_only: i64,
    pub waiting: i64,
    pub escalated: i64,
    pub decided: i64,
    pub rejected: i64,
    /// Closed decisions that had an AI recommendation.
    pub recommended: i64,
    /// … of which people followed it.
    pub followed: i64,
    /// `followed / recommended`, when there were any.
    pub followed_rate: Option<f64>,
    /// Outcomes of decisions the AI worker made itself.
    pub ai_decided_outcomes: OutcomeCounts,
    /// Outcomes where people followed the recommendation, and where not.
    pub followed_outcomes: OutcomeCounts,
    pub overruled_outcomes: OutcomeCounts,
}

impl RegisterSummary {
    pub fn of<'a>(decisions: impl IntoIterator<Item = &'a Decision>) -> Self {
        let mut s = Self::default();
        for d in decisions {
            s.decisions += 1;
            match d.routing.autonomy {
                Autonomy::AiDecides => s.ai_decides += 1,
                Autonomy::AiPrepares => s.ai_prepares += 1,
                Autonomy::HumanOnly => s.human_only += 1,
            }
            match d.status {
                DecisionStatus::Open | DecisionStatus::AwaitingApproval => s.waiting += 1,
                DecisionStatus::Escalated => s.escalated += 1,
                DecisionStatus::Decided => s.decided += 1,
                DecisionStatus::Rejected => s.rejected += 1,
            }
            let ai_decided = d.status == DecisionStatus::Decided
                && d.decided_by.is_some()
                && d.decided_by == d.assignee_id;
            if ai_decided {
                s.ai_decided_outcomes.add(d.outcome);
                continue;
            }
            match d.followed_recommendation() {
                Some(true) => {
                    s.recommended += 1;
                    s.followed += 1;
                    s.followed_outcomes.add(d.outcome);
                }
                Some(false) => {
                    s.recommended += 1;
                    if d.status == DecisionStatus::Decided {
                        s.overruled_outcomes.add(d.outcome);
                    }
                }
                None => {}
            }
        }
        #[expect(clippy::cast_precision_loss, reason = "counts far below 2^52")]
        {
            s.followed_rate = (s.recommended > 0).then(|| s.followed as f64 / s.recommended as f64);
        }
        s
    }
}

/// Longest rationale kept from a model's answer, in characters.
const RATIONALE_MAX: usize = 2000;

/// The work order that asks an AI worker to propose for a decision: the
/// question, its facts and context, the space's principles, the numbered
/// options, and the three lines the answer must consist of.
pub fn render_draft_order(decision: &Decision, space: &DecisionSpace) -> String {
    let facts = &decision.facts;
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let mut order = format!("# Decision: {}\n", decision.question);
    if !decision.context.is_empty() {
        order.push_str(&format!("\n{}\n", decision.context));
    }
    order.push_str(&format!(
        "\nAmount: {} {}. Risk: {}. Reversible: {}. Customer-facing: {}.\n",
        format_amount(facts.amount_minor),
        facts.currency,
        facts.risk,
        yes_no(facts.reversible),
        yes_no(facts.customer_facing)
    ));
    for (name, value) in &facts.attributes {
        let value = match value {
            AttributeValue::Bool(b) => yes_no(*b).to_owned(),
            AttributeValue::Long(n) => n.to_string(),
            AttributeValue::String(s) => s.clone(),
        };
        order.push_str(&format!("{name}: {value}\n"));
    }
    if !space.principles.is_empty() {
        order.push_str(&format!("\n## Principles of {}\n", space.name));
        for principle in &space.principles {
            order.push_str(&format!("- {principle}\n"));
        }
    }
    order.push_str("\n## Options\n");
    for (i, option) in decision.options.iter().enumerate() {
        order.push_str(&format!("{}. {option}\n", i + 1));
    }
    order.push_str(
        "\nWeigh the options against the facts and the principles, then choose one. \
         Answer with exactly these three lines:\n\
         Rationale: <one or two sentences: which option serves best, and why>\n\
         Option: <the number of that option>\n\
         Confidence: <a number from 0 to 1>\n",
    );
    order
}

/// The shape of an answer to [`render_draft_order`] as a GBNF grammar, for
/// models that take one: an option's number, a confidence, and a line of
/// rationale in words (a small model otherwise repeats a number there).
pub fn draft_grammar(options: usize) -> String {
    let numbers: Vec<String> = (1..=options.max(1)).map(|n| format!("\"{n}\"")).collect();
    format!(
        "root ::= \"Rationale: \" word \" \" [^\\n]+ \"\\nOption: \" ({}) \"\\nConfidence: \" (\"0.\" [0-9] | \"1.0\")\n\
         word ::= [A-Za-zÄÖÜäöüß] [A-Za-zÄÖÜäöüß]*\n",
        numbers.join(" | ")
    )
}

/// Reads an AI worker's answer to [`render_draft_order`] into a proposal.
///
/// The option is taken from the `Option:` line, by number or by its text;
/// without one, from the only option the answer names. An answer that names
/// none or several is refused with the reason, so that people decide rather
/// than a guess. A missing confidence counts as 0: the worker stated none.
pub fn read_proposal(answer: &str, options: &[String]) -> Result<Proposal, String> {
    // A line `Key: value`, markdown emphasis and list marks aside.
    let key_value = |line: &str| {
        let line = line.trim().trim_start_matches(['*', '-', '#', ' ']);
        let (key, value) = line.split_once(':')?;
        let key = key.trim().trim_matches('*').trim().to_lowercase();
        Some((key, value.trim().trim_matches('*').trim().to_owned()))
    };
    let field = |name: &str| {
        answer
            .lines()
            .filter_map(key_value)
            .find_map(|(key, value)| (key == name).then_some(value))
    };
    let named_in = |text: &str| -> Vec<&String> {
        let text = text.to_lowercase();
        options
            .iter()
            .filter(|option| text.contains(&option.to_lowercase()))
            .collect()
    };
    let by_number = |value: &str| {
        let digits: String = value
            .trim_start_matches(|c: char| !c.is_ascii_digit())
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=options.len()).contains(n))
            .map(|n| &options[n - 1])
    };
    let stated = field("option").and_then(|value| {
        let named = named_in(&value);
        match named.as_slice() {
            [one] => Some((*one).clone()),
            _ => by_number(&value).cloned(),
        }
    });
    let option = match stated {
        Some(option) => option,
        None => match named_in(answer).as_slice() {
            [one] => (*one).clone(),
            [] => return Err("the answer names none of the options".into()),
            _ => return Err("the answer names several options and chooses none".into()),
        },
    };
    let confidence = field("confidence")
        .and_then(|value| {
            let number: String = value
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let number: f64 = number.trim_end_matches('.').parse().ok()?;
            let share = if value.contains('%') || number > 1.0 {
                number / 100.0
            } else {
                number
            };
            Some(share.clamp(0.0, 1.0))
        })
        .unwrap_or(0.0);
    // The rationale runs from its line to the next option or confidence line.
    let lines: Vec<&str> = answer.lines().collect();
    let is_key = |line: &str, keys: &[&str]| {
        key_value(line).is_some_and(|(key, _)| keys.contains(&key.as_str()))
    };
    let rationale = match lines.iter().position(|line| is_key(line, &["rationale"])) {
        Some(at) => {
            let first = key_value(lines[at])
                .map(|(_, value)| value)
                .unwrap_or_default();
            let more = lines[at + 1..]
                .iter()
                .take_while(|line| !is_key(line, &["option", "confidence"]));
            std::iter::once(first.as_str())
                .chain(more.copied())
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .to_owned()
        }
        None => answer.trim().to_owned(),
    };
    let rationale: String = rationale.chars().take(RATIONALE_MAX).collect();
    Ok(Proposal {
        option,
        rationale: if rationale.is_empty() {
            "(the AI worker gave no rationale)".to_owned()
        } else {
            rationale
        },
        confidence,
    })
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_amount_pattern_accepts_exactly_what_parse_amount_accepts() {
        assert_eq!(
            (MAX_AMOUNT_MINOR / 100).to_string().trim_end_matches('0'),
            "1",
            "amount_pattern assumes the largest amount is a power of ten"
        );
        let pattern = regex::Regex::new(&amount_pattern()).unwrap();
        for value in [
            "0",
            "500",
            " 499.5 ",
            "499.50",
            "499.",
            "007",
            "1234.567",
            ".5",
            "",
            " ",
            "-1",
            "1e3",
            "1,5",
            "12a",
            "999999999999.99",
            "1000000000000",
            "1000000000000.00",
            "1000000000000.01",
            "0001000000000000",
            "10000000000000",
            "\u{3000}12\u{a0}",
        ] {
            assert_eq!(
                pattern.is_match(value),
                parse_amount("amount", value).is_ok(),
                "{value:?}"
            );
        }
    }

    proptest! {
        #[test]
        fn the_amount_pattern_agrees_with_parse_amount(value in r"[ 0-9.\-]{0,16}") {
            let pattern = regex::Regex::new(&amount_pattern()).unwrap();
            prop_assert_eq!(pattern.is_match(&value), parse_amount("amount", &value).is_ok());
        }
    }

    fn ballot(member: Uuid, vote: Vote, option: &str) -> Ballot {
        Ballot {
            member_id: member,
            vote,
            option: Some(option.to_owned()),
            reason: "r".into(),
            verdict: PolicyVerdict {
                action: PolicyAction::Approve,
                principal_id: member,
                allowed: true,
                policies: vec![],
                errors: vec![],
            },
            at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    #[test]
    fn two_people_must_agree_on_one_option() {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let requester = Uuid::now_v7();
        let one = [ballot(a, Vote::Approve, "x")];
        assert_eq!(
            tally(&one, 2, requester, None),
            Tally::Waiting {
                approvals_needed: 1
            }
        );
        let split = [ballot(a, Vote::Approve, "x"), ballot(b, Vote::Approve, "y")];
        assert_eq!(
            tally(&split, 2, requester, None),
            Tally::Waiting {
                approvals_needed: 1
            }
        );
        let agreed = [
            ballot(a, Vote::Approve, "x"),
            ballot(b, Vote::Approve, "y"),
            ballot(c, Vote::Approve, "x"),
        ];
        assert_eq!(
            tally(&agreed, 2, requester, None),
            Tally::Decided { option: "x".into() }
        );
    }

    #[test]
    fn the_requester_is_never_the_only_approver_and_nobody_counts_twice() {
        let requester = Uuid::now_v7();
        let own = [ballot(requester, Vote::Approve, "x")];
        assert!(matches!(
            tally(&own, 1, requester, None),
            Tally::Waiting { .. }
        ));
        let twice = [
            ballot(requester, Vote::Approve, "x"),
            ballot(requester, Vote::Approve, "x"),
        ];
        assert!(matches!(
            tally(&twice, 2, requester, None),
            Tally::Waiting { .. }
        ));
        let other = Uuid::now_v7();
        let with_other = [
            ballot(requester, Vote::Approve, "x"),
            ballot(other, Vote::Approve, "x"),
        ];
        assert_eq!(
            tally(&with_other, 2, requester, None),
            Tally::Decided { option: "x".into() }
        );
    }

    #[test]
    fn a_reject_closes_and_an_empowered_escalation_decides_alone() {
        let (a, boss) = (Uuid::now_v7(), Uuid::now_v7());
        let requester = Uuid::now_v7();
        assert_eq!(
            tally(&[ballot(a, Vote::Reject, "x")], 2, requester, None),
            Tally::Rejected
        );
        let escalated = [ballot(boss, Vote::Approve, "y")];
        assert_eq!(
            tally(&escalated, 3, requester, Some(boss)),
            Tally::Decided { option: "y".into() }
        );
        assert!(matches!(
            tally(&escalated, 3, requester, None),
            Tally::Waiting { .. }
        ));
    }

    #[test]
    fn amounts_read_in_major_units_and_round_up_for_policies() {
        assert_eq!(parse_amount("amount", "500").unwrap(), 50_000);
        assert_eq!(parse_amount("amount", "499.5").unwrap(), 49_950);
        assert_eq!(parse_amount("amount", "0.07").unwrap(), 7);
        for bad in [
            "",
            "-1",
            "1.234",
            "1e3",
            "abc",
            ".5",
            "99999999999999999999",
        ] {
            assert!(parse_amount("amount", bad).is_err(), "{bad}");
        }
        let facts = |amount_minor| Facts {
            amount_minor,
            currency: "EUR".into(),
            risk: Risk::Low,
            reversible: true,
            customer_facing: false,
            attributes: BTreeMap::new(),
        };
        assert_eq!(facts(99_901).whole_amount(), 1000);
        assert_eq!(facts(100_000).whole_amount(), 1000);
        assert_eq!(facts(0).whole_amount(), 0);
        assert_eq!(format_amount(49_950), "499.50");
    }

    #[test]
    fn attributes_must_match_the_declaration() {
        let declared = BTreeMap::from([("region".to_owned(), AttributeType::String)]);
        let good = BTreeMap::from([("region".to_owned(), AttributeValue::String("EU".into()))]);
        check_attributes(&declared, &good).unwrap();
        assert_eq!(
            check_attributes(&declared, &BTreeMap::new())
                .unwrap_err()
                .field,
            "attributes.region"
        );
        let wrong = BTreeMap::from([("region".to_owned(), AttributeValue::Long(1))]);
        assert!(
            check_attributes(&declared, &wrong)
                .unwrap_err()
                .message
                .contains("expected a string")
        );
        let extra = BTreeMap::from([
            ("region".to_owned(), AttributeValue::String("EU".into())),
            ("colour".to_owned(), AttributeValue::Bool(true)),
        ]);
        assert_eq!(
            check_attributes(&declared, &extra).unwrap_err().field,
            "attributes.colour"
        );
        assert!(check_attribute_name("amount").is_err());
        assert!(check_attribute_name("Region").is_err());
        check_attribute_name("region_2").unwrap();
    }

    proptest! {
        /// However the votes fall, a decided tally has `quorum` distinct
        /// approvers of its option, one of them not the requester.
        #[test]
        fn a_decided_tally_has_its_quorum(
            votes in proptest::collection::vec((0usize..5, 0usize..3), 0..12),
            quorum in 1i64..4,
        ) {
            let people: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
            let options = ["a", "b", "c"];
            let ballots: Vec<Ballot> = votes
                .iter()
                .map(|(p, o)| ballot(people[*p], Vote::Approve, options[*o]))
                .collect();
            if let Tally::Decided { option } = tally(&ballots, quorum, people[0], None) {
                let mut approvers: Vec<Uuid> = Vec::new();
                for b in &ballots {
                    if approvers.contains(&b.member_id) || ballots.iter().find(|f| f.member_id == b.member_id).map(|f| f.option.clone()) != Some(Some(option.clone())) {
                        continue;
                    }
                    approvers.push(b.member_id);
                }
                prop_assert!(approvers.len() as i64 >= quorum);
                prop_assert!(approvers.iter().any(|m| *m != people[0]));
            }
        }
    }

    fn options() -> Vec<String> {
        vec![
            "Grant 10 % discount".to_owned(),
            "Offer a free service visit".to_owned(),
            "Decline".to_owned(),
        ]
    }

    #[test]
    fn the_draft_grammar_numbers_every_option() {
        assert_eq!(
            draft_grammar(3),
            "root ::= \"Rationale: \" word \" \" [^\\n]+ \"\\nOption: \" (\"1\" | \"2\" | \"3\") \"\\nConfidence: \" (\"0.\" [0-9] | \"1.0\")\n\
             word ::= [A-Za-zÄÖÜäöüß] [A-Za-zÄÖÜäöüß]*\n"
        );
    }

    #[test]
    fn a_well_formed_answer_is_read_by_number() {
        let answer = "Option: 2\nConfidence: 0.8\nRationale: The customer waited twice.\nA visit costs less.";
        let proposal = read_proposal(answer, &options()).unwrap();
        assert_eq!(proposal.option, "Offer a free service visit");
        assert!((proposal.confidence - 0.8).abs() < 1e-9);
        assert_eq!(
            proposal.rationale,
            "The customer waited twice.\nA visit costs less."
        );
    }

    #[test]
    fn a_rationale_first_answer_keeps_only_the_rationale() {
        let answer = "Rationale: A visit keeps the customer.\nOption: 2\nConfidence: 0.6";
        let proposal = read_proposal(answer, &options()).unwrap();
        assert_eq!(proposal.option, "Offer a free service visit");
        assert_eq!(proposal.rationale, "A visit keeps the customer.");
        assert!((proposal.confidence - 0.6).abs() < 1e-9);
    }

    #[test]
    fn an_answer_is_read_by_the_option_text_markdown_and_percent() {
        let answer = "**Option:** decline\n**Confidence:** 70%\n**Rationale:** Margin is thin.";
        let proposal = read_proposal(answer, &options()).unwrap();
        assert_eq!(proposal.option, "Decline");
        assert!((proposal.confidence - 0.7).abs() < 1e-9);
        assert_eq!(proposal.rationale, "Margin is thin.");
    }

    #[test]
    fn without_an_option_line_the_only_named_option_counts() {
        let answer = "I would offer a free service visit, since it keeps the customer.";
        let proposal = read_proposal(answer, &options()).unwrap();
        assert_eq!(proposal.option, "Offer a free service visit");
        assert_eq!(
            proposal.confidence, 0.0,
            "no stated confidence counts as none"
        );
        assert_eq!(proposal.rationale, answer);
    }

    #[test]
    fn an_answer_naming_no_option_or_several_is_refused() {
        assert_eq!(
            read_proposal("Let me think about the weather.", &options()).unwrap_err(),
            "the answer names none of the options"
        );
        assert_eq!(
            read_proposal(
                "Option: 7\nDecline or offer a free service visit.",
                &options()
            )
            .unwrap_err(),
            "the answer names several options and chooses none"
        );
    }

    #[test]
    fn the_draft_order_carries_facts_principles_and_numbered_options() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let space = DecisionSpace {
            id: Uuid::now_v7(),
            name: "Rabatte".into(),
            team_id: None,
            objective_id: None,
            principles: vec!["Keep the customer's trust.".into()],
            policy: String::new(),
            attributes: BTreeMap::new(),
            quorum: 2,
            escalate_after_secs: None,
            escalate_to: None,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        let decision = Decision {
            id: Uuid::now_v7(),
            space_id: space.id,
            question: "Discount for Stadtwerke?".into(),
            context: "Heating failed twice.".into(),
            facts: Facts {
                amount_minor: 50_000,
                currency: "EUR".into(),
                risk: Risk::Low,
                reversible: true,
                customer_facing: true,
                attributes: BTreeMap::from([(
                    "region".to_owned(),
                    AttributeValue::String("Nord".into()),
                )]),
            },
            options: options(),
            requested_by: Uuid::now_v7(),
            assignee_id: None,
            run_id: None,
            status: DecisionStatus::Open,
            routing: Routing {
                autonomy: Autonomy::AiPrepares,
                quorum: 2,
                verdicts: Vec::new(),
                explanation: String::new(),
            },
            space_version: 1,
            recommendation: None,
            ballots: Vec::new(),
            choice: None,
            decided_by: None,
            reason: None,
            decided_at: None,
            deadline: None,
            escalated_to: None,
            escalated_at: None,
            escalation: None,
            outcome: None,
            outcome_note: None,
            outcome_by: None,
            outcome_at: None,
            created_at: now,
            updated_at: now,
        };
        let order = render_draft_order(&decision, &space);
        for expected in [
            "# Decision: Discount for Stadtwerke?",
            "Heating failed twice.",
            "Amount: 500.00 EUR. Risk: low. Reversible: yes. Customer-facing: yes.",
            "region: Nord",
            "## Principles of Rabatte\n- Keep the customer's trust.",
            "1. Grant 10 % discount\n2. Offer a free service visit\n3. Decline",
            "Option: <the number of that option>",
        ] {
            assert!(order.contains(expected), "missing {expected:?} in\n{order}");
        }
    }
}
