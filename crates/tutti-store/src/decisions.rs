//! The storage contract for decision spaces and decisions.
//!
//! - A space's policy is compiled against its schema before it is saved, so
//!   a stored policy always validates; every edit raises its version and is
//!   in the audit chain with the whole new text.
//! - A decision is stored with the routing the engine computed; the store
//!   refuses it if the space changed since (the version differs), so a
//!   decision never follows a policy that no longer holds.
//! - Ballots are unique per person and decision, counted by
//!   [`tutti_domain::decision::tally`] in the ballot's own transaction.

use std::collections::BTreeMap;
use std::future::Future;

use chrono::{DateTime, Utc};
use tutti_domain::decision::{
    AttributeType, Ballot, Decision, DecisionSpace, DecisionStatus, Facts, Outcome, PolicyVerdict,
    Proposal, Routing,
};
use uuid::Uuid;

use crate::{Ctx, Page, PageRequest, Result};

#[derive(Debug, Clone)]
pub struct NewSpace {
    pub name: String,
    pub team_id: Option<Uuid>,
    pub objective_id: Option<Uuid>,
    pub principles: Vec<String>,
    pub policy: String,
    pub attributes: BTreeMap<String, AttributeType>,
    pub quorum: i64,
    pub escalate_after_secs: Option<i64>,
    pub escalate_to: Option<Uuid>,
}

#[derive(Debug, Clone, Default)]
pub struct SpacePatch {
    pub name: Option<String>,
    pub principles: Option<Vec<String>>,
    pub policy: Option<String>,
    pub attributes: Option<BTreeMap<String, AttributeType>>,
    pub quorum: Option<i64>,
    pub escalate_after_secs: Option<Option<i64>>,
    pub escalate_to: Option<Option<Uuid>>,
}

/// A decision as the engine routed it.
#[derive(Debug, Clone)]
pub struct NewDecision {
    pub id: Uuid,
    pub space_id: Uuid,
    pub space_version: i64,
    pub question: String,
    pub context: String,
    pub facts: Facts,
    pub options: Vec<String>,
    pub assignee_id: Option<Uuid>,
    pub run_id: Option<Uuid>,
    pub routing: Routing,
    /// The AI worker's proposal, when it came with the request.
    pub proposal: Option<Proposal>,
}

#[derive(Debug, Clone, Default)]
pub struct DecisionFilter {
    pub space_id: Option<Uuid>,
    pub status: Option<DecisionStatus>,
    pub requested_by: Option<Uuid>,
    pub assignee_id: Option<Uuid>,
    /// Only decisions collecting votes (`awaiting_approval` or `escalated`).
    pub waiting: bool,
}

/// A decision past its deadline, for the engine to escalate.
#[derive(Debug, Clone)]
pub struct Overdue {
    pub org_id: Uuid,
    pub decision: Decision,
    pub space: DecisionSpace,
}

/// A decision a person asked for, claimed by this engine so that its AI
/// worker drafts the proposal.
#[derive(Debug, Clone)]
pub struct Draft {
    pub org_id: Uuid,
    pub decision: Decision,
    pub space: DecisionSpace,
    pub worker: tutti_domain::org::Member,
}

pub trait Decisions: Clone + Send + Sync + 'static {
    fn create_space(
        &self,
        ctx: &Ctx,
        space: NewSpace,
    ) -> impl Future<Output = Result<DecisionSpace>> + Send;
    fn update_space(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: SpacePatch,
    ) -> impl Future<Output = Result<DecisionSpace>> + Send;
    /// Deletes a space that holds no decisions (one that does keeps its
    /// register; it is refused).
    fn delete_space(&self, ctx: &Ctx, id: Uuid) -> impl Future<Output = Result<()>> + Send;
    fn space(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<DecisionSpace>> + Send;
    fn spaces(
        &self,
        org_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<DecisionSpace>>> + Send;

    /// Stores a routed decision; an AI worker's proposal that came with it
    /// decides it (`ai_decides`) or becomes its recommendation (`ai_prepares`).
    fn create_decision(
        &self,
        ctx: &Ctx,
        decision: NewDecision,
    ) -> impl Future<Output = Result<Decision>> + Send;
    /// The assigned AI worker's proposal for an open decision.
    fn propose(
        &self,
        ctx: &Ctx,
        id: Uuid,
        proposal: Proposal,
    ) -> impl Future<Output = Result<Decision>> + Send;
    /// Claims, until `hold_until`, open decisions that people asked for and
    /// whose AI worker has not proposed yet; claims of another engine are
    /// skipped until they lapse. A node without the embedded model leaves
    /// the decisions of AI workers on the embedded provider to a live node
    /// that has it, as [`crate::labour::Labour::claim_run`] does with runs.
    fn claim_drafts(
        &self,
        node: &crate::labour::EngineNode,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Draft>>> + Send;
    /// The AI worker could not propose: the open decision goes to people
    /// (at least one approval), and the register says why.
    fn hand_to_people(
        &self,
        ctx: &Ctx,
        id: Uuid,
        why: String,
    ) -> impl Future<Output = Result<Decision>> + Send;
    /// A person's ballot, with the verdict that let them cast it; the tally
    /// decides or rejects the decision once it is clear.
    fn cast_ballot(
        &self,
        ctx: &Ctx,
        id: Uuid,
        ballot: Ballot,
    ) -> impl Future<Output = Result<Decision>> + Send;
    /// Marks a waiting decision escalated to `to`, with the `escalate` verdict
    /// for them; does nothing (returns `None`) if it is no longer waiting.
    fn escalate(
        &self,
        ctx: &Ctx,
        id: Uuid,
        to: Option<Uuid>,
        verdict: Option<PolicyVerdict>,
    ) -> impl Future<Output = Result<Option<Decision>>> + Send;
    /// Waiting decisions whose deadline is at or before `now`, every org.
    fn overdue_decisions(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Overdue>>> + Send;
    fn review_outcome(
        &self,
        ctx: &Ctx,
        id: Uuid,
        outcome: Outcome,
        note: String,
    ) -> impl Future<Output = Result<Decision>> + Send;
    fn decision(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Decision>> + Send;
    fn decisions(
        &self,
        org_id: Uuid,
        filter: &DecisionFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Decision>>> + Send;
}
