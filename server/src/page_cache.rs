//! The page cache (issue #19): a page is rendered once per change, not once per request.
//!
//! A rendered page (`/`, `/history`, `/services/{name}`, `/runbooks`, `/runbooks/{slug}`, with
//! any query) is a function of its URL, of what the server knows — the status snapshot's
//! revision, the count of stored deployment changes and the runbook library's generation
//! ([`Generations`]) —, of who is asking ([`Viewer`]) and of the clock (relative times and
//! staleness are rendered on the server). So the layer keeps the rendered bytes, compressed
//! once with brotli and gzip when they are stored, and replays them (with the headers they
//! were rendered with, so the CSP nonce matches the body's scripts) until the numbers move or
//! [`MAX_AGE`] has passed. Entries of older numbers are dropped when the numbers move; there
//! are at most [`MAX_ENTRIES`] entries and [`MAX_BYTES`] bytes (least recently used go
//! first). Many requests missing the same entry at once wait for one render; no lock is held
//! across it.
//!
//! Nothing per visitor reaches a shared entry. Visitors without a session (and everyone in
//! `mode = "none"`, where the principal comes from the config alone) share one entry per URL,
//! and their render is given nothing of theirs: no CSRF token (an anonymous page has no form
//! that needs one; `/login` is never cached and renders its own), no cookies, no address. A
//! signed-in visitor's page carries their name and CSRF token, so it is stored per viewer,
//! under a hash of their principal, CSRF cookie and session. The layer sits inside the auth
//! layer, which resolves the principal before and adds `Cache-Control: no-store`, the CSRF
//! cookie and HSTS after, on hits exactly as on renders: what the client is told about
//! storing a page does not change. Storing a no-store page in the server's own memory for
//! the visitor it belongs to is not what no-store forbids (it addresses browsers and proxies).
//!
//! Stored: `GET`, status 200, `text/html`, no `Set-Cookie`, no `Content-Encoding`, no `Vary`,
//! no `no-store`/`private` from the handler itself. Everything else — other methods, other
//! paths (`/login`, `/logout`, `/audit`, `/rollback*`, `/api/*`, `/pkg/*`, `/healthz`,
//! `/readyz`, the live stream, files), other statuses (the 404 page, redirects) — passes
//! through untouched. Replayed pages carry a strong `ETag` (a hash of the bytes, per
//! encoding) and answer `If-None-Match` with 304; they say `Vary: Accept-Encoding`, and the
//! compression layer outside leaves them alone (it never re-encodes a response with
//! `Content-Encoding`).

use crate::auth::{AuthService, RequestAuth};
use crate::monitor::Monitor;
use crate::runbooks::RunbookLibrary;
use app::auth::{AuthMode, Principal};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How long a stored page is served at most, whatever the numbers say. Pages show relative
/// times ("45 s ago") and staleness computed against the clock when they are rendered, so a
/// stored page grows older than what it says. Five seconds is the monitor's own staleness
/// tick (`monitor::STALENESS_TICK`: staleness is re-judged that often anyway) and below the
/// ten seconds "just now" covers; a stored page is never more than one tick behind a fresh
/// render. Under load that still means one render per page per five seconds instead of one
/// per request.
pub const MAX_AGE: Duration = Duration::from_secs(5);
/// Entries kept at most (shared and per-viewer together).
pub const MAX_ENTRIES: usize = 1024;
/// Bytes kept at most (identity, gzip and brotli copies together).
pub const MAX_BYTES: usize = 64 * 1024 * 1024;
/// A page larger than this (uncompressed) is served but not stored.
pub const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;
/// Brotli quality of stored pages: made once per entry, so better than the compression
/// layer's per-response default, but not 11 (tens of milliseconds for a large board).
const BROTLI_QUALITY: i32 = 6;
/// gzip level of stored pages.
const GZIP_LEVEL: u32 = 6;

