//! Heroku Platform API simulator: `GET /apps/{app}/releases` (paged by the `Range` header,
//! answering `206 Partial Content` with `Next-Range` while more follow), `GET
//! /apps/{app}/releases/{id_or_version}` and `GET /apps/{app}/slugs/{slug_id}`, with Heroku's
//! payload shapes, release `status` enum and `current` flag, the required `Accept:
//! application/vnd.heroku+json; version=3` header (406 without it), Bearer auth, `{id,
//! message}` error bodies and a `RateLimit-Remaining` header on every answer.
//!
//! The scenario is a set of apps (addressable by name or id), each with its releases and
//! slugs; a release that succeeds becomes `current` and the one before stops being current.
//!
//! Rollback: `POST /apps/{app}/releases` with `{"release": "<id>"}` creates a new `pending`
//! release ("Rollback to vNN") on the target's slug; it settles (succeeded and current, or
//! failed) when its simulated release phase ends, applied lazily on the next read.

// `timestamp`: RFC 3339 in UTC with whole seconds, as Heroku's examples (`2012-01-01T12:00:00Z`).
use super::skeleton::{html_page, timestamp_secs as timestamp, Admitted, SimApi, Simulated};
use super::{
    bearer_matches, fault_status, lock, SimDeploymentSpec, SimFault, SimOutcome, SimRollbackOutcome,
};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Instant;

mod api;
use api::*;

/// Heroku's page size when a `Range` names no `max`, and the largest it allows.
const DEFAULT_MAX: usize = 200;
const MAX_MAX: usize = 1000;
/// The token pool: current third-party quotes say 4,500 tokens refilled at about 75 a minute
/// (older devcenter text: 2,400 at 1,200 an hour). UNCONFIRMED; the simulator uses the former.
const DEFAULT_POOL: f64 = 4_500.0;
const DEFAULT_REFILL_PER_MINUTE: f64 = 75.0;
/// A simulated release phase finishes this long after the release is created.
const RELEASE_MINUTES: i64 = 2;
const ACCEPT_MEDIA_TYPE: &str = "application/vnd.heroku+json";
const ACCEPT_VERSION: &str = "version=3";

/// A simulated Heroku account: apps, their releases and slugs.
pub type HerokuSimulator = Simulated<Scenario, Mutex<TokenPool>>;

#[derive(Debug, Default)]
pub struct Scenario {
    apps: Vec<SimApp>,
    /// Seeds ids.
    last_seed: u64,
}

impl Scenario {
    fn app(&self, name_or_id: &str) -> Option<&SimApp> {
        self.apps
            .iter()
            .find(|app| app.name == name_or_id || app.id == name_or_id)
    }

    fn next_id(&mut self, kind: u16) -> String {
        self.last_seed += 1;
        uuid(kind, self.last_seed)
    }

    /// The app named `name`, created (with no releases) if new.
    fn app_mut(&mut self, name: &str) -> &mut SimApp {
        let index = match self
            .apps
            .iter()
            .position(|app| app.name == name || app.id == name)
        {
            Some(index) => index,
            None => {
                let id = self.next_id(0xa);
                self.apps.push(SimApp {
                    id,
                    name: name.to_string(),
                    releases: Vec::new(),
                    slugs: Vec::new(),
                });
                self.apps.len() - 1
            }
        };
        &mut self.apps[index]
    }
}

#[derive(Debug)]
struct SimApp {
    id: String,
    name: String,
    /// In version order.
    releases: Vec<SimRelease>,
    slugs: Vec<SimSlug>,
}

