//! The storage contract for alarms: alerts raised from the cockpit's
//! signals, the webhooks they go to, and each webhook's delivery log.
//!
//! Raising an alert queues its deliveries in the same transaction, so an
//! alert is never raised without them; raising and clearing are audited.
//! A webhook's URL holds the endpoint's secret: it is read back only by the
//! engine that delivers, never listed.

use std::future::Future;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tutti_domain::signal::{Alert, Audience, Signal, SignalKind, WebhookFormat};
use uuid::Uuid;

use crate::{Ctx, Page, PageRequest, Result};

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

/// Which alerts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertFilter {
    /// Also alerts whose condition has cleared.
    pub include_cleared: bool,
    /// Only the alerts that concern this audience (`Everyone`: all).
    pub audience: Audience,
}

/// Alerts, webhooks and deliveries. Errors as [`crate::Store`] says.
pub trait Alerts: Clone + Send + Sync + 'static {
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

    /// `Invalid` for a bad name, a URL that is not http(s), a language the
    /// cockpit does not speak, or a team outside the org.
    fn create_webhook(
        &self,
        ctx: &Ctx,
        webhook: NewWebhook,
    ) -> impl Future<Output = Result<Webhook>> + Send;
    /// The org's webhooks, with only a hint of each URL.
    fn webhooks(&self, org_id: Uuid) -> impl Future<Output = Result<Vec<Webhook>>> + Send;
    /// Deletes a webhook with its delivery log. `NotFound` for one of another org.
    fn delete_webhook(&self, ctx: &Ctx, id: Uuid) -> impl Future<Output = Result<()>> + Send;
    /// Deliveries of every org whose next attempt is due at `now`.
    fn due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DueDelivery>>> + Send;
    /// Records how an attempt at a pending delivery ended; a delivery no
    /// longer pending (another engine recorded it) is left as it is.
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
}
