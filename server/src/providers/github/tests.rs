use super::runs::{WireRun, WireRunList};
use super::*;
use crate::providers::testkit::{assert_maps, at, fixture, headers, named};
use chrono::TimeZone;

const LIST_DEPLOYMENTS: &str = fixture!("github_list_deployments.json");
const LIST_STATUSES: &str = fixture!("github_list_deployment_statuses.json");
const CREATE_DEPLOYMENT: &str = fixture!("github_create_deployment_rollback_response.json");
const CREATE_STATUS: &str = fixture!("github_create_deployment_status_response.json");
const LIST_RUNS: &str = fixture!("github_list_workflow_runs.json");
const RERUN: &str = fixture!("github_rerun_workflow_response.json");
const DISPATCH: &str = fixture!("github_workflow_dispatch_response.json");

fn client(source: GithubSource) -> GithubClient {
    GithubClient::new(
        reqwest::Client::new(),
        GithubClientConfig {
            api_base: "https://api.github.com".into(),
            token: Secret::new("ghp_do_not_print"),
            owner: "octocat".into(),
            repo: "example".into(),
            environments: Vec::new(),
            source,
        },
    )
}

#[test]
fn every_deployment_status_state_maps_onto_lookout() {
    let expected = [
        ("error", DeployState::Failed),
        ("failure", DeployState::Failed),
        ("inactive", DeployState::Superseded),
        ("pending", DeployState::Queued),
        ("success", DeployState::Ready),
        ("queued", DeployState::Queued),
        ("in_progress", DeployState::Deploying),
        ("destroyed", DeployState::Unknown),
        ("", DeployState::Unknown),
    ];
    assert_maps(&expected, deployment_status_state);
}

#[test]
fn every_workflow_run_status_and_conclusion_maps_onto_lookout() {
    let statuses = [
        ("requested", DeployState::Queued),
        ("queued", DeployState::Queued),
        ("pending", DeployState::Queued),
        ("waiting", DeployState::Queued),
        ("in_progress", DeployState::Building),
        ("exploding", DeployState::Unknown),
    ];
    for (status, lookout) in statuses {
        assert_eq!(workflow_run_state(Some(status), None), lookout, "{status}");
    }
    let conclusions = [
        ("success", DeployState::Ready),
        ("failure", DeployState::Failed),
        ("timed_out", DeployState::Failed),
        ("startup_failure", DeployState::Failed),
        ("cancelled", DeployState::Canceled),
        ("skipped", DeployState::Canceled),
        ("stale", DeployState::Canceled),
        ("action_required", DeployState::Queued),
        ("neutral", DeployState::Unknown),
        ("vanished", DeployState::Unknown),
    ];
    for (conclusion, lookout) in conclusions {
        assert_eq!(
            workflow_run_state(Some("completed"), Some(conclusion)),
            lookout,
            "{conclusion}"
        );
    }
    assert_eq!(
        workflow_run_state(Some("completed"), None),
        DeployState::Unknown
    );
    assert_eq!(workflow_run_state(None, None), DeployState::Unknown);
}

#[test]
fn list_deployments_fixture_with_its_statuses_fixture() {
    let deployments: Vec<WireDeployment> = serde_json::from_str(LIST_DEPLOYMENTS).unwrap();
    assert_eq!(deployments.len(), 1);
    let statuses: Vec<WireStatus> = serde_json::from_str(LIST_STATUSES).unwrap();
    let latest = LatestStatus::from_statuses(statuses).unwrap();
    assert_eq!(
        latest,
        LatestStatus {
            state: "success".into(),
            environment_url: Some("https://test-branch.lab.acme.com".into()),
            log_url: Some("https://example.com/deployment/42/output".into()),
            finished_at: at("2012-07-20T01:19:13Z"),
        }
    );
    let deployment = deployments
        .into_iter()
        .next()
        .unwrap()
        .into_provider(Some(latest));
    assert_eq!(deployment.id, "1");
    assert_eq!(deployment.state, DeployState::Ready);
    assert_eq!(deployment.provider_state, "success");
    assert_eq!(deployment.environment, named("production"));
    assert_eq!(
        deployment.commit,
        CommitInfo {
            sha: Some("a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d".into()),
            message: None,
            author: None,
            branch: Some("topic-branch".into()),
        }
    );
    assert_eq!(deployment.pr_number, None);
    assert_eq!(deployment.creator.as_deref(), Some("octocat"));
    assert_eq!(deployment.created_at, at("2012-07-20T01:19:13Z"));
    assert_eq!(deployment.finished_at, at("2012-07-20T01:19:13Z"));
    assert_eq!(
        deployment.url.as_deref(),
        Some("https://test-branch.lab.acme.com")
    );
    assert_eq!(
        deployment.dashboard_url.as_deref(),
        Some("https://example.com/deployment/42/output")
    );
}

