//! The real Render client against the Render simulator: what is Render's own (cursor paging,
//! the deploy with status `live`, deactivated deploys, its HTTP surface, rollback as a new
//! deploy with the auto-deploy hold). Paging depth, auth, faults and "live is not the newest"
//! are the conformance suite's (`provider_conformance.rs`).

mod common;

use common::providers::render::{SERVICE, SERVICE_URL, TOKEN};
use common::providers::{created, ids, named, sha, Kit, PushOrder};

use app::model::DeployState;
use server::providers::{list_recent_deployments, DeploymentProvider, ProviderError};
use server::simulators::render::RenderSimulator;
use server::simulators::{SimFault, SimOutcome};
use std::time::Duration;

type Harness = Kit<RenderSimulator>;

#[tokio::test]
async fn cursor_pages_and_deploy_states_map_onto_lookouts() {
    let harness = Harness::start().await;
    let newest_first = harness.push_mixed_history(PushOrder::OldestLast);
    let client = harness.client();
    // Depth and states over this history are the conformance suite's; the order by creation
    // time, not push order, is this API's.
    let all = list_recent_deployments(&client, 100, 3).await.unwrap();
    assert_eq!(ids(&all), newest_first);

    // The first page by hand: a full page hands back a cursor, the last one none.
    let page = client.list_deployments(None, 8).await.unwrap();
    assert_eq!(page.deployments.len(), 8);
    let next = page.next.expect("a full page has a next cursor");
    let rest = client.list_deployments(Some(&next), 8).await.unwrap();
    assert!(rest.deployments.is_empty());
    assert_eq!(rest.next, None);

    let building = &all[0];
    assert_eq!(building.state, DeployState::Building);
    assert_eq!(building.provider_state, "build_in_progress");
    assert_eq!(building.finished_at, None);
    assert_eq!(building.created_at, Some(created(28)));
    assert_eq!(building.commit.message.as_deref(), Some("change number 28"));
    assert_eq!(building.commit.sha, Some(sha(28)));
    assert_eq!(
        building.commit.author, None,
        "Render deploys carry no author"
    );
    assert_eq!(building.environment, named("production"));
    assert_eq!(building.url, None);
}

#[tokio::test]
async fn the_live_deploy_is_the_one_with_status_live() {
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
    assert_eq!(found.url.as_deref(), Some(SERVICE_URL));
    assert_eq!(found.environment, named("production"));
    assert_eq!(
        found.finished_at,
        Some(created(3)),
        "finished two minutes later"
    );
    assert_eq!(
        found.dashboard_url,
        Some(format!(
            "https://dashboard.render.com/web/{SERVICE}/deploys/{live}"
        ))
    );
}

#[tokio::test]
async fn a_deploy_by_id_and_unknown_ids() {
    let harness = Harness::start().await;
    let client = harness.client();
    let id = harness.push(1, SimOutcome::Canceled);
    let deploy = client.deployment(&id).await.unwrap();
    assert_eq!(deploy.id, id);
    assert_eq!(deploy.state, DeployState::Canceled);
    assert_eq!(deploy.commit.message.as_deref(), Some("change number 1"));

    // An unknown id and a cursor never issued are conformance cases.
    let other_service = harness.client_elsewhere();
    assert!(matches!(
        other_service.list_deployments(None, 10).await,
        Err(ProviderError::NotFound { message }) if message == "service not found"
    ));
}