/// How long entries live and how many there may be.
#[derive(Clone, Debug)]
pub struct PageCacheSettings {
    pub max_age: Duration,
    pub max_entries: usize,
    pub max_bytes: usize,
}

impl Default for PageCacheSettings {
    fn default() -> Self {
        Self {
            max_age: MAX_AGE,
            max_entries: MAX_ENTRIES,
            max_bytes: MAX_BYTES,
        }
    }
}

/// The cache's clock: the monotonic clock, plus however far a test moved it on.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    skew_millis: Arc<AtomicU64>,
}

impl Clock {
    pub fn now(&self) -> Instant {
        Instant::now() + Duration::from_millis(self.skew_millis.load(Ordering::Acquire))
    }

    /// Moves this clock (and every cache using it) on by `by`: entries expire without the
    /// test sleeping.
    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.skew_millis.fetch_add(millis, Ordering::AcqRel);
    }
}

/// The numbers a page is a function of, besides its URL, its viewer and the clock. Each only
/// ever grows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Generations {
    /// `StatusSnapshot::revision`: moves when the monitor published a changed snapshot.
    pub snapshot: u64,
    /// Stored deployment changes (`Monitor::deployments_generation`, the live stream's
    /// `DeploymentsChanged` count): history and service pages read the store.
    pub deployments: u64,
    /// `RunbookLibrary::generation`: moves when a reload changed the runbooks.
    pub runbooks: u64,
}

impl Generations {
    /// Read before the render, so a stored page is never older than the numbers it is stored
    /// under (each producer publishes its data first and moves its number after).
    fn of(state: &PageCacheState) -> Self {
        Self {
            snapshot: state.monitor.revision(),
            deployments: state.monitor.deployments_generation(),
            runbooks: state.runbooks.generation(),
        }
    }

    fn at_least(&self, other: &Self) -> bool {
        self.snapshot >= other.snapshot
            && self.deployments >= other.deployments
            && self.runbooks >= other.runbooks
    }
}

/// Who a page is rendered for, as far as the page can tell.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Viewer {
    /// Everyone with this principal gets the same page: visitors without a session
    /// (anonymous), or the one configured principal of `mode = "none"`. Their render is given
    /// nothing of the visitor's own.
    Shared([u8; 32]),
    /// One signed-in visitor: a hash of the principal (name, role, grants), the CSRF cookie
    /// and the session, all of which the page shows or embeds.
    Personal([u8; 32]),
}

impl std::fmt::Debug for Viewer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, digest) = match self {
            Viewer::Shared(digest) => ("shared", digest),
            Viewer::Personal(digest) => ("personal", digest),
        };
        write!(
            f,
            "{kind}:{:02x}{:02x}{:02x}{:02x}",
            digest[0], digest[1], digest[2], digest[3]
        )
    }
}

impl Viewer {
    /// The viewer of a request the auth layer resolved; `None` when its page is not stored:
    /// an API token (pages refuse them anyway), or a signed-in visitor whose CSRF token was
    /// made for this response (no cookie yet: nobody could ever ask for that entry again
    /// with the same token before it sets in, and clients that keep no cookies would fill
    /// the cache).
    pub fn of(auth: &RequestAuth, mode: AuthMode, csrf_cookie: Option<&str>) -> Option<Self> {
        let digest = |parts: &[&[u8]]| {
            let mut hash = Sha256::new();
            for part in parts {
                hash.update((part.len() as u64).to_be_bytes());
                hash.update(part);
            }
            <[u8; 32]>::from(hash.finalize())
        };
        match &auth.principal {
            Principal::ApiToken { .. } => None,
            Principal::Anonymous => Some(Viewer::Shared(digest(&[b"anonymous"]))),
            Principal::User(identity) => {
                // Debug spells out every field (name, role, grants); only compared in-process.
                let principal = format!("{identity:?}");
                if mode == AuthMode::Open {
                    return Some(Viewer::Shared(digest(&[b"open", principal.as_bytes()])));
                }
                if csrf_cookie != Some(auth.csrf_token.as_str()) {
                    return None;
                }
                Some(Viewer::Personal(digest(&[
                    b"personal",
                    principal.as_bytes(),
                    auth.csrf_token.as_bytes(),
                    auth.session_sha256
                        .as_deref()
                        .unwrap_or_default()
                        .as_bytes(),
                ])))
            }
        }
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, Viewer::Shared(_))
    }
}

