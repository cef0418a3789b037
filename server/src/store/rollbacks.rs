//! Rollback operations in the store: the record the state machine in `crate::rollback` moves
//! along, its SQL (shared by both backends, `?` placeholders) and row conversion.
//!
//! The row is the operation's current state; the audit log keeps the append-only story
//! (`pending`, then the outcome). A partial unique index allows one unfinished operation per
//! service and environment: that is the lock replicas sharing a PostgreSQL database honour.

use super::common::{enum_name, from_millis, millis, parse_enum, Bind};
use super::StoreError;
use app::model::ProviderKind;
use app::rollback::{DeploymentRef, RollbackState};
use chrono::{DateTime, Utc};

/// One rollback operation as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackRecord {
    pub id: i64,
    /// One per confirmation page: a double click or a retried post finds this row again.
    pub idempotency_key: String,
    pub service: String,
    pub environment: String,
    pub provider: ProviderKind,
    pub actor: String,
    pub remote_addr: Option<String>,
    pub reason: String,
    pub from: DeploymentRef,
    pub to: DeploymentRef,
    /// Whether the user asked for the offered hold.
    pub place_hold: bool,
    pub state: RollbackState,
    pub detail: Option<String>,
    pub new_deployment_id: Option<String>,
    pub provider_reference: Option<String>,
    /// The hold in place (`providers::rollback::HoldKind::name`), if any.
    pub hold: Option<String>,
    /// How, by whom and when the hold ended.
    pub hold_release: Option<(String, String, DateTime<Utc>)>,
    pub requested_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// What [`super::Store::begin_rollback`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BeginRollback {
    /// Recorded as `pending` with this id: the caller owns the operation.
    Started(i64),
    /// This idempotency key was used before: the earlier operation.
    Duplicate(Box<RollbackRecord>),
    /// Another operation on the same service and environment is unfinished.
    InFlight(Box<RollbackRecord>),
}

const COLUMNS: &str = "id, idempotency_key, service, environment, provider, actor, \
     remote_addr, reason, from_id, from_sha, from_summary, to_id, to_sha, to_summary, \
     place_hold, state, detail, new_deployment_id, provider_reference, hold, hold_release, \
     hold_released_by, hold_released_at, requested_at, started_at, finished_at";

/// Binds: see [`insert_binds`].
pub(crate) const INSERT: &str = "INSERT INTO rollback_operations (idempotency_key, service, \
     environment, provider, actor, remote_addr, reason, from_id, from_sha, from_summary, to_id, \
     to_sha, to_summary, place_hold, state, requested_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";

/// Binds: see [`update_binds`]. The hold's release is not among the columns: only
/// [`CLAIM_HOLD_RELEASE`] and [`UNCLAIM_HOLD_RELEASE`] write it, so an operation's progress
/// saved from an older copy of the record can never undo a release.
pub(crate) const UPDATE: &str = "UPDATE rollback_operations SET state = ?, detail = ?, \
     new_deployment_id = ?, provider_reference = ?, hold = ?, started_at = ?, \
     finished_at = ? WHERE id = ?";

/// Binds: how, by, at (ms), id. Changes a row only if its hold is still unreleased, so of two
/// concurrent releases exactly one claims it (and calls the provider).
pub(crate) const CLAIM_HOLD_RELEASE: &str = "UPDATE rollback_operations SET hold_release = ?, \
     hold_released_by = ?, hold_released_at = ? \
     WHERE id = ? AND hold IS NOT NULL AND hold_release IS NULL";

/// Binds: id, at (ms) of the claim. Gives a claim back when the provider refused the release.
pub(crate) const UNCLAIM_HOLD_RELEASE: &str = "UPDATE rollback_operations SET \
     hold_release = NULL, hold_released_by = NULL, hold_released_at = NULL \
     WHERE id = ? AND hold_released_at = ?";

pub(crate) fn claim_binds(id: i64, how: &str, by: &str, at: DateTime<Utc>) -> Vec<Bind> {
    vec![
        Bind::Text(Some(how.to_string())),
        Bind::Text(Some(by.to_string())),
        Bind::Int(Some(millis(at))),
        Bind::Int(Some(id)),
    ]
}

pub(crate) fn unclaim_binds(id: i64, at: DateTime<Utc>) -> Vec<Bind> {
    vec![Bind::Int(Some(id)), Bind::Int(Some(millis(at)))]
}

pub(crate) fn by_id() -> String {
    format!("SELECT {COLUMNS} FROM rollback_operations WHERE id = ?")
}

pub(crate) fn by_key() -> String {
    format!("SELECT {COLUMNS} FROM rollback_operations WHERE idempotency_key = ?")
}

