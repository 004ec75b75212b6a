//! Use cases of external AI workers: agents outside tutti that take their
//! runs through the claim protocol (the MCP server's tools call these).
//!
//! An agent lists its work, claims a queued run with a lease, renews the
//! lease while it works (with progress notes), and submits its result for
//! review or gives the work back. Who may claim what and what a held claim
//! is are `tutti_domain::labour::agent`'s rules, applied by the store under
//! the run's row lock; a lease that runs out is recovered by the engine as
//! any lost lease. Everything else an agent may do (ask for a decision,
//! check in, read) goes through the same use cases as the REST API.

use serde::Serialize;
use tutti_domain::access::{Action, Actor};
use tutti_domain::labour::agent::{self, AgentLease, AgentResult};
use tutti_domain::labour::{BudgetState, ChargeScope, Review, Run};
use tutti_domain::strategy::{KeyResult, Objective};
use tutti_domain::work::WorkItem;
use tutti_store::prelude::*;
use tutti_store::{ClaimTarget, Ctx, PageRequest, RunFilter, RunNote, WorkFilter};
use uuid::Uuid;

use crate::{EngineResult, Runtime};

/// A work item as an agent is briefed on it: the item, why it matters, the
/// run that carries its work order (the role card and the rendered order,
/// with its why and the principles that hold), what was reported on that
/// run, and the reviews so far (a revision's feedback is in the next
/// order too).
#[derive(Debug, Clone, Serialize)]
pub struct WorkBrief {
    pub item: WorkItem,
    pub key_result: Option<KeyResult>,
    pub objective: Option<Objective>,
    /// The latest run of the item, if it has one.
    pub run: Option<Run>,
    pub notes: Vec<RunNote>,
    pub reviews: Vec<Review>,
}

/// The open work in the agent's hands, oldest first, each with its latest
/// run (`queued` waits for a claim).
pub async fn my_work<S: Store>(
    store: &S,
    actor: &Actor,
) -> EngineResult<Vec<(WorkItem, Option<Run>)>> {
    actor.may(Action::Read)?;
    let filter = WorkFilter {
        assignee_id: Some(actor.member_id),
        ..WorkFilter::default()
    };
    let items = store
        .work_items(actor.org_id, &filter, PageRequest::first(200))
        .await?;
    let mut work = Vec::new();
    for item in items.items.into_iter().filter(|i| !i.state.is_final()) {
        let run = latest_run(store, actor.org_id, item.id).await?;
        work.push((item, run));
    }
    Ok(work)
}

async fn latest_run<S: Store>(store: &S, org_id: Uuid, item_id: Uuid) -> EngineResult<Option<Run>> {
    let filter = RunFilter {
        work_item_id: Some(item_id),
        ..RunFilter::default()
    };
    let runs = store.runs(org_id, &filter, PageRequest::first(200)).await?;
    Ok(runs.items.into_iter().max_by_key(|r| (r.iteration, r.id)))
}

/// A work item with everything an agent needs to do it.
pub async fn brief<S: Store>(store: &S, actor: &Actor, item_id: Uuid) -> EngineResult<WorkBrief> {
    actor.may(Action::Read)?;
    let item = store.work_item(actor.org_id, item_id).await?;
    let key_result = match item.key_result_id {
        Some(id) => Some(store.key_result(actor.org_id, id).await?),
        None => None,
    };
    let objective = match &key_result {
        Some(kr) => Some(store.objective(actor.org_id, kr.objective_id).await?),
        None => None,
    };
    let run = latest_run(store, actor.org_id, item.id).await?;
    let notes = match &run {
        Some(run) => store.run_notes(actor.org_id, run.id).await?,
        None => Vec::new(),
    };
    let reviews = store.reviews(actor.org_id, item.id).await?;
    Ok(WorkBrief {
        item,
        key_result,
        objective,
        run,
        notes,
        reviews,
    })
}

/// The agent claims its next queued run, or the one waiting on an item,
/// for `lease`. `None` when nothing of its is queued.
pub async fn claim<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    target: ClaimTarget,
    lease: AgentLease,
) -> EngineResult<Option<Run>> {
    actor.may(Action::Read)?;
    Ok(store
        .claim_for_agent(ctx, target, lease.until(ctx.now))
        .await?)
}

/// Renews the agent's claim for `lease` from now, keeping a progress note
/// when it sends one.
pub async fn report_progress<S: Store>(
    store: &S,
    ctx: &Ctx,
    run_id: Uuid,
    note: Option<&str>,
    lease: AgentLease,
) -> EngineResult<Run> {
    let note = note.map(agent::parse_note).transpose()?;
    Ok(store
        .agent_heartbeat(ctx, run_id, lease.until(ctx.now), note)
        .await?)
}

/// Hands in the agent's result: the run succeeds and its item goes to
/// review, where a person accepts, revises (the next iteration is queued
/// for the agent to claim) or rejects it.
pub async fn submit<S: Store>(
    store: &S,
    runtime: &Runtime,
    ctx: &Ctx,
    run_id: Uuid,
    result: AgentResult,
) -> EngineResult<Run> {
    let run = store.submit_run(ctx, run_id, result.render()).await?;
    runtime.wake();
    Ok(run)
}

/// Gives a claimed run back with the reason: the item returns to people,
/// ready and unassigned.
pub async fn release<S: Store>(
    store: &S,
    runtime: &Runtime,
    ctx: &Ctx,
    run_id: Uuid,
    reason: &str,
) -> EngineResult<Run> {
    let reason = agent::parse_reason(reason)?;
    let run = store.release_run(ctx, run_id, reason).await?;
    runtime.wake();
    Ok(run)
}

/// The budgets that hold the agent's model calls (the org's, its own, its
/// team's), with what is left in each window.
pub async fn budgets<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
) -> EngineResult<Vec<BudgetState>> {
    actor.may(Action::Read)?;
    let scope = ChargeScope {
        worker_id: actor.member_id,
        team_id: actor.teams.first().copied(),
        objective_id: None,
    };
    let keys = scope.budget_keys();
    Ok(store
        .budgets(actor.org_id, ctx.now)
        .await?
        .into_iter()
        .filter(|b| keys.contains(&(b.budget.scope, b.budget.scope_id)))
        .collect())
}
