//! The SQLite backend: the zero-configuration default, one file in WAL mode.
//!
//! Writes go through one connection, taken by one transaction at a time, and
//! start with `BEGIN IMMEDIATE`, so a transaction that reads before it writes
//! never meets a lock-upgrade conflict (another process writing the same file
//! waits on the busy timeout). Reads use a few connections of their own and
//! never wait for the writer.
//!
//! Connections are handed out by this module ([`WriteTx`], [`Lease`]) rather
//! than by sqlx's pool: the pool pings a connection on every release (a round trip to
//! the connection's thread) and the next acquire of the single write
//! connection waits for that ping. Measured here: an empty write transaction
//! took 125 µs through the pool; without it, a whole check-in takes less.
//!
//! Checkpoints: a background task moves the write-ahead log into the database
//! file every 20 ms (`PASSIVE`, so it never blocks a writer or a reader), and
//! the commit path only checkpoints itself as a backstop when the log passes
//! ~400 MB. Measured here: with SQLite's default of checkpointing in the commit
//! every 1000 pages, a commit averaged 225 µs, most of it the amortised copy
//! and fsyncs of those checkpoints. The interval is short because a
//! checkpoint's fsyncs stall the writer's appends to the log for as long as
//! they take, and they take as long as the checkpoint is big: with 32 clients
//! checking in, the p99 was 38 ms checkpointing every second, 22 ms every
//! 100 ms and 14–15 ms every 20 ms (9 ms on a RAM disk, where fsync is free).
//! A checkpoint with nothing to copy costs nothing.
//!
//! The backstop is high because under a steady stream of writes the log only
//! starts over from its beginning after a checkpoint the writer runs itself:
//! the background one never catches up with a log that grows while it copies.
//! That checkpoint stalls every writer for its copy and two fsyncs (5–10 ms
//! here), so it must be rare: with 32 clients checking in (~300 MB of log a
//! second), the check-in p99 was 13–14 ms with the backstop at ~40 MB, 11 ms
//! at 120 MB, 9 ms at 200 MB, 8–8.6 ms at 400 MB, and 7.9 ms with no backstop
//! at all. A log grown that large during a burst is cut back to nothing once
//! writes pause (`TRUNCATE`, under the writer lock, so no writer meets it);
//! SQLite's own `journal_size_limit` would cut it in the commit path instead,
//! which stalled check-ins for up to 140 ms.
//!
//! The hot write paths (a check-in, a gateway call's reservation and
//! settlement) run as one *direct* transaction ([`SqliteStore::write_direct`]):
//! rusqlite runs every statement on the caller's thread, from `BEGIN
//! IMMEDIATE` to `COMMIT`, on a second write connection of its own, instead
//! of going back and forth to a sqlx connection's thread for each one.
//! Measured here: each such round trip costs ~45 µs under load (two thread
//! wake-ups), and a check-in took six of them; SQLite itself needs ~130 µs
//! for the whole transaction. Both write connections are used only under the
//! one writer lock, so they never wait for each other. (Borrowing sqlx's own
//! handle through `SqliteConnection::lock_handle` instead hung under load:
//! a test of sixty concurrent reservations, run by three processes at once on
//! two cores, stalled for good in each of them within 1 to 18 runs, with
//! sqlx's thread waiting to take its handle back.)
//!
//! A gateway call's two writes go one step further
//! ([`SqliteStore::write_grouped`], group commit): those of concurrent calls
//! share one transaction, a savepoint each, so they share the log's pages;
//! with 32 clients the gateway went from ~5 000 to ~7 800 calls a second.
//!
//! The read every request makes (the actor behind a token), a gateway call's
//! reads (the member behind its token, and its model's route) and the hottest read of the API
//! (an objective with everything below it) run the same way
//! ([`SqliteStore::read_direct`], `sqlite/reads.rs`), on read connections
//! of their own; `GET /objectives/{id}` went from ~11 000 to ~21 500
//! requests a second with 32 clients.
//!
//! Durability: `synchronous = NORMAL` by default, which in WAL mode loses no
//! committed transaction when the process crashes or is killed, but may lose
//! the last ones on a power cut or kernel crash. `?synchronous=full` on the URL
//! makes every commit wait for the disk and survive those too, at the cost of
//! an fsync per write.

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::OptionalExtension;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Sqlite};
use tokio::sync::oneshot::error::TryRecvError;
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// A row struct read from a rusqlite row whose columns are named like its
/// fields, as the sqlx path's `#[derive(FromRow)]` reads it.
macro_rules! from_columns {
    ($row:expr => $Row:ident { $($field:ident),+ $(,)? }) => {
        Ok($Row { $($field: $row.get(stringify!($field))?),+ })
    };
}

mod ledger;
mod reads;

type Db = Sqlite;
type BackendStore = SqliteStore;
type Tx = WriteTx;

