//! One service in one environment: live version, state, health, freshness, links.

use crate::auth::Identity;
use crate::components::badges::{DeployBadge, HealthBadge};
use crate::components::rollback_actions::RowRollback;
use crate::components::runbook_links::{RowRunbooks, RunbookEmphasis};
use crate::components::sparkline::Sparkline;
use crate::model::encode_component;
use crate::model::{
    DeployState, DeploymentView, HealthState, RollupStatus, ServiceStatus, UptimeView,
};
use crate::runbooks::RunbookLink;
use crate::time::{absolute, relative};
use chrono::{DateTime, Utc};
use leptos::prelude::*;

#[component]
pub fn ServiceRow(
    service: ServiceStatus,
    now: DateTime<Utc>,
    /// The runbooks that name this service: first on the row when it is degraded or failing.
    #[prop(optional)]
    runbooks: Vec<RunbookLink>,
    /// The Lookout environment of the row (for rollback actions).
    #[prop(optional)]
    environment: Option<String>,
    /// Who is looking (rollback actions show to deployers of the environment).
    #[prop(default = None)]
    user: Option<Identity>,
) -> impl IntoView {
    let rollup = service.rollup();
    let failing = matches!(rollup, RollupStatus::Down | RollupStatus::Degraded)
        || service
            .pending
            .as_ref()
            .is_some_and(|pending| pending.state == DeployState::Failed);
    let (urgent_runbooks, quiet_runbooks) = if failing {
        (runbooks, Vec::new())
    } else {
        (Vec::new(), runbooks)
    };
    let provider = service.provider;
    let version = match &service.live {
        Some(live) => view! { <Version deployment=live.clone() now/> }.into_any(),
        None if !service.provider.has_deployments() => {
            view! { <span class="muted-text">"health check only"</span> }.into_any()
        }
        None => view! { <span class="muted-text">"not live yet"</span> }.into_any(),
    };
    let state_badge = service
        .live
        .as_ref()
        .map(|live| view! { <DeployBadge state=live.state/> });
    let health = service.health.clone();
    let health_note = match health.state {
        HealthState::Degraded | HealthState::Down | HealthState::Unknown => health.detail.clone(),
        _ => None,
    };
    let latency = health.latency_ms.map(|ms| format!("{ms} ms"));
    let rollback = environment.map(|environment| {
        view! { <RowRollback service=service.clone() environment user now/> }
    });
    let pending = service
        .pending
        .clone()
        .map(|pending| view! { <PendingNote pending now/> });
    let stale = stale_note(&service, now);
    let dashboard = service
        .live
        .as_ref()
        .and_then(|live| live.dashboard_url.clone())
        .map(|href| {
            view! {
                <a href=href rel="noopener noreferrer" target="_blank">
                    {format!("{} ↗", provider.display_name())}
                </a>
            }
        });
    let live_link = service.live_url.clone().map(|href| {
        view! {
            <a href=href rel="noopener noreferrer" target="_blank">
                "Open ↗"
            </a>
        }
    });
    let service_href = format!("/services/{}", encode_component(&service.service));
    let uptime = service.uptime.clone().map(|uptime| {
        let text = format!(
            "{} · {} · {}",
            UptimeView::format(uptime.day),
            UptimeView::format(uptime.week),
            UptimeView::format(uptime.month)
        );
        view! { <span class="uptime-inline" title="uptime over 24 hours · 7 days · 30 days">{format!("up {text}")}</span> }
    });
    let sparkline = (!service.latency_ms.is_empty()).then(|| {
        view! { <Sparkline points=service.latency_ms.clone() label="latency, last 24 hours"/> }
    });
    view! {
        <li class=format!("svc-row status-{}", rollup.css_class()) data-service=service.service.clone()>
            <div class="svc-name">
                <a class="svc-link" href=service_href><strong>{service.service.clone()}</strong></a>
                <span class="provider">{provider.display_name()}</span>
            </div>
            <RowRunbooks service=service.service.clone() runbooks=urgent_runbooks emphasis=RunbookEmphasis::Urgent/>
            <div class="svc-version">{version}</div>
            <div class="svc-badges">
                {state_badge}
                <HealthBadge state=health.state detail=health.detail.clone()/>
                {latency.map(|latency| view! { <span class="latency" title="last health-check latency">{latency}</span> })}
            </div>
            <div class="svc-links">
                {live_link} {dashboard}
                <RowRunbooks service=service.service.clone() runbooks=quiet_runbooks emphasis=RunbookEmphasis::Quiet/>
                {uptime} {sparkline}
            </div>
            {pending}
            {rollback}
            {health_note.map(|note| view! { <p class="note health-note">{format!("Health: {note}")}</p> })}
            {stale.map(|note| view! { <p class="note stale-note"><span aria-hidden="true">"◷ "</span>{note}</p> })}
        </li>
    }
}

