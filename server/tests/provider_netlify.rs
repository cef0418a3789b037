//! The real Netlify client against the Netlify simulator: what is Netlify's own (page-number
//! paging with and without `Link` headers, the published deploy, deploy previews and branch
//! deploys, a site by its domain, its per-minute budget, restore with the publishing lock).
//! Paging depth, auth, faults and "live is not the newest" are the conformance suite's
//! (`provider_conformance.rs`).

mod common;

use app::model::DeployState;
use common::providers::netlify::SITE_ID;
use common::providers::{
    created, held_rollback_request, ids_in, named, preview, rollback_request, sha, spec_on, Kit,
};
use server::providers::netlify::NetlifyClientConfig;
use server::providers::{list_recent_deployments, DeploymentProvider, ProviderError};
use server::simulators::netlify::NetlifySimulator;
use server::simulators::SimOutcome;
use std::time::Duration;

type Netlify = Kit<NetlifySimulator>;

/// A site with a production history, a deploy preview and a branch deploy. Returns the kit
/// and the ids pushed, oldest first.
async fn scenario() -> (Netlify, Vec<String>) {
    let kit = Netlify::start().await;
    let sim = &kit.sim;
    let mut ids = kit.production_history(40);
    // 40: the staging branch deploy.
    ids.push(sim.push_deployment(
        SITE_ID,
        "branch-deploy",
        &spec_on("staging", 40, SimOutcome::Ready),
    ));
    // 41, 42: a PR's deploy preview that was ready, then a newer one that failed.
    for (minute, outcome) in [(41, SimOutcome::Ready), (42, SimOutcome::Failed)] {
        let mut pr = spec_on("feature/login", minute, outcome);
        pr.pr_number = Some(17);
        ids.push(sim.push_deployment(SITE_ID, "deploy-preview", &pr));
    }
    // 43: a preview still building; 44: a canceled production deploy.
    ids.push(sim.push_deployment(
        SITE_ID,
        "deploy-preview",
        &spec_on("fix/typo", 43, SimOutcome::Building),
    ));
    ids.push(kit.push(44, SimOutcome::Canceled));
    (kit, ids)
}

#[tokio::test]
async fn contexts_and_fields_map_onto_lookouts() {
    let (kit, ids) = scenario().await;
    let client = kit.client();

    let deployments = list_recent_deployments(&client, 32, 10).await.unwrap();

    assert_eq!(deployments[0].state, DeployState::Canceled);
    assert_eq!(deployments[0].provider_state, "canceled");
    assert_eq!(deployments[1].state, DeployState::Building);
    assert_eq!(
        deployments[2].environment,
        preview("feature/login", Some(17))
    );
    assert_eq!(deployments[2].state, DeployState::Failed);
    let staging = &deployments[4];
    assert_eq!(staging.environment, preview("staging", None));
    assert_eq!(staging.commit.branch.as_deref(), Some("staging"));
    assert_eq!(staging.commit.message.as_deref(), Some("change number 40"));
    assert_eq!(staging.commit.sha, Some(sha(40)));
    assert_eq!(staging.commit.author, None, "Netlify has no commit author");
    assert_eq!(staging.created_at, Some(created(40)));
    assert_eq!(
        staging.finished_at,
        Some(created(40) + chrono::Duration::minutes(2))
    );
    assert_eq!(
        staging.url,
        Some(format!("https://{}--docs.netlify.app", ids[40]))
    );
    assert_eq!(
        staging.dashboard_url,
        Some(format!(
            "https://app.netlify.com/sites/docs/deploys/{}",
            ids[40]
        ))
    );
}

#[tokio::test]
async fn listing_ends_when_the_history_does() {
    let (kit, ids) = scenario().await;
    let sim = &kit.sim;
    // 45 deploys in pages of 15: three full pages, then an empty fourth ends the listing.
    let all = list_recent_deployments(&kit.client(), 500, 15)
        .await
        .unwrap();
    assert_eq!(all.len(), ids.len());
    assert_eq!(all.last().map(|d| &d.id), ids.first());
    assert_eq!(sim.requests.get(), 4);
}

#[tokio::test]
async fn link_headers_are_followed_when_sent() {
    let (kit, ids) = scenario().await;
    let sim = &kit.sim;
    sim.set_link_headers(true);
    // 45 deploys in pages of 15: the third page is full but its Link header has no `next`,
    // so no fourth request is made.
    let all = list_recent_deployments(&kit.client(), 500, 15)
        .await
        .unwrap();
    assert_eq!(all.len(), ids.len());
    assert_eq!(sim.requests.get(), 3);
}

#[tokio::test]
async fn live_deployment_per_environment_and_preview_branch() {
    let (kit, ids) = scenario().await;
    let live = kit.client().live_deployments().await.unwrap();

    // Minute 39 is the last production push that succeeded (44 was canceled).
    assert_eq!(ids_in(&live, &named("production")), [ids[39].as_str()]);
    assert_eq!(ids_in(&live, &preview("staging", None)), [ids[40].as_str()]);
    // The newer failed build of the PR does not replace its ready preview.
    assert_eq!(
        ids_in(&live, &preview("feature/login", Some(17))),
        [ids[41].as_str()]
    );
    // A branch that has never been ready has no live preview.
    assert_eq!(live.len(), 3, "{live:#?}");
    let production = live.iter().find(|d| d.id == ids[39]).unwrap();
    assert_eq!(production.state, DeployState::Ready);
    assert_eq!(
        production.commit.message.as_deref(),
        Some("change number 39")
    );
    assert!(production.dashboard_url.is_some());
}

