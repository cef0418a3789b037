//! One environment card: its roll-up status and one row per service.

use crate::auth::Identity;
use crate::components::badges::RollupBadge;
use crate::components::service_row::ServiceRow;
use crate::model::board::{BoardQuery, RowWindow};
use crate::model::{EnvironmentKind, EnvironmentStatus};
use crate::runbooks::RunbookLinks;
use chrono::{DateTime, Utc};
use leptos::prelude::*;

#[component]
pub fn EnvironmentCard(
    environment: EnvironmentStatus,
    now: DateTime<Utc>,
    /// Runbook links by service name.
    #[prop(optional)]
    runbooks: RunbookLinks,
    /// Who is looking (for rollback actions).
    #[prop(default = None)]
    user: Option<Identity>,
) -> impl IntoView {
    let environment_name = environment.name.clone();
    let rollup = environment.rollup();
    let anchor = environment.anchor();
    let heading_id = format!("{anchor}-title");
    let labelled_by = heading_id.clone();
    let title = environment.title();
    let data_title = title.clone();
    let kind = environment.kind;
    let kind_label = (kind == EnvironmentKind::Preview).then_some("preview");
    let empty = environment.services.is_empty();
    let window = environment.window.clone();
    let footer_title = title.clone();
    let footer_environment = environment_name.clone();
    let rows = environment
        .services
        .into_iter()
        .map(|service| {
            let runbooks = runbooks.for_service(&service.service);
            let environment = environment_name.clone();
            let user = user.clone();
            view! { <ServiceRow service now runbooks environment user/> }
        })
        .collect_view();
    view! {
        <section
            class=format!("env-card kind-{} status-{}", kind.label(), rollup.css_class())
            id=anchor
            aria-labelledby=labelled_by
            data-environment=data_title
        >
            <header class="env-header">
                <h2 id=heading_id>
                    {kind_label.map(|label| view! { <span class="env-kind">{label}</span> })}
                    <span class="env-title">{title}</span>
                </h2>
                <RollupBadge status=rollup/>
            </header>
            {empty.then(|| view! { <p class="empty">"No services are configured for this environment."</p> })}
            <ul class="svc-list">{rows}</ul>
            {window.map(|window| view! {
                <RowWindowFooter window environment=footer_environment title=footer_title/>
            })}
        </section>
    }
}

/// What a card with more services than it shows says about the rest, and where they are.
/// Links load a new page (`rel="external"`) so the live stream follows the new view.
#[component]
fn RowWindowFooter(window: RowWindow, environment: String, title: String) -> impl IntoView {
    let shown = window.shown();
    match window.page {
        None => {
            let rest = if window.hidden_operational == window.hidden {
                format!("{} more, all operational.", window.hidden)
            } else {
                format!(
                    "{} more ({} operational, {} that need attention).",
                    window.hidden,
                    window.hidden_operational,
                    window.hidden_attention()
                )
            };
            view! {
                <footer class="env-more">
                    <p>{format!("Showing {shown} of {} services, problems first: {rest}", window.total)}</p>
                    <a href=BoardQuery::environment_page(&environment, 1).href() rel="external">
                        {format!("All {} services in {title} →", window.total)}
                    </a>
                </footer>
            }
            .into_any()
        }
        Some((page, pages)) => {
            let (first, last) = window.shown_range().unwrap_or((1, shown));
            let link = move |target: u32, label: &'static str| {
                view! {
                    <a href=BoardQuery::environment_page(&environment, target).href() rel="external">{label}</a>
                }
            };
            view! {
                <footer class="env-more">
                    <p>{format!("Services {first}–{last} of {}.", window.total)}</p>
                    <nav class="pager" aria-label=format!("Pages of {title}")>
                        {(page > 1).then(|| link(page - 1, "← Previous"))}
                        <span>{format!("Page {page} of {pages}")}</span>
                        {(page < pages).then(|| link(page + 1, "Next →"))}
                    </nav>
                </footer>
            }
            .into_any()
        }
    }
}