const BACKEND: &str = "sqlite";
/// SQLite locks the whole database for the writer; rows need no lock.
/// How a queue read skips rows another transaction holds.
const SKIP_LOCKED: &str = "";
const FOR_UPDATE: &str = "";
/// The UTC day (`YYYY-MM-DD`) of a timestamp column: SQLite keeps RFC 3339 text in UTC.
fn day_of(column: &str) -> String {
    format!("substr({column}, 1, 10)")
}
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
/// Appends an audit event and moves the org's head to it, in one round trip
/// to the connection's thread (SQLite runs the two statements of one query).
const APPEND_EVENT: &str = "INSERT INTO events (org_id, seq, id, at, actor_id, action, subject_type, subject_id, payload, prev_hash, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11); \
     UPDATE orgs SET audit_hash = $11 WHERE id = $1";
/// Readers: enough to overlap I/O, few enough not to crowd two cores.
const READERS: usize = 4;
/// Pages in the log before a commit checkpoints it itself (4 KiB pages).
const BACKSTOP_CHECKPOINT_PAGES: &str = "100000";
const CHECKPOINT_EVERY: Duration = Duration::from_millis(20);
/// A log file larger than this is truncated once writes pause.
const SHRINK_LOG_ABOVE: u64 = 64 << 20;
/// How long truncating the log waits for readers still in the log, holding
/// the writer lock; when they outlast it, it is tried again a second later.
const SHRINK_WAITS_FOR_READERS: Duration = Duration::from_millis(100);
/// How long a writer waits for another process's write transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// A direct read runs on the caller's thread, so its rare waits (another
/// connection recovering the log after a crash) are kept short.
const DIRECT_READ_BUSY_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct SqliteStore {
    reader: Arc<Connections>,
    /// Idle read connections for [`SqliteStore::read_direct`].
    direct_readers: Arc<std::sync::Mutex<Vec<rusqlite::Connection>>>,
    writer: Arc<tokio::sync::Mutex<WriteConnection>>,
    /// Writes waiting to be committed together ([`SqliteStore::write_grouped`]).
    grouped: Arc<std::sync::Mutex<GroupedWrites>>,
    options: SqliteConnectOptions,
}

/// A write of [`SqliteStore::write_grouped`]: run in the shared transaction,
/// it gives back what hands its outcome to its caller once committed.
type GroupedWrite = Box<dyn FnOnce(&rusqlite::Connection) -> Box<dyn FnOnce() + Send> + Send>;

/// A grouped write whose transaction failed before it committed.
fn uncommitted() -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(
        "the write transaction failed before it committed".into(),
    ))
}

/// The writes waiting for [`SqliteStore::write_grouped`]'s next transaction.
#[derive(Default)]
struct GroupedWrites(Vec<GroupedWrite>);

