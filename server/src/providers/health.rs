//! The generic HTTP health check: any `/health` URL, with an optional expectation on a JSON
//! field and a latency threshold. It turns every outcome (timeout, 5xx, garbage) into a
//! [`HealthView`] with a reason: a check never fails, it reports.

use app::model::{HealthState, HealthView};
use chrono::Utc;
use serde_json::Value;
use std::time::{Duration, Instant};

/// What a healthy answer looks like.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthCheckSpec {
    pub url: String,
    /// The status code a healthy service answers with; any 2xx when `None`.
    pub expect_status: Option<u16>,
    /// A JSON pointer (`/status`) into the body and the value it must have (`ok`).
    pub expect_json: Option<JsonExpectation>,
    /// Slower than this is `degraded` even when the answer is right.
    pub degraded_latency: Duration,
    pub timeout: Duration,
}

#[derive(Clone, Debug, PartialEq)]
pub struct JsonExpectation {
    pub pointer: String,
    pub value: Value,
}

/// Runs health checks with one shared HTTP client.
#[derive(Clone)]
pub struct HealthChecker {
    http: reqwest::Client,
}

impl HealthChecker {
    pub fn new(http: reqwest::Client) -> Self {
        Self { http }
    }

    /// Checks once. Down: no answer, a wrong status, or a timeout. Degraded: the right status
    /// but the JSON expectation does not hold, or the answer is slower than the threshold.
    pub async fn check(&self, spec: &HealthCheckSpec) -> HealthView {
        let started = Instant::now();
        let checked_at = Some(Utc::now());
        let outcome = self.http.get(&spec.url).timeout(spec.timeout).send().await;
        let response = match outcome {
            Ok(response) => response,
            Err(error) => {
                let detail = if error.is_timeout() {
                    format!("no answer within {} ms", spec.timeout.as_millis())
                } else {
                    "connection failed".to_string()
                };
                return HealthView {
                    state: HealthState::Down,
                    checked_at,
                    latency_ms: None,
                    detail: Some(detail),
                };
            }
        };
        let status = response.status().as_u16();
        let redirect = response.status().is_redirection();
        let body = super::http::read_body(response, super::http::MAX_HEALTH_BODY).await;
        let latency = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let latency_ms = Some(latency);
        if let Err(super::ProviderError::TooLarge { limit_bytes }) = body {
            // Not an answer Lookout can judge; it says so rather than guessing up or down.
            return HealthView {
                state: HealthState::Unknown,
                checked_at,
                latency_ms,
                detail: Some(format!(
                    "answer larger than {} KiB; not read",
                    limit_bytes / 1024
                )),
            };
        }
        let status_ok = match spec.expect_status {
            Some(expected) => status == expected,
            None => (200..300).contains(&status),
        };
        if !status_ok {
            let detail = if redirect {
                format!("answered HTTP {status} (redirects are not followed; check the health URL)")
            } else {
                format!("answered HTTP {status}")
            };
            return HealthView {
                state: HealthState::Down,
                checked_at,
                latency_ms,
                detail: Some(detail),
            };
        }
        if let Some(expectation) = &spec.expect_json {
            let found = body
                .ok()
                .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
                .and_then(|json| json.pointer(&expectation.pointer).cloned());
            match found {
                Some(value) if value == expectation.value => {}
                Some(value) => {
                    return HealthView {
                        state: HealthState::Degraded,
                        checked_at,
                        latency_ms,
                        detail: Some(format!(
                            "{} is {} (expected {})",
                            expectation.pointer,
                            short_json(&value),
                            short_json(&expectation.value)
                        )),
                    }
                }
                None => {
                    return HealthView {
                        state: HealthState::Degraded,
                        checked_at,
                        latency_ms,
                        detail: Some(format!("answer has no {}", expectation.pointer)),
                    }
                }
            }
        }
        let slow = started.elapsed() > spec.degraded_latency;
        HealthView {
            state: if slow {
                HealthState::Degraded
            } else {
                HealthState::Up
            },
            checked_at,
            latency_ms,
            detail: slow.then(|| {
                format!(
                    "slow: answered in {} ms (threshold {} ms)",
                    latency,
                    spec.degraded_latency.as_millis()
                )
            }),
        }
    }
}

fn short_json(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}
