//! Railway API simulator: the GraphQL endpoint `POST /graphql/v2` answering the root fields
//! Lookout's client uses — `deployments(input, first, after)` (Relay paging),
//! `serviceInstance(serviceId, environmentId) { activeDeployments latestDeployment }` and
//! `deployment(id)` — with Railway's payload shapes, `DeploymentStatus` values, both token
//! headers, GraphQL error bodies and `X-RateLimit-*` headers.
//!
//! This is not a GraphQL engine. It finds the root fields by name in the query text (with
//! their aliases, so one request may hold several), reads their arguments (variables or simple
//! literals), and returns every field of a deployment whatever the selection; a client reads
//! the ones it selected. The scenario is projects with environments and services; pushing a
//! deployment that goes live removes the one that was live in the same service and
//! environment, the way Railway marks replaced deployments `REMOVED`.

// `timestamp`: RFC 3339 in UTC with milliseconds, as Railway's `DateTime` values.
use super::skeleton::{
    html_page, mix, slug_or, timestamp_millis as timestamp, Admitted, RateBudget, RateLimitHeaders,
    SimApi, Simulated,
};
use super::{
    bearer_matches, fault_status, lock, SimDeploymentSpec, SimFault, SimOutcome, SimRollbackOutcome,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod query;
use query::*;

/// The endpoint path, relative to where the router is nested: a client's `api_base` is
/// `{simulator}/railway/graphql/v2` when nested under `/railway`.
pub const GRAPHQL_PATH: &str = "/graphql/v2";
/// The CLI's page size; Railway's default for `first` is UNCONFIRMED.
const DEFAULT_FIRST: u64 = 20;
/// Railway's maximum `first` is UNCONFIRMED; larger requests are clamped to this.
const MAX_FIRST: u64 = 100;
/// Railway's Pro plan allows 10,000 requests an hour; the simulator defaults to that so demo
/// polling never runs dry, and scenarios can set less.
const DEFAULT_REQUESTS_PER_HOUR: u64 = 10_000;
const RATE_WINDOW: Duration = Duration::from_secs(3600);
/// How long a simulated build-and-deploy takes.
const DEPLOY_MINUTES: i64 = 2;

/// A simulated Railway workspace: projects, their environments and services, deployments.
pub type RailwaySimulator = Simulated<Scenario, RateBudget>;

#[derive(Debug, Default)]
pub struct Scenario {
    projects: Vec<String>,
    environments: HashMap<String, SimEnvironment>,
    services: HashMap<String, SimService>,
    deployments: Vec<SimDeployment>,
    /// Seeds deployment ids; also orders deployments created at the same instant.
    last_seed: u64,
}

#[derive(Debug)]
struct SimEnvironment {
    project_id: String,
    name: String,
    is_ephemeral: bool,
}

#[derive(Debug)]
struct SimService {
    project_id: String,
    name: String,
}

#[derive(Clone, Debug)]
struct SimDeployment {
    seed: u64,
    id: String,
    project_id: String,
    service_id: String,
    environment_id: String,
    status: &'static str,
    created_at: DateTime<Utc>,
    status_updated_at: DateTime<Utc>,
    commit_sha: String,
    commit_message: String,
    author: String,
    branch: String,
    /// A rollback deployment in progress: when it settles, and on which status.
    settles: Option<(Instant, &'static str)>,
}

/// Railway's spelling of the rate-limit values: `X-RateLimit-*` and `Retry-After`. Railway does
/// not say whether `X-RateLimit-Reset` is epoch or relative (UNCONFIRMED); the simulator sends
/// epoch seconds, which the client reads either way.
trait RailwayRateHeaders {
    fn apply(self, response: Response) -> Response;
}

impl RailwayRateHeaders for RateLimitHeaders {
    fn apply(self, mut response: Response) -> Response {
        let reset_at = Utc::now().timestamp().max(0) as u64 + self.reset_secs;
        let headers = response.headers_mut();
        let mut set = |name: &'static str, value: u64| {
            headers.insert(name, HeaderValue::from(value));
        };
        set("x-ratelimit-limit", self.limit);
        set("x-ratelimit-remaining", self.remaining);
        set("x-ratelimit-reset", reset_at);
        if let Some(retry_after) = self.retry_after_secs {
            set("retry-after", retry_after);
        }
        response
    }
}

/// Why a root field could not be answered: becomes a GraphQL error with its path.
type FieldResult = Result<Value, String>;

impl RailwaySimulator {
    /// A simulator that accepts `token` as a Bearer token or a `Project-Access-Token`.
    pub fn new(token: &str) -> Self {
        Self::assemble(
            token,
            Scenario::default(),
            RateBudget::new(DEFAULT_REQUESTS_PER_HOUR, RATE_WINDOW),
        )
    }

    pub fn add_project(&self, project_id: &str) {
        let mut scenario = lock(&self.scenario);
        if !scenario.projects.iter().any(|id| id == project_id) {
            scenario.projects.push(project_id.to_string());
        }
    }

    /// Adds (or renames) an environment. PR environments are ephemeral; name them like
    /// `pr-42` so the PR number can be read from the name.
    pub fn add_environment(
        &self,
        project_id: &str,
        environment_id: &str,
        name: &str,
        is_ephemeral: bool,
    ) {
        self.add_project(project_id);
        lock(&self.scenario).environments.insert(
            environment_id.to_string(),
            SimEnvironment {
                project_id: project_id.to_string(),
                name: name.to_string(),
                is_ephemeral,
            },
        );
    }

    /// Adds (or renames) a service; it exists in every environment of its project.
    pub fn add_service(&self, project_id: &str, service_id: &str, name: &str) {
        self.add_project(project_id);
        lock(&self.scenario).services.insert(
            service_id.to_string(),
            SimService {
                project_id: project_id.to_string(),
                name: name.to_string(),
            },
        );
    }

    /// Sets the hourly request budget (Railway: Free 100, Hobby 1000, Pro 10000).
    pub fn set_requests_per_hour(&self, per_hour: u64) {
        self.budget.set_limit(per_hour);
    }

    /// Adds a deployment of `service_id` in `environment_id` and returns its UUID-like id.
    /// `Ready` becomes `SUCCESS` and turns the previous `SUCCESS` (or `SLEEPING`) one of the
    /// same service and environment `REMOVED`; `Failed` → `FAILED`, `Building` → `BUILDING`,
    /// `Canceled` → `SKIPPED`. Set up the service first: its project is taken from it.
    pub fn push_deployment(
        &self,
        service_id: &str,
        environment_id: &str,
        spec: &SimDeploymentSpec,
    ) -> String {
        let mut scenario = lock(&self.scenario);
        let project_id = scenario
            .services
            .get(service_id)
            .map(|service| service.project_id.clone())
            .or_else(|| {
                scenario
                    .environments
                    .get(environment_id)
                    .map(|environment| environment.project_id.clone())
            })
            .unwrap_or_default();
        let mut seed = scenario.last_seed;
        let id = loop {
            seed += 1;
            let candidate = uuid_like(seed);
            if !scenario.deployments.iter().any(|d| d.id == candidate) {
                break candidate;
            }
        };
        scenario.last_seed = seed;
        let finished_at = spec.created_at + chrono::Duration::minutes(DEPLOY_MINUTES);
        let (status, status_updated_at) = match spec.outcome {
            SimOutcome::Ready => ("SUCCESS", finished_at),
            SimOutcome::Failed => ("FAILED", finished_at),
            SimOutcome::Building => ("BUILDING", spec.created_at),
            SimOutcome::Canceled => ("SKIPPED", finished_at),
        };
        if spec.outcome == SimOutcome::Ready {
            for previous in scenario.deployments.iter_mut().filter(|d| {
                d.service_id == service_id
                    && d.environment_id == environment_id
                    && matches!(d.status, "SUCCESS" | "SLEEPING")
            }) {
                previous.status = "REMOVED";
                previous.status_updated_at = finished_at.max(previous.status_updated_at);
            }
        }
        scenario.deployments.push(SimDeployment {
            seed,
            id: id.clone(),
            project_id,
            service_id: service_id.to_string(),
            environment_id: environment_id.to_string(),
            status,
            created_at: spec.created_at,
            status_updated_at,
            commit_sha: spec.commit_sha.clone(),
            commit_message: spec.commit_message.clone(),
            author: spec.author.clone(),
            branch: spec.branch.clone(),
            settles: None,
        });
        id
    }

    /// The Railway `DeploymentStatus` of a deployment, for tests and the demo.
    pub fn deployment_status(&self, deployment_id: &str) -> Option<String> {
        lock(&self.scenario)
            .deployments
            .iter()
            .find(|d| d.id == deployment_id)
            .map(|d| d.status.to_string())
    }

    /// The newest active (`SUCCESS`/`SLEEPING`) deployment of a service in an environment.
    pub fn live_deployment_id(&self, service_id: &str, environment_id: &str) -> Option<String> {
        let scenario = lock(&self.scenario);
        scenario
            .active_deployments(service_id, environment_id)
            .first()
            .map(|d| d.id.clone())
    }

    /// The GraphQL endpoint, relative to where the router is nested.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(GRAPHQL_PATH, post(graphql))
            .fallback(unknown_route)
            .with_state(self)
    }

    /// Counts one request against the current hour.
    fn spend_budget(&self) -> RateLimitHeaders {
        // "Retry-After only once the window is used up", as Railway documents.
        RateLimitHeaders::from(self.budget.spend())
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let project_token = headers
            .get("project-access-token")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|given| given == self.token);
        project_token || bearer_matches(headers, &self.token)
    }

    /// Answers every root field the query holds; one that fails is `null` in `data` with an
    /// error naming its path, as GraphQL servers do.
    fn execute(&self, query: &str, variables: &Map<String, Value>) -> Result<Value, String> {
        let calls = find_root_calls(query, variables);
        if calls.is_empty() {
            return Err(
                "the Railway simulator answers only deployments, deployment, serviceInstance \
                 and deploymentRollback"
                    .into(),
            );
        }
        let mut scenario = lock(&self.scenario);
        scenario.advance(Instant::now(), Utc::now());
        let mut data = Map::new();
        let mut errors = Vec::new();
        for call in calls {
            let result = match call.field {
                RootField::Deployments => scenario.deployments_connection(&call.arguments),
                RootField::Deployment => scenario.deployment_by_id(&call.arguments),
                RootField::ServiceInstance => scenario.service_instance(&call.arguments),
                RootField::DeploymentRollback => {
                    let (outcome, settles_at) = self.rollbacks.next();
                    scenario.roll_back(&call.arguments, outcome, settles_at)
                }
            };
            match result {
                Ok(value) => {
                    data.insert(call.key, value);
                }
                Err(message) => {
                    errors.push(json!({ "message": message, "path": [call.key.clone()] }));
                    data.insert(call.key, Value::Null);
                }
            }
        }
        let mut body = Map::new();
        body.insert("data".into(), Value::Object(data));
        if !errors.is_empty() {
            body.insert("errors".into(), Value::Array(errors));
        }
        Ok(Value::Object(body))
    }
}

