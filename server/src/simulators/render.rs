//! Render API simulator: `GET /services/{serviceId}/deploys` (cursor paging, `limit`,
//! `status` filter) and `GET /services/{serviceId}/deploys/{deployId}`, with Render's payload
//! shapes, status enum, Bearer auth, `{id, message}` error bodies and `RateLimit-*` headers.
//!
//! The scenario is a set of services, each with its deploys; pushing a deploy that goes live
//! deactivates the one that was live, the way Render keeps one `live` deploy per service.

use super::skeleton::{
    html_page, timestamp_secs as timestamp, Admitted, RateBudget, RateLimitHeaders, SimApi,
    Simulated,
};
use super::{
    bearer_matches, fault_status, lock, sim_id, SimDeploymentSpec, SimFault, SimOutcome,
    SimRollbackOutcome,
};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;
/// Render's GET budget is documented as both 100/min and 400/min (UNCONFIRMED which); the
/// simulator allows the larger one unless a scenario sets another.
const DEFAULT_REQUESTS_PER_MINUTE: u64 = 400;
const RATE_WINDOW: Duration = Duration::from_secs(60);
/// How long a simulated build-and-deploy takes.
const DEPLOY_MINUTES: i64 = 2;
/// How long before the deploy its commit was made.
const COMMIT_LEAD_MINUTES: i64 = 5;
/// How many of the newest deploys keep their build artifact (Render's Hobby plan: 5).
pub const ARTIFACT_RETENTION: usize = 5;
/// Render's `DeployStatus` enum; a `status` filter outside it is a 400.
const DEPLOY_STATUSES: [&str; 11] = [
    "created",
    "queued",
    "build_in_progress",
    "update_in_progress",
    "live",
    "deactivated",
    "build_failed",
    "update_failed",
    "canceled",
    "pre_deploy_in_progress",
    "pre_deploy_failed",
];

/// A simulated Render account: services and their deploys.
pub type RenderSimulator = Simulated<Scenario, RateBudget>;

#[derive(Debug, Default)]
pub struct Scenario {
    services: HashMap<String, SimService>,
    /// Seeds deploy ids; also orders deploys created at the same instant.
    last_seed: u64,
}

#[derive(Debug)]
struct SimService {
    name: String,
    /// `autoDeploy`: `yes` or `no`.
    auto_deploy: &'static str,
    deploys: Vec<SimDeploy>,
}

impl Scenario {
    /// The service, after its rollbacks caught up with the clock.
    fn advanced_service(&mut self, service_id: &str) -> Result<&mut SimService, SimError> {
        let service = self
            .services
            .get_mut(service_id)
            .ok_or(SimError::ServiceNotFound)?;
        service.advance(Instant::now(), Utc::now());
        Ok(service)
    }
}

impl SimService {
    fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            auto_deploy: "yes",
            deploys: Vec::new(),
        }
    }

    /// Moves rollback deploys whose time has come to their final status; one that goes live
    /// deactivates the deploy that was live.
    fn advance(&mut self, now: Instant, at: DateTime<Utc>) {
        let settled: Vec<(usize, &'static str)> = self
            .deploys
            .iter()
            .enumerate()
            .filter_map(|(index, deploy)| {
                deploy
                    .settles
                    .filter(|(when, _)| *when <= now)
                    .map(|(_, status)| (index, status))
            })
            .collect();
        for (index, status) in settled {
            if status == "live" {
                for previous in self.deploys.iter_mut().filter(|d| d.status == "live") {
                    previous.status = "deactivated";
                    previous.updated_at = at;
                }
            }
            if let Some(deploy) = self.deploys.get_mut(index) {
                deploy.status = status;
                deploy.settles = None;
                deploy.finished_at = Some(at);
                deploy.updated_at = at;
            }
        }
    }
}

#[derive(Clone, Debug)]
struct SimDeploy {
    seed: u64,
    id: String,
    commit_sha: String,
    commit_message: String,
    commit_created_at: DateTime<Utc>,
    status: &'static str,
    trigger: &'static str,
    created_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    /// A rollback deploy in progress: when it settles, and on which status.
    settles: Option<(Instant, &'static str)>,
}

impl SimDeploy {
    /// Newest first: by creation time, then by the order they were pushed.
    fn newest_first(a: &SimDeploy, b: &SimDeploy) -> Ordering {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.seed.cmp(&a.seed))
    }

