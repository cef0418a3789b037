//! The merged deploy history as a list: one row per deployment, newest first.

use crate::auth::Identity;
use crate::components::badges::DeployBadge;
use crate::components::rollback_actions::HistoryRollback;
use crate::components::service_row::commit_sha;
use crate::model::history::HistoryEntry;
use crate::model::DeployState;
use crate::time::{absolute, duration, relative};
use chrono::{DateTime, Utc};
use leptos::prelude::*;

#[component]
pub fn HistoryList(
    entries: Vec<HistoryEntry>,
    now: DateTime<Utc>,
    /// Who is looking ("Roll back to this" shows to deployers of the row's environment).
    #[prop(default = None)]
    user: Option<Identity>,
) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p class="empty">"No deployments match."</p> }.into_any();
    }
    let rows = entries
        .into_iter()
        .map(|entry| {
            let user = user.clone();
            view! { <HistoryRow entry now user/> }
        })
        .collect_view();
    view! { <ol class="history">{rows}</ol> }.into_any()
}

#[component]
fn HistoryRow(entry: HistoryEntry, now: DateTime<Utc>, user: Option<Identity>) -> impl IntoView {
    let deployment = entry.deployment;
    let rollback = view! {
        <HistoryRollback
            service=entry.service.clone()
            environment=entry.environment.clone()
            deployment_id=deployment.id.clone()
            eligibility=deployment.rollback.clone()
            user
        />
    };
    let state = deployment.state;
    let emphasis = match state {
        DeployState::Failed => " bad",
        DeployState::RolledBack => " warn",
        _ => "",
    };
    let sha = deployment.short_sha().map(str::to_string);
    let full_sha = deployment.commit_sha.clone().unwrap_or_default();
    let headline = deployment
        .headline()
        .map(str::to_string)
        .unwrap_or_else(|| deployment.id.clone());
    let author = deployment.author.clone();
    let started = deployment.created_at;
    let took = match (deployment.created_at, deployment.ready_at) {
        (Some(start), Some(end)) => Some(duration(start, end)),
        _ => None,
    };
    let dashboard = deployment.dashboard_url.clone().map(|href| {
        view! { <a href=href rel="noopener noreferrer" target="_blank">{format!("{} ↗", entry.provider.display_name())}</a> }
    });
    let live = deployment.url.clone().map(|href| {
        view! { <a href=href rel="noopener noreferrer" target="_blank">"Deployment ↗"</a> }
    });
    let service_href = format!(
        "/services/{}",
        crate::model::encode_component(&entry.service)
    );
    view! {
        <li class=format!("history-row{emphasis}") data-state=state.label() data-service=entry.service.clone()>
            <div class="history-when">
                {started.map(|at| view! { <time data-relative="" datetime=at.to_rfc3339() title=absolute(at)>{relative(at, now)}</time> })}
                {took.map(|took| view! { <span class="muted-text">{format!("took {took}")}</span> })}
            </div>
            <div class="history-what">
                <a class="history-service" href=service_href>{entry.service.clone()}</a>
                <span class="history-env">{entry.environment.clone()}</span>
                <span class="provider">{entry.provider.display_name()}</span>
            </div>
            <div class="history-commit">
                {sha.map(|sha| commit_sha(sha, full_sha, deployment.commit_url.clone()))}
                " "
                <span class="message">{headline}</span>
                {author.map(|author| view! { <span class="author muted-text">{format!(" by {author}")}</span> })}
            </div>
            <div class="history-state"><DeployBadge state/></div>
            <div class="history-links">{dashboard} {live} {rollback}</div>
        </li>
    }
}
