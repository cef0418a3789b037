//! The `/_control` API tests and the browser tests use to change the running demo: new
//! deployments, provider faults, rollback behaviour and health answers.

use super::simulators::{Simulators, Sink};
use crate::simulators::health::SimHealthEndpoint;
use crate::simulators::{SimDeploymentSpec, SimFault, SimOutcome, SimRollbackOutcome};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// Which branch a control deployment is of.
#[derive(Clone, Copy, Debug)]
pub(super) enum BranchRule {
    /// The request's branch, else this one.
    Any(&'static str),
    /// Always this branch (a branch that is an environment, e.g. Netlify's `staging`); a
    /// request naming another branch does not match.
    Fixed(&'static str),
    /// Only requests that name this branch (a PR environment).
    Only(&'static str),
}

impl BranchRule {
    /// The branch to deploy, or `None` when the request does not match this rule.
    fn branch(self, requested: Option<&str>) -> Option<String> {
        match (self, requested) {
            (Self::Any(default), requested) => Some(requested.unwrap_or(default).to_string()),
            (Self::Fixed(branch), None) => Some(branch.to_string()),
            (Self::Fixed(branch) | Self::Only(branch), Some(requested)) => {
                (requested == branch).then(|| branch.to_string())
            }
            (Self::Only(_), None) => None,
        }
    }
}

/// One `(service, environment)` the control API can deploy to.
#[derive(Clone, Copy, Debug)]
pub(super) struct DeployRoute {
    service: &'static str,
    /// `production`, `staging` or `preview`.
    environment: &'static str,
    branch: BranchRule,
    sink: Sink,
}

pub(super) const fn route(
    service: &'static str,
    environment: &'static str,
    branch: BranchRule,
    sink: Sink,
) -> DeployRoute {
    DeployRoute {
        service,
        environment,
        branch,
        sink,
    }
}

/// Where a deployment of `service` in `environment` (from `branch`, if named) goes, and the
/// branch it is of; `None` when no route takes it.
pub(super) fn resolve(
    routes: &[DeployRoute],
    service: &str,
    environment: &str,
    branch: Option<&str>,
) -> Option<(Sink, String)> {
    routes.iter().find_map(|route| {
        if route.service != service || route.environment != environment {
            return None;
        }
        Some((route.sink, route.branch.branch(branch)?))
    })
}

struct Control {
    sims: Simulators,
    routes: &'static [DeployRoute],
}

/// The `/_control` routes over `sims`, deploying along `routes`.
pub(super) fn control_router(sims: Simulators, routes: &'static [DeployRoute]) -> Router {
    Router::new()
        .route("/_control/deploy", post(control_deploy))
        .route("/_control/fault", post(control_fault))
        .route("/_control/health", post(control_health))
        .route("/_control/rollback", post(control_rollback))
        .with_state(Arc::new(Control { sims, routes }))
}

/// `POST /_control/deploy`: a new deployment of a demo service.
#[derive(Deserialize)]
struct DeployRequest {
    service: String,
    /// `production`, `staging`, or `preview` (then `branch` and `pr_number` say which).
    environment: String,
    commit_sha: String,
    message: String,
    author: String,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    pr_number: Option<u32>,
    outcome: SimOutcome,
}

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"error": message.into()})),
    )
        .into_response()
}

async fn control_deploy(
    State(control): State<Arc<Control>>,
    Json(request): Json<DeployRequest>,
) -> Response {
    let found = resolve(
        control.routes,
        &request.service,
        &request.environment,
        request.branch.as_deref(),
    );
    let Some((sink, branch)) = found else {
        return bad_request(format!(
            "the demo has no {} deployments in {}",
            request.service, request.environment
        ));
    };
    let spec = SimDeploymentSpec {
        commit_sha: request.commit_sha,
        commit_message: request.message,
        author: request.author,
        branch,
        pr_number: request.pr_number,
        outcome: request.outcome,
        created_at: Utc::now(),
    };
    let id = control.sims.push(sink, &spec);
    Json(serde_json::json!({"id": id})).into_response()
}

/// `POST /_control/fault`: make a provider simulator fail (`"once": true` for one request).
#[derive(Deserialize)]
struct FaultRequest {
    /// A `[providers]` key of the demo config (`vercel`, `netlify`, `cloudflare`, …).
    provider: String,
    /// `null` clears every fault of the provider.
    fault: Option<SimFault>,
    #[serde(default)]
    once: bool,
}

async fn control_fault(
    State(control): State<Arc<Control>>,
    Json(request): Json<FaultRequest>,
) -> Response {
    let Some(faults) = control.sims.faults(&request.provider) else {
        return bad_request(format!("unknown provider `{}`", request.provider));
    };
    match (request.fault, request.once) {
        (None, _) => faults.clear(),
        (Some(fault), true) => faults.push_once(fault),
        (Some(fault), false) => faults.set_sticky(fault),
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_control/rollback`: how a provider simulator treats the next rollbacks.
#[derive(Deserialize)]
struct RollbackBehaviourRequest {
    provider: String,
    outcome: SimRollbackOutcome,
    /// How long an accepted rollback takes to settle (default 1.5 s).
    #[serde(default = "default_settle_millis")]
    settle_millis: u64,
}

fn default_settle_millis() -> u64 {
    1500
}

async fn control_rollback(
    State(control): State<Arc<Control>>,
    Json(request): Json<RollbackBehaviourRequest>,
) -> Response {
    let Some(rollbacks) = control.sims.rollbacks(&request.provider) else {
        return bad_request(format!(
            "unknown provider `{}` (or one without rollback)",
            request.provider
        ));
    };
    rollbacks.set(
        request.outcome,
        Duration::from_millis(request.settle_millis),
    );
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_control/health`: how a demo health endpoint answers from now on.
#[derive(Deserialize)]
struct HealthRequest {
    service: String,
    environment: String,
    #[serde(flatten)]
    endpoint: SimHealthEndpoint,
}

async fn control_health(
    State(control): State<Arc<Control>>,
    Json(request): Json<HealthRequest>,
) -> Response {
    control.sims.health.set_endpoint(
        &format!("{}/{}", request.service, request.environment),
        request.endpoint,
    );
    StatusCode::NO_CONTENT.into_response()
}
