//! Why a rule says no.
//!
//! A rule refuses for one of three reasons, and each reaches the member
//! differently: the input breaks a rule ([`Invalid`], which names the field),
//! the member may not do this ([`Denied`]), or the thing is in a state that
//! does not allow it now (a conflict: a run already reviewed, a decision
//! already decided). Rules return [`Refused`]; the engine and the API pass it
//! on unchanged, so the reason a member reads is the rule's own.

use crate::validate::Invalid;

/// A refusal of who asks, with the reason the member is told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// A rule's refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The input breaks a rule; the field says where.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// The member may not do this.
    #[error(transparent)]
    Denied(#[from] Denied),
    /// The state the thing is in does not allow it now.
    #[error("{0}")]
    Conflict(String),
}

impl Refused {
    /// A refusal by the state things are in.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict(message.into())
    }

    /// A refusal of the input, naming its field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(Invalid::new(field, message))
    }
}

pub type RuleResult<T> = Result<T, Refused>;
