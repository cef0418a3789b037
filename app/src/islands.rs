//! The only parts of Lookout that run in the browser (Leptos islands): everything else is
//! server HTML that works the same with JavaScript off. The wasm bundle holds these islands
//! and what they call (`live_browser.rs`), nothing of the pages.

use crate::connection::LiveConnection;
use crate::model::live_event_names;
use leptos::prelude::*;

/// What a live page follows: its event stream and the events that mean "this page changed".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveFeed {
    pub events: String,
    pub refresh_on: Vec<String>,
}

impl LiveFeed {
    /// The status board (one view of it: `query` is the board's query string, `?…` or empty).
    pub fn board(query: &str) -> Self {
        Self {
            events: format!("/api/events{query}"),
            refresh_on: vec![live_event_names::SNAPSHOT.to_string()],
        }
    }

    /// The deploy history: new deployments stored.
    pub fn history() -> Self {
        Self {
            events: "/api/events".to_string(),
            refresh_on: vec![live_event_names::DEPLOYMENTS.to_string()],
        }
    }

    /// One rollback operation until it ends (its page then carries `data-live-final`).
    pub fn rollback(id: i64) -> Self {
        Self {
            events: format!("/api/v1/rollbacks/{id}/events"),
            refresh_on: vec![crate::model::rollback::ROLLBACK_EVENT.to_string()],
        }
    }
}

/// The header's stream state. Server-rendered it says the page is a snapshot; in the browser
/// it follows the feed, swaps the page's `#main` when it changes and keeps relative times
/// current.
#[island]
pub fn LiveStatus(events: String, refresh_on: Vec<String>) -> impl IntoView {
    let connection = RwSignal::new(LiveConnection::Static);
    crate::live::follow(events, refresh_on, connection);
    view! {
        <span class=move || format!("connection {}", connection.get().css_class()) role="status">
            {move || connection.get().label()}
        </span>
    }
}

/// Makes the GET form `form` search as the user types, swapping the region `results`.
/// Renders nothing: without JavaScript the form submits as it is.
#[island]
pub fn SearchAsYouType(form: String, results: String) -> impl IntoView {
    crate::live::filter_as_you_type(form, results);
}
