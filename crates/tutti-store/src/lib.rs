//! tutti's persistence: the [`Store`] contract and its two backends, SQLite (the
//! embedded default) and PostgreSQL (for several nodes).
//!
//! Both backends share one implementation (`shared.rs`), compiled once per backend
//! with that backend's concrete sqlx types, so every query is written once and no
//! `dyn` or `sqlx::Any` stands between the code and the driver. What differs — the
//! connection set-up, the migrations, row locking — lives in `sqlite.rs` and
//! `postgres.rs`.
//!
//! Invariants every mutating call keeps:
//! - it runs in one transaction that also appends its audit event to the org's
//!   hash chain, so state and audit never disagree;
//! - it only ever touches rows of the org in its [`Ctx`]; an id of another org
//!   is "not found", never someone else's data;
//! - references (team, owner, key result, …) are checked to exist in the org
//!   and a bad one is refused naming the field, with nothing written.

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::access::Actor;
use tutti_domain::audit::{ChainBreak, Event};
use tutti_domain::org::{Member, MemberKind, Org, Role, Team};
use tutti_domain::strategy::{CheckIn, KeyResult, Objective, ObjectiveStatus};
use tutti_domain::validate::{Email, Invalid};
use tutti_domain::work::{Priority, WorkItem, WorkKind, WorkState};
use uuid::Uuid;

pub mod cockpit;
pub mod decisions;
mod error;
pub mod labour;
pub mod postgres;
mod rows;
pub mod sqlite;

pub use cockpit::Cockpit;
pub use decisions::Decisions;
pub use error::StoreError;
pub use labour::Labour;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Who acts, for which org, and when. Every call that reads or writes org data
/// takes one.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub org_id: Uuid,
    /// `None` for the system itself (bootstrap, seeding).
    pub actor_id: Option<Uuid>,
    pub now: DateTime<Utc>,
    /// When set, the response of a creating call is kept under this key in the
    /// same transaction, so a retried request gets the same answer.
    pub idempotency: Option<IdempotencyKey>,
}

impl Ctx {
    pub fn new(org_id: Uuid, actor_id: Option<Uuid>, now: DateTime<Utc>) -> Self {
        Self {
            org_id,
            actor_id,
            now: tutti_domain::audit::audit_time(now),
            idempotency: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct IdempotencyKey {
    pub key: String,
    /// Hash of method, path and body, to refuse reuse of a key for another request.
    pub request_hash: String,
}

/// A response kept for an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// A page of a list, oldest first, and where the next page starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Where a page starts (after which id) and how long it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PageRequest {
    pub after: Option<Uuid>,
    pub limit: u32,
}

impl PageRequest {
    pub const MAX_LIMIT: u32 = 500;
    pub const DEFAULT_LIMIT: u32 = 50;

    /// The first `limit` rows.
    pub fn first(limit: u32) -> Self {
        Self { after: None, limit }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            after: None,
            limit: Self::DEFAULT_LIMIT,
        }
    }
}

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

#[derive(Debug, Clone, Default)]
pub struct MemberPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    pub teams: Option<Vec<Uuid>>,
    pub role_card: Option<Option<String>>,
    pub provider: Option<Option<String>>,
    pub model: Option<Option<String>>,
    pub concurrency: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct NewObjective {
    pub title: String,
    pub why: String,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default)]
pub struct ObjectivePatch {
    pub title: Option<String>,
    pub why: Option<String>,
    pub owner_id: Option<Option<Uuid>>,
    pub team_id: Option<Option<Uuid>>,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub parent_id: Option<Option<Uuid>>,
    pub status: Option<ObjectiveStatus>,
}

#[derive(Debug, Clone)]
pub struct NewKeyResult {
    pub title: String,
    pub baseline: f64,
    pub target: f64,
    /// Starts at the baseline when not given.
    pub current: Option<f64>,
    pub unit: String,
    pub confidence: u8,
}

