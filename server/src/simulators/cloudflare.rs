//! The Cloudflare Pages simulator: accounts' Pages projects and their deployments behind the
//! Cloudflare v4 paths.
//!
//! It serves `GET /accounts/{account_id}/pages/projects/{project_name}` (with
//! `canonical_deployment` and `latest_deployment`), `…/deployments` (`env`, `page`,
//! `per_page`, with `result_info`) and `…/deployments/{deployment_id}`, every answer in the
//! `{success, errors, messages, result}` envelope, with the `Ratelimit`/`Ratelimit-Policy`
//! headers Cloudflare always sends and `Retry-After` on a 429, so the real
//! [`crate::providers::cloudflare::CloudflarePagesClient`] runs against it unchanged.
//!
//! Pages has no "superseded" state: when a newer production deployment succeeds, the old one
//! keeps its successful `deploy` stage and simply stops being the project's
//! `canonical_deployment`. Error codes other than those in the contract (10000, 7003, 8000007,
//! 8000009, 8000024, 971) are Cloudflare's as third parties report them (UNCONFIRMED).

use super::skeleton::{html_page, RateBudget, RateLimitHeaders, Simulated};
use super::{
    bearer_matches, fault_status, lock, SimDeploymentSpec, SimFault, SimOutcome, SimRollbackOutcome,
};
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Deployments per page when the request names no `per_page`, and the most it may ask for:
/// above it the real endpoint answers 400 `8000024` (third-party reports; UNCONFIRMED).
const DEFAULT_PER_PAGE: usize = 25;
const MAX_PER_PAGE: usize = 25;
/// Cloudflare's global budget: 1,200 requests per 5 minutes per token.
const DEFAULT_REQUESTS_PER_WINDOW: u64 = 1200;
const RATE_WINDOW: Duration = Duration::from_secs(300);
/// A simulated build-and-deploy takes this long.
const BUILD_SECONDS: i64 = 120;
/// The stages of a Pages deployment, in order.
const STAGES: [&str; 5] = ["queued", "initialize", "clone_repo", "build", "deploy"];
const GIT_OWNER: &str = "acme";

/// A stand-in for `api.cloudflare.com/client/v4`, Pages endpoints only.
pub type CloudflarePagesSimulator = Simulated<Scenario, RateBudget>;

#[derive(Default)]
pub struct Scenario {
    projects: Vec<SimProject>,
    last_seed: u64,
}

struct SimProject {
    account_id: String,
    name: String,
    id: String,
    /// The id of the deployment serving production.
    canonical: Option<String>,
    /// In push order.
    deployments: Vec<SimDeployment>,
    /// A rollback on its way: the deployment that becomes canonical, and when (never for a
    /// rollback that fails or never goes live).
    pending_rollback: Option<(String, Option<Instant>)>,
}

impl SimProject {
    /// Makes a pending rollback's target canonical once its time has come.
    fn advance(&mut self) {
        if let Some((deployment_id, Some(when))) = &self.pending_rollback {
            if *when <= Instant::now() {
                self.canonical = Some(deployment_id.clone());
                self.pending_rollback = None;
            }
        }
    }
}

struct SimDeployment {
    seed: u64,
    id: String,
    /// `production` or `preview`.
    environment: String,
    /// Index into [`STAGES`] of the latest stage, and its status.
    latest_stage: usize,
    latest_status: &'static str,
    created_at: DateTime<Utc>,
    spec: SimDeploymentSpec,
}

/// Cloudflare's spelling of the rate-limit values: `Ratelimit` and `Ratelimit-Policy`.
trait CloudflareRateHeaders {
    fn apply(self, response: Response) -> Response;
}

