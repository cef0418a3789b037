//! What a page shows when its data could not be read: one alert, the same on every page.

use leptos::prelude::*;

/// Why a page's data could not be shown (user-safe text from the server function's error).
#[component]
pub fn Problem(message: String) -> impl IntoView {
    view! { <section class="problem" role="alert"><p>{message}</p></section> }
}

/// A page that could not be shown at all: what it is, why not, and the way back to the board.
#[component]
pub fn PageProblem(heading: &'static str, message: String) -> impl IntoView {
    view! {
        <h1>{heading}</h1>
        <Problem message/>
        <p><a href="/">"Back to the status page"</a></p>
    }
}
