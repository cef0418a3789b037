//! Demo mode: the provider simulators on one loopback server, seeded with a small product
//! (web on Vercel, api on Render, worker on Railway, db health-checked over HTTP) across
//! production, staging and two pull-request previews, plus the config that points the real
//! clients at them. Tests and the browser tests use the same world and its `/_control` API.

use crate::config::{self, Config, ConfigErrors};
use crate::simulators::health::{HealthSimulator, SimHealthEndpoint};
use crate::simulators::railway::RailwaySimulator;
use crate::simulators::render::RenderSimulator;
use crate::simulators::vercel::VercelSimulator;
use crate::simulators::{SimDeploymentSpec, SimFault, SimOutcome};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const VERCEL_TOKEN: &str = "demo-vercel-token";
const RENDER_TOKEN: &str = "demo-render-token";
const RAILWAY_TOKEN: &str = "demo-railway-token";

const WEB_PROJECT: &str = "prj_demoWeb01";
const API_PRODUCTION: &str = "srv-demoapiprod01";
const API_STAGING: &str = "srv-demoapistag01";
const RAILWAY_PROJECT: &str = "7f3c2a10-0000-4000-8000-00000000d001";
const WORKER_SERVICE: &str = "7f3c2a10-0000-4000-8000-00000000d002";
const RAILWAY_PRODUCTION: &str = "7f3c2a10-0000-4000-8000-0000000e0001";
const RAILWAY_STAGING: &str = "7f3c2a10-0000-4000-8000-0000000e0002";
const RAILWAY_PR_42: &str = "7f3c2a10-0000-4000-8000-0000000e0042";
const RAILWAY_PR_57: &str = "7f3c2a10-0000-4000-8000-0000000e0057";

/// The demo's store file inside the data dir; replaced at every demo start.
pub const DEMO_DATABASE: &str = "demo.db";

const PREVIEW_CHECKOUT: (&str, u32) = ("feature/checkout-redesign", 42);
const PREVIEW_LOGIN: (&str, u32) = ("fix/login-timeout", 57);

/// The running simulators.
pub struct DemoWorld {
    pub vercel: Arc<VercelSimulator>,
    pub render: Arc<RenderSimulator>,
    pub railway: Arc<RailwaySimulator>,
    pub health: Arc<HealthSimulator>,
    /// `http://127.0.0.1:PORT` of the simulator server.
    pub base_url: String,
    task: JoinHandle<()>,
}

impl Drop for DemoWorld {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DemoWorld {
    /// Seeds the scenario and serves the simulators on `listener` (loopback).
    pub async fn start(listener: TcpListener) -> std::io::Result<Self> {
        let address: SocketAddr = listener.local_addr()?;
        let world = Seeded::new(Utc::now());
        let control = Arc::new(Control {
            vercel: world.vercel.clone(),
            render: world.render.clone(),
            railway: world.railway.clone(),
            health: world.health.clone(),
        });
        let control_routes = Router::new()
            .route("/_control/deploy", post(control_deploy))
            .route("/_control/fault", post(control_fault))
            .route("/_control/health", post(control_health))
            .with_state(control);
        let app = Router::new()
            .nest("/vercel", world.vercel.clone().router())
            .nest("/render/v1", world.render.clone().router())
            .nest("/railway", world.railway.clone().router())
            .nest("/health", world.health.clone().router())
            .merge(control_routes);
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "demo simulators stopped");
            }
        });
        Ok(Self {
            vercel: world.vercel,
            render: world.render,
            railway: world.railway,
            health: world.health,
            base_url: format!("http://{address}"),
            task,
        })
    }

    /// The demo's config text (the same format a user writes), pointing at the simulators.
    pub fn config_text(&self, poll_interval: Duration) -> String {
        demo_config_text(&self.base_url, poll_interval)
    }

    /// The validated demo config, keeping its store in `data_dir/demo.db`; demo tokens are
    /// supplied here, never from the environment.
    pub fn config(
        &self,
        poll_interval: Duration,
        data_dir: &Path,
        env: config::EnvLookup<'_>,
    ) -> Result<Config, ConfigErrors> {
        let store_url = format!("sqlite://{}", data_dir.join(DEMO_DATABASE).display());
        let lookup = |name: &str| match name {
            "LOOKOUT_DEMO_VERCEL_TOKEN" => Some(VERCEL_TOKEN.to_string()),
            "LOOKOUT_DEMO_RENDER_TOKEN" => Some(RENDER_TOKEN.to_string()),
            "LOOKOUT_DEMO_RAILWAY_TOKEN" => Some(RAILWAY_TOKEN.to_string()),
            // The demo keeps its own store, whatever DATABASE_URL says.
            "DATABASE_URL" => Some(store_url.clone()),
            other => env(other),
        };
        let mut config = config::parse(&self.config_text(poll_interval), "demo", &lookup)?;
        config.demo = true;
        Ok(config)
    }
}

