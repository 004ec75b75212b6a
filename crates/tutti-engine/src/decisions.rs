//! Decision routing and escalation: the engine side of decision spaces.
//!
//! Every decision is routed by its space's Cedar policy here, never by a
//! prompt: the policy says whether the assigned AI worker may decide it, may
//! only prepare it, or must leave it to people. Votes are checked against the
//! policy's `approve` action, and above every policy the engine holds its
//! own rules: an AI worker never votes, never proposes for another worker,
//! never routes a decision for someone else, and never acts in a space
//! outside its teams. Compiled policies are cached per
//! space version, so routing costs an evaluation, not a parse.
//!
//! A decision a person asks for waits on its AI worker's proposal; the
//! engine drafts it ([`draft`]) with a metered call on the worker's model,
//! and hands the decision to people when the worker cannot answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tutti_domain::access::{Action, Actor};
use tutti_domain::decision::{
    Ballot, Decision, DecisionSpace, Facts, NewDecision, NewSpace, Outcome, PolicyAction,
    PolicyVerdict, Proposal, Routing, SpacePatch, Vote, ai_may_act_in, check_attributes,
    draft_grammar, read_proposal, render_draft_order,
};
use tutti_domain::org::{Member, MemberKind};
use tutti_llm::{ChatRequest, Message, Speaker};
use tutti_policy::{CompiledPolicy, Principal};
use tutti_store::prelude::*;
use tutti_store::{Ctx, DecisionFilter, Draft, EngineNode, PageRequest, StoreError};
use uuid::Uuid;

use crate::metered::Refusal;
use crate::{EngineError, EngineResult};

/// Compiled policies by space, for the version they were compiled from.
#[derive(Default)]
pub struct PolicyCache {
    spaces: Mutex<HashMap<Uuid, (i64, Arc<CompiledPolicy>)>>,
}

impl PolicyCache {
    /// The compiled policy of `space` at its current version.
    pub fn compiled(&self, space: &DecisionSpace) -> EngineResult<Arc<CompiledPolicy>> {
        let cached = self.spaces.lock().ok().and_then(|spaces| {
            spaces
                .get(&space.id)
                .filter(|(version, _)| *version == space.version)
                .map(|(_, compiled)| compiled.clone())
        });
        if let Some(compiled) = cached {
            return Ok(compiled);
        }
        // A stored policy was validated when it was saved; failing now means
        // the schema moved under it.
        let compiled = Arc::new(
            tutti_policy::compile(&space.policy, &space.attributes).map_err(|e| {
                EngineError::Internal(StoreError::Corrupt(format!(
                    "the policy of space {}: {e}",
                    space.id
                )))
            })?,
        );
        if let Ok(mut spaces) = self.spaces.lock() {
            spaces.insert(space.id, (space.version, compiled.clone()));
        }
        Ok(compiled)
    }
}

/// A decision as someone asks for it.
#[derive(Debug, Clone)]
pub struct DecisionRequest {
    pub space_id: Uuid,
    pub question: String,
    pub context: String,
    pub facts: Facts,
    pub options: Vec<String>,
    /// The AI worker to decide or prepare it; an AI worker asking names
    /// itself (or nobody).
    pub assignee_id: Option<Uuid>,
    pub run_id: Option<Uuid>,
    /// An AI worker's own proposal, sent with the request.
    pub proposal: Option<Proposal>,
}

fn principal_of_actor(actor: &Actor) -> Principal<'_> {
    Principal {
        id: actor.member_id,
        kind: actor.kind,
        role: actor.role,
        teams: &actor.teams,
    }
}

fn principal_of_member(member: &Member) -> Principal<'_> {
    Principal {
        id: member.id,
        kind: member.kind,
        role: member.role,
        teams: &member.teams,
    }
}

