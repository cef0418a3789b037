//! One task per provider resource: polls on its interval (jitter, backoff, `Retry-After`,
//! backfill on the first start) and stores what changed.

use super::snapshot::belongs_to;
use super::{super_lock, Shared, Watch};
use crate::config::{Config, ServiceConfig};
use crate::providers::{
    list_recent_deployments, ProviderDeployment, ProviderEnvironment, ProviderError,
};
use crate::store::{DeploymentRecord, UpsertOutcome};
use app::model::EnvironmentKind;
use chrono::Utc;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

/// How many recent deployments each poll reads (the newest page; the store keeps history).
const RECENT_PER_POLL: u32 = 20;
/// The longest a failing resource waits between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// Where a polled deployment belongs in Lookout: a configured environment (by provider
/// environment or branch) or a preview; `None` for environments nobody configured.
fn place(
    config: &Config,
    service: &ServiceConfig,
    only: Option<&str>,
    deployment: &ProviderDeployment,
) -> Option<(String, EnvironmentKind)> {
    let configured = service
        .environments
        .iter()
        .filter(|environment| only.is_none_or(|only| only == environment.environment))
        .find(|environment| belongs_to(environment, &deployment.environment));
    if let Some(environment) = configured {
        let kind = config
            .environments
            .iter()
            .find(|known| known.name == environment.environment)
            .map_or(EnvironmentKind::Development, |known| known.kind);
        return Some((environment.environment.clone(), kind));
    }
    match &deployment.environment {
        ProviderEnvironment::Preview {
            branch: Some(branch),
            ..
        } if service.previews => Some((format!("preview/{branch}"), EnvironmentKind::Preview)),
        _ => None,
    }
}

/// Stores what a poll found; returns how many deployments were new or changed state, or
/// `None` when the store failed (the next poll writes them again).
async fn persist(
    shared: &Shared,
    watch: &Watch,
    deployments: &[&ProviderDeployment],
) -> Option<u64> {
    let Some(service) = shared
        .config
        .services
        .iter()
        .find(|service| service.name == watch.service)
    else {
        return Some(0);
    };
    let observed_at = Utc::now();
    let mut changed = 0;
    let mut seen = std::collections::HashSet::new();
    for deployment in deployments {
        if !seen.insert(deployment.id.as_str()) {
            continue;
        }
        let Some((environment, kind)) = place(
            &shared.config,
            service,
            watch.environment.as_deref(),
            deployment,
        ) else {
            continue;
        };
        let record = DeploymentRecord::from_provider(
            watch.client.kind(),
            &service.name,
            &environment,
            kind,
            deployment,
            observed_at,
        );
        match shared.store.upsert_deployment(&record).await {
            Ok(UpsertOutcome::Unchanged) => {}
            Ok(_) => changed += 1,
            Err(error) => {
                tracing::warn!(%error, service = %service.name, "storing a deployment failed");
                return None;
            }
        }
    }
    Some(changed)
}

/// For errors the user must fix, where to look (the token's variable name, never its value).
fn what_to_fix(error: &ProviderError, token_env: &str) -> String {
    match error {
        ProviderError::Unauthorized { .. } | ProviderError::Forbidden { .. } => {
            format!(": check the token in {token_env}")
        }
        ProviderError::NotFound { .. } => ": check the ids in the config".to_string(),
        _ => String::new(),
    }
}

pub(super) fn with_jitter(interval: Duration) -> Duration {
    let factor = rand::thread_rng().gen_range(0.9..1.1);
    interval.mul_f64(factor)
}

/// Waits after a failure: doubling from the poll interval, capped, and never less than what
/// the provider asked for.
fn backoff(interval: Duration, failures: u32, error: &ProviderError) -> Duration {
    let doubled = interval.saturating_mul(1 << failures.saturating_sub(1).min(6));
    let base = if error.wants_backoff() {
        doubled.min(MAX_BACKOFF)
    } else {
        interval
    };
    with_jitter(base).max(error.retry_after().unwrap_or_default())
}

pub(super) async fn poll_resource(shared: Arc<Shared>, index: usize, watch: Watch) {
    let interval = shared.config.monitor.poll_interval;
    let depth = shared.config.monitor.history_depth.min(RECENT_PER_POLL);
    // Spread the first polls so a restart does not burst every provider at once.
    let startup_spread = Duration::from_millis(rand::thread_rng().gen_range(0..250));
    tokio::time::sleep(startup_spread).await;
    let mut failures: u32 = 0;
    // On the first start for a service, read its history as deep as configured (backfill);
    // afterwards only the newest page.
    let mut backfill = match shared
        .store
        .latest_deployment_time(watch.client.kind(), &watch.service)
        .await
    {
        Ok(None) => shared.config.monitor.history_depth,
        Ok(Some(_)) => 0,
        Err(error) => {
            tracing::warn!(%error, service = %watch.service, "cannot read the stored history");
            0
        }
    };
    // What the last fully stored poll found (not written again).
    let mut last_stored: Vec<ProviderDeployment> = Vec::new();
    loop {
        let attempt_at = Utc::now();
        let read = depth.max(backfill);
        let permit = match shared.polls_in_flight.get(&watch.client.kind()) {
            Some(limit) => limit.acquire().await.ok(),
            None => None,
        };
        let outcome = async {
            let live = watch.client.live_deployments().await?;
            let recent = list_recent_deployments(watch.client.as_ref(), read, depth).await?;
            Ok::<_, ProviderError>((live, recent))
        }
        .await;
        drop(permit);
        if let Ok((live, recent)) = &outcome {
            backfill = 0;
            // Only what differs from the last poll that was stored in full goes to the store:
            // most polls find nothing new.
            let fresh: Vec<&ProviderDeployment> = live
                .iter()
                .chain(recent.iter())
                .filter(|deployment| !last_stored.contains(deployment))
                .collect();
            if let Some(changed) = persist(&shared, &watch, &fresh).await {
                last_stored = live.iter().chain(recent.iter()).cloned().collect();
                if changed > 0 {
                    shared
                        .deployments_changed
                        .send_modify(|count| *count += changed);
                }
            }
        }
        let delay = match &outcome {
            Ok(_) => {
                failures = 0;
                with_jitter(interval)
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                backoff(interval, failures, error)
            }
        };
        {
            let mut state = super_lock(&shared.state);
            let Some(result) = state.watches.get_mut(index) else {
                return;
            };
            result.last_attempt_at = Some(attempt_at);
            match outcome {
                Ok((live, recent)) => {
                    if result.problem.is_some() {
                        tracing::info!(service = %watch.service, provider = %watch.client.kind(), "provider answers again");
                    }
                    result.live = live;
                    result.recent = recent;
                    result.last_success_at = Some(attempt_at);
                    result.problem = None;
                }
                Err(error) => {
                    let retry_at =
                        attempt_at + chrono::Duration::from_std(delay).unwrap_or_default();
                    let problem = format!(
                        "{}{}; next try {}",
                        error.summary(),
                        what_to_fix(&error, &watch.token_env),
                        retry_at.format("%H:%M:%S UTC")
                    );
                    if failures == 1 {
                        tracing::warn!(service = %watch.service, provider = %watch.client.kind(), error = %error, "provider poll failed");
                    }
                    result.problem = Some(problem);
                }
            }
        }
        shared.changed.notify_one();
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shared.poll_now.notified() => {}
        }
    }
}