impl std::fmt::Debug for GroupedWrites {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} waiting writes", self.0.len())
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at a `sqlite:` URL.
    pub async fn connect(url: &str) -> crate::Result<Self> {
        let (url, synchronous) = durability(url)?;
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("wal_autocheckpoint", BACKSTOP_CHECKPOINT_PAGES);
        let conn = options.connect().await?;
        let direct = DirectConnection {
            path: options.get_filename().to_owned(),
            synchronous,
        };
        let writer = WriteConnection {
            direct_conn: Some(direct.open()?),
            direct,
            conn,
            in_transaction: false,
            generation: 0,
        };
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            readers.push(Arc::new(tokio::sync::Mutex::new(options.connect().await?)));
        }
        let store = Self {
            direct_readers: Arc::default(),
            reader: Arc::new(Connections {
                readers,
                free: Arc::new(Semaphore::new(READERS)),
            }),
            writer: Arc::new(tokio::sync::Mutex::new(writer)),
            grouped: Arc::default(),
            options,
        };
        let checkpointer = Checkpointer::connect(&store).await?;
        tokio::spawn(checkpointer.run_while_open(Arc::downgrade(&store.writer)));
        Ok(store)
    }

    async fn begin(&self) -> crate::Result<Tx> {
        let mut writer = Arc::clone(&self.writer).lock_owned().await;
        writer.roll_back_abandoned().await?;
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut writer.conn)
            .await?;
        writer.in_transaction = true;
        writer.generation += 1;
        Ok(WriteTx {
            writer,
            home: Arc::clone(&self.writer),
        })
    }

    /// Runs `work` as one write transaction whose statements go straight to
    /// SQLite through rusqlite on the caller's thread, on the store's second
    /// write connection: no round trip to a connection's thread per
    /// statement. The writer lock is held throughout, so this and the sqlx
    /// write connection never contend. `work` must not block on anything but
    /// SQLite. Its error rolls everything back.
    async fn write_direct<R>(
        &self,
        work: impl FnOnce(&rusqlite::Connection) -> crate::Result<R>,
    ) -> crate::Result<R> {
        let writer = self.writer.lock().await;
        Self::write_locked(writer, work).await
    }

    /// [`Self::write_direct`] for writes that commit together with those
    /// waiting at the same time (group commit): whoever takes the writer lock
    /// runs every waiting write in one transaction, each in a savepoint of
    /// its own, so one write's error undoes only that write. Each caller
    /// learns its outcome once the transaction has committed. Concurrent
    /// gateway calls then share pages in the log instead of writing them each.
    ///
    /// A caller that goes away before its write ran has nothing written. One
    /// that goes away after (in the instant between its write and the commit)
    /// leaves a committed result nobody receives: `abandoned` gets it, to
    /// undo what it holds.
    async fn write_grouped<R: Send + 'static>(
        &self,
        work: impl FnOnce(&rusqlite::Connection) -> crate::Result<R> + Send + 'static,
        abandoned: impl FnOnce(R) + Send + 'static,
    ) -> crate::Result<R> {
        let (outcome, mut told) = tokio::sync::oneshot::channel();
        let write: GroupedWrite = Box::new(move |db| {
            if outcome.is_closed() {
                return Box::new(|| {});
            }
            // Cached: parsed once per connection, not once per write.
            let run = |sql: &str| db.prepare_cached(sql).and_then(|mut s| s.execute([]));
            let result = run("SAVEPOINT grouped")
                .map_err(StoreError::from)
                .and_then(|_| work(db));
            let ended = match result {
                Ok(_) => run("RELEASE grouped"),
                Err(_) => run("ROLLBACK TO grouped").and_then(|_| run("RELEASE grouped")),
            };
            let result = ended.map_err(StoreError::from).and(result);
            Box::new(move || {
                if let Err(Ok(unreceived)) = outcome.send(result) {
                    abandoned(unreceived);
                }
            })
        });
        self.grouped_writes().0.push(write);
        let writer = self.writer.lock().await;
        match told.try_recv() {
            // An earlier holder of the lock wrote it, or could not.
            Ok(result) => return result,
            Err(TryRecvError::Closed) => return Err(uncommitted()),
            Err(TryRecvError::Empty) => {}
        }
        self.commit_waiting(writer).await;
        told.await.unwrap_or_else(|_| Err(uncommitted()))
    }

    /// Runs every waiting grouped write in one transaction, then tells each
    /// caller its outcome.
    async fn commit_waiting(&self, writer: tokio::sync::MutexGuard<'_, WriteConnection>) {
        // Taken only once the transaction has begun: a holder cancelled while
        // waiting for the file's lock leaves the writes to the next one.
        let mut taken = false;
        let tells = Self::write_locked(writer, |db| {
            taken = true;
            let writes = std::mem::take(&mut self.grouped_writes().0);
            Ok(writes
                .into_iter()
                .map(|write| write(db))
                .collect::<Vec<_>>())
        })
        .await;
        if !taken {
            // The transaction could not begin: every waiting write fails with it.
            drop(std::mem::take(&mut self.grouped_writes().0));
        }
        for tell in tells.into_iter().flatten() {
            tell();
        }
    }

    fn grouped_writes(&self) -> std::sync::MutexGuard<'_, GroupedWrites> {
        self.grouped
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    async fn write_locked<R>(
        mut writer: tokio::sync::MutexGuard<'_, WriteConnection>,
        work: impl FnOnce(&rusqlite::Connection) -> crate::Result<R>,
    ) -> crate::Result<R> {
        // An abandoned sqlx transaction still holds the file's write lock.
        writer.roll_back_abandoned().await?;
        let db = match writer.direct_conn.take() {
            Some(db) => db,
            None => writer.direct.open()?,
        };
        // The connection's busy timeout is zero: only another process can hold
        // the write lock here, and its wait must not block this thread, which
        // runs other tasks. Then the wait happens on a blocking thread.
        let db = match db.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => db,
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                // Cancelled while waiting, the connection is closed when the
                // wait ends, which rolls back what it began; the next writer
                // opens a new one.
                tokio::task::spawn_blocking(move || begin_waiting(db))
                    .await
                    .map_err(|e| {
                        StoreError::Database(sqlx::Error::Protocol(format!(
                            "waiting for the write lock failed: {e}"
                        )))
                    })??
            }
            Err(e) => {
                writer.direct_conn = Some(db);
                return Err(e.into());
            }
        };
        // Nothing below awaits, so the transaction cannot be abandoned half-way.
        let done = work(&db).and_then(|value| {
            db.execute_batch("COMMIT")?;
            Ok(value)
        });
        if done.is_err()
            && !db.is_autocommit()
            && let Err(e) = db.execute_batch("ROLLBACK")
        {
            tracing::error!("rolling back a failed write transaction failed: {e}");
            // Closing the connection rolls it back; the next writer opens another.
            return done;
        }
        writer.direct_conn = Some(db);
        done
    }

    /// A check-in: the key result moves, the check-in is kept, the audit
    /// chain grows, in one direct transaction (the API's hottest write).
    async fn write_check_in(&self, ctx: &Ctx, check_in: &CheckIn) -> crate::Result<()> {
        self.write_direct(|db| {
            let moved = bind_numbered(
                db,
                MOVE_KEY_RESULT,
                &[
                    sqlite_value(&check_in.value)?,
                    sqlite_value(&i64::from(check_in.confidence))?,
                    sqlite_value(&ctx.now)?,
                    sqlite_value(&check_in.key_result_id)?,
                    sqlite_value(&ctx.org_id)?,
                ],
            )?;
            let moved = first_row(moved, |row| {
                Ok((row.get::<_, f64>(0)?, row.get::<_, f64>(1)?))
            })?;
            let (baseline, target) = moved.ok_or(StoreError::not_found("key result"))?;
            bind_numbered(
                db,
                INSERT_CHECK_IN,
                &[
                    sqlite_value(&check_in.id)?,
                    sqlite_value(&ctx.org_id)?,
                    sqlite_value(&check_in.key_result_id)?,
                    sqlite_value(&check_in.value)?,
                    sqlite_value(&i64::from(check_in.confidence))?,
                    sqlite_value(&check_in.note)?,
                    sqlite_value(&check_in.author_id)?,
                    sqlite_value(&ctx.now)?,
                ],
            )?
            .raw_execute()?;
            let progress =
                tutti_domain::strategy::key_result_progress(baseline, target, check_in.value);
            append_event_direct(
                db,
                ctx,
                "check_in.created",
                "key_result",
                Some(check_in.key_result_id),
                json!({ "check_in": check_in, "progress": progress }),
            )?;
            keep_response_direct(db, ctx, 201, check_in)
        })
        .await
    }

    async fn read(&self) -> crate::Result<Lease> {
        self.reader.lease().await
    }

    async fn run_migrations(&self) -> crate::Result<()> {
        // Hold the write connection so no transaction runs meanwhile; migrate
        // through a short-lived pool, which is what sqlx's migrator takes.
        let _writer = self.writer.lock().await;
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(self.options.clone())
            .await?;
        let migrated = MIGRATOR.run(&pool).await;
        pool.close().await;
        migrated?;
        Ok(())
    }

    /// After a bulk import: fresh statistics, and the import moved out of the
    /// log at once rather than by the next commits.
    async fn analyze(&self) -> crate::Result<()> {
        let mut writer = self.writer.lock().await;
        writer.roll_back_abandoned().await?;
        sqlx::query("ANALYZE").execute(&mut writer.conn).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut writer.conn)
            .await?;
        Ok(())
    }
}