/// Routes a decision by its space's policy and stores it.
pub async fn request<S: Store>(
    store: &S,
    cache: &PolicyCache,
    actor: &Actor,
    ctx: &Ctx,
    request: DecisionRequest,
) -> EngineResult<Decision> {
    let id = Uuid::now_v7();
    // The space may change between routing and storing; the store refuses a
    // stale version, and one fresh attempt routes by the new policy.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let new = route(store, cache, actor, ctx, &request, id).await?;
        match store.create_decision(ctx, new).await {
            Err(StoreError::Conflict(_)) if attempts < 2 => continue,
            other => return Ok(other?),
        }
    }
}

/// Checks `request` as `actor` makes it and routes it by its space's
/// policy as the space stands now: the decision to store, with `id`. An AI
/// worker raises decisions for itself only and only in its own spaces; a
/// person sends no proposal.
pub async fn route<S: Store>(
    store: &S,
    cache: &PolicyCache,
    actor: &Actor,
    ctx: &Ctx,
    request: &DecisionRequest,
    id: Uuid,
) -> EngineResult<NewDecision> {
    actor.may(Action::RequestDecision)?;
    let assignee_id = match actor.kind {
        MemberKind::Ai => {
            if request.assignee_id.is_some_and(|id| id != actor.member_id) {
                return Err(EngineError::Forbidden(
                    "an AI worker raises decisions for itself, never for another worker".into(),
                ));
            }
            Some(actor.member_id)
        }
        MemberKind::Human => {
            if request.proposal.is_some() {
                return Err(EngineError::invalid(
                    "proposal",
                    "only an AI worker sends a proposal; people vote on the decision",
                ));
            }
            request.assignee_id
        }
    };
    let worker = match assignee_id {
        Some(id) => Some(named_member(store, ctx.org_id, "assignee_id", id).await?),
        None => None,
    };
    let space = store.space(ctx.org_id, request.space_id).await?;
    if let Some(worker) = &worker {
        keep_in_space(store, actor, worker, &space).await?;
    }
    check_attributes(&space.attributes, &request.facts.attributes)?;
    let policy = cache.compiled(&space)?;
    let routing = policy.route(
        worker.as_ref().map(principal_of_member).as_ref(),
        space.id,
        id,
        &request.facts,
        space.quorum,
    );
    Ok(NewDecision {
        id,
        space_id: space.id,
        space_version: space.version,
        question: request.question.clone(),
        context: request.context.clone(),
        facts: request.facts.clone(),
        options: request.options.clone(),
        assignee_id,
        run_id: request.run_id,
        routing,
        proposal: request.proposal.clone(),
    })
}

/// A vote as a person casts it.
#[derive(Debug, Clone)]
pub struct Cast {
    pub vote: Vote,
    /// The option an approval chooses.
    pub option: Option<String>,
    pub reason: String,
}

/// A person's approval (with the option they choose) or rejection. The
/// space's policy says whether they may approve; above every policy, an AI
/// worker never votes (`Decision::cast`).
pub async fn vote<S: Store>(
    store: &S,
    cache: &PolicyCache,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
    cast: Cast,
) -> EngineResult<Decision> {
    actor.may(Action::RequestDecision)?;
    let decision = store.decision(ctx.org_id, id).await?;
    let space = store.space(ctx.org_id, decision.space_id).await?;
    let policy = cache.compiled(&space)?;
    let verdict = policy.evaluate(
        &principal_of_actor(actor),
        PolicyAction::Approve,
        space.id,
        decision.id,
        &decision.facts,
    );
    let ballot = Ballot {
        member_id: actor.member_id,
        vote: cast.vote,
        option: cast.option,
        reason: cast.reason,
        verdict,
        at: ctx.now,
    };
    Ok(store.cast_ballot(ctx, id, ballot).await?)
}

