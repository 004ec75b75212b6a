// The store implementation shared by both backends.
//
// This file is `include!`d into `sqlite.rs` and `postgres.rs`, each of which
// defines `Db` (the sqlx database), `This` (its store type), `Tx` (its write
// transaction, which derefs to a connection and has `commit`), `FOR_UPDATE`
// (how a read inside a transaction locks the row), and on `This` the methods
// `begin()` (a write transaction), `read()` (a connection for reading),
// `run_migrations()` and `analyze()`. Queries use `$n` placeholders, which
// both backends accept.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use sqlx::QueryBuilder;
use tutti_domain::access::Actor;
use tutti_domain::audit::{
    ChainBreak, ChainVerifier, Event, GENESIS_HASH, audit_time, canonical_json, event_hash,
};
use tutti_domain::org::{Member, Org, Role, Team, check_role_for_kind, parse_currency};
use tutti_domain::strategy::{CheckIn, KeyResult, Objective, ObjectiveStatus, check_period};
use tutti_domain::validate::{Email, TITLE_MAX, text};
use tutti_domain::work::WorkItem;
use uuid::Uuid;

use crate::rows::*;
use crate::{
    Ctx, EventFilter, Import, KeyResultPatch, MemberPatch, NewCheckIn, NewKeyResult, NewMember,
    NewObjective, NewTeam, NewWorkItem, ObjectiveForest, ObjectivePatch, Page, PageRequest, Result,
    StoreError, StoredResponse, TeamPatch, TokenInfo, WorkFilter, WorkItemPatch,
};

type Conn = <Db as sqlx::Database>::Connection;

/// How many rows an import writes per statement: below every backend's limit
/// on bound parameters.
const IMPORT_PARAMS_PER_STATEMENT: usize = 30_000;

/// Takes the org's next audit number and its chain's head.
const TAKE_AUDIT_SEQ: &str =
    "UPDATE orgs SET audit_seq = audit_seq + 1 WHERE id = $1 RETURNING audit_seq, audit_hash";

