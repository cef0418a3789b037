//! The real GitHub client against the GitHub simulator: what is GitHub's own (Deployments and
//! workflow-run sources, statuses per deployment, environment filters, GitHub's 403 rate
//! limit, its HTTP surface, rollback as a deployment of the target sha). Paging depth, auth,
//! faults and "live is not the newest" are the conformance suite's
//! (`provider_conformance.rs`).

mod common;

use common::providers::github::{OWNER, REPO, TOKEN};
use common::providers::{
    created, held_rollback_request, ids, named, preview, sha, spec, spec_on, Kit, AUTHOR,
};

use app::model::DeployState;
use server::providers::github::{GithubClient, GithubClientConfig, GithubSource};
use server::providers::{
    list_recent_deployments, DeploymentProvider, PageCursor, ProviderEnvironment, ProviderError,
};
use server::simulators::github::GithubSimulator;
use server::simulators::{SimFault, SimOutcome};
use std::time::Duration;

const WORKFLOW: &str = "deploy.yml";

type Harness = Kit<GithubSimulator>;

/// What the GitHub tests add to the kit: both sources, and pushes of either kind.
trait GithubKit {
    fn config_for(&self, environments: &[&str], source: GithubSource) -> GithubClientConfig;
    fn runs_client(&self) -> GithubClient;
    fn deploy(&self, environment: &str, minute: u32, outcome: SimOutcome) -> String;
    fn run(&self, branch: &str, minute: u32, outcome: SimOutcome, pr: Option<u32>) -> String;
}

impl GithubKit for Harness {
    fn config_for(&self, environments: &[&str], source: GithubSource) -> GithubClientConfig {
        GithubClientConfig {
            environments: environments.iter().map(|e| e.to_string()).collect(),
            source,
            ..self.config()
        }
    }

    fn runs_client(&self) -> GithubClient {
        self.client_for(self.config_for(&[], runs_source()))
    }

    fn deploy(&self, environment: &str, minute: u32, outcome: SimOutcome) -> String {
        self.sim
            .push_deployment(OWNER, REPO, environment, &spec(minute, outcome))
    }

    fn run(&self, branch: &str, minute: u32, outcome: SimOutcome, pr: Option<u32>) -> String {
        let mut spec = spec_on(branch, minute, outcome);
        spec.pr_number = pr;
        self.sim.push_workflow_run(OWNER, REPO, WORKFLOW, &spec)
    }
}

fn runs_source() -> GithubSource {
    GithubSource::WorkflowRuns {
        workflow: WORKFLOW.into(),
        branch_environments: vec![
            ("main".into(), "production".into()),
            ("release".into(), "staging".into()),
        ],
    }
}

