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

use super::{
    apply_delay, bearer_matches, fault_status, lock, FaultInjector, RequestCounter,
    SimDeploymentSpec, SimFault, SimOutcome, SimRollbackOutcome, SimRollbacks,
};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Instant;

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
#[derive(Debug)]
pub struct HerokuSimulator {
    token: String,
    scenario: Mutex<Scenario>,
    pool: Mutex<TokenPool>,
    pub faults: FaultInjector,
    pub requests: RequestCounter,
    /// How the next rollbacks go, and how many were asked for.
    pub rollbacks: SimRollbacks,
}

#[derive(Debug, Default)]
struct Scenario {
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
struct TokenPool {
    capacity: f64,
    refill_per_sec: f64,
    tokens: f64,
    refilled_at: Instant,
}

/// What the pool says about one request.
#[derive(Clone, Copy, Debug)]
struct Budget {
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
        Self {
            token: token.to_string(),
            scenario: Mutex::new(Scenario::default()),
            pool: Mutex::new(TokenPool {
                capacity: DEFAULT_POOL,
                refill_per_sec: DEFAULT_REFILL_PER_MINUTE / 60.0,
                tokens: DEFAULT_POOL,
                refilled_at: Instant::now(),
            }),
            faults: FaultInjector::default(),
            requests: RequestCounter::default(),
            rollbacks: SimRollbacks::default(),
        }
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
        let mut guard = lock(&self.pool);
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

    /// What every API request goes through: counting, injected faults, the token pool, the
    /// API version and the token. `Ok` carries the budget for the normal answer's header.
    async fn admit(&self, headers: &HeaderMap) -> Result<Budget, Response> {
        self.requests.record();
        let fault = apply_delay(self.faults.next()).await;
        let budget = self.spend_token();
        if let Some(fault) = fault {
            return Err(fault_response(&fault, budget));
        }
        if budget.retry_after_secs.is_some() {
            return Err(rate_limited(budget));
        }
        if !accepts_v3(headers) {
            return Err(error_response(
                StatusCode::NOT_ACCEPTABLE,
                "not_acceptable",
                "Please specify a version along with Heroku's API MIME type. For example, `Accept: application/vnd.heroku+json; version=3`.",
                budget,
            ));
        }
        if !bearer_matches(headers, &self.token) {
            return Err(error_response(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Invalid credentials provided.",
                budget,
            ));
        }
        Ok(budget)
    }

    /// Takes one token from the pool, refilled for the time since the last request.
    fn spend_token(&self) -> Budget {
        let mut pool = lock(&self.pool);
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

async fn list_releases(
    State(sim): State<Arc<HerokuSimulator>>,
    Path(app): Path<String>,
    headers: HeaderMap,
) -> Response {
    let budget = match sim.admit(&headers).await {
        Ok(budget) => budget,
        Err(response) => return response,
    };
    let range = headers
        .get(header::RANGE)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| SimError::BadRange("Invalid Range header".into()))
        })
        .transpose()
        .and_then(RangeSpec::parse);
    match range.and_then(|range| sim.list(&app, &range)) {
        Ok((body, next_range)) => {
            let status = if next_range.is_some() {
                StatusCode::PARTIAL_CONTENT
            } else {
                StatusCode::OK
            };
            let mut response = (status, Json(body)).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::ACCEPT_RANGES,
                HeaderValue::from_static("id, version"),
            );
            if let Some(next) = next_range.and_then(|next| HeaderValue::from_str(&next).ok()) {
                headers.insert("next-range", next);
            }
            budget.apply(response)
        }
        Err(error) => sim_error_response(error, budget),
    }
}

