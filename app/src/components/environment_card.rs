//! One environment card: its roll-up status and one row per service.

use crate::auth::Identity;
use crate::components::badges::RollupBadge;
use crate::components::service_row::ServiceRow;
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
    let count = environment.services.len();
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
            {(count == 0).then(|| view! { <p class="empty">"No services are configured for this environment."</p> })}
            <ul class="svc-list">{rows}</ul>
        </section>
    }
}
