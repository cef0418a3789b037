#![recursion_limit = "256"]
//! Lookout's UI: the shell, router, pages, components, server-function declarations and wire
//! types. Compiles for the server (`ssr`) and to wasm (`hydrate`); depends on no HTTP client,
//! database or provider crate. The server implements [`dashboard::Dashboard`] and provides it
//! through context.

#[cfg(feature = "ssr")]
pub mod access;
pub mod api;
pub mod audit;
pub mod auth;
pub mod board;
mod components;
pub mod connection;
#[cfg(feature = "ssr")]
pub mod dashboard;
pub mod error;
pub mod history;
pub mod islands;
#[cfg(feature = "hydrate")]
#[path = "live_browser.rs"]
mod live;
#[cfg(not(feature = "hydrate"))]
#[path = "live_server.rs"]
mod live;
pub mod model;
#[cfg(feature = "ssr")]
#[path = "page_status_server.rs"]
pub mod page_status;
#[cfg(not(feature = "ssr"))]
#[path = "page_status_browser.rs"]
pub mod page_status;
mod pages;
pub mod rollback;
pub mod runbooks;
#[cfg(feature = "ssr")]
pub mod runbooks_port;
pub mod shell;
pub mod time;

/// The wasm entry point: readies the islands (Leptos' loader hydrates each one after this
/// returns) and marks the page's `main` as taken over (`data-hydrated`, which the end-to-end
/// tests wait for).
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_islands();
    if let Some(main) = leptos::prelude::document().get_element_by_id("main") {
        let _ = main.set_attribute("data-hydrated", "true");
    }
}
