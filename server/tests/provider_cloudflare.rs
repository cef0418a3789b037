//! The real Cloudflare Pages client against the Cloudflare Pages simulator: what is Pages'
//! own (`result_info` paging within the 25-per-page cap, `canonical_deployment` and preview
//! branches, stage-based states, its per-window budget, rollback to a production build).
//! Paging depth, auth, faults and "live is not the newest" are the conformance suite's
//! (`provider_conformance.rs`).

mod common;

use app::model::DeployState;
use common::providers::cloudflare::{ACCOUNT, PROJECT};
use common::providers::{created, ids_in, named, preview, rollback_request, sha, spec_on, Kit};
use server::providers::cloudflare::CloudflarePagesClientConfig;
use server::providers::{list_recent_deployments, DeploymentProvider, ProviderError};
use server::simulators::cloudflare::CloudflarePagesSimulator;
use server::simulators::SimOutcome;
use std::time::Duration;

type Pages = Kit<CloudflarePagesSimulator>;

/// Production deployments in the scenario; with 5 more previews, 65 in all.
const PRODUCTION_PUSHES: u32 = 60;

/// A project with a long production history and previews of three branches. Returns the
/// kit and the ids pushed, oldest first.
async fn scenario() -> (Pages, Vec<String>) {
    let kit = Pages::start().await;
    let mut ids = kit.production_history(PRODUCTION_PUSHES);
    let pushes = [
        // 60: staging's preview; 61, 62: a feature branch ready, then failed.
        ("preview", SimOutcome::Ready, "staging"),
        ("preview", SimOutcome::Ready, "feature/login"),
        ("preview", SimOutcome::Failed, "feature/login"),
        // 63: a preview still building; 64: a canceled production build.
        ("preview", SimOutcome::Building, "fix/typo"),
        ("production", SimOutcome::Canceled, "main"),
    ];
    for (minute, (environment, outcome, branch)) in (PRODUCTION_PUSHES..).zip(pushes) {
        ids.push(kit.sim.push_deployment(
            ACCOUNT,
            PROJECT,
            environment,
            &spec_on(branch, minute, outcome),
        ));
    }
    (kit, ids)
}

#[tokio::test]
async fn paging_reads_several_pages_newest_first() {
    let (kit, ids) = scenario().await;
    let sim = &kit.sim;
    let client = kit.client();

    let deployments = list_recent_deployments(&client, 32, 10).await.unwrap();
    assert_eq!(deployments.len(), 32);
    let expected: Vec<&String> = ids.iter().rev().take(32).collect();
    let got: Vec<&String> = deployments.iter().map(|d| &d.id).collect();
    assert_eq!(
        got, expected,
        "newest first, no gaps or repeats across pages"
    );
    assert!(deployments
        .windows(2)
        .all(|w| w[0].created_at > w[1].created_at));
    assert_eq!(sim.requests.get(), 4, "4 pages of 10 for a depth of 32");

    assert_eq!(deployments[0].state, DeployState::Canceled);
    assert_eq!(deployments[0].provider_state, "build:canceled");
    assert_eq!(deployments[1].state, DeployState::Building);
    assert_eq!(deployments[1].provider_state, "build:active");
    assert_eq!(deployments[2].state, DeployState::Failed);
    assert_eq!(deployments[2].environment, preview("feature/login", None));
    let staging = &deployments[4];
    assert_eq!(staging.state, DeployState::Ready);
    assert_eq!(staging.provider_state, "deploy:success");
    assert_eq!(staging.environment, preview("staging", None));
    assert_eq!(staging.commit.branch.as_deref(), Some("staging"));
    assert_eq!(staging.commit.message.as_deref(), Some("change number 60"));
    assert_eq!(staging.commit.sha, Some(sha(60)));
    assert_eq!(staging.commit.author, None, "Pages records no author");
    assert_eq!(staging.created_at, Some(created(60)));
    assert_eq!(
        staging.finished_at,
        Some(created(60) + chrono::Duration::minutes(2))
    );
    assert!(staging
        .url
        .as_deref()
        .unwrap()
        .ends_with(".ninjakittens.pages.dev"));
    assert_eq!(
        staging.dashboard_url,
        Some(format!(
            "https://dash.cloudflare.com/{ACCOUNT}/pages/view/{PROJECT}/{}",
            ids[60]
        ))
    );
}

