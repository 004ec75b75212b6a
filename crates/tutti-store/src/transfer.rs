//! The storage contract for moving a whole org between installations: read
//! it out as one document, write one back as a new org.
//!
//! The document and its rules (what is carried, fresh ids, parents first)
//! are `tutti_domain::transfer`'s; the store reads and writes its rows, each
//! way in one transaction.

use std::future::Future;

use tutti_domain::org::Org;
use tutti_domain::transfer::OrgExport;

use crate::{Ctx, Result};

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
}
