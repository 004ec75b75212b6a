//! Signals and alerts: the engine reads the org's data, computes the
//! cockpit's sensors (`tutti_domain::signal`), keeps the open alerts in step
//! with them, and delivers new alerts to the org's webhooks in the shapes
//! Slack and Microsoft Teams incoming webhooks accept, with retries and a
//! delivery log.
//!
//! Evaluation is idempotent: an alert is raised once while its condition
//! holds and cleared when it stops, so evaluating often costs reads, not
//! noise. Deliveries are queued in the same transaction that raises the
//! alert, so an alert is never raised without its deliveries, and a crash
//! between attempts only delays the next one.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tutti_domain::access::{Action, Actor};
use tutti_domain::labour::BudgetScope;
use tutti_domain::org::{Member, MemberKind, Role};
use tutti_domain::pulse::drops;
use tutti_domain::service::{PromiseHealth, PromiseRiskRule, PromiseState};
use tutti_domain::signal::{Alert, Concern, Signal, SignalKind, SignalRules, WebhookFormat};
use tutti_domain::strategy::{RiskReason, RiskRule, assess_health, rollups};
use tutti_domain::workload::overloads;
use tutti_i18n::{Locale, Messages};
use tutti_store::prelude::*;
use tutti_store::{
    AlertSync, Attempt, Ctx, DecisionFilter, DueDelivery, NewWebhook, PageRequest, PromiseFilter,
    PromiseOrder, Webhook,
};
use uuid::Uuid;

use crate::decisions::{PolicyCache, awaiting};
use crate::{Clock, EngineResult};

/// A broken promise stays an alert for this many days.
const BROKEN_FOR_DAYS: i64 = 7;

/// How often a failed delivery is tried in all.
pub const MAX_ATTEMPTS: i64 = 5;
/// The wait before the second attempt; it doubles after each failure.
const FIRST_RETRY: Duration = Duration::from_secs(30);
/// At most this many objectives are looked at per evaluation: the tops of the
/// alignment tree and the level below them, where a leader steers.
const OBJECTIVE_DEPTH: usize = 2;

/// The explanation of an alert in a language.
pub fn explain(t: &Messages, kind: SignalKind, params: &Value) -> String {
    let mut args = tutti_i18n::Args::new();
    if let Value::Object(map) = params {
        for (name, value) in map {
            match value {
                // An instant reads in the reader's zone and language.
                Value::String(text) if name.ends_with("_at") => {
                    let shown = DateTime::parse_from_rfc3339(text)
                        .map(|at| t.datetime(at.with_timezone(&Utc)))
                        .unwrap_or_else(|_| text.clone());
                    args.set(name.as_str(), shown)
                }
                // A day reads in the reader's language.
                Value::String(text) if name.ends_with("_on") => {
                    let shown = text
                        .parse::<chrono::NaiveDate>()
                        .map(|day| t.date(day))
                        .unwrap_or_else(|_| text.clone());
                    args.set(name.as_str(), shown)
                }
                Value::String(text) => args.set(name.as_str(), text.clone()),
                // Fluent's own numbers are not the reader's: a fraction
                // (a pulse's eNPS, its score) is written in their style.
                Value::Number(n) if n.as_f64().is_some_and(|v| v.fract() != 0.0) => {
                    args.set(name.as_str(), t.decimal(n.as_f64().unwrap_or_default(), 1))
                }
                Value::Number(n) => args.set(name.as_str(), n.as_f64().unwrap_or_default()),
                other => args.set(name.as_str(), other.to_string()),
            }
        }
    }
    t.with(&format!("signal-{kind}"), &args)
}