impl Scenario {
    /// Settles rollback deployments whose time has come; one that succeeds replaces the
    /// active deployment of its service and environment.
    fn advance(&mut self, now: Instant, at: DateTime<Utc>) {
        let settled: Vec<(usize, &'static str)> = self
            .deployments
            .iter()
            .enumerate()
            .filter_map(|(index, d)| {
                d.settles
                    .filter(|(when, _)| *when <= now)
                    .map(|(_, status)| (index, status))
            })
            .collect();
        for (index, status) in settled {
            let (service, environment) = {
                let d = &self.deployments[index];
                (d.service_id.clone(), d.environment_id.clone())
            };
            if status == "SUCCESS" {
                for other in self.deployments.iter_mut().filter(|d| {
                    d.service_id == service
                        && d.environment_id == environment
                        && matches!(d.status, "SUCCESS" | "SLEEPING")
                }) {
                    other.status = "REMOVED";
                    other.status_updated_at = at;
                }
            }
            if let Some(d) = self.deployments.get_mut(index) {
                d.status = status;
                d.status_updated_at = at;
                d.settles = None;
            }
        }
    }

    /// `deploymentRollback(id)`: a new deployment from the target's image (whether Railway
    /// gives it a new id is UNCONFIRMED; the simulator does), only where `canRollback`.
    fn roll_back(
        &mut self,
        arguments: &Map<String, Value>,
        outcome: SimRollbackOutcome,
        settles_at: Instant,
    ) -> FieldResult {
        let id = arguments
            .get("id")
            .and_then(Value::as_str)
            .ok_or("deploymentRollback needs an id")?
            .to_string();
        let target = self
            .deployments
            .iter()
            .find(|d| d.id == id)
            .cloned()
            .ok_or_else(|| format!("Deployment {id} not found"))?;
        if !matches!(target.status, "SUCCESS" | "SLEEPING" | "REMOVED") {
            return Err("This deployment cannot be rolled back to".into());
        }
        if outcome == SimRollbackOutcome::Refused {
            return Err("A deployment is already in progress for this service".into());
        }
        self.last_seed += 1;
        let seed = self.last_seed;
        let now = Utc::now();
        let final_status = match outcome {
            SimRollbackOutcome::Fails => Some("FAILED"),
            SimRollbackOutcome::NeverLive => None,
            SimRollbackOutcome::GoesLive | SimRollbackOutcome::Refused => Some("SUCCESS"),
        };
        self.deployments.push(SimDeployment {
            seed,
            id: uuid_like(seed),
            status: "DEPLOYING",
            created_at: now,
            status_updated_at: now,
            settles: final_status.map(|status| (settles_at, status)),
            ..target
        });
        Ok(Value::Bool(true))
    }

    fn newest_first(a: &SimDeployment, b: &SimDeployment) -> std::cmp::Ordering {
        b.created_at
            .cmp(&a.created_at)
            .then_with(|| b.seed.cmp(&a.seed))
    }

    fn active_deployments(&self, service_id: &str, environment_id: &str) -> Vec<&SimDeployment> {
        let mut active: Vec<&SimDeployment> = self
            .deployments
            .iter()
            .filter(|d| {
                d.service_id == service_id
                    && d.environment_id == environment_id
                    && matches!(d.status, "SUCCESS" | "SLEEPING")
            })
            .collect();
        active.sort_by(|a, b| Self::newest_first(a, b));
        active
    }

    /// `deployments(input: DeploymentListInput!, first, after)`: filters by the input's ids and
    /// `status {in, notIn}`, newest first, Relay paging. `last`/`before` are not simulated.
    fn deployments_connection(&self, arguments: &Map<String, Value>) -> FieldResult {
        let input = arguments.get("input").cloned().unwrap_or(Value::Null);
        let matches_id = |key: &str, value: &str| {
            input
                .get(key)
                .and_then(Value::as_str)
                .is_none_or(|wanted| wanted == value)
        };
        let status_list = |key: &str| -> Option<Vec<String>> {
            let list = input.get("status")?.get(key)?.as_array()?;
            Some(
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            )
        };
        let status_in = status_list("in");
        let status_not_in = status_list("notIn").unwrap_or_default();
        let mut selected: Vec<&SimDeployment> = self
            .deployments
            .iter()
            .filter(|d| {
                matches_id("projectId", &d.project_id)
                    && matches_id("serviceId", &d.service_id)
                    && matches_id("environmentId", &d.environment_id)
                    && status_in
                        .as_ref()
                        .is_none_or(|wanted| wanted.iter().any(|s| s == d.status))
                    && !status_not_in.iter().any(|s| s == d.status)
            })
            .collect();
        selected.sort_by(|a, b| Self::newest_first(a, b));

        let first = match arguments.get("first") {
            None | Some(Value::Null) => DEFAULT_FIRST,
            Some(value) => value
                .as_u64()
                .ok_or_else(|| "`first` must be a non-negative integer".to_string())?
                .min(MAX_FIRST),
        } as usize;
        let start = match arguments.get("after").and_then(Value::as_str) {
            None => 0,
            Some(cursor) => {
                let seed = decode_cursor(cursor).ok_or_else(|| "Invalid cursor".to_string())?;
                selected
                    .iter()
                    .position(|d| d.seed == seed)
                    .ok_or_else(|| "Invalid cursor".to_string())?
                    + 1
            }
        };
        let page: Vec<&SimDeployment> = selected.iter().skip(start).take(first).copied().collect();
        let has_next_page = start + page.len() < selected.len();
        let edges: Vec<Value> = page
            .iter()
            .map(|d| json!({ "cursor": encode_cursor(d.seed), "node": self.deployment_json(d) }))
            .collect();
        Ok(json!({
            "edges": edges,
            "pageInfo": {
                "startCursor": page.first().map(|d| encode_cursor(d.seed)),
                "endCursor": page.last().map(|d| encode_cursor(d.seed)),
                "hasNextPage": has_next_page,
                "hasPreviousPage": start > 0,
            }
        }))
    }

    fn deployment_by_id(&self, arguments: &Map<String, Value>) -> FieldResult {
        let id = arguments
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        // Railway's wording for an unknown id is UNCONFIRMED.
        self.deployments
            .iter()
            .find(|d| d.id == id)
            .map(|d| self.deployment_json(d))
            .ok_or_else(|| "Deployment not found".to_string())
    }

    fn service_instance(&self, arguments: &Map<String, Value>) -> FieldResult {
        let argument = |key: &str| {
            arguments
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
        };
        let (service_id, environment_id) = (argument("serviceId"), argument("environmentId"));
        let (Some(service), Some(environment)) = (
            self.services.get(service_id),
            self.environments.get(environment_id),
        ) else {
            // Railway's wording for a service not in the environment is UNCONFIRMED.
            return Err("ServiceInstance not found".into());
        };
        if service.project_id != environment.project_id {
            return Err("ServiceInstance not found".into());
        }
        let active: Vec<Value> = self
            .active_deployments(service_id, environment_id)
            .into_iter()
            .map(|d| self.deployment_json(d))
            .collect();
        let latest = self
            .deployments
            .iter()
            .filter(|d| d.service_id == service_id && d.environment_id == environment_id)
            .min_by(|a, b| Self::newest_first(a, b))
            .map(|d| self.deployment_json(d));
        Ok(json!({
            "id": format!("{service_id}:{environment_id}"),
            "serviceId": service_id,
            "environmentId": environment_id,
            "serviceName": service.name,
            "activeDeployments": active,
            "latestDeployment": latest,
        }))
    }

    /// A `Deployment` with every field the contract lists that Lookout might select.
    fn deployment_json(&self, d: &SimDeployment) -> Value {
        let environment = self.environments.get(&d.environment_id);
        let environment_name = environment.map_or(d.environment_id.as_str(), |e| e.name.as_str());
        let service_name = self
            .services
            .get(&d.service_id)
            .map_or(d.service_id.as_str(), |s| s.name.as_str());
        // Bare host names, as in Railway's payloads; a removed deployment keeps only the
        // service's static domain.
        let static_url = format!(
            "{}-{}.up.railway.app",
            slug_or(service_name, "app"),
            slug_or(environment_name, "app")
        );
        let running = matches!(d.status, "SUCCESS" | "SLEEPING");
        let built = running || d.status == "REMOVED";
        json!({
            "id": d.id,
            "status": d.status,
            "createdAt": timestamp(d.created_at),
            "updatedAt": timestamp(d.status_updated_at),
            "statusUpdatedAt": timestamp(d.status_updated_at),
            "url": running.then(|| static_url.clone()),
            "staticUrl": static_url,
            "canRollback": built,
            "canRedeploy": true,
            "deploymentStopped": d.status == "REMOVED",
            "projectId": d.project_id,
            "serviceId": d.service_id,
            "environmentId": d.environment_id,
            "environment": {
                "id": d.environment_id,
                "name": environment_name,
                "isEphemeral": environment.is_some_and(|e| e.is_ephemeral),
            },
            "creator": {
                "id": format!("user-{}", slug_or(&d.author, "app")),
                "name": d.author,
                "email": format!("{}@example.com", slug_or(&d.author, "app")),
                "avatar": null,
            },
            // `commitHash` is confirmed in GraphQL meta; the other keys are the webhook's
            // names (UNCONFIRMED there) and are included so the client's reading is exercised.
            "meta": {
                "commitHash": d.commit_sha,
                "commitMessage": d.commit_message,
                "commitAuthor": d.author,
                "branch": d.branch,
            },
        })
    }
}

impl SimApi for RailwaySimulator {
    type Admission = RateLimitHeaders;

