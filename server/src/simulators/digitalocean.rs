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

// `timestamp`: RFC 3339 in UTC with whole seconds, as DigitalOcean's examples (`2021-02-10T17:05:30Z`).
use super::skeleton::{html_page, timestamp_secs as timestamp, Admitted, SimApi, Simulated};
use super::{
    bearer_matches, fault_status, lock, SimDeploymentSpec, SimFault, SimOutcome, SimRollbackOutcome,
};
use axum::extract::{OriginalUri, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

mod api;
use api::*;

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
pub type DigitalOceanSimulator = Simulated<Scenario, Mutex<SlidingBudget>>;

#[derive(Debug, Default)]
pub struct Scenario {
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
pub struct SlidingBudget {
    per_hour: u64,
    per_minute: u64,
    /// When each request of the last hour was made, oldest first.
    recent: VecDeque<DateTime<Utc>>,
}

/// The rate-limit headers of one answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateLimitHeaders {
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
        Self::assemble(
            token,
            Scenario::default(),
            Mutex::new(SlidingBudget {
                per_hour: DEFAULT_REQUESTS_PER_HOUR,
                per_minute: DEFAULT_REQUESTS_PER_MINUTE,
                recent: VecDeque::new(),
            }),
        )
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

#[cfg(test)]
mod tests;
