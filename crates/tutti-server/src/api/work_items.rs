//! `/work-items`: the work, who carries it, where it stands, and which key
//! result it serves.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tutti_domain::access::Action;
use tutti_domain::work::{Priority, WorkItem, WorkKind, WorkState};
use tutti_engine::work;
use tutti_store::prelude::*;
use tutti_store::{NewWorkItem, WorkFilter, WorkItemPatch};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{PageOf, ctx, double_option, page_request};
use crate::error::Problem;
use crate::extract::{ApiJson, ApiQuery, Auth, IdPath, IdempotencyKey};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkItem {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub team_id: Option<Uuid>,
    #[serde(default)]
    pub assignee_id: Option<Uuid>,
    /// `backlog` (default) or `ready`; later states are reached by moving it.
    #[serde(default)]
    pub state: Option<WorkState>,
    #[serde(default)]
    pub kind: Option<WorkKind>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub due: Option<NaiveDate>,
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    /// The key result this work serves; leave out for unaligned work.
    #[serde(default)]
    pub key_result_id: Option<Uuid>,
    /// The service product it belongs to.
    #[serde(default)]
    pub service_product_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkItem {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub team_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub assignee_id: Option<Option<Uuid>>,
    /// Must be a legal move from the current state.
    #[serde(default)]
    pub state: Option<WorkState>,
    #[serde(default)]
    pub kind: Option<WorkKind>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default, deserialize_with = "double_option")]
    pub due: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    pub parent_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub key_result_id: Option<Option<Uuid>>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkParams {
    pub state: Option<WorkState>,
    /// Member id.
    pub assignee: Option<Uuid>,
    /// Key result id: the work that serves it.
    pub key_result: Option<Uuid>,
    pub team: Option<Uuid>,
    /// Only work that serves no key result.
    #[serde(default)]
    pub unaligned: bool,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// Lists work items, filtered.
#[utoipa::path(get, path = "/api/v1/work-items", tag = "work", params(WorkParams),
    responses((status = 200, body = PageOf<WorkItem>), (status = 400, body = Problem), (status = 422, body = Problem)))]
pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<WorkParams>,
) -> Result<Json<PageOf<WorkItem>>, ApiError> {
    actor.may(Action::Read)?;
    let filter = WorkFilter {
        state: params.state,
        assignee_id: params.assignee,
        key_result_id: params.key_result,
        team_id: params.team,
        unaligned: params.unaligned,
    };
    let page = page_request(params.limit, params.cursor.as_deref())?;
    Ok(Json(
        state
            .store
            .work_items(actor.org_id, &filter, page)
            .await?
            .into(),
    ))
}

/// Creates a work item. Members create work for themselves or unassigned in
/// their teams; leads for anyone in the teams they lead.
#[utoipa::path(post, path = "/api/v1/work-items", tag = "work", request_body = CreateWorkItem,
    responses((status = 201, body = WorkItem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateWorkItem>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let new = NewWorkItem {
        title: input.title,
        description: input.description,
        team_id: input.team_id,
        assignee_id: input.assignee_id,
        state: input.state.unwrap_or(WorkState::Backlog),
        kind: input.kind.unwrap_or(WorkKind::Planned),
        priority: input.priority.unwrap_or(Priority::Normal),
        due: input.due,
        parent_id: input.parent_id,
        key_result_id: input.key_result_id,
        service_product_id: input.service_product_id,
    };
    let (store, runtime, asker) = (state.store.clone(), state.runtime.clone(), actor.clone());
    super::create(
        &state,
        &actor,
        key,
        "POST /work-items",
        &body.digest,
        |ctx| async move { work::create_item(&store, &runtime, &asker, &ctx, new).await },
    )
    .await
}

/// Shows a work item.
#[utoipa::path(get, path = "/api/v1/work-items/{id}", tag = "work", params(("id" = Uuid, Path)),
    responses((status = 200, body = WorkItem), (status = 404, body = Problem)))]
pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<WorkItem>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(state.store.work_item(actor.org_id, id).await?))
}

