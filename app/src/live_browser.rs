//! Browser build: keeps the open page current. Subscribes to the server's SSE stream
//! (`/api/events`) and, while the stream is down, polls `/api/v1/status` with gloo-net.

use crate::board::BoardQuery;
use crate::connection::LiveConnection;
use crate::model::{live_event_names, LiveEvent, StatusSnapshot};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use gloo_net::eventsource::futures::EventSource;
use leptos::prelude::*;
use std::time::Duration;

const EVENTS_PATH: &str = "/api/events";
const STATUS_PATH: &str = "/api/v1/status";
const FALLBACK_POLL: Duration = Duration::from_secs(30);

/// Follows the live stream of one view of the board (`board`: the overview or one page of an
/// environment); the server cuts every snapshot to that view.
pub fn connect(
    snapshot: RwSignal<Option<StatusSnapshot>>,
    clock: RwSignal<Option<DateTime<Utc>>>,
    connection: RwSignal<LiveConnection>,
    board: BoardQuery,
) {
    Effect::new(move |_| {
        connection.set(LiveConnection::Connecting);
        let events = format!("{EVENTS_PATH}{}", board.to_query_string());
        leptos::task::spawn_local(follow_stream(snapshot, clock, connection, events));
        let board = board.clone();
        let _ = set_interval_with_handle(
            move || {
                if connection.get_untracked() != LiveConnection::Live {
                    leptos::task::spawn_local(poll_once(snapshot, clock, board.clone()));
                }
            },
            FALLBACK_POLL,
        );
    });
}

async fn follow_stream(
    snapshot: RwSignal<Option<StatusSnapshot>>,
    clock: RwSignal<Option<DateTime<Utc>>>,
    connection: RwSignal<LiveConnection>,
    events: String,
) {
    let Ok(mut source) = EventSource::new(&events) else {
        connection.set(LiveConnection::Reconnecting);
        return;
    };
    let (Ok(snapshots), Ok(heartbeats)) = (
        source.subscribe(live_event_names::SNAPSHOT),
        source.subscribe(live_event_names::HEARTBEAT),
    ) else {
        connection.set(LiveConnection::Reconnecting);
        return;
    };
    let mut events = futures::stream::select(snapshots, heartbeats);
    // The browser's EventSource reconnects by itself after an error; keep listening.
    while let Some(event) = events.next().await {
        let Ok((_, message)) = event else {
            connection.set(LiveConnection::Reconnecting);
            continue;
        };
        connection.set(LiveConnection::Live);
        let Some(data) = message.data().as_string() else {
            continue;
        };
        match serde_json::from_str::<LiveEvent>(&data) {
            Ok(LiveEvent::Snapshot { snapshot: next }) => {
                clock.set(Some(next.generated_at));
                snapshot.set(Some(next));
            }
            Ok(LiveEvent::Heartbeat { server_time }) => clock.set(Some(server_time)),
            // The status page has nothing to refresh for history changes.
            Ok(LiveEvent::DeploymentsChanged { .. }) => {}
            Err(_) => leptos::logging::warn!("live update could not be read"),
        }
    }
    drop(source);
}

/// The fallback while the stream is down: the complete status, cut to the page's view here.
async fn poll_once(
    snapshot: RwSignal<Option<StatusSnapshot>>,
    clock: RwSignal<Option<DateTime<Utc>>>,
    board: BoardQuery,
) {
    let Ok(response) = gloo_net::http::Request::get(STATUS_PATH).send().await else {
        return;
    };
    if let Ok(next) = response.json::<StatusSnapshot>().await {
        clock.set(Some(next.generated_at));
        if let Some(view) = next.board(&board) {
            snapshot.set(Some(view));
        }
    }
}

/// Bumps `refresh` whenever the server stored new deployments (the history page refetches).
pub fn follow_deployments(refresh: RwSignal<u64>) {
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            let Ok(mut source) = EventSource::new(EVENTS_PATH) else {
                return;
            };
            let Ok(mut changes) = source.subscribe(live_event_names::DEPLOYMENTS) else {
                return;
            };
            while let Some(event) = changes.next().await {
                if event.is_ok() {
                    refresh.update(|count| *count += 1);
                }
            }
            drop(source);
        });
    });
}

/// Follows one rollback operation (`/api/v1/rollbacks/{id}/events`) until it ends.
pub fn follow_rollback(id: i64, view: RwSignal<Option<crate::rollback::RollbackView>>) {
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            let path = format!("/api/v1/rollbacks/{id}/events");
            let Ok(mut source) = EventSource::new(&path) else {
                return;
            };
            let Ok(mut updates) = source.subscribe(crate::rollback::ROLLBACK_EVENT) else {
                return;
            };
            while let Some(Ok((_, message))) = updates.next().await {
                let Some(data) = message.data().as_string() else {
                    continue;
                };
                if let Ok(next) = serde_json::from_str::<crate::rollback::RollbackView>(&data) {
                    let finished = next.state.is_finished();
                    view.set(Some(next));
                    if finished {
                        break;
                    }
                }
            }
            drop(source);
        });
    });
}
