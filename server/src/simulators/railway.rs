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

use super::{
    apply_delay, bearer_matches, fault_status, lock, FaultInjector, RequestCounter,
    SimDeploymentSpec, SimFault, SimOutcome, SimRollbackOutcome, SimRollbacks,
};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
#[derive(Debug)]
pub struct RailwaySimulator {
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

#[derive(Debug)]
struct RateBudget {
    per_hour: u64,
    used: u64,
    window_started: Instant,
}

/// The `X-RateLimit-*` values of one answer.
#[derive(Clone, Copy, Debug)]
struct RateLimitHeaders {
    limit: u64,
    remaining: u64,
    /// Seconds until the window resets. Railway does not say whether `X-RateLimit-Reset` is
    /// epoch or relative (UNCONFIRMED); the simulator sends epoch seconds, which the client
    /// reads either way.
    reset_secs: u64,
    retry_after_secs: Option<u64>,
}

impl RateLimitHeaders {
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
        Self {
            token: token.to_string(),
            scenario: Mutex::new(Scenario::default()),
            budget: Mutex::new(RateBudget {
                per_hour: DEFAULT_REQUESTS_PER_HOUR,
                used: 0,
                window_started: Instant::now(),
            }),
            faults: FaultInjector::default(),
            requests: RequestCounter::default(),
            rollbacks: SimRollbacks::default(),
        }
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
        lock(&self.budget).per_hour = per_hour;
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
        let mut budget = lock(&self.budget);
        let now = Instant::now();
        if now.duration_since(budget.window_started) >= RATE_WINDOW {
            budget.window_started = now;
            budget.used = 0;
        }
        budget.used += 1;
        let left_in_window = RATE_WINDOW.saturating_sub(now.duration_since(budget.window_started));
        let reset_secs = left_in_window.as_secs_f64().ceil().max(1.0) as u64;
        RateLimitHeaders {
            limit: budget.per_hour,
            remaining: budget.per_hour.saturating_sub(budget.used),
            reset_secs,
            // "Retry-After only once the window is used up", as Railway documents.
            retry_after_secs: (budget.used > budget.per_hour).then_some(reset_secs),
        }
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
            slug(service_name),
            slug(environment_name)
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
                "id": format!("user-{}", slug(&d.author)),
                "name": d.author,
                "email": format!("{}@example.com", slug(&d.author)),
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

/// The root fields the simulator answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RootField {
    Deployments,
    Deployment,
    ServiceInstance,
    /// The one mutation: `deploymentRollback(id: String!): Boolean!`.
    DeploymentRollback,
}

impl RootField {
    const ALL: [(&'static str, RootField); 4] = [
        ("deployments", RootField::Deployments),
        ("deployment", RootField::Deployment),
        ("serviceInstance", RootField::ServiceInstance),
        ("deploymentRollback", RootField::DeploymentRollback),
    ];
}

/// One root field in a query: its response key (alias or name) and its resolved arguments.
#[derive(Debug, PartialEq)]
struct RootCall {
    field: RootField,
    key: String,
    arguments: Map<String, Value>,
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Finds `name(` / `alias: name(` for the known root fields, in query order. Field names
/// inside a selection (`activeDeployments { … }`) take no arguments here and so never match.
fn find_root_calls(query: &str, variables: &Map<String, Value>) -> Vec<RootCall> {
    let bytes = query.as_bytes();
    let mut found: Vec<(usize, RootCall)> = Vec::new();
    for (name, field) in RootField::ALL {
        let mut from = 0;
        while let Some(offset) = query[from..].find(name) {
            let start = from + offset;
            let end = start + name.len();
            from = end;
            if start > 0 && (is_name_byte(bytes[start - 1]) || bytes[start - 1] == b'$') {
                continue;
            }
            let open = end + (query[end..].len() - query[end..].trim_start().len());
            if bytes.get(open) != Some(&b'(') {
                continue;
            }
            let Some(close) = query[open..].find(')').map(|at| open + at) else {
                continue;
            };
            let arguments =
                match ArgumentParser::new(&query[open + 1..close], variables).object_body(None) {
                    Value::Object(map) => map,
                    _ => Map::new(),
                };
            found.push((
                start,
                RootCall {
                    field,
                    key: alias_before(&query[..start]).unwrap_or_else(|| name.to_string()),
                    arguments,
                },
            ));
        }
    }
    found.sort_by_key(|(start, _)| *start);
    found.into_iter().map(|(_, call)| call).collect()
}

/// `env0: serviceInstance(` → `env0`.
fn alias_before(prefix: &str) -> Option<String> {
    let before_colon = prefix.trim_end().strip_suffix(':')?.trim_end();
    let alias_start = before_colon
        .bytes()
        .rposition(|byte| !is_name_byte(byte))
        .map_or(0, |at| at + 1);
    let alias = &before_colon[alias_start..];
    (!alias.is_empty()).then(|| alias.to_string())
}

/// Reads GraphQL argument values: `$variables`, objects, lists, strings, numbers, booleans,
/// `null` and enum names (as strings). Enough for the arguments Railway's fields take.
struct ArgumentParser<'a> {
    text: &'a [u8],
    at: usize,
    variables: &'a Map<String, Value>,
}

impl<'a> ArgumentParser<'a> {
    fn new(text: &'a str, variables: &'a Map<String, Value>) -> Self {
        Self {
            text: text.as_bytes(),
            at: 0,
            variables,
        }
    }

