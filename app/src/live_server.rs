//! Server build: there is no live stream to open while rendering.

use crate::connection::LiveConnection;
use crate::model::StatusSnapshot;
use chrono::{DateTime, Utc};
use leptos::prelude::RwSignal;

pub fn connect(
    _snapshot: RwSignal<Option<StatusSnapshot>>,
    _clock: RwSignal<Option<DateTime<Utc>>>,
    _connection: RwSignal<LiveConnection>,
    _board: crate::board::BoardQuery,
) {
}

pub fn follow_deployments(_refresh: RwSignal<u64>) {}

pub fn follow_rollback(_id: i64, _view: RwSignal<Option<crate::rollback::RollbackView>>) {}
