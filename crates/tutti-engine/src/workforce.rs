//! Use cases of steering the AI workforce: the guard-rail checks of a
//! decision space, the org's cap on AI runs and each worker's queue,
//! work-order templates and their track record, evidence behind
//! check-ins, and the leverage view.
//!
//! The rules are the domain's (`guard`, `labour::capacity`,
//! `labour::template`, `strategy::check_evidence`); each function here
//! authorises, checks and makes one store call.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tutti_domain::access::{Action, Actor, Scope};
use tutti_domain::guard::{GuardCheck, check_guards};
use tutti_domain::labour::Verdict;
use tutti_domain::labour::capacity::{Capacity, check_org_cap};
use tutti_domain::labour::leverage::{LeverageBy, LeverageRow};
use tutti_domain::labour::report_window;
use tutti_domain::labour::template::{
    Comparison, Record, Template, check_name, check_version, compare, record, records_by,
};
use tutti_domain::strategy::Evidence;
use tutti_domain::work::WorkItem;
use tutti_store::prelude::*;
use tutti_store::{Ctx, FromTemplate, NewTemplateVersion};
use uuid::Uuid;

use crate::{EngineResult, Runtime, decisions};

/// The guard-rail checks of a space, for anyone who may read the org.
pub async fn guards<S: Store>(
    store: &S,
    actor: &Actor,
    space_id: Uuid,
) -> EngineResult<Vec<GuardCheck>> {
    actor.may(Action::Read)?;
    Ok(store.space_guards(actor.org_id, space_id).await?)
}

/// Replaces a space's checks: whoever manages the space (never an AI
/// worker, which would loosen its own guard-rails).
pub async fn set_guards<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    space_id: Uuid,
    checks: Vec<GuardCheck>,
) -> EngineResult<Vec<GuardCheck>> {
    let space = store.space(actor.org_id, space_id).await?;
    decisions::may_manage(store, actor, &space).await?;
    check_guards(&checks)?;
    Ok(store.set_space_guards(ctx, space_id, checks).await?)
}

/// The org's AI capacity as it stands at `now`.
pub async fn capacity<S: Store>(
    store: &S,
    actor: &Actor,
    now: DateTime<Utc>,
) -> EngineResult<Capacity> {
    actor.may(Action::Read)?;
    Ok(store.capacity(actor.org_id, now).await?)
}

/// Sets or lifts the org's cap on AI runs at once (admins); more room
/// wakes the runtime.
pub async fn set_ai_concurrency<S: Store>(
    store: &S,
    runtime: &Runtime,
    actor: &Actor,
    ctx: &Ctx,
    cap: Option<i64>,
) -> EngineResult<Option<i64>> {
    actor.may(Action::ManageOrgSettings)?;
    let cap = check_org_cap(cap)?;
    let cap = store.set_ai_concurrency(ctx, cap).await?;
    runtime.wake();
    Ok(cap)
}

/// Writes a new template with its first version (admins and leads).
pub async fn create_template<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    name: &str,
    first: NewTemplateVersion,
) -> EngineResult<Template> {
    actor.may(Action::ManageTemplates)?;
    let name = check_name(name)?;
    check_version(&first.body, &first.criteria)?;
    Ok(store.create_template(ctx, name, first).await?)
}

/// Adds a version to a template (admins and leads).
pub async fn add_version<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    template_id: Uuid,
    version: NewTemplateVersion,
) -> EngineResult<Template> {
    actor.may(Action::ManageTemplates)?;
    check_version(&version.body, &version.criteria)?;
    Ok(store
        .add_template_version(ctx, template_id, version)
        .await?)
}

pub async fn templates<S: Store>(store: &S, actor: &Actor) -> EngineResult<Vec<Template>> {
    actor.may(Action::Read)?;
    Ok(store.templates(actor.org_id).await?)
}

/// The org's templates, each with the record of all its versions together.
pub async fn templates_with_records<S: Store>(
    store: &S,
    actor: &Actor,
) -> EngineResult<Vec<(Template, Record)>> {
    let templates = templates(store, actor).await?;
    let facts = store.template_facts(actor.org_id, None).await?;
    Ok(templates
        .into_iter()
        .map(|template| {
            let of_template = facts
                .iter()
                .filter(|f| template.versions.iter().any(|v| v.id == f.version_id));
            let total = record(of_template);
            (template, total)
        })
        .collect())
}

/// Creates work from a template, with the rights of creating that work;
/// ready work in an AI worker's hands has its run queued at once.
pub async fn create_from_template<S: Store>(
    store: &S,
    runtime: &Runtime,
    actor: &Actor,
    ctx: &Ctx,
    template_id: Uuid,
    new: FromTemplate,
) -> EngineResult<WorkItem> {
    actor.may(Action::CreateWork {
        team_id: new.team_id,
        assignee_id: new.assignee_id,
    })?;
    new.state.check_initial()?;
    let item = store.create_from_template(ctx, template_id, new).await?;
    runtime.wake();
    Ok(item)
}

/// One version's record.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VersionRecord {
    pub version_id: Uuid,
    pub version: i64,
    pub in_use: bool,
    pub note: String,
    pub record: Record,
}

/// The record of the work orders one person wrote from the template.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuthorRecord {
    pub author_id: Uuid,
    pub name: String,
    pub record: Record,
}

/// A template with how each of its versions, and each person who wrote
/// work orders from it, fares; and the newest two versions compared.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateRecord {
    pub template: Template,
    pub versions: Vec<VersionRecord>,
    pub authors: Vec<AuthorRecord>,
    /// The two versions in use compared (else the newest two), once there
    /// are two.
    pub comparison: Option<Comparison>,
    /// The whole template's record.
    pub total: Record,
}

