//! Server functions: the page's API. Each one checks what it needs itself (they are a public
//! HTTP API, callable without the page).

use crate::error::AppError;
use crate::history::{HistoryQuery, HistoryView, ServiceDetail};
use crate::model::StatusSnapshot;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

/// The current status of every environment. Read-only (GET).
#[server(endpoint = "status", input = GetUrl)]
pub async fn get_status() -> Result<StatusSnapshot, AppError> {
    let dashboard = crate::dashboard::use_dashboard()?;
    Ok(dashboard.status().as_ref().clone())
}

/// One page of the merged deploy history. Read-only (GET).
#[server(endpoint = "history", input = GetUrl)]
pub async fn list_history(query: HistoryQuery) -> Result<HistoryView, AppError> {
    let dashboard = crate::dashboard::use_dashboard()?;
    dashboard.history(query).await
}

/// One service across its environments. Read-only (GET).
#[server(endpoint = "service", input = GetUrl)]
pub async fn get_service(name: String) -> Result<ServiceDetail, AppError> {
    let dashboard = crate::dashboard::use_dashboard()?;
    dashboard.service(name).await
}
