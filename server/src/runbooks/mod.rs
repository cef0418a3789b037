//! Runbooks: markdown files in the runbooks folder (`runbooks_dir`), each with YAML or TOML
//! front matter, rendered and sanitized here (never in the browser), indexed for search and
//! linked to services by name.
//!
//! The whole index is built in memory and swapped at once ([`RunbookLibrary`] holds an
//! `RwLock<Arc<Index>>`), so a request sees either the old or the new folder, never a mix.
//! A background task checks modification times every few seconds; a changed file is taken
//! only once it has stayed the same for one check (a file being written is not shown half
//! done), and a file whose front matter no longer parses keeps its last good version, with a
//! warning.

pub mod front_matter;
pub mod render;
pub mod routes;
pub mod search;

use crate::config::ConfigError;
use app::error::AppError;
use app::runbooks::{
    LibraryState, ReviewState, Runbook, RunbookLink, RunbookLinks, RunbookList, RunbookQuery,
    RunbookSummary, SearchTerms, REVIEW_MAX_AGE_DAYS,
};
use app::runbooks_port;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, SystemTime};

/// The largest runbook file read (bigger files are reported and skipped).
const MAX_RUNBOOK_BYTES: u64 = 1024 * 1024;

/// The largest image served from the runbooks folder.
pub const MAX_ASSET_BYTES: u64 = 10 * 1024 * 1024;

/// Ends the warning on a runbook whose latest change could not be used.
const KEPT_SUFFIX: &str = "; this is the last good version.";

/// What identifies one version of a file without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Signature {
    modified: Option<SystemTime>,
    len: u64,
}

/// One runbook, ready to serve.
#[derive(Clone, Debug)]
struct Entry {
    summary: RunbookSummary,
    html: String,
    toc: Vec<app::runbooks::TocEntry>,
    file: String,
    modified_at: Option<DateTime<Utc>>,
    /// The body as plain text (indexed for search, and cut for snippets).
    text: String,
    /// Front-matter problems of the version shown.
    problems: Vec<front_matter::Problem>,
    signature: Signature,
    /// Whether the version shown had readable front matter.
    good: bool,
}

/// The loaded folder.
#[derive(Debug)]
pub struct Index {
    entries: Vec<Entry>,
    state: LibraryState,
    /// Files whose latest version was not taken yet (still changing), by path.
    pending: HashMap<PathBuf, Signature>,
    /// The words of `entries` (by position), built when the entries change, never per search.
    search: Arc<search::SearchIndex>,
}

impl Index {
    fn empty(state: LibraryState) -> Self {
        Self::new(Vec::new(), state, HashMap::new(), None)
    }

    /// An index of `entries`; the search index of `previous` is reused when it is of the same
    /// files (the folder is checked every few seconds and is almost always unchanged).
    fn new(
        entries: Vec<Entry>,
        state: LibraryState,
        pending: HashMap<PathBuf, Signature>,
        previous: Option<&Index>,
    ) -> Self {
        let reusable = previous.filter(|previous| same_entries(&previous.entries, &entries));
        let search = match reusable {
            Some(previous) => previous.search.clone(),
            None => Arc::new(search::SearchIndex::build(entries.iter().map(document))),
        };
        Self {
            entries,
            state,
            pending,
            search,
        }
    }
}

/// What the search index reads of an entry.
fn document(entry: &Entry) -> search::Document<'_> {
    let summary = &entry.summary;
    let mut fields = vec![(search::Field::Title, summary.title.as_str())];
    fields.extend(
        summary
            .tags
            .iter()
            .chain(&summary.services)
            .map(|label| (search::Field::Label, label.as_str())),
    );
    fields.extend(
        summary
            .environments
            .iter()
            .chain(&summary.owner)
            .map(|meta| (search::Field::Meta, meta.as_str())),
    );
    fields.push((search::Field::Body, entry.text.as_str()));
    search::Document { fields }
}

/// The runbook library: the loaded index and the folder it comes from.
pub struct RunbookLibrary {
    dir: PathBuf,
    index: RwLock<Arc<Index>>,
    /// Moves whenever a reload swapped in an index that differs from the one before (the
    /// page cache keys runbook, service and board pages on it). A reload that found nothing
    /// new swaps too, but leaves it alone.
    generation: AtomicU64,
}

