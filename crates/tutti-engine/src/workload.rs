//! The workload view: what each person and AI worker of a team carries,
//! who is overloaded (`tutti_domain::workload`), and who could take more.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tutti_domain::access::{Action, Actor};
use tutti_domain::org::MemberKind;
use tutti_domain::workload::{
    Carried, LoadLimits, Overload, overloads, used_share, who_could_take,
};
use tutti_store::prelude::*;
use uuid::Uuid;

use crate::EngineResult;

/// One member's load, judged.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Load {
    #[serde(flatten)]
    pub carried: Carried,
    /// The share of their limit they use (1 is at the limit).
    pub used: f64,
    /// Every way they carry too much; empty when the load is fine.
    pub overloads: Vec<Overload>,
}

/// A team's workload (the org's without a team).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workload {
    pub team_id: Option<Uuid>,
    pub limits: LoadLimits,
    pub members: Vec<Load>,
}

/// What each member of `team_id` carries now, for anyone who may read the org.
pub async fn of_team<S: Store>(
    store: &S,
    actor: &Actor,
    team_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> EngineResult<Workload> {
    actor.may(Action::Read)?;
    if let Some(team) = team_id {
        store.team(actor.org_id, team).await?;
    }
    let limits = store.voice_settings(actor.org_id).await?.load;
    let today = crate::pulse::org_today(store, actor.org_id, now).await?;
    let members = store
        .carried(actor.org_id, team_id, today)
        .await?
        .into_iter()
        .map(|carried| Load {
            used: used_share(&carried, limits),
            overloads: overloads(&carried, limits),
            carried,
        })
        .collect();
    Ok(Workload {
        team_id,
        limits,
        members,
    })
}

/// Who of `team_id` could take new work of `kind` (people or AI workers),
/// those with the most room first.
pub async fn who_could<S: Store>(
    store: &S,
    actor: &Actor,
    team_id: Option<Uuid>,
    kind: Option<MemberKind>,
    now: DateTime<Utc>,
) -> EngineResult<Vec<Load>> {
    Ok(room(&of_team(store, actor, team_id, now).await?, kind))
}

/// Who of a workload could take new work of `kind`, most room first.
pub fn room(workload: &Workload, kind: Option<MemberKind>) -> Vec<Load> {
    let carried: Vec<Carried> = workload.members.iter().map(|l| l.carried.clone()).collect();
    who_could_take(&carried, kind, workload.limits)
        .into_iter()
        .filter_map(|id| {
            workload
                .members
                .iter()
                .find(|l| l.carried.member_id == id)
                .cloned()
        })
        .collect()
}
