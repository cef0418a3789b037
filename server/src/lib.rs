//! The Lookout server: everything that talks to the outside world.
//!
//! `main.rs` parses the command line and calls [`cli`]; [`startup::run`] is the seam that
//! both production and the tests use (on port 0).

pub mod app_state;
pub mod auth;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod live_stream;
pub mod memory;
pub mod monitor;
pub mod page_cache;
pub mod providers;
pub mod rollback;
pub mod routes;
pub mod runbooks;
pub mod secret;
pub mod simulators;
pub mod startup;
pub mod store;
pub mod stream_limits;