/// Changes a work item or moves it to another state. Only a person accepts,
/// closes or cancels work an AI worker delivered: an AI worker's token
/// cannot move work on from review, to `done` or to `cancelled`.
#[utoipa::path(patch, path = "/api/v1/work-items/{id}", tag = "work", params(("id" = Uuid, Path)), request_body = UpdateWorkItem,
    responses((status = 200, body = WorkItem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<UpdateWorkItem>,
) -> Result<Json<WorkItem>, ApiError> {
    let input = body.value;
    let patch = WorkItemPatch {
        title: input.title,
        description: input.description,
        team_id: input.team_id,
        assignee_id: input.assignee_id,
        state: input.state,
        kind: input.kind,
        priority: input.priority,
        due: input.due,
        parent_id: input.parent_id,
        key_result_id: input.key_result_id,
    };
    let ctx = ctx(&state, &actor);
    let item = work::update_item(&state.store, &state.runtime, &actor, &ctx, id, patch).await?;
    Ok(Json(item))
}

/// Work brought in from elsewhere: the items of a Jira project, parsed by
/// `tutti import jira` (or any client) from Jira's CSV export or its
/// search/jql responses.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportWork {
    /// Where the items come from; kept with the audit event.
    #[serde(default = "jira")]
    pub source: String,
    /// The team the new work goes to (its lead or an admin imports);
    /// without one, admins import work that belongs to no team.
    #[serde(default)]
    pub team_id: Option<Uuid>,
    /// Report what would be created and updated; write nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// At most 5 000 items per call.
    pub items: Vec<tutti_domain::import::ImportedItem>,
}

fn jira() -> String {
    "jira".into()
}

/// One imported item.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedRowView {
    pub key: String,
    pub id: Uuid,
    /// `created`, `updated` or `unchanged`.
    pub action: String,
}

/// What an import did, or (dry) would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReportView {
    pub dry_run: bool,
    pub created: i64,
    pub updated: i64,
    pub unchanged: i64,
    /// Assignees no person of the org matches: their work is unassigned.
    pub unmatched_assignees: Vec<String>,
    /// Keys whose parent is neither in the import nor in tutti.
    pub missing_parents: Vec<String>,
    pub items: Vec<ImportedRowView>,
}

/// Brings work in, keyed by its key elsewhere: imported again, it is
/// updated rather than duplicated; in one transaction.
#[utoipa::path(post, path = "/api/v1/work-items/import", tag = "work", request_body = ImportWork,
    responses((status = 200, body = ImportReportView), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn import<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    body: ApiJson<ImportWork>,
) -> Result<Json<ImportReportView>, ApiError> {
    let input = body.value;
    let import = tutti_store::WorkImport {
        source: input.source,
        team_id: input.team_id,
        items: input.items,
        dry_run: input.dry_run,
    };
    let report = work::import_items(&state.store, &actor, &ctx(&state, &actor), import).await?;
    Ok(Json(ImportReportView {
        dry_run: report.dry_run,
        created: report.created,
        updated: report.updated,
        unchanged: report.unchanged,
        unmatched_assignees: report.unmatched_assignees,
        missing_parents: report.missing_parents,
        items: report
            .items
            .into_iter()
            .map(|r| ImportedRowView {
                key: r.key,
                id: r.id,
                action: r.action.to_owned(),
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Only this team's work.
    pub team_id: Option<Uuid>,
}

/// The work items as a CSV sheet, one row each: `key` (its key elsewhere,
/// else its id), title, description, state, priority, kind, due, assignee
/// (email, else name), team, parent (its key), key result, service product,
/// created and updated. `POST /work-items/import` (and `tutti import work`)
/// reads it back, updating the same items.
#[utoipa::path(get, path = "/api/v1/work-items/export", tag = "work", params(ExportParams),
    responses(
        (status = 200, description = "The sheet, with a header row.", content((String = "text/csv"))),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn export<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    let sheet = work::export_sheet(&state.store, &actor, params.team_id).await?;
    Ok(super::csv_download("work-items.csv", sheet))
}
