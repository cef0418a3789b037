//! Shown for any path without a page (the server answers it with 404).

use crate::components::top_bar::{Section, TopBar};
use leptos::prelude::*;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <TopBar section=Section::Other/>
        <main id="main" class="page narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. " <a href="/">"Back to the status page"</a></p>
        </main>
    }
}