/// What an entry is stored under: the request's path and query exactly as sent, and the
/// viewer. The query is not reordered or re-encoded: the page echoes it (the sign-in link's
/// `next`), so two spellings are two pages.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub target: String,
    pub viewer: Viewer,
}

/// A content coding the cache stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    Brotli,
}

impl Coding {
    /// The best coding `Accept-Encoding` allows: brotli, else gzip (by q-value; `*` counts),
    /// else none.
    pub fn accepted(headers: &HeaderMap) -> Self {
        let (mut br, mut gzip, mut any) = (None, None, None);
        for value in headers.get_all(header::ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut fields = item.split(';');
                let name = fields
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                let q = fields
                    .find_map(|field| {
                        let (key, value) = field.split_once('=')?;
                        key.trim()
                            .eq_ignore_ascii_case("q")
                            .then(|| value.trim().parse::<f32>().unwrap_or(0.0))
                    })
                    .unwrap_or(1.0);
                match name.as_str() {
                    "br" => br = Some(q),
                    "gzip" | "x-gzip" => gzip = Some(q),
                    "*" => any = Some(q),
                    _ => {}
                }
            }
        }
        let br = br.or(any).unwrap_or(0.0);
        let gzip = gzip.or(any).unwrap_or(0.0);
        if br > 0.0 && br >= gzip {
            Coding::Brotli
        } else if gzip > 0.0 {
            Coding::Gzip
        } else {
            Coding::Identity
        }
    }

    fn etag_suffix(self) -> &'static str {
        match self {
            Coding::Identity => "",
            Coding::Gzip => "-gz",
            Coding::Brotli => "-br",
        }
    }
}

/// What the request asks of the replay: its coding and its `If-None-Match`.
#[derive(Clone, Debug)]
pub struct Negotiation {
    coding: Coding,
    if_none_match: Option<String>,
}

impl Negotiation {
    pub fn of(headers: &HeaderMap) -> Self {
        Self {
            coding: Coding::accepted(headers),
            if_none_match: headers
                .get(header::IF_NONE_MATCH)
                .and_then(|value| value.to_str().ok())
                .map(str::to_string),
        }
    }

    /// `If-None-Match` uses the weak comparison (RFC 9110 13.1.2).
    fn matches(&self, etag: &str) -> bool {
        self.if_none_match.as_deref().is_some_and(|list| {
            list.split(',').map(str::trim).any(|candidate| {
                candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
            })
        })
    }
}

/// One stored page: the headers it was rendered with (its CSP carries the nonce of its
/// scripts) and its bytes in each coding.
pub struct Entry {
    headers: HeaderMap,
    identity: Bytes,
    gzip: Bytes,
    brotli: Bytes,
    /// base64url of the first 16 bytes of SHA-256 over the identity bytes.
    tag: String,
    stored_at: Instant,
    size: usize,
}

impl Entry {
    /// Compresses `body` (on the blocking pool: a large board takes milliseconds).
    async fn build(mut headers: HeaderMap, identity: Bytes, stored_at: Instant) -> Option<Self> {
        headers.remove(header::CONTENT_LENGTH);
        headers.remove(header::TRANSFER_ENCODING);
        let body = identity.clone();
        let compressed =
            tokio::task::spawn_blocking(move || Some((gzip(&body).ok()?, brotli(&body).ok()?)))
                .await;
        let (gzip, brotli) = match compressed {
            Ok(Some(compressed)) => compressed,
            Ok(None) | Err(_) => {
                tracing::warn!("a page could not be compressed; it is not stored");
                return None;
            }
        };
        let tag = {
            use base64::Engine;
            let digest = Sha256::digest(&identity);
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
        };
        let header_bytes: usize = headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        let size = identity.len() + gzip.len() + brotli.len() + header_bytes + tag.len();
        Some(Self {
            headers,
            identity,
            gzip: Bytes::from(gzip),
            brotli: Bytes::from(brotli),
            tag,
            stored_at,
            size,
        })
    }

