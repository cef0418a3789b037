//! HTTP routes: the Leptos pages and server functions, the JSON API, the live stream, probes
//! and the client bundle. Handlers read the monitor's snapshot; none calls a provider. What
//! the handlers share is `app_state::AppState`, below every router.

use crate::app_state::AppState;
use crate::auth::middleware::{auth_layer, refuse};
use crate::auth::{AuthService, RequestAuth};
use crate::dashboard::ServerDashboard;
use app::access::RequestAccess;
use app::auth::{Audience, Principal};
use app::dashboard::{Dashboard, DashboardHandle};
use app::error::AppError;
use app::history::HistoryQuery;
use app::runbooks_port::RunbooksHandle;
use app::shell::{shell, App};
use axum::extract::FromRef;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use leptos::prelude::{provide_context, use_context};
use leptos_axum::{generate_route_list, LeptosRoutes, ResponseOptions};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// Requests carry no uploads: a small body limit protects the server.
const MAX_REQUEST_BODY: usize = 64 * 1024;
/// A request that has not produced its response headers by then gets 408 (live streams send
/// their headers at once, so they are not cut).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every Leptos render and server function gets in its context: the dashboard port, who
/// is asking (resolved by the auth layer), a way to set the response status, and the page's
/// Content-Security-Policy with this response's script nonce.
fn request_context(
    dashboard: DashboardHandle,
    runbooks: RunbooksHandle,
    auth: Arc<AuthService>,
) -> impl Fn() + Clone + Send + Sync + 'static {
    move || {
        provide_context(dashboard.clone());
        provide_context(runbooks.clone());
        let request = use_context::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<RequestAuth>().cloned());
        let response = use_context::<ResponseOptions>();
        let (principal, csrf_token, remote_addr) = match request {
            Some(request) => (request.principal, request.csrf_token, request.remote_addr),
            None => (Principal::Anonymous, String::new(), None),
        };
        let status_target = response.clone();
        provide_context(RequestAccess {
            principal,
            policy: auth.policy(),
            csrf_token,
            logout_url: auth.logout_url(),
            demo_logins: auth.demo_logins(),
            set_status: Arc::new(move |code| {
                if let (Some(response), Ok(status)) = (&status_target, StatusCode::from_u16(code)) {
                    response.set_status(status);
                }
            }),
            remote_addr,
            redirect: Arc::new(|path: &str| {
                // Only our own paths, percent-encoded: the one check every redirect passes.
                match app::auth::local_redirect_path(path) {
                    Some(path) => leptos_axum::redirect(&path),
                    None => tracing::warn!(path, "refused a redirect away from this site"),
                }
            }),
        });
        if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), response) {
            if let Ok(policy) = HeaderValue::from_str(&crate::auth::headers::page_policy(&nonce)) {
                response.insert_header(header::CONTENT_SECURITY_POLICY, policy);
            }
        }
    }
}

pub fn router(state: AppState) -> Router {
    let dashboard = DashboardHandle(Arc::new(ServerDashboard::new(
        state.monitor.clone(),
        state.rollbacks.clone(),
    )));
    let runbooks = RunbooksHandle(state.runbooks.clone());
    let context = request_context(dashboard, runbooks, state.auth.clone());
    let options = state.leptos_options.clone();
    let routes = generate_route_list(App);
    let pkg_dir = format!("{}/{}", options.site_root, options.site_pkg_dir);
    // Bundle names are stable (no hash), so browsers revalidate (Last-Modified → 304).
    // Release builds ship `X.br`/`X.gz` made at maximum compression (scripts/precompress.mjs);
    // they are sent as they are, and the compression layer leaves encoded responses alone.
    let pkg = Router::new()
        .fallback_service(
            ServeDir::new(pkg_dir)
                .precompressed_br()
                .precompressed_gzip(),
        )
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/api/v1/status", get(api_status))
        .route("/api/v1/deployments", get(api_deployments))
        .route("/api/events", get(crate::live_stream::live_events))
        .merge(crate::rollback::routes::router())
        .route("/login", post(crate::auth::handlers::log_in))
        .route("/logout", post(crate::auth::handlers::log_out))
        .nest("/pkg", pkg)
        .merge(crate::runbooks::routes::router(&options))
        .leptos_routes_with_context(&state, routes, context.clone(), {
            let options = options.clone();
            let page_cache = state.page_cache.clone();
            move || {
                page_cache.count_render();
                shell(options.clone())
            }
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<
            AppState,
            _,
        >(context, shell))
        // Inside the auth layer: it sees who is asking, and the auth layer's no-store, CSRF
        // cookie and HSTS are added to stored pages as to rendered ones.
        .layer(axum::middleware::from_fn_with_state(
            crate::page_cache::PageCacheState::from_ref(&state),
            crate::page_cache::page_cache_layer,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.auth.clone(),
            auth_layer,
        ))
        .with_state(state)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(RequestBodyLimitLayer::new(MAX_REQUEST_BODY))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            crate::auth::headers::DEFAULT_POLICY,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        // Leaves responses with Content-Encoding alone: stored pages come compressed.
        .layer(CompressionLayer::new())
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
}

/// A handler that panicked: 500 with no detail (the panic is logged, never sent).
pub fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "a request handler panicked");
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; the server logged it",
    )
}

