//! The shared test harness: every file under `server/tests` starts from here (`mod common;`).
//! Each test binary compiles the whole harness but uses only part of it, hence the allow.
//!
//! - [`app`]: the whole server on port 0 (demo world or a config of the test's own), its
//!   store, runbooks folder, restart and clean shutdown.
//! - [`http`]: requests as a browser or a script makes them: pages, sign-in, CSRF, forms, the
//!   live stream.
//! - [`status`]: reading the status snapshot.
//! - [`postgres`]: a schema of the test's own on the test PostgreSQL.
//! - [`wait`]: waiting for a poll or any other condition, with a timeout.
//! - [`cli`]: the `lookout` binary as a user runs it; [`repo`]: the repository's own files.
#![allow(dead_code)]

pub mod app;
pub mod cli;
pub mod http;
pub mod postgres;
pub mod providers;
pub mod repo;
pub mod status;
pub mod wait;

#[allow(unused_imports)]
pub use app::TestApp;
#[allow(unused_imports)]
pub use http::{Browser, Page, Site};
