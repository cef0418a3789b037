//! The auth layer every request passes: resolves the principal, enforces the CSRF rules on
//! mutating requests, refuses server functions missing from the authorization table, sends
//! anonymous visitors of a private dashboard to the login page, and sets the CSRF cookie and
//! HSTS. What it learned goes into the request's extensions as [`RequestAuth`].

use super::csrf::{self, BodyRule};
use super::endpoints;
use super::{cookie, password, AuthService, RequestAuth, CSRF_COOKIE};
use app::auth::{decide, Access, Principal};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// Form bodies are small (a login, a rollback confirmation).
const MAX_FORM_BODY: usize = 64 * 1024;

pub async fn auth_layer(
    State(auth): State<Arc<AuthService>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let remote_addr = client_address(&auth, request.headers(), peer);
    let cookie_csrf = cookie(request.headers(), CSRF_COOKIE).filter(|token| valid_token(token));
    let (csrf_token, new_csrf) = match &cookie_csrf {
        Some(token) => (token.clone(), false),
        None => (password::random_token(), true),
    };
    let path = request.uri().path().to_string();
    let method = request.method().clone();

    let (principal, session_sha256) = match bearer_token(request.headers()) {
        Some(token) => {
            let api_read =
                path.starts_with("/api/v1/") && (method == Method::GET || method == Method::HEAD);
            if !api_read {
                return refuse(
                    StatusCode::UNAUTHORIZED,
                    "API tokens are accepted only on GET /api/v1/*",
                );
            }
            match auth.api_token(&token) {
                Some(name) => (Principal::ApiToken { name }, None),
                None => return refuse(StatusCode::UNAUTHORIZED, "unknown API token"),
            }
        }
        None => auth.principal(request.headers(), peer).await,
    };

    let mut request = request;
    if is_mutating(&method) {
        if let Err(refusal) = csrf::check_origin(request.headers(), auth.public_origin.as_deref()) {
            tracing::warn!(%path, %refusal, "refused a mutating request");
            return refuse(StatusCode::FORBIDDEN, &refusal.to_string());
        }
        match csrf::body_rule(request.headers()) {
            Ok(BodyRule::Json) => {}
            Ok(BodyRule::Form) => {
                let (parts, body) = request.into_parts();
                let bytes = match axum::body::to_bytes(body, MAX_FORM_BODY).await {
                    Ok(bytes) => bytes,
                    Err(_) => {
                        return refuse(StatusCode::PAYLOAD_TOO_LARGE, "the form is too large")
                    }
                };
                if let Err(refusal) =
                    csrf::check_form_token(&parts.headers, &bytes, cookie_csrf.as_deref())
                {
                    tracing::warn!(%path, %refusal, "refused a form post");
                    return refuse(StatusCode::FORBIDDEN, &refusal.to_string());
                }
                request = Request::from_parts(parts, Body::from(bytes));
            }
            Err(refusal) => {
                tracing::warn!(%path, %refusal, "refused a mutating request");
                return refuse(StatusCode::FORBIDDEN, &refusal.to_string());
            }
        }
    }

    if endpoints::is_server_function_path(&path) && endpoints::lookup(&path).is_none() {
        tracing::error!(%path, "a server function is missing from the authorization table");
        return refuse(
            StatusCode::FORBIDDEN,
            "this server function is not in the authorization table",
        );
    }

    if method == Method::GET
        && is_page_path(&path)
        && decide(auth.policy(), &principal, &Access::Read).is_err()
    {
        let next_path = request
            .uri()
            .path_and_query()
            .map(|value| value.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        let location = format!(
            "/login?next={}",
            url::form_urlencoded::byte_serialize(next_path.as_bytes()).collect::<String>()
        );
        return Redirect::to(&location).into_response();
    }

    request.extensions_mut().insert(RequestAuth {
        principal,
        csrf_token: csrf_token.clone(),
        remote_addr,
        session_sha256,
    });
    let mut response = next.run(request).await;
    if new_csrf {
        let cookie = format!(
            "{CSRF_COOKIE}={csrf_token}; Path=/; HttpOnly; SameSite=Lax{}",
            if auth.https { "; Secure" } else { "" }
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    if auth.https {
        response
            .headers_mut()
            .insert(header::STRICT_TRANSPORT_SECURITY, super::headers::HSTS);
    }
    response
}

fn is_mutating(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// A page the router renders (not an API, asset or probe), which a private dashboard guards
/// with a redirect to the login page.
fn is_page_path(path: &str) -> bool {
    let exempt_prefixes = ["/api/", "/pkg/", "/login", "/logout", "/healthz", "/readyz"];
    if exempt_prefixes
        .iter()
        .any(|prefix| path.starts_with(prefix))
    {
        return false;
    }
    // Static files in the site root (favicon, service worker, scripts).
    let last = path.rsplit('/').next().unwrap_or_default();
    !last.contains('.')
}

fn valid_token(token: &str) -> bool {
    token.len() == 43
        && token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// The peer's address, or the first `X-Forwarded-For` hop when the peer is a trusted proxy.
fn client_address(auth: &AuthService, headers: &HeaderMap, peer: Option<IpAddr>) -> Option<String> {
    if auth.is_trusted_proxy(peer) {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(',').next())
            .map(str::trim)
            .and_then(|value| value.parse::<IpAddr>().ok());
        if let Some(client) = forwarded {
            return Some(client.to_string());
        }
    }
    peer.map(|peer| peer.to_string())
}

pub fn refuse(status: StatusCode, reason: &str) -> Response {
    (status, Json(json!({ "error": reason }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::is_page_path;

    #[test]
    fn pages_are_guarded_and_assets_are_not() {
        assert!(is_page_path("/"));
        assert!(is_page_path("/history"));
        assert!(is_page_path("/services/api"));
        assert!(is_page_path("/audit"));
        assert!(!is_page_path("/login"));
        assert!(!is_page_path("/pkg/app.js"));
        assert!(!is_page_path("/favicon.svg"));
        assert!(!is_page_path("/api/status"));
        assert!(!is_page_path("/healthz"));
    }
}
