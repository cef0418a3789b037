//! The Vercel simulator: projects and their deployments behind Vercel's REST paths.
//!
//! It serves `GET /v6/deployments` (and `/v7/deployments`, the same handler), `GET
//! /v9/projects/{idOrName}` and `GET /v13/deployments/{idOrUrl}` with Vercel's payload shapes,
//! state enum, `until`-timestamp paging, `teamId` scoping and `{"error":{code,message}}` bodies,
//! so the real [`crate::providers::vercel::VercelClient`] runs against it unchanged.
//!
//! Vercel has no "superseded" state: when a newer deployment becomes live, the old one stays
//! `READY` and simply stops being the project's `targets.<environment>`.

use super::skeleton::{html_page, Simulated};
use super::{bearer_matches, fault_status, lock, sim_id};
use super::{SimDeploymentSpec, SimFault, SimOutcome, SimRollbackOutcome};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Deployments served per page when the request names no `limit`, and the most it may ask
/// for (Vercel's real maximum is UNCONFIRMED; its CLI asks for 100).
const DEFAULT_LIMIT: usize = 20;
const MAX_LIMIT: usize = 100;
/// A simulated build takes this long from creation to `ready`.
const BUILD_MILLIS: i64 = 120_000;
/// The git org the simulated repositories belong to.
const SIM_GIT_ORG: &str = "acme";

/// A stand-in for `api.vercel.com`.
pub type VercelSimulator = Simulated<Scenario>;

#[derive(Default)]
pub struct Scenario {
    /// When set, a request naming another `teamId` is refused.
    team_id: Option<String>,
    projects: Vec<SimProject>,
    /// In push order.
    deployments: Vec<SimDeployment>,
    next_seed: u64,
    plan: SimVercelPlan,
}

struct SimProject {
    id: String,
    name: String,
    /// Environment name → the id of the deployment serving it.
    targets: BTreeMap<String, String>,
    /// The last rollback's alias job.
    alias_request: Option<SimAliasRequest>,
    /// False after a rollback until the next promote (UNCONFIRMED in Vercel's docs; the
    /// simulator follows the third-party account of it).
    auto_assign_domains: bool,
    /// The production deployments that were live, oldest first (rollback targets).
    production_history: Vec<String>,
}

/// A rollback's alias job: pending until it settles on its final status.
struct SimAliasRequest {
    from: Option<String>,
    to: String,
    requested_ms: i64,
    status: &'static str,
    settles: Option<(std::time::Instant, &'static str)>,
}

/// The Vercel plan the simulated account is on (Hobby may only go back one deployment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SimVercelPlan {
    Hobby,
    #[default]
    Pro,
}

impl SimProject {
    fn new(id: &str, name: &str) -> Self {
        Self {
            id: id.to_string(),
            name: name.to_string(),
            targets: BTreeMap::new(),
            alias_request: None,
            auto_assign_domains: true,
            production_history: Vec::new(),
        }
    }

    /// Settles the alias job when its time has come: a succeeded rollback points production
    /// at its target.
    fn advance(&mut self) {
        let Some(request) = &mut self.alias_request else {
            return;
        };
        if let Some((when, status)) = request.settles {
            if when <= std::time::Instant::now() {
                request.status = status;
                request.settles = None;
                if status == "succeeded" {
                    self.targets
                        .insert("production".to_string(), request.to.clone());
                }
            }
        }
    }
}

struct SimDeployment {
    id: String,
    project_id: String,
    project_name: String,
    target: Option<String>,
    state: &'static str,
    created_ms: i64,
    ready_ms: Option<i64>,
    /// Push order, to keep equal timestamps in a stable newest-first order.
    seed: u64,
    spec: SimDeploymentSpec,
}

impl VercelSimulator {
    /// A simulator that accepts `Authorization: Bearer <token>`.
    pub fn new(token: &str) -> Self {
        Self::assemble(token, Scenario::default(), ())
    }

    /// Scopes the simulated account to a team: a request whose `teamId` names another team is
    /// refused with 403 (requests without `teamId` are served).
    pub fn set_team(&self, team_id: &str) {
        lock(&self.scenario).team_id = Some(team_id.to_string());
    }