impl RunbookLibrary {
    /// Loads every runbook in `dir` now (a missing folder is an empty library).
    pub fn load(dir: impl Into<PathBuf>) -> Arc<Self> {
        let dir = dir.into();
        let index = build_index(&dir, None, Utc::now().date_naive());
        Arc::new(Self {
            dir,
            index: RwLock::new(Arc::new(index)),
            generation: AtomicU64::new(0),
        })
    }

    /// The folder the runbooks come from.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn current(&self) -> Arc<Index> {
        self.index
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn swap(&self, index: Index) {
        *self
            .index
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(index);
    }

    /// Checks the folder once and swaps in a new index if something changed.
    pub fn reload(&self) {
        let current = self.current();
        let next = build_index(&self.dir, Some(&current), Utc::now().date_naive());
        let changed = !same_versions(&current, &next);
        if changed {
            tracing::info!(dir = %self.dir.display(), runbooks = next.entries.len(), "runbooks reloaded");
        }
        self.swap(next);
        if changed {
            // After the swap, never before: a page rendered from the old index is then never
            // stored under the new number.
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Counts the reloads that changed what the library shows.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Reloads every `interval` on a background task until the library is dropped.
    pub fn spawn_reloader(self: &Arc<Self>, interval: Duration) -> tokio::task::JoinHandle<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(library) = weak.upgrade() else {
                    return;
                };
                // File IO off the async workers.
                if tokio::task::spawn_blocking(move || library.reload())
                    .await
                    .is_err()
                {
                    tracing::error!("the runbook reload task panicked");
                }
            }
        })
    }

    /// The file for `/runbooks/assets/{path}`: only images, only inside the folder.
    pub fn asset(&self, path: &str) -> Result<(PathBuf, &'static str), AssetError> {
        let content_type = image_content_type(path).ok_or(AssetError::NotAnImage)?;
        let relative = Path::new(path);
        let safe = !path.is_empty()
            && !path.contains('\\')
            && !path.contains('\0')
            && relative.components().all(|component| {
                matches!(component, Component::Normal(part) if !part.to_string_lossy().starts_with('.'))
            });
        if !safe {
            return Err(AssetError::Refused);
        }
        let root = self.dir.canonicalize().map_err(|_| AssetError::NotFound)?;
        let file = root
            .join(relative)
            .canonicalize()
            .map_err(|_| AssetError::NotFound)?;
        // A symlink pointing out of the folder is refused too.
        if !file.starts_with(&root) {
            return Err(AssetError::Refused);
        }
        Ok((file, content_type))
    }

    /// What `check-config` reports: front-matter errors (with file and line), and as
    /// warnings, names in `services` that are not configured services.
    pub fn problems(&self, known_services: &[String]) -> RunbookProblems {
        let index = self.current();
        let mut problems = RunbookProblems::default();
        if let LibraryState::Unreadable(reason) = &index.state {
            problems.errors.push(ConfigError {
                origin: self.dir.display().to_string(),
                line: None,
                key: "runbooks_dir".into(),
                message: reason.clone(),
            });
        }
        for entry in &index.entries {
            let origin = self.dir.join(&entry.file).display().to_string();
            for problem in &entry.problems {
                problems.errors.push(ConfigError {
                    origin: origin.clone(),
                    line: Some(problem.line),
                    key: problem.key.clone(),
                    message: problem.message.clone(),
                });
            }
            for service in &entry.summary.services {
                if !known_services.iter().any(|known| known == service) {
                    problems.warnings.push(ConfigError {
                        origin: origin.clone(),
                        line: Some(service_line(&self.dir.join(&entry.file))),
                        key: "services".into(),
                        message: format!("`{service}` is not a configured service"),
                    });
                }
            }
        }
        problems
    }

    /// How many runbooks are loaded.
    pub fn len(&self) -> usize {
        self.current().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The line of the `services` key in a file (for the unknown-service message).
fn service_line(path: &Path) -> u32 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| {
            text.lines()
                .position(|line| line.starts_with("services"))
                .and_then(|index| u32::try_from(index + 1).ok())
        })
        .unwrap_or(1)
}