#[derive(Clone, Debug)]
struct SimRelease {
    id: String,
    version: u64,
    description: String,
    status: &'static str,
    current: bool,
    slug_id: Option<String>,
    user_email: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// A rollback release in its release phase: when it ends, and on which status.
    settles: Option<(Instant, &'static str)>,
}

#[derive(Clone, Debug)]
struct SimSlug {
    id: String,
    commit: String,
    commit_description: String,
    created_at: DateTime<Utc>,
}

impl SimRelease {
    fn to_json(&self, app: &SimApp) -> Value {
        let artifacts: Vec<Value> = self
            .slug_id
            .iter()
            .map(|id| json!({"type": "slug", "id": id}))
            .collect();
        json!({
            "addon_plan_names": ["heroku-postgresql:essential-0"],
            "artifacts": artifacts,
            "app": {"id": app.id, "name": app.name},
            "created_at": timestamp(self.created_at),
            "description": self.description,
            "id": self.id,
            "updated_at": timestamp(self.updated_at),
            "slug": self.slug_id.as_ref().map(|id| json!({"id": id})),
            "status": self.status,
            "user": {"id": uuid(0xe, self.version), "email": self.user_email},
            "version": self.version,
            "current": self.current,
            "output_stream_url": format!("https://release-output.heroku.com/streams/{}", self.id),
            "eligible_for_rollback": self.eligible_for_rollback(),
        })
    }
}

impl SimRelease {
    /// Only succeeded releases with code can be rolled back to (the contract's restriction).
    fn eligible_for_rollback(&self) -> bool {
        self.status == "succeeded" && self.slug_id.is_some()
    }
}

impl SimSlug {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "commit": self.commit,
            "commit_description": self.commit_description,
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.created_at),
            "size": 2_048_000,
            "stack": {"id": uuid(0x5, 24), "name": "heroku-24"},
            "process_types": {"web": "bin/start"},
            "buildpack_provided_description": "Node.js",
            "checksum": format!("SHA256:{}", self.commit),
        })
    }
}

/// Heroku's token pool: requests spend a token each, and tokens trickle back.
#[derive(Debug)]
pub struct TokenPool {
    capacity: f64,
    refill_per_sec: f64,
    tokens: f64,
    refilled_at: Instant,
}

/// What the pool says about one request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Budget {
    remaining: u64,
    /// Set when the pool is empty: seconds until a token is back.
    retry_after_secs: Option<u64>,
}

