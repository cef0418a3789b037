//! The real Heroku client against the Heroku simulator, over HTTP on loopback.

use app::model::DeployState;
use chrono::{DateTime, TimeZone, Utc};
use server::providers::heroku::{HerokuClient, HerokuClientConfig, ACCEPT_V3};
use server::providers::{
    list_recent_deployments, DeploymentProvider, PageCursor, ProviderEnvironment, ProviderError,
};
use server::secret::Secret;
use server::simulators::heroku::HerokuSimulator;
use server::simulators::{SimDeploymentSpec, SimFault, SimOutcome};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "HRKU-sim-token-1234";
const APP: &str = "shop-api";

struct Harness {
    sim: Arc<HerokuSimulator>,
    api_base: String,
}

impl Harness {
    async fn start() -> Self {
        let sim = Arc::new(HerokuSimulator::new(TOKEN));
        sim.add_app(APP);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new().nest("/heroku", sim.clone().router());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            sim,
            api_base: format!("http://{address}/heroku"),
        }
    }

    fn client_with(&self, http: reqwest::Client, token: &str, app: &str) -> HerokuClient {
        HerokuClient::new(
            http,
            HerokuClientConfig {
                api_base: self.api_base.clone(),
                token: Secret::new(token),
                app: app.into(),
                environment: "production".into(),
            },
        )
    }

    fn client(&self) -> HerokuClient {
        self.client_with(server::providers::http::build_client(), TOKEN, APP)
    }

    fn push(&self, minute: u32, outcome: SimOutcome) -> String {
        self.sim.push_deployment(APP, &spec(minute, outcome))
    }
}

fn created(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, minute, 0).unwrap()
}

fn sha(minute: u32) -> String {
    format!("{:07x}{:033x}", 0xabc0000 + minute, minute)
}

fn spec(minute: u32, outcome: SimOutcome) -> SimDeploymentSpec {
    SimDeploymentSpec {
        commit_sha: sha(minute),
        commit_message: format!("change number {minute}"),
        author: "ada".into(),
        branch: "main".into(),
        pr_number: None,
        outcome,
        created_at: created(minute),
    }
}

#[tokio::test]
async fn pages_follow_next_range_newest_first() {
    let harness = Harness::start().await;
    let outcomes = [
        SimOutcome::Ready,
        SimOutcome::Failed,
        SimOutcome::Ready,
        SimOutcome::Canceled,
        SimOutcome::Ready,
        SimOutcome::Ready,
        SimOutcome::Failed,
        SimOutcome::Building,
    ];
    let mut expected: Vec<String> = outcomes
        .iter()
        .enumerate()
        .map(|(index, outcome)| harness.push(10 + index as u32, *outcome))
        .collect();
    expected.reverse();
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
        3 + 6,
        "three ranges of two, and the slugs of the six releases they held"
    );
    assert!(five
        .windows(2)
        .all(|pair| pair[0].created_at > pair[1].created_at));

    let before = harness.sim.requests.get();
    let all = list_recent_deployments(&client, 100, 3).await.unwrap();
    let ids: Vec<String> = all.iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids, expected, "every release once");
    assert_eq!(
        harness.sim.requests.get() - before,
        3 + 2,
        "three ranges (206, 206, 200); only the two new slugs are looked up"
    );

    // By hand: the cursor is Heroku's own Next-Range, and a 200 ends the listing.
    let page = client.list_deployments(None, 5).await.unwrap();
    assert_eq!(page.deployments.len(), 5);
    assert_eq!(
        page.next,
        Some(PageCursor("version ]4..; order=desc, max=5".into()))
    );
    let rest = client
        .list_deployments(page.next.as_ref(), 5)
        .await
        .unwrap();
    assert_eq!(rest.deployments.len(), 3);
    assert_eq!(rest.next, None);

    let pending = &all[0];
    assert_eq!(pending.state, DeployState::Deploying);
    assert_eq!(pending.provider_state, "pending");
    assert_eq!(pending.finished_at, None);
    assert_eq!(pending.created_at, Some(created(17)));
    assert_eq!(
        pending.commit.sha,
        Some(sha(17)),
        "the full sha, from the slug"
    );
    assert_eq!(
        pending.commit.message.as_deref(),
        Some("change number 17"),
        "a plain deploy shows the slug's commit description"
    );
    assert_eq!(pending.commit.author, None);
    assert_eq!(pending.creator.as_deref(), Some("ada@example.com"));
    assert_eq!(
        pending.environment,
        ProviderEnvironment::Named("production".into())
    );
    let states: Vec<DeployState> = all.iter().map(|d| d.state).collect();
    assert_eq!(
        states,
        vec![
            DeployState::Deploying,
            DeployState::Failed,
            DeployState::Ready,
            DeployState::Superseded,
            DeployState::Failed,
            DeployState::Superseded,
            DeployState::Failed,
            DeployState::Superseded,
        ]
    );
}

