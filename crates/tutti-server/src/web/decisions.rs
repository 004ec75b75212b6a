//! Decisions: the queue (what waits on me, what is open), a decision's full
//! trail with approve and reject and, once decided, the form that records
//! how it turned out; and the decision spaces with a policy editor that
//! validates on save, a simulate form that tries the policy, or the draft
//! in the editor, on an imagined decision, and a form that raises a real
//! one in the space (its declared attributes included).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::access::Action;
use tutti_domain::decision::{
    AttributeType, AttributeValue, Decision, DecisionSpace, DecisionStatus, Facts, NewSpace,
    Outcome, PolicyVerdict, RegisterSummary, Risk, Routing, Vote, parse_amount,
};
use tutti_domain::org::MemberKind;
use tutti_engine::decisions::{self as engine, Cast, DecisionRequest, Hypothesis};
use tutti_engine::signals::directory;
use tutti_i18n::args;
use tutti_store::prelude::*;
use tutti_store::{DecisionFilter, SpacePatch};
use tutti_store::{EventFilter, PageRequest};
use uuid::Uuid;

use super::{Form, Nav, PageId, Web, see_other};
use crate::api::decisions::all_decisions;
use crate::{ApiError, AppState};

pub async fn queue<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    let rendered = render_queue(&state, &web).await;
    web.show(rendered, "decisions-title", Nav::Decisions)
}

fn decision_row(web: &Web, d: &Decision) -> Markup {
    let t = &web.t;
    html! {
        li {
            a href=(format!("/decisions/{}", d.id)) { (d.question) }
            " " span class=(format!("badge {}", d.status)) { (t.get(&format!("decision-status-{}", d.status))) }
            " " span.badge { (t.get(&format!("autonomy-{}", d.routing.autonomy))) }
            @if let Some(deadline) = d.deadline.filter(|_| !d.status.is_final()) { " " small.quiet { (t.with("until", &args([("when", t.datetime(deadline))]))) } }
        }
    }
}

async fn render_queue<S: Store>(state: &AppState<S>, web: &Web) -> Result<Markup, ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let (mine, more) =
        engine::awaiting(&state.store, &state.runtime.policies, &web.actor, None, 50).await?;
    let waiting = state
        .store
        .decisions(
            org_id,
            &DecisionFilter {
                waiting: true,
                ..DecisionFilter::default()
            },
            PageRequest::first(100),
        )
        .await?
        .items;
    let open = state
        .store
        .decisions(
            org_id,
            &DecisionFilter {
                status: Some(DecisionStatus::Open),
                ..DecisionFilter::default()
            },
            PageRequest::first(100),
        )
        .await?
        .items;
    let summary = RegisterSummary::of(&all_decisions(state, org_id, None).await?);
    Ok(html! {
        p { a href="/spaces" { (t.get("spaces-title")) } " · " a href="/api/v1/decision-register?format=csv" { (t.get("register-csv")) } }
        section.card aria-labelledby="mine-h" {
            h2 #mine-h { (t.get("decisions-mine")) " " span.count { (mine.len()) @if more.is_some() { "+" } } }
            @if mine.is_empty() { p.quiet { (t.get("decisions-mine-none")) } }
            ul { @for d in &mine { (decision_row(web, d)) } }
        }
        section.card aria-labelledby="waiting-all-h" {
            h2 #waiting-all-h { (t.get("decisions-waiting")) }
            @if waiting.is_empty() { p.quiet { (t.get("decisions-none")) } }
            ul { @for d in &waiting { (decision_row(web, d)) } }
        }
        @if !open.is_empty() {
            section.card aria-labelledby="open-h" {
                h2 #open-h { (t.get("decisions-open")) }
                p.quiet { (t.get("decisions-open-lede")) }
                ul { @for d in &open { (decision_row(web, d)) } }
            }
        }
        section.card aria-labelledby="register-h" {
            h2 #register-h { (t.get("register-title")) }
            dl.figures {
                dt { (t.get("register-decided")) } dd { (t.int(summary.decided)) }
                dt { (t.get("register-recommended")) } dd { (t.int(summary.recommended)) }
                dt { (t.get("register-followed")) } dd { @match summary.followed_rate { Some(r) => (t.percent(r)), None => "–" } }
            }
        }
    })
}

pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    web: Web,
    PageId(id): PageId,
) -> Response {
    match render_decision(&state, &web, id).await {
        Ok((title, body)) => web.page(&title, Nav::Decisions, body),
        Err(e) => web.error(e),
    }
}

fn verdict_line(web: &Web, v: &PolicyVerdict, name: &str) -> Markup {
    let t = &web.t;
    html! {
        li {
            span class=(if v.allowed { "badge ok" } else { "badge warn" }) { (t.get(if v.allowed { "verdict-allowed" } else { "verdict-denied" })) }
            " " code { (v.action.as_str()) } " · " (name) " · "
            @if v.policies.is_empty() { (t.get("verdict-no-policy")) } @else { (t.get("verdict-by")) " " @for (i, p) in v.policies.iter().enumerate() { @if i > 0 { ", " } code { (p) } } }
        }
    }
}

async fn render_decision<S: Store>(
    state: &AppState<S>,
    web: &Web,
    id: Uuid,
) -> Result<(String, Markup), ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let decision = state.store.decision(org_id, id).await?;
    let space = state.store.space(org_id, decision.space_id).await?;
    let members = directory(&state.store, org_id).await?;
    let name = |id: Uuid| {
        members
            .get(&id)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| "?".into())
    };
    let policy = state.runtime.policies.compiled(&space)?;
    let may_vote = engine::awaits(&policy, &web.actor, &decision);
    let may_look_back = decision.status == DecisionStatus::Decided
        && engine::may_review_outcome(&state.store, &web.actor, &decision)
            .await
            .is_ok();
    let trail = state
        .store
        .events(
            org_id,
            &EventFilter {
                subject_id: Some(id),
                limit: PageRequest::MAX_LIMIT,
                ..EventFilter::default()
            },
        )
        .await?
        .items;
    let facts = &decision.facts;
    let body = html! {
        p { a href=(format!("/spaces/{}", space.id)) { (space.name) } " · "
            span class=(format!("badge {}", decision.status)) { (t.get(&format!("decision-status-{}", decision.status))) } " "
            span.badge { (t.get(&format!("autonomy-{}", decision.routing.autonomy))) }
        }
        @if !decision.context.is_empty() { p.description { (decision.context) } }
        dl.facts {
            dt { (t.get("fact-amount")) } dd { (t.money_minor(facts.amount_minor, &facts.currency)) }
            dt { (t.get("fact-risk")) } dd { (t.get(&format!("risk-{}", facts.risk))) }
            dt { (t.get("fact-reversible")) } dd { (t.get(if facts.reversible { "yes" } else { "no" })) }
            dt { (t.get("fact-customer-facing")) } dd { (t.get(if facts.customer_facing { "yes" } else { "no" })) }
            @for (k, v) in &facts.attributes { dt { (k) } dd { (serde_json::to_string(v).unwrap_or_default()) } }
            dt { (t.get("decision-requested-by")) } dd { (name(decision.requested_by)) " · " (t.datetime(decision.created_at)) }
            @if let Some(a) = decision.assignee_id { dt { (t.get("decision-assignee")) } dd { (name(a)) } }
            dt { (t.get("decision-quorum")) } dd { (decision.routing.quorum) }
            @if let Some(deadline) = decision.deadline { dt { (t.get("decision-deadline")) } dd { (t.datetime(deadline)) } }
        }
        section.card aria-labelledby="routing-h" {
            h2 #routing-h { (t.get("decision-routing")) }
            p { (decision.routing.explanation) }
            ul.verdicts { @for v in &decision.routing.verdicts { (verdict_line(web, v, &name(v.principal_id))) } }
            @if let Some(v) = &decision.escalation {
                p { strong { (t.with("decision-escalated-to", &args([("name", decision.escalated_to.map(name).unwrap_or_default())]))) } }
                ul.verdicts { (verdict_line(web, v, &name(v.principal_id))) }
            }
        }
        @if let Some(rec) = &decision.recommendation {
            section.card aria-labelledby="rec-h" {
                h2 #rec-h { (t.get(if decision.routing.autonomy == tutti_domain::decision::Autonomy::AiDecides { "decision-ai-choice" } else { "decision-recommendation" })) }
                p { strong { (rec.option) } " · " (t.with("confidence-share", &args([("confidence", t.percent(rec.confidence))]))) }
                p { (rec.rationale) }
            }
        }
        section.card aria-labelledby="options-h" {
            h2 #options-h { (t.get("decision-options")) }
            ol { @for o in &decision.options { li { (o) @if decision.choice.as_deref() == Some(o.as_str()) { " " span.badge.ok { (t.get("decision-chosen")) } } } } }
            @if let Some(reason) = &decision.reason { p { strong { (t.get("decision-reason")) ": " } (reason) } }
        }
        @if !decision.ballots.is_empty() {
            section.card aria-labelledby="ballots-h" {
                h2 #ballots-h { (t.get("decision-ballots")) }
                ul.ballots {
                    @for b in &decision.ballots {
                        li { strong { (name(b.member_id)) } ": " (t.get(&format!("vote-{}", b.vote)))
                            @if let Some(o) = &b.option { " — " (o) }
                            @if !b.reason.is_empty() { " · " q { (b.reason) } }
                            " " small.quiet { (t.datetime(b.at)) " · " (b.verdict.explain()) }
                        }
                    }
                }
            }
        }
        @if may_vote {
            section.card.act aria-labelledby="vote-h" {
                h2 #vote-h { (t.get("decision-your-vote")) }
                form method="post" action=(format!("/decisions/{id}/approve")) {
                    (web.csrf_field())
                    fieldset {
                        legend { (t.get("decision-choose")) }
                        @for (i, o) in decision.options.iter().enumerate() {
                            label { input type="radio" name="option" value=(o) required checked[decision.recommendation.as_ref().map(|r| r.option == *o).unwrap_or(i == 0)]; " " (o) }
                        }
                    }
                    // Every vote gives its reason (`Decision::vote`).
                    label.wide { (t.get("decision-reason")) textarea name="reason" rows="2" maxlength="2000" required {} }
                    button type="submit" { (t.get("decision-approve")) }
                }
                form method="post" action=(format!("/decisions/{id}/reject")) {
                    (web.csrf_field())
                    label.wide { (t.get("decision-reject-reason")) textarea name="reason" rows="2" maxlength="2000" required {} }
                    button.secondary type="submit" { (t.get("decision-reject")) }
                }
            }
        }
        @if let Some(outcome) = decision.outcome {
            section.card aria-labelledby="outcome-h" {
                h2 #outcome-h { (t.get("decision-outcome")) }
                p { strong { (t.get(&format!("outcome-{outcome}"))) }
                    @if let Some(by) = decision.outcome_by { " · " (name(by)) }
                    @if let Some(note) = &decision.outcome_note { @if !note.is_empty() { br; q { (note) } } } }
            }
        } @else if may_look_back {
            section.card aria-labelledby="outcome-h" {
                h2 #outcome-h { (t.get("decision-outcome")) }
                p.quiet { (t.get("decision-outcome-lede")) }
                form.stacked method="post" action=(format!("/decisions/{id}/outcome")) {
                    (web.csrf_field())
                    fieldset {
                        legend { (t.get("decision-outcome-was")) }
                        @for o in [Outcome::Good, Outcome::Bad, Outcome::Unclear] {
                            label { input type="radio" name="outcome" value=(o.as_str()) required checked[o == Outcome::Good]; " " (t.get(&format!("outcome-{o}"))) }
                        }
                    }
                    label.wide { (t.get("decision-outcome-note")) " " textarea name="note" rows="2" maxlength="20000" {} }
                    button type="submit" { (t.get("decision-outcome-save")) }
                }
            }
        }
        section.card aria-labelledby="trail-h" {
            h2 #trail-h { (t.get("decision-trail")) }
            ol.trail {
                @for e in &trail {
                    li { code { (e.action) } " · " (e.actor_id.map(name).unwrap_or_else(|| t.get("system"))) " · " small.quiet { (t.datetime(e.at)) " · #" (e.seq) } }
                }
            }
        }
    };
    Ok((decision.question, body))
}