#[test]
fn create_deployment_fixture_without_a_status_is_queued() {
    let deployment: WireDeployment = serde_json::from_str(CREATE_DEPLOYMENT).unwrap();
    let deployment = deployment.into_provider(None);
    assert_eq!(deployment.id, "1");
    assert_eq!(deployment.state, DeployState::Queued);
    assert_eq!(deployment.provider_state, "");
    assert_eq!(deployment.environment, named("production"));
    assert_eq!(
        deployment.commit.sha.as_deref(),
        Some("a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d")
    );
    assert_eq!(deployment.finished_at, None);
    assert_eq!(deployment.url, None);
    assert_eq!(deployment.dashboard_url, None);
}

#[test]
fn creating_answers_a_deployment_or_a_merge_message() {
    let created: WireCreated = serde_json::from_str(CREATE_DEPLOYMENT).unwrap();
    assert!(matches!(created, WireCreated::Deployment(ref d) if d.id == 1));
    let merged: WireCreated = serde_json::from_str(
        r#"{"message":"Auto-merged master into topic-branch on deployment."}"#,
    )
    .unwrap();
    assert!(
        matches!(merged, WireCreated::Message { message: Some(ref m) } if m.starts_with("Auto-merged"))
    );
}

#[test]
fn only_the_deployments_source_has_a_rollback() {
    assert!(client(GithubSource::Deployments)
        .rollback_method()
        .is_some());
    let runs = client(GithubSource::WorkflowRuns {
        workflow: "deploy.yml".into(),
        branch_environments: Vec::new(),
    });
    assert_eq!(runs.rollback_method(), None);
}

#[test]
fn create_status_fixture_is_a_success_status() {
    let status: WireStatus = serde_json::from_str(CREATE_STATUS).unwrap();
    assert_eq!(status.id, 1);
    assert_eq!(status.state, "success");
    assert_eq!(status.created_at.as_deref(), Some("2012-07-20T01:19:13Z"));
    assert_eq!(
        status.environment_url.as_deref(),
        Some("https://test-branch.lab.acme.com")
    );
    let latest = LatestStatus::from_statuses(vec![status]).unwrap();
    assert_eq!(deployment_status_state(&latest.state), DeployState::Ready);
}

#[test]
fn list_workflow_runs_fixture() {
    let list: WireRunList = serde_json::from_str(LIST_RUNS).unwrap();
    assert_eq!(list.workflow_runs.len(), 1);
    let mapping = vec![("master".to_string(), "production".to_string())];
    let run = list
        .workflow_runs
        .into_iter()
        .next()
        .unwrap()
        .into_provider(&mapping);
    assert_eq!(run.id, "30433642");
    assert_eq!(run.state, DeployState::Queued);
    assert_eq!(run.provider_state, "queued");
    assert_eq!(run.environment, named("production"));
    assert_eq!(
        run.commit,
        CommitInfo {
            sha: Some("acb5820ced9479c074f688cc328bf03f341a511d".into()),
            message: Some("Create linter.yaml".into()),
            author: Some("Octo Cat".into()),
            branch: Some("master".into()),
        }
    );
    assert_eq!(run.pr_number, None);
    assert_eq!(run.creator.as_deref(), Some("octocat"));
    assert_eq!(run.created_at, at("2020-01-22T19:33:08Z"));
    assert_eq!(run.finished_at, None, "queued: not finished");
    assert_eq!(run.url, None);
    assert_eq!(
        run.dashboard_url.as_deref(),
        Some("https://github.com/octo-org/octo-repo/actions/runs/30433642")
    );
}

#[test]
fn an_unmapped_branch_run_is_a_preview_with_its_pull_request() {
    let json = r#"{
        "id": 7, "head_branch": "feature/login", "head_sha": "abc",
        "display_title": "Add login", "status": "completed", "conclusion": "success",
        "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-01T09:02:00Z",
        "actor": {"login": "ada"}, "triggering_actor": {"login": "grace"},
        "head_commit": null, "pull_requests": [{"number": 42, "id": 1}], "new": true
    }"#;
    let run: WireRun = serde_json::from_str(json).unwrap();
    let run = run.into_provider(&[("main".into(), "production".into())]);
    assert_eq!(run.state, DeployState::Ready);
    assert_eq!(run.provider_state, "success");
    assert_eq!(
        run.environment,
        ProviderEnvironment::Preview {
            branch: Some("feature/login".into()),
            pr_number: Some(42)
        }
    );
    assert_eq!(run.pr_number, Some(42));
    assert_eq!(
        run.commit.message.as_deref(),
        Some("Add login"),
        "display_title"
    );
    assert_eq!(run.commit.author, None);
    assert_eq!(run.creator.as_deref(), Some("grace"), "the re-run's actor");
    assert_eq!(run.finished_at, at("2026-03-01T09:02:00Z"));
}

