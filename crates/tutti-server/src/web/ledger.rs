//! Ledger and budgets: settled spend per day over the last weeks, by team,
//! objective, worker or model, and every budget with its use and state.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::Invalid;
use tutti_domain::access::Action;
use tutti_domain::labour::{BudgetPeriod, BudgetScope, LedgerGroup, parse_money};
use tutti_engine::signals::directory;
use tutti_i18n::args;
use tutti_store::NewBudget;
use tutti_store::prelude::*;
use uuid::Uuid;

use super::{Form, Nav, Web, charts, see_other, svg};
use crate::{ApiError, AppState};

const DAYS: i64 = 30;
/// Groups drawn as their own line; the rest are summed as "other".
const LINES: usize = 5;

#[derive(Debug, Default, Deserialize)]
pub struct LedgerQuery {
    by: Option<String>,
}

pub async fn page<S: Store>(
    State(state): State<AppState<S>>,
    web: Web,
    Query(query): Query<LedgerQuery>,
) -> Response {
    let rendered = render(&state, &web, query, None).await;
    web.show(rendered, "ledger-title", Nav::Ledger)
}

/// A budget as typed. `of` is `org`, `team:ID` or `worker:ID`.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct BudgetForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    of: String,
    #[serde(default)]
    period: String,
    #[serde(default)]
    tokens: String,
    #[serde(default)]
    cost: String,
    #[serde(default)]
    warn: String,
    /// A checkbox: present when ticked.
    #[serde(default)]
    hard: Option<String>,
}

impl BudgetForm {
    fn parse(&self) -> Result<NewBudget, ApiError> {
        let (scope, scope_id) = match self.of.split_once(':') {
            None if self.of == "org" => (BudgetScope::Org, None),
            Some(("team", id)) => (BudgetScope::Team, Some(id)),
            Some(("worker", id)) => (BudgetScope::Worker, Some(id)),
            _ => return Err(Invalid::new("scope", "choose what the budget is for").into()),
        };
        let scope_id = scope_id
            .map(|id| {
                id.parse::<Uuid>()
                    .map_err(|_| Invalid::new("scope_id", "is not an id"))
            })
            .transpose()?;
        let period = match self.period.trim() {
            "" => BudgetPeriod::Month,
            text => text.parse().map_err(|e| Invalid::new("period", e))?,
        };
        let tokens = match self.tokens.trim() {
            "" => None,
            text => Some(text.parse::<i64>().map_err(|_| {
                Invalid::new("token_limit", format!("`{text}` is not a number of tokens"))
            })?),
        };
        let cost = match self.cost.trim() {
            "" => None,
            text => Some(parse_money("cost_limit", text)?),
        };
        let warn = match self.warn.trim() {
            "" => 80,
            text => text
                .parse::<i64>()
                .map_err(|_| Invalid::new("warn_percent", "must be a whole percentage"))?,
        };
        Ok(NewBudget {
            name: self.name.clone(),
            scope,
            scope_id,
            period,
            token_limit: tokens,
            cost_limit: cost,
            warn_percent: warn,
            hard: self.hard.is_some(),
        })
    }
}

/// Sets a budget (admins; leads for their teams).
pub async fn add_budget<S: Store>(
    State(state): State<AppState<S>>,
    form: Form<BudgetForm>,
) -> Response {
    let Form { web, value } = form;
    let added = async {
        let new = value.parse()?;
        let ctx = crate::api::ctx(&state, &web.actor);
        tutti_engine::labour::create_budget(&state.store, &web.actor, &ctx, new).await?;
        Ok::<_, ApiError>(())
    }
    .await;
    match added {
        Ok(()) => see_other("/ledger#budgets-h"),
        Err(e @ ApiError::Invalid(_)) => {
            let draft = (value, web.form_problem(&e));
            let rendered = render(&state, &web, LedgerQuery::default(), Some(&draft)).await;
            web.show_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                rendered,
                "ledger-title",
                Nav::Ledger,
            )
        }
        Err(e) => web.error(e),
    }
}

/// The two pages of the ledger's area: spend and budgets, and the
/// providers and prices that spend comes from.
pub(super) fn sections(t: &tutti_i18n::Messages, current: &str) -> Markup {
    html! {
        nav.scope aria-label=(t.get("ledger-sections")) {
            a href="/ledger" aria-current=[(current == "ledger").then_some("page")] { (t.get("ledger-title")) }
            " · "
            a href="/providers" aria-current=[(current == "providers").then_some("page")] { (t.get("providers-title")) }
            " · "
            a href="/leverage" aria-current=[(current == "leverage").then_some("page")] { (t.get("leverage-title")) }
        }
    }
}

