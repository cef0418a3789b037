//! The real Railway client against the Railway simulator: what is Railway's own (one service
//! across environments and PR environments, `activeDeployments`, both token kinds, its hourly
//! budget, redeploy rollback and `canRollback`). Paging depth, auth, faults and "live is not
//! the newest" are the conformance suite's (`provider_conformance.rs`).

mod common;

use common::providers::railway::{
    OTHER_SERVICE, PRODUCTION, PROJECT, PR_ENV, SERVICE, STAGING, TOKEN,
};
use common::providers::{created, named, preview, sha, spec, Kit};

use app::model::DeployState;
use server::providers::railway::{RailwayClientConfig, RailwayEnvironmentRef, RailwayTokenKind};
use server::providers::{
    list_recent_deployments, DeploymentProvider, ProviderEnvironment, ProviderError,
};
use server::secret::Secret;
use server::simulators::railway::RailwaySimulator;
use server::simulators::SimOutcome;
use std::time::Duration;

type Harness = Kit<RailwaySimulator>;

/// Pushes a deployment of the client's service to `environment_id`.
fn push(harness: &Harness, environment_id: &str, minute: u32, outcome: SimOutcome) -> String {
    harness
        .sim
        .push_deployment(SERVICE, environment_id, &spec(minute, outcome))
}

fn config(harness: &Harness, token: &str, token_kind: RailwayTokenKind) -> RailwayClientConfig {
    RailwayClientConfig {
        token: Secret::new(token),
        token_kind,
        ..harness.config()
    }
}

#[tokio::test]
async fn pages_are_read_newest_first_up_to_the_depth() {
    let harness = Harness::start().await;
    let mut pushed = Vec::new();
    for minute in 0..30 {
        let environment = if minute % 2 == 0 { PRODUCTION } else { STAGING };
        pushed.push(push(&harness, environment, minute, SimOutcome::Ready));
    }
    // Another service's deployments are not this client's.
    harness
        .sim
        .push_deployment(OTHER_SERVICE, PRODUCTION, &spec(40, SimOutcome::Ready));
    let client = harness.client();
    let before = harness.sim.requests.get();

    let deployments = list_recent_deployments(&client, 25, 10).await.unwrap();

    assert_eq!(
        harness.sim.requests.get() - before,
        3,
        "pages of 10, 10 and 5"
    );
    assert_eq!(deployments.len(), 25);
    let ids: Vec<&str> = deployments.iter().map(|d| d.id.as_str()).collect();
    let expected: Vec<&str> = pushed.iter().rev().take(25).map(String::as_str).collect();
    assert_eq!(ids, expected);
    assert!(deployments
        .windows(2)
        .all(|pair| pair[0].created_at > pair[1].created_at));
    // Each environment's newest is live, the rest superseded.
    assert_eq!(deployments[0].state, DeployState::Ready);
    assert_eq!(deployments[1].state, DeployState::Ready);
    assert!(deployments[2..]
        .iter()
        .all(|d| d.state == DeployState::Superseded && d.provider_state == "REMOVED"));
    assert_eq!(deployments[0].environment, named("staging"));
    assert_eq!(deployments[1].environment, named("production"));

    // Reading past the end stops without a cursor.
    let all = list_recent_deployments(&client, 500, 100).await.unwrap();
    assert_eq!(all.len(), 30);
}

