//! The real DigitalOcean App Platform client against the DigitalOcean simulator, over HTTP on
//! loopback.

use app::model::{DeployState, HealthState};
use chrono::{DateTime, TimeZone, Utc};
use server::providers::digitalocean::{DigitalOceanClient, DigitalOceanClientConfig};
use server::providers::{
    list_recent_deployments, DeploymentProvider, PageCursor, ProviderEnvironment, ProviderError,
};
use server::secret::Secret;
use server::simulators::digitalocean::{DigitalOceanSimulator, SimComponentState};
use server::simulators::{SimDeploymentSpec, SimFault, SimOutcome};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "dop_v1_sim_token_1234";
const APP: &str = "6f9c1e2a-0000-4000-8000-000000000001";
const LIVE_URL: &str = "https://api-sim.ondigitalocean.app";

struct Harness {
    sim: Arc<DigitalOceanSimulator>,
    api_base: String,
}

impl Harness {
    async fn start() -> Self {
        let sim = Arc::new(DigitalOceanSimulator::new(TOKEN));
        sim.add_app(APP, "api");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new().nest("/digitalocean", sim.clone().router());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            sim,
            api_base: format!("http://{address}/digitalocean"),
        }
    }

    fn client_with(&self, http: reqwest::Client, token: &str, app_id: &str) -> DigitalOceanClient {
        DigitalOceanClient::new(
            http,
            DigitalOceanClientConfig {
                api_base: self.api_base.clone(),
                token: Secret::new(token),
                app_id: app_id.into(),
                environment: "production".into(),
            },
        )
    }

    fn client(&self) -> DigitalOceanClient {
        self.client_with(server::providers::http::build_client(), TOKEN, APP)
    }

    fn push(&self, minute: u32, outcome: SimOutcome) -> String {
        self.sim.push_deployment(APP, &spec(minute, outcome))
    }
}

fn created(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, minute, 0).unwrap()
}

fn spec(minute: u32, outcome: SimOutcome) -> SimDeploymentSpec {
    SimDeploymentSpec {
        commit_sha: format!("{minute:040x}"),
        commit_message: format!("change number {minute}"),
        author: "ada".into(),
        branch: "main".into(),
        pr_number: None,
        outcome,
        created_at: created(minute),
    }
}

#[tokio::test]
async fn pages_are_read_newest_first_across_several_pages() {
    let harness = Harness::start().await;
    let outcomes = [
        SimOutcome::Ready,
        SimOutcome::Failed,
        SimOutcome::Ready,
        SimOutcome::Canceled,
        SimOutcome::Ready,
        SimOutcome::Ready,
        SimOutcome::Building,
    ];
    // Pushed out of time order: the simulator and client must still read newest first.
    let mut pushed: Vec<(u32, String)> = Vec::new();
    for (index, outcome) in outcomes.iter().enumerate() {
        let minute = 10 + index as u32 * 3;
        pushed.push((minute, harness.push(minute, *outcome)));
    }
    pushed.push((5, harness.push(5, SimOutcome::Failed)));
    pushed.sort_by_key(|(minute, _)| std::cmp::Reverse(*minute));
    let expected: Vec<String> = pushed.into_iter().map(|(_, id)| id).collect();
    let client = harness.client();

    let before = harness.sim.requests.get();
    let five = list_recent_deployments(&client, 5, 2).await.unwrap();
    let ids: Vec<&str> = five.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(
        ids,
        expected[..5].iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(
        harness.sim.requests.get() - before,
        3,
        "pages 1, 2 and 3 of two each"
    );
    assert!(five
        .windows(2)
        .all(|pair| pair[0].created_at > pair[1].created_at));

    let before = harness.sim.requests.get();
    let all = list_recent_deployments(&client, 100, 3).await.unwrap();
    let ids: Vec<String> = all.iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids, expected, "every deployment once, in three pages");
    assert_eq!(
        harness.sim.requests.get() - before,
        3,
        "no request past the last page"
    );

    // By hand: the cursor is the next page number; the last page has none.
    let page = client.list_deployments(None, 3).await.unwrap();
    assert_eq!(page.next, Some(PageCursor("2".into())));
    let last = client
        .list_deployments(Some(&PageCursor("3".into())), 3)
        .await
        .unwrap();
    assert_eq!(last.deployments.len(), 2);
    assert_eq!(last.next, None);

    let building = &all[0];
    assert_eq!(building.state, DeployState::Building);
    assert_eq!(building.provider_state, "BUILDING");
    assert_eq!(building.finished_at, None);
    assert_eq!(building.created_at, Some(created(28)));
    assert_eq!(building.commit.sha, Some(format!("{:040x}", 28)));
    assert_eq!(building.commit.branch.as_deref(), Some("main"));
    assert_eq!(
        building.commit.message.as_deref(),
        Some("commit 0000000 pushed to github/acme/api"),
        "the cause stands in for the message"
    );
    assert_eq!(building.commit.author, None, "no author on App Platform");
    assert_eq!(
        building.environment,
        ProviderEnvironment::Named("production".into())
    );
    assert_eq!(building.url, None);
    let states: Vec<DeployState> = all.iter().map(|d| d.state).collect();
    assert_eq!(
        states,
        vec![
            DeployState::Building,
            DeployState::Ready,
            DeployState::Superseded,
            DeployState::Canceled,
            DeployState::Superseded,
            DeployState::Failed,
            DeployState::Superseded,
            DeployState::Failed,
        ]
    );
}

