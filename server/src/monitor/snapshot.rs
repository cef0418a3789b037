//! Folding what the monitor knows into the snapshot's environment cards (pure), with each
//! row's rollback offer.

use super::{MonitorState, WatchResult};
use crate::config::{Config, ServiceConfig, ServiceEnvironment};
use crate::providers::{ProviderDeployment, ProviderEnvironment};
use crate::rollback::eligibility::{eligibility, Candidate};
use app::model::DeployState;
use app::model::{
    EnvironmentKind, EnvironmentStatus, HealthState, HealthView, PollView, ProviderKind,
    ServiceStatus,
};
use app::rollback::{RollbackEligibility, RollbackOffer};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

pub(super) fn was_live_once(state: DeployState) -> bool {
    matches!(
        state,
        DeployState::Ready | DeployState::Superseded | DeployState::RolledBack
    )
}

/// "Roll back to previous" for a row: the newest deployment older than the live one that can
/// be a target, or why there is none.
fn rollback_offer(
    provider: ProviderKind,
    environment_kind: EnvironmentKind,
    recent: &[&ProviderDeployment],
    live: Option<&ProviderDeployment>,
) -> RollbackOffer {
    let Some(live) = live else {
        return RollbackOffer::Unavailable {
            reason: "nothing is live to roll back from".into(),
        };
    };
    let mut newer_successful = 0u32;
    let mut first_refusal: Option<String> = None;
    let mut past_live = false;
    for deployment in recent {
        if deployment.id == live.id {
            past_live = true;
            newer_successful += 1;
            continue;
        }
        let older = match (deployment.created_at, live.created_at) {
            (Some(created), Some(live_created)) => created < live_created,
            _ => past_live,
        };
        if older {
            match eligibility(&Candidate {
                provider,
                state: deployment.state,
                environment_kind,
                is_live: false,
                newer_successful,
                provider_refusal: deployment.rollback_refusal.as_deref(),
            }) {
                RollbackEligibility::Eligible => {
                    return RollbackOffer::Previous {
                        target: Box::new(deployment.to_view()),
                    }
                }
                RollbackEligibility::Ineligible(reason) if was_live_once(deployment.state) => {
                    first_refusal.get_or_insert(reason);
                }
                _ => {}
            }
        }
        if was_live_once(deployment.state) {
            newer_successful += 1;
        }
    }
    RollbackOffer::Unavailable {
        reason: first_refusal.unwrap_or_else(|| {
            "no earlier successful deployment among the recent ones".to_string()
        }),
    }
}

/// Folds what the monitor knows into environment cards: configured environments in order
/// (production, staging, development), then one preview environment per branch.
pub fn build_snapshot(
    config: &Config,
    state: &MonitorState,
    now: DateTime<Utc>,
) -> Vec<EnvironmentStatus> {
    let stale_after =
        chrono::Duration::from_std(config.monitor.poll_interval * 2 + Duration::from_secs(10))
            .unwrap_or_else(|_| chrono::Duration::minutes(2));
    let mut environments: Vec<EnvironmentStatus> = config
        .environments
        .iter()
        .map(|environment| EnvironmentStatus {
            name: environment.name.clone(),
            kind: environment.kind,
            branch: None,
            pr_number: None,
            services: config
                .services
                .iter()
                .filter_map(|service| {
                    configured_row(
                        service,
                        &environment.name,
                        environment.kind,
                        state,
                        now,
                        stale_after,
                    )
                })
                .collect(),
            window: None,
        })
        .collect();
    environments.sort_by_key(|environment| environment.kind);
    environments.extend(preview_environments(config, state, now, stale_after));
    environments
}

fn poll_view(
    result: Option<&WatchResult>,
    now: DateTime<Utc>,
    stale_after: chrono::Duration,
) -> PollView {
    let Some(result) = result else {
        return PollView {
            last_success_at: None,
            last_attempt_at: None,
            stale: false,
            problem: None,
        };
    };
    let too_old = result
        .last_success_at
        .is_some_and(|success| now - success > stale_after);
    let problem = result.problem.clone().or_else(|| {
        if result.last_attempt_at.is_none() {
            Some("waiting for the first poll".to_string())
        } else {
            too_old.then(|| "no successful poll recently".to_string())
        }
    });
    PollView {
        last_success_at: result.last_success_at,
        last_attempt_at: result.last_attempt_at,
        stale: result.problem.is_some() || too_old,
        problem,
    }
}