#[derive(Debug, Clone, Default)]
pub struct KeyResultPatch {
    pub title: Option<String>,
    pub baseline: Option<f64>,
    pub target: Option<f64>,
    pub unit: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewCheckIn {
    pub value: f64,
    pub confidence: u8,
    pub note: String,
}

#[derive(Debug, Clone)]
pub struct NewWorkItem {
    pub title: String,
    pub description: String,
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub state: WorkState,
    pub kind: WorkKind,
    pub priority: Priority,
    pub due: Option<NaiveDate>,
    pub parent_id: Option<Uuid>,
    pub key_result_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default)]
pub struct WorkItemPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub team_id: Option<Option<Uuid>>,
    pub assignee_id: Option<Option<Uuid>>,
    pub state: Option<WorkState>,
    pub kind: Option<WorkKind>,
    pub priority: Option<Priority>,
    pub due: Option<Option<NaiveDate>>,
    pub parent_id: Option<Option<Uuid>>,
    pub key_result_id: Option<Option<Uuid>>,
}

#[derive(Debug, Clone, Default)]
pub struct WorkFilter {
    pub state: Option<WorkState>,
    pub assignee_id: Option<Uuid>,
    pub key_result_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    /// Only work that serves no key result.
    pub unaligned: bool,
}

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub after_seq: Option<i64>,
    pub limit: u32,
    pub action: Option<String>,
    pub subject_id: Option<Uuid>,
}

/// A token as listed: never the token itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: Uuid,
    pub member_id: Uuid,
    pub label: String,
    pub created_at: DateTime<Utc>,
}

/// A set of objectives with every objective below them and all their key
/// results: what the roll-up needs.
#[derive(Debug, Clone, Default)]
pub struct ObjectiveForest {
    pub objectives: Vec<Objective>,
    pub key_results: Vec<KeyResult>,
}

/// Rows for a bulk import (demo data, benchmarks): written in large batches
/// with one audit event per batch.
#[derive(Debug, Clone, Default)]
pub struct Import {
    pub objectives: Vec<Objective>,
    pub key_results: Vec<KeyResult>,
    pub work_items: Vec<WorkItem>,
}

/// The storage contract. Every method is scoped to one org; every mutating
/// method writes its audit event in its own transaction.
///
/// Errors: [`StoreError::NotFound`] when the addressed row does not exist *in
/// this org*; [`StoreError::Invalid`] when input refers to something that does
/// not exist or breaks a rule (naming the field); [`StoreError::Conflict`] for
/// duplicates; [`StoreError::Database`] for everything the database itself
/// reports.
pub trait Store: Labour + Decisions + Cockpit {
    /// Applies pending migrations. Safe to run from several processes at once.
    fn migrate(&self) -> impl Future<Output = Result<()>> + Send;

    /// Which backend this is, for messages.
    fn backend(&self) -> &'static str;

    /// Checks that the database answers.
    fn ping(&self) -> impl Future<Output = Result<()>> + Send;

