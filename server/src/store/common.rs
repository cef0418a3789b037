//! What both backends share for deployments, the audit log and sessions: the SQL text (written
//! once with `?` placeholders, numbered for PostgreSQL when it runs), the value encoding, row
//! types and their conversion to domain types. Health samples, roll-ups and their arithmetic are
//! in `health`. Keeping these here means SQLite and PostgreSQL give the same answers by
//! construction.

use super::{
    AuditEntry, DeploymentFilter, DeploymentRecord, HistoryCursor, NewAuditEntry, SessionRecord,
    StateChange, StoreError, StoredDeployment,
};
use app::model::{DeployState, EnvironmentKind, ProviderKind};
use chrono::{DateTime, Utc};
use serde::de::value::{Error as ValueError, StrDeserializer};
use serde::{de::DeserializeOwned, Serialize};
use std::borrow::Cow;

/// The SQL dialect a statement is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// `sql` with its `?` placeholders in this dialect's style (`$1, $2, …` for PostgreSQL).
    /// Our statements hold no `?` inside string literals.
    pub(crate) fn sql<'a>(self, sql: &'a str) -> Cow<'a, str> {
        match self {
            Self::Sqlite => Cow::Borrowed(sql),
            Self::Postgres => {
                let mut numbered = String::with_capacity(sql.len() + 16);
                let mut n = 0;
                for c in sql.chars() {
                    if c == '?' {
                        n += 1;
                        numbered.push('$');
                        numbered.push_str(&n.to_string());
                    } else {
                        numbered.push(c);
                    }
                }
                Cow::Owned(numbered)
            }
        }
    }
}

/// A value bound to a dynamically built statement.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Bind {
    Text(Option<String>),
    Int(Option<i64>),
}

/// A text value.
pub(crate) fn text(value: impl Into<String>) -> Bind {
    Bind::Text(Some(value.into()))
}

/// An integer value.
pub(crate) fn int(value: i64) -> Bind {
    Bind::Int(Some(value))
}

/// A statement built at run time with its values, in the order of its placeholders.
#[derive(Clone, Debug)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) binds: Vec<Bind>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            binds: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, text: &str) {
        self.text.push_str(text);
    }

    pub(crate) fn bind(&mut self, value: Bind) {
        self.text.push('?');
        self.binds.push(value);
    }

    /// `(?, ?, …)` binding each value.
    pub(crate) fn bind_list(&mut self, values: impl IntoIterator<Item = Bind>) {
        self.push("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self.push(")");
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// An enum's serde `snake_case` name, the form stored in the database.
pub(crate) fn enum_name<T: Serialize + std::fmt::Debug>(value: &T) -> Result<String, StoreError> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => Ok(name),
        _ => Err(StoreError::InvalidInput {
            what: "enum value",
            detail: format!("{value:?} has no plain name"),
        }),
    }
}

pub(crate) fn parse_enum<T: DeserializeOwned>(
    column: &'static str,
    name: &str,
) -> Result<T, StoreError> {
    T::deserialize(StrDeserializer::<ValueError>::new(name)).map_err(|_| StoreError::Corrupt {
        column,
        value: name.to_owned(),
    })
}

pub(crate) fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

pub(crate) fn from_millis(column: &'static str, ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::<Utc>::from_timestamp_millis(ms).ok_or(StoreError::Corrupt {
        column,
        value: ms.to_string(),
    })
}

fn opt_from_millis(
    column: &'static str,
    ms: Option<i64>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(|ms| from_millis(column, ms)).transpose()
}

fn to_u32(column: &'static str, value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt {
        column,
        value: value.to_string(),
    })
}

pub(crate) fn to_u64(column: &'static str, value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Corrupt {
        column,
        value: value.to_string(),
    })
}

// ---------------------------------------------------------------------------------------------
// Deployments

pub(crate) const DEPLOYMENT_COLUMNS: &str = "id, provider, provider_id, service, environment, \
     environment_kind, state, provider_state, commit_sha, commit_message, author, branch, \
     pr_number, creator, created_at, finished_at, url, dashboard_url, observed_at, \
     first_seen_at, state_changed_at";

