//! The real Heroku client against the Heroku simulator: what is Heroku's own (`Range` /
//! `Next-Range` paging, releases and their slugs, versions as ids, the current release, its
//! HTTP surface, rollback as a new release). Paging depth, auth, faults and "live is not the
//! newest" are the conformance suite's (`provider_conformance.rs`).

mod common;

use common::providers::heroku::{APP, TOKEN};
use common::providers::{created, held_rollback_request, named, sha, Kit, AUTHOR};

use app::model::DeployState;
use server::providers::heroku::{HerokuClientConfig, ACCEPT_V3};
use server::providers::{list_recent_deployments, DeploymentProvider, PageCursor, ProviderError};
use server::simulators::heroku::HerokuSimulator;
use server::simulators::{SimFault, SimOutcome};
use std::time::Duration;

type Harness = Kit<HerokuSimulator>;

#[tokio::test]
async fn pages_follow_next_range_and_releases_map_onto_lookouts() {
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
    let all = list_recent_deployments(&client, 100, 3).await.unwrap();
    let ids: Vec<String> = all.iter().map(|d| d.id.clone()).collect();
    assert_eq!(ids, expected, "every release once");

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
    assert_eq!(
        pending.creator.as_deref(),
        Some(format!("{AUTHOR}@example.com").as_str())
    );
    assert_eq!(pending.environment, named("production"));
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
    assert_eq!(found.environment, named("production"));

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
    let other_app = harness.client_elsewhere();
    assert_eq!(
        other_app.list_deployments(None, 10).await.unwrap_err(),
        ProviderError::NotFound {
            message: "Couldn't find that app.".into()
        }
    );
    // The app's id works as well as its name.
    let by_app_id = harness.client_for(HerokuClientConfig {
        app: harness.sim.app_id(APP).unwrap(),
        ..harness.config()
    });
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
async fn a_failing_slug_look_up_fails_the_call_and_is_retried_later() {
    let harness = Harness::start().await;
    harness.push(1, SimOutcome::Ready);
    let fresh = harness.client();
    // The range answers, then the slug look-up fails: the call fails (so the monitor backs off).
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
}

/// The simulator's own HTTP surface, for what the client never gets wrong.
#[tokio::test]
async fn the_simulator_speaks_heroku_http() {
    let harness = Harness::start().await;
    for minute in 1..=3 {
        harness.push(minute, SimOutcome::Ready);
    }
    let http = reqwest::Client::new();
    let url = format!("{}/apps/{APP}/releases", harness.base);

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

use server::providers::rollback::RollbackProgress;
use server::simulators::SimRollbackOutcome;

#[tokio::test]
async fn a_rollback_creates_a_release_of_the_target_slug_that_becomes_current() {
    let harness = Harness::start().await;
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let [_, target, live] = harness.live_in_turn().await;
    let client = harness.client();
    let method = client.rollback_method().unwrap();
    assert_eq!(method.hold, None, "Heroku has no hold");
    assert!(method.caveats.iter().any(|c| c.contains("add-ons")));

    let environment = named("production");
    let started = client
        .roll_back(held_rollback_request(
            &target,
            &live,
            &environment,
            "bad release",
        ))
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
    let [_, target, live] = harness.live_in_turn().await;
    let failed = harness.push(4, SimOutcome::Failed);
    let client = harness.client();
    let environment = named("production");
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
        .roll_back(held_rollback_request(
            &failed,
            &live,
            &environment,
            "bad release",
        ))
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
        .roll_back(held_rollback_request(
            &target,
            &live,
            &environment,
            "bad release",
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 409, message } if message.contains("in progress")),
        "{error:?}"
    );
    assert_eq!(client.live_deployments().await.unwrap()[0].id, live.id);
}

#[tokio::test]
async fn the_simulator_speaks_heroku_rollback_http() {
    let harness = Harness::start().await;
    let [_, target, _live] = harness.live_in_turn().await;
    let http = reqwest::Client::new();
    let url = format!("{}/apps/{APP}/releases", harness.base);
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