/// The background checkpointer: moves the log into the database every
/// [`CHECKPOINT_EVERY`], and truncates a log file grown past
/// [`SHRINK_LOG_ABOVE`] once writes pause.
struct Checkpointer {
    conn: SqliteConnection,
    log_path: std::path::PathBuf,
    /// Frames in the log at the last tick, when all of them were copied.
    frames_before: Option<i64>,
    next_shrink: tokio::time::Instant,
}

impl Checkpointer {
    async fn connect(store: &SqliteStore) -> crate::Result<Self> {
        // The store's usual busy timeout while connecting; a short one after,
        // for truncating the log, which waits on readers holding the writer lock.
        let mut conn = store.options.connect().await?;
        sqlx::query(&format!(
            "PRAGMA busy_timeout = {}",
            SHRINK_WAITS_FOR_READERS.as_millis()
        ))
        .execute(&mut conn)
        .await?;
        Ok(Self {
            conn,
            log_path: format!("{}-wal", store.options.get_filename().display()).into(),
            frames_before: None,
            next_shrink: tokio::time::Instant::now(),
        })
    }

    /// Ticks until the store is dropped.
    async fn run_while_open(mut self, store: std::sync::Weak<tokio::sync::Mutex<WriteConnection>>) {
        let mut ticks = tokio::time::interval(CHECKPOINT_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(writer) = store.upgrade() else { break };
            self.tick(&writer).await;
        }
        let _ = sqlx::Connection::close(self.conn).await;
    }

    /// One checkpoint, and the truncation when writes have paused since the
    /// last tick: everything copied, and nothing new since.
    async fn tick(&mut self, writer: &tokio::sync::Mutex<WriteConnection>) {
        // (busy, frames in the log, frames copied into the database)
        let checkpoint: Result<(i64, i64, i64), _> =
            sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
                .fetch_one(&mut self.conn)
                .await;
        let frames = match checkpoint {
            Ok((_, frames, copied)) => (frames == copied).then_some(frames),
            Err(e) => {
                tracing::warn!(
                    "background checkpoint failed (the commit path will checkpoint instead): {e}"
                );
                None
            }
        };
        let paused = frames.is_some() && frames == self.frames_before;
        self.frames_before = frames;
        if !paused || tokio::time::Instant::now() < self.next_shrink {
            return;
        }
        let oversized = std::fs::metadata(&self.log_path).is_ok_and(|m| m.len() > SHRINK_LOG_ABOVE);
        if !oversized {
            return;
        }
        let mut writer = writer.lock().await;
        let truncated = truncate_log(&mut writer, &mut self.conn).await;
        drop(writer);
        match truncated {
            Ok(true) => self.frames_before = None,
            Ok(false) => self.next_shrink = tokio::time::Instant::now() + Duration::from_secs(1),
            Err(e) => {
                tracing::warn!("truncating the write-ahead log failed: {e}");
                self.next_shrink = tokio::time::Instant::now() + Duration::from_secs(1);
            }
        }
    }
}

