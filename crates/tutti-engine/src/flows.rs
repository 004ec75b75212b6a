//! Use cases of flows and their quality gates: shaping flows and gates,
//! opening cases, checking criteria (by a person, or by an AI worker with
//! a metered call), proposing verdicts as decisions in the flow's space,
//! and learnings that amend gates and service products.
//!
//! A verdict is routed by the flow's decision space exactly as any decision
//! is (`decisions::route`): the policy says whether an AI worker may give
//! it or only prepare it, and quorum and escalation apply. The store keeps
//! the verdict with its decision and settles it when the decision is final.

use chrono::{DateTime, Utc};
use tutti_domain::access::{Action, Actor};
use tutti_domain::decision::{Decision, Proposal};
use tutti_domain::org::MemberKind;
use tutti_domain::service::{
    Case, CheckBy, CheckOutcome, Criterion, CriterionCheck, CriterionResult, DataRule, Flow, Gate,
    GateVerdict, Learning, Verdict, VerdictStatus, VerdictTerms, may_go, read_check,
    render_check_order, snapshot, verdict_facts,
};
use tutti_domain::work::WorkState;
use tutti_llm::{ChatRequest, Message, Speaker};
use tutti_store::prelude::*;
use tutti_store::{
    AiCheck, Ctx, EngineNode, NewCase, NewFlow, NewLearning, PageRequest, PromiseFilter, StoreError,
};
use uuid::Uuid;

use crate::decisions::{DecisionRequest, PolicyCache};
use crate::metered::Refusal;
use crate::{EngineError, EngineResult};

/// Creates a flow with a gate between each two stages (admins and leads).
pub async fn create_flow<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    new: NewFlow,
) -> EngineResult<Flow> {
    actor.may(Action::ManageFlows)?;
    Ok(store.create_flow(ctx, new).await?)
}

/// Sets a gate's criteria as a new version (admins and leads).
pub async fn set_criteria<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    gate_id: Uuid,
    criteria: Vec<Criterion>,
    based_on: i64,
) -> EngineResult<Gate> {
    actor.may(Action::ManageFlows)?;
    Ok(store.set_criteria(ctx, gate_id, criteria, based_on).await?)
}

/// Opens a case at a flow's first stage, by that stage's team.
pub async fn open_case<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    new: NewCase,
) -> EngineResult<Case> {
    let flow = match store.flow(actor.org_id, new.flow_id).await {
        Ok(flow) => flow,
        Err(StoreError::NotFound { .. }) => {
            return Err(EngineError::invalid(
                "flow_id",
                format!("no flow with id {} in this org", new.flow_id),
            ));
        }
        Err(e) => return Err(e.into()),
    };
    actor.may(Action::OpenCase {
        team_id: flow.stage_team(0),
    })?;
    Ok(store.open_case(ctx, new).await?)
}

/// A case where it stands: its flow, and the gate ahead of it (none once
/// it passed the last).
#[derive(Debug, Clone)]
pub struct CaseAt {
    pub case: Case,
    pub flow: Flow,
    pub gates: Vec<Gate>,
}

impl CaseAt {
    /// The gate the case waits at.
    pub fn gate(&self) -> Option<&Gate> {
        self.gates.iter().find(|g| g.position == self.case.stage)
    }
}

/// Loads a case with its flow and gates.
pub async fn case_at<S: Store>(store: &S, org_id: Uuid, id: Uuid) -> EngineResult<CaseAt> {
    let case = store.case(org_id, id).await?;
    let flow = store.flow(org_id, case.flow_id).await?;
    let gates = store.gates(org_id, flow.id).await?;
    Ok(CaseAt { case, flow, gates })
}

/// The criteria of the gate ahead of a case with their results now: rules
/// judged over the case's promises and work, people's and AI workers'
/// checks of its current round at the stage.
pub async fn current_snapshot<S: Store>(
    store: &S,
    org_id: Uuid,
    case: &Case,
    gate: &Gate,
    now: DateTime<Utc>,
) -> EngineResult<Vec<CriterionResult>> {
    let checks = store.checks(org_id, case.id).await?;
    let needs_data = gate.criteria.iter().any(|c| c.check_by == CheckBy::Rule);
    let (promises, blocked) = if needs_data {
        case_data(store, org_id, case).await?
    } else {
        (Vec::new(), 0)
    };
    Ok(snapshot(gate, &checks, case.round, |rule: DataRule| {
        rule.judge(&promises, blocked, now)
    }))
}

