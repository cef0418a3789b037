//! The self-refresh of live pages without JavaScript.

use leptos::prelude::*;

/// Without JavaScript there is no live stream: live pages refresh themselves instead. Only
/// pages without a form being filled in use it (a refresh would lose what is typed); the
/// first refresh in a document wins, so a page carries at most one.
#[component]
pub fn NoScriptRefresh(seconds: u32) -> impl IntoView {
    view! {
        <noscript>
            <meta http-equiv="refresh" content=seconds.to_string()/>
        </noscript>
    }
}
