//! tutti's HTTP face: the REST API under `/api/v1`, its OpenAPI document, and
//! bearer-token authentication.
//!
//! Handlers are thin — parse, call the engine's use case, render — and
//! generic over the [`Store`], so the binary picks the backend once and
//! everything below runs on concrete types. The API and the cockpit call the
//! same use case for the same change (`tutti_engine::work::review`, …), so a
//! rule holds alike in both. Every input error becomes an RFC 9457 problem
//! document that names the field; nothing the client sends can produce a 500.

use std::sync::Arc;

use axum::Router;
use tutti_domain::strategy::RiskRule;
use tutti_engine::{Models, Runtime};
use tutti_store::prelude::*;

pub mod api;
pub mod auth;
mod connection;
mod error;
mod extract;
pub mod gateway;
pub mod mcp;
pub mod web;

pub use error::ApiError;
pub use tutti_engine::{Clock, FixedClock, SystemClock};

/// What every handler shares.
#[derive(Clone)]
pub struct AppState<S> {
    pub store: S,
    /// Where handlers read the time: the runtime's clock unless a test sets
    /// one of its own.
    pub clock: Arc<dyn Clock>,
    pub risk: RiskRule,
    /// Models, live run output, judged forests, and the engine's wake-up call.
    pub runtime: Arc<Runtime>,
    /// Mark the cockpit's cookies `Secure`: the cockpit is served over TLS.
    pub secure_cookies: bool,
    /// Recent failed sign-ins, which slow the next tries down.
    pub sign_in_failures: Arc<web::session::SignInFailures>,
    /// Per org, how far the audit page last verified the chain and when it
    /// last walked it whole (see `web::audit`).
    pub audit_checks: Arc<web::audit::AuditChecks>,
}

impl<S: Store> AppState<S> {
    /// A state without the embedded model (remote providers only).
    pub fn new(store: S) -> Self {
        Self::with_runtime(store, Runtime::new(Models::new(None)))
    }

    pub fn with_runtime(store: S, runtime: Arc<Runtime>) -> Self {
        Self {
            store,
            clock: runtime.clock.clone(),
            risk: RiskRule::default(),
            runtime,
            secure_cookies: false,
            sign_in_failures: Arc::default(),
            audit_checks: Arc::default(),
        }
    }
}

impl<S: Store> AppState<S> {
    /// The org's objectives judged as of today, from the runtime's cache
    /// while nothing in them changed.
    pub async fn judged_forest(
        &self,
        org_id: uuid::Uuid,
    ) -> Result<Arc<tutti_engine::strategy::JudgedForest>, ApiError> {
        let today = self.clock.now().date_naive();
        Ok(self
            .runtime
            .rollups
            .get(&self.store, org_id, today, self.risk)
            .await?)
    }
}

/// The whole HTTP application.
pub fn router<S: Store>(state: AppState<S>) -> Router {
    let mcp = Router::new()
        .nest_service("/mcp", mcp::service(state.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            mcp::authenticate::<S>,
        ));
    Router::new()
        .nest("/api/v1", api::routes::<S>())
        .route(
            "/.well-known/oauth-protected-resource",
            axum::routing::get(mcp::resource_metadata),
        )
        .route(
            "/.well-known/oauth-protected-resource/mcp",
            axum::routing::get(mcp::resource_metadata),
        )
        .merge(mcp)
        .nest("/v1", gateway::routes::<S>())
        .merge(web::routes::<S>())
        .fallback(|| async { ApiError::NotFound("resource") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(axum::middleware::from_fn(access_log))
        .layer(axum::middleware::from_fn(connection::close_if_body_unread))
        .with_state(state)
}

/// Serves until Ctrl-C or SIGTERM.
pub async fn serve<S: Store>(
    listener: tokio::net::TcpListener,
    state: AppState<S>,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Small JSON answers should leave at once, not wait for Nagle's algorithm.
    let listener = listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });
    // Each connection's peer address reaches the handlers (sign-in
    // throttling counts failures per address).
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

/// One line per request, at info level on the `tutti::http` target
/// (`TUTTI_LOG=tutti::http=warn` silences it).
async fn access_log(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        target: "tutti::http",
        %method,
        path,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
    );
    response
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