impl CloudflareRateHeaders for RateLimitHeaders {
    fn apply(self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        let current = format!("\"default\";r={};t={}", self.remaining, self.reset_secs);
        let policy = format!("\"default\";q={};w={}", self.limit, RATE_WINDOW.as_secs());
        if let Ok(value) = HeaderValue::from_str(&current) {
            headers.insert("ratelimit", value);
        }
        if let Ok(value) = HeaderValue::from_str(&policy) {
            headers.insert("ratelimit-policy", value);
        }
        if let Some(retry_after) = self.retry_after_secs {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

impl CloudflarePagesSimulator {
    /// A simulator that accepts `Authorization: Bearer <token>`.
    pub fn new(token: &str) -> Self {
        Self::assemble(
            token,
            Scenario::default(),
            RateBudget::new(DEFAULT_REQUESTS_PER_WINDOW, RATE_WINDOW),
        )
    }

    /// Adds a Pages project with no deployments to an account (again: no change).
    pub fn add_project(&self, account_id: &str, project_name: &str) {
        let mut scenario = lock(&self.scenario);
        scenario.ensure_project(account_id, project_name);
    }

    /// How many requests per five minutes pass before the simulator answers 429.
    pub fn set_requests_per_window(&self, per_window: u64) {
        self.budget.set_limit(per_window);
    }

    /// Adds a deployment and returns its id (a UUID). `environment` is `production` or
    /// `preview`. `Ready` ends with a successful `deploy` stage (a production one becomes the
    /// project's `canonical_deployment`; the one it replaces keeps its success); `Failed` has
    /// a failed `build`, `Building` an active `build`, `Canceled` a canceled `build`. Pages
    /// records no author or PR number, so those fields of `spec` are dropped. An unknown
    /// project is created.
    pub fn push_deployment(
        &self,
        account_id: &str,
        project_name: &str,
        environment: &str,
        spec: &SimDeploymentSpec,
    ) -> String {
        let mut scenario = lock(&self.scenario);
        scenario.last_seed += 1;
        let seed = scenario.last_seed;
        let id = uuid_like(seed);
        let (latest_stage, latest_status) = match spec.outcome {
            SimOutcome::Ready => (4, "success"),
            SimOutcome::Failed => (3, "failure"),
            SimOutcome::Building => (3, "active"),
            SimOutcome::Canceled => (3, "canceled"),
        };
        let project = scenario.ensure_project(account_id, project_name);
        if spec.outcome == SimOutcome::Ready && environment == "production" {
            project.canonical = Some(id.clone());
        }
        project.deployments.push(SimDeployment {
            seed,
            id: id.clone(),
            environment: environment.to_string(),
            latest_stage,
            latest_status,
            created_at: spec.created_at,
            spec: spec.clone(),
        });
        id
    }

    /// The id of the project's `canonical_deployment`.
    pub fn canonical_deployment_id(&self, account_id: &str, project_name: &str) -> Option<String> {
        let mut scenario = lock(&self.scenario);
        let project = scenario
            .projects
            .iter_mut()
            .find(|project| project.account_id == account_id && project.name == project_name)?;
        project.advance();
        project.canonical.clone()
    }

    /// Points `canonical_deployment` at any deployment of the project, including one that did
    /// not succeed: the other reading of "most recent production deployment" (UNCONFIRMED),
    /// so the client's handling of it can be exercised. `false` when there is no such
    /// deployment.
    pub fn set_canonical_deployment(
        &self,
        account_id: &str,
        project_name: &str,
        deployment_id: &str,
    ) -> bool {
        let mut scenario = lock(&self.scenario);
        let project = scenario
            .projects
            .iter_mut()
            .find(|project| project.account_id == account_id && project.name == project_name);
        match project {
            Some(project) if project.deployments.iter().any(|d| d.id == deployment_id) => {
                project.canonical = Some(deployment_id.to_string());
                true
            }
            _ => false,
        }
    }

    /// Routes relative to the API base (nest this under a prefix such as `/cloudflare`).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(
                "/accounts/{account_id}/pages/projects/{project_name}",
                get(get_project),
            )
            .route(
                "/accounts/{account_id}/pages/projects/{project_name}/deployments",
                get(list_deployments),
            )
            .route(
                "/accounts/{account_id}/pages/projects/{project_name}/deployments/{deployment_id}",
                get(get_deployment),
            )
            .route(
                "/accounts/{account_id}/pages/projects/{project_name}/deployments/{deployment_id}/rollback",
                post(rollback_deployment),
            )
            .fallback(unknown_route)
            .with_state(self)
    }

    /// What every request goes through before its handler: counting, injected faults, the
    /// rate budget, the token and the account. `Ok` carries the rate-limit headers.
    async fn admit(
        &self,
        headers: &HeaderMap,
        account_id: &str,
    ) -> Result<RateLimitHeaders, Response> {
        let fault = self.take_fault().await;
        let rate = self.spend_budget();
        if let Some(fault) = fault {
            return Err(fault_response(&fault, rate));
        }
        if let Some(retry_after) = rate.retry_after_secs {
            return Err(rate_limited(rate, retry_after));
        }
        // A bad token, and a token without access to the account, are both 403 with code
        // 10000 "Authentication error" (as reported for the Pages endpoints; UNCONFIRMED).
        let knows_account = lock(&self.scenario)
            .projects
            .iter()
            .any(|project| project.account_id == account_id);
        if !bearer_matches(headers, &self.token) || !knows_account {
            return Err(error_response(
                StatusCode::FORBIDDEN,
                10000,
                "Authentication error",
                rate,
            ));
        }
        Ok(rate)
    }

    fn spend_budget(&self) -> RateLimitHeaders {
        RateLimitHeaders::from(self.budget.spend())
    }
}

impl Scenario {
    fn find_project(&self, account_id: &str, name: &str) -> Option<&SimProject> {
        self.projects
            .iter()
            .find(|project| project.account_id == account_id && project.name == name)
    }

