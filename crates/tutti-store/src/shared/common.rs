// The store implementation both backends share, and the helpers every part
// of it uses.
//
// The files in `shared/` are `include!`d, in turn, into `sqlite.rs` and
// `postgres.rs`, so every query is written once and compiled once per
// backend with its concrete sqlx types. Each backend defines `Db` (the sqlx
// database), `BackendStore` (its store type), `Tx` (its write transaction,
// which derefs to a connection and has `commit`), `FOR_UPDATE` (how a read
// inside a transaction locks the row), `SKIP_LOCKED`, `APPEND_EVENT`,
// `BACKEND`, `day_of(column)` (the UTC day of a timestamp as `YYYY-MM-DD`),
// and on `BackendStore` the methods `begin()` (a write transaction),
// `read()` (a connection for reading), `run_migrations()`, `analyze()`, and
// the paths that differ per backend (`write_check_in`, `write_call_reservation`,
// `write_call_settlement`, `actor_by_token_hash`, `token_holder_of`,
// `route_of`, `forest_of`). All the included files share this module, so
// their imports are here. Queries use `$n` placeholders, which both
// backends accept.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::QueryBuilder;
use tutti_domain::access::Actor;
use tutti_domain::audit::{
    ChainBreak, ChainVerifier, Event, GENESIS_HASH, VerifiedHead, audit_time, canonical_json,
    event_hash,
};
use tutti_domain::decision::{
    Ballot, Decision, DecisionSpace, DecisionStatus, NewDecision, Outcome, PolicyVerdict, Proposal,
    Vote,
};
use tutti_domain::labour::{
    Budget, BudgetScope, BudgetState, Cancellation, ChargeScope, LedgerEntry, LedgerGroup,
    LedgerKind, LimitsPatch, MaxTokens, Model, NewReview, Prices, Provider, Review, ReviewStats,
    Run, RunStatus, Settlement, Tokens, Verdict, WorkOrderParts, WorstCase, check_new_run,
    check_provider, check_reviewable, queues_a_run, render_work_order, with_feedback,
};
use tutti_domain::org::{
    Member, MemberKind, Org, Role, Team, check_concurrency, check_external, check_role_change,
    check_role_for_kind, parse_currency,
};
use tutti_domain::service::{
    Amendment, Case, CaseStatus, CheckOutcome, Criterion, CriterionCheck, Feasibility, Flow, Gate,
    GateVerdict, GateVersion, Learning, LearningStatus, LearningSubject, Promise, PromiseState,
    PromiseStep, ServiceProduct,
};
use tutti_domain::signal::{
    Alert, Audience, Concern, Signal, SignalKind, WEBHOOK_NAME_MAX, WebhookFormat, check_locale,
    parse_webhook_url,
};
use tutti_domain::strategy::{
    CheckIn, KeyResult, NewCheckIn, Objective, ObjectiveStatus, TargetMove, check_period,
    moves_target, target_reason,
};
use tutti_domain::validate::{Email, TITLE_MAX, text};
use tutti_domain::work::{WorkItem, WorkKind, WorkState};
use uuid::Uuid;

use crate::rows::*;
use crate::{
    AiCheck, AlertFilter, AlertSync, Attempt, BlockedWork, BudgetPatch, CaseCount, CaseFilter,
    Charge, ClaimTarget, ClaimedRun, Credential, Ctx, DecisionFilter, Delivery, DeliveryStatus,
    Draft, DueDelivery, EngineNode, Enrolment, EventFilter, GivenVerdict, Import, ImportReport,
    ImportedRow, KeyResultPatch, LearningFilter, LeaseState, LedgerFilter, LedgerLine,
    LedgerTotals, MayPatch, MemberPatch, ModelRoute, NewBudget, NewCase, NewFlow, NewKeyResult,
    NewLearning, NewMember, NewModel, NewObjective, NewPromise, NewProvider, NewServiceProduct,
    NewSession, NewTeam, NewWebhook, NewWorkItem, ObjectiveForest, ObjectivePatch, OpenReservation,
    Overdue, Page, PageRequest, PromiseFilter, PromiseOrder, Reservation, Result, Reviewed, RunEnd,
    RunFilter, RunNote, Session, SpendPoint, StoreError, StoredResponse, TeamPatch, TokenHolder,
    TokenInfo, Webhook, WorkFilter, WorkFlow, WorkImport, WorkItemPatch,
};

