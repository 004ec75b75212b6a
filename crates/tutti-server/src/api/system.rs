//! Health and the OpenAPI document: the two routes that need no token.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tutti_store::prelude::*;
use utoipa::{OpenApi, ToSchema};

use crate::AppState;

/// The server's health; named apart from an objective's `Health`.
#[derive(Serialize, ToSchema)]
#[schema(as = ServerHealth)]
pub struct Health {
    /// `ok`, or `unavailable` when the database does not answer.
    pub status: &'static str,
    pub backend: &'static str,
    pub version: &'static str,
}

/// Whether the server and its database answer.
#[utoipa::path(get, path = "/api/v1/health", tag = "system", security(()),
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health<S: Store>(State(state): State<AppState<S>>) -> Response {
    let up = state.store.ping().await.is_ok();
    let health = Health {
        status: if up { "ok" } else { "unavailable" },
        backend: state.store.backend(),
        version: env!("CARGO_PKG_VERSION"),
    };
    let status = if up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health)).into_response()
}

/// The OpenAPI 3.1 document of this API.
pub async fn openapi() -> Json<utoipa::openapi::OpenApi> {
    Json(super::ApiDoc::openapi())
}
