//! Hand-overs: the flows with their quality gates, the cases moving through
//! them, and the learnings that flow back — the seed's "Wer sichert ab,
//! dass diese auch eingehalten werden können?" and "Wie fließen späte
//! Erkenntnisse zurück?".
//!
//! `/flows` shows, for a head of service, the cases held at a gate (past
//! their date first), the learnings waiting for an answer, and each flow as
//! a board of its stages. A case's page shows the gate ahead with its
//! criteria as judged now, a check form for the stage that receives it and
//! the verdict form; a gate's page its criteria, their versions and the
//! learnings that shaped them. Every form calls the engine's use case the
//! API calls, and is offered only to whom the rules allow.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDateTime;
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::access::Action;
use tutti_domain::service::{
    Amendment, Case, CaseStatus, CheckBy, CheckOutcome, Criterion, DataRule, Flow, Gate, Learning,
    LearningStatus, LearningSubject, Stage, Verdict, VerdictStatus,
};
use tutti_engine::flows::{self, CheckRequest, VerdictRequest};
use tutti_store::prelude::*;
use tutti_store::{CaseFilter, LearningFilter, NewCase, NewFlow, NewLearning, PageRequest};
use uuid::Uuid;

use super::{Form, Nav, Web, optional_id, see_other};
use crate::{ApiError, AppState};

/// Unfinished cases listed per stage on a board, longest waiting first; the
/// stage's count says how many there are in all.
const CASES_PER_STAGE: u32 = 15;
/// Learnings waiting shown.
const LEARNINGS_SHOWN: u32 = 50;

fn everything() -> PageRequest {
    PageRequest::first(PageRequest::MAX_LIMIT)
}

fn outcome_class(outcome: CheckOutcome) -> &'static str {
    match outcome {
        CheckOutcome::Passed => "ok",
        CheckOutcome::Failed => "risk",
        CheckOutcome::Pending => "warn",
        CheckOutcome::Unchecked => "",
    }
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct FlowForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    space: Option<String>,
    /// One stage per line: `Name` or `Name @ Team`.
    #[serde(default)]
    stages: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct CaseForm {
    #[serde(default)]
    flow: Option<String>,
    #[serde(default)]
    title: String,
    #[serde(default)]
    customer: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
pub struct LearningForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    body: String,
    /// `gate:ID` or `product:ID`.
    #[serde(default)]
    about: String,
    /// A criterion (for a gate) or a level (for a product) to add.
    #[serde(default)]
    proposal: String,
    #[serde(default)]
    team: Option<String>,
}

/// A flow on the overview: its gates, per stage the unfinished cases listed
/// and how many there are, and how many went through or were killed.
struct Board {
    flow: Flow,
    gates: Vec<Gate>,
    stages: Vec<(Vec<Case>, i64)>,
    done: i64,
    killed: i64,
}

/// A refused draft the overview shows again in its form.
#[derive(Default)]
struct Drafts {
    flow: Option<(FlowForm, Markup)>,
    case: Option<(CaseForm, Markup)>,
    learning: Option<(LearningForm, Markup)>,
}

pub async fn page<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    render(&state, &web, Drafts::default(), StatusCode::OK).await
}

async fn render<S: Store>(
    state: &AppState<S>,
    web: &Web,
    drafts: Drafts,
    status: StatusCode,
) -> Response {
    match overview(state, web, drafts).await {
        Ok(body) => web.page_with_status(status, &web.t.get("flows-title"), Nav::Service, body),
        Err(e) => web.error(e),
    }
}

/// Reads `Name` or `Name @ Team` lines into stages, naming teams by name.
fn stages_of(text: &str, teams: &[tutti_domain::org::Team]) -> Result<Vec<Stage>, ApiError> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| match line.rsplit_once('@') {
            Some((name, team)) => {
                let team = team.trim();
                let found = teams.iter().find(|t| t.name.eq_ignore_ascii_case(team));
                match found {
                    Some(t) => Ok(Stage {
                        name: name.trim().to_owned(),
                        team_id: Some(t.id),
                    }),
                    None => Err(tutti_domain::Invalid::new(
                        "stages",
                        format!("no team named `{team}`"),
                    )
                    .into()),
                }
            }
            None => Ok(Stage {
                name: line.to_owned(),
                team_id: None,
            }),
        })
        .collect()
}

