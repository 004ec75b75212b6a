// Budgets, reservations and the ledger; see `ledger.rs` for the contract.
//
// The reservation algorithm exists once, here ([`open_reservation`],
// [`close_reservation`]): for runs and gateway calls, on both backends. It
// speaks to the database through [`LedgerStatements`], which has two
// implementations: [`SqlxLedger`] on a sqlx transaction (PostgreSQL, and
// runs on SQLite), and on SQLite the direct one in `sqlite/ledger.rs`, which
// runs each statement on the caller's thread inside the gateway's grouped
// writes. What the algorithm decides — the worst case, which budgets apply,
// refusals, warnings, settlements — is `tutti_domain::labour::budget`'s.

/// What a call serves, for budgets and the ledger's roll-ups.
#[derive(Debug, Clone, Copy, Default)]
struct Dims {
    work_item_id: Option<Uuid>,
    key_result_id: Option<Uuid>,
    objective_id: Option<Uuid>,
    team_id: Option<Uuid>,
}

/// A reservation's row as it is written.
struct ReservationInsert<'a> {
    id: Uuid,
    ctx: &'a Ctx,
    charge: &'a Charge,
    dims: Dims,
    call: WorstCase,
}

/// The statements of a reservation and its settlement, one implementation
/// per way a transaction reaches the database. Each method is one statement
/// (or one batch of rows), inside the caller's transaction.
trait LedgerStatements {
    /// A work item's team, key result and the key result's objective.
    async fn item_dims(
        &mut self,
        item_id: Uuid,
    ) -> Result<Option<(Option<Uuid>, Option<Uuid>, Option<Uuid>)>>;
    /// A member's first team.
    async fn first_team(&mut self, member_id: Uuid) -> Result<Option<Uuid>>;
    /// The org's budgets with these (scope, scope id) keys, in id order.
    async fn budgets_keyed(
        &mut self,
        org_id: Uuid,
        keys: &[(BudgetScope, Option<Uuid>)],
    ) -> Result<Vec<Budget>>;
    async fn insert_reservation(&mut self, row: &ReservationInsert<'_>) -> Result<()>;
    /// The reservation's holds on its budgets' windows.
    async fn insert_holds(
        &mut self,
        reservation_id: Uuid,
        holds: &[(Uuid, NaiveDate)],
    ) -> Result<()>;
    /// Ledger entries of one reservation; `Conflict` when it is settled already.
    async fn insert_entries(
        &mut self,
        ctx: &Ctx,
        write: &LedgerWrite<'_>,
        entries: &[(LedgerKind, Tokens, i64)],
    ) -> Result<()>;
    /// Raises a budget's use in a window by a call ([`raise_usage_sql`]):
    /// the use after it, or `None` when the budget's limits refused.
    async fn raise_usage(
        &mut self,
        budget: &Budget,
        window: NaiveDate,
        call: WorstCase,
    ) -> Result<Option<(i64, i64, bool)>>;
    /// A budget's use in a window.
    async fn usage_of(&mut self, budget_id: Uuid, window: NaiveDate) -> Result<Option<(i64, i64)>>;
    /// Marks a budget's window as warned.
    async fn mark_warned(&mut self, budget_id: Uuid, window: NaiveDate) -> Result<()>;
    async fn append_event(
        &mut self,
        ctx: &Ctx,
        action: &str,
        subject_type: &str,
        subject_id: Option<Uuid>,
        payload: serde_json::Value,
    ) -> Result<()>;
    /// Closes an open reservation of the org, returning it; `None` when it
    /// is not open.
    async fn close(&mut self, reservation_id: Uuid, org_id: Uuid)
    -> Result<Option<ReservationRow>>;
    /// Gives a closed reservation's released part back to every window it held.
    async fn release_holds(&mut self, reservation_id: Uuid, tokens: i64, cost: i64) -> Result<()>;
}

/// What a call is charged to: its work item's team, key result and
/// objective, with the team falling back to the worker's first (for work
/// without a team, and for gateway calls, which serve no item).
async fn charge_dims(
    db: &mut impl LedgerStatements,
    worker_id: Uuid,
    work_item_id: Option<Uuid>,
) -> Result<Dims> {
    let item = match work_item_id {
        Some(id) => db.item_dims(id).await?,
        None => None,
    };
    let (item_team, key_result_id, objective_id) = item.unwrap_or_default();
    let worker_team = match item_team {
        Some(_) => None,
        None => db.first_team(worker_id).await?,
    };
    Ok(Dims {
        work_item_id: work_item_id.filter(|_| item.is_some()),
        key_result_id,
        objective_id,
        team_id: ChargeScope::charged_team(item_team, worker_team),
    })
}

/// Opens a reservation: reserves the call's worst case against every budget
/// that applies (refusing if a hard one has no room), and writes the
/// reservation, its holds and the ledger's `reserve` entry. Runs inside the
/// caller's transaction, so a refusal leaves nothing behind.
///
/// The budgets are raised last, in id order. On PostgreSQL a raise locks
/// the budget's usage row until the commit, and every concurrent call on
/// that budget waits for it; raised last, the lock is held for the raises
/// and the commit only. In id order, concurrent reservations cannot deadlock.
async fn open_reservation(
    db: &mut impl LedgerStatements,
    ctx: &Ctx,
    charge: &Charge,
    work_item_id: Option<Uuid>,
) -> Result<Reservation> {
    let call = WorstCase::of(charge.prices, charge.input_tokens, charge.max_output_tokens)?;
    let dims = charge_dims(&mut *db, charge.worker_id, work_item_id).await?;
    let scope = ChargeScope {
        worker_id: charge.worker_id,
        team_id: dims.team_id,
        objective_id: dims.objective_id,
    };
    let budgets = db.budgets_keyed(ctx.org_id, &scope.budget_keys()).await?;
    let id = Uuid::now_v7();
    db.insert_reservation(&ReservationInsert {
        id,
        ctx,
        charge,
        dims,
        call,
    })
    .await?;
    let holds: Vec<(Uuid, NaiveDate)> = budgets
        .iter()
        .map(|budget| (budget.id, budget.period.window_start(ctx.now)))
        .collect();
    if !holds.is_empty() {
        db.insert_holds(id, &holds).await?;
    }
    let entry = LedgerWrite::for_charge(id, charge, dims);
    db.insert_entries(
        ctx,
        &entry,
        &[(LedgerKind::Reserve, call.reserved, call.cost)],
    )
    .await?;
    let mut warnings = Vec::new();
    for budget in budgets {
        let window = budget.period.window_start(ctx.now);
        let raised = if budget.could_never_hold(call) {
            None
        } else {
            db.raise_usage(&budget, window, call).await?
        };
        let Some((tokens, cost, warned)) = raised else {
            let (used_tokens, used_cost) = db.usage_of(budget.id, window).await?.unwrap_or((0, 0));
            return Err(budget.refusal(used_tokens, used_cost, call).into());
        };
        if budget.warns_now(call, tokens, cost, warned) {
            db.mark_warned(budget.id, window).await?;
            let warning = json!({ "budget": budget, "window_start": window, "used_tokens": tokens, "used_cost": cost });
            warnings.push((budget.id, warning));
        }
    }
    for (budget_id, warning) in warnings {
        db.append_event(ctx, "budget.warned", "budget", Some(budget_id), warning)
            .await?;
    }
    Ok(Reservation {
        id,
        reserved: call.reserved,
        cost: call.cost,
    })
}

/// Settles an open reservation exactly once: `settle` for the use (capped to
/// the reservation), `release` for the rest, and gives the released part back
/// to every budget it held. Returns what was settled and its cost.
async fn close_reservation(
    db: &mut impl LedgerStatements,
    ctx: &Ctx,
    reservation_id: Uuid,
    used: Tokens,
) -> Result<(Tokens, i64)> {
    let row = db
        .close(reservation_id, ctx.org_id)
        .await?
        .ok_or_else(|| not_open(reservation_id))?;
    let Settlement {
        settled,
        settled_cost,
        released,
        released_cost,
    } = Settlement::of(row.reserved(), row.cost, row.prices(), used);
    db.insert_entries(
        ctx,
        &row.ledger_write(reservation_id),
        &[
            (LedgerKind::Settle, settled, settled_cost),
            (LedgerKind::Release, released, released_cost),
        ],
    )
    .await?;
    db.release_holds(reservation_id, released.total(), released_cost)
        .await?;
    Ok((settled, settled_cost))
}

fn not_open(reservation_id: Uuid) -> StoreError {
    StoreError::Conflict(format!("reservation {reservation_id} is not open"))
}

/// A work item's team, key result and objective. Binds `$1` the item.
const ITEM_DIMS: &str = "SELECT w.team_id, w.key_result_id, k.objective_id FROM work_items w \
     LEFT JOIN key_results k ON k.id = w.key_result_id WHERE w.id = $1";

/// A member's first team. Binds `$1` the member.
const FIRST_TEAM: &str =
    "SELECT team_id FROM team_members WHERE member_id = $1 ORDER BY team_id LIMIT 1";

/// The org's budgets with `keys` (scope, scope id) in id order, so
/// concurrent reservations lock their rows in the same order and cannot
/// deadlock. Binds `$1` the org, then each key's scope and, when it names
/// one, its id (`key_values`).
fn budgets_keyed_sql(keys: &[(BudgetScope, Option<Uuid>)]) -> String {
    let mut next = 1;
    let matches: Vec<String> = keys
        .iter()
        .map(|(_, id)| {
            next += 1;
            let scope = next;
            match id {
                Some(_) => {
                    next += 1;
                    format!("(scope = ${scope} AND scope_id = ${next})")
                }
                None => format!("(scope = ${scope} AND scope_id IS NULL)"),
            }
        })
        .collect();
    format!(
        "SELECT {BUDGET_COLUMNS} FROM budgets WHERE org_id = $1 AND ({}) ORDER BY id",
        matches.join(" OR ")
    )
}

/// Raises a budget's use in its window by a call's worst case in one upsert;
/// for a hard budget only while the use stays within its limits (a fresh
/// window is checked by `Budget::could_never_hold`). PostgreSQL re-checks the
/// condition after taking the row's lock, so a hard budget holds under any
/// concurrency. Binds `$1` tokens, `$2` cost, `$3` budget, `$4` window
/// start, `$5` token limit, `$6` cost limit; returns the use after it, or no
/// row when a limit refused.
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

/// A budget's use in a window. Binds `$1` budget, `$2` window start.
const USAGE_OF: &str =
    "SELECT tokens, cost FROM budget_usage WHERE budget_id = $1 AND window_start = $2";

/// Binds `$1` budget, `$2` window start.
const MARK_WARNED: &str =
    "UPDATE budget_usage SET warned = TRUE WHERE budget_id = $1 AND window_start = $2";

const INSERT_RESERVATION: &str = "INSERT INTO reservations (id, org_id, worker_id, run_id, provider, model, input_price, \
    cached_input_price, output_price, input_tokens, output_tokens, cost, seen_output_tokens, is_open, expires_at, created_at, \
    work_item_id, key_result_id, objective_id, team_id, holder) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, TRUE, $13, $14, $15, $16, $17, $18, $19)";

/// Holds of a reservation on its budgets' windows, as many as the `VALUES`
/// that follow name (reservation, budget, window start).
const INSERT_HOLDS: &str = "INSERT INTO budget_holds (reservation_id, budget_id, window_start) ";

/// Ledger entries, as many as the `VALUES` that follow name (17 columns each).
const INSERT_LEDGER_ENTRIES: &str = "INSERT INTO ledger_entries (id, org_id, reservation_id, kind, worker_id, run_id, \
    work_item_id, key_result_id, objective_id, team_id, provider, model, input_tokens, cached_input_tokens, output_tokens, \
    cost, at) ";

/// Closes a reservation once; returns it, or no row when it is not open.
/// Binds `$1` reservation, `$2` org.
const CLOSE_RESERVATION: &str = "UPDATE reservations SET is_open = FALSE WHERE id = $1 AND org_id = $2 AND is_open \
    RETURNING worker_id, run_id, work_item_id, key_result_id, objective_id, team_id, provider, model, \
    input_price, cached_input_price, output_price, input_tokens, output_tokens, cost";

/// Gives a closed reservation's released part back to every budget it held.
/// Binds `$1` tokens, `$2` cost, `$3` reservation.
const RELEASE_HOLDS: &str = "UPDATE budget_usage SET tokens = tokens - $1, cost = cost - $2 \
    WHERE (budget_id, window_start) IN (SELECT budget_id, window_start FROM budget_holds WHERE reservation_id = $3)";

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
}