#[tokio::test]
async fn live_deployments_per_environment_and_per_preview() {
    let harness = Harness::start().await;
    push(&harness, PRODUCTION, 1, SimOutcome::Ready);
    let production_live = push(&harness, PRODUCTION, 2, SimOutcome::Ready);
    push(&harness, PRODUCTION, 3, SimOutcome::Failed);
    push(&harness, PRODUCTION, 4, SimOutcome::Building);
    let staging_live = push(&harness, STAGING, 5, SimOutcome::Ready);
    let mut preview_spec = spec(6, SimOutcome::Ready);
    preview_spec.branch = "feature/login".into();
    let preview_live = harness.sim.push_deployment(SERVICE, PR_ENV, &preview_spec);

    let live = harness.client().live_deployments().await.unwrap();

    let summary: Vec<(&str, &ProviderEnvironment)> = live
        .iter()
        .map(|d| (d.id.as_str(), &d.environment))
        .collect();
    assert_eq!(
        summary,
        vec![
            (production_live.as_str(), &named("production")),
            (staging_live.as_str(), &named("staging")),
            (preview_live.as_str(), &preview("feature/login", Some(7))),
        ]
    );
    let production = &live[0];
    assert_eq!(production.state, DeployState::Ready);
    assert_eq!(production.commit.sha.as_deref(), Some(sha(2).as_str()));
    assert_eq!(
        production.commit.message.as_deref(),
        Some("change number 2")
    );
    assert_eq!(production.commit.author.as_deref(), Some("Ada Lovelace"));
    assert_eq!(production.creator.as_deref(), Some("Ada Lovelace"));
    assert_eq!(production.created_at, Some(created(2)));
    assert_eq!(production.finished_at, Some(created(4)));
    assert_eq!(
        production.url.as_deref(),
        Some("https://api-production.up.railway.app")
    );
    assert_eq!(
        production.dashboard_url,
        Some(format!(
            "https://railway.com/project/{PROJECT}/service/{SERVICE}?environmentId={PRODUCTION}&id={production_live}"
        ))
    );
    assert_eq!(live[2].pr_number, Some(7));
}

#[tokio::test]
async fn an_environment_without_the_service_does_not_hide_the_others() {
    let harness = Harness::start().await;
    let production_live = push(&harness, PRODUCTION, 1, SimOutcome::Ready);
    let mut config = config(&harness, TOKEN, RailwayTokenKind::Bearer);
    config.environments.push(RailwayEnvironmentRef {
        environment_id: "not-an-environment".into(),
        name: "qa".into(),
    });
    let client = harness.client_for(config);

    let live = client.live_deployments().await.unwrap();

    // Staging has no deployment and "qa" does not exist: only production is live.
    let ids: Vec<&str> = live.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, vec![production_live.as_str()]);
}

#[tokio::test]
async fn a_ready_push_goes_live_and_supersedes_the_old_one() {
    let harness = Harness::start().await;
    let client = harness.client();
    let old = push(&harness, PRODUCTION, 1, SimOutcome::Ready);
    assert_eq!(client.live_deployments().await.unwrap()[0].id, old);

    let new = push(&harness, PRODUCTION, 10, SimOutcome::Ready);

    let live = client.live_deployments().await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, new);
    assert_eq!(live[0].state, DeployState::Ready);
    let previous = client.deployment(&old).await.unwrap();
    assert_eq!(previous.state, DeployState::Superseded);
    assert_eq!(previous.provider_state, "REMOVED");
    assert_eq!(previous.finished_at, None);
    assert_eq!(
        previous.url.as_deref(),
        Some("https://api-production.up.railway.app"),
        "a removed deployment keeps the static URL"
    );
}

#[tokio::test]
async fn one_deployment_by_id_and_unknown_ids() {
    let harness = Harness::start().await;
    let client = harness.client();
    let building = push(&harness, STAGING, 3, SimOutcome::Building);
    let skipped = push(&harness, STAGING, 4, SimOutcome::Canceled);
    let foreign = harness
        .sim
        .push_deployment(OTHER_SERVICE, STAGING, &spec(5, SimOutcome::Ready));

    let deployment = client.deployment(&building).await.unwrap();
    assert_eq!(deployment.id, building);
    assert_eq!(deployment.state, DeployState::Building);
    assert_eq!(deployment.provider_state, "BUILDING");
    assert_eq!(deployment.environment, named("staging"));
    assert_eq!(deployment.finished_at, None);
    // No `url` while building; `staticUrl` (the service's domain) stands in.
    assert_eq!(
        deployment.url.as_deref(),
        Some("https://api-staging.up.railway.app")
    );
    assert_eq!(deployment.commit.branch.as_deref(), Some("main"));
    assert_eq!(
        client.deployment(&skipped).await.unwrap().state,
        DeployState::Canceled
    );

    let missing = client
        .deployment("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert!(
        matches!(missing, ProviderError::NotFound { .. }),
        "{missing:?}"
    );
    let other = client.deployment(&foreign).await.unwrap_err();
    assert!(matches!(other, ProviderError::NotFound { .. }), "{other:?}");
}