/// The assigned AI worker's choice (when it may decide) or recommendation
/// (when it may prepare) for an open decision.
pub async fn propose<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
    proposal: Proposal,
) -> EngineResult<Decision> {
    actor.may(Action::RequestDecision)?;
    if actor.kind == MemberKind::Ai {
        let decision = store.decision(ctx.org_id, id).await?;
        let space = store.space(ctx.org_id, decision.space_id).await?;
        let worker = named_member(store, ctx.org_id, "assignee_id", actor.member_id).await?;
        keep_in_space(store, actor, &worker, &space).await?;
    }
    Ok(store.propose(ctx, id, proposal).await?)
}

/// Refuses an AI worker a space outside its teams, whatever the space's
/// policy says (`ai_may_act_in`): to the worker itself a 403, to a person
/// who assigns it there a refusal naming `assignee_id`.
async fn keep_in_space<S: Store>(
    store: &S,
    actor: &Actor,
    worker: &Member,
    space: &DecisionSpace,
) -> EngineResult<()> {
    if worker.kind != MemberKind::Ai {
        return Ok(());
    }
    let team = space_team(store, actor.org_id, space.team_id, space.objective_id).await?;
    let lines = team_lines(store, actor.org_id, &worker.teams).await?;
    if ai_may_act_in(team, &lines) {
        return Ok(());
    }
    if actor.member_id == worker.id {
        Err(EngineError::Forbidden(format!(
            "an AI worker acts only in the decision spaces of its own teams; \"{}\" belongs to a team it does not work in",
            space.name
        )))
    } else {
        Err(EngineError::invalid(
            "assignee_id",
            format!(
                "{} works in none of the teams \"{}\" covers; assign an AI worker of the space's team",
                worker.name, space.name
            ),
        ))
    }
}

/// Each of `teams` with every team above it.
async fn team_lines<S: Store>(store: &S, org_id: Uuid, teams: &[Uuid]) -> EngineResult<Vec<Uuid>> {
    let mut lines = Vec::new();
    for &team in teams {
        let mut at = Some(team);
        // A team already seen has had its line walked (or closes a cycle).
        while let Some(id) = at.filter(|id| !lines.contains(id)) {
            lines.push(id);
            at = store.team(org_id, id).await?.parent_id;
        }
    }
    Ok(lines)
}

/// Looks back on a decided decision: `good`, `bad` or `unclear`, by a
/// person who asked for it, voted on it, or manages its space.
pub async fn review_outcome<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
    outcome: Outcome,
    note: String,
) -> EngineResult<Decision> {
    let decision = store.decision(actor.org_id, id).await?;
    may_review_outcome(store, actor, &decision).await?;
    Ok(store.review_outcome(ctx, id, outcome, note).await?)
}

/// Whether `actor` may look back on `decision`'s outcome: who asked for it,
/// voted on it, or manages its space (the cockpit asks before it offers
/// the form).
pub async fn may_review_outcome<S: Store>(
    store: &S,
    actor: &Actor,
    decision: &Decision,
) -> EngineResult<()> {
    actor.may(Action::RequestDecision)?;
    let involved = decision.requested_by == actor.member_id
        || decision
            .ballots
            .iter()
            .any(|b| b.member_id == actor.member_id);
    let space = store.space(actor.org_id, decision.space_id).await?;
    let space_team = space_team(store, actor.org_id, space.team_id, space.objective_id).await?;
    Ok(actor.may(Action::ReviewOutcome {
        involved,
        space_team,
    })?)
}

/// The team a space belongs to, as access sees it: its own, or its
/// objective's. `Invalid` naming `objective_id` for an objective of another
/// org.
pub async fn space_team<S: Store>(
    store: &S,
    org_id: Uuid,
    team_id: Option<Uuid>,
    objective_id: Option<Uuid>,
) -> EngineResult<Option<Uuid>> {
    match (team_id, objective_id) {
        (Some(team), _) => Ok(Some(team)),
        (None, Some(objective)) => match store.objective(org_id, objective).await {
            Ok(objective) => Ok(objective.team_id),
            Err(StoreError::NotFound { .. }) => Err(EngineError::invalid(
                "objective_id",
                format!("no objective with id {objective} in this org"),
            )),
            Err(e) => Err(e.into()),
        },
        (None, None) => Ok(None),
    }
}