/// A template and its track record, for anyone who may read the org.
pub async fn track_record<S: Store>(
    store: &S,
    actor: &Actor,
    template_id: Uuid,
) -> EngineResult<TemplateRecord> {
    actor.may(Action::Read)?;
    let template = store.template(actor.org_id, template_id).await?;
    let facts = store
        .template_facts(actor.org_id, Some(template_id))
        .await?;
    let by_version = records_by(&facts, |f| f.version_id);
    let versions: Vec<VersionRecord> = template
        .versions
        .iter()
        .map(|v| VersionRecord {
            version_id: v.id,
            version: v.version,
            in_use: v.in_use,
            note: v.note.clone(),
            record: by_version.get(&v.id).cloned().unwrap_or_default(),
        })
        .collect();
    let mut authors = Vec::new();
    for (author_id, record) in records_by(&facts, |f| f.author_id) {
        let name = store.member(actor.org_id, author_id).await?.name;
        authors.push(AuthorRecord {
            author_id,
            name,
            record,
        });
    }
    let in_use: Vec<&VersionRecord> = versions.iter().filter(|v| v.in_use).collect();
    let pair = match in_use.as_slice() {
        [a, b] => Some((*a, *b)),
        _ => match versions.as_slice() {
            [.., a, b] => Some((a, b)),
            _ => None,
        },
    };
    let comparison = pair.map(|(a, b)| {
        compare(
            (&format!("version {}", a.version), &a.record),
            (&format!("version {}", b.version), &b.record),
        )
    });
    Ok(TemplateRecord {
        template,
        versions,
        authors,
        comparison,
        total: record(&facts),
    })
}

/// Attaches done work, or an accepted run of it, as evidence behind a
/// check-in: whoever may check in on its key result. Done work without a
/// named run names its last accepted one, if any.
pub async fn attach_evidence<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    check_in_id: Uuid,
    work_item_id: Uuid,
    run_id: Option<Uuid>,
) -> EngineResult<Evidence> {
    let key_result = store.check_in_key_result(actor.org_id, check_in_id).await?;
    let (team_id, owner_id) = store.key_result_scope(actor.org_id, key_result).await?;
    actor.may(Action::CheckIn(Scope { team_id, owner_id }))?;
    let run_id = match run_id {
        Some(run) => Some(run),
        // Done work that an AI result carried names that result, so the
        // key result shows what the AI labour behind the move cost.
        None => store
            .reviews(actor.org_id, work_item_id)
            .await?
            .iter()
            .rev()
            .find(|r| r.verdict == Verdict::Accept)
            .map(|r| r.run_id),
    };
    Ok(store
        .attach_evidence(ctx, check_in_id, work_item_id, run_id)
        .await?)
}

/// The evidence behind a key result's check-ins.
pub async fn evidence<S: Store>(
    store: &S,
    actor: &Actor,
    key_result_id: Uuid,
) -> EngineResult<Vec<Evidence>> {
    actor.may(Action::Read)?;
    store.key_result(actor.org_id, key_result_id).await?;
    Ok(store.evidence(actor.org_id, key_result_id).await?)
}

/// The leverage view of a period: AI spend against the outcome it served.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeverageReport {
    pub by: LeverageBy,
    /// The window, `[from, to)`.
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub currency: String,
    /// One row per objective, team or orderer's role, the biggest spender
    /// first; a row without a key holds spend on work without one.
    pub rows: Vec<LeverageRow>,
    /// The whole org's figures.
    pub total: LeverageRow,
}

/// AI spend (settled, from the ledger) set against accepted results, cycle
/// time and the key-result progress it served (from check-ins), grouped
/// `by`, for `period` (`month`, `quarter` — the default —, `all`, or
/// `YYYY-MM`).
pub async fn leverage<S: Store>(
    store: &S,
    actor: &Actor,
    by: LeverageBy,
    period: Option<&str>,
    now: DateTime<Utc>,
) -> EngineResult<LeverageReport> {
    actor.may(Action::Read)?;
    let (from, to) = report_window(period, "quarter", now)?;
    let facts = store.leverage_facts(actor.org_id, from, to).await?;
    let mut view = tutti_domain::labour::leverage::leverage(by, &facts);
    for row in &mut view.rows {
        let Some(key) = row.key.clone() else { continue };
        row.label = Some(match by {
            LeverageBy::Role => key,
            LeverageBy::Objective | LeverageBy::Team => {
                let id: Uuid = key.parse().map_err(|_| {
                    tutti_store::StoreError::Corrupt(format!("a ledger key {key:?}"))
                })?;
                if by == LeverageBy::Objective {
                    store.objective(actor.org_id, id).await?.title
                } else {
                    store.team(actor.org_id, id).await?.name
                }
            }
        });
    }
    let currency = store.org(actor.org_id).await?.currency;
    Ok(LeverageReport {
        by,
        from,
        to,
        currency,
        rows: view.rows,
        total: view.total,
    })
}

/// The leverage view as a CSV sheet; `none` names the row of work without
/// an objective, team or orderer.
pub fn leverage_sheet(report: &LeverageReport, none: &str) -> String {
    tutti_domain::sheet::leverage_csv(
        &tutti_domain::labour::leverage::Leverage {
            rows: report.rows.clone(),
            total: report.total.clone(),
        },
        none,
    )
}
