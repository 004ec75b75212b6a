//! The engine's error: why a use case did not happen, in terms the API, the
//! cockpit, the CLI and the MCP server each render their own way.
//!
//! A rule's refusal keeps its kind (input, rights, state) and its words;
//! what went wrong inside (the database, a stored row that does not read) is
//! [`EngineError::Internal`], which the edges log and answer opaquely.

use tutti_domain::access::Denied;
use tutti_domain::validate::Invalid;
use tutti_domain::{Refused, labour::BudgetRefusal};
use tutti_store::StoreError;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The addressed thing does not exist in the actor's org.
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    /// The input breaks a rule; the field says where.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The actor may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The thing is in a state that does not allow this now.
    #[error("{0}")]
    Conflict(String),
    /// A hard budget has no room for a call's worst case.
    #[error("{message}")]
    BudgetRefused { budget_id: Uuid, message: String },
    /// Another request with the same idempotency key committed first.
    #[error("a request with this idempotency key is already being handled")]
    IdempotencyRace,
    /// Something inside failed; nothing the caller sent can cause it.
    #[error(transparent)]
    Internal(StoreError),
}

pub type EngineResult<T> = Result<T, EngineError>;

impl From<StoreError> for EngineError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound { entity } => Self::NotFound { entity },
            StoreError::Invalid(invalid) => Self::Invalid(invalid),
            StoreError::Conflict(message) => Self::Conflict(message),
            StoreError::Forbidden(message) => Self::Forbidden(message),
            StoreError::BudgetRefused { budget_id, message } => {
                Self::BudgetRefused { budget_id, message }
            }
            StoreError::IdempotencyRace => Self::IdempotencyRace,
            other => Self::Internal(other),
        }
    }
}

impl From<Refused> for EngineError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Invalid(invalid) => Self::Invalid(invalid),
            Refused::Denied(denied) => denied.into(),
            Refused::Conflict(message) => Self::Conflict(message),
        }
    }
}

impl From<Denied> for EngineError {
    fn from(denied: Denied) -> Self {
        Self::Forbidden(denied.0)
    }
}

impl From<BudgetRefusal> for EngineError {
    fn from(refusal: BudgetRefusal) -> Self {
        Self::BudgetRefused {
            budget_id: refusal.budget_id,
            message: refusal.message,
        }
    }
}

impl EngineError {
    /// A refusal of the input, naming its field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(Invalid::new(field, message))
    }
}
