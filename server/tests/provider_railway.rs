//! The real Railway client against the Railway simulator, over HTTP on loopback.

use app::model::DeployState;
use chrono::{DateTime, TimeZone, Utc};
use server::providers::railway::{
    RailwayClient, RailwayClientConfig, RailwayEnvironmentRef, RailwayTokenKind,
};
use server::providers::{
    list_recent_deployments, DeploymentProvider, ProviderEnvironment, ProviderError,
};
use server::secret::Secret;
use server::simulators::railway::{RailwaySimulator, GRAPHQL_PATH};
use server::simulators::{SimDeploymentSpec, SimFault, SimOutcome};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "railway_sim_token_5678";
const PROJECT: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const SERVICE: &str = "5e4d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d1c";
const OTHER_SERVICE: &str = "11111111-2222-4333-8444-555555555555";
const PRODUCTION: &str = "0b8e3a1c-6f0d-4b1e-9d2a-2f5c7e9a1b3c";
const STAGING: &str = "7c6b5a49-3827-4165-9f0e-d1c2b3a49586";
const PR_ENV: &str = "e0e0e0e0-1111-4222-8333-444444444444";

struct Harness {
    sim: Arc<RailwaySimulator>,
    api_base: String,
}

impl Harness {
    async fn start() -> Self {
        let sim = Arc::new(RailwaySimulator::new(TOKEN));
        sim.add_project(PROJECT);
        sim.add_environment(PROJECT, PRODUCTION, "production", false);
        sim.add_environment(PROJECT, STAGING, "staging", false);
        sim.add_environment(PROJECT, PR_ENV, "api-pr-7", true);
        sim.add_service(PROJECT, SERVICE, "api");
        sim.add_service(PROJECT, OTHER_SERVICE, "worker");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new().nest("/railway", sim.clone().router());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            sim,
            api_base: format!("http://{address}/railway{GRAPHQL_PATH}"),
        }
    }

    fn config(&self, token: &str, token_kind: RailwayTokenKind) -> RailwayClientConfig {
        RailwayClientConfig {
            api_base: self.api_base.clone(),
            token: Secret::new(token),
            token_kind,
            project_id: PROJECT.into(),
            service_id: SERVICE.into(),
            environments: vec![
                RailwayEnvironmentRef {
                    environment_id: PRODUCTION.into(),
                    name: "production".into(),
                },
                RailwayEnvironmentRef {
                    environment_id: STAGING.into(),
                    name: "staging".into(),
                },
            ],
        }
    }

    fn client_with(&self, http: reqwest::Client, config: RailwayClientConfig) -> RailwayClient {
        RailwayClient::new(http, config)
    }

    fn client(&self) -> RailwayClient {
        self.client_with(
            server::providers::http::build_client(),
            self.config(TOKEN, RailwayTokenKind::Bearer),
        )
    }

    fn push(&self, environment_id: &str, minute: u32, outcome: SimOutcome) -> String {
        self.sim
            .push_deployment(SERVICE, environment_id, &spec(minute, outcome))
    }
}

fn created(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + chrono::Duration::minutes(minute.into())
}

fn spec(minute: u32, outcome: SimOutcome) -> SimDeploymentSpec {
    SimDeploymentSpec {
        commit_sha: format!("{minute:040x}"),
        commit_message: format!("change number {minute}"),
        author: "Ada Lovelace".into(),
        branch: "main".into(),
        pr_number: None,
        outcome,
        created_at: created(minute),
    }
}