fn demo_config_text(base: &str, poll_interval: Duration) -> String {
    let poll = poll_interval.as_secs().max(1);
    format!(
        r#"# Demo mode: every provider below is a local simulator.
[monitor]
poll_interval_secs = {poll}
health_interval_secs = {poll}
history_depth = 20

[[environments]]
name = "production"
kind = "production"

[[environments]]
name = "staging"
kind = "staging"

[providers.vercel]
kind = "vercel"
token_env = "LOOKOUT_DEMO_VERCEL_TOKEN"
api_base = "{base}/vercel"

[providers.render]
kind = "render"
token_env = "LOOKOUT_DEMO_RENDER_TOKEN"
api_base = "{base}/render/v1"

[providers.railway]
kind = "railway"
token_env = "LOOKOUT_DEMO_RAILWAY_TOKEN"
api_base = "{base}/railway/graphql/v2"

[[services]]
name = "web"
provider = "vercel"
project = "{WEB_PROJECT}"
previews = true

[services.environments.production]
target = "production"
url = "https://shop.example.com"
health = {{ url = "{base}/health/web/production", json_pointer = "/status", expect_value = "ok" }}

[services.environments.staging]
target = "staging"
url = "https://staging.shop.example.com"
health = {{ url = "{base}/health/web/staging", json_pointer = "/status", expect_value = "ok" }}

[[services]]
name = "api"
provider = "render"

[services.environments.production]
service_id = "{API_PRODUCTION}"
url = "https://api.shop.example.com"
health = {{ url = "{base}/health/api/production", json_pointer = "/status", expect_value = "ok", degraded_latency_ms = 800 }}

[services.environments.staging]
service_id = "{API_STAGING}"
url = "https://api.staging.shop.example.com"
health = {{ url = "{base}/health/api/staging", json_pointer = "/status", expect_value = "ok" }}

[[services]]
name = "worker"
provider = "railway"
project_id = "{RAILWAY_PROJECT}"
service_id = "{WORKER_SERVICE}"
previews = true

[services.environments.production]
environment_id = "{RAILWAY_PRODUCTION}"
health = {{ url = "{base}/health/worker/production", expect_status = 200 }}

[services.environments.staging]
environment_id = "{RAILWAY_STAGING}"

[[services]]
name = "db"
provider = "http"

[services.environments.production]
health = {{ url = "{base}/health/db/production", json_pointer = "/status", expect_value = "ok" }}

[services.environments.staging]
health = {{ url = "{base}/health/db/staging", json_pointer = "/status", expect_value = "ok" }}
"#
    )
}

struct Seeded {
    vercel: Arc<VercelSimulator>,
    render: Arc<RenderSimulator>,
    railway: Arc<RailwaySimulator>,
    health: Arc<HealthSimulator>,
}

fn spec(
    now: DateTime<Utc>,
    minutes_ago: i64,
    sha: &str,
    message: &str,
    author: &str,
    branch: &str,
    outcome: SimOutcome,
) -> SimDeploymentSpec {
    SimDeploymentSpec {
        commit_sha: sha.to_string(),
        commit_message: message.to_string(),
        author: author.to_string(),
        branch: branch.to_string(),
        pr_number: None,
        outcome,
        created_at: now - ChronoDuration::minutes(minutes_ago),
    }
}

fn preview(mut spec: SimDeploymentSpec, pr_number: u32) -> SimDeploymentSpec {
    spec.pr_number = Some(pr_number);
    spec
}

