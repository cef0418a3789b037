//! `POST /login` and `POST /logout`: plain form posts (they work without JavaScript), both
//! behind the CSRF rules of the auth layer, both audited.

use super::middleware::refuse;
use super::{AuthService, RequestAuth};
use app::auth::AuthMode;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
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
    // Checked and percent-encoded (`app::auth::safe_next`): a valid Location, never `//host`.
    let next = app::auth::safe_next(&form.next);
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
    // The attempt is counted before the password is checked, so parallel posts cannot all
    // pass the limit; a refusal is audited once per key and window, not once per post.
    let reservation = match auth.limiter.reserve(&name, &address, Instant::now()) {
        Ok(reservation) => reservation,
        Err(limited) => {
            let seconds = limited.wait.as_secs().max(1);
            if limited.report {
                auth.audit(
                    &name,
                    "login",
                    "rate_limited",
                    Some(format!("too many failed attempts; retry in {seconds} s")),
                    request.remote_addr.clone(),
                )
                .await;
            }
            return back("rate_limited", format!("&retry={seconds}"));
        }
    };
    let identity = match auth.verify_login(&name, &form.password).await {
        Ok(identity) => identity,
        Err(busy) => {
            // Not a guess: the password was never checked.
            auth.limiter.release(reservation, false);
            let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, &busy.to_string());
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            return response;
        }
    };
    let Some(identity) = identity else {
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
    auth.limiter.release(reservation, true);
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
