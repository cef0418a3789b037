//! The real Vercel client against the Vercel simulator: what is Vercel's own. Targets and
//! preview branches, team and project addressing, the replaced deployment that stays READY,
//! and instant rollback with its plan rules. Paging, auth, faults and "live is not the
//! newest" are the conformance suite's (`provider_conformance.rs`).

mod common;

use app::model::DeployState;
use common::providers::vercel::PROJECT_ID;
use common::providers::{
    created, ids_in, named, preview, rollback_request as request, spec_on, Kit, AUTHOR,
};
use server::providers::vercel::VercelClientConfig;
use server::providers::{list_recent_deployments, DeploymentProvider, ProviderError};
use server::simulators::vercel::VercelSimulator;
use server::simulators::SimOutcome;
use std::time::Duration;

type Vercel = Kit<VercelSimulator>;

/// A team project with a production history, a staging deployment and two preview branches.
/// Returns the kit and the ids pushed, oldest first.
async fn scenario() -> (Vercel, Vec<String>) {
    let kit = Vercel::start().await;
    let sim = &kit.sim;
    let mut ids = Vec::new();
    for minute in 0..40 {
        let outcome = if minute % 7 == 3 {
            SimOutcome::Failed
        } else {
            SimOutcome::Ready
        };
        ids.push(sim.push_deployment(
            PROJECT_ID,
            Some("production"),
            &spec_on("main", minute, outcome),
        ));
    }
    ids.push(sim.push_deployment(
        PROJECT_ID,
        Some("staging"),
        &spec_on("develop", 40, SimOutcome::Ready),
    ));
    let mut pr = spec_on("feature/login", 41, SimOutcome::Ready);
    pr.pr_number = Some(17);
    ids.push(sim.push_deployment(PROJECT_ID, None, &pr));
    let mut pr_broken = spec_on("feature/login", 42, SimOutcome::Failed);
    pr_broken.pr_number = Some(17);
    ids.push(sim.push_deployment(PROJECT_ID, None, &pr_broken));
    ids.push(sim.push_deployment(
        PROJECT_ID,
        None,
        &spec_on("fix/typo", 43, SimOutcome::Building),
    ));
    ids.push(sim.push_deployment(
        PROJECT_ID,
        Some("production"),
        &spec_on("main", 44, SimOutcome::Canceled),
    ));
    (kit, ids)
}

#[tokio::test]
async fn targets_previews_and_fields_map_across_pages() {
    let (kit, ids) = scenario().await;
    let deployments = list_recent_deployments(&kit.client(), 32, 10)
        .await
        .unwrap();
    let expected: Vec<&String> = ids.iter().rev().take(32).collect();
    let got: Vec<&String> = deployments.iter().map(|d| &d.id).collect();
    assert_eq!(
        got, expected,
        "across targets and previews, no gaps or repeats"
    );
    assert_eq!(kit.requests(), 4, "4 pages of 10 for a depth of 32");

    assert_eq!(deployments[0].state, DeployState::Canceled);
    assert_eq!(deployments[1].state, DeployState::Building);
    assert_eq!(
        deployments[2].environment,
        preview("feature/login", Some(17))
    );
    assert_eq!(deployments[2].state, DeployState::Failed);
    let staging = &deployments[4];
    assert_eq!(staging.environment, named("staging"));
    assert_eq!(staging.commit.branch.as_deref(), Some("develop"));
    assert_eq!(staging.commit.message.as_deref(), Some("change number 40"));
    assert_eq!(staging.commit.author.as_deref(), Some(AUTHOR));
    assert_eq!(staging.created_at, Some(created(40)));
    assert_eq!(
        staging.finished_at,
        Some(created(40) + chrono::Duration::minutes(2))
    );
    assert!(staging.url.as_deref().unwrap().starts_with("https://docs-"));
    assert!(staging
        .dashboard_url
        .as_deref()
        .unwrap()
        .starts_with("https://vercel.com/"));
}

#[tokio::test]
async fn live_deployment_per_environment_and_preview_branch() {
    let (kit, ids) = scenario().await;
    let live = kit.client().live_deployments().await.unwrap();

    // Minute 39 is the last production push that succeeded (44 was canceled).
    assert_eq!(ids_in(&live, &named("production")), [ids[39].as_str()]);
    assert_eq!(ids_in(&live, &named("staging")), [ids[40].as_str()]);
    // The newer failed build of the branch does not replace its ready preview.
    assert_eq!(
        ids_in(&live, &preview("feature/login", Some(17))),
        [ids[41].as_str()]
    );
    // A branch that has never been ready has no live preview.
    assert_eq!(live.len(), 3, "{live:#?}");
    let production = live.iter().find(|d| d.id == ids[39]).unwrap();
    assert_eq!(production.state, DeployState::Ready);
    assert!(
        production.dashboard_url.is_some(),
        "enriched from the deployment list"
    );
}

