//! The real Fly client against the Fly simulator: what is Fly's own (GraphQL releases with
//! versions, what the machines run, macaroon tokens, the two APIs one call reads, its HTTP
//! surface, rollback by updating machines). Paging depth, auth, faults and "live is not the
//! newest" are the conformance suite's (`provider_conformance.rs`).

mod common;

use common::providers::fly::{APP, APP_URL, TOKEN};
use common::providers::{created, held_rollback_request, named, Kit, AUTHOR};

use app::model::DeployState;
use server::providers::fly::FlyClientConfig;
use server::providers::{list_recent_deployments, DeploymentProvider, ProviderError};
use server::simulators::fly::{FlySimulator, GRAPHQL_PATH, MACHINES_PATH};
use server::simulators::{SimFault, SimOutcome};
use std::time::Duration;

type Harness = Kit<FlySimulator>;

#[tokio::test]
async fn releases_map_onto_lookouts_states_and_pages_end_where_fly_says() {
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
    let mut pushed = Vec::new();
    for (index, outcome) in outcomes.iter().enumerate() {
        pushed.push(harness.push(10 + index as u32 * 3, *outcome));
    }
    pushed.reverse();
    let client = harness.client();
    let all = list_recent_deployments(&client, 100, 3).await.unwrap();
    assert_eq!(
        all.iter().map(|d| d.id.clone()).collect::<Vec<_>>(),
        pushed,
        "every release once, over three pages"
    );
    let states: Vec<DeployState> = all.iter().map(|d| d.state).collect();
    assert_eq!(
        states,
        vec![
            DeployState::Deploying,
            DeployState::Ready,
            DeployState::Superseded,
            DeployState::Canceled,
            DeployState::Superseded,
            DeployState::Failed,
            DeployState::Superseded,
        ]
    );
    let provider_states: Vec<&str> = all.iter().map(|d| d.provider_state.as_str()).collect();
    assert_eq!(
        provider_states,
        [
            "running",
            "complete",
            "complete",
            "interrupted",
            "complete",
            "failed",
            "complete"
        ]
    );

    let running = &all[0];
    assert_eq!(running.finished_at, None);
    assert_eq!(running.created_at, Some(created(28)));
    assert_eq!(running.creator.as_deref(), Some(AUTHOR));
    assert_eq!(running.commit.sha, None, "Fly releases carry no commit");
    assert_eq!(running.environment, named("production"));
    assert_eq!(running.url, None);
    assert_eq!(
        running.dashboard_url.as_deref(),
        Some("https://fly.io/apps/lookout-api")
    );
    let live = &all[1];
    assert_eq!(live.url.as_deref(), Some(APP_URL));
    assert_eq!(
        live.finished_at,
        Some(created(27)),
        "two minutes after 9:25"
    );

    // The last page by hand: a full page hands back a cursor, the end none.
    let page = client.list_deployments(None, 7).await.unwrap();
    assert_eq!(page.deployments.len(), 7);
    assert_eq!(page.next, None, "Fly says there is no next page");
    let page = client.list_deployments(None, 4).await.unwrap();
    let rest = client
        .list_deployments(page.next.as_ref(), 4)
        .await
        .unwrap();
    assert_eq!(rest.deployments.len(), 3);
    assert_eq!(rest.next, None);
}

#[tokio::test]
async fn the_live_release_is_what_the_machines_run() {
    let harness = Harness::start().await;
    let client = harness.client();
    assert!(
        client.live_deployments().await.unwrap().is_empty(),
        "no releases, no machines"
    );

    let first = harness.push(1, SimOutcome::Ready);
    harness.push(2, SimOutcome::Building);
    let live = client.live_deployments().await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, first);
    assert_eq!(live[0].state, DeployState::Ready);
    assert_eq!(live[0].url.as_deref(), Some(APP_URL));
    assert_eq!(live[0].environment, named("production"));
    assert_eq!(live[0].finished_at, Some(created(3)));

    // Scaled to zero: stopped and suspended machines still say what would serve.
    let machines = harness.sim.machine_ids(APP);
    assert!(harness.sim.set_machine_state(APP, &machines[0], "stopped"));
    assert!(harness
        .sim
        .set_machine_state(APP, &machines[1], "suspended"));
    assert_eq!(client.live_deployments().await.unwrap()[0].id, first);
}