fn group_of(text: Option<&str>) -> Result<LedgerGroup, ApiError> {
    match text.unwrap_or("team") {
        "team" => Ok(LedgerGroup::Team),
        "objective" => Ok(LedgerGroup::Objective),
        "worker" => Ok(LedgerGroup::Worker),
        "model" => Ok(LedgerGroup::Model),
        other => Err(ApiError::Malformed {
            field: Some("by".into()),
            detail: format!("`{other}`: use team, objective, worker or model"),
        }),
    }
}

async fn render<S: Store>(
    state: &AppState<S>,
    web: &Web,
    query: LedgerQuery,
    draft: Option<&(BudgetForm, Markup)>,
) -> Result<Markup, ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let group = group_of(query.by.as_deref())?;
    let now = state.clock.now();
    let first_day = now.date_naive() - chrono::Duration::days(DAYS - 1);
    let from = first_day
        .and_hms_opt(0, 0, 0)
        .map(|d| d.and_utc())
        .unwrap_or(now);
    let points = state
        .store
        .spend_by_day(org_id, group, from, now + chrono::Duration::days(1))
        .await?;

    // Names for the keys: members, teams, objectives.
    let members = directory(&state.store, org_id).await?;
    let teams = super::team_names(&state.store, org_id).await?;
    let mut totals: BTreeMap<Option<String>, i64> = BTreeMap::new();
    for p in &points {
        *totals.entry(p.key.clone()).or_default() += p.cost;
    }
    let mut ranked: Vec<(Option<String>, i64)> = totals.into_iter().collect();
    ranked.sort_by_key(|r| std::cmp::Reverse(r.1));
    let mut names: HashMap<Option<String>, String> = HashMap::new();
    for (key, _) in &ranked {
        let name = match (key, group) {
            (None, _) => t.get("ledger-unassigned"),
            (Some(k), LedgerGroup::Model) => k.clone(),
            (Some(k), _) => {
                let id = k.parse::<Uuid>().ok();
                let known = id.and_then(|id| {
                    members
                        .get(&id)
                        .map(|m| m.name.clone())
                        .or_else(|| teams.get(&id).cloned())
                });
                match (known, id, group) {
                    (Some(name), _, _) => name,
                    (None, Some(id), LedgerGroup::Objective) => state
                        .store
                        .objective(org_id, id)
                        .await
                        .map(|o| o.title)
                        .unwrap_or_else(|_| k.clone()),
                    _ => k.clone(),
                }
            }
        };
        names.insert(key.clone(), name);
    }
    let days: Vec<chrono::NaiveDate> = (0..DAYS)
        .map(|i| first_day + chrono::Duration::days(i))
        .collect();
    let index: HashMap<chrono::NaiveDate, usize> =
        days.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let shown: Vec<Option<String>> = ranked.iter().take(LINES).map(|(k, _)| k.clone()).collect();
    let mut series: Vec<(String, Vec<f64>)> = shown
        .iter()
        .map(|k| {
            (
                names.get(k).cloned().unwrap_or_default(),
                vec![0.0; days.len()],
            )
        })
        .collect();
    let mut other = vec![0.0; days.len()];
    for p in &points {
        let Some(&i) = index.get(&p.day) else {
            continue;
        };
        let units = p.cost as f64 / 1_000_000.0;
        match shown.iter().position(|k| *k == p.key) {
            Some(s) => series[s].1[i] += units,
            None => other[i] += units,
        }
    }
    if ranked.len() > LINES {
        series.push((t.get("ledger-other"), other));
    }
    let labels: Vec<String> = days
        .iter()
        .map(|d| d.format("%d.%m.").to_string())
        .collect();
    let budgets = state.store.budgets(org_id, now).await?;
    let totals = state.store.ledger_totals(org_id).await?;
    let groups = [
        ("team", "ledger-by-team"),
        ("objective", "ledger-by-objective"),
        ("worker", "ledger-by-worker"),
        ("model", "ledger-by-model"),
    ];
    let current = query.by.as_deref().unwrap_or("team");
    let team_list = state
        .store
        .teams(
            org_id,
            tutti_store::PageRequest::first(tutti_store::PageRequest::MAX_LIMIT),
        )
        .await?
        .items;
    // Admins set budgets anywhere; a lead only on the teams they lead, so
    // the form offers only those.
    let may_budget = |team_id| web.actor.may(Action::ManageBudget { team_id }).is_ok();
    let org_wide = may_budget(None);
    let budget_teams: Vec<_> = team_list
        .iter()
        .filter(|t| may_budget(Some(t.id)))
        .collect();
    let sets_budgets = org_wide || !budget_teams.is_empty();
    let mut workers: Vec<_> = members
        .values()
        .filter(|m| org_wide && m.kind == tutti_domain::org::MemberKind::Ai)
        .collect();
    workers.sort_by(|a, b| a.name.cmp(&b.name));
    let (budget_draft, budget_problem) = match draft {
        Some((form, problem)) => (form.clone(), Some(problem.clone())),
        None => (
            BudgetForm {
                warn: "80".into(),
                hard: Some("on".into()),
                ..BudgetForm::default()
            },
            None,
        ),
    };
    Ok(html! {
        (sections(t, "ledger"))
        nav.tabs aria-label=(t.get("ledger-group")) {
            @for (key, label) in groups {
                a href=(format!("/ledger?by={key}")) aria-current=[(key == current).then_some("page")] { (t.get(label)) }
            }
        }
        section.card aria-labelledby="spend-h" {
            h2 #spend-h { (t.with("ledger-spend-days", &args([("days", DAYS as f64)]))) }
            @if points.is_empty() {
                p.quiet { (t.get("ledger-empty")) }
            } @else {
                figure role="img" aria-label=(t.with("ledger-spend-days", &args([("days", DAYS as f64)]))) {
                    (svg(charts::lines(&labels, &series, &|y| web.t.decimal(y, 2))))
                }
                table {
                    thead { tr { th scope="col" { (t.get(groups.iter().find(|g| g.0 == current).map(|g| g.1).unwrap_or("ledger-by-team"))) } th scope="col" { (t.get("ledger-cost")) } } }
                    tbody { @for (key, cost) in &ranked { tr { th scope="row" { (names.get(key).cloned().unwrap_or_default()) } td { (web.money(*cost)) } } } }
                }
            }
            p.quiet { (t.with("ledger-totals", &args([
                ("settled", web.money(totals.settled_cost)),
                ("tokens", t.int(totals.settled_tokens)),
                ("open", t.int(totals.open_reservations)),
            ]))) }
        }
        section.card aria-labelledby="budgets-h" {
            h2 #budgets-h { (t.get("budgets-title")) }
            @if budgets.is_empty() { p.quiet { (t.get("budgets-none")) } } @else {
                table {
                    thead { tr {
                        th scope="col" { (t.get("budget-name")) } th scope="col" { (t.get("budget-scope")) } th scope="col" { (t.get("budget-period")) }
                        th scope="col" { (t.get("budget-used")) } th scope="col" { (t.get("budget-state")) }
                    } }
                    tbody {
                        @for b in &budgets {
                            tr {
                                th scope="row" { (b.budget.name) @if b.budget.hard { " " span.badge { (t.get("budget-hard")) } } }
                                td { (t.get(&format!("budget-scope-{}", b.budget.scope))) }
                                td { (t.get(&format!("budget-period-{}", b.budget.period))) " " small.quiet { (t.with("since", &args([("when", t.date(b.window_start))]))) } }
                                td {
                                    @if let Some(limit) = b.budget.cost_limit { (web.money(b.used_cost)) " / " (web.money(limit)) br; }
                                    @if let Some(limit) = b.budget.token_limit { (t.int(b.used_tokens)) " / " (t.int(limit)) " " (t.get("tokens")) }
                                }
                                td { span class=(format!("badge {}", b.state)) { (t.get(&format!("budget-state-{}", b.state))) } }
                            }
                        }
                    }
                }
            }
            @if sets_budgets {
                details open[budget_problem.is_some()] {
                    summary #budget-new-h { (t.get("budget-new")) }
                    @if let Some(problem) = &budget_problem { (problem) }
                    form.stacked method="post" action="/budgets" aria-labelledby="budget-new-h" {
                        (web.csrf_field())
                        label { (t.get("budget-name")) " " input type="text" name="name" required maxlength="200" value=(budget_draft.name); }
                        label { (t.get("budget-scope")) " "
                            select name="of" {
                                @if org_wide { option value="org" selected[budget_draft.of == "org"] { (t.get("budget-scope-org")) } }
                                @for team in &budget_teams { @let v = format!("team:{}", team.id); option value=(v) selected[budget_draft.of == v] { (t.get("budget-scope-team")) ": " (team.name) } }
                                @for w in &workers { @let v = format!("worker:{}", w.id); option value=(v) selected[budget_draft.of == v] { (t.get("budget-scope-worker")) ": " (w.name) } }
                            }
                        }
                        label { (t.get("budget-period")) " "
                            select name="period" {
                                @for p in ["month", "quarter", "lifetime"] { option value=(p) selected[budget_draft.period == p] { (t.get(&format!("budget-period-{p}"))) } }
                            }
                        }
                        label { (t.get("budget-new-tokens")) " " input type="number" name="tokens" min="1" value=(budget_draft.tokens); }
                        label { (t.get("budget-new-cost")) " " input type="text" inputmode="decimal" name="cost" value=(budget_draft.cost); }
                        label { (t.get("budget-new-warn")) " " input type="number" name="warn" min="1" max="100" value=(budget_draft.warn); }
                        label { input type="checkbox" name="hard" checked[budget_draft.hard.is_some()]; " " (t.get("budget-new-hard")) }
                        button type="submit" { (t.get("budget-new-save")) }
                    }
                }
            }
        }
    })
}
