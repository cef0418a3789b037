//! The real Netlify client against the Netlify simulator over loopback HTTP: page-number
//! paging (with and without `Link` headers), what is live, deploy lookup, auth, the 429 wait
//! announced by `X-RateLimit-Reset`, and every injected fault.

use app::model::DeployState;
use chrono::{DateTime, TimeZone, Utc};
use server::providers::netlify::{NetlifyClient, NetlifyClientConfig};
use server::providers::{
    list_recent_deployments, DeploymentProvider, ProviderEnvironment, ProviderError,
};
use server::secret::Secret;
use server::simulators::netlify::NetlifySimulator;
use server::simulators::{SimDeploymentSpec, SimFault, SimOutcome};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "nfp_test_token_4c2e";
const SITE_ID: &str = "3970e0fe-8564-4903-9a55-c5f8de49fb8b";
const SITE_NAME: &str = "docs";

fn at(minute: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + minute * 60, 0).unwrap()
}

fn spec(outcome: SimOutcome, minute: i64, branch: &str) -> SimDeploymentSpec {
    SimDeploymentSpec {
        commit_sha: format!("{minute:040x}"),
        commit_message: format!("change number {minute}"),
        author: "Jane Doe".into(),
        branch: branch.into(),
        pr_number: None,
        outcome,
        created_at: at(minute),
    }
}

/// Serves the simulator under `/netlify` on a free loopback port; returns the API base.
async fn serve(sim: Arc<NetlifySimulator>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().nest("/netlify", sim.router());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{address}/netlify")
}

fn client_with(api_base: &str, token: &str, site_id: &str, http: reqwest::Client) -> NetlifyClient {
    NetlifyClient::new(
        http,
        NetlifyClientConfig {
            api_base: api_base.to_string(),
            token: Secret::new(token),
            site_id: site_id.to_string(),
        },
    )
}

fn client(api_base: &str) -> NetlifyClient {
    client_with(
        api_base,
        TOKEN,
        SITE_ID,
        server::providers::http::build_client(),
    )
}

/// A site with a production history, a deploy preview and a branch deploy. Returns the
/// simulator and the ids pushed, oldest first.
fn scenario() -> (Arc<NetlifySimulator>, Vec<String>) {
    let sim = Arc::new(NetlifySimulator::new(TOKEN));
    sim.add_site(SITE_ID, SITE_NAME);
    let mut ids = Vec::new();
    for minute in 0..40 {
        let outcome = if minute % 7 == 3 {
            SimOutcome::Failed
        } else {
            SimOutcome::Ready
        };
        ids.push(sim.push_deployment(SITE_ID, "production", &spec(outcome, minute, "main")));
    }
    // 40: the staging branch deploy.
    ids.push(sim.push_deployment(
        SITE_ID,
        "branch-deploy",
        &spec(SimOutcome::Ready, 40, "staging"),
    ));
    // 41, 42: a PR's deploy preview that was ready, then a newer one that failed.
    let mut pr = spec(SimOutcome::Ready, 41, "feature/login");
    pr.pr_number = Some(17);
    ids.push(sim.push_deployment(SITE_ID, "deploy-preview", &pr));
    let mut pr_broken = spec(SimOutcome::Failed, 42, "feature/login");
    pr_broken.pr_number = Some(17);
    ids.push(sim.push_deployment(SITE_ID, "deploy-preview", &pr_broken));
    // 43: a preview still building; 44: a canceled production deploy.
    ids.push(sim.push_deployment(
        SITE_ID,
        "deploy-preview",
        &spec(SimOutcome::Building, 43, "fix/typo"),
    ));
    ids.push(sim.push_deployment(
        SITE_ID,
        "production",
        &spec(SimOutcome::Canceled, 44, "main"),
    ));
    (sim, ids)
}

