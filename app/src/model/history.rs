//! Wire types of the deploy history (`/history`, `/services/{name}`, `/api/v1/deployments`)
//! and the query that travels in their URLs.

use super::url::query_string;
use super::{
    DeployState, DeploymentView, EnvironmentKind, ProviderKind, ServiceStatus, UptimeView,
};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// How many deployments one history page shows.
pub const HISTORY_PAGE_SIZE: u32 = 50;

/// The longest author filter accepted (characters): the store matches it as a substring of
/// every row's author and creator, so its length bounds that work.
pub const MAX_AUTHOR_FILTER_CHARS: u32 = 100;

/// The history filters, as they appear in the page's URL (`?service=api&state=failed`).
/// Empty strings mean "no filter", so an HTML form posts them as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryQuery {
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub environment: String,
    /// A [`DeployState`] in snake_case.
    #[serde(default)]
    pub state: String,
    /// Case-insensitive part of the author's or creator's name.
    #[serde(default)]
    pub author: String,
    /// First day shown (`YYYY-MM-DD`, UTC), inclusive.
    #[serde(default)]
    pub from: String,
    /// Last day shown (`YYYY-MM-DD`, UTC), inclusive.
    #[serde(default)]
    pub to: String,
    /// The cursor of the page to show (from the previous page's "older" link).
    #[serde(default)]
    pub after: String,
}

impl HistoryQuery {
    /// Reads the query from URL parameters (unknown keys are ignored).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut query = Self::default();
        for (key, value) in pairs {
            let value = value.trim().to_string();
            match key {
                "service" => query.service = value,
                "environment" => query.environment = value,
                "state" => query.state = value,
                "author" => query.author = value,
                "from" => query.from = value,
                "to" => query.to = value,
                "after" => query.after = value,
                _ => {}
            }
        }
        query
    }

    /// The URL query string (without `?`), leaving out empty fields.
    pub fn to_query_string(&self) -> String {
        query_string([
            ("service", self.service.as_str()),
            ("environment", &self.environment),
            ("state", &self.state),
            ("author", &self.author),
            ("from", &self.from),
            ("to", &self.to),
            ("after", &self.after),
        ])
    }

    /// The same filters without a cursor (the first page).
    pub fn first_page(&self) -> Self {
        Self {
            after: String::new(),
            ..self.clone()
        }
    }

    pub fn is_filtered(&self) -> bool {
        !(self.service.is_empty()
            && self.environment.is_empty()
            && self.state.is_empty()
            && self.author.is_empty()
            && self.from.is_empty()
            && self.to.is_empty())
    }

    /// The author filter, if any; an error when it is longer than [`MAX_AUTHOR_FILTER_CHARS`].
    pub fn author_filter(&self) -> Result<Option<&str>, String> {
        let author = self.author.trim();
        if author.is_empty() {
            return Ok(None);
        }
        if author.chars().count() > MAX_AUTHOR_FILTER_CHARS as usize {
            return Err(format!(
                "the author filter is longer than {MAX_AUTHOR_FILTER_CHARS} characters"
            ));
        }
        Ok(Some(author))
    }

    /// The state filter, if it names a state.
    pub fn state_filter(&self) -> Result<Option<DeployState>, String> {
        if self.state.is_empty() {
            return Ok(None);
        }
        serde_json::from_value(serde_json::Value::String(self.state.clone()))
            .map(Some)
            .map_err(|_| format!("`{}` is not a deployment state", self.state))
    }

    /// The time range as instants: `from` at 00:00 UTC, `to` up to the end of its day.
    pub fn time_range(&self) -> Result<TimeRange, String> {
        let day = |text: &str, field: &str| -> Result<Option<NaiveDate>, String> {
            if text.is_empty() {
                return Ok(None);
            }
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| format!("{field} `{text}` is not a date like 2026-11-22"))
        };
        let from = day(&self.from, "from")?
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc());
        let to = day(&self.to, "to")?
            .and_then(|d| d.succ_opt())
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc());
        Ok((from, to))
    }
}

/// `(from, to)`: from inclusive, to exclusive; `None` is open-ended.
pub type TimeRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// One deployment in the merged history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub service: String,
    pub environment: String,
    pub environment_kind: EnvironmentKind,
    pub provider: ProviderKind,
    pub deployment: DeploymentView,
}

/// One page of the merged history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryView {
    pub entries: Vec<HistoryEntry>,
    /// The cursor of the next (older) page; `None` on the last page.
    pub next: Option<String>,
    /// The values the filters offer (from the configuration).
    pub services: Vec<String>,
    pub environments: Vec<String>,
    /// True when the server shows demo data.
    pub demo: bool,
    /// When the server answered (relative times are computed against it).
    pub generated_at: DateTime<Utc>,
}

/// A service across its environments: status, uptime, latency, recent history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceDetail {
    pub name: String,
    pub provider: ProviderKind,
    pub environments: Vec<ServiceEnvironmentDetail>,
    pub history: Vec<HistoryEntry>,
    /// The cursor of the rest of this service's history.
    pub more_history: Option<String>,
    pub demo: bool,
    pub generated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceEnvironmentDetail {
    pub environment: String,
    pub kind: EnvironmentKind,
    pub status: ServiceStatus,
    pub uptime: UptimeView,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_author_filter_longer_than_the_cap_is_refused() {
        let query = |author: String| HistoryQuery {
            author,
            ..HistoryQuery::default()
        };
        assert_eq!(query(" ana ".into()).author_filter(), Ok(Some("ana")));
        assert_eq!(query(String::new()).author_filter(), Ok(None));
        let longest = "é".repeat(MAX_AUTHOR_FILTER_CHARS as usize);
        assert_eq!(
            query(longest.clone()).author_filter(),
            Ok(Some(longest.as_str()))
        );
        assert!(query("a".repeat(10_000)).author_filter().is_err());
    }

    #[test]
    fn the_query_round_trips_through_the_url() {
        let query = HistoryQuery::from_pairs([
            ("service", "api"),
            ("state", "failed"),
            ("author", "Ana Souza"),
            ("from", "2026-11-01"),
            ("page", "ignored"),
        ]);
        assert_eq!(
            query.to_query_string(),
            "service=api&state=failed&author=Ana%20Souza&from=2026-11-01"
        );
        assert!(query.is_filtered());
        assert_eq!(query.state_filter(), Ok(Some(DeployState::Failed)));
        let (from, to) = query.time_range().unwrap();
        assert_eq!(from.unwrap().to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert!(to.is_none());
    }

    #[test]
    fn bad_filters_are_explained() {
        let query = HistoryQuery {
            state: "exploded".into(),
            to: "yesterday".into(),
            ..HistoryQuery::default()
        };
        assert_eq!(
            query.state_filter(),
            Err("`exploded` is not a deployment state".into())
        );
        assert!(query.time_range().unwrap_err().contains("yesterday"));
    }

    #[test]
    fn the_to_day_is_inclusive() {
        let query = HistoryQuery {
            to: "2026-11-22".into(),
            ..HistoryQuery::default()
        };
        let (_, to) = query.time_range().unwrap();
        assert_eq!(to.unwrap().to_rfc3339(), "2026-11-23T00:00:00+00:00");
    }
}