#[tokio::test]
async fn the_live_deployment_is_the_apps_active_deployment() {
    let harness = Harness::start().await;
    let client = harness.client();
    assert!(client.live_deployments().await.unwrap().is_empty());

    let live = harness.push(1, SimOutcome::Ready);
    harness.push(2, SimOutcome::Building);
    let found = client.live_deployments().await.unwrap();
    assert_eq!(found.len(), 1);
    let found = &found[0];
    assert_eq!(found.id, live);
    assert_eq!(found.state, DeployState::Ready);
    assert_eq!(found.provider_state, "ACTIVE");
    assert_eq!(found.url.as_deref(), Some(LIVE_URL));
    assert_eq!(
        found.environment,
        ProviderEnvironment::Named("production".into())
    );
    assert_eq!(
        found.finished_at,
        Some(created(3)),
        "finished two minutes later"
    );
    assert_eq!(
        found.dashboard_url,
        Some(format!(
            "https://cloud.digitalocean.com/apps/{APP}/deployments/{live}"
        ))
    );
}

#[tokio::test]
async fn a_pushed_ready_deployment_goes_live_and_the_old_one_is_superseded() {
    let harness = Harness::start().await;
    let client = harness.client();
    let old = harness.push(1, SimOutcome::Ready);
    let new = harness.push(5, SimOutcome::Ready);

    let live = client.live_deployments().await.unwrap();
    assert_eq!(
        live.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        [new.as_str()]
    );
    let superseded = client.deployment(&old).await.unwrap();
    assert_eq!(superseded.state, DeployState::Superseded);
    assert_eq!(superseded.provider_state, "SUPERSEDED");
    assert_eq!(
        superseded.finished_at,
        Some(created(3)),
        "when it finished, not when it was replaced"
    );

    let failed = harness.push(9, SimOutcome::Failed);
    let live = client.live_deployments().await.unwrap();
    assert_eq!(live[0].id, new, "a failed build leaves the live one alone");
    assert_eq!(
        client.deployment(&failed).await.unwrap().state,
        DeployState::Failed
    );
}