    fn to_json(&self) -> DeployJson {
        DeployJson {
            id: self.id.clone(),
            commit: CommitJson {
                id: self.commit_sha.clone(),
                message: self.commit_message.clone(),
                created_at: timestamp(self.commit_created_at),
            },
            status: self.status,
            trigger: self.trigger,
            started_at: timestamp(self.created_at),
            finished_at: self.finished_at.map(timestamp),
            created_at: timestamp(self.created_at),
            updated_at: timestamp(self.updated_at),
        }
    }
}

/// Render's `Deploy` as it goes on the wire.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct DeployJson {
    id: String,
    commit: CommitJson,
    status: &'static str,
    trigger: &'static str,
    started_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    finished_at: Option<String>,
    created_at: String,
    updated_at: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CommitJson {
    id: String,
    message: String,
    created_at: String,
}

/// One item of the list answer: `{cursor, deploy}`.
#[derive(Debug, Serialize)]
struct DeployWithCursorJson {
    cursor: String,
    deploy: DeployJson,
}

/// Render's `Error` schema.
#[derive(Debug, Serialize)]
struct ErrorJson<'a> {
    id: &'a str,
    message: &'a str,
}

/// Render's spelling of the rate-limit values: `RateLimit-*` (the reset in seconds from now, as
/// Render's example value `45` reads) and `Retry-After`.
trait RenderRateHeaders {
    fn apply(self, response: Response) -> Response;
}

