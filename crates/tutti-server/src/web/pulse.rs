//! The team's voice: pulse surveys and the workload view.
//!
//! `/pulse` lists the org's surveys with what each asks of the reader (a
//! round open and not yet answered), and lets leads and admins ask a team
//! from the starter questions. A survey's page is the answer form for the
//! people it asks and, for those who may read them, the results of each
//! round: every figure on at least *k* answers, each withheld figure with
//! why ("zu wenige Antworten"), and the trend over rounds. `/workload`
//! shows what each person and AI worker of a team carries, who is
//! overloaded and who has room; admins set *k* and the load limits there.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::access::Action;
use tutti_domain::org::{MemberKind, Team};
use tutti_domain::pulse::{
    Answer, Disclosure, ENPS_DROP_DEFAULT, Question, QuestionKind, Repeat, SCORE_DROP_DEFAULT,
    VoiceSettings,
};
use tutti_domain::workload::{LoadLimits, Overload};
use tutti_engine::pulse::{self, SurveyResults};
use tutti_engine::workload;
use tutti_i18n::Locale;
use tutti_store::prelude::*;
use tutti_store::{NewSurvey, PageRequest};
use uuid::Uuid;

use super::{Form, Nav, Web, optional_id, see_other};
use crate::{ApiError, AppState};

fn german(web: &Web) -> bool {
    web.locale() == Locale::De
}

/// Questions as the form writes them: one per line, `kind | text`.
fn question_lines(questions: &[Question]) -> String {
    questions
        .iter()
        .map(|q| format!("{} | {}", q.kind, q.text))
        .collect::<Vec<_>>()
        .join("\n")
}

fn parse_questions(text: &str) -> Result<Vec<Question>, ApiError> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .enumerate()
        .map(|(n, line)| {
            let (kind, text) = line.split_once('|').ok_or_else(|| {
                tutti_domain::Invalid::new(
                    "questions",
                    format!(
                        "line {}: write `kind | question` (scale, agree, enps, text)",
                        n + 1
                    ),
                )
            })?;
            let kind = kind.trim().parse::<QuestionKind>().map_err(|e| {
                tutti_domain::Invalid::new("questions", format!("line {}: {e}", n + 1))
            })?;
            Ok(Question {
                kind,
                text: text.trim().to_owned(),
            })
        })
        .collect()
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct SurveyForm {
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    opens_on: String,
    #[serde(default)]
    closes_on: String,
    #[serde(default)]
    repeat: String,
    #[serde(default)]
    questions: String,
}

/// The teams the reader may ask.
async fn teams_to_ask<S: Store>(state: &AppState<S>, web: &Web) -> Result<Vec<Team>, ApiError> {
    let all = PageRequest::first(PageRequest::MAX_LIMIT);
    Ok(state
        .store
        .teams(web.actor.org_id, all)
        .await?
        .items
        .into_iter()
        .filter(|t| web.actor.may(Action::RunPulse { team_id: t.id }).is_ok())
        .collect())
}

pub async fn page<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    let rendered = list_body(&state, &web, None).await;
    web.show(rendered, "pulse-title", Nav::People)
}

