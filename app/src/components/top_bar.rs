//! The header every page shares: the brand, navigation, and (on live pages) the stream state.

use crate::connection::LiveConnection;
use leptos::prelude::*;

/// Which page is showing, so its link is marked current.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Status,
    History,
    Runbooks,
    Other,
}

#[component]
pub fn TopBar(
    section: Section,
    #[prop(optional)] connection: Option<RwSignal<LiveConnection>>,
) -> impl IntoView {
    let link = move |href: &'static str, label: &'static str, this: Section| {
        let current = (section == this).then_some("page");
        view! { <a href=href aria-current=current>{label}</a> }
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Lookout"</a>
            <nav class="topnav" aria-label="Main">
                {link("/", "Status", Section::Status)}
                {link("/history", "History", Section::History)}
                {link("/runbooks", "Runbooks", Section::Runbooks)}
            </nav>
            {connection.map(|connection| view! {
                <span class=move || format!("connection {}", connection.get().css_class()) role="status">
                    {move || connection.get().label()}
                </span>
            })}
        </header>
    }
}
