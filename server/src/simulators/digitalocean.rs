//! DigitalOcean App Platform simulator: `GET /v2/apps/{id}`, `GET /v2/apps/{id}/deployments`
//! (`page`/`per_page` paging with `links.pages` and `meta.total`), `GET
//! /v2/apps/{id}/deployments/{deployment_id}` and `GET /v2/apps/{id}/health`, with
//! DigitalOcean's payload shapes, `phase` enum, Bearer auth, `{id, message, request_id}` error
//! bodies and `ratelimit-*` headers.
//!
//! The scenario is a set of apps, each with its deployments; pushing a deployment that goes
//! `ACTIVE` becomes the app's `active_deployment` and moves the one before to `SUPERSEDED`.
//!
//! Rollback: `POST /v2/apps/{id}/rollback/validate` answers `{valid, error?, warnings?}` with
//! the contract's condition codes; `POST /v2/apps/{id}/rollback` creates a new deployment of
//! the target's commit (settling lazily on the next read) and, unless `skip_pin`, pins the app
//! to it: pushes no longer deploy and further rollbacks are refused (`app_pinned`) until
//! `POST …/rollback/commit` (keep, unpin) or `POST …/rollback/revert` (a new deployment of
//! what was live before the rollback, unpin).

use super::{
    apply_delay, bearer_matches, fault_status, lock, FaultInjector, RequestCounter,
    SimDeploymentSpec, SimFault, SimOutcome, SimRollbackOutcome, SimRollbacks,
};
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration as ChronoDuration, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

const DEFAULT_PER_PAGE: u32 = 20;
const MAX_PER_PAGE: u32 = 200;
/// DigitalOcean's documented budgets: 5,000 requests an hour and 250 a minute per token.
const DEFAULT_REQUESTS_PER_HOUR: u64 = 5_000;
const DEFAULT_REQUESTS_PER_MINUTE: u64 = 250;
/// A simulated build takes a minute and the deploy another; finished = created + 2 minutes.
const BUILD_SECS: i64 = 60;
const DEPLOY_SECS: i64 = 60;
/// The one component every simulated app has.
const COMPONENT: &str = "web";
/// The git org the simulated repositories belong to.
const SIM_GIT_ORG: &str = "acme";
/// How DigitalOcean writes a time that is not set.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A component's health as `GET /v2/apps/{id}/health` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SimComponentState {
    Healthy,
    Unhealthy,
    Unknown,
}

impl SimComponentState {
    fn wire(self) -> &'static str {
        match self {
            Self::Healthy => "HEALTHY",
            Self::Unhealthy => "UNHEALTHY",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// A simulated DigitalOcean account: App Platform apps and their deployments.
#[derive(Debug)]
pub struct DigitalOceanSimulator {
    token: String,
    scenario: Mutex<Scenario>,
    budget: Mutex<RateBudget>,
    pub faults: FaultInjector,
    pub requests: RequestCounter,
    /// How the next rollbacks go, and how many were asked for.
    pub rollbacks: SimRollbacks,
}

#[derive(Debug, Default)]
struct Scenario {
    apps: HashMap<String, SimApp>,
    /// Seeds deployment ids; also orders deployments created at the same instant.
    last_seed: u64,
}

#[derive(Debug)]
struct SimApp {
    name: String,
    deployments: Vec<SimDeployment>,
    /// Component name → health; every app starts with one healthy `web` component.
    health: BTreeMap<String, SimComponentState>,
    /// The rollback the app is pinned to, until it is committed or reverted.
    pin: Option<SimPin>,
    /// How many successful deployments back a rollback may reach (the tier's history limit;
    /// `None`: no limit).
    revision_limit: Option<usize>,
    /// Warnings every rollback validation of this app reports (`code`, `message`).
    rollback_warnings: Vec<(String, String)>,
}

/// A pinned rollback: the deployment it created and the one that was active before it.
#[derive(Clone, Debug)]
struct SimPin {
    rollback_id: String,
    before_id: Option<String>,
}

impl SimApp {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            deployments: Vec::new(),
            health: BTreeMap::from([(COMPONENT.to_string(), SimComponentState::Healthy)]),
            pin: None,
            revision_limit: None,
            rollback_warnings: Vec::new(),
        }
    }

