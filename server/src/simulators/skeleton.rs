//! The plumbing every provider simulator shares, so a provider's file holds only its own API
//! shapes: the fixed-window request budget ([`RateBudget`]), the request gate every API call
//! goes through ([`SimApi`] and its extractor [`Admitted`]), the garbage page of a `Garbage`
//! fault, wire timestamps, and (under `cfg(test)`) the unit-test kit.
//!
//! What stays in each provider's file: its paths and payloads, its paging signal, its error
//! body, and how its rate-limit headers spell the numbers a [`WindowUse`] carries.

use super::{apply_delay, lock, FaultInjector, RequestCounter, SimFault, SimRollbacks};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One provider simulator: the plumbing every provider shares (its token, the faults queued
/// for it, the count of requests it served, its rollback behaviour) around the provider's own
/// scenario `S` and request budget `B` (`()` for providers that publish none). Each provider
/// names its instance (`pub type RenderSimulator = Simulated<render::Scenario, RateBudget>`)
/// and adds its API in an `impl` of that type.
#[derive(Debug)]
pub struct Simulated<S, B = ()> {
    /// The token the simulated API accepts.
    pub(super) token: String,
    pub(super) scenario: Mutex<S>,
    pub(super) budget: B,
    pub faults: FaultInjector,
    pub requests: RequestCounter,
    /// How the next rollbacks go, and how many were asked for.
    pub rollbacks: SimRollbacks,
}

impl<S, B> Simulated<S, B> {
    /// A simulator accepting `token`, with no faults queued and no requests served yet.
    pub(super) fn assemble(token: &str, scenario: S, budget: B) -> Self {
        Self {
            token: token.to_string(),
            scenario: Mutex::new(scenario),
            budget,
            faults: FaultInjector::default(),
            requests: RequestCounter::default(),
            rollbacks: SimRollbacks::default(),
        }
    }

    /// The start of every API request: counts it, serves a `Slow` fault's delay, and returns
    /// any other fault queued for it (the caller answers it in the provider's shape).
    pub(super) async fn take_fault(&self) -> Option<SimFault> {
        self.requests.record();
        apply_delay(self.faults.next()).await
    }
}

/// A provider's request budget: fixed windows of `window`, each allowing `limit` requests,
/// one window per key (`()` when the provider counts one budget per token; Supabase keys it
/// by project and endpoint). A window starts with the first request of its key and restarts
/// with the first request after it ended.
///
/// All the simulated providers that document a fixed window share this one type; the
/// simulators answer a test at a time, so a mutex-guarded map is all it needs. DigitalOcean's
/// two sliding windows keep their own log (see `digitalocean.rs`), and the login limiter in
/// `auth::rate_limit` is a sliding window with reservations, so neither fits here.
#[derive(Debug)]
pub struct RateBudget<K = ()> {
    window: Duration,
    state: Mutex<BudgetState<K>>,
}

#[derive(Debug)]
struct BudgetState<K> {
    limit: u64,
    windows: HashMap<K, Window>,
}

#[derive(Debug)]
struct Window {
    started: Instant,
    started_at: DateTime<Utc>,
    used: u64,
}

/// Where one key's window stands after a request: what the rate-limit headers report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowUse {
    pub limit: u64,
    /// Requests counted in this window, the current one included.
    pub used: u64,
    /// Seconds until the window ends, rounded up and at least 1.
    pub reset_secs: u64,
    /// When the window ends, on the wall clock.
    pub resets_at: DateTime<Utc>,
}

impl WindowUse {
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    /// Over the budget: this request gets the provider's 429 (or GitHub's 403).
    pub fn exhausted(&self) -> bool {
        self.used > self.limit
    }

    /// `Retry-After` for a request over the budget: the rest of the window.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.exhausted().then_some(self.reset_secs)
    }
}

impl<K: Eq + Hash> RateBudget<K> {
    pub fn new(limit: u64, window: Duration) -> Self {
        Self {
            window,
            state: Mutex::new(BudgetState {
                limit,
                windows: HashMap::new(),
            }),
        }
    }