impl Budget {
    fn apply(self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        headers.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        if let Some(retry_after) = self.retry_after_secs {
            // UNCONFIRMED that Heroku sends `Retry-After` on a 429 (only `RateLimit-Remaining`
            // is documented). The simulator sends it so the client's honouring of it is
            // exercised; the client copes without it too.
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

/// Why a request could not be answered with data.
#[derive(Debug, PartialEq)]
enum SimError {
    AppNotFound,
    ReleaseNotFound,
    SlugNotFound,
    BadRange(String),
    /// 422 `invalid_params`.
    InvalidParams(String),
    /// 409 `conflict`.
    Conflict(String),
}

impl HerokuSimulator {
    /// A simulator that accepts `token` as its API token.
    pub fn new(token: &str) -> Self {
        Self::assemble(
            token,
            Scenario::default(),
            Mutex::new(TokenPool {
                capacity: DEFAULT_POOL,
                refill_per_sec: DEFAULT_REFILL_PER_MINUTE / 60.0,
                tokens: DEFAULT_POOL,
                refilled_at: Instant::now(),
            }),
        )
    }

    /// Adds an app with no releases. A real app starts at v1 "Initial release"; the simulator
    /// starts empty so a scenario holds only the releases it pushes.
    pub fn add_app(&self, app_name: &str) {
        lock(&self.scenario).app_mut(app_name);
    }

    /// The id (uuid) of an app, which the API accepts in place of its name.
    pub fn app_id(&self, app_name: &str) -> Option<String> {
        lock(&self.scenario).app(app_name).map(|app| app.id.clone())
    }

    /// The token pool: its size and how many tokens come back a minute (defaults 4,500 and
    /// 75). The pool starts full.
    pub fn set_rate_limit(&self, pool: u64, refill_per_minute: u64) {
        let mut guard = lock(&self.budget);
        guard.capacity = pool as f64;
        guard.tokens = pool as f64;
        guard.refill_per_sec = refill_per_minute as f64 / 60.0;
        guard.refilled_at = Instant::now();
    }

    /// Adds a release built from a new slug ("Deploy <sha7>") and returns the release id.
    /// `Ready` is `succeeded` and becomes `current` (the previous current one stops being
    /// current); `Failed` is `failed` and `Building` is `pending` (the release phase runs),
    /// both leaving the current release alone. Heroku has no canceled release (a canceled
    /// build creates none; a stopped release phase fails the release), so `Canceled` is
    /// `failed` too. The author becomes the releasing user's email; the commit message is the
    /// slug's `commit_description`. An app never added is created.
    pub fn push_deployment(&self, app_name: &str, spec: &SimDeploymentSpec) -> String {
        let mut scenario = lock(&self.scenario);
        let slug_id = scenario.next_id(0x5);
        let release_id = scenario.next_id(0x7);
        let app = scenario.app_mut(app_name);
        app.slugs.push(SimSlug {
            id: slug_id.clone(),
            commit: spec.commit_sha.clone(),
            commit_description: spec.commit_message.clone(),
            created_at: spec.created_at,
        });
        let status = match spec.outcome {
            SimOutcome::Ready => "succeeded",
            SimOutcome::Building => "pending",
            SimOutcome::Failed | SimOutcome::Canceled => "failed",
        };
        let short_sha: String = spec.commit_sha.chars().take(7).collect();
        let user_email = if spec.author.contains('@') {
            spec.author.clone()
        } else {
            format!("{}@example.com", spec.author)
        };
        app.add_release(SimRelease {
            id: release_id.clone(),
            version: 0,
            description: format!("Deploy {short_sha}"),
            status,
            current: false,
            slug_id: Some(slug_id),
            user_email,
            created_at: spec.created_at,
            updated_at: spec.created_at,
            settles: None,
        });
        release_id
    }

    /// [`HerokuSimulator::push_deployment`] under Heroku's own word.
    pub fn push_release(&self, app_name: &str, spec: &SimDeploymentSpec) -> String {
        self.push_deployment(app_name, spec)
    }

    /// Adds a succeeded release that changes config only ("Set FOO config vars"): it reuses
    /// the current release's slug, as Heroku does, and becomes current. Returns its id.
    pub fn push_config_release(
        &self,
        app_name: &str,
        description: &str,
        user_email: &str,
        created_at: DateTime<Utc>,
    ) -> String {
        let mut scenario = lock(&self.scenario);
        let release_id = scenario.next_id(0x7);
        let app = scenario.app_mut(app_name);
        let slug_id = app
            .releases
            .iter()
            .find(|release| release.current)
            .and_then(|release| release.slug_id.clone());
        app.add_release(SimRelease {
            id: release_id.clone(),
            version: 0,
            description: description.to_string(),
            status: "succeeded",
            current: false,
            slug_id,
            user_email: user_email.to_string(),
            created_at,
            updated_at: created_at,
            settles: None,
        });
        release_id
    }

    /// The Heroku API routes, relative to the API base (`https://api.heroku.com`).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(
                "/apps/{app}/releases",
                get(list_releases).post(create_release),
            )
            .route("/apps/{app}/releases/{id_or_version}", get(get_release))
            .route("/apps/{app}/slugs/{slug_id}", get(get_slug))
            .fallback(unknown_route)
            .with_state(self)
    }

    /// Takes one token from the pool, refilled for the time since the last request.
    fn spend_token(&self) -> Budget {
        let mut pool = lock(&self.budget);
        let now = Instant::now();
        let elapsed = now.duration_since(pool.refilled_at).as_secs_f64();
        pool.tokens = (pool.tokens + elapsed * pool.refill_per_sec).min(pool.capacity);
        pool.refilled_at = now;
        if pool.tokens >= 1.0 {
            pool.tokens -= 1.0;
            Budget {
                remaining: pool.tokens.floor() as u64,
                retry_after_secs: None,
            }
        } else {
            let wait = if pool.refill_per_sec > 0.0 {
                ((1.0 - pool.tokens) / pool.refill_per_sec).ceil().max(1.0) as u64
            } else {
                3600
            };
            Budget {
                remaining: 0,
                retry_after_secs: Some(wait),
            }
        }
    }

    /// One `Range` of an app's releases: the JSON array and the `Next-Range` when cut.
    fn list(&self, app: &str, range: &RangeSpec) -> Result<(Value, Option<String>), SimError> {
        let mut scenario = lock(&self.scenario);
        advance(&mut scenario, app);
        let app = scenario.app(app).ok_or(SimError::AppNotFound)?;
        let mut releases: Vec<&SimRelease> = app
            .releases
            .iter()
            .filter(|release| range.admits(release))
            .collect();
        releases.sort_by(|a, b| range.compare(a, b));
        let truncated = releases.len() > range.max;
        releases.truncate(range.max);
        let next = match (truncated, releases.last()) {
            (true, Some(last)) => Some(range.next_after(last)),
            _ => None,
        };
        let body: Vec<Value> = releases.iter().map(|r| r.to_json(app)).collect();
        Ok((Value::Array(body), next))
    }

    fn release(&self, app: &str, id_or_version: &str) -> Result<Value, SimError> {
        let mut scenario = lock(&self.scenario);
        advance(&mut scenario, app);
        let app = scenario.app(app).ok_or(SimError::AppNotFound)?;
        let version = id_or_version.parse::<u64>().ok();
        app.releases
            .iter()
            .find(|release| release.id == id_or_version || Some(release.version) == version)
            .map(|release| release.to_json(app))
            .ok_or(SimError::ReleaseNotFound)
    }

    /// `POST /apps/{app}/releases` with `{"release": …}`: a new `pending` release on the
    /// target's slug, described "Rollback to vNN". The target is found by id (what the schema
    /// asks for) or by version (UNCONFIRMED that Heroku accepts one; the simulator does, so a
    /// client sending either works). Only a succeeded release with a slug qualifies.
    fn roll_back(&self, app: &str, target: &str) -> Result<Value, SimError> {
        let (outcome, settles_at) = self.rollbacks.next();
        let mut scenario = lock(&self.scenario);
        advance(&mut scenario, app);
        let release_id = scenario.next_id(0x7);
        let index = scenario
            .apps
            .iter()
            .position(|candidate| candidate.name == app || candidate.id == app)
            .ok_or(SimError::AppNotFound)?;
        let app = &mut scenario.apps[index];
        let version = target.parse::<u64>().ok();
        let target = app
            .releases
            .iter()
            .find(|release| release.id == target || Some(release.version) == version)
            .cloned()
            .ok_or(SimError::ReleaseNotFound)?;
        if !target.eligible_for_rollback() {
            // UNCONFIRMED wording; Heroku's `invalid_params` is its validation error.
            return Err(SimError::InvalidParams(format!(
                "Release v{} is not eligible for rollback (status: {}).",
                target.version, target.status
            )));
        }
        if outcome == SimRollbackOutcome::Refused {
            // UNCONFIRMED wording: Heroku's documented `conflict` id, with a plausible message.
            return Err(SimError::Conflict(
                "A release is already in progress for this app; try again when it finishes.".into(),
            ));
        }
        let now = Utc::now();
        let final_status = match outcome {
            SimRollbackOutcome::Fails => Some("failed"),
            SimRollbackOutcome::NeverLive => None,
            SimRollbackOutcome::GoesLive | SimRollbackOutcome::Refused => Some("succeeded"),
        };
        let release = SimRelease {
            id: release_id,
            version: app.releases.iter().map(|r| r.version).max().unwrap_or(0) + 1,
            description: format!("Rollback to v{}", target.version),
            status: "pending",
            current: false,
            slug_id: target.slug_id.clone(),
            user_email: "api-user@example.com".into(),
            created_at: now,
            updated_at: now,
            // A release that never settles stays pending; `settles` marks it in progress
            // either way, so NeverLive uses an instant that never comes.
            settles: Some(match final_status {
                Some(status) => (settles_at, status),
                None => (far_future(), "pending"),
            }),
        };
        let answer = release.to_json(app);
        app.releases.push(release);
        Ok(answer)
    }

    fn slug(&self, app: &str, slug_id: &str) -> Result<Value, SimError> {
        let scenario = lock(&self.scenario);
        let app = scenario.app(app).ok_or(SimError::AppNotFound)?;
        app.slugs
            .iter()
            .find(|slug| slug.id == slug_id)
            .map(SimSlug::to_json)
            .ok_or(SimError::SlugNotFound)
    }
}

impl SimApp {
    /// Appends a release with the next version. One that succeeds becomes current; the
    /// release phase of a simulated release ends two minutes after it was created.
    fn add_release(&mut self, mut release: SimRelease) {
        release.version = self.releases.last().map_or(1, |last| last.version + 1);
        if release.status != "pending" {
            release.updated_at = release
                .created_at
                .checked_add_signed(ChronoDuration::minutes(RELEASE_MINUTES))
                .unwrap_or(release.created_at);
        }
        if release.status == "succeeded" {
            for previous in self.releases.iter_mut() {
                previous.current = false;
            }
            release.current = true;
        }
        self.releases.push(release);
    }
}

/// Ends the release phases of `app`'s rollback releases whose time has come: one that
/// succeeds becomes current.
fn advance(scenario: &mut Scenario, app: &str) {
    let Some(app) = scenario
        .apps
        .iter_mut()
        .find(|candidate| candidate.name == app || candidate.id == app)
    else {
        return;
    };
    let now = Instant::now();
    let at = Utc::now();
    let settled: Vec<(usize, &'static str)> = app
        .releases
        .iter()
        .enumerate()
        .filter_map(|(index, release)| {
            release
                .settles
                .filter(|(when, status)| *when <= now && *status != "pending")
                .map(|(_, status)| (index, status))
        })
        .collect();
    for (index, status) in settled {
        if status == "succeeded" {
            for previous in app.releases.iter_mut() {
                previous.current = false;
            }
        }
        if let Some(release) = app.releases.get_mut(index) {
            release.status = status;
            release.current = status == "succeeded";
            release.settles = None;
            release.updated_at = at;
        }
    }
}

/// An instant a simulation never reaches (a release phase that hangs).
fn far_future() -> Instant {
    Instant::now() + std::time::Duration::from_secs(365 * 24 * 3600)
}

/// Accepts `application/vnd.heroku+json; version=3` (parameters in any spacing).
fn accepts_v3(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|media| {
            let mut parts = media.split(';').map(str::trim);
            parts.next() == Some(ACCEPT_MEDIA_TYPE)
                && parts.any(|parameter| parameter.replace(' ', "") == ACCEPT_VERSION)
        })
}

/// The field a `Range` sorts by; releases accept `id` and `version`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RangeField {
    Id,
    Version,
}