    /// Adds a project with no deployments (a second call with the same id renames it).
    pub fn add_project(&self, project_id: &str, name: &str) {
        let mut scenario = lock(&self.scenario);
        if let Some(project) = scenario.projects.iter_mut().find(|p| p.id == project_id) {
            project.name = name.to_string();
            return;
        }
        scenario.projects.push(SimProject::new(project_id, name));
    }

    /// Which plan the account is on (default Pro).
    pub fn set_plan(&self, plan: SimVercelPlan) {
        lock(&self.scenario).plan = plan;
    }

    /// Whether new deployments get the production domains automatically.
    pub fn auto_assigns_domains(&self, project_id: &str) -> Option<bool> {
        lock(&self.scenario)
            .projects
            .iter()
            .find(|p| p.id == project_id)
            .map(|p| p.auto_assign_domains)
    }

    /// `POST /v1/projects/{id}/rollback/{deploymentId}`: Pro rolls back to any deployment that
    /// served production before; Hobby only to the one before the current.
    fn roll_back(&self, id_or_name: &str, target_id: &str) -> Result<(), Box<Response>> {
        let (outcome, settles_at) = self.rollbacks.next();
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        let plan = scenario.plan;
        let Some(project) = scenario
            .projects
            .iter_mut()
            .find(|p| p.id == id_or_name || p.name == id_or_name)
        else {
            return Err(Box::new(not_found("Project not found")));
        };
        project.advance();
        let Some(target) = scenario.deployments.iter().find(|d| d.id == target_id) else {
            return Err(Box::new(not_found(&format!(
                "Could not find the deployment: {target_id}"
            ))));
        };
        let live = project.targets.get("production").cloned();
        if target.state != "READY" || target.target.as_deref() != Some("production") {
            return Err(Box::new(error_response(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "Only ready production deployments can be rolled back to",
            )));
        }
        if live.as_deref() == Some(target_id) {
            return Err(Box::new(error_response(
                StatusCode::CONFLICT,
                "conflict",
                "This deployment is already serving production",
            )));
        }
        let position = project
            .production_history
            .iter()
            .rposition(|id| id == target_id);
        let Some(position) = position else {
            return Err(Box::new(error_response(
                StatusCode::BAD_REQUEST,
                "bad_request",
                "The deployment never served production traffic",
            )));
        };
        let previous_only = project.production_history.len().saturating_sub(2);
        if plan == SimVercelPlan::Hobby && position != previous_only {
            return Err(Box::new(error_response(
                StatusCode::PAYMENT_REQUIRED,
                "rollback_plan_limit",
                "To roll back further than the previous production deployment, upgrade to pro",
            )));
        }
        if outcome == SimRollbackOutcome::Refused
            || project
                .alias_request
                .as_ref()
                .is_some_and(|request| request.settles.is_some())
        {
            return Err(Box::new(error_response(
                StatusCode::CONFLICT,
                "conflict",
                "A promote or rollback is already in progress for this project",
            )));
        }
        let final_status = match outcome {
            SimRollbackOutcome::Fails => Some("failed"),
            SimRollbackOutcome::NeverLive => None,
            SimRollbackOutcome::GoesLive | SimRollbackOutcome::Refused => Some("succeeded"),
        };
        project.alias_request = Some(SimAliasRequest {
            from: live,
            to: target_id.to_string(),
            requested_ms: Utc::now().timestamp_millis(),
            status: "pending",
            settles: final_status.map(|status| (settles_at, status)),
        });
        project.auto_assign_domains = false;
        Ok(())
    }

