//! Use cases of strategy: objectives, key results, check-ins; and judged
//! forests of objectives, cached per org until the org changes.
//!
//! Progress rolls up and health is judged by `tutti_domain::strategy`; what
//! is here decides who may change what (`Actor::may`), makes the one store
//! call, and keeps the judged forest the cockpit and the API read on every
//! page from being judged afresh while nothing in it changed.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use tutti_domain::access::{Action, Actor, Scope};
use tutti_domain::strategy::{
    CheckIn, ForestChange, KeyResult, NewCheckIn, Objective, ObjectiveSummary, RiskRule,
    assess_health, rollups,
};
use tutti_store::prelude::*;
use tutti_store::{
    Ctx, EventFilter, KeyResultPatch, NewKeyResult, NewObjective, ObjectiveForest, ObjectivePatch,
};
use uuid::Uuid;

use crate::EngineResult;

/// Where an objective sits, as access sees it.
pub fn scope_of(objective: &Objective) -> Scope {
    Scope {
        team_id: objective.team_id,
        owner_id: objective.owner_id,
    }
}

/// Creates an objective (admins; leads in the teams they lead).
pub async fn create_objective<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    new: NewObjective,
) -> EngineResult<Objective> {
    actor.may(Action::WriteObjective(Scope {
        team_id: new.team_id,
        owner_id: new.owner_id,
    }))?;
    Ok(store.create_objective(ctx, new).await?)
}

/// Changes an objective; moving it to another team or owner needs the
/// right to write there too.
pub async fn update_objective<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
    patch: ObjectivePatch,
) -> EngineResult<Objective> {
    let current = store.objective(actor.org_id, id).await?;
    actor.may(Action::WriteObjective(scope_of(&current)))?;
    actor.may(Action::WriteObjective(Scope {
        team_id: patch.team_id.unwrap_or(current.team_id),
        owner_id: patch.owner_id.unwrap_or(current.owner_id),
    }))?;
    Ok(store.update_objective(ctx, id, patch).await?)
}

/// Adds a key result to an objective the actor may write.
pub async fn create_key_result<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    objective_id: Uuid,
    new: NewKeyResult,
) -> EngineResult<KeyResult> {
    let objective = store.objective(actor.org_id, objective_id).await?;
    actor.may(Action::WriteObjective(scope_of(&objective)))?;
    Ok(store.create_key_result(ctx, objective_id, new).await?)
}

/// Changes a key result of an objective the actor may write.
pub async fn update_key_result<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
    patch: KeyResultPatch,
) -> EngineResult<KeyResult> {
    let (team_id, owner_id) = store.key_result_scope(actor.org_id, id).await?;
    actor.may(Action::WriteObjective(Scope { team_id, owner_id }))?;
    Ok(store.update_key_result(ctx, id, patch).await?)
}

/// Checks in: a new value and confidence for a key result, with a note, by
/// its objective's owner, its team, or an admin.
pub async fn check_in<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    key_result_id: Uuid,
    check_in: NewCheckIn,
) -> EngineResult<CheckIn> {
    let (team_id, owner_id) = store.key_result_scope(actor.org_id, key_result_id).await?;
    actor.may(Action::CheckIn(Scope { team_id, owner_id }))?;
    Ok(store.create_check_in(ctx, key_result_id, check_in).await?)
}

/// A forest with every objective's progress and its key results at hand.
pub struct Judged {
    progress: HashMap<Uuid, f64>,
    key_results: HashMap<Uuid, Vec<KeyResult>>,
    today: NaiveDate,
    rule: RiskRule,
}

impl Judged {
    /// Rolls the forest's progress up, for judging its objectives on `today`.
    pub fn new(forest: &ObjectiveForest, today: NaiveDate, rule: RiskRule) -> Self {
        let mut key_results: HashMap<Uuid, Vec<KeyResult>> = HashMap::new();
        for kr in &forest.key_results {
            key_results
                .entry(kr.objective_id)
                .or_default()
                .push(kr.clone());
        }
        Self {
            progress: rollups(&forest.objectives, &forest.key_results),
            key_results,
            today,
            rule,
        }
    }

    /// The key results of an objective.
    pub fn key_results_of(&self, id: Uuid) -> Vec<KeyResult> {
        self.key_results.get(&id).cloned().unwrap_or_default()
    }

    /// An objective with its rolled-up progress and its health.
    pub fn summary(&self, objective: Objective) -> ObjectiveSummary {
        let progress = self.progress.get(&objective.id).copied().unwrap_or(0.0);
        let health = assess_health(
            &objective,
            progress,
            &self.key_results_of(objective.id),
            self.today,
            self.rule,
        );
        ObjectiveSummary {
            objective,
            progress,
            health,
        }
    }
}

/// An org's whole forest, judged.
pub struct JudgedForest {
    pub forest: ObjectiveForest,
    pub judged: Judged,
}

/// The last judged forest of each org, as of one audit head and one day.
///
/// When the head has moved, the events since say what changed
/// (`ForestChange`): events that never touch strategy leave the forest as it
/// was; check-ins and key result edits reload just those key results and
/// judge the forest again; anything else (or more than
/// [`CATCH_UP_EVENTS`] events) loads the whole forest afresh. A new day
/// judges afresh too: health depends on the elapsed share of each period.
#[derive(Default)]
pub struct RollupCache {
    orgs: Mutex<HashMap<Uuid, CachedForest>>,
}

