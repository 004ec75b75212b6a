//! Support for tests that run against both backends: a fresh SQLite file, and
//! a fresh, uniquely named PostgreSQL database on the server that
//! `TUTTI_TEST_POSTGRES_URL` names.

use sqlx::Connection;
use uuid::Uuid;

/// The variable that names a PostgreSQL server for the tests.
pub const POSTGRES_URL_VAR: &str = "TUTTI_TEST_POSTGRES_URL";

/// Creates an empty database on the test server and returns its URL, or
/// `None` when no server is configured. In CI (`CI` set) a missing server is an
/// error, so the PostgreSQL suite can never be skipped there unnoticed.
pub async fn fresh_postgres_url() -> Result<Option<String>, String> {
    let Ok(admin_url) = std::env::var(POSTGRES_URL_VAR) else {
        if std::env::var_os("CI").is_some() {
            return Err(format!(
                "{POSTGRES_URL_VAR} is not set in CI: the PostgreSQL suite must run"
            ));
        }
        eprintln!(
            "\n!!! {POSTGRES_URL_VAR} is not set: the PostgreSQL half of this test did NOT run.\n\
             !!! Start a server with `eval \"$(scripts/pg-throwaway start)\"` or use scripts/test.\n"
        );
        return Ok(None);
    };
    fresh_postgres_database(&admin_url).await.map(Some)
}

/// Creates an empty, uniquely named database on the server `admin_url` points
/// at and returns its URL.
pub async fn fresh_postgres_database(admin_url: &str) -> Result<String, String> {
    let name = format!("tutti_test_{}", Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| format!("cannot reach {admin_url}: {e}"))?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .map_err(|e| format!("cannot create database {name}: {e}"))?;
    let base = admin_url
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(admin_url);
    Ok(format!("{base}/{name}"))
}

/// Drops a database [`fresh_postgres_url`] made, once its test passed (a
/// failed test keeps its database to look at): without this, every run
/// leaves its databases on the developer's server until the disk is full.
/// Connections still open (a pool in a spawned task) are ended with it.
pub async fn drop_postgres_database(url: &str) {
    let (Ok(admin_url), Some((_, name))) = (std::env::var(POSTGRES_URL_VAR), url.rsplit_once('/'))
    else {
        return;
    };
    let dropped = async {
        let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
    }
    .await;
    if let Err(e) = dropped {
        eprintln!("could not drop the test database {name}: {e}");
    }
}

/// A SQLite URL for a new database file in `dir`.
pub fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite:{}", dir.join("tutti.db").display())
}

/// Turns `async fn $scenario<S: Store>(store: S)` into two tests: `$sqlite` on
/// a fresh SQLite file and `$postgres` on a fresh PostgreSQL database (see
/// [`fresh_postgres_url`]). The calling crate needs `tokio` and `tempfile`.
#[macro_export]
macro_rules! on_both_backends {
    ($scenario:ident, $sqlite:ident, $postgres:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $sqlite() {
            let dir = tempfile::tempdir().unwrap();
            let url = $crate::testing::sqlite_url(dir.path());
            $scenario($crate::sqlite::SqliteStore::connect(&url).await.unwrap()).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $postgres() {
            if let Some(url) = $crate::testing::fresh_postgres_url().await.unwrap() {
                $scenario($crate::postgres::PgStore::connect(&url).await.unwrap()).await;
                $crate::testing::drop_postgres_database(&url).await;
            }
        }
    };
}

/// Turns `async fn $behaviour<S: Store>(store: S)` into a module of that
/// name holding two tests, `on_sqlite` and `on_postgres`, as
/// [`on_both_backends!`] does: each test is named for the behaviour it
/// checks (`an_ai_worker_cannot_close_its_own_review::on_postgres`).
#[macro_export]
macro_rules! behaviour {
    ($behaviour:ident) => {
        mod $behaviour {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn on_sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let url = $crate::testing::sqlite_url(dir.path());
                let store = $crate::sqlite::SqliteStore::connect(&url).await.unwrap();
                super::$behaviour(store).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn on_postgres() {
                if let Some(url) = $crate::testing::fresh_postgres_url().await.unwrap() {
                    super::$behaviour($crate::postgres::PgStore::connect(&url).await.unwrap())
                        .await;
                    $crate::testing::drop_postgres_database(&url).await;
                }
            }
        }
    };
}
