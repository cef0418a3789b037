//! The PostgreSQL backend: for several Lookout replicas sharing one database.
//!
//! Chosen by a `postgres://` or `postgresql://` URL. The queries are the same as SQLite's (they
//! live in `sql_store`, the SQL text in `common`, numbered `$1, $2, …` for PostgreSQL); what
//! differs is concurrency, stated in this file's [`Engine`] answers: an upsert locks the
//! deployment row it reads (`FOR UPDATE`), a retention run holds a transaction-scoped advisory
//! lock so two replicas never roll up the same samples, and multi-statement reads run in one
//! `REPEATABLE READ` snapshot.

use super::common::Dialect;
use super::sql_store::{connect_error, Engine, SqlStore};
use super::StoreError;
use crate::secret::redact_url;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgQueryResult};
use sqlx::{PgConnection, Postgres};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const MAX_CONNECTIONS: u32 = 10;
/// How long a caller waits for a free connection before the call fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Serialises retention runs across replicas (`pg_advisory_xact_lock` key; "LOOKRETN").
const RETENTION_LOCK: i64 = 0x4c4f_4f4b_5245_544e;

impl Engine for Postgres {
    const BACKEND: super::Backend = super::Backend::Postgres;
    const DIALECT: Dialect = Dialect::Postgres;
    /// Row locks (below) and unique indexes do the serialising; writers need no more.
    const BEGIN_WRITE: Option<&'static str> = None;
    /// `READ COMMITTED` would let a retention run commit between the two reads.
    const BEGIN_SNAPSHOT: Option<&'static str> =
        Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    /// Two replicas upserting the same deployment: the second waits and sees the first's state.
    const LOCK_READ_ROW: &'static str = " FOR UPDATE";

    fn rows_affected(result: &PgQueryResult) -> u64 {
        result.rows_affected()
    }

    /// A transaction-scoped advisory lock: released by the run's commit or rollback.
    async fn lock_retention_run(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(RETENTION_LOCK)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// A store in a PostgreSQL database (the schema the connection's `search_path` names first).
pub type PostgresStore = SqlStore<Postgres>;

impl SqlStore<Postgres> {
    /// Connects to a `postgres://` URL and migrates the database.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let location = redact_url(url);
        let connect_error = connect_error::<Postgres>(&location);
        let options = PgConnectOptions::from_str(url).map_err(&connect_error)?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(&connect_error)?;
        Self::migrate(pool, &MIGRATOR, &location).await
    }
}