/// A judged forest with the audit head and the day it holds for.
type CachedForest = (i64, NaiveDate, Arc<JudgedForest>);

/// Past this many events since the cached head, reloading is cheaper than
/// reading them.
const CATCH_UP_EVENTS: u32 = 200;

/// What the events since the cached head ask of the cache.
enum CatchUp {
    Keep,
    Reload(BTreeSet<Uuid>),
    Rebuild,
}

impl RollupCache {
    /// The org's forest judged on `today` by `rule`, from the cache while
    /// nothing in it changed.
    pub async fn get<S: Store>(
        &self,
        store: &S,
        org_id: Uuid,
        today: NaiveDate,
        rule: RiskRule,
    ) -> EngineResult<Arc<JudgedForest>> {
        let head = store.audit_seq(org_id).await?;
        let cached = self
            .orgs
            .lock()
            .ok()
            .and_then(|orgs| orgs.get(&org_id).cloned())
            .filter(|(_, day, _)| *day == today);
        let fresh = match cached {
            Some((seq, _, cached)) if seq == head => return Ok(cached),
            Some((seq, _, cached)) => match catch_up(store, org_id, seq).await? {
                CatchUp::Keep => cached,
                CatchUp::Reload(ids) => {
                    let mut forest = cached.forest.clone();
                    for id in ids {
                        let key_result = store.key_result(org_id, id).await?;
                        match forest.key_results.iter_mut().find(|kr| kr.id == id) {
                            Some(slot) => *slot = key_result,
                            None => forest.key_results.push(key_result),
                        }
                    }
                    let judged = Judged::new(&forest, today, rule);
                    Arc::new(JudgedForest { forest, judged })
                }
                CatchUp::Rebuild => load_judged(store, org_id, today, rule).await?,
            },
            None => load_judged(store, org_id, today, rule).await?,
        };
        if let Ok(mut orgs) = self.orgs.lock() {
            orgs.insert(org_id, (head, today, fresh.clone()));
        }
        Ok(fresh)
    }
}

async fn load_judged<S: Store>(
    store: &S,
    org_id: Uuid,
    today: NaiveDate,
    rule: RiskRule,
) -> EngineResult<Arc<JudgedForest>> {
    let forest = store.all_objectives(org_id).await?;
    let judged = Judged::new(&forest, today, rule);
    Ok(Arc::new(JudgedForest { forest, judged }))
}

/// Reads the events after `since` and says what they change in the forest.
async fn catch_up<S: Store>(store: &S, org_id: Uuid, since: i64) -> EngineResult<CatchUp> {
    let events = store
        .events(
            org_id,
            &EventFilter {
                after_seq: Some(since),
                limit: CATCH_UP_EVENTS,
                action: None,
                subject_id: None,
            },
        )
        .await?;
    if events.next_cursor.is_some() {
        return Ok(CatchUp::Rebuild);
    }
    let mut key_results = BTreeSet::new();
    for event in &events.items {
        match ForestChange::of(&event.subject_type, &event.action, event.subject_id) {
            ForestChange::Untouched => {}
            ForestChange::KeyResult(id) => {
                key_results.insert(id);
            }
            ForestChange::Everything => return Ok(CatchUp::Rebuild),
        }
    }
    Ok(if key_results.is_empty() {
        CatchUp::Keep
    } else {
        CatchUp::Reload(key_results)
    })
}

/// The org's objectives and key results as a CSV sheet
/// (`tutti_domain::sheet::OBJECTIVE_COLUMNS`, a row per key result).
pub async fn export_sheet<S: Store>(store: &S, actor: &Actor) -> EngineResult<String> {
    actor.may(Action::Read)?;
    let strategy = store.strategy_sheet(actor.org_id).await?;
    let mut rows = Vec::new();
    for s in &strategy {
        let row = |key_result| tutti_domain::sheet::ObjectiveRow {
            objective: &s.objective,
            owner: s.owner.clone(),
            team: s.team.clone(),
            parent: s.parent.clone(),
            key_result,
        };
        if s.key_results.is_empty() {
            rows.push(row(None));
        }
        rows.extend(s.key_results.iter().map(|k| row(Some(k))));
    }
    Ok(tutti_domain::sheet::objectives_csv(&rows))
}

/// Creates the objectives of a sheet with their key results, all or
/// nothing. Strategy brought in wholesale is an admin's call: a sheet can
/// name any team and owner.
pub async fn import_sheet<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    objectives: &[tutti_domain::sheet::SheetObjective],
) -> EngineResult<tutti_store::ObjectivesImported> {
    actor.may(Action::ManageOrg)?;
    if objectives.len() > tutti_domain::import::IMPORT_MAX {
        return Err(tutti_domain::Invalid::new(
            "objectives",
            format!(
                "at most {} objectives per call",
                tutti_domain::import::IMPORT_MAX
            ),
        )
        .into());
    }
    Ok(store.import_objectives(ctx, objectives).await?)
}
