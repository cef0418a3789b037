//! Fly's HTTP surface: the GraphQL and Machines handlers, and the error bodies and faults in\nFly's shapes.

use super::*;
use crate::simulators::skeleton::{mix, slug_or};

/// A host-name and e-mail-safe form of a name; `user` when nothing is left.
pub(super) fn slug(text: &str) -> String {
    slug_or(text, "user")
}

pub(super) async fn graphql(
    State(sim): State<Arc<FlySimulator>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fault) = sim.take_fault().await {
        return graphql_fault(&fault);
    }
    if !sim.authorized(&headers) {
        // The HTTP status of Fly's GraphQL auth error is UNCONFIRMED: a wrong token gets 200
        // with the error here, and the `Unauthorized` fault 401 with the same body, so the
        // client is exercised both ways.
        return unauthenticated(StatusCode::OK);
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => return graphql_error(StatusCode::BAD_REQUEST, "Invalid JSON body", None, None),
    };
    let Some(query) = request.get("query").and_then(Value::as_str) else {
        return graphql_error(
            StatusCode::BAD_REQUEST,
            "No query string was present",
            None,
            None,
        );
    };
    let variables = match request.get("variables") {
        Some(Value::Object(variables)) => variables.clone(),
        _ => Map::new(),
    };
    match sim.execute(query, &variables) {
        Ok(data) => Json(json!({ "data": data })).into_response(),
        Err(failure) => graphql_error(
            failure.status,
            &failure.message,
            failure.code,
            failure.path.as_deref(),
        ),
    }
}

pub(super) async fn list_machines(
    State(sim): State<Arc<FlySimulator>>,
    Path(app): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(fault) = sim.take_fault().await {
        return machines_fault(&fault);
    }
    if !sim.authorized(&headers) {
        return machines_unauthorized();
    }
    match sim.machines(&app, query.as_deref()) {
        Some(machines) => Json(machines).into_response(),
        // The Machines API's wording for an unknown app is UNCONFIRMED.
        None => machines_error(StatusCode::NOT_FOUND, "app not found"),
    }
}

pub(super) async fn update_machine(
    State(sim): State<Arc<FlySimulator>>,
    Path((app, machine_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(fault) = sim.take_fault().await {
        return machines_fault(&fault);
    }
    if !sim.authorized(&headers) {
        return machines_unauthorized();
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return machines_error(StatusCode::BAD_REQUEST, "invalid JSON body");
    };
    match sim.update_machine(&app, &machine_id, &body) {
        Ok(machine) => Json(machine).into_response(),
        Err((status, message)) => machines_error(status, &message),
    }
}

pub(super) async fn unknown_route() -> Response {
    machines_error(
        StatusCode::NOT_FOUND,
        "no such endpoint in the Fly simulator",
    )
}

pub(super) fn graphql_error(
    status: StatusCode,
    message: &str,
    code: Option<&str>,
    path: Option<&str>,
) -> Response {
    let mut error = json!({ "message": message });
    if let Some(code) = code {
        error["extensions"] = json!({ "code": code });
    }
    let data = match path {
        Some(path) => {
            error["path"] = json!([path]);
            json!({ path: Value::Null })
        }
        None => Value::Null,
    };
    (status, Json(json!({ "data": data, "errors": [error] }))).into_response()
}

pub(super) fn unauthenticated(status: StatusCode) -> Response {
    graphql_error(
        status,
        "You must be authenticated to view this.",
        Some("UNAUTHORIZED"),
        None,
    )
}

/// Fly documents no rate-limit headers (UNCONFIRMED); a 429 carries the standard
/// `Retry-After`.
pub(super) fn with_retry_after(mut response: Response, seconds: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

pub(super) fn garbage() -> Response {
    html_page("<html><body>fly-proxy: upstream hiccup</body></html>")
}

pub(super) fn graphql_fault(fault: &SimFault) -> Response {
    let status = fault_status(fault);
    match fault {
        SimFault::RateLimited { retry_after_secs } => with_retry_after(
            graphql_error(status, "Rate limit exceeded", None, None),
            *retry_after_secs,
        ),
        SimFault::ServerError => graphql_error(status, "Service Unavailable", None, None),
        SimFault::Unauthorized => unauthenticated(status),
        SimFault::Garbage => garbage(),
        // `apply_delay` has already served a `Slow` fault; this arm is never reached.
        SimFault::Slow { .. } => graphql_error(status, "unexpected fault", None, None),
    }
}

/// The Machines API error body `{"error": "…"}`.
pub(super) fn machines_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// The 401 body observed from the Machines API (fixture `fly_error_response.json`).
pub(super) fn machines_unauthorized() -> Response {
    machines_error(
        StatusCode::UNAUTHORIZED,
        "Authenticate: token validation error",
    )
}

pub(super) fn machines_fault(fault: &SimFault) -> Response {
    let status = fault_status(fault);
    match fault {
        SimFault::RateLimited { retry_after_secs } => with_retry_after(
            machines_error(status, "rate limit exceeded"),
            *retry_after_secs,
        ),
        SimFault::ServerError => machines_error(status, "internal server error"),
        SimFault::Unauthorized => machines_unauthorized(),
        SimFault::Garbage => garbage(),
        SimFault::Slow { .. } => machines_error(status, "unexpected fault"),
    }
}

// ---------------------------------------------------------------------------------------------
// Ids and formats
// ---------------------------------------------------------------------------------------------

/// 26 Crockford base-32 characters starting `01J`, like the ULIDs in flyctl's image tags.
pub(super) fn ulid_like(seed: u64) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bits = (u128::from(mix(seed)) << 64) | u128::from(mix(seed ^ 0xA5A5));
    let mut text = String::from("01J");
    for index in 0..23 {
        text.push(char::from(ALPHABET[((bits >> (index * 5)) & 31) as usize]));
    }
    text
}

pub(super) fn instance_id(seed: u64) -> String {
    ulid_like(seed.wrapping_mul(31).wrapping_add(7))
}

/// Fly-style machine names (`aged-wind-2649`).
pub(super) fn machine_name(seed: u64) -> String {
    const ADJECTIVES: [&str; 6] = ["aged", "summer", "lingering", "quiet", "bold", "late"];
    const NOUNS: [&str; 6] = ["wind", "sun", "moon", "river", "field", "frost"];
    let bits = mix(seed);
    format!(
        "{}-{}-{}",
        ADJECTIVES[(bits % 6) as usize],
        NOUNS[((bits >> 8) % 6) as usize],
        (bits >> 16) % 9000 + 1000
    )
}

/// Cursors are opaque to clients; here they are the hex of the release seed.
pub(super) fn encode_cursor(seed: u64) -> String {
    format!("c{seed:x}")
}

pub(super) fn decode_cursor(cursor: &str) -> Option<u64> {
    u64::from_str_radix(cursor.strip_prefix('c')?, 16).ok()
}
