//! Seeding a scenario's story: its deployments into the simulators (through the same routes
//! as `/_control/deploy`) and a week of health-check history into the store.

use super::control::resolve;
use super::scenarios::{History, Story};
use super::simulators::Simulators;
use super::DemoScenario;
use crate::simulators::health::SimHealthEndpoint;
use crate::simulators::SimDeploymentSpec;
use crate::store::{HealthSample, RetentionPolicy, Store, StoreError};
use app::model::HealthState;
use chrono::{DateTime, Duration as ChronoDuration, Utc};

/// Creates the scenario's resources, pushes its deployments and sets its health endpoints.
pub(super) fn seed_simulators(sims: &Simulators, scenario: DemoScenario, now: DateTime<Utc>) {
    let story = scenario.story();
    (story.resources)(sims);
    for history in story.histories {
        let found = resolve(
            story.routes,
            history.service,
            history.environment,
            Some(history.branch),
        );
        let Some((sink, branch)) = found else {
            // The tables are checked by the tests below; a demo without a row is still a demo.
            tracing::error!(
                service = history.service,
                environment = history.environment,
                "a seeded history has no deploy route"
            );
            continue;
        };
        for spec in specs(history, &branch, now) {
            sims.push(sink, &spec);
        }
    }
    for (endpoint, _) in story.http_health {
        sims.health.set_endpoint(endpoint, SimHealthEndpoint::ok());
    }
    if let Some(endpoint) = story.slowing_down {
        sims.health.set_endpoint(
            endpoint,
            SimHealthEndpoint {
                status: 200,
                body: serde_json::json!({"status": "degraded", "checks": {"database": "slow queries"}}),
                delay_ms: 0,
                padding_bytes: 0,
            },
        );
    }
}

/// The deployments of one history, oldest first.
fn specs(history: &History, branch: &str, now: DateTime<Utc>) -> Vec<SimDeploymentSpec> {
    history
        .steps
        .iter()
        .map(
            |&(minutes_ago, sha, message, author, outcome)| SimDeploymentSpec {
                commit_sha: sha.to_string(),
                commit_message: message.to_string(),
                author: author.to_string(),
                branch: branch.to_string(),
                pr_number: history.pr_number,
                outcome,
                created_at: now - ChronoDuration::minutes(minutes_ago),
            },
        )
        .collect()
}

/// A week of simulated health-check history for the scenario's services, so uptime figures
/// and latency sparklines have something to show: mostly up, with the story's outage and
/// (basic) the api's latency climbing over the last hours (the degradation on the page).
pub async fn seed_health_history(
    store: &dyn Store,
    now: DateTime<Utc>,
    scenario: DemoScenario,
) -> Result<(), StoreError> {
    let story = scenario.story();
    for (endpoint, base_latency) in story.http_health.iter().chain(story.provider_health) {
        let Some((service, environment)) = endpoint.split_once('/') else {
            continue;
        };
        let samples = health_samples(story, service, environment, *base_latency, now);
        store.record_health_samples(&samples).await?;
    }
    store
        .roll_up_and_prune(now, &RetentionPolicy::default())
        .await?;
    Ok(())
}

/// One endpoint's samples, every 15 minutes over the week before `now`.
fn health_samples(
    story: &Story,
    service: &str,
    environment: &str,
    base_latency: u32,
    now: DateTime<Utc>,
) -> Vec<HealthSample> {
    let endpoint = format!("{service}/{environment}");
    let (outage_endpoint, outage_from, outage_to) = story.outage;
    let step = ChronoDuration::minutes(15);
    let samples_per_endpoint: usize = 7 * 24 * 4;
    (0..samples_per_endpoint)
        .map(|index| {
            let at = now - step * (samples_per_endpoint - index) as i32;
            let hours_ago = (now - at).num_hours();
            // A deterministic wobble so the sparkline is not flat.
            let wobble = ((index * 37) % 23) as u32 * base_latency / 40;
            let mut latency = base_latency + wobble;
            let mut state = HealthState::Up;
            if endpoint == outage_endpoint && (outage_from..=outage_to).contains(&hours_ago) {
                state = HealthState::Down;
            }
            if story.slowing_down == Some(endpoint.as_str()) && hours_ago < 6 {
                latency += (6 - hours_ago as u32) * 90;
                state = HealthState::Degraded;
            }
            HealthSample {
                service: service.to_string(),
                environment: environment.to_string(),
                at,
                state,
                latency_ms: (state != HealthState::Down).then_some(latency),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_seeded_history_has_a_deploy_route() {
        for scenario in [DemoScenario::Basic, DemoScenario::AllProviders] {
            let story = scenario.story();
            for history in story.histories {
                let (_, branch) = resolve(
                    story.routes,
                    history.service,
                    history.environment,
                    Some(history.branch),
                )
                .unwrap_or_else(|| panic!("{scenario}: {}", history.service));
                assert_eq!(branch, history.branch, "{scenario}: {}", history.service);
            }
        }
    }

    #[test]
    fn the_health_history_has_the_story_outage_and_slowdown() {
        let now = Utc::now();
        let basic = DemoScenario::Basic.story();
        let api = health_samples(basic, "api", "production", 180, now);
        assert_eq!(api.len(), 7 * 24 * 4);
        let down: Vec<i64> = api
            .iter()
            .filter(|sample| sample.state == HealthState::Down)
            .map(|sample| (now - sample.at).num_hours())
            .collect();
        assert!(!down.is_empty() && down.iter().all(|hours| (47..=48).contains(hours)));
        assert!(down.len() < api.len());
        let newest = api.last().map(|sample| sample.state);
        assert_eq!(newest, Some(HealthState::Degraded));
        let web = health_samples(basic, "web", "production", 120, now);
        assert!(web.iter().all(|sample| sample.state == HealthState::Up));
        let all = DemoScenario::AllProviders.story();
        let webhooks = health_samples(all, "webhooks", "production", 120, now);
        assert!(webhooks
            .iter()
            .any(|sample| sample.state == HealthState::Down));
        let staging = health_samples(all, "webhooks", "staging", 130, now);
        assert!(staging.iter().all(|sample| sample.state == HealthState::Up));
    }
}
