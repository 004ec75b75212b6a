//! Rows as the database returns them, and their conversion into domain types.
//!
//! Enums are stored as their text names and numbers in the widest integer type,
//! so both backends decode the same row shapes; a value that does not convert
//! back is reported as corrupt data rather than silently mapped.

use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use tutti_domain::org::{Member, Org, Team};
use tutti_domain::strategy::{CheckIn, KeyResult, Objective, key_result_progress};
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
    pub created_at: DateTime<Utc>,
}

impl From<OrgRow> for Org {
    fn from(r: OrgRow) -> Self {
        Org {
            id: r.id,
            name: r.name,
            currency: r.currency,
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
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
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
            created_by: r.created_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
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

pub const ORG_COLUMNS: &str = "id, name, currency, created_at";
pub const TEAM_COLUMNS: &str = "id, name, parent_id, lead_id, created_at";
pub const MEMBER_COLUMNS: &str =
    "id, kind, name, email, role, role_card, provider, model, created_at";
pub const OBJECTIVE_COLUMNS: &str =
    "id, title, why, owner_id, team_id, period_start, period_end, parent_id, status, created_at";
pub const KEY_RESULT_COLUMNS: &str =
    "id, objective_id, title, baseline, target, current, unit, confidence, updated_at";
pub const CHECK_IN_COLUMNS: &str =
    "id, key_result_id, value, confidence, note, author_id, created_at";
pub const WORK_ITEM_COLUMNS: &str = "id, title, description, team_id, assignee_id, state, kind, priority, due, parent_id, key_result_id, created_by, created_at, updated_at";
pub const EVENT_COLUMNS: &str =
    "seq, id, at, actor_id, action, subject_type, subject_id, payload, prev_hash, hash";