#[tokio::test]
async fn a_site_addressed_by_its_domain_works_too() {
    let (kit, ids) = scenario().await;
    let by_domain = kit.client_for(NetlifyClientConfig {
        site_id: "docs.netlify.app".into(),
        ..kit.config()
    });
    let live = by_domain.live_deployments().await.unwrap();
    assert_eq!(live[0].id, ids[39]);
}

#[tokio::test]
async fn a_replaced_deploy_stays_ready_only_unpublished() {
    let (kit, ids) = scenario().await;
    let sim = &kit.sim;
    let client = kit.client();
    let old = ids[39].clone();
    let production = named("production");

    let new = kit.push(51, SimOutcome::Ready);
    let live = client.live_deployments().await.unwrap();
    let live_production: Vec<_> = live
        .iter()
        .filter(|d| d.environment == production)
        .collect();
    assert_eq!(live_production.len(), 1);
    assert_eq!(live_production[0].id, new);
    assert_eq!(sim.published_deploy_id(SITE_ID), Some(new));

    // Netlify has no superseded state: the replaced deploy stays `ready`, only unpublished.
    let replaced = client.deployment(&old).await.unwrap();
    assert_eq!(replaced.provider_state, "ready");
    assert!(live.iter().all(|d| d.id != old));
}

#[tokio::test]
async fn deployment_by_id_and_unknown_ids() {
    let (kit, ids) = scenario().await;
    let client = kit.client();

    let building = client.deployment(&ids[43]).await.unwrap();
    assert_eq!(building.id, ids[43]);
    assert_eq!(building.state, DeployState::Building);
    assert_eq!(building.provider_state, "building");
    assert_eq!(building.finished_at, None);
    assert_eq!(building.environment, preview("fix/typo", None));

    let missing = client
        .deployment("ffffffffffffffffffffffff")
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, ProviderError::NotFound { message } if message == "Not Found"),
        "{missing:?}"
    );
    let unknown_site = kit.client_for(NetlifyClientConfig {
        site_id: "no-such-site".into(),
        ..kit.config()
    });
    let error = unknown_site.live_deployments().await.unwrap_err();
    assert!(matches!(error, ProviderError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn running_out_of_budget_is_a_429_with_a_wait() {
    let (kit, _) = scenario().await;
    kit.sim.set_requests_per_minute(2);
    let client = kit.client();
    client.list_deployments(None, 5).await.unwrap();
    client.list_deployments(None, 5).await.unwrap();
    let error = client.list_deployments(None, 5).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after: Some(wait), .. }
            if wait >= Duration::from_secs(1) && wait <= Duration::from_secs(61)),
        "{error:?}"
    );
}

// ---- Rollback ----

use server::providers::rollback::progress_until_settled as settled;

use server::providers::rollback::{HoldKind, HoldRelease, RollbackProgress};
use server::simulators::SimRollbackOutcome;

#[tokio::test]
async fn a_restore_publishes_the_target_and_the_lock_keeps_pushes_out() {
    let kit = Netlify::start().await;
    let sim = &kit.sim;
    let [previous, live] = kit.live_in_turn().await;
    sim.rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let client = kit.client();
    let production = named("production");
    let started = client
        .roll_back(held_rollback_request(&previous, &live, &production, ""))
        .await
        .unwrap();
    assert_eq!(started.hold, Some(HoldKind::PublishingLocked));
    assert_eq!(sim.locked_deploy_id(SITE_ID), Some(previous.id.clone()));
    let progress = settled(&client, &previous, &started, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        matches!(&progress, RollbackProgress::Live(now) if now.id == previous.id),
        "{progress:?}"
    );
    // A push while locked is built but not published.
    kit.push(3, SimOutcome::Ready);
    assert_eq!(sim.published_deploy_id(SITE_ID), Some(previous.id.clone()));
    client
        .release_hold(&production, HoldKind::PublishingLocked, HoldRelease::Resume)
        .await
        .unwrap();
    assert_eq!(sim.locked_deploy_id(SITE_ID), None);
}

#[tokio::test]
async fn netlify_refusals_carry_netlifys_reason() {
    let kit = Netlify::start().await;
    let sim = &kit.sim;
    let [previous, live] = kit.live_in_turn().await;
    let client = kit.client();
    let production = named("production");
    let preview = sim.push_deployment(
        SITE_ID,
        "deploy-preview",
        &spec_on("feature", 5, SimOutcome::Ready),
    );
    let preview = client.deployment(&preview).await.unwrap();
    let error = client
        .roll_back(rollback_request(&preview, &live, &production))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 422, message } if message.contains("production")),
        "{error:?}"
    );
    sim.rollbacks
        .set(SimRollbackOutcome::Refused, Duration::from_millis(10));
    let error = client
        .roll_back(rollback_request(&previous, &live, &production))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 409, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_restore_that_is_never_published_keeps_waiting() {
    let kit = Netlify::start().await;
    let sim = &kit.sim;
    let [previous, live] = kit.live_in_turn().await;
    let production = named("production");
    let progress = kit
        .settle_rollback(
            (SimRollbackOutcome::NeverLive, Duration::from_millis(100)),
            rollback_request(&previous, &live, &production),
            Duration::from_millis(600),
        )
        .await;
    assert!(
        matches!(progress, RollbackProgress::Waiting { .. }),
        "{progress:?}"
    );
    assert_eq!(sim.published_deploy_id(SITE_ID), Some(live.id.clone()));
}