    /// Adds a deployment to a project and returns its id (`dpl_…`). `target` is
    /// `Some("production")`, `Some("staging")` (or another environment), or `None` for a
    /// preview. A ready deployment with a target becomes that environment's live deployment;
    /// the one it replaces stays `READY`. An unknown project is created, named after its id.
    pub fn push_deployment(
        &self,
        project_id: &str,
        target: Option<&str>,
        spec: &SimDeploymentSpec,
    ) -> String {
        let mut scenario = lock(&self.scenario);
        scenario.next_seed += 1;
        let seed = scenario.next_seed;
        let id = sim_id("dpl_", seed, 24);
        let project_index = match scenario.projects.iter().position(|p| p.id == project_id) {
            Some(index) => index,
            None => {
                scenario
                    .projects
                    .push(SimProject::new(project_id, project_id));
                scenario.projects.len() - 1
            }
        };
        let created_ms = spec.created_at.timestamp_millis();
        let state = match spec.outcome {
            SimOutcome::Ready => "READY",
            SimOutcome::Failed => "ERROR",
            SimOutcome::Building => "BUILDING",
            SimOutcome::Canceled => "CANCELED",
        };
        let project = &mut scenario.projects[project_index];
        if let (SimOutcome::Ready, Some(target)) = (spec.outcome, target) {
            project.targets.insert(target.to_string(), id.clone());
            if target == "production" {
                project.production_history.push(id.clone());
            }
        }
        let deployment = SimDeployment {
            id: id.clone(),
            project_id: project.id.clone(),
            project_name: project.name.clone(),
            target: target.map(str::to_string),
            state,
            created_ms,
            ready_ms: (spec.outcome == SimOutcome::Ready).then_some(created_ms + BUILD_MILLIS),
            seed,
            spec: spec.clone(),
        };
        scenario.deployments.push(deployment);
        id
    }

    /// The id of the deployment now serving `target` of a project, as `targets` reports it.
    pub fn live_deployment_id(&self, project_id: &str, target: &str) -> Option<String> {
        let scenario = lock(&self.scenario);
        scenario
            .projects
            .iter()
            .find(|p| p.id == project_id)?
            .targets
            .get(target)
            .cloned()
    }

    /// Routes relative to the API base (nest this under a prefix such as `/vercel`).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/v6/deployments", get(list_deployments))
            .route("/v7/deployments", get(list_deployments))
            .route("/v9/projects/{id_or_name}", get(get_project))
            .route("/v13/deployments/{id_or_url}", get(get_deployment))
            .route(
                "/v1/projects/{id_or_name}/rollback/{deployment_id}",
                post(request_rollback),
            )
            .fallback(unknown_route)
            .with_state(self)
    }

    /// What every request goes through before its handler: counting, injected faults, the
    /// token and the team scope. `Err` is the answer to send instead.
    async fn admit(
        &self,
        headers: &HeaderMap,
        query: &HashMap<String, String>,
    ) -> Result<(), Response> {
        if let Some(fault) = self.take_fault().await {
            return Err(fault_response(&fault));
        }
        if !bearer_matches(headers, &self.token) {
            // Vercel documents `forbidden` for a missing or invalid token. Whether it answers
            // 401 or 403 is UNCONFIRMED; the simulator uses 403 here and 401 for the injected
            // `Unauthorized` fault, so the client is exercised with both.
            return Err(error_response(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Not authorized",
            ));
        }
        let team = lock(&self.scenario).team_id.clone();
        if let (Some(team), Some(asked)) = (team, query.get("teamId")) {
            if *asked != team {
                return Err(error_response(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "Not authorized: Trying to access resource under scope of another team",
                ));
            }
        }
        Ok(())
    }
}

type SimState = State<Arc<VercelSimulator>>;