/// Every member of an org, by id.
pub async fn directory<S: Store>(store: &S, org_id: Uuid) -> EngineResult<HashMap<Uuid, Member>> {
    let mut members = HashMap::new();
    let mut after = None;
    loop {
        let page = store
            .members(
                org_id,
                PageRequest {
                    after,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        after = page.items.last().map(|m| m.id);
        members.extend(page.items.into_iter().map(|m| (m.id, m)));
        if page.next_cursor.is_none() {
            return Ok(members);
        }
    }
}

/// The org's signals as of `now`.
pub async fn evaluate<S: Store>(
    store: &S,
    policies: &PolicyCache,
    org_id: Uuid,
    now: DateTime<Utc>,
    rules: SignalRules,
    risk: RiskRule,
) -> EngineResult<Vec<Signal>> {
    let mut signals = Vec::new();
    let today = now.date_naive();
    let members = directory(store, org_id).await?;
    // An AI worker's alerts go to its first team, as its gateway calls count
    // against that team's budgets.
    let worker_team = |id: Option<Uuid>| {
        id.and_then(|id| members.get(&id))
            .and_then(|m| m.teams.first().copied())
    };

    // Objectives near the top of the tree whose progress trails their period.
    let forest = store.all_objectives(org_id).await?;
    let objective_concern: HashMap<Uuid, Concern> = forest
        .objectives
        .iter()
        .map(|o| {
            let concern = Concern {
                team_id: o.team_id,
                person_id: o.owner_id,
            };
            (o.id, concern)
        })
        .collect();
    let progress = rollups(&forest.objectives, &forest.key_results);
    let parent: HashMap<Uuid, Option<Uuid>> = forest
        .objectives
        .iter()
        .map(|o| (o.id, o.parent_id))
        .collect();
    let depth = |mut id: Uuid| {
        let mut depth = 0;
        while let Some(Some(up)) = parent.get(&id) {
            depth += 1;
            id = *up;
            if depth > OBJECTIVE_DEPTH {
                break;
            }
        }
        depth
    };
    let mut key_results: HashMap<Uuid, Vec<_>> = HashMap::new();
    for kr in &forest.key_results {
        key_results
            .entry(kr.objective_id)
            .or_default()
            .push(kr.clone());
    }
    for objective in &forest.objectives {
        if depth(objective.id) >= OBJECTIVE_DEPTH {
            continue;
        }
        let done = progress.get(&objective.id).copied().unwrap_or(0.0);
        let krs = key_results
            .get(&objective.id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let health = assess_health(objective, done, krs, today, risk);
        if health.at_risk {
            let expected = health
                .reasons
                .iter()
                .find_map(|r| match r {
                    RiskReason::Behind { expected, .. } => Some(*expected),
                    RiskReason::LowConfidence { .. } => None,
                })
                .unwrap_or(health.expected_progress);
            signals.push(Signal::objective_at_risk(
                objective.id,
                objective_concern[&objective.id],
                &objective.title,
                done,
                expected,
            ));
        }
    }

    // Budgets past their warn line.
    for budget in store.budgets(org_id, now).await? {
        if budget.state == "ok" {
            continue;
        }
        let used = budget.used_share();
        let scope_id = budget.budget.scope_id;
        let concern = match budget.budget.scope {
            BudgetScope::Org => Concern::default(),
            BudgetScope::Team => Concern {
                team_id: scope_id,
                person_id: None,
            },
            BudgetScope::Objective => scope_id
                .and_then(|id| objective_concern.get(&id).copied())
                .unwrap_or_default(),
            BudgetScope::Worker => Concern {
                team_id: worker_team(scope_id),
                person_id: None,
            },
        };
        signals.push(Signal::budget_past_warn(
            budget.budget.id,
            concern,
            &budget.budget.name,
            (used * 100.0).round() as i64,
            budget.state == "exhausted",
        ));
    }

    // Decisions still waiting after their deadline: they concern the team of
    // their space (or of its objective), and whom they escalated to.
    let mut space_team: HashMap<Uuid, Option<Uuid>> = HashMap::new();
    let waiting = DecisionFilter {
        waiting: true,
        ..DecisionFilter::default()
    };
    let mut after = None;
    loop {
        let page = store
            .decisions(
                org_id,
                &waiting,
                PageRequest {
                    after,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        after = page.items.last().map(|d| d.id);
        for decision in &page.items {
            // `waiting` holds only decisions that still collect votes.
            if let Some(deadline) = decision.deadline.filter(|d| *d < now) {
                let hours = (now - deadline).num_hours();
                let team_id = match space_team.get(&decision.space_id) {
                    Some(team) => *team,
                    None => {
                        let space = store.space(org_id, decision.space_id).await?;
                        let team = space.team_id.or_else(|| {
                            space
                                .objective_id
                                .and_then(|o| objective_concern.get(&o))
                                .and_then(|c| c.team_id)
                        });
                        space_team.insert(decision.space_id, team);
                        team
                    }
                };
                let concern = Concern {
                    team_id,
                    person_id: decision.escalated_to,
                };
                signals.push(Signal::decision_overdue(
                    decision.id,
                    concern,
                    &decision.question,
                    hours,
                ));
            }
        }
        if page.next_cursor.is_none() {
            break;
        }
    }

    // Work blocked too long.
    let since = now - chrono::Duration::days(rules.blocked_days);
    for item in store.blocked_work(org_id, since, 100).await? {
        if rules.blocked_too_long(item.since, now) {
            let concern = Concern {
                team_id: item.team_id,
                person_id: item.assignee_id,
            };
            signals.push(Signal::work_blocked(
                item.id,
                concern,
                &item.title,
                (now - item.since).num_days(),
            ));
        }
    }

    // Promises to customers at risk or overdue, and those broken this week;
    // both concern the team that was to keep them, and a broken one names it.
    let rule = PromiseRiskRule::default();
    let page = PageRequest::first(PageRequest::MAX_LIMIT);
    let open = PromiseFilter {
        unfinished: true,
        order: PromiseOrder::SoonestDue,
        ..PromiseFilter::default()
    };
    for promise in store.promises(org_id, &open, page).await?.items {
        if matches!(
            promise.health(now, rule),
            PromiseHealth::AtRisk | PromiseHealth::Overdue
        ) {
            signals.push(Signal::promise_at_risk(
                promise.id,
                promise.keeper_team_id,
                &promise.title,
                &promise.customer,
                (promise.effective_due(now) - now).num_hours(),
            ));
        }
    }
    let broken = PromiseFilter {
        state: Some(PromiseState::Broken),
        order: PromiseOrder::LatestClosed,
        ..PromiseFilter::default()
    };
    let broken = store.promises(org_id, &broken, page).await?.items;
    if !broken.is_empty() {
        let teams = store.teams(org_id, page).await?.items;
        for promise in broken {
            if promise
                .closed_at
                .is_none_or(|at| now - at > chrono::Duration::days(BROKEN_FOR_DAYS))
            {
                continue;
            }
            let stage = promise
                .keeper_team_id
                .and_then(|id| teams.iter().find(|t| t.id == id))
                .map(|t| t.name.as_str())
                .unwrap_or("–");
            let gate = last_gate_passed(store, org_id, promise.work_item_id).await?;
            signals.push(Signal::promise_broken(
                promise.id,
                promise.keeper_team_id,
                &promise.title,
                &promise.customer,
                (stage, gate.as_deref()),
                &promise.close_note,
            ));
        }
    }

    // Breakdowns crowding out planned work: the reactive share of the
    // org's new work rising week after week (complete weeks only).
    let weeks = rules.reactive_rising_weeks as u32 + 2;
    let mut load = store
        .load_by_week(org_id, now, weeks, tutti_store::LoadScope::default())
        .await?;
    load.pop();
    if let Some((from, to)) = rules.reactive_rising(&load) {
        signals.push(Signal::reactive_share_rising(
            rules.reactive_rising_weeks,
            from,
            to,
        ));
    }

    gate_signals(store, org_id, now, rules, &mut signals).await?;
    voice_signals(store, org_id, now, &members, &mut signals).await?;

    // AI workers whose results come back too often, and people many
    // decisions wait on.
    let mut people: Vec<&Member> = members.values().collect();
    people.sort_by_key(|m| m.id);
    for member in people {
        match member.kind {
            MemberKind::Ai => {
                let stats = store.review_stats(org_id, member.id).await?;
                if rules.worker_struggles(&stats) {
                    let concern = Concern {
                        team_id: worker_team(Some(member.id)),
                        person_id: None,
                    };
                    signals.push(Signal::worker_high_revise_rate(
                        member.id,
                        concern,
                        &member.name,
                        &stats,
                    ));
                }
            }
            MemberKind::Human if member.role != Role::Viewer => {
                let Some(actor) = store.actor(org_id, member.id).await? else {
                    continue;
                };
                let (queue, _) =
                    awaiting(store, policies, &actor, None, rules.bottleneck_queue).await?;
                if queue.len() >= rules.bottleneck_queue {
                    signals.push(Signal::leader_bottleneck(
                        member.id,
                        &member.name,
                        queue.len(),
                    ));
                }
            }
            MemberKind::Human => {}
        }
    }
    Ok(signals)
}

/// The team's voice: a pulse round open (the invitation), a team whose
/// pulse fell between its last two rounds (shown figures only, so nothing
/// below *k* moves an alert), and whoever carries more than the limits.
async fn voice_signals<S: Store>(
    store: &S,
    org_id: Uuid,
    now: DateTime<Utc>,
    members: &HashMap<Uuid, Member>,
    signals: &mut Vec<Signal>,
) -> EngineResult<()> {
    let today = crate::pulse::org_today(store, org_id, now).await?;
    let mut after = None;
    loop {
        let page = store
            .surveys(
                org_id,
                None,
                PageRequest {
                    after,
                    limit: PageRequest::MAX_LIMIT,
                },
            )
            .await?;
        after = page.items.last().map(|s| s.id);
        for survey in page.items {
            if let Some(round) = survey.round_on(today)
                && let Some((_, closes_on)) = survey.round_window(round)
            {
                signals.push(Signal::pulse_open(
                    survey.id,
                    survey.team_id,
                    &survey.title,
                    round,
                    closes_on,
                ));
            }
            let results = crate::pulse::tabulate(store, org_id, survey, now).await?;
            if let [current, previous, ..] = results.rounds.as_slice() {
                for (now_, before) in current.groups.iter().zip(&previous.groups) {
                    if let Some(drop) = drops(&results.survey, before, now_).first() {
                        let team = results
                            .team_names
                            .get(&now_.team_id)
                            .map(String::as_str)
                            .unwrap_or("–");
                        signals.push(Signal::pulse_dropped(
                            results.survey.id,
                            now_.team_id,
                            team,
                            *drop,
                        ));
                    }
                }
            }
        }
        if page.next_cursor.is_none() {
            break;
        }
    }
    let limits = store.voice_settings(org_id).await?.load;
    for carried in store.carried(org_id, None, today).await? {
        if !overloads(&carried, limits).is_empty() {
            let team = members
                .get(&carried.member_id)
                .and_then(|m| m.teams.first().copied());
            signals.push(Signal::member_overloaded(team, &carried));
        }
    }
    Ok(())
}

/// Evaluates an org's signals and brings its alerts in step.
pub async fn refresh<S: Store>(
    store: &S,
    policies: &PolicyCache,
    org_id: Uuid,
    now: DateTime<Utc>,
    rules: SignalRules,
    risk: RiskRule,
) -> EngineResult<AlertSync> {
    let signals = evaluate(store, policies, org_id, now, rules, risk).await?;
    let ctx = Ctx::new(org_id, None, now);
    Ok(store.sync_alerts(&ctx, SignalKind::ALL, &signals).await?)
}

/// Evaluates the actor's org's signals now, as an admin asks (the engine
/// does so every minute), and brings its alerts in step.
pub async fn refresh_now<S: Store>(
    store: &S,
    policies: &PolicyCache,
    actor: &Actor,
    now: DateTime<Utc>,
    risk: RiskRule,
) -> EngineResult<AlertSync> {
    actor.may(Action::ManageOrg)?;
    refresh(
        store,
        policies,
        actor.org_id,
        now,
        SignalRules::default(),
        risk,
    )
    .await
}

/// Adds a webhook that alerts go to (admins).
pub async fn create_webhook<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    new: NewWebhook,
) -> EngineResult<Webhook> {
    actor.may(Action::ManageOrg)?;
    Ok(store.create_webhook(ctx, new).await?)
}

/// Removes a webhook with its delivery log (admins).
pub async fn delete_webhook<S: Store>(
    store: &S,
    actor: &Actor,
    ctx: &Ctx,
    id: Uuid,
) -> EngineResult<()> {
    actor.may(Action::ManageOrg)?;
    Ok(store.delete_webhook(ctx, id).await?)
}

/// The body an incoming webhook of that format accepts, in today's
/// formats: for Slack, Block Kit blocks with a plain-text fallback; for
/// Microsoft Teams, an Adaptive Card in a message, which a channel's
/// Workflows webhook ("When a Teams webhook request is received") takes,
/// as did the retired Office 365 connectors, so a webhook kept from before
/// keeps working. `concerns` names whom the alert concerns.
pub fn webhook_body(
    format: WebhookFormat,
    locale: Locale,
    zone: tutti_domain::routine::Tz,
    alert: &Alert,
    base_url: &str,
    concerns: &str,
) -> Value {
    let t = Messages::of_in(locale, zone);
    let title = t.get(&format!("signal-title-{}", alert.kind));
    let text = explain(&t, alert.kind, &alert.params);
    let link = format!("{}{}", base_url.trim_end_matches('/'), alert.link);
    let open = t.get("alert-open");
    let concerns_label = t.get("alerts-concerns");
    match format {
        WebhookFormat::Slack => {
            // Slack reads &, < and > in mrkdwn as markup.
            let escape = |s: &str| {
                s.replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            };
            json!({
                "text": format!("{title}: {text} ({concerns_label}: {concerns}) {link}"),
                "blocks": [
                    { "type": "header", "text": { "type": "plain_text", "text": truncated(&title, SLACK_HEADER_MAX), "emoji": false } },
                    { "type": "section", "text": { "type": "mrkdwn", "text": escape(&text) } },
                    { "type": "context", "elements": [
                        { "type": "mrkdwn", "text": format!("*{}:* {}", escape(&concerns_label), escape(concerns)) },
                    ] },
                    { "type": "actions", "elements": [
                        { "type": "button", "text": { "type": "plain_text", "text": open }, "url": link },
                    ] },
                ],
            })
        }
        WebhookFormat::Teams => json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "fallbackText": format!("{title}: {text}"),
                    "body": [
                        { "type": "TextBlock", "text": title, "weight": "bolder", "size": "medium", "wrap": true },
                        { "type": "TextBlock", "text": text, "wrap": true },
                        { "type": "FactSet", "facts": [{ "title": concerns_label, "value": concerns }] },
                    ],
                    "actions": [{ "type": "Action.OpenUrl", "title": open, "url": link }],
                },
            }],
        }),
    }
}

