//! The storage contract for the audit chain: every org's events, append-only
//! and hash-chained, and the walk that proves nothing was altered or removed.
//!
//! Events are appended by the writes themselves, inside their transactions;
//! this trait only reads them.

use std::future::Future;

use tutti_domain::audit::{ChainBreak, Event, VerifiedHead};
use uuid::Uuid;

use crate::{Page, Result};

#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub after_seq: Option<i64>,
    pub limit: u32,
    pub action: Option<String>,
    pub subject_id: Option<Uuid>,
}

/// The audit chain. Errors as [`crate::Store`] says.
pub trait Audit: Clone + Send + Sync + 'static {
    /// The org's events in chain order, after `filter.after_seq`.
    fn events(
        &self,
        org_id: Uuid,
        filter: &EventFilter,
    ) -> impl Future<Output = Result<Page<Event>>> + Send;
    /// Walks the org's whole chain: `Ok(Ok(n))` when all `n` events verify,
    /// `Ok(Err(break))` naming the first event that does not. `NotFound`
    /// for an unknown org.
    fn verify_chain(
        &self,
        org_id: Uuid,
    ) -> impl Future<Output = Result<Result<i64, ChainBreak>>> + Send;
    /// Like [`Self::verify_chain`], but walks only the events after `from`
    /// (a head an earlier walk verified; `None` walks all), and returns the
    /// head it verified up to (`from` again when the walk broke).
    fn verify_chain_after(
        &self,
        org_id: Uuid,
        from: Option<VerifiedHead>,
    ) -> impl Future<Output = Result<(Result<i64, ChainBreak>, Option<VerifiedHead>)>> + Send;
    /// The sequence number of the org's newest event: it moves with every
    /// change, so caches of derived figures key on it.
    fn audit_seq(&self, org_id: Uuid) -> impl Future<Output = Result<i64>> + Send;
}
