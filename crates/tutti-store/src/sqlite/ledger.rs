//! A gateway call's reservation and settlement as direct writes committed
//! together with those of concurrent calls ([`SqliteStore::write_grouped`]):
//! the hottest writes of the gateway, two per call.
//!
//! The algorithm is the one of every reservation (`open_reservation` and
//! `close_reservation` in `shared/ledger.rs`); here it runs on
//! [`DirectLedger`], whose statements go straight to SQLite on the caller's
//! thread. They never wait, so the algorithm's future finishes on its first
//! poll ([`run_now`]) inside the grouped write.

use std::future::Future;
use std::task::{Context, Poll, Waker};

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
            move |db| {
                let item = charge.work_item_id;
                run_now(open_reservation(&mut DirectLedger(db), &ctx, &charge, item))
            },
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
                run_now(close_reservation(
                    &mut DirectLedger(db),
                    &ctx,
                    reservation_id,
                    used,
                ))
                .map(|(settled, _)| settled)
            },
            // Settled is settled, whether or not the caller hears of it.
            |_| {},
        )
        .await
    }
}

/// Runs a future whose work never waits (its statements go straight to
/// SQLite on this thread) to its end, here and now. One that does wait is a
/// bug, reported as an error rather than blocking the thread.
fn run_now<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    let mut future = std::pin::pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result,
        Poll::Pending => Err(StoreError::Database(sqlx::Error::Protocol(
            "a direct write waited for something; it must not".into(),
        ))),
    }
}

/// The ledger's statements run straight on SQLite's connection, inside the
/// transaction [`SqliteStore::write_grouped`] holds.
struct DirectLedger<'c>(&'c Connection);

