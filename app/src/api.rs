//! Server functions: the page's API. Each one checks what it needs itself (they are a public
//! HTTP API, callable without the page).

use crate::error::AppError;
use crate::model::StatusSnapshot;
use leptos::prelude::*;
use leptos::server_fn::codec::GetUrl;

/// The current status of every environment. Read-only (GET).
#[server(endpoint = "status", input = GetUrl)]
pub async fn get_status() -> Result<StatusSnapshot, AppError> {
    let dashboard = crate::dashboard::use_dashboard()?;
    Ok(dashboard.status().as_ref().clone())
}