    /// Commas are insignificant in GraphQL, like whitespace.
    fn skip_ignored(&mut self) {
        while self
            .text
            .get(self.at)
            .is_some_and(|byte| byte.is_ascii_whitespace() || *byte == b',')
        {
            self.at += 1;
        }
    }

    fn name(&mut self) -> String {
        let start = self.at;
        while self.text.get(self.at).copied().is_some_and(is_name_byte) {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.text[start..self.at]).into_owned()
    }

    /// `name: value` pairs until `closing` (or the end of the text).
    fn object_body(&mut self, closing: Option<u8>) -> Value {
        let mut map = Map::new();
        loop {
            self.skip_ignored();
            match self.text.get(self.at) {
                None => break,
                Some(byte) if Some(*byte) == closing => {
                    self.at += 1;
                    break;
                }
                Some(_) => {}
            }
            let key = self.name();
            self.skip_ignored();
            if key.is_empty() || self.text.get(self.at) != Some(&b':') {
                // Not an argument list the simulator understands; stop rather than loop.
                break;
            }
            self.at += 1;
            let value = self.value();
            map.insert(key, value);
        }
        Value::Object(map)
    }

    fn value(&mut self) -> Value {
        self.skip_ignored();
        let Some(&byte) = self.text.get(self.at) else {
            return Value::Null;
        };
        match byte {
            b'$' => {
                self.at += 1;
                let name = self.name();
                self.variables.get(&name).cloned().unwrap_or(Value::Null)
            }
            b'{' => {
                self.at += 1;
                self.object_body(Some(b'}'))
            }
            b'[' => {
                self.at += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ignored();
                    match self.text.get(self.at) {
                        None => break,
                        Some(b']') => {
                            self.at += 1;
                            break;
                        }
                        Some(_) => {
                            let before = self.at;
                            items.push(self.value());
                            if self.at == before {
                                break;
                            }
                        }
                    }
                }
                Value::Array(items)
            }
            b'"' => {
                self.at += 1;
                let mut raw = Vec::new();
                while let Some(&byte) = self.text.get(self.at) {
                    self.at += 1;
                    match byte {
                        b'"' => break,
                        b'\\' => {
                            if let Some(&escaped) = self.text.get(self.at) {
                                raw.push(escaped);
                                self.at += 1;
                            }
                        }
                        other => raw.push(other),
                    }
                }
                Value::String(String::from_utf8_lossy(&raw).into_owned())
            }
            b'-' | b'0'..=b'9' => {
                let start = self.at;
                self.at += 1;
                while self.text.get(self.at).is_some_and(|byte| {
                    byte.is_ascii_digit() || matches!(byte, b'.' | b'e' | b'E' | b'+' | b'-')
                }) {
                    self.at += 1;
                }
                let literal = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
                serde_json::from_str(&literal).unwrap_or(Value::Null)
            }
            _ => match self.name().as_str() {
                "" => {
                    // Something unexpected: step over it so parsing always moves on.
                    self.at += 1;
                    Value::Null
                }
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                enum_value => Value::String(enum_value.to_string()),
            },
        }
    }
}

async fn graphql(
    State(sim): State<Arc<RailwaySimulator>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    sim.requests.record();
    let fault = apply_delay(sim.faults.next()).await;
    let rate = sim.spend_budget();
    if let Some(fault) = fault {
        return fault_response(&fault, rate);
    }
    if rate.retry_after_secs.is_some() {
        return graphql_error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded", rate);
    }
    if !sim.authorized(&headers) {
        // The HTTP status Railway uses for GraphQL errors is UNCONFIRMED (200 or 4xx); the
        // wrong-token answer here is 200, and the `Unauthorized` fault answers 401 with the
        // same body, so the client is exercised both ways.
        return not_authorized(StatusCode::OK, rate);
    }
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
            let rate = RateLimitHeaders {
                remaining: 0,
                reset_secs: *retry_after_secs,
                retry_after_secs: Some(*retry_after_secs),
                ..rate
            };
            // The body of Railway's 429 is UNCONFIRMED; the status and headers are what count.
            graphql_error(status, "Rate limit exceeded", rate)
        }
        SimFault::ServerError => graphql_error(status, "Service Unavailable", rate),
        SimFault::Unauthorized => not_authorized(status, rate),
        SimFault::Garbage => rate.apply(
            (
                status,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>upstream hiccup</body></html>",
            )
                .into_response(),
        ),
        // `apply_delay` has already served a `Slow` fault; this arm is never reached.
        SimFault::Slow { .. } => graphql_error(status, "unexpected fault", rate),
    }
}