#[derive(Deserialize)]
pub struct OutcomeForm {
    outcome: String,
    #[serde(default)]
    note: String,
}

/// Records how a decided decision turned out.
pub async fn outcome<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<OutcomeForm>,
) -> Response {
    let Form { web, value } = form;
    let recorded = async {
        let outcome = value
            .outcome
            .parse::<Outcome>()
            .map_err(|e| tutti_domain::Invalid::new("outcome", e))?;
        let ctx = crate::api::ctx(&state, &web.actor);
        engine::review_outcome(&state.store, &web.actor, &ctx, id, outcome, value.note).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match recorded {
        Ok(()) => see_other(&format!("/decisions/{id}#outcome-h")),
        Err(e) => web.error(e),
    }
}

/// A decision raised in a space, as typed: options one per line, and a
/// field per attribute the space declares (`attr_NAME`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RaiseForm {
    #[serde(default)]
    question: String,
    #[serde(default)]
    context: String,
    #[serde(default)]
    options: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    risk: String,
    reversible: Option<String>,
    customer_facing: Option<String>,
    #[serde(default)]
    assignee: String,
    #[serde(flatten)]
    attributes: BTreeMap<String, String>,
}

impl RaiseForm {
    fn request(&self, space: &DecisionSpace, currency: &str) -> Result<DecisionRequest, ApiError> {
        let risk = match self.risk.trim() {
            "" => Risk::Low,
            text => text
                .parse::<Risk>()
                .map_err(|e| tutti_domain::Invalid::new("risk", e))?,
        };
        let mut attributes = BTreeMap::new();
        for (name, kind) in &space.attributes {
            let typed = self
                .attributes
                .get(&format!("attr_{name}"))
                .map(|v| v.trim())
                .unwrap_or("");
            let field = format!("attributes.{name}");
            let value = match kind {
                AttributeType::Bool => AttributeValue::Bool(!typed.is_empty()),
                AttributeType::Long => AttributeValue::Long(typed.parse().map_err(|_| {
                    tutti_domain::Invalid::new(
                        field.clone(),
                        format!("`{typed}` is not a whole number"),
                    )
                })?),
                AttributeType::String => AttributeValue::String(typed.to_owned()),
            };
            attributes.insert(name.clone(), value);
        }
        let assignee_id = match self.assignee.trim() {
            "" => None,
            text => Some(
                text.parse::<Uuid>()
                    .map_err(|_| tutti_domain::Invalid::new("assignee_id", "is not a member id"))?,
            ),
        };
        Ok(DecisionRequest {
            space_id: space.id,
            question: self.question.clone(),
            context: self.context.clone(),
            facts: Facts {
                amount_minor: parse_amount("amount", &self.amount)?,
                currency: currency.to_owned(),
                risk,
                reversible: self.reversible.is_some(),
                customer_facing: self.customer_facing.is_some(),
                attributes,
            },
            options: self
                .options
                .lines()
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .map(str::to_owned)
                .collect(),
            assignee_id,
            run_id: None,
            proposal: None,
        })
    }
}