/// Problems found in the runbooks folder.
#[derive(Debug, Default)]
pub struct RunbookProblems {
    pub errors: Vec<ConfigError>,
    pub warnings: Vec<ConfigError>,
}

/// Why an asset is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AssetError {
    #[error("only images are served from the runbooks folder")]
    NotAnImage,
    #[error("the path leaves the runbooks folder")]
    Refused,
    #[error("no such file")]
    NotFound,
}

fn image_content_type(path: &str) -> Option<&'static str> {
    let extension = Path::new(path).extension()?.to_str()?.to_ascii_lowercase();
    Some(match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

fn same_versions(a: &Index, b: &Index) -> bool {
    a.state == b.state && same_entries(&a.entries, &b.entries)
}

/// The same files in the same order, each the same version (so the same indexed text).
fn same_entries(a: &[Entry], b: &[Entry]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.file == y.file && x.signature == y.signature && x.summary == y.summary)
}

/// The `*.md` files directly in `dir` with their signatures; `None` when `dir` is missing.
fn scan(dir: &Path) -> std::io::Result<Option<Vec<(PathBuf, Signature)>>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let is_markdown = path
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("md"));
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if !is_markdown || hidden {
            continue;
        }
        let Ok(metadata) = std::fs::metadata(&path) else {
            continue;
        };
        if !metadata.is_file() {
            continue;
        }
        files.push((
            path,
            Signature {
                modified: metadata.modified().ok(),
                len: metadata.len(),
            },
        ));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Some(files))
}

/// Builds the index of `dir`, reusing unchanged entries of `previous`. With a previous index,
/// a changed file is taken only when its signature matches the one seen on the last check.
fn build_index(dir: &Path, previous: Option<&Index>, today: NaiveDate) -> Index {
    let files = match scan(dir) {
        Ok(Some(files)) => files,
        Ok(None) => return Index::empty(LibraryState::Missing(dir.display().to_string())),
        Err(error) => {
            tracing::warn!(dir = %dir.display(), %error, "the runbooks folder cannot be read");
            let reason = format!("cannot read {}: {error}", dir.display());
            return match previous {
                Some(previous) => Index::new(
                    previous.entries.clone(),
                    LibraryState::Unreadable(reason),
                    HashMap::new(),
                    Some(previous),
                ),
                None => Index::empty(LibraryState::Unreadable(reason)),
            };
        }
    };
    let mut entries = Vec::new();
    let mut pending = HashMap::new();
    for (path, signature) in files {
        let file = path
            .file_name()
            .map(|name| name.to_string_lossy().to_string())
            .unwrap_or_default();
        let old = previous.and_then(|index| index.entries.iter().find(|entry| entry.file == file));
        if let Some(old) = old {
            if old.signature == signature {
                entries.push(old.clone());
                continue;
            }
        }
        if let Some(previous) = previous {
            // Changed since the last check: wait until it holds still for one interval.
            if previous.pending.get(&path) != Some(&signature) {
                pending.insert(path, signature);
                if let Some(old) = old {
                    entries.push(old.clone());
                }
                continue;
            }
        }
        match load_entry(&path, &file, signature, today) {
            Ok(entry) if entry.good => entries.push(entry),
            Ok(mut entry) => match old {
                Some(old) if old.good => {
                    let mut kept = old.clone();
                    kept.signature = signature;
                    let reason = entry
                        .problems
                        .iter()
                        .find(|problem| problem.fatal)
                        .map(|problem| format!("line {}: {}", problem.line, problem.message))
                        .unwrap_or_default();
                    tracing::warn!(file = %path.display(), %reason, "runbook change not taken; keeping the last good version");
                    note_kept(&mut kept, &file, &reason);
                    entries.push(kept);
                }
                _ => {
                    entry.signature = signature;
                    entries.push(entry);
                }
            },
            Err(reason) => {
                tracing::warn!(file = %path.display(), %reason, "runbook not read");
                if let Some(old) = old {
                    let mut kept = old.clone();
                    kept.signature = signature;
                    note_kept(&mut kept, &file, &reason);
                    entries.push(kept);
                }
            }
        }
    }
    dedupe_slugs(&mut entries);
    entries.sort_by(|a, b| {
        let severity = |entry: &Entry| entry.summary.severity.map_or(u8::MAX, |s| s as u8);
        severity(a).cmp(&severity(b)).then_with(|| {
            a.summary
                .title
                .to_lowercase()
                .cmp(&b.summary.title.to_lowercase())
        })
    });
    Index::new(entries, LibraryState::Loaded, pending, previous)
}