    /// What every request goes through before the query runs: counting, injected faults, the
    /// hourly budget and the token.
    async fn admit(&self, headers: &HeaderMap) -> Result<RateLimitHeaders, Response> {
        let fault = self.take_fault().await;
        let rate = self.spend_budget();
        if let Some(fault) = fault {
            return Err(fault_response(&fault, rate));
        }
        if rate.retry_after_secs.is_some() {
            return Err(graphql_error(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded",
                rate,
            ));
        }
        if !self.authorized(headers) {
            // The HTTP status Railway uses for GraphQL errors is UNCONFIRMED (200 or 4xx); the
            // wrong-token answer here is 200, and the `Unauthorized` fault answers 401 with
            // the same body, so the client is exercised both ways.
            return Err(not_authorized(StatusCode::OK, rate));
        }
        Ok(rate)
    }
}

async fn graphql(
    State(sim): State<Arc<RailwaySimulator>>,
    Admitted(rate): Admitted<RateLimitHeaders>,
    body: Bytes,
) -> Response {
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => return graphql_error(StatusCode::BAD_REQUEST, "Invalid JSON body", rate),
    };
    let Some(query) = request.get("query").and_then(Value::as_str) else {
        return graphql_error(StatusCode::BAD_REQUEST, "Must provide query string.", rate);
    };
    let variables = match request.get("variables") {
        Some(Value::Object(variables)) => variables.clone(),
        _ => Map::new(),
    };
    match sim.execute(query, &variables) {
        Ok(answer) => rate.apply(Json(answer).into_response()),
        Err(message) => graphql_error(StatusCode::BAD_REQUEST, &message, rate),
    }
}

