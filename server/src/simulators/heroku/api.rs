//! Heroku's HTTP surface: the request gate, the handlers and the error bodies and faults in\nHeroku's shapes.

use super::*;

impl SimApi for HerokuSimulator {
    type Admission = Budget;

    /// What every API request goes through: counting, injected faults, the token pool, the
    /// API version and the token. `Ok` carries the budget for the normal answer's header.
    async fn admit(&self, headers: &HeaderMap) -> Result<Budget, Response> {
        let fault = self.take_fault().await;
        let budget = self.spend_token();
        if let Some(fault) = fault {
            return Err(fault_response(&fault, budget));
        }
        if budget.retry_after_secs.is_some() {
            return Err(rate_limited(budget));
        }
        if !accepts_v3(headers) {
            return Err(error_response(
                StatusCode::NOT_ACCEPTABLE,
                "not_acceptable",
                "Please specify a version along with Heroku's API MIME type. For example, `Accept: application/vnd.heroku+json; version=3`.",
                budget,
            ));
        }
        if !bearer_matches(headers, &self.token) {
            return Err(error_response(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Invalid credentials provided.",
                budget,
            ));
        }
        Ok(budget)
    }
}

pub(super) async fn list_releases(
    State(sim): State<Arc<HerokuSimulator>>,
    Path(app): Path<String>,
    Admitted(budget): Admitted<Budget>,
    headers: HeaderMap,
) -> Response {
    let range = headers
        .get(header::RANGE)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| SimError::BadRange("Invalid Range header".into()))
        })
        .transpose()
        .and_then(RangeSpec::parse);
    match range.and_then(|range| sim.list(&app, &range)) {
        Ok((body, next_range)) => {
            let status = if next_range.is_some() {
                StatusCode::PARTIAL_CONTENT
            } else {
                StatusCode::OK
            };
            let mut response = (status, Json(body)).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::ACCEPT_RANGES,
                HeaderValue::from_static("id, version"),
            );
            if let Some(next) = next_range.and_then(|next| HeaderValue::from_str(&next).ok()) {
                headers.insert("next-range", next);
            }
            budget.apply(response)
        }
        Err(error) => sim_error_response(error, budget),
    }
}

/// `POST /apps/{app}/releases`: the "Rollback" link (`{"release": …}`). The "Create" link on
/// the same path (`{slug, …}`) is not simulated and answers 422.
pub(super) async fn create_release(
    State(sim): State<Arc<HerokuSimulator>>,
    Path(app): Path<String>,
    Admitted(budget): Admitted<Budget>,
    body: Option<Json<Value>>,
) -> Response {
    let target = body
        .as_ref()
        .and_then(|Json(body)| body.get("release"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let Some(target) = target else {
        return error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_params",
            "Missing required params: release. (The simulator implements only the rollback form of this endpoint.)",
            budget,
        );
    };
    match sim.roll_back(&app, &target) {
        Ok(release) => budget.apply((StatusCode::CREATED, Json(release)).into_response()),
        Err(error) => sim_error_response(error, budget),
    }
}

pub(super) async fn get_release(
    State(sim): State<Arc<HerokuSimulator>>,
    Path((app, id_or_version)): Path<(String, String)>,
    Admitted(budget): Admitted<Budget>,
) -> Response {
    match sim.release(&app, &id_or_version) {
        Ok(body) => budget.apply(Json(body).into_response()),
        Err(error) => sim_error_response(error, budget),
    }
}

pub(super) async fn get_slug(
    State(sim): State<Arc<HerokuSimulator>>,
    Path((app, slug_id)): Path<(String, String)>,
    Admitted(budget): Admitted<Budget>,
) -> Response {
    match sim.slug(&app, &slug_id) {
        Ok(body) => budget.apply(Json(body).into_response()),
        Err(error) => sim_error_response(error, budget),
    }
}

pub(super) async fn unknown_route() -> Response {
    let body = json!({
        "id": "not_found",
        "message": "The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), and did you specify your intended version with the `Accept` header?",
    });
    (StatusCode::NOT_FOUND, Json(body)).into_response()
}

/// Heroku's error body `{id, message}`.
pub(super) fn error_response(
    status: StatusCode,
    id: &str,
    message: &str,
    budget: Budget,
) -> Response {
    budget.apply((status, Json(json!({ "id": id, "message": message }))).into_response())
}

pub(super) fn rate_limited(budget: Budget) -> Response {
    error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit",
        "Your account reached the API rate limit\nPlease wait a few minutes before making new requests",
        Budget {
            remaining: 0,
            ..budget
        },
    )
}

pub(super) fn sim_error_response(error: SimError, budget: Budget) -> Response {
    match error {
        SimError::AppNotFound => error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that app.",
            budget,
        ),
        SimError::ReleaseNotFound => error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that release.",
            budget,
        ),
        SimError::SlugNotFound => error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            "Couldn't find that slug.",
            budget,
        ),
        SimError::InvalidParams(message) => error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_params",
            &message,
            budget,
        ),
        SimError::Conflict(message) => {
            error_response(StatusCode::CONFLICT, "conflict", &message, budget)
        }
        SimError::BadRange(message) => error_response(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "requested_range_not_satisfiable",
            &message,
            budget,
        ),
    }
}

pub(super) fn fault_response(fault: &SimFault, budget: Budget) -> Response {
    let status = fault_status(fault);
    match fault {
        SimFault::RateLimited { retry_after_secs } => rate_limited(Budget {
            remaining: 0,
            retry_after_secs: Some(*retry_after_secs),
        }),
        SimFault::ServerError => error_response(
            status,
            "service_unavailable",
            "Heroku API is temporarily unavailable.",
            Budget {
                retry_after_secs: None,
                ..budget
            },
        ),
        SimFault::Unauthorized => error_response(
            status,
            "unauthorized",
            "Invalid credentials provided.",
            Budget {
                retry_after_secs: None,
                ..budget
            },
        ),
        SimFault::Garbage => html_page("<html><body>Application error</body></html>"),
        // `apply_delay` has already served a `Slow` fault; answering normally is its point.
        SimFault::Slow { .. } => {
            error_response(status, "internal_server_error", "unexpected fault", budget)
        }
    }
}

/// A uuid-shaped id: `kind` tells apps, slugs and releases apart at a glance.
pub(super) fn uuid(kind: u16, seed: u64) -> String {
    format!("{seed:08x}-{kind:04x}-4000-8000-{seed:012x}")
}
