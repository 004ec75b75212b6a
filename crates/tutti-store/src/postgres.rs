//! The PostgreSQL backend: for several `tutti serve` processes sharing one
//! database. Rows that a transaction reads in order to change are locked with
//! `FOR UPDATE`, so concurrent writers on different nodes serialise exactly
//! where they must (the org's audit head, the row being changed) and nowhere else.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres};

type Db = Postgres;
type BackendStore = PgStore;

const BACKEND: &str = "postgres";
/// `NO KEY` because rows referenced by a foreign key are share-locked by
/// inserts elsewhere, and we never change key columns.
/// How a queue read skips rows another transaction holds.
const SKIP_LOCKED: &str = " FOR UPDATE SKIP LOCKED";
const FOR_UPDATE: &str = " FOR NO KEY UPDATE";
/// Appends an audit event and moves the org's head to it, in one round trip
/// (a data-modifying `WITH` runs whether or not the query reads it).
const APPEND_EVENT: &str = "WITH appended AS ( \
     INSERT INTO events (org_id, seq, id, at, actor_id, action, subject_type, subject_id, payload, prev_hash, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)) \
     UPDATE orgs SET audit_hash = $11 WHERE id = $1";
/// The UTC day (`YYYY-MM-DD`) of a timestamp column, whatever the session's time zone.
fn day_of(column: &str) -> String {
    format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
}
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone, Debug)]
pub struct PgStore {
    reader: Pool<Postgres>,
    writer: Pool<Postgres>,
}

impl PgStore {
    /// Connects to a `postgres://` URL.
    pub async fn connect(url: &str) -> crate::Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Self {
            reader: pool.clone(),
            writer: pool,
        })
    }
}

type Tx = sqlx::Transaction<'static, Postgres>;

impl PgStore {
    async fn begin(&self) -> crate::Result<Tx> {
        Ok(self.writer.begin().await?)
    }

    async fn read(&self) -> crate::Result<sqlx::pool::PoolConnection<Postgres>> {
        Ok(self.reader.acquire().await?)
    }

    async fn run_migrations(&self) -> crate::Result<()> {
        // sqlx takes an advisory lock, so several nodes may start at once.
        MIGRATOR.run(&self.writer).await?;
        Ok(())
    }

    /// After a bulk import: fresh statistics, and the visibility map set, so
    /// that counts over the new rows (the cockpit's flow of work) read the
    /// indexes alone instead of every row, as they will once autovacuum has
    /// passed. VACUUM cannot run in a transaction, hence the simple protocol.
    async fn analyze(&self) -> crate::Result<()> {
        sqlx::raw_sql("VACUUM ANALYZE")
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    /// A check-in: the key result moves, the check-in is kept, the audit
    /// chain grows, in one transaction.
    async fn write_check_in(&self, ctx: &Ctx, check_in: &CheckIn) -> crate::Result<()> {
        let mut tx = self.begin().await?;
        // Moving the key result first also proves it exists in this org.
        let (baseline, target): (f64, f64) = sqlx::query_as(MOVE_KEY_RESULT)
            .bind(check_in.value)
            .bind(i64::from(check_in.confidence))
            .bind(ctx.now)
            .bind(check_in.key_result_id)
            .bind(ctx.org_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::not_found("key result"))?;
        sqlx::query(INSERT_CHECK_IN)
            .bind(check_in.id)
            .bind(ctx.org_id)
            .bind(check_in.key_result_id)
            .bind(check_in.value)
            .bind(i64::from(check_in.confidence))
            .bind(&check_in.note)
            .bind(check_in.author_id)
            .bind(ctx.now)
            .execute(&mut *tx)
            .await?;
        let progress =
            tutti_domain::strategy::key_result_progress(baseline, target, check_in.value);
        append_event(
            &mut tx,
            ctx,
            "check_in.created",
            "key_result",
            Some(check_in.key_result_id),
            json!({ "check_in": check_in, "progress": progress }),
        )
        .await?;
        commit_with_response(tx, ctx, 201, check_in).await
    }

    async fn actor_by_token_hash(&self, token_hash: &str) -> crate::Result<Option<Actor>> {
        load_actor(
            &mut *self.read().await?,
            ACTOR_BY_TOKEN,
            token_hash.to_owned(),
        )
        .await
    }

    async fn token_holder_of(&self, token_hash: &str) -> crate::Result<Option<TokenHolder>> {
        let row: Option<TokenHolderRow> = sqlx::query_as(TOKEN_HOLDER)
            .bind(token_hash)
            .fetch_optional(&mut *self.read().await?)
            .await?;
        row.map(token_holder_from_row).transpose()
    }

    async fn route_of(
        &self,
        org_id: Uuid,
        provider: &str,
        model: &str,
    ) -> crate::Result<ModelRoute> {
        load_route(&mut *self.read().await?, org_id, provider, model).await
    }

    /// Everything below (and including) the given objectives, with their key results.
    async fn forest_of(&self, org_id: Uuid, roots: &[Uuid]) -> crate::Result<ObjectiveForest> {
        let mut conn = self.read().await?;
        let sql = forest_sql(roots.len());
        let mut query = sqlx::query_as::<_, ObjectiveRow>(&sql).bind(org_id);
        for id in roots {
            query = query.bind(*id);
        }
        let objectives: Vec<Objective> = query
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .map(TryInto::try_into)
            .collect::<crate::Result<_>>()?;
        let mut key_results = Vec::new();
        for chunk in objectives.chunks(FOREST_CHUNK) {
            let sql = key_results_of_sql(chunk.len());
            let mut query = sqlx::query_as::<_, KeyResultRow>(&sql);
            for objective in chunk {
                query = query.bind(objective.id);
            }
            for row in query.fetch_all(&mut *conn).await? {
                key_results.push(row.try_into()?);
            }
        }
        Ok(ObjectiveForest {
            objectives,
            key_results,
        })
    }

    /// A gateway call's reservation (no work item: charged to the worker's
    /// first team), in one transaction.
    async fn write_call_reservation(
        &self,
        ctx: &Ctx,
        charge: &Charge,
    ) -> crate::Result<Reservation> {
        let mut tx = self.begin().await?;
        let reservation =
            open_reservation(&mut SqlxLedger(&mut tx), ctx, charge, charge.work_item_id).await?;
        tx.commit().await?;
        Ok(reservation)
    }

    /// A gateway call's settlement, in one transaction.
    async fn write_call_settlement(
        &self,
        ctx: &Ctx,
        reservation_id: Uuid,
        used: Tokens,
    ) -> crate::Result<Tokens> {
        let mut tx = self.begin().await?;
        let (settled, _) =
            close_reservation(&mut SqlxLedger(&mut tx), ctx, reservation_id, used).await?;
        tx.commit().await?;
        Ok(settled)
    }
}

// The implementation both backends share, one file per part of the contract.
include!("shared/common.rs");
include!("shared/store.rs");
include!("shared/directory.rs");
include!("shared/strategy.rs");
include!("shared/work.rs");
include!("shared/audit.rs");
include!("shared/providers.rs");
include!("shared/ledger.rs");
include!("shared/runs.rs");
include!("shared/decisions.rs");
include!("shared/sessions.rs");
include!("shared/alerts.rs");
include!("shared/figures.rs");
include!("shared/service.rs");
include!("shared/flows.rs");
include!("shared/routines.rs");
include!("shared/pulse.rs");
include!("shared/transfer.rs");
include!("shared/workforce.rs");