/// The process is up.
async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

/// Config loaded, the monitor running and the store reachable.
async fn readyz(State(state): State<AppState>) -> Response {
    let monitor = state.monitor.is_running();
    let store = match state.monitor.store().ping().await {
        Ok(()) => "reachable",
        Err(error) => {
            tracing::warn!(%error, "readiness: the store is unreachable");
            "unreachable"
        }
    };
    let body = json!({
        "status": if monitor && store == "reachable" { "ready" } else { "not ready" },
        "config": "loaded",
        "monitor": if monitor { "running" } else { "stopped" },
        "store": store,
    });
    if monitor && store == "reachable" {
        Json(body).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
    }
}

/// `GET /api/v1/deployments`: the merged history with the `/history` page's filters
/// (`service`, `environment`, `state`, `author`, `from`, `to`) and cursor (`after`).
async fn api_deployments(
    State(state): State<AppState>,
    Extension(request): Extension<RequestAuth>,
    axum::extract::Query(query): axum::extract::Query<HistoryQuery>,
) -> Response {
    if let Some(refused) = state.auth.read_refusal(&request) {
        return refused;
    }
    let dashboard = ServerDashboard::new(state.monitor.clone(), state.rollbacks.clone());
    match dashboard.history(query).await {
        Ok(view) => (
            [(header::CACHE_CONTROL, "no-store")],
            Json(json!({"deployments": view.entries, "next": view.next})),
        )
            .into_response(),
        Err(AppError::BadRequest(message)) => {
            (StatusCode::BAD_REQUEST, Json(json!({"error": message}))).into_response()
        }
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": error.to_string()})),
        )
            .into_response(),
    }
}

/// `GET /api/v1/status`: every environment with its services, as the home page shows them.
async fn api_status(
    State(state): State<AppState>,
    Extension(request): Extension<RequestAuth>,
) -> Response {
    if let Some(refused) = state.auth.read_refusal(&request) {
        return refused;
    }
    let snapshot = state.monitor.current();
    // Anonymous readers get a copy without who rolled back (the shared snapshot is kept).
    let body = match Audience::of(&request.principal) {
        Audience::SignedIn => serde_json::to_vec(snapshot.as_ref()),
        Audience::Anonymous => {
            serde_json::to_vec(&snapshot.as_ref().clone().for_audience(Audience::Anonymous))
        }
    };
    match body {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "status snapshot could not be serialized");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    #[tokio::test]
    async fn a_panic_becomes_a_500_without_its_message() {
        let app = Router::new()
            .route(
                "/boom",
                get(|| async {
                    let detail = String::from("panic detail with a secret");
                    std::panic::panic_any(detail);
                    #[allow(unreachable_code)]
                    "unreachable"
                }),
            )
            .layer(CatchPanicLayer::custom(panic_response));
        let request = axum::http::Request::builder()
            .uri("/boom")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(!body.contains("secret"), "{body}");
        assert!(body.contains("internal error"), "{body}");
    }
}