#[tokio::test]
async fn the_live_release_is_the_current_one() {
    let harness = Harness::start().await;
    let client = harness.client();
    assert!(client.live_deployments().await.unwrap().is_empty());

    let live = harness.push(1, SimOutcome::Ready);
    harness.push(2, SimOutcome::Failed);
    harness.push(3, SimOutcome::Building);
    let found = client.live_deployments().await.unwrap();
    assert_eq!(found.len(), 1);
    let found = &found[0];
    assert_eq!(found.id, live);
    assert_eq!(found.state, DeployState::Ready);
    assert_eq!(found.provider_state, "succeeded");
    assert_eq!(found.finished_at, Some(created(3)), "two minutes later");
    assert_eq!(found.commit.sha, Some(sha(1)));
    assert_eq!(
        found.dashboard_url,
        Some(format!(
            "https://dashboard.heroku.com/apps/{APP}/activity/releases/{live}"
        ))
    );
    assert_eq!(
        found.environment,
        ProviderEnvironment::Named("production".into())
    );

    // A config change is a release of its own, on the same slug: same commit, its own text.
    let config = harness.sim.push_config_release(
        APP,
        "Set FEATURE_X config vars",
        "bob@example.com",
        created(9),
    );
    let found = client.live_deployments().await.unwrap();
    assert_eq!(found[0].id, config);
    assert_eq!(found[0].commit.sha, Some(sha(1)));
    assert_eq!(
        found[0].commit.message.as_deref(),
        Some("Set FEATURE_X config vars")
    );
    assert_eq!(found[0].creator.as_deref(), Some("bob@example.com"));
}

#[tokio::test]
async fn the_current_release_is_found_past_the_first_page() {
    let harness = Harness::start().await;
    let live = harness.push(0, SimOutcome::Ready);
    for minute in 1..=59 {
        harness.push(minute, SimOutcome::Failed);
    }
    let client = harness.client();
    let found = client.live_deployments().await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, live);
}

#[tokio::test]
async fn a_pushed_ready_release_goes_live_and_the_old_one_is_superseded() {
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
    assert_eq!(superseded.provider_state, "succeeded");

    let failed = harness.push(9, SimOutcome::Failed);
    let live = client.live_deployments().await.unwrap();
    assert_eq!(
        live[0].id, new,
        "a failed release leaves the current one alone"
    );
    assert_eq!(
        client.deployment(&failed).await.unwrap().state,
        DeployState::Failed
    );
}