#[tokio::test]
async fn a_deployment_by_id_and_unknown_ids() {
    let harness = Harness::start().await;
    let client = harness.client();
    let id = harness.push(1, SimOutcome::Canceled);
    let deployment = client.deployment(&id).await.unwrap();
    assert_eq!(deployment.id, id);
    assert_eq!(deployment.state, DeployState::Canceled);
    assert_eq!(deployment.finished_at, Some(created(3)));

    let missing = client.deployment("no-such-deployment").await.unwrap_err();
    assert_eq!(
        missing,
        ProviderError::NotFound {
            message: "The resource you requested could not be found.".into()
        }
    );
    let other_app = harness.client_with(
        server::providers::http::build_client(),
        TOKEN,
        "00000000-dead-4000-8000-000000000000",
    );
    assert!(matches!(
        other_app.list_deployments(None, 10).await,
        Err(ProviderError::NotFound { .. })
    ));
    assert!(matches!(
        other_app.live_deployments().await,
        Err(ProviderError::NotFound { .. })
    ));
    assert!(matches!(
        client
            .list_deployments(Some(&PageCursor("not-a-page".into())), 10)
            .await,
        Err(ProviderError::Rejected { status: 400, .. })
    ));
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_and_never_echoed() {
    let harness = Harness::start().await;
    harness.push(1, SimOutcome::Ready);
    let client = harness.client_with(
        server::providers::http::build_client(),
        "dop_v1_wrong_token_5678",
        APP,
    );
    let error = client.live_deployments().await.unwrap_err();
    assert_eq!(
        error,
        ProviderError::Unauthorized {
            message: "Unable to authenticate you.".into()
        }
    );
    assert!(!format!("{error:?} {error}").contains("dop_v1_wrong_token_5678"));
    assert!(!format!("{client:?}").contains("dop_v1_wrong_token_5678"));

    harness.sim.faults.push_once(SimFault::Unauthorized);
    assert!(matches!(
        harness.client().list_deployments(None, 5).await,
        Err(ProviderError::Unauthorized { .. })
    ));
}

#[tokio::test]
async fn a_429_is_honoured_and_followed_by_success() {
    let harness = Harness::start().await;
    let id = harness.push(1, SimOutcome::Ready);
    let client = harness.client();
    harness.sim.faults.push_once(SimFault::RateLimited {
        retry_after_secs: 1,
    });
    let error = client.live_deployments().await.unwrap_err();
    assert_eq!(
        error,
        ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(1)),
            message: "API rate limit exceeded.".into()
        }
    );
    tokio::time::sleep(error.retry_after().unwrap()).await;
    let live = client.live_deployments().await.unwrap();
    assert_eq!(live[0].id, id);
}

#[tokio::test]
async fn faults_map_to_typed_errors() {
    let harness = Harness::start().await;
    let id = harness.push(1, SimOutcome::Ready);
    let client = harness.client();

    harness.sim.faults.push_once(SimFault::ServerError);
    assert!(matches!(
        client.list_deployments(None, 10).await,
        Err(ProviderError::Unavailable {
            status: Some(503),
            ..
        })
    ));

    harness.sim.faults.set_sticky(SimFault::Garbage);
    for error in [
        client.list_deployments(None, 10).await.unwrap_err(),
        client.live_deployments().await.unwrap_err(),
        client.deployment(&id).await.unwrap_err(),
        client.app_health().await.unwrap_err(),
    ] {
        assert!(
            matches!(error, ProviderError::Malformed { .. }),
            "{error:?}"
        );
    }
    harness.sim.faults.clear();

    harness
        .sim
        .faults
        .push_once(SimFault::Slow { millis: 1_500 });
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let impatient = harness.client_with(impatient, TOKEN, APP);
    assert_eq!(
        impatient.live_deployments().await.unwrap_err(),
        ProviderError::Timeout
    );

    // Faults are used once: the next call answers normally.
    assert_eq!(client.deployment(&id).await.unwrap().id, id);
}

#[tokio::test]
async fn the_burst_limit_answers_429_with_retry_after() {
    let harness = Harness::start().await;
    harness.sim.set_rate_limits(5_000, 2);
    let client = harness.client();
    client.list_deployments(None, 5).await.unwrap();
    client.list_deployments(None, 5).await.unwrap();
    let error = client.list_deployments(None, 5).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after: Some(wait), .. }
            if wait > Duration::ZERO && wait <= Duration::from_secs(60)),
        "{error:?}"
    );
}

