//! A page's HTTP status from what it shows (server side: the status of the response being
//! rendered). The browser's twin, `page_status_browser.rs`, does nothing: pages are rendered
//! only on the server, and a status belongs to its response.

pub use crate::access::set_status_for;
