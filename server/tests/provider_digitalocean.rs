//! The real DigitalOcean App Platform client against the DigitalOcean simulator: what is App
//! Platform's own (page-number cursors, the active deployment, superseded phases, component
//! health, its HTTP surface, pinned rollbacks). Paging depth, auth, faults and "live is not the
//! newest" are the conformance suite's (`provider_conformance.rs`).

mod common;

use common::providers::digitalocean::{APP, LIVE_URL, TOKEN};
use common::providers::{created, ids, named, rollback_request, sha, Kit, PushOrder};

use app::model::{DeployState, HealthState};
use server::providers::{list_recent_deployments, DeploymentProvider, PageCursor, ProviderError};
use server::simulators::digitalocean::{DigitalOceanSimulator, SimComponentState};
use server::simulators::{SimFault, SimOutcome};
use std::time::Duration;

type Harness = Kit<DigitalOceanSimulator>;

#[tokio::test]
async fn pages_are_numbered_and_deployments_map_onto_lookouts() {
    let harness = Harness::start().await;
    let newest_first = harness.push_mixed_history(PushOrder::OldestLast);
    let client = harness.client();
    // Depth and states over this history are the conformance suite's; the order by creation
    // time, not push order, is this API's.
    let all = list_recent_deployments(&client, 100, 3).await.unwrap();
    assert_eq!(ids(&all), newest_first);

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
    assert_eq!(building.commit.sha, Some(sha(28)));
    assert_eq!(building.commit.branch.as_deref(), Some("main"));
    assert_eq!(
        building.commit.message.as_deref(),
        Some(format!("commit {} pushed to github/acme/api", &sha(28)[..7]).as_str()),
        "the cause stands in for the message"
    );
    assert_eq!(building.commit.author, None, "no author on App Platform");
    assert_eq!(building.environment, named("production"));
    assert_eq!(building.url, None);
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
    assert_eq!(found.environment, named("production"));
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
async fn a_deployment_by_id_and_unknown_ids() {
    let harness = Harness::start().await;
    let client = harness.client();
    let id = harness.push(1, SimOutcome::Canceled);
    let deployment = client.deployment(&id).await.unwrap();
    assert_eq!(deployment.id, id);
    assert_eq!(deployment.state, DeployState::Canceled);
    assert_eq!(deployment.finished_at, Some(created(3)));

    // An unknown id and a cursor never issued are conformance cases.
    let other_app = harness.client_elsewhere();
    assert!(matches!(
        other_app.list_deployments(None, 10).await,
        Err(ProviderError::NotFound { .. })
    ));
    assert!(matches!(
        other_app.live_deployments().await,
        Err(ProviderError::NotFound { .. })
    ));
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

    // The list, live and by-id reads are the conformance suite's; health is App Platform's.
    harness.faults().set_sticky(SimFault::Garbage);
    let error = client.app_health().await.unwrap_err();
    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}

/// The simulator's own HTTP surface, for what the client never looks at.
#[tokio::test]
async fn the_simulator_speaks_digitalocean_http() {
    let harness = Harness::start().await;
    for minute in 1..=3 {
        harness.push(minute, SimOutcome::Ready);
    }
    let http = reqwest::Client::new();
    let url = format!("{}/v2/apps/{APP}/deployments", harness.base);

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

use server::providers::rollback::{HoldKind, HoldPlacement, HoldRelease, RollbackProgress};
use server::simulators::SimRollbackOutcome;

#[tokio::test]
async fn a_rollback_deploys_the_target_commit_pins_the_app_and_commits() {
    let harness = Harness::start().await;
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let [_, target, live] = harness.live_in_turn().await;
    let client = harness.client();
    let method = client.rollback_method().unwrap();
    let hold = method.hold.unwrap();
    assert_eq!(
        (hold.kind, hold.placement),
        (HoldKind::Pinned, HoldPlacement::Always)
    );

    let environment = named("production");
    let started = client
        .roll_back(rollback_request(&target, &live, &environment))
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
        .roll_back(rollback_request(&live, &now_live, &environment))
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
    let [_, target, live] = harness.live_in_turn().await;
    let client = harness.client();
    let environment = named("production");
    let started = client
        .roll_back(rollback_request(&target, &live, &environment))
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
    let [_, target, live] = harness.live_in_turn().await;
    let failed = harness.push(4, SimOutcome::Failed);
    let client = harness.client();
    let environment = named("production");
    let failed = client.deployment(&failed).await.unwrap();
    let error = client
        .roll_back(rollback_request(&failed, &live, &environment))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 422, message }
            if message.contains("deployment result \"failed\" is unsuitable for rollback")),
        "{error:?}"
    );

    harness.sim.set_revision_limit(APP, Some(0));
    let error = client
        .roll_back(rollback_request(&target, &live, &environment))
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
        .roll_back(rollback_request(&target, &live, &environment))
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
    let [_, target, live] = harness.live_in_turn().await;
    harness.sim.add_rollback_warning(
        APP,
        "image_source_missing_digest",
        "one or more components are missing an image digest",
    );
    let client = harness.client();
    let environment = named("production");
    let started = client
        .roll_back(rollback_request(&target, &live, &environment))
        .await
        .unwrap();
    let reference = started.provider_reference.unwrap();
    assert!(
        reference.contains("image_source_missing_digest") && reference.contains("image digest"),
        "{reference}"
    );
}

/// How a failed rollback reads (failed, in DigitalOcean's words) is a conformance case; what is
/// DigitalOcean's own is that the rollback pinned the app, and the pin stays until reverted.
#[tokio::test]
async fn a_failed_digitalocean_rollback_still_pins_the_app_until_reverted() {
    let harness = Harness::start().await;
    let [_, target, live] = harness.live_in_turn().await;
    let client = harness.client();
    let environment = named("production");

    let progress = harness
        .settle_rollback(
            (SimRollbackOutcome::Fails, Duration::from_millis(100)),
            rollback_request(&target, &live, &environment),
            Duration::from_secs(5),
        )
        .await;
    assert!(
        matches!(&progress, RollbackProgress::Failed { .. }),
        "{progress:?}"
    );
    client
        .release_hold(&environment, HoldKind::Pinned, HoldRelease::Revert)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_simulator_speaks_digitalocean_rollback_http() {
    let harness = Harness::start().await;
    let [_, target, _live] = harness.live_in_turn().await;
    let http = reqwest::Client::new();
    let base = format!("{}/v2/apps/{APP}/rollback", harness.base);
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