    /// How many requests a window allows from now on; windows already under way keep their
    /// count.
    pub fn set_limit(&self, limit: u64) {
        lock(&self.state).limit = limit;
    }

    /// Forgets every window: the next request of each key starts a fresh one.
    pub fn clear(&self) {
        lock(&self.state).windows.clear();
    }

    /// Counts one request of `key`.
    pub fn spend_for(&self, key: K) -> WindowUse {
        self.window_use(key, 1)
    }

    /// Where `key`'s window stands, without counting a request.
    pub fn peek_for(&self, key: K) -> WindowUse {
        self.window_use(key, 0)
    }

    fn window_use(&self, key: K, requests: u64) -> WindowUse {
        let mut state = lock(&self.state);
        let limit = state.limit;
        let now = Instant::now();
        let window = state.windows.entry(key).or_insert(Window {
            started: now,
            started_at: Utc::now(),
            used: 0,
        });
        if now.duration_since(window.started) >= self.window {
            window.started = now;
            window.started_at = Utc::now();
            window.used = 0;
        }
        window.used += requests;
        let left = self
            .window
            .saturating_sub(now.duration_since(window.started));
        WindowUse {
            limit,
            used: window.used,
            reset_secs: left.as_secs_f64().ceil().max(1.0) as u64,
            resets_at: window.started_at
                + chrono::Duration::from_std(self.window).unwrap_or(chrono::Duration::zero()),
        }
    }
}

impl RateBudget {
    /// Counts one request against the single budget.
    pub fn spend(&self) -> WindowUse {
        self.spend_for(())
    }

    /// Where the single budget stands, without counting a request.
    pub fn peek(&self) -> WindowUse {
        self.peek_for(())
    }
}

/// The numbers behind one answer's rate-limit headers, for the providers that report a limit,
/// what is left, the seconds until the window resets and (on a 429) `Retry-After`. How they
/// are spelled on the wire is each provider's own (a local trait with an `apply`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimitHeaders {
    pub limit: u64,
    pub remaining: u64,
    pub reset_secs: u64,
    /// Set on a 429.
    pub retry_after_secs: Option<u64>,
}

impl From<WindowUse> for RateLimitHeaders {
    fn from(used: WindowUse) -> Self {
        Self {
            limit: used.limit,
            remaining: used.remaining(),
            reset_secs: used.reset_secs,
            retry_after_secs: used.retry_after_secs(),
        }
    }
}

impl RateLimitHeaders {
    /// Over the budget: this request gets the provider's 429.
    pub fn exhausted(&self) -> bool {
        self.retry_after_secs.is_some()
    }

    /// The values of a 429 that asks the client to wait `retry_after_secs`: nothing left until
    /// then.
    pub fn spent(self, retry_after_secs: u64) -> Self {
        Self {
            remaining: 0,
            reset_secs: retry_after_secs,
            retry_after_secs: Some(retry_after_secs),
            ..self
        }
    }
}

/// A simulator whose API requests all pass one gate before their handler: counting, the
/// injected fault (after a `Slow` one's delay), the token and the budget, in the order its
/// provider checks them. `Ok` carries what the normal answer needs (its rate-limit headers);
/// `Err` is the answer to send instead, in the provider's own error shape.
pub(crate) trait SimApi: Send + Sync + 'static {
    type Admission: Send;

    fn admit(
        &self,
        headers: &HeaderMap,
    ) -> impl Future<Output = Result<Self::Admission, Response>> + Send;
}

/// The extractor for a [`SimApi`] gate: a handler that takes `Admitted(rate)` runs only for
/// admitted requests, and a refused one gets the gate's answer. (Crate-visible like
/// [`SimApi`], so a gate's answer type can stay private to its provider's module.)
pub(crate) struct Admitted<T>(pub T);

impl<S: SimApi> FromRequestParts<Arc<S>> for Admitted<S::Admission> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, sim: &Arc<S>) -> Result<Self, Response> {
        sim.admit(&parts.headers).await.map(Admitted)
    }
}

/// The answer to a `Garbage` fault: a 200 HTML page (each provider has its own text) where
/// the documented JSON should be.
pub fn html_page(body: &'static str) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/html")], body).into_response()
}

