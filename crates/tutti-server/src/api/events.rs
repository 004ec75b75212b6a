//! `/events`: the audit log, oldest first, and the verification of its chain.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use tutti_domain::access::Action;
use tutti_domain::audit::Event;
use tutti_store::prelude::*;
use tutti_store::{EventFilter, PageRequest};
use utoipa::ToSchema;
use uuid::Uuid;

use super::PageOf;
use crate::error::Problem;
use crate::extract::{ApiQuery, Auth};
use crate::{ApiError, AppState};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventParams {
    /// The `next_cursor` of the previous page (a sequence number).
    pub cursor: Option<i64>,
    pub limit: Option<u32>,
    /// Only events with this action, e.g. `work_item.updated`.
    pub action: Option<String>,
    /// Only events about this subject.
    pub subject: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChainState {
    /// Whether every event verified and the chain ends at the recorded head.
    pub intact: bool,
    /// How many events verified.
    pub events: i64,
    /// Where it broke, and why.
    pub broken_at: Option<i64>,
    pub reason: Option<String>,
}

/// The org's audit log (admins and owners).
#[utoipa::path(get, path = "/api/v1/events", tag = "audit", params(EventParams),
    responses((status = 200, body = PageOf<Event>), (status = 403, body = Problem)))]
pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<EventParams>,
) -> Result<Json<PageOf<Event>>, ApiError> {
    actor.may(Action::ReadAudit)?;
    let limit = params.limit.unwrap_or(PageRequest::DEFAULT_LIMIT);
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(tutti_domain::Invalid::new(
            "limit",
            format!("must be between 1 and {}", PageRequest::MAX_LIMIT),
        )
        .into());
    }
    let filter = EventFilter {
        after_seq: params.cursor,
        limit,
        action: params.action,
        subject_id: params.subject,
    };
    Ok(Json(
        state.store.events(actor.org_id, &filter).await?.into(),
    ))
}

/// Walks the org's whole audit chain and says whether it is intact.
#[utoipa::path(get, path = "/api/v1/events/verify", tag = "audit",
    responses((status = 200, body = ChainState), (status = 403, body = Problem)))]
pub async fn verify<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<ChainState>, ApiError> {
    actor.may(Action::ReadAudit)?;
    Ok(Json(match state.store.verify_chain(actor.org_id).await? {
        Ok(events) => ChainState {
            intact: true,
            events,
            broken_at: None,
            reason: None,
        },
        Err(broken) => ChainState {
            intact: false,
            events: broken.seq - 1,
            broken_at: Some(broken.seq),
            reason: Some(broken.to_string()),
        },
    }))
}
