//! `/audit` (admin): every recorded action — sign-ins, sign-outs, rollbacks — newest first,
//! paged by id. Complete without JavaScript.

use crate::api::list_audit;
use crate::audit::{AuditQuery, AuditView};
use crate::components::problem::Problem;
use crate::components::top_bar::{Section, TopBar};
use crate::time::{absolute, relative};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn AuditPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| {
        params.with(|params| AuditQuery {
            before: params
                .get("before")
                .and_then(|value| value.parse::<i64>().ok()),
            action: params.get("action").unwrap_or_default(),
            actor: params.get("actor").unwrap_or_default(),
            outcome: params.get("outcome").unwrap_or_default(),
        })
    });
    let audit = Resource::new_blocking(move || query.get(), list_audit);
    view! {
        <TopBar section=Section::Audit/>
        <main id="main" class="page" data-hydrated="false">
            <h1>"Audit log"</h1>
            {move || view! { <AuditFilters query=query.get()/> }}
            <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match audit.await {
                        Ok(view) => view! { <AuditTable view query=query.get_untracked()/> }.into_any(),
                        Err(error) => view! {
                            <Problem message=error.to_string()/>
                        }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn AuditTable(view: AuditView, query: AuditQuery) -> impl IntoView {
    let now = view.generated_at;
    if view.entries.is_empty() {
        let text = if query.is_filtered() {
            "Nothing matches these filters."
        } else {
            "Nothing has been recorded yet."
        };
        return view! { <p>{text}</p> }.into_any();
    }
    let next = view.next_before.map(|id| {
        let older = AuditQuery {
            before: Some(id),
            ..query.clone()
        };
        view! {
            <nav class="pager" aria-label="Audit pages">
                <a href=format!("/audit?{}", older.to_query_string())>"Older entries"</a>
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
                                <td><time data-relative="" datetime=row.at.to_rfc3339() title=absolute(row.at)>{relative(row.at, now)}</time></td>
                                <td>{row.actor}</td>
                                <td>{row.action}</td>
                                <td>{row.target}</td>
                                <td><span class=outcome_class>{row.outcome}</span></td>
                                <td class="audit-detail">{row.detail.unwrap_or_default()}</td>
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

/// Filters as a GET form: they work without JavaScript and make shareable links.
#[component]
fn AuditFilters(query: AuditQuery) -> impl IntoView {
    let option = |value: &'static str, label: &'static str, current: &str| {
        let selected = value == current;
        view! { <option value=value selected=selected>{label}</option> }
    };
    view! {
        <form class="filters" method="get" action="/audit">
            <label>"Action "
                <select name="action">
                    {option("", "any", &query.action)}
                    {option("rollback", "rollback", &query.action)}
                    {option("rollback_hold", "hold released", &query.action)}
                    {option("login", "login", &query.action)}
                    {option("logout", "logout", &query.action)}
                </select>
            </label>
            <label>"Outcome "
                <select name="outcome">
                    {option("", "any", &query.outcome)}
                    {option("pending", "pending", &query.outcome)}
                    {option("succeeded", "succeeded", &query.outcome)}
                    {option("failed", "failed", &query.outcome)}
                    {option("refused", "refused", &query.outcome)}
                    {option("rate_limited", "rate limited", &query.outcome)}
                </select>
            </label>
            <label>"Who "
                <input name="actor" value=query.actor.clone() placeholder="user name" size="12"/>
            </label>
            <button type="submit">"Filter"</button>
            {query.is_filtered().then(|| view! { <a href="/audit">"Clear"</a> })}
        </form>
    }
}
