//! `/members`: the people and AI workers of the org, and their API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tutti_domain::access::Action;
use tutti_domain::org::{Member, MemberKind, Org, Role};
use tutti_domain::validate::{BODY_MAX, Email, TITLE_MAX, optional_text};
use tutti_engine::directory;
use tutti_store::prelude::*;
use tutti_store::{Enrolment, MemberPatch, NewMember, TokenInfo};
use utoipa::ToSchema;
use uuid::Uuid;

use super::{ListParams, PageOf, ctx, double_option};
use crate::error::Problem;
use crate::extract::{ApiJson, ApiQuery, Auth, IdPath, IdempotencyKey};
use crate::{ApiError, AppState, auth};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateMember {
    /// `human` (default) or `ai`.
    #[serde(default)]
    pub kind: Option<MemberKind>,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    /// Defaults to `member`. AI workers can be at most `member`.
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub teams: Vec<Uuid>,
    /// For AI workers: who they are, what they do, how they work.
    #[serde(default)]
    pub role_card: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    /// An AI worker whose runs an agent outside tutti claims (over MCP or
    /// the claim calls); the engine never runs them.
    #[serde(default)]
    pub external: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMember {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub teams: Option<Vec<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    pub role_card: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub provider: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub model: Option<Option<String>>,
    /// For AI workers: how many of their runs may run at once (1–64).
    #[serde(default)]
    pub concurrency: Option<i64>,
    /// An AI worker whose runs an agent outside tutti claims.
    #[serde(default)]
    pub external: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Where the token will be used, to recognise it later.
    #[serde(default)]
    pub label: Option<String>,
}

/// A new token: `token` is shown here once and never again.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewToken {
    pub token: String,
    pub id: Uuid,
    pub member_id: Uuid,
    pub label: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl NewToken {
    fn new(token: String, info: TokenInfo) -> Self {
        Self {
            token,
            id: info.id,
            member_id: info.member_id,
            label: info.label,
            created_at: info.created_at,
        }
    }
}

fn optional(field: &str, value: Option<String>, max: usize) -> Result<Option<String>, ApiError> {
    Ok(value
        .map(|v| optional_text(field, &v, max))
        .transpose()?
        .filter(|v| !v.is_empty()))
}

/// The member a token belongs to, with the zone they read times in.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub member: Member,
    /// Their own IANA zone; `null` follows the org's.
    pub time_zone: Option<String>,
}

