//! `/alerts` (signals that fired) and `/webhooks` (where alerts are sent, in
//! Slack's or Microsoft Teams' incoming-webhook shape, with a delivery log).
//!
//! A webhook's URL is its secret: it is accepted on creation and never
//! returned; lists show only its scheme and host.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use tutti_domain::access::Action;
use tutti_domain::signal::{Alert, Audience, WebhookFormat};
use tutti_engine::signals::{self, explain};
use tutti_i18n::{Locale, Messages};
use tutti_store::prelude::*;
use tutti_store::{AlertFilter, Delivery, DeliveryStatus, NewWebhook, Webhook};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ListParams, PageOf, create, ctx, page_request};
use crate::error::Problem;
use crate::extract::{ApiJson, ApiQuery, Auth, IdPath, IdempotencyKey};
use crate::{ApiError, AppState};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AlertParams {
    /// Also alerts whose condition has cleared.
    #[serde(default)]
    pub all: bool,
    /// Only the alerts that concern the caller: about them, or in a team they
    /// belong to or lead (with the teams below). For admins and owners, all.
    #[serde(default)]
    pub mine: bool,
    /// The language of the explanation (default `en`).
    pub lang: Option<Lang>,
    pub limit: Option<u32>,
}

/// An alert with its explanation in the asked language.
#[derive(Debug, Serialize, ToSchema)]
pub struct AlertView {
    #[serde(flatten)]
    pub alert: Alert,
    pub title: String,
    pub explanation: String,
}

/// A language the API speaks: the one it explains alerts in, and the
/// starter questions' of a pulse.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    De,
    En,
}

impl From<Lang> for Locale {
    fn from(lang: Lang) -> Self {
        match lang {
            Lang::De => Locale::De,
            Lang::En => Locale::En,
        }
    }
}

fn view(t: &Messages, alert: Alert) -> AlertView {
    AlertView {
        title: t.get(&format!("signal-title-{}", alert.kind)),
        explanation: explain(t, alert.kind, &alert.params),
        alert,
    }
}

/// Open alerts, newest first (with `all=true` also cleared ones, with
/// `mine=true` only those that concern the caller). Each names whom it
/// concerns: `team_id` (where its subject sits) and `person_id` (whom it is
/// about).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "cockpit", params(AlertParams),
    responses((status = 200, body = Vec<AlertView>), (status = 422, body = Problem)))]
pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<AlertParams>,
) -> Result<Json<Vec<AlertView>>, ApiError> {
    actor.may(Action::Read)?;
    // Times in an explanation read in the org's zone.
    let zone = state.store.org(actor.org_id).await?.zone();
    let t = Messages::of_in(params.lang.map_or(Locale::En, Locale::from), zone);
    // Bounded like every list, though alerts come newest first in one page.
    let limit = page_request(params.limit, None)?.limit;
    let filter = AlertFilter {
        include_cleared: params.all,
        audience: if params.mine {
            Audience::of(&actor)
        } else {
            Audience::Everyone
        },
    };
    let alerts = state.store.alerts(actor.org_id, &filter, limit).await?;
    Ok(Json(alerts.into_iter().map(|a| view(&t, a)).collect()))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Refreshed {
    /// Alerts raised by this evaluation.
    pub raised: Vec<Alert>,
    /// How many open alerts cleared.
    pub cleared: usize,
}

/// Evaluates the org's signals now (the engine does so every minute) and
/// brings its alerts in step. Admins only.
#[utoipa::path(post, path = "/api/v1/alerts/refresh", tag = "cockpit",
    responses((status = 200, body = Refreshed), (status = 403, body = Problem)))]
pub async fn refresh_now<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<Refreshed>, ApiError> {
    let sync = signals::refresh_now(
        &state.store,
        &state.runtime.policies,
        &actor,
        state.clock.now(),
        state.risk,
    )
    .await?;
    Ok(Json(Refreshed {
        raised: sync.raised,
        cleared: sync.cleared,
    }))
}

/// A webhook as shown: never its URL, which holds the endpoint's secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: Uuid,
    pub name: String,
    pub format: WebhookFormat,
    /// Scheme and host of the URL.
    pub url_hint: String,
    pub locale: String,
    /// The team whose alerts it receives; `null`: every alert.
    pub team_id: Option<Uuid>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            name: w.name,
            format: w.format,
            url_hint: w.url_hint,
            locale: w.locale,
            team_id: w.team_id,
            created_at: w.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    pub name: String,
    pub format: WebhookFormat,
    /// The incoming-webhook URL Slack or Teams gave you.
    pub url: String,
    /// `de` or `en`: the language of its messages (default `de`).
    #[serde(default)]
    pub locale: Option<String>,
    /// Send only the alerts in this team and the teams below it (a team's
    /// channel); without it, every alert.
    #[serde(default)]
    pub team_id: Option<Uuid>,
}

/// Adds a webhook; every alert raised from now on is sent to it (with
/// `team_id`, those in that team and the teams below it). Admins only.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "cockpit", request_body = CreateWebhook,
    responses((status = 201, body = WebhookView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_webhook<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateWebhook>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let new = NewWebhook {
        name: input.name,
        format: input.format,
        url: input.url,
        locale: input.locale.unwrap_or_else(|| "de".into()),
        team_id: input.team_id,
    };
    let (store, asker) = (state.store.clone(), actor.clone());
    create(
        &state,
        &actor,
        key,
        "POST /webhooks",
        &body.digest,
        |ctx| async move {
            signals::create_webhook(&store, &asker, &ctx, new)
                .await
                .map(WebhookView::from)
        },
    )
    .await
}

/// The org's webhooks.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "cockpit",
    responses((status = 200, body = Vec<WebhookView>), (status = 403, body = Problem)))]
pub async fn list_webhooks<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<Vec<WebhookView>>, ApiError> {
    actor.may(Action::ManageOrg)?;
    let hooks = state.store.webhooks(actor.org_id).await?;
    Ok(Json(hooks.into_iter().map(WebhookView::from).collect()))
}

/// Removes a webhook and its delivery log.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "cockpit", params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_webhook<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<StatusCode, ApiError> {
    signals::delete_webhook(&state.store, &actor, &ctx(&state, &actor), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: Uuid,
    pub alert_id: Uuid,
    /// `pending`, `delivered` or `failed` (after every retry).
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: chrono::DateTime<chrono::Utc>,
    pub last_error: Option<String>,
    pub delivered_at: Option<chrono::DateTime<chrono::Utc>>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            alert_id: d.alert_id,
            status: match d.status {
                DeliveryStatus::Pending => "pending",
                DeliveryStatus::Delivered => "delivered",
                DeliveryStatus::Failed => "failed",
            }
            .into(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
            created_at: d.created_at,
        }
    }
}

/// A webhook's delivery log, oldest first.
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "cockpit", params(("id" = Uuid, Path), ListParams),
    responses((status = 200, body = PageOf<DeliveryView>), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn deliveries<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<PageOf<DeliveryView>>, ApiError> {
    actor.may(Action::ManageOrg)?;
    if !state
        .store
        .webhooks(actor.org_id)
        .await?
        .iter()
        .any(|w| w.id == id)
    {
        return Err(ApiError::NotFound("webhook"));
    }
    let page = page_request(params.limit, params.cursor.as_deref())?;
    let found = state.store.deliveries(actor.org_id, id, page).await?;
    Ok(Json(PageOf {
        items: found.items.into_iter().map(DeliveryView::from).collect(),
        next_cursor: found.next_cursor,
    }))
}
