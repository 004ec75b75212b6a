//! The storage contract for strategy: objectives in their alignment tree,
//! their key results, and check-ins that move a key result.
//!
//! A check-in and the move of its key result are one transaction with their
//! audit event; it is the API's hottest write, and on SQLite it runs as one
//! direct transaction (`sqlite.rs`).

use std::future::Future;

use chrono::NaiveDate;
use tutti_domain::strategy::{
    CheckIn, KeyResult, NewCheckIn, Objective, ObjectiveStatus, TargetMove,
};
use uuid::Uuid;

use crate::{Ctx, Page, PageRequest, Result};

#[derive(Debug, Clone)]
pub struct NewObjective {
    pub title: String,
    pub why: String,
    pub owner_id: Option<Uuid>,
    pub team_id: Option<Uuid>,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub parent_id: Option<Uuid>,
}

#[derive(Debug, Clone, Default)]
pub struct ObjectivePatch {
    pub title: Option<String>,
    pub why: Option<String>,
    pub owner_id: Option<Option<Uuid>>,
    pub team_id: Option<Option<Uuid>>,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub parent_id: Option<Option<Uuid>>,
    pub status: Option<ObjectiveStatus>,
}

#[derive(Debug, Clone)]
pub struct NewKeyResult {
    pub title: String,
    pub baseline: f64,
    pub target: f64,
    /// Starts at the baseline when not given.
    pub current: Option<f64>,
    pub unit: String,
    pub confidence: u8,
}

#[derive(Debug, Clone, Default)]
pub struct KeyResultPatch {
    pub title: Option<String>,
    pub baseline: Option<f64>,
    pub target: Option<f64>,
    pub unit: Option<String>,
    /// Why the target moves, kept with the move; ignored when it does not.
    pub target_reason: Option<String>,
}

/// A set of objectives with every objective below them and all their key
/// results: what the roll-up needs.
#[derive(Debug, Clone, Default)]
pub struct ObjectiveForest {
    pub objectives: Vec<Objective>,
    pub key_results: Vec<KeyResult>,
}

/// Objectives, key results and check-ins. Errors as [`crate::Store`] says.
pub trait Strategy: Clone + Send + Sync + 'static {
    /// `Invalid` for a bad title or period, or an owner, team or parent
    /// outside the org.
    fn create_objective(
        &self,
        ctx: &Ctx,
        objective: NewObjective,
    ) -> impl Future<Output = Result<Objective>> + Send;
    /// `NotFound` for an objective of another org.
    fn objective(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Objective>> + Send;
    /// The org's objectives, oldest first.
    fn objectives(
        &self,
        org_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Objective>>> + Send;
    /// `Invalid` as for creating, and for a parent that would make the
    /// objective its own ancestor.
    fn update_objective(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: ObjectivePatch,
    ) -> impl Future<Output = Result<Objective>> + Send;
    /// The given objectives and everything below them, with their key results.
    fn objective_forest(
        &self,
        org_id: Uuid,
        roots: &[Uuid],
    ) -> impl Future<Output = Result<ObjectiveForest>> + Send;
    /// Every objective and key result of the org.
    fn all_objectives(&self, org_id: Uuid) -> impl Future<Output = Result<ObjectiveForest>> + Send;

    /// `NotFound` for an objective of another org; `Invalid` for a bad
    /// title or values.
    fn create_key_result(
        &self,
        ctx: &Ctx,
        objective_id: Uuid,
        key_result: NewKeyResult,
    ) -> impl Future<Output = Result<KeyResult>> + Send;
    /// `NotFound` for a key result of another org.
    fn key_result(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<KeyResult>> + Send;
    /// Changes a key result's definition; its value moves by check-ins. A
    /// new target is kept as a [`TargetMove`] in the same transaction.
    /// `NotFound` for a key result of another org; `Invalid` for a bad title
    /// or a value that is not a number.
    fn update_key_result(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: KeyResultPatch,
    ) -> impl Future<Output = Result<KeyResult>> + Send;
    /// The team and owner of the objective a key result belongs to: what
    /// access to the key result depends on. `NotFound` for one of another org.
    fn key_result_scope(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = Result<(Option<Uuid>, Option<Uuid>)>> + Send;

    /// Records a check-in by the context's actor and moves the key result to
    /// its value and confidence. `NotFound` for a key result of another org.
    fn create_check_in(
        &self,
        ctx: &Ctx,
        key_result_id: Uuid,
        check_in: NewCheckIn,
    ) -> impl Future<Output = Result<CheckIn>> + Send;
    /// How a key result's target moved, oldest first. `NotFound` for a key
    /// result of another org.
    fn target_moves(
        &self,
        org_id: Uuid,
        key_result_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<TargetMove>>> + Send;

    /// A key result's check-ins, oldest first. `NotFound` for a key result
    /// of another org.
    fn check_ins(
        &self,
        org_id: Uuid,
        key_result_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<CheckIn>>> + Send;
}