    /// The strong validator of this page in `coding` (each coding is its own representation).
    fn etag(&self, coding: Coding) -> String {
        format!("\"{}{}\"", self.tag, coding.etag_suffix())
    }

    /// The page as this request wants it: 304 when its `If-None-Match` names it, else the
    /// bytes in its coding. Either way with the headers it was rendered with.
    fn response(&self, negotiation: &Negotiation, stats: &Counters) -> Response {
        let etag = self.etag(negotiation.coding);
        let mut headers = self.headers.clone();
        if let Ok(value) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, value);
        }
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        if negotiation.matches(&etag) {
            stats.not_modified.fetch_add(1, Ordering::Relaxed);
            headers.remove(header::CONTENT_TYPE);
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            *response.headers_mut() = headers;
            return response;
        }
        let body = match negotiation.coding {
            Coding::Identity => self.identity.clone(),
            Coding::Gzip => {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                self.gzip.clone()
            }
            Coding::Brotli => {
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
                self.brotli.clone()
            }
        };
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        let mut response = Response::new(Body::from(body));
        *response.headers_mut() = headers;
        response
    }

    fn fresh(&self, now: Instant, max_age: Duration) -> bool {
        now.saturating_duration_since(self.stored_at) < max_age
    }
}

fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::new(GZIP_LEVEL),
    );
    encoder.write_all(body)?;
    encoder.finish()
}

fn brotli(body: &[u8]) -> std::io::Result<Vec<u8>> {
    let params = ::brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: brotli_window_bits(body.len()),
        size_hint: body.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(body.len() / 5);
    ::brotli::BrotliCompress(&mut &body[..], &mut out, &params)?;
    Ok(out)
}

/// The smallest brotli window (log2 of its size, 16 to 22) that holds the whole body. A larger
/// window compresses a page no better, and the encoder sizes its ring buffer and hash tables
/// from it: with 22 (4 MiB) every compression of a 150 KB board took megabytes that glibc
/// kept (BENCHMARKS.md, "RSS under load").
fn brotli_window_bits(len: usize) -> i32 {
    let bits = usize::BITS - len.max(1).leading_zeros();
    i32::try_from(bits).unwrap_or(22).clamp(16, 22)
}

/// Why a rendered response is not stored (logged at debug).
fn not_storable(parts: &axum::http::response::Parts) -> Option<&'static str> {
    let headers = &parts.headers;
    let cache_control = headers
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .any(|value| {
            let value = value.to_ascii_lowercase();
            value.contains("no-store") || value.contains("private")
        });
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if parts.status != StatusCode::OK {
        Some("status is not 200")
    } else if headers.contains_key(header::SET_COOKIE) {
        Some("sets a cookie")
    } else if headers.contains_key(header::CONTENT_ENCODING) {
        Some("already encoded")
    } else if headers.contains_key(header::VARY) {
        Some("varies")
    } else if cache_control {
        Some("the handler said no-store or private")
    } else if !html {
        Some("not HTML")
    } else {
        None
    }
}

/// What the cache has done, for tests and debugging.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PageCacheStats {
    /// Leptos page renders (counted by the router's app function, cached paths or not).
    pub renders: u64,
    /// Requests answered from an entry (200 or 304).
    pub hits: u64,
    /// Requests that rendered for an entry.
    pub misses: u64,
    /// Requests that waited for another request's render of the same entry.
    pub coalesced: u64,
    /// Entries stored.
    pub stored: u64,
    /// 304 answers.
    pub not_modified: u64,
    /// Entries held now, and their bytes.
    pub entries: u64,
    pub bytes: u64,
}