    /// Moves rollback deployments whose time has come to their final phase; one that goes
    /// `ACTIVE` supersedes the active one.
    fn advance(&mut self, now: Instant, at: DateTime<Utc>) {
        let settled: Vec<(usize, &'static str)> = self
            .deployments
            .iter()
            .enumerate()
            .filter_map(|(index, deployment)| {
                deployment
                    .settles
                    .filter(|(when, _)| *when <= now)
                    .map(|(_, phase)| (index, phase))
            })
            .collect();
        for (index, phase) in settled {
            self.finish(index, phase, at);
        }
    }

    /// Ends deployment `index` in `phase`; `ACTIVE` supersedes the active one.
    fn finish(&mut self, index: usize, phase: &'static str, at: DateTime<Utc>) {
        if phase == "ACTIVE" {
            for previous in self.deployments.iter_mut().filter(|d| d.phase == "ACTIVE") {
                previous.phase = "SUPERSEDED";
                previous.phase_last_updated_at = at;
            }
        }
        if let Some(deployment) = self.deployments.get_mut(index) {
            deployment.phase = phase;
            deployment.settles = None;
            deployment.phase_last_updated_at = at;
            if deployment.built_at.is_none() {
                deployment.built_at = Some(at);
            }
            if phase == "ACTIVE" {
                deployment.deployed_at = Some(at);
            }
        }
    }

    /// Why App Platform would refuse a rollback to `target_id`: the contract's validation
    /// error `(code, message)`, or `None` when it is valid.
    fn rollback_error(&self, target_id: &str) -> Result<Option<(&'static str, String)>, SimError> {
        let target = self
            .deployments
            .iter()
            .find(|d| d.id == target_id)
            .ok_or(SimError::NotFound)?;
        if self.pin.is_some() {
            return Ok(Some((
                "app_pinned",
                "the app is pinned to a rollback; commit or revert it first".into(),
            )));
        }
        match target.phase {
            "ACTIVE" | "SUPERSEDED" => {}
            "ERROR" => {
                return Ok(Some((
                    "incompatible_result",
                    "deployment result \"failed\" is unsuitable for rollback".into(),
                )))
            }
            "CANCELED" => {
                return Ok(Some((
                    "incompatible_result",
                    "deployment result \"canceled\" is unsuitable for rollback".into(),
                )))
            }
            phase => {
                return Ok(Some((
                    "incompatible_phase",
                    format!(
                        "deployment phase \"{}\" is unsuitable for rollback",
                        phase.to_ascii_lowercase()
                    ),
                )))
            }
        }
        if let Some(limit) = self.revision_limit {
            let back = self
                .deployments
                .iter()
                .filter(|d| matches!(d.phase, "ACTIVE" | "SUPERSEDED"))
                .filter(|d| SimDeployment::newest_first(d, target) == Ordering::Less)
                .count();
            if back > limit {
                return Ok(Some((
                    "exceeded_revision_limit",
                    format!(
                        "deployment is past the maximum historical revision limit of {limit} \
                         for the \"starter\" app tier"
                    ),
                )));
            }
        }
        Ok(None)
    }

    fn repo(&self) -> String {
        format!("{SIM_GIT_ORG}/{}", self.name)
    }

    fn live_url(&self) -> String {
        format!("https://{}-sim.ondigitalocean.app", self.name)
    }
}

#[derive(Clone, Debug)]
struct SimDeployment {
    seed: u64,
    id: String,
    commit_sha: String,
    branch: String,
    cause: String,
    phase: &'static str,
    created_at: DateTime<Utc>,
    /// When the build step ended (`None` while building).
    built_at: Option<DateTime<Utc>>,
    /// When the deploy step ended, for deployments that went live.
    deployed_at: Option<DateTime<Utc>>,
    phase_last_updated_at: DateTime<Utc>,
    /// The deployment this one was cloned from (rollbacks and reverts).
    cloned_from: Option<String>,
    /// A deployment in progress: when it settles, and in which phase.
    settles: Option<(Instant, &'static str)>,
}

impl SimDeployment {
    /// Newest first: by creation time, then by the order they were pushed.
    fn newest_first(a: &SimDeployment, b: &SimDeployment) -> Ordering {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.seed.cmp(&a.seed))
    }

