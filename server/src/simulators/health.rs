//! Simulated `/health` endpoints of the demo's services: each answers with a configured
//! status, JSON body and delay, so the health checker sees up, degraded and down services.

use super::{lock, RequestCounter};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How one simulated endpoint answers.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SimHealthEndpoint {
    pub status: u16,
    pub body: Value,
    #[serde(default)]
    pub delay_ms: u64,
    /// Streams this many spaces after the JSON (chunked, no `Content-Length`): an endpoint
    /// answering without end, for the checker's body cap.
    #[serde(default)]
    pub padding_bytes: u64,
}

impl SimHealthEndpoint {
    /// Answers `status` with `{"status": "down"}` (a failing service).
    pub fn down(status: u16) -> Self {
        Self {
            status,
            body: serde_json::json!({"status": "down"}),
            delay_ms: 0,
            padding_bytes: 0,
        }
    }

    pub fn ok() -> Self {
        Self {
            status: 200,
            body: serde_json::json!({"status": "ok"}),
            delay_ms: 0,
            padding_bytes: 0,
        }
    }
}

#[derive(Default)]
pub struct HealthSimulator {
    endpoints: Mutex<HashMap<String, SimHealthEndpoint>>,
    pub requests: RequestCounter,
}

impl HealthSimulator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how `GET /{name}` answers (relative to where the router is nested).
    pub fn set_endpoint(&self, name: &str, endpoint: SimHealthEndpoint) {
        lock(&self.endpoints).insert(name.to_string(), endpoint);
    }

    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/{*name}", get(answer))
            .with_state(self)
    }
}

async fn answer(State(sim): State<Arc<HealthSimulator>>, Path(name): Path<String>) -> Response {
    sim.requests.record();
    let endpoint = lock(&sim.endpoints).get(&name).cloned();
    let Some(endpoint) = endpoint else {
        return (StatusCode::NOT_FOUND, "no such health endpoint").into_response();
    };
    if endpoint.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(endpoint.delay_ms)).await;
    }
    let status = StatusCode::from_u16(endpoint.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if endpoint.padding_bytes == 0 {
        return (status, Json(endpoint.body)).into_response();
    }
    const CHUNK: u64 = 64 * 1024;
    let json = bytes::Bytes::from(endpoint.body.to_string());
    let chunks = endpoint.padding_bytes.div_ceil(CHUNK);
    let padding = futures::stream::iter(0..chunks).map(move |index| {
        let size = CHUNK.min(endpoint.padding_bytes - index * CHUNK);
        Ok::<_, std::convert::Infallible>(bytes::Bytes::from(vec![b' '; size as usize]))
    });
    let body = futures::stream::once(async move { Ok(json) }).chain(padding);
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from_stream(body),
    )
        .into_response()
}
