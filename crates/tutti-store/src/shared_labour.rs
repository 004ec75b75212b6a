// The AI-labour store, shared by both backends like `shared.rs`, into whose
// module it is `include!`d after it (it uses its helpers). See `labour.rs` for
// the contract and its guarantees.

use chrono::NaiveDate;
use tutti_domain::labour::{
    Budget, BudgetScope, BudgetState, LedgerEntry, LedgerKind, Model, Provider, ProviderKind,
    Review, ReviewStats, Run, RunStatus, Tokens, Verdict, WorkOrderParts, crosses_warn_line,
    format_money, render_work_order, with_feedback,
};
use tutti_domain::org::MemberKind;
use tutti_domain::validate::BODY_MAX;
use tutti_domain::work::WorkState;

use crate::labour::{
    BudgetPatch, Charge, ClaimedRun, DEFAULT_RUN_MAX_TOKENS, EngineNode, LeaseState, LedgerFilter,
    LedgerGroup, LedgerLine, LedgerTotals, ModelRoute, NewBudget, NewModel, NewProvider, NewReview,
    Reservation, Reviewed, RunEnd, RunFilter, TokenHolder,
};

/// How many times a run is attempted before a lost lease fails it.
const RUN_MAX_ATTEMPTS: i64 = 3;
/// Reservations of runs are recovered through their run's lease, not by age.
const RUN_RESERVATION_HORIZON_DAYS: i64 = 3650;

/// What a call serves, for budgets and the ledger's roll-ups.
#[derive(Debug, Clone, Copy, Default)]
struct Dims {
    work_item_id: Option<Uuid>,
    key_result_id: Option<Uuid>,
    objective_id: Option<Uuid>,
    team_id: Option<Uuid>,
}

