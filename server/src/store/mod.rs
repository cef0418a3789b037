//! Lookout's own memory: deploy history, health samples and their hourly roll-ups, the audit log.
//!
//! Provider dashboards forget (a handful of builds, images that expire in hours); Lookout keeps
//! what it saw here so the history page, uptime figures and the audit log outlive both the
//! providers' retention windows and a restart. Everything behind one [`Store`] trait with two
//! backends chosen by URL in [`open`]: SQLite (the default, one file, WAL) in [`sqlite`] and
//! PostgreSQL (several replicas sharing one database) in [`postgres`]. Each dialect has its own
//! migrations folder (`server/migrations/{sqlite,postgres}`), embedded in the binary and run at
//! open: a failed migration is a [`StoreError::Migration`] and stops startup.
//!
//! Representation choices shared by both backends: timestamps are epoch milliseconds (UTC) in
//! 64-bit integer columns; enums are stored as their serde `snake_case` names; history pages use
//! keyset pagination on `(created_at, id)`, never `OFFSET`. Percentiles and roll-up merging are
//! computed in Rust (in `health`) so both backends give the same numbers.

mod common;
mod health;
pub mod postgres;
pub mod rollbacks;
mod sql_store;
pub mod sqlite;

pub use rollbacks::{BeginRollback, RollbackRecord};

use app::model::{DeployState, DeploymentView, EnvironmentKind, HealthState, ProviderKind};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::providers::ProviderDeployment;

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        })
    }
}

/// What went wrong in the store. Messages never contain a database password.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL `{url}`: expected `sqlite:PATH`, a file path, \
         or `postgres://…`"
    )]
    UnsupportedUrl { url: String },
    #[error("could not create the directory {} for the SQLite database: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("could not open the {backend} database at {location}: {source}")]
    Connect {
        backend: Backend,
        /// The URL or path, with any password removed.
        location: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("the {backend} database migration failed: {message}")]
    Migration {
        backend: Backend,
        /// What failed and what to check, for the operator reading the startup log.
        message: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    #[error("invalid history cursor")]
    InvalidCursor,
    #[error("{what} cannot be stored: {detail}")]
    InvalidInput { what: &'static str, detail: String },
    #[error("the database holds a value Lookout cannot read ({column} = {value:?})")]
    Corrupt { column: &'static str, value: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// One deployment as Lookout records it: a provider's deployment placed in a Lookout service
/// and environment.
#[derive(Clone, Debug, PartialEq)]
pub struct DeploymentRecord {
    pub provider: ProviderKind,
    pub service: String,
    /// Lookout's environment name: `production`, `staging`, `preview/feature-x`.
    pub environment: String,
    pub environment_kind: EnvironmentKind,
    /// The provider's id (`dpl_…`, `dep-…`, a UUID); unique per provider.
    pub provider_id: String,
    pub state: DeployState,
    /// The provider's own state value, kept for logs and history.
    pub provider_state: String,
    pub commit_sha: Option<String>,
    pub commit_message: Option<String>,
    pub author: Option<String>,
    pub branch: Option<String>,
    pub pr_number: Option<u32>,
    pub creator: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub url: Option<String>,
    pub dashboard_url: Option<String>,
    /// When Lookout saw the deployment in this state; a state change is stamped with it.
    pub observed_at: DateTime<Utc>,
}

impl DeploymentRecord {
    /// The record of a deployment a provider reported, placed in a Lookout service and
    /// environment. A deployment without a creation time is dated when it was observed.
    pub fn from_provider(
        provider: ProviderKind,
        service: &str,
        environment: &str,
        environment_kind: EnvironmentKind,
        deployment: &ProviderDeployment,
        observed_at: DateTime<Utc>,
    ) -> Self {
        Self {
            provider,
            service: service.to_owned(),
            environment: environment.to_owned(),
            environment_kind,
            provider_id: deployment.id.clone(),
            state: deployment.state,
            provider_state: deployment.provider_state.clone(),
            commit_sha: deployment.commit.sha.clone(),
            commit_message: deployment.commit.message.clone(),
            author: deployment.commit.author.clone(),
            branch: deployment.commit.branch.clone(),
            pr_number: deployment.pr_number,
            creator: deployment.creator.clone(),
            created_at: deployment.created_at.unwrap_or(observed_at),
            finished_at: deployment.finished_at,
            url: deployment.url.clone(),
            dashboard_url: deployment.dashboard_url.clone(),
            observed_at,
        }
    }
}

/// What an upsert did to the deployment's state. Other fields (message, URL, finish time) are
/// refreshed on every upsert whatever the outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpsertOutcome {
    /// First time Lookout saw this deployment.
    Inserted,
    /// The state moved; a state-change row was appended, stamped with `observed_at`.
    StateChanged { from: DeployState, to: DeployState },
    /// Same state as before.
    Unchanged,
}

/// A deployment as stored, with Lookout's own bookkeeping.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredDeployment {
    /// Lookout's row id (orders deployments created in the same millisecond).
    pub id: i64,
    pub record: DeploymentRecord,
    /// When Lookout first saw this deployment.
    pub first_seen_at: DateTime<Utc>,
    /// When Lookout saw it enter its current state.
    pub state_changed_at: DateTime<Utc>,
}

impl StoredDeployment {
    /// The page's view of this deployment (the author falls back to the creator).
    pub fn to_view(&self) -> DeploymentView {
        let record = &self.record;
        DeploymentView {
            rollback: None,
            id: record.provider_id.clone(),
            state: record.state,
            commit_sha: record.commit_sha.clone(),
            commit_message: record.commit_message.clone(),
            author: record.author.clone().or_else(|| record.creator.clone()),
            branch: record.branch.clone(),
            pr_number: record.pr_number,
            created_at: Some(record.created_at),
            ready_at: record.finished_at,
            // Rows stored before links were checked may still hold anything.
            url: crate::providers::web_url(record.url.clone(), "url"),
            dashboard_url: crate::providers::web_url(record.dashboard_url.clone(), "dashboard_url"),
            commit_url: None,
        }
    }
}

/// One state a deployment was seen entering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateChange {
    pub deployment_id: i64,
    /// `None` for the state the deployment was first seen in.
    pub from: Option<DeployState>,
    pub to: DeployState,
    pub at: DateTime<Utc>,
}

