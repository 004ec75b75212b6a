//! The org and its people: teams in a hierarchy, and members who are either
//! humans with an org role or AI workers with a role card.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::text_enum;
use crate::validate::{Invalid, ValidationResult};

text_enum! {
    /// Whether a member is a person or an AI worker.
    MemberKind { Human => "human", Ai => "ai" }
}

text_enum! {
    /// A member's org role, from most to least powerful.
    Role {
        Owner => "owner",
        Admin => "admin",
        Lead => "lead",
        Member => "member",
        Viewer => "viewer",
    }
}

impl Role {
    /// Higher is more powerful; roles are strictly ordered.
    pub fn rank(self) -> u8 {
        match self {
            Role::Owner => 4,
            Role::Admin => 3,
            Role::Lead => 2,
            Role::Member => 1,
            Role::Viewer => 0,
        }
    }

    pub fn at_least(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }
}

/// A tenant. Every other row belongs to exactly one org.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Org {
    pub id: Uuid,
    pub name: String,
    /// ISO 4217 code of the currency that costs are kept in.
    pub currency: String,
    /// The IANA time zone its times are read in (`Europe/Berlin`).
    pub time_zone: String,
    pub created_at: DateTime<Utc>,
}

impl Org {
    /// The zone its times are read in.
    pub fn zone(&self) -> chrono_tz::Tz {
        crate::zone::stored_zone(&self.time_zone)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Team {
    pub id: Uuid,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Member {
    pub id: Uuid,
    pub kind: MemberKind,
    pub name: String,
    pub email: Option<String>,
    pub role: Role,
    /// Ids of the teams the member belongs to.
    pub teams: Vec<Uuid>,
    /// For AI workers: who they are, what they do, how they work.
    pub role_card: Option<String>,
    /// For AI workers: which provider and model they run on.
    pub provider: Option<String>,
    pub model: Option<String>,
    /// For AI workers: how many of their runs may run at once.
    pub concurrency: i64,
    /// For AI workers: an agent outside tutti takes its runs through the
    /// claim protocol (MCP); the engine never runs them.
    #[serde(default)]
    pub external: bool,
    pub created_at: DateTime<Utc>,
}

/// An AI worker can hold at most the `member` role: it may do work, never
/// administer people or teams.
pub fn check_role_for_kind(kind: MemberKind, role: Role) -> ValidationResult<()> {
    if kind == MemberKind::Ai && role.at_least(Role::Lead) {
        return Err(Invalid::new(
            "role",
            "an AI worker can only be a member or a viewer",
        ));
    }
    Ok(())
}

/// Only an AI worker can be external (its runs taken by an agent outside
/// tutti); a person's work is never claimed by an agent.
pub fn check_external(kind: MemberKind, external: bool) -> ValidationResult<bool> {
    if external && kind != MemberKind::Ai {
        return Err(Invalid::new(
            "external",
            "only an AI worker can be external; a person's work is theirs",
        ));
    }
    Ok(external)
}

/// How many of an AI worker's runs may run at once: 1 to 64.
pub fn check_concurrency(value: i64) -> ValidationResult<i64> {
    if (1..=64).contains(&value) {
        Ok(value)
    } else {
        Err(Invalid::new("concurrency", "must be between 1 and 64"))
    }
}

/// An org always keeps an owner: the last one (`owners` is how many there
/// are) cannot give up the role.
pub fn check_role_change(from: Role, to: Role, owners: i64) -> ValidationResult<()> {
    if from == Role::Owner && to != Role::Owner && owners <= 1 {
        return Err(Invalid::new(
            "role",
            "the org's last owner cannot give up that role",
        ));
    }
    Ok(())
}

/// ISO 4217-shaped: three upper-case ASCII letters.
pub fn parse_currency(value: &str) -> ValidationResult<String> {
    let code = value.trim().to_ascii_uppercase();
    if code.len() == 3 && code.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(Invalid::new(
            "currency",
            "must be a three-letter ISO 4217 code such as EUR",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Owner.at_least(Role::Admin));
        assert!(Role::Lead.at_least(Role::Member));
        assert!(!Role::Viewer.at_least(Role::Member));
    }

    #[test]
    fn ai_workers_cannot_lead_or_administer() {
        assert!(check_role_for_kind(MemberKind::Ai, Role::Member).is_ok());
        assert!(check_role_for_kind(MemberKind::Ai, Role::Lead).is_err());
        assert!(check_role_for_kind(MemberKind::Ai, Role::Owner).is_err());
        assert!(check_role_for_kind(MemberKind::Human, Role::Owner).is_ok());
        assert_eq!(check_external(MemberKind::Ai, true), Ok(true));
        assert_eq!(check_external(MemberKind::Human, false), Ok(false));
        assert!(matches!(
            check_external(MemberKind::Human, true),
            Err(Invalid { ref field, .. }) if field == "external"
        ));
    }

    #[test]
    fn an_org_keeps_its_last_owner() {
        assert!(check_role_change(Role::Owner, Role::Admin, 1).is_err_and(|e| e.field == "role"));
        assert!(check_role_change(Role::Owner, Role::Admin, 2).is_ok());
        assert!(check_role_change(Role::Owner, Role::Owner, 1).is_ok());
        assert!(check_role_change(Role::Admin, Role::Member, 1).is_ok());
    }

    #[test]
    fn an_ai_worker_runs_one_to_sixty_four_at_once() {
        assert_eq!(check_concurrency(2), Ok(2));
        for bad in [0, 65, -1] {
            assert!(check_concurrency(bad).is_err_and(|e| e.field == "concurrency"));
        }
    }

    #[test]
    fn roles_parse_from_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(*role));
        }
        assert!("boss".parse::<Role>().is_err());
    }
}
