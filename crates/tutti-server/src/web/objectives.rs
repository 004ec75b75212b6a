//! Objectives: the alignment tree with roll-ups, an objective with its key
//! results, their check-in history and the check-in form, and the work that
//! serves no key result.

use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::access::{Action, Scope};
use tutti_domain::strategy::{NewCheckIn, ObjectiveSummary, RiskReason};
use tutti_engine::strategy;
use tutti_i18n::args;
use tutti_store::prelude::*;
use tutti_store::{PageRequest, WorkFilter};
use uuid::Uuid;

use super::{Form, Nav, PageId, Web, charts, progress_bar, see_other, svg};
use crate::api::objectives::judged;
use crate::{ApiError, AppState};

/// Children shown under each objective in the tree before "and N more".
const CHILDREN_SHOWN: usize = 10;
const ROOTS_SHOWN: usize = 100;

/// A root as the tree shows it: its summary, its first children (each with
/// how many objectives hang below it), and how many children it has in all.
type Branch = (ObjectiveSummary, Vec<(ObjectiveSummary, usize)>, usize);

pub async fn tree<S: Store>(State(state): State<AppState<S>>, web: Web) -> Response {
    let rendered = render_tree(&state, &web).await;
    web.show(rendered, "objectives-title", Nav::Objectives)
}

fn row(web: &Web, s: &ObjectiveSummary) -> Markup {
    let t = &web.t;
    html! {
        a href=(format!("/objectives/{}", s.objective.id)) { (s.objective.title) }
        @if s.health.at_risk { " " span.badge.risk { (t.get("at-risk")) } }
        " " (progress_bar(t, s.progress, Some(s.health.expected_progress)))
    }
}

async fn render_tree<S: Store>(state: &AppState<S>, web: &Web) -> Result<Markup, ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let cached = state.judged_forest(web.actor.org_id).await?;
    // Only what is shown is judged: the roots, and a few children of each.
    let mut below: std::collections::HashMap<Uuid, Vec<&tutti_domain::strategy::Objective>> =
        std::collections::HashMap::new();
    let mut all_roots = Vec::new();
    for o in &cached.forest.objectives {
        match o.parent_id {
            Some(parent) => below.entry(parent).or_default().push(o),
            None => all_roots.push(o),
        }
    }
    let total_roots = all_roots.len();
    let summarize = |o: &tutti_domain::strategy::Objective| cached.judged.summary(o.clone());
    let roots: Vec<Branch> = all_roots
        .iter()
        .take(ROOTS_SHOWN)
        .map(|root| {
            let kids = below.get(&root.id).map(Vec::as_slice).unwrap_or(&[]);
            let shown = kids
                .iter()
                .take(CHILDREN_SHOWN)
                .map(|k| (summarize(k), below.get(&k.id).map(Vec::len).unwrap_or(0)))
                .collect();
            (summarize(root), shown, kids.len())
        })
        .collect();
    let unaligned = state
        .store
        .work_items(
            web.actor.org_id,
            &WorkFilter {
                unaligned: true,
                ..WorkFilter::default()
            },
            PageRequest::first(20),
        )
        .await?;
    Ok(html! {
        p.lede { (t.get("objectives-lede")) }
        @if roots.is_empty() { p.quiet { (t.get("objectives-none")) } }
        ul.tree {
            @for (root, kids, all_kids) in &roots {
                li {
                    (row(web, root))
                    @if !kids.is_empty() {
                        ul {
                            @for (kid, grandchildren) in kids {
                                li {
                                    (row(web, kid))
                                    @if *grandchildren > 0 {
                                        " " small.quiet { (t.with("objectives-below", &args([("count", *grandchildren as f64)]))) }
                                    }
                                }
                            }
                            @if *all_kids > kids.len() {
                                li.quiet { a href=(format!("/objectives/{}", root.objective.id)) { (t.with("and-more", &args([("count", (all_kids - kids.len()) as f64)]))) } }
                            }
                        }
                    }
                }
            }
            @if total_roots > ROOTS_SHOWN {
                li.quiet { (t.with("and-more", &args([("count", (total_roots - ROOTS_SHOWN) as f64)]))) }
            }
        }
        section.card aria-labelledby="unaligned-h" {
            h2 #unaligned-h { (t.get("objectives-unaligned")) }
            p.quiet { (t.get("objectives-unaligned-lede")) }
            @if unaligned.items.is_empty() { p.quiet { (t.get("objectives-unaligned-none")) } }
            ul {
                @for item in &unaligned.items {
                    li { a href=(format!("/work/{}", item.id)) { (item.title) } " " span.badge { (t.get(&format!("work-state-{}", item.state))) } }
                }
            }
        }
    })
}

pub async fn show<S: Store>(
    State(state): State<AppState<S>>,
    web: Web,
    PageId(id): PageId,
) -> Response {
    match render_objective(&state, &web, id).await {
        Ok((title, body)) => web.page(&title, Nav::Objectives, body),
        Err(e) => web.error(e),
    }
}