/// The member the token belongs to.
#[utoipa::path(get, path = "/api/v1/me", tag = "members", responses((status = 200, body = MeView), (status = 401, body = Problem)))]
pub async fn me<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<MeView>, ApiError> {
    Ok(Json(MeView {
        member: state.store.member(actor.org_id, actor.member_id).await?,
        time_zone: state
            .store
            .member_time_zone(actor.org_id, actor.member_id)
            .await?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    /// The IANA zone to read times in (`Europe/Lisbon`); `null` follows the
    /// org's.
    #[serde(deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
}

/// Sets the zone the token's member reads times in.
#[utoipa::path(patch, path = "/api/v1/me", tag = "members", request_body = MePatch,
    responses((status = 200, body = MeView), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub async fn update_me<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    body: ApiJson<MePatch>,
) -> Result<Json<MeView>, ApiError> {
    let ctx = ctx(&state, &actor);
    let wanted = body.value.time_zone.flatten();
    let time_zone = directory::set_member_time_zone(
        &state.store,
        &actor,
        &ctx,
        actor.member_id,
        wanted.as_deref(),
    )
    .await?;
    Ok(Json(MeView {
        member: state.store.member(actor.org_id, actor.member_id).await?,
        time_zone,
    }))
}

/// The token's org: its name and the currency costs are kept in.
#[utoipa::path(get, path = "/api/v1/org", tag = "members", responses((status = 200, body = Org), (status = 401, body = Problem)))]
pub async fn org<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<Org>, ApiError> {
    Ok(Json(state.store.org(actor.org_id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPatch {
    /// The IANA time zone the org's times are read in (`Europe/Berlin`).
    pub time_zone: String,
}

/// Changes the org's settings: its time zone (admins).
#[utoipa::path(patch, path = "/api/v1/org", tag = "members", request_body = OrgPatch,
    responses((status = 200, body = Org), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn update_org<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    body: ApiJson<OrgPatch>,
) -> Result<Json<Org>, ApiError> {
    let ctx = super::ctx(&state, &actor);
    let org =
        tutti_engine::directory::set_time_zone(&state.store, &actor, &ctx, &body.value.time_zone)
            .await?;
    Ok(Json(org))
}

/// The whole org as one JSON document for `tutti import` elsewhere (admins):
/// people and AI workers, teams, strategy with its check-ins, work,
/// service catalogue, flows and gates, decision spaces, routines,
/// providers, models and budgets. No secret is in it (no token, password,
/// stored provider key or webhook), nor the history of this installation
/// (runs, ledger, decisions, audit), which `left_out` lists. The export is
/// audited.
#[utoipa::path(get, path = "/api/v1/org/export", tag = "members",
    responses((status = 200, body = tutti_domain::transfer::OrgExport), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn export<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<tutti_domain::transfer::OrgExport>, ApiError> {
    let ctx = super::ctx(&state, &actor);
    Ok(Json(
        tutti_engine::transfer::export_org(&state.store, &actor, &ctx).await?,
    ))
}

/// Lists the org's members.
#[utoipa::path(get, path = "/api/v1/members", tag = "members", params(ListParams),
    responses((status = 200, body = PageOf<Member>), (status = 401, body = Problem)))]
pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<PageOf<Member>>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(
        state
            .store
            .members(actor.org_id, params.page()?)
            .await?
            .into(),
    ))
}

/// Adds a person or an AI worker (admins).
#[utoipa::path(post, path = "/api/v1/members", tag = "members", request_body = CreateMember,
    responses((status = 201, body = Member), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateMember>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let role = input.role.unwrap_or(Role::Member);
    let new = NewMember {
        kind: input.kind.unwrap_or(MemberKind::Human),
        name: input.name,
        email: input
            .email
            .as_deref()
            .map(|e| Email::parse("email", e))
            .transpose()?,
        role,
        teams: input.teams,
        role_card: optional("role_card", input.role_card, BODY_MAX)?,
        provider: optional("provider", input.provider, TITLE_MAX)?,
        model: optional("model", input.model, TITLE_MAX)?,
    };
    let enrolment = Enrolment {
        external: input.external,
        ..Enrolment::default()
    };
    let store = state.store.clone();
    let asker = actor.clone();
    super::create(
        &state,
        &actor,
        key,
        "POST /members",
        &body.digest,
        |ctx| async move { directory::enrol_member(&store, &asker, &ctx, new, enrolment).await },
    )
    .await
}

/// Shows a member.
#[utoipa::path(get, path = "/api/v1/members/{id}", tag = "members", params(("id" = Uuid, Path)),
    responses((status = 200, body = Member), (status = 404, body = Problem)))]
pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Member>, ApiError> {
    actor.may(Action::Read)?;
    Ok(Json(state.store.member(actor.org_id, id).await?))
}

/// Changes a member (admins; only owners touch owners).
#[utoipa::path(patch, path = "/api/v1/members/{id}", tag = "members", params(("id" = Uuid, Path)), request_body = UpdateMember,
    responses((status = 200, body = Member), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<UpdateMember>,
) -> Result<Json<Member>, ApiError> {
    let input = body.value;
    let patch = MemberPatch {
        name: input.name,
        role: input.role,
        teams: input.teams,
        role_card: input
            .role_card
            .map(|v| optional("role_card", v, BODY_MAX))
            .transpose()?,
        provider: input
            .provider
            .map(|v| optional("provider", v, TITLE_MAX))
            .transpose()?,
        model: input
            .model
            .map(|v| optional("model", v, TITLE_MAX))
            .transpose()?,
        concurrency: input.concurrency,
        external: input.external,
    };
    Ok(Json(
        directory::update_member(
            &state.store,
            &state.runtime,
            &actor,
            &ctx(&state, &actor),
            id,
            patch,
        )
        .await?,
    ))
}

/// Creates an API token for a member (for oneself; admins for anyone). The
/// token is in this response only; the server keeps just its hash.
#[utoipa::path(post, path = "/api/v1/members/{id}/tokens", tag = "members", params(("id" = Uuid, Path)), request_body = CreateToken,
    responses((status = 201, body = NewToken), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn create_token<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<CreateToken>,
) -> Result<Response, ApiError> {
    let (token, hash) =
        auth::new_token().map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
    let label = body.value.label.unwrap_or_default();
    let info = directory::create_token(
        &state.store,
        &actor,
        &ctx(&state, &actor),
        id,
        &label,
        &hash,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(NewToken::new(token, info))).into_response())
}
