//! What a page shows when its data could not be read: one alert, the same on every page.

use leptos::prelude::*;
use std::fmt::Display;

/// Why a page's data could not be shown (user-safe text from the server function's error).
#[component]
pub fn Problem(message: String) -> impl IntoView {
    view! { <section class="problem" role="alert"><p>{message}</p></section> }
}

/// A page that could not be shown at all: what it is, why not, and the way back (by default to
/// the board).
#[component]
pub fn PageProblem(
    heading: &'static str,
    message: String,
    #[prop(default = "/")] back_href: &'static str,
    #[prop(default = "Back to the status page")] back_label: &'static str,
) -> impl IntoView {
    view! {
        <h1>{heading}</h1>
        <Problem message/>
        <p><a href=back_href>{back_label}</a></p>
    }
}

/// A page section's data shown by `show`, or the alert saying why it could not be read: the one
/// `match` every page's `Suspend` would otherwise write out.
pub fn shown_or_problem<T, E: Display>(
    loaded: Result<T, E>,
    show: impl FnOnce(T) -> AnyView,
) -> AnyView {
    match loaded {
        Ok(value) => show(value),
        Err(error) => view! { <Problem message=error.to_string()/> }.into_any(),
    }
}