#[tokio::test]
async fn deployments_are_paged_newest_first_across_pages() {
    let harness = Harness::start().await;
    let plan = [
        ("production", 10, SimOutcome::Ready),
        ("staging", 13, SimOutcome::Ready),
        ("production", 16, SimOutcome::Failed),
        ("production", 19, SimOutcome::Ready),
        ("staging", 22, SimOutcome::Canceled),
        ("production", 25, SimOutcome::Building),
    ];
    let mut pushed: Vec<(u32, String)> = plan
        .iter()
        .map(|(environment, minute, outcome)| {
            (*minute, harness.deploy(environment, *minute, *outcome))
        })
        .collect();
    // Pushed out of time order: still read newest first.
    pushed.push((5, harness.deploy("production", 5, SimOutcome::Failed)));
    pushed.sort_by_key(|(minute, _)| std::cmp::Reverse(*minute));
    let expected: Vec<&str> = pushed.iter().map(|(_, id)| id.as_str()).collect();
    let client = harness.client();
    let all = list_recent_deployments(&client, 100, 3).await.unwrap();
    assert_eq!(
        ids(&all),
        expected,
        "every deployment once, across three pages"
    );

    let states: Vec<(DeployState, &str)> = all
        .iter()
        .map(|d| (d.state, d.provider_state.as_str()))
        .collect();
    assert_eq!(
        states,
        vec![
            (DeployState::Deploying, "in_progress"),
            (DeployState::Superseded, "inactive"), // canceled: GitHub has no canceled state
            (DeployState::Ready, "success"),
            (DeployState::Failed, "failure"),
            (DeployState::Ready, "success"),
            (DeployState::Superseded, "inactive"),
            (DeployState::Failed, "failure"),
        ]
    );

    let building = &all[0];
    assert_eq!(building.environment, named("production"));
    assert_eq!(building.commit.sha, Some(sha(25)));
    assert_eq!(building.commit.branch.as_deref(), Some("main"));
    assert_eq!(building.commit.message, None, "not on a GitHub deployment");
    assert_eq!(building.commit.author, None, "not on a GitHub deployment");
    assert_eq!(building.creator.as_deref(), Some("adalovelace"));
    assert_eq!(building.created_at, Some(created(25)));
    assert_eq!(building.finished_at, None);
    assert_eq!(
        building.url.as_deref(),
        Some("https://shop-production.example.test")
    );
    let superseded = &all[5];
    assert_eq!(
        superseded.finished_at,
        Some(created(12)),
        "when it succeeded"
    );
    assert_eq!(superseded.url, None);
    assert_eq!(
        superseded.dashboard_url,
        Some(format!(
            "https://deployer.example.test/acme/shop/deployments/{}",
            superseded.id
        ))
    );

    // Terminal statuses are cached: a second pass skips their status calls.
    let before = harness.sim.requests.get();
    list_recent_deployments(&client, 100, 3).await.unwrap();
    let terminal = states
        .iter()
        .filter(|(_, s)| matches!(*s, "inactive" | "failure"))
        .count() as u64;
    assert_eq!(harness.sim.requests.get() - before, 3 + 7 - terminal);

    // The last page by hand: no next.
    let page = client
        .list_deployments(Some(&PageCursor("3".into())), 3)
        .await
        .unwrap();
    assert_eq!(ids(&page.deployments), expected[6..]);
    assert_eq!(page.next, None);
    assert!(matches!(
        client
            .list_deployments(Some(&PageCursor("x".into())), 3)
            .await,
        Err(ProviderError::Rejected { status: 400, .. })
    ));
}

#[tokio::test]
async fn configured_environments_filter_the_list() {
    let harness = Harness::start().await;
    for minute in 20..26 {
        harness.deploy("production", minute, SimOutcome::Ready);
    }
    // Newest first.
    let staging = [
        harness.deploy("staging", 13, SimOutcome::Failed),
        harness.deploy("staging", 10, SimOutcome::Failed),
    ];
    harness.deploy("qa", 40, SimOutcome::Ready);

    // One environment: GitHub filters (`environment=staging`).
    let one = harness.client_with(
        server::providers::http::build_client(),
        harness.config_for(&["Staging"], GithubSource::Deployments),
    );
    let found = list_recent_deployments(&one, 10, 1).await.unwrap();
    assert_eq!(
        ids(&found),
        staging.iter().map(String::as_str).collect::<Vec<_>>()
    );

    // Several: filtered here, reading on past pages with no match instead of stopping.
    let several = harness.client_with(
        server::providers::http::build_client(),
        harness.config_for(&["staging", "qa"], GithubSource::Deployments),
    );
    let found = list_recent_deployments(&several, 10, 2).await.unwrap();
    let environments: Vec<&ProviderEnvironment> = found.iter().map(|d| &d.environment).collect();
    assert_eq!(
        environments,
        vec![&named("qa"), &named("staging"), &named("staging")]
    );
}

#[tokio::test]
async fn live_is_the_newest_success_per_environment() {
    let harness = Harness::start().await;
    let client = harness.client();
    assert!(client.live_deployments().await.unwrap().is_empty());

    let production = harness.deploy("production", 1, SimOutcome::Ready);
    let staging = harness.deploy("staging", 2, SimOutcome::Ready);
    harness.deploy("production", 3, SimOutcome::Failed);
    harness.deploy("production", 4, SimOutcome::Building);
    harness.deploy("staging", 5, SimOutcome::Canceled);

    let mut live = client.live_deployments().await.unwrap();
    live.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(ids(&live), [production.as_str(), staging.as_str()]);
    assert_eq!(live[0].environment, named("production"));
    assert_eq!(live[0].state, DeployState::Ready);
    assert_eq!(live[0].finished_at, Some(created(3)));
    assert_eq!(
        live[0].url.as_deref(),
        Some("https://shop-production.example.test")
    );
    assert_eq!(live[1].environment, named("staging"));

    // Configured environments are looked up one by one.
    let only_staging = harness.client_with(
        server::providers::http::build_client(),
        harness.config_for(&["staging"], GithubSource::Deployments),
    );
    assert_eq!(
        ids(&only_staging.live_deployments().await.unwrap()),
        [staging.as_str()]
    );
}