#[tokio::test]
async fn a_replaced_deployment_stays_ready_only_no_longer_live() {
    let (kit, ids) = scenario().await;
    let client = kit.client();
    let old = ids[39].clone();
    let new = kit.push_spec(&spec_on("main", 51, SimOutcome::Ready));
    let live = client.live_deployments().await.unwrap();
    let production = named("production");
    let live_production: Vec<_> = live
        .iter()
        .filter(|d| d.environment == production)
        .collect();
    assert_eq!(live_production.len(), 1);
    assert_eq!(live_production[0].id, new);
    assert_eq!(
        live_production[0].commit.message.as_deref(),
        Some("change number 51")
    );

    // Vercel has no superseded state: the replaced deployment stays READY, only no longer live.
    let replaced = client.deployment(&old).await.unwrap();
    assert_eq!(replaced.provider_state, "READY");
    assert!(live.iter().all(|d| d.id != old));
}

#[tokio::test]
async fn deployment_by_id_and_unknown_id() {
    let (kit, ids) = scenario().await;
    let client = kit.client();

    let building = client.deployment(&ids[43]).await.unwrap();
    assert_eq!(building.id, ids[43]);
    assert_eq!(building.state, DeployState::Building);
    assert_eq!(building.provider_state, "BUILDING");
    assert_eq!(building.finished_at, None);
    assert_eq!(building.environment, preview("fix/typo", None));
    assert_eq!(building.creator.as_deref(), Some("adalovelace"));

    let missing = client.deployment("dpl_doesnotexist").await.unwrap_err();
    assert!(
        matches!(missing, ProviderError::NotFound { .. }),
        "{missing:?}"
    );
}

#[tokio::test]
async fn the_project_by_id_works_and_an_unknown_project_is_not_found() {
    let kit = Vercel::start().await;
    let by_id = kit.client_for(VercelClientConfig {
        project: PROJECT_ID.into(),
        ..kit.config()
    });
    assert!(by_id.live_deployments().await.unwrap().is_empty());
    let unknown = kit.client_for(VercelClientConfig {
        project: "no-such-project".into(),
        ..kit.config()
    });
    let error = unknown.live_deployments().await.unwrap_err();
    assert!(matches!(error, ProviderError::NotFound { .. }), "{error:?}");
    let elsewhere = kit.client_for(VercelClientConfig {
        team_id: Some("team_someoneelse".into()),
        ..kit.config()
    });
    let error = elsewhere.live_deployments().await.unwrap_err();
    assert!(
        matches!(error, ProviderError::Forbidden { .. }),
        "{error:?}"
    );
}

// ---- Rollback ----

use server::providers::rollback::progress_until_settled as settled;

use server::providers::rollback::RollbackProgress;
use server::simulators::vercel::SimVercelPlan;
use server::simulators::SimRollbackOutcome;

#[tokio::test]
async fn an_instant_rollback_points_production_back_at_the_target() {
    let kit = Vercel::start().await;
    let [_, previous, live] = kit.live_in_turn().await;
    let sim = &kit.sim;
    sim.rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let client = kit.client();
    let production = named("production");
    assert_eq!(previous.rollback_refusal, None);
    let started = client
        .roll_back(request(&previous, &live, &production))
        .await
        .unwrap();
    assert_eq!(
        started.new_deployment_id, None,
        "the target itself goes live"
    );
    assert_eq!(sim.rollbacks.calls.get(), 1);
    let progress = settled(&client, &previous, &started, Duration::from_secs(5))
        .await
        .unwrap();
    let RollbackProgress::Live(now) = progress else {
        panic!("expected live, got {progress:?}");
    };
    assert_eq!(now.id, previous.id);
    assert_eq!(
        sim.live_deployment_id(PROJECT_ID, "production"),
        Some(previous.id.clone())
    );
    assert_eq!(sim.auto_assigns_domains(PROJECT_ID), Some(false));
}

#[tokio::test]
async fn vercel_refusals_carry_vercels_reason() {
    let kit = Vercel::start().await;
    let [oldest, previous, live] = kit.live_in_turn().await;
    let sim = &kit.sim;
    let client = kit.client();
    let production = named("production");
    // Hobby: only the previous production deployment.
    sim.set_plan(SimVercelPlan::Hobby);
    let error = client
        .roll_back(request(&oldest, &live, &production))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 402, message } if message.contains("upgrade to pro")),
        "{error:?}"
    );
    // A preview is no target, and Vercel says so on the deployment too.
    let preview_id =
        sim.push_deployment(PROJECT_ID, None, &spec_on("feature", 9, SimOutcome::Ready));
    let preview = client.deployment(&preview_id).await.unwrap();
    assert!(preview.rollback_refusal.is_some());
    let error = client
        .roll_back(request(&preview, &live, &production))
        .await
        .unwrap_err();
    assert!(format!("{error}").contains("production"), "{error}");
    // A conflict.
    sim.set_plan(SimVercelPlan::Pro);
    sim.rollbacks
        .set(SimRollbackOutcome::Refused, Duration::from_millis(10));
    let error = client
        .roll_back(request(&previous, &live, &production))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 409, message } if message.contains("in progress")),
        "{error:?}"
    );
}