impl RenderRateHeaders for RateLimitHeaders {
    fn apply(self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        headers.insert("ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(self.reset_secs));
        if let Some(retry_after) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

/// Why a request could not be answered with data.
#[derive(Debug)]
enum SimError {
    ServiceNotFound,
    DeployNotFound,
    BadRequest(String),
    Conflict(String),
}

impl RenderSimulator {
    /// A simulator that accepts `token` as its API key.
    pub fn new(token: &str) -> Self {
        Self::assemble(
            token,
            Scenario::default(),
            RateBudget::new(DEFAULT_REQUESTS_PER_MINUTE, RATE_WINDOW),
        )
    }

    /// Adds a service (`srv-…`) with no deploys yet; an existing one keeps its deploys.
    pub fn add_service(&self, service_id: &str, name: &str) {
        lock(&self.scenario)
            .services
            .entry(service_id.to_string())
            .and_modify(|service| service.name = name.to_string())
            .or_insert_with(|| SimService::new(name));
    }

    /// The name a service was added with.
    pub fn service_name(&self, service_id: &str) -> Option<String> {
        lock(&self.scenario)
            .services
            .get(service_id)
            .map(|service| service.name.clone())
    }

    /// How many requests per minute pass before the simulator answers 429 (default 400).
    pub fn set_requests_per_minute(&self, per_minute: u64) {
        self.budget.set_limit(per_minute);
    }

    /// Adds a deploy (`dep-…`) triggered by a new commit and returns its id. `Ready` goes
    /// `live` and the previously live deploy becomes `deactivated`; `Failed` is
    /// `build_failed`, `Building` is `build_in_progress`, `Canceled` is `canceled`. A service
    /// that was never added is created with its id as its name. Render deploys have no author,
    /// branch or PR number, so those fields of `spec` are dropped.
    pub fn push_deployment(&self, service_id: &str, spec: &SimDeploymentSpec) -> String {
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        scenario.last_seed += 1;
        let seed = scenario.last_seed;
        let id = sim_id("dep-", seed, 20);
        let finished_at = match spec.outcome {
            SimOutcome::Building => None,
            SimOutcome::Ready | SimOutcome::Failed | SimOutcome::Canceled => Some(
                spec.created_at
                    .checked_add_signed(chrono::Duration::minutes(DEPLOY_MINUTES))
                    .unwrap_or(spec.created_at),
            ),
        };
        let status = match spec.outcome {
            SimOutcome::Ready => "live",
            SimOutcome::Failed => "build_failed",
            SimOutcome::Building => "build_in_progress",
            SimOutcome::Canceled => "canceled",
        };
        let service = scenario
            .services
            .entry(service_id.to_string())
            .or_insert_with(|| SimService::new(service_id));
        let updated_at = finished_at.unwrap_or(spec.created_at);
        if spec.outcome == SimOutcome::Ready {
            for previous in service.deploys.iter_mut().filter(|d| d.status == "live") {
                previous.status = "deactivated";
                previous.updated_at = updated_at;
            }
        }
        service.deploys.push(SimDeploy {
            seed,
            id: id.clone(),
            commit_sha: spec.commit_sha.clone(),
            commit_message: spec.commit_message.clone(),
            commit_created_at: spec
                .created_at
                .checked_sub_signed(chrono::Duration::minutes(COMMIT_LEAD_MINUTES))
                .unwrap_or(spec.created_at),
            status,
            trigger: "new_commit",
            created_at: spec.created_at,
            finished_at,
            updated_at,
            settles: None,
        });
        id
    }

    /// The id and commit of the service's live deploy.
    pub fn live_deployment(&self, service_id: &str) -> Option<(String, String)> {
        let mut scenario = lock(&self.scenario);
        let service = scenario.services.get_mut(service_id)?;
        service.advance(Instant::now(), Utc::now());
        service
            .deploys
            .iter()
            .find(|deploy| deploy.status == "live")
            .map(|deploy| (deploy.id.clone(), deploy.commit_sha.clone()))
    }

    /// The service's `autoDeploy` value (`yes` / `no`).
    pub fn auto_deploy(&self, service_id: &str) -> Option<&'static str> {
        lock(&self.scenario)
            .services
            .get(service_id)
            .map(|service| service.auto_deploy)
    }

    /// `POST /services/{id}/rollback`: a new deploy (`trigger: rollback`) from the target's
    /// artifact. Only a deploy that was live once (`live` or `deactivated`) among the newest
    /// [`ARTIFACT_RETENTION`] can be a target, as Render's retention allows.
    fn roll_back(&self, service_id: &str, target_id: &str) -> Result<DeployJson, SimError> {
        let (outcome, settles_at) = self.rollbacks.next();
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        let now = Utc::now();
        let service = scenario
            .services
            .get_mut(service_id)
            .ok_or(SimError::ServiceNotFound)?;
        service.advance(Instant::now(), now);
        let mut order: Vec<&SimDeploy> = service.deploys.iter().collect();
        order.sort_by(|a, b| SimDeploy::newest_first(a, b));
        let position = order
            .iter()
            .position(|deploy| deploy.id == target_id)
            .ok_or(SimError::DeployNotFound)?;
        let target = order[position].clone();
        if !matches!(target.status, "live" | "deactivated") {
            return Err(SimError::BadRequest(format!(
                "deploy {target_id} never went live and cannot be rolled back to"
            )));
        }
        if position >= ARTIFACT_RETENTION {
            return Err(SimError::BadRequest(format!(
                "the build artifact of deploy {target_id} is no longer retained"
            )));
        }
        if outcome == SimRollbackOutcome::Refused {
            return Err(SimError::Conflict(
                "another deploy is in progress for this service".into(),
            ));
        }
        scenario.last_seed += 1;
        let seed = scenario.last_seed;
        let final_status = match outcome {
            SimRollbackOutcome::Fails => Some("update_failed"),
            SimRollbackOutcome::NeverLive => None,
            SimRollbackOutcome::GoesLive | SimRollbackOutcome::Refused => Some("live"),
        };
        let deploy = SimDeploy {
            seed,
            id: sim_id("dep-", seed, 20),
            commit_sha: target.commit_sha.clone(),
            commit_message: target.commit_message.clone(),
            commit_created_at: target.commit_created_at,
            // UNCONFIRMED first status; the simulator answers `created` like the fixture and
            // then reports `update_in_progress` until it settles.
            status: "created",
            trigger: "rollback",
            created_at: now,
            finished_at: None,
            updated_at: now,
            settles: final_status.map(|status| (settles_at, status)),
        };
        let answer = deploy.to_json();
        let mut in_progress = deploy;
        in_progress.status = "update_in_progress";
        service.deploys.push(in_progress);
        Ok(answer)
    }

    /// `PATCH /services/{id}` with `autoDeploy`.
    fn update_service(&self, service_id: &str, auto_deploy: &str) -> Result<(), SimError> {
        let mut scenario = lock(&self.scenario);
        let service = scenario
            .services
            .get_mut(service_id)
            .ok_or(SimError::ServiceNotFound)?;
        service.auto_deploy = match auto_deploy {
            "yes" => "yes",
            "no" => "no",
            other => {
                return Err(SimError::BadRequest(format!(
                    "autoDeploy must be \"yes\" or \"no\", not {other:?}"
                )))
            }
        };
        Ok(())
    }

    /// The Render API routes, relative to the API base (`…/v1`).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/services/{service_id}/deploys", get(list_deploys))
            .route(
                "/services/{service_id}/deploys/{deploy_id}",
                get(get_deploy),
            )
            .route("/services/{service_id}/rollback", post(rollback_deploy))
            .route(
                "/services/{service_id}",
                axum::routing::patch(update_service),
            )
            .fallback(unknown_route)
            .with_state(self)
    }

    /// Counts one request against the current window.
    fn spend_budget(&self) -> RateLimitHeaders {
        RateLimitHeaders::from(self.budget.spend())
    }

    fn list(
        &self,
        service_id: &str,
        params: &ListParams,
    ) -> Result<Vec<DeployWithCursorJson>, SimError> {
        let mut scenario = lock(&self.scenario);
        let service = scenario.advanced_service(service_id)?;
        let mut deploys: Vec<&SimDeploy> = service.deploys.iter().collect();
        deploys.sort_by(|a, b| SimDeploy::newest_first(a, b));
        let start = match &params.cursor {
            None => 0,
            Some(cursor) => {
                let invalid = || SimError::BadRequest("invalid cursor".into());
                let after_id = decode_cursor(cursor).ok_or_else(invalid)?;
                deploys
                    .iter()
                    .position(|deploy| deploy.id == after_id)
                    .ok_or_else(invalid)?
                    + 1
            }
        };
        Ok(deploys[start..]
            .iter()
            .filter(|deploy| {
                params.statuses.is_empty() || params.statuses.iter().any(|s| s == deploy.status)
            })
            .take(params.limit as usize)
            .map(|deploy| DeployWithCursorJson {
                cursor: encode_cursor(&deploy.id),
                deploy: deploy.to_json(),
            })
            .collect())
    }

    fn get(&self, service_id: &str, deploy_id: &str) -> Result<DeployJson, SimError> {
        let mut scenario = lock(&self.scenario);
        let service = scenario.advanced_service(service_id)?;
        service
            .deploys
            .iter()
            .find(|deploy| deploy.id == deploy_id)
            .map(SimDeploy::to_json)
            .ok_or(SimError::DeployNotFound)
    }
}

/// The query of the list endpoint. Render's time filters (`createdBefore`, …) are accepted
/// and ignored.
#[derive(Debug, PartialEq)]
struct ListParams {
    limit: u32,
    cursor: Option<String>,
    /// `status` may repeat and each value may be a comma list.
    statuses: Vec<String>,
}

impl ListParams {
    fn parse(query: Option<&str>) -> Result<Self, SimError> {
        let mut params = ListParams {
            limit: DEFAULT_LIMIT,
            cursor: None,
            statuses: Vec::new(),
        };
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "limit" => {
                    params.limit = value
                        .trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
                        .ok_or_else(|| {
                            SimError::BadRequest(format!(
                                "limit must be an integer between 1 and {MAX_LIMIT}"
                            ))
                        })?;
                }
                "cursor" => params.cursor = Some(value.into_owned()),
                "status" => {
                    for status in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                        if !DEPLOY_STATUSES.contains(&status) {
                            return Err(SimError::BadRequest(format!(
                                "invalid status filter: {status}"
                            )));
                        }
                        params.statuses.push(status.to_string());
                    }
                }
                _ => {}
            }
        }
        Ok(params)
    }
}

