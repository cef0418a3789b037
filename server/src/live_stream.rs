//! `GET /api/events`: the status board's live stream (Server-Sent Events). Each viewer gets
//! the snapshot cut to its view of the board (`app::board`) at once and on every change, the
//! history's change counter, and a heartbeat with the server's clock; the stream ends when the
//! server shuts down. Each open stream holds a place in `StreamLimits` (503/429 beyond it).
//!
//! A snapshot event is serialized once per view and revision and the same bytes (reference
//! counted) go to every viewer of that view: a thousand open pages cost one serialization and
//! no copies per change, not a thousand (BENCHMARKS.md: memory and fan-out under 1,000
//! viewers).

use crate::auth::{AuthService, RequestAuth};
use crate::monitor::Monitor;
use crate::stream_limits::StreamLimits;
use app::auth::Audience;
use app::board::BoardQuery;
use app::model::{live_event_names, LiveEvent, StatusSnapshot};
use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use futures::StreamExt;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use tokio_stream::wrappers::{IntervalStream, WatchStream};

/// Views kept at most; a new revision replaces them all anyway.
const MAX_CACHED_VIEWS: usize = 256;
/// Below the ~55 s after which PaaS routers close idle streams.
pub const HEARTBEAT_INTERVAL: std::time::Duration = std::time::Duration::from_secs(15);

/// The last serialized `snapshot` event of each view of the board and audience (anonymous
/// readers are not told who rolled back), by snapshot revision.
#[derive(Default)]
pub struct SnapshotFrames {
    frames: Mutex<HashMap<(BoardQuery, Audience), (u64, Bytes)>>,
}

impl SnapshotFrames {
    /// The `snapshot` event of `board`'s view of `snapshot` for `audience`; `None` when the
    /// view does not exist (an environment that has gone).
    pub fn frame(
        &self,
        snapshot: &StatusSnapshot,
        board: &BoardQuery,
        audience: Audience,
    ) -> Option<Bytes> {
        let mut frames = self
            .frames
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let key = (board.clone(), audience);
        if let Some((revision, frame)) = frames.get(&key) {
            if *revision == snapshot.revision {
                return Some(frame.clone());
            }
        }
        let view = snapshot.board(board)?.for_audience(audience);
        let frame = encode(
            live_event_names::SNAPSHOT,
            &LiveEvent::Snapshot { snapshot: view },
        )?;
        if frames.len() >= MAX_CACHED_VIEWS {
            frames.retain(|_, (revision, _)| *revision == snapshot.revision);
            if frames.len() >= MAX_CACHED_VIEWS {
                frames.clear();
            }
        }
        frames.insert(key, (snapshot.revision, frame.clone()));
        Some(frame)
    }
}

/// One SSE event: `event: NAME`, one `data:` line of compact JSON (which has no newlines).
fn encode(name: &str, event: &LiveEvent) -> Option<Bytes> {
    match serde_json::to_string(event) {
        Ok(data) => Some(Bytes::from(format!("event: {name}\ndata: {data}\n\n"))),
        Err(error) => {
            tracing::error!(%error, "live event could not be serialized");
            None
        }
    }
}

/// What the live stream reads: its part of `AppState` (which sits above this module and
/// builds it with `FromRef`), so the stream does not depend on the routers' state.
#[derive(Clone)]
pub struct LiveStreamState {
    pub monitor: Arc<Monitor>,
    pub auth: Arc<AuthService>,
    /// Flips to true when the server begins shutting down; ends every stream.
    pub shutting_down: watch::Receiver<bool>,
    pub snapshot_frames: Arc<SnapshotFrames>,
    pub stream_limits: Arc<StreamLimits>,
}

/// `GET /api/events?environment=…&page=…` (the view as for `/`).
pub async fn live_events(
    State(state): State<LiveStreamState>,
    Extension(request): Extension<RequestAuth>,
    Query(board): Query<BoardQuery>,
) -> Response {
    if let Some(refused) = state.auth.read_refusal(&request) {
        return refused;
    }
    let permit = match state.stream_limits.open(request.remote_addr.as_deref()) {
        Ok(permit) => permit,
        Err(refusal) => return refusal.into_response(),
    };
    let frames = state.snapshot_frames.clone();
    let audience = Audience::of(&request.principal);
    let snapshots = WatchStream::new(state.monitor.subscribe()).filter_map(move |snapshot| {
        let frame = frames.frame(&snapshot, &board, audience);
        async move { frame }
    });
    let heartbeats = IntervalStream::new(tokio::time::interval_at(
        tokio::time::Instant::now() + HEARTBEAT_INTERVAL,
        HEARTBEAT_INTERVAL,
    ))
    .filter_map(|_| async {
        encode(
            live_event_names::HEARTBEAT,
            &LiveEvent::Heartbeat {
                server_time: chrono::Utc::now(),
            },
        )
    });
    let deployments = WatchStream::from_changes(state.monitor.subscribe_deployments()).filter_map(
        |count| async move {
            encode(
                live_event_names::DEPLOYMENTS,
                &LiveEvent::DeploymentsChanged { count },
            )
        },
    );
    let mut shutting_down = state.shutting_down.clone();
    let stop = async move {
        let _ = shutting_down.wait_for(|stopping| *stopping).await;
    };
    let stream =
        futures::stream::select(futures::stream::select(snapshots, heartbeats), deployments)
            .map(move |frame| {
                // The stream's place is held until the stream is dropped.
                let _held = &permit;
                Ok::<Bytes, Infallible>(frame)
            })
            .take_until(Box::pin(stop));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn one_serialization_per_view_and_revision() {
        let frames = SnapshotFrames::default();
        let mut snapshot = StatusSnapshot::empty(Utc::now());
        snapshot.revision = 3;
        let overview = BoardQuery::default();
        let first = frames
            .frame(&snapshot, &overview, Audience::SignedIn)
            .unwrap();
        let again = frames
            .frame(&snapshot, &overview, Audience::SignedIn)
            .unwrap();
        assert_eq!(first.as_ptr(), again.as_ptr(), "the same bytes are shared");
        assert!(first.starts_with(b"event: snapshot\ndata: {\"type\":\"snapshot\""));
        assert!(first.ends_with(b"}\n\n"));
        snapshot.revision = 4;
        let next = frames
            .frame(&snapshot, &overview, Audience::SignedIn)
            .unwrap();
        assert_ne!(
            first.as_ptr(),
            next.as_ptr(),
            "a new revision is serialized again"
        );
        assert!(frames
            .frame(
                &snapshot,
                &BoardQuery::environment_page("gone", 1),
                Audience::SignedIn
            )
            .is_none());
    }
}
