//! What every client's mapping of a provider payload shares: lenient timestamps, empty strings
//! read as absent, and noticing a provider value Lookout does not know (yet).
//!
//! Provider payloads are read leniently on purpose: one unreadable field must not hide a whole
//! page of deployments, so such a field is left out and logged instead.

use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

/// Logs a value of `field` that Lookout does not know, once per process and provider, so a
/// new provider value is noticed without flooding the log on every poll.
pub fn warn_unknown(provider: &'static str, field: &'static str, value: &str) {
    /// Provider, field and value already logged.
    type Seen = HashSet<(&'static str, &'static str, String)>;
    static SEEN: OnceLock<Mutex<Seen>> = OnceLock::new();
    let first_time = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert((provider, field, value.to_string()));
    if first_time {
        tracing::warn!(
            provider,
            field,
            value,
            "unknown provider value; shown as unknown"
        );
    }
}

/// An RFC 3339 timestamp (surrounding blanks ignored). One Lookout cannot read is left out
/// rather than failing the whole answer, and logged once.
pub fn parse_time(provider: &'static str, value: Option<&str>) -> Option<DateTime<Utc>> {
    let value = value?.trim();
    match DateTime::parse_from_rfc3339(value) {
        Ok(time) => Some(time.with_timezone(&Utc)),
        Err(_) => {
            warn_unknown(provider, "timestamp", value);
            None
        }
    }
}

/// A text field that says something: `None` for absent, empty or blank.
pub fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

/// A borrowed text field, trimmed, when it says something.
pub fn trimmed(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_string)
}
