//! Security headers. Pages get a Content-Security-Policy with the per-response nonce Leptos
//! puts on its hydration scripts and the inlined style sheet (no `unsafe-inline`); everything else gets a policy that
//! allows nothing, so a JSON or file response can never run as a document.

use axum::http::HeaderValue;

/// The policy for a rendered page with this script nonce.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'nonce-{nonce}'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         manifest-src 'self'; worker-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy for everything that is not a rendered page.
pub const DEFAULT_POLICY: HeaderValue =
    HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'; base-uri 'none'");

/// HSTS for a server reached over https (one year).
pub const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");