fn configured_row(
    service: &ServiceConfig,
    environment: &str,
    environment_kind: EnvironmentKind,
    state: &MonitorState,
    now: DateTime<Utc>,
    stale_after: chrono::Duration,
) -> Option<ServiceStatus> {
    let configured = service
        .environments
        .iter()
        .find(|candidate| candidate.environment == environment)?;
    let result = state.watch_result(&service.name, environment);
    let belongs = |deployment: &ProviderDeployment| belongs_to(configured, &deployment.environment);
    let live = result.and_then(|result| result.live.iter().find(|deployment| belongs(deployment)));
    let pending = result.and_then(|result| pending_deployment(&result.recent, belongs, live));
    let health = match state
        .health
        .get(&(service.name.clone(), environment.to_string()))
    {
        Some(view) => view.clone(),
        None if configured.health.is_some() => HealthView::unknown("first health check pending"),
        None => HealthView {
            state: HealthState::Unchecked,
            checked_at: None,
            latency_ms: None,
            detail: Some("no health check configured".into()),
        },
    };
    let live_view = live.map(|live| service.link_commit(live.to_view()));
    let rollback_offer = state.can_roll_back.contains(&service.name).then(|| {
        let recent: Vec<&ProviderDeployment> = result
            .map(|result| result.recent.iter().filter(|d| belongs(d)).collect())
            .unwrap_or_default();
        rollback_offer(service.provider_kind(), environment_kind, &recent, live)
    });
    let last_rollback = state
        .rollbacks
        .get(&(service.name.clone(), environment.to_string()))
        .cloned();
    let uptime = state
        .uptime
        .get(&(service.name.clone(), environment.to_string()))
        .cloned();
    Some(ServiceStatus {
        last_rollback,
        rollback_offer,
        service: service.name.clone(),
        provider: service.provider_kind(),
        live_url: configured
            .url
            .clone()
            .or_else(|| live_view.as_ref().and_then(|live| live.url.clone())),
        live: live_view,
        pending: pending.map(|pending| service.link_commit(pending.to_view())),
        health,
        poll: poll_view(result, now, stale_after),
        uptime: uptime.as_ref().map(|(uptime, _)| uptime.clone()),
        latency_ms: uptime.map(|(_, latency)| latency).unwrap_or_default(),
    })
}

/// Whether a deployment of the provider belongs to a configured environment: by the provider's
/// environment name, or by branch when the environment claims one (Netlify `staging` branch).
pub(super) fn belongs_to(
    configured: &ServiceEnvironment,
    environment: &ProviderEnvironment,
) -> bool {
    match environment {
        ProviderEnvironment::Named(name) => *name == configured.provider_environment,
        ProviderEnvironment::Preview {
            branch: Some(branch),
            ..
        } => configured.branch.as_deref() == Some(branch.as_str()),
        ProviderEnvironment::Preview { branch: None, .. } => false,
    }
}

/// The newest deployment of an environment that is newer than the live one and either still
/// in progress or failed: what the row warns about.
fn pending_deployment<'a>(
    recent: &'a [ProviderDeployment],
    belongs: impl Fn(&ProviderDeployment) -> bool,
    live: Option<&ProviderDeployment>,
) -> Option<&'a ProviderDeployment> {
    let newest = recent.iter().find(|deployment| belongs(deployment))?;
    let is_live = live.is_some_and(|live| live.id == newest.id);
    let newer = match (newest.created_at, live.and_then(|live| live.created_at)) {
        (Some(created), Some(live_created)) => created > live_created,
        _ => true,
    };
    let noteworthy =
        newest.state.is_in_progress() || newest.state == app::model::DeployState::Failed;
    (!is_live && newer && noteworthy).then_some(newest)
}

fn preview_environments(
    config: &Config,
    state: &MonitorState,
    now: DateTime<Utc>,
    stale_after: chrono::Duration,
) -> Vec<EnvironmentStatus> {
    // branch → (pr number, rows)
    let mut previews: BTreeMap<String, (Option<u32>, Vec<ServiceStatus>)> = BTreeMap::new();
    for service in config.services.iter().filter(|service| service.previews) {
        let Some(result) = state
            .watches
            .iter()
            .find(|result| result.service == service.name)
        else {
            continue;
        };
        let mut branches: BTreeMap<String, Option<u32>> = BTreeMap::new();
        for deployment in result.live.iter().chain(result.recent.iter()) {
            if let ProviderEnvironment::Preview {
                branch: Some(branch),
                pr_number,
            } = &deployment.environment
            {
                let entry = branches.entry(branch.clone()).or_insert(*pr_number);
                if entry.is_none() {
                    *entry = *pr_number;
                }
            }
        }
        for (branch, pr_number) in branches {
            // A branch that a configured environment claims (Netlify `staging`) is not a preview.
            if service.environment_for_branch(&branch).is_some() {
                continue;
            }
            let of_branch = |deployment: &ProviderDeployment| matches!(&deployment.environment, ProviderEnvironment::Preview { branch: Some(b), .. } if *b == branch);
            let live = result.live.iter().find(|deployment| of_branch(deployment));
            let pending = pending_deployment(&result.recent, of_branch, live);
            if live.is_none() && pending.is_none() {
                continue;
            }
            let live_view = live.map(|live| service.link_commit(live.to_view()));
            let row = ServiceStatus {
                last_rollback: None,
                rollback_offer: None,
                service: service.name.clone(),
                provider: service.provider_kind(),
                live_url: live_view.as_ref().and_then(|live| live.url.clone()),
                live: live_view,
                pending: pending.map(|pending| service.link_commit(pending.to_view())),
                health: HealthView {
                    state: HealthState::Unchecked,
                    checked_at: None,
                    latency_ms: None,
                    detail: Some("previews are not health-checked".into()),
                },
                poll: poll_view(Some(result), now, stale_after),
                uptime: None,
                latency_ms: Vec::new(),
            };
            let entry = previews.entry(branch).or_insert((pr_number, Vec::new()));
            if entry.0.is_none() {
                entry.0 = pr_number;
            }
            entry.1.push(row);
        }
    }
    previews
        .into_iter()
        .map(|(branch, (pr_number, services))| EnvironmentStatus {
            name: format!("preview/{branch}"),
            kind: EnvironmentKind::Preview,
            branch: Some(branch),
            pr_number,
            services,
            window: None,
        })
        .collect()
}
