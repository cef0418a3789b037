//! The auth layer every request passes: resolves the principal, enforces the CSRF rules on
//! mutating requests, refuses server functions missing from the authorization table, sends
//! anonymous visitors of a private dashboard to the login page, and sets the CSRF cookie and
//! HSTS. What it learned goes into the request's extensions as [`RequestAuth`].

use super::csrf::{self, BodyRule};
use super::endpoints;
use super::{cookie, password, AuthService, RequestAuth};
use app::auth::{decide, Access, AuthMode, Principal};
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use serde_json::json;
use std::net::SocketAddr;
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
    let remote_addr = super::client_addr::client_address(
        &auth.config.trusted_proxies,
        auth.config.client_ip_header.as_deref(),
        request.headers(),
        peer,
    )
    .map(|address| address.to_string());
    let cookie_csrf =
        cookie(request.headers(), auth.csrf_cookie_name()).filter(|token| valid_token(token));
    let (csrf_token, new_csrf) = match &cookie_csrf {
        Some(token) => (token.clone(), false),
        None => (password::random_token(), true),
    };
    let path = request.uri().path().to_string();
    let method = request.method().clone();

    // DNS rebinding: refuse a Host that is not ours before anything else happens.
    let probe = path == "/healthz" || path == "/readyz";
    let any_host = auth.demo && auth.public_host.is_none();
    if !probe && !any_host {
        let host = request
            .headers()
            .get(header::HOST)
            .map(|value| value.to_str().unwrap_or("\u{fffd}"));
        if let Err(refusal) = super::host::check_host(host, auth.public_host.as_deref()) {
            tracing::warn!(%path, %refusal, "refused a request for another host");
            return refuse(StatusCode::MISDIRECTED_REQUEST, &refusal.to_string());
        }
    }

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
        let location = app::auth::local_redirect_path(&location).unwrap_or_else(|| "/login".into());
        return no_store(Redirect::to(&location).into_response());
    }

    // Responses that depend on who is asking, or that nobody else should see, are never
    // stored by the browser, a proxy or the service worker.
    let private = !auth.policy().public_status
        || (auth.config.mode != AuthMode::Open && !matches!(principal, Principal::Anonymous))
        || is_private_path(&path);
    let private = private && !is_static_path(&path);
    request.extensions_mut().insert(RequestAuth {
        principal,
        csrf_token: csrf_token.clone(),
        remote_addr,
        session_sha256,
    });
    let mut response = next.run(request).await;
    if private {
        response = no_store(response);
    }
    if new_csrf {
        // Like the session cookie: Strict, and `__Host-` + Secure over https.
        let cookie = format!(
            "{}={csrf_token}; Path=/; HttpOnly; SameSite=Strict{}",
            auth.csrf_cookie_name(),
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

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Pages and APIs that are never public, whoever asks: sign-in, the audit log, rollbacks,
/// the session.
fn is_private_path(path: &str) -> bool {
    [
        "/login",
        "/logout",
        "/audit",
        "/rollback",
        "/api/session",
        "/api/audit",
        "/api/v1/audit",
    ]
    .iter()
    .any(|prefix| {
        path == *prefix
            || path.starts_with(&format!("{prefix}/"))
            || path.starts_with(&format!("{prefix}s"))
    })
}

/// The client bundle and site files: the same for everyone, cached as `/pkg` says.
fn is_static_path(path: &str) -> bool {
    path.starts_with("/pkg/")
        || path.starts_with("/runbooks/assets/")
        || (!path.starts_with("/api/") && !is_page_path(path) && !is_private_path(path))
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

pub fn refuse(status: StatusCode, reason: &str) -> Response {
    (status, Json(json!({ "error": reason }))).into_response()
}

#[cfg(test)]
mod tests {
    use super::is_page_path;

    #[test]
    fn private_paths_are_never_stored_and_static_files_keep_their_caching() {
        use super::{is_private_path, is_static_path};
        for private in [
            "/login",
            "/audit",
            "/rollback",
            "/rollbacks/3",
            "/api/session",
            "/api/audit",
            "/api/v1/audit",
        ] {
            assert!(is_private_path(private), "{private}");
            assert!(!is_static_path(private), "{private}");
        }
        assert!(!is_private_path("/"));
        assert!(!is_private_path("/runbooks"));
        assert!(is_static_path("/pkg/app_bg.wasm"));
        assert!(is_static_path("/sw.js"));
        assert!(!is_static_path("/history"));
        assert!(!is_static_path("/api/v1/status"));
    }

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