/// Copies the whole log into the database and truncates it, holding the
/// writer lock so that no writer waits on SQLite's lock meanwhile. False when
/// readers still in the log outlasted [`SHRINK_WAITS_FOR_READERS`].
async fn truncate_log(
    writer: &mut WriteConnection,
    checkpointer: &mut SqliteConnection,
) -> crate::Result<bool> {
    writer.roll_back_abandoned().await?;
    let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
        .fetch_one(checkpointer)
        .await?;
    Ok(busy == 0)
}

/// The one write connection; `generation` tells transactions apart.
#[derive(Debug)]
struct WriteConnection {
    conn: SqliteConnection,
    /// The second write connection, for [`SqliteStore::write_direct`]; none
    /// after a transaction on it was abandoned, until the next one opens it.
    direct_conn: Option<rusqlite::Connection>,
    direct: DirectConnection,
    /// A transaction is open: a live one, or one whose `WriteTx` was dropped
    /// without commit and whose rollback has not run yet.
    in_transaction: bool,
    generation: u64,
}

impl WriteConnection {
    async fn roll_back_abandoned(&mut self) -> crate::Result<()> {
        if self.in_transaction {
            sqlx::query("ROLLBACK").execute(&mut self.conn).await?;
            self.in_transaction = false;
        }
        Ok(())
    }
}

/// A write transaction holding the write connection. Dropped without
/// [`WriteTx::commit`], it is rolled back by a task of its own, or by the next
/// transaction if that takes the connection first.
pub struct WriteTx {
    writer: OwnedMutexGuard<WriteConnection>,
    home: Arc<tokio::sync::Mutex<WriteConnection>>,
}

impl WriteTx {
    pub async fn commit(mut self) -> crate::Result<()> {
        sqlx::query("COMMIT").execute(&mut self.writer.conn).await?;
        self.writer.in_transaction = false;
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if !self.writer.in_transaction {
            return;
        }
        let abandoned = self.writer.generation;
        let home = Arc::clone(&self.home);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let mut writer = home.lock().await;
                // Only this transaction: a later one may hold the connection by now.
                if writer.generation == abandoned
                    && let Err(e) = writer.roll_back_abandoned().await
                {
                    tracing::error!("rolling back an abandoned write transaction failed: {e}");
                }
            });
        }
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.writer.conn
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.writer.conn
    }
}

/// The read connections, each lent to one reader at a time.
#[derive(Debug)]
struct Connections {
    readers: Vec<Arc<tokio::sync::Mutex<SqliteConnection>>>,
    /// One permit per connection, so a permit means a connection is free.
    free: Arc<Semaphore>,
}

impl Connections {
    async fn lease(&self) -> crate::Result<Lease> {
        let permit = Arc::clone(&self.free)
            .acquire_owned()
            .await
            .map_err(|_| crate::StoreError::Database(sqlx::Error::PoolClosed))?;
        for reader in &self.readers {
            if let Ok(conn) = Arc::clone(reader).try_lock_owned() {
                return Ok(Lease {
                    conn,
                    _permit: permit,
                });
            }
        }
        // Unreachable while every lease holds a permit and a lock, but waiting
        // is a safe answer if it ever were not.
        let first = self
            .readers
            .first()
            .ok_or(crate::StoreError::Database(sqlx::Error::PoolClosed))?;
        Ok(Lease {
            conn: Arc::clone(first).lock_owned().await,
            _permit: permit,
        })
    }
}

/// A read connection on loan; it goes back when dropped (the lock before the
/// permit, by field order).
pub struct Lease {
    conn: OwnedMutexGuard<SqliteConnection>,
    _permit: OwnedSemaphorePermit,
}

impl Deref for Lease {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.conn
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

/// How to open the second write connection, with the settings sqlx gives
/// its own connections.
#[derive(Debug)]
struct DirectConnection {
    path: std::path::PathBuf,
    synchronous: SqliteSynchronous,
}

impl DirectConnection {
    fn open(&self) -> crate::Result<rusqlite::Connection> {
        let db = rusqlite::Connection::open(&self.path)?;
        let synchronous = match self.synchronous {
            SqliteSynchronous::Off => "OFF",
            SqliteSynchronous::Normal => "NORMAL",
            SqliteSynchronous::Full => "FULL",
            SqliteSynchronous::Extra => "EXTRA",
        };
        db.execute_batch(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = {synchronous}; \
             PRAGMA wal_autocheckpoint = {BACKSTOP_CHECKPOINT_PAGES};"
        ))?;
        db.busy_timeout(Duration::ZERO)?;
        Ok(db)
    }
}

/// `BEGIN IMMEDIATE` that waits up to [`BUSY_TIMEOUT`] for another process's
/// write transaction; for a blocking thread. On failure the connection is
/// closed, which rolls back anything it began.
fn begin_waiting(db: rusqlite::Connection) -> crate::Result<rusqlite::Connection> {
    db.busy_timeout(BUSY_TIMEOUT)?;
    let began = db.execute_batch("BEGIN IMMEDIATE");
    db.busy_timeout(Duration::ZERO)?;
    began?;
    Ok(db)
}

