//! The SQLite backend: Lookout's default store, one file under the data directory.
//!
//! The file is created if missing, opened in WAL mode (readers never wait for the writer) with
//! a busy timeout and foreign keys on. Every write transaction starts with `BEGIN IMMEDIATE`, so
//! it takes the write lock up front and waits (up to the busy timeout) instead of failing when
//! it later finds another connection wrote first. The queries themselves live in `sql_store`
//! (the SQL text in `common`); this file holds how to open the file and [`Engine`] for SQLite.

use super::common::Dialect;
use super::sql_store::{connect_error, Engine, SqlStore};
use super::StoreError;
use crate::secret::redact_url;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::Sqlite;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// How long a statement waits for another connection's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CONNECTIONS: u32 = 8;
/// SQLite's own page cache per connection, KiB (its default is 2,000). The kernel's page
/// cache holds the file anyway; SQLite's copy is private memory, kept per connection.
const CACHE_SIZE_KIB: u32 = 512;
/// A connection unused this long is closed (in sqlx each SQLite connection is a thread with
/// its own page cache); busy times open up to [`MAX_CONNECTIONS`] again.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

impl Engine for Sqlite {
    const BACKEND: super::Backend = super::Backend::Sqlite;
    const DIALECT: Dialect = Dialect::Sqlite;
    /// Takes the write lock up front: waiting (up to the busy timeout) beats failing when the
    /// transaction later finds another connection wrote first.
    const BEGIN_WRITE: Option<&'static str> = Some("BEGIN IMMEDIATE");
    /// A deferred transaction reads one snapshot in WAL mode.
    const BEGIN_SNAPSHOT: Option<&'static str> = None;
    /// `BEGIN IMMEDIATE` already holds the whole database.
    const LOCK_READ_ROW: &'static str = "";

    fn rows_affected(result: &SqliteQueryResult) -> u64 {
        result.rows_affected()
    }
}

/// A store in one SQLite file (or in memory, for throwaway use).
pub type SqliteStore = SqlStore<Sqlite>;

impl SqlStore<Sqlite> {
    /// Opens a `sqlite:` URL (`sqlite:data/lookout.db`, `sqlite://data/lookout.db`,
    /// `sqlite::memory:`), creating the file if missing, and migrates it.
    pub async fn open_url(url: &str) -> Result<Self, StoreError> {
        let location = redact_url(url);
        let options =
            SqliteConnectOptions::from_str(url).map_err(connect_error::<Sqlite>(&location))?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        Self::open_with(options, in_memory, location).await
    }

    /// Opens (creating if missing) the SQLite file at `path` and migrates it.
    pub async fn open_path(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new().filename(path);
        Self::open_with(options, false, path.display().to_string()).await
    }

    async fn open_with(
        options: SqliteConnectOptions,
        in_memory: bool,
        location: String,
    ) -> Result<Self, StoreError> {
        let options = options
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            .pragma("cache_size", format!("-{CACHE_SIZE_KIB}"));
        let pool_options = if in_memory {
            // An in-memory database lives as long as one connection to it: keep exactly one.
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            if let Some(dir) = options
                .get_filename()
                .parent()
                .filter(|dir| !dir.as_os_str().is_empty())
            {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|source| StoreError::CreateDir {
                        path: dir.to_path_buf(),
                        source,
                    })?;
            }
            SqlitePoolOptions::new()
                .max_connections(MAX_CONNECTIONS)
                .idle_timeout(IDLE_TIMEOUT)
        };
        let options = if in_memory {
            options
        } else {
            options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
        };
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(connect_error::<Sqlite>(&location))?;
        Self::migrate(pool, &MIGRATOR, &location).await
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Backend, NewAuditEntry, Store};
    use super::*;
    use chrono::Utc;

    #[tokio::test]
    async fn a_failed_migration_is_a_migration_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lookout.db");
        // A file someone else's program created, with a conflicting `deployments` table.
        let foreign = SqlitePoolOptions::new()
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true),
            )
            .await
            .unwrap();
        sqlx::query("CREATE TABLE deployments (name TEXT)")
            .execute(&foreign)
            .await
            .unwrap();
        foreign.close().await;

        let error = SqliteStore::open_path(&path).await.err();
        match error {
            Some(StoreError::Migration {
                backend, message, ..
            }) => {
                assert_eq!(backend, Backend::Sqlite);
                assert!(message.contains("deployments"), "{message}");
                assert!(message.contains("lookout.db"), "{message}");
            }
            other => panic!("expected StoreError::Migration, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn opening_creates_the_file_and_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join("nested").join("lookout.db");
        let store = super::super::open(path.to_str().unwrap()).await.unwrap();
        store.ping().await.unwrap();
        assert!(path.exists());

        let url = format!("sqlite:{}", dir.path().join("other.db").display());
        let store = super::super::open(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Sqlite);
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(SqliteStore::open_url(&url).await.unwrap().pool())
            .await
            .unwrap();
        assert_eq!(journal, "wal");
        // Every connection keeps a small page cache of its own (memory, issue #19).
        let cache_size: i64 = sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(SqliteStore::open_url(&url).await.unwrap().pool())
            .await
            .unwrap();
        assert_eq!(cache_size, -i64::from(CACHE_SIZE_KIB));
    }

    #[tokio::test]
    async fn in_memory_stores_keep_their_data_across_calls() {
        let store = super::super::open("sqlite::memory:").await.unwrap();
        let entry = NewAuditEntry {
            at: Utc::now(),
            actor: "ada".into(),
            action: "login".into(),
            target: "lookout".into(),
            outcome: "succeeded".into(),
            detail: None,
            remote_addr: None,
        };
        store.append_audit(&entry).await.unwrap();
        assert_eq!(store.list_audit(10, None).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn audit_rows_cannot_be_changed_even_with_raw_sql() {
        let store = SqliteStore::open_url("sqlite::memory:").await.unwrap();
        let entry = NewAuditEntry {
            at: Utc::now(),
            actor: "ada".into(),
            action: "rollback".into(),
            target: "api/production".into(),
            outcome: "pending".into(),
            detail: None,
            remote_addr: Some("127.0.0.1".into()),
        };
        store.append_audit(&entry).await.unwrap();
        for statement in [
            "UPDATE audit_log SET outcome = 'succeeded'",
            "DELETE FROM audit_log",
        ] {
            let error = sqlx::query(statement).execute(store.pool()).await.err();
            assert!(
                error.is_some_and(|e| e.to_string().contains("append-only")),
                "{statement} should be refused"
            );
        }
    }
}