impl SimApi for RenderSimulator {
    type Admission = RateLimitHeaders;

    /// What every API request goes through: counting, injected faults, the rate budget and
    /// the token. `Ok` carries the rate-limit headers for the normal answer.
    async fn admit(&self, headers: &HeaderMap) -> Result<RateLimitHeaders, Response> {
        let fault = self.take_fault().await;
        let rate = self.spend_budget();
        if let Some(fault) = fault {
            return Err(fault_response(&fault, rate));
        }
        if let Some(retry_after) = rate.retry_after_secs {
            return Err(error_response(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                &format!("rate limit exceeded, retry in {retry_after} seconds"),
                rate,
            ));
        }
        if !bearer_matches(headers, &self.token) {
            return Err(unauthorized(rate));
        }
        Ok(rate)
    }
}

async fn list_deploys(
    State(sim): State<Arc<RenderSimulator>>,
    Path(service_id): Path<String>,
    RawQuery(query): RawQuery,
    Admitted(rate): Admitted<RateLimitHeaders>,
) -> Response {
    let result =
        ListParams::parse(query.as_deref()).and_then(|params| sim.list(&service_id, &params));
    match result {
        Ok(items) => rate.apply(Json(items).into_response()),
        Err(error) => sim_error_response(error, rate),
    }
}