/// Security #15: `environment_url` and `log_url` are whatever the deployer posted; they land
/// in `href`s, so only absolute http(s) URLs are kept.
#[tokio::test]
async fn a_javascript_environment_url_or_log_url_is_dropped() {
    let harness = Harness::start().await;
    let client = harness.client();
    let hostile = [
        ("javascript:alert(1)", "javascript:alert(2)"),
        (
            " JavaScript:alert(1)",
            "data:text/html,<script>alert(2)</script>",
        ),
        ("java\tscript:alert(1)", "/relative/log"),
        ("https://", "vbscript:msgbox(1)"),
    ];
    for (minute, (environment_url, log_url)) in hostile.iter().enumerate() {
        let id = harness.deploy("production", minute as u32 + 1, SimOutcome::Ready);
        assert!(harness
            .sim
            .set_status_urls(OWNER, REPO, &id, environment_url, log_url));
        let deployment = client.deployment(&id).await.unwrap();
        assert_eq!(deployment.url, None, "{environment_url:?} was kept");
        assert_eq!(deployment.dashboard_url, None, "{log_url:?} was kept");
        let live = client.live_deployments().await.unwrap();
        assert_eq!(ids(&live), [id.as_str()]);
        assert_eq!(
            (live[0].url.as_ref(), live[0].dashboard_url.as_ref()),
            (None, None)
        );
    }
    // An ordinary one is kept as it was sent.
    let id = harness.deploy("production", 9, SimOutcome::Ready);
    assert!(harness.sim.set_status_urls(
        OWNER,
        REPO,
        &id,
        "HTTPS://shop.example.test/x?y=1",
        "http://ci.example.test/log"
    ));
    let deployment = client.deployment(&id).await.unwrap();
    assert_eq!(
        deployment.url.as_deref(),
        Some("HTTPS://shop.example.test/x?y=1")
    );
    assert_eq!(
        deployment.dashboard_url.as_deref(),
        Some("http://ci.example.test/log")
    );
}

#[tokio::test]
async fn production_successes_that_stay_success_still_give_one_live() {
    // GitHub does not mark older production deployments inactive: every one stays `success`,
    // and only the newest is live.
    let harness = Harness::start().await;
    harness.sim.set_auto_inactive(false);
    let old = harness.deploy("production", 1, SimOutcome::Ready);
    let new = harness.deploy("production", 5, SimOutcome::Ready);
    let client = harness.client();
    assert_eq!(
        ids(&client.live_deployments().await.unwrap()),
        [new.as_str()]
    );
    assert_eq!(
        client.deployment(&old).await.unwrap().state,
        DeployState::Ready
    );
}

#[tokio::test]
async fn a_pushed_ready_deployment_goes_live_and_the_old_one_goes_inactive() {
    let harness = Harness::start().await;
    let client = harness.client();
    let old = harness.deploy("production", 1, SimOutcome::Ready);
    assert_eq!(
        ids(&client.live_deployments().await.unwrap()),
        [old.as_str()]
    );

    let new = harness.deploy("production", 5, SimOutcome::Ready);
    assert_eq!(
        ids(&client.live_deployments().await.unwrap()),
        [new.as_str()]
    );
    let superseded = client.deployment(&old).await.unwrap();
    assert_eq!(superseded.state, DeployState::Superseded);
    assert_eq!(superseded.provider_state, "inactive");
    assert_eq!(superseded.finished_at, Some(created(3)));

    let failed = harness.deploy("production", 9, SimOutcome::Failed);
    assert_eq!(
        ids(&client.live_deployments().await.unwrap()),
        [new.as_str()],
        "a failed deployment leaves the live one alone"
    );
    assert_eq!(
        client.deployment(&failed).await.unwrap().state,
        DeployState::Failed
    );
}

