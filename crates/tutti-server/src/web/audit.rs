//! Audit: the event log with filters and paging, and whether the chain
//! verifies — the cockpit's view of `tutti audit verify`.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;
use tutti_domain::access::Action;
use tutti_engine::signals::directory;
use tutti_i18n::args;
use tutti_store::EventFilter;
use tutti_store::prelude::*;
use uuid::Uuid;

use super::{Nav, Web};
use crate::{ApiError, AppState};

const PER_PAGE: i64 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    after: Option<String>,
    action: Option<String>,
    subject: Option<String>,
}

pub async fn page<S: Store>(
    State(state): State<AppState<S>>,
    web: Web,
    Query(query): Query<AuditQuery>,
) -> Response {
    let rendered = render(&state, &web, query).await;
    web.show(rendered, "audit-title", Nav::Audit)
}

async fn render<S: Store>(
    state: &AppState<S>,
    web: &Web,
    query: AuditQuery,
) -> Result<Markup, ApiError> {
    web.actor.may(Action::ReadAudit)?;
    let t = &web.t;
    let org_id = web.actor.org_id;
    let action = query
        .action
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned);
    let subject = match query
        .subject
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(text) => Some(text.parse::<Uuid>().map_err(|_| ApiError::Malformed {
            field: Some("subject".into()),
            detail: format!("`{text}` is not a UUID"),
        })?),
        None => None,
    };
    let after = match query
        .after
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(text) => Some(text.parse::<i64>().map_err(|_| ApiError::Malformed {
            field: Some("after".into()),
            detail: format!("`{text}` is not an event number"),
        })?),
        None => None,
    };
    let now = state.clock.now();
    let (verified, whole_at) = state.audit_checks.verify(&state.store, org_id, now).await?;
    let head = match &verified {
        Ok(n) => *n,
        Err(b) => b.seq,
    };
    let filtered = action.is_some() || subject.is_some();
    // Unfiltered, the log opens at its newest page.
    let start = after.or((!filtered).then(|| (head - PER_PAGE).max(0)));
    let page = state
        .store
        .events(
            org_id,
            &EventFilter {
                after_seq: start,
                limit: PER_PAGE as u32,
                action: action.clone(),
                subject_id: subject,
            },
        )
        .await?;
    let members = directory(&state.store, org_id).await?;
    let first = page.items.first().map(|e| e.seq).unwrap_or(0);
    let query_tail = format!(
        "{}{}",
        action
            .as_deref()
            .map(|a| format!("&action={}", super::session::encode(a)))
            .unwrap_or_default(),
        subject.map(|s| format!("&subject={s}")).unwrap_or_default()
    );
    Ok(html! {
        @match &verified {
            Ok(n) => p.ok role="status" {
                (t.with("audit-verified", &args([("count", t.int(*n))])))
                " " small.quiet { (t.with("audit-walked-whole", &args([("when", t.datetime(whole_at))]))) }
            },
            Err(b) => p.problem role="alert" { (t.with("audit-broken", &args([("seq", b.seq.to_string()), ("reason", b.reason.clone())]))) },
        }
        form.filters method="get" action="/audit" role="search" {
            label { (t.get("audit-action")) " " input type="text" name="action" placeholder="decision.approved" value=[action.as_deref()]; }
            label { (t.get("audit-subject")) " " input type="text" name="subject" size="36" value=[subject.map(|s| s.to_string())]; }
            button type="submit" { (t.get("filter-apply")) }
        }
        table.events {
            thead { tr { th scope="col" { "#" } th scope="col" { (t.get("audit-when")) } th scope="col" { (t.get("audit-who")) } th scope="col" { (t.get("audit-action")) } th scope="col" { (t.get("audit-subject")) } th scope="col" { (t.get("audit-hash")) } } }
            tbody {
                @for e in &page.items {
                    tr {
                        td { (e.seq) }
                        td { (t.datetime(e.at)) }
                        td { (e.actor_id.and_then(|a| members.get(&a)).map(|m| m.name.clone()).unwrap_or_else(|| t.get("system"))) }
                        td { code { (e.action) } }
                        td { (e.subject_type) @if let Some(s) = e.subject_id { " " a href=(format!("/audit?subject={s}")) { small { (s.simple().to_string()[..8].to_owned()) } } } }
                        td { code title=(e.hash) { (e.hash.get(..12).unwrap_or(&e.hash)) } }
                    }
                }
            }
        }
        @if page.items.is_empty() { p.quiet { (t.get("audit-none")) } }
        nav.pager aria-label=(t.get("audit-pages")) {
            @if first > 1 { a href=(format!("/audit?after={}{query_tail}", (first - 1 - PER_PAGE).max(0))) { "← " (t.get("audit-older")) } }
            @if let Some(next) = &page.next_cursor { " " a href=(format!("/audit?after={next}{query_tail}")) { (t.get("audit-newer")) " →" } }
        }
    })
}

/// How often the audit page walks an org's chain from its first event;
/// in between, a view verifies only the events since the last one it
/// verified, so its cost does not grow with the org's history. `tutti audit
/// verify` and `GET /events/verify` always walk it whole.
const WALK_WHOLE_EVERY: chrono::Duration = chrono::Duration::minutes(10);

/// Per org: the head the audit page verified up to, and when it last walked
/// the chain whole.
#[derive(Default)]
pub struct AuditChecks(
    std::sync::Mutex<
        std::collections::HashMap<
            uuid::Uuid,
            (
                tutti_domain::audit::VerifiedHead,
                chrono::DateTime<chrono::Utc>,
            ),
        >,
    >,
);

impl AuditChecks {
    /// Verifies the org's chain, from the last verified head while the last
    /// whole walk is recent, else whole; returns the result and when the
    /// chain was last walked whole. A break forgets the head, so the next
    /// view walks whole again.
    pub async fn verify<S: Store>(
        &self,
        store: &S,
        org_id: uuid::Uuid,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<
        (
            Result<i64, tutti_domain::audit::ChainBreak>,
            chrono::DateTime<chrono::Utc>,
        ),
        ApiError,
    > {
        let known = self
            .0
            .lock()
            .map_err(|_| ApiError::Internal("the audit check cache was poisoned".into()))?
            .get(&org_id)
            .cloned()
            .filter(|(_, whole_at)| now - *whole_at < WALK_WHOLE_EVERY);
        let (from, whole_at) = match known {
            Some((head, whole_at)) => (Some(head), whole_at),
            None => (None, now),
        };
        let (verified, head) = store.verify_chain_after(org_id, from).await?;
        let mut checks = self
            .0
            .lock()
            .map_err(|_| ApiError::Internal("the audit check cache was poisoned".into()))?;
        match (&verified, head) {
            (Ok(_), Some(head)) => {
                checks.insert(org_id, (head, whole_at));
            }
            _ => {
                checks.remove(&org_id);
            }
        }
        Ok((verified, whole_at))
    }
}
