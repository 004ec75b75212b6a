//! People and teams: who is in the org, human and AI, in which teams under
//! which leads. Admins invite a person (with an initial password, shown
//! once), add an AI worker with its role card, model, concurrency and an
//! optional monthly budget in one form, and issue an AI worker's API token
//! (shown once); admins, and leads below the teams they lead, create teams.
//! Every form calls the API's use case (`directory::…`, `labour::…`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::Invalid;
use tutti_domain::access::Action;
use tutti_domain::labour::{BudgetPeriod, BudgetScope, parse_money};
use tutti_domain::org::{Member, MemberKind, Role, Team};
use tutti_domain::validate::Email;
use tutti_engine::directory;
use tutti_store::prelude::*;
use tutti_store::{Enrolment, NewBudget, NewMember, NewTeam, PageRequest};
use uuid::Uuid;

use super::{Form, Nav, PageId, Web, optional_id, see_other};
use crate::{ApiError, AppState, auth};

#[derive(Debug, Default, Clone, Deserialize)]
pub struct TeamForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    lead: Option<String>,
    #[serde(default)]
    parent: Option<String>,
}

/// A person to invite.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct PersonForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    team: Option<String>,
}

/// An AI worker to add, with its optional monthly budget.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct WorkerForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    role_card: String,
    /// `provider/model`, as the select offers them.
    #[serde(default)]
    model: String,
    #[serde(default)]
    concurrency: String,
    #[serde(default)]
    team: Option<String>,
    /// Tokens per month; empty: no token limit.
    #[serde(default)]
    budget_tokens: String,
    /// Money per month in the org's currency; empty: no cost limit.
    #[serde(default)]
    budget_cost: String,
    /// Checked: an agent outside tutti claims its work (MCP).
    #[serde(default)]
    external: Option<String>,
}

/// Which form a refusal belongs to, with what was typed.
enum Refused {
    Team(TeamForm),
    Person(PersonForm),
    Worker(WorkerForm),
}

/// What the page shows above its lists: a refused draft, or a secret to
/// hand over once.
#[derive(Default)]
struct Notice {
    refused: Option<(Refused, Markup)>,
    secret: Option<Markup>,
}

pub async fn page<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    render(&state, &web, Notice::default(), StatusCode::OK).await
}

async fn render<S: Store>(
    state: &AppState<S>,
    web: &Web,
    notice: Notice,
    status: StatusCode,
) -> Response {
    let rendered = body(state, web, notice).await;
    web.show_with_status(status, rendered, "people-title", Nav::People)
}

fn may_create_some_team(web: &Web, teams: &[Team]) -> bool {
    let may = |parent_id| web.actor.may(Action::CreateTeam { parent_id }).is_ok();
    may(None) || teams.iter().any(|t| may(Some(t.id)))
}