type Conn = <Db as sqlx::Database>::Connection;

/// How many rows an import writes per statement: below every backend's limit
/// on bound parameters.
const IMPORT_PARAMS_PER_STATEMENT: usize = 30_000;

/// Takes the org's next audit number and its chain's head.
const TAKE_AUDIT_SEQ: &str =
    "UPDATE orgs SET audit_seq = audit_seq + 1 WHERE id = $1 RETURNING audit_seq, audit_hash";

/// Appends an event to the org's audit chain, inside the caller's transaction.
async fn append_event(
    conn: &mut Conn,
    ctx: &Ctx,
    action: &str,
    subject_type: &str,
    subject_id: Option<Uuid>,
    payload: serde_json::Value,
) -> Result<()> {
    // Taking the next number also locks the org's row on PostgreSQL, so
    // concurrent writers of one org append one after the other.
    let head: Option<(i64, String)> = sqlx::query_as(TAKE_AUDIT_SEQ)
        .bind(ctx.org_id)
        .fetch_optional(&mut *conn)
        .await?;
    let (seq, prev_hash) = head.ok_or(StoreError::not_found("org"))?;
    let id = Uuid::now_v7();
    let at = audit_time(ctx.now);
    let hash = event_hash(
        ctx.org_id,
        seq,
        id,
        at,
        ctx.actor_id,
        action,
        subject_type,
        subject_id,
        &payload,
        &prev_hash,
    );
    sqlx::query(APPEND_EVENT)
        .bind(ctx.org_id)
        .bind(seq)
        .bind(id)
        .bind(at)
        .bind(ctx.actor_id)
        .bind(action)
        .bind(subject_type)
        .bind(subject_id)
        .bind(canonical_json(&payload))
        .bind(&prev_hash)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Keeps the response for the request's idempotency key, if it has one, and
/// commits.
async fn commit_with_response<T: Serialize>(
    mut tx: Tx,
    ctx: &Ctx,
    status: u16,
    value: &T,
) -> Result<()> {
    if let (Some(key), Some(member_id)) = (&ctx.idempotency, ctx.actor_id) {
        let body = serde_json::to_string(value)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode response: {e}")))?;
        let kept = sqlx::query(
            "INSERT INTO idempotency_keys (org_id, member_id, key, request_hash, status, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(ctx.org_id)
        .bind(member_id)
        .bind(&key.key)
        .bind(&key.request_hash)
        .bind(i64::from(status))
        .bind(body)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await;
        match kept {
            Err(e) if StoreError::is_unique_violation(&e) => {
                return Err(StoreError::IdempotencyRace);
            }
            other => {
                other?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Refuses a reference to a row that does not exist in the org.
async fn require(
    conn: &mut Conn,
    table: &str,
    org_id: Uuid,
    id: Option<Uuid>,
    field: &str,
    what: &str,
) -> Result<()> {
    let Some(id) = id else { return Ok(()) };
    let found: Option<Uuid> = sqlx::query_scalar(&format!(
        "SELECT id FROM {table} WHERE id = $1 AND org_id = $2"
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?;
    match found {
        Some(_) => Ok(()),
        None => Err(StoreError::invalid(
            field,
            format!("no {what} with id {id} in this org"),
        )),
    }
}

/// Refuses to hang a row under itself or one of its descendants.
async fn refuse_cycle(
    conn: &mut Conn,
    table: &str,
    id: Uuid,
    new_parent: Option<Uuid>,
) -> Result<()> {
    let Some(parent) = new_parent else {
        return Ok(());
    };
    let cycle = if parent == id {
        true
    } else {
        let hits: i64 = sqlx::query_scalar(&format!(
            "WITH RECURSIVE up(id, parent_id) AS ( \
                 SELECT id, parent_id FROM {table} WHERE id = $1 \
                 UNION SELECT t.id, t.parent_id FROM {table} t JOIN up ON t.id = up.parent_id) \
             SELECT COUNT(*) FROM up WHERE id = $2"
        ))
        .bind(parent)
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
        hits > 0
    };
    if cycle {
        return Err(StoreError::invalid(
            "parent_id",
            "would make the item its own ancestor",
        ));
    }
    Ok(())
}

/// The teams of each given member.
async fn teams_of(conn: &mut Conn, members: &[Uuid]) -> Result<HashMap<Uuid, Vec<Uuid>>> {
    let mut teams: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    if members.is_empty() {
        return Ok(teams);
    }
    let mut query =
        QueryBuilder::<Db>::new("SELECT member_id, team_id FROM team_members WHERE member_id IN (");
    let mut list = query.separated(", ");
    for id in members {
        list.push_bind(*id);
    }
    query.push(") ORDER BY team_id");
    let rows: Vec<(Uuid, Uuid)> = query.build_query_as().fetch_all(&mut *conn).await?;
    for (member, team) in rows {
        teams.entry(member).or_default().push(team);
    }
    Ok(teams)
}

/// Appends the cursor condition and the limit (one more than asked, to know
/// whether another page follows).
fn push_page(query: &mut QueryBuilder<'_, Db>, page: PageRequest) {
    if let Some(after) = page.after {
        query.push(" AND id > ").push_bind(after);
    }
    query
        .push(" ORDER BY id LIMIT ")
        .push_bind(i64::from(page.limit.clamp(1, PageRequest::MAX_LIMIT)) + 1);
}

fn page_of<T>(mut items: Vec<T>, page: PageRequest, id: impl Fn(&T) -> String) -> Page<T> {
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT) as usize;
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(id)
    } else {
        None
    };
    Page { items, next_cursor }
}

/// The `me` query of the member a token hash (`$1`) belongs to.
const ACTOR_BY_TOKEN: &str = "SELECT m.id, m.org_id, m.kind, m.role FROM api_tokens t JOIN members m ON m.id = t.member_id \
     WHERE t.token_hash = $1";

/// One row of [`actor_sql`]: member id, org id, kind, role, a team, and whether they lead it.
type ActorRow = (Uuid, Uuid, String, String, Option<Uuid>, bool);

/// The actor the `me` query selects (member id, org id, kind, role from one
/// row, given one parameter), with their teams and the teams they lead, in
/// one query: the member, then one row per team they belong to (led = false)
/// and per team they lead, with every team below those (led = true).
fn actor_sql(me: &str) -> String {
    format!(
        "WITH RECURSIVE me(id, org_id, kind, role) AS ({me}), \
         led(id) AS ( \
             SELECT t.id FROM teams t JOIN me ON t.org_id = me.org_id AND t.lead_id = me.id \
             UNION SELECT t.id FROM teams t JOIN led ON t.parent_id = led.id) \
         SELECT me.id, me.org_id, me.kind, me.role, NULL, FALSE FROM me \
         UNION ALL SELECT me.id, me.org_id, me.kind, me.role, tm.team_id, FALSE \
             FROM me JOIN team_members tm ON tm.member_id = me.id \
         UNION ALL SELECT me.id, me.org_id, me.kind, me.role, led.id, TRUE FROM me CROSS JOIN led"
    )
}

/// The actor the `me` query selects; see [`actor_sql`].
async fn load_actor<K>(conn: &mut Conn, me: &str, key: K) -> Result<Option<Actor>>
where
    K: for<'q> sqlx::Encode<'q, Db> + sqlx::Type<Db> + Send,
{
    let rows: Vec<ActorRow> = sqlx::query_as(&actor_sql(me))
        .bind(key)
        .fetch_all(&mut *conn)
        .await?;
    actor_from_rows(rows)
}

fn actor_from_rows(rows: Vec<ActorRow>) -> Result<Option<Actor>> {
    let Some((member_id, org_id, kind, role, _, _)) = rows.first().cloned() else {
        return Ok(None);
    };
    let mut teams = Vec::new();
    let mut led_teams = Vec::new();
    for (_, _, _, _, team, led) in rows {
        match (team, led) {
            (Some(team), true) => led_teams.push(team),
            (Some(team), false) => teams.push(team),
            (None, _) => {}
        }
    }
    Ok(Some(Actor {
        org_id,
        member_id,
        kind: kind.parse().map_err(StoreError::Corrupt)?,
        role: role.parse().map_err(StoreError::Corrupt)?,
        teams,
        led_teams,
    }))
}

async fn load_member(conn: &mut Conn, org_id: Uuid, id: Uuid) -> Result<Member> {
    let row: MemberRow = sqlx::query_as(&format!(
        "SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1 AND org_id = $2"
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("member"))?;
    let mut teams = teams_of(&mut *conn, &[id]).await?;
    row.into_member(teams.remove(&id).unwrap_or_default())
}

async fn check_member_teams(conn: &mut Conn, org_id: Uuid, teams: &[Uuid]) -> Result<()> {
    for team in teams {
        require(&mut *conn, "teams", org_id, Some(*team), "teams", "team").await?;
    }
    Ok(())
}

async fn set_member_teams(
    conn: &mut Conn,
    org_id: Uuid,
    member_id: Uuid,
    teams: &[Uuid],
) -> Result<()> {
    sqlx::query("DELETE FROM team_members WHERE member_id = $1")
        .bind(member_id)
        .execute(&mut *conn)
        .await?;
    let mut unique = teams.to_vec();
    unique.sort();
    unique.dedup();
    for team in unique {
        sqlx::query("INSERT INTO team_members (team_id, member_id, org_id) VALUES ($1, $2, $3)")
            .bind(team)
            .bind(member_id)
            .bind(org_id)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn insert_member(conn: &mut Conn, ctx: &Ctx, new: NewMember) -> Result<Member> {
    check_role_for_kind(new.kind, new.role)?;
    let name = text("name", &new.name, TITLE_MAX)?;
    if let Some(email) = &new.email {
        let taken: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM members WHERE org_id = $1 AND email = $2")
                .bind(ctx.org_id)
                .bind(email.as_str())
                .fetch_optional(&mut *conn)
                .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(format!(
                "a member with email {email} already exists"
            )));
        }
    }
    check_member_teams(&mut *conn, ctx.org_id, &new.teams).await?;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO members (id, org_id, kind, name, email, role, role_card, provider, model, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(ctx.org_id)
    .bind(new.kind.as_str())
    .bind(&name)
    .bind(new.email.as_ref().map(Email::as_str))
    .bind(new.role.as_str())
    .bind(&new.role_card)
    .bind(&new.provider)
    .bind(&new.model)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await
    .map_err(|e| StoreError::conflict_on_unique(e, || "a member with this email already exists".into()))?;
    set_member_teams(&mut *conn, ctx.org_id, id, &new.teams).await?;
    let member = load_member(&mut *conn, ctx.org_id, id).await?;
    append_event(
        &mut *conn,
        ctx,
        "member.created",
        "member",
        Some(id),
        json!({ "member": member }),
    )
    .await?;
    Ok(member)
}

async fn load_team(conn: &mut Conn, org_id: Uuid, id: Uuid, lock: bool) -> Result<Team> {
    let row: TeamRow = sqlx::query_as(&format!(
        "SELECT {TEAM_COLUMNS} FROM teams WHERE id = $1 AND org_id = $2{}",
        if lock { FOR_UPDATE } else { "" }
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("team"))?;
    Ok(row.into())
}

async fn load_objective(conn: &mut Conn, org_id: Uuid, id: Uuid, lock: bool) -> Result<Objective> {
    let row: ObjectiveRow = sqlx::query_as(&format!(
        "SELECT {OBJECTIVE_COLUMNS} FROM objectives WHERE id = $1 AND org_id = $2{}",
        if lock { FOR_UPDATE } else { "" }
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("objective"))?;
    row.try_into()
}

async fn load_key_result(conn: &mut Conn, org_id: Uuid, id: Uuid, lock: bool) -> Result<KeyResult> {
    let row: KeyResultRow = sqlx::query_as(&format!(
        "SELECT {KEY_RESULT_COLUMNS} FROM key_results WHERE id = $1 AND org_id = $2{}",
        if lock { FOR_UPDATE } else { "" }
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("key result"))?;
    row.try_into()
}

async fn load_work_item(conn: &mut Conn, org_id: Uuid, id: Uuid, lock: bool) -> Result<WorkItem> {
    let row: WorkItemRow = sqlx::query_as(&format!(
        "SELECT {WORK_ITEM_COLUMNS} FROM work_items WHERE id = $1 AND org_id = $2{}",
        if lock { FOR_UPDATE } else { "" }
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("work item"))?;
    row.try_into()
}

/// Checks and inserts a budget, with its audit event, in `conn`'s
/// transaction.
async fn insert_budget(conn: &mut Conn, ctx: &Ctx, new: NewBudget) -> Result<Budget> {
    let budget = Budget {
        id: Uuid::now_v7(),
        name: text("name", &new.name, TITLE_MAX)?,
        scope: new.scope,
        scope_id: new.scope_id,
        period: new.period,
        token_limit: new.token_limit,
        cost_limit: new.cost_limit,
        warn_percent: new.warn_percent,
        hard: new.hard,
        created_at: ctx.now,
    };
    budget.check()?;
    let (table, what) = match budget.scope {
        BudgetScope::Org => ("orgs", "org"),
        BudgetScope::Team => ("teams", "team"),
        BudgetScope::Objective => ("objectives", "objective"),
        BudgetScope::Worker => ("members", "member"),
    };
    if budget.scope != BudgetScope::Org {
        require(
            &mut *conn,
            table,
            ctx.org_id,
            budget.scope_id,
            "scope_id",
            what,
        )
        .await?;
    }
    sqlx::query(
        "INSERT INTO budgets (id, org_id, name, scope, scope_id, period, token_limit, cost_limit, warn_percent, hard, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(budget.id)
    .bind(ctx.org_id)
    .bind(&budget.name)
    .bind(budget.scope.as_str())
    .bind(budget.scope_id)
    .bind(budget.period.as_str())
    .bind(budget.token_limit)
    .bind(budget.cost_limit)
    .bind(budget.warn_percent)
    .bind(budget.hard)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    append_event(
        &mut *conn,
        ctx,
        "budget.created",
        "budget",
        Some(budget.id),
        json!({ "budget": budget }),
    )
    .await?;
    Ok(budget)
}

/// Keeps a person's password hash and ends the sessions the old one opened,
/// audited, in `conn`'s transaction. `Invalid` for an AI worker, which
/// signs in with tokens.
async fn write_password(
    conn: &mut Conn,
    ctx: &Ctx,
    member: &Member,
    password_hash: &str,
) -> Result<()> {
    if member.kind == tutti_domain::org::MemberKind::Ai {
        return Err(StoreError::invalid(
            "member",
            "AI workers sign in with API tokens, not passwords",
        ));
    }
    sqlx::query("UPDATE members SET password_hash = $1 WHERE id = $2")
        .bind(password_hash)
        .bind(member.id)
        .execute(&mut *conn)
        .await?;
    // A new password ends every session the old one opened.
    sqlx::query("DELETE FROM sessions WHERE member_id = $1")
        .bind(member.id)
        .execute(&mut *conn)
        .await?;
    append_event(
        &mut *conn,
        ctx,
        "member.password_set",
        "member",
        Some(member.id),
        json!({}),
    )
    .await
}