/// Binds: service, environment.
pub(crate) fn in_flight() -> String {
    format!(
        "SELECT {COLUMNS} FROM rollback_operations \
         WHERE service = ? AND environment = ? AND finished_at IS NULL"
    )
}

pub(crate) fn unfinished() -> String {
    format!("SELECT {COLUMNS} FROM rollback_operations WHERE finished_at IS NULL ORDER BY id")
}

/// The newest operation of every service and environment.
pub(crate) fn latest_each() -> String {
    format!(
        "SELECT {COLUMNS} FROM rollback_operations AS r WHERE id = \
         (SELECT MAX(id) FROM rollback_operations AS n \
          WHERE n.service = r.service AND n.environment = r.environment) ORDER BY id"
    )
}

pub(crate) fn insert_binds(record: &RollbackRecord) -> Result<Vec<Bind>, StoreError> {
    Ok(vec![
        Bind::Text(Some(record.idempotency_key.clone())),
        Bind::Text(Some(record.service.clone())),
        Bind::Text(Some(record.environment.clone())),
        Bind::Text(Some(enum_name(&record.provider)?)),
        Bind::Text(Some(record.actor.clone())),
        Bind::Text(record.remote_addr.clone()),
        Bind::Text(Some(record.reason.clone())),
        Bind::Text(Some(record.from.id.clone())),
        Bind::Text(record.from.commit_sha.clone()),
        Bind::Text(record.from.summary.clone()),
        Bind::Text(Some(record.to.id.clone())),
        Bind::Text(record.to.commit_sha.clone()),
        Bind::Text(record.to.summary.clone()),
        Bind::Int(Some(i64::from(record.place_hold))),
        Bind::Text(Some(record.state.name().to_string())),
        Bind::Int(Some(millis(record.requested_at))),
    ])
}

pub(crate) fn update_binds(record: &RollbackRecord) -> Vec<Bind> {
    vec![
        Bind::Text(Some(record.state.name().to_string())),
        Bind::Text(record.detail.clone()),
        Bind::Text(record.new_deployment_id.clone()),
        Bind::Text(record.provider_reference.clone()),
        Bind::Text(record.hold.clone()),
        Bind::Int(record.started_at.map(millis)),
        Bind::Int(record.finished_at.map(millis)),
        Bind::Int(Some(record.id)),
    ]
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct RollbackRow {
    id: i64,
    idempotency_key: String,
    service: String,
    environment: String,
    provider: String,
    actor: String,
    remote_addr: Option<String>,
    reason: String,
    from_id: String,
    from_sha: Option<String>,
    from_summary: Option<String>,
    to_id: String,
    to_sha: Option<String>,
    to_summary: Option<String>,
    place_hold: i64,
    state: String,
    detail: Option<String>,
    new_deployment_id: Option<String>,
    provider_reference: Option<String>,
    hold: Option<String>,
    hold_release: Option<String>,
    hold_released_by: Option<String>,
    hold_released_at: Option<i64>,
    requested_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
}

impl RollbackRow {
    pub(crate) fn into_record(self) -> Result<RollbackRecord, StoreError> {
        let provider = parse_enum("rollback_operations.provider", &self.provider)?;
        let state = RollbackState::from_name(&self.state).ok_or_else(|| StoreError::Corrupt {
            column: "rollback_operations.state",
            value: self.state.clone(),
        })?;
        let optional = |column: &'static str, value: Option<i64>| {
            value.map(|ms| from_millis(column, ms)).transpose()
        };
        let hold_release = match (
            self.hold_release,
            self.hold_released_by,
            optional(
                "rollback_operations.hold_released_at",
                self.hold_released_at,
            )?,
        ) {
            (Some(how), Some(by), Some(at)) => Some((how, by, at)),
            _ => None,
        };
        Ok(RollbackRecord {
            id: self.id,
            idempotency_key: self.idempotency_key,
            service: self.service,
            environment: self.environment,
            provider,
            actor: self.actor,
            remote_addr: self.remote_addr,
            reason: self.reason,
            from: DeploymentRef {
                id: self.from_id,
                commit_sha: self.from_sha,
                summary: self.from_summary,
            },
            to: DeploymentRef {
                id: self.to_id,
                commit_sha: self.to_sha,
                summary: self.to_summary,
            },
            place_hold: self.place_hold != 0,
            state,
            detail: self.detail,
            new_deployment_id: self.new_deployment_id,
            provider_reference: self.provider_reference,
            hold: self.hold,
            hold_release,
            requested_at: from_millis("rollback_operations.requested_at", self.requested_at)?,
            started_at: optional("rollback_operations.started_at", self.started_at)?,
            finished_at: optional("rollback_operations.finished_at", self.finished_at)?,
        })
    }
}

/// Whether an insert failed on a unique index (the idempotency key or the in-flight lock).
pub(crate) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.is_unique_violation())
}
