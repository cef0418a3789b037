//! The PostgreSQL backend: for several Lookout replicas sharing one database.
//!
//! Chosen by a `postgres://` or `postgresql://` URL. The SQL is the same as SQLite's (it lives in
//! `common`, numbered `$1, $2, …` here); what differs is concurrency: an upsert locks the
//! deployment row it reads (`FOR UPDATE`), a retention run holds a transaction-scoped advisory
//! lock so two replicas never roll up the same samples, and multi-statement reads run in one
//! `REPEATABLE READ` snapshot.

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
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions};
use sqlx::{Arguments, PgPool};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

const MAX_CONNECTIONS: u32 = 10;
/// How long a caller waits for a free connection before the call fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
const DIALECT: Dialect = Dialect::Postgres;
/// Serialises retention runs across replicas (`pg_advisory_xact_lock` key; "LOOKRETN").
const RETENTION_LOCK: i64 = 0x4c4f_4f4b_5245_544e;
const BEGIN_SNAPSHOT: &str = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

/// A store in a PostgreSQL database (the schema the connection's `search_path` names first).
#[derive(Clone, Debug)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connects to a `postgres://` URL and migrates the database.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let location = redact_url(url);
        let connect_error = |source| StoreError::Connect {
            backend: Backend::Postgres,
            location: location.clone(),
            source,
        };
        let options = PgConnectOptions::from_str(url).map_err(connect_error)?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(connect_error)?;
        MIGRATOR.run(&pool).await.map_err(|source| {
            let message = format!("{location}: {}", migration_message(&source));
            StoreError::Migration {
                backend: Backend::Postgres,
                message,
                source,
            }
        })?;
        tracing::debug!(%location, "PostgreSQL store open");
        Ok(Self { pool })
    }

    /// The pool, for tests and tools that need raw SQL.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn arguments(binds: Vec<Bind>) -> Result<PgArguments, StoreError> {
    let mut args = PgArguments::default();
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
impl Store for PostgresStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    #[tracing::instrument(skip_all, fields(provider = ?record.provider, provider_id = %record.provider_id))]
    async fn upsert_deployment(
        &self,
        record: &DeploymentRecord,
    ) -> Result<UpsertOutcome, StoreError> {
        let binds = common::record_binds(record)?;
        let observed = common::millis(record.observed_at);
        let state = common::enum_name(&record.state)?;
        let mut tx = self.pool.begin().await?;

        let mut insert = binds.clone();
        insert.extend([int(observed), int(observed)]);
        let inserted: Option<i64> =
            sqlx::query_scalar_with(&DIALECT.sql(common::INSERT_DEPLOYMENT), arguments(insert)?)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(id) = inserted {
            let change = vec![int(id), Bind::Text(None), text(state), int(observed)];
            sqlx::query_with(
                &DIALECT.sql(common::INSERT_STATE_CHANGE),
                arguments(change)?,
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(UpsertOutcome::Inserted);
        }

        let key = vec![
            text(common::enum_name(&record.provider)?),
            text(record.provider_id.clone()),
        ];
        let select_for_update = format!(
            "{} FOR UPDATE",
            DIALECT.sql(common::SELECT_DEPLOYMENT_STATE)
        );
        let (id, old_state, old_changed_at): (i64, String, i64) =
            sqlx::query_as_with(&select_for_update, arguments(key)?)
                .fetch_one(&mut *tx)
                .await?;
        let from: DeployState = common::parse_enum("deployments.state", &old_state)?;
        let changed = from != record.state;
        let state_changed_at = if changed { observed } else { old_changed_at };

        let mut update = binds;
        update.extend([int(state_changed_at), int(id)]);
        sqlx::query_with(&DIALECT.sql(common::UPDATE_DEPLOYMENT), arguments(update)?)
            .execute(&mut *tx)
            .await?;
        if changed {
            let change = vec![int(id), text(old_state), text(state), int(observed)];
            sqlx::query_with(
                &DIALECT.sql(common::INSERT_STATE_CHANGE),
                arguments(change)?,
            )
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
            &DIALECT.sql(common::SELECT_STATE_CHANGES),
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
        let latest: Option<i64> = sqlx::query_scalar_with(
            &DIALECT.sql(common::LATEST_DEPLOYMENT_TIME),
            arguments(binds)?,
        )
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
        let mut tx = self.pool.begin().await?;
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
            sqlx::query_as_with(&DIALECT.sql(common::UPTIME), arguments(binds)?)
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
        // One snapshot for both reads.
        let mut tx = self.pool.begin_with(BEGIN_SNAPSHOT).await?;
        let raw: Vec<(i64, i64)> = sqlx::query_as_with(
            &DIALECT.sql(common::RAW_LATENCIES),
            arguments(window.clone())?,
        )
        .fetch_all(&mut *tx)
        .await?;
        let rollups: Vec<(i64, i64, Option<i64>, Option<i64>)> =
            sqlx::query_as_with(&DIALECT.sql(common::ROLLUP_LATENCIES), arguments(window)?)
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

        let mut tx = self.pool.begin().await?;
        // Another replica's run finishes first; this one then sees what it left.
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(RETENTION_LOCK)
            .execute(&mut *tx)
            .await?;
        let rows: Vec<common::RawSampleRow> = sqlx::query_as_with(
            &DIALECT.sql(common::OLDEST_RAW_SAMPLES),
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
            sqlx::query_with(&DIALECT.sql(common::UPSERT_ROLLUP), arguments(binds)?)
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
            &DIALECT.sql(common::PRUNE_ROLLUPS),
            arguments(vec![int(rollup_cutoff), int(i64::from(bound))])?,
        )
        .execute(&mut *tx)
        .await?;
        report.rollups_deleted = pruned.rows_affected();

        let raw_left: Option<i64> = sqlx::query_scalar_with(
            &DIALECT.sql(common::ANY_RAW_BEFORE),
            arguments(vec![int(raw_cutoff)])?,
        )
        .fetch_optional(&mut *tx)
        .await?;
        let rollups_left: Option<i64> = sqlx::query_scalar_with(
            &DIALECT.sql(common::ANY_ROLLUP_BEFORE),
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
        let inserted = sqlx::query_scalar_with(&DIALECT.sql(rollbacks::INSERT), arguments(binds)?)
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
        sqlx::query_with(&DIALECT.sql(rollbacks::UPDATE), arguments(binds)?)
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
        let done = sqlx::query_with(
            &DIALECT.sql(rollbacks::CLAIM_HOLD_RELEASE),
            arguments(binds)?,
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn unclaim_hold_release(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        let binds = rollbacks::unclaim_binds(id, at);
        sqlx::query_with(
            &DIALECT.sql(rollbacks::UNCLAIM_HOLD_RELEASE),
            arguments(binds)?,
        )
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn find_rollbacks(
        &self,
        query: RollbackQuery<'_>,
    ) -> Result<Vec<RollbackRecord>, StoreError> {
        let (sql, binds) = query.sql();
        let rows: Vec<rollbacks::RollbackRow> =
            sqlx::query_as_with(&DIALECT.sql(&sql), arguments(binds)?)
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
        let id: i64 =
            sqlx::query_scalar_with(&DIALECT.sql(common::INSERT_AUDIT), arguments(binds)?)
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
            sqlx::query_as_with(&DIALECT.sql(common::LIST_AUDIT), arguments(binds)?)
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
        sqlx::query_with(&DIALECT.sql(common::INSERT_SESSION), arguments(binds)?)
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
            sqlx::query_as_with(&DIALECT.sql(common::FIND_SESSION), arguments(binds)?)
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
        sqlx::query_with(&DIALECT.sql(common::TOUCH_SESSION), arguments(binds)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        let binds = vec![text(token_sha256.to_string())];
        sqlx::query_with(&DIALECT.sql(common::DELETE_SESSION), arguments(binds)?)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let binds = vec![int(common::millis(now))];
        let done = sqlx::query_with(
            &DIALECT.sql(common::DELETE_EXPIRED_SESSIONS),
            arguments(binds)?,
        )
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
