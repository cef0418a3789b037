//! The runbook routes outside Leptos: images from the runbooks folder, and the two static
//! scripts (copy buttons, service worker) that must be revalidated on every load.

use crate::app_state::AppState;
use crate::runbooks::{AssetError, MAX_ASSET_BYTES};
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use leptos::prelude::LeptosOptions;
use tower_http::services::ServeFile;
use tower_http::set_header::SetResponseHeaderLayer;

/// An image opened on its own (an SVG) runs no script and loads nothing.
const ASSET_CSP: &str = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

pub fn router(options: &LeptosOptions) -> Router<AppState> {
    let site = std::path::PathBuf::from(options.site_root.as_ref());
    // Stable names: the browser must revalidate (a new service worker is picked up at once).
    let scripts = Router::new()
        .route_service("/sw.js", ServeFile::new(site.join("sw.js")))
        .route_service("/lookout.js", ServeFile::new(site.join("lookout.js")))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
        // A service worker's own CSP governs its fetches: it may reach this origin only
        // (the server's default for non-page responses, `default-src 'none'`, would stop it).
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
        ));
    Router::new()
        .route("/runbooks/assets/{*path}", get(asset))
        .merge(scripts)
}

/// `GET /runbooks/assets/{path}`: an image from the runbooks folder.
async fn asset(
    State(state): State<AppState>,
    Extension(request): Extension<crate::auth::RequestAuth>,
    Path(path): Path<String>,
) -> Response {
    // Images of a private dashboard's runbooks are private too.
    if let Some(refused) = state.auth.read_refusal(&request) {
        return refused;
    }
    let (file, content_type) = match state.runbooks.asset(&path) {
        Ok(found) => found,
        Err(AssetError::Refused) => {
            tracing::warn!(%path, "runbook asset path refused");
            return (StatusCode::BAD_REQUEST, "this path is not allowed").into_response();
        }
        Err(error) => return (StatusCode::NOT_FOUND, error.to_string()).into_response(),
    };
    match tokio::fs::metadata(&file).await {
        Ok(metadata) if metadata.is_file() && metadata.len() <= MAX_ASSET_BYTES => {}
        Ok(_) => return (StatusCode::NOT_FOUND, "no such image").into_response(),
        Err(_) => return (StatusCode::NOT_FOUND, "no such image").into_response(),
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "no-cache"),
                (header::CONTENT_SECURITY_POLICY, ASSET_CSP),
            ],
            bytes,
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(file = %file.display(), %error, "runbook asset unreadable");
            (StatusCode::NOT_FOUND, "no such image").into_response()
        }
    }
}