/// Appends an event to the org's audit chain, inside the caller's transaction.
async fn record(
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
async fn finish<T: Serialize>(mut tx: Tx, ctx: &Ctx, status: u16, value: &T) -> Result<()> {
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

/// A check-in moves its key result (current `$1`, confidence `$2`, at `$3`;
/// key result `$4` of org `$5`); no row back means no such key result here.
const MOVE_KEY_RESULT: &str = "UPDATE key_results SET current = $1, confidence = $2, updated_at = $3 \
     WHERE id = $4 AND org_id = $5 RETURNING baseline, target";

/// A check-in kept, in the order of its columns.
const INSERT_CHECK_IN: &str = "INSERT INTO check_ins (id, org_id, key_result_id, value, confidence, note, author_id, created_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";

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
    record(
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

/// The objectives `roots` names (`$2`…, of org `$1`) and every objective
/// below them. The recursion carries whole rows, so each step is an index
/// lookup on `parent_id` and no planner has to guess the size of an id set.
fn forest_sql(roots: usize) -> String {
    let columns = OBJECTIVE_COLUMNS;
    let prefixed: String = columns
        .split(", ")
        .map(|c| format!("o.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let ids: Vec<String> = (2..roots + 2).map(|n| format!("${n}")).collect();
    format!(
        "WITH RECURSIVE sub({columns}) AS (SELECT {columns} FROM objectives WHERE org_id = $1 AND id IN ({})\
         UNION SELECT {prefixed} FROM objectives o JOIN sub ON o.parent_id = sub.id) SELECT {columns} FROM sub ORDER BY id",
        ids.join(", ")
    )
}

/// The key results of `objectives` objectives (`$1`…).
fn key_results_of_sql(objectives: usize) -> String {
    let ids: Vec<String> = (1..=objectives).map(|n| format!("${n}")).collect();
    format!(
        "SELECT {KEY_RESULT_COLUMNS} FROM key_results WHERE objective_id IN ({}) ORDER BY id",
        ids.join(", ")
    )
}

/// How many objectives one key-result query asks for.
const FOREST_CHUNK: usize = IMPORT_PARAMS_PER_STATEMENT / 2;

impl crate::Store for This {
    async fn migrate(&self) -> Result<()> {
        self.run_migrations().await
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&mut *self.read().await?)
            .await?;
        Ok(())
    }

    async fn create_org(
        &self,
        name: &str,
        currency: &str,
        owner: NewMember,
        now: DateTime<Utc>,
    ) -> Result<(Org, Member)> {
        let name = text("name", name, TITLE_MAX)?;
        let currency = parse_currency(currency)?;
        if owner.role != Role::Owner {
            return Err(StoreError::invalid(
                "role",
                "an org's first member must be its owner",
            ));
        }
        let org_id = Uuid::now_v7();
        let ctx = Ctx::new(org_id, None, now);
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO orgs (id, name, currency, created_at, audit_seq, audit_hash) VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(org_id)
        .bind(&name)
        .bind(&currency)
        .bind(ctx.now)
        .bind(GENESIS_HASH)
        .execute(&mut *tx)
        .await?;
        let org = Org {
            id: org_id,
            name,
            currency,
            created_at: ctx.now,
        };
        record(
            &mut tx,
            &ctx,
            "org.created",
            "org",
            Some(org_id),
            json!({ "org": org }),
        )
        .await?;
        let member = insert_member(&mut tx, &ctx, owner).await?;
        tx.commit().await?;
        Ok((org, member))
    }

    async fn org(&self, org_id: Uuid) -> Result<Org> {
        let row: OrgRow = sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM orgs WHERE id = $1"))
            .bind(org_id)
            .fetch_optional(&mut *self.read().await?)
            .await?
            .ok_or(StoreError::not_found("org"))?;
        Ok(row.into())
    }

    async fn orgs(&self) -> Result<Vec<Org>> {
        let rows: Vec<OrgRow> =
            sqlx::query_as(&format!("SELECT {ORG_COLUMNS} FROM orgs ORDER BY id"))
                .fetch_all(&mut *self.read().await?)
                .await?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    async fn create_token(
        &self,
        ctx: &Ctx,
        member_id: Uuid,
        label: &str,
        token_hash: &str,
    ) -> Result<TokenInfo> {
        let label = tutti_domain::validate::optional_text("label", label, TITLE_MAX)?;
        let mut tx = self.begin().await?;
        load_member(&mut tx, ctx.org_id, member_id).await?;
        let token = TokenInfo {
            id: Uuid::now_v7(),
            member_id,
            label,
            created_at: ctx.now,
        };
        sqlx::query(
            "INSERT INTO api_tokens (id, org_id, member_id, label, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token.id)
        .bind(ctx.org_id)
        .bind(member_id)
        .bind(&token.label)
        .bind(token_hash)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            ctx,
            "token.created",
            "member",
            Some(member_id),
            json!({ "token": token }),
        )
        .await?;
        finish(tx, ctx, 201, &token).await?;
        Ok(token)
    }

    async fn actor_by_token(&self, token_hash: &str) -> Result<Option<Actor>> {
        self.actor_by_token_hash(token_hash).await
    }

    async fn member_by_email(&self, org_id: Uuid, email: &Email) -> Result<Member> {
        let mut conn = self.read().await?;
        let id: Uuid =
            sqlx::query_scalar("SELECT id FROM members WHERE org_id = $1 AND email = $2")
                .bind(org_id)
                .bind(email.as_str())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::not_found("member"))?;
        load_member(&mut conn, org_id, id).await
    }

    async fn create_team(&self, ctx: &Ctx, new: NewTeam) -> Result<Team> {
        let name = text("name", &new.name, TITLE_MAX)?;
        let mut tx = self.begin().await?;
        require(
            &mut tx,
            "teams",
            ctx.org_id,
            new.parent_id,
            "parent_id",
            "team",
        )
        .await?;
        require(
            &mut tx,
            "members",
            ctx.org_id,
            new.lead_id,
            "lead_id",
            "member",
        )
        .await?;
        let team = Team {
            id: Uuid::now_v7(),
            name,
            parent_id: new.parent_id,
            lead_id: new.lead_id,
            created_at: ctx.now,
        };
        sqlx::query("INSERT INTO teams (id, org_id, name, parent_id, lead_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(team.id)
            .bind(ctx.org_id)
            .bind(&team.name)
            .bind(team.parent_id)
            .bind(team.lead_id)
            .bind(ctx.now)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            ctx,
            "team.created",
            "team",
            Some(team.id),
            json!({ "team": team }),
        )
        .await?;
        finish(tx, ctx, 201, &team).await?;
        Ok(team)
    }

    async fn team(&self, org_id: Uuid, id: Uuid) -> Result<Team> {
        load_team(&mut *self.read().await?, org_id, id, false).await
    }

    async fn teams(&self, org_id: Uuid, page: PageRequest) -> Result<Page<Team>> {
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT {TEAM_COLUMNS} FROM teams WHERE org_id = "));
        query.push_bind(org_id);
        push_page(&mut query, page);
        let rows: Vec<TeamRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        Ok(page_of(
            rows.into_iter().map(Into::into).collect(),
            page,
            |t: &Team| t.id.to_string(),
        ))
    }

    async fn update_team(&self, ctx: &Ctx, id: Uuid, patch: TeamPatch) -> Result<Team> {
        let mut tx = self.begin().await?;
        let mut team = load_team(&mut tx, ctx.org_id, id, true).await?;
        if let Some(name) = patch.name {
            team.name = text("name", &name, TITLE_MAX)?;
        }
        if let Some(parent) = patch.parent_id {
            require(&mut tx, "teams", ctx.org_id, parent, "parent_id", "team").await?;
            refuse_cycle(&mut tx, "teams", id, parent).await?;
            team.parent_id = parent;
        }
        if let Some(lead) = patch.lead_id {
            require(&mut tx, "members", ctx.org_id, lead, "lead_id", "member").await?;
            team.lead_id = lead;
        }
        sqlx::query("UPDATE teams SET name = $1, parent_id = $2, lead_id = $3 WHERE id = $4 AND org_id = $5")
            .bind(&team.name)
            .bind(team.parent_id)
            .bind(team.lead_id)
            .bind(id)
            .bind(ctx.org_id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            ctx,
            "team.updated",
            "team",
            Some(id),
            json!({ "team": team }),
        )
        .await?;
        tx.commit().await?;
        Ok(team)
    }

    async fn create_member(&self, ctx: &Ctx, new: NewMember) -> Result<Member> {
        let mut tx = self.begin().await?;
        let member = insert_member(&mut tx, ctx, new).await?;
        finish(tx, ctx, 201, &member).await?;
        Ok(member)
    }

    async fn member(&self, org_id: Uuid, id: Uuid) -> Result<Member> {
        load_member(&mut *self.read().await?, org_id, id).await
    }

    async fn members(&self, org_id: Uuid, page: PageRequest) -> Result<Page<Member>> {
        let mut conn = self.read().await?;
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {MEMBER_COLUMNS} FROM members WHERE org_id = "
        ));
        query.push_bind(org_id);
        push_page(&mut query, page);
        let rows: Vec<MemberRow> = query.build_query_as().fetch_all(&mut *conn).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let mut teams = teams_of(&mut conn, &ids).await?;
        let members = rows
            .into_iter()
            .map(|r| {
                let t = teams.remove(&r.id).unwrap_or_default();
                r.into_member(t)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(members, page, |m: &Member| m.id.to_string()))
    }

    async fn update_member(&self, ctx: &Ctx, id: Uuid, patch: MemberPatch) -> Result<Member> {
        let mut tx = self.begin().await?;
        let mut member = load_member(&mut tx, ctx.org_id, id).await?;
        if let Some(name) = patch.name {
            member.name = text("name", &name, TITLE_MAX)?;
        }
        if let Some(role) = patch.role {
            check_role_for_kind(member.kind, role)?;
            if member.role == Role::Owner && role != Role::Owner {
                let owners: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM members WHERE org_id = $1 AND role = 'owner'",
                )
                .bind(ctx.org_id)
                .fetch_one(&mut *tx)
                .await?;
                if owners <= 1 {
                    return Err(StoreError::invalid(
                        "role",
                        "the org's last owner cannot give up that role",
                    ));
                }
            }
            member.role = role;
        }
        if let Some(card) = patch.role_card {
            member.role_card = card;
        }
        if let Some(provider) = patch.provider {
            member.provider = provider;
        }
        if let Some(model) = patch.model {
            member.model = model;
        }
        if let Some(concurrency) = patch.concurrency {
            if !(1..=64).contains(&concurrency) {
                return Err(StoreError::invalid(
                    "concurrency",
                    "must be between 1 and 64",
                ));
            }
            member.concurrency = concurrency;
        }
        sqlx::query(
            "UPDATE members SET name = $1, role = $2, role_card = $3, provider = $4, model = $5, concurrency = $8 WHERE id = $6 AND org_id = $7",
        )
        .bind(&member.name)
        .bind(member.role.as_str())
        .bind(&member.role_card)
        .bind(&member.provider)
        .bind(&member.model)
        .bind(id)
        .bind(ctx.org_id)
        .bind(member.concurrency)
        .execute(&mut *tx)
        .await?;
        if let Some(teams) = patch.teams {
            check_member_teams(&mut tx, ctx.org_id, &teams).await?;
            set_member_teams(&mut tx, ctx.org_id, id, &teams).await?;
        }
        let member = load_member(&mut tx, ctx.org_id, id).await?;
        record(
            &mut tx,
            ctx,
            "member.updated",
            "member",
            Some(id),
            json!({ "member": member }),
        )
        .await?;
        tx.commit().await?;
        Ok(member)
    }

    async fn create_objective(&self, ctx: &Ctx, new: NewObjective) -> Result<Objective> {
        let title = text("title", &new.title, TITLE_MAX)?;
        let why = tutti_domain::validate::optional_text(
            "why",
            &new.why,
            tutti_domain::validate::BODY_MAX,
        )?;
        check_period(new.period_start, new.period_end)?;
        let mut tx = self.begin().await?;
        require(
            &mut tx,
            "members",
            ctx.org_id,
            new.owner_id,
            "owner_id",
            "member",
        )
        .await?;
        require(&mut tx, "teams", ctx.org_id, new.team_id, "team_id", "team").await?;
        require(
            &mut tx,
            "objectives",
            ctx.org_id,
            new.parent_id,
            "parent_id",
            "objective",
        )
        .await?;
        let objective = Objective {
            id: Uuid::now_v7(),
            title,
            why,
            owner_id: new.owner_id,
            team_id: new.team_id,
            period_start: new.period_start,
            period_end: new.period_end,
            parent_id: new.parent_id,
            status: ObjectiveStatus::Active,
            created_at: ctx.now,
        };
        insert_objectives(&mut tx, ctx.org_id, std::slice::from_ref(&objective)).await?;
        record(
            &mut tx,
            ctx,
            "objective.created",
            "objective",
            Some(objective.id),
            json!({ "objective": objective }),
        )
        .await?;
        finish(tx, ctx, 201, &objective).await?;
        Ok(objective)
    }

    async fn objective(&self, org_id: Uuid, id: Uuid) -> Result<Objective> {
        load_objective(&mut *self.read().await?, org_id, id, false).await
    }

    async fn objectives(&self, org_id: Uuid, page: PageRequest) -> Result<Page<Objective>> {
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {OBJECTIVE_COLUMNS} FROM objectives WHERE org_id = "
        ));
        query.push_bind(org_id);
        push_page(&mut query, page);
        let rows: Vec<ObjectiveRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<Objective>>>()?;
        Ok(page_of(items, page, |o| o.id.to_string()))
    }

    async fn update_objective(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: ObjectivePatch,
    ) -> Result<Objective> {
        let mut tx = self.begin().await?;
        let mut objective = load_objective(&mut tx, ctx.org_id, id, true).await?;
        if let Some(title) = patch.title {
            objective.title = text("title", &title, TITLE_MAX)?;
        }
        if let Some(why) = patch.why {
            objective.why = tutti_domain::validate::optional_text(
                "why",
                &why,
                tutti_domain::validate::BODY_MAX,
            )?;
        }
        if let Some(owner) = patch.owner_id {
            require(&mut tx, "members", ctx.org_id, owner, "owner_id", "member").await?;
            objective.owner_id = owner;
        }
        if let Some(team) = patch.team_id {
            require(&mut tx, "teams", ctx.org_id, team, "team_id", "team").await?;
            objective.team_id = team;
        }
        if let Some(parent) = patch.parent_id {
            require(
                &mut tx,
                "objectives",
                ctx.org_id,
                parent,
                "parent_id",
                "objective",
            )
            .await?;
            refuse_cycle(&mut tx, "objectives", id, parent).await?;
            objective.parent_id = parent;
        }
        objective.period_start = patch.period_start.unwrap_or(objective.period_start);
        objective.period_end = patch.period_end.unwrap_or(objective.period_end);
        check_period(objective.period_start, objective.period_end)?;
        objective.status = patch.status.unwrap_or(objective.status);
        sqlx::query(
            "UPDATE objectives SET title = $1, why = $2, owner_id = $3, team_id = $4, period_start = $5, period_end = $6, \
             parent_id = $7, status = $8 WHERE id = $9 AND org_id = $10",
        )
        .bind(&objective.title)
        .bind(&objective.why)
        .bind(objective.owner_id)
        .bind(objective.team_id)
        .bind(objective.period_start)
        .bind(objective.period_end)
        .bind(objective.parent_id)
        .bind(objective.status.as_str())
        .bind(id)
        .bind(ctx.org_id)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            ctx,
            "objective.updated",
            "objective",
            Some(id),
            json!({ "objective": objective }),
        )
        .await?;
        tx.commit().await?;
        Ok(objective)
    }

    async fn objective_forest(&self, org_id: Uuid, roots: &[Uuid]) -> Result<ObjectiveForest> {
        if roots.is_empty() {
            return Ok(ObjectiveForest::default());
        }
        self.forest_of(org_id, roots).await
    }

    async fn all_objectives(&self, org_id: Uuid) -> Result<ObjectiveForest> {
        let mut conn = self.read().await?;
        let objectives: Vec<ObjectiveRow> = sqlx::query_as(&format!(
            "SELECT {OBJECTIVE_COLUMNS} FROM objectives WHERE org_id = $1 ORDER BY id"
        ))
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let key_results: Vec<KeyResultRow> = sqlx::query_as(&format!(
            "SELECT {KEY_RESULT_COLUMNS} FROM key_results WHERE org_id = $1 ORDER BY id"
        ))
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        Ok(ObjectiveForest {
            objectives: objectives
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_>>()?,
            key_results: key_results
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_>>()?,
        })
    }

    async fn create_key_result(
        &self,
        ctx: &Ctx,
        objective_id: Uuid,
        new: NewKeyResult,
    ) -> Result<KeyResult> {
        let title = text("title", &new.title, TITLE_MAX)?;
        let unit = tutti_domain::validate::optional_text("unit", &new.unit, 32)?;
        let mut tx = self.begin().await?;
        load_objective(&mut tx, ctx.org_id, objective_id, false).await?;
        let current = new.current.unwrap_or(new.baseline);
        let key_result = KeyResult {
            id: Uuid::now_v7(),
            objective_id,
            title,
            baseline: new.baseline,
            target: new.target,
            current,
            unit,
            confidence: new.confidence,
            progress: tutti_domain::strategy::key_result_progress(
                new.baseline,
                new.target,
                current,
            ),
            updated_at: ctx.now,
        };
        insert_key_results(&mut tx, ctx.org_id, std::slice::from_ref(&key_result)).await?;
        record(
            &mut tx,
            ctx,
            "key_result.created",
            "key_result",
            Some(key_result.id),
            json!({ "key_result": key_result }),
        )
        .await?;
        finish(tx, ctx, 201, &key_result).await?;
        Ok(key_result)
    }

    async fn key_result(&self, org_id: Uuid, id: Uuid) -> Result<KeyResult> {
        load_key_result(&mut *self.read().await?, org_id, id, false).await
    }

    async fn update_key_result(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: KeyResultPatch,
    ) -> Result<KeyResult> {
        let mut tx = self.begin().await?;
        let mut key_result = load_key_result(&mut tx, ctx.org_id, id, true).await?;
        if let Some(title) = patch.title {
            key_result.title = text("title", &title, TITLE_MAX)?;
        }
        if let Some(unit) = patch.unit {
            key_result.unit = tutti_domain::validate::optional_text("unit", &unit, 32)?;
        }
        key_result.baseline = patch.baseline.unwrap_or(key_result.baseline);
        key_result.target = patch.target.unwrap_or(key_result.target);
        key_result.progress = tutti_domain::strategy::key_result_progress(
            key_result.baseline,
            key_result.target,
            key_result.current,
        );
        key_result.updated_at = ctx.now;
        sqlx::query(
            "UPDATE key_results SET title = $1, unit = $2, baseline = $3, target = $4, updated_at = $5 WHERE id = $6 AND org_id = $7",
        )
        .bind(&key_result.title)
        .bind(&key_result.unit)
        .bind(key_result.baseline)
        .bind(key_result.target)
        .bind(ctx.now)
        .bind(id)
        .bind(ctx.org_id)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            ctx,
            "key_result.updated",
            "key_result",
            Some(id),
            json!({ "key_result": key_result }),
        )
        .await?;
        tx.commit().await?;
        Ok(key_result)
    }

    async fn create_check_in(
        &self,
        ctx: &Ctx,
        key_result_id: Uuid,
        new: NewCheckIn,
    ) -> Result<CheckIn> {
        let note = tutti_domain::validate::optional_text(
            "note",
            &new.note,
            tutti_domain::validate::BODY_MAX,
        )?;
        let author_id = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("author_id", "a check-in needs an author"))?;
        let check_in = CheckIn {
            id: Uuid::now_v7(),
            key_result_id,
            value: new.value,
            confidence: new.confidence,
            note,
            author_id,
            created_at: ctx.now,
        };
        self.write_check_in(ctx, &check_in).await?;
        Ok(check_in)
    }

    async fn key_result_scope(
        &self,
        org_id: Uuid,
        id: Uuid,
    ) -> Result<(Option<Uuid>, Option<Uuid>)> {
        let scope: (Option<Uuid>, Option<Uuid>) = sqlx::query_as(
            "SELECT o.team_id, o.owner_id FROM key_results k JOIN objectives o ON o.id = k.objective_id \
             WHERE k.id = $1 AND k.org_id = $2",
        )
        .bind(id)
        .bind(org_id)
        .fetch_optional(&mut *self.read().await?)
        .await?
        .ok_or(StoreError::not_found("key result"))?;
        Ok(scope)
    }

    async fn check_ins(
        &self,
        org_id: Uuid,
        key_result_id: Uuid,
        page: PageRequest,
    ) -> Result<Page<CheckIn>> {
        let mut conn = self.read().await?;
        load_key_result(&mut conn, org_id, key_result_id, false).await?;
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE key_result_id = "
        ));
        query.push_bind(key_result_id);
        query.push(" AND org_id = ").push_bind(org_id);
        push_page(&mut query, page);
        let rows: Vec<CheckInRow> = query.build_query_as().fetch_all(&mut *conn).await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<CheckIn>>>()?;
        Ok(page_of(items, page, |c| c.id.to_string()))
    }

    async fn create_work_item(&self, ctx: &Ctx, new: NewWorkItem) -> Result<WorkItem> {
        let title = text("title", &new.title, TITLE_MAX)?;
        let description = tutti_domain::validate::optional_text(
            "description",
            &new.description,
            tutti_domain::validate::BODY_MAX,
        )?;
        let created_by = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("created_by", "work needs a creator"))?;
        let mut tx = self.begin().await?;
        require(&mut tx, "teams", ctx.org_id, new.team_id, "team_id", "team").await?;
        require(
            &mut tx,
            "members",
            ctx.org_id,
            new.assignee_id,
            "assignee_id",
            "member",
        )
        .await?;
        require(
            &mut tx,
            "work_items",
            ctx.org_id,
            new.parent_id,
            "parent_id",
            "work item",
        )
        .await?;
        require(
            &mut tx,
            "key_results",
            ctx.org_id,
            new.key_result_id,
            "key_result_id",
            "key result",
        )
        .await?;
        let item = WorkItem {
            id: Uuid::now_v7(),
            title,
            description,
            team_id: new.team_id,
            assignee_id: new.assignee_id,
            state: new.state,
            kind: new.kind,
            priority: new.priority,
            due: new.due,
            parent_id: new.parent_id,
            key_result_id: new.key_result_id,
            created_by,
            created_at: ctx.now,
            updated_at: ctx.now,
            state_since: ctx.now,
        };
        insert_work_items(&mut tx, ctx.org_id, std::slice::from_ref(&item)).await?;
        record(
            &mut tx,
            ctx,
            "work_item.created",
            "work_item",
            Some(item.id),
            json!({ "work_item": item }),
        )
        .await?;
        queue_when_ready_for_ai(&mut tx, ctx, &item, None).await?;
        finish(tx, ctx, 201, &item).await?;
        Ok(item)
    }

    async fn work_item(&self, org_id: Uuid, id: Uuid) -> Result<WorkItem> {
        load_work_item(&mut *self.read().await?, org_id, id, false).await
    }

    async fn work_items(
        &self,
        org_id: Uuid,
        filter: &WorkFilter,
        page: PageRequest,
    ) -> Result<Page<WorkItem>> {
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {WORK_ITEM_COLUMNS} FROM work_items WHERE org_id = "
        ));
        query.push_bind(org_id);
        if let Some(state) = filter.state {
            query.push(" AND state = ").push_bind(state.as_str());
        }
        if let Some(assignee) = filter.assignee_id {
            query.push(" AND assignee_id = ").push_bind(assignee);
        }
        if let Some(key_result) = filter.key_result_id {
            query.push(" AND key_result_id = ").push_bind(key_result);
        }
        if let Some(team) = filter.team_id {
            query.push(" AND team_id = ").push_bind(team);
        }
        if filter.unaligned {
            query.push(" AND key_result_id IS NULL");
        }
        push_page(&mut query, page);
        let rows: Vec<WorkItemRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<WorkItem>>>()?;
        Ok(page_of(items, page, |w| w.id.to_string()))
    }

    async fn update_work_item(
        &self,
        ctx: &Ctx,
        id: Uuid,
        patch: WorkItemPatch,
    ) -> Result<WorkItem> {
        let mut tx = self.begin().await?;
        let mut item = load_work_item(&mut tx, ctx.org_id, id, true).await?;
        let from_state = item.state;
        let before_assignee = item.assignee_id;
        if let Some(title) = patch.title {
            item.title = text("title", &title, TITLE_MAX)?;
        }
        if let Some(description) = patch.description {
            item.description = tutti_domain::validate::optional_text(
                "description",
                &description,
                tutti_domain::validate::BODY_MAX,
            )?;
        }
        if let Some(state) = patch.state
            && state != item.state
        {
            item.state = item.state.transition(state)?;
        }
        if let Some(team) = patch.team_id {
            require(&mut tx, "teams", ctx.org_id, team, "team_id", "team").await?;
            item.team_id = team;
        }
        if let Some(assignee) = patch.assignee_id {
            require(
                &mut tx,
                "members",
                ctx.org_id,
                assignee,
                "assignee_id",
                "member",
            )
            .await?;
            item.assignee_id = assignee;
        }
        if let Some(parent) = patch.parent_id {
            require(
                &mut tx,
                "work_items",
                ctx.org_id,
                parent,
                "parent_id",
                "work item",
            )
            .await?;
            refuse_cycle(&mut tx, "work_items", id, parent).await?;
            item.parent_id = parent;
        }
        if let Some(key_result) = patch.key_result_id {
            require(
                &mut tx,
                "key_results",
                ctx.org_id,
                key_result,
                "key_result_id",
                "key result",
            )
            .await?;
            item.key_result_id = key_result;
        }
        item.kind = patch.kind.unwrap_or(item.kind);
        item.priority = patch.priority.unwrap_or(item.priority);
        if let Some(due) = patch.due {
            item.due = due;
        }
        item.updated_at = ctx.now;
        if item.state != from_state {
            item.state_since = ctx.now;
        }
        sqlx::query(
            "UPDATE work_items SET title = $1, description = $2, team_id = $3, assignee_id = $4, state = $5, kind = $6, \
             priority = $7, due = $8, parent_id = $9, key_result_id = $10, updated_at = $11, state_since = $12 \
             WHERE id = $13 AND org_id = $14",
        )
        .bind(&item.title)
        .bind(&item.description)
        .bind(item.team_id)
        .bind(item.assignee_id)
        .bind(item.state.as_str())
        .bind(item.kind.as_str())
        .bind(item.priority.as_str())
        .bind(item.due)
        .bind(item.parent_id)
        .bind(item.key_result_id)
        .bind(ctx.now)
        .bind(item.state_since)
        .bind(id)
        .bind(ctx.org_id)
        .execute(&mut *tx)
        .await?;
        let payload = if from_state == item.state {
            json!({ "work_item": item })
        } else {
            json!({ "work_item": item, "from_state": from_state, "to_state": item.state })
        };
        record(
            &mut tx,
            ctx,
            "work_item.updated",
            "work_item",
            Some(id),
            payload,
        )
        .await?;
        queue_when_ready_for_ai(&mut tx, ctx, &item, Some((before_assignee, from_state))).await?;
        tx.commit().await?;
        Ok(item)
    }

    async fn events(&self, org_id: Uuid, filter: &EventFilter) -> Result<Page<Event>> {
        let limit = filter.limit.clamp(1, PageRequest::MAX_LIMIT);
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = "
        ));
        query.push_bind(org_id);
        if let Some(after) = filter.after_seq {
            query.push(" AND seq > ").push_bind(after);
        }
        if let Some(action) = &filter.action {
            query.push(" AND action = ").push_bind(action.clone());
        }
        if let Some(subject) = filter.subject_id {
            query.push(" AND subject_id = ").push_bind(subject);
        }
        query
            .push(" ORDER BY seq LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows: Vec<EventRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let items = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<Event>>>()?;
        Ok(page_of(items, PageRequest { after: None, limit }, |e| {
            e.seq.to_string()
        }))
    }

    async fn verify_chain(&self, org_id: Uuid) -> Result<Result<i64, ChainBreak>> {
        const BATCH: i64 = 5_000;
        let mut conn = self.read().await?;
        let (head_seq, head_hash): (i64, String) =
            sqlx::query_as("SELECT audit_seq, audit_hash FROM orgs WHERE id = $1")
                .bind(org_id)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::not_found("org"))?;
        let mut verifier = ChainVerifier::new(org_id);
        let mut after = 0i64;
        loop {
            let rows: Vec<EventRow> = sqlx::query_as(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
            ))
            .bind(org_id)
            .bind(after)
            .bind(BATCH)
            .fetch_all(&mut *conn)
            .await?;
            let done = (rows.len() as i64) < BATCH;
            for row in rows {
                after = row.seq;
                if let Err(broken) = verifier.check(&row.into()) {
                    return Ok(Err(broken));
                }
            }
            if done {
                break;
            }
        }
        Ok(verifier.finish(head_seq, &head_hash))
    }

    async fn idempotent_response(
        &self,
        org_id: Uuid,
        member_id: Uuid,
        key: &str,
    ) -> Result<Option<StoredResponse>> {
        let row: Option<(String, i64, String)> = sqlx::query_as(
            "SELECT request_hash, status, body FROM idempotency_keys WHERE org_id = $1 AND member_id = $2 AND key = $3",
        )
        .bind(org_id)
        .bind(member_id)
        .bind(key)
        .fetch_optional(&mut *self.read().await?)
        .await?;
        Ok(row.map(|(request_hash, status, body)| StoredResponse {
            request_hash,
            status: u16::try_from(status).unwrap_or(200),
            body,
        }))
    }

    async fn import(&self, ctx: &Ctx, import: Import) -> Result<()> {
        let mut tx = self.begin().await?;
        insert_objectives(&mut tx, ctx.org_id, &import.objectives).await?;
        insert_key_results(&mut tx, ctx.org_id, &import.key_results).await?;
        insert_work_items(&mut tx, ctx.org_id, &import.work_items).await?;
        record(
            &mut tx,
            ctx,
            "import.completed",
            "org",
            Some(ctx.org_id),
            json!({
                "objectives": import.objectives.len(),
                "key_results": import.key_results.len(),
                "work_items": import.work_items.len(),
            }),
        )
        .await?;
        tx.commit().await?;
        // Fresh statistics, so the planner knows the new row counts at once.
        self.analyze().await?;
        Ok(())
    }
}

