//! The audit log as the admin's page and `GET /api/v1/audit` show it: who did what, when,
//! from where, with what outcome. Rows are never changed or removed.

use crate::model::query_string;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Rows per page of the audit log.
pub const AUDIT_PAGE_SIZE: u32 = 50;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// `login`, `logout`, `rollback`, …
    pub action: String,
    pub target: String,
    /// `succeeded`, `failed`, `refused`, `rate_limited`, `pending`, …
    pub outcome: String,
    pub detail: Option<String>,
    pub remote_addr: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditView {
    pub entries: Vec<AuditRow>,
    /// Pass as `before` for the next (older) page; `None` on the last page.
    pub next_before: Option<i64>,
    /// The server's clock when this page was read (relative times are computed against it).
    pub generated_at: DateTime<Utc>,
}

/// Which audit rows to show: older than `before`, and exactly this action, actor and outcome
/// where given (empty: all).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    pub before: Option<i64>,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub actor: String,
    #[serde(default)]
    pub outcome: String,
}

impl AuditQuery {
    /// The query string of `/audit` for this query (empty fields left out).
    pub fn to_query_string(&self) -> String {
        let before = self
            .before
            .map(|before| before.to_string())
            .unwrap_or_default();
        query_string([
            ("action", self.action.as_str()),
            ("actor", &self.actor),
            ("outcome", &self.outcome),
            ("before", &before),
        ])
    }

    pub fn is_filtered(&self) -> bool {
        !(self.action.is_empty() && self.actor.is_empty() && self.outcome.is_empty())
    }
}
