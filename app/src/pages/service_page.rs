//! `/services/{name}`: one service across its environments — status, uptime, latency and its
//! recent deployments.

use crate::api::get_service;
use crate::components::history_list::HistoryList;
use crate::components::no_script_refresh::NoScriptRefresh;
use crate::components::problem::PageProblem;
use crate::components::runbook_links::SeverityBadge;
use crate::components::service_row::ServiceRow;
use crate::components::sparkline::Sparkline;
use crate::components::top_bar::{Section, TopBar};
use crate::model::encode_component;
use crate::model::history::{HistoryQuery, ServiceDetail};
use crate::model::UptimeView;
use crate::runbooks::{list_runbook_links, RunbookLink};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ServicePage() -> impl IntoView {
    let params = use_params_map();
    let name = Memo::new(move |_| params.with(|params| params.get("name").unwrap_or_default()));
    let detail = Resource::new_blocking(move || name.get(), get_service);
    let runbook_links = Resource::new_blocking(|| (), |_| list_runbook_links());
    let session = Resource::new_blocking(|| (), |_| crate::api::get_session());
    view! {
        <NoScriptRefresh seconds=60/>
        <TopBar section=Section::Other/>
        <main id="main" class="page" data-hydrated="false">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let links = runbook_links.await.unwrap_or_default();
                    let user = session.await.ok().and_then(|session| session.user);
                    match detail.await {
                        Ok(detail) => {
                            let runbooks = links.for_service(&detail.name);
                            view! { <ServiceBody detail runbooks user/> }.into_any()
                        }
                        Err(error) => {
                            crate::page_status::set_status_for(&error);
                            view! { <PageProblem heading="Service not shown" message=error.to_string()/> }.into_any()
                        }
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn ServiceBody(
    detail: ServiceDetail,
    runbooks: Vec<RunbookLink>,
    user: Option<crate::auth::Identity>,
) -> impl IntoView {
    let now = detail.generated_at;
    let history_href = format!(
        "/history?{}",
        HistoryQuery {
            service: detail.name.clone(),
            ..HistoryQuery::default()
        }
        .to_query_string()
    );
    let more_href = detail.more_history.clone().map(|cursor| {
        format!(
            "/history?service={}&after={}",
            encode_component(&detail.name),
            encode_component(&cursor)
        )
    });
    let environments = detail
        .environments
        .into_iter()
        .map(|environment| {
            let latency = environment.status.latency_ms.clone();
            let label = format!("{} latency, last 24 hours", environment.environment);
            let runbooks = runbooks.clone();
            let user = user.clone();
            let name = environment.environment.clone();
            view! {
                <section class="env-card" aria-label=environment.environment.clone()>
                    <header class="env-header"><h2>{environment.environment.clone()}</h2></header>
                    <ul class="svc-list"><ServiceRow service=environment.status now runbooks environment=name user/></ul>
                    <dl class="uptime">
                        <div><dt>"Uptime 24 h"</dt><dd>{UptimeView::format(environment.uptime.day)}</dd></div>
                        <div><dt>"7 days"</dt><dd>{UptimeView::format(environment.uptime.week)}</dd></div>
                        <div><dt>"30 days"</dt><dd>{UptimeView::format(environment.uptime.month)}</dd></div>
                        <div class="uptime-spark"><dt>"Latency 24 h"</dt><dd><Sparkline points=latency label/></dd></div>
                    </dl>
                </section>
            }
        })
        .collect_view();
    view! {
        {detail.demo.then(|| view! {
            <p class="demo-banner" role="note"><strong>"Demo data. "</strong>"This service runs on a local simulator."</p>
        })}
        <h1>{detail.name.clone()} <span class="provider">{format!(" on {}", detail.provider.display_name())}</span></h1>
        <ServiceRunbooks service=detail.name.clone() runbooks=runbooks.clone()/>
        <div class="cards">{environments}</div>
        <h2>"Recent deployments"</h2>
        <HistoryList entries=detail.history now user/>
        <nav class="pager" aria-label="History pages">
            <a href=history_href>"Full history of this service"</a>
            {more_href.map(|href| view! { <a href=href rel="next">"Older →"</a> })}
        </nav>
    }
}

/// Every runbook that names this service, most severe first.
#[component]
fn ServiceRunbooks(service: String, runbooks: Vec<RunbookLink>) -> impl IntoView {
    let href = format!("/runbooks?service={}", encode_component(&service));
    let items = runbooks
        .iter()
        .map(|runbook| {
            view! {
                <li>
                    <a class="runbook-link" href=runbook.href()>{runbook.title.clone()}</a>
                    " "
                    <SeverityBadge severity=runbook.severity/>
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="service-runbooks" aria-labelledby="service-runbooks-title">
            <h2 id="service-runbooks-title">"Runbooks"</h2>
            {if runbooks.is_empty() {
                view! { <p class="empty">{format!("No runbook names {service} yet.")}</p> }.into_any()
            } else {
                view! {
                    <ul class="runbook-links">{items}</ul>
                    <p><a href=href>"Search these runbooks"</a></p>
                }.into_any()
            }}
        </section>
    }
}
