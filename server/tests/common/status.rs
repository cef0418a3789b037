//! Reading the status snapshot (`/api/v1/status`, and the live stream's `snapshot`): its
//! environments, their rows, and whether the monitor has seen everything once.

use serde_json::Value;

/// The environments of a snapshot, in order.
pub fn environments(status: &Value) -> &[Value] {
    status["environments"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The environment called `name`.
pub fn environment<'a>(status: &'a Value, name: &str) -> &'a Value {
    environments(status)
        .iter()
        .find(|env| env["name"] == name)
        .unwrap_or_else(|| panic!("no environment {name} in {status:#}"))
}

/// Every row with the name of its environment, in page order.
pub fn rows(status: &Value) -> Vec<(String, Value)> {
    environments(status)
        .iter()
        .flat_map(|env| {
            let name = env["name"].as_str().unwrap_or_default().to_string();
            env["services"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |row| (name.clone(), row.clone()))
        })
        .collect()
}

/// The row of `service` in `environment`, if the snapshot has it (yet).
pub fn try_row<'a>(status: &'a Value, environment: &str, service: &str) -> Option<&'a Value> {
    environments(status)
        .iter()
        .find(|env| env["name"] == environment)?["services"]
        .as_array()?
        .iter()
        .find(|row| row["service"] == service)
}

/// The row of `service` in `environment`.
pub fn row<'a>(status: &'a Value, environment: &str, service: &str) -> &'a Value {
    try_row(status, environment, service)
        .unwrap_or_else(|| panic!("no {service} in {environment}: {status:#}"))
}

/// The services of an environment, in order.
pub fn services_of(status: &Value, environment_name: &str) -> Vec<String> {
    environment(status, environment_name)["services"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|row| row["service"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Every provider-backed row has been polled successfully once and every health check has
/// answered once. Plain health checks and Supabase have no deployments to poll.
pub fn settled(status: &Value) -> bool {
    let rows = rows(status);
    !rows.is_empty()
        && rows.iter().all(|(_, row)| {
            let polled = match row["provider"].as_str() {
                Some("http_health" | "supabase") => true,
                _ => !row["poll"]["last_success_at"].is_null(),
            };
            let checked =
                row["health"]["state"] == "unchecked" || !row["health"]["checked_at"].is_null();
            polled && checked
        })
}