    /// Creates an org with its first member, an owner, in one transaction.
    fn create_org(
        &self,
        name: &str,
        currency: &str,
        owner: NewMember,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(Org, Member)>> + Send;
    fn org(&self, org_id: Uuid) -> impl Future<Output = Result<Org>> + Send;
    fn orgs(&self) -> impl Future<Output = Result<Vec<Org>>> + Send;

    /// Stores the hash of a new token for a member of the org.
    fn create_token(
        &self,
        ctx: &Ctx,
        member_id: Uuid,
        label: &str,
        token_hash: &str,
    ) -> impl Future<Output = Result<TokenInfo>> + Send;
    /// The actor a token hash belongs to, or `None` for an unknown token.
    fn actor_by_token(
        &self,
        token_hash: &str,
    ) -> impl Future<Output = Result<Option<Actor>>> + Send;
    /// The member with that email, in any org (for the CLI, which starts from an email).
    fn member_by_email(
        &self,
        org_id: Uuid,
        email: &Email,
    ) -> impl Future<Output = Result<Member>> + Send;

    fn create_team(&self, ctx: &Ctx, team: NewTeam) -> impl Future<Output = Result<Team>> + Send;
    fn team(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Team>> + Send;
    fn teams(
        &self,
        org_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Team>>> + Send;
    fn update_team(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: TeamPatch,
    ) -> impl Future<Output = Result<Team>> + Send;

    fn create_member(
        &self,
        ctx: &Ctx,
        member: NewMember,
    ) -> impl Future<Output = Result<Member>> + Send;
    fn member(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Member>> + Send;
    fn members(
        &self,
        org_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Member>>> + Send;
    fn update_member(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: MemberPatch,
    ) -> impl Future<Output = Result<Member>> + Send;

    fn create_objective(
        &self,
        ctx: &Ctx,
        objective: NewObjective,
    ) -> impl Future<Output = Result<Objective>> + Send;
    fn objective(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Objective>> + Send;
    fn objectives(
        &self,
        org_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Objective>>> + Send;
    fn update_objective(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: ObjectivePatch,
    ) -> impl Future<Output = Result<Objective>> + Send;
    /// The given objectives and everything below them, with their key results.
    fn objective_forest(
        &self,
        org_id: Uuid,
        roots: &[Uuid],
    ) -> impl Future<Output = Result<ObjectiveForest>> + Send;
    /// Every objective and key result of the org.
    fn all_objectives(&self, org_id: Uuid) -> impl Future<Output = Result<ObjectiveForest>> + Send;

    fn create_key_result(
        &self,
        ctx: &Ctx,
        objective_id: Uuid,
        key_result: NewKeyResult,
    ) -> impl Future<Output = Result<KeyResult>> + Send;
    fn key_result(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<KeyResult>> + Send;
    fn update_key_result(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: KeyResultPatch,
    ) -> impl Future<Output = Result<KeyResult>> + Send;

    /// The team and owner of the objective a key result belongs to: what
    /// access to the key result depends on.
    fn key_result_scope(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = Result<(Option<Uuid>, Option<Uuid>)>> + Send;

    /// Records a check-in and moves the key result to its value and confidence.
    fn create_check_in(
        &self,
        ctx: &Ctx,
        key_result_id: Uuid,
        check_in: NewCheckIn,
    ) -> impl Future<Output = Result<CheckIn>> + Send;
    fn check_ins(
        &self,
        org_id: Uuid,
        key_result_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<CheckIn>>> + Send;

    fn create_work_item(
        &self,
        ctx: &Ctx,
        item: NewWorkItem,
    ) -> impl Future<Output = Result<WorkItem>> + Send;
    fn work_item(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<WorkItem>> + Send;
    fn work_items(
        &self,
        org_id: Uuid,
        filter: &WorkFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<WorkItem>>> + Send;
    /// Applies a patch; a state change must be a legal move.
    fn update_work_item(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: WorkItemPatch,
    ) -> impl Future<Output = Result<WorkItem>> + Send;

    fn events(
        &self,
        org_id: Uuid,
        filter: &EventFilter,
    ) -> impl Future<Output = Result<Page<Event>>> + Send;
    /// Walks the org's whole chain; `Ok(n)` when all `n` events verify.
    fn verify_chain(
        &self,
        org_id: Uuid,
    ) -> impl Future<Output = Result<Result<i64, ChainBreak>>> + Send;

    /// The response kept for an idempotency key of this member, if any.
    fn idempotent_response(
        &self,
        org_id: Uuid,
        member_id: Uuid,
        key: &str,
    ) -> impl Future<Output = Result<Option<StoredResponse>>> + Send;

    /// Writes many rows at once (demo data, benchmarks), one audit event per batch.
    fn import(&self, ctx: &Ctx, import: Import) -> impl Future<Output = Result<()>> + Send;
}

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, Invalid> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(Invalid::new(
                "database_url",
                "must start with sqlite: or postgres://",
            ))
        }
    }
}

pub mod testing;