#[derive(Default)]
struct Counters {
    renders: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    coalesced: AtomicU64,
    stored: AtomicU64,
    not_modified: AtomicU64,
}

type Done = watch::Receiver<Option<Arc<Entry>>>;

enum Slot {
    Ready {
        entry: Arc<Entry>,
        last_used: u64,
    },
    /// A request is rendering this entry; others wait on `done` (`None` until it is there;
    /// closed without a value when the render was not stored or the request went away).
    Rendering {
        id: u64,
        done: Done,
    },
}

#[derive(Default)]
struct Inner {
    /// The numbers every `Ready` entry was rendered under.
    generations: Generations,
    slots: HashMap<PageKey, Slot>,
    ready: usize,
    bytes: usize,
    /// Use counter for least-recently-used eviction, and render ids.
    tick: u64,
}

impl Inner {
    fn remove(&mut self, key: &PageKey) -> Option<Slot> {
        let slot = self.slots.remove(key)?;
        if let Slot::Ready { entry, .. } = &slot {
            self.ready -= 1;
            self.bytes -= entry.size;
        }
        Some(slot)
    }

    /// Drops expired entries, then least recently used ones, until within the bounds.
    fn evict(&mut self, settings: &PageCacheSettings, now: Instant) {
        let over =
            |inner: &Inner| inner.ready > settings.max_entries || inner.bytes > settings.max_bytes;
        if !over(self) {
            return;
        }
        let expired: Vec<PageKey> = self
            .slots
            .iter()
            .filter(|(_, slot)| {
                matches!(slot, Slot::Ready { entry, .. } if !entry.fresh(now, settings.max_age))
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in expired {
            self.remove(&key);
        }
        while over(self) {
            let oldest = self
                .slots
                .iter()
                .filter_map(|(key, slot)| match slot {
                    Slot::Ready { last_used, .. } => Some((*last_used, key)),
                    Slot::Rendering { .. } => None,
                })
                .min_by_key(|(last_used, _)| *last_used)
                .map(|(_, key)| key.clone());
            match oldest {
                Some(key) => {
                    self.remove(&key);
                }
                None => break,
            }
        }
    }
}

enum Lookup {
    Hit(Arc<Entry>),
    Wait(Done),
    Lead {
        id: u64,
        done: watch::Sender<Option<Arc<Entry>>>,
    },
    /// This request read older numbers than another one already did: render, do not store.
    Bypass,
}

/// The page cache. One per server, in `AppState`; tests make their own to read its
/// [`PageCacheStats`] and move its [`Clock`].
pub struct PageCache {
    settings: PageCacheSettings,
    clock: Clock,
    inner: Mutex<Inner>,
    stats: Counters,
}

impl Default for PageCache {
    fn default() -> Self {
        Self::new(PageCacheSettings::default(), Clock::default())
    }
}

impl PageCache {
    pub fn new(settings: PageCacheSettings, clock: Clock) -> Self {
        Self {
            settings,
            clock,
            inner: Mutex::default(),
            stats: Counters::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts one Leptos page render (called by the router's app function).
    pub fn count_render(&self) {
        self.stats.renders.fetch_add(1, Ordering::Relaxed);
    }

    pub fn stats(&self) -> PageCacheStats {
        let (entries, bytes) = {
            let inner = self.lock();
            (inner.ready as u64, inner.bytes as u64)
        };
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        PageCacheStats {
            renders: read(&self.stats.renders),
            hits: read(&self.stats.hits),
            misses: read(&self.stats.misses),
            coalesced: read(&self.stats.coalesced),
            stored: read(&self.stats.stored),
            not_modified: read(&self.stats.not_modified),
            entries,
            bytes,
        }
    }

    fn lookup(&self, key: &PageKey, generations: Generations) -> Lookup {
        let now = self.clock.now();
        let mut inner = self.lock();
        if inner.generations != generations {
            if !generations.at_least(&inner.generations) {
                return Lookup::Bypass;
            }
            // Something changed: every entry is of the past (renders in flight finish, but
            // are not stored).
            tracing::debug!(?generations, "page cache: new generation, entries dropped");
            *inner = Inner {
                generations,
                tick: inner.tick,
                ..Inner::default()
            };
        }
        inner.tick += 1;
        let tick = inner.tick;
        match inner.slots.get_mut(key) {
            Some(Slot::Ready { entry, last_used }) if entry.fresh(now, self.settings.max_age) => {
                *last_used = tick;
                return Lookup::Hit(entry.clone());
            }
            Some(Slot::Rendering { done, .. }) => return Lookup::Wait(done.clone()),
            Some(Slot::Ready { .. }) | None => {}
        }
        inner.remove(key);
        let (sender, done) = watch::channel(None);
        inner
            .slots
            .insert(key.clone(), Slot::Rendering { id: tick, done });
        Lookup::Lead {
            id: tick,
            done: sender,
        }
    }

    /// Ends render `id` of `key`: stores `entry` if the render is still the current one and
    /// the numbers have not moved since it began.
    fn finish(&self, key: &PageKey, id: u64, generations: Generations, entry: Option<Arc<Entry>>) {
        let mut inner = self.lock();
        let ours = matches!(inner.slots.get(key), Some(Slot::Rendering { id: current, .. }) if *current == id);
        if !ours {
            return;
        }
        inner.remove(key);
        let Some(entry) = entry else { return };
        if inner.generations != generations || entry.identity.len() > MAX_PAGE_BYTES {
            return;
        }
        inner.tick += 1;
        let tick = inner.tick;
        inner.ready += 1;
        inner.bytes += entry.size;
        inner.slots.insert(
            key.clone(),
            Slot::Ready {
                entry,
                last_used: tick,
            },
        );
        inner.evict(&self.settings, self.clock.now());
        self.stats.stored.fetch_add(1, Ordering::Relaxed);
    }

    /// Answers from the entry for `key`, or renders it with `render` (once for everyone who
    /// asks meanwhile) and stores it if it may be stored.
    pub async fn serve<F, Fut>(
        &self,
        key: PageKey,
        generations: Generations,
        negotiation: Negotiation,
        render: F,
    ) -> Response
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Response>,
    {
        match self.lookup(&key, generations) {
            Lookup::Hit(entry) => {
                self.stats.hits.fetch_add(1, Ordering::Relaxed);
                entry.response(&negotiation, &self.stats)
            }
            Lookup::Wait(mut done) => {
                self.stats.coalesced.fetch_add(1, Ordering::Relaxed);
                let entry = done
                    .wait_for(Option::is_some)
                    .await
                    .ok()
                    .and_then(|entry| entry.clone());
                match entry {
                    Some(entry) => entry.response(&negotiation, &self.stats),
                    // The other render was not stored (not a 200, say) or its request went
                    // away: render as if there were no cache.
                    None => render().await,
                }
            }
            Lookup::Bypass => render().await,
            Lookup::Lead { id, done } => {
                self.stats.misses.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(page = %key.target, viewer = ?key.viewer, "page cache miss");
                let mut lead = Lead {
                    cache: self,
                    key: &key,
                    id,
                    generations,
                    finished: false,
                };
                let response = render().await;
                let (parts, body) = response.into_parts();
                if let Some(reason) = not_storable(&parts) {
                    tracing::debug!(page = %key.target, reason, "page not stored");
                    return Response::from_parts(parts, body);
                }
                let bytes = match axum::body::to_bytes(body, usize::MAX).await {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        tracing::warn!(%error, page = %key.target, "a page's body failed");
                        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                    }
                };
                if bytes.len() > MAX_PAGE_BYTES {
                    tracing::debug!(page = %key.target, bytes = bytes.len(), "page too large to store");
                    return Response::from_parts(parts, Body::from(bytes));
                }
                let Some(entry) =
                    Entry::build(parts.headers.clone(), bytes.clone(), self.clock.now())
                        .await
                        .map(Arc::new)
                else {
                    return Response::from_parts(parts, Body::from(bytes));
                };
                lead.finish(Some(entry.clone()));
                done.send_replace(Some(entry.clone()));
                entry.response(&negotiation, &self.stats)
            }
        }
    }
}

/// The render in progress for an entry; ends it when dropped (the request went away, or its
/// response was not stored), so waiters render for themselves.
struct Lead<'a> {
    cache: &'a PageCache,
    key: &'a PageKey,
    id: u64,
    generations: Generations,
    finished: bool,
}

impl Lead<'_> {
    fn finish(&mut self, entry: Option<Arc<Entry>>) {
        self.finished = true;
        self.cache
            .finish(self.key, self.id, self.generations, entry);
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.finish(None);
        }
    }
}

/// The pages the cache stores: the board, history, service and runbook pages.
pub fn is_cached_path(path: &str) -> bool {
    let one_segment = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    };
    matches!(path, "/" | "/history" | "/runbooks")
        || one_segment("/services/")
        || (one_segment("/runbooks/") && path != "/runbooks/assets")
}

