//! `/history`: the merged deploy timeline across providers, filtered by URL parameters (so a
//! filtered view can be shared, and the form works without JavaScript), paged by cursor.

use crate::api::list_history;
use crate::components::filters::{same_labels, FilterSelect};
use crate::components::history_list::HistoryList;
use crate::components::no_script_refresh::NoScriptRefresh;
use crate::components::problem::Problem;
use crate::components::top_bar::{Section, TopBar};
use crate::islands::LiveFeed;
use crate::model::history::{HistoryQuery, HistoryView, MAX_AUTHOR_FILTER_CHARS};
use crate::model::DeployState;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

const QUERY_KEYS: [&str; 7] = [
    "service",
    "environment",
    "state",
    "author",
    "from",
    "to",
    "after",
];

const STATES: [DeployState; 9] = [
    DeployState::Ready,
    DeployState::Failed,
    DeployState::RolledBack,
    DeployState::Building,
    DeployState::Deploying,
    DeployState::Queued,
    DeployState::Canceled,
    DeployState::Superseded,
    DeployState::Unknown,
];

#[component]
pub fn HistoryPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|params| {
            HistoryQuery::from_pairs(
                QUERY_KEYS
                    .iter()
                    .filter_map(|key| params.get_str(key).map(|value| (*key, value))),
            )
        })
    });
    let history = Resource::new_blocking(move || query.get(), list_history);
    // The first page follows new deployments as they are stored; older pages stay put.
    let live = query
        .get_untracked()
        .after
        .is_empty()
        .then(LiveFeed::history);
    let session = Resource::new_blocking(|| (), |_| crate::api::get_session());
    view! {
        <NoScriptRefresh seconds=60/>
        <TopBar section=Section::History live=live/>
        <main id="main" class="page" data-hydrated="false">
            <h1>"Deploy history"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading history…"</p> }>
                {move || Suspend::new(async move {
                    let user = session.await.ok().and_then(|session| session.user);
                    match history.await {
                        Ok(view) => view! { <HistoryBody view query=query.get_untracked() user/> }.into_any(),
                        Err(error) => view! {
                            <Problem message=error.to_string()/>
                            <p><a href="/history">"Show the whole history"</a></p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn HistoryBody(
    view: HistoryView,
    query: HistoryQuery,
    user: Option<crate::auth::Identity>,
) -> impl IntoView {
    // The server's clock (the browser build has no system clock through chrono).
    let now = view.generated_at;
    let next_href = view.next.clone().map(|cursor| {
        let next = HistoryQuery {
            after: cursor,
            ..query.clone()
        };
        format!("/history?{}", next.to_query_string())
    });
    let first_href = (!query.after.is_empty()).then(|| {
        let first = query.first_page().to_query_string();
        if first.is_empty() {
            "/history".to_string()
        } else {
            format!("/history?{first}")
        }
    });
    let count = view.entries.len();
    view! {
        {view.demo.then(|| view! {
            <p class="demo-banner" role="note"><strong>"Demo data. "</strong>"This history comes from local simulators."</p>
        })}
        <FilterForm query=query.clone() services=view.services.clone() environments=view.environments.clone()/>
        <p class="summary-meta" role="status">
            {format!("{count} deployment{} shown, newest first", if count == 1 { "" } else { "s" })}
            {query.is_filtered().then(|| view! { " · " <a href="/history">"Clear filters"</a> })}
        </p>
        <HistoryList entries=view.entries now user/>
        <nav class="pager" aria-label="History pages">
            {first_href.map(|href| view! { <a href=href>"← Newest"</a> })}
            {next_href.map(|href| view! { <a href=href rel="next">"Older →"</a> })}
        </nav>
    }
}

#[component]
fn FilterForm(
    query: HistoryQuery,
    services: Vec<String>,
    environments: Vec<String>,
) -> impl IntoView {
    let state_options = STATES
        .iter()
        .map(|state| {
            let value = serde_json::to_value(state)
                .ok()
                .and_then(|value| value.as_str().map(str::to_string))
                .unwrap_or_default();
            (value, state.label().to_string())
        })
        .collect();
    view! {
        <form class="filters" method="get" action="/history" role="search" aria-label="Filter the history">
            <FilterSelect label="Service" name="service" options=same_labels(services) selected=query.service.clone()/>
            <FilterSelect label="Environment" name="environment" options=same_labels(environments) selected=query.environment.clone()/>
            <FilterSelect label="State" name="state" options=state_options selected=query.state.clone()/>
            <label>"Author"
                <input type="search" name="author" value=query.author.clone() placeholder="name or email"
                        maxlength=MAX_AUTHOR_FILTER_CHARS/>
            </label>
            <label>"From"
                <input type="date" name="from" value=query.from.clone()/>
            </label>
            <label>"To"
                <input type="date" name="to" value=query.to.clone()/>
            </label>
            <button type="submit">"Filter"</button>
        </form>
    }
}