/// The promises of a case and how many of its work items are blocked.
async fn case_data<S: Store>(
    store: &S,
    org_id: Uuid,
    case: &Case,
) -> EngineResult<(Vec<tutti_domain::service::Promise>, i64)> {
    let Some(item_id) = case.work_item_id else {
        return Ok((Vec::new(), 0));
    };
    let filter = PromiseFilter {
        work_item_id: Some(item_id),
        ..PromiseFilter::default()
    };
    let mut promises = Vec::new();
    let mut page = PageRequest {
        after: None,
        limit: PageRequest::MAX_LIMIT,
    };
    loop {
        let batch = store.promises(org_id, &filter, page).await?;
        promises.extend(batch.items);
        match batch.next_cursor.and_then(|c| c.parse().ok()) {
            Some(after) => page.after = Some(after),
            None => break,
        }
    }
    let item = store.work_item(org_id, item_id).await?;
    Ok((promises, i64::from(item.state == WorkState::Blocked)))
}

/// A check as someone asks for it: a person's result (`passed`, with a
/// reason when it failed), or — for a criterion an AI worker checks —
/// nothing, and the worker is asked.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    pub criterion: String,
    pub passed: Option<bool>,
    pub reason: String,
}

/// Checks one criterion of the gate ahead of a case: by the stage the case
/// goes on to. A person's check counts at once; an AI worker's is queued
/// for the engine, which asks the worker in a metered call.
pub async fn check<S: Store>(
    store: &S,
    runtime: &crate::Runtime,
    actor: &Actor,
    ctx: &Ctx,
    case_id: Uuid,
    request: CheckRequest,
) -> EngineResult<CriterionCheck> {
    let at = case_at(store, actor.org_id, case_id).await?;
    let gate = at
        .gate()
        .ok_or_else(|| EngineError::Conflict("the case has passed every gate".into()))?;
    at.case.may_be_judged_at(gate)?;
    actor.may(Action::CheckCriterion {
        receiving_team_id: at.flow.stage_team(gate.position + 1),
    })?;
    let wanted = request.criterion.trim();
    let criterion = gate
        .criteria
        .iter()
        .find(|c| c.text == wanted)
        .ok_or_else(|| {
            let known: Vec<&str> = gate.criteria.iter().map(|c| c.text.as_str()).collect();
            EngineError::invalid(
                "criterion",
                format!(
                    "the gate `{}` has no criterion `{wanted}`; it has: {}",
                    gate.name,
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(" | ")
                    }
                ),
            )
        })?;
    let (outcome, checked_by, checked_at) = match (criterion.check_by, request.passed) {
        (CheckBy::Rule, _) => {
            return Err(EngineError::invalid(
                "criterion",
                "a rule criterion is judged over tutti's data whenever a verdict is asked; nobody checks it",
            ));
        }
        (CheckBy::Person, None) => {
            return Err(EngineError::invalid(
                "passed",
                "say whether the criterion holds",
            ));
        }
        (CheckBy::Person, Some(passed)) => {
            if !passed && request.reason.trim().is_empty() {
                return Err(EngineError::invalid(
                    "reason",
                    "say why the criterion does not hold",
                ));
            }
            let outcome = if passed {
                CheckOutcome::Passed
            } else {
                CheckOutcome::Failed
            };
            (outcome, actor.member_id, Some(ctx.now))
        }
        (CheckBy::Ai, Some(_)) => {
            return Err(EngineError::invalid(
                "passed",
                "an AI worker checks this criterion; ask it without a result",
            ));
        }
        (CheckBy::Ai, None) => {
            let worker = criterion.worker_id.ok_or_else(|| {
                EngineError::Internal(StoreError::Corrupt(
                    "an AI criterion without its worker".into(),
                ))
            })?;
            (CheckOutcome::Pending, worker, None)
        }
    };
    let check = CriterionCheck {
        id: Uuid::now_v7(),
        case_id,
        gate_id: gate.id,
        criterion: criterion.text.clone(),
        check_by: criterion.check_by,
        round: at.case.round,
        outcome,
        reason: request.reason,
        checked_by,
        requested_by: actor.member_id,
        requested_at: ctx.now,
        checked_at,
    };
    let stored = store.record_check(ctx, check).await?;
    if stored.outcome == CheckOutcome::Pending {
        runtime.wake();
    }
    Ok(stored)
}