/// What the layer reads: its part of `AppState` (which sits above this module and builds it
/// with `FromRef`), so the cache does not depend on the routers' state.
#[derive(Clone)]
pub struct PageCacheState {
    pub page_cache: Arc<PageCache>,
    /// Who is asking, and the auth mode and proxy header a shared page must not carry.
    pub auth: Arc<AuthService>,
    /// The snapshot revision and the history's change counter a stored page is kept under.
    pub monitor: Arc<Monitor>,
    /// The runbooks' generation, likewise.
    pub runbooks: Arc<RunbookLibrary>,
}

/// The layer (inside the auth layer, around the router): stored pages for `GET` of
/// [`is_cached_path`] pages, everything else passed through.
pub async fn page_cache_layer(
    State(state): State<PageCacheState>,
    mut request: Request,
    next: Next,
) -> Response {
    if request.method() != Method::GET || !is_cached_path(request.uri().path()) {
        return next.run(request).await;
    }
    let Some(auth) = request.extensions().get::<RequestAuth>().cloned() else {
        return next.run(request).await;
    };
    let csrf_cookie = crate::auth::cookie(request.headers(), state.auth.csrf_cookie_name());
    let Some(viewer) = Viewer::of(&auth, state.auth.config.mode, csrf_cookie.as_deref()) else {
        return next.run(request).await;
    };
    if viewer.is_shared() {
        share(&mut request, auth, &state);
    }
    let key = PageKey {
        target: request.uri().path_and_query().map_or_else(
            || request.uri().path().to_string(),
            |target| target.as_str().to_string(),
        ),
        viewer,
    };
    let generations = Generations::of(&state);
    let negotiation = Negotiation::of(request.headers());
    state
        .page_cache
        .serve(key, generations, negotiation, move || next.run(request))
        .await
}

/// Takes everything of the visitor's own out of a request whose page is shared: the render
/// sees the principal and the URL, no CSRF token, cookie, credential or address. (The auth
/// layer outside still sets this visitor's CSRF cookie on the response.)
fn share(request: &mut Request, auth: RequestAuth, state: &PageCacheState) {
    request.extensions_mut().insert(RequestAuth {
        principal: auth.principal,
        csrf_token: String::new(),
        remote_addr: None,
        session_sha256: None,
    });
    let headers = request.headers_mut();
    headers.remove(header::COOKIE);
    headers.remove(header::AUTHORIZATION);
    if let Some(proxy) = &state.auth.config.proxy {
        headers.remove(proxy.user_header.as_str());
    }
}

#[cfg(test)]
mod tests;
