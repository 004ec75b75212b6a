//! A decision's life: routed when it is asked, proposed for by its AI worker,
//! voted on by people, escalated past its deadline, decided or rejected, and
//! looked back on.
//!
//! ```text
//! routed ─┬─ ai_decides / ai_prepares ─→ open ── proposal ─┬─ ai_decides  ─→ decided
//!         │                                ╰── worker cannot ─→ awaiting_approval
//!         │                                                 ╰─ ai_prepares ─→ awaiting_approval
//!         └─ human_only ────────────────────────────────────────────────→ awaiting_approval
//! awaiting_approval ── votes (tally) ─→ decided | rejected
//! open | awaiting_approval ── past its deadline ─→ escalated ── votes ─→ decided | rejected
//! decided ── outcome review (good | bad | unclear)
//! ```
//!
//! Every step is a method that checks the step is allowed now and changes
//! the decision; the store writes the result in one transaction with its
//! audit event. Who the policy lets decide, prepare or approve is Cedar's
//! (`tutti-policy`); above every policy these rules hold: an AI worker never
//! votes, proposes only for a decision assigned to it, and never for one the
//! policy leaves to people.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    Autonomy, Ballot, Decision, DecisionSpace, DecisionStatus, Facts, Outcome, PolicyVerdict,
    Proposal, Routing, Tally, Vote, check_attributes, tally,
};
use crate::access::Denied;
use crate::org::{Member, MemberKind};
use crate::refused::{Refused, RuleResult};
use crate::validate::{BODY_MAX, Invalid, TITLE_MAX, ValidationResult, optional_text, text};

/// A decision offers at most this many options (and at least two).
pub const MAX_OPTIONS: usize = 10;

/// A decision as the engine routed it, before it is stored.
#[derive(Debug, Clone)]
pub struct NewDecision {
    pub id: Uuid,
    pub space_id: Uuid,
    /// The version of the space the routing followed.
    pub space_version: i64,
    pub question: String,
    pub context: String,
    pub facts: Facts,
    pub options: Vec<String>,
    pub assignee_id: Option<Uuid>,
    pub run_id: Option<Uuid>,
    pub routing: Routing,
    /// The AI worker's proposal, when it came with the request.
    pub proposal: Option<Proposal>,
}

/// A decision's options: two to [`MAX_OPTIONS`] short texts, none twice.
pub fn parse_options(options: &[String]) -> ValidationResult<Vec<String>> {
    if !(2..=MAX_OPTIONS).contains(&options.len()) {
        return Err(Invalid::new(
            "options",
            format!("a decision has 2 to {MAX_OPTIONS} options"),
        ));
    }
    let mut parsed: Vec<String> = Vec::with_capacity(options.len());
    for (i, option) in options.iter().enumerate() {
        let option = text(&format!("options[{i}]"), option, TITLE_MAX)?;
        if parsed.contains(&option) {
            return Err(Invalid::new(
                format!("options[{i}]"),
                format!("`{option}` is listed twice"),
            ));
        }
        parsed.push(option);
    }
    Ok(parsed)
}

impl Proposal {
    /// The proposal, checked against a decision's options: it names one of
    /// them, its confidence is a share, its rationale is text.
    pub fn checked(&self, options: &[String]) -> ValidationResult<Proposal> {
        if !options.contains(&self.option) {
            return Err(Invalid::new(
                "option",
                format!(
                    "`{}` is not one of the options: {}",
                    self.option,
                    options.join(" | ")
                ),
            ));
        }
        if !(0.0..=1.0).contains(&self.confidence) {
            return Err(Invalid::new("confidence", "must be between 0 and 1"));
        }
        Ok(Proposal {
            option: self.option.clone(),
            rationale: text("rationale", &self.rationale, BODY_MAX)?,
            confidence: self.confidence,
        })
    }
}