#[tokio::test]
async fn paging_reads_several_pages_newest_first() {
    let (sim, ids) = scenario();
    let base = serve(sim.clone()).await;
    let client = client(&base);

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
    assert_eq!(deployments[0].provider_state, "canceled");
    assert_eq!(deployments[1].state, DeployState::Building);
    assert_eq!(
        deployments[2].environment,
        ProviderEnvironment::Preview {
            branch: Some("feature/login".into()),
            pr_number: Some(17)
        }
    );
    assert_eq!(deployments[2].state, DeployState::Failed);
    let staging = &deployments[4];
    assert_eq!(
        staging.environment,
        ProviderEnvironment::Preview {
            branch: Some("staging".into()),
            pr_number: None
        }
    );
    assert_eq!(staging.commit.branch.as_deref(), Some("staging"));
    assert_eq!(staging.commit.message.as_deref(), Some("change number 40"));
    assert_eq!(staging.commit.sha, Some(format!("{:040x}", 40)));
    assert_eq!(staging.commit.author, None, "Netlify has no commit author");
    assert_eq!(staging.created_at, Some(at(40)));
    assert_eq!(
        staging.finished_at,
        Some(at(40) + chrono::Duration::minutes(2))
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
    let (sim, ids) = scenario();
    let base = serve(sim.clone()).await;
    // 45 deploys in pages of 15: three full pages, then an empty fourth ends the listing.
    let all = list_recent_deployments(&client(&base), 500, 15)
        .await
        .unwrap();
    assert_eq!(all.len(), ids.len());
    assert_eq!(all.last().map(|d| &d.id), ids.first());
    assert_eq!(sim.requests.get(), 4);
}

#[tokio::test]
async fn link_headers_are_followed_when_sent() {
    let (sim, ids) = scenario();
    sim.set_link_headers(true);
    let base = serve(sim.clone()).await;
    // 45 deploys in pages of 15: the third page is full but its Link header has no `next`,
    // so no fourth request is made.
    let all = list_recent_deployments(&client(&base), 500, 15)
        .await
        .unwrap();
    assert_eq!(all.len(), ids.len());
    assert_eq!(sim.requests.get(), 3);
}

#[tokio::test]
async fn live_deployment_per_environment_and_preview_branch() {
    let (sim, ids) = scenario();
    let base = serve(sim).await;
    let live = client(&base).live_deployments().await.unwrap();

    let find = |environment: &ProviderEnvironment| {
        live.iter()
            .filter(|d| &d.environment == environment)
            .map(|d| d.id.clone())
            .collect::<Vec<_>>()
    };
    // Minute 39 is the last production push that succeeded (44 was canceled).
    assert_eq!(
        find(&ProviderEnvironment::Named("production".into())),
        vec![ids[39].clone()]
    );
    assert_eq!(
        find(&ProviderEnvironment::Preview {
            branch: Some("staging".into()),
            pr_number: None
        }),
        vec![ids[40].clone()]
    );
    // The newer failed build of the PR does not replace its ready preview.
    assert_eq!(
        find(&ProviderEnvironment::Preview {
            branch: Some("feature/login".into()),
            pr_number: Some(17)
        }),
        vec![ids[41].clone()]
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
    let (sim, ids) = scenario();
    let base = serve(sim).await;
    let by_domain = client_with(
        &base,
        TOKEN,
        "docs.netlify.app",
        server::providers::http::build_client(),
    );
    let live = by_domain.live_deployments().await.unwrap();
    assert_eq!(live[0].id, ids[39]);
}

#[tokio::test]
async fn a_pushed_ready_deployment_goes_live_and_the_old_one_is_replaced() {
    let (sim, ids) = scenario();
    let base = serve(sim.clone()).await;
    let client = client(&base);
    let old = ids[39].clone();
    let production = ProviderEnvironment::Named("production".into());

    let failed = sim.push_deployment(SITE_ID, "production", &spec(SimOutcome::Failed, 50, "main"));
    let live = client.live_deployments().await.unwrap();
    let live_production = live.iter().find(|d| d.environment == production).unwrap();
    assert_eq!(
        live_production.id, old,
        "a failed build leaves production alone"
    );
    assert_eq!(
        client.deployment(&failed).await.unwrap().state,
        DeployState::Failed
    );

    let new = sim.push_deployment(SITE_ID, "production", &spec(SimOutcome::Ready, 51, "main"));
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
    let (sim, ids) = scenario();
    let base = serve(sim).await;
    let client = client(&base);

    let building = client.deployment(&ids[43]).await.unwrap();
    assert_eq!(building.id, ids[43]);
    assert_eq!(building.state, DeployState::Building);
    assert_eq!(building.provider_state, "building");
    assert_eq!(building.finished_at, None);
    assert_eq!(
        building.environment,
        ProviderEnvironment::Preview {
            branch: Some("fix/typo".into()),
            pr_number: None
        }
    );

    let missing = client
        .deployment("ffffffffffffffffffffffff")
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, ProviderError::NotFound { message } if message == "Not Found"),
        "{missing:?}"
    );
    let unknown_site = client_with(
        &base,
        TOKEN,
        "no-such-site",
        server::providers::http::build_client(),
    );
    let error = unknown_site.live_deployments().await.unwrap_err();
    assert!(matches!(error, ProviderError::NotFound { .. }), "{error:?}");
}

