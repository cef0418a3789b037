//! The HTML shell and the router. Both run only on the server (islands mode): links and
//! forms load whole pages, and the browser hydrates just the islands (`islands.rs`).

use crate::pages::audit_page::AuditPage;
use crate::pages::history_page::HistoryPage;
use crate::pages::home_page::HomePage;
use crate::pages::login_page::LoginPage;
use crate::pages::not_found_page::NotFoundPage;
use crate::pages::rollback_page::RollbackPage;
use crate::pages::rollback_result_page::RollbackResultPage;
use crate::pages::runbook_page::RunbookPage;
use crate::pages::runbooks_page::RunbooksPage;
use crate::pages::service_page::ServicePage;
use leptos::nonce::use_nonce;
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Meta, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

/// The whole style sheet, inlined into every page's `<head>` so the first paint needs no
/// second request (about 4 KB brotli; stored pages are compressed once). Trunk still copies
/// it to `/pkg/main.css` for the service worker's offline page.
pub const INLINE_CSS: &str = include_str!("../../style/main.css");

/// The document around the app, rendered by the server for every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // The page's CSP allows this element by its nonce (`style-src 'nonce-…'`).
                <style nonce=use_nonce() inner_html=INLINE_CSS></style>
                <HydrationScripts options islands=true/>
                // Copy buttons and the offline service worker: a plain script, so they work
                // even when the wasm bundle does not load.
                <script src="/lookout.js" defer></script>
                <leptos_meta::MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title text="Lookout"/>
        <Meta name="description" content="Deployment status of every service and environment"/>
        <Router>
            <Routes fallback=NotFoundPage>
                // Async: the whole page is rendered before it is sent, so it is complete
                // without JavaScript (no streamed placeholders).
                <Route path=path!("/") view=HomePage ssr=SsrMode::Async/>
                <Route path=path!("/history") view=HistoryPage ssr=SsrMode::Async/>
                <Route path=path!("/services/:name") view=ServicePage ssr=SsrMode::Async/>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <Route path=path!("/audit") view=AuditPage ssr=SsrMode::Async/>
                <Route path=path!("/rollback") view=RollbackPage ssr=SsrMode::Async/>
                <Route path=path!("/rollbacks/:id") view=RollbackResultPage ssr=SsrMode::Async/>
                <Route path=path!("/runbooks") view=RunbooksPage ssr=SsrMode::Async/>
                <Route path=path!("/runbooks/:slug") view=RunbookPage ssr=SsrMode::Async/>
            </Routes>
        </Router>
    }
}