    fn ensure_project(&mut self, account_id: &str, name: &str) -> &mut SimProject {
        let index = match self
            .projects
            .iter()
            .position(|project| project.account_id == account_id && project.name == name)
        {
            Some(index) => index,
            None => {
                self.last_seed += 1;
                self.projects.push(SimProject {
                    account_id: account_id.to_string(),
                    name: name.to_string(),
                    id: uuid_like(self.last_seed + 0x7000_0000),
                    canonical: None,
                    deployments: Vec::new(),
                    pending_rollback: None,
                });
                self.projects.len() - 1
            }
        };
        &mut self.projects[index]
    }
}

type SimState = State<Arc<CloudflarePagesSimulator>>;

async fn get_project(
    State(sim): SimState,
    Path((account_id, project_name)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers, &account_id).await {
        Ok(rate) => rate,
        Err(refusal) => return refusal,
    };
    let mut scenario = lock(&sim.scenario);
    scenario.projects.iter_mut().for_each(SimProject::advance);
    let Some(project) = scenario.find_project(&account_id, &project_name) else {
        return project_not_found(rate);
    };
    let canonical = project
        .canonical
        .as_ref()
        .and_then(|id| project.deployments.iter().find(|d| d.id == *id))
        .map(|deployment| deployment_json(project, deployment));
    let latest = newest_first(project)
        .first()
        .map(|deployment| deployment_json(project, deployment));
    let created = project
        .deployments
        .first()
        .map(|deployment| deployment.created_at)
        .unwrap_or_else(Utc::now);
    let result = json!({
        "id": project.id,
        "name": project.name,
        "subdomain": format!("{}.pages.dev", project.name),
        "domains": [format!("{}.pages.dev", project.name)],
        "production_branch": "main",
        "created_on": timestamp(created),
        "source": source_json(project),
        "build_config": build_config_json(),
        "canonical_deployment": canonical,
        "latest_deployment": latest,
    });
    rate.apply(success(result, None))
}

async fn list_deployments(
    State(sim): SimState,
    Path((account_id, project_name)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers, &account_id).await {
        Ok(rate) => rate,
        Err(refusal) => return refusal,
    };
    let number = |name: &str, default: usize| match query.get(name) {
        None => Some(default),
        Some(value) => value.trim().parse::<usize>().ok(),
    };
    let page = number("page", 1).filter(|page| *page >= 1);
    let per_page = number("per_page", DEFAULT_PER_PAGE)
        .filter(|per_page| (1..=MAX_PER_PAGE).contains(per_page));
    let env = query.get("env").map(String::as_str);
    let (Some(page), Some(per_page), true) = (
        page,
        per_page,
        env.is_none_or(|env| env == "production" || env == "preview"),
    ) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            8000024,
            "Invalid list options provided. Review the `page` or `per_page` parameter.",
            rate,
        );
    };
    let scenario = lock(&sim.scenario);
    let Some(project) = scenario.find_project(&account_id, &project_name) else {
        return project_not_found(rate);
    };
    let matching: Vec<&SimDeployment> = newest_first(project)
        .into_iter()
        .filter(|deployment| env.is_none_or(|env| deployment.environment == env))
        .collect();
    let items: Vec<Value> = matching
        .iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .map(|deployment| deployment_json(project, deployment))
        .collect();
    let info = json!({
        "page": page,
        "per_page": per_page,
        "count": items.len(),
        "total_count": matching.len(),
        "total_pages": matching.len().div_ceil(per_page),
    });
    rate.apply(success(Value::Array(items), Some(info)))
}

