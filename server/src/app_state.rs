//! What every handler can reach (`AppState`) and the read-access check the JSON API, the
//! live stream, the rollback API and the runbook files share. It sits below every router
//! (`routes.rs`, `live_stream.rs`, `rollback/routes.rs`, `runbooks/routes.rs`), so none of
//! them imports another to get it.

use crate::auth::middleware::refuse;
use crate::auth::{AuthService, RequestAuth};
use crate::monitor::Monitor;
use app::auth::{decide, Access};
use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::response::Response;
use leptos::prelude::LeptosOptions;
use std::sync::Arc;
use tokio::sync::watch;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub monitor: Arc<Monitor>,
    pub auth: Arc<AuthService>,
    /// Flips to true when the server begins shutting down; ends live streams.
    pub shutting_down: watch::Receiver<bool>,
    /// The runbooks folder, loaded (reloaded in the background).
    pub runbooks: Arc<crate::runbooks::RunbookLibrary>,
    /// The rollback executor.
    pub rollbacks: Arc<crate::rollback::Rollbacks>,
    /// Serialized live-stream snapshots, shared by every viewer of a view.
    pub snapshot_frames: Arc<crate::live_stream::SnapshotFrames>,
    /// Live streams open, in all and per client address (`[server] max_streams…`).
    pub stream_limits: Arc<crate::stream_limits::StreamLimits>,
    /// Rendered pages, compressed, until what they show changes (`page_cache`).
    pub page_cache: Arc<crate::page_cache::PageCache>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl FromRef<AppState> for Arc<AuthService> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}

/// The JSON API and the live stream need read access (anonymous when `public_status`, a
/// signed-in user, or an API token).
pub(crate) fn read_refusal(state: &AppState, request: &RequestAuth) -> Option<Response> {
    decide(state.auth.policy(), &request.principal, &Access::Read)
        .err()
        .map(|denial| {
            let status = StatusCode::from_u16(denial.status()).unwrap_or(StatusCode::FORBIDDEN);
            refuse(status, denial.reason())
        })
}
