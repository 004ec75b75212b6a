//! What makes a decision space well-formed, apart from its policy: a name,
//! a few short principles, declared attributes with names of their own, a
//! quorum people can meet, one scope, and an escalation that names both a
//! person and a time or neither.
//!
//! Whether the policy compiles against the space's schema is
//! `tutti-policy`'s to say; the engine asks it before a space is saved.
//!
//! Above every policy, an AI worker stays in its own spaces
//! ([`ai_may_act_in`]): a space's policy can narrow what a worker may do
//! there, never let it into a team it does not work in.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AttributeType, DecisionSpace, check_attribute_name};
use crate::org::{Member, MemberKind};
use crate::validate::{Invalid, TITLE_MAX, ValidationResult, text};

/// The most approvals a space, or a policy's `@quorum`, may ask for.
pub const MAX_QUORUM: i64 = 9;
/// A space carries at most this many principles …
pub const MAX_PRINCIPLES: usize = 20;
/// … each at most this long.
pub const PRINCIPLE_MAX: usize = 500;
/// A policy's source is at most this many bytes.
pub const POLICY_MAX_BYTES: usize = 200_000;
/// A waiting decision escalates after at least a minute and at most a month.
pub const ESCALATE_AFTER_SECS: std::ops::RangeInclusive<i64> = 60..=31 * 24 * 3600;

/// A space as someone asks for it.
#[derive(Debug, Clone)]
pub struct NewSpace {
    pub name: String,
    pub team_id: Option<Uuid>,
    pub objective_id: Option<Uuid>,
    pub principles: Vec<String>,
    pub policy: String,
    pub attributes: BTreeMap<String, AttributeType>,
    pub quorum: i64,
    pub escalate_after_secs: Option<i64>,
    pub escalate_to: Option<Uuid>,
}

/// A change to a space; `None` leaves a field as it is, `Some(None)` clears
/// an optional one.
#[derive(Debug, Clone, Default)]
pub struct SpacePatch {
    pub name: Option<String>,
    pub principles: Option<Vec<String>>,
    pub policy: Option<String>,
    pub attributes: Option<BTreeMap<String, AttributeType>>,
    pub quorum: Option<i64>,
    pub escalate_after_secs: Option<Option<i64>>,
    pub escalate_to: Option<Option<Uuid>>,
}