/// `POST /apps/{app}/releases`: the "Rollback" link (`{"release": …}`). The "Create" link on
/// the same path (`{slug, …}`) is not simulated and answers 422.
async fn create_release(
    State(sim): State<Arc<HerokuSimulator>>,
    Path(app): Path<String>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    let budget = match sim.admit(&headers).await {
        Ok(budget) => budget,
        Err(response) => return response,
    };
    let target = body
        .as_ref()
        .and_then(|Json(body)| body.get("release"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(target) = target else {
        return error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_params",
            "Missing required params: release. (The simulator implements only the rollback form of this endpoint.)",
            budget,
        );
    };
    match sim.roll_back(&app, &target) {
        Ok(release) => budget.apply((StatusCode::CREATED, Json(release)).into_response()),
        Err(error) => sim_error_response(error, budget),
    }
}

async fn get_release(
    State(sim): State<Arc<HerokuSimulator>>,
    Path((app, id_or_version)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let budget = match sim.admit(&headers).await {
        Ok(budget) => budget,
        Err(response) => return response,
    };
    match sim.release(&app, &id_or_version) {
        Ok(body) => budget.apply(Json(body).into_response()),
        Err(error) => sim_error_response(error, budget),
    }
}

async fn get_slug(
    State(sim): State<Arc<HerokuSimulator>>,
    Path((app, slug_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let budget = match sim.admit(&headers).await {
        Ok(budget) => budget,
        Err(response) => return response,
    };
    match sim.slug(&app, &slug_id) {
        Ok(body) => budget.apply(Json(body).into_response()),
        Err(error) => sim_error_response(error, budget),
    }
}

async fn unknown_route() -> Response {
    let body = json!({
        "id": "not_found",
        "message": "The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), and did you specify your intended version with the `Accept` header?",
    });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

/// Heroku's error body `{id, message}`.
fn error_response(status: StatusCode, id: &str, message: &str, budget: Budget) -> Response {
    budget.apply((status, Json(json!({ "id": id, "message": message }))).into_response())
}

fn rate_limited(budget: Budget) -> Response {
    error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit",
        "Your account reached the API rate limit\nPlease wait a few minutes before making new requests",
        Budget {
            remaining: 0,
            ..budget
        },
    )
}

fn sim_error_response(error: SimError, budget: Budget) -> Response {
    match error {
        SimError::AppNotFound => error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
            budget,
        ),
        SimError::ReleaseNotFound => error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that release.",
            budget,
        ),
        SimError::SlugNotFound => error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that slug.",
            budget,
        ),
        SimError::InvalidParams(message) => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_params",
            &message,
            budget,
        ),
        SimError::Conflict(message) => {
            error_response(StatusCode::CONFLICT, "conflict", &message, budget)
        }
        SimError::BadRange(message) => error_response(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "requested_range_not_satisfiable",
            &message,
            budget,
        ),
    }
}

fn fault_response(fault: &SimFault, budget: Budget) -> Response {
    let status = fault_status(fault);
    match fault {
        SimFault::RateLimited { retry_after_secs } => rate_limited(Budget {
            remaining: 0,
            retry_after_secs: Some(*retry_after_secs),
        }),
        SimFault::ServerError => error_response(
            status,
            "service_unavailable",
            "Heroku API is temporarily unavailable.",
            Budget {
                retry_after_secs: None,
                ..budget
            },
        ),
        SimFault::Unauthorized => error_response(
            status,
            "unauthorized",
            "Invalid credentials provided.",
            Budget {
                retry_after_secs: None,
                ..budget
            },
        ),
        SimFault::Garbage => (
            status,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><body>Application error</body></html>",
        )
            .into_response(),
        // `apply_delay` has already served a `Slow` fault; answering normally is its point.
        SimFault::Slow { .. } => {
            error_response(status, "internal_server_error", "unexpected fault", budget)
        }
    }
}

/// A uuid-shaped id: `kind` tells apps, slugs and releases apart at a glance.
fn uuid(kind: u16, seed: u64) -> String {
    format!("{seed:08x}-{kind:04x}-4000-8000-{seed:012x}")
}

