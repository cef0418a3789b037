//! The real Cloudflare Pages client against the Cloudflare Pages simulator over loopback HTTP:
//! `result_info` paging within the 25-per-page cap, what is live (`canonical_deployment` and
//! preview branches), deployment lookup, auth, the 429 `Retry-After`, and every injected fault.

use app::model::DeployState;
use chrono::{DateTime, TimeZone, Utc};
use server::providers::cloudflare::{CloudflarePagesClient, CloudflarePagesClientConfig};
use server::providers::{
    list_recent_deployments, DeploymentProvider, ProviderEnvironment, ProviderError,
};
use server::secret::Secret;
use server::simulators::cloudflare::CloudflarePagesSimulator;
use server::simulators::{SimDeploymentSpec, SimFault, SimOutcome};
use std::sync::Arc;
use std::time::Duration;

const TOKEN: &str = "cf_test_token_81b0";
const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
const PROJECT: &str = "ninjakittens";
/// Production deployments in the scenario; with 5 more previews, 65 in all.
const PRODUCTION_PUSHES: i64 = 60;

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

/// Serves the simulator under `/cloudflare` on a free loopback port; returns the API base.
async fn serve(sim: Arc<CloudflarePagesSimulator>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = axum::Router::new().nest("/cloudflare", sim.router());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{address}/cloudflare")
}

fn client_with(
    api_base: &str,
    token: &str,
    account_id: &str,
    project_name: &str,
    http: reqwest::Client,
) -> CloudflarePagesClient {
    CloudflarePagesClient::new(
        http,
        CloudflarePagesClientConfig {
            api_base: api_base.to_string(),
            token: Secret::new(token),
            account_id: account_id.to_string(),
            project_name: project_name.to_string(),
        },
    )
}

fn client(api_base: &str) -> CloudflarePagesClient {
    client_with(
        api_base,
        TOKEN,
        ACCOUNT,
        PROJECT,
        server::providers::http::build_client(),
    )
}

