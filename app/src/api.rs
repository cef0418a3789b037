//! Server functions: the page's API. Each one authorizes itself first
//! (`crate::access::authorize`): they are a public HTTP API, callable without the page. The
//! server also refuses any server function missing from its authorization table
//! (`server::auth::endpoints`).

use crate::audit::AuditView;
use crate::auth::SessionInfo;
use crate::error::AppError;
use crate::history::{HistoryQuery, HistoryView, ServiceDetail};
use crate::model::StatusSnapshot;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

/// The current status of every environment. Read-only (GET).
#[server(endpoint = "status", input = GetUrl)]
pub async fn get_status() -> Result<StatusSnapshot, AppError> {
    crate::access::authorize(crate::auth::Access::Read)?;
    let dashboard = crate::dashboard::use_dashboard()?;
    Ok(dashboard.status().as_ref().clone())
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
pub async fn list_audit(before: Option<i64>) -> Result<AuditView, AppError> {
    crate::access::authorize(crate::auth::Access::ReadAudit)?;
    let dashboard = crate::dashboard::use_dashboard()?;
    dashboard.audit(before).await
}