#[tokio::test]
async fn a_large_page_size_is_capped_and_the_listing_ends_with_the_history() {
    let (kit, ids) = scenario().await;
    let sim = &kit.sim;
    // Asking for 100 per page must not trip the endpoint's 25-per-page limit: 65 deployments
    // come in three pages (25, 25, 15), and `result_info` says the third is the last.
    let all = list_recent_deployments(&kit.client(), 500, 100)
        .await
        .unwrap();
    assert_eq!(all.len(), ids.len());
    assert_eq!(all.last().map(|d| &d.id), ids.first());
    assert_eq!(sim.requests.get(), 3);
}

#[tokio::test]
async fn live_deployment_is_canonical_plus_preview_branches() {
    let (kit, ids) = scenario().await;
    let sim = &kit.sim;
    let live = kit.client().live_deployments().await.unwrap();

    // Minute 58 is the last production push that succeeded (59 failed, 64 was canceled).
    assert_eq!(ids_in(&live, &named("production")), [ids[58].as_str()]);
    assert_eq!(
        sim.canonical_deployment_id(ACCOUNT, PROJECT),
        Some(ids[58].clone())
    );
    assert_eq!(ids_in(&live, &preview("staging", None)), [ids[60].as_str()]);
    // The newer failed build of the branch does not replace its ready preview.
    assert_eq!(
        ids_in(&live, &preview("feature/login", None)),
        [ids[61].as_str()]
    );
    // A branch that has never been ready has no live preview.
    assert_eq!(live.len(), 3, "{live:#?}");
    let production = live.iter().find(|d| d.id == ids[58]).unwrap();
    assert_eq!(production.state, DeployState::Ready);
    assert_eq!(
        production.commit.message.as_deref(),
        Some("change number 58")
    );
    assert!(production.dashboard_url.is_some());
    assert_eq!(
        sim.requests.get(),
        2,
        "project and first page, nothing more"
    );
}

#[tokio::test]
async fn a_canonical_deployment_that_failed_is_not_reported_live() {
    let (kit, ids) = scenario().await;
    let sim = &kit.sim;
    // Should `canonical_deployment` mean "newest production attempt", it would name the
    // canceled build of minute 64; what serves production is then the newest successful one.
    assert!(sim.set_canonical_deployment(ACCOUNT, PROJECT, &ids[64]));
    let live = kit.client().live_deployments().await.unwrap();
    let production: Vec<_> = live
        .iter()
        .filter(|d| d.environment == named("production"))
        .collect();
    assert_eq!(production.len(), 1);
    assert_eq!(production[0].id, ids[58]);
    assert_eq!(production[0].state, DeployState::Ready);
    assert_eq!(
        sim.requests.get(),
        3,
        "project, first page, first production page"
    );
}

#[tokio::test]
async fn a_replaced_deployment_keeps_its_stage_only_no_longer_canonical() {
    let (kit, ids) = scenario().await;
    let client = kit.client();
    let old = ids[58].clone();
    let production = named("production");

    let failed = kit.push(70, SimOutcome::Failed);
    let failed = client.deployment(&failed).await.unwrap();
    assert_eq!(failed.state, DeployState::Failed);
    assert_eq!(failed.provider_state, "build:failure");

    let new = kit.push(71, SimOutcome::Ready);
    let live = client.live_deployments().await.unwrap();
    let live_production: Vec<_> = live
        .iter()
        .filter(|d| d.environment == production)
        .collect();
    assert_eq!(live_production.len(), 1);
    assert_eq!(live_production[0].id, new);

    // Pages has no superseded state: the replaced deployment keeps its successful deploy
    // stage and is only no longer canonical.
    let replaced = client.deployment(&old).await.unwrap();
    assert_eq!(replaced.provider_state, "deploy:success");
    assert!(live.iter().all(|d| d.id != old));
}