/// Which deployments the history shows. Empty lists and `None` mean "no filter"; the filters
/// combine with AND, the values inside one list with OR.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeploymentFilter {
    pub services: Vec<String>,
    /// Exact Lookout environment names (`production`, `preview/feature-x`).
    pub environments: Vec<String>,
    pub states: Vec<DeployState>,
    /// Case-insensitive substring of the author or the creator.
    pub author: Option<String>,
    /// Created at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Created strictly before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// Where the next history page starts: just after the last deployment of the previous page.
/// Opaque to users; it travels in URLs as [`HistoryCursor::encode`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HistoryCursor {
    created_at_ms: i64,
    id: i64,
}

impl HistoryCursor {
    /// The cursor that continues after `deployment`.
    pub fn after(deployment: &StoredDeployment) -> Self {
        Self {
            created_at_ms: deployment.record.created_at.timestamp_millis(),
            id: deployment.id,
        }
    }

    /// The URL-safe text form (`{created_at millis}.{id}`).
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at_ms, self.id)
    }

    /// Reads [`HistoryCursor::encode`]'s output; anything else is [`StoreError::InvalidCursor`].
    pub fn decode(text: &str) -> Result<Self, StoreError> {
        let (millis, id) = text.split_once('.').ok_or(StoreError::InvalidCursor)?;
        let parse = |part: &str| -> Result<i64, StoreError> {
            let valid = !part.is_empty()
                && part
                    .strip_prefix('-')
                    .unwrap_or(part)
                    .bytes()
                    .all(|b| b.is_ascii_digit());
            if !valid {
                return Err(StoreError::InvalidCursor);
            }
            part.parse().map_err(|_| StoreError::InvalidCursor)
        };
        let created_at_ms = parse(millis)?;
        let id = parse(id)?;
        if id < 0 || DateTime::<Utc>::from_timestamp_millis(created_at_ms).is_none() {
            return Err(StoreError::InvalidCursor);
        }
        Ok(Self { created_at_ms, id })
    }

    pub(crate) fn created_at_ms(&self) -> i64 {
        self.created_at_ms
    }

    pub(crate) fn id(&self) -> i64 {
        self.id
    }
}

/// One page of history, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryPage {
    pub deployments: Vec<StoredDeployment>,
    /// `None` when this is the last page.
    pub next: Option<HistoryCursor>,
}

/// The most deployments one history page returns; larger limits are clamped to it.
pub const MAX_PAGE_SIZE: u32 = 500;

/// One health-check result.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthSample {
    pub service: String,
    pub environment: String,
    pub at: DateTime<Utc>,
    pub state: HealthState,
    pub latency_ms: Option<u32>,
}

/// Uptime over a window: `up` and `degraded` count as up, `down` as a failure, `unknown` and
/// `unchecked` are not counted at all.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Uptime {
    pub samples: u64,
    pub failures: u64,
    /// `None` when there are no counted samples in the window.
    pub percent: Option<f64>,
}