async fn render_objective<S: Store>(
    state: &AppState<S>,
    web: &Web,
    id: Uuid,
) -> Result<(String, Markup), ApiError> {
    web.actor.may(Action::Read)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let forest = state.store.objective_forest(org_id, &[id]).await?;
    let judged = judged(state, &forest);
    let mut objective = None;
    let mut children = Vec::new();
    for o in forest.objectives {
        if o.id == id {
            objective = Some(judged.summary(o));
        } else if o.parent_id == Some(id) {
            children.push(judged.summary(o));
        }
    }
    let summary = objective.ok_or(ApiError::NotFound("objective"))?;
    let o = &summary.objective;
    let scope = Scope {
        team_id: o.team_id,
        owner_id: o.owner_id,
    };
    let may_check_in = web.actor.may(Action::CheckIn(scope)).is_ok();
    let members = tutti_engine::signals::directory(&state.store, org_id).await?;
    let owner = o
        .owner_id
        .and_then(|id| members.get(&id))
        .map(|m| m.name.clone());
    let mut key_results = Vec::new();
    for kr in judged.key_results_of(id) {
        let history = state
            .store
            .check_ins(org_id, kr.id, PageRequest::first(PageRequest::MAX_LIMIT))
            .await?
            .items;
        key_results.push((kr, history));
    }
    let body = html! {
        p.why { strong { (t.get("objective-why")) ": " } (o.why) }
        dl.facts {
            dt { (t.get("objective-period")) } dd { (t.date(o.period_start)) " – " (t.date(o.period_end)) }
            @if let Some(owner) = &owner { dt { (t.get("objective-owner")) } dd { (owner) } }
            dt { (t.get("objective-progress")) } dd { (progress_bar(t, summary.progress, Some(summary.health.expected_progress))) }
        }
        @if summary.health.at_risk {
            div.problem role="status" {
                strong { (t.get("at-risk")) ": " }
                @for reason in &summary.health.reasons {
                    @match reason {
                        RiskReason::Behind { progress, expected } => span { (t.with("risk-behind", &args([("progress", t.percent(*progress)), ("expected", t.percent(*expected))]))) " " },
                        RiskReason::LowConfidence { confidence, .. } => span { (t.with("risk-low-confidence", &args([("confidence", f64::from(*confidence))]))) " " },
                    }
                }
            }
        }
        @if let Some(parent) = o.parent_id { p { a href=(format!("/objectives/{parent}")) { "↑ " (t.get("objective-parent")) } } }
        h2 { (t.get("key-results")) }
        @if key_results.is_empty() { p.quiet { (t.get("key-results-none")) } }
        @for (kr, history) in &key_results {
            section.card.kr aria-labelledby=(format!("kr-{}", kr.id)) {
                h3 id=(format!("kr-{}", kr.id)) { (kr.title) }
                p {
                    (progress_bar(t, kr.progress, None)) " · "
                    (t.with("kr-figures", &args([
                        ("current", format!("{} {}", t.decimal(kr.current, 1), kr.unit)),
                        ("target", format!("{} {}", t.decimal(kr.target, 1), kr.unit)),
                        ("baseline", format!("{} {}", t.decimal(kr.baseline, 1), kr.unit)),
                    ])))
                    " · " (t.with("kr-confidence", &args([("confidence", f64::from(kr.confidence))])))
                }
                @if history.len() > 1 {
                    @let labels: Vec<String> = history.iter().map(|c| t.date(c.created_at.date_naive())).collect();
                    figure role="img" aria-label=(t.with("kr-history", &args([("title", kr.title.as_str())]))) {
                        (svg(charts::lines(&labels, &[(kr.title.clone(), history.iter().map(|c| c.value).collect())], &|y| t.decimal(y, 1))))
                    }
                }
                @if !history.is_empty() {
                    details {
                        summary { (t.with("kr-check-ins", &args([("count", history.len() as f64)]))) }
                        ul.history {
                            @for c in history.iter().rev() {
                                li { (t.date(c.created_at.date_naive())) ": " strong { (t.decimal(c.value, 1)) " " (kr.unit) } " · " (t.with("kr-confidence", &args([("confidence", f64::from(c.confidence))])))
                                    @if !c.note.is_empty() { " — " (c.note) }
                                    " " small.quiet { (members.get(&c.author_id).map(|m| m.name.as_str()).unwrap_or("?")) }
                                }
                            }
                        }
                    }
                }
                @if may_check_in {
                    form.inline method="post" action=(format!("/key-results/{}/check-ins", kr.id)) {
                        (web.csrf_field())
                        label { (t.get("check-in-value")) " " input type="number" step="any" name="value" required value=(kr.current); }
                        label { (t.get("check-in-confidence")) " " input type="number" min="0" max="10" name="confidence" required value=(kr.confidence); }
                        label.wide { (t.get("check-in-note")) " " input type="text" name="note" maxlength="2000"; }
                        button type="submit" { (t.get("check-in-submit")) }
                    }
                }
            }
        }
        @if !children.is_empty() {
            h2 { (t.get("objective-children")) }
            ul.tree { @for c in &children { li { (row(web, c)) } } }
        }
    };
    Ok((o.title.clone(), body))
}

#[derive(Deserialize)]
pub struct CheckInForm {
    value: String,
    confidence: String,
    #[serde(default)]
    note: String,
}

pub async fn check_in<S: Store>(
    State(state): State<AppState<S>>,
    PageId(id): PageId,
    form: Form<CheckInForm>,
) -> Response {
    let Form { web, value } = form;
    let result = async {
        let number = value
            .value
            .trim()
            .replace(',', ".")
            .parse::<f64>()
            .map_err(|_| {
                tutti_domain::Invalid::new("value", format!("`{}` is not a number", value.value))
            })?;
        let confidence = value.confidence.trim().parse::<i64>().map_err(|_| {
            tutti_domain::Invalid::new("confidence", "must be a whole number from 0 to 10")
        })?;
        let new = NewCheckIn::parse(number, confidence, &value.note)?;
        let ctx = crate::api::ctx(&state, &web.actor);
        strategy::check_in(&state.store, &web.actor, &ctx, id, new).await?;
        let kr = state.store.key_result(web.actor.org_id, id).await?;
        Ok::<_, ApiError>(kr.objective_id)
    }
    .await;
    match result {
        Ok(objective_id) => see_other(&format!("/objectives/{objective_id}#kr-{id}")),
        Err(e) => web.error(e),
    }
}