#[tokio::test]
async fn running_out_of_budget_is_a_429_with_retry_after() {
    let harness = Harness::start().await;
    harness.sim.set_requests_per_minute(2);
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

/// The simulator's own HTTP surface, for what the client never sends.
#[tokio::test]
async fn the_simulator_speaks_render_http() {
    let harness = Harness::start().await;
    let live = harness.push(1, SimOutcome::Ready);
    let failed = harness.push(2, SimOutcome::Failed);
    harness.push(3, SimOutcome::Building);
    let http = reqwest::Client::new();
    let url = format!("{}/services/{SERVICE}/deploys", harness.base);

    let response = http
        .get(&url)
        .bearer_auth(TOKEN)
        .query(&[("status", "live,build_failed"), ("limit", "100")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for name in ["ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"] {
        assert!(response.headers().contains_key(name), "{name}");
    }
    let items: serde_json::Value = response.json().await.unwrap();
    let ids: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["deploy"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [failed.as_str(), live.as_str()]);
    assert!(items[0]["cursor"].is_string());
    assert_eq!(items[1]["deploy"]["status"], "live");
    assert_eq!(items[1]["deploy"]["trigger"], "new_commit");
    assert_eq!(items[1]["deploy"]["createdAt"], "2026-03-01T09:01:00Z");

    // `status` may also repeat.
    let repeated: serde_json::Value = http
        .get(format!("{url}?status=live&status=build_in_progress"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(repeated.as_array().unwrap().len(), 2);

    for limit in ["0", "101"] {
        let response = http
            .get(&url)
            .bearer_auth(TOKEN)
            .query(&[("limit", limit)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "limit {limit}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("limit"));
    }

    let response = http
        .get(format!("{url}/dep-nope"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["id"], "not-found");

    harness.sim.faults.push_once(SimFault::RateLimited {
        retry_after_secs: 9,
    });
    let response = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "9");
    assert_eq!(response.headers()["ratelimit-remaining"], "0");

    let response = http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401, "no token");
}

// ---- Rollback ----

use server::providers::rollback::progress_until_settled as settled;

use server::providers::rollback::{HoldKind, HoldRelease, RollbackProgress, RollbackRequest};
use server::simulators::SimRollbackOutcome;

#[tokio::test]
async fn a_rollback_starts_a_new_deploy_of_the_target_commit_that_goes_live() {
    let harness = Harness::start().await;
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let [_, target, live] = harness.live_in_turn().await;
    let client = harness.client();
    let environment = named("production");
    let started = client
        .roll_back(RollbackRequest {
            environment: &environment,
            target: &target,
            live: &live,
            reason: "bad release",
            place_hold: true,
        })
        .await
        .unwrap();
    let created = started.new_deployment_id.clone().unwrap();
    assert_ne!(created, target.id, "Render makes a new deploy");
    assert_eq!(started.hold, Some(HoldKind::AutoDeployPaused));
    assert_eq!(harness.sim.auto_deploy(SERVICE), Some("no"));
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
    assert_eq!(
        client.deployment(&live.id).await.unwrap().state,
        DeployState::Superseded
    );

    client
        .release_hold(
            &environment,
            HoldKind::AutoDeployPaused,
            HoldRelease::Resume,
        )
        .await
        .unwrap();
    assert_eq!(harness.sim.auto_deploy(SERVICE), Some("yes"));
}

#[tokio::test]
async fn without_the_hold_auto_deploy_stays_on() {
    let harness = Harness::start().await;
    let [_, target, live] = harness.live_in_turn().await;
    let environment = named("production");
    let started = harness
        .client()
        .roll_back(RollbackRequest {
            environment: &environment,
            target: &target,
            live: &live,
            reason: "",
            place_hold: false,
        })
        .await
        .unwrap();
    assert_eq!(started.hold, None);
    assert_eq!(harness.sim.auto_deploy(SERVICE), Some("yes"));
}

#[tokio::test]
async fn refusals_carry_renders_reason() {
    let harness = Harness::start().await;
    let [_, target, live] = harness.live_in_turn().await;
    let failed = harness.push(4, SimOutcome::Failed);
    let client = harness.client();
    let environment = named("production");
    let failed = client.deployment(&failed).await.unwrap();
    let error = client
        .roll_back(RollbackRequest {
            environment: &environment,
            target: &failed,
            live: &live,
            reason: "",
            place_hold: false,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 400, message } if message.contains("never went live")),
        "{error:?}"
    );

    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::Refused, Duration::from_millis(10));
    let error = client
        .roll_back(RollbackRequest {
            environment: &environment,
            target: &target,
            live: &live,
            reason: "",
            place_hold: false,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 409, message } if message.contains("in progress")),
        "{error:?}"
    );
}

#[tokio::test]
async fn deploys_past_artifact_retention_are_refused() {
    let harness = Harness::start().await;
    let oldest = harness.push(1, SimOutcome::Ready);
    for minute in 2..=7 {
        harness.push(minute, SimOutcome::Ready);
    }
    let client = harness.client();
    let oldest = client.deployment(&oldest).await.unwrap();
    let live = client.live_deployments().await.unwrap().remove(0);
    let error = client
        .roll_back(RollbackRequest {
            environment: &named("production"),
            target: &oldest,
            live: &live,
            reason: "",
            place_hold: false,
        })
        .await
        .unwrap_err();
    assert!(format!("{error}").contains("no longer retained"), "{error}");
}
