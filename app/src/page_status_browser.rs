//! A page's HTTP status from what it shows: nothing to do in the browser (pages are rendered
//! on the server, where `page_status_server.rs` sets the response's status).

use crate::error::AppError;

pub fn set_status_for(_error: &AppError) {}