async fn get_deploy(
    State(sim): State<Arc<RenderSimulator>>,
    Path((service_id, deploy_id)): Path<(String, String)>,
    Admitted(rate): Admitted<RateLimitHeaders>,
) -> Response {
    match sim.get(&service_id, &deploy_id) {
        Ok(deploy) => rate.apply(Json(deploy).into_response()),
        Err(error) => sim_error_response(error, rate),
    }
}

/// `RollbackDeployJSONBody`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RollbackBody {
    deploy_id: String,
}

async fn rollback_deploy(
    State(sim): State<Arc<RenderSimulator>>,
    Path(service_id): Path<String>,
    Admitted(rate): Admitted<RateLimitHeaders>,
    body: Option<Json<RollbackBody>>,
) -> Response {
    let Some(Json(body)) = body else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "body must be {\"deployId\": \"dep-…\"}",
            rate,
        );
    };
    match sim.roll_back(&service_id, &body.deploy_id) {
        Ok(deploy) => rate.apply((StatusCode::CREATED, Json(deploy)).into_response()),
        Err(error) => sim_error_response(error, rate),
    }
}

/// The part of `PATCH /services/{id}` the simulator understands.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateServiceBody {
    auto_deploy: Option<String>,
}

async fn update_service(
    State(sim): State<Arc<RenderSimulator>>,
    Path(service_id): Path<String>,
    Admitted(rate): Admitted<RateLimitHeaders>,
    body: Option<Json<UpdateServiceBody>>,
) -> Response {
    let auto_deploy = body.and_then(|Json(body)| body.auto_deploy);
    let Some(auto_deploy) = auto_deploy else {
        return error_response(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "nothing to update",
            rate,
        );
    };
    match sim.update_service(&service_id, &auto_deploy) {
        Ok(()) => rate.apply(
            Json(serde_json::json!({ "id": service_id, "autoDeploy": auto_deploy }))
                .into_response(),
        ),
        Err(error) => sim_error_response(error, rate),
    }
}

async fn unknown_route() -> Response {
    let body = ErrorJson {
        id: "not-found",
        message: "no such endpoint in the Render simulator",
    };
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

fn error_response(status: StatusCode, id: &str, message: &str, rate: RateLimitHeaders) -> Response {
    rate.apply((status, Json(ErrorJson { id, message })).into_response())
}

fn unauthorized(rate: RateLimitHeaders) -> Response {
    error_response(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "invalid API key",
        rate,
    )
}

fn sim_error_response(error: SimError, rate: RateLimitHeaders) -> Response {
    match error {
        SimError::ServiceNotFound => error_response(
            StatusCode::NOT_FOUND,
            "not-found",
            "service not found",
            rate,
        ),
        SimError::DeployNotFound => {
            error_response(StatusCode::NOT_FOUND, "not-found", "deploy not found", rate)
        }
        SimError::BadRequest(message) => {
            error_response(StatusCode::BAD_REQUEST, "bad-request", &message, rate)
        }
        SimError::Conflict(message) => {
            error_response(StatusCode::CONFLICT, "conflict", &message, rate)
        }
    }
}

fn fault_response(fault: &SimFault, rate: RateLimitHeaders) -> Response {
    let status = fault_status(fault);
    match fault {
        SimFault::RateLimited { retry_after_secs } => {
            let rate = rate.spent(*retry_after_secs);
            error_response(status, "rate-limited", "rate limit exceeded", rate)
        }
        SimFault::ServerError => {
            error_response(status, "internal-error", "internal server error", rate)
        }
        SimFault::Unauthorized => unauthorized(rate),
        SimFault::Garbage => rate.apply(html_page("<html><body>502 upstream hiccup</body></html>")),
        // `apply_delay` has already served a `Slow` fault; answering normally is its point.
        SimFault::Slow { .. } => error_response(status, "internal-error", "unexpected fault", rate),
    }
}

/// Cursors are opaque to clients; here they are the hex of the deploy id the page ends at.
fn encode_cursor(deploy_id: &str) -> String {
    deploy_id.bytes().fold(String::new(), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

fn decode_cursor(cursor: &str) -> Option<String> {
    if !cursor.len().is_multiple_of(2) {
        return None;
    }
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(cursor.get(at..at + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests;