async fn list_body<S: Store>(
    state: &AppState<S>,
    web: &Web,
    draft: Option<(SurveyForm, Markup)>,
) -> Result<Markup, ApiError> {
    let t = &web.t;
    let now = state.clock.now();
    let (surveys, _) = pulse::list(
        &state.store,
        &web.actor,
        None,
        PageRequest::first(PageRequest::MAX_LIMIT),
        now,
    )
    .await?;
    let teams = teams_to_ask(state, web).await?;
    let all = PageRequest::first(PageRequest::MAX_LIMIT);
    let names: HashMap<Uuid, String> = state
        .store
        .teams(web.actor.org_id, all)
        .await?
        .items
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let today = now.with_timezone(&web.zone()).date_naive();
    let (form, problem) = match draft {
        Some((form, problem)) => (form, Some(problem)),
        None => (
            SurveyForm {
                title: t.get("pulse-default-title"),
                opens_on: today.to_string(),
                closes_on: (today + chrono::Days::new(4)).to_string(),
                repeat: Repeat::Biweekly.as_str().into(),
                questions: question_lines(&tutti_domain::pulse::starter_questions(german(web))),
                ..SurveyForm::default()
            },
            None,
        ),
    };
    Ok(html! {
        p.lede { (t.get("pulse-lede")) }
        p { a href="/workload" { (t.get("workload-title")) } }
        section.card aria-labelledby="pulse-h" {
            h2 #pulse-h { (t.get("pulse-list")) " " span.count { (surveys.len()) } }
            @if surveys.is_empty() { p.quiet { (t.get("pulse-none")) } }
            @else {
                table {
                    caption.visually-hidden { (t.get("pulse-list")) }
                    thead { tr {
                        th scope="col" { (t.get("pulse-survey")) }
                        th scope="col" { (t.get("filter-team")) }
                        th scope="col" { (t.get("pulse-round")) }
                        th scope="col" { (t.get("pulse-yours")) }
                    } }
                    tbody {
                        @for s in &surveys {
                            tr {
                                th scope="row" { a href=(format!("/pulse/{}", s.survey.id)) { (s.survey.title) } }
                                td { (names.get(&s.survey.team_id).cloned().unwrap_or_default()) }
                                td {
                                    @if let Some(round) = s.open_round {
                                        (t.with("pulse-round-open", &tutti_i18n::args([("round", (round + 1).to_string())])))
                                    } @else { span.quiet { (t.get("pulse-no-round")) } }
                                }
                                td {
                                    @if s.asked && s.open_round.is_some() && !s.answered {
                                        a.badge.warn href=(format!("/pulse/{}", s.survey.id)) { (t.get("pulse-answer-now")) }
                                    } @else if s.answered { span.badge { (t.get("pulse-answered")) } }
                                }
                            }
                        }
                    }
                }
            }
            @if !teams.is_empty() {
                details open[problem.is_some()] {
                    summary #pulse-new-h { (t.get("pulse-new")) }
                    @if let Some(problem) = &problem { (problem) }
                    form.stacked method="post" action="/pulse" aria-labelledby="pulse-new-h" {
                        (web.csrf_field())
                        label { (t.get("filter-team")) " "
                            select name="team" required {
                                @for team in &teams {
                                    option value=(team.id) selected[form.team.as_deref() == Some(team.id.to_string().as_str())] { (team.name) }
                                }
                            }
                        }
                        label { (t.get("pulse-survey")) " " input type="text" name="title" required maxlength="200" value=(form.title); }
                        label { (t.get("pulse-opens")) " " input type="date" name="opens_on" required value=(form.opens_on); }
                        label { (t.get("pulse-closes")) " " input type="date" name="closes_on" required value=(form.closes_on); }
                        label { (t.get("pulse-repeat")) " "
                            select name="repeat" {
                                @for r in Repeat::ALL {
                                    option value=(r.as_str()) selected[form.repeat == r.as_str()] { (t.get(&format!("pulse-repeat-{r}"))) }
                                }
                            }
                        }
                        label { (t.get("pulse-questions")) " " textarea name="questions" rows="7" { (form.questions) } }
                        p.quiet { (t.get("pulse-questions-hint")) }
                        button type="submit" { (t.get("pulse-create")) }
                    }
                }
            }
        }
    })
}

fn survey_of(value: &SurveyForm) -> Result<NewSurvey, ApiError> {
    let date = |field: &str, text: &str| {
        text.trim().parse::<NaiveDate>().map_err(|_| {
            ApiError::Invalid(tutti_domain::Invalid::new(
                field,
                format!("`{text}` is not a date like 2026-12-07"),
            ))
        })
    };
    let team_id = optional_id("team", &value.team)?
        .ok_or_else(|| tutti_domain::Invalid::new("team", "choose the team to ask"))?;
    Ok(NewSurvey {
        team_id,
        title: value.title.clone(),
        questions: parse_questions(&value.questions)?,
        opens_on: date("opens_on", &value.opens_on)?,
        closes_on: date("closes_on", &value.closes_on)?,
        repeat: value
            .repeat
            .parse()
            .map_err(|e| tutti_domain::Invalid::new("repeat", e))?,
        enps_drop: ENPS_DROP_DEFAULT,
        score_drop: SCORE_DROP_DEFAULT,
    })
}

