//! The storage contract for work items: the work, who carries it, where it
//! stands, and which key result it serves.
//!
//! A change that leaves ready work newly in an AI worker's hands queues its
//! run in the same transaction (the rule is `tutti_domain::labour`'s
//! `WorkItem::newly_ready_for` and `queues_a_run`), so work and its run never
//! disagree.

use std::future::Future;

use chrono::NaiveDate;
use serde::Serialize;
use tutti_domain::RuleResult;
use tutti_domain::import::ImportedItem;
use tutti_domain::work::{Priority, WorkItem, WorkKind, WorkState};
use uuid::Uuid;

use crate::{Ctx, Page, PageRequest, Result};

/// Work brought in from elsewhere, keyed by its key there.
#[derive(Debug, Clone)]
pub struct WorkImport {
    /// Where it comes from (`jira`), kept with the audit event.
    pub source: String,
    /// The team the work goes to.
    pub team_id: Option<Uuid>,
    /// Parents before their children (`import::parents_first`).
    pub items: Vec<ImportedItem>,
    /// Do everything, then roll it back: what would be created and updated.
    pub dry_run: bool,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub dry_run: bool,
    pub created: i64,
    pub updated: i64,
    /// Items whose import changed nothing.
    pub unchanged: i64,
    /// Assignees named in the file whom no person of the org matches (by
    /// email, or by name): their work is left unassigned.
    pub unmatched_assignees: Vec<String>,
    /// Keys whose parent is neither in the file nor in tutti.
    pub missing_parents: Vec<String>,
    /// Each item's key and its work item's id.
    pub items: Vec<ImportedRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportedRow {
    pub key: String,
    pub id: Uuid,
    /// `created`, `updated` or `unchanged`.
    pub action: &'static str,
}

#[derive(Debug, Clone)]
pub struct NewWorkItem {
    pub title: String,
    pub description: String,
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub state: WorkState,
    pub kind: WorkKind,
    pub priority: Priority,
    pub due: Option<NaiveDate>,
    pub parent_id: Option<Uuid>,
    pub key_result_id: Option<Uuid>,
    pub service_product_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default)]
pub struct WorkItemPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub team_id: Option<Option<Uuid>>,
    pub assignee_id: Option<Option<Uuid>>,
    pub state: Option<WorkState>,
    pub kind: Option<WorkKind>,
    pub priority: Option<Priority>,
    pub due: Option<Option<NaiveDate>>,
    pub parent_id: Option<Option<Uuid>>,
    pub key_result_id: Option<Option<Uuid>>,
}

#[derive(Debug, Clone, Default)]
pub struct WorkFilter {
    pub state: Option<WorkState>,
    pub assignee_id: Option<Uuid>,
    pub key_result_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    /// Only work that serves no key result.
    pub unaligned: bool,
}

/// Who may apply a patch to a work item, asked of the item as it stands
/// inside the transaction that changes it, so nothing moves between the
/// check and the change.
pub type MayPatch<'a> = &'a (dyn Fn(&WorkItem, &WorkItemPatch) -> RuleResult<()> + Sync);

/// Work items. Errors as [`crate::Store`] says.
pub trait Work: Clone + Send + Sync + 'static {
    /// Creates an item by the context's actor; queues its run when it is
    /// ready in an AI worker's hands. `Invalid` for a bad title or a team,
    /// assignee, parent or key result outside the org.
    fn create_work_item(
        &self,
        ctx: &Ctx,
        item: NewWorkItem,
    ) -> impl Future<Output = Result<WorkItem>> + Send;
    /// Brings work in from elsewhere in one transaction: an item whose key
    /// was imported before is updated (title, description, state, assignee,
    /// parent, due date), any other created in `team_id`; assignees are
    /// matched to the org's people by email, else by name. No run is queued
    /// (people only are matched). `Invalid` naming the item's key for a
    /// title or description tutti cannot keep, `Invalid` for a team of
    /// another org; nothing is written then, nor on a dry run.
    fn import_work_items(
        &self,
        ctx: &Ctx,
        import: &WorkImport,
    ) -> impl Future<Output = Result<ImportReport>> + Send;
    /// `NotFound` for an item of another org.
    fn work_item(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<WorkItem>> + Send;
    /// The org's work items that match `filter`, oldest first.
    fn work_items(
        &self,
        org_id: Uuid,
        filter: &WorkFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<WorkItem>>> + Send;
    /// Applies a patch once `may` allows it for the item as it stands; a
    /// state change must be a legal move. Queues a run when the change
    /// leaves ready work newly in an AI worker's hands. `may`'s refusal
    /// comes back as it is (`Forbidden`, `Invalid`, `Conflict`); `Invalid`
    /// for an illegal move or a reference outside the org.
    fn update_work_item(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: WorkItemPatch,
        may: MayPatch<'_>,
    ) -> impl Future<Output = Result<WorkItem>> + Send;
}
