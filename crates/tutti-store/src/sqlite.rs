//! The SQLite backend: the zero-configuration default, one file in WAL mode.
//!
//! Writes go through a pool of one connection and start with `BEGIN IMMEDIATE`,
//! so a transaction that reads before it writes never meets a lock upgrade
//! conflict; reads use their own small pool and never wait for writers.
//! `synchronous = FULL`: a committed transaction survives a power cut, not only
//! a crashed process.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Pool, Sqlite};

type Db = Sqlite;
type This = SqliteStore;

const BACKEND: &str = "sqlite";
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
/// SQLite locks the whole database for the writer; rows need no lock.
const FOR_UPDATE: &str = "";
static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

#[derive(Clone, Debug)]
pub struct SqliteStore {
    reader: Pool<Sqlite>,
    writer: Pool<Sqlite>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at a `sqlite:` URL.
    pub async fn connect(url: &str) -> crate::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_lazy_with(options);
        Ok(Self { reader, writer })
    }
}

include!("shared.rs");