impl Decision {
    /// The decision `new` asks for, as `requested_by` asked it in `space`,
    /// assigned to `assignee` (as loaded; `None` when it names nobody, or
    /// nobody of this org). Its routing sets where it starts: `open` for its
    /// AI worker's proposal, `awaiting_approval` when it is people's alone.
    /// A proposal that came with it counts only where the policy lets the AI
    /// worker decide or prepare; otherwise the routing says it was set aside.
    pub fn routed(
        new: NewDecision,
        space: &DecisionSpace,
        assignee: Option<&Member>,
        requested_by: Uuid,
        now: DateTime<Utc>,
    ) -> RuleResult<Decision> {
        let question = text("question", &new.question, TITLE_MAX)?;
        let context = optional_text("context", &new.context, BODY_MAX)?;
        let options = parse_options(&new.options)?;
        if space.version != new.space_version {
            return Err(Refused::conflict(format!(
                "the space changed (version {} → {}) while the decision was routed; send it again",
                new.space_version, space.version
            )));
        }
        check_attributes(&space.attributes, &new.facts.attributes)?;
        if let Some(id) = new.assignee_id {
            match assignee {
                None => {
                    return Err(Refused::invalid(
                        "assignee_id",
                        format!("no member with id {id} in this org"),
                    ));
                }
                Some(worker) if worker.kind != MemberKind::Ai => {
                    return Err(Refused::invalid(
                        "assignee_id",
                        "decisions are assigned to AI workers; people vote on them",
                    ));
                }
                Some(_) => {}
            }
        }
        let mut decision = Decision {
            id: new.id,
            space_id: space.id,
            question,
            context,
            facts: new.facts,
            options,
            requested_by,
            assignee_id: new.assignee_id,
            run_id: new.run_id,
            status: match new.routing.autonomy {
                Autonomy::AiDecides | Autonomy::AiPrepares => DecisionStatus::Open,
                Autonomy::HumanOnly => DecisionStatus::AwaitingApproval,
            },
            routing: new.routing,
            space_version: space.version,
            recommendation: None,
            ballots: Vec::new(),
            choice: None,
            decided_by: None,
            reason: None,
            decided_at: None,
            deadline: space
                .escalate_after_secs
                .map(|secs| now + chrono::Duration::seconds(secs)),
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
        match new.proposal {
            Some(proposal) if decision.status == DecisionStatus::Open => {
                let proposal = proposal.checked(&decision.options)?;
                decision.apply_proposal(proposal, now);
            }
            Some(_) => {
                decision.routing.explanation = format!(
                    "{}; the AI worker's proposal was set aside, because the policy leaves this decision to people",
                    decision.routing.explanation.trim_end_matches('.')
                );
            }
            None => {}
        }
        Ok(decision)
    }

    /// The assigned AI worker `by` proposes for the open decision: its
    /// choice when the routing lets it decide, its recommendation when it
    /// may prepare.
    pub fn propose(&mut self, by: Uuid, proposal: &Proposal, now: DateTime<Utc>) -> RuleResult<()> {
        if self.assignee_id != Some(by) {
            return Err(Refused::invalid(
                "assignee_id",
                "only the AI worker assigned to the decision proposes for it",
            ));
        }
        if self.status != DecisionStatus::Open {
            return Err(Refused::conflict(format!(
                "the decision is {}; only an open decision takes a proposal",
                self.status
            )));
        }
        let proposal = proposal.checked(&self.options)?;
        self.apply_proposal(proposal, now);
        Ok(())
    }

    fn apply_proposal(&mut self, proposal: Proposal, now: DateTime<Utc>) {
        match self.routing.autonomy {
            Autonomy::AiDecides => {
                self.status = DecisionStatus::Decided;
                self.choice = Some(proposal.option.clone());
                self.decided_by = self.assignee_id;
                self.reason = Some(proposal.rationale.clone());
                self.decided_at = Some(now);
            }
            Autonomy::AiPrepares | Autonomy::HumanOnly => {
                self.status = DecisionStatus::AwaitingApproval;
            }
        }
        self.recommendation = Some(proposal);
        self.updated_at = now;
    }

    /// The AI worker could not propose (`why`): the open decision goes to
    /// people, who need at least one approval, and the routing says why.
    /// Returns `why` as kept.
    pub fn hand_to_people(&mut self, why: &str, now: DateTime<Utc>) -> RuleResult<String> {
        let why = text("why", why, BODY_MAX)?;
        if self.status != DecisionStatus::Open {
            return Err(Refused::conflict(format!(
                "the decision is {}; only an open decision is handed to people",
                self.status
            )));
        }
        self.status = DecisionStatus::AwaitingApproval;
        self.routing.quorum = self.routing.quorum.max(1);
        self.routing.explanation = format!(
            "{}; the AI worker could not propose ({why}), so people decide",
            self.routing.explanation.trim_end_matches('.')
        );
        self.updated_at = now;
        Ok(why)
    }

    /// Whether this decision still takes a vote from the member `voter` of
    /// `kind`: it collects votes, they are a person, and they have not voted.
    /// Whether the policy lets them is Cedar's to say.
    pub fn takes_a_vote_from(&self, voter: Uuid, kind: MemberKind) -> bool {
        kind == MemberKind::Human
            && self.status.takes_votes()
            && !self.ballots.iter().any(|b| b.member_id == voter)
    }

    /// `voter` casts `ballot`, with the policy's verdict on their approval:
    /// a person the policy allows, on a decision taking votes, approving
    /// one of its options or rejecting it with a reason. The tally then
    /// decides or rejects the decision once it is clear. Returns the ballot
    /// as kept.
    pub fn cast(
        &mut self,
        voter: &Member,
        ballot: Ballot,
        now: DateTime<Utc>,
    ) -> RuleResult<Ballot> {
        if voter.kind != MemberKind::Human {
            return Err(Denied(format!(
                "AI workers never approve or reject decisions; the engine holds this above every policy ({})",
                ballot.verdict.explain()
            ))
            .into());
        }
        if !ballot.verdict.allowed {
            return Err(Denied(format!(
                "the space's policy refuses: {}",
                ballot.verdict.explain()
            ))
            .into());
        }
        if !self.status.takes_votes() {
            return Err(Refused::conflict(format!(
                "the decision is {}; it takes no votes",
                self.status
            )));
        }
        let reason = text("reason", &ballot.reason, BODY_MAX)?;
        let option = match (ballot.vote, &ballot.option) {
            (Vote::Approve, None) => {
                return Err(Refused::invalid(
                    "option",
                    "an approval names the option it approves",
                ));
            }
            (Vote::Approve, Some(option)) if !self.options.contains(option) => {
                return Err(Refused::invalid(
                    "option",
                    format!(
                        "`{option}` is not one of the options: {}",
                        self.options.join(" | ")
                    ),
                ));
            }
            (_, option) => option.clone(),
        };
        let kept = Ballot {
            member_id: voter.id,
            option,
            reason,
            at: now,
            ..ballot
        };
        self.ballots.push(kept.clone());
        let empowered = self
            .escalation
            .as_ref()
            .filter(|verdict| verdict.allowed)
            .map(|verdict| verdict.principal_id);
        match tally(
            &self.ballots,
            self.routing.quorum,
            self.requested_by,
            empowered,
        ) {
            Tally::Waiting { .. } => {}
            Tally::Decided { option } => {
                let reasons: Vec<&str> = self
                    .ballots
                    .iter()
                    .filter(|b| {
                        b.vote == Vote::Approve && b.option.as_deref() == Some(option.as_str())
                    })
                    .map(|b| b.reason.as_str())
                    .collect();
                self.reason = Some(reasons.join(" · "));
                self.choice = Some(option);
                self.decided_by = Some(voter.id);
                self.decided_at = Some(now);
                self.status = DecisionStatus::Decided;
            }
            Tally::Rejected => {
                self.reason = Some(kept.reason.clone());
                self.decided_by = Some(voter.id);
                self.decided_at = Some(now);
                self.status = DecisionStatus::Rejected;
            }
        }
        self.updated_at = now;
        Ok(kept)
    }

    /// Escalates a decision still waiting past its deadline to `to` (whom
    /// the space names, if anyone), with the policy's `escalate` verdict
    /// for them: a target the policy allows may then decide alone. Returns
    /// the explanation for the register, or `None` when the decision is no
    /// longer waiting or not yet due.
    pub fn escalate(
        &mut self,
        to: Option<Uuid>,
        verdict: Option<PolicyVerdict>,
        now: DateTime<Utc>,
    ) -> Option<String> {
        let waiting = matches!(
            self.status,
            DecisionStatus::Open | DecisionStatus::AwaitingApproval
        );
        if !waiting || self.deadline.is_none_or(|deadline| deadline > now) {
            return None;
        }
        self.status = DecisionStatus::Escalated;
        self.escalated_to = to;
        self.escalated_at = Some(now);
        self.escalation = verdict;
        self.updated_at = now;
        Some(match (&self.escalation, to) {
            (Some(v), Some(_)) if v.allowed => {
                format!(
                    "past its deadline; {}, who may now decide alone",
                    v.explain()
                )
            }
            (Some(v), Some(_)) => {
                format!(
                    "past its deadline; {}, so the quorum still applies",
                    v.explain()
                )
            }
            _ => "past its deadline; the space names nobody to escalate to".to_owned(),
        })
    }

    /// Looks back on a decided decision: how it turned out, by whom, why.
    /// Returns the note as kept.
    pub fn record_outcome(
        &mut self,
        outcome: Outcome,
        note: &str,
        by: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> RuleResult<String> {
        let note = optional_text("note", note, BODY_MAX)?;
        if self.status != DecisionStatus::Decided {
            return Err(Refused::conflict(format!(
                "the decision is {}; only a decided one has an outcome",
                self.status
            )));
        }
        self.outcome = Some(outcome);
        self.outcome_note = Some(note.clone());
        self.outcome_by = by;
        self.outcome_at = Some(now);
        self.updated_at = now;
        Ok(note)
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use super::*;
    use crate::decision::{NewSpace, PolicyAction};
    use crate::org::Role;

    const WORKER: Uuid = Uuid::from_u128(5);
    const REQUESTER: Uuid = Uuid::from_u128(1);
    const KATRIN: Uuid = Uuid::from_u128(2);
    const JONAS: Uuid = Uuid::from_u128(3);

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + chrono::Duration::minutes(minutes)
    }

    fn member(id: Uuid, kind: MemberKind) -> Member {
        Member {
            id,
            kind,
            name: "x".into(),
            email: None,
            role: Role::Member,
            teams: vec![],
            role_card: None,
            provider: None,
            model: None,
            concurrency: 1,
            external: false,
            created_at: at(0),
        }
    }

    fn space() -> DecisionSpace {
        DecisionSpace::new(
            Uuid::from_u128(9),
            NewSpace {
                name: "Rabatte".into(),
                team_id: Some(Uuid::from_u128(8)),
                objective_id: None,
                principles: vec![],
                policy: String::new(),
                attributes: BTreeMap::new(),
                quorum: 1,
                escalate_after_secs: Some(3600),
                escalate_to: Some(KATRIN),
            },
            at(0),
        )
    }

    fn new(autonomy: Autonomy, proposal: Option<Proposal>) -> NewDecision {
        NewDecision {
            id: Uuid::from_u128(20),
            space_id: Uuid::from_u128(9),
            space_version: 1,
            question: " Rabatt für Lindenhof? ".into(),
            context: String::new(),
            facts: Facts {
                amount_minor: 240_000,
                currency: "EUR".into(),
                risk: crate::decision::Risk::Medium,
                reversible: true,
                customer_facing: false,
                attributes: BTreeMap::new(),
            },
            options: vec!["8 %".into(), "Kein Rabatt".into()],
            assignee_id: Some(WORKER),
            run_id: None,
            routing: Routing {
                autonomy,
                quorum: if autonomy == Autonomy::AiDecides {
                    0
                } else {
                    1
                },
                verdicts: vec![],
                explanation: "routed.".into(),
            },
            proposal,
        }
    }

    fn proposal(option: &str) -> Proposal {
        Proposal {
            option: option.into(),
            rationale: "Der Vertrag trägt das.".into(),
            confidence: 0.7,
        }
    }

    fn routed(autonomy: Autonomy, with: Option<Proposal>) -> Decision {
        let worker = member(WORKER, MemberKind::Ai);
        Decision::routed(
            new(autonomy, with),
            &space(),
            Some(&worker),
            REQUESTER,
            at(0),
        )
        .unwrap()
    }

    fn ballot(vote: Vote, option: Option<&str>, allowed: bool) -> Ballot {
        Ballot {
            member_id: Uuid::nil(),
            vote,
            option: option.map(Into::into),
            reason: "passt".into(),
            verdict: PolicyVerdict {
                action: PolicyAction::Approve,
                principal_id: Uuid::nil(),
                allowed,
                policies: vec![],
                errors: vec![],
            },
            at: at(0),
        }
    }

    #[test]
    fn routing_sets_where_a_decision_starts_and_its_deadline() {
        let open = routed(Autonomy::AiPrepares, None);
        assert_eq!(
            (open.status, open.question.as_str()),
            (DecisionStatus::Open, "Rabatt für Lindenhof?")
        );
        assert_eq!(open.deadline, Some(at(60)));
        assert_eq!(
            routed(Autonomy::HumanOnly, None).status,
            DecisionStatus::AwaitingApproval
        );
    }

    #[test]
    fn a_proposal_with_the_request_decides_or_recommends_or_is_set_aside() {
        let decided = routed(Autonomy::AiDecides, Some(proposal("8 %")));
        assert_eq!(
            (decided.status, decided.choice.as_deref()),
            (DecisionStatus::Decided, Some("8 %"))
        );
        assert_eq!(decided.decided_by, Some(WORKER));
        let prepared = routed(Autonomy::AiPrepares, Some(proposal("8 %")));
        assert_eq!(prepared.status, DecisionStatus::AwaitingApproval);
        assert_eq!(
            prepared.recommendation.map(|r| r.option),
            Some("8 %".to_owned())
        );
        let people = routed(Autonomy::HumanOnly, Some(proposal("8 %")));
        assert!(people.recommendation.is_none());
        assert!(people.routing.explanation.contains("set aside"));
    }

    #[test]
    fn a_decision_follows_only_the_space_version_it_was_routed_by() {
        let worker = member(WORKER, MemberKind::Ai);
        let moved = DecisionSpace {
            version: 2,
            ..space()
        };
        let refused = Decision::routed(
            new(Autonomy::AiPrepares, None),
            &moved,
            Some(&worker),
            REQUESTER,
            at(0),
        );
        assert!(matches!(refused, Err(Refused::Conflict(_))));
    }

    #[test]
    fn decisions_are_assigned_to_ai_workers_with_two_to_ten_distinct_options() {
        let person = member(WORKER, MemberKind::Human);
        let refused = Decision::routed(
            new(Autonomy::AiPrepares, None),
            &space(),
            Some(&person),
            REQUESTER,
            at(0),
        );
        assert!(matches!(refused, Err(Refused::Invalid(ref i)) if i.field == "assignee_id"));
        let nobody = Decision::routed(
            new(Autonomy::AiPrepares, None),
            &space(),
            None,
            REQUESTER,
            at(0),
        );
        assert!(matches!(nobody, Err(Refused::Invalid(ref i)) if i.field == "assignee_id"));
        assert!(parse_options(&["a".into()]).is_err_and(|e| e.field == "options"));
        assert!(parse_options(&["a".into(), " a ".into()]).is_err_and(|e| e.field == "options[1]"));
        assert!(parse_options(&vec!["o".into(); MAX_OPTIONS + 1]).is_err());
    }

    #[test]
    fn only_the_assigned_worker_proposes_and_only_while_open() {
        let mut open = routed(Autonomy::AiPrepares, None);
        assert!(matches!(
            open.propose(JONAS, &proposal("8 %"), at(1)),
            Err(Refused::Invalid(_))
        ));
        assert!(
            matches!(open.propose(WORKER, &proposal("10 %"), at(1)), Err(Refused::Invalid(ref i)) if i.field == "option")
        );
        let unsure = Proposal {
            confidence: 1.5,
            ..proposal("8 %")
        };
        assert!(
            matches!(open.propose(WORKER, &unsure, at(1)), Err(Refused::Invalid(ref i)) if i.field == "confidence")
        );
        open.propose(WORKER, &proposal("8 %"), at(1)).unwrap();
        assert_eq!(open.status, DecisionStatus::AwaitingApproval);
        assert!(matches!(
            open.propose(WORKER, &proposal("8 %"), at(2)),
            Err(Refused::Conflict(_))
        ));
    }

    #[test]
    fn a_worker_that_cannot_propose_hands_the_decision_to_people() {
        let mut open = routed(Autonomy::AiDecides, None);
        let why = open.hand_to_people(" no usable model ", at(1)).unwrap();
        assert_eq!(why, "no usable model");
        assert_eq!(
            (open.status, open.routing.quorum),
            (DecisionStatus::AwaitingApproval, 1)
        );
        assert!(
            open.routing
                .explanation
                .contains("could not propose (no usable model)")
        );
        assert!(matches!(
            open.hand_to_people("again", at(2)),
            Err(Refused::Conflict(_))
        ));
    }

    #[test]
    fn an_ai_worker_never_votes_whatever_the_policy_says() {
        let mut waiting = routed(Autonomy::HumanOnly, None);
        let refused = waiting.cast(
            &member(WORKER, MemberKind::Ai),
            ballot(Vote::Approve, Some("8 %"), true),
            at(1),
        );
        assert!(matches!(refused, Err(Refused::Denied(_))));
        assert!(waiting.ballots.is_empty());
    }

    #[test]
    fn a_decision_takes_one_vote_per_person_while_it_waits() {
        let mut waiting = routed(Autonomy::HumanOnly, None);
        assert!(waiting.takes_a_vote_from(KATRIN, MemberKind::Human));
        assert!(!waiting.takes_a_vote_from(WORKER, MemberKind::Ai));
        waiting.routing.quorum = 2;
        waiting
            .cast(
                &member(KATRIN, MemberKind::Human),
                ballot(Vote::Approve, Some("8 %"), true),
                at(1),
            )
            .unwrap();
        assert!(
            !waiting.takes_a_vote_from(KATRIN, MemberKind::Human),
            "voted already"
        );
        assert!(waiting.takes_a_vote_from(JONAS, MemberKind::Human));
        assert!(
            !routed(Autonomy::AiPrepares, None).takes_a_vote_from(JONAS, MemberKind::Human),
            "still open"
        );
    }

    #[test]
    fn a_vote_needs_the_policy_a_waiting_decision_and_one_of_its_options() {
        let katrin = member(KATRIN, MemberKind::Human);
        let mut open = routed(Autonomy::AiPrepares, None);
        assert!(matches!(
            open.cast(&katrin, ballot(Vote::Approve, Some("8 %"), true), at(1)),
            Err(Refused::Conflict(_))
        ));
        let mut waiting = routed(Autonomy::HumanOnly, None);
        assert!(matches!(
            waiting.cast(&katrin, ballot(Vote::Approve, Some("8 %"), false), at(1)),
            Err(Refused::Denied(_))
        ));
        assert!(matches!(
            waiting.cast(&katrin, ballot(Vote::Approve, None, true), at(1)),
            Err(Refused::Invalid(_))
        ));
        assert!(matches!(
            waiting.cast(&katrin, ballot(Vote::Approve, Some("5 %"), true), at(1)),
            Err(Refused::Invalid(_))
        ));
        let kept = waiting
            .cast(&katrin, ballot(Vote::Approve, Some("8 %"), true), at(1))
            .unwrap();
        assert_eq!((kept.member_id, kept.at), (KATRIN, at(1)));
        assert_eq!(
            (waiting.status, waiting.choice.as_deref()),
            (DecisionStatus::Decided, Some("8 %"))
        );
        assert_eq!(
            (waiting.decided_by, waiting.reason.as_deref()),
            (Some(KATRIN), Some("passt"))
        );
    }

    #[test]
    fn one_rejection_closes_a_decision() {
        let mut waiting = routed(Autonomy::HumanOnly, None);
        waiting.routing.quorum = 2;
        let katrin = member(KATRIN, MemberKind::Human);
        let jonas = member(JONAS, MemberKind::Human);
        waiting
            .cast(&katrin, ballot(Vote::Approve, Some("8 %"), true), at(1))
            .unwrap();
        assert_eq!(waiting.status, DecisionStatus::AwaitingApproval);
        waiting
            .cast(&jonas, ballot(Vote::Reject, None, true), at(2))
            .unwrap();
        assert_eq!(
            (waiting.status, waiting.decided_by),
            (DecisionStatus::Rejected, Some(JONAS))
        );
    }

    #[test]
    fn a_waiting_decision_escalates_once_past_its_deadline() {
        let mut waiting = routed(Autonomy::HumanOnly, None);
        assert_eq!(
            waiting.escalate(Some(KATRIN), None, at(59)),
            None,
            "not yet due"
        );
        let allowed = PolicyVerdict {
            action: PolicyAction::Escalate,
            principal_id: KATRIN,
            allowed: true,
            policies: vec!["leads-decide".into()],
            errors: vec![],
        };
        let why = waiting
            .escalate(Some(KATRIN), Some(allowed), at(60))
            .unwrap();
        assert!(why.contains("may now decide alone"), "{why}");
        assert_eq!(
            (waiting.status, waiting.escalated_to),
            (DecisionStatus::Escalated, Some(KATRIN))
        );
        assert_eq!(
            waiting.escalate(Some(KATRIN), None, at(61)),
            None,
            "escalated already"
        );
        // Escalated to someone the policy allowed, their approval decides alone.
        waiting.routing.quorum = 3;
        waiting
            .cast(
                &member(KATRIN, MemberKind::Human),
                ballot(Vote::Approve, Some("Kein Rabatt"), true),
                at(62),
            )
            .unwrap();
        assert_eq!(waiting.status, DecisionStatus::Decided);
    }

    #[test]
    fn only_a_decided_decision_has_an_outcome() {
        let mut waiting = routed(Autonomy::HumanOnly, None);
        assert!(matches!(
            waiting.record_outcome(Outcome::Good, "", Some(KATRIN), at(1)),
            Err(Refused::Conflict(_))
        ));
        let mut decided = routed(Autonomy::AiDecides, Some(proposal("8 %")));
        let note = decided
            .record_outcome(
                Outcome::Good,
                " Vertrag unterschrieben ",
                Some(KATRIN),
                at(9),
            )
            .unwrap();
        assert_eq!(note, "Vertrag unterschrieben");
        assert_eq!(
            (decided.outcome, decided.outcome_by),
            (Some(Outcome::Good), Some(KATRIN))
        );
    }
}