#[tokio::test]
async fn app_health_rolls_the_components_up() {
    let harness = Harness::start().await;
    let client = harness.client();
    let healthy = client.app_health().await.unwrap();
    assert_eq!(healthy.state, HealthState::Up);
    assert_eq!(healthy.detail, None);
    assert!(healthy.checked_at.is_some());

    harness
        .sim
        .set_component_health(APP, "worker", SimComponentState::Unhealthy);
    let degraded = client.app_health().await.unwrap();
    assert_eq!(degraded.state, HealthState::Degraded);
    assert_eq!(degraded.detail.as_deref(), Some("unhealthy: worker"));

    harness
        .sim
        .set_component_health(APP, "web", SimComponentState::Unhealthy);
    assert_eq!(client.app_health().await.unwrap().state, HealthState::Down);
}

/// The simulator's own HTTP surface, for what the client never looks at.
#[tokio::test]
async fn the_simulator_speaks_digitalocean_http() {
    let harness = Harness::start().await;
    for minute in 1..=3 {
        harness.push(minute, SimOutcome::Ready);
    }
    let http = reqwest::Client::new();
    let url = format!("{}/v2/apps/{APP}/deployments", harness.api_base);

    let response = http
        .get(&url)
        .bearer_auth(TOKEN)
        .query(&[("per_page", "1"), ("page", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for name in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
        assert!(response.headers().contains_key(name), "{name}");
    }
    assert_eq!(response.headers()["ratelimit-limit"], "5000");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["meta"]["total"], 3);
    assert_eq!(
        body["links"]["pages"]["next"],
        format!("{url}?page=3&per_page=1").as_str()
    );
    assert_eq!(
        body["links"]["pages"]["first"],
        format!("{url}?page=1&per_page=1").as_str()
    );
    assert_eq!(body["deployments"][0]["phase"], "SUPERSEDED");

    let response = http
        .get(&url)
        .bearer_auth(TOKEN)
        .query(&[("per_page", "201")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["id"], "bad_request");
    assert!(body["request_id"].is_string());

    harness.sim.faults.push_once(SimFault::RateLimited {
        retry_after_secs: 9,
    });
    let response = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "9");
    assert_eq!(response.headers()["ratelimit-remaining"], "0");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["id"], "too_many_requests");

    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401, "no token");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["id"], "unauthorized");
}

// ---- Rollback ----

use server::providers::rollback::progress_until_settled as settled;

use server::providers::rollback::{
    HoldKind, HoldPlacement, HoldRelease, RollbackProgress, RollbackRequest,
};
use server::providers::ProviderDeployment;
use server::simulators::SimRollbackOutcome;

/// Three deployments live in turn; returns (the previous one, the live one).
async fn two_releases(harness: &Harness) -> (ProviderDeployment, ProviderDeployment) {
    harness.push(1, SimOutcome::Ready);
    let previous = harness.push(2, SimOutcome::Ready);
    let live = harness.push(3, SimOutcome::Ready);
    let client = harness.client();
    (
        client.deployment(&previous).await.unwrap(),
        client.deployment(&live).await.unwrap(),
    )
}

fn request<'a>(
    environment: &'a ProviderEnvironment,
    target: &'a ProviderDeployment,
    live: &'a ProviderDeployment,
) -> RollbackRequest<'a> {
    RollbackRequest {
        environment,
        target,
        live,
        reason: "bad release",
        place_hold: false,
    }
}

