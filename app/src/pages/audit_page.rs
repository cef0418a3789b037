//! `/audit` (admin): every recorded action — sign-ins, sign-outs, rollbacks — newest first,
//! paged by id. Complete without JavaScript.

use crate::api::list_audit;
use crate::audit::{AuditQuery, AuditView};
use crate::components::filters::{FilterOption, FilterSelect};
use crate::components::problem::shown_or_problem;
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
                    shown_or_problem(audit.await, |view| {
                        view! { <AuditTable view query=query.get_untracked()/> }.into_any()
                    })
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

/// The audit actions one can filter by: the stored value and its label.
const ACTIONS: &[(&str, &str)] = &[
    ("rollback", "rollback"),
    ("rollback_hold", "hold released"),
    ("login", "login"),
    ("logout", "logout"),
];

/// The recorded outcomes one can filter by: the stored value and its label.
const OUTCOMES: &[(&str, &str)] = &[
    ("pending", "pending"),
    ("succeeded", "succeeded"),
    ("failed", "failed"),
    ("refused", "refused"),
    ("rate_limited", "rate limited"),
];

fn options(table: &[(&str, &str)]) -> Vec<FilterOption> {
    table
        .iter()
        .map(|(value, label)| (value.to_string(), label.to_string()))
        .collect()
}

/// Filters as a GET form: they work without JavaScript and make shareable links.
#[component]
fn AuditFilters(query: AuditQuery) -> impl IntoView {
    view! {
        <form class="filters" method="get" action="/audit">
            <FilterSelect label="Action " name="action" options=options(ACTIONS) selected=query.action.clone()/>
            <FilterSelect label="Outcome " name="outcome" options=options(OUTCOMES) selected=query.outcome.clone()/>
            <label>"Who "
                <input name="actor" value=query.actor.clone() placeholder="user name" size="12"/>
            </label>
            <button type="submit">"Filter"</button>
            {query.is_filtered().then(|| view! { <a href="/audit">"Clear"</a> })}
        </form>
    }
}
