//! The runbooks' wire types: what `/runbooks` and `/runbooks/{slug}` show, the search query
//! and its terms, and the links from services to runbooks. The markdown is read, rendered and
//! sanitized by the server (`server::runbooks`); the page only ever receives the sanitized
//! HTML string in [`Runbook::html`] and inserts it as it is.

use super::{encode_component, query_string};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How urgent the situation a runbook handles is (front matter `severity`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Self::Critical, Self::High, Self::Medium, Self::Low];

    pub fn label(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::High => "high",
            Self::Medium => "medium",
            Self::Low => "low",
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            Self::Critical => "bad",
            Self::High => "warn",
            Self::Medium => "busy",
            Self::Low => "muted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|severity| severity.label().eq_ignore_ascii_case(text.trim()))
    }
}

/// Whether a runbook's review is recent enough.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewState {
    /// Reviewed within [`REVIEW_MAX_AGE_DAYS`].
    Current,
    /// Last reviewed longer ago than that: flagged in the list.
    Overdue,
    /// The front matter has no `last_reviewed`.
    Never,
}

/// A runbook whose last review is older than this is flagged.
pub const REVIEW_MAX_AGE_DAYS: i64 = 180;

/// One runbook as the list shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunbookSummary {
    /// The file name without `.md`; the URL is `/runbooks/{slug}`.
    pub slug: String,
    pub title: String,
    pub services: Vec<String>,
    pub environments: Vec<String>,
    pub severity: Option<Severity>,
    pub tags: Vec<String>,
    pub owner: Option<String>,
    pub last_reviewed: Option<NaiveDate>,
    pub review: ReviewState,
    /// Problems with the file (front matter errors, a failed reload), each with its line.
    pub warnings: Vec<String>,
    /// A few words around the first body match of a search (plain text).
    pub snippet: Option<String>,
}

impl RunbookSummary {
    pub fn href(&self) -> String {
        format!("/runbooks/{}", encode_component(&self.slug))
    }
}

/// One heading of a runbook, for its table of contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TocEntry {
    /// 1 for `#`, 2 for `##`, …
    pub level: u8,
    /// The element id in [`Runbook::html`] (without `#`).
    pub id: String,
    pub text: String,
}

/// One runbook, rendered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Runbook {
    pub summary: RunbookSummary,
    /// The body as HTML, rendered and sanitized on the server. Inserted as it is.
    pub html: String,
    pub toc: Vec<TocEntry>,
    /// The file, relative to the runbooks folder.
    pub file: String,
    pub modified_at: Option<DateTime<Utc>>,
}

/// A search uses at most this many characters of `q`; the rest is ignored (and the page says so).
pub const MAX_QUERY_CHARS: u32 = 200;

/// A search uses at most this many distinct words; the rest are ignored (and the page says so).
pub const MAX_QUERY_TERMS: u32 = 8;

/// The words of `text` as search sees them: runs of letters and digits, lower-cased, each with
/// the byte offset where it starts in `text`. The server indexes runbooks with this and splits
/// queries with it, so both agree on what a word is.
pub fn search_words(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while chars.peek().is_some_and(|(_, c)| !c.is_alphanumeric()) {
            chars.next();
        }
        let (start, _) = *chars.peek()?;
        let mut word = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| c.is_alphanumeric()) {
            word.extend(c.to_lowercase());
        }
        Some((start, word))
    })
}

/// The words a search looks for, after the caps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchTerms {
    /// Distinct, lower-cased, in the order typed; at most [`MAX_QUERY_TERMS`].
    pub terms: Vec<String>,
    /// Whether part of the query was left out (too long, or too many words).
    pub truncated: bool,
}

impl SearchTerms {
    /// Splits `q` into words: the first [`MAX_QUERY_CHARS`] characters, then the first
    /// [`MAX_QUERY_TERMS`] distinct words. The work is linear in the characters kept, so a huge
    /// `q` costs no more than a 200-character one.
    pub fn parse(q: &str) -> Self {
        let limit = MAX_QUERY_CHARS as usize;
        let cut = q.char_indices().nth(limit).map_or(q.len(), |(at, _)| at);
        let mut truncated = cut < q.len();
        let mut terms: Vec<String> = Vec::new();
        for (_, word) in search_words(&q[..cut]) {
            if terms.contains(&word) {
                continue;
            }
            if terms.len() == MAX_QUERY_TERMS as usize {
                truncated = true;
                break;
            }
            terms.push(word);
        }
        Self { terms, truncated }
    }
}

/// The list's filters as they appear in its URL (`/runbooks?q=rollback&service=api`); empty
/// strings mean "no filter", so a plain HTML form sends them as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookQuery {
    /// Words that must all appear (title, tags, services, owner or text), any case.
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub service: String,
    #[serde(default)]
    pub tag: String,
}

impl RunbookQuery {
    pub const KEYS: [&'static str; 3] = ["q", "service", "tag"];

    /// Reads the query from URL parameters (unknown keys are ignored).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut query = Self::default();
        for (key, value) in pairs {
            let value = value.trim().to_string();
            match key {
                "q" => query.q = value,
                "service" => query.service = value,
                "tag" => query.tag = value,
                _ => {}
            }
        }
        query
    }

    /// The URL query string (without `?`), leaving out empty fields.
    pub fn to_query_string(&self) -> String {
        query_string([
            ("q", self.q.as_str()),
            ("service", &self.service),
            ("tag", &self.tag),
        ])
    }

    pub fn is_empty(&self) -> bool {
        self.q.is_empty() && self.service.is_empty() && self.tag.is_empty()
    }
}

/// Whether the runbooks folder could be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "detail", rename_all = "snake_case")]
pub enum LibraryState {
    Loaded,
    /// The folder does not exist: no runbooks (not an error). Carries the path looked at.
    Missing(String),
    /// The folder exists but could not be read; the last good list is shown.
    Unreadable(String),
}

/// The runbook list: the matches of a query, plus what the filters can choose from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunbookList {
    pub runbooks: Vec<RunbookSummary>,
    /// How many runbooks there are without filters.
    pub total: u32,
    /// Every service and tag named by some runbook, sorted.
    pub services: Vec<String>,
    pub tags: Vec<String>,
    pub state: LibraryState,
    /// The words actually searched for (see [`SearchTerms`]).
    #[serde(default)]
    pub terms: Vec<String>,
    /// Whether the query was cut to [`MAX_QUERY_CHARS`] characters or [`MAX_QUERY_TERMS`]
    /// words; the page says so.
    #[serde(default)]
    pub query_truncated: bool,
}

/// A link to a runbook from a service row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookLink {
    pub slug: String,
    pub title: String,
    pub severity: Option<Severity>,
}

impl RunbookLink {
    pub fn href(&self) -> String {
        format!("/runbooks/{}", encode_component(&self.slug))
    }
}

/// Runbook links by service name (for service rows).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunbookLinks(pub BTreeMap<String, Vec<RunbookLink>>);

impl RunbookLinks {
    pub fn for_service(&self, service: &str) -> Vec<RunbookLink> {
        self.0.get(service).cloned().unwrap_or_default()
    }
}