impl Uptime {
    pub(crate) fn from_counts(samples: u64, failures: u64) -> Self {
        let percent = (samples > 0)
            .then(|| (samples.saturating_sub(failures)) as f64 * 100.0 / samples as f64);
        Self {
            samples,
            failures,
            percent,
        }
    }
}

/// Latency in one bucket of a sparkline; `None` where no latency was measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LatencyPoint {
    pub start: DateTime<Utc>,
    pub p50_ms: Option<u32>,
    pub p95_ms: Option<u32>,
}

/// The most buckets a latency series has; larger requests are clamped to it.
pub const MAX_LATENCY_BUCKETS: u32 = 1_000;

/// How long health data is kept and how much one retention run may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Raw samples older than this (rounded down to the hour) are rolled up and deleted.
    pub raw_for: Duration,
    /// Hourly roll-ups older than this are deleted.
    pub rollups_for: Duration,
    /// At most this many raw samples (and this many roll-ups) per run.
    pub max_rows_per_run: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            raw_for: Duration::from_secs(48 * 3600),
            rollups_for: Duration::from_secs(90 * 24 * 3600),
            max_rows_per_run: 10_000,
        }
    }
}

/// What one retention run did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// (service, environment, hour) roll-up rows written or merged into.
    pub rolled_up_hours: u64,
    pub raw_deleted: u64,
    pub rollups_deleted: u64,
    /// True when work remains that this run's bound left for the next one.
    pub more_pending: bool,
}

/// Which rollback operations to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RollbackQuery<'a> {
    Id(i64),
    Key(&'a str),
    /// The unfinished one of a service and environment.
    InFlight {
        service: &'a str,
        environment: &'a str,
    },
    /// Every unfinished operation (reconciled at startup).
    Unfinished,
    /// The newest operation of every service and environment (the service rows' notes).
    LatestEach,
}

impl RollbackQuery<'_> {
    /// The statement and its binds.
    pub(crate) fn sql(self) -> (String, Vec<common::Bind>) {
        use common::Bind;
        match self {
            Self::Id(id) => (rollbacks::by_id(), vec![Bind::Int(Some(id))]),
            Self::Key(key) => (rollbacks::by_key(), vec![Bind::Text(Some(key.to_string()))]),
            Self::InFlight {
                service,
                environment,
            } => (
                rollbacks::in_flight(),
                vec![
                    Bind::Text(Some(service.to_string())),
                    Bind::Text(Some(environment.to_string())),
                ],
            ),
            Self::Unfinished => (rollbacks::unfinished(), Vec::new()),
            Self::LatestEach => (rollbacks::latest_each(), Vec::new()),
        }
    }
}

/// Which audit entries to list; empty fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub action: String,
    pub actor: String,
    pub outcome: String,
}

/// An audit entry to append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    /// What was attempted (`rollback`, `login`, `config_reload`).
    pub action: String,
    /// What it was attempted on (`api/production`).
    pub target: String,
    /// `pending`, `succeeded`, `failed`, `refused`, …
    pub outcome: String,
    pub detail: Option<String>,
    pub remote_addr: Option<String>,
}

/// An audit entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub outcome: String,
    pub detail: Option<String>,
    pub remote_addr: Option<String>,
}

/// A sign-in session (password mode), found by the SHA-256 of its cookie token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub user_name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Lookout's persistence port. Both backends implement it with the same semantics; the story
/// test in `server/tests/store_story.rs` runs against each.
#[async_trait]
pub trait Store: Send + Sync {
    fn backend(&self) -> Backend;

    /// Records a deployment, keyed by (provider, provider_id). A state change appends a row to
    /// the state-change log and moves `state_changed_at` to `record.observed_at`.
    async fn upsert_deployment(
        &self,
        record: &DeploymentRecord,
    ) -> Result<UpsertOutcome, StoreError>;

    /// The states a deployment was seen entering, oldest first (the first has `from: None`).
    async fn deployment_state_changes(
        &self,
        deployment_id: i64,
    ) -> Result<Vec<StateChange>, StoreError>;

    /// One page of history, newest first by (created_at, id). `limit` is clamped to
    /// 1..=[`MAX_PAGE_SIZE`]. Deployments recorded after the first page was read never shift
    /// later pages (keyset pagination).
    async fn list_deployments(
        &self,
        filter: &DeploymentFilter,
        after: Option<&HistoryCursor>,
        limit: u32,
    ) -> Result<HistoryPage, StoreError>;

