//! Server functions: the page's API. Each one authorizes itself first
//! (`crate::access::authorize`): they are a public HTTP API, callable without the page. The
//! server also refuses any server function missing from its authorization table
//! (`server::auth::endpoints`).

use crate::audit::AuditView;
use crate::auth::SessionInfo;
use crate::error::AppError;
use crate::model::history::{HistoryQuery, HistoryView, ServiceDetail};
use crate::model::StatusSnapshot;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

/// The current status of every environment, cut to one view of the board. Read-only (GET).
#[server(endpoint = "status", input = GetUrl)]
pub async fn get_status(
    // Which view of the board: the overview, or one page of one environment
    // (`crate::board`); the complete snapshot is `GET /api/v1/status`.
    #[server(default)] board: crate::model::board::BoardQuery,
) -> Result<StatusSnapshot, AppError> {
    let principal = crate::access::authorize(crate::auth::Access::Read)?;
    let audience = crate::auth::Audience::of(&principal);
    let dashboard = crate::dashboard::use_dashboard()?;
    let view = dashboard
        .status()
        .board(&board)
        .map(|view| view.for_audience(audience));
    view.ok_or_else(|| {
        crate::access::fail(AppError::NotFound(format!(
            "no environment is named `{}`",
            board.environment.unwrap_or_default()
        )))
    })
}

/// One page of the merged deploy history. Read-only (GET).
#[server(endpoint = "history", input = GetUrl)]
pub async fn list_history(query: HistoryQuery) -> Result<HistoryView, AppError> {
    crate::access::authorize(crate::auth::Access::Read)?;
    let dashboard = crate::dashboard::use_dashboard()?;
    dashboard.history(query).await
}

/// One service across its environments. Read-only (GET).
#[server(endpoint = "service", input = GetUrl)]
pub async fn get_service(name: String) -> Result<ServiceDetail, AppError> {
    crate::access::authorize(crate::auth::Access::Read)?;
    let dashboard = crate::dashboard::use_dashboard()?;
    dashboard.service(name).await
}

/// Who the visitor is, the auth mode and the form token for this browser. Anyone may ask
/// (the login page needs it); it carries no data beyond the visitor's own session.
#[server(endpoint = "session", input = GetUrl)]
pub async fn get_session() -> Result<SessionInfo, AppError> {
    Ok(crate::access::use_access()?.session_info())
}

/// One page of the audit log (admin only). Read-only (GET).
#[server(endpoint = "audit", input = GetUrl)]
pub async fn list_audit(
    #[server(default)] query: crate::audit::AuditQuery,
) -> Result<AuditView, AppError> {
    crate::access::authorize(crate::auth::Access::ReadAudit)?;
    let dashboard = crate::dashboard::use_dashboard()?;
    dashboard.audit(query).await
}

/// What the confirmation page shows before a rollback, read fresh from the provider. Needs
/// the deployer role for the environment (GET).
#[server(endpoint = "rollback_plan", input = GetUrl)]
pub async fn get_rollback_plan(
    service: String,
    environment: String,
    target: String,
) -> Result<crate::model::rollback::RollbackPlan, AppError> {
    crate::access::authorize(crate::auth::Access::RollBack {
        environment: environment.clone(),
    })?;
    let dashboard = crate::dashboard::use_dashboard()?;
    dashboard
        .rollback_plan(service, environment, target)
        .await
        .map_err(crate::access::fail)
}

/// Starts a confirmed rollback (POST, the confirmation form). A plain form post is sent to
/// the result page (or back to the confirmation page with the error); the operation's id is
/// the answer for the hydrated page and scripts.
#[server(endpoint = "roll_back_service")]
pub async fn roll_back_service(
    form: crate::model::rollback::RollbackRequestForm,
) -> Result<i64, AppError> {
    let principal = match crate::access::authorize(crate::auth::Access::RollBack {
        environment: form.environment.clone(),
    }) {
        Ok(principal) => principal,
        Err(error) => {
            crate::dashboard::audit_rollback_refusal(&form.service, &form.environment, &error)
                .await;
            return Err(error);
        }
    };
    let access = crate::access::use_access()?;
    let dashboard = crate::dashboard::use_dashboard()?;
    match dashboard
        .roll_back(&principal, access.remote_addr.clone(), form.clone())
        .await
    {
        Ok(id) => {
            (access.redirect)(&crate::model::rollback::rollback_path(id));
            Ok(id)
        }
        Err(error) => {
            let error = crate::access::fail(error);
            (access.redirect)(&form.retry_path(&error.to_string()));
            Err(error)
        }
    }
}

/// One rollback operation: the result page (GET, read access).
#[server(endpoint = "rollback", input = GetUrl)]
pub async fn get_rollback(id: i64) -> Result<crate::model::rollback::RollbackView, AppError> {
    let principal = crate::access::authorize(crate::auth::Access::Read)?;
    let dashboard = crate::dashboard::use_dashboard()?;
    let mut view = dashboard
        .rollback(id)
        .await
        .map_err(crate::access::fail)?
        .for_audience(crate::auth::Audience::of(&principal));
    view.may_release_hold = crate::access::allows(crate::auth::Access::RollBack {
        environment: view.environment.clone(),
    });
    Ok(view)
}

/// Ends the hold a rollback placed (resume auto-deploy, unlock, commit or revert a pin).
/// POST; needs the deployer role for the rollback's environment, which the server checks
/// against the stored operation.
#[server(endpoint = "release_rollback_hold")]
pub async fn release_rollback_hold(
    id: i64,
    release: crate::model::rollback::HoldRelease,
) -> Result<(), AppError> {
    let principal = crate::access::authorize(crate::auth::Access::Read)?;
    if principal
        .identity()
        .is_none_or(|identity| identity.role < crate::auth::Role::Deployer)
    {
        // Refused before the operation is looked up: the answer never depends on its existence.
        crate::access::authorize(crate::auth::Access::RollBack {
            environment: String::new(),
        })?;
    }
    let dashboard = crate::dashboard::use_dashboard()?;
    let operation = dashboard.rollback(id).await.map_err(crate::access::fail)?;
    let principal = match crate::access::authorize(crate::auth::Access::RollBack {
        environment: operation.environment.clone(),
    }) {
        Ok(principal) => principal,
        Err(error) => {
            crate::dashboard::audit_rollback_refusal(
                &operation.service,
                &operation.environment,
                &error,
            )
            .await;
            return Err(error);
        }
    };
    let access = crate::access::use_access()?;
    let outcome = dashboard
        .release_rollback_hold(&principal, access.remote_addr.clone(), id, release)
        .await
        .map_err(crate::access::fail);
    let result_page = crate::model::rollback::rollback_path(id);
    match &outcome {
        Ok(()) => (access.redirect)(&result_page),
        Err(error) => (access.redirect)(&format!(
            "{result_page}?error={}",
            crate::model::encode_component(&error.to_string())
        )),
    }
    outcome
}