async fn list_deployments(
    State(sim): SimState,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(refusal) = sim.admit(&headers, &query).await {
        return refusal;
    }
    let limit = match query.get("limit").map(|value| value.parse::<usize>()) {
        None => DEFAULT_LIMIT,
        Some(Ok(limit)) => limit.clamp(1, MAX_LIMIT),
        Some(Err(_)) => return bad_request("Invalid query: `limit` must be a number"),
    };
    let mut bounds = [None, None];
    for (slot, name) in bounds.iter_mut().zip(["until", "since"]) {
        match query.get(name).map(|value| value.parse::<i64>()) {
            None => {}
            Some(Ok(millis)) => *slot = Some(millis),
            Some(Err(_)) => {
                return bad_request(&format!("Invalid query: `{name}` must be a timestamp"))
            }
        }
    }
    let [until, since] = bounds;

    let scenario = lock(&sim.scenario);
    let project_id = match query.get("projectId") {
        None => None,
        Some(id_or_name) => match scenario.find_project(id_or_name) {
            Some(project) => Some(project.id.clone()),
            None => return not_found("Project not found"),
        },
    };
    let mut matching: Vec<&SimDeployment> = scenario
        .deployments
        .iter()
        .filter(|d| project_id.as_ref().is_none_or(|id| d.project_id == *id))
        .filter(|d| {
            query
                .get("target")
                .is_none_or(|t| d.target.as_ref() == Some(t))
        })
        .filter(|d| until.is_none_or(|until| d.created_ms < until))
        .filter(|d| since.is_none_or(|since| d.created_ms > since))
        .collect();
    matching.sort_by_key(|d| std::cmp::Reverse((d.created_ms, d.seed)));
    let more = matching.len() > limit;
    matching.truncate(limit);

    let deployments: Vec<Value> = matching
        .iter()
        .map(|d| deployment_json(d, &scenario, IdField::Uid))
        .collect();
    let pagination = json!({
        "count": deployments.len(),
        "next": if more { matching.last().map(|d| d.created_ms) } else { None },
        "prev": matching.first().map(|d| d.created_ms),
    });
    Json(json!({ "pagination": pagination, "deployments": deployments })).into_response()
}

async fn get_project(
    State(sim): SimState,
    Path(id_or_name): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(refusal) = sim.admit(&headers, &query).await {
        return refusal;
    }
    let mut scenario = lock(&sim.scenario);
    if let Some(project) = scenario
        .projects
        .iter_mut()
        .find(|p| p.id == id_or_name || p.name == id_or_name)
    {
        project.advance();
    }
    let Some(project) = scenario.find_project(&id_or_name) else {
        return not_found("Project not found");
    };
    let mut targets = Map::new();
    for (environment, deployment_id) in &project.targets {
        if let Some(deployment) = scenario.deployments.iter().find(|d| d.id == *deployment_id) {
            targets.insert(environment.clone(), target_summary_json(deployment));
        }
    }
    Json(json!({
        "id": project.id,
        "name": project.name,
        "accountId": scenario.team_id.clone().unwrap_or_else(|| "sim_user".into()),
        "framework": "nextjs",
        "autoAssignCustomDomains": project.auto_assign_domains,
        "targets": targets,
        "lastAliasRequest": project.alias_request.as_ref().map(|request| json!({
            "fromDeploymentId": request.from,
            "toDeploymentId": request.to,
            "jobStatus": request.status,
            "requestedAt": request.requested_ms,
            "type": "rollback",
        })),
    }))
    .into_response()
}

