//! tutti's persistence: the [`Store`] contract and its two backends, SQLite (the
//! embedded default) and PostgreSQL (for several nodes).
//!
//! The contract is split by concern, one trait each: [`Directory`] (orgs,
//! teams, members, tokens), [`Strategy`] (objectives, key results,
//! check-ins), [`Work`] (work items), [`Audit`] (the hash chain),
//! [`Providers`] (models and prices), [`Ledger`] (budgets, reservations,
//! the ledger), [`Runs`] (the run queue and reviews), [`Decisions`],
//! [`Services`] (the service catalogue and promises), [`Flows`] (flows,
//! their gates, cases and learnings), [`Transfer`] (a whole org out and in),
//! [`Sessions`] (the cockpit's sign-in), [`Alerts`] (alerts, webhooks,
//! deliveries) and [`Figures`] (the cockpit's aggregates). [`Store`] is all
//! of them; `use tutti_store::prelude::*` brings them into scope.
//!
//! The store persists: it holds the SQL and runs each write in one
//! transaction. The rules it applies inside those transactions (state
//! machines, budget maths, validation) are `tutti_domain`'s, called here so
//! that they judge the rows as they stand under the transaction's locks.
//!
//! Both backends share one implementation (`shared/`), compiled once per backend
//! with that backend's concrete sqlx types, so every query is written once and no
//! `dyn` or `sqlx::Any` stands between the code and the driver. What differs — the
//! connection set-up, the migrations, row locking, SQLite's direct paths —
//! lives in `sqlite.rs` and `postgres.rs`.
//!
//! Invariants every mutating call keeps:
//! - it runs in one transaction that also appends its audit event to the org's
//!   hash chain, so state and audit never disagree;
//! - it only ever touches rows of the org in its [`Ctx`]; an id of another org
//!   is "not found", never someone else's data;
//! - references (team, owner, key result, …) are checked to exist in the org
//!   and a bad one is refused naming the field, with nothing written.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::strategy::{KeyResult, Objective};
use tutti_domain::validate::Invalid;
use tutti_domain::work::WorkItem;
use uuid::Uuid;

pub mod alerts;
pub mod audit;
pub mod decisions;
pub mod directory;
mod error;
pub mod figures;
pub mod flows;
pub mod ledger;
pub mod postgres;
pub mod providers;
pub mod pulse;
pub mod routines;
mod rows;
pub mod runs;
pub mod service;
pub mod sessions;
pub mod sqlite;
pub mod strategy;
pub mod transfer;
pub mod work;
pub mod workforce;

pub use alerts::*;
pub use audit::*;
pub use decisions::*;
pub use directory::*;
pub use error::StoreError;
pub use figures::*;
pub use flows::*;
pub use ledger::*;
pub use providers::*;
pub use pulse::*;
pub use routines::*;
pub use runs::*;
pub use service::*;
pub use sessions::*;
pub use strategy::*;
pub use transfer::*;
pub use tutti_domain::decision::{NewDecision, NewSpace, SpacePatch};
pub use tutti_domain::labour::{MaxTokens, NewReview};
pub use tutti_domain::strategy::NewCheckIn;
pub use work::*;
pub use workforce::*;

/// Every part of the contract, to call the store's methods through a `S: Store`.
pub mod prelude {
    pub use crate::{
        Alerts, Audit, Decisions, Directory, Figures, Flows, Ledger, Providers, Pulse, Routines,
        Runs, Services, Sessions, Store, Strategy, Transfer, Work, Workforce,
    };
}

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

/// Rows for a bulk import (demo data, benchmarks): written in large batches
/// with one audit event per batch.
#[derive(Debug, Clone, Default)]
pub struct Import {
    pub objectives: Vec<Objective>,
    pub key_results: Vec<KeyResult>,
    pub work_items: Vec<WorkItem>,
}

/// The whole storage contract, and what belongs to no one concern: the
/// schema, the backend, idempotent responses and bulk imports.
///
/// Every method is scoped to one org; every mutating method writes its audit
/// event in its own transaction, and keeps its response under the request's
/// idempotency key (when the [`Ctx`] carries one) in the same transaction.
///
/// Errors, for every part of the contract: [`StoreError::NotFound`] when the
/// addressed row does not exist *in this org*; [`StoreError::Invalid`] when
/// input refers to something that does not exist or breaks a rule (naming
/// the field); [`StoreError::Forbidden`] when a rule applied inside the
/// transaction refuses the member; [`StoreError::Conflict`] for duplicates and
/// for a state that does not allow the change now;
/// [`StoreError::BudgetRefused`] when a hard budget has no room;
/// [`StoreError::IdempotencyRace`] when another request with the same key
/// committed first; [`StoreError::Database`], [`StoreError::Sqlite`] and
/// [`StoreError::Corrupt`] for what the database itself reports or holds.
pub trait Store:
    Directory
    + Strategy
    + Work
    + Audit
    + Providers
    + Ledger
    + Runs
    + Decisions
    + Sessions
    + Alerts
    + Figures
    + Services
    + Flows
    + Routines
    + Pulse
    + Transfer
    + Workforce
{
    /// Applies pending migrations. Safe to run from several processes at once.
    fn migrate(&self) -> impl Future<Output = Result<()>> + Send;

    /// Which backend this is, for messages.
    fn backend(&self) -> &'static str;

    /// Checks that the database answers.
    fn ping(&self) -> impl Future<Output = Result<()>> + Send;

    /// The response kept for an idempotency key of this member, if any.
    fn idempotent_response(
        &self,
        org_id: Uuid,
        member_id: Uuid,
        key: &str,
    ) -> impl Future<Output = Result<Option<StoredResponse>>> + Send;

    /// Writes many rows at once (demo data, benchmarks), one audit event per
    /// batch, and refreshes the planner's statistics.
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
