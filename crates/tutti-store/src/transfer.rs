//! The storage contract for moving a whole org between installations: read
//! it out as one document, write one back as a new org.
//!
//! The document and its rules (what is carried, fresh ids, parents first)
//! are `tutti_domain::transfer`'s; the store reads and writes its rows, each
//! way in one transaction.

use std::future::Future;

use serde::Serialize;
use tutti_domain::org::Org;
use tutti_domain::sheet::{SheetObjective, WorkRow};
use tutti_domain::strategy::{KeyResult, Objective};
use tutti_domain::transfer::OrgExport;
use uuid::Uuid;

use crate::{Ctx, Result};

/// An objective with the names a sheet shows, and its key results.
#[derive(Debug, Clone)]
pub struct SheetStrategy {
    pub objective: Objective,
    /// The owner's email, else their name.
    pub owner: Option<String>,
    pub team: Option<String>,
    /// The parent objective's title.
    pub parent: Option<String>,
    pub key_results: Vec<KeyResult>,
}

/// What an objectives import wrote.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ObjectivesImported {
    pub objectives: usize,
    pub key_results: usize,
}

pub trait Transfer {
    /// The org of `ctx` as a document, read in one transaction (one
    /// consistent state) that also records the export in the audit trail.
    /// Secrets are not read: no token or password hash, no stored provider
    /// key, no webhook.
    fn export_org(&self, ctx: &Ctx) -> impl Future<Output = Result<OrgExport>> + Send;

    /// Writes a document prepared by `tutti_domain::transfer::prepare_import`
    /// as a new org with the id `ctx.org_id`, all or nothing, its audit
    /// chain starting with `org.imported`.
    fn import_org(&self, ctx: &Ctx, doc: &OrgExport) -> impl Future<Output = Result<Org>> + Send;

    /// The org's work items (of one team, if named) in id order, with
    /// names for a sheet.
    fn work_sheet(
        &self,
        org_id: Uuid,
        team_id: Option<Uuid>,
    ) -> impl Future<Output = Result<Vec<WorkRow>>> + Send;

    /// The org's objectives in id order with their key results, with names
    /// for a sheet.
    fn strategy_sheet(
        &self,
        org_id: Uuid,
    ) -> impl Future<Output = Result<Vec<SheetStrategy>>> + Send;

    /// Creates the objectives of a sheet with their key results in one
    /// transaction: owners matched among the org's people (by email, else
    /// name), teams by name, parents by title (in the sheet, else the
    /// org's). A name that matches nothing is refused naming the objective,
    /// and nothing is written.
    fn import_objectives(
        &self,
        ctx: &Ctx,
        objectives: &[SheetObjective],
    ) -> impl Future<Output = Result<ObjectivesImported>> + Send;
}