/// RFC 3339 in UTC with whole seconds (`2021-06-17T08:15:30Z`).
pub fn timestamp_secs(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// RFC 3339 in UTC with milliseconds (`2021-06-17T08:15:30.000Z`).
pub fn timestamp_millis(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Lower-case letters and digits joined by single dashes (`Ada Lovelace!` → `ada-lovelace`),
/// for host names and e-mail users; `fallback` when nothing is left.
pub fn slug_or(text: &str, fallback: &str) -> String {
    let mut slug = String::new();
    for character in text.chars() {
        if character.is_ascii_alphanumeric() {
            slug.push(character.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let trimmed = slug.trim_end_matches('-');
    if trimmed.is_empty() {
        fallback.to_string()
    } else {
        trimmed.to_string()
    }
}

/// Spreads a seed over 64 bits (SplitMix64), so derived ids look random but repeat.
pub fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A byte of a GraphQL name (the Fly and Railway simulators scan queries by hand).
pub fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// The alias in `alias: ` at the end of `prefix`, if there is one (a GraphQL name never starts
/// with a digit).
pub fn alias_before(prefix: &str) -> Option<String> {
    let before_colon = prefix.trim_end().strip_suffix(':')?.trim_end();
    let alias_start = before_colon
        .bytes()
        .rposition(|byte| !is_name_byte(byte))
        .map_or(0, |at| at + 1);
    let alias = &before_colon[alias_start..];
    (!alias.is_empty() && !alias.starts_with(|c: char| c.is_ascii_digit()))
        .then(|| alias.to_string())
}

/// What the simulators' unit tests share.
#[cfg(test)]
pub mod test_kit {
    use super::super::{SimDeploymentSpec, SimOutcome};
    use chrono::{DateTime, TimeZone, Utc};

    /// A deployment of commit `{minute:040x}` ("change {minute}", by `ada` on `main`, no PR)
    /// created at 12:`minute` on 2026-03-01.
    pub fn spec(minute: u32, outcome: SimOutcome) -> SimDeploymentSpec {
        let created_at = Utc
            .with_ymd_and_hms(2026, 3, 1, 12, minute, 0)
            .single()
            .expect("a minute of the hour");
        spec_at(i64::from(minute), outcome, created_at)
    }

    /// A deployment like [`spec`] for commit number `seed`, created at `created_at`.
    pub fn spec_at(seed: i64, outcome: SimOutcome, created_at: DateTime<Utc>) -> SimDeploymentSpec {
        SimDeploymentSpec {
            commit_sha: format!("{seed:040x}"),
            commit_message: format!("change {seed}"),
            author: "ada".into(),
            branch: "main".into(),
            pr_number: None,
            outcome,
            created_at,
        }
    }

    /// `minute` minutes after 2023-11-14T22:13:20Z (epoch 1,700,000,000).
    pub fn epoch_minute(minute: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + minute * 60, 0)
            .single()
            .expect("a valid timestamp")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_counts_until_its_limit_and_keys_count_apart() {
        let budget: RateBudget<&str> = RateBudget::new(2, Duration::from_secs(60));
        assert_eq!(budget.spend_for("a").remaining(), 1);
        assert_eq!(budget.peek_for("a").used, 1);
        assert!(!budget.spend_for("a").exhausted());
        let over = budget.spend_for("a");
        assert!(over.exhausted());
        assert_eq!(over.remaining(), 0);
        assert!((1..=60).contains(&over.reset_secs));
        assert_eq!(over.retry_after_secs(), Some(over.reset_secs));
        assert_eq!(budget.spend_for("b").used, 1);
        budget.clear();
        assert_eq!(budget.peek_for("a").used, 0);
    }

    #[test]
    fn a_window_restarts_once_it_has_passed() {
        let budget = RateBudget::new(1, Duration::from_millis(20));
        budget.spend();
        assert!(budget.spend().exhausted());
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(budget.spend().used, 1);
        budget.set_limit(5);
        assert_eq!(budget.peek().remaining(), 4);
    }
}
