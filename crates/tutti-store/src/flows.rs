//! The storage contract for flows and their quality gates: flows with their
//! gates, the versions of a gate's criteria, cases, criteria checks,
//! verdicts and learnings.
//!
//! - A verdict is stored together with its decision, in one transaction;
//!   when that decision becomes final — at once, or later by a vote, an AI
//!   worker's proposal or a rejection — the same transaction settles the
//!   verdict and moves the case (`GateVerdict::settle`, `Case::apply`).
//! - Accepting a learning amends its gate (a new version of the criteria)
//!   or its service product (a new version of the levels) in the
//!   transaction that answers it.
//! - Every write appends its audit event in its own transaction.

use std::future::Future;

use chrono::{DateTime, Utc};
use tutti_domain::decision::{Decision, NewDecision};
use tutti_domain::org::Member;
use tutti_domain::service::{
    Amendment, Case, CaseStatus, CheckOutcome, Criterion, CriterionCheck, Flow, Gate, GateVerdict,
    GateVersion, Learning, LearningStatus, LearningSubject, Stage, Verdict,
};
use uuid::Uuid;

use crate::{Ctx, EngineNode, Page, PageRequest, Result};

#[derive(Debug, Clone)]
pub struct NewFlow {
    pub name: String,
    pub description: String,
    pub stages: Vec<Stage>,
    pub space_id: Uuid,
}

#[derive(Debug, Clone)]
pub struct NewCase {
    pub flow_id: Uuid,
    pub title: String,
    pub customer: String,
    pub work_item_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub flow_id: Option<Uuid>,
    pub status: Option<CaseStatus>,
    /// The cases resting on one work item.
    pub work_item_id: Option<Uuid>,
    /// The cases at one stage.
    pub stage: Option<i64>,
    /// Active and held only.
    pub unfinished: bool,
    /// On hold with a date before this time.
    pub hold_before: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct LearningFilter {
    pub status: Option<LearningStatus>,
    pub gate_id: Option<Uuid>,
    pub service_product_id: Option<Uuid>,
    /// Created before this time (for the ones left unanswered).
    pub created_before: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewLearning {
    pub title: String,
    pub body: String,
    pub team_id: Option<Uuid>,
    pub subject: LearningSubject,
    pub amendment: Option<Amendment>,
}

/// A criterion an AI worker is to check, claimed by an engine.
#[derive(Debug, Clone)]
pub struct AiCheck {
    pub org_id: Uuid,
    pub check: CriterionCheck,
    pub case: Case,
    pub flow: Flow,
    pub gate: Gate,
    pub worker: Member,
}

/// How many cases stand at a stage in a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseCount {
    pub stage: i64,
    pub status: CaseStatus,
    pub count: i64,
}

/// A verdict given at a gate, for its recycle rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GivenVerdict {
    pub gate_id: Uuid,
    pub verdict: Verdict,
}