/// RFC 3339 in UTC with milliseconds, as Railway's `DateTime` values.
fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Lower-case letters and digits joined by single dashes, for host names and e-mail users.
fn slug(text: &str) -> String {
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
        "app".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Spreads a seed over 64 bits (SplitMix64), so ids look like Railway's random UUIDs.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn spec(minute: u32, outcome: SimOutcome) -> SimDeploymentSpec {
        SimDeploymentSpec {
            commit_sha: format!("{minute:040x}"),
            commit_message: format!("change {minute}"),
            author: "Ada Lovelace".into(),
            branch: "main".into(),
            pr_number: None,
            outcome,
            created_at: Utc.with_ymd_and_hms(2026, 3, 1, 12, minute, 0).unwrap(),
        }
    }

    fn simulator() -> RailwaySimulator {
        let sim = RailwaySimulator::new("t");
        sim.add_environment("p1", "env-prod", "production", false);
        sim.add_environment("p1", "env-pr", "pr-7", true);
        sim.add_service("p1", "svc-api", "api");
        sim
    }

    fn run(sim: &RailwaySimulator, query: &str, variables: Value) -> Value {
        let Value::Object(variables) = variables else {
            panic!("variables must be an object")
        };
        sim.execute(query, &variables).unwrap()
    }

    #[test]
    fn a_ready_push_goes_live_and_removes_the_previous_one() {
        let sim = simulator();
        let first = sim.push_deployment("svc-api", "env-prod", &spec(1, SimOutcome::Ready));
        let failed = sim.push_deployment("svc-api", "env-prod", &spec(2, SimOutcome::Failed));
        assert_eq!(
            sim.live_deployment_id("svc-api", "env-prod"),
            Some(first.clone())
        );
        let preview = sim.push_deployment("svc-api", "env-pr", &spec(3, SimOutcome::Ready));
        let second = sim.push_deployment("svc-api", "env-prod", &spec(4, SimOutcome::Ready));
        let building = sim.push_deployment("svc-api", "env-prod", &spec(5, SimOutcome::Building));
        let canceled = sim.push_deployment("svc-api", "env-prod", &spec(6, SimOutcome::Canceled));
        let status = |id: &str| sim.deployment_status(id).unwrap();
        assert_eq!(status(&first), "REMOVED");
        assert_eq!(status(&failed), "FAILED");
        assert_eq!(
            status(&preview),
            "SUCCESS",
            "other environments are untouched"
        );
        assert_eq!(status(&second), "SUCCESS");
        assert_eq!(status(&building), "BUILDING");
        assert_eq!(status(&canceled), "SKIPPED");
        assert_eq!(sim.live_deployment_id("svc-api", "env-prod"), Some(second));
        assert_eq!(first.len(), 36);
        assert_eq!(&first[14..15], "4");
        assert_ne!(first, failed);
    }

    #[test]
    fn deployments_page_with_relay_cursors() {
        let sim = simulator();
        let ids: Vec<String> = (0..5)
            .map(|minute| {
                sim.push_deployment("svc-api", "env-prod", &spec(minute, SimOutcome::Ready))
            })
            .collect();
        let query = "query Q($input: DeploymentListInput!, $first: Int, $after: String) { \
                     deployments(input: $input, first: $first, after: $after) { edges { node { id } } } }";
        let page = run(
            &sim,
            query,
            json!({ "input": { "serviceId": "svc-api" }, "first": 2, "after": null }),
        );
        let connection = &page["data"]["deployments"];
        let edges = connection["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 2);
        assert_eq!(edges[0]["node"]["id"], ids[4].as_str());
        assert_eq!(edges[1]["node"]["id"], ids[3].as_str());
        assert_eq!(connection["pageInfo"]["hasNextPage"], true);
        let after = connection["pageInfo"]["endCursor"].clone();
        let page = run(
            &sim,
            query,
            json!({ "input": { "serviceId": "svc-api" }, "first": 10, "after": after }),
        );
        let connection = &page["data"]["deployments"];
        let ids_on_page: Vec<&str> = connection["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|edge| edge["node"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids_on_page,
            vec![ids[2].as_str(), ids[1].as_str(), ids[0].as_str()]
        );
        assert_eq!(connection["pageInfo"]["hasNextPage"], false);
        assert_eq!(connection["pageInfo"]["hasPreviousPage"], true);

        let bad = run(
            &sim,
            query,
            json!({ "input": {}, "first": 2, "after": "nonsense" }),
        );
        assert_eq!(bad["data"]["deployments"], Value::Null);
        assert_eq!(bad["errors"][0]["message"], "Invalid cursor");
    }

    #[test]
    fn literal_arguments_filters_and_the_default_page_size() {
        let sim = simulator();
        for minute in 0..25 {
            sim.push_deployment("svc-api", "env-prod", &spec(minute, SimOutcome::Failed));
        }
        sim.push_deployment("svc-api", "env-pr", &spec(30, SimOutcome::Ready));
        let all = run(
            &sim,
            "{ deployments(input: {serviceId: \"svc-api\"}) { edges { cursor } } }",
            json!({}),
        );
        assert_eq!(
            all["data"]["deployments"]["edges"]
                .as_array()
                .unwrap()
                .len(),
            20
        );
        let success = run(
            &sim,
            "{ deployments(input: {projectId: \"p1\", status: {in: [SUCCESS]}}, first: 500) { edges { cursor } } }",
            json!({}),
        );
        let edges = success["data"]["deployments"]["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 1);
        assert_eq!(edges[0]["node"]["environment"]["isEphemeral"], true);
        assert_eq!(edges[0]["node"]["environment"]["name"], "pr-7");
    }

    #[test]
    fn aliased_service_instances_and_partial_errors() {
        let sim = simulator();
        let old = sim.push_deployment("svc-api", "env-prod", &spec(1, SimOutcome::Ready));
        let live = sim.push_deployment("svc-api", "env-prod", &spec(2, SimOutcome::Ready));
        let answer = run(
            &sim,
            "query L($s: String!, $env0: String!, $env1: String!) { \
             env0: serviceInstance(serviceId: $s, environmentId: $env0) { activeDeployments { id } } \
             env1 : serviceInstance(serviceId: $s, environmentId: $env1) { activeDeployments { id } } }",
            json!({ "s": "svc-api", "env0": "env-prod", "env1": "env-missing" }),
        );
        let active = answer["data"]["env0"]["activeDeployments"]
            .as_array()
            .unwrap();
        assert_eq!(active.len(), 1);
        assert_eq!(active[0]["id"], live.as_str());
        assert_eq!(active[0]["url"], "api-production.up.railway.app");
        assert_eq!(
            answer["data"]["env0"]["latestDeployment"]["id"],
            live.as_str()
        );
        assert_eq!(answer["data"]["env1"], Value::Null);
        assert_eq!(answer["errors"][0]["path"][0], "env1");

        let one = run(
            &sim,
            "query D($id: String!) { deployment(id: $id) { id } }",
            json!({ "id": old }),
        );
        let node = &one["data"]["deployment"];
        assert_eq!(node["status"], "REMOVED");
        assert_eq!(node["url"], Value::Null);
        assert_eq!(node["createdAt"], "2026-03-01T12:01:00.000Z");
        assert_eq!(node["statusUpdatedAt"], "2026-03-01T12:04:00.000Z");
        assert_eq!(node["meta"]["commitHash"], format!("{:040x}", 1));
        assert_eq!(node["creator"]["email"], "ada-lovelace@example.com");
        let missing = run(
            &sim,
            "query D($id: String!) { deployment(id: $id) { id } }",
            json!({ "id": "nope" }),
        );
        assert_eq!(missing["data"]["deployment"], Value::Null);
        assert_eq!(missing["errors"][0]["message"], "Deployment not found");
    }

    #[test]
    fn root_fields_are_found_by_name_not_inside_other_names() {
        let calls = find_root_calls(
            "query X($deployment: String) { latestDeployments: deployments(first: 3) { edges { node { activeDeployments { id } } } } \
             deployment (id: \"a\\\"b\") { id } } fragment F on Deployment { id }",
            &Map::new(),
        );
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].field, RootField::Deployments);
        assert_eq!(calls[0].key, "latestDeployments");
        assert_eq!(calls[0].arguments.get("first"), Some(&json!(3)));
        assert_eq!(calls[1].field, RootField::Deployment);
        assert_eq!(calls[1].key, "deployment");
        assert_eq!(calls[1].arguments.get("id"), Some(&json!("a\"b")));
        assert!(sim_rejects_unknown_fields());
    }

    fn sim_rejects_unknown_fields() -> bool {
        simulator()
            .execute("{ projects { edges { node { id } } } }", &Map::new())
            .is_err()
    }

    #[test]
    fn both_token_headers_are_accepted() {
        let sim = simulator();
        let mut headers = HeaderMap::new();
        assert!(!sim.authorized(&headers));
        headers.insert("project-access-token", HeaderValue::from_static("t"));
        assert!(sim.authorized(&headers));
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        assert!(sim.authorized(&headers));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        assert!(!sim.authorized(&headers));
    }

    #[test]
    fn the_hourly_budget_runs_out() {
        let sim = simulator();
        sim.set_requests_per_hour(1);
        let first = sim.spend_budget();
        assert_eq!(
            (first.limit, first.remaining, first.retry_after_secs),
            (1, 0, None)
        );
        let over = sim.spend_budget();
        assert!(over
            .retry_after_secs
            .is_some_and(|secs| (1..=3600).contains(&secs)));
    }

    #[test]
    fn cursors_round_trip() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("Y3Vyc29yOjE="), None);
    }
}