#[tokio::test]
async fn wrong_token_is_unauthorized_and_never_echoed() {
    let (sim, _) = scenario();
    let base = serve(sim.clone()).await;
    let wrong = "nfp_wrong_token_9d1e";
    let client = client_with(
        &base,
        wrong,
        SITE_ID,
        server::providers::http::build_client(),
    );
    let error = client.list_deployments(None, 10).await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::Unauthorized { message } if message == "Access Denied"),
        "{error:?}"
    );
    assert!(!format!("{error:?} {error}").contains(wrong));

    sim.faults.push_once(SimFault::Unauthorized);
    let error = self::client(&base).deployment("x").await.unwrap_err();
    assert!(
        matches!(error, ProviderError::Unauthorized { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_429_carries_the_reset_wait_and_the_call_after_it_succeeds() {
    let (sim, _) = scenario();
    let base = serve(sim.clone()).await;
    let client = client(&base);
    sim.faults.push_once(SimFault::RateLimited {
        retry_after_secs: 1,
    });
    let error = client.list_deployments(None, 10).await.unwrap_err();
    match &error {
        ProviderError::RateLimited {
            retry_after,
            message,
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(1)));
            assert_eq!(message, "Rate limit exceeded");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    tokio::time::sleep(error.retry_after().unwrap()).await;
    let page = client.list_deployments(None, 10).await.unwrap();
    assert_eq!(page.deployments.len(), 10);
}

#[tokio::test]
async fn a_longer_reset_is_reported_in_whole_seconds() {
    let (sim, _) = scenario();
    let base = serve(sim.clone()).await;
    sim.faults.push_once(SimFault::RateLimited {
        retry_after_secs: 30,
    });
    let error = client(&base).live_deployments().await.unwrap_err();
    let wait = error.retry_after().unwrap();
    // The reset is an epoch second: the wait is 30 s, or 29 s if a second ticked in between.
    assert!(
        wait == Duration::from_secs(30) || wait == Duration::from_secs(29),
        "{wait:?}"
    );
}

#[tokio::test]
async fn running_out_of_budget_is_a_429_with_a_wait() {
    let (sim, _) = scenario();
    sim.set_requests_per_minute(2);
    let base = serve(sim).await;
    let client = client(&base);
    client.list_deployments(None, 5).await.unwrap();
    client.list_deployments(None, 5).await.unwrap();
    let error = client.list_deployments(None, 5).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after: Some(wait), .. }
            if wait >= Duration::from_secs(1) && wait <= Duration::from_secs(61)),
        "{error:?}"
    );
}

#[tokio::test]
async fn server_error_is_unavailable() {
    let (sim, _) = scenario();
    let base = serve(sim.clone()).await;
    sim.faults.push_once(SimFault::ServerError);
    let error = client(&base).list_deployments(None, 10).await.unwrap_err();
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
}

