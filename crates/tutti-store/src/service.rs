//! The storage contract for service quality: the service catalogue and the
//! promises made to customers.
//!
//! - A promise's every step is `tutti_domain::service`'s rule, applied here
//!   to the promise as it stands under the step's lock, and written with its
//!   audit event in the same transaction.
//! - References (service product, case, teams) are checked to exist in the
//!   org; a bad one is refused naming the field, with nothing written.

use std::future::Future;

use chrono::{DateTime, Utc};
use tutti_domain::service::{Promise, PromiseState, PromiseStep, ServiceKind, ServiceProduct};
use uuid::Uuid;

use crate::{Ctx, Page, PageRequest, Result};

#[derive(Debug, Clone)]
pub struct NewServiceProduct {
    pub name: String,
    pub description: String,
    pub customer_group: String,
    pub owner_id: Option<Uuid>,
    pub kind: ServiceKind,
    pub levels: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NewPromise {
    pub title: String,
    pub customer: String,
    pub service_product_id: Option<Uuid>,
    pub work_item_id: Option<Uuid>,
    pub made_by_team_id: Option<Uuid>,
    pub keeper_team_id: Option<Uuid>,
    pub due_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default)]
pub struct PromiseFilter {
    pub state: Option<PromiseState>,
    pub service_product_id: Option<Uuid>,
    pub keeper_team_id: Option<Uuid>,
    /// The promises of one case (its work item).
    pub work_item_id: Option<Uuid>,
    /// Open and paused only.
    pub unfinished: bool,
    pub order: PromiseOrder,
}

/// The order promises come in. Only [`PromiseOrder::Made`] pages by
/// cursor; the others give the first `limit` only, with no cursor (what a
/// cockpit or a signal looks at).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PromiseOrder {
    /// Oldest first.
    #[default]
    Made,
    /// Due soonest first: where the urgent ones are.
    SoonestDue,
    /// Closed (kept or broken) most recently first.
    LatestClosed,
}

/// Service products and promises. Errors as [`crate::Store`] says.
pub trait Services: Clone + Send + Sync + 'static {
    /// `Invalid` for bad texts or an owner outside the org.
    fn create_service_product(
        &self,
        ctx: &Ctx,
        new: NewServiceProduct,
    ) -> impl Future<Output = Result<ServiceProduct>> + Send;
    /// `NotFound` for one of another org.
    fn service_product(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> impl Future<Output = Result<ServiceProduct>> + Send;
    /// The org's catalogue, oldest first.
    fn service_products(
        &self,
        org_id: Uuid,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<ServiceProduct>>> + Send;

    /// A promise made now by the context's actor. `Invalid` for bad texts, a
    /// due time not after now, or a reference outside the org.
    fn create_promise(
        &self,
        ctx: &Ctx,
        new: NewPromise,
    ) -> impl Future<Output = Result<Promise>> + Send;
    /// `NotFound` for one of another org.
    fn promise(&self, org_id: Uuid, id: Uuid) -> impl Future<Output = Result<Promise>> + Send;
    /// Promises, oldest first.
    fn promises(
        &self,
        org_id: Uuid,
        filter: &PromiseFilter,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Promise>>> + Send;
    /// Takes `step` on the promise as it stands under its lock, by the
    /// context's actor at the context's time. `Conflict` for a step its
    /// state does not allow; `Invalid` for a missing why.
    fn step_promise(
        &self,
        ctx: &Ctx,
        id: Uuid,
        step: PromiseStep,
    ) -> impl Future<Output = Result<Promise>> + Send;
}