#[tokio::test]
async fn a_release_by_id_or_version_and_unknown_ids() {
    let harness = Harness::start().await;
    let client = harness.client();
    harness.push(1, SimOutcome::Ready);
    let second = harness.push(2, SimOutcome::Canceled);
    let by_id = client.deployment(&second).await.unwrap();
    assert_eq!(by_id.id, second);
    assert_eq!(
        by_id.state,
        DeployState::Failed,
        "Heroku has no canceled release"
    );
    assert_eq!(by_id.commit.message.as_deref(), Some("change number 2"));
    assert_eq!(client.deployment("v2").await.unwrap().id, second);
    assert_eq!(client.deployment("2").await.unwrap().id, second);

    let missing = client
        .deployment("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(
        missing,
        ProviderError::NotFound {
            message: "Couldn't find that release.".into()
        }
    );
    assert!(matches!(
        client.deployment("v99").await,
        Err(ProviderError::NotFound { .. })
    ));
    let other_app = harness.client_with(server::providers::http::build_client(), TOKEN, "nope");
    assert_eq!(
        other_app.list_deployments(None, 10).await.unwrap_err(),
        ProviderError::NotFound {
            message: "Couldn't find that app.".into()
        }
    );
    // The app's id works as well as its name.
    let by_app_id = harness.client_with(
        server::providers::http::build_client(),
        TOKEN,
        &harness.sim.app_id(APP).unwrap(),
    );
    assert_eq!(by_app_id.deployment("v2").await.unwrap().id, second);
    // A cursor that is not a range Heroku understands is a 416.
    assert!(matches!(
        client
            .list_deployments(Some(&PageCursor("pages 1..2".into())), 10)
            .await,
        Err(ProviderError::Rejected { status: 416, .. })
    ));
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_and_never_echoed() {
    let harness = Harness::start().await;
    harness.push(1, SimOutcome::Ready);
    let client = harness.client_with(
        server::providers::http::build_client(),
        "HRKU-wrong-token-5678",
        APP,
    );
    let error = client.live_deployments().await.unwrap_err();
    assert_eq!(
        error,
        ProviderError::Unauthorized {
            message: "Invalid credentials provided.".into()
        }
    );
    assert!(!format!("{error:?} {error}").contains("HRKU-wrong-token-5678"));
    assert!(!format!("{client:?}").contains("HRKU-wrong-token-5678"));

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
    match &error {
        ProviderError::RateLimited {
            retry_after,
            message,
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(1)));
            assert!(message.starts_with("Your account reached the API rate limit"));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    tokio::time::sleep(error.retry_after().unwrap()).await;
    let live = client.live_deployments().await.unwrap();
    assert_eq!(live[0].id, id);
}

#[tokio::test]
async fn an_empty_token_pool_is_a_429() {
    let harness = Harness::start().await;
    harness.push(1, SimOutcome::Ready);
    harness.sim.set_rate_limit(2, 1);
    let client = harness.client();
    // One range and one slug: the pool is empty.
    client.list_deployments(None, 5).await.unwrap();
    let error = client.list_deployments(None, 5).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after: Some(wait), .. }
            if wait >= Duration::from_secs(1) && wait <= Duration::from_secs(60)),
        "{error:?}"
    );
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
    ] {
        assert!(
            matches!(error, ProviderError::Malformed { .. }),
            "{error:?}"
        );
    }
    harness.sim.faults.clear();

    // A failing slug look-up fails the call (so the monitor backs off) and is retried later.
    let fresh = harness.client();
    harness.sim.faults.push_once(SimFault::Slow { millis: 0 });
    harness.sim.faults.push_once(SimFault::ServerError);
    assert!(matches!(
        fresh.list_deployments(None, 10).await,
        Err(ProviderError::Unavailable { .. })
    ));
    assert_eq!(
        fresh.list_deployments(None, 10).await.unwrap().deployments[0]
            .commit
            .message
            .as_deref(),
        Some("change number 1")
    );

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

/// The simulator's own HTTP surface, for what the client never gets wrong.
#[tokio::test]
async fn the_simulator_speaks_heroku_http() {
    let harness = Harness::start().await;
    for minute in 1..=3 {
        harness.push(minute, SimOutcome::Ready);
    }
    let http = reqwest::Client::new();
    let url = format!("{}/apps/{APP}/releases", harness.api_base);

    let response = http
        .get(&url)
        .bearer_auth(TOKEN)
        .header("accept", ACCEPT_V3)
        .header("range", "version ..; order=desc, max=2")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 206);
    assert_eq!(
        response.headers()["next-range"],
        "version ]2..; order=desc, max=2"
    );
    assert_eq!(response.headers()["accept-ranges"], "id, version");
    assert!(response.headers().contains_key("ratelimit-remaining"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body[0]["version"], 3);
    assert_eq!(body[0]["current"], true);
    assert_eq!(body[1]["current"], false);
    assert_eq!(body[0]["description"], format!("Deploy {}", &sha(3)[..7]));

    let response = http
        .get(&url)
        .bearer_auth(TOKEN)
        .header("accept", ACCEPT_V3)
        .header("range", "version ]2..; order=desc, max=2")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the rest fits");
    assert!(!response.headers().contains_key("next-range"));

    let response = http
        .get(&url)
        .bearer_auth(TOKEN)
        .header("accept", ACCEPT_V3)
        .header("range", "name ..")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 416);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["id"], "requested_range_not_satisfiable");

    let response = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 406, "no version 3 Accept header");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["id"], "not_acceptable");

    let response = http
        .get(&url)
        .header("accept", ACCEPT_V3)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "no token");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["id"], "unauthorized");

    harness.sim.faults.push_once(SimFault::RateLimited {
        retry_after_secs: 9,
    });
    let response = http
        .get(&url)
        .bearer_auth(TOKEN)
        .header("accept", ACCEPT_V3)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["ratelimit-remaining"], "0");
    assert_eq!(response.headers()["retry-after"], "9");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["id"], "rate_limit");
}

// ---- Rollback ----

use server::providers::rollback::progress_until_settled as settled;

