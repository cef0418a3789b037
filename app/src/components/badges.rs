//! Status badges: every colour comes with a text label and an icon shape (colour-blind safe).

use crate::model::{DeployState, HealthState, RollupStatus};
use leptos::prelude::*;

fn deploy_icon(state: DeployState) -> &'static str {
    match state {
        DeployState::Ready => "●",
        DeployState::Queued | DeployState::Building | DeployState::Deploying => "↻",
        DeployState::Failed => "✖",
        DeployState::RolledBack => "↶",
        DeployState::Canceled | DeployState::Superseded => "○",
        DeployState::Unknown => "?",
    }
}

fn health_icon(state: HealthState) -> &'static str {
    match state {
        HealthState::Up => "●",
        HealthState::Degraded => "▲",
        HealthState::Down => "✖",
        HealthState::Unknown => "?",
        HealthState::Unchecked => "–",
    }
}

#[component]
pub fn DeployBadge(state: DeployState) -> impl IntoView {
    view! {
        <span class=format!("badge {}", state.css_class()) title="deployment state">
            <span class="icon" aria-hidden="true">{deploy_icon(state)}</span>
            {state.label()}
        </span>
    }
}

#[component]
pub fn HealthBadge(state: HealthState, #[prop(into)] detail: Option<String>) -> impl IntoView {
    let title = match detail {
        Some(detail) => format!("health: {detail}"),
        None => "health".to_string(),
    };
    view! {
        <span class=format!("badge {}", state.css_class()) title=title>
            <span class="icon" aria-hidden="true">{health_icon(state)}</span>
            {state.label()}
        </span>
    }
}

#[component]
pub fn RollupBadge(status: RollupStatus) -> impl IntoView {
    view! {
        <span class=format!("badge rollup {}", status.css_class())>
            <span class="icon" aria-hidden="true">{status.icon()}</span>
            {status.label()}
        </span>
    }
}
