//! What every handler can reach (`AppState`), and the narrow states the live stream and the
//! page cache take, cut from it with `FromRef`. It sits below every router (`routes.rs`,
//! `rollback/routes.rs`, `runbooks/routes.rs`), so none of them imports another to get it;
//! the read-access check they share is `AuthService::read_refusal`.

use crate::auth::AuthService;
use crate::live_stream::LiveStreamState;
use crate::monitor::Monitor;
use crate::page_cache::PageCacheState;
use axum::extract::FromRef;
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

impl FromRef<AppState> for LiveStreamState {
    fn from_ref(state: &AppState) -> Self {
        LiveStreamState {
            monitor: state.monitor.clone(),
            auth: state.auth.clone(),
            shutting_down: state.shutting_down.clone(),
            snapshot_frames: state.snapshot_frames.clone(),
            stream_limits: state.stream_limits.clone(),
        }
    }
}

impl FromRef<AppState> for PageCacheState {
    fn from_ref(state: &AppState) -> Self {
        PageCacheState {
            page_cache: state.page_cache.clone(),
            auth: state.auth.clone(),
            monitor: state.monitor.clone(),
            runbooks: state.runbooks.clone(),
        }
    }
}