#[tokio::test]
async fn a_deployment_by_id_unknown_ids_and_one_without_statuses() {
    let harness = Harness::start().await;
    let client = harness.client();
    let id = harness.deploy("staging", 1, SimOutcome::Ready);
    let deployment = client.deployment(&id).await.unwrap();
    assert_eq!(deployment.id, id);
    assert_eq!(deployment.state, DeployState::Ready);
    assert_eq!(deployment.environment, named("staging"));

    let bare = harness.sim.push_deployment_without_status(
        OWNER,
        REPO,
        "production",
        &spec(2, SimOutcome::Ready),
    );
    let bare = client.deployment(&bare).await.unwrap();
    assert_eq!(bare.state, DeployState::Queued, "no status yet: queued");
    assert_eq!(bare.provider_state, "");
    assert_eq!(bare.finished_at, None);
    assert_eq!(bare.dashboard_url, None);

    assert_eq!(
        client.deployment("99").await.unwrap_err(),
        ProviderError::NotFound {
            message: "Not Found".into()
        }
    );
    assert!(matches!(
        client.deployment("not-a-number").await,
        Err(ProviderError::NotFound { .. })
    ));
    let mut config = harness.config_for(&[], GithubSource::Deployments);
    config.repo = "missing".into();
    let missing_repo = harness.client_with(server::providers::http::build_client(), config);
    assert!(matches!(
        missing_repo.list_deployments(None, 10).await,
        Err(ProviderError::NotFound { message }) if message == "Not Found"
    ));
}

#[tokio::test]
async fn statuses_listed_oldest_first_still_give_the_latest() {
    // The order of the statuses list is UNCONFIRMED: the client must also cope with oldest
    // first, over more than one page of statuses.
    let harness = Harness::start().await;
    harness.sim.set_statuses_oldest_first(true);
    let id = harness.sim.push_deployment_without_status(
        OWNER,
        REPO,
        "production",
        &spec(1, SimOutcome::Ready),
    );
    for state in [
        "pending",
        "queued",
        "in_progress",
        "error",
        "queued",
        "in_progress",
        "success",
    ] {
        assert!(harness.sim.post_status(OWNER, REPO, &id, state));
    }
    let client = harness.client();
    let before = harness.sim.requests.get();
    let deployment = client.deployment(&id).await.unwrap();
    assert_eq!(
        harness.sim.requests.get() - before,
        3,
        "the deployment, the first page of statuses, then the last"
    );
    assert_eq!(deployment.state, DeployState::Ready);
    assert_eq!(deployment.provider_state, "success");
    assert_eq!(deployment.finished_at, Some(created(8)));
    assert_eq!(
        ids(&client.live_deployments().await.unwrap()),
        [id.as_str()]
    );

    // A state GitHub may add one day is shown as unknown, not an error.
    assert!(harness.sim.post_status(OWNER, REPO, &id, "destroyed"));
    let deployment = client.deployment(&id).await.unwrap();
    assert_eq!(deployment.state, DeployState::Unknown);
    assert_eq!(deployment.provider_state, "destroyed");
}

