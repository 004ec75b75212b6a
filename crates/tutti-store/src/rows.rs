//! Rows as the database returns them, and their conversion into domain types.
//!
//! Enums are stored as their text names and numbers in the widest integer type,
//! so both backends decode the same row shapes; a value that does not convert
//! back is reported as corrupt data rather than silently mapped.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use tutti_domain::labour::{
    Budget, CallLimits, LedgerEntry, Model, Prices, Provider, Review, Run, Tokens,
};
use tutti_domain::org::{Member, Org, Team};
use tutti_domain::strategy::{CheckIn, KeyResult, Objective, TargetMove, key_result_progress};
use tutti_domain::work::WorkItem;
use uuid::Uuid;

use crate::{StoreError, TokenInfo};

fn parse<T: FromStr<Err = String>>(column: &str, value: &str) -> Result<T, StoreError> {
    value
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

fn small(column: &str, value: i64) -> Result<u8, StoreError> {
    u8::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{column}: {value} is out of range")))
}

#[derive(sqlx::FromRow)]
pub struct OrgRow {
    pub id: Uuid,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub created_at: DateTime<Utc>,
}

impl From<OrgRow> for Org {
    fn from(r: OrgRow) -> Self {
        Org {
            id: r.id,
            name: r.name,
            currency: r.currency,
            time_zone: r.time_zone,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct TeamRow {
    pub id: Uuid,
    pub name: String,
    pub parent_id: Option<Uuid>,
    pub lead_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<TeamRow> for Team {
    fn from(r: TeamRow) -> Self {
        Team {
            id: r.id,
            name: r.name,
            parent_id: r.parent_id,
            lead_id: r.lead_id,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct MemberRow {
    pub id: Uuid,
    pub kind: String,
    pub name: String,
    pub email: Option<String>,
    pub role: String,
    pub role_card: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub concurrency: i64,
    pub external: bool,
    pub created_at: DateTime<Utc>,
}

impl MemberRow {
    pub fn into_member(self, teams: Vec<Uuid>) -> Result<Member, StoreError> {
        Ok(Member {
            id: self.id,
            kind: parse("members.kind", &self.kind)?,
            name: self.name,
            email: self.email,
            role: parse("members.role", &self.role)?,
            teams,
            role_card: self.role_card,
            provider: self.provider,
            model: self.model,
            concurrency: self.concurrency,
            external: self.external,
            created_at: self.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct ObjectiveRow {
    pub id: Uuid,
    pub title: String,
    pub why: String,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub parent_id: Option<Uuid>,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<ObjectiveRow> for Objective {
    type Error = StoreError;
    fn try_from(r: ObjectiveRow) -> Result<Self, StoreError> {
        Ok(Objective {
            id: r.id,
            title: r.title,
            why: r.why,
            owner_id: r.owner_id,
            team_id: r.team_id,
            period_start: r.period_start,
            period_end: r.period_end,
            parent_id: r.parent_id,
            status: parse("objectives.status", &r.status)?,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct KeyResultRow {
    pub id: Uuid,
    pub objective_id: Uuid,
    pub title: String,
    pub baseline: f64,
    pub target: f64,
    pub current: f64,
    pub unit: String,
    pub confidence: i64,
    pub updated_at: DateTime<Utc>,
}

impl TryFrom<KeyResultRow> for KeyResult {
    type Error = StoreError;
    fn try_from(r: KeyResultRow) -> Result<Self, StoreError> {
        Ok(KeyResult {
            id: r.id,
            objective_id: r.objective_id,
            title: r.title,
            progress: key_result_progress(r.baseline, r.target, r.current),
            baseline: r.baseline,
            target: r.target,
            current: r.current,
            unit: r.unit,
            confidence: small("key_results.confidence", r.confidence)?,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct TargetMoveRow {
    pub id: Uuid,
    pub key_result_id: Uuid,
    pub from_target: f64,
    pub to_target: f64,
    pub reason: String,
    pub author_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

impl From<TargetMoveRow> for TargetMove {
    fn from(r: TargetMoveRow) -> Self {
        TargetMove {
            id: r.id,
            key_result_id: r.key_result_id,
            from: r.from_target,
            to: r.to_target,
            reason: r.reason,
            author_id: r.author_id,
            created_at: r.created_at,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct CheckInRow {
    pub id: Uuid,
    pub key_result_id: Uuid,
    pub value: f64,
    pub confidence: i64,
    pub note: String,
    pub author_id: Uuid,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<CheckInRow> for CheckIn {
    type Error = StoreError;
    fn try_from(r: CheckInRow) -> Result<Self, StoreError> {
        Ok(CheckIn {
            id: r.id,
            key_result_id: r.key_result_id,
            value: r.value,
            confidence: small("check_ins.confidence", r.confidence)?,
            note: r.note,
            author_id: r.author_id,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct WorkItemRow {
    pub id: Uuid,
    pub title: String,
    pub description: String,
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub state: String,
    pub kind: String,
    pub priority: String,
    pub due: Option<NaiveDate>,
    pub parent_id: Option<Uuid>,
    pub key_result_id: Option<Uuid>,
    pub service_product_id: Option<Uuid>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub state_since: DateTime<Utc>,
}

impl TryFrom<WorkItemRow> for WorkItem {
    type Error = StoreError;
    fn try_from(r: WorkItemRow) -> Result<Self, StoreError> {
        Ok(WorkItem {
            id: r.id,
            title: r.title,
            description: r.description,
            team_id: r.team_id,
            assignee_id: r.assignee_id,
            state: parse("work_items.state", &r.state)?,
            kind: parse("work_items.kind", &r.kind)?,
            priority: parse("work_items.priority", &r.priority)?,
            due: r.due,
            parent_id: r.parent_id,
            key_result_id: r.key_result_id,
            service_product_id: r.service_product_id,
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
            state_since: r.state_since,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct EventRow {
    pub seq: i64,
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<Uuid>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: Option<Uuid>,
    pub payload: String,
    pub prev_hash: String,
    pub hash: String,
}

impl From<EventRow> for tutti_domain::audit::StoredEvent {
    fn from(r: EventRow) -> Self {
        Self {
            seq: r.seq,
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            action: r.action,
            subject_type: r.subject_type,
            subject_id: r.subject_id,
            payload: r.payload,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

impl TryFrom<EventRow> for tutti_domain::audit::Event {
    type Error = StoreError;
    fn try_from(r: EventRow) -> Result<Self, StoreError> {
        Ok(Self {
            seq: r.seq,
            id: r.id,
            at: r.at,
            actor_id: r.actor_id,
            action: r.action,
            subject_type: r.subject_type,
            subject_id: r.subject_id,
            payload: serde_json::from_str(&r.payload)
                .map_err(|e| StoreError::Corrupt(format!("events.payload: {e}")))?,
            prev_hash: r.prev_hash,
            hash: r.hash,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct TokenRow {
    pub id: Uuid,
    pub member_id: Uuid,
    pub label: String,
    pub created_at: DateTime<Utc>,
}

impl From<TokenRow> for TokenInfo {
    fn from(r: TokenRow) -> Self {
        TokenInfo {
            id: r.id,
            member_id: r.member_id,
            label: r.label,
            created_at: r.created_at,
        }
    }
}

pub const ORG_COLUMNS: &str = "id, name, currency, time_zone, created_at";
pub const TEAM_COLUMNS: &str = "id, name, parent_id, lead_id, created_at";
pub const MEMBER_COLUMNS: &str =
    "id, kind, name, email, role, role_card, provider, model, concurrency, external, created_at";
pub const OBJECTIVE_COLUMNS: &str =
    "id, title, why, owner_id, team_id, period_start, period_end, parent_id, status, created_at";
pub const KEY_RESULT_COLUMNS: &str =
    "id, objective_id, title, baseline, target, current, unit, confidence, updated_at";
pub const TARGET_MOVE_COLUMNS: &str =
    "id, key_result_id, from_target, to_target, reason, author_id, created_at";
pub const CHECK_IN_COLUMNS: &str =
    "id, key_result_id, value, confidence, note, author_id, created_at";
pub const WORK_ITEM_COLUMNS: &str = "id, title, description, team_id, assignee_id, state, kind, priority, due, parent_id, key_result_id, service_product_id, created_by, created_at, updated_at, state_since";
pub const EVENT_COLUMNS: &str =
    "seq, id, at, actor_id, action, subject_type, subject_id, payload, prev_hash, hash";

pub const RUN_COLUMNS: &str = "id, work_item_id, worker_id, iteration, status, role_card, work_order, output, provider, model, \
    attempts, max_attempts, max_tokens, input_tokens, cached_input_tokens, output_tokens, cost, error, cancel_requested, \
    findings, sent_back, template_version_id, created_at, started_at, finished_at";

#[derive(sqlx::FromRow)]
pub struct RunRow {
    pub id: Uuid,
    pub work_item_id: Uuid,
    pub worker_id: Uuid,
    pub iteration: i64,
    pub status: String,
    pub role_card: String,
    pub work_order: String,
    pub output: String,
    pub provider: Option<String>,
    pub model: Option<String>,
    pub attempts: i64,
    pub max_attempts: i64,
    pub max_tokens: i64,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub output_tokens: i64,
    pub cost: i64,
    pub error: Option<String>,
    pub cancel_requested: bool,
    pub findings: String,
    pub sent_back: bool,
    pub template_version_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<RunRow> for Run {
    type Error = StoreError;
    fn try_from(r: RunRow) -> Result<Self, StoreError> {
        Ok(Run {
            id: r.id,
            work_item_id: r.work_item_id,
            worker_id: r.worker_id,
            iteration: r.iteration,
            status: parse("runs.status", &r.status)?,
            role_card: r.role_card,
            work_order: r.work_order,
            output: r.output,
            provider: r.provider,
            model: r.model,
            attempts: r.attempts,
            max_attempts: r.max_attempts,
            max_tokens: r.max_tokens,
            tokens: Tokens {
                input: r.input_tokens,
                cached_input: r.cached_input_tokens,
                output: r.output_tokens,
            },
            cost: r.cost,
            error: r.error,
            cancel_requested: r.cancel_requested,
            findings: serde_json::from_str(&r.findings)
                .map_err(|e| StoreError::Corrupt(format!("runs.findings: {e}")))?,
            sent_back: r.sent_back,
            template_version_id: r.template_version_id,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
        })
    }
}

pub const BUDGET_COLUMNS: &str =
    "id, name, scope, scope_id, period, token_limit, cost_limit, warn_percent, hard, created_at";

#[derive(sqlx::FromRow)]
pub struct BudgetRow {
    pub id: Uuid,
    pub name: String,
    pub scope: String,
    pub scope_id: Option<Uuid>,
    pub period: String,
    pub token_limit: Option<i64>,
    pub cost_limit: Option<i64>,
    pub warn_percent: i64,
    pub hard: bool,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<BudgetRow> for Budget {
    type Error = StoreError;
    fn try_from(r: BudgetRow) -> Result<Self, StoreError> {
        Ok(Budget {
            id: r.id,
            name: r.name,
            scope: parse("budgets.scope", &r.scope)?,
            scope_id: r.scope_id,
            period: parse("budgets.period", &r.period)?,
            token_limit: r.token_limit,
            cost_limit: r.cost_limit,
            warn_percent: r.warn_percent,
            hard: r.hard,
            created_at: r.created_at,
        })
    }
}

pub const REVIEW_COLUMNS: &str =
    "id, run_id, work_item_id, worker_id, reviewer_id, verdict, feedback, rating, created_at";

#[derive(sqlx::FromRow)]
pub struct ReviewRow {
    pub id: Uuid,
    pub run_id: Uuid,
    pub work_item_id: Uuid,
    pub worker_id: Uuid,
    pub reviewer_id: Uuid,
    pub verdict: String,
    pub feedback: String,
    pub rating: i64,
    pub created_at: DateTime<Utc>,
}

impl TryFrom<ReviewRow> for Review {
    type Error = StoreError;
    fn try_from(r: ReviewRow) -> Result<Self, StoreError> {
        Ok(Review {
            id: r.id,
            run_id: r.run_id,
            work_item_id: r.work_item_id,
            worker_id: r.worker_id,
            reviewer_id: r.reviewer_id,
            verdict: parse("reviews.verdict", &r.verdict)?,
            feedback: r.feedback,
            rating: r.rating,
            created_at: r.created_at,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct ModelRow {
    pub id: Uuid,
    pub provider_id: Uuid,
    pub name: String,
    pub input_price: i64,
    pub cached_input_price: i64,
    pub output_price: i64,
}

impl From<ModelRow> for Model {
    fn from(r: ModelRow) -> Self {
        Model {
            id: r.id,
            provider_id: r.provider_id,
            name: r.name,
            prices: Prices {
                input: r.input_price,
                cached_input: r.cached_input_price,
                output: r.output_price,
            },
        }
    }
}

/// The limits kept for a provider (connect, first byte, idle, deadline), a
/// missing one at its default.
pub fn limits_of([connect, first_byte, idle, deadline]: [Option<i64>; 4]) -> CallLimits {
    let default = CallLimits::default();
    let secs = |kept: Option<i64>, default: u32| {
        kept.and_then(|s| u32::try_from(s).ok()).unwrap_or(default)
    };
    CallLimits {
        connect_timeout_secs: secs(connect, default.connect_timeout_secs),
        first_byte_timeout_secs: secs(first_byte, default.first_byte_timeout_secs),
        idle_timeout_secs: secs(idle, default.idle_timeout_secs),
        deadline_secs: secs(deadline, default.deadline_secs),
    }
}

#[derive(sqlx::FromRow)]
pub struct ProviderRow {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub has_stored_key: bool,
    pub created_at: DateTime<Utc>,
    pub connect_timeout_secs: Option<i64>,
    pub first_byte_timeout_secs: Option<i64>,
    pub idle_timeout_secs: Option<i64>,
    pub deadline_secs: Option<i64>,
}

impl ProviderRow {
    pub fn into_provider(self, models: Vec<Model>) -> Result<Provider, StoreError> {
        Ok(Provider {
            id: self.id,
            name: self.name,
            kind: parse("providers.kind", &self.kind)?,
            base_url: self.base_url,
            api_key_env: self.api_key_env,
            has_stored_key: self.has_stored_key,
            limits: limits_of([
                self.connect_timeout_secs,
                self.first_byte_timeout_secs,
                self.idle_timeout_secs,
                self.deadline_secs,
            ]),
            models,
            created_at: self.created_at,
        })
    }
}

pub const LEDGER_COLUMNS: &str = "id, reservation_id, kind, worker_id, run_id, work_item_id, key_result_id, objective_id, \
    team_id, provider, model, input_tokens, cached_input_tokens, output_tokens, cost, at";

#[derive(sqlx::FromRow)]
pub struct LedgerRow {
    pub id: Uuid,
    pub reservation_id: Uuid,
    pub kind: String,
    pub worker_id: Uuid,
    pub run_id: Option<Uuid>,
    pub work_item_id: Option<Uuid>,
    pub key_result_id: Option<Uuid>,
    pub objective_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub provider: String,
    pub model: String,
    pub input_tokens: i64,
    pub cached_input_tokens: i64,
    pub output_tokens: i64,
    pub cost: i64,
    pub at: DateTime<Utc>,
}

impl TryFrom<LedgerRow> for LedgerEntry {
    type Error = StoreError;
    fn try_from(r: LedgerRow) -> Result<Self, StoreError> {
        Ok(LedgerEntry {
            id: r.id,
            reservation_id: r.reservation_id,
            kind: parse("ledger_entries.kind", &r.kind)?,
            worker_id: r.worker_id,
            run_id: r.run_id,
            work_item_id: r.work_item_id,
            key_result_id: r.key_result_id,
            objective_id: r.objective_id,
            team_id: r.team_id,
            provider: r.provider,
            model: r.model,
            tokens: Tokens {
                input: r.input_tokens,
                cached_input: r.cached_input_tokens,
                output: r.output_tokens,
            },
            cost: r.cost,
            at: r.at,
        })
    }
}