impl DecisionSpace {
    /// A new space at version 1, not yet checked.
    pub fn new(id: Uuid, new: NewSpace, now: DateTime<Utc>) -> Self {
        Self {
            id,
            name: new.name,
            team_id: new.team_id,
            objective_id: new.objective_id,
            principles: new.principles,
            policy: new.policy,
            attributes: new.attributes,
            quorum: new.quorum,
            escalate_after_secs: new.escalate_after_secs,
            escalate_to: new.escalate_to,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// The space with `patch` applied, as its next version, not yet checked.
    pub fn patched(&self, patch: SpacePatch, now: DateTime<Utc>) -> Self {
        let mut next = self.clone();
        next.name = patch.name.unwrap_or(next.name);
        next.principles = patch.principles.unwrap_or(next.principles);
        next.policy = patch.policy.unwrap_or(next.policy);
        next.attributes = patch.attributes.unwrap_or(next.attributes);
        next.quorum = patch.quorum.unwrap_or(next.quorum);
        next.escalate_after_secs = patch
            .escalate_after_secs
            .unwrap_or(next.escalate_after_secs);
        next.escalate_to = patch.escalate_to.unwrap_or(next.escalate_to);
        next.version += 1;
        next.updated_at = now;
        next
    }

    /// Checks everything of the space that stands on its own, trimming its
    /// texts. The policy is checked against the schema elsewhere.
    pub fn checked(mut self) -> ValidationResult<Self> {
        self.name = text("name", &self.name, TITLE_MAX)?;
        if self.principles.len() > MAX_PRINCIPLES {
            return Err(Invalid::new(
                "principles",
                format!("at most {MAX_PRINCIPLES} principles"),
            ));
        }
        self.principles = self
            .principles
            .iter()
            .enumerate()
            .map(|(i, p)| text(&format!("principles[{i}]"), p, PRINCIPLE_MAX))
            .collect::<ValidationResult<_>>()?;
        for name in self.attributes.keys() {
            check_attribute_name(name)?;
        }
        if !(1..=MAX_QUORUM).contains(&self.quorum) {
            return Err(Invalid::new(
                "quorum",
                format!("must be between 1 and {MAX_QUORUM}"),
            ));
        }
        if self
            .escalate_after_secs
            .is_some_and(|secs| !ESCALATE_AFTER_SECS.contains(&secs))
        {
            return Err(Invalid::new(
                "escalate_after_secs",
                "must be between 60 seconds and 31 days",
            ));
        }
        if self.policy.len() > POLICY_MAX_BYTES {
            return Err(Invalid::new("policy", "at most 200 000 bytes"));
        }
        if self.team_id.is_some() == self.objective_id.is_some() {
            return Err(Invalid::new(
                "team_id",
                "a space is scoped to exactly one team or one objective",
            ));
        }
        if self.escalate_after_secs.is_some() != self.escalate_to.is_some() {
            return Err(Invalid::new(
                "escalate_to",
                "escalation needs both escalate_after_secs and escalate_to",
            ));
        }
        Ok(self)
    }

    /// Whether `target`, the member `escalate_to` names as loaded (`None`:
    /// no such member), may be escalated to: decisions escalate to people.
    pub fn check_escalation_target(&self, target: Option<&Member>) -> ValidationResult<()> {
        let Some(id) = self.escalate_to else {
            return Ok(());
        };
        match target {
            None => Err(Invalid::new(
                "escalate_to",
                format!("no member with id {id} in this org"),
            )),
            Some(member) if member.kind != MemberKind::Human => Err(Invalid::new(
                "escalate_to",
                "decisions escalate to a person, not an AI worker",
            )),
            Some(_) => Ok(()),
        }
    }
}

/// Whether an AI worker may raise, prepare or decide decisions in a space
/// that belongs to `space_team` (its own team, or its objective's; `None` for
/// a space of the whole org). `worker_lines` holds each of the worker's teams
/// with every team above it: a space of a team covers the teams below it.
pub fn ai_may_act_in(space_team: Option<Uuid>, worker_lines: &[Uuid]) -> bool {
    space_team.is_none_or(|team| worker_lines.contains(&team))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> DecisionSpace {
        DecisionSpace::new(
            Uuid::from_u128(1),
            NewSpace {
                name: " Rabatte ".into(),
                team_id: Some(Uuid::from_u128(2)),
                objective_id: None,
                principles: vec![" Über 15 % entscheidet ein Mensch ".into()],
                policy: String::new(),
                attributes: BTreeMap::new(),
                quorum: 1,
                escalate_after_secs: None,
                escalate_to: None,
            },
            DateTime::<Utc>::MIN_UTC,
        )
    }

    fn field(space: DecisionSpace) -> String {
        space.checked().err().map(|e| e.field).unwrap_or_default()
    }

    #[test]
    fn a_well_formed_space_is_trimmed_and_kept() {
        let checked = space().checked();
        assert_eq!(
            checked
                .as_ref()
                .map(|s| (s.name.as_str(), s.principles[0].as_str())),
            Ok(("Rabatte", "Über 15 % entscheidet ein Mensch"))
        );
    }

    #[test]
    fn a_space_needs_one_scope_a_reachable_quorum_and_a_whole_escalation() {
        assert_eq!(
            field(DecisionSpace {
                quorum: 0,
                ..space()
            }),
            "quorum"
        );
        assert_eq!(
            field(DecisionSpace {
                quorum: MAX_QUORUM + 1,
                ..space()
            }),
            "quorum"
        );
        assert_eq!(
            field(DecisionSpace {
                objective_id: Some(Uuid::from_u128(3)),
                ..space()
            }),
            "team_id"
        );
        assert_eq!(
            field(DecisionSpace {
                team_id: None,
                ..space()
            }),
            "team_id"
        );
        assert_eq!(
            field(DecisionSpace {
                escalate_after_secs: Some(3600),
                ..space()
            }),
            "escalate_to"
        );
        assert_eq!(
            field(DecisionSpace {
                escalate_after_secs: Some(59),
                escalate_to: Some(Uuid::from_u128(4)),
                ..space()
            }),
            "escalate_after_secs"
        );
        assert_eq!(
            field(DecisionSpace {
                principles: vec!["x".into(); MAX_PRINCIPLES + 1],
                ..space()
            }),
            "principles"
        );
        assert_eq!(
            field(DecisionSpace {
                principles: vec!["  ".into()],
                ..space()
            }),
            "principles[0]"
        );
        let mut attributes = BTreeMap::new();
        attributes.insert("amount".to_owned(), AttributeType::Long);
        assert_eq!(
            field(DecisionSpace {
                attributes,
                ..space()
            }),
            "attributes.amount"
        );
    }

    #[test]
    fn a_patch_is_the_next_version_and_clears_what_it_nulls() {
        let first = DecisionSpace {
            escalate_after_secs: Some(3600),
            escalate_to: Some(Uuid::from_u128(4)),
            ..space()
        };
        let next = first.patched(
            SpacePatch {
                quorum: Some(2),
                escalate_after_secs: Some(None),
                escalate_to: Some(None),
                ..SpacePatch::default()
            },
            DateTime::<Utc>::MAX_UTC,
        );
        assert_eq!((next.version, next.quorum), (2, 2));
        assert_eq!((next.escalate_after_secs, next.escalate_to), (None, None));
        assert_eq!(
            (next.name, next.updated_at),
            (first.name, DateTime::<Utc>::MAX_UTC)
        );
    }

    #[test]
    fn decisions_escalate_to_a_person_who_exists() {
        let escalating = DecisionSpace {
            escalate_after_secs: Some(3600),
            escalate_to: Some(Uuid::from_u128(4)),
            ..space()
        };
        let member = |kind| Member {
            id: Uuid::from_u128(4),
            kind,
            name: "Katrin".into(),
            email: None,
            role: crate::org::Role::Lead,
            teams: vec![],
            role_card: None,
            provider: None,
            model: None,
            concurrency: 1,
            external: false,
            created_at: DateTime::<Utc>::MIN_UTC,
        };
        assert!(
            escalating
                .check_escalation_target(Some(&member(MemberKind::Human)))
                .is_ok()
        );
        assert!(
            escalating
                .check_escalation_target(Some(&member(MemberKind::Ai)))
                .is_err()
        );
        assert!(
            escalating
                .check_escalation_target(None)
                .is_err_and(|e| e.field == "escalate_to")
        );
        assert!(space().check_escalation_target(None).is_ok());
    }

    #[test]
    fn an_ai_worker_acts_only_in_the_spaces_of_its_teams_and_above() {
        let (service, notdienst, vertrieb) = (
            Uuid::from_u128(10),
            Uuid::from_u128(11),
            Uuid::from_u128(20),
        );
        // A worker in Notdienst, which sits below Service.
        let lines = [notdienst, service];
        assert!(ai_may_act_in(Some(notdienst), &lines));
        assert!(
            ai_may_act_in(Some(service), &lines),
            "a team's space covers the teams below"
        );
        assert!(
            !ai_may_act_in(Some(vertrieb), &lines),
            "another team's space"
        );
        assert!(ai_may_act_in(None, &lines), "a space of the whole org");
        assert!(!ai_may_act_in(Some(service), &[]), "a worker in no team");
    }
}