#[tokio::test]
async fn machines_rolled_back_through_the_machines_api_win_over_the_current_release() {
    let harness = Harness::start().await;
    let client = harness.client();
    let old = harness.push(1, SimOutcome::Ready);
    let new = harness.push(5, SimOutcome::Ready);
    assert!(harness.sim.roll_machines_to(APP, &old));
    assert_eq!(
        harness.sim.current_release_id(APP),
        Some(new.clone()),
        "Fly's marker did not move"
    );

    let live = client.live_deployments().await.unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[0].id, old, "what the machines run serves traffic");
    assert_eq!(live[0].state, DeployState::Ready);
    assert_eq!(live[0].url.as_deref(), Some(APP_URL));

    // A destroyed machine no longer counts: the other one decides.
    let machines = harness.sim.machine_ids(APP);
    assert!(harness
        .sim
        .set_machine_state(APP, &machines[0], "destroyed"));
    assert_eq!(client.live_deployments().await.unwrap()[0].id, old);
}

#[tokio::test]
async fn a_release_by_id_by_version_and_unknown_ids() {
    let harness = Harness::start().await;
    let client = harness.client();
    let ids: Vec<String> = (1..=3)
        .map(|minute| harness.push(minute, SimOutcome::Ready))
        .collect();
    let canceled = harness.push(4, SimOutcome::Canceled);

    let release = client.deployment(&canceled).await.unwrap();
    assert_eq!(release.id, canceled);
    assert_eq!(release.state, DeployState::Canceled);
    assert_eq!(release.provider_state, "interrupted");
    assert_eq!(release.finished_at, Some(created(6)));

    let by_version = client.deployment("v2").await.unwrap();
    assert_eq!(by_version.id, ids[1]);
    assert_eq!(by_version.state, DeployState::Superseded);

    // An unknown id and a cursor never issued are conformance cases.
    let other_app = harness.client_for(FlyClientConfig {
        app: "ghost-app".into(),
        ..harness.config()
    });
    assert_eq!(
        other_app.list_deployments(None, 10).await.unwrap_err(),
        ProviderError::NotFound {
            message: "Could not find App \"ghost-app\"".into()
        }
    );
    assert!(matches!(
        other_app.live_deployments().await,
        Err(ProviderError::NotFound { .. })
    ));
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_on_the_machines_api_too() {
    let harness = Harness::start().await;
    harness.push(1, SimOutcome::Ready);
    let wrong = "fly_wrong_token_5678";
    let client = harness.client_with_token(wrong);
    // GraphQL answers a wrong token with 200 and an error body (the conformance suite); the
    // live check also reads the Machines API, which answers 401.
    let error = client.live_deployments().await.unwrap_err();
    assert!(
        matches!(error, ProviderError::Unauthorized { .. }),
        "{error:?}"
    );
    assert!(!format!("{error:?} {error} {client:?}").contains(wrong));
}

#[tokio::test]
async fn macaroon_tokens_are_sent_as_flyv1() {
    let token = "fm2_lJPECAAAAAAAAAAA,fm2_lJPETTTTTTTTTT";
    let sim = FlySimulator::new(token);
    sim.add_app(APP);
    let harness = Harness::serve(sim).await;
    let id = harness.push(1, SimOutcome::Ready);
    let client = harness.client_with_token(token);
    assert_eq!(client.live_deployments().await.unwrap()[0].id, id);
    // Pasted the way `fly tokens create deploy` prints it.
    let pasted = harness.client_with_token(&format!("FlyV1 {token}"));
    assert_eq!(
        pasted
            .list_deployments(None, 5)
            .await
            .unwrap()
            .deployments
            .len(),
        1
    );
}

#[tokio::test]
async fn a_429_on_either_api_rate_limits_the_live_check() {
    let harness = Harness::start().await;
    let id = harness.push(1, SimOutcome::Ready);
    let client = harness.client();
    // `live_deployments` sends its GraphQL and Machines requests at once; whichever gets the
    // fault, the call is rate limited with the same wait, and succeeds after it.
    harness.sim.faults.push_once(SimFault::RateLimited {
        retry_after_secs: 1,
    });
    let error = client.live_deployments().await.unwrap_err();
    assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(client.live_deployments().await.unwrap()[0].id, id);
}

/// The simulator's own HTTP surface, for what the client never sends.
#[tokio::test]
async fn the_simulator_speaks_fly_http() {
    let harness = Harness::start().await;
    let first = harness.push(1, SimOutcome::Ready);
    harness.push(2, SimOutcome::Failed);
    let http = reqwest::Client::new();
    let graphql = format!("{}{GRAPHQL_PATH}", harness.base);
    let machines = format!("{}{MACHINES_PATH}/apps/{APP}/machines", harness.base);

    let body = serde_json::json!({
        "query": "query($appName: String!) { app(name: $appName) { currentReleaseUnprocessed { id } releasesUnprocessed(first: 1, status: \"failed\") { totalCount nodes { id status imageRef stable user { email } } edges { cursor } pageInfo { hasNextPage } } } }",
        "variables": { "appName": APP },
    });
    let answer: serde_json::Value = http
        .post(&graphql)
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let app = &answer["data"]["app"];
    assert_eq!(app["currentReleaseUnprocessed"]["id"], first.as_str());
    assert_eq!(app["releasesUnprocessed"]["totalCount"], 1);
    assert_eq!(app["releasesUnprocessed"]["nodes"][0]["status"], "failed");
    assert_eq!(app["releasesUnprocessed"]["nodes"][0]["stable"], false);
    assert!(app["releasesUnprocessed"]["edges"][0]["cursor"].is_string());

    let response = http.get(&machines).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let listed: serde_json::Value = response.json().await.unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["state"], "started");
    assert_eq!(
        listed[0]["config"]["metadata"]["fly_release_id"],
        first.as_str()
    );
    assert_eq!(listed[0]["image_ref"]["registry"], "registry.fly.io");
    assert_eq!(listed[0]["checks"][0]["status"], "passing");

    let response = http.get(&machines).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "Authenticate: token validation error");

    let response = http
        .get(format!(
            "{}{MACHINES_PATH}/apps/ghost/machines",
            harness.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);

    harness.sim.faults.push_once(SimFault::RateLimited {
        retry_after_secs: 9,
    });
    let response = http.get(&machines).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "9");

    let response = http
        .post(&graphql)
        .header("authorization", format!("FlyV1 {TOKEN}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["data"], serde_json::Value::Null);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHORIZED");
}

