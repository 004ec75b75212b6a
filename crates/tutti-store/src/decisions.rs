//! The storage contract for decision spaces and decisions.
//!
//! - A space reaches the store checked and with its policy compiled against
//!   its schema (by the engine, which alone knows Cedar), so a stored policy
//!   always validates; every edit raises its version, is refused if another
//!   edit came first, and is in the audit chain with the whole new text.
//! - A decision is stored with the routing the engine computed; it is
//!   refused if the space changed since (the version differs), so a decision
//!   never follows a policy that no longer holds.
//! - Every step of a decision's life is `tutti_domain::decision`'s rule,
//!   applied here to the decision as it stands inside the step's
//!   transaction; ballots are unique per person and decision.

use std::future::Future;

use chrono::{DateTime, Utc};
use tutti_domain::decision::{
    Ballot, Decision, DecisionSpace, DecisionStatus, NewDecision, Outcome, PolicyVerdict, Proposal,
};
use uuid::Uuid;

use crate::{Ctx, Page, PageRequest, Result};

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

/// Decision spaces and decisions. Errors as [`crate::Store`] says.
pub trait Decisions: Clone + Send + Sync + 'static {
    /// Stores a new space, checked and with its policy compiled. `Invalid`
    /// when its team, objective or escalation target is not of the org (or
    /// the target is no person); `Conflict` for a taken name.
    fn create_space(
        &self,
        ctx: &Ctx,
        space: DecisionSpace,
    ) -> impl Future<Output = Result<DecisionSpace>> + Send;
    /// Stores the next version of a space, checked and with its policy
    /// compiled. `NotFound` for a space of another org; `Conflict` when the
    /// stored version is not the one before (another edit came first) or
    /// the name is taken; `Invalid` as for creating.
    fn update_space(
        &self,
        ctx: &Ctx,
        space: DecisionSpace,
    ) -> impl Future<Output = Result<DecisionSpace>> + Send;
    /// Deletes a space that holds no decisions (one that does keeps its
    /// register: `Conflict`).
    fn delete_space(&self, ctx: &Ctx, id: Uuid) -> impl Future<Output = Result<()>> + Send;
    /// `NotFound` for a space of another org.
    fn space(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<DecisionSpace>> + Send;
    /// The org's decision spaces, oldest first.
    fn spaces(
        &self,
        org_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<DecisionSpace>>> + Send;

    /// Stores a routed decision requested by the context's actor; an AI
    /// worker's proposal that came with it decides it (`ai_decides`) or
    /// becomes its recommendation (`ai_prepares`). `Conflict` when the space
    /// changed since the routing; `Invalid` for bad text, options or facts,
    /// an assignee who is no AI worker of the org, or an unknown run.
    fn create_decision(
        &self,
        ctx: &Ctx,
        decision: NewDecision,
    ) -> impl Future<Output = Result<Decision>> + Send;
    /// The assigned AI worker's proposal (the context's actor) for an open
    /// decision. `Invalid` from anyone else or for an option not offered;
    /// `Conflict` for a decision no longer open.
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
    /// that has it, as [`crate::Runs::claim_run`] does with runs.
    fn claim_drafts(
        &self,
        node: &crate::runs::EngineNode,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Draft>>> + Send;
    /// The AI worker could not propose: the open decision goes to people
    /// (at least one approval), and the register says why. `Conflict` for a
    /// decision no longer open.
    fn hand_to_people(
        &self,
        ctx: &Ctx,
        id: Uuid,
        why: String,
    ) -> impl Future<Output = Result<Decision>> + Send;
    /// A ballot, with the policy's verdict on the voter's approval; the
    /// tally decides or rejects the decision once it is clear. `Forbidden`
    /// for an AI worker or a voter the policy does not allow; `Conflict`
    /// for a decision not taking votes or a second ballot; `Invalid` for an
    /// approval naming no offered option.
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
    /// How a decided decision turned out. `Conflict` for one not decided.
    fn review_outcome(
        &self,
        ctx: &Ctx,
        id: Uuid,
        outcome: Outcome,
        note: String,
    ) -> impl Future<Output = Result<Decision>> + Send;
    /// `NotFound` for a decision of another org.
    fn decision(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Decision>> + Send;
    /// The org's decisions that match `filter`, oldest first, with their
    /// ballots.
    fn decisions(
        &self,
        org_id: Uuid,
        filter: &DecisionFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Decision>>> + Send;
}
