//! `/`: one card per environment, one row per service. Server HTML only; the header's
//! [`LiveStatus`](crate::islands::LiveStatus) island keeps it current in the browser.

use crate::api::{get_session, get_status};
use crate::auth::Identity;
use crate::components::environment_card::EnvironmentCard;
use crate::components::no_script_refresh::NoScriptRefresh;
use crate::components::top_bar::{Section, TopBar};
use crate::islands::LiveFeed;
use crate::model::board::BoardQuery;
use crate::model::{RollupStatus, StatusSnapshot};
use crate::runbooks::{list_runbook_links, RunbookLinks};
use crate::time::{absolute, relative};
use chrono::Utc;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn HomePage() -> impl IntoView {
    let params = use_query_map();
    let board = Memo::new(move |_| {
        params.with(|params| BoardQuery {
            environment: params.get("environment").filter(|name| !name.is_empty()),
            page: params.get("page").and_then(|page| page.parse().ok()),
        })
    });
    let initial = Resource::new_blocking(move || board.get(), get_status);
    let runbook_links = Resource::new_blocking(|| (), |_| list_runbook_links());
    let session = Resource::new_blocking(|| (), |_| get_session());
    // The stream follows the view the page was opened with; links between views of the board
    // load a new page, so it always matches what is shown.
    let live = LiveFeed::board(&board.get_untracked().to_query_string());

    view! {
        <NoScriptRefresh seconds=60/>
        <TopBar section=Section::Status live=Some(live)/>
        <main id="main" class="page" data-hydrated="false">
            <Suspense fallback=|| view! { <p class="loading">"Loading status…"</p> }>
                {move || Suspend::new(async move {
                    // Without runbooks the board still shows (no links).
                    let runbooks = runbook_links.await.unwrap_or_default();
                    let user = session.await.ok().and_then(|session| session.user);
                    match initial.await {
                        Ok(snapshot) => view! { <StatusBoard snapshot runbooks user/> }.into_any(),
                        Err(error) => view! {
                            <section class="problem" role="alert">
                                <h1>"Status unavailable"</h1>
                                <p>{error.to_string()}</p>
                            </section>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn StatusBoard(
    snapshot: StatusSnapshot,
    runbooks: RunbookLinks,
    user: Option<Identity>,
) -> impl IntoView {
    // The server's clock now: the browser re-reads relative times against its heartbeats.
    let now = Utc::now().max(snapshot.generated_at);
    {
        let overall = snapshot
            .environments
            .iter()
            .map(|environment| environment.rollup())
            .min()
            .unwrap_or(RollupStatus::Unknown);
        let service_count: u64 = snapshot
            .environments
            .iter()
            .map(|environment| u64::from(environment.service_total()))
            .sum();
        // One environment's own view: say so, and lead back to the overview.
        let single = snapshot
            .environments
            .first()
            .filter(|environment| {
                environment
                    .window
                    .as_ref()
                    .is_some_and(|window| window.page.is_some())
            })
            .map(|environment| environment.title());
        let jump_links = snapshot
            .environments
            .iter()
            .map(|environment| {
                let rollup = environment.rollup();
                view! {
                    <li>
                        <a href=format!("#{}", environment.anchor()) class=format!("chip {}", rollup.css_class())>
                            <span class="icon" aria-hidden="true">{rollup.icon()}</span>
                            {environment.title()}
                        </a>
                    </li>
                }
            })
            .collect_view();
        let cards = snapshot
            .environments
            .iter()
            .cloned()
            .map(|environment| {
                let runbooks = runbooks.clone();
                let user = user.clone();
                view! { <EnvironmentCard environment now runbooks user/> }
            })
            .collect_view();
        view! {
            {snapshot.demo.then(|| view! {
                <p class="demo-banner" role="note">
                    <strong>"Demo data. "</strong>
                    "Every provider on this page is a local simulator. Run Lookout with a config file to watch your real services."
                </p>
            })}
            <div class="summary">
                <h1>
                    <span class=format!("overall {}", overall.css_class())>
                        <span class="icon" aria-hidden="true">{overall.icon()}</span>
                        {overall_sentence(overall)}
                    </span>
                </h1>
                <p class="summary-meta">
                    {format!("{} environments · {} service rows · updated ", snapshot.environments.len(), service_count)}
                    <time data-relative="" datetime=snapshot.generated_at.to_rfc3339() title=absolute(snapshot.generated_at)>
                        {relative(snapshot.generated_at, now)}
                    </time>
                </p>
                {match single {
                    Some(title) => view! {
                        <p class="board-scope">
                            {format!("All services in {title}. ")}
                            <a href="/" rel="external">"Back to every environment"</a>
                        </p>
                    }.into_any(),
                    None => view! {
                        <nav aria-label="Environments"><ul class="chips">{jump_links}</ul></nav>
                    }.into_any(),
                }}
            </div>
            {snapshot.environments.is_empty().then(|| view! {
                <p class="empty">"No environments are configured."</p>
            })}
            <div class="cards">{cards}</div>
        }
    }
}

fn overall_sentence(status: RollupStatus) -> &'static str {
    match status {
        RollupStatus::Operational => "All systems operational",
        RollupStatus::Deploying => "Deploying",
        RollupStatus::Stale => "Some data is stale",
        RollupStatus::Unknown => "Some status is unknown",
        RollupStatus::Degraded => "Degraded",
        RollupStatus::Down => "Outage",
    }
}