#[tokio::test]
async fn garbage_is_malformed() {
    let (sim, ids) = scenario();
    let base = serve(sim.clone()).await;
    sim.faults.set_sticky(SimFault::Garbage);
    let client = client(&base);
    for error in [
        client.list_deployments(None, 10).await.unwrap_err(),
        client.live_deployments().await.unwrap_err(),
        client.deployment(&ids[0]).await.unwrap_err(),
    ] {
        assert!(
            matches!(error, ProviderError::Malformed { .. }),
            "{error:?}"
        );
    }
    sim.faults.clear();
}

#[tokio::test]
async fn slow_answer_times_out() {
    let (sim, _) = scenario();
    let base = serve(sim.clone()).await;
    sim.faults.push_once(SimFault::Slow { millis: 1_500 });
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let error = client_with(&base, TOKEN, SITE_ID, impatient)
        .list_deployments(None, 10)
        .await
        .unwrap_err();
    assert_eq!(error, ProviderError::Timeout);
}

// ---- Rollback ----

use server::providers::rollback::progress_until_settled as settled;

use server::providers::rollback::{HoldKind, HoldRelease, RollbackProgress, RollbackRequest};
use server::providers::ProviderDeployment;
use server::simulators::SimRollbackOutcome;

/// Two production deploys published in turn: (simulator, base, previous, live).
async fn published_twice() -> (
    Arc<NetlifySimulator>,
    String,
    ProviderDeployment,
    ProviderDeployment,
) {
    let sim = Arc::new(NetlifySimulator::new(TOKEN));
    sim.add_site(SITE_ID, SITE_NAME);
    let previous = sim.push_deployment(SITE_ID, "production", &spec(SimOutcome::Ready, 1, "main"));
    let live = sim.push_deployment(SITE_ID, "production", &spec(SimOutcome::Ready, 2, "main"));
    let base = serve(sim.clone()).await;
    let client = client(&base);
    let previous = client.deployment(&previous).await.unwrap();
    let live = client.deployment(&live).await.unwrap();
    (sim, base, previous, live)
}

#[tokio::test]
async fn a_restore_publishes_the_target_and_the_lock_keeps_pushes_out() {
    let (sim, base, previous, live) = published_twice().await;
    sim.rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let client = client(&base);
    let production = ProviderEnvironment::Named("production".into());
    let started = client
        .roll_back(RollbackRequest {
            environment: &production,
            target: &previous,
            live: &live,
            reason: "",
            place_hold: true,
        })
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
    sim.push_deployment(SITE_ID, "production", &spec(SimOutcome::Ready, 3, "main"));
    assert_eq!(sim.published_deploy_id(SITE_ID), Some(previous.id.clone()));
    client
        .release_hold(&production, HoldKind::PublishingLocked, HoldRelease::Resume)
        .await
        .unwrap();
    assert_eq!(sim.locked_deploy_id(SITE_ID), None);
}

#[tokio::test]
async fn netlify_refusals_carry_netlifys_reason() {
    let (sim, base, previous, live) = published_twice().await;
    let client = client(&base);
    let production = ProviderEnvironment::Named("production".into());
    let preview = sim.push_deployment(
        SITE_ID,
        "deploy-preview",
        &spec(SimOutcome::Ready, 5, "feature"),
    );
    let preview = client.deployment(&preview).await.unwrap();
    let error = client
        .roll_back(RollbackRequest {
            environment: &production,
            target: &preview,
            live: &live,
            reason: "",
            place_hold: false,
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 422, message } if message.contains("production")),
        "{error:?}"
    );
    sim.rollbacks
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
        matches!(&error, ProviderError::Rejected { status: 409, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_restore_that_is_never_published_keeps_waiting() {
    let (sim, base, previous, live) = published_twice().await;
    sim.rollbacks
        .set(SimRollbackOutcome::NeverLive, Duration::from_millis(100));
    let client = client(&base);
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
    let progress = settled(&client, &previous, &started, Duration::from_millis(600))
        .await
        .unwrap();
    assert!(
        matches!(progress, RollbackProgress::Waiting { .. }),
        "{progress:?}"
    );
    assert_eq!(sim.published_deploy_id(SITE_ID), Some(live.id.clone()));
}
