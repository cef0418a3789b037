//! Runbook pieces shared by pages: the severity badge and a service row's runbook links.

use crate::model::encode_component;
use crate::runbooks::{RunbookLink, Severity};
use leptos::prelude::*;

fn severity_icon(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "✖",
        Severity::High => "▲",
        Severity::Medium => "◆",
        Severity::Low => "●",
    }
}

#[component]
pub fn SeverityBadge(severity: Option<Severity>) -> impl IntoView {
    severity.map(|severity| {
        view! {
            <span class=format!("badge severity {}", severity.css_class()) title="severity">
                <span class="icon" aria-hidden="true">{severity_icon(severity)}</span>
                {severity.label()}
            </span>
        }
    })
}

/// How a service row shows its runbooks.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum RunbookEmphasis {
    /// The service is degraded or failing: every runbook by title, first on the row.
    Urgent,
    /// All is well: one quiet link to the service's runbooks.
    Quiet,
}

#[component]
pub fn RowRunbooks(
    service: String,
    runbooks: Vec<RunbookLink>,
    emphasis: RunbookEmphasis,
) -> impl IntoView {
    if runbooks.is_empty() {
        return ().into_any();
    }
    match emphasis {
        RunbookEmphasis::Urgent => {
            let links = runbooks
                .into_iter()
                .map(|runbook| {
                    view! {
                        <li><a class="runbook-link" href=runbook.href()>{runbook.title.clone()}</a></li>
                    }
                })
                .collect_view();
            view! {
                <nav class="note runbook-note urgent" aria-label=format!("Runbooks for {service}")>
                    <span class="runbook-note-label"><span aria-hidden="true">"▸ "</span>"Runbooks:"</span>
                    <ul class="runbook-links">{links}</ul>
                </nav>
            }
            .into_any()
        }
        RunbookEmphasis::Quiet => {
            let count = runbooks.len();
            let href = format!("/runbooks?service={}", encode_component(&service));
            let label = if count == 1 {
                "1 runbook".to_string()
            } else {
                format!("{count} runbooks")
            };
            view! { <a class="runbook-quiet" href=href title=format!("Runbooks for {service}")>{label}</a> }
                .into_any()
        }
    }
}

/// A runbook's services as chips, each linking to `href(service)`.
pub fn service_chips(services: &[String], href: impl Fn(&str) -> String) -> impl IntoView {
    services
        .iter()
        .map(|service| {
            let href = href(service);
            view! { <a class="chip-link" href=href>{service.clone()}</a> " " }
        })
        .collect_view()
}

/// A runbook's tags as chips, each linking to the runbooks with that tag.
pub fn tag_chips(tags: &[String]) -> impl IntoView {
    tags.iter()
        .map(|tag| {
            let href = format!("/runbooks?tag={}", encode_component(tag));
            view! { <a class="chip-link tag" href=href>{format!("#{tag}")}</a> " " }
        })
        .collect_view()
}
