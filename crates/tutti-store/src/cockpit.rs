//! What the web cockpit needs from storage: people's passwords, languages and
//! sign-in sessions; alerts raised from signals and the webhooks they go to,
//! with a delivery log; and the figures the cockpit's charts are drawn from.
//!
//! Sessions are kept like API tokens: only the SHA-256 of the cookie's random
//! token is stored, so a stolen database opens no browser session. Password
//! hashes are argon2 strings made by the caller; the store never sees a
//! password. Raising and clearing alerts, setting passwords and starting and
//! ending sessions are audited in the same transaction as the change.

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::access::Actor;
use tutti_domain::labour::LedgerGroup;
use tutti_domain::signal::{Alert, Audience, Signal, SignalKind, WebhookFormat};
use tutti_domain::validate::Email;
use tutti_domain::work::WorkState;
use uuid::Uuid;

use crate::{Ctx, Page, PageRequest, Result};

/// A person's stored password hash, found by email for signing in.
#[derive(Debug, Clone)]
pub struct Credential {
    pub org_id: Uuid,
    pub member_id: Uuid,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub token_hash: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

/// A live session: who it is, the form token it was given, their language.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub name: String,
    pub csrf_token: String,
    pub locale: Option<String>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub name: String,
    pub format: WebhookFormat,
    pub url: String,
    /// The language its messages are written in (`de` or `en`).
    pub locale: String,
    /// Only the alerts in this team and the teams below it; `None`: all.
    pub team_id: Option<Uuid>,
}

/// A webhook as listed: the URL holds the endpoint's secret, so only its
/// scheme and host are shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Webhook {
    pub id: Uuid,
    pub name: String,
    pub format: WebhookFormat,
    pub url_hint: String,
    pub locale: String,
    pub team_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A delivery the engine should attempt now.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    pub id: Uuid,
    pub org_id: Uuid,
    pub attempts: i64,
    pub format: WebhookFormat,
    pub url: String,
    pub locale: String,
    pub alert: Alert,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

/// How an attempt ended.
#[derive(Debug, Clone)]
pub enum Attempt {
    Delivered,
    /// Try again at `retry_at`, or give up when `None`.
    Failed {
        error: String,
        retry_at: Option<DateTime<Utc>>,
    },
}

/// One line of a webhook's delivery log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub alert_id: Uuid,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// What one evaluation changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertSync {
    pub raised: Vec<Alert>,
    pub cleared: usize,
}

/// The flow of work, for the cockpit's chart and figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkFlow {
    pub by_state: Vec<(WorkState, i64)>,
    /// Work not done or cancelled, split by kind.
    pub planned_open: i64,
    pub unplanned_open: i64,
    /// Items that reached `done` per week (Monday of the week), oldest first.
    pub done_per_week: Vec<(NaiveDate, i64)>,
}

/// Work that sits in `blocked`, and since when.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct BlockedWork {
    pub id: Uuid,
    pub title: String,
    pub since: DateTime<Utc>,
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
}

/// Which alerts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Also alerts whose condition has cleared.
    pub include_cleared: bool,
    /// Only the alerts that concern this audience (`Everyone`: all).
    pub audience: Audience,
}

/// Settled cost and tokens of one group on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpendPoint {
    pub day: NaiveDate,
    pub key: Option<String>,
    pub cost: i64,
    pub tokens: i64,
}

/// The contract for the cockpit; see the module documentation.
pub trait Cockpit: Clone + Send + Sync + 'static {
    /// Stores a person's password hash. AI members cannot have passwords.
    fn set_password(
        &self,
        ctx: &Ctx,
        member_id: Uuid,
        password_hash: &str,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Sets (or with `None` clears) a member's language.
    fn set_locale(
        &self,
        ctx: &Ctx,
        member_id: Uuid,
        locale: Option<&str>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The password hashes of the people with that email, in every org.
    fn credentials(&self, email: &Email) -> impl Future<Output = Result<Vec<Credential>>> + Send;
    /// Starts a session for the context's actor.
    fn create_session(
        &self,
        ctx: &Ctx,
        session: NewSession,
    ) -> impl Future<Output = Result<()>> + Send;
    /// The session a token hash belongs to, if it has not expired at `now`.
    fn session(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Session>>> + Send;
    /// A member of the org as an actor (their teams and the teams they lead).
    fn actor(
        &self,
        org_id: Uuid,
        member_id: Uuid,
    ) -> impl Future<Output = Result<Option<Actor>>> + Send;
    /// Ends a session (signing out); unknown hashes are fine.
    fn end_session(&self, ctx: &Ctx, token_hash: &str) -> impl Future<Output = Result<()>> + Send;

    /// Makes the open alerts of the evaluated kinds match `signals`: raises
    /// the new ones (queueing a delivery to every webhook of the org) and
    /// clears those whose signal is gone. Alerts of other kinds are left.
    fn sync_alerts(
        &self,
        ctx: &Ctx,
        evaluated: &[SignalKind],
        signals: &[Signal],
    ) -> impl Future<Output = Result<AlertSync>> + Send;
    /// Alerts, newest first.
    fn alerts(
        &self,
        org_id: Uuid,
        filter: &AlertFilter,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Alert>>> + Send;
    /// How many alerts of the org are open (of those an audience's).
    fn open_alert_count(
        &self,
        org_id: Uuid,
        audience: &Audience,
    ) -> impl Future<Output = Result<i64>> + Send;

    fn create_webhook(
        &self,
        ctx: &Ctx,
        webhook: NewWebhook,
    ) -> impl Future<Output = Result<Webhook>> + Send;
    fn webhooks(&self, org_id: Uuid) -> impl Future<Output = Result<Vec<Webhook>>> + Send;
    fn delete_webhook(&self, ctx: &Ctx, id: Uuid) -> impl Future<Output = Result<()>> + Send;
    /// Deliveries of every org whose next attempt is due at `now`.
    fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DueDelivery>>> + Send;
    fn record_attempt(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        attempt: Attempt,
    ) -> impl Future<Output = Result<()>> + Send;
    /// A webhook's delivery log, oldest first.
    fn deliveries(
        &self,
        org_id: Uuid,
        webhook_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Delivery>>> + Send;
    /// A webhook's latest deliveries, newest first: what the cockpit shows.
    fn latest_deliveries(
        &self,
        org_id: Uuid,
        webhook_id: Uuid,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Delivery>>> + Send;

    /// The sequence number of the org's newest audit event: it moves with
    /// every change, so caches of derived figures key on it.
    fn audit_seq(&self, org_id: Uuid) -> impl Future<Output = Result<i64>> + Send;

    /// Work by state, open work by kind, and throughput of the last `weeks`.
    fn work_flow(
        &self,
        org_id: Uuid,
        now: DateTime<Utc>,
        weeks: u32,
    ) -> impl Future<Output = Result<WorkFlow>> + Send;
    /// Work blocked since before `before`, longest first, at most `limit`.
    fn blocked_work(
        &self,
        org_id: Uuid,
        before: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<BlockedWork>>> + Send;
    /// Settled use per day and group in `[from, to)`.
    fn spend_by_day(
        &self,
        org_id: Uuid,
        group: LedgerGroup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<SpendPoint>>> + Send;
}
