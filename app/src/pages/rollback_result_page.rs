//! `/rollbacks/{id}`: one rollback from request to verified outcome. In the browser the
//! header's live island follows the operation's stream and swaps the page in until it ends; without JavaScript it refreshes itself every few
//! seconds while the rollback runs. Deployers of the environment can end a hold from here.

use crate::api::{get_rollback, get_session, ReleaseRollbackHold};
use crate::auth::CSRF_FIELD;
use crate::components::no_script_refresh::NoScriptRefresh;
use crate::components::problem::PageProblem;
use crate::components::top_bar::{Section, TopBar};
use crate::islands::LiveFeed;
use crate::model::rollback::{HoldView, RollbackView};
use crate::time::{absolute, duration, relative};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

/// Where the form posts: the server function's own path.
const RELEASE_PATH: &str = <ReleaseRollbackHold as ServerFn>::PATH;
use leptos_router::hooks::{use_params_map, use_query_map};

/// Seconds between refreshes of the page without JavaScript while the rollback runs.
const NO_SCRIPT_REFRESH_SECS: u32 = 2;

#[component]
pub fn RollbackResultPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = Memo::new(move |_| {
        params.with(|params| {
            params
                .get("id")
                .and_then(|id| id.parse::<i64>().ok())
                .unwrap_or_default()
        })
    });
    let error = Memo::new(move |_| query.with(|query| query.get("error")));
    let operation = Resource::new_blocking(move || id.get(), get_rollback);
    let session = Resource::new_blocking(|| (), |_| get_session());
    let live = LiveFeed::rollback(id.get_untracked());
    view! {
        <TopBar section=Section::Other live=Some(live)/>
        <main id="main" class="page rollback-result" data-hydrated="false">
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    let csrf = session.await.map(|session| session.csrf_token).unwrap_or_default();
                    match operation.await {
                        Ok(first) => view! {
                            <Outcome view=first csrf error=error.get_untracked()/>
                        }.into_any(),
                        Err(problem) => view! { <PageProblem heading="Rollback not shown" message=problem.to_string()/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn Outcome(view: RollbackView, csrf: String, error: Option<String>) -> impl IntoView {
    {
        let now = view.generated_at;
        let finished = view.state.is_finished();
        let took = view.finished_at.map(|end| duration(view.requested_at, end));
        let hold = view
            .hold
            .clone()
            .map(|hold| view! { <Hold hold id=view.id may_release=view.may_release_hold csrf=csrf.clone()/> });
        let service_href = format!(
            "/services/{}",
            crate::model::encode_component(&view.service)
        );
        view! {
            {(!finished).then(|| view! { <NoScriptRefresh seconds=NO_SCRIPT_REFRESH_SECS/> })}
            <h1>{format!("Rollback #{} of {} in {}", view.id, view.service, view.environment)}</h1>
            {error.clone().map(|error| view! {
                <section class="problem" role="alert"><p>{error}</p></section>
            })}
            // `data-live-final`: the live stream stops once the page shows the outcome.
            <p class=format!("rollback-state {}", view.state.css_class()) role="status" data-state=view.state.name()
                data-live-final=finished.then_some("")>
                <strong>{view.state.label()}</strong>
                {view.detail.clone().map(|detail| view! { ": " {detail} })}
            </p>
            {(!finished).then(|| view! {
                <p class="muted-text">"This page updates by itself until the provider reports the outcome. "
                    <a href=view.path()>"Refresh"</a></p>
            })}
            <dl class="rollback-plan">
                <div><dt>"From"</dt><dd>{view.from.describe()}<span class="muted-text">{format!(" ({})", view.from.id)}</span></dd></div>
                <div><dt>"To"</dt><dd>{view.to.describe()}<span class="muted-text">{format!(" ({})", view.to.id)}</span></dd></div>
                {view.new_deployment_id.clone().map(|id| view! {
                    <div><dt>"New deployment"</dt><dd><code>{id}</code></dd></div>
                })}
                <div><dt>"Provider"</dt><dd>{view.provider.display_name()}</dd></div>
                <div><dt>{if view.actor.is_some() { "Requested by" } else { "Requested" }}</dt><dd>
                    {view.actor.clone().map(|actor| format!("{actor} · "))}
                    <time data-relative="" datetime=view.requested_at.to_rfc3339() title=absolute(view.requested_at)>{relative(view.requested_at, now)}</time>
                    {took.map(|took| format!(" · took {took}"))}
                </dd></div>
                {view.reason.clone().map(|reason| view! {
                    <div><dt>"Reason"</dt><dd>{reason}</dd></div>
                })}
            </dl>
            {hold}
            <p><a href=service_href>{format!("{} across environments", view.service)}</a> " · " <a href="/">"Status page"</a></p>
        }
    }
}

#[component]
fn Hold(hold: HoldView, id: i64, may_release: bool, csrf: String) -> impl IntoView {
    let kind = hold.kind;
    match hold.released {
        Some((release, by, at)) => view! {
            <p class="note">{format!(
                "{}: ended ({}){} at {}",
                kind.label(),
                release.name(),
                by.map(|by| format!(" by {by}")).unwrap_or_default(),
                absolute(at)
            )}</p>
        }
        .into_any(),
        None => {
            let releases = match kind {
                crate::model::rollback::HoldKind::Pinned => vec![
                    crate::model::rollback::HoldRelease::Commit,
                    crate::model::rollback::HoldRelease::Revert,
                ],
                _ => vec![crate::model::rollback::HoldRelease::Resume],
            };
            let forms = may_release.then(|| {
                releases
                    .into_iter()
                    .map(|release| {
                        let csrf = csrf.clone();
                        view! {
                            <form class="inline-form" method="post" action=RELEASE_PATH>
                                <input type="hidden" name=CSRF_FIELD value=csrf/>
                                <input type="hidden" name="id" value=id.to_string()/>
                                <input type="hidden" name="release" value=release.name()/>
                                <button type="submit">{release.label(kind)}</button>
                            </form>
                        }
                    })
                    .collect_view()
            });
            view! {
                <section class="hold-box" aria-label="Hold">
                    <p><strong class="hold">{format!("{} ", capitalized(kind.label()))}</strong>
                        "since this rollback, so the next push does not undo it."</p>
                    {forms}
                </section>
            }
            .into_any()
        }
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