/// How long an engine holds an AI check it works on before another may.
const CHECK_HOLD: chrono::Duration = chrono::Duration::minutes(5);
/// A check's answer is one short line.
const CHECK_MAX_TOKENS: u32 = 96;

/// Claims, as of `now`, up to `limit` AI checks waiting on their worker.
pub async fn claim_checks<S: Store>(
    store: &S,
    node: &EngineNode,
    now: DateTime<Utc>,
    limit: i64,
) -> EngineResult<Vec<AiCheck>> {
    Ok(store
        .claim_checks(node, now, now + CHECK_HOLD, limit)
        .await?)
}

/// Has the AI worker check its criterion: a metered call on its own model,
/// charged to its budgets, with the gate, the case and what tutti knows
/// about it as the work order, and the answer held to `pass` or `fail`
/// with reasons. A worker that cannot answer (no model, a budget that
/// refuses) leaves the criterion unchecked, saying why.
pub async fn run_check<S: Store>(
    store: &S,
    runtime: &crate::Runtime,
    claimed: AiCheck,
) -> EngineResult<CriterionCheck> {
    let AiCheck {
        org_id,
        check,
        case,
        flow,
        gate,
        worker,
    } = claimed;
    let (promises, blocked) = case_data(store, org_id, &case).await?;
    let mut facts: Vec<String> = promises
        .iter()
        .map(|p| {
            format!(
                "Promise to {}: {} (due {}, {}, feasibility {})",
                p.customer,
                p.title,
                p.due_at.format("%Y-%m-%d %H:%M UTC"),
                p.state,
                p.feasibility
            )
        })
        .collect();
    if blocked > 0 {
        facts.push("Its work item is blocked.".into());
    }
    if !case.redo.is_empty() {
        facts.push(format!("Sent back before to redo: {}", case.redo));
    }
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
        render_check_order(&check.criterion, &case, &flow, &gate, &facts),
    ));
    let mut request = ChatRequest::new(messages, CHECK_MAX_TOKENS);
    request.grammar = Some(tutti_domain::service::CHECK_GRAMMAR.to_owned());
    let now = runtime.clock.now();
    let (outcome, reason) =
        match crate::metered::open(store, runtime, &caller, "", request, now).await {
            Ok(call) => match crate::metered::complete(call).await {
                Ok(answer) => read_check(&answer.text),
                Err(e) => (CheckOutcome::Unchecked, format!("the model failed: {e}")),
            },
            Err(Refusal::Store(e)) => return Err(e.into()),
            Err(refusal) => (CheckOutcome::Unchecked, refusal.to_string()),
        };
    let ctx = Ctx::new(org_id, Some(worker.id), runtime.clock.now());
    tracing::info!(check = %check.id, %outcome, "AI worker checked a criterion");
    Ok(store.finish_check(&ctx, check.id, outcome, reason).await?)
}

/// A verdict as someone proposes it.
#[derive(Debug, Clone)]
pub struct VerdictRequest {
    pub verdict: Verdict,
    pub reason: String,
    pub until: Option<DateTime<Utc>>,
    pub redo: String,
}

