//! Supabase simulator: the Management API's `GET /v1/projects/{ref}/health?services=…` and
//! `GET /v1/projects/{ref}`, with Supabase's service names and statuses, Bearer auth,
//! `{"message"}` error bodies and `X-RateLimit-*` headers (120 requests a minute per project and
//! endpoint), plus the public Statuspage `GET /api/v2/status.json`. A client's `api_base` and
//! `status_base` are both the simulator's prefix (the paths do not overlap).
//!
//! The scenario is a set of projects, each with a lifecycle status and a status per service,
//! and one platform status. Supabase has no deployments, so there is no `push_deployment`.

use super::skeleton::{html_page, RateBudget, RateLimitHeaders, Simulated};
use super::{bearer_matches, fault_status, lock, SimFault};
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The documented `services` values, in the contract's order.
pub const SERVICES: [&str; 8] = [
    "auth",
    "db",
    "db_postgres_user",
    "pooler",
    "realtime",
    "rest",
    "storage",
    "pg_bouncer",
];
/// Supabase's documented budget: 120 requests a minute per endpoint.
const DEFAULT_REQUESTS_PER_MINUTE: u64 = 120;
/// The page a `Garbage` fault answers with.
const GARBAGE: &str = "<html><body>upstream hiccup</body></html>";
const RATE_WINDOW: Duration = Duration::from_secs(60);
/// `timeout_ms` must lie in this range (SB-SPEC).
const MAX_TIMEOUT_MS: u64 = 10_000;

/// A simulated Supabase account: projects, their service health, and the platform status.
pub type SupabaseSimulator = Simulated<Scenario, RateBudget<(String, Endpoint)>>;

#[derive(Debug)]
pub struct Scenario {
    projects: HashMap<String, SimProject>,
    platform_indicator: String,
    platform_description: String,
}

#[derive(Debug)]
struct SimProject {
    status: String,
    /// Status per service, by wire name; every documented service starts `ACTIVE_HEALTHY`.
    services: HashMap<&'static str, String>,
    created_at: DateTime<Utc>,
}

/// The Management API endpoints Supabase budgets apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Health,
    Project,
}

/// Supabase's spelling of the rate-limit values: `X-RateLimit-*`, the reset in seconds until
/// it (the contract: "seconds until the reset"), and no `Retry-After`.
trait SupabaseRateHeaders {
    fn apply(self, response: Response) -> Response;
}

impl SupabaseRateHeaders for RateLimitHeaders {
    fn apply(self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset_secs));
        response
    }
}

impl SupabaseSimulator {
    /// A simulator that accepts `token` as its access token.
    pub fn new(token: &str) -> Self {
        Self::assemble(
            token,
            Scenario {
                projects: HashMap::new(),
                platform_indicator: "none".into(),
                platform_description: "All Systems Operational".into(),
            },
            RateBudget::new(DEFAULT_REQUESTS_PER_MINUTE, RATE_WINDOW),
        )
    }

    /// Adds a project (`ACTIVE_HEALTHY`, every service `ACTIVE_HEALTHY`); an existing one is
    /// left as it is.
    pub fn add_project(&self, project_ref: &str) {
        let mut scenario = lock(&self.scenario);
        let created_at = Utc
            .with_ymd_and_hms(2025, 1, 15, 10, 0, 0)
            .single()
            .unwrap_or_else(Utc::now);
        scenario
            .projects
            .entry(project_ref.to_string())
            .or_insert_with(|| SimProject {
                status: "ACTIVE_HEALTHY".into(),
                services: SERVICES
                    .iter()
                    .map(|service| (*service, "ACTIVE_HEALTHY".to_string()))
                    .collect(),
                created_at,
            });
    }

    /// Sets one service's `status` (`ACTIVE_HEALTHY`, `COMING_UP`, `UNHEALTHY`, or any other
    /// string to play a value Supabase may add). Returns false for an unknown project or a
    /// service outside the documented list.
    pub fn set_service_health(&self, project_ref: &str, service: &str, status: &str) -> bool {
        let mut scenario = lock(&self.scenario);
        let Some(project) = scenario.projects.get_mut(project_ref) else {
            return false;
        };
        let Some(name) = SERVICES.iter().find(|name| **name == service) else {
            return false;
        };
        project.services.insert(name, status.to_string());
        true
    }