async fn get_deployment(
    State(sim): SimState,
    Path((account_id, project_name, deployment_id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers, &account_id).await {
        Ok(rate) => rate,
        Err(refusal) => return refusal,
    };
    let scenario = lock(&sim.scenario);
    let Some(project) = scenario.find_project(&account_id, &project_name) else {
        return project_not_found(rate);
    };
    match project.deployments.iter().find(|d| d.id == deployment_id) {
        Some(deployment) => rate.apply(success(deployment_json(project, deployment), None)),
        None => error_response(
            StatusCode::NOT_FOUND,
            8000009,
            "The deployment ID you have specified does not exist. Update the deployment ID and try again.",
            rate,
        ),
    }
}

/// `POST …/deployments/{id}/rollback`: production goes back to a successful production
/// deployment; the envelope's `result` is that deployment (whether Cloudflare answers with the
/// target or a new deployment is UNCONFIRMED; the simulator answers with the target).
async fn rollback_deployment(
    State(sim): SimState,
    Path((account_id, project_name, deployment_id)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers, &account_id).await {
        Ok(rate) => rate,
        Err(refusal) => return refusal,
    };
    let (outcome, settles_at) = sim.rollbacks.next();
    let mut scenario = lock(&sim.scenario);
    let Some(project) = scenario
        .projects
        .iter_mut()
        .find(|project| project.account_id == account_id && project.name == project_name)
    else {
        return project_not_found(rate);
    };
    project.advance();
    let Some(deployment) = project.deployments.iter().find(|d| d.id == deployment_id) else {
        return error_response(
            StatusCode::NOT_FOUND,
            8000009,
            "The deployment ID you have specified does not exist. Update the deployment ID and try again.",
            rate,
        );
    };
    let succeeded =
        deployment.latest_stage == STAGES.len() - 1 && deployment.latest_status == "success";
    if deployment.environment != "production" || !succeeded {
        return error_response(
            StatusCode::BAD_REQUEST,
            8000034,
            "You can only rollback to successful builds on production.",
            rate,
        );
    }
    if outcome == SimRollbackOutcome::Refused || project.pending_rollback.is_some() {
        return error_response(
            StatusCode::CONFLICT,
            8000035,
            "A rollback is already in progress for this project.",
            rate,
        );
    }
    let body = deployment_json(project, deployment);
    let when = (outcome == SimRollbackOutcome::GoesLive).then_some(settles_at);
    project.pending_rollback = Some((deployment_id, when));
    rate.apply(success(body, None))
}

async fn unknown_route(OriginalUri(uri): OriginalUri) -> Response {
    let body = json!({
        "success": false,
        "errors": [{
            "code": 7003,
            "message": format!(
                "Could not route to {}, perhaps your object identifier is invalid?",
                uri.path()
            ),
        }],
        "messages": [],
        "result": null,
    });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

fn newest_first(project: &SimProject) -> Vec<&SimDeployment> {
    let mut deployments: Vec<&SimDeployment> = project.deployments.iter().collect();
    deployments
        .sort_by_key(|deployment| std::cmp::Reverse((deployment.created_at, deployment.seed)));
    deployments
}

/// A UUID-shaped id whose first eight digits (the `short_id`) differ between seeds.
fn uuid_like(seed: u64) -> String {
    let mixed = (seed as u32).wrapping_mul(0x9e37_79b1);
    format!(
        "{mixed:08x}-{:04x}-4000-8000-{seed:012x}",
        (seed >> 32) as u16
    )
}

/// RFC 3339 with microseconds, as Cloudflare's examples (`2021-03-09T00:55:03.923456Z`).
fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A branch as a `*.pages.dev` label, the way Pages builds branch aliases.
fn branch_label(branch: &str) -> String {
    let label: String = branch
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    label.trim_matches('-').chars().take(28).collect()
}

fn source_json(project: &SimProject) -> Value {
    json!({
        "type": "github",
        "config": {
            "owner": GIT_OWNER,
            "repo_name": project.name,
            "production_branch": "main",
            "deployments_enabled": true,
            "production_deployments_enabled": true,
            "preview_deployment_setting": "all",
            "pr_comments_enabled": true,
        },
    })
}

fn build_config_json() -> Value {
    json!({
        "build_caching": true,
        "build_command": "npm run build",
        "destination_dir": "dist",
        "root_dir": "/",
        "web_analytics_tag": null,
        "web_analytics_token": null,
    })
}

/// One deployment in the CF-SDK `Deployment` shape. Stages before the latest succeeded; those
/// after it have not started (`idle`).
fn deployment_json(project: &SimProject, deployment: &SimDeployment) -> Value {
    let spec = &deployment.spec;
    let stage_span = BUILD_SECONDS / STAGES.len() as i64;
    let stage_start =
        |index: usize| deployment.created_at + chrono::Duration::seconds(stage_span * index as i64);
    let stage_json = |index: usize| {
        let status = match index.cmp(&deployment.latest_stage) {
            std::cmp::Ordering::Less => "success",
            std::cmp::Ordering::Equal => deployment.latest_status,
            std::cmp::Ordering::Greater => "idle",
        };
        let started = (status != "idle").then(|| timestamp(stage_start(index)));
        let ended =
            (status != "idle" && status != "active").then(|| timestamp(stage_start(index + 1)));
        json!({
            "name": STAGES[index],
            "status": status,
            "started_on": started,
            "ended_on": ended,
        })
    };
    let stages: Vec<Value> = (0..STAGES.len()).map(stage_json).collect();
    let short_id: String = deployment.id.chars().take(8).collect();
    let finished = deployment.latest_status != "active";
    let modified = if finished {
        stage_start(deployment.latest_stage + 1)
    } else {
        stage_start(deployment.latest_stage)
    };
    json!({
        "id": deployment.id,
        "short_id": short_id,
        "project_id": project.id,
        "project_name": project.name,
        "environment": deployment.environment,
        "url": format!("https://{short_id}.{}.pages.dev", project.name),
        "created_on": timestamp(deployment.created_at),
        "modified_on": timestamp(modified),
        "aliases": [format!("https://{}.{}.pages.dev", branch_label(&spec.branch), project.name)],
        "is_skipped": false,
        "deployment_trigger": {
            "type": "github:push",
            "metadata": {
                "branch": spec.branch,
                "commit_hash": spec.commit_sha,
                "commit_message": spec.commit_message,
                "commit_dirty": false,
            },
        },
        "latest_stage": stage_json(deployment.latest_stage),
        "stages": stages,
        "build_config": build_config_json(),
        "env_vars": {},
        "source": source_json(project),
        "uses_functions": false,
    })
}

fn success(result: Value, result_info: Option<Value>) -> Response {
    let mut body = json!({
        "success": true,
        "errors": [],
        "messages": [],
        "result": result,
    });
    if let (Some(info), Some(object)) = (result_info, body.as_object_mut()) {
        object.insert("result_info".into(), info);
    }
    Json(body).into_response()
}

fn error_response(
    status: StatusCode,
    code: u32,
    message: &str,
    rate: RateLimitHeaders,
) -> Response {
    let body = json!({
        "success": false,
        "errors": [{ "code": code, "message": message }],
        "messages": [],
        "result": null,
    });
    rate.apply((status, Json(body)).into_response())
}

fn project_not_found(rate: RateLimitHeaders) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        8000007,
        "Project not found. The specified project name does not match any of your existing projects.",
        rate,
    )
}

