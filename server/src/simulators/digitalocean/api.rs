//! DigitalOcean's HTTP surface: list parameters, the request gate, the handlers and the error\nbodies and faults in DigitalOcean's shapes.

use super::*;

/// The query of the list endpoint. `deployment_types` is accepted and ignored: every
/// simulated deployment is a push.
#[derive(Debug, PartialEq)]
pub(super) struct ListParams {
    pub(super) page: u32,
    pub(super) per_page: u32,
}

impl ListParams {
    pub(super) fn parse(query: Option<&str>) -> Result<Self, SimError> {
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
pub(super) fn link_base(headers: &HeaderMap, uri: &axum::http::Uri) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("api.digitalocean.com");
    format!("http://{host}{}", uri.path())
}

impl SimApi for DigitalOceanSimulator {
    type Admission = RateLimitHeaders;

    /// What every API request goes through: counting, injected faults, the rate budget and
    /// the token. `Ok` carries the rate-limit headers for the normal answer.
    async fn admit(&self, headers: &HeaderMap) -> Result<RateLimitHeaders, Response> {
        let fault = self.take_fault().await;
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
}

pub(super) async fn get_app(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    Admitted(rate): Admitted<RateLimitHeaders>,
) -> Response {
    respond(sim.app_json(&app_id), rate)
}

pub(super) async fn list_deployments(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    OriginalUri(uri): OriginalUri,
    RawQuery(query): RawQuery,
    Admitted(rate): Admitted<RateLimitHeaders>,
    headers: HeaderMap,
) -> Response {
    let base = link_base(&headers, &uri);
    let result =
        ListParams::parse(query.as_deref()).and_then(|params| sim.list(&app_id, &params, &base));
    respond(result, rate)
}

pub(super) async fn get_deployment(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path((app_id, deployment_id)): Path<(String, String)>,
    Admitted(rate): Admitted<RateLimitHeaders>,
) -> Response {
    respond(sim.deployment_json(&app_id, &deployment_id), rate)
}

pub(super) async fn get_health(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    Admitted(rate): Admitted<RateLimitHeaders>,
) -> Response {
    respond(sim.health_json(&app_id), rate)
}

/// `apps_rollback_app_request`: `{deployment_id, skip_pin?}`.
#[derive(Debug, serde::Deserialize)]
pub(super) struct RollbackBody {
    pub(super) deployment_id: String,
    #[serde(default)]
    pub(super) skip_pin: bool,
}

pub(super) fn missing_deployment_id(rate: RateLimitHeaders) -> Response {
    error_response(
        StatusCode::BAD_REQUEST,
        "bad_request",
        "deployment_id is required",
        rate,
    )
}

pub(super) async fn validate_rollback(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    Admitted(rate): Admitted<RateLimitHeaders>,
    body: Option<Json<RollbackBody>>,
) -> Response {
    let Some(Json(body)) = body else {
        return missing_deployment_id(rate);
    };
    respond(sim.validate_rollback(&app_id, &body.deployment_id), rate)
}

pub(super) async fn create_rollback(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    Admitted(rate): Admitted<RateLimitHeaders>,
    body: Option<Json<RollbackBody>>,
) -> Response {
    let Some(Json(body)) = body else {
        return missing_deployment_id(rate);
    };
    // 200, not 201: `apps_create_rollback.yml` documents 200 `{deployment}`.
    respond(
        sim.roll_back(&app_id, &body.deployment_id, body.skip_pin),
        rate,
    )
}

pub(super) async fn commit_rollback(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    Admitted(rate): Admitted<RateLimitHeaders>,
) -> Response {
    match sim.commit_rollback(&app_id) {
        // `no_content.yml`: 200 with an empty body.
        Ok(()) => rate.apply(StatusCode::OK.into_response()),
        Err(error) => respond(Err(error), rate),
    }
}

pub(super) async fn revert_rollback(
    State(sim): State<Arc<DigitalOceanSimulator>>,
    Path(app_id): Path<String>,
    Admitted(rate): Admitted<RateLimitHeaders>,
) -> Response {
    respond(sim.revert_rollback(&app_id), rate)
}

pub(super) async fn unknown_route() -> Response {
    let body = json!({
        "id": "not_found",
        "message": "The resource you requested could not be found.",
        "request_id": request_id(),
    });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

pub(super) fn respond(result: Result<Value, SimError>, rate: RateLimitHeaders) -> Response {
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
pub(super) fn error_response(
    status: StatusCode,
    id: &str,
    message: &str,
    rate: RateLimitHeaders,
) -> Response {
    let body = json!({ "id": id, "message": message, "request_id": request_id() });
    rate.apply((status, Json(body)).into_response())
}

pub(super) fn unauthorized(rate: RateLimitHeaders) -> Response {
    error_response(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Unable to authenticate you.",
        rate,
    )
}

pub(super) fn fault_response(fault: &SimFault, rate: RateLimitHeaders) -> Response {
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
        SimFault::Garbage => rate.apply(html_page("<html><body>502 upstream hiccup</body></html>")),
        // `apply_delay` has already served a `Slow` fault; answering normally is its point.
        SimFault::Slow { .. } => error_response(status, "server_error", "unexpected fault", rate),
    }
}

/// A request id in DigitalOcean's UUID form; unique enough for a simulator.
pub(super) fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{n:08x}-0000-4000-8000-{n:012x}")
}