#[tokio::test]
async fn workflow_runs_are_paged_and_mapped_by_branch() {
    let harness = Harness::start().await;
    let plan = [
        ("main", 1, SimOutcome::Ready, None),
        ("release", 2, SimOutcome::Ready, None),
        ("feature/login", 3, SimOutcome::Ready, Some(12)),
        ("main", 4, SimOutcome::Failed, None),
        ("feature/login", 5, SimOutcome::Building, Some(12)),
        ("fix/typo", 6, SimOutcome::Canceled, None),
        ("main", 7, SimOutcome::Building, None),
    ];
    let mut pushed: Vec<String> = plan
        .iter()
        .map(|(branch, minute, outcome, pr)| harness.run(branch, *minute, *outcome, *pr))
        .collect();
    // Another workflow's runs are not deployments.
    harness
        .sim
        .push_workflow_run(OWNER, REPO, "ci.yml", &spec(8, SimOutcome::Ready));
    pushed.reverse();
    let client = harness.runs_client();

    let before = harness.sim.requests.get();
    let all = list_recent_deployments(&client, 100, 2).await.unwrap();
    assert_eq!(
        ids(&all),
        pushed.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(
        harness.sim.requests.get() - before,
        4,
        "pages of 2, 2, 2 and 1"
    );

    let newest = &all[0];
    assert_eq!(newest.state, DeployState::Building);
    assert_eq!(newest.provider_state, "in_progress");
    assert_eq!(newest.environment, named("production"));
    assert_eq!(newest.commit.message.as_deref(), Some("change number 7"));
    assert_eq!(newest.commit.author.as_deref(), Some(AUTHOR));
    assert_eq!(newest.commit.branch.as_deref(), Some("main"));
    assert_eq!(newest.creator.as_deref(), Some("adalovelace"));
    assert_eq!(newest.finished_at, None);
    assert_eq!(
        newest.dashboard_url,
        Some(format!(
            "https://github.com/acme/shop/actions/runs/{}",
            newest.id
        ))
    );
    let canceled = &all[1];
    assert_eq!(canceled.state, DeployState::Canceled);
    assert_eq!(canceled.provider_state, "cancelled");
    assert_eq!(canceled.environment, preview("fix/typo", None));
    let pull_request = &all[2];
    assert_eq!(pull_request.environment, preview("feature/login", Some(12)));
    assert_eq!(all[3].state, DeployState::Failed);
    assert_eq!(all[6].finished_at, Some(created(3)));

    let run = client.deployment(&pushed[3]).await.unwrap();
    assert_eq!(run.state, DeployState::Failed);
    assert!(matches!(
        client.deployment("123").await,
        Err(ProviderError::NotFound { .. })
    ));

    // Live: the newest success per environment and per preview branch, in one request when
    // every mapped branch is on the first page of successes.
    let before = harness.sim.requests.get();
    let mut live = client.live_deployments().await.unwrap();
    assert_eq!(harness.sim.requests.get() - before, 1);
    live.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        ids(&live),
        [pushed[6].as_str(), pushed[5].as_str(), pushed[4].as_str()]
    );
    assert_eq!(live[0].environment, named("production"));
    assert_eq!(live[1].environment, named("staging"));
    assert_eq!(live[2].pr_number, Some(12));
}

#[tokio::test]
async fn a_mapped_branch_without_a_recent_success_is_asked_for_by_name() {
    let harness = Harness::start().await;
    let production = harness.run("main", 1, SimOutcome::Ready, None);
    harness.run("release", 2, SimOutcome::Failed, None);
    let client = harness.client_with(
        server::providers::http::build_client(),
        harness.config_for(&["production", "staging"], runs_source()),
    );
    let before = harness.sim.requests.get();
    let live = client.live_deployments().await.unwrap();
    assert_eq!(ids(&live), [production.as_str()], "staging never succeeded");
    assert_eq!(
        harness.sim.requests.get() - before,
        2,
        "successes, then `branch=release`"
    );

    // `environments` leaves out the other mapped environment.
    let production_only = harness.client_with(
        server::providers::http::build_client(),
        harness.config_for(&["production"], runs_source()),
    );
    let list = list_recent_deployments(&production_only, 10, 10)
        .await
        .unwrap();
    assert_eq!(ids(&list), [production.as_str()]);
}

#[tokio::test]
async fn a_spent_hourly_budget_is_a_403_rate_limit_not_a_refusal() {
    let harness = Harness::start().await;
    harness.sim.set_requests_per_hour(2);
    let client = harness.client();
    client.list_deployments(None, 5).await.unwrap();
    client.list_deployments(None, 5).await.unwrap();
    let error = client.list_deployments(None, 5).await.unwrap_err();
    assert!(
        matches!(&error, ProviderError::RateLimited { retry_after: Some(wait), message }
            if *wait > Duration::ZERO && *wait <= Duration::from_secs(3_600)
                && message.starts_with("API rate limit exceeded")),
        "{error:?}"
    );
}

