pub mod home_page;
pub mod not_found_page;