impl Seeded {
    /// The demo's story: production is degraded (the api's health check reports a slow
    /// database), staging's latest api build failed, two PR previews are up or building.
    fn new(now: DateTime<Utc>) -> Self {
        use SimOutcome::{Building, Failed, Ready};
        let vercel = Arc::new(VercelSimulator::new(VERCEL_TOKEN));
        vercel.add_project(WEB_PROJECT, "web");
        let web_history = [
            (
                4320,
                "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
                "Add order history page",
                "Maya Chen",
                Ready,
            ),
            (
                1500,
                "8b1e4d7a2c5f9e3b6a0d4c7f1e5b8a2d6c9f3e70",
                "Upgrade Next.js to 15.3",
                "Tom Okafor",
                Ready,
            ),
            (
                190,
                "c4d9e2f7a1b6c3d8e5f0a7b2c9d4e1f6a3b8c5d2",
                "Cache product images at the edge",
                "Maya Chen",
                Ready,
            ),
        ];
        for (minutes, sha, message, author, outcome) in web_history {
            vercel.push_deployment(
                WEB_PROJECT,
                Some("production"),
                &spec(now, minutes, sha, message, author, "main", outcome),
            );
        }
        vercel.push_deployment(
            WEB_PROJECT,
            Some("staging"),
            &spec(
                now,
                95,
                "e7f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9",
                "Try new checkout copy",
                "Priya Raman",
                "develop",
                Ready,
            ),
        );
        vercel.push_deployment(
            WEB_PROJECT,
            None,
            &preview(
                spec(
                    now,
                    42,
                    "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
                    "Redesign checkout summary",
                    "Priya Raman",
                    PREVIEW_CHECKOUT.0,
                    Ready,
                ),
                PREVIEW_CHECKOUT.1,
            ),
        );
        vercel.push_deployment(
            WEB_PROJECT,
            None,
            &preview(
                spec(
                    now,
                    3,
                    "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f",
                    "Raise login session timeout",
                    "Sam Lee",
                    PREVIEW_LOGIN.0,
                    Building,
                ),
                PREVIEW_LOGIN.1,
            ),
        );

        let render = Arc::new(RenderSimulator::new(RENDER_TOKEN));
        render.add_service(API_PRODUCTION, "api");
        render.add_service(API_STAGING, "api-staging");
        let api_history = [
            (
                5000,
                "0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796",
                "Paginate /orders",
                "Jonas Weber",
                Ready,
            ),
            (
                2900,
                "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b",
                "Add idempotency keys to payments",
                "Jonas Weber",
                Ready,
            ),
            (
                220,
                "f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d",
                "Move order totals to a materialized view",
                "Ana Souza",
                Ready,
            ),
        ];
        for (minutes, sha, message, author, outcome) in api_history {
            render.push_deployment(
                API_PRODUCTION,
                &spec(now, minutes, sha, message, author, "main", outcome),
            );
        }
        render.push_deployment(
            API_STAGING,
            &spec(
                now,
                300,
                "f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d",
                "Move order totals to a materialized view",
                "Ana Souza",
                "develop",
                Ready,
            ),
        );
        render.push_deployment(
            API_STAGING,
            &spec(
                now,
                25,
                "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
                "Switch to connection pooler",
                "Ana Souza",
                "develop",
                Failed,
            ),
        );

        let railway = Arc::new(RailwaySimulator::new(RAILWAY_TOKEN));
        railway.add_project(RAILWAY_PROJECT);
        railway.add_environment(RAILWAY_PROJECT, RAILWAY_PRODUCTION, "production", false);
        railway.add_environment(RAILWAY_PROJECT, RAILWAY_STAGING, "staging", false);
        railway.add_environment(RAILWAY_PROJECT, RAILWAY_PR_42, "worker-pr-42", true);
        railway.add_environment(RAILWAY_PROJECT, RAILWAY_PR_57, "worker-pr-57", true);
        railway.add_service(RAILWAY_PROJECT, WORKER_SERVICE, "worker");
        let worker_history = [
            (
                3000,
                "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e",
                "Retry failed webhooks with backoff",
                "Tom Okafor",
                Ready,
            ),
            (
                400,
                "6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
                "Send order emails in batches",
                "Sam Lee",
                Ready,
            ),
        ];
        for (minutes, sha, message, author, outcome) in worker_history {
            railway.push_deployment(
                WORKER_SERVICE,
                RAILWAY_PRODUCTION,
                &spec(now, minutes, sha, message, author, "main", outcome),
            );
        }
        railway.push_deployment(
            WORKER_SERVICE,
            RAILWAY_STAGING,
            &spec(
                now,
                60,
                "6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
                "Send order emails in batches",
                "Sam Lee",
                "develop",
                Ready,
            ),
        );
        railway.push_deployment(
            WORKER_SERVICE,
            RAILWAY_PR_42,
            &preview(
                spec(
                    now,
                    40,
                    "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
                    "Redesign checkout summary",
                    "Priya Raman",
                    PREVIEW_CHECKOUT.0,
                    Ready,
                ),
                PREVIEW_CHECKOUT.1,
            ),
        );
        railway.push_deployment(
            WORKER_SERVICE,
            RAILWAY_PR_57,
            &preview(
                spec(
                    now,
                    2,
                    "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f",
                    "Raise login session timeout",
                    "Sam Lee",
                    PREVIEW_LOGIN.0,
                    Building,
                ),
                PREVIEW_LOGIN.1,
            ),
        );

        let health = Arc::new(HealthSimulator::new());
        for endpoint in [
            "web/production",
            "web/staging",
            "api/staging",
            "worker/production",
            "db/production",
            "db/staging",
        ] {
            health.set_endpoint(endpoint, SimHealthEndpoint::ok());
        }
        health.set_endpoint(
            "api/production",
            SimHealthEndpoint {
                status: 200,
                body: serde_json::json!({"status": "degraded", "checks": {"database": "slow queries"}}),
                delay_ms: 0,
            },
        );
        Self {
            vercel,
            render,
            railway,
            health,
        }
    }
}

