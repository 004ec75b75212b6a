//! Direct reads ([`SqliteStore::read_direct`]): the read every request
//! makes (the actor behind a token), the two of every gateway call (the
//! member behind its token with its model, and that model's route) and the
//! hottest read of the API (an objective with everything below it), run by
//! rusqlite on the caller's thread instead of one round trip to a sqlx
//! connection's thread per statement. The SQL text is the sqlx path's
//! (`shared/common.rs`: `actor_sql`; `shared/strategy.rs`: `forest_sql`, `key_results_of_sql`;
//! `shared/providers.rs`: `TOKEN_HOLDER`, `ROUTE`); only how it reaches SQLite
//! differs.

use rusqlite::{Connection, Row};

use super::*;

impl SqliteStore {
    /// Runs `work` in one read transaction (one snapshot for all its
    /// statements) on an idle direct read connection, opening one if none
    /// is idle. Reads in WAL mode never wait for the writer, so this does
    /// not block the caller's thread for longer than the statements take.
    pub(super) fn read_direct<R>(
        &self,
        work: impl FnOnce(&Connection) -> crate::Result<R>,
    ) -> crate::Result<R> {
        let idle = self
            .direct_readers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let db = match idle {
            Some(db) => db,
            None => open_reader(self.options.get_filename())?,
        };
        db.execute_batch("BEGIN")?;
        let result = work(&db);
        // A read transaction has nothing to keep: ending it either way is the same.
        if db.execute_batch("COMMIT").is_ok() && db.is_autocommit() {
            let mut idle = self
                .direct_readers
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if idle.len() < READERS {
                idle.push(db);
            }
        }
        result
    }

    pub(super) async fn actor_by_token_hash(
        &self,
        token_hash: &str,
    ) -> crate::Result<Option<Actor>> {
        self.read_direct(|db| {
            let mut statement = bind_numbered(
                db,
                &actor_sql(ACTOR_BY_TOKEN),
                &[sqlite_value(&token_hash)?],
            )?;
            let rows = statement
                .raw_query()
                .mapped(|row| ActorRow::try_from(row))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            actor_from_rows(rows)
        })
    }

    /// The member behind a token with its model: the gateway reads one on
    /// every call.
    pub(super) async fn token_holder_of(
        &self,
        token_hash: &str,
    ) -> crate::Result<Option<TokenHolder>> {
        self.read_direct(|db| {
            let holder = bind_numbered(db, TOKEN_HOLDER, &[sqlite_value(&token_hash)?])?;
            let row = first_row(holder, |row| TokenHolderRow::try_from(row))?;
            row.map(token_holder_from_row).transpose()
        })
    }

    /// The provider and prices of a model: the gateway reads one on every call.
    pub(super) async fn route_of(
        &self,
        org_id: Uuid,
        provider: &str,
        model: &str,
    ) -> crate::Result<ModelRoute> {
        self.read_direct(|db| {
            let values = [
                sqlite_value(&org_id)?,
                sqlite_value(&provider)?,
                sqlite_value(&model)?,
            ];
            let row = first_row(bind_numbered(db, ROUTE, &values)?, route_row)?;
            route_from_row(row, provider, model)
        })
    }

    /// Everything below (and including) the given objectives, with their key results.
    pub(super) async fn forest_of(
        &self,
        org_id: Uuid,
        roots: &[Uuid],
    ) -> crate::Result<ObjectiveForest> {
        self.read_direct(|db| {
            let mut values = vec![sqlite_value(&org_id)?];
            for id in roots {
                values.push(sqlite_value(id)?);
            }
            let objectives = bind_numbered(db, &forest_sql(roots.len()), &values)?
                .raw_query()
                .mapped(objective_row)
                .map(|row| row?.try_into())
                .collect::<crate::Result<Vec<Objective>>>()?;
            let mut key_results = Vec::new();
            for chunk in objectives.chunks(FOREST_CHUNK) {
                let ids = chunk
                    .iter()
                    .map(|o| sqlite_value(&o.id))
                    .collect::<crate::Result<Vec<_>>>()?;
                let mut statement = bind_numbered(db, &key_results_of_sql(chunk.len()), &ids)?;
                for row in statement.raw_query().mapped(key_result_row) {
                    key_results.push(row?.try_into()?);
                }
            }
            Ok(ObjectiveForest {
                objectives,
                key_results,
            })
        })
    }
}

/// A read connection for [`SqliteStore::read_direct`]. It refuses writes.
fn open_reader(path: &std::path::Path) -> crate::Result<Connection> {
    let db = Connection::open(path)?;
    db.execute_batch("PRAGMA query_only = ON;")?;
    db.busy_timeout(DIRECT_READ_BUSY_TIMEOUT)?;
    Ok(db)
}

/// A row of `ROUTE`.
fn route_row(row: &Row) -> rusqlite::Result<RouteRow> {
    from_columns!(row => RouteRow {
        provider, kind, base_url, api_key_env, api_key, model, input_price, cached_input_price,
        output_price, connect_timeout_secs, first_byte_timeout_secs, idle_timeout_secs,
        deadline_secs
    })
}

/// A row of `OBJECTIVE_COLUMNS`.
fn objective_row(row: &Row) -> rusqlite::Result<ObjectiveRow> {
    from_columns!(row => ObjectiveRow {
        id, title, why, owner_id, team_id, period_start, period_end, parent_id, status,
        created_at
    })
}

/// A row of `KEY_RESULT_COLUMNS`.
fn key_result_row(row: &Row) -> rusqlite::Result<KeyResultRow> {
    from_columns!(row => KeyResultRow {
        id, objective_id, title, baseline, target, current, unit, confidence, updated_at
    })
}