#[component]
fn Version(deployment: DeploymentView, now: DateTime<Utc>) -> impl IntoView {
    let sha = deployment.short_sha().map(str::to_string);
    let full_sha = deployment.commit_sha.clone().unwrap_or_default();
    let headline = deployment.headline().map(str::to_string);
    let author = deployment.author.clone();
    let deployed = deployment.ready_at.or(deployment.created_at);
    view! {
        <span class="version">
            {sha.map(|sha| commit_sha(sha, full_sha, deployment.commit_url.clone()))}
            " "
            <span class="message">{headline.unwrap_or_else(|| format!("deployment {}", deployment.id))}</span>
        </span>
        <span class="meta">
            {author.clone().map(|author| view! { <span class="author">{format!("by {author}")}</span> })}
            {deployed.map(|at| view! {
                {author.is_some().then_some(" · ")}
                <time data-relative="" datetime=at.to_rfc3339() title=absolute(at)>{relative(at, now)}</time>
            })}
        </span>
    }
}

#[component]
fn PendingNote(pending: DeploymentView, now: DateTime<Utc>) -> impl IntoView {
    let failed = pending.state == DeployState::Failed;
    let what = match (pending.short_sha(), pending.headline()) {
        (Some(sha), Some(message)) => format!("{sha} “{message}”"),
        (Some(sha), None) => sha.to_string(),
        (None, Some(message)) => format!("“{message}”"),
        (None, None) => pending.id.clone(),
    };
    let when = pending
        .created_at
        .map(|at| relative(at, now))
        .unwrap_or_default();
    let text = if failed {
        format!("Newer deploy {what} failed {when}; the version above is still live.")
    } else {
        format!(
            "Deploying {what} ({}) · started {when}",
            pending.state.label()
        )
    };
    view! {
        <p class=if failed { "note pending-note bad" } else { "note pending-note busy" }>
            <span aria-hidden="true">{if failed { "✖ " } else { "↻ " }}</span>
            {text}
        </p>
    }
}

/// "Data is 4 min old: rate limited, retrying in 30 s" — never silent about stale data.
fn stale_note(service: &ServiceStatus, now: DateTime<Utc>) -> Option<String> {
    let poll = &service.poll;
    if !poll.stale && poll.last_success_at.is_some() {
        return None;
    }
    let problem = poll.problem.clone();
    match (poll.last_success_at, problem) {
        (Some(at), Some(problem)) => Some(format!("Data is {} old: {problem}", age(at, now))),
        (Some(at), None) => Some(format!("Data is {} old", age(at, now))),
        (None, Some(problem)) => Some(format!("No data yet: {problem}")),
        (None, None) => None,
    }
}

fn age(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    relative(at, now)
        .trim_end_matches(" ago")
        .replace("just now", "a few seconds")
}

/// The short sha, linked to the commit when the repository is known.
pub fn commit_sha(short: String, full: String, commit_url: Option<String>) -> AnyView {
    match commit_url {
        Some(href) => view! {
            <a class="sha-link" href=href rel="noopener noreferrer" target="_blank" title=format!("commit {full}")>
                <code class="sha">{short}</code>
            </a>
        }
        .into_any(),
        None => view! { <code class="sha" title=full>{short}</code> }.into_any(),
    }
}