/// Two files with the same slug (`API.md`, `api.md`): the second gets a suffix.
/// Marks a kept last good version with why the newer file was not taken (one such warning).
fn note_kept(kept: &mut Entry, file: &str, reason: &str) {
    kept.summary
        .warnings
        .retain(|warning| !warning.ends_with(KEPT_SUFFIX));
    kept.summary.warnings.push(format!(
        "The latest change to {file} could not be read ({reason}){KEPT_SUFFIX}"
    ));
}

fn dedupe_slugs(entries: &mut [Entry]) {
    let mut seen: BTreeMap<String, u32> = BTreeMap::new();
    for entry in entries.iter_mut() {
        let count = seen.entry(entry.summary.slug.clone()).or_insert(0);
        *count += 1;
        if *count > 1 {
            entry.summary.slug = format!("{}-{count}", entry.summary.slug);
        }
    }
}

fn load_entry(
    path: &Path,
    file: &str,
    signature: Signature,
    today: NaiveDate,
) -> Result<Entry, String> {
    if signature.len > MAX_RUNBOOK_BYTES {
        return Err(format!(
            "the file is larger than {} KiB",
            MAX_RUNBOOK_BYTES / 1024
        ));
    }
    let bytes = std::fs::read(path).map_err(|error| error.to_string())?;
    let text = String::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_string())?;
    let parsed = front_matter::parse(&text);
    let rendered = render::render(parsed.body);
    let stem = Path::new(file)
        .file_stem()
        .map(|stem| stem.to_string_lossy().to_string())
        .unwrap_or_default();
    let slug = render::file_slug(&stem);
    let front = parsed.front;
    let title = front
        .title
        .clone()
        .or_else(|| rendered.first_heading.clone())
        .unwrap_or_else(|| stem.clone());
    let review = match front.last_reviewed {
        None => ReviewState::Never,
        Some(date) if (today - date).num_days() > REVIEW_MAX_AGE_DAYS => ReviewState::Overdue,
        Some(_) => ReviewState::Current,
    };
    let warnings = parsed
        .problems
        .iter()
        .map(|problem| {
            format!(
                "{file}:{}: {}: {}",
                problem.line, problem.key, problem.message
            )
        })
        .collect();
    let good = !parsed.problems.iter().any(|problem| problem.fatal);
    let summary = RunbookSummary {
        slug,
        title,
        services: front.services,
        environments: front.environments,
        severity: front.severity,
        tags: front.tags,
        owner: front.owner,
        last_reviewed: front.last_reviewed,
        review,
        warnings,
        snippet: None,
    };
    Ok(Entry {
        summary,
        html: rendered.html,
        toc: rendered.toc,
        file: file.to_string(),
        modified_at: signature.modified.map(DateTime::<Utc>::from),
        text: rendered.text,
        problems: parsed.problems,
        signature,
        good,
    })
}

/// A few words of `text` around byte offset `at` (where the first matched word starts).
fn snippet(text: &str, at: usize) -> Option<String> {
    if at >= text.len() || !text.is_char_boundary(at) {
        return None;
    }
    let mut start = at.saturating_sub(60);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + 100).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    let mut snippet = text[start..end].trim().to_string();
    if start > 0 {
        snippet = format!("…{snippet}");
    }
    if end < text.len() {
        snippet.push('…');
    }
    Some(snippet)
}

fn matches_label(values: &[String], wanted: &str) -> bool {
    wanted.is_empty()
        || values
            .iter()
            .any(|value| value.eq_ignore_ascii_case(wanted))
}