pub async fn create<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<SurveyForm>,
) -> Response {
    let Form { web, value } = form;
    let made = async {
        let new = survey_of(&value)?;
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(pulse::create(&state.store, &web.actor, &ctx, new).await?)
    }
    .await;
    match made {
        Ok(survey) => see_other(&format!("/pulse/{}", survey.id)),
        Err(e @ ApiError::Invalid(_)) => {
            let problem = web.form_problem(&e);
            let rendered = list_body(&state, &web, Some((value, problem))).await;
            web.show_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                rendered,
                "pulse-title",
                Nav::People,
            )
        }
        Err(e) => web.error(e),
    }
}

pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<Uuid>,
    web: Web,
) -> Response {
    let rendered = survey_body(&state, &web, id, None).await;
    web.show(rendered, "pulse-title", Nav::People)
}

/// Why a figure is not shown, in the reader's words.
fn withheld(web: &Web, disclosure: &Disclosure<Uuid>, k: u32, names: &SurveyResults) -> String {
    let t = &web.t;
    match disclosure {
        Disclosure::Shown { .. } => String::new(),
        Disclosure::TooFew => t.with("pulse-too-few", &tutti_i18n::args([("k", k.to_string())])),
        Disclosure::Remainder { with } => t.with(
            "pulse-remainder",
            &tutti_i18n::args([(
                "team",
                names.team_names.get(with).cloned().unwrap_or_default(),
            )]),
        ),
    }
}

fn one_decimal(value: f64) -> String {
    format!("{value:.1}")
}