// ---- Rollback ----

use server::providers::rollback::progress_until_settled as settled;

use server::providers::rollback::RollbackProgress;
use server::simulators::SimRollbackOutcome;

#[tokio::test]
async fn a_rollback_puts_every_machine_on_the_target_image_and_the_target_goes_live() {
    let harness = Harness::start().await;
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let [_, target, live] = harness.live_in_turn().await;
    let client = harness.client();
    let method = client.rollback_method().unwrap();
    assert_eq!(method.hold, None);
    assert!(method.caveats.iter().any(|c| c.contains("pruned")));

    let environment = named("production");
    let started = client
        .roll_back(held_rollback_request(
            &target,
            &live,
            &environment,
            "bad image",
        ))
        .await
        .unwrap();
    // The simulator, like Fly as the contract infers, records no release for it.
    assert_eq!(started.new_deployment_id, None);
    let machines = harness.sim.machine_ids(APP);
    assert_eq!(
        started.provider_reference,
        Some(format!("machines: {}", machines.join(", ")))
    );
    assert_eq!(started.hold, None);
    assert_eq!(
        harness.sim.rollbacks.calls.get(),
        1,
        "one rollout, two machines"
    );
    assert!(harness
        .sim
        .machine_images(APP)
        .iter()
        .all(|(_, state)| state == "starting"));

    let progress = settled(&client, &target, &started, Duration::from_secs(5))
        .await
        .unwrap();
    let RollbackProgress::Live(now_live) = progress else {
        panic!("expected live, got {progress:?}");
    };
    assert_eq!(now_live.id, target.id);
    let reread = client.live_deployments().await.unwrap();
    assert_eq!(reread[0].id, target.id);
    assert!(server::providers::rollback::is_rollback_outcome(
        &reread[0], &target, &started
    ));
    assert_eq!(
        harness.sim.current_release_id(APP).as_deref(),
        Some(live.id.as_str()),
        "Fly's marker still names the newer release"
    );
    assert!(harness
        .sim
        .machine_images(APP)
        .iter()
        .all(|(image, state)| state == "started" && image.contains(":deployment-")));
}

