//! `/pulse`: the team's voice — surveys, answering a round once, results
//! that never stand on fewer than the org's *k* answers — and `/workload`:
//! what each person and AI worker of a team carries. `/org/voice` holds the
//! org's settings for both.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use tutti_domain::org::MemberKind;
use tutti_domain::pulse::{
    Answer, ENPS_DROP_DEFAULT, Question, Repeat, SCORE_DROP_DEFAULT, Survey, VoiceSettings,
};
use tutti_engine::pulse::{self, Answered, SurveyForMe, SurveyResults};
use tutti_engine::workload::{self, Load, Workload};
use tutti_store::NewSurvey;
use tutti_store::prelude::*;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::alerts::Lang;
use super::{PageOf, ctx, page_request};
use crate::error::Problem;
use crate::extract::{ApiJson, ApiQuery, Auth, IdPath, IdempotencyKey};
use crate::{ApiError, AppState};

/// The org's settings for the pulse and the workload view.
#[utoipa::path(get, path = "/api/v1/org/voice", tag = "pulse",
    responses((status = 200, body = VoiceSettings), (status = 401, body = Problem)))]
pub async fn show_settings<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
) -> Result<Json<VoiceSettings>, ApiError> {
    Ok(Json(pulse::settings(&state.store, &actor).await?))
}

/// Sets them (admins): `k` between 3 and 10, the load limits.
#[utoipa::path(put, path = "/api/v1/org/voice", tag = "pulse", request_body = VoiceSettings,
    responses((status = 200, body = VoiceSettings), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn set_settings<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    body: ApiJson<VoiceSettings>,
) -> Result<Json<VoiceSettings>, ApiError> {
    let ctx = ctx(&state, &actor);
    Ok(Json(
        pulse::set_settings(&state.store, &actor, &ctx, body.value).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSurvey {
    /// The team asked, with every team below it.
    pub team_id: Uuid,
    pub title: String,
    /// One to twelve; the starter questions (`GET /pulse/starter`) when absent.
    #[serde(default)]
    pub questions: Option<Vec<Question>>,
    /// The first round's first and last day, in the org's zone.
    pub opens_on: NaiveDate,
    pub closes_on: NaiveDate,
    /// `once` (default), `biweekly` or `monthly`.
    #[serde(default)]
    pub repeat: Option<Repeat>,
    /// eNPS points a team may fall between rounds before the pulse-drop
    /// signal fires (default 20).
    #[serde(default)]
    pub enps_drop: Option<u32>,
    /// Score points (0–10) likewise (default 1).
    #[serde(default)]
    pub score_drop: Option<f64>,
    /// The starter questions' language when `questions` is absent: `de`
    /// (default) or `en`.
    #[serde(default)]
    pub lang: Option<Lang>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SurveyParams {
    pub team: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

/// The org's surveys, each with the round open today and whether the
/// reader is asked and has answered it.
#[utoipa::path(get, path = "/api/v1/pulse/surveys", tag = "pulse", params(SurveyParams),
    responses((status = 200, body = PageOf<SurveyForMe>), (status = 401, body = Problem)))]
pub async fn list<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<SurveyParams>,
) -> Result<Json<PageOf<SurveyForMe>>, ApiError> {
    let page = page_request(params.limit, params.cursor.as_deref())?;
    let (items, next_cursor) =
        pulse::list(&state.store, &actor, params.team, page, state.clock.now()).await?;
    Ok(Json(PageOf { items, next_cursor }))
}

fn german(lang: Option<Lang>) -> bool {
    !matches!(lang, Some(Lang::En))
}

/// Asks a team for its pulse (its leads, admins).
#[utoipa::path(post, path = "/api/v1/pulse/surveys", tag = "pulse", request_body = CreateSurvey,
    responses((status = 201, body = Survey), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    key: IdempotencyKey,
    body: ApiJson<CreateSurvey>,
) -> Result<Response, ApiError> {
    let input = body.value;
    let questions = match input.questions {
        Some(questions) => questions,
        None => tutti_domain::pulse::starter_questions(german(input.lang)),
    };
    let new = NewSurvey {
        team_id: input.team_id,
        title: input.title,
        questions,
        opens_on: input.opens_on,
        closes_on: input.closes_on,
        repeat: input.repeat.unwrap_or(Repeat::Once),
        enps_drop: input.enps_drop.unwrap_or(ENPS_DROP_DEFAULT),
        score_drop: input.score_drop.unwrap_or(SCORE_DROP_DEFAULT),
    };
    let store = state.store.clone();
    let asker = actor.clone();
    super::create(
        &state,
        &actor,
        key,
        "POST /pulse/surveys",
        &body.digest,
        |ctx| async move { pulse::create(&store, &asker, &ctx, new).await },
    )
    .await
}

/// A survey as its reader sees it.
#[utoipa::path(get, path = "/api/v1/pulse/surveys/{id}", tag = "pulse", params(("id" = Uuid, Path)),
    responses((status = 200, body = SurveyForMe), (status = 404, body = Problem)))]
pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<SurveyForMe>, ApiError> {
    Ok(Json(
        pulse::for_me(&state.store, &actor, id, state.clock.now()).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerSurvey {
    /// One per question, in order: a number for a scored question, text for
    /// a free-text one, `null` to skip it.
    #[schema(value_type = Vec<Object>)]
    pub answers: Vec<Option<Answer>>,
}

/// Answers the round open today, once (people of the survey's team and the
/// teams below it). The reply names the round and nothing else: a response
/// is kept without its person, and no idempotency key is honoured here,
/// since the kept reply would tie the request to them.
#[utoipa::path(post, path = "/api/v1/pulse/surveys/{id}/answers", tag = "pulse", params(("id" = Uuid, Path)),
    request_body = AnswerSurvey,
    responses((status = 201, body = Answered), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn answer<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
    body: ApiJson<AnswerSurvey>,
) -> Result<Response, ApiError> {
    let ctx = ctx(&state, &actor);
    let answered = pulse::answer(&state.store, &actor, &ctx, id, body.value.answers).await?;
    Ok((StatusCode::CREATED, Json(answered)).into_response())
}

/// Ends a survey today (its team's leads, admins): the round open today
/// closes today, and no round opens after. 409 when it has ended already.
#[utoipa::path(post, path = "/api/v1/pulse/surveys/{id}/end", tag = "pulse", params(("id" = Uuid, Path)),
    responses((status = 200, body = Survey), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem)))]
pub async fn end<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<Survey>, ApiError> {
    let ctx = ctx(&state, &actor);
    Ok(Json(pulse::end(&state.store, &actor, &ctx, id).await?))
}

/// A survey's results over its rounds, per team (its team's leads, admins):
/// every figure on at least `k` answers, none that subtracted from another
/// would tell what fewer said.
#[utoipa::path(get, path = "/api/v1/pulse/surveys/{id}/results", tag = "pulse", params(("id" = Uuid, Path)),
    responses((status = 200, body = SurveyResults), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn results<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    IdPath(id): IdPath,
) -> Result<Json<SurveyResults>, ApiError> {
    Ok(Json(
        pulse::results_of(&state.store, &actor, id, state.clock.now()).await?,
    ))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StarterParams {
    /// `de` (default) or `en`.
    pub lang: Option<Lang>,
}

/// The starter questions of a new pulse.
#[utoipa::path(get, path = "/api/v1/pulse/starter", tag = "pulse", params(StarterParams),
    responses((status = 200, body = Vec<Question>), (status = 422, body = Problem)))]
pub async fn starter(
    Auth(_actor): Auth,
    ApiQuery(params): ApiQuery<StarterParams>,
) -> Result<Json<Vec<Question>>, ApiError> {
    Ok(Json(tutti_domain::pulse::starter_questions(german(
        params.lang,
    ))))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkloadParams {
    /// A team; the whole org without.
    pub team: Option<Uuid>,
    /// `human` or `ai`: whom to suggest (for `/workload/candidates`).
    pub kind: Option<MemberKind>,
}

/// What each member of a team carries, with who is overloaded and why.
#[utoipa::path(get, path = "/api/v1/workload", tag = "pulse", params(WorkloadParams),
    responses((status = 200, body = Workload), (status = 404, body = Problem)))]
pub async fn show_workload<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<WorkloadParams>,
) -> Result<Json<Workload>, ApiError> {
    Ok(Json(
        workload::of_team(&state.store, &actor, params.team, state.clock.now()).await?,
    ))
}

/// Who could take new work: members of the team (of the kind asked) who
/// are not overloaded, those with the most room first.
#[utoipa::path(get, path = "/api/v1/workload/candidates", tag = "pulse", params(WorkloadParams),
    responses((status = 200, body = Vec<Load>), (status = 404, body = Problem)))]
pub async fn candidates<S: Store>(
    State(state): State<AppState<S>>,
    Auth(actor): Auth,
    ApiQuery(params): ApiQuery<WorkloadParams>,
) -> Result<Json<Vec<Load>>, ApiError> {
    Ok(Json(
        workload::who_could(
            &state.store,
            &actor,
            params.team,
            params.kind,
            state.clock.now(),
        )
        .await?,
    ))
}