async fn request_rollback(
    State(sim): SimState,
    Path((id_or_name, deployment_id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(refusal) = sim.admit(&headers, &query).await {
        return refusal;
    }
    match sim.roll_back(&id_or_name, &deployment_id) {
        // 201 with an empty body, as documented.
        Ok(()) => StatusCode::CREATED.into_response(),
        Err(refusal) => *refusal,
    }
}

async fn get_deployment(
    State(sim): SimState,
    Path(id_or_url): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Err(refusal) = sim.admit(&headers, &query).await {
        return refusal;
    }
    let scenario = lock(&sim.scenario);
    // v13 looks a deployment up by id or by its URL (with or without the scheme).
    let host = id_or_url.trim_start_matches("https://");
    let found = scenario
        .deployments
        .iter()
        .find(|d| d.id == id_or_url || deployment_host(d) == host);
    match found {
        Some(deployment) => {
            Json(deployment_json(deployment, &scenario, IdField::Id)).into_response()
        }
        None => not_found(&format!("Could not find the deployment: {id_or_url}")),
    }
}

async fn unknown_route() -> Response {
    not_found("The requested endpoint was not found")
}

impl Scenario {
    fn find_project(&self, id_or_name: &str) -> Option<&SimProject> {
        self.projects
            .iter()
            .find(|p| p.id == id_or_name)
            .or_else(|| self.projects.iter().find(|p| p.name == id_or_name))
    }
}

/// The list sends the id as `uid`; the v13 detail endpoint sends it as `id`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum IdField {
    Uid,
    Id,
}

fn deployment_host(deployment: &SimDeployment) -> String {
    let suffix = deployment.id.trim_start_matches("dpl_");
    let short = &suffix[suffix.len().saturating_sub(9)..];
    format!("{}-{short}.vercel.app", deployment.project_name)
}

fn creator_json(spec: &SimDeploymentSpec) -> Value {
    let username: String = spec
        .author
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    json!({
        "uid": format!("usr_{username}"),
        "username": username,
        "email": format!("{username}@example.com"),
        "githubLogin": username,
    })
}

fn meta_json(deployment: &SimDeployment) -> Value {
    let spec = &deployment.spec;
    let mut meta = json!({
        "githubCommitSha": spec.commit_sha,
        "githubCommitMessage": spec.commit_message,
        "githubCommitRef": spec.branch,
        "githubCommitAuthorName": spec.author,
        "githubOrg": SIM_GIT_ORG,
        "githubRepo": deployment.project_name,
        "githubCommitOrg": SIM_GIT_ORG,
        "githubCommitRepo": deployment.project_name,
    });
    // `githubPrId` is the key the client reads for the PR number (UNCONFIRMED in the contract).
    if let (Some(pr), Some(meta)) = (spec.pr_number, meta.as_object_mut()) {
        meta.insert("githubPrId".into(), Value::String(pr.to_string()));
    }
    meta
}

/// One deployment in the list/detail shape.
fn deployment_json(deployment: &SimDeployment, scenario: &Scenario, id_field: IdField) -> Value {
    let is_live = deployment.target.as_ref().is_some_and(|target| {
        scenario
            .find_project(&deployment.project_id)
            .and_then(|project| project.targets.get(target))
            == Some(&deployment.id)
    });
    let mut body = json!({
        "name": deployment.project_name,
        "projectId": deployment.project_id,
        "url": deployment_host(deployment),
        "created": deployment.created_ms,
        "createdAt": deployment.created_ms,
        "buildingAt": deployment.created_ms + 5_000,
        "source": "git",
        "state": deployment.state,
        "readyState": deployment.state,
        "type": "LAMBDAS",
        "target": deployment.target,
        "creator": creator_json(&deployment.spec),
        "meta": meta_json(deployment),
        "inspectorUrl": format!(
            "https://vercel.com/{SIM_GIT_ORG}/{}/{}",
            deployment.project_name,
            deployment.id.trim_start_matches("dpl_")
        ),
        "aliasAssigned": is_live,
        "isRollbackCandidate": deployment.state == "READY"
            && deployment.target.as_deref() == Some("production"),
    });
    if let Some(object) = body.as_object_mut() {
        let id_key = match id_field {
            IdField::Uid => "uid",
            IdField::Id => "id",
        };
        object.insert(id_key.into(), Value::String(deployment.id.clone()));
        if let Some(ready) = deployment.ready_ms {
            object.insert("ready".into(), json!(ready));
            // "PROMOTED: has seen production traffic" — it stays so after being replaced.
            let substate = if deployment.target.as_deref() == Some("production") {
                "PROMOTED"
            } else {
                "STAGED"
            };
            object.insert("readySubstate".into(), json!(substate));
        }
        if deployment.state == "ERROR" {
            object.insert("errorCode".into(), json!("BUILD_FAILED"));
            object.insert(
                "errorMessage".into(),
                json!("Command \"npm run build\" exited with 1"),
            );
        }
    }
    body
}

/// The summary a project's `targets.<environment>` holds.
fn target_summary_json(deployment: &SimDeployment) -> Value {
    let host = deployment_host(deployment);
    json!({
        "id": deployment.id,
        "url": host,
        "alias": [format!("{}.example.com", deployment.project_name)],
        "createdAt": deployment.created_ms,
        "createdIn": "sfo1",
        "creator": creator_json(&deployment.spec),
        "deploymentHostname": host.trim_end_matches(".vercel.app"),
        "name": deployment.project_name,
        "plan": "pro",
        "private": true,
        "readyState": deployment.state,
        "readySubstate": "PROMOTED",
        "target": deployment.target,
        "type": "LAMBDAS",
        "meta": meta_json(deployment),
    })
}

fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

fn not_found(message: &str) -> Response {
    error_response(StatusCode::NOT_FOUND, "not_found", message)
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, "bad_request", message)
}