#[tokio::test]
async fn the_status_call_and_the_runs_source_fail_typed_too() {
    let harness = Harness::start().await;
    let id = harness.deploy("production", 1, SimOutcome::Ready);
    let client = harness.client();
    // Garbage on the status call of a deployment (the second request) is malformed too.
    harness.sim.faults.push_once(SimFault::Slow { millis: 0 });
    harness.sim.faults.push_once(SimFault::Garbage);
    assert!(matches!(
        client.deployment(&id).await,
        Err(ProviderError::Malformed { .. })
    ));
    // The workflow-runs source times out like the Deployments source.
    let impatient_runs = harness.client_with(
        common::providers::impatient_http(),
        harness.config_for(&[], runs_source()),
    );
    harness
        .sim
        .faults
        .push_once(SimFault::Slow { millis: 1_500 });
    assert_eq!(
        impatient_runs.live_deployments().await.unwrap_err(),
        ProviderError::Timeout
    );
    assert_eq!(client.deployment(&id).await.unwrap().id, id);
}

/// The simulator's own HTTP surface, for what the client never sends or reads.
#[tokio::test]
async fn the_simulator_speaks_github_http() {
    let harness = Harness::start().await;
    for minute in 1..=5 {
        harness.deploy("production", minute, SimOutcome::Ready);
    }
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{}/repos/{OWNER}/{REPO}/{path}", harness.base))
            .bearer_auth(TOKEN)
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
    };

    let response = get("deployments?per_page=2&page=2").send().await.unwrap();
    assert_eq!(response.status(), 200);
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-used",
        "x-ratelimit-reset",
        "x-ratelimit-resource",
    ] {
        assert!(response.headers().contains_key(name), "{name}");
    }
    let link = response.headers()["link"].to_str().unwrap().to_string();
    let base = format!("{}/repos/{OWNER}/{REPO}/deployments", harness.base);
    assert!(
        link.contains(&format!("<{base}?per_page=2&page=3>; rel=\"next\"")),
        "{link}"
    );
    assert!(
        link.contains(&format!("<{base}?per_page=2&page=3>; rel=\"last\"")),
        "{link}"
    );
    assert!(
        link.contains("rel=\"prev\"") && link.contains("rel=\"first\""),
        "{link}"
    );
    let page: serde_json::Value = response.json().await.unwrap();
    let page = page.as_array().unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0]["created_at"], "2026-03-01T09:03:00Z");
    assert_eq!(page[0]["production_environment"], true);
    assert_eq!(page[0]["creator"]["login"], "adalovelace");
    let id = page[0]["id"].as_u64().unwrap();
    assert_eq!(
        page[0]["statuses_url"],
        format!("{base}/{id}/statuses").as_str()
    );

    let statuses: serde_json::Value = get(&format!("deployments/{id}/statuses"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let states: Vec<&str> = statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["inactive", "success", "in_progress", "queued"],
        "newest first"
    );

    harness
        .sim
        .push_workflow_run(OWNER, REPO, WORKFLOW, &spec(9, SimOutcome::Ready));
    let runs: serde_json::Value = get(&format!(
        "actions/workflows/{WORKFLOW}/runs?status=success&branch=main"
    ))
    .send()
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(runs["total_count"], 1);
    let run = &runs["workflow_runs"][0];
    assert_eq!(run["conclusion"], "success");
    assert_eq!(run["path"], ".github/workflows/deploy.yml");
    let by_id: serde_json::Value = get(&format!("actions/workflows/{}/runs", run["workflow_id"]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(by_id["total_count"], 1);
    let all_runs: serde_json::Value = get("actions/runs")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(all_runs["workflow_runs"][0]["id"], run["id"]);

    let response = get("actions/workflows/nope.yml/runs").send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "Not Found");
    assert_eq!(body["documentation_url"], "https://docs.github.com/rest");

    let response = http
        .get(format!("{}/repos/{OWNER}/{REPO}/deployments", harness.base))
        .bearer_auth(TOKEN)
        .header("x-github-api-version", "1999-01-01")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    harness.sim.faults.push_once(SimFault::RateLimited {
        retry_after_secs: 9,
    });
    let response = get("deployments").send().await.unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "9");

    let response = http
        .get(format!("{}/repos/{OWNER}/{REPO}/deployments", harness.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "no token");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], "Bad credentials");
}

// ---- Rollback ----

use server::providers::rollback::progress_until_settled as settled;

use server::providers::rollback::RollbackProgress;
use server::simulators::SimRollbackOutcome;