#[test]
fn rerun_and_dispatch_fixtures_are_not_deployment_lists() {
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(RERUN).unwrap(),
        serde_json::json!({})
    );
    assert!(serde_json::from_str::<WireRunList>(RERUN).is_err());
    assert!(serde_json::from_str::<Vec<WireDeployment>>(RERUN).is_err());
    #[derive(Deserialize)]
    struct Dispatch {
        workflow_run_id: u64,
        run_url: String,
        html_url: String,
    }
    let dispatch: Dispatch = serde_json::from_str(DISPATCH).unwrap();
    assert_eq!(dispatch.workflow_run_id, 1);
    assert_eq!(
        dispatch.run_url,
        "https://api.github.com/repos/octo-org/octo-repo/actions/runs/1"
    );
    assert_eq!(
        dispatch.html_url,
        "https://github.com/octo-org/octo-repo/actions/runs/1"
    );
    assert!(serde_json::from_str::<WireRunList>(DISPATCH).is_err());
}

#[test]
fn the_latest_status_wins_in_either_order_and_finish_survives_inactive() {
    let statuses = |order: &[(u64, &str, &str)]| -> Vec<WireStatus> {
        order
            .iter()
            .map(|(id, state, time)| WireStatus {
                id: *id,
                state: state.to_string(),
                created_at: Some(time.to_string()),
                environment_url: (*state == "success").then(|| "https://app.example".into()),
                log_url: (*state != "inactive").then(|| format!("https://ci.example/{id}")),
                target_url: None,
            })
            .collect()
    };
    let history = [
        (1, "queued", "2026-03-01T09:00:00Z"),
        (2, "in_progress", "2026-03-01T09:00:30Z"),
        (3, "success", "2026-03-01T09:02:00Z"),
        (4, "inactive", "2026-03-01T10:00:00Z"),
    ];
    let mut newest_first = history;
    newest_first.reverse();
    for order in [&history[..], &newest_first[..]] {
        let latest = LatestStatus::from_statuses(statuses(order)).unwrap();
        assert_eq!(latest.state, "inactive");
        assert_eq!(latest.finished_at, at("2026-03-01T09:02:00Z"));
        assert_eq!(latest.environment_url, None, "only the latest status's URL");
        assert_eq!(latest.log_url.as_deref(), Some("https://ci.example/3"));
    }
    let running = LatestStatus::from_statuses(statuses(&history[..2])).unwrap();
    assert_eq!(running.state, "in_progress");
    assert_eq!(running.finished_at, None);
    assert_eq!(LatestStatus::from_statuses(Vec::new()), None);
}

#[test]
fn refs_name_a_branch_or_a_pull_request() {
    assert_eq!(
        branch_and_pr_of_ref(Some("main")),
        (Some("main".into()), None)
    );
    assert_eq!(
        branch_and_pr_of_ref(Some("refs/heads/release/2")),
        (Some("release/2".into()), None)
    );
    assert_eq!(
        branch_and_pr_of_ref(Some("refs/pull/17/merge")),
        (None, Some(17))
    );
    assert_eq!(branch_and_pr_of_ref(Some("refs/tags/v1.0.0")), (None, None));
    assert_eq!(
        branch_and_pr_of_ref(Some("a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d")),
        (None, None)
    );
    assert_eq!(branch_and_pr_of_ref(None), (None, None));
}

