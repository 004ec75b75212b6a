//! The SQLite backend: the zero-configuration default, one file in WAL mode.
//!
//! Writes go through one connection, taken by one transaction at a time, and
//! start with `BEGIN IMMEDIATE`, so a transaction that reads before it writes
//! never meets a lock-upgrade conflict (another process writing the same file
//! waits on the busy timeout). Reads use a few connections of their own and
//! never wait for the writer.
//!
//! Connections are handed out by [`Connections`] and [`Writer`] rather than by
//! sqlx's pool: the pool pings a connection on every release (a round trip to
//! the connection's thread) and the next acquire of the single write
//! connection waits for that ping. Measured here: an empty write transaction
//! took 125 µs through the pool; without it, a whole check-in takes less.
//!
//! Checkpoints: a background task moves the write-ahead log into the database
//! file ten times a second (`PASSIVE`, so it never blocks a writer or a reader), and
//! the commit path only checkpoints itself as a backstop when the log passes
//! ~40 MB. Measured here: with SQLite's default of checkpointing in the commit
//! every 1000 pages, a commit averaged 225 µs, most of it the amortised copy
//! and fsyncs of those checkpoints.
//!
//! Durability: `synchronous = NORMAL` by default, which in WAL mode loses no
//! committed transaction when the process crashes or is killed, but may lose
//! the last ones on a power cut or kernel crash. `?synchronous=full` on the URL
//! makes every commit wait for the disk and survive those too, at the cost of
//! an fsync per write.

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Sqlite};
use tokio::sync::{OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

type Db = Sqlite;
type This = SqliteStore;
type Tx = WriteTx;

const BACKEND: &str = "sqlite";
/// SQLite locks the whole database for the writer; rows need no lock.
const FOR_UPDATE: &str = "";
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
/// Readers: enough to overlap I/O, few enough not to crowd two cores.
const READERS: usize = 4;
/// Pages in the log before a commit checkpoints it itself (4 KiB pages).
const BACKSTOP_CHECKPOINT_PAGES: &str = "10000";
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

#[derive(Clone, Debug)]
pub struct SqliteStore {
    reader: Arc<Connections>,
    writer: Writer,
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
            .busy_timeout(Duration::from_secs(10))
            .pragma("wal_autocheckpoint", BACKSTOP_CHECKPOINT_PAGES);
        let writer = options.connect().await?;
        let checkpointer = options.connect().await?;
        let store = Self {
            reader: Arc::new(Connections {
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(READERS)),
                options,
            }),
            writer: Writer(Arc::new(tokio::sync::Mutex::new(writer))),
        };
        tokio::spawn(checkpoint_while_open(
            Arc::downgrade(&store.writer.0),
            checkpointer,
        ));
        Ok(store)
    }

    async fn begin(&self) -> crate::Result<Tx> {
        let mut conn = Arc::clone(&self.writer.0).lock_owned().await;
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await?;
        Ok(WriteTx { conn: Some(conn) })
    }

    async fn read(&self) -> crate::Result<Lease> {
        self.reader.lease().await
    }

    async fn run_migrations(&self) -> crate::Result<()> {
        // Hold the write connection so no transaction runs meanwhile; migrate
        // through a short-lived pool, which is what sqlx's migrator takes.
        let _writer = self.writer.0.lock().await;
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(self.reader.options.clone())
            .await?;
        let migrated = MIGRATOR.run(&pool).await;
        pool.close().await;
        migrated?;
        Ok(())
    }

    /// After a bulk import: fresh statistics, and the import moved out of the
    /// log at once rather than by the next commits.
    async fn analyze(&self) -> crate::Result<()> {
        let mut conn = self.writer.0.lock().await;
        sqlx::query("ANALYZE").execute(&mut *conn).await?;
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await?;
        Ok(())
    }
}

/// Checkpoints the log every [`CHECKPOINT_EVERY`] until the store is dropped.
async fn checkpoint_while_open(
    store: std::sync::Weak<tokio::sync::Mutex<SqliteConnection>>,
    mut conn: SqliteConnection,
) {
    let mut ticks = tokio::time::interval(CHECKPOINT_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if store.strong_count() == 0 {
            break;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut conn)
            .await
        {
            tracing::warn!(
                "background checkpoint failed (the commit path will checkpoint instead): {e}"
            );
        }
    }
    let _ = sqlx::Connection::close(conn).await;
}

/// The one write connection.
#[derive(Clone, Debug)]
struct Writer(Arc<tokio::sync::Mutex<SqliteConnection>>);

/// A write transaction holding the write connection. Dropped without
/// [`WriteTx::commit`], it rolls back before anyone else can write.
pub struct WriteTx {
    conn: Option<OwnedMutexGuard<SqliteConnection>>,
}

impl WriteTx {
    pub async fn commit(mut self) -> crate::Result<()> {
        if let Some(conn) = self.conn.as_mut() {
            sqlx::query("COMMIT").execute(&mut **conn).await?;
        }
        // Committed: nothing left to roll back.
        self.conn = None;
        Ok(())
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        // Still holding the connection's lock, so no other transaction starts
        // before the rollback.
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if let Err(e) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                        tracing::error!("rolling back an abandoned write transaction failed: {e}");
                    }
                });
            }
            Err(_) => tracing::error!("a write transaction was abandoned outside a runtime"),
        }
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        match &self.conn {
            Some(conn) => conn,
            None => unreachable_connection(),
        }
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match &mut self.conn {
            Some(conn) => conn,
            None => unreachable_connection(),
        }
    }
}

/// `conn` is only `None` after `commit` consumed the transaction or `drop`
/// ran, and neither leaves a `WriteTx` to deref.
#[allow(clippy::panic)]
fn unreachable_connection() -> ! {
    panic!("a finished write transaction was used")
}

/// A few read connections, opened on first use and handed out one per reader.
#[derive(Debug)]
struct Connections {
    idle: Mutex<Vec<SqliteConnection>>,
    permits: Arc<Semaphore>,
    options: SqliteConnectOptions,
}

impl Connections {
    async fn lease(self: &Arc<Self>) -> crate::Result<Lease> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| crate::StoreError::Database(sqlx::Error::PoolClosed))?;
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.options.connect().await?,
        };
        Ok(Lease {
            conn: Some(conn),
            home: Arc::clone(self),
            _permit: permit,
        })
    }
}

/// A read connection on loan; it goes back when dropped.
pub struct Lease {
    conn: Option<SqliteConnection>,
    home: Arc<Connections>,
    _permit: OwnedSemaphorePermit,
}

impl Deref for Lease {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        match &self.conn {
            Some(conn) => conn,
            None => unreachable_connection(),
        }
    }
}

impl DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match &mut self.conn {
            Some(conn) => conn,
            None => unreachable_connection(),
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.home
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(conn);
        }
    }
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

include!("shared.rs");

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used)]
    use super::*;

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
}
