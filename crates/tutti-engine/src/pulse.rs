//! Use cases of the team's voice: pulse surveys, their answers and their
//! results, and the org's settings for them.
//!
//! Leads and admins ask a team (and the teams below it); each person in it
//! answers a round once; AI workers neither ask nor answer. Every reader of
//! the results — a lead, an admin, an export — gets the same figures:
//! `tutti_domain::pulse::results` withholds whatever stands on fewer than
//! the org's *k* answers or would let so few be derived by subtraction.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use tutti_domain::access::{Action, Actor};
use tutti_domain::pulse::{
    Answer, GroupResult, Survey, VoiceSettings, atom_of, check_answers, check_questions,
    check_schedule, check_settings, groups, results, scope,
};
use tutti_domain::validate::{TITLE_MAX, text};
use tutti_store::prelude::*;
use tutti_store::{Ctx, NewSurvey, PageRequest};
use uuid::Uuid;

use crate::{EngineError, EngineResult};

/// The org's settings for the pulse and the workload view.
pub async fn settings<S: Store>(store: &S, actor: &Actor) -> EngineResult<VoiceSettings> {
    actor.may(Action::Read)?;
    Ok(store.voice_settings(actor.org_id).await?)
}

/// Sets them (admins): *k* never below 3.
pub async fn set_settings<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    settings: VoiceSettings,
) -> EngineResult<VoiceSettings> {
    actor.may(Action::ManageOrgSettings)?;
    let settings = check_settings(settings)?;
    Ok(store.set_voice_settings(ctx, settings).await?)
}

/// Asks a team for its pulse (its leads, admins).
pub async fn create<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    mut new: NewSurvey,
) -> EngineResult<Survey> {
    actor.may(Action::RunPulse {
        team_id: new.team_id,
    })?;
    new.title = text("title", &new.title, TITLE_MAX)?;
    new.questions = check_questions(&new.questions)?;
    check_schedule(
        new.opens_on,
        new.closes_on,
        new.repeat,
        new.enps_drop,
        new.score_drop,
    )?;
    Ok(store.create_survey(ctx, new).await?)
}

/// Ends a survey today (its team's leads, admins): the round open today
/// closes today, and no round opens after.
pub async fn end<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    survey_id: Uuid,
) -> EngineResult<Survey> {
    let today = org_today(store, actor.org_id, ctx.now).await?;
    let may = |survey: &Survey| -> tutti_domain::RuleResult<()> {
        Ok(actor.may(Action::RunPulse {
            team_id: survey.team_id,
        })?)
    };
    Ok(store.end_survey(ctx, survey_id, today, &may).await?)
}

/// Every team of the org: the team each hangs under, and its name.
async fn org_teams<S: Store>(
    store: &S,
    org_id: Uuid,
) -> EngineResult<(BTreeMap<Uuid, Option<Uuid>>, BTreeMap<Uuid, String>)> {
    let (mut parents, mut names) = (BTreeMap::new(), BTreeMap::new());
    let mut after = None;
    loop {
        let page = store
            .teams(
                org_id,
                PageRequest {
                    after,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        after = page.items.last().map(|t| t.id);
        for team in page.items {
            parents.insert(team.id, team.parent_id);
            names.insert(team.id, team.name);
        }
        if page.next_cursor.is_none() {
            return Ok((parents, names));
        }
    }
}

/// The day it is in the org's zone.
pub(crate) async fn org_today<S: Store>(
    store: &S,
    org_id: Uuid,
    now: DateTime<Utc>,
) -> EngineResult<NaiveDate> {
    Ok(now
        .with_timezone(&store.org(org_id).await?.zone())
        .date_naive())
}

/// A survey as one person sees it: the round open today, whether they are
/// asked and have answered it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SurveyForMe {
    #[serde(flatten)]
    pub survey: Survey,
    /// The round open today, if any (from 0).
    pub open_round: Option<u32>,
    /// Whether the reader belongs to the survey's team or a team below it
    /// (and is a person): whom the survey asks.
    pub asked: bool,
    /// Whether they have answered the open round.
    pub answered: bool,
    /// Whether they may read its results.
    pub may_read_results: bool,
}

/// A survey for its reader.
pub async fn for_me<S: Store>(
    store: &S,
    actor: &Actor,
    survey_id: Uuid,
    now: DateTime<Utc>,
) -> EngineResult<SurveyForMe> {
    actor.may(Action::Read)?;
    let survey = store.survey(actor.org_id, survey_id).await?;
    let today = org_today(store, actor.org_id, now).await?;
    let (parents, _) = org_teams(store, actor.org_id).await?;
    let asked = actor.may(Action::AnswerPulse).is_ok()
        && atom_of(&actor.teams, &scope(survey.team_id, &parents)).is_some();
    let open_round = survey.round_on(today);
    let answered = match open_round {
        Some(round) => store
            .answered_rounds(survey.id, actor.member_id)
            .await?
            .contains(&round),
        None => false,
    };
    let may_read_results = actor
        .may(Action::RunPulse {
            team_id: survey.team_id,
        })
        .is_ok();
    Ok(SurveyForMe {
        survey,
        open_round,
        asked,
        answered,
        may_read_results,
    })
}

/// The org's surveys (of one team when asked), each as its reader sees it.
pub async fn list<S: Store>(
    store: &S,
    actor: &Actor,
    team_id: Option<Uuid>,
    page: PageRequest,
    now: DateTime<Utc>,
) -> EngineResult<(Vec<SurveyForMe>, Option<String>)> {
    actor.may(Action::Read)?;
    let found = store.surveys(actor.org_id, team_id, page).await?;
    let mut surveys = Vec::with_capacity(found.items.len());
    for survey in found.items {
        surveys.push(for_me(store, actor, survey.id, now).await?);
    }
    Ok((surveys, found.next_cursor))
}

/// What answering tells the person: the round they answered. Nothing else,
/// and no id: there is nothing to look their response up by.
#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Answered {
    pub round: u32,
}

