//! The PostgreSQL backend: for several `tutti serve` processes sharing one
//! database. Rows that a transaction reads in order to change are locked with
//! `FOR UPDATE`, so concurrent writers on different nodes serialise exactly
//! where they must (the org's audit head, the row being changed) and nowhere else.

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Pool, Postgres};

type Db = Postgres;
type This = PgStore;

const BACKEND: &str = "postgres";
const BEGIN_WRITE: &str = "BEGIN";
/// `NO KEY` because rows referenced by a foreign key are share-locked by
/// inserts elsewhere, and we never change key columns.
const FOR_UPDATE: &str = " FOR NO KEY UPDATE";
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

include!("shared.rs");
