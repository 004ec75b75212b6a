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

/// A SQLite URL for a new database file in `dir`.
pub fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite:{}", dir.join("tutti.db").display())
}