#[test]
fn link_headers_give_page_numbers() {
    let map = headers(&[(
        "link",
        r#"<https://api.github.com/repositories/1/deployments?per_page=2&page=3>; rel="next", <https://api.github.com/repositories/1/deployments?per_page=2&page=9>; rel="last""#,
    )]);
    assert_eq!(link_page(&map, "next"), Some(3));
    assert_eq!(link_page(&map, "last"), Some(9));
    assert_eq!(link_page(&map, "prev"), None);
    // Commas inside a URL, several header lines, relative targets, unquoted rel.
    let map = headers(&[
        ("link", r#"</x?q=a,b&page=1>; rel="prev first""#),
        ("link", "</x?page=4&q=c,d>; rel=next"),
    ]);
    assert_eq!(link_page(&map, "first"), Some(1));
    assert_eq!(link_page(&map, "next"), Some(4));
    assert_eq!(link_page(&headers(&[("link", "garbage")]), "next"), None);
    assert_eq!(
        link_page(
            &headers(&[("link", "<https://x/?page=0>; rel=\"next\"")]),
            "next"
        ),
        None
    );
    assert_eq!(link_page(&HeaderMap::new(), "next"), None);
}

#[test]
fn a_403_with_no_requests_left_is_a_rate_limit_not_a_refusal() {
    let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
    let body = br#"{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest"}"#;
    let primary = refusal_error(
        StatusCode::FORBIDDEN,
        &headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000090"),
        ]),
        body,
        now,
    );
    assert_eq!(
        primary,
        ProviderError::RateLimited {
            retry_after: Some(Duration::from_secs(90)),
            message: "API rate limit exceeded for user ID 1.".into()
        }
    );
    let secondary = refusal_error(
        StatusCode::FORBIDDEN,
        &headers(&[("retry-after", "30"), ("x-ratelimit-remaining", "4000")]),
        br#"{"message":"You have exceeded a secondary rate limit."}"#,
        now,
    );
    assert_eq!(secondary.retry_after(), Some(Duration::from_secs(30)));
    let message_only = refusal_error(
        StatusCode::FORBIDDEN,
        &HeaderMap::new(),
        br#"{"message":"You have exceeded a secondary rate limit. Please wait."}"#,
        now,
    );
    assert_eq!(message_only.retry_after(), Some(SECONDARY_LIMIT_WAIT));
    let plain_429 = refusal_error(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), b"", now);
    assert_eq!(plain_429.retry_after(), Some(SECONDARY_LIMIT_WAIT));

    let forbidden = refusal_error(
        StatusCode::FORBIDDEN,
        &headers(&[("x-ratelimit-remaining", "4999")]),
        br#"{"message":"Resource not accessible by personal access token","documentation_url":"https://docs.github.com/rest"}"#,
        now,
    );
    assert_eq!(
        forbidden,
        ProviderError::Forbidden {
            message: "Resource not accessible by personal access token".into()
        }
    );
}

#[test]
fn error_bodies_give_their_message() {
    assert_eq!(
        error_message(br#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}"#)
            .as_deref(),
        Some("Bad credentials")
    );
    assert_eq!(
        error_message(br#"{"message":"Validation Failed","errors":[{"resource":"Deployment","field":"ref","code":"missing"}]}"#)
            .as_deref(),
        Some("Validation Failed")
    );
    assert_eq!(error_message(b"<html>unicorn</html>"), None);
    assert_eq!(error_message(br#"{"message":""}"#), None);
}

#[test]
fn lenient_parsing_and_the_wrong_shape() {
    let deployment: WireDeployment = serde_json::from_str(
        r#"{"id": 5, "payload": "a string payload", "created_at": "yesterday", "future": [1]}"#,
    )
    .unwrap();
    let deployment = deployment.into_provider(None);
    assert_eq!(deployment.created_at, None);
    assert_eq!(deployment.environment, named("production"));
    assert!(serde_json::from_str::<Vec<WireDeployment>>(r#"{"deployments": []}"#).is_err());
    assert!(serde_json::from_str::<Vec<WireDeployment>>(r#"[{"sha": "abc"}]"#).is_err());
    assert!(serde_json::from_str::<WireRunList>(r#"[]"#).is_err());
}

#[test]
fn endpoints_keep_the_base_path_and_encode_segments() {
    let mut client = client(GithubSource::Deployments);
    client.config.api_base = "http://127.0.0.1:9/github/".into();
    client.config.owner = "octo cat".into();
    assert_eq!(
        client
            .endpoint(&["deployments", "1/../x", "statuses"])
            .unwrap()
            .as_str(),
        "http://127.0.0.1:9/github/repos/octo%20cat/example/deployments/1%2F..%2Fx/statuses"
    );
    assert!(!format!("{client:?}").contains("ghp_do_not_print"));
    client.config.api_base = "not a url".into();
    assert!(matches!(
        client.endpoint(&[]),
        Err(ProviderError::Transport { .. })
    ));
}

#[test]
fn cursors_are_page_numbers() {
    assert_eq!(parse_page_cursor(&paging::page_cursor(3)).unwrap(), 3);
    for bad in ["0", "-1", "two", ""] {
        assert!(parse_page_cursor(&PageCursor(bad.into())).is_err(), "{bad}");
    }
}

#[test]
fn only_terminal_statuses_are_cached() {
    let client = client(GithubSource::Deployments);
    let status = |state: &str| LatestStatus {
        state: state.into(),
        environment_url: None,
        log_url: None,
        finished_at: None,
    };
    client.remember_status(1, &status("success"));
    client.remember_status(2, &status("in_progress"));
    client.remember_status(3, &status("failure"));
    client.remember_status(4, &status("inactive"));
    assert_eq!(client.cached_status(1), None);
    assert_eq!(client.cached_status(2), None);
    assert_eq!(client.cached_status(3), Some(status("failure")));
    assert_eq!(client.cached_status(4), Some(status("inactive")));
    // Clones share the cache.
    assert_eq!(client.clone().cached_status(3), Some(status("failure")));
}