/// Raises a decision in a space; the space's policy routes it at once.
pub async fn raise<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<RaiseForm>,
) -> Response {
    let Form { web, value } = form;
    let raised = async {
        let space = state.store.space(web.actor.org_id, id).await?;
        let request = value.request(&space, &web.org.currency)?;
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(
            engine::request(
                &state.store,
                &state.runtime.policies,
                &web.actor,
                &ctx,
                request,
            )
            .await?
            .id,
        )
    }
    .await;
    match raised {
        Ok(decision) => see_other(&format!("/decisions/{decision}")),
        Err(e @ ApiError::Invalid(_)) => {
            let editing = Editing {
                raise: Some((value, web.form_problem(&e))),
                ..Editing::default()
            };
            render_space(&state, &web, id, editing, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => web.error(e),
    }
}

#[derive(Deserialize)]
pub struct ApproveForm {
    option: String,
    #[serde(default)]
    reason: String,
}

#[derive(Deserialize)]
pub struct RejectForm {
    #[serde(default)]
    reason: String,
}

async fn cast<S: Store>(state: &AppState<S>, web: &Web, id: Uuid, cast: Cast) -> Response {
    let ctx = crate::api::ctx(state, &web.actor);
    match engine::vote(
        &state.store,
        &state.runtime.policies,
        &web.actor,
        &ctx,
        id,
        cast,
    )
    .await
    {
        Ok(_) => see_other(&format!("/decisions/{id}")),
        Err(e) => web.error(e),
    }
}

pub async fn approve<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<ApproveForm>,
) -> Response {
    let Form { web, value } = form;
    let vote = Cast {
        vote: Vote::Approve,
        option: Some(value.option),
        reason: value.reason,
    };
    cast(&state, &web, id, vote).await
}

pub async fn reject<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<RejectForm>,
) -> Response {
    let Form { web, value } = form;
    let vote = Cast {
        vote: Vote::Reject,
        option: None,
        reason: value.reason,
    };
    cast(&state, &web, id, vote).await
}

