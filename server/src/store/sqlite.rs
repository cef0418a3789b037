//! The SQLite backend: Lookout's default store, one file under the data directory.
//!
//! The file is created if missing, opened in WAL mode (readers never wait for the writer) with
//! a busy timeout and foreign keys on. Every write transaction starts with `BEGIN IMMEDIATE`, so
//! it takes the write lock up front and waits (up to the busy timeout) instead of failing when
//! it later finds another connection wrote first. The SQL itself lives in `common`.

use super::common::{self, Bind, Dialect, Sql};
use super::rollbacks::{self, RollbackRecord};
use super::{
    migration_message, redact_url, AuditEntry, Backend, DeploymentFilter, DeploymentRecord,
    HealthSample, HistoryCursor, HistoryPage, LatencyPoint, NewAuditEntry, RetentionPolicy,
    RetentionReport, SessionRecord, StateChange, Store, StoreError, UpsertOutcome, Uptime,
};
use super::{AuditFilter, RollbackQuery};
use app::model::{DeployState, ProviderKind};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Arguments, SqlitePool};
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
const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
const DIALECT: Dialect = Dialect::Sqlite;

/// A store in one SQLite file (or in memory, for throwaway use).
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens a `sqlite:` URL (`sqlite:data/lookout.db`, `sqlite://data/lookout.db`,
    /// `sqlite::memory:`), creating the file if missing, and migrates it.
    pub async fn open_url(url: &str) -> Result<Self, StoreError> {
        let options =
            SqliteConnectOptions::from_str(url).map_err(|source| StoreError::Connect {
                backend: Backend::Sqlite,
                location: redact_url(url),
                source,
            })?;
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        Self::open_with(options, in_memory, redact_url(url)).await
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
        let pool =
            pool_options
                .connect_with(options)
                .await
                .map_err(|source| StoreError::Connect {
                    backend: Backend::Sqlite,
                    location: location.clone(),
                    source,
                })?;
        MIGRATOR.run(&pool).await.map_err(|source| {
            let message = format!("{location}: {}", migration_message(&source));
            StoreError::Migration {
                backend: Backend::Sqlite,
                message,
                source,
            }
        })?;
        tracing::debug!(%location, "SQLite store open");
        Ok(Self { pool })
    }

    /// The pool, for tests and tools that need raw SQL.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn arguments(binds: Vec<Bind>) -> Result<SqliteArguments<'static>, StoreError> {
    let mut args = SqliteArguments::default();
    for bind in binds {
        let added = match bind {
            Bind::Text(value) => args.add(value),
            Bind::Int(value) => args.add(value),
        };
        added.map_err(|error| StoreError::Database(sqlx::Error::Encode(error)))?;
    }
    Ok(args)
}

fn text(value: impl Into<String>) -> Bind {
    Bind::Text(Some(value.into()))
}