/// `sql` prepared (and cached) with its `$n` parameters bound to `values`
/// by number, as sqlx binds them, so one SQL text serves both paths. Values
/// no parameter names are left unused, as sqlx leaves them.
fn bind_numbered<'c>(
    db: &'c rusqlite::Connection,
    sql: &str,
    values: &[rusqlite::types::Value],
) -> crate::Result<rusqlite::CachedStatement<'c>> {
    let mut statement = db.prepare_cached(sql)?;
    for index in 1..=statement.parameter_count() {
        let value = statement
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$'))
            .and_then(|number| number.parse::<usize>().ok())
            .and_then(|number| values.get(number.checked_sub(1)?))
            .ok_or_else(|| {
                StoreError::Database(sqlx::Error::Protocol(format!(
                    "parameter {index} of a direct statement has no value: {sql}"
                )))
            })?;
        statement.raw_bind_parameter(index, value)?;
    }
    Ok(statement)
}

/// The first row of a statement, read by `read`; none if it has none.
fn first_row<T>(
    mut statement: rusqlite::CachedStatement<'_>,
    read: impl FnOnce(&rusqlite::Row) -> rusqlite::Result<T>,
) -> crate::Result<Option<T>> {
    let mut rows = statement.raw_query();
    Ok(match rows.next()? {
        Some(row) => Some(read(row)?),
        None => None,
    })
}

/// A value as sqlx stores it (UUIDs as blobs, times as RFC 3339 text), so a
/// direct statement writes exactly what the rest of the store reads.
fn sqlite_value<'q, T: sqlx::Encode<'q, Sqlite>>(
    value: &T,
) -> crate::Result<rusqlite::types::Value> {
    use rusqlite::types::Value;
    use sqlx::sqlite::SqliteArgumentValue as Encoded;
    let mut buffer = Vec::with_capacity(1);
    let is_null = value
        .encode_by_ref(&mut buffer)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode a value: {e}")))?;
    Ok(match (is_null, buffer.pop()) {
        (sqlx::encode::IsNull::Yes, _) | (_, None | Some(Encoded::Null)) => Value::Null,
        (_, Some(Encoded::Text(text))) => Value::Text(text.into_owned()),
        (_, Some(Encoded::Blob(blob))) => Value::Blob(blob.into_owned()),
        (_, Some(Encoded::Double(number))) => Value::Real(number),
        (_, Some(Encoded::Int(number))) => Value::Integer(i64::from(number)),
        (_, Some(Encoded::Int64(number))) => Value::Integer(number),
    })
}

/// [`append_event`] for a direct transaction: the same event, the same chain.
fn append_event_direct(
    db: &rusqlite::Connection,
    ctx: &Ctx,
    action: &str,
    subject_type: &str,
    subject_id: Option<Uuid>,
    payload: serde_json::Value,
) -> Result<()> {
    let (seq, prev_hash): (i64, String) = db
        .prepare_cached(TAKE_AUDIT_SEQ)?
        .query_row([sqlite_value(&ctx.org_id)?], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?
        .ok_or(StoreError::not_found("org"))?;
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
    db.prepare_cached(
        "INSERT INTO events (org_id, seq, id, at, actor_id, action, subject_type, subject_id, payload, prev_hash, hash) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(rusqlite::params_from_iter([
        sqlite_value(&ctx.org_id)?,
        sqlite_value(&seq)?,
        sqlite_value(&id)?,
        sqlite_value(&at)?,
        sqlite_value(&ctx.actor_id)?,
        sqlite_value(&action)?,
        sqlite_value(&subject_type)?,
        sqlite_value(&subject_id)?,
        sqlite_value(&canonical_json(&payload))?,
        sqlite_value(&prev_hash)?,
        sqlite_value(&hash)?,
    ]))?;
    db.prepare_cached("UPDATE orgs SET audit_hash = ?1 WHERE id = ?2")?
        .execute([sqlite_value(&hash)?, sqlite_value(&ctx.org_id)?])?;
    Ok(())
}

/// [`commit_with_response`]'s idempotency record for a direct transaction (the commit is
/// [`SqliteStore::write_direct`]'s).
fn keep_response_direct<T: Serialize>(
    db: &rusqlite::Connection,
    ctx: &Ctx,
    status: u16,
    value: &T,
) -> Result<()> {
    let (Some(key), Some(member_id)) = (&ctx.idempotency, ctx.actor_id) else {
        return Ok(());
    };
    let body = serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode response: {e}")))?;
    let kept = db
        .prepare_cached(
            "INSERT INTO idempotency_keys (org_id, member_id, key, request_hash, status, body, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(rusqlite::params_from_iter([
            sqlite_value(&ctx.org_id)?,
            sqlite_value(&member_id)?,
            sqlite_value(&key.key)?,
            sqlite_value(&key.request_hash)?,
            sqlite_value(&i64::from(status))?,
            sqlite_value(&body)?,
            sqlite_value(&ctx.now)?,
        ]));
    match kept {
        Err(e) if is_unique_violation(&e) => Err(StoreError::IdempotencyRace),
        other => {
            other?;
            Ok(())
        }
    }
}

fn is_unique_violation(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _)
        if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
            || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// Takes our own `synchronous=normal|full` parameter off the URL.