    /// Sets the project's lifecycle `status` (`INACTIVE` when paused, `RESTORING`, …).
    /// Returns false for an unknown project.
    pub fn set_project_status(&self, project_ref: &str, status: &str) -> bool {
        match lock(&self.scenario).projects.get_mut(project_ref) {
            Some(project) => {
                project.status = status.to_string();
                true
            }
            None => false,
        }
    }

    /// Sets what the status page says (`indicator`: `none`, `minor`, `major`, `critical`).
    pub fn set_platform_status(&self, indicator: &str, description: &str) {
        let mut scenario = lock(&self.scenario);
        scenario.platform_indicator = indicator.to_string();
        scenario.platform_description = description.to_string();
    }

    /// How many requests per minute each (project, endpoint) gets before a 429 (default 120).
    pub fn set_requests_per_minute(&self, per_minute: u64) {
        self.budget.set_limit(per_minute);
        self.budget.clear();
    }

    /// The Supabase routes, relative to the simulator's prefix.
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/v1/projects/{project_ref}/health", get(project_health))
            .route("/v1/projects/{project_ref}", get(project))
            .route("/api/v2/status.json", get(platform_status))
            .fallback(unknown_route)
            .with_state(self)
    }

    /// What every Management API request goes through: counting, faults, the token, then the
    /// budget of its project and endpoint (unauthenticated requests belong to no user).
    async fn admit(
        &self,
        headers: &HeaderMap,
        project_ref: &str,
        endpoint: Endpoint,
    ) -> Result<RateLimitHeaders, Response> {
        if let Some(fault) = self.take_fault().await {
            let rate = self.peek_budget(project_ref, endpoint);
            return Err(fault_response(&fault, rate));
        }
        if !bearer_matches(headers, &self.token) {
            return Err(message_response(StatusCode::UNAUTHORIZED, "Unauthorized"));
        }
        let rate = self.spend_budget(project_ref, endpoint);
        if rate.exhausted() {
            return Err(rate.apply(message_response(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded",
            )));
        }
        Ok(rate)
    }

    fn spend_budget(&self, project_ref: &str, endpoint: Endpoint) -> RateLimitHeaders {
        RateLimitHeaders::from(self.budget.spend_for((project_ref.to_string(), endpoint)))
    }

    fn peek_budget(&self, project_ref: &str, endpoint: Endpoint) -> RateLimitHeaders {
        RateLimitHeaders::from(self.budget.peek_for((project_ref.to_string(), endpoint)))
    }

    /// The health answer for the requested services, in the order asked.
    fn health(
        &self,
        project_ref: &str,
        query: Option<&str>,
    ) -> Result<Value, (StatusCode, String)> {
        let mut requested: Vec<&'static str> = Vec::new();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match key.as_ref() {
                // Comma-separated and repeated forms are both accepted (the encoding is
                // UNCONFIRMED; public clients use commas, and both were seen to work).
                "services" => {
                    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                        let Some(service) = SERVICES.iter().find(|s| **s == name) else {
                            return Err((
                                StatusCode::BAD_REQUEST,
                                format!("services must be one of {}", SERVICES.join(", ")),
                            ));
                        };
                        if !requested.contains(service) {
                            requested.push(service);
                        }
                    }
                }
                "timeout_ms" => {
                    let valid = value
                        .parse::<u64>()
                        .is_ok_and(|timeout| timeout <= MAX_TIMEOUT_MS);
                    if !valid {
                        return Err((
                            StatusCode::BAD_REQUEST,
                            format!("timeout_ms must be an integer from 0 to {MAX_TIMEOUT_MS}"),
                        ));
                    }
                }
                _ => {}
            }
        }
        if requested.is_empty() {
            return Err((StatusCode::BAD_REQUEST, "services is required".into()));
        }
        let scenario = lock(&self.scenario);
        let project = scenario
            .projects
            .get(project_ref)
            .ok_or_else(|| not_accessible(project_ref))?;
        Ok(Value::Array(
            requested
                .into_iter()
                .map(|service| {
                    let status = project
                        .services
                        .get(service)
                        .map_or("ACTIVE_HEALTHY", String::as_str);
                    service_json(service, status)
                })
                .collect(),
        ))
    }

    fn project(&self, project_ref: &str) -> Result<Value, (StatusCode, String)> {
        let scenario = lock(&self.scenario);
        let project = scenario
            .projects
            .get(project_ref)
            .ok_or_else(|| not_accessible(project_ref))?;
        Ok(json!({
            "id": project_ref,
            "ref": project_ref,
            "organization_id": "org_lookout_demo",
            "organization_slug": "lookout-demo",
            "name": format!("project-{}", project_ref.chars().take(6).collect::<String>()),
            "region": "eu-central-1",
            "created_at": project.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "status": project.status,
            "database": {
                "host": format!("db.{project_ref}.supabase.co"),
                "version": "15.8.1.093",
                "postgres_engine": "15",
                "release_channel": "ga",
            },
        }))
    }
}