/// Creates a flow; back to the overview, or the draft with why.
pub async fn create_flow<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<FlowForm>,
) -> Response {
    let Form { web, value } = form;
    let created = async {
        let teams = state
            .store
            .teams(web.actor.org_id, everything())
            .await?
            .items;
        let space_id = optional_id("space_id", &value.space)?.ok_or_else(|| {
            ApiError::from(tutti_domain::Invalid::new(
                "space_id",
                "choose a decision space",
            ))
        })?;
        let new = NewFlow {
            name: value.name.clone(),
            description: value.description.clone(),
            stages: stages_of(&value.stages, &teams)?,
            space_id,
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(
            flows::create_flow(&state.store, &web.actor, &ctx, new)
                .await?
                .id,
        )
    }
    .await;
    match created {
        Ok(id) => see_other(&format!("/flows#flow-{id}")),
        Err(e @ (ApiError::Invalid(_) | ApiError::Malformed { .. })) => {
            let drafts = Drafts {
                flow: Some((value, web.form_problem(&e))),
                ..Drafts::default()
            };
            render(&state, &web, drafts, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => web.error(e),
    }
}

/// Opens a case; to its page, or the draft with why.
pub async fn open_case<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<CaseForm>,
) -> Response {
    let Form { web, value } = form;
    let opened = async {
        let flow_id = optional_id("flow_id", &value.flow)?.ok_or_else(|| {
            ApiError::from(tutti_domain::Invalid::new("flow_id", "choose a flow"))
        })?;
        let new = NewCase {
            flow_id,
            title: value.title.clone(),
            customer: value.customer.clone(),
            work_item_id: None,
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(
            flows::open_case(&state.store, &web.actor, &ctx, new)
                .await?
                .id,
        )
    }
    .await;
    match opened {
        Ok(id) => see_other(&format!("/cases/{id}")),
        Err(e @ (ApiError::Invalid(_) | ApiError::Malformed { .. })) => {
            let drafts = Drafts {
                case: Some((value, web.form_problem(&e))),
                ..Drafts::default()
            };
            render(&state, &web, drafts, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => web.error(e),
    }
}

/// Writes a learning; its proposal adds a criterion (checked by a person)
/// to the gate's current ones, or a level to the product's.
pub async fn write_learning<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<LearningForm>,
) -> Response {
    let Form { web, value } = form;
    let written = async {
        let org_id = web.actor.org_id;
        let mut subject = LearningSubject::default();
        let proposal = value.proposal.trim().to_owned();
        let mut amendment = None;
        match value.about.split_once(':') {
            Some(("gate", id)) => {
                let id = optional_id("about", &Some(id.to_owned()))?;
                subject.gate_id = id;
                if let (Some(id), false) = (id, proposal.is_empty()) {
                    let mut criteria = state.store.gate(org_id, id).await?.criteria;
                    criteria.push(Criterion {
                        text: proposal.clone(),
                        check_by: CheckBy::Person,
                        rule: None,
                        worker_id: None,
                    });
                    amendment = Some(Amendment::Criteria { criteria });
                }
            }
            Some(("product", id)) => {
                let id = optional_id("about", &Some(id.to_owned()))?;
                subject.service_product_id = id;
                if let (Some(id), false) = (id, proposal.is_empty()) {
                    let mut levels = state.store.service_product(org_id, id).await?.levels;
                    levels.push(proposal.clone());
                    amendment = Some(Amendment::Levels { levels });
                }
            }
            _ => {
                return Err(ApiError::from(tutti_domain::Invalid::new(
                    "about",
                    "choose the gate or service product the learning concerns",
                )));
            }
        }
        let new = NewLearning {
            title: value.title.clone(),
            body: value.body.clone(),
            team_id: optional_id("team_id", &value.team)?,
            subject,
            amendment,
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(
            flows::write_learning(&state.store, &web.actor, &ctx, new)
                .await?
                .id,
        )
    }
    .await;
    match written {
        Ok(id) => see_other(&format!("/flows#learning-{id}")),
        Err(e @ (ApiError::Invalid(_) | ApiError::Malformed { .. })) => {
            let drafts = Drafts {
                learning: Some((value, web.form_problem(&e))),
                ..Drafts::default()
            };
            render(&state, &web, drafts, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => web.error(e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AnswerForm {
    #[serde(default)]
    answer: String,
    /// Where to go back to.
    #[serde(default)]
    back: String,
}

/// Accepts or declines a learning.
pub async fn answer_learning<S: Store>(
    State(state): State<AppState<S>>,
    Path((id, how)): Path<(String, String)>,
    form: Form<AnswerForm>,
) -> Response {
    let Form { web, value } = form;
    let Ok(id) = id.parse::<Uuid>() else {
        return web.error(ApiError::NotFound("learning"));
    };
    let accept = match how.as_str() {
        "accept" => true,
        "decline" => false,
        _ => return web.error(ApiError::NotFound("answer")),
    };
    let ctx = crate::api::ctx(&state, &web.actor);
    match flows::answer_learning(&state.store, &web.actor, &ctx, id, accept, value.answer).await {
        Ok(_) if value.back.starts_with("/gates/") => see_other(&value.back),
        Ok(_) => see_other(&format!("/flows#learning-{id}")),
        Err(e) => web.error(e),
    }
}

async fn overview<S: Store>(
    state: &AppState<S>,
    web: &Web,
    drafts: Drafts,
) -> Result<Markup, ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let now = state.clock.now();
    let all_flows = state.store.flows(org_id, everything()).await?.items;
    let teams = state.store.teams(org_id, everything()).await?.items;
    let spaces = state.store.spaces(org_id, everything()).await?.items;
    let products = state
        .store
        .service_products(org_id, everything())
        .await?
        .items;
    let mut boards: Vec<Board> = Vec::with_capacity(all_flows.len());
    for flow in all_flows {
        let gates = state.store.gates(org_id, flow.id).await?;
        let counts = state.store.case_counts(org_id, flow.id).await?;
        let mut stages = Vec::with_capacity(flow.stages.len());
        for position in 0..flow.stages.len() as i64 {
            let filter = CaseFilter {
                flow_id: Some(flow.id),
                stage: Some(position),
                unfinished: true,
                ..CaseFilter::default()
            };
            let listed = state
                .store
                .cases(org_id, &filter, PageRequest::first(CASES_PER_STAGE))
                .await?
                .items;
            let open = counts
                .iter()
                .filter(|c| c.stage == position && !c.status.is_final())
                .map(|c| c.count)
                .sum::<i64>();
            stages.push((listed, open));
        }
        let closed = |status: CaseStatus| -> i64 {
            counts
                .iter()
                .filter(|c| c.status == status)
                .map(|c| c.count)
                .sum()
        };
        let (done, killed) = (closed(CaseStatus::Completed), closed(CaseStatus::Killed));
        boards.push(Board {
            flow,
            gates,
            stages,
            done,
            killed,
        });
    }
    let held_filter = CaseFilter {
        status: Some(CaseStatus::OnHold),
        ..CaseFilter::default()
    };
    let mut held = state
        .store
        .cases(org_id, &held_filter, PageRequest::first(LEARNINGS_SHOWN))
        .await?
        .items;
    held.sort_by_key(|c| c.hold_until);
    let flow_of = |id: Uuid| boards.iter().find(|b| b.flow.id == id).map(|b| &b.flow);
    let waiting = state
        .store
        .learnings(
            org_id,
            &LearningFilter {
                status: Some(LearningStatus::Open),
                ..LearningFilter::default()
            },
            PageRequest::first(LEARNINGS_SHOWN),
        )
        .await?
        .items;
    let gate_names: HashMap<Uuid, String> = boards
        .iter()
        .flat_map(|b| b.gates.iter().map(|g| (g.id, g.name.clone())))
        .collect();
    let team_name = |id: Option<Uuid>| {
        id.and_then(|id| teams.iter().find(|t| t.id == id))
            .map_or_else(|| "–".to_owned(), |t| t.name.clone())
    };
    let shapes = web.actor.may(Action::ManageFlows).is_ok();
    let writes = web.actor.may(Action::WriteLearning).is_ok();
    let openable: Vec<&Flow> = boards
        .iter()
        .map(|b| &b.flow)
        .filter(|flow| {
            web.actor
                .may(Action::OpenCase {
                    team_id: flow.stage_team(0),
                })
                .is_ok()
        })
        .collect();
    let (flow_form, flow_problem) = drafts
        .flow
        .map_or((FlowForm::default(), None), |(f, p)| (f, Some(p)));
    let (case_form, case_problem) = drafts
        .case
        .map_or((CaseForm::default(), None), |(f, p)| (f, Some(p)));
    let (learning_form, learning_problem) = drafts
        .learning
        .map_or((LearningForm::default(), None), |(f, p)| (f, Some(p)));
    Ok(html! {
        p.lede { (t.get("flows-lede")) " " a href="/service" { (t.get("flows-to-promises")) } }
        section.card aria-labelledby="held-h" {
            h2 #held-h { (t.get("flows-held")) " " span.count { (held.len()) } }
            @if held.is_empty() { p.quiet { (t.get("flows-held-none")) } }
            ul {
                @for case in &held {
                    li {
                        a href=(format!("/cases/{}", case.id)) { (case.title) }
                        @if let Some(flow) = flow_of(case.flow_id) { " · " (flow.stage_name(case.stage)) }
                        @if let Some(until) = case.hold_until {
                            " · "
                            @if until < now { span.badge.risk { (t.with("flows-held-overdue", &tutti_i18n::args([("date", t.datetime(until))]))) } }
                            @else { (t.with("flows-held-until", &tutti_i18n::args([("date", t.datetime(until))]))) }
                        }
                        @if !case.hold_reason.is_empty() { " — " q { (case.hold_reason) } }
                    }
                }
            }
        }
        section.card aria-labelledby="learnings-h" {
            h2 #learnings-h { (t.get("learnings-waiting")) " " span.count { (waiting.len()) } }
            @if waiting.is_empty() { p.quiet { (t.get("learnings-waiting-none")) } }
            ul.learnings {
                @for learning in &waiting {
                    li id=(format!("learning-{}", learning.id)) {
                        (learning_line(web, learning, &gate_names, &products, &team_name, "/flows"))
                    }
                }
            }
            @if writes && (!gate_names.is_empty() || !products.is_empty()) {
                details open[learning_problem.is_some()] {
                    summary #learning-new-h { (t.get("learning-new")) }
                    @if let Some(problem) = &learning_problem { (problem) }
                    form.stacked method="post" action="/learnings" aria-labelledby="learning-new-h" {
                        (web.csrf_field())
                        label { (t.get("learning-title")) " " input type="text" name="title" required maxlength="200" value=(learning_form.title); }
                        label { (t.get("learning-body")) " " textarea name="body" rows="3" maxlength="20000" { (learning_form.body) } }
                        label { (t.get("learning-about")) " "
                            select name="about" required {
                                @for board in &boards {
                                    optgroup label=(board.flow.name) {
                                        @for gate in &board.gates {
                                            @let value = format!("gate:{}", gate.id);
                                            option value=(value) selected[learning_form.about == value] { (t.get("learning-about-gate")) " " (gate.name) }
                                        }
                                    }
                                }
                                @if !products.is_empty() {
                                    optgroup label=(t.get("service-catalogue")) {
                                        @for product in &products {
                                            @let value = format!("product:{}", product.id);
                                            option value=(value) selected[learning_form.about == value] { (product.name) }
                                        }
                                    }
                                }
                            }
                        }
                        label { (t.get("learning-proposal")) " " input type="text" name="proposal" maxlength="200" value=(learning_form.proposal); }
                        label { (t.get("learning-team")) " "
                            select name="team" {
                                option value="" { "–" }
                                @for team in &teams { option value=(team.id) selected[learning_form.team.as_deref() == Some(team.id.to_string().as_str())] { (team.name) } }
                            }
                        }
                        button type="submit" { (t.get("learning-save")) }
                    }
                }
            }
        }
        @for board in &boards {
            @let flow = &board.flow;
            section.card id=(format!("flow-{}", flow.id)) aria-labelledby=(format!("flow-{}-h", flow.id)) {
                h2 id=(format!("flow-{}-h", flow.id)) { (flow.name) }
                @if !flow.description.is_empty() { p.quiet { (flow.description) } }
                div.stages {
                    @for ((position, stage), (here, open)) in flow.stages.iter().enumerate().zip(&board.stages) {
                        @let position = position as i64;
                        section.stage aria-label=(stage.name) {
                            h3 { (stage.name) " " span.count { (open) } }
                            p.quiet { (team_name(stage.team_id)) }
                            ul {
                                @for case in here {
                                    li {
                                        a href=(format!("/cases/{}", case.id)) { (case.title) }
                                        @if case.status == CaseStatus::OnHold { " " span.badge.warn { (t.get("case-status-on_hold")) } }
                                        @if !case.redo.is_empty() { " " span.badge { (t.get("case-recycled")) } }
                                    }
                                }
                            }
                            @if (here.len() as i64) < *open { p.quiet { (t.with("flows-stage-more", &tutti_i18n::args([("count", (*open - here.len() as i64).to_string())]))) } }
                            @if let Some(gate) = board.gates.iter().find(|g| g.position == position) {
                                p.gate { a href=(format!("/gates/{}", gate.id)) { (t.with("flows-gate-link", &tutti_i18n::args([("count", gate.criteria.len().to_string())]))) } }
                            }
                        }
                    }
                }
                p.quiet { (t.with("flows-closed", &tutti_i18n::args([("done", board.done.to_string()), ("killed", board.killed.to_string())]))) }
            }
        }
        @if boards.is_empty() { section.card { p.quiet { (t.get("flows-none")) } } }
        @if !openable.is_empty() {
            section.card aria-labelledby="case-new-h" {
                h2 #case-new-h { (t.get("case-new")) }
                @if let Some(problem) = &case_problem { (problem) }
                form.stacked method="post" action="/cases" aria-labelledby="case-new-h" {
                    (web.csrf_field())
                    label { (t.get("case-flow")) " "
                        select name="flow" required {
                            @for flow in &openable { option value=(flow.id) selected[case_form.flow.as_deref() == Some(flow.id.to_string().as_str())] { (flow.name) } }
                        }
                    }
                    label { (t.get("case-title")) " " input type="text" name="title" required maxlength="200" value=(case_form.title); }
                    label { (t.get("promise-customer")) " " input type="text" name="customer" maxlength="200" value=(case_form.customer); }
                    button type="submit" { (t.get("case-new-save")) }
                }
            }
        }
        @if shapes {
            section.card aria-labelledby="flow-new-h" {
                details open[flow_problem.is_some()] {
                    summary #flow-new-h { (t.get("flow-new")) }
                    @if let Some(problem) = &flow_problem { (problem) }
                    form.stacked method="post" action="/flows" aria-labelledby="flow-new-h" {
                        (web.csrf_field())
                        label { (t.get("flow-name")) " " input type="text" name="name" required maxlength="200" value=(flow_form.name); }
                        label { (t.get("flow-description")) " " textarea name="description" rows="2" maxlength="20000" { (flow_form.description) } }
                        label { (t.get("flow-stages")) " " textarea name="stages" rows="4" required placeholder="Vertrieb @ Vertrieb\nMontage @ Montage" { (flow_form.stages) } }
                        label { (t.get("flow-space")) " "
                            select name="space" required {
                                @for space in &spaces { option value=(space.id) selected[flow_form.space.as_deref() == Some(space.id.to_string().as_str())] { (space.name) } }
                            }
                        }
                        @if spaces.is_empty() { p.quiet { (t.get("flow-space-none")) " " a href="/decisions" { (t.get("nav-decisions")) } } }
                        button type="submit" { (t.get("flow-save")) }
                    }
                }
            }
        }
    })
}

/// One learning: what happened, what it concerns, what it proposes, and —
/// for whom may answer it — the answer forms.
fn learning_line(
    web: &Web,
    learning: &Learning,
    gate_names: &HashMap<Uuid, String>,
    products: &[tutti_domain::service::ServiceProduct],
    team_name: &dyn Fn(Option<Uuid>) -> String,
    back: &str,
) -> Markup {
    let t = &web.t;
    let about = learning
        .subject
        .gate_id
        .map(|id| {
            let name = gate_names.get(&id).cloned().unwrap_or_else(|| "–".into());
            html! { a href=(format!("/gates/{id}")) { (t.get("learning-about-gate")) " " (name) } }
        })
        .or_else(|| {
            learning.subject.service_product_id.map(|id| {
                let name = products
                    .iter()
                    .find(|p| p.id == id)
                    .map_or("–", |p| p.name.as_str());
                html! { (name) }
            })
        });
    let proposed: Option<String> = match &learning.amendment {
        Some(Amendment::Criteria { criteria }) => criteria.last().map(|c| c.text.clone()),
        Some(Amendment::Levels { levels }) => levels.last().cloned(),
        None => None,
    };
    let answers =
        learning.status == LearningStatus::Open && flows::may_answer(&web.actor, learning).is_ok();
    let action = |how: &str| format!("/learnings/{}/{how}", learning.id);
    html! {
        strong { (learning.title) }
        " · " (team_name(learning.team_id))
        @if let Some(about) = about { " · " (about) }
        " · " span.badge { (t.get(&format!("learning-status-{}", learning.status))) }
        @if !learning.body.is_empty() { br; (learning.body) }
        @if let Some(proposed) = proposed { br; small { (t.get("learning-proposes")) " " q { (proposed) } } }
        @if !learning.answer.is_empty() { br; small.quiet { (t.get("learning-answer")) " " (learning.answer) } }
        @if answers {
            div {
                form.inline method="post" action=(action("accept")) {
                    (web.csrf_field())
                    input type="hidden" name="back" value=(back);
                    button type="submit" { (t.get("learning-accept")) }
                }
                form.inline method="post" action=(action("decline")) {
                    (web.csrf_field())
                    input type="hidden" name="back" value=(back);
                    label { span.visually-hidden { (t.get("learning-why-not")) } input type="text" name="answer" required maxlength="2000" placeholder=(t.get("learning-why-not")); }
                    button.secondary type="submit" { (t.get("learning-decline")) }
                }
            }
        }
    }
}

/// A case's page: where it stands, the gate ahead with its criteria, the
/// check and verdict forms, and its verdicts so far.
pub async fn case_page<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    web: Web,
) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return web.error(ApiError::NotFound("case"));
    };
    render_case(&state, &web, id, None, StatusCode::OK).await
}

async fn render_case<S: Store>(
    state: &AppState<S>,
    web: &Web,
    id: Uuid,
    problem: Option<Markup>,
    status: StatusCode,
) -> Response {
    shown(web, status, case_body(state, web, id, problem).await)
}

/// A page with its title, or the error that kept it from being made.
fn shown(web: &Web, status: StatusCode, made: Result<(String, Markup), ApiError>) -> Response {
    match made {
        Ok((title, body)) => web.page_with_status(status, &title, Nav::Service, body),
        Err(e) => web.error(e),
    }
}

async fn case_body<S: Store>(
    state: &AppState<S>,
    web: &Web,
    id: Uuid,
    problem: Option<Markup>,
) -> Result<(String, Markup), ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let view = crate::api::flows::case_view(&state.store, org_id, id, state.clock.now()).await?;
    let flow = state.store.flow(org_id, view.case.flow_id).await?;
    let members: HashMap<Uuid, String> = state
        .store
        .members(org_id, everything())
        .await?
        .items
        .into_iter()
        .map(|m| (m.id, m.name))
        .collect();
    let name = |id: Option<Uuid>| {
        id.and_then(|id| members.get(&id).cloned())
            .unwrap_or_else(|| "–".into())
    };
    let case = &view.case;
    let checks_here = view.gate.as_ref().is_some_and(|gate| {
        !case.status.is_final()
            && web
                .actor
                .may(Action::CheckCriterion {
                    receiving_team_id: flow.stage_team(gate.position + 1),
                })
                .is_ok()
    });
    let proposes = view.gate.is_some()
        && !case.status.is_final()
        && web.actor.may(Action::RequestDecision).is_ok()
        && !view
            .verdicts
            .iter()
            .any(|v| v.status == VerdictStatus::Pending);
    let gate_names: HashMap<Uuid, String> = state
        .store
        .gates(org_id, flow.id)
        .await?
        .into_iter()
        .map(|g| (g.id, g.name))
        .collect();
    let action = |what: &str| format!("/cases/{}/{what}", case.id);
    let body = html! {
        p.lede {
            a href=(format!("/flows#flow-{}", flow.id)) { (flow.name) }
            @if !case.customer.is_empty() { " · " (case.customer) }
            " · " span.badge { (t.get(&format!("case-status-{}", case.status))) }
        }
        ol.stages-progress aria-label=(t.get("case-stages")) {
            @for (position, stage) in flow.stages.iter().enumerate() {
                @let position = position as i64;
                li aria-current=[(position == case.stage).then_some("step")] class=[(position < case.stage).then_some("passed")] { (stage.name) }
            }
        }
        @if case.status == CaseStatus::OnHold {
            p.problem role="status" {
                (t.get("case-held")) " "
                @if let Some(until) = case.hold_until { (t.with("flows-held-until", &tutti_i18n::args([("date", t.datetime(until))]))) " " }
                "— " (case.hold_reason)
            }
        }
        @if !case.redo.is_empty() { p role="status" { strong { (t.get("case-redo")) } " " (case.redo) } }
        @if let Some(problem) = &problem { (problem) }
        @if view.criteria.iter().any(|c| c.outcome == CheckOutcome::Pending) {
            // While an AI worker checks, the page looks again every few
            // seconds and shows its answer when it comes.
            div hx-get=(format!("/cases/{}", case.id)) hx-trigger="load delay:3s" hx-select="#main" hx-target="#main" hx-swap="outerHTML" {}
        }
        @if let Some(gate) = &view.gate {
            section.card aria-labelledby="gate-h" {
                h2 #gate-h { (t.get("case-gate-ahead")) " " a href=(format!("/gates/{}", gate.id)) { (gate.name) } }
                @if view.criteria.is_empty() { p.quiet { (t.get("gate-criteria-none")) } }
                @else {
                    table {
                        caption { (t.with("gate-criteria-version", &tutti_i18n::args([("version", gate.version.to_string())]))) }
                        thead { tr {
                            th scope="col" { (t.get("criterion")) } th scope="col" { (t.get("criterion-by")) }
                            th scope="col" { (t.get("criterion-outcome")) } th scope="col" { (t.get("criterion-check")) }
                        } }
                        tbody {
                            @for (i, result) in view.criteria.iter().enumerate() {
                                tr {
                                    th scope="row" { (result.text) }
                                    td { (t.get(&format!("check-by-{}", result.check_by))) }
                                    td {
                                        span class=(format!("badge {}", outcome_class(result.outcome))) { (t.get(&format!("check-outcome-{}", result.outcome))) }
                                        @if !result.reason.is_empty() { br; small { (result.reason) } }
                                        @if result.checked_by.is_some() { br; small.quiet { (name(result.checked_by)) } }
                                    }
                                    td {
                                        @if checks_here {
                                            @match result.check_by {
                                                CheckBy::Person => {
                                                    form.inline method="post" action=(action("checks")) {
                                                        (web.csrf_field())
                                                        input type="hidden" name="criterion" value=(result.text);
                                                        label { span.visually-hidden { (t.get("criterion-reason")) } input type="text" name="reason" maxlength="2000" placeholder=(t.get("criterion-reason")) id=(format!("reason-{i}")); }
                                                        button type="submit" name="passed" value="yes" { (t.get("criterion-pass")) }
                                                        button.secondary type="submit" name="passed" value="no" { (t.get("criterion-fail")) }
                                                    }
                                                }
                                                CheckBy::Ai => {
                                                    @if result.outcome != CheckOutcome::Pending {
                                                        form.inline method="post" action=(action("checks")) {
                                                            (web.csrf_field())
                                                            input type="hidden" name="criterion" value=(result.text);
                                                            button.secondary type="submit" { (t.get("criterion-ask-ai")) }
                                                        }
                                                    }
                                                }
                                                CheckBy::Rule => { small.quiet { (t.get("criterion-rule-itself")) } }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                @if proposes {
                    form.stacked method="post" action=(action("verdicts")) aria-labelledby="verdict-h" {
                        h3 #verdict-h { (t.get("verdict-propose")) }
                        (web.csrf_field())
                        fieldset {
                            legend { (t.get("verdict")) }
                            @for verdict in Verdict::ALL {
                                label.choice { input type="radio" name="verdict" value=(verdict.as_str()) required checked[*verdict == Verdict::Go]; " " (t.get(&format!("verdict-{verdict}"))) }
                            }
                        }
                        label { (t.get("verdict-reason")) " " input type="text" name="reason" maxlength="2000"; }
                        label { (t.get("verdict-until")) " " input type="datetime-local" name="until"; }
                        label { (t.get("verdict-redo")) " " input type="text" name="redo" maxlength="2000"; }
                        p.quiet { (t.get("verdict-is-decision")) }
                        button type="submit" { (t.get("verdict-save")) }
                    }
                }
            }
        } @else {
            p.quiet { (t.get("case-through")) }
        }
        section.card aria-labelledby="verdicts-h" {
            h2 #verdicts-h { (t.get("case-verdicts")) " " span.count { (view.verdicts.len()) } }
            @if view.verdicts.is_empty() { p.quiet { (t.get("case-verdicts-none")) } }
            ol.verdicts {
                @for verdict in view.verdicts.iter().rev() {
                    li {
                        strong { (t.get(&format!("verdict-{}", verdict.given.as_ref().map_or(verdict.proposed.verdict, |g| g.verdict)))) }
                        " · " (gate_names.get(&verdict.gate_id).map_or("–", String::as_str))
                        " · " span.badge { (t.get(&format!("verdict-status-{}", verdict.status))) }
                        " · " (name(Some(verdict.proposed_by))) ", " (t.datetime(verdict.proposed_at))
                        " · " a href=(format!("/decisions/{}", verdict.decision_id)) { (t.get("verdict-decision")) }
                        @let terms = verdict.given.as_ref().unwrap_or(&verdict.proposed);
                        @if !terms.reason.is_empty() { br; (terms.reason) }
                        @if !terms.redo.is_empty() { br; (t.get("case-redo")) " " (terms.redo) }
                        @if verdict.status == VerdictStatus::Refused { br; small.quiet { span lang="en" { (verdict.note) } } }
                        details {
                            summary { (t.with("verdict-snapshot", &tutti_i18n::args([("version", verdict.gate_version.to_string())]))) }
                            ul { @for result in &verdict.snapshot {
                                li { (result.text) ": " (t.get(&format!("check-outcome-{}", result.outcome)))
                                    @if !result.reason.is_empty() { " — " (result.reason) } }
                            } }
                        }
                    }
                }
            }
        }
    };
    Ok((case.title.clone(), body))
}

#[derive(Debug, Default, Deserialize)]
pub struct CheckForm {
    #[serde(default)]
    criterion: String,
    /// `yes`, `no`, or empty for an AI worker's criterion.
    #[serde(default)]
    passed: String,
    #[serde(default)]
    reason: String,
}

/// Checks a criterion, or asks its AI worker to; back to the case.
pub async fn check<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    form: Form<CheckForm>,
) -> Response {
    let Form { web, value } = form;
    let Ok(id) = id.parse::<Uuid>() else {
        return web.error(ApiError::NotFound("case"));
    };
    let passed = match value.passed.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    let request = CheckRequest {
        criterion: value.criterion,
        passed,
        reason: value.reason,
    };
    let ctx = crate::api::ctx(&state, &web.actor);
    match flows::check(&state.store, &state.runtime, &web.actor, &ctx, id, request).await {
        Ok(_) => see_other(&format!("/cases/{id}#gate-h")),
        Err(e) => {
            let e = ApiError::from(e);
            if e.status().is_client_error() && e.status() != StatusCode::FORBIDDEN {
                render_case(&state, &web, id, Some(web.form_problem(&e)), e.status()).await
            } else {
                web.error(e)
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct VerdictForm {
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    reason: String,
    /// `YYYY-MM-DDTHH:MM`, in the org's time zone.
    #[serde(default)]
    until: String,
    #[serde(default)]
    redo: String,
}

/// Proposes a verdict; back to the case, whose page shows the decision.
pub async fn propose_verdict<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    form: Form<VerdictForm>,
) -> Response {
    let Form { web, value } = form;
    let Ok(id) = id.parse::<Uuid>() else {
        return web.error(ApiError::NotFound("case"));
    };
    let proposed = async {
        let verdict = value
            .verdict
            .parse::<Verdict>()
            .map_err(|e| tutti_domain::Invalid::new("verdict", e))?;
        let until = match value.until.trim() {
            "" => None,
            text => Some(
                NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                    .map(|local| tutti_domain::routine::local_instant(local, web.zone()))
                    .map_err(|_| {
                        tutti_domain::Invalid::new(
                            "until",
                            format!("`{text}` is not a time like 2026-12-18T16:00"),
                        )
                    })?,
            ),
        };
        // A hold's date only for a hold, what to redo only for a recycle:
        // the form offers both fields for every verdict.
        let request = VerdictRequest {
            verdict,
            reason: value.reason.clone(),
            until: until.filter(|_| verdict == Verdict::Hold),
            redo: if verdict == Verdict::Recycle {
                value.redo.clone()
            } else {
                String::new()
            },
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        flows::propose_verdict(
            &state.store,
            &state.runtime.policies,
            &web.actor,
            &ctx,
            id,
            request,
        )
        .await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match proposed {
        Ok(()) => see_other(&format!("/cases/{id}#verdicts-h")),
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::FORBIDDEN => {
            render_case(&state, &web, id, Some(web.form_problem(&e)), e.status()).await
        }
        Err(e) => web.error(e),
    }
}

/// A gate's page: its criteria (with the form to change them for whom may),
/// every version and the learnings that shaped it.
pub async fn gate_page<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    web: Web,
) -> Response {
    let Ok(id) = id.parse::<Uuid>() else {
        return web.error(ApiError::NotFound("gate"));
    };
    render_gate(&state, &web, id, None, StatusCode::OK).await
}

async fn render_gate<S: Store>(
    state: &AppState<S>,
    web: &Web,
    id: Uuid,
    problem: Option<Markup>,
    status: StatusCode,
) -> Response {
    shown(web, status, gate_body(state, web, id, problem).await)
}

async fn gate_body<S: Store>(
    state: &AppState<S>,
    web: &Web,
    id: Uuid,
    problem: Option<Markup>,
) -> Result<(String, Markup), ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let view = crate::api::flows::gate_view(&state.store, org_id, id).await?;
    let flow = state.store.flow(org_id, view.gate.flow_id).await?;
    let members = state.store.members(org_id, everything()).await?.items;
    let workers: Vec<&tutti_domain::org::Member> = members
        .iter()
        .filter(|m| m.kind == tutti_domain::org::MemberKind::Ai)
        .collect();
    let name = |id: Option<Uuid>| {
        id.and_then(|id| members.iter().find(|m| m.id == id))
            .map_or_else(|| "–".to_owned(), |m| m.name.clone())
    };
    let teams = state.store.teams(org_id, everything()).await?.items;
    let team_name = |id: Option<Uuid>| {
        id.and_then(|id| teams.iter().find(|t| t.id == id))
            .map_or_else(|| "–".to_owned(), |t| t.name.clone())
    };
    let products = state
        .store
        .service_products(org_id, everything())
        .await?
        .items;
    let gate_names = HashMap::from([(view.gate.id, view.gate.name.clone())]);
    let shapes = web.actor.may(Action::ManageFlows).is_ok();
    let learning_of = |id: Uuid| view.learnings.iter().find(|l| l.id == id);
    let back = format!("/gates/{}", view.gate.id);
    // One row per criterion and a blank one to add.
    let mut rows: Vec<Option<&Criterion>> = view.gate.criteria.iter().map(Some).collect();
    rows.push(None);
    let body = html! {
        p.lede { a href=(format!("/flows#flow-{}", flow.id)) { (flow.name) } " · " (t.get("gate-lede")) }
        section.card aria-labelledby="criteria-h" {
            h2 #criteria-h { (t.with("gate-criteria-version", &tutti_i18n::args([("version", view.gate.version.to_string())]))) }
            @if view.gate.criteria.is_empty() { p.quiet { (t.get("gate-criteria-none")) } }
            ul { @for criterion in &view.gate.criteria {
                li { (criterion.text) " · " (t.get(&format!("check-by-{}", criterion.check_by)))
                    @if let Some(rule) = criterion.rule { " (" (t.get(&format!("rule-{rule}"))) ")" }
                    @if criterion.worker_id.is_some() { " (" (name(criterion.worker_id)) ")" } }
            } }
            @if shapes {
                details open[problem.is_some()] {
                    summary #criteria-edit-h { (t.get("gate-edit")) }
                    @if let Some(problem) = &problem { (problem) }
                    form.stacked method="post" action=(format!("/gates/{}/criteria", view.gate.id)) aria-labelledby="criteria-edit-h" {
                        (web.csrf_field())
                        input type="hidden" name="based_on" value=(view.gate.version);
                        @for (i, criterion) in rows.iter().enumerate() {
                            fieldset {
                                legend { @if criterion.is_some() { (t.with("gate-criterion-n", &tutti_i18n::args([("n", (i + 1).to_string())]))) } @else { (t.get("gate-criterion-add")) } }
                                label { (t.get("criterion")) " " input type="text" name=(format!("text_{i}")) maxlength="200" value=(criterion.map_or("", |c| c.text.as_str())); }
                                label { (t.get("criterion-by")) " "
                                    select name=(format!("by_{i}")) {
                                        @for by in CheckBy::ALL { option value=(by.as_str()) selected[criterion.is_some_and(|c| c.check_by == *by)] { (t.get(&format!("check-by-{by}"))) } }
                                    }
                                }
                                label { (t.get("criterion-rule")) " "
                                    select name=(format!("rule_{i}")) {
                                        @for rule in DataRule::ALL { option value=(rule.as_str()) selected[criterion.is_some_and(|c| c.rule == Some(*rule))] { (t.get(&format!("rule-{rule}"))) } }
                                    }
                                }
                                label { (t.get("criterion-worker")) " "
                                    select name=(format!("worker_{i}")) {
                                        option value="" { "–" }
                                        @for worker in &workers { option value=(worker.id) selected[criterion.is_some_and(|c| c.worker_id == Some(worker.id))] { (worker.name) } }
                                    }
                                }
                            }
                        }
                        p.quiet { (t.get("gate-edit-hint")) }
                        button type="submit" { (t.get("gate-save")) }
                    }
                }
            }
        }
        section.card aria-labelledby="versions-h" {
            h2 #versions-h { (t.get("gate-versions")) }
            ol.versions reversed {
                @for version in view.versions.iter().rev() {
                    li {
                        (t.with("gate-version", &tutti_i18n::args([("version", version.version.to_string())])))
                        " · " (t.datetime(version.at)) " · " (name(version.changed_by))
                        @if let Some(learning) = version.learning_id.and_then(learning_of) {
                            br; (t.get("gate-version-from-learning")) " " a href=(format!("#learning-{}", learning.id)) { (learning.title) }
                        }
                        ul { @for criterion in &version.criteria { li { (criterion.text) } } }
                    }
                }
            }
        }
        section.card aria-labelledby="gate-learnings-h" {
            h2 #gate-learnings-h { (t.get("gate-learnings")) " " span.count { (view.learnings.len()) } }
            @if view.learnings.is_empty() { p.quiet { (t.get("gate-learnings-none")) } }
            ul.learnings { @for learning in &view.learnings {
                li id=(format!("learning-{}", learning.id)) { (learning_line(web, learning, &gate_names, &products, &team_name, &back)) }
            } }
        }
    };
    Ok((view.gate.name.clone(), body))
}

/// Sets a gate's criteria from the form's rows (`text_N`, `by_N`,
/// `rule_N`, `worker_N`); a row without text is left out.
pub async fn set_criteria<S: Store>(
    State(state): State<AppState<S>>,
    Path(id): Path<String>,
    form: Form<HashMap<String, String>>,
) -> Response {
    let Form { web, value } = form;
    let Ok(id) = id.parse::<Uuid>() else {
        return web.error(ApiError::NotFound("gate"));
    };
    let set = async {
        let based_on = value
            .get("based_on")
            .and_then(|v| v.parse::<i64>().ok())
            .ok_or_else(|| {
                ApiError::from(tutti_domain::Invalid::new(
                    "based_on",
                    "the version the change starts from is missing",
                ))
            })?;
        let mut criteria = Vec::new();
        for i in 0..=tutti_domain::service::CRITERIA_MAX {
            let field = |name: &str| {
                value
                    .get(&format!("{name}_{i}"))
                    .map(|v| v.trim().to_owned())
                    .unwrap_or_default()
            };
            let text = field("text");
            if text.is_empty() {
                continue;
            }
            let check_by: CheckBy = field("by").parse().map_err(|e: String| {
                tutti_domain::Invalid::new(format!("criteria[{i}].check_by"), e)
            })?;
            let rule =
                match check_by {
                    CheckBy::Rule => Some(field("rule").parse::<DataRule>().map_err(|e| {
                        tutti_domain::Invalid::new(format!("criteria[{i}].rule"), e)
                    })?),
                    _ => None,
                };
            let worker_id = match check_by {
                CheckBy::Ai => {
                    optional_id(&format!("criteria[{i}].worker_id"), &Some(field("worker")))?
                }
                _ => None,
            };
            criteria.push(Criterion {
                text,
                check_by,
                rule,
                worker_id,
            });
        }
        let ctx = crate::api::ctx(&state, &web.actor);
        flows::set_criteria(&state.store, &web.actor, &ctx, id, criteria, based_on).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match set {
        Ok(()) => see_other(&format!("/gates/{id}")),
        Err(e) if e.status().is_client_error() && e.status() != StatusCode::FORBIDDEN => {
            render_gate(&state, &web, id, Some(web.form_problem(&e)), e.status()).await
        }
        Err(e) => web.error(e),
    }
}

/// The summary the service page shows: cases held (past their date first)
/// and learnings waiting, each linking on.
pub async fn summary<S: Store>(state: &AppState<S>, web: &Web) -> Result<Markup, ApiError> {
    let t = &web.t;
    let org_id = web.actor.org_id;
    let now = state.clock.now();
    let held = state
        .store
        .cases(
            org_id,
            &CaseFilter {
                status: Some(CaseStatus::OnHold),
                ..CaseFilter::default()
            },
            PageRequest::first(LEARNINGS_SHOWN),
        )
        .await?
        .items;
    let waiting = state
        .store
        .learnings(
            org_id,
            &LearningFilter {
                status: Some(LearningStatus::Open),
                ..LearningFilter::default()
            },
            PageRequest::first(LEARNINGS_SHOWN),
        )
        .await?
        .items;
    let overdue = held.iter().filter(|c| c.hold_overdue(now)).count();
    Ok(html! {
        section.card aria-labelledby="handovers-h" {
            h2 #handovers-h { (t.get("service-handovers")) }
            p {
                a href="/flows#held-h" { (t.with("service-handovers-held", &tutti_i18n::args([("count", held.len().to_string()), ("overdue", overdue.to_string())]))) }
                " · "
                a href="/flows#learnings-h" { (t.with("service-handovers-learnings", &tutti_i18n::args([("count", waiting.len().to_string())]))) }
            }
            @if !held.is_empty() {
                ul { @for case in held.iter().take(5) {
                    li { a href=(format!("/cases/{}", case.id)) { (case.title) }
                        @if case.hold_overdue(now) { " " span.badge.risk { (t.get("flows-overdue")) } }
                        @if !case.hold_reason.is_empty() { " — " (case.hold_reason) } }
                } }
            }
        }
    })
}