/// A project with a long production history and previews of three branches. Returns the
/// simulator and the ids pushed, oldest first.
fn scenario() -> (Arc<CloudflarePagesSimulator>, Vec<String>) {
    let sim = Arc::new(CloudflarePagesSimulator::new(TOKEN));
    sim.add_project(ACCOUNT, PROJECT);
    let mut ids = Vec::new();
    for minute in 0..PRODUCTION_PUSHES {
        let outcome = if minute % 7 == 3 {
            SimOutcome::Failed
        } else {
            SimOutcome::Ready
        };
        ids.push(sim.push_deployment(
            ACCOUNT,
            PROJECT,
            "production",
            &spec(outcome, minute, "main"),
        ));
    }
    let pushes = [
        // 60: staging's preview; 61, 62: a feature branch ready, then failed.
        ("preview", SimOutcome::Ready, "staging"),
        ("preview", SimOutcome::Ready, "feature/login"),
        ("preview", SimOutcome::Failed, "feature/login"),
        // 63: a preview still building; 64: a canceled production build.
        ("preview", SimOutcome::Building, "fix/typo"),
        ("production", SimOutcome::Canceled, "main"),
    ];
    for (offset, (environment, outcome, branch)) in pushes.into_iter().enumerate() {
        let minute = PRODUCTION_PUSHES + offset as i64;
        ids.push(sim.push_deployment(
            ACCOUNT,
            PROJECT,
            environment,
            &spec(outcome, minute, branch),
        ));
    }
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
    assert_eq!(deployments[0].provider_state, "build:canceled");
    assert_eq!(deployments[1].state, DeployState::Building);
    assert_eq!(deployments[1].provider_state, "build:active");
    assert_eq!(deployments[2].state, DeployState::Failed);
    assert_eq!(
        deployments[2].environment,
        ProviderEnvironment::Preview {
            branch: Some("feature/login".into()),
            pr_number: None
        }
    );
    let staging = &deployments[4];
    assert_eq!(staging.state, DeployState::Ready);
    assert_eq!(staging.provider_state, "deploy:success");
    assert_eq!(
        staging.environment,
        ProviderEnvironment::Preview {
            branch: Some("staging".into()),
            pr_number: None
        }
    );
    assert_eq!(staging.commit.branch.as_deref(), Some("staging"));
    assert_eq!(staging.commit.message.as_deref(), Some("change number 60"));
    assert_eq!(staging.commit.sha, Some(format!("{:040x}", 60)));
    assert_eq!(staging.commit.author, None, "Pages records no author");
    assert_eq!(staging.created_at, Some(at(60)));
    assert_eq!(
        staging.finished_at,
        Some(at(60) + chrono::Duration::minutes(2))
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
    let (sim, ids) = scenario();
    let base = serve(sim.clone()).await;
    // Asking for 100 per page must not trip the endpoint's 25-per-page limit: 65 deployments
    // come in three pages (25, 25, 15), and `result_info` says the third is the last.
    let all = list_recent_deployments(&client(&base), 500, 100)
        .await
        .unwrap();
    assert_eq!(all.len(), ids.len());
    assert_eq!(all.last().map(|d| &d.id), ids.first());
    assert_eq!(sim.requests.get(), 3);
}

#[tokio::test]
async fn live_deployment_is_canonical_plus_preview_branches() {
    let (sim, ids) = scenario();
    let base = serve(sim.clone()).await;
    let live = client(&base).live_deployments().await.unwrap();

    let find = |environment: &ProviderEnvironment| {
        live.iter()
            .filter(|d| &d.environment == environment)
            .map(|d| d.id.clone())
            .collect::<Vec<_>>()
    };
    // Minute 58 is the last production push that succeeded (59 failed, 64 was canceled).
    assert_eq!(
        find(&ProviderEnvironment::Named("production".into())),
        vec![ids[58].clone()]
    );
    assert_eq!(
        sim.canonical_deployment_id(ACCOUNT, PROJECT),
        Some(ids[58].clone())
    );
    assert_eq!(
        find(&ProviderEnvironment::Preview {
            branch: Some("staging".into()),
            pr_number: None
        }),
        vec![ids[60].clone()]
    );
    // The newer failed build of the branch does not replace its ready preview.
    assert_eq!(
        find(&ProviderEnvironment::Preview {
            branch: Some("feature/login".into()),
            pr_number: None
        }),
        vec![ids[61].clone()]
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
    let (sim, ids) = scenario();
    let base = serve(sim.clone()).await;
    // Should `canonical_deployment` mean "newest production attempt", it would name the
    // canceled build of minute 64; what serves production is then the newest successful one.
    assert!(sim.set_canonical_deployment(ACCOUNT, PROJECT, &ids[64]));
    let live = client(&base).live_deployments().await.unwrap();
    let production: Vec<_> = live
        .iter()
        .filter(|d| d.environment == ProviderEnvironment::Named("production".into()))
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
async fn a_pushed_ready_deployment_goes_live_and_the_old_one_is_replaced() {
    let (sim, ids) = scenario();
    let base = serve(sim.clone()).await;
    let client = client(&base);
    let old = ids[58].clone();
    let production = ProviderEnvironment::Named("production".into());

    let failed = sim.push_deployment(
        ACCOUNT,
        PROJECT,
        "production",
        &spec(SimOutcome::Failed, 70, "main"),
    );
    let live = client.live_deployments().await.unwrap();
    let live_production = live.iter().find(|d| d.environment == production).unwrap();
    assert_eq!(
        live_production.id, old,
        "a failed build leaves production alone"
    );
    let failed = client.deployment(&failed).await.unwrap();
    assert_eq!(failed.state, DeployState::Failed);
    assert_eq!(failed.provider_state, "build:failure");

    let new = sim.push_deployment(
        ACCOUNT,
        PROJECT,
        "production",
        &spec(SimOutcome::Ready, 71, "main"),
    );
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
    let (sim, ids) = scenario();
    let base = serve(sim).await;
    let client = client(&base);

    let building = client.deployment(&ids[63]).await.unwrap();
    assert_eq!(building.id, ids[63]);
    assert_eq!(building.state, DeployState::Building);
    assert_eq!(building.finished_at, None);
    assert_eq!(
        building.environment,
        ProviderEnvironment::Preview {
            branch: Some("fix/typo".into()),
            pr_number: None
        }
    );

    let missing = client
        .deployment("00000000-0000-4000-8000-000000000000")
        .await
        .unwrap_err();
    assert!(
        matches!(&missing, ProviderError::NotFound { message } if message.contains("code 8000009")),
        "{missing:?}"
    );
    let unknown_project = client_with(
        &base,
        TOKEN,
        ACCOUNT,
        "no-such-project",
        server::providers::http::build_client(),
    );
    let error = unknown_project.live_deployments().await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::NotFound { message } if message.contains("code 8000007")),
        "{error:?}"
    );
}

#[tokio::test]
async fn wrong_token_or_account_is_forbidden_and_never_echoed() {
    let (sim, _) = scenario();
    let base = serve(sim.clone()).await;
    let wrong = "cf_wrong_token_9d1e";
    let client = client_with(
        &base,
        wrong,
        ACCOUNT,
        PROJECT,
        server::providers::http::build_client(),
    );
    let error = client.list_deployments(None, 10).await.unwrap_err();
    // Cloudflare answers a bad token on the Pages endpoints with 403 and code 10000.
    assert!(
        matches!(&error, ProviderError::Forbidden { message } if message == "Authentication error (code 10000)"),
        "{error:?}"
    );
    assert!(!format!("{error:?} {error}").contains(wrong));

    let other_account = client_with(
        &base,
        TOKEN,
        "ffffffffffffffffffffffffffffffff",
        PROJECT,
        server::providers::http::build_client(),
    );
    let error = other_account.deployment("x").await.unwrap_err();
    assert!(
        matches!(error, ProviderError::Forbidden { .. }),
        "{error:?}"
    );

    sim.faults.push_once(SimFault::Unauthorized);
    let error = self::client(&base).live_deployments().await.unwrap_err();
    assert!(
        matches!(error, ProviderError::Unauthorized { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_429_carries_retry_after_and_the_call_after_it_succeeds() {
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
            assert!(message.contains("code 971"), "{message}");
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    tokio::time::sleep(error.retry_after().unwrap()).await;
    let page = client.list_deployments(None, 10).await.unwrap();
    assert_eq!(page.deployments.len(), 10);
}

#[tokio::test]
async fn running_out_of_budget_is_a_429_with_a_wait() {
    let (sim, _) = scenario();
    sim.set_requests_per_window(1);
    let base = serve(sim).await;
    let client = client(&base);
    client.list_deployments(None, 5).await.unwrap();
    let error = client.list_deployments(None, 5).await.unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after: Some(wait), .. }
            if wait >= Duration::from_secs(1) && wait <= Duration::from_secs(300)),
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
    let error = client_with(&base, TOKEN, ACCOUNT, PROJECT, impatient)
        .list_deployments(None, 10)
        .await
        .unwrap_err();
    assert_eq!(error, ProviderError::Timeout);
}

// ---- Rollback ----

use server::providers::rollback::progress_until_settled as settled;

use server::providers::rollback::{RollbackProgress, RollbackRequest};
use server::providers::ProviderDeployment;
use server::simulators::SimRollbackOutcome;

async fn two_production_builds() -> (
    Arc<CloudflarePagesSimulator>,
    String,
    ProviderDeployment,
    ProviderDeployment,
) {
    let sim = Arc::new(CloudflarePagesSimulator::new(TOKEN));
    sim.add_project(ACCOUNT, PROJECT);
    let previous = sim.push_deployment(
        ACCOUNT,
        PROJECT,
        "production",
        &spec(SimOutcome::Ready, 1, "main"),
    );
    let live = sim.push_deployment(
        ACCOUNT,
        PROJECT,
        "production",
        &spec(SimOutcome::Ready, 2, "main"),
    );
    let base = serve(sim.clone()).await;
    let client = client(&base);
    let previous = client.deployment(&previous).await.unwrap();
    let live = client.deployment(&live).await.unwrap();
    (sim, base, previous, live)
}

#[tokio::test]
async fn a_pages_rollback_makes_the_target_canonical() {
    let (sim, base, previous, live) = two_production_builds().await;
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
            place_hold: false,
        })
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
    let (sim, base, previous, live) = two_production_builds().await;
    let client = client(&base);
    let production = ProviderEnvironment::Named("production".into());
    let preview = sim.push_deployment(
        ACCOUNT,
        PROJECT,
        "preview",
        &spec(SimOutcome::Ready, 3, "feature"),
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
        format!("{error}").contains("successful builds on production"),
        "{error}"
    );
    sim.rollbacks
        .set(SimRollbackOutcome::NeverLive, Duration::from_millis(10));
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
    let progress = settled(&client, &previous, &started, Duration::from_millis(500))
        .await
        .unwrap();
    assert!(
        matches!(progress, RollbackProgress::Waiting { .. }),
        "{progress:?}"
    );
    // A second one while the first is pending is a conflict.
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
        format!("{error}").contains("already in progress"),
        "{error}"
    );
}
