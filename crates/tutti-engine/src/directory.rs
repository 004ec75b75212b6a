//! Use cases of the org and its people: teams, members, tokens.
//!
//! Each function authorises the actor with `Actor::may`, then makes the one
//! store call that writes the change with its audit event.

use tutti_domain::access::{Action, Actor};
use tutti_domain::org::{Member, Org, Team};
use tutti_store::prelude::*;
use tutti_store::{Ctx, Enrolment, MemberPatch, NewMember, NewTeam, TeamPatch, TokenInfo};
use uuid::Uuid;

use crate::{EngineResult, Runtime};

/// Creates a team. Leads create teams below the teams they lead; naming a
/// lead other than oneself is an admin's call.
pub async fn create_team<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    new: NewTeam,
) -> EngineResult<Team> {
    actor.may(Action::CreateTeam {
        parent_id: new.parent_id,
    })?;
    if new.lead_id.is_some_and(|lead| lead != actor.member_id) {
        actor.may(Action::ManageOrg)?;
    }
    Ok(store.create_team(ctx, new).await?)
}

/// Renames a team; moving it or naming its lead is an admin's call.
pub async fn update_team<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
    patch: TeamPatch,
) -> EngineResult<Team> {
    store.team(actor.org_id, id).await?;
    actor.may(Action::ManageTeam { team_id: id })?;
    if patch.parent_id.is_some() || patch.lead_id.is_some() {
        actor.may(Action::ManageOrg)?;
    }
    Ok(store.update_team(ctx, id, patch).await?)
}

/// Adds a person or an AI worker.
pub async fn create_member<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    new: NewMember,
) -> EngineResult<Member> {
    actor.may(Action::CreateMember { role: new.role })?;
    Ok(store.create_member(ctx, new).await?)
}

/// Adds a member with what comes with them, in one transaction: a person
/// with a first password, an AI worker with its concurrency and a monthly
/// budget of its own. Admins add members; a budget needs the right to set
/// one on a worker too.
pub async fn enrol_member<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    new: NewMember,
    enrolment: Enrolment,
) -> EngineResult<Member> {
    actor.may(Action::CreateMember { role: new.role })?;
    if enrolment.password_hash.is_some() {
        actor.may(Action::ManageMember { role: new.role })?;
    }
    if enrolment.budget.is_some() {
        actor.may(Action::ManageBudget { team_id: None })?;
    }
    Ok(store.enrol_member(ctx, new, enrolment).await?)
}

/// Changes a member; changing an owner, or making one, is an owner's call.
pub async fn update_member<S: Store>(
    store: &S,
    runtime: &Runtime,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
    patch: MemberPatch,
) -> EngineResult<Member> {
    let current = store.member(actor.org_id, id).await?;
    actor.may(Action::ManageMember { role: current.role })?;
    if let Some(role) = patch.role {
        actor.may(Action::ManageMember { role })?;
    }
    let raised = patch.concurrency.is_some();
    let member = store.update_member(ctx, id, patch).await?;
    if raised {
        // More room for an AI worker: its queued runs may start now rather
        // than at the runtime's next look.
        runtime.wake();
    }
    Ok(member)
}

/// Keeps the hash of a new token for a member: one's own, or anyone's for
/// an admin. The token itself is made by the caller and shown once.
pub async fn create_token<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    member_id: Uuid,
    label: &str,
    token_hash: &str,
) -> EngineResult<TokenInfo> {
    store.member(actor.org_id, member_id).await?;
    actor.may(Action::CreateToken {
        for_member: member_id,
    })?;
    Ok(store
        .create_token(ctx, member_id, label, token_hash)
        .await?)
}

/// Sets a person's password on their behalf (admins; only owners for an
/// owner): the initial password of an invited person, which the admin hands
/// over. Setting it ends the person's sessions.
pub async fn set_password<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    member_id: Uuid,
    password_hash: &str,
) -> EngineResult<()> {
    let member = store.member(actor.org_id, member_id).await?;
    actor.may(Action::ManageMember { role: member.role })?;
    // The store refuses an AI member, which signs in with a token.
    Ok(store.set_password(ctx, member_id, password_hash).await?)
}

/// Sets the org's IANA time zone (admins), the zone its times are read in.
pub async fn set_time_zone<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    name: &str,
) -> EngineResult<Org> {
    actor.may(Action::ManageOrgSettings)?;
    let zone = tutti_domain::zone::parse_time_zone("time_zone", name)?;
    Ok(store.set_time_zone(ctx, zone.name()).await?)
}

/// Sets (or with `None` clears, to follow the org's) the zone a person
/// reads times in: their own, or anyone's for an admin.
pub async fn set_member_time_zone<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    member_id: Uuid,
    name: Option<&str>,
) -> EngineResult<Option<String>> {
    if member_id != actor.member_id {
        let member = store.member(actor.org_id, member_id).await?;
        actor.may(Action::ManageMember { role: member.role })?;
    }
    let zone = name
        .map(|name| tutti_domain::zone::parse_time_zone("time_zone", name))
        .transpose()?
        .map(|zone| zone.name().to_owned());
    store
        .set_member_time_zone(ctx, member_id, zone.as_deref())
        .await?;
    Ok(zone)
}