#[tokio::test]
async fn pages_are_read_newest_first_up_to_the_depth() {
    let harness = Harness::start().await;
    let mut pushed = Vec::new();
    for minute in 0..30 {
        let environment = if minute % 2 == 0 { PRODUCTION } else { STAGING };
        pushed.push(harness.push(environment, minute, SimOutcome::Ready));
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
    assert_eq!(
        deployments[0].environment,
        ProviderEnvironment::Named("staging".into())
    );
    assert_eq!(
        deployments[1].environment,
        ProviderEnvironment::Named("production".into())
    );

    // Reading past the end stops without a cursor.
    let all = list_recent_deployments(&client, 500, 100).await.unwrap();
    assert_eq!(all.len(), 30);
}

#[tokio::test]
async fn live_deployments_per_environment_and_per_preview() {
    let harness = Harness::start().await;
    harness.push(PRODUCTION, 1, SimOutcome::Ready);
    let production_live = harness.push(PRODUCTION, 2, SimOutcome::Ready);
    harness.push(PRODUCTION, 3, SimOutcome::Failed);
    harness.push(PRODUCTION, 4, SimOutcome::Building);
    let staging_live = harness.push(STAGING, 5, SimOutcome::Ready);
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
            (
                production_live.as_str(),
                &ProviderEnvironment::Named("production".into())
            ),
            (
                staging_live.as_str(),
                &ProviderEnvironment::Named("staging".into())
            ),
            (
                preview_live.as_str(),
                &ProviderEnvironment::Preview {
                    branch: Some("feature/login".into()),
                    pr_number: Some(7),
                }
            ),
        ]
    );
    let production = &live[0];
    assert_eq!(production.state, DeployState::Ready);
    assert_eq!(
        production.commit.sha.as_deref(),
        Some(format!("{:040x}", 2).as_str())
    );
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
    let production_live = harness.push(PRODUCTION, 1, SimOutcome::Ready);
    let mut config = harness.config(TOKEN, RailwayTokenKind::Bearer);
    config.environments.push(RailwayEnvironmentRef {
        environment_id: "not-an-environment".into(),
        name: "qa".into(),
    });
    let client = harness.client_with(server::providers::http::build_client(), config);

    let live = client.live_deployments().await.unwrap();

    // Staging has no deployment and "qa" does not exist: only production is live.
    let ids: Vec<&str> = live.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, vec![production_live.as_str()]);
}

