//! Server build: the islands render their first state; there is no stream to follow while
//! rendering.

use crate::connection::LiveConnection;
use leptos::prelude::RwSignal;

pub fn follow(_events: String, _refresh_on: Vec<String>, _connection: RwSignal<LiveConnection>) {}

pub fn filter_as_you_type(_form_id: String, _results_id: String) {}