#[tokio::test]
async fn a_rollback_creates_a_deployment_of_the_target_sha_that_the_cd_makes_live() {
    let harness = Harness::start().await;
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_millis(200));
    let [_, target, live] = harness.live_in_turn().await;
    let client = harness.client();
    let method = client.rollback_method().unwrap();
    assert!(
        method
            .action
            .contains("your CD must act on deployment events to actually deploy it"),
        "{}",
        method.action
    );
    assert_eq!(method.hold, None);

    let environment = named("production");
    let started = client
        .roll_back(held_rollback_request(
            &target,
            &live,
            &environment,
            "checkout is broken",
        ))
        .await
        .unwrap();
    let created = started.new_deployment_id.clone().unwrap();
    assert_ne!(created, target.id, "GitHub records a new deployment");
    assert_eq!(started.hold, None);
    assert_eq!(harness.sim.rollbacks.calls.get(), 1);

    let deployment = client.deployment(&created).await.unwrap();
    assert_eq!(deployment.commit.sha, target.commit.sha);
    assert_eq!(deployment.environment, environment);
    assert_eq!(deployment.commit.branch, None, "deployed by sha");

    let progress = settled(&client, &target, &started, Duration::from_secs(5))
        .await
        .unwrap();
    let RollbackProgress::Live(now_live) = progress else {
        panic!("expected live, got {progress:?}");
    };
    assert_eq!(now_live.id, created);
    let reread = client.live_deployments().await.unwrap();
    let reread = server::providers::rollback::live_in(&reread, &environment).unwrap();
    assert_eq!(reread.id, created);
    assert!(server::providers::rollback::is_rollback_outcome(
        reread, &target, &started
    ));
    assert_eq!(
        client.deployment(&live.id).await.unwrap().state,
        DeployState::Superseded,
        "the previous one went inactive"
    );
}

#[tokio::test]
async fn the_rollback_request_is_the_contracts_body() {
    let harness = Harness::start().await;
    let [_, target, live] = harness.live_in_turn().await;
    let started = harness
        .client()
        .roll_back(held_rollback_request(
            &target,
            &live,
            &named("production"),
            "checkout is broken",
        ))
        .await
        .unwrap();
    let created = started.new_deployment_id.unwrap();
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/repos/{OWNER}/{REPO}/deployments/{created}",
            harness.base
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["ref"], target.commit.sha.clone().unwrap().as_str());
    assert_eq!(body["environment"], "production");
    assert_eq!(body["description"], "checkout is broken");
    assert_eq!(
        body["payload"]["lookout"]["rollback_to"],
        target.id.as_str()
    );

    // Without `auto_merge: false` an old sha (the first deployment's) is a merge conflict;
    // a ref never seen is a 422.
    let http = reqwest::Client::new();
    let url = format!("{}/repos/{OWNER}/{REPO}/deployments", harness.base);
    let response = http
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({ "ref": sha(1) }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let response = http
        .post(&url)
        .bearer_auth(TOKEN)
        .json(&serde_json::json!({ "ref": "nope", "auto_merge": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let response = http
        .post(&url)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn github_refusals_carry_githubs_reason() {
    let harness = Harness::start().await;
    let [_, target, live] = harness.live_in_turn().await;
    harness
        .sim
        .rollbacks
        .set(SimRollbackOutcome::Refused, Duration::from_millis(10));
    let client = harness.client();
    let error = client
        .roll_back(held_rollback_request(
            &target,
            &live,
            &named("production"),
            "checkout is broken",
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Rejected { status: 409, message }
            if message.contains("Commit status checks failed")),
        "{error:?}"
    );
    let now = client.live_deployments().await.unwrap();
    assert_eq!(ids(&now), [live.id.as_str()]);
}

#[tokio::test]
async fn workflow_run_sources_have_no_rollback() {
    let harness = Harness::start().await;
    let [_, target, live] = harness.live_in_turn().await;
    let client = harness.runs_client();
    assert_eq!(client.rollback_method(), None);
    let error = client
        .roll_back(held_rollback_request(
            &target,
            &live,
            &named("production"),
            "checkout is broken",
        ))
        .await
        .unwrap_err();
    assert!(
        format!("{error}").contains("workflow-run sources cannot be rolled back from Lookout"),
        "{error}"
    );
    assert_eq!(harness.sim.rollbacks.calls.get(), 0, "nothing was sent");
}