async fn body<S: Store>(
    state: &AppState<S>,
    web: &Web,
    notice: Notice,
) -> Result<Markup, ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let teams = state
        .store
        .teams(org_id, PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items;
    let members = state
        .store
        .members(org_id, PageRequest::first(PageRequest::MAX_LIMIT))
        .await?
        .items;
    let providers = state.store.providers(org_id).await?;
    let admin = web
        .actor
        .may(Action::CreateMember { role: Role::Member })
        .is_ok();
    let creates_teams = may_create_some_team(web, &teams);
    // A lead creates teams below the teams they lead, led by themselves;
    // naming another lead, or a team at the top, is an admin's call.
    let may_create_below = |parent_id| web.actor.may(Action::CreateTeam { parent_id }).is_ok();
    let names_leads = web.actor.may(Action::ManageOrg).is_ok();
    let name_of = |id: Uuid| members.iter().find(|m| m.id == id).map(|m| m.name.as_str());
    let team_name = |id: Uuid| teams.iter().find(|t| t.id == id).map(|t| t.name.as_str());
    let humans: Vec<&Member> = members
        .iter()
        .filter(|m| m.kind == MemberKind::Human)
        .collect();
    let problem_of = |which: fn(&Refused) -> bool| {
        notice
            .refused
            .as_ref()
            .filter(|(r, _)| which(r))
            .map(|(_, m)| m.clone())
    };
    let team_draft = match &notice.refused {
        Some((Refused::Team(f), _)) => f.clone(),
        _ => TeamForm::default(),
    };
    let person_draft = match &notice.refused {
        Some((Refused::Person(f), _)) => f.clone(),
        _ => PersonForm::default(),
    };
    let worker_draft = match &notice.refused {
        Some((Refused::Worker(f), _)) => f.clone(),
        _ => WorkerForm {
            concurrency: "2".into(),
            ..WorkerForm::default()
        },
    };
    let team_select = |name: &str, chosen: Option<&str>, none: &str| {
        html! {
            select name=(name) {
                option value="" { (t.get(none)) }
                @for team in &teams { option value=(team.id) selected[chosen == Some(team.id.to_string().as_str())] { (team.name) } }
            }
        }
    };
    let own_zone = state
        .store
        .member_time_zone(web.actor.org_id, web.actor.member_id)
        .await?;
    Ok(html! {
        @if let Some(secret) = &notice.secret { (secret) }
        p { a href="/pulse" { (t.get("pulse-title")) } " · " a href="/workload" { (t.get("workload-title")) } " · " a href="/capacity" { (t.get("capacity-title")) } }
        section.card aria-labelledby="zone-h" {
            h2 #zone-h { (t.get("people-zone")) }
            p { (t.with("people-zone-now", &tutti_i18n::args([("zone", web.zone().name().to_owned())])))
                @if own_zone.is_none() { " " span.quiet { (t.get("people-zone-org")) } } }
            form.inline method="post" action="/me/time-zone" aria-labelledby="zone-h" {
                (web.csrf_field())
                label { (t.get("people-zone-own")) " "
                    input type="text" name="time_zone" maxlength="64" value=(own_zone.clone().unwrap_or_default())
                        placeholder=(web.org.time_zone); }
                button.secondary type="submit" { (t.get("people-zone-save")) }
            }
        }
        section.card aria-labelledby="teams-h" {
            h2 #teams-h { (t.get("people-teams")) }
            @if teams.is_empty() { p.quiet { (t.get("people-teams-none")) } }
            @else {
                table {
                    thead { tr { th scope="col" { (t.get("people-team")) } th scope="col" { (t.get("people-lead")) } th scope="col" { (t.get("people-parent")) } } }
                    tbody { @for team in &teams { tr {
                        th scope="row" { (team.name) }
                        td { (team.lead_id.and_then(name_of).unwrap_or("–")) }
                        td { (team.parent_id.and_then(team_name).unwrap_or("–")) }
                    } } }
                }
            }
            @if creates_teams {
                @let problem = problem_of(|r| matches!(r, Refused::Team(_)));
                details open[problem.is_some()] {
                    summary #team-new-h { (t.get("people-team-new")) }
                    @if let Some(problem) = problem { (problem) }
                    form.stacked method="post" action="/teams" aria-labelledby="team-new-h" {
                        (web.csrf_field())
                        label { (t.get("people-team")) " " input type="text" name="name" required maxlength="200" value=(team_draft.name); }
                        label { (t.get("people-lead")) " "
                            select name="lead" {
                                option value="" { (t.get("work-new-nobody")) }
                                @for m in humans.iter().filter(|m| names_leads || m.id == web.actor.member_id) {
                                    option value=(m.id) selected[team_draft.lead.as_deref() == Some(m.id.to_string().as_str())] { (m.name) }
                                }
                            }
                        }
                        label { (t.get("people-parent")) " "
                            select name="parent" {
                                @if may_create_below(None) { option value="" { (t.get("people-parent-none")) } }
                                @for team in teams.iter().filter(|t| may_create_below(Some(t.id))) {
                                    option value=(team.id) selected[team_draft.parent.as_deref() == Some(team.id.to_string().as_str())] { (team.name) }
                                }
                            }
                        }
                        button type="submit" { (t.get("people-team-save")) }
                    }
                }
            }
        }
        section.card aria-labelledby="members-h" {
            h2 #members-h { (t.get("people-members")) }
            table {
                thead { tr {
                    th scope="col" { (t.get("people-name")) } th scope="col" { (t.get("people-role")) }
                    th scope="col" { (t.get("people-teams")) } th scope="col" { (t.get("people-runs-on")) }
                    @if admin { th scope="col" { span.visually-hidden { (t.get("people-actions")) } } }
                } }
                tbody { @for m in &members { tr {
                    th scope="row" { (m.name) @if m.kind == MemberKind::Ai { " " span.badge { (t.get("ai-worker")) } } @if m.external { " " span.badge title=(t.get("people-external")) { (t.get("people-external-badge")) } } }
                    td { (t.get(&format!("role-{}", m.role))) }
                    td { (m.teams.iter().filter_map(|id| team_name(*id)).collect::<Vec<_>>().join(", ")) }
                    td { @if let (Some(p), Some(model)) = (&m.provider, &m.model) { code { (p) " / " (model) } } @else if let Some(email) = &m.email { (email) } }
                    @if admin { td { @if m.kind == MemberKind::Ai {
                        form method="post" action=(format!("/people/{}/token", m.id)) {
                            (web.csrf_field())
                            button.secondary type="submit" aria-label=(t.with("people-token-for", &tutti_i18n::args([("name", m.name.as_str())]))) { (t.get("people-token")) }
                        }
                    } } }
                } } }
            }
        }
        @if admin {
            @let problem = problem_of(|r| matches!(r, Refused::Person(_)));
            section.card aria-labelledby="person-new-h" {
                h2 #person-new-h { (t.get("people-invite")) }
                p.quiet { (t.get("people-invite-intro")) }
                @if let Some(problem) = problem { (problem) }
                form.stacked method="post" action="/people" aria-labelledby="person-new-h" {
                    (web.csrf_field())
                    label { (t.get("people-name")) " " input type="text" name="name" required maxlength="200" value=(person_draft.name); }
                    label { (t.get("people-email")) " " input type="email" name="email" required value=(person_draft.email); }
                    label { (t.get("people-role")) " "
                        select name="role" {
                            @for role in [Role::Member, Role::Lead, Role::Viewer, Role::Admin] {
                                option value=(role.as_str()) selected[person_draft.role == role.as_str()] { (t.get(&format!("role-{role}"))) }
                            }
                        }
                    }
                    label { (t.get("people-team")) " " (team_select("team", person_draft.team.as_deref(), "work-new-no-team")) }
                    button type="submit" { (t.get("people-invite-save")) }
                }
            }
            @let worker_problem = problem_of(|r| matches!(r, Refused::Worker(_)));
            section.card aria-labelledby="worker-new-h" {
                h2 #worker-new-h { (t.get("people-worker")) }
                p.quiet { (t.get("people-worker-intro")) }
                @if let Some(problem) = worker_problem { (problem) }
                @if providers.iter().all(|p| p.models.is_empty()) {
                    p.quiet { a href="/providers" { (t.get("people-worker-no-models")) } }
                }
                form.stacked method="post" action="/people/ai" aria-labelledby="worker-new-h" {
                    (web.csrf_field())
                    label { (t.get("people-name")) " " input type="text" name="name" required maxlength="200" value=(worker_draft.name); }
                    label { (t.get("people-role-card")) " " textarea name="role_card" rows="4" maxlength="20000" { (worker_draft.role_card) } }
                    label { (t.get("people-model")) " "
                        select name="model" required {
                            @for p in &providers { @for model in &p.models {
                                @let value = format!("{}/{}", p.name, model.name);
                                option value=(value) selected[worker_draft.model == value] { (p.name) " / " (model.name) }
                            } }
                        }
                    }
                    label { (t.get("people-concurrency")) " " input type="number" name="concurrency" min="1" max="64" value=(worker_draft.concurrency); }
                    label { input type="checkbox" name="external" value="1" checked[worker_draft.external.is_some()]; " " (t.get("people-external")) }
                    label { (t.get("people-team")) " " (team_select("team", worker_draft.team.as_deref(), "work-new-no-team")) }
                    fieldset {
                        legend { (t.get("people-budget")) }
                        label { (t.get("people-budget-tokens")) " " input type="number" name="budget_tokens" min="1" value=(worker_draft.budget_tokens); }
                        label { (t.get("people-budget-cost")) " " input type="text" inputmode="decimal" name="budget_cost" value=(worker_draft.budget_cost); }
                    }
                    button type="submit" { (t.get("people-worker-save")) }
                }
            }
        }
    })
}

