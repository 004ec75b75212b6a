//! The store's error: what went wrong in terms a caller can act on.

use tutti_domain::Refused;
use tutti_domain::labour::BudgetRefusal;
use tutti_domain::validate::Invalid;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("{0}")]
    Conflict(String),
    /// A rule refused the member; the text says which.
    #[error("{0}")]
    Forbidden(String),
    /// A hard budget has no room for the call's worst case.
    #[error("{message}")]
    BudgetRefused { budget_id: Uuid, message: String },
    /// Another request with the same idempotency key committed first.
    #[error("a request with this idempotency key is already being handled")]
    IdempotencyRace,
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A statement run straight on SQLite's handle (the SQLite backend's hot
    /// write paths) failed.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<Refused> for StoreError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::Invalid(invalid) => Self::Invalid(invalid),
            Refused::Denied(denied) => Self::Forbidden(denied.0),
            Refused::Conflict(message) => Self::Conflict(message),
        }
    }
}

impl From<BudgetRefusal> for StoreError {
    fn from(refusal: BudgetRefusal) -> Self {
        Self::BudgetRefused {
            budget_id: refusal.budget_id,
            message: refusal.message,
        }
    }
}

impl StoreError {
    pub fn not_found(entity: &'static str) -> Self {
        Self::NotFound { entity }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(Invalid::new(field, message))
    }

    pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
        matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
    }

    /// A unique-index violation as the conflict it means; other errors as they are.
    pub(crate) fn conflict_on_unique(err: sqlx::Error, message: impl FnOnce() -> String) -> Self {
        if Self::is_unique_violation(&err) {
            Self::Conflict(message())
        } else {
            err.into()
        }
    }

    /// A foreign-key violation (a row still referred to) as the conflict it
    /// means; other errors as they are.
    pub(crate) fn conflict_on_foreign_key(
        err: sqlx::Error,
        message: impl FnOnce() -> String,
    ) -> Self {
        if matches!(&err, sqlx::Error::Database(db) if db.is_foreign_key_violation()) {
            Self::Conflict(message())
        } else {
            err.into()
        }
    }
}
