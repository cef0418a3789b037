//! `/runbooks`: every runbook with its severity, services, tags and review date; filtered by
//! service and tag and searched on the server through URL parameters, so the form works
//! without JavaScript. In the browser the [`SearchAsYouType`] island filters as you type
//! (the results region is swapped and the URL follows).

use crate::components::filters::{same_labels, FilterSelect};
use crate::components::problem::shown_or_problem;
use crate::components::runbook_links::{service_chips, tag_chips, SeverityBadge};
use crate::components::top_bar::{Section, TopBar};
use crate::islands::SearchAsYouType;
use crate::model::encode_component;
use crate::runbooks::{
    list_runbooks, LibraryState, ReviewState, RunbookList, RunbookQuery, RunbookSummary,
    MAX_QUERY_CHARS, MAX_QUERY_TERMS, REVIEW_MAX_AGE_DAYS,
};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The filter form and the region it refreshes (ids the island finds them by).
const FILTERS_ID: &str = "runbook-filters";
const RESULTS_ID: &str = "runbook-results";

#[component]
pub fn RunbooksPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|params| {
            RunbookQuery::from_pairs(
                RunbookQuery::KEYS
                    .iter()
                    .filter_map(|key| params.get_str(key).map(|value| (*key, value))),
            )
        })
    });
    let list = Resource::new_blocking(move || query.get(), list_runbooks);
    // What the filters can choose from: every service and tag, whatever the query.
    let facets = Resource::new_blocking(|| (), |_| list_runbooks(RunbookQuery::default()));

    let initial = query.get_untracked();

    view! {
        <TopBar section=Section::Runbooks/>
        <main id="main" class="page runbooks-page" data-hydrated="false">
            <h1>"Runbooks"</h1>
            <form id=FILTERS_ID class="filters runbook-filters" method="get" action="/runbooks" role="search"
                aria-label="Search the runbooks">
                <label class="grow">"Search"
                    <input type="search" name="q" value=initial.q.clone() maxlength=MAX_QUERY_CHARS
                        placeholder="rollback, 502, database…" autocomplete="off"/>
                </label>
                <Suspense fallback=|| ()>
                    {move || {
                        Suspend::new(async move {
                        let facets = facets.await.ok();
                        let (services, tags) = facets
                            .map(|list| (list.services, list.tags))
                            .unwrap_or_default();
                        let current = query.get_untracked();
                        view! {
                            <FilterSelect label="Service" name="service" options=same_labels(services) selected=current.service/>
                            <FilterSelect label="Tag" name="tag" options=same_labels(tags) selected=current.tag/>
                        }
                    })}}
                </Suspense>
                <button type="submit">"Search"</button>
            </form>
            <SearchAsYouType form=FILTERS_ID.to_string() results=RESULTS_ID.to_string()/>
            <div id=RESULTS_ID>
            <Transition fallback=|| view! { <p class="loading">"Loading runbooks…"</p> }>
                {move || Suspend::new(async move {
                    shown_or_problem(list.await, |list| {
                        view! { <RunbookListView list query=query.get_untracked()/> }.into_any()
                    })
                })}
            </Transition>
            </div>
        </main>
    }
}

#[component]
fn RunbookListView(list: RunbookList, query: RunbookQuery) -> impl IntoView {
    let shown = list.runbooks.len();
    let total = list.total;
    let state = match &list.state {
        LibraryState::Loaded => None,
        LibraryState::Missing(dir) => Some(view! {
            <p class="empty" role="note">
                {format!("There is no runbooks folder ({dir}). Add markdown files with front matter there (or set runbooks_dir) and they appear here without a restart.")}
            </p>
        }.into_any()),
        LibraryState::Unreadable(reason) => Some(view! {
            <section class="problem" role="alert"><p>{format!("The runbooks folder cannot be read: {reason}. Showing the last list read.")}</p></section>
        }.into_any()),
    };
    let summary = if query.is_empty() {
        format!("{total} runbook{}", if total == 1 { "" } else { "s" })
    } else {
        format!("{shown} of {total} runbooks match")
    };
    let truncated = list.query_truncated.then(|| {
        view! {
            <p class="note warn-note" role="note" data-search-truncated="true">
                <span aria-hidden="true">"⚠ "</span>
                {format!(
                    "The search was too long: only the first {MAX_QUERY_TERMS} words (of at most {MAX_QUERY_CHARS} characters) were used: {}.",
                    list.terms.join(" "),
                )}
            </p>
        }
    });
    let items = list
        .runbooks
        .into_iter()
        .map(|runbook| view! { <RunbookItem runbook/> })
        .collect_view();
    view! {
        {state}
        {truncated}
        <p class="summary-meta" role="status">
            {summary}
            {(!query.is_empty()).then(|| view! { " · " <a href="/runbooks">"Clear filters"</a> })}
        </p>
        {(shown == 0 && total > 0).then(|| view! {
            <p class="empty">"No runbook matches. Try fewer words, or another service or tag."</p>
        })}
        <ul class="runbook-list">{items}</ul>
    }
}

#[component]
fn RunbookItem(runbook: RunbookSummary) -> impl IntoView {
    let href = runbook.href();
    let services = service_chips(&runbook.services, |service| {
        format!("/runbooks?service={}", encode_component(service))
    });
    let tags = tag_chips(&runbook.tags);
    let review = review_note(&runbook);
    let warnings = runbook.warnings.len();
    view! {
        <li class="runbook-item" data-slug=runbook.slug.clone()>
            <div class="runbook-head">
                <a class="runbook-title" href=href>{runbook.title.clone()}</a>
                <SeverityBadge severity=runbook.severity/>
            </div>
            {runbook.snippet.clone().map(|snippet| view! { <p class="snippet">{snippet}</p> })}
            <p class="runbook-meta">
                {(!runbook.services.is_empty()).then(|| view! { <span class="meta-group">"Services: " {services}</span> })}
                {(!runbook.tags.is_empty()).then(|| view! { <span class="meta-group">"Tags: " {tags}</span> })}
                {review}
            </p>
            {(warnings > 0).then(|| view! {
                <p class="note warn-note"><span aria-hidden="true">"⚠ "</span>
                    {format!("{warnings} problem{} in this file; open it for details", if warnings == 1 { "" } else { "s" })}
                </p>
            })}
        </li>
    }
}

/// "Reviewed 2026-10-01", flagged when older than the review period.
pub fn review_note(runbook: &RunbookSummary) -> impl IntoView {
    match (runbook.review, runbook.last_reviewed) {
        (ReviewState::Overdue, Some(date)) => view! {
            <span class="meta-group review overdue" title=format!("not reviewed in the last {REVIEW_MAX_AGE_DAYS} days")>
                <span aria-hidden="true">"◷ "</span>{format!("Review overdue: last reviewed {date}")}
            </span>
        }
        .into_any(),
        (_, Some(date)) => view! {
            <span class="meta-group review">{format!("Reviewed {date}")}</span>
        }
        .into_any(),
        (_, None) => view! {
            <span class="meta-group review overdue"><span aria-hidden="true">"◷ "</span>"Never reviewed"</span>
        }
        .into_any(),
    }
}