fn durability(url: &str) -> crate::Result<(String, SqliteSynchronous)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), SqliteSynchronous::Normal));
    };
    let mut synchronous = SqliteSynchronous::Normal;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("synchronous", "normal")) => synchronous = SqliteSynchronous::Normal,
            Some(("synchronous", "full")) => synchronous = SqliteSynchronous::Full,
            Some(("synchronous", other)) => {
                return Err(crate::StoreError::invalid(
                    "database_url",
                    format!("synchronous={other}: expected normal or full"),
                ));
            }
            _ => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((url, synchronous))
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

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;
    use crate::prelude::*;

    #[test]
    fn durability_is_read_off_the_url() {
        assert_eq!(
            durability("sqlite:a.db").unwrap(),
            ("sqlite:a.db".into(), SqliteSynchronous::Normal)
        );
        let (url, sync) = durability("sqlite:a.db?synchronous=full&mode=rwc").unwrap();
        assert_eq!(
            (url.as_str(), sync),
            ("sqlite:a.db?mode=rwc", SqliteSynchronous::Full)
        );
        assert!(durability("sqlite:a.db?synchronous=sometimes").is_err());
    }

    /// A burst of writes leaves a log file far larger than SQLite shrinks on
    /// its own; once writes pause, the background checkpointer cuts it back,
    /// and nothing written is lost.
    #[tokio::test]
    async fn a_large_log_is_truncated_once_writes_pause() {
        use crate::Store;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("burst.db");
        let store = SqliteStore::connect(&format!("sqlite:{}", path.display()))
            .await
            .unwrap();
        store.migrate().await.unwrap();
        let log = dir.path().join("burst.db-wal");
        let log_size = || std::fs::metadata(&log).map_or(0, |m| m.len());

        let mut tx = store.begin().await.unwrap();
        sqlx::query(
            "CREATE TABLE ballast (b BLOB); \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 80) \
             INSERT INTO ballast SELECT randomblob(1048576) FROM n",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        // The transaction spilled its pages into the log; the checkpointer
        // cannot truncate it while this transaction holds the writer lock.
        assert!(log_size() > SHRINK_LOG_ABOVE, "log: {} bytes", log_size());
        tx.commit().await.unwrap();

        // Two ticks of a checkpointer like the background one: the first
        // copies the log, the second sees that nothing came since and cuts it.
        // (The background one may get there first; either way, it is cut.)
        let mut checkpointer = Checkpointer::connect(&store).await.unwrap();
        checkpointer.tick(&store.writer).await;
        checkpointer.tick(&store.writer).await;
        assert!(
            log_size() <= SHRINK_LOG_ABOVE,
            "the log still holds {} bytes",
            log_size()
        );
        let mut reader = store.read().await.unwrap();
        let (rows, bytes): (i64, i64) =
            sqlx::query_as("SELECT count(*), sum(length(b)) FROM ballast")
                .fetch_one(&mut *reader)
                .await
                .unwrap();
        assert_eq!((rows, bytes), (80, 80 << 20));
    }

    /// A store with a table of numbers.
    async fn numbers() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("grouped.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        store
            .write_direct(|db| Ok(db.execute_batch("CREATE TABLE numbers (n INTEGER)")?))
            .await
            .unwrap();
        (dir, store)
    }

    /// A write of one number that fails after writing it when `refuse` is set.
    fn number(
        n: i64,
        refuse: bool,
    ) -> impl FnOnce(&rusqlite::Connection) -> crate::Result<i64> + Send {
        move |db| {
            db.execute("INSERT INTO numbers VALUES (?1)", [n])?;
            if refuse {
                return Err(StoreError::invalid("n", "refused"));
            }
            Ok(n)
        }
    }

    fn numbers_written(store: &SqliteStore) -> Vec<i64> {
        store
            .read_direct(|db| {
                let mut query = db.prepare("SELECT n FROM numbers ORDER BY n")?;
                let rows = query.query_map([], |row| row.get(0))?;
                Ok(rows.collect::<rusqlite::Result<Vec<i64>>>()?)
            })
            .unwrap()
    }

    /// Returns once `count` grouped writes wait for the writer.
    async fn until_waiting(store: &SqliteStore, count: usize) {
        let waiting = async {
            while store.grouped_writes().0.len() < count {
                tokio::task::yield_now().await;
            }
        };
        let waited = tokio::time::timeout(Duration::from_secs(10), waiting).await;
        assert!(waited.is_ok(), "{count} writes never came to wait");
    }

    /// Writes waiting together commit together: one write's error undoes only
    /// that write, each caller hears its own outcome, and a caller gone before
    /// its write ran has nothing written.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiting_writes_commit_together_and_fail_alone() {
        let (_dir, store) = numbers().await;
        let held = store.writer.lock().await;
        let write = |n, refuse| {
            let store = store.clone();
            tokio::spawn(async move { store.write_grouped(number(n, refuse), |_| {}).await })
        };
        let first = write(1, false);
        until_waiting(&store, 1).await;
        let gone = write(2, false);
        until_waiting(&store, 2).await;
        gone.abort();
        assert!(gone.await.unwrap_err().is_cancelled());
        let refused = write(3, true);
        let last = write(4, false);
        until_waiting(&store, 4).await;
        drop(held);

        assert_eq!(first.await.unwrap().unwrap(), 1);
        let refusal = refused.await.unwrap();
        assert!(
            matches!(&refusal, Err(StoreError::Invalid(e)) if e.field == "n"),
            "{refusal:?}"
        );
        assert_eq!(last.await.unwrap().unwrap(), 4);
        assert_eq!(numbers_written(&store), vec![1, 4]);
        assert_eq!(store.grouped_writes().0.len(), 0);
    }

    /// A caller that goes away after its write ran, but before the commit,
    /// cannot hear of it: its `abandoned` gets the committed result.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_whose_caller_went_away_after_it_ran_is_handed_to_abandoned() {
        type Waiting = std::pin::Pin<Box<dyn Future<Output = crate::Result<i64>> + Send>>;
        let (_dir, store) = numbers().await;
        let held = store.writer.lock().await;

        // The first caller's future is polled once here, so that its write
        // waits; the second write drops it: after the first ran, before the
        // commit.
        let abandoned = Arc::new(std::sync::Mutex::new(Vec::new()));
        let first: Waiting = {
            let (store, abandoned) = (store.clone(), Arc::clone(&abandoned));
            Box::pin(async move {
                store
                    .write_grouped(number(1, false), move |n| {
                        abandoned.lock().unwrap().push(n);
                    })
                    .await
            })
        };
        let first = Arc::new(std::sync::Mutex::new(Some(first)));
        let waits = std::future::poll_fn(|cx| {
            let mut first = first.lock().unwrap();
            std::task::Poll::Ready(first.as_mut().unwrap().as_mut().poll(cx).is_pending())
        })
        .await;
        assert!(waits, "the first write should wait for the writer");
        let second = {
            let (store, first) = (store.clone(), Arc::clone(&first));
            tokio::spawn(async move {
                store
                    .write_grouped(
                        move |db| {
                            drop(first.lock().unwrap().take());
                            number(2, false)(db)
                        },
                        |_| {},
                    )
                    .await
            })
        };
        until_waiting(&store, 2).await;
        // BackendStore test holds the writer, so it commits the waiting writes itself:
        // the lock is never handed to the first caller, whose future nobody polls.
        store.commit_waiting(held).await;

        assert_eq!(second.await.unwrap().unwrap(), 2);
        assert_eq!(numbers_written(&store), vec![1, 2]);
        assert_eq!(*abandoned.lock().unwrap(), vec![1]);
    }

    /// Another process holding the write lock makes a check-in wait, on
    /// sqlx's worker thread: this runtime's one thread keeps running tasks.
    #[tokio::test]
    async fn a_check_in_waits_for_another_writer_without_blocking_the_runtime() {
        use crate::{NewCheckIn, NewKeyResult, NewMember, NewObjective, Store};
        use tutti_domain::org::{MemberKind, Role};

        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("busy.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let owner = NewMember {
            kind: MemberKind::Human,
            name: "Kai".into(),
            email: None,
            role: Role::Owner,
            teams: vec![],
            role_card: None,
            provider: None,
            model: None,
        };
        let now: chrono::DateTime<chrono::Utc> = "2026-11-16T08:00:00Z".parse().unwrap();
        let (org, owner) = store.create_org("Krüger", "EUR", owner, now).await.unwrap();
        let ctx = Ctx::new(org.id, Some(owner.id), now);
        let objective = NewObjective {
            title: "Wartung pünktlich".into(),
            why: String::new(),
            owner_id: None,
            team_id: None,
            period_start: now.date_naive(),
            period_end: now.date_naive(),
            parent_id: None,
        };
        let objective = store.create_objective(&ctx, objective).await.unwrap();
        let key_result = NewKeyResult {
            title: "Termine eingehalten".into(),
            baseline: 0.0,
            target: 100.0,
            current: None,
            unit: "%".into(),
            confidence: 5,
        };
        let key_result = store
            .create_key_result(&ctx, objective.id, key_result)
            .await
            .unwrap();

        let mut other_process = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .connect()
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut other_process)
            .await
            .unwrap();
        let check_in = tokio::spawn({
            let store = store.clone();
            let ctx = ctx.clone();
            let new = NewCheckIn {
                value: 40.0,
                confidence: 7,
                note: String::new(),
            };
            async move { store.create_check_in(&ctx, key_result.id, new).await }
        });
        // A window, not a wait for a condition: the check-in must still be
        // waiting at its end, and this runtime's only thread must have been free
        // to end it (blocked, it would be stuck for the 10 s busy timeout).
        let started = std::time::Instant::now();
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the runtime was blocked"
        );
        assert!(
            !check_in.is_finished(),
            "the check-in did not wait for the lock"
        );
        sqlx::query("COMMIT")
            .execute(&mut other_process)
            .await
            .unwrap();
        check_in.await.unwrap().unwrap();
        assert_eq!(
            store
                .key_result(org.id, key_result.id)
                .await
                .unwrap()
                .current,
            40.0
        );
        assert_eq!(store.verify_chain(org.id).await.unwrap(), Ok(5));
    }
}