#[tokio::test]
async fn a_rollback_deploys_the_target_commit_pins_the_app_and_commits() {
    let harness = Harness::start().await;
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let (target, live) = two_releases(&harness).await;
    let client = harness.client();
    let method = client.rollback_method().unwrap();
    let hold = method.hold.unwrap();
    assert_eq!(
        (hold.kind, hold.placement),
        (HoldKind::Pinned, HoldPlacement::Always)
    );

    let environment = ProviderEnvironment::Named("production".into());
    let started = client
        .roll_back(request(&environment, &target, &live))
        .await
        .unwrap();
    let created = started.new_deployment_id.clone().unwrap();
    assert_ne!(created, target.id, "App Platform makes a new deployment");
    assert_eq!(started.hold, Some(HoldKind::Pinned), "always pinned");
    assert_eq!(started.provider_reference, None, "no warnings");
    assert_eq!(harness.sim.pinned_deployment(APP), Some(created.clone()));
    assert_eq!(harness.sim.rollbacks.calls.get(), 1);

    let progress = settled(&client, &target, &started, Duration::from_secs(5))
        .await
        .unwrap();
    let RollbackProgress::Live(now_live) = progress else {
        panic!("expected live, got {progress:?}");
    };
    assert_eq!(now_live.id, created);
    assert_eq!(now_live.commit.sha, target.commit.sha);
    let reread = client.live_deployments().await.unwrap();
    assert_eq!(reread[0].id, created);
    assert!(server::providers::rollback::is_rollback_outcome(
        &reread[0], &target, &started
    ));
    assert_eq!(
        client.deployment(&live.id).await.unwrap().state,
        DeployState::Superseded
    );

    // Pinned: a push deploys nothing, and a second rollback is refused with `app_pinned`.
    assert_eq!(harness.push(9, SimOutcome::Ready), "");
    assert_eq!(client.live_deployments().await.unwrap()[0].id, created);
    let error = client
        .roll_back(request(&environment, &live, &now_live))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 422, message } if message.contains("app_pinned")),
        "{error:?}"
    );

    client
        .release_hold(&environment, HoldKind::Pinned, HoldRelease::Commit)
        .await
        .unwrap();
    assert_eq!(harness.sim.pinned_deployment(APP), None);
    assert_eq!(client.live_deployments().await.unwrap()[0].id, created);
    // Unpinned, pushes deploy again.
    let pushed = harness.push(10, SimOutcome::Ready);
    assert_eq!(client.live_deployments().await.unwrap()[0].id, pushed);
    // Nothing left to commit.
    let error = client
        .release_hold(&environment, HoldKind::Pinned, HoldRelease::Commit)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Rejected { status: 409, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn reverting_a_rollback_goes_back_to_what_was_live_before_it() {
    let harness = Harness::start().await;
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(50));
    let (target, live) = two_releases(&harness).await;
    let client = harness.client();
    let environment = ProviderEnvironment::Named("production".into());
    let started = client
        .roll_back(request(&environment, &target, &live))
        .await
        .unwrap();
    let progress = settled(&client, &target, &started, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        matches!(progress, RollbackProgress::Live(_)),
        "{progress:?}"
    );

    client
        .release_hold(&environment, HoldKind::Pinned, HoldRelease::Revert)
        .await
        .unwrap();
    assert_eq!(harness.sim.pinned_deployment(APP), None);
    let now = client.live_deployments().await.unwrap().remove(0);
    assert_ne!(now.id, live.id, "a revert is a new deployment");
    assert_ne!(Some(now.id.clone()), started.new_deployment_id);
    assert_eq!(now.commit.sha, live.commit.sha, "of what was live before");
    let error = client
        .release_hold(&environment, HoldKind::Pinned, HoldRelease::Resume)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Rejected { status: 400, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn digitalocean_validation_refusals_carry_its_reason() {
    let harness = Harness::start().await;
    let (target, live) = two_releases(&harness).await;
    let failed = harness.push(4, SimOutcome::Failed);
    let client = harness.client();
    let environment = ProviderEnvironment::Named("production".into());
    let failed = client.deployment(&failed).await.unwrap();
    let error = client
        .roll_back(request(&environment, &failed, &live))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 422, message }
            if message.contains("deployment result \"failed\" is unsuitable for rollback")),
        "{error:?}"
    );

    harness.sim.set_revision_limit(APP, Some(0));
    let error = client
        .roll_back(request(&environment, &target, &live))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { message, .. }
            if message.contains("maximum historical revision limit of 0")),
        "{error:?}"
    );
    harness.sim.set_revision_limit(APP, None);
    assert_eq!(
        harness.sim.rollbacks.calls.get(),
        0,
        "refused at validation, never sent"
    );

    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::Refused, Duration::from_millis(10));
    let error = client
        .roll_back(request(&environment, &target, &live))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 409, message } if message.contains("in progress")),
        "{error:?}"
    );
    assert_eq!(harness.sim.pinned_deployment(APP), None);
    assert_eq!(client.live_deployments().await.unwrap()[0].id, live.id);
}

