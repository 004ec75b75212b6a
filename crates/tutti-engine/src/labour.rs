//! Use cases of the AI workforce's means: model providers and their prices,
//! and the budgets that hold AI spend.

use tutti_domain::access::{Action, Actor};
use tutti_domain::labour::{Budget, BudgetScope, LimitsPatch, Model, Provider};
use tutti_store::prelude::*;
use tutti_store::{BudgetPatch, Ctx, NewBudget, NewModel, NewProvider};
use uuid::Uuid;

use crate::EngineResult;

/// Adds a model provider (admins).
pub async fn create_provider<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    new: NewProvider,
) -> EngineResult<Provider> {
    actor.may(Action::ManageProviders)?;
    Ok(store.create_provider(ctx, new).await?)
}

/// Changes how long calls wait on a provider (admins). The next call
/// takes the new limits.
pub async fn update_limits<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    provider_id: Uuid,
    patch: LimitsPatch,
) -> EngineResult<Provider> {
    actor.may(Action::ManageProviders)?;
    Ok(store.update_limits(ctx, provider_id, patch).await?)
}

/// Adds a model to a provider, or changes its prices (admins).
pub async fn put_model<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    provider_id: Uuid,
    model: NewModel,
) -> EngineResult<Model> {
    actor.may(Action::ManageProviders)?;
    Ok(store.put_model(ctx, provider_id, model).await?)
}

/// The team a budget is for, as access sees it.
fn budget_team(scope: BudgetScope, scope_id: Option<Uuid>) -> Option<Uuid> {
    (scope == BudgetScope::Team).then_some(scope_id).flatten()
}

/// Sets a budget on the org, a team, an objective or a worker (admins; leads
/// for their teams).
pub async fn create_budget<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    new: NewBudget,
) -> EngineResult<Budget> {
    actor.may(Action::ManageBudget {
        team_id: budget_team(new.scope, new.scope_id),
    })?;
    Ok(store.create_budget(ctx, new).await?)
}

/// Changes a budget's limits, warn line or hardness.
pub async fn update_budget<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
    patch: BudgetPatch,
) -> EngineResult<Budget> {
    let current = store.budget(actor.org_id, id).await?;
    actor.may(Action::ManageBudget {
        team_id: budget_team(current.scope, current.scope_id),
    })?;
    Ok(store.update_budget(ctx, id, patch).await?)
}

/// Deletes a budget and its use; the ledger keeps every entry.
pub async fn delete_budget<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
) -> EngineResult<()> {
    let current = store.budget(actor.org_id, id).await?;
    actor.may(Action::ManageBudget {
        team_id: budget_team(current.scope, current.scope_id),
    })?;
    Ok(store.delete_budget(ctx, id).await?)
}