/// A reservation as [`CLOSE_RESERVATION`] returns it.
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

impl ReservationRow {
    fn reserved(&self) -> Tokens {
        Tokens {
            input: self.input_tokens,
            cached_input: 0,
            output: self.output_tokens,
        }
    }

    fn prices(&self) -> Prices {
        Prices {
            input: self.input_price,
            cached_input: self.cached_input_price,
            output: self.output_price,
        }
    }

    fn ledger_write(&self, reservation_id: Uuid) -> LedgerWrite<'_> {
        LedgerWrite {
            reservation_id,
            worker_id: self.worker_id,
            run_id: self.run_id,
            dims: Dims {
                work_item_id: self.work_item_id,
                key_result_id: self.key_result_id,
                objective_id: self.objective_id,
                team_id: self.team_id,
            },
            provider: &self.provider,
            model: &self.model,
        }
    }
}

/// [`LedgerStatements`] on a sqlx connection inside a transaction.
struct SqlxLedger<'c>(&'c mut Conn);

impl LedgerStatements for SqlxLedger<'_> {
    async fn item_dims(
        &mut self,
        item_id: Uuid,
    ) -> Result<Option<(Option<Uuid>, Option<Uuid>, Option<Uuid>)>> {
        Ok(sqlx::query_as(ITEM_DIMS)
            .bind(item_id)
            .fetch_optional(&mut *self.0)
            .await?)
    }

    async fn first_team(&mut self, member_id: Uuid) -> Result<Option<Uuid>> {
        Ok(sqlx::query_scalar(FIRST_TEAM)
            .bind(member_id)
            .fetch_optional(&mut *self.0)
            .await?)
    }

    async fn budgets_keyed(
        &mut self,
        org_id: Uuid,
        keys: &[(BudgetScope, Option<Uuid>)],
    ) -> Result<Vec<Budget>> {
        let sql = budgets_keyed_sql(keys);
        let mut query = sqlx::query_as::<_, BudgetRow>(&sql).bind(org_id);
        for (scope, id) in keys {
            query = query.bind(scope.as_str());
            if let Some(id) = id {
                query = query.bind(*id);
            }
        }
        let rows = query.fetch_all(&mut *self.0).await?;
        rows.into_iter().map(TryInto::try_into).collect()
    }

    async fn insert_reservation(&mut self, row: &ReservationInsert<'_>) -> Result<()> {
        let ReservationInsert {
            id,
            ctx,
            charge,
            dims,
            call,
        } = row;
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
            .bind(call.reserved.input)
            .bind(call.reserved.output)
            .bind(call.cost)
            .bind(charge.expires_at)
            .bind(ctx.now)
            .bind(dims.work_item_id)
            .bind(dims.key_result_id)
            .bind(dims.objective_id)
            .bind(dims.team_id)
            .bind(&charge.holder)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn insert_holds(
        &mut self,
        reservation_id: Uuid,
        holds: &[(Uuid, NaiveDate)],
    ) -> Result<()> {
        let mut insert = QueryBuilder::<Db>::new(INSERT_HOLDS);
        insert.push_values(holds, |mut row, (budget_id, window)| {
            row.push_bind(reservation_id)
                .push_bind(*budget_id)
                .push_bind(*window);
        });
        insert.build().execute(&mut *self.0).await?;
        Ok(())
    }

    async fn insert_entries(
        &mut self,
        ctx: &Ctx,
        write: &LedgerWrite<'_>,
        entries: &[(LedgerKind, Tokens, i64)],
    ) -> Result<()> {
        let mut insert = QueryBuilder::<Db>::new(INSERT_LEDGER_ENTRIES);
        insert.push_values(entries, |mut row, (kind, tokens, cost)| {
            row.push_bind(Uuid::now_v7())
                .push_bind(ctx.org_id)
                .push_bind(write.reservation_id)
                .push_bind(kind.as_str())
                .push_bind(write.worker_id)
                .push_bind(write.run_id)
                .push_bind(write.dims.work_item_id)
                .push_bind(write.dims.key_result_id)
                .push_bind(write.dims.objective_id)
                .push_bind(write.dims.team_id)
                .push_bind(write.provider.to_owned())
                .push_bind(write.model.to_owned())
                .push_bind(tokens.input)
                .push_bind(tokens.cached_input)
                .push_bind(tokens.output)
                .push_bind(*cost)
                .push_bind(ctx.now);
        });
        insert.build().execute(&mut *self.0).await.map_err(|e| {
            StoreError::conflict_on_unique(e, || {
                format!("reservation {} is already settled", write.reservation_id)
            })
        })?;
        Ok(())
    }

    async fn raise_usage(
        &mut self,
        budget: &Budget,
        window: NaiveDate,
        call: WorstCase,
    ) -> Result<Option<(i64, i64, bool)>> {
        Ok(sqlx::query_as(&raise_usage_sql(budget))
            .bind(call.reserved.total())
            .bind(call.cost)
            .bind(budget.id)
            .bind(window)
            .bind(budget.token_limit.unwrap_or(0))
            .bind(budget.cost_limit.unwrap_or(0))
            .fetch_optional(&mut *self.0)
            .await?)
    }

    async fn usage_of(&mut self, budget_id: Uuid, window: NaiveDate) -> Result<Option<(i64, i64)>> {
        Ok(sqlx::query_as(USAGE_OF)
            .bind(budget_id)
            .bind(window)
            .fetch_optional(&mut *self.0)
            .await?)
    }

    async fn mark_warned(&mut self, budget_id: Uuid, window: NaiveDate) -> Result<()> {
        sqlx::query(MARK_WARNED)
            .bind(budget_id)
            .bind(window)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }

    async fn append_event(
        &mut self,
        ctx: &Ctx,
        action: &str,
        subject_type: &str,
        subject_id: Option<Uuid>,
        payload: serde_json::Value,
    ) -> Result<()> {
        append_event(&mut *self.0, ctx, action, subject_type, subject_id, payload).await
    }

    async fn close(
        &mut self,
        reservation_id: Uuid,
        org_id: Uuid,
    ) -> Result<Option<ReservationRow>> {
        Ok(sqlx::query_as(CLOSE_RESERVATION)
            .bind(reservation_id)
            .bind(org_id)
            .fetch_optional(&mut *self.0)
            .await?)
    }

    async fn release_holds(&mut self, reservation_id: Uuid, tokens: i64, cost: i64) -> Result<()> {
        sqlx::query(RELEASE_HOLDS)
            .bind(tokens)
            .bind(cost)
            .bind(reservation_id)
            .execute(&mut *self.0)
            .await?;
        Ok(())
    }
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

impl crate::Ledger for BackendStore {
    async fn create_budget(&self, ctx: &Ctx, new: NewBudget) -> Result<Budget> {
        let mut tx = self.begin().await?;
        let budget = insert_budget(&mut tx, ctx, new).await?;
        commit_with_response(tx, ctx, 201, &budget).await?;
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
        append_event(
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
        append_event(
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

    async fn reserve(&self, ctx: &Ctx, charge: Charge) -> Result<Reservation> {
        self.write_call_reservation(ctx, &charge).await
    }

    async fn settle(&self, ctx: &Ctx, reservation_id: Uuid, used: Tokens) -> Result<Tokens> {
        self.write_call_settlement(ctx, reservation_id, used).await
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
            let column = crate::ledger::ledger_column(group);
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
        // One reserve; while open nothing else; once closed exactly one
        // settle and one release that add up to it, and the reservation
        // row agreeing. An open reservation is in flight, not unbalanced.
        Ok(sqlx::query_scalar(
            "SELECT e.reservation_id FROM ledger_entries e LEFT JOIN reservations r ON r.id = e.reservation_id \
             WHERE e.org_id = $1 AND e.kind <> 'adjust' GROUP BY e.reservation_id, r.is_open \
             HAVING SUM(CASE WHEN e.kind = 'reserve' THEN 1 ELSE 0 END) <> 1 \
             OR (SUM(CASE WHEN e.kind = 'reserve' THEN 0 ELSE 1 END) = 0 AND (r.is_open IS NULL OR NOT r.is_open)) \
             OR (SUM(CASE WHEN e.kind = 'reserve' THEN 0 ELSE 1 END) > 0 AND ( \
                 r.is_open IS NULL OR r.is_open \
                 OR SUM(CASE WHEN e.kind = 'settle' THEN 1 ELSE 0 END) <> 1 \
                 OR SUM(CASE WHEN e.kind = 'release' THEN 1 ELSE 0 END) <> 1 \
                 OR SUM(CASE WHEN e.kind = 'reserve' THEN e.input_tokens + e.output_tokens ELSE -(e.input_tokens + e.output_tokens) END) <> 0 \
                 OR SUM(CASE WHEN e.kind = 'reserve' THEN e.cost ELSE -e.cost END) <> 0))",
        )
        .bind(org_id)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }

    async fn open_reservations(&self, org_id: Uuid) -> Result<Vec<OpenReservation>> {
        Ok(sqlx::query_as(
            "SELECT id, worker_id, run_id, holder, created_at AS opened_at, expires_at FROM reservations \
             WHERE org_id = $1 AND is_open ORDER BY created_at, id",
        )
        .bind(org_id)
        .fetch_all(&mut *self.read().await?)
        .await?)
    }
}