/// Slack refuses a header longer than this.
const SLACK_HEADER_MAX: usize = 150;

/// `text` cut to at most `max` characters, with an ellipsis when cut.
fn truncated(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// Whom an alert concerns, in the reader's words: its team and person by
/// name, or the whole org.
async fn concerns<S: Store>(store: &S, org_id: Uuid, concern: &Concern, t: &Messages) -> String {
    let mut names = Vec::new();
    if let Some(team) = concern.team_id
        && let Ok(team) = store.team(org_id, team).await
    {
        names.push(team.name);
    }
    if let Some(person) = concern.person_id
        && let Ok(person) = store.member(org_id, person).await
    {
        names.push(person.name);
    }
    if names.is_empty() {
        t.get("alerts-concerns-org")
    } else {
        names.join(" · ")
    }
}

/// When to try a delivery again after `attempts` failed ones; `None` when it
/// has had all its tries.
pub fn retry_at(attempts: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    let wait = FIRST_RETRY.saturating_mul(1 << (attempts - 1).clamp(0, 10) as u32);
    Some(now + chrono::Duration::from_std(wait).unwrap_or_default())
}

/// Posts every delivery due now once and records how it went. Returns how
/// many were delivered.
pub async fn deliver_due<S: Store>(
    store: &S,
    client: &reqwest::Client,
    base_url: &str,
    clock: &dyn Clock,
) -> EngineResult<usize> {
    let mut delivered = 0;
    for due in store.due_deliveries(clock.now(), 50).await? {
        let attempt = post(store, client, &due, base_url, clock).await;
        if matches!(attempt, Attempt::Delivered) {
            delivered += 1;
        } else if let Attempt::Failed { error, .. } = &attempt {
            tracing::warn!(delivery = %due.id, "webhook delivery failed: {error}");
        }
        store.record_attempt(due.id, clock.now(), attempt).await?;
    }
    Ok(delivered)
}

async fn post<S: Store>(
    store: &S,
    client: &reqwest::Client,
    due: &DueDelivery,
    base_url: &str,
    clock: &dyn Clock,
) -> Attempt {
    let locale = Locale::parse(&due.locale).unwrap_or_default();
    let whom = concerns(store, due.org_id, &due.alert.concern, &Messages::of(locale)).await;
    // The channel reads times in the org's zone.
    let zone = match store.org(due.org_id).await {
        Ok(org) => org.zone(),
        Err(_) => tutti_domain::routine::UTC,
    };
    let body = webhook_body(due.format, locale, zone, &due.alert, base_url, &whom);
    let failed = |error: String| Attempt::Failed {
        error,
        retry_at: retry_at(due.attempts + 1, clock.now()),
    };
    match client.post(&due.url).json(&body).send().await {
        Ok(response) if response.status().is_success() => Attempt::Delivered,
        Ok(response) => failed(format!("the endpoint answered {}", response.status())),
        Err(e) => failed(format!("cannot reach the endpoint: {e}")),
    }
}

/// The last gate a case resting on `work_item` passed with a `go`, by name.
async fn last_gate_passed<S: Store>(
    store: &S,
    org_id: Uuid,
    work_item: Option<Uuid>,
) -> EngineResult<Option<String>> {
    let Some(item) = work_item else {
        return Ok(None);
    };
    let filter = tutti_store::CaseFilter {
        work_item_id: Some(item),
        ..Default::default()
    };
    let cases = store
        .cases(org_id, &filter, PageRequest::first(PageRequest::MAX_LIMIT))
        .await?;
    // Verdicts come oldest first, so a later one settled at the same time wins.
    let mut last: Option<(chrono::DateTime<chrono::Utc>, Uuid)> = None;
    for case in cases.items {
        for verdict in store.verdicts(org_id, case.id).await? {
            let passed = verdict
                .given
                .as_ref()
                .is_some_and(|g| g.verdict == tutti_domain::service::Verdict::Go);
            if let (true, Some(at)) = (passed, verdict.settled_at)
                && last.is_none_or(|(seen, _)| at >= seen)
            {
                last = Some((at, verdict.gate_id));
            }
        }
    }
    match last {
        Some((_, gate)) => Ok(Some(store.gate(org_id, gate).await?.name)),
        None => Ok(None),
    }
}

/// Cases held past their date, gates that send too many cases back, and
/// learnings nobody answered.
async fn gate_signals<S: Store>(
    store: &S,
    org_id: Uuid,
    now: chrono::DateTime<chrono::Utc>,
    rules: SignalRules,
    signals: &mut Vec<Signal>,
) -> EngineResult<()> {
    let page = PageRequest::first(PageRequest::MAX_LIMIT);
    let held = tutti_store::CaseFilter {
        hold_before: Some(now),
        ..Default::default()
    };
    let mut flows: HashMap<
        Uuid,
        (
            tutti_domain::service::Flow,
            Vec<tutti_domain::service::Gate>,
        ),
    > = HashMap::new();
    for case in store.cases(org_id, &held, page).await?.items {
        if !flows.contains_key(&case.flow_id) {
            let flow = store.flow(org_id, case.flow_id).await?;
            let gates = store.gates(org_id, flow.id).await?;
            flows.insert(flow.id, (flow, gates));
        }
        let Some((flow, gates)) = flows.get(&case.flow_id) else {
            continue;
        };
        let gate = gates
            .iter()
            .find(|g| g.position == case.stage)
            .map_or("–", |g| g.name.as_str());
        let days = case.hold_until.map_or(0, |until| (now - until).num_days());
        signals.push(Signal::gate_hold_overdue(
            case.id,
            flow.stage_team(case.stage),
            &case.title,
            gate,
            days,
            &case.hold_reason,
        ));
    }

    let since = now - chrono::Duration::days(tutti_domain::signal::RECYCLE_WINDOW_DAYS);
    let mut by_gate: HashMap<Uuid, Vec<tutti_domain::service::Verdict>> = HashMap::new();
    for given in store.given_verdicts(org_id, since).await? {
        by_gate
            .entry(given.gate_id)
            .or_default()
            .push(given.verdict);
    }
    let mut gate_ids: Vec<Uuid> = by_gate.keys().copied().collect();
    gate_ids.sort();
    for gate_id in gate_ids {
        let verdicts = &by_gate[&gate_id];
        let Some(rate) = tutti_domain::service::recycle_rate(verdicts, rules.min_verdicts) else {
            continue;
        };
        if rate >= rules.recycle_rate {
            let gate = store.gate(org_id, gate_id).await?;
            let flow = store.flow(org_id, gate.flow_id).await?;
            signals.push(Signal::gate_recycle_rate(
                gate.id,
                flow.stage_team(gate.position),
                &gate.name,
                rate,
                verdicts.len(),
            ));
        }
    }

    let waiting = tutti_store::LearningFilter {
        status: Some(tutti_domain::service::LearningStatus::Open),
        created_before: Some(now - chrono::Duration::days(rules.learning_days)),
        ..Default::default()
    };
    for learning in store.learnings(org_id, &waiting, page).await?.items {
        signals.push(Signal::learning_unanswered(
            learning.id,
            learning.team_id,
            &learning.title,
            (now - learning.created_at).num_days(),
        ));
    }

    // Routines whose owner may no longer create their work: planned work
    // that will not be made, told before it falls due.
    let routines = store
        .routines(org_id, &tutti_store::RoutineFilter::default(), page)
        .await?
        .items;
    for routine in routines.iter().filter(|r| !r.paused) {
        let Some(next_at) = routine.next_due else {
            continue;
        };
        let owner = store.actor(org_id, routine.owner_id).await?;
        if let Some(reason) = routine.refusal(owner.as_ref()) {
            signals.push(Signal::routine_stalled(
                routine.id,
                Concern {
                    team_id: routine.team_id,
                    person_id: Some(routine.owner_id),
                },
                &routine.name,
                &reason,
                next_at,
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn retries_back_off_and_end() {
        let now: DateTime<Utc> = "2026-11-21T09:00:00Z".parse().unwrap();
        assert_eq!(retry_at(1, now), Some(now + chrono::Duration::seconds(30)));
        assert_eq!(retry_at(2, now), Some(now + chrono::Duration::seconds(60)));
        assert_eq!(retry_at(4, now), Some(now + chrono::Duration::seconds(240)));
        assert_eq!(retry_at(MAX_ATTEMPTS, now), None);
    }

    #[test]
    fn an_instant_in_an_alert_reads_in_the_readers_zone_and_language() {
        let params = serde_json::json!({
            "title": "Jährliche Wartung", "reason": "no right", "next_at": "2026-12-16T07:00:00Z",
        });
        let berlin: tutti_domain::routine::Tz = "Europe/Berlin".parse().unwrap();
        let de = explain(
            &Messages::of_in(Locale::De, berlin),
            SignalKind::RoutineStalled,
            &params,
        );
        assert!(de.contains("16.12.2026, 08:00 CET"), "{de}");
        let en = explain(
            &Messages::of(Locale::En),
            SignalKind::RoutineStalled,
            &params,
        );
        assert!(en.contains("07:00 UTC"), "{en}");
    }

    #[test]
    fn a_day_and_a_fraction_in_an_alert_read_in_the_readers_language() {
        let params = serde_json::json!({
            "team": "Kundenservice", "figure": "enps", "from": 12.5, "to": -33.3,
        });
        let de = explain(&Messages::of(Locale::De), SignalKind::PulseDropped, &params);
        assert!(
            de.contains("von 12,5 auf −33,3") || de.contains("von 12,5 auf -33,3"),
            "{de}"
        );
        let params = serde_json::json!({ "title": "Puls", "round": 3, "closes_on": "2026-12-11" });
        let de = explain(&Messages::of(Locale::De), SignalKind::PulseOpen, &params);
        assert!(de.contains("Runde 3") && de.contains("11.12.2026"), "{de}");
        let en = explain(&Messages::of(Locale::En), SignalKind::PulseOpen, &params);
        assert!(!en.contains("2026-12-11"), "{en}");
    }

    #[test]
    fn webhook_bodies_take_each_platforms_shape() {
        let alert = Alert {
            id: Uuid::nil(),
            kind: SignalKind::WorkBlocked,
            subject_id: Some(Uuid::nil()),
            concern: Concern::default(),
            params: json!({ "title": "Ersatzteil <fehlt> & mehr", "days": 6 }),
            link: "/work/1".into(),
            raised_at: DateTime::<Utc>::UNIX_EPOCH,
            cleared_at: None,
        };
        let slack = webhook_body(
            WebhookFormat::Slack,
            Locale::De,
            tutti_domain::routine::UTC,
            &alert,
            "http://tutti.local/",
            "Service · Jonas",
        );
        let fallback = slack["text"].as_str().unwrap();
        assert!(
            fallback.contains("Ersatzteil <fehlt>")
                && fallback.contains("http://tutti.local/work/1"),
            "{fallback}"
        );
        let blocks = slack["blocks"].as_array().unwrap();
        let kinds: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["header", "section", "context", "actions"]);
        assert!(
            blocks[1]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("&lt;fehlt&gt; &amp; mehr")
        );
        assert!(
            blocks[2]["elements"][0]["text"]
                .as_str()
                .unwrap()
                .contains("Service · Jonas")
        );
        assert_eq!(blocks[3]["elements"][0]["url"], "http://tutti.local/work/1");

        let teams = webhook_body(
            WebhookFormat::Teams,
            Locale::En,
            tutti_domain::routine::UTC,
            &alert,
            "http://tutti.local",
            "the org",
        );
        assert_eq!(teams["type"], "message");
        let attachment = &teams["attachments"][0];
        assert_eq!(
            attachment["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        let card = &attachment["content"];
        assert_eq!(
            (&card["type"], &card["version"]),
            (&json!("AdaptiveCard"), &json!("1.4"))
        );
        assert!(card["body"][1]["text"].as_str().unwrap().contains('6'));
        assert_eq!(card["body"][2]["facts"][0]["value"], "the org");
        assert_eq!(card["actions"][0]["url"], "http://tutti.local/work/1");
    }

    #[test]
    fn a_slack_header_is_cut_to_what_slack_takes() {
        assert_eq!(truncated("kurz", 150), "kurz");
        let long = "ä".repeat(200);
        let cut = truncated(&long, 150);
        assert_eq!((cut.chars().count(), cut.ends_with('…')), (150, true));
    }
}