async fn load_run(conn: &mut Conn, org_id: Uuid, id: Uuid, lock: bool) -> Result<Run> {
    let row: RunRow = sqlx::query_as(&format!(
        "SELECT {RUN_COLUMNS} FROM runs WHERE id = $1 AND org_id = $2{}",
        if lock { FOR_UPDATE } else { "" }
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("run"))?;
    row.try_into()
}

/// The team, key result and objective a call is charged to: those of its
/// work item, or for a gateway call (no item) the worker's first team.
async fn dims_of(conn: &mut Conn, worker_id: Uuid, work_item_id: Option<Uuid>) -> Result<Dims> {
    if let Some(item) = work_item_id {
        let row: Option<(Option<Uuid>, Option<Uuid>, Option<Uuid>)> = sqlx::query_as(
            "SELECT w.team_id, w.key_result_id, k.objective_id FROM work_items w \
             LEFT JOIN key_results k ON k.id = w.key_result_id WHERE w.id = $1",
        )
        .bind(item)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some((team_id, key_result_id, objective_id)) = row {
            let team_id = match team_id {
                Some(team) => Some(team),
                None => first_team(conn, worker_id).await?,
            };
            return Ok(Dims {
                work_item_id,
                key_result_id,
                objective_id,
                team_id,
            });
        }
    }
    Ok(Dims {
        team_id: first_team(conn, worker_id).await?,
        ..Dims::default()
    })
}

async fn first_team(conn: &mut Conn, member_id: Uuid) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(FIRST_TEAM)
        .bind(member_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// A member's first team. Binds `$1` the member.
const FIRST_TEAM: &str =
    "SELECT team_id FROM team_members WHERE member_id = $1 ORDER BY team_id LIMIT 1";

/// The budgets that apply to a call, in id order, so concurrent reservations
/// lock their rows in the same order and cannot deadlock. Binds `$1` org,
/// `$2` worker, `$3` team, `$4` objective.
fn budgets_for_sql() -> String {
    format!(
        "SELECT {BUDGET_COLUMNS} FROM budgets WHERE org_id = $1 AND (scope = 'org' \
         OR (scope = 'worker' AND scope_id = $2) OR (scope = 'team' AND scope_id = $3) \
         OR (scope = 'objective' AND scope_id = $4)) ORDER BY id"
    )
}

async fn budgets_for(
    conn: &mut Conn,
    org_id: Uuid,
    worker_id: Uuid,
    dims: Dims,
) -> Result<Vec<Budget>> {
    let rows: Vec<BudgetRow> = sqlx::query_as(&budgets_for_sql())
        .bind(org_id)
        .bind(worker_id)
        .bind(dims.team_id)
        .bind(dims.objective_id)
        .fetch_all(&mut *conn)
        .await?;
    rows.into_iter().map(TryInto::try_into).collect()
}

/// What a charge reserves: its prompt and all of `max_tokens`, and that priced.
fn worst_case(charge: &Charge) -> Result<(Tokens, i64)> {
    if charge.input_tokens < 0 || charge.max_output_tokens < 1 {
        return Err(StoreError::invalid("max_tokens", "must be at least 1"));
    }
    let reserved = Tokens {
        input: charge.input_tokens,
        cached_input: 0,
        output: charge.max_output_tokens,
    };
    Ok((
        reserved,
        charge.prices.worst_case(reserved.input, reserved.output),
    ))
}

/// Raises a budget's use in its window by a call's worst case in one upsert;
/// for a hard budget only while the use stays within its limits (a fresh
/// window is checked by [`alone_too_big`]). Binds `$1` tokens, `$2` cost,
/// `$3` budget, `$4` window start, `$5` token limit, `$6` cost limit; returns
/// the use after it, or no row when a limit refused.
fn raise_usage_sql(budget: &Budget) -> String {
    let mut upsert = String::from(
        "INSERT INTO budget_usage (budget_id, window_start, tokens, cost, warned) VALUES ($3, $4, $1, $2, FALSE) \
         ON CONFLICT (budget_id, window_start) DO UPDATE SET tokens = budget_usage.tokens + excluded.tokens, \
         cost = budget_usage.cost + excluded.cost",
    );
    let mut conditions = Vec::new();
    if budget.hard && budget.token_limit.is_some() {
        conditions.push("budget_usage.tokens + excluded.tokens <= $5");
    }
    if budget.hard && budget.cost_limit.is_some() {
        conditions.push("budget_usage.cost + excluded.cost <= $6");
    }
    if !conditions.is_empty() {
        upsert.push_str(" WHERE ");
        upsert.push_str(&conditions.join(" AND "));
    }
    upsert.push_str(" RETURNING tokens, cost, warned");
    upsert
}

/// Whether a hard budget could not hold the call even with nothing else in it.
fn alone_too_big(budget: &Budget, reserved: Tokens, cost: i64) -> bool {
    budget.hard
        && (budget.token_limit.is_some_and(|l| reserved.total() > l)
            || budget.cost_limit.is_some_and(|l| cost > l))
}

/// A budget's use in a window. Binds `$1` budget, `$2` window start.
const USAGE_OF: &str =
    "SELECT tokens, cost FROM budget_usage WHERE budget_id = $1 AND window_start = $2";

/// The refusal of a call that `budget` (using `used` tokens and cost) has no room for.
fn budget_refusal(
    budget: &Budget,
    (tokens, used_cost): (i64, i64),
    reserved: Tokens,
    cost: i64,
) -> StoreError {
    let mut limits = Vec::new();
    if let Some(limit) = budget.token_limit {
        limits.push(format!("{tokens} of {limit} tokens used"));
    }
    if let Some(limit) = budget.cost_limit {
        limits.push(format!(
            "{} of {} spent",
            format_money(used_cost),
            format_money(limit)
        ));
    }
    StoreError::BudgetRefused {
        budget_id: budget.id,
        message: format!(
            "budget \"{}\" ({} {}, {}) has no room for this call: {}; the call needs up to {} tokens ({})",
            budget.name,
            budget.scope,
            budget.period,
            if budget.hard { "hard" } else { "soft" },
            limits.join(", "),
            reserved.total(),
            format_money(cost),
        ),
    }
}

/// The `budget.warned` payload when this reservation, raising the window's
/// use to `raised`, is the first to cross the budget's warn line.
fn budget_warning(
    budget: &Budget,
    window: NaiveDate,
    reserved: Tokens,
    cost: i64,
    raised: (i64, i64, bool),
) -> Option<serde_json::Value> {
    let (tokens, used_cost, warned) = raised;
    let crossed = crosses_warn_line(
        budget.token_limit,
        budget.warn_percent,
        tokens - reserved.total(),
        tokens,
    ) || crosses_warn_line(
        budget.cost_limit,
        budget.warn_percent,
        used_cost - cost,
        used_cost,
    );
    (crossed && !warned).then(|| json!({ "budget": budget, "window_start": window, "used_tokens": tokens, "used_cost": used_cost }))
}

/// Binds `$1` budget, `$2` window start.
const MARK_WARNED: &str =
    "UPDATE budget_usage SET warned = TRUE WHERE budget_id = $1 AND window_start = $2";

const INSERT_RESERVATION: &str = "INSERT INTO reservations (id, org_id, worker_id, run_id, provider, model, input_price, \
    cached_input_price, output_price, input_tokens, output_tokens, cost, seen_output_tokens, is_open, expires_at, created_at, \
    work_item_id, key_result_id, objective_id, team_id) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, TRUE, $13, $14, $15, $16, $17, $18)";

/// Holds of a reservation on its budgets' windows, as many as the `VALUES`
/// that follow name (reservation, budget, window start).
const INSERT_HOLDS: &str = "INSERT INTO budget_holds (reservation_id, budget_id, window_start) ";

/// Opens a reservation: raises every applicable budget by the worst case
/// (refusing if a hard one has no room), and writes the reservation, its
/// holds and the ledger's `reserve` entry. Runs inside the caller's
/// transaction, so a refusal leaves nothing behind.
///
/// The budgets are raised last. On PostgreSQL a raise locks the budget's
/// usage row until the commit, and every concurrent call on that budget
/// waits for it; raised last, the lock is held for the raises and the
/// commit only, not for the writes before them.
async fn open_reservation(
    conn: &mut Conn,
    ctx: &Ctx,
    charge: &Charge,
    dims: Dims,
) -> Result<Reservation> {
    let (reserved, cost) = worst_case(charge)?;
    let id = Uuid::now_v7();
    let budgets = budgets_for(&mut *conn, ctx.org_id, charge.worker_id, dims).await?;
    sqlx::query(INSERT_RESERVATION)
        .bind(id)
        .bind(ctx.org_id)
        .bind(charge.worker_id)
        .bind(charge.run_id)
        .bind(&charge.route_provider)
        .bind(&charge.route_model)
        .bind(charge.prices.input)
        .bind(charge.prices.cached_input)
        .bind(charge.prices.output)
        .bind(reserved.input)
        .bind(reserved.output)
        .bind(cost)
        .bind(charge.expires_at)
        .bind(ctx.now)
        .bind(dims.work_item_id)
        .bind(dims.key_result_id)
        .bind(dims.objective_id)
        .bind(dims.team_id)
        .execute(&mut *conn)
        .await?;
    if !budgets.is_empty() {
        let mut insert = QueryBuilder::<Db>::new(INSERT_HOLDS);
        insert.push_values(&budgets, |mut row, budget| {
            row.push_bind(id)
                .push_bind(budget.id)
                .push_bind(budget.period.window_start(ctx.now));
        });
        insert.build().execute(&mut *conn).await?;
    }
    let entry = LedgerWrite::for_charge(id, charge, dims);
    entry
        .write(&mut *conn, ctx, &[(LedgerKind::Reserve, reserved, cost)])
        .await?;
    let mut warnings = Vec::new();
    for budget in budgets {
        let window = budget.period.window_start(ctx.now);
        let raised: Option<(i64, i64, bool)> = if alone_too_big(&budget, reserved, cost) {
            None
        } else {
            sqlx::query_as(&raise_usage_sql(&budget))
                .bind(reserved.total())
                .bind(cost)
                .bind(budget.id)
                .bind(window)
                .bind(budget.token_limit.unwrap_or(0))
                .bind(budget.cost_limit.unwrap_or(0))
                .fetch_optional(&mut *conn)
                .await?
        };
        let Some(raised) = raised else {
            let used = sqlx::query_as(USAGE_OF)
                .bind(budget.id)
                .bind(window)
                .fetch_optional(&mut *conn)
                .await?;
            return Err(budget_refusal(
                &budget,
                used.unwrap_or((0, 0)),
                reserved,
                cost,
            ));
        };
        if let Some(warning) = budget_warning(&budget, window, reserved, cost, raised) {
            sqlx::query(MARK_WARNED)
                .bind(budget.id)
                .bind(window)
                .execute(&mut *conn)
                .await?;
            warnings.push((budget.id, warning));
        }
    }
    for (budget_id, warning) in warnings {
        record(
            &mut *conn,
            ctx,
            "budget.warned",
            "budget",
            Some(budget_id),
            warning,
        )
        .await?;
    }
    Ok(Reservation { id, reserved, cost })
}

/// Ledger entries, as many as the `VALUES` that follow name (17 columns each).
const INSERT_LEDGER_ENTRIES: &str = "INSERT INTO ledger_entries (id, org_id, reservation_id, kind, worker_id, run_id, \
    work_item_id, key_result_id, objective_id, team_id, provider, model, input_tokens, cached_input_tokens, output_tokens, \
    cost, at) ";

/// One reservation's ledger rows share who, what for and which model.
struct LedgerWrite<'a> {
    reservation_id: Uuid,
    worker_id: Uuid,
    run_id: Option<Uuid>,
    dims: Dims,
    provider: &'a str,
    model: &'a str,
}

impl<'a> LedgerWrite<'a> {
    fn for_charge(reservation_id: Uuid, charge: &'a Charge, dims: Dims) -> Self {
        LedgerWrite {
            reservation_id,
            worker_id: charge.worker_id,
            run_id: charge.run_id,
            dims,
            provider: &charge.route_provider,
            model: &charge.route_model,
        }
    }

    /// Writes entries of this reservation, in one statement.
    async fn write(
        &self,
        conn: &mut Conn,
        ctx: &Ctx,
        entries: &[(LedgerKind, Tokens, i64)],
    ) -> Result<()> {
        let mut insert = QueryBuilder::<Db>::new(INSERT_LEDGER_ENTRIES);
        insert.push_values(entries, |mut row, (kind, tokens, cost)| {
            row.push_bind(Uuid::now_v7())
                .push_bind(ctx.org_id)
                .push_bind(self.reservation_id)
                .push_bind(kind.as_str())
                .push_bind(self.worker_id)
                .push_bind(self.run_id)
                .push_bind(self.dims.work_item_id)
                .push_bind(self.dims.key_result_id)
                .push_bind(self.dims.objective_id)
                .push_bind(self.dims.team_id)
                .push_bind(self.provider.to_owned())
                .push_bind(self.model.to_owned())
                .push_bind(tokens.input)
                .push_bind(tokens.cached_input)
                .push_bind(tokens.output)
                .push_bind(*cost)
                .push_bind(ctx.now);
        });
        insert.build().execute(&mut *conn).await.map_err(|e| {
            StoreError::conflict_on_unique(e, || {
                format!("reservation {} is already settled", self.reservation_id)
            })
        })?;
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct ReservationRow {
    worker_id: Uuid,
    run_id: Option<Uuid>,
    work_item_id: Option<Uuid>,
    key_result_id: Option<Uuid>,
    objective_id: Option<Uuid>,
    team_id: Option<Uuid>,
    provider: String,
    model: String,
    input_price: i64,
    cached_input_price: i64,
    output_price: i64,
    input_tokens: i64,
    output_tokens: i64,
    cost: i64,
}

/// Closes a reservation once; returns it, or no row when it is not open.
/// Binds `$1` reservation, `$2` org.
const CLOSE_RESERVATION: &str = "UPDATE reservations SET is_open = FALSE WHERE id = $1 AND org_id = $2 AND is_open \
    RETURNING worker_id, run_id, work_item_id, key_result_id, objective_id, team_id, provider, model, \
    input_price, cached_input_price, output_price, input_tokens, output_tokens, cost";

/// Gives a closed reservation's released part back to every budget it held.
/// Binds `$1` tokens, `$2` cost, `$3` reservation.
const RELEASE_HOLDS: &str = "UPDATE budget_usage SET tokens = tokens - $1, cost = cost - $2 \
    WHERE (budget_id, window_start) IN (SELECT budget_id, window_start FROM budget_holds WHERE reservation_id = $3)";

/// How a reservation ends: what is settled (the use, capped to what was
/// reserved) and what is released (the rest), with their costs.
struct Settlement {
    settled: Tokens,
    settled_cost: i64,
    released: Tokens,
    released_cost: i64,
}

impl ReservationRow {
    fn settlement(&self, used: Tokens) -> Settlement {
        let reserved = Tokens {
            input: self.input_tokens,
            cached_input: 0,
            output: self.output_tokens,
        };
        let prices = tutti_domain::labour::Prices {
            input: self.input_price,
            cached_input: self.cached_input_price,
            output: self.output_price,
        };
        let settled = Tokens {
            input: used.input.max(0),
            cached_input: used.cached_input.max(0),
            output: used.output.max(0),
        }
        .capped_to(reserved);
        let settled_cost = prices.cost(settled).min(self.cost);
        Settlement {
            settled,
            settled_cost,
            released: reserved.minus(settled),
            released_cost: self.cost - settled_cost,
        }
    }

    fn dims(&self) -> Dims {
        Dims {
            work_item_id: self.work_item_id,
            key_result_id: self.key_result_id,
            objective_id: self.objective_id,
            team_id: self.team_id,
        }
    }

    fn ledger_write(&self, reservation_id: Uuid) -> LedgerWrite<'_> {
        LedgerWrite {
            reservation_id,
            worker_id: self.worker_id,
            run_id: self.run_id,
            dims: self.dims(),
            provider: &self.provider,
            model: &self.model,
        }
    }
}

/// Settles an open reservation exactly once: `settle` for the use (capped to
/// the reservation), `release` for the rest, and gives the released part back
/// to every budget it held. Returns what was settled and its cost.
async fn close_reservation(
    conn: &mut Conn,
    ctx: &Ctx,
    reservation_id: Uuid,
    used: Tokens,
) -> Result<(Tokens, i64)> {
    let row: ReservationRow = sqlx::query_as(CLOSE_RESERVATION)
        .bind(reservation_id)
        .bind(ctx.org_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| not_open(reservation_id))?;
    let Settlement {
        settled,
        settled_cost,
        released,
        released_cost,
    } = row.settlement(used);
    row.ledger_write(reservation_id)
        .write(
            &mut *conn,
            ctx,
            &[
                (LedgerKind::Settle, settled, settled_cost),
                (LedgerKind::Release, released, released_cost),
            ],
        )
        .await?;
    sqlx::query(RELEASE_HOLDS)
        .bind(released.total())
        .bind(released_cost)
        .bind(reservation_id)
        .execute(&mut *conn)
        .await?;
    Ok((settled, settled_cost))
}

fn not_open(reservation_id: Uuid) -> StoreError {
    StoreError::Conflict(format!("reservation {reservation_id} is not open"))
}

/// Moves a work item as a run's life asks, when that is still a legal move
/// (a person may have moved it meanwhile). Returns the state it is in.
async fn move_item(
    conn: &mut Conn,
    ctx: &Ctx,
    id: Uuid,
    to: WorkState,
    unassign: bool,
) -> Result<WorkState> {
    let item = load_work_item(&mut *conn, ctx.org_id, id, true).await?;
    if item.state == to || item.state.transition(to).is_err() {
        return Ok(item.state);
    }
    let assignee = if unassign { None } else { item.assignee_id };
    sqlx::query("UPDATE work_items SET state = $1, assignee_id = $2, updated_at = $3, state_since = $3 WHERE id = $4")
        .bind(to.as_str())
        .bind(assignee)
        .bind(ctx.now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(to)
}

/// Renders and inserts the next run of a work item by its AI assignee.
async fn insert_run(
    conn: &mut Conn,
    ctx: &Ctx,
    item: &tutti_domain::work::WorkItem,
    max_tokens: i64,
    previous: Option<(&Run, &str)>,
) -> Result<Run> {
    if item.state.is_final() {
        return Err(StoreError::invalid(
            "state",
            format!("the item is {}; a final item is not run", item.state),
        ));
    }
    let worker_id = item.assignee_id.ok_or_else(|| {
        StoreError::invalid(
            "assignee_id",
            "the item has no assignee; assign it to an AI worker first",
        )
    })?;
    let worker = load_member(&mut *conn, ctx.org_id, worker_id).await?;
    if worker.kind != MemberKind::Ai {
        return Err(StoreError::invalid(
            "assignee_id",
            format!(
                "the item is assigned to {}, a person; only AI workers run work orders",
                worker.name
            ),
        ));
    }
    if !(1..=32_768).contains(&max_tokens) {
        return Err(StoreError::invalid(
            "max_tokens",
            "must be between 1 and 32768",
        ));
    }
    let active: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM runs WHERE work_item_id = $1 AND status IN ('queued', 'running')",
    )
    .bind(item.id)
    .fetch_one(&mut *conn)
    .await?;
    if active > 0 {
        return Err(StoreError::Conflict(
            "the item already has a run queued or running".into(),
        ));
    }
    let iteration: Option<i64> =
        sqlx::query_scalar("SELECT MAX(iteration) FROM runs WHERE work_item_id = $1")
            .bind(item.id)
            .fetch_one(&mut *conn)
            .await?;
    let iteration = iteration.unwrap_or(0) + 1;
    let work_order = match previous {
        Some((run, feedback)) => with_feedback(&run.work_order, run.iteration, feedback),
        None => {
            let key_result = match item.key_result_id {
                Some(id) => Some(load_key_result(&mut *conn, ctx.org_id, id, false).await?),
                None => None,
            };
            let objective = match &key_result {
                Some(kr) => {
                    Some(load_objective(&mut *conn, ctx.org_id, kr.objective_id, false).await?)
                }
                None => None,
            };
            let principles = space_principles(
                &mut *conn,
                ctx.org_id,
                item.team_id,
                objective.as_ref().map(|o| o.id),
            )
            .await?;
            render_work_order(&WorkOrderParts {
                title: &item.title,
                description: &item.description,
                priority: item.priority.as_str(),
                due: item.due,
                key_result: key_result.as_ref().map(|k| k.title.as_str()),
                objective: objective.as_ref().map(|o| o.title.as_str()),
                why: objective.as_ref().map(|o| o.why.as_str()),
                principles: &principles,
            })
        }
    };
    let role_card = worker
        .role_card
        .clone()
        .unwrap_or_else(|| format!("You are {}, an AI worker in the team. Do the task you are given carefully and say plainly what you did.", worker.name));
    let run = Run {
        id: Uuid::now_v7(),
        work_item_id: item.id,
        worker_id,
        iteration,
        status: RunStatus::Queued,
        role_card,
        work_order,
        output: String::new(),
        provider: None,
        model: None,
        attempts: 0,
        max_attempts: RUN_MAX_ATTEMPTS,
        max_tokens,
        tokens: Tokens::default(),
        cost: 0,
        error: None,
        cancel_requested: false,
        created_at: ctx.now,
        started_at: None,
        finished_at: None,
    };
    sqlx::query(
        "INSERT INTO runs (id, org_id, work_item_id, worker_id, iteration, status, role_card, work_order, output, \
         attempts, max_attempts, max_tokens, cancel_requested, input_tokens, cached_input_tokens, output_tokens, cost, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, 'queued', $6, $7, '', 0, $8, $9, FALSE, 0, 0, 0, 0, $10, $11)",
    )
    .bind(run.id)
    .bind(ctx.org_id)
    .bind(run.work_item_id)
    .bind(run.worker_id)
    .bind(run.iteration)
    .bind(&run.role_card)
    .bind(&run.work_order)
    .bind(run.max_attempts)
    .bind(run.max_tokens)
    .bind(ctx.actor_id)
    .bind(ctx.now)
    .execute(&mut *conn)
    .await?;
    record(
        &mut *conn,
        ctx,
        "run.queued",
        "run",
        Some(run.id),
        json!({ "run": run_summary(&run) }),
    )
    .await?;
    Ok(run)
}

/// Queues a run when an item becomes `ready` in the hands of an AI worker:
/// created so, assigned to one while ready, or moved to ready while assigned.
/// `before` is the assignee and state before the change (none for a new item).
async fn queue_when_ready_for_ai(
    conn: &mut Conn,
    ctx: &Ctx,
    item: &tutti_domain::work::WorkItem,
    before: Option<(Option<Uuid>, WorkState)>,
) -> Result<()> {
    let Some(assignee) = item.assignee_id else {
        return Ok(());
    };
    if item.state != WorkState::Ready || before == Some((Some(assignee), WorkState::Ready)) {
        return Ok(());
    }
    let kind: String = sqlx::query_scalar("SELECT kind FROM members WHERE id = $1")
        .bind(assignee)
        .fetch_one(&mut *conn)
        .await?;
    let active: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM runs WHERE work_item_id = $1 AND status IN ('queued', 'running')",
    )
    .bind(item.id)
    .fetch_one(&mut *conn)
    .await?;
    if kind == MemberKind::Ai.as_str() && active == 0 {
        insert_run(conn, ctx, item, DEFAULT_RUN_MAX_TOKENS, None).await?;
    }
    Ok(())
}

/// A run for the audit log: without the long texts, which the run keeps.
fn run_summary(run: &Run) -> serde_json::Value {
    json!({
        "id": run.id, "work_item_id": run.work_item_id, "worker_id": run.worker_id, "iteration": run.iteration,
        "status": run.status, "attempts": run.attempts, "provider": run.provider, "model": run.model,
        "tokens": run.tokens, "cost": run.cost, "error": run.error,
    })
}

/// The org and worker of a run, for engine calls that come without a ctx.
async fn run_owner(conn: &mut Conn, run_id: Uuid) -> Result<(Uuid, Uuid)> {
    sqlx::query_as("SELECT org_id, worker_id FROM runs WHERE id = $1")
        .bind(run_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::not_found("run"))
}

#[derive(sqlx::FromRow)]
struct ExpiredRun {
    id: Uuid,
    org_id: Uuid,
    worker_id: Uuid,
    reservation_id: Option<Uuid>,
    lease_owner: Option<String>,
}

#[derive(sqlx::FromRow)]
struct RouteRow {
    provider: String,
    kind: String,
    base_url: Option<String>,
    api_key_env: Option<String>,
    api_key: Option<String>,
    model: String,
    input_price: i64,
    cached_input_price: i64,
    output_price: i64,
}

/// How a run's attempt ends.
struct Ending {
    status: RunStatus,
    output: String,
    used: Tokens,
    error: Option<String>,
}

/// Ends a running run: settles its open reservation, writes its new state,
/// moves its item and records the change.
async fn finish_run(
    conn: &mut Conn,
    ctx: &Ctx,
    mut run: Run,
    reservation_id: Option<Uuid>,
    ending: Ending,
) -> Result<Run> {
    let Ending {
        status,
        output,
        used,
        error,
    } = ending;
    if let Some(reservation) = reservation_id {
        let (settled, cost) = close_reservation(&mut *conn, ctx, reservation, used).await?;
        run.tokens = Tokens {
            input: run.tokens.input + settled.input,
            cached_input: run.tokens.cached_input + settled.cached_input,
            output: run.tokens.output + settled.output,
        };
        run.cost += cost;
    }
    run.status = status;
    run.output = output;
    run.error = error;
    let requeued = status == RunStatus::Queued;
    if !requeued {
        run.finished_at = Some(ctx.now);
    }
    sqlx::query(
        "UPDATE runs SET status = $1, output = $2, error = $3, input_tokens = $4, cached_input_tokens = $5, \
         output_tokens = $6, cost = $7, finished_at = $8, lease_owner = NULL, lease_expires_at = NULL, \
         reservation_id = NULL WHERE id = $9",
    )
    .bind(status.as_str())
    .bind(&run.output)
    .bind(&run.error)
    .bind(run.tokens.input)
    .bind(run.tokens.cached_input)
    .bind(run.tokens.output)
    .bind(run.cost)
    .bind(run.finished_at)
    .bind(run.id)
    .execute(&mut *conn)
    .await?;
    let item_state = match status {
        RunStatus::Succeeded => Some(
            move_item(
                &mut *conn,
                ctx,
                run.work_item_id,
                WorkState::InReview,
                false,
            )
            .await?,
        ),
        RunStatus::Failed => {
            Some(move_item(&mut *conn, ctx, run.work_item_id, WorkState::Blocked, false).await?)
        }
        RunStatus::Cancelled => {
            Some(move_item(&mut *conn, ctx, run.work_item_id, WorkState::Ready, false).await?)
        }
        RunStatus::Queued | RunStatus::Running => None,
    };
    let action = if requeued {
        "run.requeued".to_string()
    } else {
        format!("run.{status}")
    };
    record(
        &mut *conn,
        ctx,
        &action,
        "run",
        Some(run.id),
        json!({ "run": run_summary(&run), "work_item_state": item_state }),
    )
    .await?;
    Ok(run)
}

impl crate::labour::Labour for This {
    async fn create_provider(&self, ctx: &Ctx, new: NewProvider) -> Result<Provider> {
        let name = text("name", &new.name, TITLE_MAX)?;
        match new.kind {
            ProviderKind::Openai => {
                let url = new.base_url.as_deref().unwrap_or_default();
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(StoreError::invalid(
                        "base_url",
                        "an openai provider needs a base_url starting with http:// or https://",
                    ));
                }
            }
            ProviderKind::Embedded => {
                if new.base_url.is_some() || new.api_key.is_some() || new.api_key_env.is_some() {
                    return Err(StoreError::invalid(
                        "base_url",
                        "the embedded provider takes no base_url and no key",
                    ));
                }
            }
        }
        if let Some(env) = &new.api_key_env
            && (env.is_empty() || !env.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(StoreError::invalid(
                "api_key_env",
                "must be the name of an environment variable (letters, digits, _)",
            ));
        }
        let mut tx = self.begin().await?;
        let provider = Provider {
            id: Uuid::now_v7(),
            name,
            kind: new.kind,
            base_url: new.base_url,
            api_key_env: new.api_key_env,
            has_stored_key: new.api_key.is_some(),
            models: Vec::new(),
            created_at: ctx.now,
        };
        sqlx::query(
            "INSERT INTO providers (id, org_id, name, kind, base_url, api_key_env, api_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(provider.id)
        .bind(ctx.org_id)
        .bind(&provider.name)
        .bind(provider.kind.as_str())
        .bind(&provider.base_url)
        .bind(&provider.api_key_env)
        .bind(&new.api_key)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, || format!("a provider named {} already exists", provider.name)))?;
        record(
            &mut tx,
            ctx,
            "provider.created",
            "provider",
            Some(provider.id),
            json!({ "provider": provider }),
        )
        .await?;
        finish(tx, ctx, 201, &provider).await?;
        Ok(provider)
    }

    async fn providers(&self, org_id: Uuid) -> Result<Vec<Provider>> {
        let mut conn = self.read().await?;
        let rows: Vec<ProviderRow> = sqlx::query_as(
            "SELECT id, name, kind, base_url, api_key_env, api_key IS NOT NULL AS has_stored_key, created_at \
             FROM providers WHERE org_id = $1 ORDER BY id",
        )
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let models: Vec<ModelRow> = sqlx::query_as(
            "SELECT id, provider_id, name, input_price, cached_input_price, output_price FROM models WHERE org_id = $1 ORDER BY name",
        )
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut by_provider: HashMap<Uuid, Vec<Model>> = HashMap::new();
        for model in models {
            by_provider
                .entry(model.provider_id)
                .or_default()
                .push(model.into());
        }
        rows.into_iter()
            .map(|row| {
                let models = by_provider.remove(&row.id).unwrap_or_default();
                row.into_provider(models)
            })
            .collect()
    }

    async fn put_model(&self, ctx: &Ctx, provider_id: Uuid, new: NewModel) -> Result<Model> {
        let name = text("name", &new.name, TITLE_MAX)?;
        let prices = new.prices.check()?;
        let mut tx = self.begin().await?;
        require(
            &mut tx,
            "providers",
            ctx.org_id,
            Some(provider_id),
            "provider_id",
            "provider",
        )
        .await
        .map_err(|_| StoreError::not_found("provider"))?;
        let existing: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM models WHERE provider_id = $1 AND name = $2")
                .bind(provider_id)
                .bind(&name)
                .fetch_optional(&mut *tx)
                .await?;
        let model = Model {
            id: existing.unwrap_or_else(Uuid::now_v7),
            provider_id,
            name,
            prices,
        };
        if existing.is_some() {
            sqlx::query("UPDATE models SET input_price = $1, cached_input_price = $2, output_price = $3 WHERE id = $4")
                .bind(prices.input)
                .bind(prices.cached_input)
                .bind(prices.output)
                .bind(model.id)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query(
                "INSERT INTO models (id, org_id, provider_id, name, input_price, cached_input_price, output_price, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(model.id)
            .bind(ctx.org_id)
            .bind(provider_id)
            .bind(&model.name)
            .bind(prices.input)
            .bind(prices.cached_input)
            .bind(prices.output)
            .bind(ctx.now)
            .execute(&mut *tx)
            .await?;
        }
        record(
            &mut tx,
            ctx,
            "model.priced",
            "provider",
            Some(provider_id),
            json!({ "model": model }),
        )
        .await?;
        tx.commit().await?;
        Ok(model)
    }

    async fn route(&self, org_id: Uuid, provider: &str, model: &str) -> Result<ModelRoute> {
        self.route_of(org_id, provider, model).await
    }

    async fn token_holder(&self, token_hash: &str) -> Result<Option<TokenHolder>> {
        self.token_holder_of(token_hash).await
    }

    async fn models(&self, org_id: Uuid) -> Result<Vec<(String, Model)>> {
        let rows: Vec<(String, Uuid, Uuid, String, i64, i64, i64)> = sqlx::query_as(
            "SELECT p.name, m.id, m.provider_id, m.name, m.input_price, m.cached_input_price, m.output_price \
             FROM models m JOIN providers p ON p.id = m.provider_id WHERE m.org_id = $1 ORDER BY p.name, m.name",
        )
        .bind(org_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(provider, id, provider_id, name, input, cached_input, output)| {
                    let prices = tutti_domain::labour::Prices {
                        input,
                        cached_input,
                        output,
                    };
                    (
                        provider,
                        Model {
                            id,
                            provider_id,
                            name,
                            prices,
                        },
                    )
                },
            )
            .collect())
    }

    async fn create_budget(&self, ctx: &Ctx, new: NewBudget) -> Result<Budget> {
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
        let mut tx = self.begin().await?;
        let (table, what) = match budget.scope {
            BudgetScope::Org => ("orgs", "org"),
            BudgetScope::Team => ("teams", "team"),
            BudgetScope::Objective => ("objectives", "objective"),
            BudgetScope::Worker => ("members", "member"),
        };
        if budget.scope != BudgetScope::Org {
            require(
                &mut tx,
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
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            ctx,
            "budget.created",
            "budget",
            Some(budget.id),
            json!({ "budget": budget }),
        )
        .await?;
        finish(tx, ctx, 201, &budget).await?;
        Ok(budget)
    }

    async fn update_budget(&self, ctx: &Ctx, id: Uuid, patch: BudgetPatch) -> Result<Budget> {
        let mut tx = self.begin().await?;
        let mut budget = lock_budget(&mut tx, ctx.org_id, id).await?;
        if let Some(name) = patch.name {
            budget.name = text("name", &name, TITLE_MAX)?;
        }
        budget.token_limit = patch.token_limit.unwrap_or(budget.token_limit);
        budget.cost_limit = patch.cost_limit.unwrap_or(budget.cost_limit);
        budget.warn_percent = patch.warn_percent.unwrap_or(budget.warn_percent);
        budget.hard = patch.hard.unwrap_or(budget.hard);
        budget.check()?;
        sqlx::query(
            "UPDATE budgets SET name = $1, token_limit = $2, cost_limit = $3, warn_percent = $4, hard = $5 WHERE id = $6",
        )
        .bind(&budget.name)
        .bind(budget.token_limit)
        .bind(budget.cost_limit)
        .bind(budget.warn_percent)
        .bind(budget.hard)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            ctx,
            "budget.updated",
            "budget",
            Some(id),
            json!({ "budget": budget }),
        )
        .await?;
        tx.commit().await?;
        Ok(budget)
    }

    async fn delete_budget(&self, ctx: &Ctx, id: Uuid) -> Result<()> {
        let mut tx = self.begin().await?;
        let budget = lock_budget(&mut tx, ctx.org_id, id).await?;
        let open: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM budget_holds h JOIN reservations r ON r.id = h.reservation_id \
             WHERE h.budget_id = $1 AND r.is_open",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if open > 0 {
            return Err(StoreError::Conflict(format!(
                "the budget holds {open} open reservation(s) of calls still running; delete it once they have settled"
            )));
        }
        for table in ["budget_holds", "budget_usage"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE budget_id = $1"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM budgets WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                StoreError::conflict_on_foreign_key(e, || {
                    "a call reserved against the budget meanwhile; try again once it has settled"
                        .to_owned()
                })
            })?;
        record(
            &mut tx,
            ctx,
            "budget.deleted",
            "budget",
            Some(id),
            json!({ "budget": budget }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn budget(&self, org_id: Uuid, id: Uuid) -> Result<Budget> {
        let row: BudgetRow = sqlx::query_as(&format!(
            "SELECT {BUDGET_COLUMNS} FROM budgets WHERE id = $1 AND org_id = $2"
        ))
        .bind(id)
        .bind(org_id)
        .fetch_optional(&mut *self.read().await?)
        .await?
        .ok_or(StoreError::not_found("budget"))?;
        row.try_into()
    }

    async fn budgets(&self, org_id: Uuid, now: DateTime<Utc>) -> Result<Vec<BudgetState>> {
        let mut conn = self.read().await?;
        let rows: Vec<BudgetRow> = sqlx::query_as(&format!(
            "SELECT {BUDGET_COLUMNS} FROM budgets WHERE org_id = $1 ORDER BY id"
        ))
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let usage: Vec<(Uuid, NaiveDate, i64, i64)> = sqlx::query_as(
            "SELECT u.budget_id, u.window_start, u.tokens, u.cost FROM budget_usage u \
             JOIN budgets b ON b.id = u.budget_id WHERE b.org_id = $1",
        )
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let usage: HashMap<(Uuid, NaiveDate), (i64, i64)> = usage
            .into_iter()
            .map(|(id, window, tokens, cost)| ((id, window), (tokens, cost)))
            .collect();
        rows.into_iter()
            .map(|row| {
                let budget: Budget = row.try_into()?;
                let window_start = budget.period.window_start(now);
                let (used_tokens, used_cost) = usage
                    .get(&(budget.id, window_start))
                    .copied()
                    .unwrap_or((0, 0));
                let state = budget.state_of(used_tokens, used_cost).to_string();
                Ok(BudgetState {
                    budget,
                    window_start,
                    used_tokens,
                    used_cost,
                    state,
                })
            })
            .collect()
    }

    async fn queue_run(&self, ctx: &Ctx, work_item_id: Uuid, max_tokens: i64) -> Result<Run> {
        let mut tx = self.begin().await?;
        let item = load_work_item(&mut tx, ctx.org_id, work_item_id, true).await?;
        let run = insert_run(&mut tx, ctx, &item, max_tokens, None).await?;
        finish(tx, ctx, 201, &run).await?;
        Ok(run)
    }

    async fn run(&self, org_id: Uuid, id: Uuid) -> Result<Run> {
        load_run(&mut *self.read().await?, org_id, id, false).await
    }

    async fn runs(&self, org_id: Uuid, filter: &RunFilter, page: PageRequest) -> Result<Page<Run>> {
        let mut query =
            QueryBuilder::<Db>::new(format!("SELECT {RUN_COLUMNS} FROM runs WHERE org_id = "));
        query.push_bind(org_id);
        if let Some(status) = filter.status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(item) = filter.work_item_id {
            query.push(" AND work_item_id = ").push_bind(item);
        }
        if let Some(worker) = filter.worker_id {
            query.push(" AND worker_id = ").push_bind(worker);
        }
        push_page(&mut query, page);
        let rows: Vec<RunRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let runs = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<Run>>>()?;
        Ok(page_of(runs, page, |r: &Run| r.id.to_string()))
    }

    async fn cancel_run(&self, ctx: &Ctx, id: Uuid) -> Result<Run> {
        let mut tx = self.begin().await?;
        let mut run = load_run(&mut tx, ctx.org_id, id, true).await?;
        match run.status {
            RunStatus::Queued => {
                run = finish_run(
                    &mut tx,
                    ctx,
                    run,
                    None,
                    Ending {
                        status: RunStatus::Cancelled,
                        output: String::new(),
                        used: Tokens::default(),
                        error: None,
                    },
                )
                .await?;
            }
            RunStatus::Running => {
                sqlx::query("UPDATE runs SET cancel_requested = TRUE WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                run.cancel_requested = true;
                record(
                    &mut tx,
                    ctx,
                    "run.cancel_requested",
                    "run",
                    Some(id),
                    json!({ "run": run_summary(&run) }),
                )
                .await?;
            }
            status => {
                return Err(StoreError::Conflict(format!(
                    "the run is {status} already; only queued or running runs can be cancelled"
                )));
            }
        }
        tx.commit().await?;
        Ok(run)
    }

    async fn announce_node(
        &self,
        node: &EngineNode,
        now: DateTime<Utc>,
        seen_until: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO engine_nodes (name, embedded_model, seen_until) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET embedded_model = excluded.embedded_model, seen_until = excluded.seen_until",
        )
        .bind(&node.name)
        .bind(node.embedded_model)
        .bind(seen_until)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM engine_nodes WHERE seen_until < $1")
            .bind(now - chrono::Duration::days(1))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn claim_run(
        &self,
        node: &EngineNode,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<ClaimedRun>> {
        let owner = node.name.as_str();
        let mut tx = self.begin().await?;
        let candidates: Vec<(Uuid, Uuid, Uuid)> = sqlx::query_as(&format!(
            "SELECT r.id, r.org_id, r.worker_id FROM runs r WHERE r.status = 'queued' AND {} \
             ORDER BY r.id LIMIT 16{SKIP_LOCKED}",
            node_may_take("r.worker_id", "$1", "$2")
        ))
        .bind(node.embedded_model)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        for (run_id, org_id, worker_id) in candidates {
            // Locking the worker serialises claims of its runs across
            // processes, so its concurrency limit holds.
            let concurrency: i64 = sqlx::query_scalar(&format!(
                "SELECT concurrency FROM members WHERE id = $1{FOR_UPDATE}"
            ))
            .bind(worker_id)
            .fetch_one(&mut *tx)
            .await?;
            let running: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM runs WHERE worker_id = $1 AND status = 'running'",
            )
            .bind(worker_id)
            .fetch_one(&mut *tx)
            .await?;
            if running >= concurrency {
                continue;
            }
            let worker = load_member(&mut tx, org_id, worker_id).await?;
            let ctx = Ctx::new(org_id, Some(worker_id), now);
            let mut run = load_run(&mut tx, org_id, run_id, false).await?;
            let route = match (&worker.provider, &worker.model) {
                (Some(provider), Some(model)) => {
                    let found = load_route(&mut tx, org_id, provider, model).await;
                    found.map_err(|e| e.to_string())
                }
                _ => Err(format!(
                    "{} has no provider and model; set them on the member (provider, model) to let it run work",
                    worker.name
                )),
            };
            let route = match route {
                Ok(route) => route,
                Err(reason) => {
                    finish_run(
                        &mut tx,
                        &ctx,
                        run,
                        None,
                        Ending {
                            status: RunStatus::Failed,
                            output: String::new(),
                            used: Tokens::default(),
                            error: Some(reason),
                        },
                    )
                    .await?;
                    continue;
                }
            };
            run.status = RunStatus::Running;
            run.attempts += 1;
            run.provider = Some(route.provider.clone());
            run.model = Some(route.model.clone());
            run.started_at = run.started_at.or(Some(ctx.now));
            sqlx::query(
                "UPDATE runs SET status = 'running', attempts = $1, provider = $2, model = $3, started_at = $4, \
                 lease_owner = $5, lease_expires_at = $6 WHERE id = $7",
            )
            .bind(run.attempts)
            .bind(&run.provider)
            .bind(&run.model)
            .bind(run.started_at)
            .bind(owner)
            .bind(lease_until)
            .bind(run.id)
            .execute(&mut *tx)
            .await?;
            let item_state =
                move_item(&mut tx, &ctx, run.work_item_id, WorkState::Running, false).await?;
            record(&mut tx, &ctx, "run.started", "run", Some(run.id), json!({ "run": run_summary(&run), "lease_owner": owner, "work_item_state": item_state }))
                .await?;
            tx.commit().await?;
            return Ok(Some(ClaimedRun { org_id, run, route }));
        }
        tx.commit().await?;
        Ok(None)
    }

    async fn heartbeat(
        &self,
        run_id: Uuid,
        owner: &str,
        lease_until: DateTime<Utc>,
        output: &str,
        used: Tokens,
    ) -> Result<LeaseState> {
        let mut tx = self.begin().await?;
        let held: Option<(bool, Option<Uuid>)> = sqlx::query_as(
            "UPDATE runs SET lease_expires_at = $1, output = $2 WHERE id = $3 AND lease_owner = $4 AND status = 'running' \
             RETURNING cancel_requested, reservation_id",
        )
        .bind(lease_until)
        .bind(output)
        .bind(run_id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((cancel_requested, reservation)) = held else {
            return Ok(LeaseState::Lost);
        };
        if let Some(reservation) = reservation {
            sqlx::query(
                "UPDATE reservations SET seen_output_tokens = $1 WHERE id = $2 AND is_open",
            )
            .bind(used.output)
            .bind(reservation)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(if cancel_requested {
            LeaseState::CancelRequested
        } else {
            LeaseState::Held
        })
    }

    async fn reserve_for_run(
        &self,
        run_id: Uuid,
        owner: &str,
        now: DateTime<Utc>,
        charge: Charge,
    ) -> Result<Reservation> {
        let mut tx = self.begin().await?;
        let (org_id, worker_id) = run_owner(&mut tx, run_id).await?;
        let held: Option<(Uuid, Option<Uuid>)> = sqlx::query_as(&format!(
            "SELECT work_item_id, reservation_id FROM runs WHERE id = $1 AND lease_owner = $2 AND status = 'running'{FOR_UPDATE}"
        ))
        .bind(run_id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let (item, open) =
            held.ok_or_else(|| StoreError::Conflict("the run's lease is lost".into()))?;
        if open.is_some() {
            return Err(StoreError::Conflict(
                "the run already holds a reservation".into(),
            ));
        }
        let ctx = Ctx::new(org_id, Some(worker_id), now);
        let charge = Charge {
            worker_id,
            run_id: Some(run_id),
            expires_at: now + chrono::Duration::days(RUN_RESERVATION_HORIZON_DAYS),
            ..charge
        };
        let dims = dims_of(&mut tx, worker_id, Some(item)).await?;
        let reservation = open_reservation(&mut tx, &ctx, &charge, dims).await?;
        sqlx::query("UPDATE runs SET reservation_id = $1 WHERE id = $2")
            .bind(reservation.id)
            .bind(run_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(reservation)
    }

    async fn end_run(
        &self,
        run_id: Uuid,
        owner: &str,
        now: DateTime<Utc>,
        end: RunEnd,
    ) -> Result<Run> {
        let mut tx = self.begin().await?;
        let (org_id, worker_id) = run_owner(&mut tx, run_id).await?;
        let ctx = Ctx::new(org_id, Some(worker_id), now);
        let held: Option<(Option<Uuid>,)> = sqlx::query_as(&format!(
            "SELECT reservation_id FROM runs WHERE id = $1 AND lease_owner = $2 AND status = 'running'{FOR_UPDATE}"
        ))
        .bind(run_id)
        .bind(owner)
        .fetch_optional(&mut *tx)
        .await?;
        let (reservation,) =
            held.ok_or_else(|| StoreError::Conflict("the run's lease is lost".into()))?;
        let run = load_run(&mut tx, org_id, run_id, false).await?;
        let (status, output, used, error) = match end {
            RunEnd::Succeeded { output, used } => (RunStatus::Succeeded, output, used, None),
            RunEnd::Failed {
                output,
                used,
                error,
            } => (RunStatus::Failed, output, used, Some(error)),
            RunEnd::Cancelled { output, used } => (RunStatus::Cancelled, output, used, None),
        };
        let run = finish_run(
            &mut tx,
            &ctx,
            run,
            reservation,
            Ending {
                status,
                output,
                used,
                error,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(run)
    }

    async fn recover(&self, now: DateTime<Utc>) -> Result<(u64, u64)> {
        let mut runs = 0;
        loop {
            let mut tx = self.begin().await?;
            let expired: Option<ExpiredRun> = sqlx::query_as(&format!(
                "SELECT id, org_id, worker_id, reservation_id, lease_owner FROM runs \
                 WHERE status = 'running' AND lease_expires_at < $1 ORDER BY id LIMIT 1{SKIP_LOCKED}"
            ))
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(ExpiredRun {
                id: run_id,
                org_id,
                worker_id,
                reservation_id: reservation,
                lease_owner: owner,
            }) = expired
            else {
                break;
            };
            let ctx = Ctx::new(org_id, Some(worker_id), now);
            let run = load_run(&mut tx, org_id, run_id, false).await?;
            // What a crash is charged: the prompt, and the output seen at the
            // last heartbeat.
            let used = match reservation {
                Some(id) => {
                    let (input, seen): (i64, i64) = sqlx::query_as(
                        "SELECT input_tokens, seen_output_tokens FROM reservations WHERE id = $1",
                    )
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                    Tokens {
                        input,
                        cached_input: 0,
                        output: seen,
                    }
                }
                None => Tokens::default(),
            };
            let owner = owner.unwrap_or_default();
            let (status, error) = if run.attempts < run.max_attempts {
                (
                    RunStatus::Queued,
                    format!(
                        "the lease of {owner} expired during attempt {}; queued again",
                        run.attempts
                    ),
                )
            } else {
                (
                    RunStatus::Failed,
                    format!(
                        "the lease expired on each of {} attempts (last holder {owner}); giving up",
                        run.attempts
                    ),
                )
            };
            let output = run.output.clone();
            finish_run(
                &mut tx,
                &ctx,
                run,
                reservation,
                Ending {
                    status,
                    output,
                    used,
                    error: Some(error),
                },
            )
            .await?;
            tx.commit().await?;
            runs += 1;
        }
        let mut calls = 0;
        loop {
            let mut tx = self.begin().await?;
            let abandoned: Option<(Uuid, Uuid, Uuid, i64)> = sqlx::query_as(&format!(
                "SELECT id, org_id, worker_id, input_tokens FROM reservations \
                 WHERE is_open AND run_id IS NULL AND expires_at < $1 ORDER BY id LIMIT 1{SKIP_LOCKED}"
            ))
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((id, org_id, worker_id, input)) = abandoned else {
                break;
            };
            let ctx = Ctx::new(org_id, Some(worker_id), now);
            let (settled, cost) = close_reservation(
                &mut tx,
                &ctx,
                id,
                Tokens {
                    input,
                    cached_input: 0,
                    output: 0,
                },
            )
            .await?;
            record(
                &mut tx,
                &ctx,
                "reservation.abandoned",
                "member",
                Some(worker_id),
                json!({ "reservation_id": id, "settled": settled, "cost": cost }),
            )
            .await?;
            tx.commit().await?;
            calls += 1;
        }
        Ok((runs, calls))
    }

    async fn hand_back_leases(&self, owner: &str, now: DateTime<Utc>) -> Result<u64> {
        let mut tx = self.begin().await?;
        let handed = sqlx::query(
            "UPDATE runs SET lease_expires_at = $1, lease_owner = $2 WHERE lease_owner = $3 AND status = 'running'",
        )
        .bind(now - chrono::Duration::milliseconds(1))
        .bind(format!("{owner} (stopped)"))
        .bind(owner)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(handed)
    }

    async fn reserve(&self, ctx: &Ctx, charge: Charge) -> Result<Reservation> {
        self.write_call_reservation(ctx, &charge).await
    }

    async fn settle(&self, ctx: &Ctx, reservation_id: Uuid, used: Tokens) -> Result<Tokens> {
        self.write_call_settlement(ctx, reservation_id, used).await
    }

    async fn review_run(&self, ctx: &Ctx, run_id: Uuid, new: NewReview) -> Result<Reviewed> {
        if !(1..=5).contains(&new.rating) {
            return Err(StoreError::invalid("rating", "must be between 1 and 5"));
        }
        let feedback = tutti_domain::validate::optional_text("feedback", &new.feedback, BODY_MAX)?;
        if new.verdict == Verdict::Revise && feedback.is_empty() {
            return Err(StoreError::invalid(
                "feedback",
                "a revision needs feedback that says what to change",
            ));
        }
        let reviewer_id = ctx
            .actor_id
            .ok_or_else(|| StoreError::invalid("reviewer", "a review needs a reviewer"))?;
        let mut tx = self.begin().await?;
        let run = load_run(&mut tx, ctx.org_id, run_id, true).await?;
        if run.status != RunStatus::Succeeded {
            return Err(StoreError::Conflict(format!(
                "the run is {}; only a finished (succeeded) run can be reviewed",
                run.status
            )));
        }
        let latest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(iteration) FROM runs WHERE work_item_id = $1")
                .bind(run.work_item_id)
                .fetch_one(&mut *tx)
                .await?;
        if latest != Some(run.iteration) {
            return Err(StoreError::Conflict(
                "a later iteration of this item exists; review that one".into(),
            ));
        }
        let item = load_work_item(&mut tx, ctx.org_id, run.work_item_id, true).await?;
        if item.state != WorkState::InReview {
            return Err(StoreError::Conflict(format!(
                "the item is {}, not in_review",
                item.state
            )));
        }
        let review = Review {
            id: Uuid::now_v7(),
            run_id,
            work_item_id: run.work_item_id,
            worker_id: run.worker_id,
            reviewer_id,
            verdict: new.verdict,
            feedback: feedback.clone(),
            rating: new.rating,
            created_at: ctx.now,
        };
        sqlx::query(
            "INSERT INTO reviews (id, org_id, run_id, work_item_id, worker_id, reviewer_id, verdict, feedback, rating, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(review.id)
        .bind(ctx.org_id)
        .bind(run_id)
        .bind(review.work_item_id)
        .bind(review.worker_id)
        .bind(reviewer_id)
        .bind(review.verdict.as_str())
        .bind(&review.feedback)
        .bind(review.rating)
        .bind(ctx.now)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::conflict_on_unique(e, || "this run has been reviewed already".into()))?;
        let (to, unassign) = match new.verdict {
            Verdict::Accept => (WorkState::Done, false),
            Verdict::Revise => (WorkState::Ready, false),
            Verdict::Reject => (WorkState::Ready, true),
        };
        let state = move_item(&mut tx, ctx, item.id, to, unassign).await?;
        record(
            &mut tx,
            ctx,
            "review.created",
            "run",
            Some(run_id),
            json!({ "review": review, "work_item_state": state }),
        )
        .await?;
        let next_run = if new.verdict == Verdict::Revise {
            let item = load_work_item(&mut tx, ctx.org_id, item.id, false).await?;
            Some(insert_run(&mut tx, ctx, &item, run.max_tokens, Some((&run, &feedback))).await?)
        } else {
            None
        };
        let reviewed = Reviewed { review, next_run };
        finish(tx, ctx, 201, &reviewed).await?;
        Ok(reviewed)
    }

    async fn reviews(&self, org_id: Uuid, work_item_id: Uuid) -> Result<Vec<Review>> {
        let rows: Vec<ReviewRow> = sqlx::query_as(&format!(
            "SELECT {REVIEW_COLUMNS} FROM reviews WHERE org_id = $1 AND work_item_id = $2 ORDER BY id"
        ))
        .bind(org_id)
        .bind(work_item_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn review_stats(&self, org_id: Uuid, worker_id: Uuid) -> Result<ReviewStats> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT verdict, COUNT(*), CAST(COALESCE(SUM(rating), 0) AS BIGINT) FROM reviews WHERE org_id = $1 AND worker_id = $2 GROUP BY verdict",
        )
        .bind(org_id)
        .bind(worker_id)
        .fetch_all(&mut *self.read().await?)
        .await?;
        let (mut accepted, mut revised, mut rejected, mut ratings) = (0, 0, 0, 0);
        for (verdict, count, rating_sum) in rows {
            ratings += rating_sum;
            match verdict.parse::<Verdict>().map_err(StoreError::Corrupt)? {
                Verdict::Accept => accepted = count,
                Verdict::Revise => revised = count,
                Verdict::Reject => rejected = count,
            }
        }
        Ok(ReviewStats::from_counts(
            accepted, revised, rejected, ratings,
        ))
    }

    async fn ledger_summary(
        &self,
        org_id: Uuid,
        group: LedgerGroup,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<LedgerLine>> {
        let sums = "COUNT(*), CAST(COALESCE(SUM(input_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(cached_input_tokens), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(output_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(cost), 0) AS BIGINT)";
        let filter =
            "FROM ledger_entries WHERE org_id = $1 AND kind = 'settle' AND at >= $2 AND at < $3";
        let mut conn = self.read().await?;
        let line = |key: Option<String>, calls, input, cached_input, output, cost| LedgerLine {
            key,
            calls,
            tokens: Tokens {
                input,
                cached_input,
                output,
            },
            cost,
        };
        let lines = if group == LedgerGroup::Model {
            let rows: Vec<(String, String, i64, i64, i64, i64, i64)> = sqlx::query_as(&format!(
                "SELECT provider, model, {sums} {filter} GROUP BY provider, model ORDER BY 7 DESC"
            ))
            .bind(org_id)
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn)
            .await?;
            rows.into_iter()
                .map(|(p, m, calls, i, c, o, cost)| {
                    line(Some(format!("{p}/{m}")), calls, i, c, o, cost)
                })
                .collect()
        } else {
            let column = crate::labour::ledger_column(group);
            let rows: Vec<(Option<Uuid>, i64, i64, i64, i64, i64)> = sqlx::query_as(&format!(
                "SELECT {column}, {sums} {filter} GROUP BY {column} ORDER BY 6 DESC"
            ))
            .bind(org_id)
            .bind(from)
            .bind(to)
            .fetch_all(&mut *conn)
            .await?;
            rows.into_iter()
                .map(|(key, calls, i, c, o, cost)| {
                    line(key.map(|k| k.to_string()), calls, i, c, o, cost)
                })
                .collect()
        };
        Ok(lines)
    }

    async fn ledger_totals(&self, org_id: Uuid) -> Result<LedgerTotals> {
        let mut conn = self.read().await?;
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT kind, CAST(COALESCE(SUM(input_tokens + output_tokens), 0) AS BIGINT), CAST(COALESCE(SUM(cost), 0) AS BIGINT) \
             FROM ledger_entries WHERE org_id = $1 GROUP BY kind",
        )
        .bind(org_id)
        .fetch_all(&mut *conn)
        .await?;
        let mut totals = LedgerTotals::default();
        for (kind, tokens, cost) in rows {
            match kind.parse::<LedgerKind>().map_err(StoreError::Corrupt)? {
                LedgerKind::Reserve => {
                    (totals.reserved_tokens, totals.reserved_cost) = (tokens, cost)
                }
                LedgerKind::Settle => (totals.settled_tokens, totals.settled_cost) = (tokens, cost),
                LedgerKind::Release => {
                    (totals.released_tokens, totals.released_cost) = (tokens, cost)
                }
                LedgerKind::Adjust => {}
            }
        }
        totals.open_reservations =
            sqlx::query_scalar("SELECT COUNT(*) FROM reservations WHERE org_id = $1 AND is_open")
                .bind(org_id)
                .fetch_one(&mut *conn)
                .await?;
        Ok(totals)
    }

    async fn ledger_entries(
        &self,
        org_id: Uuid,
        filter: &LedgerFilter,
        page: PageRequest,
    ) -> Result<Page<LedgerEntry>> {
        let mut query = QueryBuilder::<Db>::new(format!(
            "SELECT {LEDGER_COLUMNS} FROM ledger_entries WHERE org_id = "
        ));
        query.push_bind(org_id);
        if let Some(worker) = filter.worker_id {
            query.push(" AND worker_id = ").push_bind(worker);
        }
        if let Some(run) = filter.run_id {
            query.push(" AND run_id = ").push_bind(run);
        }
        if let Some(reservation) = filter.reservation_id {
            query.push(" AND reservation_id = ").push_bind(reservation);
        }
        if let Some(kind) = filter.kind {
            query.push(" AND kind = ").push_bind(kind.as_str());
        }
        push_page(&mut query, page);
        let rows: Vec<LedgerRow> = query
            .build_query_as()
            .fetch_all(&mut *self.read().await?)
            .await?;
        let entries = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<LedgerEntry>>>()?;
        Ok(page_of(entries, page, |e: &LedgerEntry| e.id.to_string()))
    }

    async fn unbalanced_reservations(&self, org_id: Uuid) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar(
            "SELECT reservation_id FROM ledger_entries WHERE org_id = $1 AND kind <> 'adjust' GROUP BY reservation_id \
             HAVING SUM(CASE WHEN kind = 'reserve' THEN input_tokens + output_tokens ELSE -(input_tokens + output_tokens) END) <> 0 \
             OR SUM(CASE WHEN kind = 'reserve' THEN cost ELSE -cost END) <> 0 \
             OR SUM(CASE WHEN kind = 'reserve' THEN 1 ELSE 0 END) <> 1 \
             OR SUM(CASE WHEN kind = 'settle' THEN 1 ELSE 0 END) > 1",
        )
        .bind(org_id)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }
}

/// How to reach a model of the org, with its key.
/// SQL condition: a node may take the work of the AI worker in
/// `worker_column`. A node without the embedded model (`has_model` false)
/// leaves the work of workers on the embedded provider to a live node that
/// has it; with no such node alive, it takes the work and fails it, saying
/// why, rather than leaving it queued with nobody to run it.
fn node_may_take(worker_column: &str, has_model: &str, now: &str) -> String {
    format!(
        "({has_model} \
          OR NOT EXISTS (SELECT 1 FROM engine_nodes n WHERE n.embedded_model AND n.seen_until > {now}) \
          OR NOT EXISTS (SELECT 1 FROM members w JOIN providers p ON p.org_id = w.org_id AND p.name = w.provider \
                         WHERE w.id = {worker_column} AND p.kind = 'embedded'))"
    )
}

/// A model of a provider of the org (`$1`), by provider name (`$2`) and model name (`$3`).
const ROUTE: &str = "SELECT p.name AS provider, p.kind, p.base_url, p.api_key_env, p.api_key, m.name AS model, \
     m.input_price, m.cached_input_price, m.output_price FROM providers p JOIN models m ON m.provider_id = p.id \
     WHERE p.org_id = $1 AND p.name = $2 AND m.name = $3";

/// The member a token hash (`$1`) belongs to, with its provider and model.
const TOKEN_HOLDER: &str = "SELECT m.id, m.org_id, m.kind, m.provider, m.model \
     FROM api_tokens t JOIN members m ON m.id = t.member_id WHERE t.token_hash = $1";

/// One row of [`TOKEN_HOLDER`].
type TokenHolderRow = (Uuid, Uuid, String, Option<String>, Option<String>);

fn token_holder_from_row(
    (member_id, org_id, kind, provider, model): TokenHolderRow,
) -> Result<TokenHolder> {
    Ok(TokenHolder {
        org_id,
        member_id,
        kind: kind.parse().map_err(StoreError::Corrupt)?,
        provider,
        model,
    })
}

async fn load_route(
    conn: &mut Conn,
    org_id: Uuid,
    provider: &str,
    model: &str,
) -> Result<ModelRoute> {
    let row: Option<RouteRow> = sqlx::query_as(ROUTE)
        .bind(org_id)
        .bind(provider)
        .bind(model)
        .fetch_optional(&mut *conn)
        .await?;
    route_from_row(row, provider, model)
}

fn route_from_row(row: Option<RouteRow>, provider: &str, model: &str) -> Result<ModelRoute> {
    let row = row.ok_or_else(|| {
        StoreError::invalid(
            "model",
            format!("no model {model} of a provider {provider} in this org"),
        )
    })?;
    Ok(ModelRoute {
        provider: row.provider,
        kind: row.kind.parse().map_err(StoreError::Corrupt)?,
        base_url: row.base_url,
        api_key_env: row.api_key_env,
        api_key: row.api_key,
        model: row.model,
        prices: tutti_domain::labour::Prices {
            input: row.input_price,
            cached_input: row.cached_input_price,
            output: row.output_price,
        },
    })
}

/// A budget of the org, locked for the rest of the transaction.
async fn lock_budget(conn: &mut Conn, org_id: Uuid, id: Uuid) -> Result<Budget> {
    let row: BudgetRow = sqlx::query_as(&format!(
        "SELECT {BUDGET_COLUMNS} FROM budgets WHERE id = $1 AND org_id = $2{FOR_UPDATE}"
    ))
    .bind(id)
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::not_found("budget"))?;
    row.try_into()
}
