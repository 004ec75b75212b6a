//! `/teams`: the org's teams, their hierarchy and their leads.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use tutti_domain::access::Action;
use tutti_domain::org::Team;
use tutti_engine::directory;
use tutti_store::prelude::*;
use tutti_store::{NewTeam, TeamPatch};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ListParams, PageOf, ctx, double_option};
use crate::error::Problem;
use crate::extract::{ApiJson, ApiQuery, Auth, IdPath, IdempotencyKey};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    #[serde(default)]
    pub lead_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeam {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub parent_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub lead_id: Option<Option<Uuid>>,
}

/// Lists the org's teams.
#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", params(ListParams),
    responses((status = 200, body = PageOf<Team>), (status = 401, body = Problem)))]
pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<PageOf<Team>>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(
        state
            .store
            .teams(actor.org_id, params.page()?)
            .await?
            .into(),
    ))
}

/// Creates a team (admins; leads below a team they lead).
#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = CreateTeam,
    responses((status = 201, body = Team), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateTeam>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let new = NewTeam {
        name: input.name,
        parent_id: input.parent_id,
        lead_id: input.lead_id,
    };
    let store = state.store.clone();
    let asker = actor.clone();
    super::create(
        &state,
        &actor,
        key,
        "POST /teams",
        &body.digest,
        |ctx| async move { directory::create_team(&store, &asker, &ctx, new).await },
    )
    .await
}

/// Shows a team.
#[utoipa::path(get, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = Uuid, Path)),
    responses((status = 200, body = Team), (status = 404, body = Problem)))]
pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Team>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(state.store.team(actor.org_id, id).await?))
}

/// Changes a team. Its lead may rename it; who leads it and where it hangs
/// are for admins.
#[utoipa::path(patch, path = "/api/v1/teams/{id}", tag = "teams", params(("id" = Uuid, Path)), request_body = UpdateTeam,
    responses((status = 200, body = Team), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<UpdateTeam>,
) -> Result<Json<Team>, ApiError> {
    let patch = body.value;
    let patch = TeamPatch {
        name: patch.name,
        parent_id: patch.parent_id,
        lead_id: patch.lead_id,
    };
    Ok(Json(
        directory::update_team(&state.store, &actor, &ctx(&state, &actor), id, patch).await?,
    ))
}