pub async fn spaces<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    render_spaces(&state, &web, None, StatusCode::OK).await
}

/// A space created from a starter template, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewSpaceForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    team: Option<String>,
    #[serde(default)]
    template: String,
    /// Guard-rails, one per line.
    #[serde(default)]
    principles: String,
}

async fn render_spaces<S: Store>(
    state: &AppState<S>,
    web: &Web,
    draft: Option<(NewSpaceForm, Markup)>,
    status: StatusCode,
) -> Response {
    let result = async {
        web.actor.may(Action::Read)?;
        let spaces = state
            .store
            .spaces(web.actor.org_id, PageRequest::first(PageRequest::MAX_LIMIT))
            .await?
            .items;
        let teams = state
            .store
            .teams(web.actor.org_id, PageRequest::first(PageRequest::MAX_LIMIT))
            .await?
            .items;
        Ok::<_, ApiError>((spaces, teams))
    }
    .await;
    let t = &web.t;
    let (spaces, teams) = match result {
        Ok(loaded) => loaded,
        Err(e) => return web.error(e),
    };
    // Admins anywhere; leads for the teams they lead.
    let creatable: Vec<_> = teams
        .iter()
        .filter(|team| {
            web.actor
                .may(Action::ManageSpace {
                    team_id: Some(team.id),
                })
                .is_ok()
        })
        .collect();
    let (form, problem) = match draft {
        Some((form, problem)) => (form, Some(problem)),
        None => (NewSpaceForm::default(), None),
    };
    web.page_with_status(status, &t.get("spaces-title"), Nav::Decisions, html! {
        p.lede { (t.get("spaces-lede")) }
        @if spaces.is_empty() { p.quiet { (t.get("spaces-none")) } }
        ul.spaces {
            @for s in &spaces {
                li { a href=(format!("/spaces/{}", s.id)) { (s.name) } " " small.quiet { (t.with("space-version", &args([("version", s.version as f64)]))) } }
            }
        }
        @if !creatable.is_empty() {
            section.card aria-labelledby="space-new-h" {
                h2 #space-new-h { (t.get("space-new")) }
                p.quiet { (t.get("space-new-lede")) }
                @if let Some(problem) = problem { (problem) }
                form.stacked method="post" action="/spaces" aria-labelledby="space-new-h" {
                    (web.csrf_field())
                    label { (t.get("space-name")) " " input type="text" name="name" required maxlength="200" value=(form.name); }
                    label { (t.get("people-team")) " "
                        select name="team" required {
                            @for team in &creatable { option value=(team.id) selected[form.team.as_deref() == Some(team.id.to_string().as_str())] { (team.name) } }
                        }
                    }
                    label { (t.get("space-template")) " "
                        select name="template" {
                            @for tpl in tutti_policy::TEMPLATES {
                                option value=(tpl.name) selected[form.template == tpl.name] { (t.get(&format!("space-template-{}", tpl.name))) }
                            }
                        }
                    }
                    label.wide { (t.get("space-principles")) " " textarea name="principles" rows="3" { (form.principles) } }
                    button type="submit" { (t.get("space-new-save")) }
                }
            }
        }
    })
}