impl RangeField {
    fn name(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::Version => "version",
        }
    }
}

/// A parsed `Range: <field> [[]start]..[end][; order=asc|desc][, max=N]`. A leading `]` makes
/// the start exclusive (that is how `Next-Range` continues after the last item sent). With
/// `order=desc` the start is the upper end and the walk goes down.
#[derive(Clone, Debug, PartialEq)]
struct RangeSpec {
    field: RangeField,
    start: Option<String>,
    start_exclusive: bool,
    end: Option<String>,
    descending: bool,
    max: usize,
}

impl RangeSpec {
    /// Without a `Range` header Heroku lists everything in its default order, 200 at a time;
    /// the default order is UNCONFIRMED, ascending by version here.
    fn default_range() -> Self {
        Self {
            field: RangeField::Version,
            start: None,
            start_exclusive: false,
            end: None,
            descending: false,
            max: DEFAULT_MAX,
        }
    }

    fn parse(header_value: Option<&str>) -> Result<Self, SimError> {
        let Some(text) = header_value.map(str::trim).filter(|text| !text.is_empty()) else {
            return Ok(Self::default_range());
        };
        let bad = |why: &str| SimError::BadRange(format!("Invalid Range header: {why}"));
        let (head, parameters) = text.split_once(';').unwrap_or((text, ""));
        let head = head.trim();
        let (field, bounds) = match head.split_once(' ') {
            Some((field, bounds)) if !field.contains("..") => (field.trim(), bounds.trim()),
            // `Next-Range` without a field name continues the default field.
            _ => ("version", head),
        };
        let field = match field {
            "version" => RangeField::Version,
            "id" => RangeField::Id,
            other => return Err(bad(&format!("releases cannot be ranged by `{other}`"))),
        };
        let (start, end) = bounds
            .split_once("..")
            .ok_or_else(|| bad("expected `<start>..<end>`"))?;
        let (start, start_exclusive) = match start.trim().strip_prefix(']') {
            Some(rest) => (rest.trim(), true),
            None => (start.trim(), false),
        };
        let mut range = Self {
            field,
            start: (!start.is_empty()).then(|| start.to_string()),
            start_exclusive,
            end: (!end.trim().is_empty()).then(|| end.trim().to_string()),
            ..Self::default_range()
        };
        if field == RangeField::Version {
            for bound in [&range.start, &range.end].into_iter().flatten() {
                bound
                    .parse::<u64>()
                    .map_err(|_| bad(&format!("`{bound}` is not a version")))?;
            }
        }
        for parameter in parameters
            .split([',', ';'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            match parameter.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                Some(("order", "asc")) => range.descending = false,
                Some(("order", "desc")) => range.descending = true,
                Some(("max", value)) => {
                    let max = value
                        .parse::<usize>()
                        .ok()
                        .filter(|max| *max >= 1)
                        .ok_or_else(|| bad("max must be a positive integer"))?;
                    // UNCONFIRMED whether Heroku refuses a larger max or caps it; capped here.
                    range.max = max.min(MAX_MAX);
                }
                _ => return Err(bad(&format!("unknown parameter `{parameter}`"))),
            }
        }
        Ok(range)
    }