impl runbooks_port::RunbookLibrary for RunbookLibrary {
    fn list(&self, query: &RunbookQuery) -> RunbookList {
        let index = self.current();
        let terms = SearchTerms::parse(&query.q);
        if terms.truncated {
            tracing::debug!(
                chars = query.q.len(),
                "runbook search cut to its first words"
            );
        }
        // Best match first; the folder's order (severity, title) breaks ties.
        let found: Vec<RunbookSummary> = index
            .search
            .search(&terms)
            .into_iter()
            .filter_map(|hit| {
                let entry = index.entries.get(hit.entry)?;
                let wanted = matches_label(&entry.summary.services, &query.service)
                    && matches_label(&entry.summary.tags, &query.tag);
                wanted.then(|| RunbookSummary {
                    snippet: hit.first_in_body.and_then(|at| snippet(&entry.text, at)),
                    ..entry.summary.clone()
                })
            })
            .collect();
        let services: BTreeSet<String> = index
            .entries
            .iter()
            .flat_map(|entry| entry.summary.services.iter().cloned())
            .collect();
        let tags: BTreeSet<String> = index
            .entries
            .iter()
            .flat_map(|entry| entry.summary.tags.iter().cloned())
            .collect();
        RunbookList {
            runbooks: found,
            total: u32::try_from(index.entries.len()).unwrap_or(u32::MAX),
            services: services.into_iter().collect(),
            tags: tags.into_iter().collect(),
            state: index.state.clone(),
            terms: terms.terms,
            query_truncated: terms.truncated,
        }
    }

    fn get(&self, slug: &str) -> Result<Runbook, AppError> {
        let index = self.current();
        let entry = index
            .entries
            .iter()
            .find(|entry| entry.summary.slug == slug)
            .ok_or_else(|| AppError::NotFound(format!("no runbook named `{slug}`")))?;
        Ok(Runbook {
            summary: entry.summary.clone(),
            html: entry.html.clone(),
            toc: entry.toc.clone(),
            file: entry.file.clone(),
            modified_at: entry.modified_at,
        })
    }

