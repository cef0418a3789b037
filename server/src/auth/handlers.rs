//! `POST /login` and `POST /logout`: plain form posts (they work without JavaScript), both
//! behind the CSRF rules of the auth layer, both audited.

use super::{AuthService, RequestAuth};
use app::auth::AuthMode;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Instant;

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Signs a user in: a session cookie and a redirect to where they were going, or back to the
/// login page with the reason.
pub async fn log_in(
    State(auth): State<Arc<AuthService>>,
    Extension(request): Extension<RequestAuth>,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(&form.next);
    let back = |error: &str, extra: String| {
        Redirect::to(&format!(
            "/login?error={error}{extra}&next={}",
            url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        ))
        .into_response()
    };
    if auth.config.mode != AuthMode::Password {
        return back("no_passwords", String::new());
    }
    let name = form.username.trim().to_string();
    let address = request
        .remote_addr
        .clone()
        .unwrap_or_else(|| "unknown".into());
    if name.is_empty() || form.password.is_empty() {
        return back("missing", String::new());
    }
    if let Some(wait) = auth.limiter.check(&name, &address, Instant::now()) {
        let seconds = wait.as_secs().max(1);
        auth.audit(
            &name,
            "login",
            "rate_limited",
            Some(format!("too many failed attempts; retry in {seconds} s")),
            request.remote_addr.clone(),
        )
        .await;
        return back("rate_limited", format!("&retry={seconds}"));
    }
    let Some(identity) = auth.verify_login(&name, &form.password).await else {
        auth.limiter.record_failure(&name, &address, Instant::now());
        auth.audit(
            &name,
            "login",
            "failed",
            Some("wrong user name or password".into()),
            request.remote_addr.clone(),
        )
        .await;
        return back("invalid", String::new());
    };
    auth.limiter.record_success(&identity.name);
    let token = match auth.start_session(&identity.name).await {
        Ok(token) => token,
        Err(error) => {
            tracing::error!(%error, "could not store a session");
            return back("unavailable", String::new());
        }
    };
    auth.audit(
        &identity.name,
        "login",
        "succeeded",
        Some(format!("role {}", identity.role.as_str())),
        request.remote_addr.clone(),
    )
    .await;
    let cookie = format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        auth.session_cookie_name(),
        auth.config.session_ttl.as_secs(),
        if auth.https { "; Secure" } else { "" }
    );
    with_cookie(Redirect::to(&next).into_response(), &cookie)
}

/// Ends the session (password mode) and, in proxy mode, sends the user to the proxy's
/// sign-out address.
pub async fn log_out(
    State(auth): State<Arc<AuthService>>,
    Extension(request): Extension<RequestAuth>,
) -> Response {
    if let Some(hash) = &request.session_sha256 {
        if let Err(error) = auth.store.delete_session(hash).await {
            tracing::error!(%error, "could not end a session");
        }
    }
    if let Some(identity) = request.principal.identity() {
        auth.audit(
            &identity.name,
            "logout",
            "succeeded",
            None,
            request.remote_addr.clone(),
        )
        .await;
    }
    let target = auth.logout_url().unwrap_or_else(|| "/".into());
    let cookie = format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        auth.session_cookie_name(),
        if auth.https { "; Secure" } else { "" }
    );
    with_cookie(Redirect::to(&target).into_response(), &cookie)
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// Only local paths: `next=https://evil.example` or `//evil.example` would be an open
/// redirect.
pub fn safe_next(next: &str) -> String {
    let local = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && !next.starts_with("/login")
        && !next.chars().any(|c| c.is_control());
    if local {
        next.to_string()
    } else {
        "/".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_is_a_local_path_or_home() {
        assert_eq!(safe_next("/history?service=api"), "/history?service=api");
        assert_eq!(safe_next("https://evil.example/"), "/");
        assert_eq!(safe_next("//evil.example/"), "/");
        assert_eq!(safe_next("/\\evil.example"), "/");
        assert_eq!(safe_next(""), "/");
        assert_eq!(safe_next("/login?next=/"), "/");
    }
}