/// Whether `actor` may change or delete `space`: admins, and the leads of
/// its team; never an AI worker, so none can widen its own autonomy.
pub async fn may_manage<S: Store>(
    store: &S,
    actor: &Actor,
    space: &DecisionSpace,
) -> EngineResult<()> {
    let team_id = space_team(store, actor.org_id, space.team_id, space.objective_id).await?;
    Ok(actor.may(Action::ManageSpace { team_id })?)
}

/// Checks a space as it would be saved and compiles its policy against the
/// schema its attributes make; a policy that does not compile is refused
/// with its errors, line and column.
fn checked(space: DecisionSpace) -> EngineResult<DecisionSpace> {
    let space = space.checked()?;
    tutti_policy::compile(&space.policy, &space.attributes)
        .map_err(|refused| EngineError::invalid("policy", refused.to_string()))?;
    Ok(space)
}

/// Creates a decision space (admins, and leads of its team).
pub async fn create_space<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    new: NewSpace,
) -> EngineResult<DecisionSpace> {
    let team_id = space_team(store, actor.org_id, new.team_id, new.objective_id).await?;
    actor.may(Action::ManageSpace { team_id })?;
    let space = checked(DecisionSpace::new(Uuid::now_v7(), new, ctx.now))?;
    Ok(store.create_space(ctx, space).await?)
}

/// Changes a space (admins, and leads of its team; never an AI worker); the
/// new version, with its whole policy, is in the audit chain.
pub async fn update_space<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
    patch: SpacePatch,
) -> EngineResult<DecisionSpace> {
    let space = store.space(actor.org_id, id).await?;
    may_manage(store, actor, &space).await?;
    let next = checked(space.patched(patch, ctx.now))?;
    Ok(store.update_space(ctx, next).await?)
}

/// Deletes a space that holds no decisions.
pub async fn delete_space<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
) -> EngineResult<()> {
    let space = store.space(actor.org_id, id).await?;
    may_manage(store, actor, &space).await?;
    Ok(store.delete_space(ctx, id).await?)
}

/// A member named in a request, or a 422 naming the field.
async fn named_member<S: Store>(
    store: &S,
    org_id: Uuid,
    field: &str,
    id: Uuid,
) -> EngineResult<Member> {
    store.member(org_id, id).await.map_err(|e| match e {
        StoreError::NotFound { .. } => {
            EngineError::invalid(field, format!("no member with id {id} in this org"))
        }
        other => other.into(),
    })
}

/// A decision that is only imagined, for [`simulate`].
#[derive(Debug, Clone)]
pub struct Hypothesis {
    pub facts: Facts,
    /// The AI worker to route for.
    pub assignee: Option<Uuid>,
    /// Also ask whether this member may approve.
    pub approver: Option<Uuid>,
    /// A draft policy to try instead of the stored one.
    pub draft: Option<String>,
}

/// Routes a hypothetical decision by the space's policy, or by a `draft` of
/// it, for `assignee` (an AI worker), and asks whether `approver` may
/// approve it. Nothing is stored.
pub async fn simulate<S: Store>(
    store: &S,
    cache: &PolicyCache,
    org_id: Uuid,
    space: &DecisionSpace,
    hypothesis: &Hypothesis,
) -> EngineResult<(Routing, Option<PolicyVerdict>)> {
    let Hypothesis {
        facts,
        assignee,
        approver,
        draft,
    } = hypothesis;
    let (assignee, approver) = (*assignee, *approver);
    check_attributes(&space.attributes, &facts.attributes)?;
    let policy = match draft.as_deref() {
        Some(draft) => Arc::new(
            tutti_policy::compile(draft, &space.attributes)
                .map_err(|e| EngineError::invalid("policy", e.to_string()))?,
        ),
        None => cache.compiled(space)?,
    };
    let worker = match assignee {
        Some(id) => Some(named_member(store, org_id, "assignee_id", id).await?),
        None => None,
    };
    if worker.as_ref().is_some_and(|w| w.kind != MemberKind::Ai) {
        return Err(EngineError::invalid(
            "assignee_id",
            "decisions are assigned to AI workers",
        ));
    }
    // A hypothetical decision has no id; policies cannot name it anyway.
    let decision_id = Uuid::nil();
    let routing = policy.route(
        worker.as_ref().map(principal_of_member).as_ref(),
        space.id,
        decision_id,
        facts,
        space.quorum,
    );
    let approval = match approver {
        Some(id) => {
            let member = named_member(store, org_id, "approver_id", id).await?;
            Some(policy.evaluate(
                &principal_of_member(&member),
                PolicyAction::Approve,
                space.id,
                decision_id,
                facts,
            ))
        }
        None => None,
    };
    Ok((routing, approval))
}

