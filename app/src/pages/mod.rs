pub mod audit_page;
pub mod history_page;
pub mod home_page;
pub mod login_page;
pub mod not_found_page;
pub mod runbook_page;
pub mod runbooks_page;
pub mod service_page;
