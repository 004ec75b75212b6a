//! Use cases of service quality: the service catalogue and promises to
//! customers.
//!
//! Each function authorises the actor with `Actor::may`, then makes the one
//! store call that applies `tutti_domain::service`'s rule and writes the
//! change with its audit event.

use tutti_domain::access::{Action, Actor};
use tutti_domain::service::{Promise, PromiseStep, ServiceProduct};
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewPromise, NewServiceProduct};
use uuid::Uuid;

use crate::EngineResult;

/// Adds a service product to the catalogue (admins and leads).
pub async fn create_service_product<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    new: NewServiceProduct,
) -> EngineResult<ServiceProduct> {
    actor.may(Action::ManageServices)?;
    Ok(store.create_service_product(ctx, new).await?)
}

/// Makes a promise to a customer on behalf of a team one belongs to.
pub async fn make_promise<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    new: NewPromise,
) -> EngineResult<Promise> {
    actor.may(Action::MakePromise {
        team_id: new.made_by_team_id,
    })?;
    Ok(store.create_promise(ctx, new).await?)
}

/// Whether `actor` may take `step` on `promise`: a sign-off is the keeping
/// stage's and never its maker's; pausing, keeping and breaking also
/// whoever made it.
pub fn may_step(actor: &Actor, promise: &Promise, step: &PromiseStep) -> EngineResult<()> {
    let action = match step {
        PromiseStep::SignOff { .. } => {
            promise.may_sign_off(actor.member_id)?;
            Action::SignOffPromise {
                keeper_team_id: promise.keeper_team_id,
            }
        }
        _ => Action::KeepPromise {
            keeper_team_id: promise.keeper_team_id,
            promised_by: promise.promised_by,
        },
    };
    Ok(actor.may(action)?)
}

/// Signs a promise off, pauses, resumes, keeps or breaks it.
pub async fn step_promise<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
    step: PromiseStep,
) -> EngineResult<Promise> {
    let promise = store.promise(actor.org_id, id).await?;
    may_step(actor, &promise, &step)?;
    Ok(store.step_promise(ctx, id, step).await?)
}
