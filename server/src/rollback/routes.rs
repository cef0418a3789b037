//! The JSON side of rollbacks and the audit log: `GET /api/v1/rollbacks/{id}` (read access),
//! its live stream `GET /api/v1/rollbacks/{id}/events` (the result page follows it), and
//! `GET /api/v1/audit` (admins: the audit log with the page's filters).

use crate::app_state::AppState;
use crate::auth::RequestAuth;
use crate::dashboard::audit_view;
use crate::store::AuditFilter;
use app::audit::{AuditQuery, AUDIT_PAGE_SIZE};
use app::auth::{decide, Access, Audience};
use app::rollback::ROLLBACK_EVENT;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use futures::StreamExt;
use serde_json::json;
use std::convert::Infallible;
use tokio_stream::wrappers::WatchStream;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/rollbacks/{id}", get(rollback_json))
        .route("/api/v1/rollbacks/{id}/events", get(rollback_events))
        .route("/api/v1/audit", get(audit_json))
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

async fn rollback_json(
    State(state): State<AppState>,
    Extension(request): Extension<RequestAuth>,
    Path(id): Path<i64>,
) -> Response {
    if let Some(refused) = state.auth.read_refusal(&request) {
        return refused;
    }
    let audience = Audience::of(&request.principal);
    match state.rollbacks.view(id, |_| false).await {
        Ok(view) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(view.for_audience(audience)),
        )
            .into_response(),
        Err(crate::rollback::RollbackError::NotFound(message)) => {
            error(StatusCode::NOT_FOUND, message)
        }
        Err(other) => error(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
    }
}

/// The operation at once, then after every change; the stream ends right after the finished
/// state is sent (or at once for an unknown id), not when the next change comes.
async fn rollback_events(
    State(state): State<AppState>,
    Extension(request): Extension<RequestAuth>,
    Path(id): Path<i64>,
) -> Response {
    if let Some(refused) = state.auth.read_refusal(&request) {
        return refused;
    }
    let permit = match state.stream_limits.open(request.remote_addr.as_deref()) {
        Ok(permit) => permit,
        Err(refusal) => return refusal.into_response(),
    };
    let rollbacks = state.rollbacks.clone();
    let audience = Audience::of(&request.principal);
    let mut shutting_down = state.shutting_down.clone();
    let stop = async move {
        let _ = shutting_down.wait_for(|stopping| *stopping).await;
    };
    let updates = WatchStream::new(rollbacks.subscribe())
        .then(move |_| {
            let rollbacks = rollbacks.clone();
            async move {
                rollbacks
                    .view(id, |_| false)
                    .await
                    .ok()
                    .map(|view| view.for_audience(audience))
            }
        })
        // After a finished view, an end marker the stream stops at without waiting.
        .flat_map(|view| {
            let finished = view.as_ref().is_none_or(|view| view.state.is_finished());
            let end = finished.then_some(None);
            futures::stream::iter(view.map(Some).into_iter().chain(end))
        })
        .take_while(|item| std::future::ready(item.is_some()))
        .filter_map(|view| async move {
            let view = view?;
            serde_json::to_string(&view)
                .ok()
                .map(|data| Event::default().event(ROLLBACK_EVENT).data(data))
        })
        .map(move |event| {
            let _held = &permit;
            Ok::<Event, Infallible>(event)
        })
        .take_until(Box::pin(stop));
    Sse::new(updates).into_response()
}

async fn audit_json(
    State(state): State<AppState>,
    Extension(request): Extension<RequestAuth>,
    Query(query): Query<AuditQuery>,
) -> Response {
    if let Err(denial) = decide(state.auth.policy(), &request.principal, &Access::ReadAudit) {
        let status = StatusCode::from_u16(denial.status()).unwrap_or(StatusCode::FORBIDDEN);
        return error(status, denial.reason().to_string());
    }
    let filter = AuditFilter {
        action: query.action,
        actor: query.actor,
        outcome: query.outcome,
    };
    match state
        .monitor
        .store()
        .list_audit_filtered(AUDIT_PAGE_SIZE + 1, query.before, &filter)
        .await
    {
        Ok(entries) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(audit_view(entries)),
        )
            .into_response(),
        Err(store_error) => {
            tracing::error!(error = %store_error, "audit query failed");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "the audit store did not answer; try again shortly".into(),
            )
        }
    }
}