/// An injected fault in Vercel's shape: 429 with `Retry-After` and the `rate_limited` body
/// (with its `limit` object), 401 `forbidden`, 5xx `internal_server_error`, or a 200 that is
/// not JSON.
fn fault_response(fault: &SimFault) -> Response {
    let status = fault_status(fault);
    match fault {
        SimFault::RateLimited { retry_after_secs } => {
            let reset_ms = Utc::now().timestamp_millis() + (*retry_after_secs as i64) * 1000;
            let body = json!({
                "error": {
                    "code": "rate_limited",
                    "message": format!(
                        "The rate limit of 1000 exceeded for 'api-deployments-list'. \
                         Try again in {retry_after_secs} seconds"
                    ),
                    "limit": {
                        "remaining": 0,
                        "reset": reset_ms / 1000,
                        "resetMs": reset_ms,
                        "total": 1000,
                    },
                }
            });
            let mut response = (status, Json(body)).into_response();
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            response
        }
        SimFault::Unauthorized => error_response(status, "forbidden", "Not authorized"),
        SimFault::ServerError => error_response(
            status,
            "internal_server_error",
            "An unexpected internal error occurred",
        ),
        SimFault::Garbage | SimFault::Slow { .. } => {
            html_page("<html><body>An error occurred with your deployment</body></html>")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulators::skeleton::test_kit::{self, epoch_minute as at};

    fn spec(outcome: SimOutcome, minute: i64) -> SimDeploymentSpec {
        SimDeploymentSpec {
            author: "Jane Doe".into(),
            ..test_kit::spec_at(minute, outcome, at(minute))
        }
    }

    #[test]
    fn ready_deployments_move_the_target_and_failed_ones_do_not() {
        let sim = VercelSimulator::new("tok");
        sim.add_project("prj_1", "docs");
        let first = sim.push_deployment("prj_1", Some("production"), &spec(SimOutcome::Ready, 0));
        assert!(first.starts_with("dpl_"));
        assert_eq!(
            sim.live_deployment_id("prj_1", "production"),
            Some(first.clone())
        );
        sim.push_deployment("prj_1", Some("production"), &spec(SimOutcome::Failed, 1));
        assert_eq!(sim.live_deployment_id("prj_1", "production"), Some(first));
        let second = sim.push_deployment("prj_1", Some("production"), &spec(SimOutcome::Ready, 2));
        assert_eq!(sim.live_deployment_id("prj_1", "production"), Some(second));
        sim.push_deployment("prj_1", None, &spec(SimOutcome::Ready, 3));
        assert_eq!(sim.live_deployment_id("prj_1", "preview"), None);
    }

    #[test]
    fn deployment_json_has_the_documented_fields() {
        let sim = VercelSimulator::new("tok");
        sim.add_project("prj_1", "docs");
        let mut preview = spec(SimOutcome::Failed, 0);
        preview.pr_number = Some(7);
        sim.push_deployment("prj_1", None, &preview);
        let scenario = lock(&sim.scenario);
        let body = deployment_json(&scenario.deployments[0], &scenario, IdField::Uid);
        assert_eq!(body["readyState"], "ERROR");
        assert_eq!(body["target"], Value::Null);
        assert_eq!(body["meta"]["githubPrId"], "7");
        assert_eq!(body["createdAt"], at(0).timestamp_millis());
        assert!(body.get("ready").is_none());
        assert!(body["uid"].as_str().unwrap().starts_with("dpl_"));
        assert!(body["url"].as_str().unwrap().starts_with("docs-"));
    }
}