/// Inserts a deployment unless (provider, provider_id) exists; returns the new id if inserted.
/// Binds: [`record_binds`], then first_seen_at, state_changed_at.
pub(crate) const INSERT_DEPLOYMENT: &str = "INSERT INTO deployments (provider, provider_id, \
     service, environment, environment_kind, state, provider_state, commit_sha, commit_message, \
     author, branch, pr_number, creator, created_at, finished_at, url, dashboard_url, \
     observed_at, first_seen_at, state_changed_at) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) \
     ON CONFLICT (provider, provider_id) DO NOTHING RETURNING id";

/// Binds: provider, provider_id. PostgreSQL appends `FOR UPDATE`.
pub(crate) const SELECT_DEPLOYMENT_STATE: &str =
    "SELECT id, state, state_changed_at FROM deployments WHERE provider = ? AND provider_id = ?";

/// Binds: [`record_binds`], then state_changed_at, id.
pub(crate) const UPDATE_DEPLOYMENT: &str = "UPDATE deployments SET provider = ?, \
     provider_id = ?, service = ?, environment = ?, environment_kind = ?, state = ?, \
     provider_state = ?, commit_sha = ?, commit_message = ?, author = ?, branch = ?, \
     pr_number = ?, creator = ?, created_at = ?, finished_at = ?, url = ?, dashboard_url = ?, \
     observed_at = ?, state_changed_at = ? WHERE id = ?";

/// Binds: deployment_id, from_state, to_state, at.
pub(crate) const INSERT_STATE_CHANGE: &str = "INSERT INTO deployment_state_changes \
     (deployment_id, from_state, to_state, at) VALUES (?, ?, ?, ?)";

/// Binds: deployment_id.
pub(crate) const SELECT_STATE_CHANGES: &str = "SELECT deployment_id, from_state, to_state, at \
     FROM deployment_state_changes WHERE deployment_id = ? ORDER BY id";

/// Binds: provider, service.
pub(crate) const LATEST_DEPLOYMENT_TIME: &str =
    "SELECT MAX(created_at) FROM deployments WHERE provider = ? AND service = ?";