    /// When the newest deployment recorded for this service at this provider was created;
    /// `None` means "never seen: backfill".
    async fn latest_deployment_time(
        &self,
        provider: ProviderKind,
        service: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Appends health samples in one transaction.
    async fn record_health_samples(&self, samples: &[HealthSample]) -> Result<(), StoreError>;

    /// Uptime in `[since, now)`: raw samples in that range, plus the hourly roll-ups whose hour
    /// starts in it. A sample is either raw or rolled up, never both, so nothing is counted
    /// twice.
    async fn uptime(
        &self,
        service: &str,
        environment: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Uptime, StoreError>;

    /// p50/p95 latency in `buckets` equal slices of `[since, now)` (clamped to
    /// [`MAX_LATENCY_BUCKETS`]; empty for zero buckets or an empty window).
    async fn latency_series(
        &self,
        service: &str,
        environment: &str,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
        buckets: u32,
    ) -> Result<Vec<LatencyPoint>, StoreError>;

    /// One bounded retention run: rolls raw samples from whole hours older than
    /// `policy.raw_for` into hourly rows (merging into rows an earlier run wrote), deletes them,
    /// and deletes roll-ups older than `policy.rollups_for`. Atomic per run.
    async fn roll_up_and_prune(
        &self,
        now: DateTime<Utc>,
        policy: &RetentionPolicy,
    ) -> Result<RetentionReport, StoreError>;

    /// Appends an audit entry and returns its id. There is no way to change or remove one.
    async fn append_audit(&self, entry: &NewAuditEntry) -> Result<i64, StoreError>;

    /// Audit entries newest first, those with an id below `before_id` when given.
    async fn list_audit(
        &self,
        limit: u32,
        before_id: Option<i64>,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        self.list_audit_filtered(limit, before_id, &AuditFilter::default())
            .await
    }

    /// Audit entries newest first, matching `filter` (exact action, actor and outcome; an
    /// empty field matches all).
    async fn list_audit_filtered(
        &self,
        limit: u32,
        before_id: Option<i64>,
        filter: &AuditFilter,
    ) -> Result<Vec<AuditEntry>, StoreError>;

    /// Records a new session under the SHA-256 (hex) of its token.
    async fn create_session(
        &self,
        token_sha256: &str,
        session: &SessionRecord,
    ) -> Result<(), StoreError>;

    /// The session with this token hash, if it exists and has not expired at `now`.
    async fn find_session(
        &self,
        token_sha256: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionRecord>, StoreError>;

    /// Moves a session's expiry (the idle timeout slides on use). A session that does not
    /// exist is not an error.
    async fn touch_session(
        &self,
        token_sha256: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Ends a session (logout). Ending one that does not exist is not an error.
    async fn delete_session(&self, token_sha256: &str) -> Result<(), StoreError>;

    /// Removes sessions that expired at or before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Checks the database answers (for `/readyz`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Inserts a new rollback operation; `None` when a unique index refused it (the
    /// idempotency key was used, or an operation on the service and environment is unfinished).
    async fn insert_rollback(&self, record: &RollbackRecord) -> Result<Option<i64>, StoreError>;

    /// Writes the mutable columns of an operation (state, detail, ids, hold, times).
    async fn update_rollback(&self, record: &RollbackRecord) -> Result<(), StoreError>;

    /// Marks the hold of operation `id` released (`how`, by whom, when) if it is held and not
    /// released yet; `false` when another release got there first (or there is no hold).
    async fn claim_hold_release(
        &self,
        id: i64,
        how: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Gives back the claim made at `at` (the provider refused the release).
    async fn unclaim_hold_release(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// Rollback operations matching `query`, oldest first.
    async fn find_rollbacks(
        &self,
        query: RollbackQuery<'_>,
    ) -> Result<Vec<RollbackRecord>, StoreError>;

    /// Records `record` as a new `pending` operation unless its key was used before or another
    /// operation on the same service and environment is unfinished (the database lock).
    async fn begin_rollback(&self, record: &RollbackRecord) -> Result<BeginRollback, StoreError> {
        // Twice at most: an operation that finished between the refused insert and the lookup
        // leaves the lock free for a second try.
        for _ in 0..2 {
            if let Some(id) = self.insert_rollback(record).await? {
                return Ok(BeginRollback::Started(id));
            }
            let earlier = self
                .find_rollbacks(RollbackQuery::Key(&record.idempotency_key))
                .await?;
            if let Some(earlier) = earlier.into_iter().next() {
                return Ok(BeginRollback::Duplicate(Box::new(earlier)));
            }
            let running = self
                .find_rollbacks(RollbackQuery::InFlight {
                    service: &record.service,
                    environment: &record.environment,
                })
                .await?;
            if let Some(running) = running.into_iter().next() {
                return Ok(BeginRollback::InFlight(Box::new(running)));
            }
        }
        Err(StoreError::InvalidInput {
            what: "rollback operation",
            detail: "refused by a unique index that no row explains".into(),
        })
    }
}

/// Opens the store a URL names and brings its schema up to date.
///
/// `postgres://…` and `postgresql://…` open PostgreSQL. `sqlite:PATH` (also `sqlite://PATH`,
/// `sqlite::memory:`) or a bare file path open SQLite, creating the file (and its directory)
/// when missing, in WAL mode with a busy timeout and foreign keys on. Any other scheme is
/// [`StoreError::UnsupportedUrl`].
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let trimmed = url.trim();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        let store = postgres::PostgresStore::open(trimmed).await?;
        return Ok(Arc::new(store));
    }
    if trimmed.starts_with("sqlite:") {
        let store = sqlite::SqliteStore::open_url(trimmed).await?;
        return Ok(Arc::new(store));
    }
    if trimmed.is_empty() || looks_like_url(trimmed) {
        return Err(StoreError::UnsupportedUrl {
            url: redact_url(trimmed),
        });
    }
    let store = sqlite::SqliteStore::open_path(std::path::Path::new(trimmed)).await?;
    Ok(Arc::new(store))
}

/// `scheme://…` (a Windows drive letter like `C:\` is a path, not a scheme).
fn looks_like_url(text: &str) -> bool {
    match text.split_once("://") {
        Some((scheme, _)) => {
            scheme.len() > 1
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

use crate::secret::redact_url;

/// A sentence for the operator about a failed migration.
pub(crate) fn migration_message(source: &sqlx::migrate::MigrateError) -> String {
    use sqlx::migrate::MigrateError;
    match source {
        MigrateError::VersionMissing(version) => format!(
            "the database has migration {version} applied, which this Lookout does not know: \
             it was used by a newer version; upgrade Lookout or point it at another database"
        ),
        MigrateError::VersionMismatch(version) => format!(
            "migration {version} was changed after it was applied to this database; \
             restore the original migration file"
        ),
        MigrateError::Dirty(version) => format!(
            "migration {version} was left half-applied by an earlier run; fix the schema by \
             hand and remove its row from _sqlx_migrations, or start from an empty database"
        ),
        other => format!(
            "{other}; the database may hold tables Lookout did not create (point Lookout at \
             an empty database or file)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let cursor = HistoryCursor {
            created_at_ms: 1_716_000_000_123,
            id: 42,
        };
        assert_eq!(cursor.encode(), "1716000000123.42");
        assert_eq!(HistoryCursor::decode(&cursor.encode()).unwrap(), cursor);
    }

    #[test]
    fn garbled_cursors_are_typed_errors() {
        for garbled in [
            "",
            ".",
            "12",
            "12.",
            ".12",
            "a.b",
            "1.2.3",
            "+1.2",
            "1.-2",
            "99999999999999999999.1",
            "9223372036854775807.1",
            "1 .2",
            "١.٢",
        ] {
            assert!(
                matches!(
                    HistoryCursor::decode(garbled),
                    Err(StoreError::InvalidCursor)
                ),
                "{garbled:?} should be rejected"
            );
        }
    }

    #[test]
    fn uptime_percent() {
        assert_eq!(Uptime::from_counts(0, 0).percent, None);
        assert_eq!(Uptime::from_counts(4, 1).percent, Some(75.0));
    }

    #[test]
    fn passwords_never_appear_in_urls_we_print() {
        let shown = redact_url("postgres://lookout:hunter2@db.internal:5432/lookout");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("db.internal"));
        assert_eq!(
            redact_url("postgres://db.internal/lookout"),
            "postgres://db.internal/lookout"
        );
    }

    #[test]
    fn schemes_other_than_ours_are_urls_not_paths() {
        assert!(looks_like_url("mysql://localhost/db"));
        assert!(!looks_like_url("data/lookout.db"));
        assert!(!looks_like_url("C:\\data\\lookout.db"));
    }

    #[tokio::test]
    async fn unsupported_schemes_are_refused() {
        let error = open("mysql://root:secret@localhost/lookout").await.err();
        match error {
            Some(StoreError::UnsupportedUrl { url }) => assert!(!url.contains("secret")),
            other => panic!("expected UnsupportedUrl, got {other:?}"),
        }
    }
}