fn results_section(web: &Web, results: &SurveyResults) -> Markup {
    let t = &web.t;
    let k = results.k;
    let Some(latest) = results.rounds.first() else {
        return html! { p.quiet { (t.get("pulse-no-round-yet")) } };
    };
    let team = |id: &Uuid| results.team_names.get(id).cloned().unwrap_or_default();
    html! {
        section.card aria-labelledby="pulse-results-h" {
            h2 #pulse-results-h {
                (t.with("pulse-results-round", &tutti_i18n::args([
                    ("round", (latest.round + 1).to_string()),
                    ("from", t.date(latest.opens_on)),
                    ("to", t.date(latest.closes_on)),
                ])))
                @if latest.open { " " span.badge { (t.get("pulse-still-open")) } }
            }
            p.quiet { (t.with("pulse-k-rule", &tutti_i18n::args([("k", k.to_string())]))) }
            @for group in &latest.groups {
                h3 { (team(&group.team_id)) " · " (t.with("pulse-respondents", &tutti_i18n::args([("n", group.respondents.to_string())]))) }
                table {
                    caption.visually-hidden { (team(&group.team_id)) }
                    thead { tr {
                        th scope="col" { (t.get("pulse-question")) }
                        th scope="col" { (t.get("pulse-result")) }
                    } }
                    tbody {
                        @for (question, result) in results.survey.questions.iter().zip(&group.questions) {
                            tr {
                                th scope="row" { (question.text) }
                                td {
                                    @if !result.disclosure.is_shown() {
                                        span.quiet { (withheld(web, &result.disclosure, k, results)) }
                                    } @else if let Some(enps) = &result.enps {
                                        strong { "eNPS " (format!("{:+.0}", enps.score)) }
                                        " · " (t.with("pulse-enps-split", &tutti_i18n::args([
                                            ("promoters", enps.promoters.to_string()),
                                            ("passives", enps.passives.to_string()),
                                            ("detractors", enps.detractors.to_string()),
                                        ])))
                                    } @else if let Some(d) = &result.distribution {
                                        @if let Some(mean) = d.mean { strong { "Ø " (one_decimal(mean)) } " · " }
                                        span.quiet { (d.counts.iter().enumerate().filter(|(_, c)| **c > 0)
                                            .map(|(i, c)| format!("{}×{}", c, i + usize::from(d.lowest)))
                                            .collect::<Vec<_>>().join(", ")) }
                                    } @else {
                                        ul.comments {
                                            @for comment in &result.comments { li { (comment) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if results.rounds.len() > 1 {
                h3 { (t.get("pulse-trend")) }
                table {
                    caption.visually-hidden { (t.get("pulse-trend")) }
                    thead { tr {
                        th scope="col" { (t.get("pulse-round")) }
                        th scope="col" { (t.get("pulse-respondents-h")) }
                        th scope="col" { (t.get("pulse-score")) }
                        th scope="col" { "eNPS" }
                    } }
                    tbody {
                        @for round in &results.rounds {
                            @if let Some(top) = round.groups.first() {
                                tr {
                                    th scope="row" { (round.round + 1) " · " (t.date(round.opens_on)) }
                                    td { (top.respondents) }
                                    td { (top.score.map(one_decimal).unwrap_or_else(|| "–".into())) }
                                    td { (top.enps.map(|e| format!("{e:+.0}")).unwrap_or_else(|| "–".into())) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn survey_body<S: Store>(
    state: &AppState<S>,
    web: &Web,
    id: Uuid,
    problem: Option<Markup>,
) -> Result<Markup, ApiError> {
    let t = &web.t;
    let now = state.clock.now();
    let mine = pulse::for_me(&state.store, &web.actor, id, now).await?;
    let results = if mine.may_read_results {
        Some(pulse::results_of(&state.store, &web.actor, id, now).await?)
    } else {
        None
    };
    let survey = &mine.survey;
    Ok(html! {
        h2 { (survey.title) }
        p { a href="/pulse" { (t.get("pulse-back")) } }
        @if let Some(round) = mine.open_round.filter(|_| mine.asked) {
            section.card aria-labelledby="pulse-answer-h" {
                h2 #pulse-answer-h { (t.with("pulse-round-open", &tutti_i18n::args([("round", (round + 1).to_string())]))) }
                @if mine.answered {
                    p role="status" { (t.get("pulse-thanks")) }
                } @else {
                    p.quiet { (t.get("pulse-anonymous")) }
                    @if let Some(problem) = &problem { (problem) }
                    form.stacked method="post" action=(format!("/pulse/{id}/answer")) aria-labelledby="pulse-answer-h" {
                        (web.csrf_field())
                        @for (n, q) in survey.questions.iter().enumerate() {
                            @let name = format!("a{n}");
                            fieldset {
                                legend { (q.text) }
                                @match q.kind {
                                    QuestionKind::Text => {
                                        textarea name=(name) rows="3" maxlength="2000" aria-label=(q.text) {}
                                    }
                                    kind => {
                                        @let (low, high) = if kind == QuestionKind::Agree { (1u8, 5u8) } else { (0, 10) };
                                        span.scale {
                                            @for v in low..=high {
                                                label.inline { input type="radio" name=(name) value=(v); " " (v) }
                                            }
                                        }
                                        @if kind == QuestionKind::Agree { small.quiet { (t.get("pulse-agree-hint")) } }
                                        @else { small.quiet { (t.get("pulse-scale-hint")) } }
                                    }
                                }
                            }
                        }
                        button type="submit" { (t.get("pulse-send")) }
                    }
                }
            }
        } @else if mine.open_round.is_none() {
            p.quiet { (t.get("pulse-no-round")) }
        }
        @if let Some(results) = &results { (results_section(web, results)) }
        @if mine.may_read_results {
            @if let Some(end) = survey.ended_on {
                p.quiet { (t.with("pulse-ended", &tutti_i18n::args([("day", t.date(end))]))) }
            } @else {
                form.inline method="post" action=(format!("/pulse/{id}/end")) {
                    (web.csrf_field())
                    button.secondary type="submit" { (t.get("pulse-end")) }
                    " " small.quiet { (t.get("pulse-end-hint")) }
                }
            }
        }
    })
}

pub async fn end<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<Uuid>,
    form: Form<HashMap<String, String>>,
) -> Response {
    let web = form.web;
    let ctx = crate::api::ctx(&state, &web.actor);
    match pulse::end(&state.store, &web.actor, &ctx, id).await {
        Ok(_) => see_other(&format!("/pulse/{id}")),
        Err(e) => web.error(e),
    }
}

pub async fn answer<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<Uuid>,
    form: Form<HashMap<String, String>>,
) -> Response {
    let Form { web, value } = form;
    let sent = async {
        let survey = state.store.survey(web.actor.org_id, id).await?;
        let answers = survey
            .questions
            .iter()
            .enumerate()
            .map(|(n, q)| {
                let given = value.get(&format!("a{n}")).map(|v| v.trim()).unwrap_or("");
                match (q.kind, given) {
                    (_, "") => Ok(None),
                    (QuestionKind::Text, text) => Ok(Some(Answer::Comment(text.to_owned()))),
                    (_, number) => number
                        .parse::<u8>()
                        .map(|s| Some(Answer::Score(s)))
                        .map_err(|_| {
                            ApiError::Invalid(tutti_domain::Invalid::new(
                                format!("answers[{n}]"),
                                format!("`{number}` is not a whole number"),
                            ))
                        }),
                }
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(pulse::answer(&state.store, &web.actor, &ctx, id, answers).await?)
    }
    .await;
    match sent {
        Ok(_) => see_other(&format!("/pulse/{id}")),
        Err(e @ ApiError::Invalid(_)) => {
            let problem = web.form_problem(&e);
            let rendered = survey_body(&state, &web, id, Some(problem)).await;
            web.show_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                rendered,
                "pulse-title",
                Nav::People,
            )
        }
        Err(e) => web.error(e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct WorkloadQuery {
    #[serde(default)]
    team: Option<String>,
}

pub async fn workload_page<S: Store>(
    State(state): State<AppState<S>>,
    Query(query): Query<WorkloadQuery>,
    web: Web,
) -> Response {
    // Unasked, the reader's own team: the first they belong to, else lead.
    let team = match &query.team {
        None => web
            .actor
            .teams
            .first()
            .or(web.actor.led_teams.first())
            .copied(),
        Some(_) => match optional_id("team", &query.team) {
            Ok(team) => team,
            Err(e) => return web.error(e),
        },
    };
    let rendered = workload_body(&state, &web, team, None).await;
    web.show(rendered, "workload-title", Nav::People)
}

fn overload_words(web: &Web, overload: &Overload) -> String {
    let t = &web.t;
    match overload {
        Overload::OpenWork { open, limit } => t.with(
            "workload-open-over",
            &tutti_i18n::args([("open", open.to_string()), ("limit", limit.to_string())]),
        ),
        Overload::Overdue { overdue, limit } => t.with(
            "workload-overdue-over",
            &tutti_i18n::args([
                ("overdue", overdue.to_string()),
                ("limit", limit.to_string()),
            ]),
        ),
        Overload::LongQueue { queued, slots } => t.with(
            "workload-queue-over",
            &tutti_i18n::args([("queued", queued.to_string()), ("slots", slots.to_string())]),
        ),
    }
}

async fn workload_body<S: Store>(
    state: &AppState<S>,
    web: &Web,
    team: Option<Uuid>,
    problem: Option<Markup>,
) -> Result<Markup, ApiError> {
    let t = &web.t;
    let now = state.clock.now();
    let load = workload::of_team(&state.store, &web.actor, team, now).await?;
    let room = workload::room(&load, None);
    let settings = pulse::settings(&state.store, &web.actor).await?;
    let all = PageRequest::first(PageRequest::MAX_LIMIT);
    let teams = state.store.teams(web.actor.org_id, all).await?.items;
    let admin = web.actor.may(Action::ManageOrgSettings).is_ok();
    Ok(html! {
        p.lede { (t.get("workload-lede")) }
        form.inline method="get" action="/workload" {
            label { (t.get("filter-team")) " "
                select name="team" {
                    option value="" { (t.get("workload-all")) }
                    @for x in &teams { option value=(x.id) selected[team == Some(x.id)] { (x.name) } }
                }
            }
            " " button.secondary type="submit" { (t.get("workload-show")) }
        }
        section.card aria-labelledby="workload-h" {
            h2 #workload-h { (t.get("workload-title")) }
            table.workload {
                caption.visually-hidden { (t.get("workload-title")) }
                thead { tr {
                    th scope="col" { (t.get("workload-member")) }
                    th scope="col" { (t.get("workload-open")) }
                    th scope="col" { (t.get("work-state-blocked")) }
                    th scope="col" { (t.get("workload-due-soon")) }
                    th scope="col" { (t.get("workload-overdue")) }
                    th scope="col" { (t.get("workload-decisions")) }
                    th scope="col" { (t.get("workload-reviews")) }
                    th scope="col" { (t.get("workload-runs")) }
                    th scope="col" { (t.get("workload-state")) }
                } }
                tbody {
                    @for m in &load.members {
                        @let c = &m.carried;
                        tr id=(format!("load-{}", c.member_id)) {
                            th scope="row" { (c.name) @if c.kind == MemberKind::Ai { " " span.badge { "KI" } } }
                            td { (c.open()) " " small.quiet { "(" (c.backlog) " / " (c.ready) " / " (c.running) " / " (c.in_review) ")" } }
                            td { (c.blocked) }
                            td { (c.due_soon) }
                            td { (c.overdue) }
                            td { (c.decisions_waiting) }
                            td { (c.reviews_waiting) }
                            td { @if c.kind == MemberKind::Ai { (c.runs_queued) " / " (c.concurrency) } @else { "–" } }
                            td {
                                @if m.overloads.is_empty() { span.quiet { (format!("{:.0} %", m.used * 100.0)) } }
                                @else {
                                    span.badge.warn { (t.get("workload-overloaded")) }
                                    @for o in &m.overloads { br; small { (overload_words(web, o)) } }
                                }
                            }
                        }
                    }
                }
            }
            p.quiet { (t.get("workload-open-hint")) }
            h3 { (t.get("workload-who-could")) }
            @if room.is_empty() { p.quiet { (t.get("workload-nobody-free")) } }
            @else {
                p { (room.iter().take(5).map(|l| format!("{} ({:.0} %)", l.carried.name, l.used * 100.0)).collect::<Vec<_>>().join(" · ")) }
            }
        }
        @if admin {
            section.card aria-labelledby="voice-h" {
                h2 #voice-h { (t.get("voice-settings")) }
                @if let Some(problem) = &problem { (problem) }
                form.stacked method="post" action="/workload/settings" aria-labelledby="voice-h" {
                    (web.csrf_field())
                    label { (t.get("voice-k")) " " input type="number" name="k" min="3" max="10" required value=(settings.k); }
                    label { (t.get("voice-open")) " " input type="number" name="open" min="1" max="100" required value=(settings.load.open); }
                    label { (t.get("voice-overdue")) " " input type="number" name="overdue" min="0" max="50" required value=(settings.load.overdue); }
                    label { (t.get("voice-queue")) " " input type="number" name="queue_per_slot" min="1" max="20" required value=(settings.load.queue_per_slot); }
                    button type="submit" { (t.get("voice-save")) }
                }
            }
        }
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    k: String,
    #[serde(default)]
    open: String,
    #[serde(default)]
    overdue: String,
    #[serde(default)]
    queue_per_slot: String,
}

pub async fn set_settings<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<SettingsForm>,
) -> Response {
    let Form { web, value } = form;
    let number = |field: &str, text: &str| {
        text.trim().parse::<u32>().map_err(|_| {
            ApiError::Invalid(tutti_domain::Invalid::new(
                field,
                format!("`{text}` is not a whole number"),
            ))
        })
    };
    let saved = async {
        let settings = VoiceSettings {
            k: number("k", &value.k)?,
            load: LoadLimits {
                open: number("open", &value.open)?,
                overdue: number("overdue", &value.overdue)?,
                queue_per_slot: number("queue_per_slot", &value.queue_per_slot)?,
            },
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(pulse::set_settings(&state.store, &web.actor, &ctx, settings).await?)
    }
    .await;
    match saved {
        Ok(_) => see_other("/workload"),
        Err(e @ ApiError::Invalid(_)) => {
            let problem = web.form_problem(&e);
            let rendered = workload_body(&state, &web, None, Some(problem)).await;
            web.show_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                rendered,
                "workload-title",
                Nav::People,
            )
        }
        Err(e) => web.error(e),
    }
}