/// A ref the token cannot see. The health endpoint documents 401/403/429/500 only, so an
/// unknown or foreign project is a 403 here (what Supabase answers for one is UNCONFIRMED).
fn not_accessible(project_ref: &str) -> (StatusCode, String) {
    (
        StatusCode::FORBIDDEN,
        format!("Your account does not have access to project {project_ref}"),
    )
}

/// One `V1ServiceHealthResponse`; `info` takes the three documented shapes.
fn service_json(service: &str, status: &str) -> Value {
    let healthy = status == "ACTIVE_HEALTHY";
    let mut item = json!({ "name": service, "healthy": healthy, "status": status });
    let info = match service {
        "auth" => Some(json!({
            "name": "GoTrue",
            "version": "v2.170.0",
            "description": "GoTrue is a user registration and authentication API",
        })),
        "realtime" => Some(json!({
            "healthy": healthy,
            "db_connected": healthy,
            "replication_connected": healthy,
            "connected_cluster": 1,
        })),
        "rest" => Some(json!({ "db_schema": "public,graphql_public" })),
        _ => None,
    };
    if let Some(info) = info {
        item["info"] = info;
    }
    if status == "UNHEALTHY" {
        item["error"] = json!(format!("{service} is not responding"));
    }
    item
}

async fn project_health(
    State(sim): State<Arc<SupabaseSimulator>>,
    Path(project_ref): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers, &project_ref, Endpoint::Health).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    match sim.health(&project_ref, query.as_deref()) {
        Ok(body) => rate.apply(Json(body).into_response()),
        Err((status, message)) => rate.apply(message_response(status, &message)),
    }
}

async fn project(
    State(sim): State<Arc<SupabaseSimulator>>,
    Path(project_ref): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers, &project_ref, Endpoint::Project).await {
        Ok(rate) => rate,
        Err(response) => return response,
    };
    match sim.project(&project_ref) {
        Ok(body) => rate.apply(Json(body).into_response()),
        Err((status, message)) => rate.apply(message_response(status, &message)),
    }
}

/// The public status page: no token, no rate-limit headers.
async fn platform_status(State(sim): State<Arc<SupabaseSimulator>>) -> Response {
    if let Some(fault) = sim.take_fault().await {
        return match fault {
            SimFault::Garbage => html_page(GARBAGE),
            other => message_response(fault_status(&other), "status page unavailable"),
        };
    }
    let scenario = lock(&sim.scenario);
    Json(json!({
        "page": {
            "id": "lookoutsim01",
            "name": "Supabase",
            "url": "https://status.supabase.com",
            "time_zone": "Etc/UTC",
            "updated_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        },
        "status": {
            "indicator": scenario.platform_indicator,
            "description": scenario.platform_description,
        },
    }))
    .into_response()
}

async fn unknown_route() -> Response {
    message_response(StatusCode::NOT_FOUND, "Not Found")
}

/// Supabase's error body is UNCONFIRMED (the spec gives only descriptions); the simulator
/// answers `{"message": "…"}`.
fn message_response(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "message": message }))).into_response()
}