    fn links(&self) -> RunbookLinks {
        let index = self.current();
        let mut links: BTreeMap<String, Vec<RunbookLink>> = BTreeMap::new();
        // Entries are already most severe first.
        for entry in &index.entries {
            for service in &entry.summary.services {
                links.entry(service.clone()).or_default().push(RunbookLink {
                    slug: entry.summary.slug.clone(),
                    title: entry.summary.title.clone(),
                    severity: entry.summary.severity,
                });
            }
        }
        RunbookLinks(links)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::runbooks_port::RunbookLibrary as _;

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn a_missing_folder_is_an_empty_library() {
        let dir = tempfile::tempdir().unwrap();
        let library = RunbookLibrary::load(dir.path().join("nope"));
        let list = library.list(&RunbookQuery::default());
        assert!(list.runbooks.is_empty());
        assert!(matches!(list.state, LibraryState::Missing(_)));
    }

    #[test]
    fn search_needs_every_word_and_ranks_titles_first() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "a.md",
            "---\ntitle: Database issues\nservices: [db]\ntags: [postgres]\nseverity: high\n---\nCheck replication lag.\n",
        );
        write(
            dir.path(),
            "b.md",
            "---\ntitle: API down\nservices: [api]\nseverity: critical\n---\nThe database may be the cause.\n",
        );
        let library = RunbookLibrary::load(dir.path());
        let query = |q: &str| RunbookQuery {
            q: q.into(),
            ..RunbookQuery::default()
        };
        let slugs = |list: RunbookList| {
            list.runbooks
                .into_iter()
                .map(|summary| summary.slug)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            slugs(library.list(&RunbookQuery::default())),
            vec!["b", "a"]
        );
        assert_eq!(slugs(library.list(&query("database"))), vec!["a", "b"]);
        assert_eq!(slugs(library.list(&query("replication LAG"))), vec!["a"]);
        assert!(slugs(library.list(&query("database nonsense"))).is_empty());
        let filtered = library.list(&RunbookQuery {
            service: "api".into(),
            ..RunbookQuery::default()
        });
        assert_eq!(slugs(filtered), vec!["b"]);
        let snippet = library.list(&query("lag")).runbooks[0].snippet.clone();
        assert_eq!(snippet.as_deref(), Some("Check replication lag."));
        let links = library.links();
        assert_eq!(links.for_service("db")[0].slug, "a");
    }

    #[test]
    fn the_search_index_is_built_once_per_change_of_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "r.md", "---\ntitle: One\n---\nAlpha text.\n");
        let library = RunbookLibrary::load(dir.path());
        let first = library.current().search.clone();
        library.reload();
        library.reload();
        assert!(
            Arc::ptr_eq(&first, &library.current().search),
            "an unchanged folder keeps its search index"
        );
        write(
            dir.path(),
            "r.md",
            "---\ntitle: Two\n---\nBeta text, longer.\n",
        );
        library.reload();
        library.reload();
        assert!(!Arc::ptr_eq(&first, &library.current().search));
        let query = |q: &str| RunbookQuery {
            q: q.into(),
            ..RunbookQuery::default()
        };
        assert_eq!(library.list(&query("beta")).runbooks.len(), 1);
        assert!(library.list(&query("alpha")).runbooks.is_empty());
    }

    #[test]
    fn a_search_of_thousands_of_words_uses_the_first_eight() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "r.md",
            "---\ntitle: Restart\n---\nw0 w1 w2 w3 w4 w5 w6 w7 and more.\n",
        );
        let library = RunbookLibrary::load(dir.path());
        let words = (0..5000).map(|n| format!("w{n}")).collect::<Vec<_>>();
        let list = library.list(&RunbookQuery {
            q: words.join(" "),
            ..RunbookQuery::default()
        });
        assert!(list.query_truncated);
        assert_eq!(list.terms, words[..8].to_vec());
        // Only the eight words kept count, and the file has them all.
        assert_eq!(list.runbooks.len(), 1);
        assert!(list.runbooks[0]
            .snippet
            .as_deref()
            .unwrap()
            .starts_with("w0"));
        let short = library.list(&RunbookQuery {
            q: "restart".into(),
            ..RunbookQuery::default()
        });
        assert!(!short.query_truncated);
    }

    #[test]
    fn a_changed_file_is_taken_once_it_holds_still() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "r.md", "---\ntitle: One\n---\n");
        let library = RunbookLibrary::load(dir.path());
        write(dir.path(), "r.md", "---\ntitle: Two, longer\n---\n");
        library.reload();
        assert_eq!(library.get("r").unwrap().summary.title, "One");
        library.reload();
        assert_eq!(library.get("r").unwrap().summary.title, "Two, longer");
    }

    #[test]
    fn a_broken_change_keeps_the_last_good_version_with_a_warning() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "r.md", "---\ntitle: Good\n---\nBody\n");
        let library = RunbookLibrary::load(dir.path());
        write(dir.path(), "r.md", "---\ntitle: [unclosed\n---\nNew body\n");
        library.reload();
        library.reload();
        let runbook = library.get("r").unwrap();
        assert_eq!(runbook.summary.title, "Good");
        assert!(runbook.html.contains("Body"));
        assert!(runbook.summary.warnings[0].contains("last good version"));
        // Broken again, differently: still one warning, still the good version.
        write(
            dir.path(),
            "r.md",
            "---\ntitle: [still unclosed, longer\n---\n",
        );
        library.reload();
        library.reload();
        let runbook = library.get("r").unwrap();
        assert_eq!(runbook.summary.title, "Good");
        assert_eq!(runbook.summary.warnings.len(), 1);
    }

    #[test]
    fn assets_are_images_inside_the_folder_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("img")).unwrap();
        write(dir.path(), "img/a.png", "png");
        write(dir.path(), "notes.txt", "text");
        let library = RunbookLibrary::load(dir.path());
        assert_eq!(library.asset("img/a.png").unwrap().1, "image/png");
        assert_eq!(library.asset("../x.png"), Err(AssetError::Refused));
        assert_eq!(library.asset("img/../../x.png"), Err(AssetError::Refused));
        assert_eq!(library.asset("/etc/x.png"), Err(AssetError::Refused));
        assert_eq!(library.asset(".git/x.png"), Err(AssetError::Refused));
        assert_eq!(library.asset("notes.txt"), Err(AssetError::NotAnImage));
        assert_eq!(library.asset("missing.png"), Err(AssetError::NotFound));
    }
}