/// Whether `actor` may vote on `decision` now: the policy allows it, they are
/// a person, and they have not voted yet. For "awaiting me".
pub fn awaits(policy: &CompiledPolicy, actor: &Actor, decision: &Decision) -> bool {
    decision.takes_a_vote_from(actor.member_id, actor.kind)
        && (decision.escalated_to == Some(actor.member_id)
            || policy
                .evaluate(
                    &principal_of_actor(actor),
                    PolicyAction::Approve,
                    decision.space_id,
                    decision.id,
                    &decision.facts,
                )
                .allowed)
}

/// The decisions waiting on `actor`'s vote after `after`, at most `limit`,
/// oldest first, and the cursor of the next page. Whether a person may vote
/// is the policy's answer, so waiting decisions are read page by page and
/// kept where it says yes; each space's policy is compiled once per call.
pub async fn awaiting<S: Store>(
    store: &S,
    cache: &PolicyCache,
    actor: &Actor,
    after: Option<Uuid>,
    limit: usize,
) -> EngineResult<(Vec<Decision>, Option<Uuid>)> {
    let filter = DecisionFilter {
        waiting: true,
        ..DecisionFilter::default()
    };
    let mut items = Vec::new();
    let mut cursor = after;
    let mut policies: HashMap<Uuid, Arc<CompiledPolicy>> = HashMap::new();
    loop {
        let page = PageRequest {
            after: cursor,
            limit: PageRequest::MAX_LIMIT,
        };
        let batch = store.decisions(actor.org_id, &filter, page).await?;
        for decision in batch.items {
            let policy = match policies.get(&decision.space_id) {
                Some(policy) => Arc::clone(policy),
                None => {
                    let space = store.space(actor.org_id, decision.space_id).await?;
                    let policy = cache.compiled(&space)?;
                    policies.insert(space.id, Arc::clone(&policy));
                    policy
                }
            };
            cursor = Some(decision.id);
            if awaits(&policy, actor, &decision) {
                if items.len() == limit {
                    let next = items.last().map(|d: &Decision| d.id);
                    return Ok((items, next));
                }
                items.push(decision);
            }
        }
        if batch.next_cursor.is_none() {
            return Ok((items, None));
        }
    }
}

/// Escalates every waiting decision past its deadline, as of `now`: to the
/// person its space names, with the policy's `escalate` verdict for them.
/// Returns the decisions escalated.
pub async fn escalate_overdue<S: Store>(
    store: &S,
    cache: &PolicyCache,
    now: DateTime<Utc>,
) -> EngineResult<Vec<Decision>> {
    let mut escalated = Vec::new();
    for overdue in store.overdue_decisions(now, 100).await? {
        let ctx = Ctx::new(overdue.org_id, None, now);
        let verdict: Option<PolicyVerdict> = match overdue.space.escalate_to {
            Some(to) => {
                let target = store.member(overdue.org_id, to).await?;
                let policy = cache.compiled(&overdue.space)?;
                Some(policy.evaluate(
                    &principal_of_member(&target),
                    PolicyAction::Escalate,
                    overdue.space.id,
                    overdue.decision.id,
                    &overdue.decision.facts,
                ))
            }
            None => None,
        };
        if let Some(decision) = store
            .escalate(
                &ctx,
                overdue.decision.id,
                overdue.space.escalate_to,
                verdict,
            )
            .await?
        {
            tracing::info!(decision = %decision.id, to = ?decision.escalated_to, "decision escalated");
            escalated.push(decision);
        }
    }
    Ok(escalated)
}