/// Proposes a verdict at the gate ahead of a case: the criteria are judged
/// now and kept as its snapshot (a `go` needs them all passed), and the
/// verdict becomes a decision in the flow's space, routed by its policy.
/// An AI worker's verdict is its proposal: the policy says whether it
/// stands or only prepares the decision for people. Returns the verdict as
/// stored (given at once when the decision was final at once) and its
/// decision.
pub async fn propose_verdict<S: Store>(
    store: &S,
    cache: &PolicyCache,
    actor: &Actor,
    ctx: &Ctx,
    case_id: Uuid,
    request: VerdictRequest,
) -> EngineResult<(GateVerdict, Decision)> {
    actor.may(Action::RequestDecision)?;
    let at = case_at(store, actor.org_id, case_id).await?;
    let gate = at
        .gate()
        .ok_or_else(|| EngineError::Conflict("the case has passed every gate".into()))?
        .clone();
    at.case.may_be_judged_at(&gate)?;
    let terms = VerdictTerms::parse(
        request.verdict,
        &request.reason,
        request.until,
        &request.redo,
        ctx.now,
    )?;
    let shot = current_snapshot(store, actor.org_id, &at.case, &gate, ctx.now).await?;
    if terms.verdict == Verdict::Go {
        may_go(&shot)?;
    }
    let space = store.space(actor.org_id, at.flow.space_id).await?;
    let context = verdict_context(&at, &gate, &terms, &shot);
    let proposal = (actor.kind == MemberKind::Ai).then(|| Proposal {
        option: terms.verdict.as_str().to_owned(),
        rationale: if terms.reason.is_empty() {
            format!("{} at {}", terms.verdict, gate.name)
        } else {
            terms.reason.clone()
        },
        confidence: 1.0,
    });
    let decision_request = DecisionRequest {
        space_id: space.id,
        question: format!(
            "{} at the gate “{}” for “{}”?",
            terms.verdict, gate.name, at.case.title
        ),
        context,
        facts: verdict_facts(terms.verdict, &gate.name, &space.attributes),
        options: Verdict::ALL.iter().map(|v| v.as_str().to_owned()).collect(),
        assignee_id: None,
        run_id: None,
        proposal,
    };
    let verdict = GateVerdict {
        id: Uuid::now_v7(),
        case_id,
        gate_id: gate.id,
        gate_version: gate.version,
        proposed: terms,
        given: None,
        status: VerdictStatus::Pending,
        note: String::new(),
        snapshot: shot,
        decision_id: Uuid::nil(),
        proposed_by: actor.member_id,
        proposed_at: ctx.now,
        settled_at: None,
    };
    let id = Uuid::now_v7();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let new = crate::decisions::route(store, cache, actor, ctx, &decision_request, id).await?;
        let verdict = GateVerdict {
            decision_id: id,
            ..verdict.clone()
        };
        match store.propose_verdict(ctx, verdict, new).await {
            // The space changed between routing and storing: route again.
            Err(StoreError::Conflict(why)) if attempts < 2 && why.contains("the space changed") => {
                continue;
            }
            other => return Ok(other?),
        }
    }
}

/// What the deciders read: the case, the verdict's terms and the criteria.
fn verdict_context(
    at: &CaseAt,
    gate: &Gate,
    terms: &VerdictTerms,
    shot: &[CriterionResult],
) -> String {
    let mut context = format!(
        "Flow {}: case “{}”{} at stage {}.\n",
        at.flow.name,
        at.case.title,
        if at.case.customer.is_empty() {
            String::new()
        } else {
            format!(" for {}", at.case.customer)
        },
        at.flow.stage_name(at.case.stage)
    );
    if !terms.reason.is_empty() {
        context.push_str(&format!("Reason: {}\n", terms.reason));
    }
    if let Some(until) = terms.until {
        context.push_str(&format!(
            "Hold until {}\n",
            until.format("%Y-%m-%d %H:%M UTC")
        ));
    }
    if !terms.redo.is_empty() {
        context.push_str(&format!("To redo: {}\n", terms.redo));
    }
    context.push_str(&format!(
        "Criteria of {} (version {}):\n",
        gate.name, gate.version
    ));
    for result in shot {
        context.push_str(&format!(
            "- {} [{}]: {}",
            result.text, result.check_by, result.outcome
        ));
        if !result.reason.is_empty() {
            context.push_str(&format!(" — {}", result.reason));
        }
        context.push('\n');
    }
    context
}

/// Writes down what a stage learned (people only).
pub async fn write_learning<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    new: NewLearning,
) -> EngineResult<Learning> {
    actor.may(Action::WriteLearning)?;
    Ok(store.create_learning(ctx, new).await?)
}

/// Whether `actor` may answer `learning`: who shapes what it would amend —
/// flows and gates, or the catalogue — answers it.
pub fn may_answer(actor: &Actor, learning: &Learning) -> EngineResult<()> {
    let action =
        if learning.subject.service_product_id.is_some() && learning.subject.gate_id.is_none() {
            Action::ManageServices
        } else {
            Action::ManageFlows
        };
    Ok(actor.may(action)?)
}

/// Accepts a learning (its amendment becomes a new version of its gate's
/// criteria or its product's levels) or declines it with a why.
pub async fn answer_learning<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
    accept: bool,
    note: String,
) -> EngineResult<Learning> {
    let learning = store.learning(actor.org_id, id).await?;
    may_answer(actor, &learning)?;
    Ok(store.answer_learning(ctx, id, accept, note).await?)
}