/// Answers the round open today, once. The response is filed under the
/// person's deepest team within the survey's scope, without them; the
/// context's idempotency key is dropped, since keeping the reply for it
/// would keep a hash of the answers beside the person.
pub async fn answer<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    survey_id: Uuid,
    answers: Vec<Option<Answer>>,
) -> EngineResult<Answered> {
    actor.may(Action::AnswerPulse)?;
    let survey = store.survey(actor.org_id, survey_id).await?;
    let today = org_today(store, actor.org_id, ctx.now).await?;
    let Some(round) = survey.round_on(today) else {
        return Err(EngineError::Conflict(format!(
            "the pulse “{}” has no round open today",
            survey.title
        )));
    };
    let (parents, _) = org_teams(store, actor.org_id).await?;
    let Some(team_id) = atom_of(&actor.teams, &scope(survey.team_id, &parents)) else {
        return Err(EngineError::Forbidden(
            "this pulse asks the people of another team".to_owned(),
        ));
    };
    let answers = check_answers(&survey.questions, &answers)?;
    let ctx = Ctx {
        idempotency: None,
        ..ctx.clone()
    };
    let response = tutti_domain::pulse::Response { team_id, answers };
    store
        .answer_pulse(&ctx, survey.id, round, &response)
        .await?;
    Ok(Answered { round })
}

/// One round's results.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoundResults {
    pub round: u32,
    pub opens_on: NaiveDate,
    pub closes_on: NaiveDate,
    /// Whether the round is still open: its figures may still move.
    pub open: bool,
    /// The survey's team first, then the teams below it.
    pub groups: Vec<GroupResult>,
}

/// A survey's results over its rounds, as anyone allowed to read them sees
/// them: nothing on fewer than `k` answers.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SurveyResults {
    pub survey: Survey,
    pub k: u32,
    /// Every round begun so far, latest first.
    pub rounds: Vec<RoundResults>,
    /// The names of the teams the groups are, by id.
    pub team_names: BTreeMap<Uuid, String>,
}

/// A survey's results (its team's leads, admins).
pub async fn results_of<S: Store>(
    store: &S,
    actor: &Actor,
    survey_id: Uuid,
    now: DateTime<Utc>,
) -> EngineResult<SurveyResults> {
    let survey = store.survey(actor.org_id, survey_id).await?;
    actor.may(Action::RunPulse {
        team_id: survey.team_id,
    })?;
    tabulate(store, actor.org_id, survey, now).await
}

/// The results of a survey, for whoever was allowed to ask (a reader, or
/// the signals).
pub async fn tabulate<S: Store>(
    store: &S,
    org_id: Uuid,
    survey: Survey,
    now: DateTime<Utc>,
) -> EngineResult<SurveyResults> {
    let k = store.voice_settings(org_id).await?.k;
    let today = org_today(store, org_id, now).await?;
    let (parents, mut names) = org_teams(store, org_id).await?;
    let inside = scope(survey.team_id, &parents);
    let mut groups = groups(&inside, &parents);
    // The survey's team first, then by depth: the broad figure leads.
    groups.sort_by_key(|(team, _)| (inside[team], *team));
    let mut by_round: BTreeMap<u32, Vec<tutti_domain::pulse::Response>> = BTreeMap::new();
    for (round, response) in store.responses(org_id, survey.id).await? {
        by_round.entry(round).or_default().push(response);
    }
    let open_round = survey.round_on(today);
    let rounds = (0..survey.rounds_begun(today))
        .rev()
        .filter_map(|round| {
            let (opens_on, closes_on) = survey.round_window(round)?;
            let responses = by_round.get(&round).map(Vec::as_slice).unwrap_or(&[]);
            Some(RoundResults {
                round,
                opens_on,
                closes_on,
                open: open_round == Some(round),
                groups: results(k, &survey.questions, &groups, responses),
            })
        })
        .collect();
    names.retain(|team, _| inside.contains_key(team));
    Ok(SurveyResults {
        survey,
        k,
        rounds,
        team_names: names,
    })
}