/// How long an engine holds a decision it drafts for before another may try.
const DRAFT_HOLD: chrono::Duration = chrono::Duration::minutes(5);
/// A proposal is three short lines.
const DRAFT_MAX_TOKENS: u32 = 192;

/// Claims, as of `now`, up to `limit` decisions people asked for that wait
/// on their AI worker's proposal; each is then given to [`draft`].
pub async fn claim_drafts<S: Store>(
    store: &S,
    node: &EngineNode,
    now: DateTime<Utc>,
    limit: i64,
) -> EngineResult<Vec<Draft>> {
    Ok(store
        .claim_drafts(node, now, now + DRAFT_HOLD, limit)
        .await?)
}

/// Has the assigned AI worker propose for a decision a person asked for:
/// a metered call on the worker's own model, charged to its budgets, with
/// the decision, its facts, the space's principles and the options as the
/// work order. The answer becomes the worker's proposal (its decision, or
/// its recommendation for people, as the routing says). A worker that
/// cannot answer (no model, a budget that refuses, an answer naming no
/// option) hands the decision to people, and the register says why.
///
/// A store failure leaves the claim to lapse, and the draft is tried again.
pub async fn draft<S: Store>(
    store: &S,
    runtime: &crate::Runtime,
    draft: Draft,
) -> EngineResult<Decision> {
    let Draft {
        org_id,
        decision,
        space,
        worker,
    } = draft;
    let caller = crate::metered::Caller {
        org_id,
        member_id: worker.id,
        provider: worker.provider.clone(),
        model: worker.model.clone(),
        // A draft or a check serves no run, whoever the worker is.
        external: false,
        run_id: None,
    };
    let mut messages = Vec::new();
    if let Some(card) = worker.role_card.as_ref().filter(|c| !c.trim().is_empty()) {
        messages.push(Message::new(Speaker::System, card.clone()));
    }
    messages.push(Message::new(
        Speaker::User,
        render_draft_order(&decision, &space),
    ));
    let mut request = ChatRequest::new(messages, DRAFT_MAX_TOKENS);
    request.grammar = Some(draft_grammar(decision.options.len()));
    let now = runtime.clock.now();
    let answer = match crate::metered::open(store, runtime, &caller, "", request, now).await {
        Ok(call) => crate::metered::complete(call)
            .await
            .map(|answer| answer.text)
            .map_err(|e| e.to_string()),
        Err(Refusal::Store(e)) => return Err(e.into()),
        Err(refusal) => Err(refusal.to_string()),
    };
    let proposal = answer.and_then(|text| {
        tracing::debug!(decision = %decision.id, answer = %text, "AI worker answered");
        read_proposal(&text, &decision.options).map_err(|why| {
            let shown: String = text.trim().chars().take(200).collect();
            format!("{why}: “{shown}”")
        })
    });
    match proposal {
        Ok(proposal) => {
            let ctx = Ctx::new(org_id, Some(worker.id), runtime.clock.now());
            let proposed = store.propose(&ctx, decision.id, proposal).await?;
            tracing::info!(decision = %decision.id, status = %proposed.status, "AI worker proposed");
            Ok(proposed)
        }
        Err(why) => {
            tracing::info!(decision = %decision.id, %why, "decision handed to people");
            let ctx = Ctx::new(org_id, None, runtime.clock.now());
            Ok(store.hand_to_people(&ctx, decision.id, why).await?)
        }
    }
}