#[tokio::test]
async fn digitalocean_warnings_are_kept_with_the_rollback() {
    let harness = Harness::start().await;
    let (target, live) = two_releases(&harness).await;
    harness.sim.add_rollback_warning(
        APP,
        "image_source_missing_digest",
        "one or more components are missing an image digest",
    );
    let client = harness.client();
    let environment = ProviderEnvironment::Named("production".into());
    let started = client
        .roll_back(request(&environment, &target, &live))
        .await
        .unwrap();
    let reference = started.provider_reference.unwrap();
    assert!(
        reference.contains("image_source_missing_digest") && reference.contains("image digest"),
        "{reference}"
    );
}

#[tokio::test]
async fn a_digitalocean_rollback_that_fails_or_never_goes_live_is_reported_so() {
    let harness = Harness::start().await;
    let (target, live) = two_releases(&harness).await;
    let client = harness.client();
    let environment = ProviderEnvironment::Named("production".into());

    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::Fails, Duration::from_millis(100));
    let started = client
        .roll_back(request(&environment, &target, &live))
        .await
        .unwrap();
    let progress = settled(&client, &target, &started, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        matches!(&progress, RollbackProgress::Failed { reason } if reason.contains("ERROR")),
        "{progress:?}"
    );
    assert_eq!(client.live_deployments().await.unwrap()[0].id, live.id);
    // The failed rollback still pins the app until it is reverted.
    client
        .release_hold(&environment, HoldKind::Pinned, HoldRelease::Revert)
        .await
        .unwrap();

    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::NeverLive, Duration::from_millis(100));
    let live = client.live_deployments().await.unwrap().remove(0);
    let started = client
        .roll_back(request(&environment, &target, &live))
        .await
        .unwrap();
    let progress = settled(&client, &target, &started, Duration::from_millis(600))
        .await
        .unwrap();
    assert!(
        matches!(&progress, RollbackProgress::Waiting { detail } if detail.contains("DEPLOYING")),
        "{progress:?}"
    );
    assert_eq!(client.live_deployments().await.unwrap()[0].id, live.id);
}

#[tokio::test]
async fn the_simulator_speaks_digitalocean_rollback_http() {
    let harness = Harness::start().await;
    let (target, _live) = two_releases(&harness).await;
    let http = reqwest::Client::new();
    let base = format!("{}/v2/apps/{APP}/rollback", harness.api_base);
    let body = serde_json::json!({ "deployment_id": target.id, "skip_pin": true });
    let response = http.post(&base).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 401, "no token");
    let response = http
        .post(format!("{base}/validate"))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let validation: serde_json::Value = response.json().await.unwrap();
    assert_eq!(validation, serde_json::json!({ "valid": true }));
    let response = http
        .post(&base)
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the contract's 200, not 201");
    let created: serde_json::Value = response.json().await.unwrap();
    assert_eq!(created["deployment"]["phase"], "PENDING_BUILD");
    assert_eq!(created["deployment"]["cloned_from"], target.id.as_str());
    assert_eq!(harness.sim.pinned_deployment(APP), None, "skip_pin: true");
    let response = http
        .post(format!("{base}/commit"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409, "nothing pinned to commit");
}