async fn insert_objectives(conn: &mut Conn, org_id: Uuid, objectives: &[Objective]) -> Result<()> {
    for chunk in objectives.chunks(IMPORT_PARAMS_PER_STATEMENT / 11) {
        let mut query = QueryBuilder::<Db>::new(
            "INSERT INTO objectives (id, org_id, title, why, owner_id, team_id, period_start, period_end, parent_id, status, created_at) ",
        );
        query.push_values(chunk, |mut row, o| {
            row.push_bind(o.id)
                .push_bind(org_id)
                .push_bind(o.title.clone())
                .push_bind(o.why.clone())
                .push_bind(o.owner_id)
                .push_bind(o.team_id)
                .push_bind(o.period_start)
                .push_bind(o.period_end)
                .push_bind(o.parent_id)
                .push_bind(o.status.as_str())
                .push_bind(o.created_at);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_key_results(
    conn: &mut Conn,
    org_id: Uuid,
    key_results: &[KeyResult],
) -> Result<()> {
    for chunk in key_results.chunks(IMPORT_PARAMS_PER_STATEMENT / 10) {
        let mut query = QueryBuilder::<Db>::new(
            "INSERT INTO key_results (id, org_id, objective_id, title, baseline, target, current, unit, confidence, updated_at) ",
        );
        query.push_values(chunk, |mut row, k| {
            row.push_bind(k.id)
                .push_bind(org_id)
                .push_bind(k.objective_id)
                .push_bind(k.title.clone())
                .push_bind(k.baseline)
                .push_bind(k.target)
                .push_bind(k.current)
                .push_bind(k.unit.clone())
                .push_bind(i64::from(k.confidence))
                .push_bind(k.updated_at);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn insert_work_items(conn: &mut Conn, org_id: Uuid, items: &[WorkItem]) -> Result<()> {
    for chunk in items.chunks(IMPORT_PARAMS_PER_STATEMENT / 16) {
        let mut query = QueryBuilder::<Db>::new(
            "INSERT INTO work_items (id, org_id, title, description, team_id, assignee_id, state, kind, priority, due, \
             parent_id, key_result_id, created_by, created_at, updated_at, state_since) ",
        );
        query.push_values(chunk, |mut row, w| {
            row.push_bind(w.id)
                .push_bind(org_id)
                .push_bind(w.title.clone())
                .push_bind(w.description.clone())
                .push_bind(w.team_id)
                .push_bind(w.assignee_id)
                .push_bind(w.state.as_str())
                .push_bind(w.kind.as_str())
                .push_bind(w.priority.as_str())
                .push_bind(w.due)
                .push_bind(w.parent_id)
                .push_bind(w.key_result_id)
                .push_bind(w.created_by)
                .push_bind(w.created_at)
                .push_bind(w.updated_at)
                .push_bind(w.state_since);
        });
        query.build().execute(&mut *conn).await?;
    }
    Ok(())
}
