//! The cockpit's home: what needs the leader this morning — alerts, what
//! waits on them, objectives' health, spend against budgets, the flow of
//! work, and how the AI workers do.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::Response;
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use tutti_domain::access::Action;
use tutti_domain::labour::LedgerGroup;
use tutti_domain::org::MemberKind;
use tutti_domain::signal::Audience;
use tutti_domain::work::WorkState;
use tutti_engine::signals::{directory, explain};
use tutti_i18n::args;
use tutti_store::AlertFilter;
use tutti_store::RunFilter;
use tutti_store::prelude::*;
use tutti_store::{PageRequest, WorkFilter};

use super::{Nav, Web, charts, progress_bar, svg};
use crate::{ApiError, AppState};

/// How many of the reader's open alerts the home page lists.
const ALERTS_SHOWN: u32 = 20;
/// How many top-level objectives the home page shows.
const OBJECTIVES_SHOWN: usize = 8;
const WEEKS: u32 = 8;

pub async fn page<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    let rendered = render(&state, &web).await;
    web.show(rendered, "home-title", Nav::Home)
}

async fn render<S: Store>(state: &AppState<S>, web: &Web) -> Result<Markup, ApiError> {
    web.actor.may(Action::Read)?;
    let now = state.clock.now();
    let org_id = web.actor.org_id;
    let t = &web.t;
    let store = &state.store;

    // The reader's own alerts lead; the rest of the org's are a link away.
    let audience = Audience::of(&web.actor);
    let everything = audience == Audience::Everyone;
    let alert_card = async {
        let filter = AlertFilter {
            include_cleared: false,
            audience: audience.clone(),
        };
        let alerts = store.alerts(org_id, &filter, ALERTS_SHOWN).await?;
        let mine = store.open_alert_count(org_id, &audience).await?;
        let open_in_org = if everything {
            mine
        } else {
            store.open_alert_count(org_id, &Audience::Everyone).await?
        };
        Ok::<_, ApiError>((alerts, mine, open_in_org))
    };
    let waiting = async {
        let (decisions, _) =
            tutti_engine::decisions::awaiting(store, &state.runtime.policies, &web.actor, None, 10)
                .await?;
        Ok::<_, ApiError>(decisions)
    };
    // The cards read independently, each on a connection of its own, so
    // the page takes as long as its slowest card, not their sum.
    let ((alerts, mine, open_in_org), decisions, reviews, objectives, budgets, flow, members) = tokio::try_join!(
        alert_card,
        waiting,
        runs_to_review(state, web),
        objectives_health(state, web),
        async { Ok::<_, ApiError>(store.budgets(org_id, now).await?) },
        async { Ok::<_, ApiError>(store.work_flow(org_id, now, WEEKS).await?) },
        async { Ok::<_, ApiError>(directory(store, org_id).await?) },
    )?;
    let others = open_in_org - mine;
    let workers = workers(state, web, &members).await?;

    let budget_rows: Vec<(String, f64, f64)> = budgets
        .iter()
        .map(|b| {
            let used = b.used_share();
            (
                b.budget.name.clone(),
                used,
                b.budget.warn_percent as f64 / 100.0,
            )
        })
        .collect();
    let count = |state: WorkState| {
        flow.by_state
            .iter()
            .find(|(s, _)| *s == state)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    let in_progress = count(WorkState::Running) + count(WorkState::InReview);
    let open = flow.planned_open + flow.unplanned_open;
    let unplanned_share = if open > 0 {
        flow.unplanned_open as f64 / open as f64
    } else {
        0.0
    };
    let week_labels: Vec<String> = flow
        .done_per_week
        .iter()
        .map(|(monday, _)| {
            t.with(
                "week-label",
                &args([("week", monday.format("%V").to_string())]),
            )
        })
        .collect();
    let throughput: Vec<f64> = flow.done_per_week.iter().map(|(_, n)| *n as f64).collect();

    Ok(html! {
        section.card.alerts aria-labelledby="alerts-h" {
            h2 #alerts-h { (t.get("home-alerts")) " " span.count { (mine) } }
            p.more { a href="/alerts" { (t.get("home-alerts-all")) } }
            @if !everything { p.quiet.scope { (t.get("home-alerts-mine")) } }
            @if open_in_org == 0 {
                p.quiet { (t.get("home-no-alerts")) }
            } @else if alerts.is_empty() {
                p.quiet { (t.get("home-alerts-none-mine")) }
            }
            @if others > 0 {
                p.others { a href="/alerts" { (t.with("home-alerts-others", &args([("count", others as f64)]))) } }
            }
            @if !alerts.is_empty() {
                ul.alerts {
                    @for alert in &alerts {
                        li class=(format!("alert {}", alert.kind)) {
                            strong { (t.get(&format!("signal-title-{}", alert.kind))) }
                            " " span { (explain(t, alert.kind, &alert.params)) }
                            " " a href=(alert.link) { (t.get("alert-open")) }
                            " " small.quiet { (t.datetime(alert.raised_at)) }
                        }
                    }
                }
            }
        }
        section.card aria-labelledby="waiting-h" {
            h2 #waiting-h { (t.get("home-waiting")) }
            @if decisions.is_empty() && reviews.is_empty() {
                p.quiet { (t.get("home-waiting-empty")) }
            }
            @if !decisions.is_empty() {
                h3 { (t.get("home-decisions-to-approve")) }
                ul.waiting {
                    @for d in &decisions {
                        li { a href=(format!("/decisions/{}", d.id)) { (d.question) }
                            " " span.badge { (t.get(&format!("decision-status-{}", d.status))) }
                            @if let Some(deadline) = d.deadline { " " small.quiet { (t.with("until", &args([("when", t.datetime(deadline))]))) } }
                        }
                    }
                }
            }
            @if !reviews.is_empty() {
                h3 { (t.get("home-runs-to-review")) }
                ul.waiting {
                    @for (item_id, title, worker, finished) in &reviews {
                        li { a href=(format!("/work/{item_id}")) { (title) }
                            " " span.quiet { (members.get(worker).map(|m| m.name.as_str()).unwrap_or("?")) }
                            @if let Some(at) = finished { " " small.quiet { (t.datetime(*at)) } }
                        }
                    }
                }
            }
        }
        div.grid {
            section.card aria-labelledby="objectives-h" {
                h2 #objectives-h { (t.get("home-objectives")) }
                @if objectives.is_empty() { p.quiet { (t.get("objectives-none")) } }
                ul.health {
                    @for o in &objectives {
                        li {
                            a href=(format!("/objectives/{}", o.0)) { (o.1) }
                            @if o.4 { " " span.badge.risk { (t.get("at-risk")) } }
                            br;
                            (progress_bar(t, o.2, Some(o.3)))
                        }
                    }
                }
                p { a href="/objectives" { (t.get("objectives-all")) } }
            }
            section.card aria-labelledby="spend-h" {
                h2 #spend-h { (t.get("home-spend")) }
                @if budget_rows.is_empty() {
                    p.quiet { (t.get("budgets-none")) }
                } @else {
                    figure role="img" aria-label=(t.get("home-spend")) {
                        (svg(charts::budget_use(&budget_rows)))
                    }
                    ul.figures {
                        @for b in &budgets {
                            li { (b.budget.name) ": "
                                @if let Some(limit) = b.budget.cost_limit { (web.money(b.used_cost)) " / " (web.money(limit)) " " }
                                @if let Some(limit) = b.budget.token_limit { (t.int(b.used_tokens)) " / " (t.int(limit)) " " (t.get("tokens")) " " }
                                span class=(format!("badge {}", b.state)) { (t.get(&format!("budget-state-{}", b.state))) }
                            }
                        }
                    }
                }
                p { a href="/ledger" { (t.get("ledger-open")) } }
            }
            section.card aria-labelledby="flow-h" {
                h2 #flow-h { (t.get("home-flow")) }
                dl.figures {
                    dt { (t.get("flow-in-progress")) } dd { (t.int(in_progress)) }
                    dt { (t.get("flow-blocked")) } dd { a href="/work?state=blocked" { (t.int(count(WorkState::Blocked))) } }
                    dt { (t.get("flow-unplanned-share")) } dd { (t.percent(unplanned_share)) }
                    dt { (t.get("flow-done-this-week")) } dd { (t.int(throughput.last().copied().unwrap_or(0.0) as i64)) }
                }
                figure role="img" aria-label=(t.get("flow-throughput")) {
                    figcaption { (t.get("flow-throughput")) }
                    (svg(charts::stacked_bars(&week_labels, &[(t.get("flow-done"), throughput.clone())])))
                }
                figure role="img" aria-label=(t.get("flow-open-by-kind")) {
                    figcaption { (t.get("flow-open-by-kind")) }
                    (svg(charts::stacked_bars(
                        &[t.get("flow-open")],
                        &[
                            (t.get("work-kind-planned"), vec![flow.planned_open as f64]),
                            (t.get("work-kind-unplanned"), vec![flow.unplanned_open as f64]),
                        ],
                    )))
                }
                p { a href="/workload" { (t.get("workload-title")) } " · " a href="/pulse" { (t.get("pulse-title")) } }
            }
            section.card aria-labelledby="workers-h" {
                h2 #workers-h { (t.get("home-workers")) }
                @if workers.is_empty() { p.quiet { (t.get("workers-none")) } } @else {
                    table {
                        thead { tr { th scope="col" { (t.get("worker")) } th scope="col" { (t.get("worker-accept-rate")) } th scope="col" { (t.get("worker-mean-rating")) } th scope="col" { (t.get("worker-cost-per-accepted")) } } }
                        tbody {
                            @for w in &workers {
                                tr {
                                    th scope="row" { (w.name) }
                                    td { @match w.accept_rate { Some(r) => (t.percent(r)), None => "–" } }
                                    td { @match w.mean_rating { Some(r) => (t.decimal(r, 1)), None => "–" } }
                                    td { @match w.cost_per_accepted { Some(c) => (web.money(c)), None => "–" } }
                                }
                            }
                        }
                    }
                }
            }
        }
    })
}

/// Items in review that this person may review, with their latest run's
/// worker and end.
async fn runs_to_review<S: Store>(
    state: &AppState<S>,
    web: &Web,
) -> Result<Vec<(uuid::Uuid, String, uuid::Uuid, Option<DateTime<Utc>>)>, ApiError> {
    let filter = WorkFilter {
        state: Some(WorkState::InReview),
        ..WorkFilter::default()
    };
    let items = state
        .store
        .work_items(web.actor.org_id, &filter, PageRequest::first(50))
        .await?;
    let mut out = Vec::new();
    for item in items.items {
        let may = web.actor.may(Action::Review {
            team_id: item.team_id,
            created_by: item.created_by,
        });
        if may.is_err() {
            continue;
        }
        let runs = state
            .store
            .runs(
                web.actor.org_id,
                &RunFilter {
                    work_item_id: Some(item.id),
                    ..RunFilter::default()
                },
                PageRequest::first(PageRequest::MAX_LIMIT),
            )
            .await?;
        if let Some(run) = runs.items.last() {
            out.push((item.id, item.title, run.worker_id, run.finished_at));
        }
        if out.len() == 10 {
            break;
        }
    }
    Ok(out)
}

/// The top-level objectives, at-risk ones first: id, title, progress,
/// expected progress, at risk.
async fn objectives_health<S: Store>(
    state: &AppState<S>,
    web: &Web,
) -> Result<Vec<(uuid::Uuid, String, f64, f64, bool)>, ApiError> {
    let cached = state.judged_forest(web.actor.org_id).await?;
    let mut rows: Vec<_> = cached
        .forest
        .objectives
        .iter()
        .filter(|o| o.parent_id.is_none())
        .map(|o| {
            let s = cached.judged.summary(o.clone());
            (
                s.objective.id,
                s.objective.title,
                s.progress,
                s.health.expected_progress,
                s.health.at_risk,
            )
        })
        .collect();
    rows.sort_by(|a, b| b.4.cmp(&a.4).then(a.1.cmp(&b.1)));
    rows.truncate(OBJECTIVES_SHOWN);
    Ok(rows)
}

struct WorkerRow {
    name: String,
    accept_rate: Option<f64>,
    mean_rating: Option<f64>,
    cost_per_accepted: Option<i64>,
}

async fn workers<S: Store>(
    state: &AppState<S>,
    web: &Web,
    members: &HashMap<uuid::Uuid, tutti_domain::org::Member>,
) -> Result<Vec<WorkerRow>, ApiError> {
    let org_id = web.actor.org_id;
    let spend = state
        .store
        .ledger_summary(
            org_id,
            LedgerGroup::Worker,
            DateTime::<Utc>::UNIX_EPOCH,
            state.clock.now() + chrono::Duration::days(1),
        )
        .await?;
    let cost: HashMap<String, i64> = spend
        .into_iter()
        .filter_map(|line| line.key.map(|k| (k, line.cost)))
        .collect();
    let mut ai: Vec<_> = members
        .values()
        .filter(|m| m.kind == MemberKind::Ai)
        .collect();
    ai.sort_by(|a, b| a.name.cmp(&b.name));
    let mut rows = Vec::new();
    for member in ai {
        let stats = state.store.review_stats(org_id, member.id).await?;
        let spent = cost.get(&member.id.to_string()).copied().unwrap_or(0);
        rows.push(WorkerRow {
            name: member.name.clone(),
            accept_rate: stats.accept_rate,
            mean_rating: stats.mean_rating,
            cost_per_accepted: stats.cost_per_accepted(spent),
        });
    }
    Ok(rows)
}
