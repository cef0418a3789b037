//! The port the server implements (ssr only): how server functions reach server state
//! without `app` depending on any server crate.

use crate::audit::{AuditQuery, AuditView};
use crate::auth::Principal;
use crate::error::AppError;
use crate::model::history::{HistoryQuery, HistoryView, ServiceDetail};
use crate::model::rollback::{HoldRelease, RollbackPlan, RollbackRequestForm, RollbackView};
use crate::model::StatusSnapshot;
use std::sync::Arc;

/// What the UI asks of the server. `server` implements it over the monitor and the store and
/// provides an `Arc<dyn Dashboard>` in the Leptos context of every request.
#[async_trait::async_trait]
pub trait Dashboard: Send + Sync + 'static {
    /// The latest status snapshot (in memory; never waits on a provider).
    fn status(&self) -> Arc<StatusSnapshot>;

    /// One page of the merged deploy history (from Lookout's store).
    async fn history(&self, query: HistoryQuery) -> Result<HistoryView, AppError>;

    /// One service across its environments; `AppError::NotFound` for an unknown name.
    async fn service(&self, name: String) -> Result<ServiceDetail, AppError>;

    /// One page of the audit log, newest first, older than `before` when given.
    async fn audit(&self, query: AuditQuery) -> Result<AuditView, AppError>;

    /// The confirmation page's plan, read fresh from the provider.
    async fn rollback_plan(
        &self,
        service: String,
        environment: String,
        target: String,
    ) -> Result<RollbackPlan, AppError>;

    /// Starts a confirmed rollback (preflight first); the operation's id.
    async fn roll_back(
        &self,
        principal: &Principal,
        remote_addr: Option<String>,
        form: RollbackRequestForm,
    ) -> Result<i64, AppError>;

    /// Records that `principal` was refused (401/403) a rollback or hold release of `service`
    /// in `environment`. The server audits it for signed-in callers only, with bounded
    /// fields, so an anonymous flood writes nothing.
    async fn rollback_refused(
        &self,
        principal: &Principal,
        remote_addr: Option<String>,
        service: &str,
        environment: &str,
        reason: &str,
    );

    /// One rollback operation (`may_release_hold` is left false; the caller decides it).
    async fn rollback(&self, id: i64) -> Result<RollbackView, AppError>;

    /// Ends the hold a rollback placed.
    async fn release_rollback_hold(
        &self,
        principal: &Principal,
        remote_addr: Option<String>,
        id: i64,
        release: HoldRelease,
    ) -> Result<(), AppError>;
}

/// The services handle, as stored in context.
#[derive(Clone)]
pub struct DashboardHandle(pub Arc<dyn Dashboard>);

/// The handle from the current request's context.
pub fn use_dashboard() -> Result<Arc<dyn Dashboard>, AppError> {
    leptos::prelude::use_context::<DashboardHandle>()
        .map(|handle| handle.0)
        .ok_or_else(|| AppError::Unavailable("the dashboard is not wired into this request".into()))
}

/// Tells the server that the current request was refused a rollback (or a hold release) of
/// `service` in `environment` with `error`, for the audit log; for POST server functions only
/// (a GET never writes).
pub async fn audit_rollback_refusal(service: &str, environment: &str, error: &AppError) {
    let (Ok(access), Ok(dashboard)) = (crate::access::use_access(), use_dashboard()) else {
        return;
    };
    dashboard
        .rollback_refused(
            &access.principal,
            access.remote_addr.clone(),
            service,
            environment,
            &error.to_string(),
        )
        .await;
}