impl LedgerStatements for DirectLedger<'_> {
    async fn item_dims(
        &mut self,
        item_id: Uuid,
    ) -> Result<Option<(Option<Uuid>, Option<Uuid>, Option<Uuid>)>> {
        let statement = bind_numbered(self.0, ITEM_DIMS, &[sqlite_value(&item_id)?])?;
        first_row(statement, |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
    }

    async fn first_team(&mut self, member_id: Uuid) -> Result<Option<Uuid>> {
        let statement = bind_numbered(self.0, FIRST_TEAM, &[sqlite_value(&member_id)?])?;
        first_row(statement, |row| row.get(0))
    }

    async fn budgets_keyed(
        &mut self,
        org_id: Uuid,
        keys: &[(BudgetScope, Option<Uuid>)],
    ) -> Result<Vec<Budget>> {
        let mut values = vec![sqlite_value(&org_id)?];
        for (scope, id) in keys {
            values.push(sqlite_value(&scope.as_str())?);
            if let Some(id) = id {
                values.push(sqlite_value(id)?);
            }
        }
        let mut statement = bind_numbered(self.0, &budgets_keyed_sql(keys), &values)?;
        let mut rows = statement.raw_query();
        let mut budgets = Vec::new();
        while let Some(row) = rows.next()? {
            budgets.push(budget_row(row)?.try_into()?);
        }
        Ok(budgets)
    }

    async fn insert_reservation(&mut self, row: &ReservationInsert<'_>) -> Result<()> {
        let ReservationInsert {
            id,
            ctx,
            charge,
            dims,
            call,
        } = row;
        bind_numbered(
            self.0,
            INSERT_RESERVATION,
            &[
                sqlite_value(id)?,
                sqlite_value(&ctx.org_id)?,
                sqlite_value(&charge.worker_id)?,
                sqlite_value(&charge.run_id)?,
                sqlite_value(&charge.route_provider)?,
                sqlite_value(&charge.route_model)?,
                sqlite_value(&charge.prices.input)?,
                sqlite_value(&charge.prices.cached_input)?,
                sqlite_value(&charge.prices.output)?,
                sqlite_value(&call.reserved.input)?,
                sqlite_value(&call.reserved.output)?,
                sqlite_value(&call.cost)?,
                sqlite_value(&charge.expires_at)?,
                sqlite_value(&ctx.now)?,
                sqlite_value(&dims.work_item_id)?,
                sqlite_value(&dims.key_result_id)?,
                sqlite_value(&dims.objective_id)?,
                sqlite_value(&dims.team_id)?,
                sqlite_value(&charge.holder)?,
            ],
        )?
        .raw_execute()?;
        Ok(())
    }

    async fn insert_holds(
        &mut self,
        reservation_id: Uuid,
        holds: &[(Uuid, NaiveDate)],
    ) -> Result<()> {
        let insert_hold = format!("{INSERT_HOLDS}VALUES ($1, $2, $3)");
        for (budget_id, window) in holds {
            bind_numbered(
                self.0,
                &insert_hold,
                &[
                    sqlite_value(&reservation_id)?,
                    sqlite_value(budget_id)?,
                    sqlite_value(window)?,
                ],
            )?
            .raw_execute()?;
        }
        Ok(())
    }

    async fn insert_entries(
        &mut self,
        ctx: &Ctx,
        write: &LedgerWrite<'_>,
        entries: &[(LedgerKind, Tokens, i64)],
    ) -> Result<()> {
        let insert = format!(
            "{INSERT_LEDGER_ENTRIES}VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
        );
        for (kind, tokens, cost) in entries {
            let values = [
                sqlite_value(&Uuid::now_v7())?,
                sqlite_value(&ctx.org_id)?,
                sqlite_value(&write.reservation_id)?,
                sqlite_value(&kind.as_str())?,
                sqlite_value(&write.worker_id)?,
                sqlite_value(&write.run_id)?,
                sqlite_value(&write.dims.work_item_id)?,
                sqlite_value(&write.dims.key_result_id)?,
                sqlite_value(&write.dims.objective_id)?,
                sqlite_value(&write.dims.team_id)?,
                sqlite_value(&write.provider)?,
                sqlite_value(&write.model)?,
                sqlite_value(&tokens.input)?,
                sqlite_value(&tokens.cached_input)?,
                sqlite_value(&tokens.output)?,
                sqlite_value(cost)?,
                sqlite_value(&ctx.now)?,
            ];
            match bind_numbered(self.0, &insert, &values)?.raw_execute() {
                Err(e) if is_unique_violation(&e) => {
                    return Err(StoreError::Conflict(format!(
                        "reservation {} is already settled",
                        write.reservation_id
                    )));
                }
                other => other?,
            };
        }
        Ok(())
    }

    async fn raise_usage(
        &mut self,
        budget: &Budget,
        window: NaiveDate,
        call: WorstCase,
    ) -> Result<Option<(i64, i64, bool)>> {
        let values = [
            sqlite_value(&call.reserved.total())?,
            sqlite_value(&call.cost)?,
            sqlite_value(&budget.id)?,
            sqlite_value(&window)?,
            sqlite_value(&budget.token_limit.unwrap_or(0))?,
            sqlite_value(&budget.cost_limit.unwrap_or(0))?,
        ];
        let statement = bind_numbered(self.0, &raise_usage_sql(budget), &values)?;
        first_row(statement, |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
    }

    async fn usage_of(&mut self, budget_id: Uuid, window: NaiveDate) -> Result<Option<(i64, i64)>> {
        let values = [sqlite_value(&budget_id)?, sqlite_value(&window)?];
        let statement = bind_numbered(self.0, USAGE_OF, &values)?;
        first_row(statement, |row| Ok((row.get(0)?, row.get(1)?)))
    }

    async fn mark_warned(&mut self, budget_id: Uuid, window: NaiveDate) -> Result<()> {
        let values = [sqlite_value(&budget_id)?, sqlite_value(&window)?];
        bind_numbered(self.0, MARK_WARNED, &values)?.raw_execute()?;
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
        append_event_direct(self.0, ctx, action, subject_type, subject_id, payload)
    }

    async fn close(
        &mut self,
        reservation_id: Uuid,
        org_id: Uuid,
    ) -> Result<Option<ReservationRow>> {
        let values = [sqlite_value(&reservation_id)?, sqlite_value(&org_id)?];
        first_row(
            bind_numbered(self.0, CLOSE_RESERVATION, &values)?,
            reservation_row,
        )
    }

    async fn release_holds(&mut self, reservation_id: Uuid, tokens: i64, cost: i64) -> Result<()> {
        let values = [
            sqlite_value(&tokens)?,
            sqlite_value(&cost)?,
            sqlite_value(&reservation_id)?,
        ];
        bind_numbered(self.0, RELEASE_HOLDS, &values)?.raw_execute()?;
        Ok(())
    }
}

fn budget_row(row: &Row) -> rusqlite::Result<BudgetRow> {
    from_columns!(row => BudgetRow {
        id, name, scope, scope_id, period, token_limit, cost_limit, warn_percent, hard,
        created_at
    })
}

fn reservation_row(row: &Row) -> rusqlite::Result<ReservationRow> {
    from_columns!(row => ReservationRow {
        worker_id, run_id, work_item_id, key_result_id, objective_id, team_id, provider, model,
        input_price, cached_input_price, output_price, input_tokens, output_tokens, cost
    })
}
