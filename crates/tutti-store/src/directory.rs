//! The storage contract for the org and its people: orgs, teams, members
//! (people and AI workers) and their API tokens.
//!
//! Tokens are stored as their SHA-256 only; the store never sees a token.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::access::Actor;
use tutti_domain::org::{Member, MemberKind, Org, Role, Team};
use tutti_domain::validate::Email;
use uuid::Uuid;

use crate::{Ctx, Page, PageRequest, Result};

#[derive(Debug, Clone)]
pub struct NewTeam {
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
}

/// `None` leaves a field as it is; `Some(None)` clears an optional field.
#[derive(Debug, Clone, Default)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub parent_id: Option<Option<Uuid>>,
    pub lead_id: Option<Option<Uuid>>,
}

#[derive(Debug, Clone)]
pub struct NewMember {
    pub kind: MemberKind,
    pub name: String,
    pub email: Option<Email>,
    pub role: Role,
    pub teams: Vec<Uuid>,
    pub role_card: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
}

/// What comes with a new member in the same transaction: a person's first
/// password (its hash), an AI worker's concurrency and its monthly budget.
#[derive(Debug, Clone, Default)]
pub struct Enrolment {
    pub password_hash: Option<String>,
    pub concurrency: Option<i64>,
    /// An AI worker whose runs an agent outside tutti claims (MCP).
    pub external: bool,
    /// Scoped to the new member by the store.
    pub budget: Option<crate::NewBudget>,
}

#[derive(Debug, Clone, Default)]
pub struct MemberPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub teams: Option<Vec<Uuid>>,
    pub role_card: Option<Option<String>>,
    pub provider: Option<Option<String>>,
    pub model: Option<Option<String>>,
    pub concurrency: Option<i64>,
    /// An AI worker whose runs an agent outside tutti claims (MCP).
    pub external: Option<bool>,
}

/// A token as listed: never the token itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: Uuid,
    pub member_id: Uuid,
    pub label: String,
    pub created_at: DateTime<Utc>,
}

/// Orgs, teams, members and tokens. Errors as [`crate::Store`] says; every
/// write appends its audit event in its own transaction.
pub trait Directory: Clone + Send + Sync + 'static {
    /// Creates an org with its first member, an owner, in one transaction.
    /// `Invalid` for a bad name or currency, or a first member who is not
    /// an owner.
    fn create_org(
        &self,
        name: &str,
        currency: &str,
        owner: NewMember,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(Org, Member)>> + Send;
    /// `NotFound` for an unknown org.
    fn org(&self, org_id: Uuid) -> impl Future<Output = Result<Org>> + Send;
    /// Sets the org's IANA time zone (checked by the caller).
    fn set_time_zone(&self, ctx: &Ctx, time_zone: &str)
    -> impl Future<Output = Result<Org>> + Send;
    /// Every org, oldest first (for the engine's org-wide work).
    fn orgs(&self) -> impl Future<Output = Result<Vec<Org>>> + Send;

    /// Stores the hash of a new token for a member of the org. `NotFound`
    /// for a member of another org.
    fn create_token(
        &self,
        ctx: &Ctx,
        member_id: Uuid,
        label: &str,
        token_hash: &str,
    ) -> impl Future<Output = Result<TokenInfo>> + Send;
    /// The actor a token hash belongs to (with their teams and the teams
    /// they lead), or `None` for an unknown token.
    fn actor_by_token(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<Actor>>> + Send;
    /// A member of the org as an actor, or `None` if there is none.
    fn actor(
        &self,
        org_id: Uuid,
        member_id: Uuid,
    ) -> impl Future<Output = Result<Option<Actor>>> + Send;
    /// The member of the org with that email; `NotFound` if there is none.
    fn member_by_email(
        &self,
        org_id: Uuid,
        email: &Email,
    ) -> impl Future<Output = Result<Member>> + Send;

    /// `Invalid` naming `parent_id` or `lead_id` when they are not of this org.
    fn create_team(&self, ctx: &Ctx, team: NewTeam) -> impl Future<Output = Result<Team>> + Send;
    /// `NotFound` for a team of another org.
    fn team(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Team>> + Send;
    /// The org's teams, oldest first.
    fn teams(
        &self,
        org_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Team>>> + Send;
    /// `Invalid` for a reference outside the org or a parent that would make
    /// the team its own ancestor; `NotFound` for an unknown team.
    fn update_team(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: TeamPatch,
    ) -> impl Future<Output = Result<Team>> + Send;

    /// `Invalid` for a role the kind cannot hold (an AI worker is at most a
    /// member) or a team outside the org; `Conflict` for a taken email.
    fn create_member(
        &self,
        ctx: &Ctx,
        member: NewMember,
    ) -> impl Future<Output = Result<Member>> + Send;
    /// Creates a member together with what the enrolment brings, in one
    /// transaction: all of it is written, or none. Errors as
    /// [`Self::create_member`], and `Invalid` for a password for an AI
    /// worker, a concurrency out of range or a budget that does not hold.
    fn enrol_member(
        &self,
        ctx: &Ctx,
        member: NewMember,
        enrolment: Enrolment,
    ) -> impl Future<Output = Result<Member>> + Send;
    /// `NotFound` for a member of another org.
    fn member(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Member>> + Send;
    /// The org's members, people and AI workers, oldest first.
    fn members(
        &self,
        org_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Member>>> + Send;
    /// `Invalid` for a role the kind cannot hold, the org's last owner
    /// giving up that role, a concurrency outside 1–64, or a team outside
    /// the org.
    fn update_member(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: MemberPatch,
    ) -> impl Future<Output = Result<Member>> + Send;
}
