//! The guard every server function calls first (ssr only). The server resolves who is asking
//! (session cookie, proxy header, API token) before the request reaches Leptos and provides a
//! [`RequestAccess`] in the context; [`authorize`] applies [`crate::auth::decide`] to it and,
//! on refusal, sets the HTTP status (401/403) through the port the server provides.

use crate::auth::{decide, Access, AccessPolicy, DemoLogin, Principal, SessionInfo};
use crate::error::AppError;
use std::sync::Arc;

/// Sets the status of the response being built (the server implements it with
/// `leptos_axum::ResponseOptions`; `app` depends on no HTTP crate).
pub type StatusSetter = Arc<dyn Fn(u16) + Send + Sync>;

/// Who is asking, as resolved by the server for this request.
#[derive(Clone)]
pub struct RequestAccess {
    pub principal: Principal,
    pub policy: AccessPolicy,
    pub csrf_token: String,
    pub logout_url: Option<String>,
    pub demo_logins: Vec<DemoLogin>,
    pub set_status: StatusSetter,
    /// The caller's address, for the audit log.
    pub remote_addr: Option<String>,
    /// Sends the browser to another page after a form post (a 302 for a plain form, a
    /// client-side navigation for the hydrated page).
    pub redirect: Redirector,
}

/// Redirects the response being built (the server implements it with `leptos_axum::redirect`).
pub type Redirector = Arc<dyn Fn(&str) + Send + Sync>;

impl RequestAccess {
    /// The session as the page shows it.
    pub fn session_info(&self) -> SessionInfo {
        SessionInfo {
            user: self.principal.identity().cloned(),
            policy: self.policy,
            csrf_token: self.csrf_token.clone(),
            logout_url: self.logout_url.clone(),
            demo_logins: self.demo_logins.clone(),
        }
    }
}

/// The current request's access, or a typed error when the server did not wire it (which
/// refuses rather than allows).
pub fn use_access() -> Result<RequestAccess, AppError> {
    leptos::prelude::use_context::<RequestAccess>()
        .ok_or_else(|| AppError::Unavailable("authorization is not wired into this request".into()))
}

/// Checks that the current request may do `access`; returns who is asking, or a 401/403
/// error with the reason (and sets the response status to match).
pub fn authorize(access: Access) -> Result<Principal, AppError> {
    let request = use_access()?;
    match decide(request.policy, &request.principal, &access) {
        Ok(()) => Ok(request.principal),
        Err(denial) => {
            (request.set_status)(denial.status());
            Err(AppError::from_denial(&denial))
        }
    }
}

/// Whether the current request may do `access` (no status is set: for showing or hiding an
/// action on a page the request may read).
pub fn allows(access: Access) -> bool {
    use_access().is_ok_and(|request| decide(request.policy, &request.principal, &access).is_ok())
}

/// Sets the response status that matches `error` and hands it back (server functions that
/// answer with an error other than a refusal).
pub fn fail(error: AppError) -> AppError {
    set_status_for(&error);
    error
}

/// Sets the response status that matches `error`: a page that shows an error instead of its
/// content (an unknown service or runbook) answers 404, not 200.
pub fn set_status_for(error: &AppError) {
    let status = match error {
        AppError::BadRequest(_) => 400,
        AppError::Unauthorized(_) => 401,
        AppError::Forbidden(_) => 403,
        AppError::NotFound(_) => 404,
        AppError::Conflict(_) => 409,
        AppError::Unavailable(_) | AppError::Transport(_) => 503,
    };
    if let Ok(request) = use_access() {
        (request.set_status)(status);
    }
}
