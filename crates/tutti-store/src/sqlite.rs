//! The SQLite backend: the zero-configuration default, one file in WAL mode.
//!
//! Writes go through a pool of one connection and start with `BEGIN IMMEDIATE`,
//! so a transaction that reads before it writes never meets a lock upgrade
//! conflict; reads use their own small pool and never wait for writers.
//! Durability: `synchronous = NORMAL` by default, which in WAL mode loses no
//! committed transaction when the process crashes or is killed, but may lose
//! the last ones on a power cut or kernel crash. `?synchronous=full` on the URL
//! makes every commit wait for the disk and survive those too, at the cost of
//! an fsync per write.

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
        let (url, synchronous) = durability(url)?;
        let options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous)
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