fn int(value: i64) -> Bind {
    Bind::Int(Some(value))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    #[tracing::instrument(skip_all, fields(provider = ?record.provider, provider_id = %record.provider_id))]
    async fn upsert_deployment(
        &self,
        record: &DeploymentRecord,
    ) -> Result<UpsertOutcome, StoreError> {
        let binds = common::record_binds(record)?;
        let observed = common::millis(record.observed_at);
        let state = common::enum_name(&record.state)?;
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;

        let mut insert = binds.clone();
        insert.extend([int(observed), int(observed)]);
        let inserted: Option<i64> =
            sqlx::query_scalar_with(common::INSERT_DEPLOYMENT, arguments(insert)?)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(id) = inserted {
            let change = vec![int(id), Bind::Text(None), text(state), int(observed)];
            sqlx::query_with(common::INSERT_STATE_CHANGE, arguments(change)?)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(UpsertOutcome::Inserted);
        }

        let key = vec![
            text(common::enum_name(&record.provider)?),
            text(record.provider_id.clone()),
        ];
        let (id, old_state, old_changed_at): (i64, String, i64) =
            sqlx::query_as_with(common::SELECT_DEPLOYMENT_STATE, arguments(key)?)
                .fetch_one(&mut *tx)
                .await?;
        let from: DeployState = common::parse_enum("deployments.state", &old_state)?;
        let changed = from != record.state;
        let state_changed_at = if changed { observed } else { old_changed_at };

        let mut update = binds;
        update.extend([int(state_changed_at), int(id)]);
        sqlx::query_with(common::UPDATE_DEPLOYMENT, arguments(update)?)
            .execute(&mut *tx)
            .await?;
        if changed {
            let change = vec![int(id), text(old_state), text(state), int(observed)];
            sqlx::query_with(common::INSERT_STATE_CHANGE, arguments(change)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(if changed {
            UpsertOutcome::StateChanged {
                from,
                to: record.state,
            }
        } else {
            UpsertOutcome::Unchanged
        })
    }

    async fn deployment_state_changes(
        &self,
        deployment_id: i64,
    ) -> Result<Vec<StateChange>, StoreError> {
        let rows: Vec<common::StateChangeRow> = sqlx::query_as_with(
            common::SELECT_STATE_CHANGES,
            arguments(vec![int(deployment_id)])?,
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(common::StateChangeRow::into_change)
            .collect()
    }

    async fn list_deployments(
        &self,
        filter: &DeploymentFilter,
        after: Option<&HistoryCursor>,
        limit: u32,
    ) -> Result<HistoryPage, StoreError> {
        let limit = common::page_size(limit);
        let Sql { text, binds } = common::history_query(DIALECT, filter, after, limit + 1)?;
        let rows: Vec<common::DeploymentRow> = sqlx::query_as_with(&text, arguments(binds)?)
            .fetch_all(&self.pool)
            .await?;
        let mut deployments = rows
            .into_iter()
            .map(common::DeploymentRow::into_stored)
            .collect::<Result<Vec<_>, _>>()?;
        let more = deployments.len() > limit as usize;
        deployments.truncate(limit as usize);
        let next = if more {
            deployments.last().map(HistoryCursor::after)
        } else {
            None
        };
        Ok(HistoryPage { deployments, next })
    }

    async fn latest_deployment_time(
        &self,
        provider: ProviderKind,
        service: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let binds = vec![text(common::enum_name(&provider)?), text(service)];
        let latest: Option<i64> =
            sqlx::query_scalar_with(common::LATEST_DEPLOYMENT_TIME, arguments(binds)?)
                .fetch_one(&self.pool)
                .await?;
        latest
            .map(|ms| common::from_millis("deployments.created_at", ms))
            .transpose()
    }

    async fn record_health_samples(&self, samples: &[HealthSample]) -> Result<(), StoreError> {
        if samples.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        for chunk in samples.chunks(common::SAMPLES_PER_INSERT) {
            let Sql { text, binds } = common::insert_samples_sql(DIALECT, chunk)?;
            sqlx::query_with(&text, arguments(binds)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn uptime(
        &self,
        service: &str,
        environment: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Uptime, StoreError> {
        let window = [
            text(service),
            text(environment),
            int(common::millis(since)),
            int(common::millis(now)),
        ];
        let binds = window.iter().chain(window.iter()).cloned().collect();
        let (samples, failures): (i64, i64) =
            sqlx::query_as_with(common::UPTIME, arguments(binds)?)
                .fetch_one(&self.pool)
                .await?;
        Ok(Uptime::from_counts(
            common::to_u64("uptime samples", samples)?,
            common::to_u64("uptime failures", failures)?,
        ))
    }

    async fn latency_series(
        &self,
        service: &str,
        environment: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        buckets: u32,
    ) -> Result<Vec<LatencyPoint>, StoreError> {
        let (since_ms, now_ms) = (common::millis(since), common::millis(now));
        if buckets == 0 || now_ms <= since_ms {
            return Ok(Vec::new());
        }
        let window = vec![text(service), text(environment), int(since_ms), int(now_ms)];
        // One read transaction: one snapshot for both reads.
        let mut tx = self.pool.begin().await?;
        let raw: Vec<(i64, i64)> =
            sqlx::query_as_with(common::RAW_LATENCIES, arguments(window.clone())?)
                .fetch_all(&mut *tx)
                .await?;
        let rollups: Vec<(i64, i64, Option<i64>, Option<i64>)> =
            sqlx::query_as_with(common::ROLLUP_LATENCIES, arguments(window)?)
                .fetch_all(&mut *tx)
                .await?;
        tx.commit().await?;
        let rollups: Vec<_> = rollups
            .into_iter()
            .map(|(hour, count, p50, p95)| (hour, common::LatencySummary { count, p50, p95 }))
            .collect();
        common::latency_points(since_ms, now_ms, buckets, &raw, &rollups)
    }

    #[tracing::instrument(skip_all)]
    async fn roll_up_and_prune(
        &self,
        now: DateTime<Utc>,
        policy: &RetentionPolicy,
    ) -> Result<RetentionReport, StoreError> {
        let now_ms = common::millis(now);
        let raw_cutoff =
            common::hour_floor(now_ms.saturating_sub(common::duration_ms(policy.raw_for)));
        let rollup_cutoff = now_ms.saturating_sub(common::duration_ms(policy.rollups_for));
        let bound = policy.max_rows_per_run.max(1);
        let mut report = RetentionReport::default();

        let mut tx = self.pool.begin_with(BEGIN_WRITE).await?;
        let rows: Vec<common::RawSampleRow> = sqlx::query_as_with(
            common::OLDEST_RAW_SAMPLES,
            arguments(vec![int(raw_cutoff), int(i64::from(bound))])?,
        )
        .fetch_all(&mut *tx)
        .await?;
        let batch = common::select_batch(rows, bound as usize);
        for ((service, environment, hour), summary) in common::summarize(&batch) {
            let binds = vec![
                text(service),
                text(environment),
                int(hour),
                int(summary.samples),
                int(summary.failures),
                int(summary.latency_samples),
                Bind::Int(summary.p50_ms),
                Bind::Int(summary.p95_ms),
            ];
            sqlx::query_with(common::UPSERT_ROLLUP, arguments(binds)?)
                .execute(&mut *tx)
                .await?;
            report.rolled_up_hours += 1;
        }
        let ids: Vec<i64> = batch.iter().map(|row| row.id).collect();
        for chunk in ids.chunks(common::DELETE_CHUNK) {
            let Sql { text, binds } = common::delete_samples_sql(DIALECT, chunk);
            let done = sqlx::query_with(&text, arguments(binds)?)
                .execute(&mut *tx)
                .await?;
            report.raw_deleted += done.rows_affected();
        }
        let pruned = sqlx::query_with(
            common::PRUNE_ROLLUPS,
            arguments(vec![int(rollup_cutoff), int(i64::from(bound))])?,
        )
        .execute(&mut *tx)
        .await?;
        report.rollups_deleted = pruned.rows_affected();

        let raw_left: Option<i64> =
            sqlx::query_scalar_with(common::ANY_RAW_BEFORE, arguments(vec![int(raw_cutoff)])?)
                .fetch_optional(&mut *tx)
                .await?;
        let rollups_left: Option<i64> = sqlx::query_scalar_with(
            common::ANY_ROLLUP_BEFORE,
            arguments(vec![int(rollup_cutoff)])?,
        )
        .fetch_optional(&mut *tx)
        .await?;
        report.more_pending = raw_left.is_some() || rollups_left.is_some();
        tx.commit().await?;
        tracing::debug!(?report, "retention run");
        Ok(report)
    }

    async fn insert_rollback(&self, record: &RollbackRecord) -> Result<Option<i64>, StoreError> {
        let binds = rollbacks::insert_binds(record);
        let inserted = sqlx::query_scalar_with(rollbacks::INSERT, arguments(binds)?)
            .fetch_one(&self.pool)
            .await;
        match inserted {
            Ok(id) => Ok(Some(id)),
            Err(error) if rollbacks::is_unique_violation(&error) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    async fn update_rollback(&self, record: &RollbackRecord) -> Result<(), StoreError> {
        let binds = rollbacks::update_binds(record);
        sqlx::query_with(rollbacks::UPDATE, arguments(binds)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn claim_hold_release(
        &self,
        id: i64,
        how: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let binds = rollbacks::claim_binds(id, how, by, at);
        let done = sqlx::query_with(rollbacks::CLAIM_HOLD_RELEASE, arguments(binds)?)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn unclaim_hold_release(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let binds = rollbacks::unclaim_binds(id, at);
        sqlx::query_with(rollbacks::UNCLAIM_HOLD_RELEASE, arguments(binds)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn find_rollbacks(
        &self,
        query: RollbackQuery<'_>,
    ) -> Result<Vec<RollbackRecord>, StoreError> {
        let (sql, binds) = query.sql();
        let rows: Vec<rollbacks::RollbackRow> = sqlx::query_as_with(&sql, arguments(binds)?)
            .fetch_all(&self.pool)
            .await?;
        rows.into_iter()
            .map(rollbacks::RollbackRow::into_record)
            .collect()
    }

    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError> {
        let binds = vec![
            int(common::millis(entry.at)),
            text(entry.actor.clone()),
            text(entry.action.clone()),
            text(entry.target.clone()),
            text(entry.outcome.clone()),
            Bind::Text(entry.detail.clone()),
            Bind::Text(entry.remote_addr.clone()),
        ];
        let id: i64 = sqlx::query_scalar_with(common::INSERT_AUDIT, arguments(binds)?)
            .fetch_one(&self.pool)
            .await?;
        Ok(id)
    }

    async fn list_audit_filtered(
        &self,
        limit: u32,
        before_id: Option<i64>,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        let binds = common::list_audit_binds(limit, before_id, filter);
        let rows: Vec<common::AuditRow> =
            sqlx::query_as_with(common::LIST_AUDIT, arguments(binds)?)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(common::AuditRow::into_entry).collect()
    }

    async fn create_session(
        &self,
        token_sha256: &str,
        session: &SessionRecord,
    ) -> Result<(), StoreError> {
        let binds = vec![
            text(token_sha256.to_string()),
            text(session.user_name.clone()),
            int(common::millis(session.created_at)),
            int(common::millis(session.expires_at)),
        ];
        sqlx::query_with(common::INSERT_SESSION, arguments(binds)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn find_session(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let binds = vec![text(token_sha256.to_string()), int(common::millis(now))];
        let row: Option<common::SessionRow> =
            sqlx::query_as_with(common::FIND_SESSION, arguments(binds)?)
                .fetch_optional(&self.pool)
                .await?;
        row.map(common::SessionRow::into_session).transpose()
    }

    async fn touch_session(
        &self,
        token_sha256: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let binds = vec![
            int(common::millis(expires_at)),
            text(token_sha256.to_string()),
        ];
        sqlx::query_with(common::TOUCH_SESSION, arguments(binds)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        let binds = vec![text(token_sha256.to_string())];
        sqlx::query_with(common::DELETE_SESSION, arguments(binds)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let binds = vec![int(common::millis(now))];
        let done = sqlx::query_with(common::DELETE_EXPIRED_SESSIONS, arguments(binds)?)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
