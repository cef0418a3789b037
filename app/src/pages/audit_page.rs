//! `/audit` (admin): every recorded action — sign-ins, sign-outs, rollbacks — newest first,
//! paged by id. Complete without JavaScript.

use crate::api::list_audit;
use crate::audit::AuditView;
use crate::components::top_bar::{Section, TopBar};
use crate::time::{absolute, relative};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditPage() -> impl IntoView {
    let params = use_query_map();
    let before = Memo::new(move |_| {
        params.with(|params| {
            params
                .get("before")
                .and_then(|value| value.parse::<i64>().ok())
        })
    });
    let audit = Resource::new_blocking(move || before.get(), list_audit);
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <TopBar section=Section::Audit/>
        <main id="main" class="page" data-hydrated=move || hydrated.get().to_string()>
            <h1>"Audit log"</h1>
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match audit.await {
                        Ok(view) => view! { <AuditTable view/> }.into_any(),
                        Err(error) => view! {
                            <section class="problem" role="alert"><p>{error.to_string()}</p></section>
                        }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn AuditTable(view: AuditView) -> impl IntoView {
    let now = view.generated_at;
    if view.entries.is_empty() {
        return view! { <p>"Nothing has been recorded yet."</p> }.into_any();
    }
    let next = view.next_before.map(|id| {
        view! {
            <nav class="pager" aria-label="Audit pages">
                <a href=format!("/audit?before={id}")>"Older entries"</a>
            </nav>
        }
    });
    view! {
        <div class="table-scroll">
            <table class="audit">
                <thead>
                    <tr>
                        <th scope="col">"When"</th>
                        <th scope="col">"Who"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Target"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Detail"</th>
                        <th scope="col">"From"</th>
                    </tr>
                </thead>
                <tbody>
                    {view.entries.into_iter().map(|row| {
                        let outcome_class = format!("outcome outcome-{}", row.outcome);
                        view! {
                            <tr>
                                <td><time datetime=row.at.to_rfc3339() title=absolute(row.at)>{relative(row.at, now)}</time></td>
                                <td>{row.actor}</td>
                                <td>{row.action}</td>
                                <td>{row.target}</td>
                                <td><span class=outcome_class>{row.outcome}</span></td>
                                <td>{row.detail.unwrap_or_default()}</td>
                                <td>{row.remote_addr.unwrap_or_default()}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {next}
    }
    .into_any()
}
