//! Browser build: what the islands do. The pages themselves are server HTML; the wasm only
//! keeps them current and makes the runbook search answer as you type:
//!
//! - [`follow`] subscribes to a server-sent event stream; when an event says the page changed,
//!   it fetches the same URL again (the server answers from its page cache) and swaps the new
//!   `#main` in. Heartbeats carry the server's clock, which re-reads every relative time
//!   (`time[data-relative]`). While the stream is down it refetches every 30 s.
//! - [`filter_as_you_type`] turns a GET filter form into a live one: each change fetches the
//!   form's URL, swaps the results region in and keeps the address bar in step.
//!
//! No wire type is deserialized here: the HTML the server renders is the one source of truth,
//! so the wasm carries no page, no model and no server-function client.

use crate::connection::LiveConnection;
use crate::model::live_event_names;
use futures::StreamExt;
use gloo_net::eventsource::futures::EventSource;
use leptos::prelude::*;
use std::time::Duration;
use wasm_bindgen::JsCast;
use web_sys::js_sys;

/// How often the page is fetched again while its live stream is down.
const FALLBACK_POLL: Duration = Duration::from_secs(30);
/// The region every live page swaps (the server renders it complete).
const MAIN_ID: &str = "main";
/// The mark of a page that will not change any more (a finished rollback).
const FINAL_SELECTOR: &str = "[data-live-final]";
/// Pause after the last keystroke before a search is sent.
const TYPING_PAUSE: Duration = Duration::from_millis(200);

/// Follows `events` and refreshes `#main` on each event named in `refresh_on`.
pub fn follow(events: String, refresh_on: Vec<String>, connection: RwSignal<LiveConnection>) {
    Effect::new(move |_| {
        if final_page() {
            connection.set(LiveConnection::Finished);
            return;
        }
        connection.set(LiveConnection::Connecting);
        leptos::task::spawn_local(follow_stream(
            events.clone(),
            refresh_on.clone(),
            connection,
        ));
        let _ = set_interval_with_handle(
            move || {
                if matches!(
                    connection.get_untracked(),
                    LiveConnection::Reconnecting | LiveConnection::Connecting
                ) {
                    leptos::task::spawn_local(refresh_main(connection));
                }
            },
            FALLBACK_POLL,
        );
    });
}

async fn follow_stream(
    events: String,
    refresh_on: Vec<String>,
    connection: RwSignal<LiveConnection>,
) {
    let Ok(mut source) = EventSource::new(&events) else {
        connection.set(LiveConnection::Reconnecting);
        return;
    };
    let mut streams = Vec::new();
    for name in refresh_on
        .iter()
        .map(String::as_str)
        .chain([live_event_names::HEARTBEAT])
    {
        match source.subscribe(name) {
            Ok(stream) => streams.push(stream),
            Err(_) => {
                connection.set(LiveConnection::Reconnecting);
                return;
            }
        }
    }
    let mut incoming = futures::stream::select_all(streams);
    // The browser's EventSource reconnects by itself after an error; keep listening.
    while let Some(event) = incoming.next().await {
        let Ok((name, message)) = event else {
            connection.set(LiveConnection::Reconnecting);
            continue;
        };
        if connection.get_untracked() != LiveConnection::Live {
            connection.set(LiveConnection::Live);
        }
        if name == live_event_names::HEARTBEAT {
            if let Some(data) = message.data().as_string() {
                if let Some(server_ms) = heartbeat_clock(&data) {
                    refresh_relative_times(server_ms);
                }
            }
            continue;
        }
        refresh_main(connection).await;
        if final_page() {
            connection.set(LiveConnection::Finished);
            break;
        }
    }
    source.close();
}

/// Fetches this page again and swaps its `#main` in. A page that now answers with another
/// address (a sign-in redirect) or an error is left as it is; a redirect is followed whole.
async fn refresh_main(connection: RwSignal<LiveConnection>) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let location = window.location();
    let (Ok(path), Ok(search)) = (location.pathname(), location.search()) else {
        return;
    };
    let here = format!("{path}{search}");
    match fetch_region(&here, MAIN_ID).await {
        Fetched::Region(html) => swap_inner(MAIN_ID, &html),
        Fetched::Moved => {
            let _ = location.reload();
        }
        Fetched::Failed => {
            if connection.get_untracked() == LiveConnection::Connecting {
                connection.set(LiveConnection::Reconnecting);
            }
        }
    }
}

enum Fetched {
    Region(String),
    /// The server sent us elsewhere (signed out, say).
    Moved,
    Failed,
}