/// Creates a decision space from a starter template; its policy can then be
/// edited on the space's page.
pub async fn create_space<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<NewSpaceForm>,
) -> Response {
    let Form { web, value } = form;
    let created = async {
        let template = tutti_policy::TEMPLATES
            .iter()
            .find(|tpl| tpl.name == value.template)
            .ok_or_else(|| {
                tutti_domain::Invalid::new("template", "choose one of the starter templates")
            })?;
        let new = NewSpace {
            name: value.name.clone(),
            team_id: super::optional_id("team", &value.team)?,
            objective_id: None,
            principles: value
                .principles
                .lines()
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            policy: template.source.to_owned(),
            attributes: BTreeMap::new(),
            quorum: 1,
            escalate_after_secs: None,
            escalate_to: None,
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        Ok::<_, ApiError>(
            engine::create_space(&state.store, &web.actor, &ctx, new)
                .await?
                .id,
        )
    }
    .await;
    match created {
        Ok(id) => see_other(&format!("/spaces/{id}")),
        Err(e @ ApiError::Invalid(_)) => {
            let problem = web.form_problem(&e);
            render_spaces(
                &state,
                &web,
                Some((value, problem)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => web.error(e),
    }
}

/// What the space page shows besides the stored space: an edited draft with
/// its problem, or a simulation's result.
#[derive(Default)]
pub(super) struct Editing {
    draft: Option<SpaceForm>,
    /// A refused save of the guard-rails: the draft as typed and why.
    guards: Option<(super::workforce::GuardsForm, Markup)>,
    problem: Option<Markup>,
    /// A refused decision to raise, with why.
    raise: Option<(RaiseForm, Markup)>,
    simulated: Option<(Routing, Option<PolicyVerdict>)>,
    saved: bool,
}

impl Editing {
    /// The page again after a refused guard-rails save.
    pub(super) fn guards_refused(draft: super::workforce::GuardsForm, problem: Markup) -> Self {
        Self {
            guards: Some((draft, problem)),
            ..Self::default()
        }
    }
}

pub async fn space<S: Store>(
    State(state): State<AppState<S>>,
    web: Web,
    PageId(id): PageId,
    axum::extract::Query(q): axum::extract::Query<SavedQuery>,
) -> Response {
    let editing = Editing {
        saved: q.saved.is_some(),
        ..Editing::default()
    };
    render_space(&state, &web, id, editing, StatusCode::OK).await
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

pub(super) async fn render_space<S: Store>(
    state: &AppState<S>,
    web: &Web,
    id: Uuid,
    editing: Editing,
    status: StatusCode,
) -> Response {
    let loaded = async {
        web.actor.may(Action::Read)?;
        let space = state.store.space(web.actor.org_id, id).await?;
        let may_edit = engine::may_manage(&state.store, &web.actor, &space)
            .await
            .is_ok();
        let members = directory(&state.store, web.actor.org_id).await?;
        let guards = tutti_engine::workforce::guards(&state.store, &web.actor, id).await?;
        Ok::<_, ApiError>((space, may_edit, members, guards))
    }
    .await;
    let (space, may_edit, members, guards) = match loaded {
        Ok(loaded) => loaded,
        Err(e) => return web.error(e),
    };
    let t = &web.t;
    let may_raise = web.actor.may(Action::RequestDecision).is_ok();
    let mut workers: Vec<_> = members
        .values()
        .filter(|m| m.kind == MemberKind::Ai)
        .collect();
    workers.sort_by(|a, b| a.name.cmp(&b.name));
    let draft = editing.draft.as_ref();
    let policy_text = draft
        .map(|d| d.policy.clone())
        .unwrap_or_else(|| space.policy.clone());
    let principles = draft
        .map(|d| d.principles.clone())
        .unwrap_or_else(|| space.principles.join("\n"));
    let quorum = draft
        .map(|d| d.quorum.clone())
        .unwrap_or_else(|| space.quorum.to_string());
    let sim = draft.map(|d| d.simulation.clone()).unwrap_or_default();
    let body = html! {
        p.quiet { (t.with("space-version", &args([("version", space.version as f64)]))) }
        @if editing.saved { p.ok role="status" { (t.get("space-saved")) } }
        @if let Some(problem) = &editing.problem { (problem) }
        @if let Some((routing, approval)) = &editing.simulated {
            section.card.simulated role="status" aria-labelledby="sim-result-h" {
                h2 #sim-result-h { (t.get("simulate-result")) }
                p { span.badge { (t.get(&format!("autonomy-{}", routing.autonomy))) } " · " (t.with("simulate-quorum", &args([("quorum", routing.quorum as f64)]))) }
                p { (routing.explanation) }
                ul.verdicts { @for v in &routing.verdicts { (verdict_line(web, v, &members.get(&v.principal_id).map(|m| m.name.clone()).unwrap_or_default())) } }
                @if let Some(v) = approval { ul.verdicts { (verdict_line(web, v, &members.get(&v.principal_id).map(|m| m.name.clone()).unwrap_or_default())) } }
            }
        }
        // A reader who may not edit may still simulate: for them the form
        // posts only there, so it offers nothing they would be refused.
        form.space method="post" action=(if may_edit { format!("/spaces/{id}") } else { format!("/spaces/{id}/simulate") }) {
            (web.csrf_field())
            label.wide for="principles" { (t.get("space-principles")) }
            textarea #principles name="principles" rows="4" readonly[!may_edit] { (principles) }
            label.wide for="policy" { (t.get("space-policy")) }
            textarea #policy.code name="policy" rows="18" spellcheck="false" readonly[!may_edit] { (policy_text) }
            label { (t.get("space-quorum")) " " input type="number" name="quorum" min="1" max="9" value=(quorum) readonly[!may_edit]; }
            @if may_edit { button type="submit" { (t.get("space-save")) } }
            fieldset.simulate {
                legend { (t.get("simulate-title")) }
                p.quiet { (t.get("simulate-lede")) }
                // Not `required`: the field shares the form with saving the
                // policy, which must not wait for a simulation's amount (the
                // simulation itself refuses an empty one).
                label { (t.get("fact-amount")) " " input type="text" name="amount" inputmode="decimal" value=(sim.amount); }
                label { (t.get("fact-risk")) " "
                    select name="risk" { @for r in [Risk::Low, Risk::Medium, Risk::High] { option value=(r.as_str()) selected[sim.risk == r.as_str()] { (t.get(&format!("risk-{r}"))) } } }
                }
                label { input type="checkbox" name="reversible" value="true" checked[sim.reversible.is_some()]; " " (t.get("fact-reversible")) }
                label { input type="checkbox" name="customer_facing" value="true" checked[sim.customer_facing.is_some()]; " " (t.get("fact-customer-facing")) }
                label { (t.get("decision-assignee")) " "
                    select name="assignee" {
                        option value="" { "–" }
                        @for w in &workers { option value=(w.id) selected[sim.assignee == w.id.to_string()] { (w.name) } }
                    }
                }
                button.secondary type="submit" formaction=(format!("/spaces/{id}/simulate")) { (t.get("simulate-submit")) }
            }
        }
        @if may_raise {
            @let (raise, raise_problem) = match &editing.raise {
                Some((form, problem)) => (form.clone(), Some(problem.clone())),
                None => (RaiseForm { reversible: Some("true".into()), ..RaiseForm::default() }, None),
            };
            section.card aria-labelledby="raise-h" {
                h2 #raise-h { (t.get("decision-raise")) }
                p.quiet { (t.get("decision-raise-lede")) }
                @if let Some(problem) = raise_problem { (problem) }
                form.stacked method="post" action=(format!("/spaces/{id}/decisions")) aria-labelledby="raise-h" {
                    (web.csrf_field())
                    label { (t.get("decision-question")) " " input type="text" name="question" required maxlength="200" value=(raise.question); }
                    label.wide { (t.get("decision-context")) " " textarea name="context" rows="2" maxlength="20000" { (raise.context) } }
                    label.wide { (t.get("decision-options-lines")) " " textarea name="options" rows="3" required { (raise.options) } }
                    label { (t.get("fact-amount")) " " input type="text" name="amount" inputmode="decimal" required value=(raise.amount); }
                    label { (t.get("fact-risk")) " "
                        select name="risk" { @for r in [Risk::Low, Risk::Medium, Risk::High] { option value=(r.as_str()) selected[raise.risk == r.as_str()] { (t.get(&format!("risk-{r}"))) } } }
                    }
                    label { input type="checkbox" name="reversible" value="true" checked[raise.reversible.is_some()]; " " (t.get("fact-reversible")) }
                    label { input type="checkbox" name="customer_facing" value="true" checked[raise.customer_facing.is_some()]; " " (t.get("fact-customer-facing")) }
                    @for (name, kind) in &space.attributes {
                        @let field = format!("attr_{name}");
                        @let typed = raise.attributes.get(&field).cloned().unwrap_or_default();
                        @match kind {
                            AttributeType::Bool => label { input type="checkbox" name=(field) value="true" checked[!typed.is_empty()]; " " (name) },
                            AttributeType::Long => label { (name) " " input type="number" name=(field) required value=(typed); },
                            AttributeType::String => label { (name) " " input type="text" name=(field) value=(typed); },
                        }
                    }
                    label { (t.get("decision-assignee")) " "
                        select name="assignee" {
                            option value="" { "–" }
                            @for w in &workers { option value=(w.id) selected[raise.assignee == w.id.to_string()] { (w.name) } }
                        }
                    }
                    button type="submit" { (t.get("decision-raise-save")) }
                }
            }
        }
        (super::workforce::guards_form(web, id, &guards, may_edit, editing.guards.as_ref()))
    };
    web.page_with_status(status, &space.name, Nav::Decisions, body)
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SimulationFields {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    risk: String,
    reversible: Option<String>,
    customer_facing: Option<String>,
    #[serde(default)]
    assignee: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SpaceForm {
    #[serde(default)]
    principles: String,
    policy: String,
    #[serde(default)]
    quorum: String,
    #[serde(flatten)]
    simulation: SimulationFields,
}

fn space_patch(form: &SpaceForm) -> Result<SpacePatch, ApiError> {
    let principles: Vec<String> = form
        .principles
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    let quorum =
        form.quorum.trim().parse::<i64>().map_err(|_| {
            tutti_domain::Invalid::new("quorum", "must be a whole number from 1 to 9")
        })?;
    Ok(SpacePatch {
        principles: Some(principles),
        policy: Some(form.policy.clone()),
        quorum: Some(quorum),
        ..SpacePatch::default()
    })
}

pub async fn save_space<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<SpaceForm>,
) -> Response {
    let Form { web, value } = form;
    let saved = async {
        let patch = space_patch(&value)?;
        let ctx = crate::api::ctx(&state, &web.actor);
        engine::update_space(&state.store, &web.actor, &ctx, id, patch).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match saved {
        Ok(()) => see_other(&format!("/spaces/{id}?saved=1")),
        // An invalid policy keeps the draft in the editor, with Cedar's
        // message and its line and column above it.
        Err(e @ ApiError::Invalid(_)) => {
            let editing = Editing {
                draft: Some(value),
                problem: Some(web.form_problem(&e)),
                ..Editing::default()
            };
            render_space(&state, &web, id, editing, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => web.error(e),
    }
}

fn hypothesis(
    space: &DecisionSpace,
    form: &SpaceForm,
    currency: &str,
) -> Result<Hypothesis, ApiError> {
    let sim = &form.simulation;
    let risk = sim
        .risk
        .parse::<Risk>()
        .map_err(|e| tutti_domain::Invalid::new("risk", e))?;
    let assignee = match sim.assignee.trim() {
        "" => None,
        text => Some(
            text.parse::<Uuid>()
                .map_err(|_| tutti_domain::Invalid::new("assignee", "is not a member id"))?,
        ),
    };
    let draft = (form.policy != space.policy).then(|| form.policy.clone());
    Ok(Hypothesis {
        facts: Facts {
            amount_minor: parse_amount("amount", sim.amount.trim())?,
            currency: currency.to_owned(),
            risk,
            reversible: sim.reversible.is_some(),
            customer_facing: sim.customer_facing.is_some(),
            attributes: BTreeMap::new(),
        },
        assignee,
        approver: None,
        draft,
    })
}

pub async fn simulate<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<SpaceForm>,
) -> Response {
    let Form { web, value } = form;
    let result = async {
        web.actor.may(Action::Read)?;
        let space = state.store.space(web.actor.org_id, id).await?;
        let hypothesis = hypothesis(&space, &value, &web.org.currency)?;
        Ok::<_, ApiError>(
            engine::simulate(
                &state.store,
                &state.runtime.policies,
                web.actor.org_id,
                &space,
                &hypothesis,
            )
            .await?,
        )
    }
    .await;
    match result {
        Ok(simulated) => {
            let editing = Editing {
                draft: Some(value),
                simulated: Some(simulated),
                ..Editing::default()
            };
            render_space(&state, &web, id, editing, StatusCode::OK).await
        }
        Err(e @ ApiError::Invalid(_)) => {
            let editing = Editing {
                draft: Some(value),
                problem: Some(web.form_problem(&e)),
                ..Editing::default()
            };
            render_space(&state, &web, id, editing, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => web.error(e),
    }
}
