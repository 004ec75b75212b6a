//! Use cases that move a whole org: export it as one document, import one
//! as a new org.
//!
//! Export is an admin's (it carries everyone's work, though no secret);
//! import creates an org, which only the operator of an installation does
//! (`tutti import`, next to `tutti init`), so it takes no actor.

use chrono::{DateTime, Utc};
use tutti_domain::access::{Action, Actor};
use tutti_domain::org::{Member, Org};
use tutti_domain::transfer::{Counts, OrgExport, prepare_import};
use tutti_store::Ctx;
use tutti_store::prelude::*;
use uuid::Uuid;

use crate::EngineResult;

/// The actor's org as a document; the export is audited.
pub async fn export_org<S: Store>(store: &S, actor: &Actor, ctx: &Ctx) -> EngineResult<OrgExport> {
    actor.may(Action::ManageOrg)?;
    Ok(store.export_org(ctx).await?)
}

/// What an import made.
#[derive(Debug, Clone)]
pub struct ImportedOrg {
    pub org: Org,
    /// The first owner, who signs in first (tokens are not carried).
    pub owner: Member,
    pub counts: Counts,
}

/// Reads an exported org from `text` and writes it as a new org with fresh
/// ids, all or nothing. A file that cannot be read, or whose references
/// lead outside it, is refused naming the line, and nothing is written.
pub async fn import_org<S: Store>(
    store: &S,
    text: &str,
    now: DateTime<Utc>,
) -> EngineResult<ImportedOrg> {
    let doc = OrgExport::parse(text)?;
    let ready = prepare_import(&doc, text, Uuid::now_v7)?;
    let owner = ready.first_owner().cloned().ok_or_else(|| {
        tutti_domain::Invalid::new("members", "the org needs an owner who is a person")
    })?;
    let ctx = Ctx::new(Uuid::now_v7(), Some(owner.id), now);
    let org = store.import_org(&ctx, &ready).await?;
    Ok(ImportedOrg {
        org,
        owner,
        counts: ready.counts(),
    })
}