/// The record's columns in the order [`INSERT_DEPLOYMENT`] and [`UPDATE_DEPLOYMENT`] name them.
pub(crate) fn record_binds(record: &DeploymentRecord) -> Result<Vec<Bind>, StoreError> {
    let text = |value: &Option<String>| Bind::Text(value.clone());
    Ok(vec![
        Bind::Text(Some(enum_name(&record.provider)?)),
        Bind::Text(Some(record.provider_id.clone())),
        Bind::Text(Some(record.service.clone())),
        Bind::Text(Some(record.environment.clone())),
        Bind::Text(Some(enum_name(&record.environment_kind)?)),
        Bind::Text(Some(enum_name(&record.state)?)),
        Bind::Text(Some(record.provider_state.clone())),
        text(&record.commit_sha),
        text(&record.commit_message),
        text(&record.author),
        text(&record.branch),
        Bind::Int(record.pr_number.map(i64::from)),
        text(&record.creator),
        Bind::Int(Some(millis(record.created_at))),
        Bind::Int(record.finished_at.map(millis)),
        text(&record.url),
        text(&record.dashboard_url),
        Bind::Int(Some(millis(record.observed_at))),
    ])
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct DeploymentRow {
    id: i64,
    provider: String,
    provider_id: String,
    service: String,
    environment: String,
    environment_kind: String,
    state: String,
    provider_state: String,
    commit_sha: Option<String>,
    commit_message: Option<String>,
    author: Option<String>,
    branch: Option<String>,
    pr_number: Option<i64>,
    creator: Option<String>,
    created_at: i64,
    finished_at: Option<i64>,
    url: Option<String>,
    dashboard_url: Option<String>,
    observed_at: i64,
    first_seen_at: i64,
    state_changed_at: i64,
}

impl DeploymentRow {
    pub(crate) fn into_stored(self) -> Result<StoredDeployment, StoreError> {
        let record = DeploymentRecord {
            provider: parse_enum::<ProviderKind>("deployments.provider", &self.provider)?,
            service: self.service,
            environment: self.environment,
            environment_kind: parse_enum::<EnvironmentKind>(
                "deployments.environment_kind",
                &self.environment_kind,
            )?,
            provider_id: self.provider_id,
            state: parse_enum::<DeployState>("deployments.state", &self.state)?,
            provider_state: self.provider_state,
            commit_sha: self.commit_sha,
            commit_message: self.commit_message,
            author: self.author,
            branch: self.branch,
            pr_number: self
                .pr_number
                .map(|n| to_u32("deployments.pr_number", n))
                .transpose()?,
            creator: self.creator,
            created_at: from_millis("deployments.created_at", self.created_at)?,
            finished_at: opt_from_millis("deployments.finished_at", self.finished_at)?,
            url: self.url,
            dashboard_url: self.dashboard_url,
            observed_at: from_millis("deployments.observed_at", self.observed_at)?,
        };
        Ok(StoredDeployment {
            id: self.id,
            record,
            first_seen_at: from_millis("deployments.first_seen_at", self.first_seen_at)?,
            state_changed_at: from_millis("deployments.state_changed_at", self.state_changed_at)?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct StateChangeRow {
    deployment_id: i64,
    from_state: Option<String>,
    to_state: String,
    at: i64,
}

impl StateChangeRow {
    pub(crate) fn into_change(self) -> Result<StateChange, StoreError> {
        Ok(StateChange {
            deployment_id: self.deployment_id,
            from: self
                .from_state
                .map(|name| parse_enum("deployment_state_changes.from_state", &name))
                .transpose()?,
            to: parse_enum("deployment_state_changes.to_state", &self.to_state)?,
            at: from_millis("deployment_state_changes.at", self.at)?,
        })
    }
}

/// The history query: newest first by (created_at, id), keyset after `after`, `fetch` rows.
/// The dialect picks the substring function; placeholders stay `?`.
pub(crate) fn history_query(
    dialect: Dialect,
    filter: &DeploymentFilter,
    after: Option<&HistoryCursor>,
    fetch: u32,
) -> Result<Sql, StoreError> {
    let mut sql = Sql::new("SELECT ");
    sql.push(DEPLOYMENT_COLUMNS);
    sql.push(" FROM deployments WHERE 1 = 1");
    let states = filter
        .states
        .iter()
        .map(enum_name)
        .collect::<Result<Vec<_>, _>>()?;
    for (column, values) in [
        ("service", &filter.services),
        ("environment", &filter.environments),
        ("state", &states),
    ] {
        // An empty list is no filter, not "matches nothing".
        if !values.is_empty() {
            sql.push(&format!(" AND {column} IN "));
            sql.bind_list(values.iter().map(text));
        }
    }
    if let Some(needle) = filter
        .author
        .as_deref()
        .map(str::trim)
        .filter(|needle| !needle.is_empty())
    {
        // Lower-cased here and in SQL; SQLite's lower() folds ASCII only.
        let needle = needle.to_lowercase();
        let contains = match dialect {
            Dialect::Sqlite => "instr",
            Dialect::Postgres => "strpos",
        };
        sql.push(&format!(" AND ({contains}(lower(coalesce(author, '')), "));
        sql.bind(Bind::Text(Some(needle.clone())));
        sql.push(&format!(
            ") > 0 OR {contains}(lower(coalesce(creator, '')), "
        ));
        sql.bind(Bind::Text(Some(needle)));
        sql.push(") > 0)");
    }
    if let Some(from) = filter.from {
        sql.push(" AND created_at >= ");
        sql.bind(Bind::Int(Some(millis(from))));
    }
    if let Some(to) = filter.to {
        sql.push(" AND created_at < ");
        sql.bind(Bind::Int(Some(millis(to))));
    }
    if let Some(cursor) = after {
        // Written so the (created_at, id) indexes serve it as a range.
        sql.push(" AND created_at <= ");
        sql.bind(Bind::Int(Some(cursor.created_at_ms())));
        sql.push(" AND (created_at < ");
        sql.bind(Bind::Int(Some(cursor.created_at_ms())));
        sql.push(" OR id < ");
        sql.bind(Bind::Int(Some(cursor.id())));
        sql.push(")");
    }
    sql.push(" ORDER BY created_at DESC, id DESC LIMIT ");
    sql.bind(Bind::Int(Some(i64::from(fetch))));
    Ok(sql)
}

// ---------------------------------------------------------------------------------------------
// Audit

/// Binds: at, actor, action, target, outcome, detail, remote_addr.
pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_log \
     (at, actor, action, target, outcome, detail, remote_addr) \
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id";

/// The binds of [`INSERT_AUDIT`].
pub(crate) fn audit_binds(entry: &NewAuditEntry) -> Vec<Bind> {
    vec![
        int(millis(entry.at)),
        text(entry.actor.clone()),
        text(entry.action.clone()),
        text(entry.target.clone()),
        text(entry.outcome.clone()),
        Bind::Text(entry.detail.clone()),
        Bind::Text(entry.remote_addr.clone()),
    ]
}

/// Binds: before_id, then action, actor, outcome each twice ('' matches all), then limit.
pub(crate) const LIST_AUDIT: &str = "SELECT id, at, actor, action, target, outcome, detail, \
     remote_addr FROM audit_log WHERE id < ? AND (? = '' OR action = ?) \
     AND (? = '' OR actor = ?) AND (? = '' OR outcome = ?) ORDER BY id DESC LIMIT ?";

/// The binds of [`LIST_AUDIT`].
pub(crate) fn list_audit_binds(
    limit: u32,
    before_id: Option<i64>,
    filter: &super::AuditFilter,
) -> Vec<Bind> {
    let mut binds = vec![Bind::Int(Some(before_id.unwrap_or(i64::MAX)))];
    for value in [&filter.action, &filter.actor, &filter.outcome] {
        binds.push(Bind::Text(Some(value.clone())));
        binds.push(Bind::Text(Some(value.clone())));
    }
    binds.push(Bind::Int(Some(i64::from(page_size(limit)))));
    binds
}

/// Binds: token_sha256, user_name, created_at, expires_at.
pub(crate) const INSERT_SESSION: &str = "INSERT INTO sessions \
     (token_sha256, user_name, created_at, expires_at) VALUES (?, ?, ?, ?)";

/// Binds: token_sha256, now.
pub(crate) const FIND_SESSION: &str = "SELECT user_name, created_at, expires_at FROM sessions \
     WHERE token_sha256 = ? AND expires_at > ?";

/// Binds: expires_at, token_sha256 (only ever moves the expiry, never the owner).
pub(crate) const TOUCH_SESSION: &str = "UPDATE sessions SET expires_at = ? WHERE token_sha256 = ?";

/// Binds: token_sha256.
pub(crate) const DELETE_SESSION: &str = "DELETE FROM sessions WHERE token_sha256 = ?";

/// Binds: now.
pub(crate) const DELETE_EXPIRED_SESSIONS: &str = "DELETE FROM sessions WHERE expires_at <= ?";

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SessionRow {
    user_name: String,
    created_at: i64,
    expires_at: i64,
}

impl SessionRow {
    pub(crate) fn into_session(self) -> Result<SessionRecord, StoreError> {
        Ok(SessionRecord {
            user_name: self.user_name,
            created_at: from_millis("sessions.created_at", self.created_at)?,
            expires_at: from_millis("sessions.expires_at", self.expires_at)?,
        })
    }
}

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AuditRow {
    id: i64,
    at: i64,
    actor: String,
    action: String,
    target: String,
    outcome: String,
    detail: Option<String>,
    remote_addr: Option<String>,
}

impl AuditRow {
    pub(crate) fn into_entry(self) -> Result<AuditEntry, StoreError> {
        Ok(AuditEntry {
            id: self.id,
            at: from_millis("audit_log.at", self.at)?,
            actor: self.actor,
            action: self.action,
            target: self.target,
            outcome: self.outcome,
            detail: self.detail,
            remote_addr: self.remote_addr,
        })
    }
}

/// A page size clamped to 1..=[`super::MAX_PAGE_SIZE`].
pub(crate) fn page_size(limit: u32) -> u32 {
    limit.clamp(1, super::MAX_PAGE_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_placeholders_are_numbered() {
        assert_eq!(
            Dialect::Postgres.sql("a = ? AND b IN (?, ?)"),
            "a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(Dialect::Sqlite.sql("a = ?"), "a = ?");
    }
}