    fn key_cmp(&self, release: &SimRelease, bound: &str) -> std::cmp::Ordering {
        match self.field {
            RangeField::Version => release
                .version
                .cmp(&bound.parse::<u64>().unwrap_or_default()),
            RangeField::Id => release.id.as_str().cmp(bound),
        }
    }

    fn admits(&self, release: &SimRelease) -> bool {
        use std::cmp::Ordering::{Equal, Greater, Less};
        let past_start = self.start.as_deref().is_none_or(|start| {
            match (self.key_cmp(release, start), self.descending) {
                (Equal, _) => !self.start_exclusive,
                (Greater, false) | (Less, true) => true,
                _ => false,
            }
        });
        let before_end = self.end.as_deref().is_none_or(|end| {
            matches!(
                (self.key_cmp(release, end), self.descending),
                (Equal, _) | (Less, false) | (Greater, true)
            )
        });
        past_start && before_end
    }

    fn compare(&self, a: &SimRelease, b: &SimRelease) -> std::cmp::Ordering {
        let ascending = match self.field {
            RangeField::Version => a.version.cmp(&b.version),
            RangeField::Id => a.id.cmp(&b.id),
        };
        if self.descending {
            ascending.reverse()
        } else {
            ascending
        }
    }

    /// The `Next-Range` that continues after `last`.
    fn next_after(&self, last: &SimRelease) -> String {
        let key = match self.field {
            RangeField::Version => last.version.to_string(),
            RangeField::Id => last.id.clone(),
        };
        let order = if self.descending { "desc" } else { "asc" };
        format!(
            "{} ]{key}..{}; order={order}, max={}",
            self.field.name(),
            self.end.as_deref().unwrap_or(""),
            self.max
        )
    }
}

#[cfg(test)]
mod tests;