    /// DigitalOcean's `apps_deployment` for this deployment of `app`.
    fn to_json(&self, app: &SimApp) -> Value {
        let step = |name: &str,
                    status: &str,
                    started: Option<DateTime<Utc>>,
                    ended: Option<DateTime<Utc>>| {
            json!({
                "name": name,
                "status": status,
                "started_at": started.map_or_else(|| ZERO_TIME.to_string(), timestamp),
                "ended_at": ended.map_or_else(|| ZERO_TIME.to_string(), timestamp),
            })
        };
        let build_started = Some(self.created_at);
        let (build_status, deploy_status) = match self.phase {
            "ACTIVE" | "SUPERSEDED" => ("SUCCESS", "SUCCESS"),
            "ERROR" | "CANCELED" => ("ERROR", "PENDING"),
            _ => ("RUNNING", "PENDING"),
        };
        let deploy_started = self.deployed_at.and(self.built_at);
        let steps = [
            step("build", build_status, build_started, self.built_at),
            step("deploy", deploy_status, deploy_started, self.deployed_at),
        ];
        let count = |status: &str| {
            [build_status, deploy_status]
                .iter()
                .filter(|s| **s == status)
                .count()
        };
        let mut body = json!({
            "id": self.id,
            "spec": {
                "name": app.name,
                "services": [{
                    "name": COMPONENT,
                    "github": {"repo": app.repo(), "branch": self.branch, "deploy_on_push": true},
                    "instance_size_slug": "apps-s-1vcpu-0.5gb",
                    "instance_count": 1,
                    "http_port": 8080,
                    "routes": [{"path": "/"}],
                }],
                "region": "ams",
            },
            "services": [{"name": COMPONENT, "source_commit_hash": self.commit_sha}],
            "phase_last_updated_at": timestamp(self.phase_last_updated_at),
            "created_at": timestamp(self.created_at),
            "updated_at": timestamp(self.phase_last_updated_at),
            "cause": self.cause,
            "progress": {
                "pending_steps": count("PENDING"),
                "running_steps": count("RUNNING"),
                "success_steps": count("SUCCESS"),
                "error_steps": count("ERROR"),
                "total_steps": 2,
                "steps": steps,
            },
            "phase": self.phase,
            "tier_slug": "basic",
        });
        if let Some(cloned_from) = &self.cloned_from {
            body["cloned_from"] = json!(cloned_from);
        }
        body
    }
}

/// DigitalOcean's two windows: the hourly budget the `ratelimit-*` headers describe, and the
/// per-minute burst limit whose 429 carries `retry-after`.
#[derive(Debug)]
struct RateBudget {
    per_hour: u64,
    per_minute: u64,
    /// When each request of the last hour was made, oldest first.
    recent: VecDeque<DateTime<Utc>>,
}

/// The rate-limit headers of one answer.
#[derive(Clone, Copy, Debug)]
struct RateLimitHeaders {
    limit: u64,
    remaining: u64,
    /// Unix time at which the oldest counted request expires.
    reset_epoch: i64,
    /// Set on a burst-limit 429.
    retry_after_secs: Option<u64>,
    /// Over a budget: the answer is a 429.
    throttled: bool,
}

impl RateLimitHeaders {
    fn apply(self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        headers.insert("ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(self.reset_epoch));
        if let Some(retry_after) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

/// Why a request could not be answered with data.
#[derive(Debug, PartialEq)]
enum SimError {
    NotFound,
    BadRequest(String),
    /// 409 `conflict`.
    Conflict(String),
}

impl DigitalOceanSimulator {
    /// A simulator that accepts `token` as its personal access token.
    pub fn new(token: &str) -> Self {
        Self {
            token: token.to_string(),
            scenario: Mutex::new(Scenario::default()),
            budget: Mutex::new(RateBudget {
                per_hour: DEFAULT_REQUESTS_PER_HOUR,
                per_minute: DEFAULT_REQUESTS_PER_MINUTE,
                recent: VecDeque::new(),
            }),
            faults: FaultInjector::default(),
            requests: RequestCounter::default(),
            rollbacks: SimRollbacks::default(),
        }
    }

    /// Adds an app (its UUID and name) with no deployments; an existing one keeps them.
    pub fn add_app(&self, app_id: &str, name: &str) {
        lock(&self.scenario)
            .apps
            .entry(app_id.to_string())
            .and_modify(|app| app.name = name.to_string())
            .or_insert_with(|| SimApp::new(name));
    }

    /// Sets what `/health` reports for one component of an app (added if new).
    pub fn set_component_health(&self, app_id: &str, component: &str, state: SimComponentState) {
        let mut scenario = lock(&self.scenario);
        let app = scenario
            .apps
            .entry(app_id.to_string())
            .or_insert_with(|| SimApp::new(app_id));
        app.health.insert(component.to_string(), state);
    }

    /// The budgets before the simulator answers 429 (defaults 5,000/hour, 250/minute).
    pub fn set_rate_limits(&self, per_hour: u64, per_minute: u64) {
        let mut budget = lock(&self.budget);
        budget.per_hour = per_hour;
        budget.per_minute = per_minute;
    }

    /// Adds a deployment caused by a push to GitHub and returns its id (a UUID). `Ready` goes
    /// `ACTIVE` and the previously active one `SUPERSEDED`; `Failed` is `ERROR`, `Building`
    /// is `BUILDING`, `Canceled` is `CANCELED`. An app never added is created with its id as
    /// its name. App Platform deployments carry no commit message, author or PR number, so
    /// those fields of `spec` are dropped; the short sha lands in `cause`.
    pub fn push_deployment(&self, app_id: &str, spec: &SimDeploymentSpec) -> String {
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        scenario.last_seed += 1;
        let seed = scenario.last_seed;
        let id = format!("{seed:08x}-5e1d-4d0c-8a11-{:012x}", seed);
        let app = scenario
            .apps
            .entry(app_id.to_string())
            .or_insert_with(|| SimApp::new(app_id));
        if app.pin.is_some() {
            // "Any new deployments including Auto Deploy on Push hooks will be disabled until
            // the rollback is either manually committed or reverted": the push deploys nothing.
            return String::new();
        }
        let at = |secs: i64| {
            spec.created_at
                .checked_add_signed(ChronoDuration::seconds(secs))
                .unwrap_or(spec.created_at)
        };
        let (phase, built_at, deployed_at) = match spec.outcome {
            SimOutcome::Ready => (
                "ACTIVE",
                Some(at(BUILD_SECS)),
                Some(at(BUILD_SECS + DEPLOY_SECS)),
            ),
            SimOutcome::Failed => ("ERROR", Some(at(BUILD_SECS + DEPLOY_SECS)), None),
            SimOutcome::Canceled => ("CANCELED", Some(at(BUILD_SECS + DEPLOY_SECS)), None),
            SimOutcome::Building => ("BUILDING", None, None),
        };
        let phase_last_updated_at = deployed_at.or(built_at).unwrap_or(spec.created_at);
        if spec.outcome == SimOutcome::Ready {
            for previous in app.deployments.iter_mut().filter(|d| d.phase == "ACTIVE") {
                previous.phase = "SUPERSEDED";
                previous.phase_last_updated_at = phase_last_updated_at;
            }
        }
        let short_sha: String = spec.commit_sha.chars().take(7).collect();
        let cause = format!("commit {short_sha} pushed to github/{}", app.repo());
        app.deployments.push(SimDeployment {
            seed,
            id: id.clone(),
            commit_sha: spec.commit_sha.clone(),
            branch: spec.branch.clone(),
            cause,
            phase,
            created_at: spec.created_at,
            built_at,
            deployed_at,
            phase_last_updated_at,
            cloned_from: None,
            settles: None,
        });
        id
    }

    /// The deployment an app is pinned to by a rollback, if it is pinned.
    pub fn pinned_deployment(&self, app_id: &str) -> Option<String> {
        lock(&self.scenario)
            .apps
            .get(app_id)
            .and_then(|app| app.pin.as_ref())
            .map(|pin| pin.rollback_id.clone())
    }

    /// The tier's history limit: how many successful deployments back a rollback may reach
    /// (`None`, the default: no limit; the starter tier's is 0).
    pub fn set_revision_limit(&self, app_id: &str, limit: Option<usize>) {
        if let Some(app) = lock(&self.scenario).apps.get_mut(app_id) {
            app.revision_limit = limit;
        }
    }

    /// A warning every rollback validation of the app reports (e.g.
    /// `image_source_missing_digest`).
    pub fn add_rollback_warning(&self, app_id: &str, code: &str, message: &str) {
        if let Some(app) = lock(&self.scenario).apps.get_mut(app_id) {
            app.rollback_warnings
                .push((code.to_string(), message.to_string()));
        }
    }

    /// `POST /v2/apps/{id}/rollback/validate`.
    fn validate_rollback(&self, app_id: &str, target_id: &str) -> Result<Value, SimError> {
        let mut scenario = lock(&self.scenario);
        let app = scenario.apps.get_mut(app_id).ok_or(SimError::NotFound)?;
        app.advance(Instant::now(), Utc::now());
        let mut body = match app.rollback_error(target_id)? {
            Some((code, message)) => json!({
                "valid": false,
                "error": {"code": code, "message": message},
            }),
            None => json!({ "valid": true }),
        };
        if !app.rollback_warnings.is_empty() {
            body["warnings"] = app
                .rollback_warnings
                .iter()
                .map(|(code, message)| {
                    json!({"code": code, "message": message, "components": [COMPONENT]})
                })
                .collect();
        }
        Ok(body)
    }

    /// `POST /v2/apps/{id}/rollback`: a new deployment of the target's commit, pinned unless
    /// `skip_pin`. An invalid rollback is refused with the validation's message (UNCONFIRMED:
    /// the contract documents the validation answer, not the rollback endpoint's error, so
    /// the simulator answers 400 `bad_request`, and 409 `conflict` for a pinned app and for
    /// [`SimRollbackOutcome::Refused`]).
    fn roll_back(&self, app_id: &str, target_id: &str, skip_pin: bool) -> Result<Value, SimError> {
        let (outcome, settles_at) = self.rollbacks.next();
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        let app = scenario.apps.get_mut(app_id).ok_or(SimError::NotFound)?;
        app.advance(Instant::now(), Utc::now());
        match app.rollback_error(target_id)? {
            Some(("app_pinned", message)) => return Err(SimError::Conflict(message)),
            Some((_, message)) => return Err(SimError::BadRequest(message)),
            None => {}
        }
        if outcome == SimRollbackOutcome::Refused {
            return Err(SimError::Conflict(
                "the app has another deployment in progress".into(),
            ));
        }
        let target = app
            .deployments
            .iter()
            .find(|d| d.id == target_id)
            .cloned()
            .ok_or(SimError::NotFound)?;
        scenario.last_seed += 1;
        let seed = scenario.last_seed;
        let final_phase = match outcome {
            SimRollbackOutcome::Fails => Some("ERROR"),
            SimRollbackOutcome::NeverLive => None,
            SimRollbackOutcome::GoesLive | SimRollbackOutcome::Refused => Some("ACTIVE"),
        };
        let now = Utc::now();
        let short_target: String = target.id.chars().take(8).collect();
        let deployment = SimDeployment {
            seed,
            id: format!("{seed:08x}-5e1d-4d0c-8a11-{:012x}", seed),
            commit_sha: target.commit_sha.clone(),
            branch: target.branch.clone(),
            // UNCONFIRMED wording of a rollback's `cause`.
            cause: format!("manual rollback to deployment {short_target}"),
            // The rollback endpoint's example answers `PENDING_BUILD`.
            phase: "PENDING_BUILD",
            created_at: now,
            built_at: None,
            deployed_at: None,
            phase_last_updated_at: now,
            cloned_from: Some(target.id.clone()),
            settles: None,
        };
        let answer = json!({ "deployment": deployment.to_json(app) });
        let before_id = app
            .deployments
            .iter()
            .find(|d| d.phase == "ACTIVE")
            .map(|d| d.id.clone());
        let mut in_progress = deployment;
        in_progress.phase = "DEPLOYING";
        // A rollback that never goes live stays deploying (an instant never reached).
        in_progress.settles = Some(match final_phase {
            Some(phase) => (settles_at, phase),
            None => (
                Instant::now() + std::time::Duration::from_secs(365 * 24 * 3600),
                "ACTIVE",
            ),
        });
        if !skip_pin {
            app.pin = Some(SimPin {
                rollback_id: in_progress.id.clone(),
                before_id,
            });
        }
        app.deployments.push(in_progress);
        Ok(answer)
    }

    /// `POST /v2/apps/{id}/rollback/commit`: keeps the rollback and unpins; 200, empty body.
    fn commit_rollback(&self, app_id: &str) -> Result<(), SimError> {
        let mut scenario = lock(&self.scenario);
        let app = scenario.apps.get_mut(app_id).ok_or(SimError::NotFound)?;
        app.advance(Instant::now(), Utc::now());
        // UNCONFIRMED: the answer for an app with nothing to commit is not documented.
        app.pin
            .take()
            .map(|_| ())
            .ok_or_else(|| SimError::Conflict("the app is not pinned to a rollback".into()))
    }

    /// `POST /v2/apps/{id}/rollback/revert`: a new deployment of what was active before the
    /// rollback, and unpins. An unfinished rollback deployment is canceled. The revert's
    /// deployment goes `ACTIVE` at once (the simulator does not stage reverts).
    fn revert_rollback(&self, app_id: &str) -> Result<Value, SimError> {
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        let app = scenario.apps.get_mut(app_id).ok_or(SimError::NotFound)?;
        let now = Utc::now();
        app.advance(Instant::now(), now);
        let pin = app
            .pin
            .take()
            .ok_or_else(|| SimError::Conflict("the app is not pinned to a rollback".into()))?;
        if let Some(index) = app
            .deployments
            .iter()
            .position(|d| d.id == pin.rollback_id && d.settles.is_some())
        {
            app.finish(index, "CANCELED", now);
        }
        let before = pin
            .before_id
            .and_then(|id| app.deployments.iter().find(|d| d.id == id).cloned())
            .ok_or_else(|| SimError::BadRequest("nothing was active before the rollback".into()))?;
        scenario.last_seed += 1;
        let seed = scenario.last_seed;
        app.deployments.push(SimDeployment {
            seed,
            id: format!("{seed:08x}-5e1d-4d0c-8a11-{:012x}", seed),
            commit_sha: before.commit_sha.clone(),
            branch: before.branch.clone(),
            cause: "rollback reverted".into(),
            phase: "DEPLOYING",
            created_at: now,
            built_at: None,
            deployed_at: None,
            phase_last_updated_at: now,
            cloned_from: Some(before.id.clone()),
            settles: None,
        });
        let index = app.deployments.len() - 1;
        app.finish(index, "ACTIVE", now);
        Ok(json!({ "deployment": app.deployments[index].to_json(app) }))
    }

    /// The DigitalOcean API routes, relative to the API base (`https://api.digitalocean.com`).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/v2/apps/{app_id}", get(get_app))
            .route("/v2/apps/{app_id}/deployments", get(list_deployments))
            .route(
                "/v2/apps/{app_id}/deployments/{deployment_id}",
                get(get_deployment),
            )
            .route("/v2/apps/{app_id}/health", get(get_health))
            .route(
                "/v2/apps/{app_id}/rollback/validate",
                post(validate_rollback),
            )
            .route("/v2/apps/{app_id}/rollback", post(create_rollback))
            .route("/v2/apps/{app_id}/rollback/commit", post(commit_rollback))
            .route("/v2/apps/{app_id}/rollback/revert", post(revert_rollback))
            .fallback(unknown_route)
            .with_state(self)
    }

    /// What every API request goes through: counting, injected faults, the rate budget and
    /// the token. `Ok` carries the rate-limit headers for the normal answer.
    async fn admit(&self, headers: &HeaderMap) -> Result<RateLimitHeaders, Response> {
        self.requests.record();
        let fault = apply_delay(self.faults.next()).await;
        let rate = self.spend_budget(Utc::now());
        if let Some(fault) = fault {
            return Err(fault_response(&fault, rate));
        }
        if rate.throttled {
            return Err(error_response(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                "API rate limit exceeded.",
                rate,
            ));
        }
        if !bearer_matches(headers, &self.token) {
            return Err(unauthorized(rate));
        }
        Ok(rate)
    }

    /// Counts one request against both windows. Over the hourly budget: 429 with
    /// `ratelimit-remaining: 0` and no `retry-after` (the reset time says when); over the
    /// per-minute burst: 429 with `retry-after`, as DigitalOcean documents.
    fn spend_budget(&self, now: DateTime<Utc>) -> RateLimitHeaders {
        let mut budget = lock(&self.budget);
        let hour_ago = now - ChronoDuration::hours(1);
        while budget.recent.front().is_some_and(|at| *at <= hour_ago) {
            budget.recent.pop_front();
        }
        let minute_ago = now - ChronoDuration::minutes(1);
        let in_minute = budget.recent.iter().filter(|at| **at > minute_ago).count() as u64;
        let in_hour = budget.recent.len() as u64;
        let oldest = budget.recent.front().copied().unwrap_or(now);
        let reset_epoch = (oldest + ChronoDuration::hours(1)).timestamp();
        if in_hour >= budget.per_hour {
            return RateLimitHeaders {
                limit: budget.per_hour,
                remaining: 0,
                reset_epoch,
                // Not a burst: `remaining: 0` with the reset time is the signal.
                retry_after_secs: None,
                throttled: true,
            };
        }
        if in_minute >= budget.per_minute {
            let oldest_in_minute = budget
                .recent
                .iter()
                .find(|at| **at > minute_ago)
                .copied()
                .unwrap_or(now);
            let wait = (oldest_in_minute + ChronoDuration::minutes(1) - now)
                .num_seconds()
                .max(1) as u64;
            return RateLimitHeaders {
                limit: budget.per_hour,
                remaining: budget.per_hour.saturating_sub(in_hour),
                reset_epoch,
                retry_after_secs: Some(wait),
                throttled: true,
            };
        }
        budget.recent.push_back(now);
        RateLimitHeaders {
            limit: budget.per_hour,
            remaining: budget.per_hour.saturating_sub(in_hour + 1),
            reset_epoch,
            retry_after_secs: None,
            throttled: false,
        }
    }

    fn app_json(&self, app_id: &str) -> Result<Value, SimError> {
        let mut scenario = lock(&self.scenario);
        let app = scenario.apps.get_mut(app_id).ok_or(SimError::NotFound)?;
        app.advance(Instant::now(), Utc::now());
        let app = &*app;
        let newest_first = sorted(app);
        let active = newest_first.iter().find(|d| d.phase == "ACTIVE");
        let in_progress = newest_first.iter().find(|d| {
            matches!(
                d.phase,
                "PENDING_BUILD" | "BUILDING" | "PENDING_DEPLOY" | "DEPLOYING"
            )
        });
        let created_at = app
            .deployments
            .iter()
            .map(|d| d.created_at)
            .min()
            .unwrap_or_else(Utc::now);
        let mut body = json!({
            "id": app_id,
            "owner_uuid": "a4e16f25-cdd1-4483-b246-d77f283c9209",
            "spec": {
                "name": app.name,
                "services": [{
                    "name": COMPONENT,
                    "github": {"repo": app.repo(), "branch": "main", "deploy_on_push": true},
                }],
                "region": "ams",
            },
            "default_ingress": app.live_url(),
            "created_at": timestamp(created_at),
            "updated_at": timestamp(newest_first.first().map_or(created_at, |d| d.phase_last_updated_at)),
            "region": {"slug": "ams", "label": "Amsterdam", "data_centers": ["ams3"]},
            "tier_slug": "basic",
        });
        if let Some(newest) = newest_first.first() {
            body["last_deployment_created_at"] = json!(timestamp(newest.created_at));
        }
        if let Some(active) = active {
            body["active_deployment"] = active.to_json(app);
            body["live_url"] = json!(app.live_url());
            body["live_url_base"] = json!(app.live_url());
            body["live_domain"] = json!(app.live_url().trim_start_matches("https://"));
        }
        if let Some(in_progress) = in_progress {
            body["in_progress_deployment"] = in_progress.to_json(app);
        }
        let pinned = app
            .pin
            .as_ref()
            .and_then(|pin| app.deployments.iter().find(|d| d.id == pin.rollback_id));
        if let Some(pinned) = pinned {
            body["pinned_deployment"] = pinned.to_json(app);
        }
        Ok(json!({ "app": body }))
    }

    fn list(&self, app_id: &str, params: &ListParams, link_base: &str) -> Result<Value, SimError> {
        let mut scenario = lock(&self.scenario);
        let app = scenario.apps.get_mut(app_id).ok_or(SimError::NotFound)?;
        app.advance(Instant::now(), Utc::now());
        let app = &*app;
        let all = sorted(app);
        let total = all.len() as u64;
        let per_page = u64::from(params.per_page);
        let start = (u64::from(params.page) - 1).saturating_mul(per_page);
        let deployments: Vec<Value> = all
            .iter()
            .skip(usize::try_from(start).unwrap_or(usize::MAX))
            .take(params.per_page as usize)
            .map(|deployment| deployment.to_json(app))
            .collect();
        let last_page = total.div_ceil(per_page).max(1);
        let link = |page: u64| format!("{link_base}?page={page}&per_page={per_page}");
        let mut pages = serde_json::Map::new();
        let page = u64::from(params.page);
        if page > 1 {
            pages.insert("first".into(), json!(link(1)));
            pages.insert("prev".into(), json!(link((page - 1).min(last_page))));
        }
        if page < last_page {
            pages.insert("next".into(), json!(link(page + 1)));
            pages.insert("last".into(), json!(link(last_page)));
        }
        Ok(json!({
            "deployments": deployments,
            "links": {"pages": pages},
            "meta": {"total": total},
        }))
    }

    fn deployment_json(&self, app_id: &str, deployment_id: &str) -> Result<Value, SimError> {
        let mut scenario = lock(&self.scenario);
        let app = scenario.apps.get_mut(app_id).ok_or(SimError::NotFound)?;
        app.advance(Instant::now(), Utc::now());
        let app = &*app;
        app.deployments
            .iter()
            .find(|d| d.id == deployment_id)
            .map(|d| json!({ "deployment": d.to_json(app) }))
            .ok_or(SimError::NotFound)
    }

    /// The schema's wrapped form, `{app_health: {components}}` (the client also reads the
    /// example's bare `{components}`).
    fn health_json(&self, app_id: &str) -> Result<Value, SimError> {
        let scenario = lock(&self.scenario);
        let app = scenario.apps.get(app_id).ok_or(SimError::NotFound)?;
        let components: Vec<Value> = app
            .health
            .iter()
            .map(|(name, state)| {
                let ready = u64::from(*state == SimComponentState::Healthy);
                json!({
                    "name": name,
                    "cpu_usage_percent": 5.5,
                    "memory_usage_percent": 20.25,
                    "replicas_desired": 1,
                    "replicas_ready": ready,
                    "state": state.wire(),
                })
            })
            .collect();
        Ok(json!({ "app_health": { "components": components } }))
    }
}

/// An app's deployments, newest first.
fn sorted(app: &SimApp) -> Vec<&SimDeployment> {
    let mut deployments: Vec<&SimDeployment> = app.deployments.iter().collect();
    deployments.sort_by(|a, b| SimDeployment::newest_first(a, b));
    deployments
}

/// The query of the list endpoint. `deployment_types` is accepted and ignored: every
/// simulated deployment is a push.
#[derive(Debug, PartialEq)]
struct ListParams {
    page: u32,
    per_page: u32,
}

impl ListParams {
    fn parse(query: Option<&str>) -> Result<Self, SimError> {
        let mut params = ListParams {
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        };
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "page" => {
                    params.page = value
                        .trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|page| *page >= 1)
                        .ok_or_else(|| {
                            SimError::BadRequest("page must be an integer of at least 1".into())
                        })?;
                }
                "per_page" => {
                    params.per_page = value
                        .trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|per_page| (1..=MAX_PER_PAGE).contains(per_page))
                        .ok_or_else(|| {
                            SimError::BadRequest(format!(
                                "per_page must be an integer between 1 and {MAX_PER_PAGE}"
                            ))
                        })?;
                }
                _ => {}
            }
        }
        Ok(params)
    }
}