#[tokio::test]
async fn a_ready_push_goes_live_and_supersedes_the_old_one() {
    let harness = Harness::start().await;
    let client = harness.client();
    let old = harness.push(PRODUCTION, 1, SimOutcome::Ready);
    assert_eq!(client.live_deployments().await.unwrap()[0].id, old);

    let new = harness.push(PRODUCTION, 10, SimOutcome::Ready);

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
    let building = harness.push(STAGING, 3, SimOutcome::Building);
    let skipped = harness.push(STAGING, 4, SimOutcome::Canceled);
    let foreign = harness
        .sim
        .push_deployment(OTHER_SERVICE, STAGING, &spec(5, SimOutcome::Ready));

    let deployment = client.deployment(&building).await.unwrap();
    assert_eq!(deployment.id, building);
    assert_eq!(deployment.state, DeployState::Building);
    assert_eq!(deployment.provider_state, "BUILDING");
    assert_eq!(
        deployment.environment,
        ProviderEnvironment::Named("staging".into())
    );
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
    let id = harness.push(PRODUCTION, 1, SimOutcome::Ready);
    let http = server::providers::http::build_client;

    let project_token = harness.client_with(
        http(),
        harness.config(TOKEN, RailwayTokenKind::ProjectAccessToken),
    );
    assert_eq!(project_token.deployment(&id).await.unwrap().id, id);
    // A project token is for one environment: with one configured, lists are scoped to it.
    harness.push(STAGING, 2, SimOutcome::Ready);
    let mut one_environment = harness.config(TOKEN, RailwayTokenKind::ProjectAccessToken);
    one_environment.environments.truncate(1);
    let scoped = harness.client_with(http(), one_environment);
    let page = scoped.list_deployments(None, 10).await.unwrap();
    let ids: Vec<&str> = page.deployments.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, vec![id.as_str()]);

    for kind in [
        RailwayTokenKind::Bearer,
        RailwayTokenKind::ProjectAccessToken,
    ] {
        let wrong = harness.client_with(http(), harness.config("not-the-token", kind));
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

    // The same error with a 401 status (Railway's status for it is UNCONFIRMED).
    harness.sim.faults.push_once(SimFault::Unauthorized);
    let error = harness.client().live_deployments().await.unwrap_err();
    assert!(
        matches!(error, ProviderError::Unauthorized { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn faults_map_to_typed_errors() {
    let harness = Harness::start().await;
    harness.push(PRODUCTION, 1, SimOutcome::Ready);
    let client = harness.client();

    harness.sim.faults.push_once(SimFault::RateLimited {
        retry_after_secs: 17,
    });
    let error = client.list_deployments(None, 10).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after: Some(wait), .. } if wait == Duration::from_secs(17)),
        "{error:?}"
    );

    harness.sim.faults.push_once(SimFault::ServerError);
    let error = client.live_deployments().await.unwrap_err();
    assert!(
        matches!(
            error,
            ProviderError::Unavailable {
                status: Some(503),
                ..
            }
        ),
        "{error:?}"
    );

    harness.sim.faults.push_once(SimFault::Garbage);
    let error = client.list_deployments(None, 10).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );

    // The faults were used once each: the next call answers normally.
    assert_eq!(
        client
            .list_deployments(None, 10)
            .await
            .unwrap()
            .deployments
            .len(),
        1
    );
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

#[tokio::test]
async fn a_slow_answer_beyond_the_client_timeout_is_a_timeout() {
    let harness = Harness::start().await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let client = harness.client_with(http, harness.config(TOKEN, RailwayTokenKind::Bearer));
    harness
        .sim
        .faults
        .push_once(SimFault::Slow { millis: 1_000 });
    let error = client.deployment("anything").await.unwrap_err();
    assert_eq!(error, ProviderError::Timeout);
}

// ---- Rollback ----

use server::providers::rollback::progress_until_settled as settled;

use server::providers::rollback::{RollbackProgress, RollbackRequest};
use server::providers::ProviderDeployment;
use server::simulators::SimRollbackOutcome;

/// Two production deployments live in turn: (previous, live).
async fn railway_releases(harness: &Harness) -> (ProviderDeployment, ProviderDeployment) {
    let previous = harness.push(PRODUCTION, 1, SimOutcome::Ready);
    let live = harness.push(PRODUCTION, 2, SimOutcome::Ready);
    let client = harness.client();
    (
        client.deployment(&previous).await.unwrap(),
        client.deployment(&live).await.unwrap(),
    )
}

#[tokio::test]
async fn deployment_rollback_redeploys_the_target_which_becomes_active() {
    let harness = Harness::start().await;
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let (previous, live) = railway_releases(&harness).await;
    assert_eq!(
        previous.rollback_refusal, None,
        "a removed deployment keeps its image"
    );
    let client = harness.client();
    let production = ProviderEnvironment::Named("production".into());
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
    let (previous, live) = railway_releases(&harness).await;
    let failed = harness.push(PRODUCTION, 3, SimOutcome::Failed);
    let client = harness.client();
    let failed = client.deployment(&failed).await.unwrap();
    assert!(
        failed
            .rollback_refusal
            .as_deref()
            .is_some_and(|reason| reason.contains("canRollback")),
        "{failed:?}"
    );
    let production = ProviderEnvironment::Named("production".into());
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

#[tokio::test]
async fn a_railway_rollback_that_fails_or_never_goes_live_is_reported_so() {
    let harness = Harness::start().await;
    let (previous, live) = railway_releases(&harness).await;
    let client = harness.client();
    let production = ProviderEnvironment::Named("production".into());
    let request = RollbackRequest {
        environment: &production,
        target: &previous,
        live: &live,
        reason: "",
        place_hold: false,
    };
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::Fails, Duration::from_millis(100));
    let started = client.roll_back(request).await.unwrap();
    let progress = settled(&client, &previous, &started, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        matches!(&progress, RollbackProgress::Failed { reason } if reason.contains("FAILED")),
        "{progress:?}"
    );
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::NeverLive, Duration::from_millis(100));
    let started = client.roll_back(request).await.unwrap();
    let progress = settled(&client, &previous, &started, Duration::from_millis(600))
        .await
        .unwrap();
    assert!(
        matches!(progress, RollbackProgress::Waiting { .. }),
        "{progress:?}"
    );
    assert_eq!(
        harness.sim.live_deployment_id(SERVICE, PRODUCTION),
        Some(live.id.clone())
    );
}
