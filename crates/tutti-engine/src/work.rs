//! Use cases of work: items, the AI runs on them, and people's reviews of
//! the results.
//!
//! Each function loads what it needs, authorises the actor with
//! `Actor::may`, applies the domain's rule, makes one store call (one
//! transaction with its audit event) and wakes the runtime when the change
//! may have queued a run. Who may move an item where is decided on the item
//! as it stands inside the transaction that moves it, so an AI worker can
//! never slip its delivered work past review, however the calls interleave.

use tutti_domain::RuleResult;
use tutti_domain::access::{Action, Actor};
use tutti_domain::labour::{MaxTokens, NewReview, Run};
use tutti_domain::work::WorkItem;
use tutti_store::prelude::*;
use tutti_store::{Ctx, ImportReport, NewWorkItem, Reviewed, WorkImport, WorkItemPatch};
use uuid::Uuid;

use crate::{EngineResult, Runtime};

/// Creates a work item. Members create work for themselves or unassigned in
/// their teams; leads for anyone in the teams they lead. New work starts in
/// `backlog` or `ready`; ready work in an AI worker's hands has its run
/// queued at once.
pub async fn create_item<S: Store>(
    store: &S,
    runtime: &Runtime,
    actor: &Actor,
    ctx: &Ctx,
    new: NewWorkItem,
) -> EngineResult<WorkItem> {
    actor.may(Action::CreateWork {
        team_id: new.team_id,
        assignee_id: new.assignee_id,
    })?;
    new.state.check_initial()?;
    let item = store.create_work_item(ctx, new).await?;
    runtime.wake();
    Ok(item)
}

/// Whether `actor` may apply `patch` to `item` as it stands: change it at
/// all, move it where the patch says (only a person closes delivered work),
/// and hand it to whom or into which team it names.
pub fn may_patch(actor: &Actor, item: &WorkItem, patch: &WorkItemPatch) -> RuleResult<()> {
    actor.may(Action::UpdateWork {
        team_id: item.team_id,
        assignee_id: item.assignee_id,
        created_by: item.created_by,
    })?;
    if let Some(to) = patch.state.filter(|to| *to != item.state) {
        actor.may(Action::MoveWork {
            team_id: item.team_id,
            assignee_id: item.assignee_id,
            created_by: item.created_by,
            from: item.state,
            to,
        })?;
    }
    if patch.team_id.is_some() || patch.assignee_id.is_some() {
        // Handing work to someone else, or into another team, needs the
        // right to create it there.
        actor.may(Action::CreateWork {
            team_id: patch.team_id.unwrap_or(item.team_id),
            assignee_id: patch.assignee_id.unwrap_or(item.assignee_id),
        })?;
    }
    Ok(())
}

/// Changes a work item or moves it to another state ([`may_patch`] decides
/// who may); a change that leaves ready work newly in an AI worker's hands
/// queues its run.
pub async fn update_item<S: Store>(
    store: &S,
    runtime: &Runtime,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
    patch: WorkItemPatch,
) -> EngineResult<WorkItem> {
    let may = |item: &WorkItem, patch: &WorkItemPatch| may_patch(actor, item, patch);
    let item = store.update_work_item(ctx, id, patch, &may).await?;
    runtime.wake();
    Ok(item)
}

/// Whether `actor` may start, cancel or otherwise steer the runs of `item`.
pub fn may_steer(actor: &Actor, item: &WorkItem) -> RuleResult<()> {
    Ok(actor.may(Action::UpdateWork {
        team_id: item.team_id,
        assignee_id: item.assignee_id,
        created_by: item.created_by,
    })?)
}

/// Queues a run of a work item by the AI worker it is assigned to.
pub async fn start_run<S: Store>(
    store: &S,
    runtime: &Runtime,
    actor: &Actor,
    ctx: &Ctx,
    item_id: Uuid,
    max_tokens: MaxTokens,
) -> EngineResult<Run> {
    let item = store.work_item(actor.org_id, item_id).await?;
    may_steer(actor, &item)?;
    let run = store.queue_run(ctx, item_id, max_tokens).await?;
    runtime.wake();
    Ok(run)
}

/// Cancels a queued run at once, or asks the engine to stop a running one.
pub async fn cancel_run<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    run_id: Uuid,
) -> EngineResult<Run> {
    let run = store.run(actor.org_id, run_id).await?;
    let item = store.work_item(actor.org_id, run.work_item_id).await?;
    may_steer(actor, &item)?;
    Ok(store.cancel_run(ctx, run_id).await?)
}

/// Whether `actor` may review the runs of `item`: a person with a say over
/// it (admin, the team's lead, whoever created it), never an AI worker.
pub fn may_review(actor: &Actor, item: &WorkItem) -> RuleResult<()> {
    Ok(actor.may(Action::Review {
        team_id: item.team_id,
        created_by: item.created_by,
    })?)
}

/// A person's verdict on a finished run: `accept` closes the item, `revise`
/// queues the next iteration with the feedback, `reject` hands the item back
/// unassigned.
pub async fn review<S: Store>(
    store: &S,
    runtime: &Runtime,
    actor: &Actor,
    ctx: &Ctx,
    run_id: Uuid,
    review: NewReview,
) -> EngineResult<Reviewed> {
    let run = store.run(actor.org_id, run_id).await?;
    let item = store.work_item(actor.org_id, run.work_item_id).await?;
    may_review(actor, &item)?;
    let reviewed = store.review_run(ctx, run_id, review).await?;
    runtime.wake();
    Ok(reviewed)
}

/// Brings work in from elsewhere (a Jira project) into `import.team_id`:
/// the team's lead or an admin (the org's admins when no team is named),
/// parents placed before their children. A dry run reports what would be
/// created and updated and writes nothing.
pub async fn import_items<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    mut import: WorkImport,
) -> EngineResult<ImportReport> {
    match import.team_id {
        Some(team_id) => actor.may(Action::ManageTeam { team_id })?,
        None => actor.may(Action::ManageOrg)?,
    }
    import.source = tutti_domain::import::check_import(&import.source, import.items.len())?;
    import.items = tutti_domain::import::parents_first(import.items);
    Ok(store.import_work_items(ctx, &import).await?)
}

/// The org's work items (of one team, if named) as a CSV sheet
/// (`tutti_domain::sheet::WORK_COLUMNS`), for anyone who may read them.
pub async fn export_sheet<S: Store>(
    store: &S,
    actor: &Actor,
    team_id: Option<Uuid>,
) -> EngineResult<String> {
    actor.may(Action::Read)?;
    if let Some(team) = team_id {
        store.team(actor.org_id, team).await?;
    }
    let rows = store.work_sheet(actor.org_id, team_id).await?;
    Ok(tutti_domain::sheet::work_csv(&rows))
}