use server::providers::rollback::{RollbackProgress, RollbackRequest};
use server::providers::ProviderDeployment;
use server::simulators::SimRollbackOutcome;

/// Three releases live in turn; returns (the previous one, the live one).
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
        place_hold: true,
    }
}

#[tokio::test]
async fn a_rollback_creates_a_release_of_the_target_slug_that_becomes_current() {
    let harness = Harness::start().await;
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let (target, live) = two_releases(&harness).await;
    let client = harness.client();
    let method = client.rollback_method().unwrap();
    assert_eq!(method.hold, None, "Heroku has no hold");
    assert!(method.caveats.iter().any(|c| c.contains("add-ons")));

    let environment = ProviderEnvironment::Named("production".into());
    let started = client
        .roll_back(request(&environment, &target, &live))
        .await
        .unwrap();
    let created = started.new_deployment_id.clone().unwrap();
    assert_ne!(created, target.id, "Heroku makes a new release");
    assert_eq!(started.provider_reference.as_deref(), Some("v4"));
    assert_eq!(started.hold, None, "no hold even when asked");
    assert_eq!(harness.sim.rollbacks.calls.get(), 1);

    let pending = client.deployment(&created).await.unwrap();
    assert_eq!(pending.state, DeployState::Deploying);
    assert_eq!(pending.commit.message.as_deref(), Some("Rollback to v2"));

    let progress = settled(&client, &target, &started, Duration::from_secs(5))
        .await
        .unwrap();
    let RollbackProgress::Live(now_live) = progress else {
        panic!("expected live, got {progress:?}");
    };
    assert_eq!(now_live.id, created);
    assert_eq!(now_live.commit.sha, target.commit.sha, "the target's slug");
    let reread = client.live_deployments().await.unwrap();
    assert_eq!(reread[0].id, created);
    assert!(server::providers::rollback::is_rollback_outcome(
        &reread[0], &target, &started
    ));
    assert_eq!(
        client.deployment(&live.id).await.unwrap().state,
        DeployState::Superseded
    );
}

#[tokio::test]
async fn heroku_refusals_carry_herokus_reason() {
    let harness = Harness::start().await;
    let (target, live) = two_releases(&harness).await;
    let failed = harness.push(4, SimOutcome::Failed);
    let client = harness.client();
    let environment = ProviderEnvironment::Named("production".into());
    let failed = client.deployment(&failed).await.unwrap();
    assert!(
        failed
            .rollback_refusal
            .as_deref()
            .is_some_and(|reason| reason.contains("not eligible")),
        "{:?}",
        failed.rollback_refusal
    );
    assert_eq!(target.rollback_refusal, None);
    let error = client
        .roll_back(request(&environment, &failed, &live))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 422, message } if message.contains("not eligible")),
        "{error:?}"
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
    assert_eq!(client.live_deployments().await.unwrap()[0].id, live.id);
}

#[tokio::test]
async fn a_heroku_rollback_that_fails_or_never_goes_live_is_reported_so() {
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
        matches!(&progress, RollbackProgress::Failed { reason } if reason.contains("failed")),
        "{progress:?}"
    );
    assert_eq!(client.live_deployments().await.unwrap()[0].id, live.id);

    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::NeverLive, Duration::from_millis(100));
    let started = client
        .roll_back(request(&environment, &target, &live))
        .await
        .unwrap();
    let progress = settled(&client, &target, &started, Duration::from_millis(600))
        .await
        .unwrap();
    assert!(
        matches!(&progress, RollbackProgress::Waiting { detail } if detail.contains("pending")),
        "{progress:?}"
    );
    assert_eq!(client.live_deployments().await.unwrap()[0].id, live.id);
}

#[tokio::test]
async fn the_simulator_speaks_heroku_rollback_http() {
    let harness = Harness::start().await;
    let (target, _live) = two_releases(&harness).await;
    let http = reqwest::Client::new();
    let url = format!("{}/apps/{APP}/releases", harness.api_base);
    let response = http
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({ "release": target.id }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 406, "no Accept: version=3");
    let response = http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("accept", ACCEPT_V3)
        .json(&serde_json::json!({ "slug": "s" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let response = http
        .post(&url)
        .bearer_auth(TOKEN)
        .header("accept", ACCEPT_V3)
        .json(&serde_json::json!({ "release": target.id }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "pending");
    assert_eq!(body["current"], false);
    assert_eq!(body["description"], "Rollback to v2");
    assert_eq!(harness.sim.rollbacks.calls.get(), 1);
}