/// GETs `url` and returns the inner HTML of its element `id`.
async fn fetch_region(url: &str, id: &str) -> Fetched {
    let Ok(response) = gloo_net::http::Request::get(url)
        .header("Accept", "text/html")
        .send()
        .await
    else {
        return Fetched::Failed;
    };
    if response.redirected() {
        return Fetched::Moved;
    }
    if !response.ok() {
        return Fetched::Failed;
    }
    let Ok(text) = response.text().await else {
        return Fetched::Failed;
    };
    let Ok(parser) = web_sys::DomParser::new() else {
        return Fetched::Failed;
    };
    let Ok(document) = parser.parse_from_string(&text, web_sys::SupportedType::TextHtml) else {
        return Fetched::Failed;
    };
    match document.get_element_by_id(id) {
        Some(region) => Fetched::Region(region.inner_html()),
        None => Fetched::Failed,
    }
}

/// Replaces the children of `id` in the open document (our own server's HTML).
fn swap_inner(id: &str, html: &str) {
    if let Some(region) = document().get_element_by_id(id) {
        region.set_inner_html(html);
    }
}

fn final_page() -> bool {
    document()
        .query_selector(FINAL_SELECTOR)
        .ok()
        .flatten()
        .is_some()
}

/// The server's clock from a heartbeat (`{"type":"heartbeat","server_time":"…"}`), in
/// milliseconds since the epoch.
fn heartbeat_clock(data: &str) -> Option<f64> {
    let parsed = js_sys::JSON::parse(data).ok()?;
    let time = js_sys::Reflect::get(&parsed, &"server_time".into())
        .ok()?
        .as_string()?;
    let millis = js_sys::Date::parse(&time);
    (!millis.is_nan()).then_some(millis)
}

/// Re-reads every `time[data-relative]` against the server's clock.
fn refresh_relative_times(server_ms: f64) {
    let Ok(times) = document().query_selector_all("time[data-relative]") else {
        return;
    };
    for index in 0..times.length() {
        let Some(element) = times
            .item(index)
            .and_then(|node| node.dyn_into::<web_sys::Element>().ok())
        else {
            continue;
        };
        let Some(at) = element.get_attribute("datetime") else {
            continue;
        };
        let at_ms = js_sys::Date::parse(&at);
        if at_ms.is_nan() {
            continue;
        }
        let seconds = ((server_ms - at_ms) / 1000.0).floor() as i64;
        element.set_text_content(Some(&crate::time::relative_seconds(seconds)));
    }
}

/// Makes the GET form `form_id` search as the user types: after a short pause the form's URL
/// is fetched, its `results_id` region swapped in and the address bar replaced (so the view
/// can be shared and Back works as before). Submitting still works the same way.
pub fn filter_as_you_type(form_id: String, results_id: String) {
    Effect::new(move |_| {
        let Some(form) = document()
            .get_element_by_id(&form_id)
            .and_then(|element| element.dyn_into::<web_sys::HtmlFormElement>().ok())
        else {
            return;
        };
        // The newest request wins: an older answer that arrives late is dropped.
        let generation = StoredValue::new(0_u64);
        let results_id = results_id.clone();
        let send = {
            let form = form.clone();
            move || {
                let Some(url) = form_url(&form) else {
                    return;
                };
                generation.update_value(|count| *count += 1);
                let mine = generation.get_value();
                let results_id = results_id.clone();
                set_timeout(
                    move || {
                        if generation.get_value() != mine {
                            return;
                        }
                        leptos::task::spawn_local(async move {
                            if let Fetched::Region(html) = fetch_region(&url, &results_id).await {
                                if generation.get_value() == mine {
                                    swap_inner(&results_id, &html);
                                    replace_address(&url);
                                }
                            }
                        });
                    },
                    TYPING_PAUSE,
                );
            }
        };
        for event in ["input", "change"] {
            let send = send.clone();
            let listener = wasm_bindgen::closure::Closure::<dyn Fn()>::new(send);
            let _ = form.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
            listener.forget();
        }
        let submit = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::Event)>::new(
            move |event: web_sys::Event| {
                event.prevent_default();
                send();
            },
        );
        let _ = form.add_event_listener_with_callback("submit", submit.as_ref().unchecked_ref());
        submit.forget();
    });
}

/// The URL a GET form would load: its action with its fields, empty ones left out.
fn form_url(form: &web_sys::HtmlFormElement) -> Option<String> {
    let data = web_sys::FormData::new_with_form(form).ok()?;
    let params = web_sys::UrlSearchParams::new().ok()?;
    let entries = js_sys::try_iter(&data).ok()??;
    for entry in entries {
        let pair = js_sys::Array::from(&entry.ok()?);
        let (Some(key), Some(value)) = (pair.get(0).as_string(), pair.get(1).as_string()) else {
            continue;
        };
        let value = value.trim();
        if !value.is_empty() {
            params.append(&key, value);
        }
    }
    let action = web_sys::Url::new(&form.action()).ok()?;
    let search = String::from(params.to_string());
    Some(if search.is_empty() {
        action.pathname()
    } else {
        format!("{}?{search}", action.pathname())
    })
}

fn replace_address(url: &str) {
    if let Some(history) = web_sys::window().and_then(|window| window.history().ok()) {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
}