async fn unknown_route() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "errors": [{ "message": "no such endpoint in the Railway simulator" }] })),
    )
        .into_response()
}

fn graphql_error(status: StatusCode, message: &str, rate: RateLimitHeaders) -> Response {
    let body = json!({ "errors": [{ "message": message }], "data": null });
    rate.apply((status, Json(body)).into_response())
}

/// The message the official CLI recognises for a bad or insufficient token.
fn not_authorized(status: StatusCode, rate: RateLimitHeaders) -> Response {
    graphql_error(status, "Not Authorized", rate)
}

fn fault_response(fault: &SimFault, rate: RateLimitHeaders) -> Response {
    let status = fault_status(fault);
    match fault {
        SimFault::RateLimited { retry_after_secs } => {
            let rate = rate.spent(*retry_after_secs);
            // The body of Railway's 429 is UNCONFIRMED; the status and headers are what count.
            graphql_error(status, "Rate limit exceeded", rate)
        }
        SimFault::ServerError => graphql_error(status, "Service Unavailable", rate),
        SimFault::Unauthorized => not_authorized(status, rate),
        SimFault::Garbage => rate.apply(html_page("<html><body>upstream hiccup</body></html>")),
        // `apply_delay` has already served a `Slow` fault; this arm is never reached.
        SimFault::Slow { .. } => graphql_error(status, "unexpected fault", rate),
    }
}

/// A version-4-shaped UUID derived from the seed (deterministic, so scenarios repeat).
fn uuid_like(seed: u64) -> String {
    let high = mix(seed);
    let low = mix(seed ^ 0x5DEE_CE66_D1CE_4E5B);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xffff,
        high & 0xfff,
        0x8000 | ((low >> 48) & 0x3fff),
        low & 0xffff_ffff_ffff
    )
}

/// Cursors are opaque to clients; here they name the seed of the deployment a page ends at.
fn encode_cursor(seed: u64) -> String {
    format!("cursor:{seed:x}")
}

fn decode_cursor(cursor: &str) -> Option<u64> {
    u64::from_str_radix(cursor.strip_prefix("cursor:")?, 16).ok()
}

#[cfg(test)]
mod tests;
