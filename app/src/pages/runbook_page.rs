//! `/runbooks/{slug}`: one runbook — its front matter, a table of contents and the body.
//!
//! The body is HTML the server rendered from markdown and sanitized (`server::runbooks`); it is
//! inserted as it is and never built in the browser.

use crate::components::problem::PageProblem;
use crate::components::runbook_links::{service_chips, tag_chips, SeverityBadge};
use crate::components::top_bar::{Section, TopBar};
use crate::error::AppError;
use crate::model::encode_component;
use crate::pages::runbooks_page::review_note;
use crate::runbooks::{get_runbook, Runbook};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn RunbookPage() -> impl IntoView {
    let params = use_params_map();
    let slug = Memo::new(move |_| params.with(|params| params.get("slug").unwrap_or_default()));
    let runbook = Resource::new_blocking(move || slug.get(), get_runbook);
    view! {
        <TopBar section=Section::Runbooks/>
        <main id="main" class="page runbook-page" data-hydrated="false">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match runbook.await {
                        Ok(runbook) => view! { <RunbookBody runbook/> }.into_any(),
                        Err(error) => {
                            crate::page_status::set_status_for(&error);
                            let heading = if matches!(error, AppError::NotFound(_)) {
                                "Runbook not found"
                            } else {
                                "Runbook not shown"
                            };
                            view! {
                                <PageProblem heading message=error.to_string() back_href="/runbooks" back_label="All runbooks"/>
                            }.into_any()
                        }
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn RunbookBody(runbook: Runbook) -> impl IntoView {
    let summary = runbook.summary;
    let services = service_chips(&summary.services, |service| {
        format!("/services/{}", encode_component(service))
    });
    let tags = tag_chips(&summary.tags);
    let toc_entries: Vec<_> = runbook
        .toc
        .iter()
        .filter(|entry| (2..=3).contains(&entry.level))
        .cloned()
        .collect();
    let toc = (!toc_entries.is_empty()).then(|| {
        let items = toc_entries
            .into_iter()
            .map(|entry| {
                view! {
                    <li class=format!("toc-level-{}", entry.level)>
                        <a href=format!("#{}", entry.id)>{entry.text}</a>
                    </li>
                }
            })
            .collect_view();
        view! {
            <nav class="toc" aria-label="Contents">
                <h2 class="toc-title">"Contents"</h2>
                <ol>{items}</ol>
            </nav>
        }
    });
    let warnings = summary.warnings.clone();
    let review = review_note(&summary);
    view! {
        <Title text=format!("{} · Runbooks · Lookout", summary.title)/>
        <p class="breadcrumbs"><a href="/runbooks">"← All runbooks"</a></p>
        <header class="runbook-header">
            <h1>{summary.title.clone()} " " <SeverityBadge severity=summary.severity/></h1>
            <dl class="runbook-facts">
                {(!summary.services.is_empty()).then(|| view! { <div><dt>"Services"</dt><dd>{services}</dd></div> })}
                {(!summary.environments.is_empty()).then(|| view! { <div><dt>"Environments"</dt><dd>{summary.environments.join(", ")}</dd></div> })}
                {(!summary.tags.is_empty()).then(|| view! { <div><dt>"Tags"</dt><dd>{tags}</dd></div> })}
                {summary.owner.clone().map(|owner| view! { <div><dt>"Owner"</dt><dd>{owner}</dd></div> })}
                <div><dt>"Review"</dt><dd>{review}</dd></div>
                <div><dt>"File"</dt><dd><code>{runbook.file.clone()}</code></dd></div>
            </dl>
        </header>
        {(!warnings.is_empty()).then(|| {
            let items = warnings.into_iter().map(|warning| view! { <li><code>{warning}</code></li> }).collect_view();
            view! {
                <section class="problem runbook-warnings" role="alert">
                    <p><strong>"This runbook's file has problems"</strong>" (run "<code>"lookout check-config"</code>" for all of them):"</p>
                    <ul>{items}</ul>
                </section>
            }
        })}
        <div class="runbook-layout">
            {toc}
            // Sanitized on the server (ammonia); never assembled in the browser.
            <article class="runbook-body" inner_html=runbook.html></article>
        </div>
    }
}