fn fault_response(fault: &SimFault, rate: RateLimitHeaders) -> Response {
    let status = fault_status(fault);
    match fault {
        // Supabase sends no `Retry-After`: `X-RateLimit-Reset` says when the budget returns.
        SimFault::RateLimited { retry_after_secs } => rate
            .spent(*retry_after_secs)
            .apply(message_response(status, "Rate limit exceeded")),
        SimFault::ServerError => rate.apply(message_response(status, "Internal Server Error")),
        SimFault::Unauthorized => message_response(status, "Unauthorized"),
        SimFault::Garbage => html_page(GARBAGE),
        // `apply_delay` has already served a `Slow` fault; this arm is never reached.
        SimFault::Slow { .. } => message_response(status, "unexpected fault"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REF: &str = "abcdefghijklmnopqrst";

    fn simulator() -> SupabaseSimulator {
        let sim = SupabaseSimulator::new("sbp_t");
        sim.add_project(REF);
        sim
    }

    #[test]
    fn health_follows_the_scenario_in_the_order_asked() {
        let sim = simulator();
        assert!(sim.set_service_health(REF, "db", "UNHEALTHY"));
        assert!(sim.set_service_health(REF, "storage", "COMING_UP"));
        assert!(!sim.set_service_health(REF, "kafka", "UNHEALTHY"));
        assert!(!sim.set_service_health("nope", "db", "UNHEALTHY"));
        let body = sim
            .health(REF, Some("services=storage,db&services=auth,db"))
            .unwrap();
        let items = body.as_array().unwrap();
        let names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["storage", "db", "auth"]);
        assert_eq!(items[0]["status"], "COMING_UP");
        assert_eq!(items[0]["healthy"], false);
        assert_eq!(items[1]["status"], "UNHEALTHY");
        assert_eq!(items[1]["error"], "db is not responding");
        assert_eq!(items[2]["info"]["name"], "GoTrue");
        assert!(items[2].get("error").is_none());
    }

    #[test]
    fn health_checks_its_query() {
        let sim = simulator();
        for bad in [
            None,
            Some("services="),
            Some("services=kafka"),
            Some("services=db&timeout_ms=10001"),
        ] {
            let error = sim.health(REF, bad).unwrap_err();
            assert_eq!(error.0, StatusCode::BAD_REQUEST, "{bad:?}");
        }
        assert!(sim
            .health(REF, Some("services=db&timeout_ms=10000"))
            .is_ok());
        assert_eq!(
            sim.health("zzzzzzzzzzzzzzzzzzzz", Some("services=db"))
                .unwrap_err()
                .0,
            StatusCode::FORBIDDEN
        );
    }

    #[test]
    fn project_lifecycle_and_platform_status() {
        let sim = simulator();
        assert!(sim.set_project_status(REF, "INACTIVE"));
        assert!(!sim.set_project_status("nope", "INACTIVE"));
        let project = sim.project(REF).unwrap();
        assert_eq!(project["status"], "INACTIVE");
        assert_eq!(project["ref"], REF);
        sim.set_platform_status("major", "Partial System Outage");
        assert_eq!(lock(&sim.scenario).platform_indicator, "major");
    }

    #[test]
    fn the_budget_is_per_project_and_endpoint() {
        let sim = simulator();
        sim.set_requests_per_minute(2);
        assert_eq!(sim.spend_budget(REF, Endpoint::Health).remaining, 1);
        assert_eq!(sim.spend_budget(REF, Endpoint::Health).remaining, 0);
        let over = sim.spend_budget(REF, Endpoint::Health);
        assert!(over.exhausted());
        assert!((1..=60).contains(&over.reset_secs));
        assert!(!sim.spend_budget(REF, Endpoint::Project).exhausted());
        assert!(!sim.spend_budget("other", Endpoint::Health).exhausted());
        assert_eq!(sim.peek_budget(REF, Endpoint::Project).remaining, 1);
    }
}