#[tokio::test]
async fn both_token_kinds_work_and_a_wrong_token_is_unauthorized() {
    let harness = Harness::start().await;
    let id = push(&harness, PRODUCTION, 1, SimOutcome::Ready);

    let project_token = harness.client_for(config(
        &harness,
        TOKEN,
        RailwayTokenKind::ProjectAccessToken,
    ));
    assert_eq!(project_token.deployment(&id).await.unwrap().id, id);
    // A project token is for one environment: with one configured, lists are scoped to it.
    push(&harness, STAGING, 2, SimOutcome::Ready);
    let mut one_environment = config(&harness, TOKEN, RailwayTokenKind::ProjectAccessToken);
    one_environment.environments.truncate(1);
    let scoped = harness.client_for(one_environment);
    let page = scoped.list_deployments(None, 10).await.unwrap();
    let ids: Vec<&str> = page.deployments.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, vec![id.as_str()]);

    for kind in [
        RailwayTokenKind::Bearer,
        RailwayTokenKind::ProjectAccessToken,
    ] {
        let wrong = harness.client_for(config(&harness, "not-the-token", kind));
        // The simulator answers a wrong token with HTTP 200 and a GraphQL error.
        let error = wrong.list_deployments(None, 10).await.unwrap_err();
        assert_eq!(
            error,
            ProviderError::Unauthorized {
                message: "Not Authorized".into()
            },
            "{kind:?}"
        );
        assert!(!format!("{error:?} {error}").contains("not-the-token"));
    }
}

#[tokio::test]
async fn the_hourly_budget_runs_out_with_retry_after() {
    let harness = Harness::start().await;
    harness.sim.set_requests_per_hour(1);
    let client = harness.client();
    client.list_deployments(None, 10).await.unwrap();
    let error = client.list_deployments(None, 10).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after: Some(wait), .. } if wait <= Duration::from_secs(3600)),
        "{error:?}"
    );
}

// ---- Rollback ----

use server::providers::rollback::progress_until_settled as settled;

use server::providers::rollback::{RollbackProgress, RollbackRequest};
use server::simulators::SimRollbackOutcome;

#[tokio::test]
async fn deployment_rollback_redeploys_the_target_which_becomes_active() {
    let harness = Harness::start().await;
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let [previous, live] = harness.live_in_turn().await;
    assert_eq!(
        previous.rollback_refusal, None,
        "a removed deployment keeps its image"
    );
    let client = harness.client();
    let production = named("production");
    let started = client
        .roll_back(RollbackRequest {
            environment: &production,
            target: &previous,
            live: &live,
            reason: "",
            place_hold: false,
        })
        .await
        .unwrap();
    let created = started
        .new_deployment_id
        .clone()
        .expect("the simulator makes a new one");
    assert_eq!(harness.sim.rollbacks.calls.get(), 1);
    let progress = settled(&client, &previous, &started, Duration::from_secs(5))
        .await
        .unwrap();
    let RollbackProgress::Live(now) = progress else {
        panic!("expected live, got {progress:?}");
    };
    assert_eq!(now.id, created);
    assert_eq!(now.commit.sha, previous.commit.sha);
    assert_eq!(
        harness.sim.live_deployment_id(SERVICE, PRODUCTION),
        Some(created)
    );
}

#[tokio::test]
async fn railway_refusals_and_the_can_rollback_flag_carry_the_reason() {
    let harness = Harness::start().await;
    let [previous, live] = harness.live_in_turn().await;
    let failed = push(&harness, PRODUCTION, 3, SimOutcome::Failed);
    let client = harness.client();
    let failed = client.deployment(&failed).await.unwrap();
    assert!(
        failed
            .rollback_refusal
            .as_deref()
            .is_some_and(|reason| reason.contains("canRollback")),
        "{failed:?}"
    );
    let production = named("production");
    let error = client
        .roll_back(RollbackRequest {
            environment: &production,
            target: &failed,
            live: &live,
            reason: "",
            place_hold: false,
        })
        .await
        .unwrap_err();
    assert!(
        format!("{error}").contains("cannot be rolled back"),
        "{error}"
    );

    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::Refused, Duration::from_millis(10));
    let error = client
        .roll_back(RollbackRequest {
            environment: &production,
            target: &previous,
            live: &live,
            reason: "",
            place_hold: false,
        })
        .await
        .unwrap_err();
    assert!(
        format!("{error}").contains("already in progress"),
        "{error}"
    );
}
