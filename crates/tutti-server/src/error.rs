//! The API's one error type and its rendering as an RFC 9457 problem document.
//!
//! Causes inside the server (a database that went away) are logged once with
//! their detail and answered with an opaque 500; everything a client can fix is
//! a 4xx whose `detail` says what to fix and whose `field` names where.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tutti_domain::Refused;
use tutti_domain::access::Denied;
use tutti_domain::validate::Invalid;
use tutti_engine::EngineError;
use tutti_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body or query could not be read at all (syntax, encoding).
    #[error("{detail}")]
    Malformed {
        field: Option<String>,
        detail: String,
    },
    /// Well-formed input with a value that breaks a rule.
    #[error("{0}")]
    Invalid(#[from] Invalid),
    #[error("the request body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    #[error("the request body is larger than the server accepts")]
    TooLarge,
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    #[error("missing or unknown bearer token")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A path whose id is not even a UUID names nothing: 404, like an id that
    /// names nothing in this org, with the segment at fault named.
    #[error("`{0}` is not an id, so it names nothing here")]
    NoSuchId(String),
    #[error("{0}")]
    Conflict(String),
    #[error("internal error")]
    Internal(String),
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        Self::Forbidden(denied.0)
    }
}

impl From<EngineError> for ApiError {
    fn from(err: EngineError) -> Self {
        match err {
            EngineError::NotFound { entity } => Self::NotFound(entity),
            EngineError::Invalid(invalid) => Self::Invalid(invalid),
            EngineError::Forbidden(message) => Self::Forbidden(message),
            EngineError::Conflict(message) => Self::Conflict(message),
            EngineError::BudgetRefused { message, .. } => Self::Conflict(message),
            EngineError::IdempotencyRace => Self::Conflict(
                "a request with this Idempotency-Key is being handled; retry shortly".into(),
            ),
            EngineError::Internal(cause) => Self::Internal(cause.to_string()),
        }
    }
}

impl From<Refused> for ApiError {
    fn from(refused: Refused) -> Self {
        EngineError::from(refused).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        EngineError::from(err).into()
    }
}

/// RFC 9457 problem details, with `field` as an extension member.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI reference naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The input field at fault, as a JSON path or parameter name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str, Option<String>) {
        match self {
            Self::Malformed { field, .. } => (
                StatusCode::BAD_REQUEST,
                "malformed-request",
                "Malformed request",
                field.clone(),
            ),
            Self::Invalid(invalid) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-field",
                "Invalid field",
                Some(invalid.field.clone()),
            ),
            Self::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
                None,
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
                None,
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
                None,
            ),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Unauthorized",
                None,
            ),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden", None),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found", None),
            Self::NoSuchId(_) => (
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                Some("id".into()),
            ),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict", None),
            Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                None,
            ),
        }
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// What the client is told; an internal cause is logged here instead.
    pub fn detail(&self) -> String {
        match self {
            Self::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                "something went wrong on our side; it has been logged".to_owned()
            }
            Self::Invalid(invalid) => format!("{}: {}", invalid.field, invalid.message),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, slug, title, field) = self.parts();
        let detail = match &self {
            Self::Invalid(invalid) => invalid.message.clone(),
            other => other.detail(),
        };
        let problem = Problem {
            kind: format!("/problems/{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
            field,
        };
        let mut response = (status, axum::Json(problem)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
