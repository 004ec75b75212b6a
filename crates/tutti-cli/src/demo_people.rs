//! A person of the demo org, as `tutti up` enrols them: the seeding of
//! each part of the demo (`demo`, `demo_pulse`) makes its people so.

use tutti_domain::org::{MemberKind, Role};
use tutti_domain::validate::Email;
use tutti_store::NewMember;
use uuid::Uuid;

/// A person with a work email, a role and their teams.
pub(crate) fn person(
    name: &str,
    email: &str,
    role: Role,
    teams: Vec<Uuid>,
) -> anyhow::Result<NewMember> {
    Ok(NewMember {
        kind: MemberKind::Human,
        name: name.into(),
        email: Some(Email::parse("email", email)?),
        role,
        teams,
        role_card: None,
        provider: None,
        model: None,
    })
}
