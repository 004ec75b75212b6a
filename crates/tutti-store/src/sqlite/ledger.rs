//! A gateway call's reservation and settlement as direct writes committed
//! together with those of concurrent calls ([`SqliteStore::write_grouped`]):
//! the hottest writes of the gateway, two per call. The SQL text, the budget rules and the arithmetic are those of
//! the sqlx path in `shared_labour.rs` (`open_reservation`,
//! `close_reservation`); only how each statement reaches SQLite differs.

use rusqlite::{Connection, Row};

use super::*;

impl SqliteStore {
    /// A gateway call's reservation (no work item: charged to the worker's
    /// first team), committed with those of concurrent calls.
    pub(super) async fn write_call_reservation(
        &self,
        ctx: &Ctx,
        charge: &Charge,
    ) -> crate::Result<Reservation> {
        let (ctx, charge) = (ctx.clone(), charge.clone());
        let store = self.clone();
        let release = ctx.clone();
        self.write_grouped(
            move |db| open_call_reservation(db, &ctx, &charge),
            // Nobody will make the call: release what it holds at once
            // instead of leaving it to the recovery of expired reservations.
            move |reservation: Reservation| {
                tokio::spawn(async move {
                    let released = store
                        .write_call_settlement(&release, reservation.id, Tokens::default())
                        .await;
                    if let Err(e) = released {
                        tracing::error!(reservation = %reservation.id, "cannot release an abandoned reservation: {e}");
                    }
                });
            },
        )
        .await
    }

    /// A gateway call's settlement, committed with those of concurrent calls.
    pub(super) async fn write_call_settlement(
        &self,
        ctx: &Ctx,
        reservation_id: Uuid,
        used: Tokens,
    ) -> crate::Result<Tokens> {
        let ctx = ctx.clone();
        self.write_grouped(
            move |db| {
                close_reservation_direct(db, &ctx, reservation_id, used).map(|(settled, _)| settled)
            },
            // Settled is settled, whether or not the caller hears of it.
            |_| {},
        )
        .await
    }
}

/// [`open_reservation`] for a call that serves no work item, in its order
/// (the budgets raised last).
fn open_call_reservation(db: &Connection, ctx: &Ctx, charge: &Charge) -> Result<Reservation> {
    let (reserved, cost) = worst_case(charge)?;
    let team_id = first_row(
        bound(db, FIRST_TEAM, &[stored(&charge.worker_id)?])?,
        |row| row.get(0),
    )?;
    let dims = Dims {
        team_id,
        ..Dims::default()
    };
    let budgets = budgets_for_direct(db, ctx.org_id, charge.worker_id, dims)?;
    let id = Uuid::now_v7();
    bound(
        db,
        INSERT_RESERVATION,
        &[
            stored(&id)?,
            stored(&ctx.org_id)?,
            stored(&charge.worker_id)?,
            stored(&charge.run_id)?,
            stored(&charge.route_provider)?,
            stored(&charge.route_model)?,
            stored(&charge.prices.input)?,
            stored(&charge.prices.cached_input)?,
            stored(&charge.prices.output)?,
            stored(&reserved.input)?,
            stored(&reserved.output)?,
            stored(&cost)?,
            stored(&charge.expires_at)?,
            stored(&ctx.now)?,
            stored(&dims.work_item_id)?,
            stored(&dims.key_result_id)?,
            stored(&dims.objective_id)?,
            stored(&dims.team_id)?,
        ],
    )?
    .raw_execute()?;
    let insert_hold = format!("{INSERT_HOLDS}VALUES ($1, $2, $3)");
    for budget in &budgets {
        let window = budget.period.window_start(ctx.now);
        bound(
            db,
            &insert_hold,
            &[stored(&id)?, stored(&budget.id)?, stored(&window)?],
        )?
        .raw_execute()?;
    }
    let entry = LedgerWrite::for_charge(id, charge, dims);
    entry.write_direct(db, ctx, &[(LedgerKind::Reserve, reserved, cost)])?;
    let mut warnings = Vec::new();
    for budget in budgets {
        let window = budget.period.window_start(ctx.now);
        let raised = if alone_too_big(&budget, reserved, cost) {
            None
        } else {
            let upsert = raise_usage_sql(&budget);
            let values = [
                stored(&reserved.total())?,
                stored(&cost)?,
                stored(&budget.id)?,
                stored(&window)?,
                stored(&budget.token_limit.unwrap_or(0))?,
                stored(&budget.cost_limit.unwrap_or(0))?,
            ];
            first_row(bound(db, &upsert, &values)?, |row| {
                Ok((row.get(0)?, row.get(1)?, row.get(2)?))
            })?
        };
        let Some(raised) = raised else {
            let usage = bound(db, USAGE_OF, &[stored(&budget.id)?, stored(&window)?])?;
            let used = first_row(usage, |row| Ok((row.get(0)?, row.get(1)?)))?;
            return Err(budget_refusal(
                &budget,
                used.unwrap_or((0, 0)),
                reserved,
                cost,
            ));
        };
        if let Some(warning) = budget_warning(&budget, window, reserved, cost, raised) {
            bound(db, MARK_WARNED, &[stored(&budget.id)?, stored(&window)?])?.raw_execute()?;
            warnings.push((budget.id, warning));
        }
    }
    for (budget_id, warning) in warnings {
        record_direct(db, ctx, "budget.warned", "budget", Some(budget_id), warning)?;
    }
    Ok(Reservation { id, reserved, cost })
}

