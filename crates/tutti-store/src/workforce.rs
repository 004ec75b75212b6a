//! The storage contract for steering the AI workforce: the guard-rail
//! checks of a decision space, the org's cap on runs at once and each
//! worker's queue, work-order templates with their versions and the facts
//! their track record is computed from, the evidence behind check-ins, and
//! the facts of the leverage view.
//!
//! The checks themselves are applied where a run ends (`Runs`), inside the
//! transaction that ends it; the record is `tutti_domain::labour::template`'s
//! arithmetic over the facts read here.

use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use tutti_domain::guard::GuardCheck;
use tutti_domain::labour::capacity::Capacity;
use tutti_domain::labour::leverage::LeverageFacts;
use tutti_domain::labour::template::{ItemFacts, Template};
use tutti_domain::strategy::Evidence;
use tutti_domain::work::{Priority, WorkItem, WorkKind, WorkState};
use uuid::Uuid;

use crate::{Ctx, Result};

/// A new version of a template, checked by the engine.
#[derive(Debug, Clone)]
pub struct NewTemplateVersion {
    pub body: String,
    pub criteria: String,
    pub note: String,
    /// Keep the newest version in use beside this one (A/B).
    pub side_by_side: bool,
}

/// Work made from a template: what the person fills in.
#[derive(Debug, Clone)]
pub struct FromTemplate {
    pub title: String,
    pub details: String,
    pub team_id: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    pub key_result_id: Option<Uuid>,
    pub state: WorkState,
    pub kind: WorkKind,
    pub priority: Priority,
    pub due: Option<NaiveDate>,
}

/// Steering the AI workforce. Errors as [`crate::Store`] says.
pub trait Workforce: Clone + Send + Sync + 'static {
    /// The guard-rail checks of a space. `NotFound` for another org's.
    fn space_guards(
        &self,
        org_id: Uuid,
        space_id: Uuid,
    ) -> impl Future<Output = Result<Vec<GuardCheck>>> + Send;
    /// Replaces them (checked by the engine); audited `space.guards_set`.
    fn set_space_guards(
        &self,
        ctx: &Ctx,
        space_id: Uuid,
        checks: Vec<GuardCheck>,
    ) -> impl Future<Output = Result<Vec<GuardCheck>>> + Send;

    /// The org's cap, what runs and waits, and each AI worker's queue.
    fn capacity(
        &self,
        org_id: Uuid,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Capacity>> + Send;
    /// Sets the org's cap on AI runs at once (checked by the engine; `None`
    /// lifts it); audited `org.ai_concurrency_set`.
    fn set_ai_concurrency(
        &self,
        ctx: &Ctx,
        cap: Option<i64>,
    ) -> impl Future<Output = Result<Option<i64>>> + Send;

    /// Creates a template with its first version, made by the context's
    /// actor. `Conflict` when the org has a template of that name.
    fn create_template(
        &self,
        ctx: &Ctx,
        name: String,
        first: NewTemplateVersion,
    ) -> impl Future<Output = Result<Template>> + Send;
    /// Adds a version; the versions in use after it are the new one and, side
    /// by side, the newest one before (`template::stay_in_use`).
    fn add_template_version(
        &self,
        ctx: &Ctx,
        template_id: Uuid,
        version: NewTemplateVersion,
    ) -> impl Future<Output = Result<Template>> + Send;
    fn template(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Template>> + Send;
    fn templates(&self, org_id: Uuid) -> impl Future<Output = Result<Vec<Template>>> + Send;
    /// Creates a work item from the template's version whose turn it is
    /// (`template::pick_version`, under the template's row lock), its
    /// description the filled body and criteria; the item and its runs name
    /// the version. Otherwise as `Work::create_work_item`, queueing a run
    /// when the item is ready in an AI worker's hands.
    fn create_from_template(
        &self,
        ctx: &Ctx,
        template_id: Uuid,
        new: FromTemplate,
    ) -> impl Future<Output = Result<WorkItem>> + Send;
    /// What the items made from the org's templates went through (one
    /// template's with `template_id`).
    fn template_facts(
        &self,
        org_id: Uuid,
        template_id: Option<Uuid>,
    ) -> impl Future<Output = Result<Vec<ItemFacts>>> + Send;

    /// The settled spend, accepted results and key-result values of the
    /// window `[from, to)` the leverage view is computed from.
    fn leverage_facts(
        &self,
        org_id: Uuid,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<LeverageFacts>> + Send;

    /// Attaches work as evidence behind a check-in, once
    /// `strategy::check_evidence` allows it for the item and run as they
    /// stand; audited `check_in.evidence_attached`. `Conflict` when it is
    /// attached already.
    fn attach_evidence(
        &self,
        ctx: &Ctx,
        check_in_id: Uuid,
        work_item_id: Uuid,
        run_id: Option<Uuid>,
    ) -> impl Future<Output = Result<Evidence>> + Send;
    /// The key result a check-in is of. `NotFound` for another org's.
    fn check_in_key_result(
        &self,
        org_id: Uuid,
        check_in_id: Uuid,
    ) -> impl Future<Output = Result<Uuid>> + Send;
    /// The evidence behind a key result's check-ins, oldest first.
    fn evidence(
        &self,
        org_id: Uuid,
        key_result_id: Uuid,
    ) -> impl Future<Output = Result<Vec<Evidence>>> + Send;
}