struct Control {
    vercel: Arc<VercelSimulator>,
    render: Arc<RenderSimulator>,
    railway: Arc<RailwaySimulator>,
    health: Arc<HealthSimulator>,
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
    let branch = request.branch.clone().unwrap_or_else(|| "main".to_string());
    let spec = SimDeploymentSpec {
        commit_sha: request.commit_sha,
        commit_message: request.message,
        author: request.author,
        branch: branch.clone(),
        pr_number: request.pr_number,
        outcome: request.outcome,
        created_at: Utc::now(),
    };
    let id =
        match (request.service.as_str(), request.environment.as_str()) {
            ("web", "production" | "staging") => {
                control
                    .vercel
                    .push_deployment(WEB_PROJECT, Some(&request.environment), &spec)
            }
            ("web", "preview") => control.vercel.push_deployment(WEB_PROJECT, None, &spec),
            ("api", "production") => control.render.push_deployment(API_PRODUCTION, &spec),
            ("api", "staging") => control.render.push_deployment(API_STAGING, &spec),
            ("worker", "production") => {
                control
                    .railway
                    .push_deployment(WORKER_SERVICE, RAILWAY_PRODUCTION, &spec)
            }
            ("worker", "staging") => {
                control
                    .railway
                    .push_deployment(WORKER_SERVICE, RAILWAY_STAGING, &spec)
            }
            ("worker", "preview") if branch == PREVIEW_CHECKOUT.0 => control
                .railway
                .push_deployment(WORKER_SERVICE, RAILWAY_PR_42, &spec),
            ("worker", "preview") if branch == PREVIEW_LOGIN.0 => {
                control
                    .railway
                    .push_deployment(WORKER_SERVICE, RAILWAY_PR_57, &spec)
            }
            (service, environment) => {
                return bad_request(format!(
                    "the demo has no {service} deployments in {environment}"
                ))
            }
        };
    Json(serde_json::json!({"id": id})).into_response()
}

/// `POST /_control/fault`: make a provider simulator fail (`"once": true` for one request).
#[derive(Deserialize)]
struct FaultRequest {
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
    let faults = match request.provider.as_str() {
        "vercel" => &control.vercel.faults,
        "render" => &control.render.faults,
        "railway" => &control.railway.faults,
        other => return bad_request(format!("unknown provider `{other}`")),
    };
    match (request.fault, request.once) {
        (None, _) => faults.clear(),
        (Some(fault), true) => faults.push_once(fault),
        (Some(fault), false) => faults.set_sticky(fault),
    }
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
    control.health.set_endpoint(
        &format!("{}/{}", request.service, request.environment),
        request.endpoint,
    );
    StatusCode::NO_CONTENT.into_response()
}

/// Removes the previous demo store so every demo starts from the same story.
pub fn reset_demo_store(data_dir: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let path = data_dir.join(format!("{DEMO_DATABASE}{suffix}"));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// A week of simulated health-check history for the demo's services, so uptime figures and
/// latency sparklines have something to show: mostly up, a short outage of the api two days
/// ago, and the api's latency climbing over the last hours (the degradation on the page).
pub async fn seed_health_history(
    store: &dyn crate::store::Store,
    now: chrono::DateTime<Utc>,
) -> Result<(), crate::store::StoreError> {
    use crate::store::HealthSample;
    use app::model::HealthState;
    let endpoints = [
        ("web", "production", 120_u32),
        ("web", "staging", 140),
        ("api", "production", 180),
        ("api", "staging", 210),
        ("worker", "production", 60),
        ("db", "production", 15),
        ("db", "staging", 18),
    ];
    let step = ChronoDuration::minutes(15);
    let samples_per_endpoint = 7 * 24 * 4;
    for (service, environment, base_latency) in endpoints {
        let mut samples = Vec::with_capacity(samples_per_endpoint);
        for index in 0..samples_per_endpoint {
            let at = now - step * (samples_per_endpoint - index) as i32;
            let hours_ago = (now - at).num_hours();
            // A deterministic wobble so the sparkline is not flat.
            let wobble = ((index * 37) % 23) as u32 * base_latency / 40;
            let mut latency = base_latency + wobble;
            let mut state = HealthState::Up;
            if service == "api" && environment == "production" {
                if (47..=48).contains(&hours_ago) {
                    state = HealthState::Down;
                }
                if hours_ago < 6 {
                    latency += (6 - hours_ago as u32) * 90;
                    state = HealthState::Degraded;
                }
            }
            samples.push(HealthSample {
                service: service.to_string(),
                environment: environment.to_string(),
                at,
                state,
                latency_ms: (state != HealthState::Down).then_some(latency),
            });
        }
        store.record_health_samples(&samples).await?;
    }
    store
        .roll_up_and_prune(now, &crate::store::RetentionPolicy::default())
        .await?;
    Ok(())
}