fn rate_limited(rate: RateLimitHeaders, retry_after_secs: u64) -> Response {
    error_response(
        StatusCode::TOO_MANY_REQUESTS,
        971,
        "Please wait and consider throttling your request speed",
        rate.spent(retry_after_secs),
    )
}

/// An injected fault in Cloudflare's shape: 429 with `Retry-After`, 401, 503, or a 200 that
/// is not JSON.
fn fault_response(fault: &SimFault, rate: RateLimitHeaders) -> Response {
    let status = fault_status(fault);
    match fault {
        SimFault::RateLimited { retry_after_secs } => rate_limited(rate, *retry_after_secs),
        SimFault::Unauthorized => error_response(status, 10000, "Authentication error", rate),
        SimFault::ServerError => error_response(status, 10001, "An internal error occurred", rate),
        SimFault::Garbage | SimFault::Slow { .. } => rate.apply(html_page(
            "<html><body>520: Web server is returning an unknown error</body></html>",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulators::skeleton::test_kit;

    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";

    fn spec(outcome: SimOutcome, minute: i64) -> SimDeploymentSpec {
        SimDeploymentSpec {
            author: "Jane Doe".into(),
            branch: "feature/Login".into(),
            pr_number: Some(3),
            ..test_kit::spec_at(minute, outcome, test_kit::epoch_minute(minute))
        }
    }

    #[test]
    fn ready_production_deployments_become_canonical() {
        let sim = CloudflarePagesSimulator::new("tok");
        sim.add_project(ACCOUNT, "site");
        let first = sim.push_deployment(ACCOUNT, "site", "production", &spec(SimOutcome::Ready, 0));
        sim.push_deployment(ACCOUNT, "site", "production", &spec(SimOutcome::Failed, 1));
        sim.push_deployment(ACCOUNT, "site", "preview", &spec(SimOutcome::Ready, 2));
        assert_eq!(
            sim.canonical_deployment_id(ACCOUNT, "site"),
            Some(first.clone())
        );
        let second =
            sim.push_deployment(ACCOUNT, "site", "production", &spec(SimOutcome::Ready, 3));
        assert_eq!(
            sim.canonical_deployment_id(ACCOUNT, "site"),
            Some(second.clone())
        );
        assert_ne!(first[..8], second[..8], "short ids differ");
        assert_eq!(sim.canonical_deployment_id("other", "site"), None);
    }

    #[test]
    fn deployment_json_has_stages_and_trigger_metadata() {
        let sim = CloudflarePagesSimulator::new("tok");
        sim.push_deployment(ACCOUNT, "site", "preview", &spec(SimOutcome::Failed, 0));
        sim.push_deployment(ACCOUNT, "site", "preview", &spec(SimOutcome::Building, 1));
        let scenario = lock(&sim.scenario);
        let project = scenario.find_project(ACCOUNT, "site").unwrap();
        let failed = deployment_json(project, &project.deployments[0]);
        assert_eq!(failed["latest_stage"]["name"], "build");
        assert_eq!(failed["latest_stage"]["status"], "failure");
        assert_eq!(failed["stages"][0]["status"], "success");
        assert_eq!(failed["stages"][4]["status"], "idle");
        assert_eq!(failed["stages"][4]["started_on"], Value::Null);
        assert_eq!(
            failed["deployment_trigger"]["metadata"]["branch"],
            "feature/Login"
        );
        assert_eq!(failed["aliases"][0], "https://feature-login.site.pages.dev");
        assert_eq!(failed["created_on"], "2023-11-14T22:13:20.000000Z");
        let building = deployment_json(project, &project.deployments[1]);
        assert_eq!(building["latest_stage"]["status"], "active");
        assert_eq!(building["latest_stage"]["ended_on"], Value::Null);
    }

    #[test]
    fn the_rate_budget_runs_out_within_a_window() {
        let sim = CloudflarePagesSimulator::new("tok");
        sim.set_requests_per_window(1);
        assert_eq!(sim.spend_budget().retry_after_secs, None);
        let over = sim.spend_budget();
        assert_eq!(over.remaining, 0);
        assert!(over
            .retry_after_secs
            .is_some_and(|secs| (1..=300).contains(&secs)));
    }
}