#[tokio::test]
async fn deployment_by_id_and_unknown_ids() {
    let (kit, ids) = scenario().await;
    let client = kit.client();

    let building = client.deployment(&ids[63]).await.unwrap();
    assert_eq!(building.id, ids[63]);
    assert_eq!(building.state, DeployState::Building);
    assert_eq!(building.finished_at, None);
    assert_eq!(building.environment, preview("fix/typo", None));

    let missing = client
        .deployment("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, ProviderError::NotFound { message } if message.contains("code 8000009")),
        "{missing:?}"
    );
    let unknown_project = kit.client_for(CloudflarePagesClientConfig {
        project_name: "no-such-project".into(),
        ..kit.config()
    });
    let error = unknown_project.live_deployments().await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::NotFound { message } if message.contains("code 8000007")),
        "{error:?}"
    );
}

#[tokio::test]
async fn running_out_of_budget_is_a_429_with_a_wait() {
    let (kit, _) = scenario().await;
    kit.sim.set_requests_per_window(1);
    let client = kit.client();
    client.list_deployments(None, 5).await.unwrap();
    let error = client.list_deployments(None, 5).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after: Some(wait), .. }
            if wait >= Duration::from_secs(1) && wait <= Duration::from_secs(300)),
        "{error:?}"
    );
}

// ---- Rollback ----

use server::providers::rollback::progress_until_settled as settled;

use server::providers::rollback::RollbackProgress;
use server::simulators::SimRollbackOutcome;

#[tokio::test]
async fn a_pages_rollback_makes_the_target_canonical() {
    let kit = Pages::start().await;
    let [previous, live] = kit.live_in_turn().await;
    let sim = &kit.sim;
    sim.rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let client = kit.client();
    let production = named("production");
    let started = client
        .roll_back(rollback_request(&previous, &live, &production))
        .await
        .unwrap();
    assert_eq!(
        started.new_deployment_id, None,
        "the simulator answers with the target"
    );
    let progress = settled(&client, &previous, &started, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        matches!(&progress, RollbackProgress::Live(now) if now.id == previous.id),
        "{progress:?}"
    );
    assert_eq!(
        sim.canonical_deployment_id(ACCOUNT, PROJECT),
        Some(previous.id.clone())
    );
}

#[tokio::test]
async fn pages_refusals_carry_cloudflares_reason() {
    let kit = Pages::start().await;
    let [previous, live] = kit.live_in_turn().await;
    let sim = &kit.sim;
    let client = kit.client();
    let production = named("production");
    let preview = sim.push_deployment(
        ACCOUNT,
        PROJECT,
        "preview",
        &spec_on("feature", 3, SimOutcome::Ready),
    );
    let preview = client.deployment(&preview).await.unwrap();
    let error = client
        .roll_back(rollback_request(&preview, &live, &production))
        .await
        .unwrap_err();
    assert!(
        format!("{error}").contains("successful builds on production"),
        "{error}"
    );
    let progress = kit
        .settle_rollback(
            (SimRollbackOutcome::NeverLive, Duration::from_millis(10)),
            rollback_request(&previous, &live, &production),
            Duration::from_millis(500),
        )
        .await;
    assert!(
        matches!(progress, RollbackProgress::Waiting { .. }),
        "{progress:?}"
    );
    // A second one while the first is pending is a conflict.
    let error = client
        .roll_back(rollback_request(&previous, &live, &production))
        .await
        .unwrap_err();
    assert!(
        format!("{error}").contains("already in progress"),
        "{error}"
    );
}