/// After a POST: back to the page, a refused draft again (422), or the
/// error page.
async fn answer<S: Store>(
    state: &AppState<S>,
    web: Web,
    done: Result<Option<Markup>, ApiError>,
    refused: Refused,
) -> Response {
    match done {
        Ok(None) => see_other("/people"),
        // A secret is shown on the answer itself, never put in a URL.
        Ok(Some(secret)) => {
            let notice = Notice {
                secret: Some(secret),
                ..Notice::default()
            };
            render(state, &web, notice, StatusCode::CREATED).await
        }
        Err(e @ ApiError::Invalid(_)) => {
            let notice = Notice {
                refused: Some((refused, web.form_problem(&e))),
                ..Notice::default()
            };
            render(state, &web, notice, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => web.error(e),
    }
}

/// A secret shown once, with what it is for.
fn shown_once(web: &Web, title: String, secret: &str, hint: &str) -> Markup {
    html! {
        section.card.secret role="status" aria-labelledby="secret-h" {
            h2 #secret-h { (title) }
            p { code.secret { (secret) } }
            p.quiet { (web.t.get(hint)) }
        }
    }
}

pub async fn add_team<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<TeamForm>,
) -> Response {
    let Form { web, value } = form;
    let done = async {
        let new = NewTeam {
            name: value.name.clone(),
            parent_id: optional_id("parent", &value.parent)?,
            lead_id: optional_id("lead", &value.lead)?,
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        directory::create_team(&state.store, &web.actor, &ctx, new).await?;
        Ok(None)
    }
    .await;
    answer(&state, web, done, Refused::Team(value)).await
}

pub async fn invite<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<PersonForm>,
) -> Response {
    let Form { web, value } = form;
    let done = async {
        let role = match value.role.trim() {
            "" => Role::Member,
            text => text.parse::<Role>().map_err(|e| Invalid::new("role", e))?,
        };
        let new = NewMember {
            kind: MemberKind::Human,
            name: value.name.clone(),
            email: Some(Email::parse("email", &value.email)?),
            role,
            teams: optional_id("team", &value.team)?.into_iter().collect(),
            role_card: None,
            provider: None,
            model: None,
        };
        let password = super::session::random_password()?;
        let hash = super::session::hash_password(&password)?;
        let ctx = crate::api::ctx(&state, &web.actor);
        let enrolment = Enrolment {
            password_hash: Some(hash),
            ..Enrolment::default()
        };
        let person =
            directory::enrol_member(&state.store, &web.actor, &ctx, new, enrolment).await?;
        let title = web.t.with(
            "people-invited",
            &tutti_i18n::args([("name", person.name.as_str())]),
        );
        Ok(Some(shown_once(
            &web,
            title,
            &password,
            "people-invited-hint",
        )))
    }
    .await;
    answer(&state, web, done, Refused::Person(value)).await
}

/// Adds an AI worker with its concurrency and budget in one transaction,
/// so a budget that does not hold adds no worker.
pub async fn add_worker<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<WorkerForm>,
) -> Response {
    let Form { web, value } = form;
    let done = async {
        let (provider, model) = value
            .model
            .split_once('/')
            .ok_or_else(|| Invalid::new("model", "choose a provider's model"))?;
        let concurrency =
            match value.concurrency.trim() {
                "" => None,
                text => Some(text.parse::<i64>().map_err(|_| {
                    Invalid::new("concurrency", "must be a whole number from 1 to 64")
                })?),
            };
        let token_limit = match value.budget_tokens.trim() {
            "" => None,
            text => Some(text.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                Invalid::new("token_limit", format!("`{text}` is not a number of tokens"))
            })?),
        };
        let cost_limit = match value.budget_cost.trim() {
            "" => None,
            text => Some(parse_money("cost_limit", text)?),
        };
        let new = NewMember {
            kind: MemberKind::Ai,
            name: value.name.clone(),
            email: None,
            role: Role::Member,
            teams: optional_id("team", &value.team)?.into_iter().collect(),
            role_card: Some(value.role_card.trim().to_owned()).filter(|c| !c.is_empty()),
            provider: Some(provider.to_owned()),
            model: Some(model.to_owned()),
        };
        let budget = (token_limit.is_some() || cost_limit.is_some()).then(|| NewBudget {
            name: web.t.with(
                "people-budget-name",
                &tutti_i18n::args([("name", value.name.trim())]),
            ),
            // The store scopes it to the new worker.
            scope: BudgetScope::Worker,
            scope_id: None,
            period: BudgetPeriod::Month,
            token_limit,
            cost_limit,
            warn_percent: 80,
            hard: true,
        });
        let enrolment = Enrolment {
            password_hash: None,
            concurrency,
            external: value.external.is_some(),
            budget,
        };
        let ctx = crate::api::ctx(&state, &web.actor);
        directory::enrol_member(&state.store, &web.actor, &ctx, new, enrolment).await?;
        Ok(None)
    }
    .await;
    answer(&state, web, done, Refused::Worker(value)).await
}

/// Issues an AI worker's API token and shows it once.
pub async fn issue_token<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<super::alerts::Nothing>,
) -> Response {
    let web = form.web;
    let done = async {
        let (token, hash) =
            auth::new_token().map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
        let ctx = crate::api::ctx(&state, &web.actor);
        let label = web.t.get("people-token-label");
        directory::create_token(&state.store, &web.actor, &ctx, id, &label, &hash).await?;
        let worker = state.store.member(web.actor.org_id, id).await?;
        let title = web.t.with(
            "people-token-issued",
            &tutti_i18n::args([("name", worker.name.as_str())]),
        );
        Ok(Some(shown_once(&web, title, &token, "people-token-hint")))
    }
    .await;
    answer(&state, web, done, Refused::Team(TeamForm::default())).await
}