/// Flows, gates, cases and learnings. Errors as [`crate::Store`] says.
pub trait Flows: Clone + Send + Sync + 'static {
    /// A flow with a gate between each two stages (no criteria yet, version
    /// 1). `Invalid` for bad texts or stages, a space or team outside the org.
    fn create_flow(&self, ctx: &Ctx, new: NewFlow) -> impl Future<Output = Result<Flow>> + Send;
    /// `NotFound` for one of another org.
    fn flow(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Flow>> + Send;
    /// The org's flows, oldest first.
    fn flows(
        &self,
        org_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Flow>>> + Send;
    /// A flow's gates in the order of its stages.
    fn gates(&self, org_id: Uuid, flow_id: Uuid) -> impl Future<Output = Result<Vec<Gate>>> + Send;
    /// `NotFound` for one of another org.
    fn gate(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Gate>> + Send;
    /// Every version of a gate's criteria, oldest first.
    fn gate_versions(
        &self,
        org_id: Uuid,
        gate_id: Uuid,
    ) -> impl Future<Output = Result<Vec<GateVersion>>> + Send;
    /// New criteria, checked, as the next version. `Conflict` when the gate
    /// is no longer at version `based_on`; `Invalid` for bad criteria or an
    /// AI worker that is not one of the org's.
    fn set_criteria(
        &self,
        ctx: &Ctx,
        gate_id: Uuid,
        criteria: Vec<Criterion>,
        based_on: i64,
    ) -> impl Future<Output = Result<Gate>> + Send;

    /// A case at the flow's first stage. `Invalid` for bad texts, a flow or
    /// work item outside the org.
    fn open_case(&self, ctx: &Ctx, new: NewCase) -> impl Future<Output = Result<Case>> + Send;
    /// `NotFound` for one of another org.
    fn case(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Case>> + Send;
    /// Cases, oldest first.
    fn cases(
        &self,
        org_id: Uuid,
        filter: &CaseFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Case>>> + Send;

    /// How many of a flow's cases stand at each stage in each status.
    fn case_counts(
        &self,
        org_id: Uuid,
        flow_id: Uuid,
    ) -> impl Future<Output = Result<Vec<CaseCount>>> + Send;

    /// Records a check (done by a person, or pending for an AI worker).
    fn record_check(
        &self,
        ctx: &Ctx,
        check: CriterionCheck,
    ) -> impl Future<Output = Result<CriterionCheck>> + Send;
    /// A case's checks, oldest first.
    fn checks(
        &self,
        org_id: Uuid,
        case_id: Uuid,
    ) -> impl Future<Output = Result<Vec<CriterionCheck>>> + Send;
    /// Claims, as of `now`, up to `limit` pending AI checks until
    /// `hold_until`, leaving the embedded model's to a node that has it.
    fn claim_checks(
        &self,
        node: &EngineNode,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<AiCheck>>> + Send;
    /// The AI worker's answer to a pending check. `Conflict` once answered.
    fn finish_check(
        &self,
        ctx: &Ctx,
        id: Uuid,
        outcome: CheckOutcome,
        reason: String,
    ) -> impl Future<Output = Result<CriterionCheck>> + Send;

    /// Stores a proposed verdict with its decision, routed; a decision
    /// final at once settles the verdict in the same transaction. `Conflict`
    /// while another verdict on the case is pending, or when the case moved
    /// away from the gate.
    fn propose_verdict(
        &self,
        ctx: &Ctx,
        verdict: GateVerdict,
        decision: NewDecision,
    ) -> impl Future<Output = Result<(GateVerdict, Decision)>> + Send;
    /// A case's verdicts, oldest first.
    fn verdicts(
        &self,
        org_id: Uuid,
        case_id: Uuid,
    ) -> impl Future<Output = Result<Vec<GateVerdict>>> + Send;
    /// `NotFound` for one of another org.
    fn verdict(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<GateVerdict>> + Send;
    /// The verdicts given since `since`, for the gates' recycle rates.
    fn given_verdicts(
        &self,
        org_id: Uuid,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<GivenVerdict>>> + Send;

    /// A learning by the context's actor. `Invalid` for bad texts, an
    /// amendment that does not fit its subject, or a subject outside the org.
    fn create_learning(
        &self,
        ctx: &Ctx,
        new: NewLearning,
    ) -> impl Future<Output = Result<Learning>> + Send;
    /// `NotFound` for one of another org.
    fn learning(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Learning>> + Send;
    /// Learnings, oldest first.
    fn learnings(
        &self,
        org_id: Uuid,
        filter: &LearningFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Learning>>> + Send;
    /// Accepts (applying its amendment as a new version) or declines a
    /// learning. `Conflict` once answered; `Invalid` for a decline without
    /// a why.
    fn answer_learning(
        &self,
        ctx: &Ctx,
        id: Uuid,
        accept: bool,
        note: String,
    ) -> impl Future<Output = Result<Learning>> + Send;
}