#[tokio::test]
async fn fly_refusals_carry_flys_reason() {
    let harness = Harness::start().await;
    let [_, target, live] = harness.live_in_turn().await;
    let client = harness.client();
    let environment = named("production");

    harness.sim.prune_image(APP, &target.id);
    let error = client
        .roll_back(held_rollback_request(
            &target,
            &live,
            &environment,
            "bad image",
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 422, message } if message.contains("manifest unknown")),
        "{error:?}"
    );

    let first = client.deployment("v1").await.unwrap();
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::Refused, Duration::from_millis(10));
    let error = client
        .roll_back(held_rollback_request(
            &first,
            &live,
            &environment,
            "bad image",
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 409, message } if message.contains("leased")),
        "{error:?}"
    );
    assert_eq!(client.live_deployments().await.unwrap()[0].id, live.id);
}

#[tokio::test]
async fn machine_updates_need_the_whole_config() {
    let harness = Harness::start().await;
    let [_, target, _live] = harness.live_in_turn().await;
    let machine = harness.sim.machine_ids(APP).remove(0);
    let url = format!(
        "{}{MACHINES_PATH}/apps/{APP}/machines/{machine}",
        harness.base
    );
    let http = reqwest::Client::new();
    let image = format!("registry.fly.io/{APP}:deployment-");
    let response = http
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({ "config": { "image": image } }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("partial"),
        "{body}"
    );
    let response = http
        .post(&url)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(target.rollback_refusal, None, "a release with an image");
    assert_eq!(harness.sim.rollbacks.calls.get(), 0);
}

/// UNCONFIRMED whether Fly records a release for Machines-API updates; when it does, that
/// release is the rollback's deployment.
#[tokio::test]
async fn when_fly_records_a_release_for_the_update_it_is_the_rollbacks_deployment() {
    let harness = Harness::start().await;
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let [_, target, live] = harness.live_in_turn().await;
    harness.sim.set_release_on_machine_update(APP, true);
    let client = harness.client();
    let environment = named("production");
    let started = client
        .roll_back(held_rollback_request(
            &target,
            &live,
            &environment,
            "bad image",
        ))
        .await
        .unwrap();
    let recorded = started
        .new_deployment_id
        .clone()
        .expect("a recorded release");
    assert_ne!(recorded, target.id);
    assert_eq!(
        client.deployment(&recorded).await.unwrap().provider_state,
        "running"
    );
    assert!(started
        .provider_reference
        .as_deref()
        .is_some_and(|reference| reference.starts_with("machines: ")));

    let progress = settled(&client, &target, &started, Duration::from_secs(5))
        .await
        .unwrap();
    let RollbackProgress::Live(now_live) = progress else {
        panic!("expected live, got {progress:?}");
    };
    assert_eq!(now_live.id, recorded);
    assert_eq!(harness.sim.current_release_id(APP), Some(recorded.clone()));
    let reread = client.live_deployments().await.unwrap();
    assert_eq!(reread[0].id, recorded);
    assert!(server::providers::rollback::is_rollback_outcome(
        &reread[0], &target, &started
    ));
    assert_eq!(harness.sim.rollbacks.calls.get(), 1);
}