/// RFC 3339 in UTC with whole seconds, as Heroku's examples (`2012-01-01T12:00:00Z`).
fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn spec(minute: u32, outcome: SimOutcome) -> SimDeploymentSpec {
        SimDeploymentSpec {
            commit_sha: format!("{minute:040x}"),
            commit_message: format!("change {minute}"),
            author: "ada".into(),
            branch: "main".into(),
            pr_number: None,
            outcome,
            created_at: Utc.with_ymd_and_hms(2026, 3, 1, 12, minute, 0).unwrap(),
        }
    }

    fn listed(sim: &HerokuSimulator, range: &str) -> (Vec<(u64, String, bool)>, Option<String>) {
        let range = RangeSpec::parse(Some(range)).unwrap();
        let (body, next) = sim.list("shop", &range).unwrap();
        let rows = body
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["version"].as_u64().unwrap(),
                    r["status"].as_str().unwrap().to_string(),
                    r["current"].as_bool().unwrap(),
                )
            })
            .collect();
        (rows, next)
    }

    #[test]
    fn a_succeeded_release_becomes_current() {
        let sim = HerokuSimulator::new("t");
        sim.add_app("shop");
        sim.push_deployment("shop", &spec(1, SimOutcome::Ready));
        sim.push_deployment("shop", &spec(2, SimOutcome::Failed));
        sim.push_deployment("shop", &spec(3, SimOutcome::Building));
        sim.push_deployment("shop", &spec(4, SimOutcome::Canceled));
        let (rows, next) = listed(&sim, "version ..; order=desc");
        assert_eq!(
            rows,
            vec![
                (4, "failed".into(), false),
                (3, "pending".into(), false),
                (2, "failed".into(), false),
                (1, "succeeded".into(), true),
            ]
        );
        assert_eq!(next, None);
        sim.push_release("shop", &spec(5, SimOutcome::Ready));
        let config = sim.push_config_release(
            "shop",
            "Set FOO config vars",
            "bob@example.com",
            Utc.with_ymd_and_hms(2026, 3, 1, 12, 30, 0).unwrap(),
        );
        let (rows, _) = listed(&sim, "version ..; order=desc, max=3");
        assert_eq!(rows[0], (6, "succeeded".into(), true));
        assert_eq!(rows[1], (5, "succeeded".into(), false));
        let release = sim.release("shop", &config).unwrap();
        let by_version = sim.release("shop", "5").unwrap();
        assert_eq!(
            release["slug"], by_version["slug"],
            "config releases reuse the slug"
        );
        assert_eq!(release["description"], "Set FOO config vars");
        assert_eq!(by_version["description"], "Deploy 0000000");
        assert_eq!(by_version["user"]["email"], "ada@example.com");
        assert_eq!(by_version["created_at"], "2026-03-01T12:05:00Z");
        assert_eq!(by_version["updated_at"], "2026-03-01T12:07:00Z");
        let slug_id = by_version["slug"]["id"].as_str().unwrap();
        let slug = sim.slug("shop", slug_id).unwrap();
        assert_eq!(slug["commit"], json!(format!("{:040x}", 5)));
        assert_eq!(slug["commit_description"], "change 5");
        let pending = sim.release("shop", "3").unwrap();
        assert_eq!(pending["updated_at"], pending["created_at"]);
        assert_eq!(sim.release("shop", "99"), Err(SimError::ReleaseNotFound));
        assert_eq!(sim.release("nope", "1"), Err(SimError::AppNotFound));
        // The app's id works in place of its name.
        let app_id = sim.app_id("shop").unwrap();
        assert!(sim.release(&app_id, "1").is_ok());
    }

    #[test]
    fn ranges_page_with_next_range() {
        let sim = HerokuSimulator::new("t");
        for minute in 1..=5 {
            sim.push_deployment("shop", &spec(minute, SimOutcome::Ready));
        }
        let (rows, next) = listed(&sim, "version ..; order=desc, max=2");
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [5, 4]);
        let next = next.unwrap();
        assert_eq!(next, "version ]4..; order=desc, max=2");
        let (rows, next) = listed(&sim, &next);
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [3, 2]);
        let (rows, next) = listed(&sim, &next.unwrap());
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1]);
        assert_eq!(next, None, "the rest fits: a 200");

        let (rows, next) = listed(&sim, "version 2..3");
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(next, None);
        let (rows, _) = listed(&sim, "version ]2..; max=1");
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [3]);
        let (rows, _) = listed(&sim, "]3..; order=desc");
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 1]);
        let (rows, next) = listed(&sim, "id ..; max=4");
        assert_eq!(rows.len(), 4);
        assert!(next.unwrap().starts_with("id ]"));
    }

    #[test]
    fn bad_ranges_are_refused() {
        for bad in [
            "name ..",
            "version 1",
            "version a..",
            "version ..; max=0",
            "version ..; order=sideways",
            "version ..; colour=blue",
        ] {
            assert!(
                matches!(RangeSpec::parse(Some(bad)), Err(SimError::BadRange(_))),
                "{bad}"
            );
        }
        assert_eq!(RangeSpec::parse(None).unwrap(), RangeSpec::default_range());
        assert_eq!(
            RangeSpec::parse(Some("version ..; max=5000")).unwrap().max,
            MAX_MAX
        );
    }

    #[test]
    fn the_accept_header_must_name_version_3() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
            accepts_v3(&headers)
        };
        assert!(with("application/vnd.heroku+json; version=3"));
        assert!(with("application/vnd.heroku+json;version=3"));
        assert!(!with("application/json"));
        assert!(!with("application/vnd.heroku+json"));
        assert!(!with("application/vnd.heroku+json; version=2"));
        assert!(!accepts_v3(&HeaderMap::new()));
    }

    #[test]
    fn the_token_pool_runs_dry() {
        let sim = HerokuSimulator::new("t");
        sim.set_rate_limit(2, 60);
        assert_eq!(sim.spend_token().remaining, 1);
        assert_eq!(sim.spend_token().remaining, 0);
        let dry = sim.spend_token();
        assert_eq!(dry.remaining, 0);
        assert_eq!(dry.retry_after_secs, Some(1), "one token a second");
    }
}