/// [`budgets_for`] in a direct transaction.
fn budgets_for_direct(
    db: &Connection,
    org_id: Uuid,
    worker_id: Uuid,
    dims: Dims,
) -> Result<Vec<Budget>> {
    let values = [
        stored(&org_id)?,
        stored(&worker_id)?,
        stored(&dims.team_id)?,
        stored(&dims.objective_id)?,
    ];
    let mut statement = bound(db, &budgets_for_sql(), &values)?;
    let mut rows = statement.raw_query();
    let mut budgets = Vec::new();
    while let Some(row) = rows.next()? {
        budgets.push(budget_row(row)?.try_into()?);
    }
    Ok(budgets)
}

fn budget_row(row: &Row) -> rusqlite::Result<BudgetRow> {
    from_columns!(row => BudgetRow {
        id, name, scope, scope_id, period, token_limit, cost_limit, warn_percent, hard,
        created_at
    })
}

/// [`close_reservation`] in a direct transaction.
fn close_reservation_direct(
    db: &Connection,
    ctx: &Ctx,
    reservation_id: Uuid,
    used: Tokens,
) -> Result<(Tokens, i64)> {
    let close = bound(
        db,
        CLOSE_RESERVATION,
        &[stored(&reservation_id)?, stored(&ctx.org_id)?],
    )?;
    let row = first_row(close, reservation_row)?.ok_or_else(|| not_open(reservation_id))?;
    let Settlement {
        settled,
        settled_cost,
        released,
        released_cost,
    } = row.settlement(used);
    row.ledger_write(reservation_id).write_direct(
        db,
        ctx,
        &[
            (LedgerKind::Settle, settled, settled_cost),
            (LedgerKind::Release, released, released_cost),
        ],
    )?;
    bound(
        db,
        RELEASE_HOLDS,
        &[
            stored(&released.total())?,
            stored(&released_cost)?,
            stored(&reservation_id)?,
        ],
    )?
    .raw_execute()?;
    Ok((settled, settled_cost))
}

fn reservation_row(row: &Row) -> rusqlite::Result<ReservationRow> {
    from_columns!(row => ReservationRow {
        worker_id, run_id, work_item_id, key_result_id, objective_id, team_id, provider, model,
        input_price, cached_input_price, output_price, input_tokens, output_tokens, cost
    })
}

impl LedgerWrite<'_> {
    /// [`LedgerWrite::write`] in a direct transaction.
    fn write_direct(
        &self,
        db: &Connection,
        ctx: &Ctx,
        entries: &[(LedgerKind, Tokens, i64)],
    ) -> Result<()> {
        let insert = format!(
            "{INSERT_LEDGER_ENTRIES}VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        );
        for (kind, tokens, cost) in entries {
            let values = [
                stored(&Uuid::now_v7())?,
                stored(&ctx.org_id)?,
                stored(&self.reservation_id)?,
                stored(&kind.as_str())?,
                stored(&self.worker_id)?,
                stored(&self.run_id)?,
                stored(&self.dims.work_item_id)?,
                stored(&self.dims.key_result_id)?,
                stored(&self.dims.objective_id)?,
                stored(&self.dims.team_id)?,
                stored(&self.provider)?,
                stored(&self.model)?,
                stored(&tokens.input)?,
                stored(&tokens.cached_input)?,
                stored(&tokens.output)?,
                stored(cost)?,
                stored(&ctx.now)?,
            ];
            match bound(db, &insert, &values)?.raw_execute() {
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Conflict(format!(
                        "reservation {} is already settled",
                        self.reservation_id
                    )));
                }
                other => other?,
            };
        }
        Ok(())
    }
}