/// What `links.pages` URLs start with: the URL this request was made to, as the client saw
/// it (scheme and host from the request, the path before any nesting prefix was stripped).
fn link_base(headers: &HeaderMap, uri: &axum::http::Uri) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("api.digitalocean.com");
    format!("http://{host}{}", uri.path())
}

async fn get_app(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    respond(sim.app_json(&app_id), rate)
}

async fn list_deployments(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    let base = link_base(&headers, &uri);
    let result =
        ListParams::parse(query.as_deref()).and_then(|params| sim.list(&app_id, &params, &base));
    respond(result, rate)
}

async fn get_deployment(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path((app_id, deployment_id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    respond(sim.deployment_json(&app_id, &deployment_id), rate)
}

async fn get_health(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    respond(sim.health_json(&app_id), rate)
}

/// `apps_rollback_app_request`: `{deployment_id, skip_pin?}`.
#[derive(Debug, serde::Deserialize)]
struct RollbackBody {
    deployment_id: String,
    #[serde(default)]
    skip_pin: bool,
}

fn missing_deployment_id(rate: RateLimitHeaders) -> Response {
    error_response(
        StatusCode::BAD_REQUEST,
        "bad_request",
        "deployment_id is required",
        rate,
    )
}

async fn validate_rollback(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    body: Option<Json<RollbackBody>>,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    let Some(Json(body)) = body else {
        return missing_deployment_id(rate);
    };
    respond(sim.validate_rollback(&app_id, &body.deployment_id), rate)
}

async fn create_rollback(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
    body: Option<Json<RollbackBody>>,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    let Some(Json(body)) = body else {
        return missing_deployment_id(rate);
    };
    // 200, not 201: `apps_create_rollback.yml` documents 200 `{deployment}`.
    respond(
        sim.roll_back(&app_id, &body.deployment_id, body.skip_pin),
        rate,
    )
}

async fn commit_rollback(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    match sim.commit_rollback(&app_id) {
        // `no_content.yml`: 200 with an empty body.
        Ok(()) => rate.apply(StatusCode::OK.into_response()),
        Err(error) => respond(Err(error), rate),
    }
}

async fn revert_rollback(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    respond(sim.revert_rollback(&app_id), rate)
}

async fn unknown_route() -> Response {
    let body = json!({
        "id": "not_found",
        "message": "The resource you requested could not be found.",
        "request_id": request_id(),
    });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

fn respond(result: Result<Value, SimError>, rate: RateLimitHeaders) -> Response {
    match result {
        Ok(body) => rate.apply(Json(body).into_response()),
        Err(SimError::NotFound) => error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "The resource you requested could not be found.",
            rate,
        ),
        Err(SimError::BadRequest(message)) => {
            error_response(StatusCode::BAD_REQUEST, "bad_request", &message, rate)
        }
        Err(SimError::Conflict(message)) => {
            error_response(StatusCode::CONFLICT, "conflict", &message, rate)
        }
    }
}

/// DigitalOcean's error body `{id, message, request_id}`.
fn error_response(status: StatusCode, id: &str, message: &str, rate: RateLimitHeaders) -> Response {
    let body = json!({ "id": id, "message": message, "request_id": request_id() });
    rate.apply((status, Json(body)).into_response())
}

fn unauthorized(rate: RateLimitHeaders) -> Response {
    error_response(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Unable to authenticate you.",
        rate,
    )
}

fn fault_response(fault: &SimFault, rate: RateLimitHeaders) -> Response {
    let status = fault_status(fault);
    match fault {
        SimFault::RateLimited { retry_after_secs } => {
            let rate = RateLimitHeaders {
                remaining: 0,
                reset_epoch: Utc::now().timestamp() + *retry_after_secs as i64,
                retry_after_secs: Some(*retry_after_secs),
                ..rate
            };
            error_response(
                status,
                "too_many_requests",
                "API rate limit exceeded.",
                rate,
            )
        }
        SimFault::ServerError => error_response(
            status,
            "service_unavailable",
            "The service is temporarily unavailable.",
            rate,
        ),
        SimFault::Unauthorized => unauthorized(rate),
        SimFault::Garbage => rate.apply(
            (
                status,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>502 upstream hiccup</body></html>",
            )
                .into_response(),
        ),
        // `apply_delay` has already served a `Slow` fault; answering normally is its point.
        SimFault::Slow { .. } => error_response(status, "server_error", "unexpected fault", rate),
    }
}

/// A request id in DigitalOcean's UUID form; unique enough for a simulator.
fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{n:08x}-0000-4000-8000-{n:012x}")
}

/// RFC 3339 in UTC with whole seconds, as DigitalOcean's examples (`2021-02-10T17:05:30Z`).
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

    fn phases(sim: &DigitalOceanSimulator, app_id: &str) -> Vec<(String, String)> {
        let params = ListParams::parse(Some("per_page=200")).unwrap();
        let list = sim
            .list(app_id, &params, "http://x/v2/apps/a/deployments")
            .unwrap();
        list["deployments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["id"].as_str().unwrap().to_string(),
                    d["phase"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn a_ready_push_goes_active_and_supersedes_the_previous_one() {
        let sim = DigitalOceanSimulator::new("t");
        sim.add_app("app-1", "api");
        let first = sim.push_deployment("app-1", &spec(1, SimOutcome::Ready));
        let failed = sim.push_deployment("app-1", &spec(2, SimOutcome::Failed));
        let second = sim.push_deployment("app-1", &spec(3, SimOutcome::Ready));
        let building = sim.push_deployment("app-1", &spec(4, SimOutcome::Building));
        let canceled = sim.push_deployment("app-1", &spec(5, SimOutcome::Canceled));
        let as_pairs = |items: &[(&String, &str)]| -> Vec<(String, String)> {
            items
                .iter()
                .map(|(id, phase)| ((*id).clone(), phase.to_string()))
                .collect()
        };
        assert_eq!(
            phases(&sim, "app-1"),
            as_pairs(&[
                (&canceled, "CANCELED"),
                (&building, "BUILDING"),
                (&second, "ACTIVE"),
                (&failed, "ERROR"),
                (&first, "SUPERSEDED"),
            ])
        );
        let app = sim.app_json("app-1").unwrap();
        assert_eq!(app["app"]["active_deployment"]["id"], json!(second));
        assert_eq!(app["app"]["in_progress_deployment"]["id"], json!(building));
        assert_eq!(app["app"]["live_url"], "https://api-sim.ondigitalocean.app");

        let superseded = sim.deployment_json("app-1", &first).unwrap();
        let deployment = &superseded["deployment"];
        assert_eq!(deployment["created_at"], "2026-03-01T12:01:00Z");
        assert_eq!(
            deployment["progress"]["steps"][1]["ended_at"],
            "2026-03-01T12:03:00Z"
        );
        assert_eq!(deployment["phase_last_updated_at"], "2026-03-01T12:05:00Z");
        assert_eq!(
            deployment["services"][0]["source_commit_hash"],
            json!(format!("{:040x}", 1))
        );
        assert_eq!(
            deployment["cause"],
            "commit 0000000 pushed to github/acme/api"
        );
        let in_progress = sim.deployment_json("app-1", &building).unwrap();
        assert_eq!(
            in_progress["deployment"]["progress"]["steps"][0]["ended_at"],
            ZERO_TIME
        );
        assert_eq!(
            sim.deployment_json("app-1", "nope"),
            Err(SimError::NotFound)
        );
    }

    #[test]
    fn an_app_without_an_active_deployment_has_none() {
        let sim = DigitalOceanSimulator::new("t");
        sim.push_deployment("app-2", &spec(1, SimOutcome::Failed));
        let app = sim.app_json("app-2").unwrap();
        assert!(app["app"].get("active_deployment").is_none());
        assert!(app["app"].get("live_url").is_none());
        assert_eq!(sim.app_json("app-3"), Err(SimError::NotFound));
    }

    #[test]
    fn pages_link_to_their_neighbours() {
        let sim = DigitalOceanSimulator::new("t");
        for minute in 0..5 {
            sim.push_deployment("a", &spec(minute, SimOutcome::Ready));
        }
        let base = "http://127.0.0.1:1/do/v2/apps/a/deployments";
        let page = |query: &str| {
            sim.list("a", &ListParams::parse(Some(query)).unwrap(), base)
                .unwrap()
        };
        let first = page("per_page=2");
        assert_eq!(first["meta"]["total"], 5);
        assert_eq!(first["deployments"].as_array().unwrap().len(), 2);
        assert_eq!(
            first["links"]["pages"]["next"],
            json!(format!("{base}?page=2&per_page=2"))
        );
        assert_eq!(
            first["links"]["pages"]["last"],
            json!(format!("{base}?page=3&per_page=2"))
        );
        assert!(first["links"]["pages"].get("prev").is_none());
        let last = page("page=3&per_page=2");
        assert_eq!(last["deployments"].as_array().unwrap().len(), 1);
        assert!(last["links"]["pages"].get("next").is_none());
        assert_eq!(
            last["links"]["pages"]["prev"],
            json!(format!("{base}?page=2&per_page=2"))
        );
        let beyond = page("page=9&per_page=2");
        assert_eq!(beyond["deployments"], json!([]));
        assert!(matches!(
            ListParams::parse(Some("per_page=201")),
            Err(SimError::BadRequest(_))
        ));
        assert!(matches!(
            ListParams::parse(Some("page=0")),
            Err(SimError::BadRequest(_))
        ));
    }

    #[test]
    fn health_reports_each_component() {
        let sim = DigitalOceanSimulator::new("t");
        sim.add_app("a", "api");
        sim.set_component_health("a", "worker", SimComponentState::Unhealthy);
        let health = sim.health_json("a").unwrap();
        let components = health["app_health"]["components"].as_array().unwrap();
        assert_eq!(components.len(), 2);
        assert_eq!(components[0]["name"], "web");
        assert_eq!(components[0]["state"], "HEALTHY");
        assert_eq!(components[1]["state"], "UNHEALTHY");
        assert_eq!(components[1]["replicas_ready"], 0);
    }

    #[test]
    fn the_budgets_run_out_by_the_minute_and_by_the_hour() {
        let sim = DigitalOceanSimulator::new("t");
        sim.set_rate_limits(100, 2);
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let first = sim.spend_budget(now);
        assert_eq!(
            (first.limit, first.remaining, first.retry_after_secs),
            (100, 99, None)
        );
        assert_eq!(first.reset_epoch, now.timestamp() + 3600);
        sim.spend_budget(now + ChronoDuration::seconds(10));
        let burst = sim.spend_budget(now + ChronoDuration::seconds(20));
        assert!(burst.throttled);
        assert_eq!(burst.remaining, 98, "the hourly budget is not used up");
        assert_eq!(
            burst.retry_after_secs,
            Some(40),
            "until the first request leaves the minute"
        );
        let later = sim.spend_budget(now + ChronoDuration::seconds(61));
        assert!(!later.throttled);
        assert_eq!(later.remaining, 97);

        sim.set_rate_limits(3, 100);
        let hourly = sim.spend_budget(now + ChronoDuration::seconds(62));
        assert!(hourly.throttled);
        assert_eq!(hourly.remaining, 0);
        assert_eq!(
            hourly.retry_after_secs, None,
            "over the hour: no retry-after header"
        );
        assert_eq!(hourly.reset_epoch, now.timestamp() + 3600);
    }
}
