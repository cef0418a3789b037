use super::*;
use crate::providers::testkit::{assert_maps, at, branch_preview, fixture, headers, named};
use chrono::TimeZone;

const LIST_FIXTURE: &str = fixture!("netlify_list_deploys_CONSTRUCTED.json");
const SITE_FIXTURE: &str = fixture!("netlify_get_site_published_deploy_CONSTRUCTED.json");
const RESTORE_FIXTURE: &str = fixture!("netlify_restore_deploy_response_CONSTRUCTED.json");
const ERROR_FIXTURE: &str = fixture!("netlify_error_CONSTRUCTED.json");

fn parse(json: &str) -> ProviderDeployment {
    serde_json::from_str::<WireDeploy>(json)
        .unwrap()
        .into_provider(None)
        .unwrap()
}

#[test]
fn every_netlify_state_maps_onto_lookout() {
    let expected = [
        ("new", DeployState::Queued),
        ("pending_review", DeployState::Queued),
        ("accepted", DeployState::Queued),
        ("rejected", DeployState::Canceled),
        ("enqueued", DeployState::Queued),
        ("building", DeployState::Building),
        ("uploading", DeployState::Deploying),
        ("uploaded", DeployState::Deploying),
        ("preparing", DeployState::Deploying),
        ("prepared", DeployState::Deploying),
        ("processing", DeployState::Deploying),
        ("processed", DeployState::Deploying),
        ("ready", DeployState::Ready),
        ("error", DeployState::Failed),
        ("retrying", DeployState::Queued),
        // UNCONFIRMED values.
        ("canceled", DeployState::Canceled),
        ("cancelled", DeployState::Canceled),
        ("current", DeployState::Ready),
        ("old", DeployState::Superseded),
        // Unknown ones.
        ("teleporting", DeployState::Unknown),
        ("", DeployState::Unknown),
    ];
    assert_maps(&expected, map_state);
}

#[test]
fn a_canceled_build_reported_as_an_error_is_canceled() {
    assert_eq!(
        deploy_state("error", Some("Canceled build"), false),
        DeployState::Canceled
    );
    assert_eq!(deploy_state("error", None, true), DeployState::Canceled);
    assert_eq!(
        deploy_state(
            "error",
            Some("Build script returned non-zero exit code: 2"),
            false
        ),
        DeployState::Failed
    );
    assert_eq!(deploy_state("ready", None, true), DeployState::Ready);
}

#[test]
fn list_fixture_parses_production_and_deploy_preview() {
    let deploys: Vec<WireDeploy> = serde_json::from_str(LIST_FIXTURE).unwrap();
    let [production, preview] = <[WireDeploy; 2]>::try_from(deploys).unwrap();

    let production = production.into_provider(None).unwrap();
    assert_eq!(production.id, "1234abcd12acde000111cdef");
    assert_eq!(production.state, DeployState::Ready);
    assert_eq!(production.provider_state, "ready");
    assert_eq!(production.environment, named("production"));
    assert_eq!(
        production.commit,
        CommitInfo {
            sha: Some("de8b89f13b2bc164cf07e735921bf5513e17951d".into()),
            message: Some("Fix header layout".into()),
            author: None,
            branch: Some("main".into()),
        }
    );
    assert_eq!(production.pr_number, None);
    assert_eq!(production.creator, None);
    assert_eq!(production.created_at, at("2024-05-01T12:00:00Z"));
    assert_eq!(production.finished_at, at("2024-05-01T12:01:29Z"));
    assert_eq!(
        production.url.as_deref(),
        Some("https://1234abcd12acde000111cdef--yoursitename.netlify.app")
    );
    assert_eq!(
        production.dashboard_url.as_deref(),
        Some("https://app.netlify.com/sites/yoursitename/deploys/1234abcd12acde000111cdef")
    );

    let preview = preview.into_provider(None).unwrap();
    assert_eq!(preview.id, "2345bcde23bcdf111222def0");
    assert_eq!(preview.state, DeployState::Failed);
    assert_eq!(preview.provider_state, "error");
    assert_eq!(
        preview.environment,
        ProviderEnvironment::Preview {
            branch: Some("feature/x".into()),
            pr_number: Some(42)
        }
    );
    assert_eq!(preview.pr_number, Some(42));
    assert_eq!(
        preview.commit.sha.as_deref(),
        Some("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c")
    );
    assert_eq!(
        preview.commit.message.as_deref(),
        Some("WIP feature branch")
    );
    assert_eq!(preview.created_at, at("2024-04-30T09:00:00Z"));
    assert_eq!(
        preview.finished_at,
        at("2024-04-30T09:02:10Z"),
        "never published: finished when last updated"
    );
    assert_eq!(
        preview.url.as_deref(),
        Some("https://deploy-preview-42--yoursitename.netlify.app")
    );
}

#[test]
fn site_fixture_names_the_published_deploy() {
    let site: WireSite = serde_json::from_str(SITE_FIXTURE).unwrap();
    assert_eq!(
        site.ssl_url.as_deref(),
        Some("https://yoursitename.netlify.app")
    );
    let admin_url = site.admin_url.clone();
    let published = site
        .published_deploy
        .unwrap()
        .into_provider(admin_url.as_deref())
        .unwrap();
    assert_eq!(published.id, "1234abcd12acde000111cdef");
    assert_eq!(published.state, DeployState::Ready);
    assert_eq!(published.environment, named("production"));
    assert_eq!(
        published.commit.sha.as_deref(),
        Some("de8b89f13b2bc164cf07e735921bf5513e17951d")
    );
    assert_eq!(published.commit.branch.as_deref(), Some("main"));
    assert_eq!(published.finished_at, at("2024-05-02T08:15:00Z"));
    assert_eq!(published.created_at, None, "the summary has no created_at");
    assert_eq!(
        published.dashboard_url.as_deref(),
        Some("https://app.netlify.com/sites/yoursitename/deploys/1234abcd12acde000111cdef")
    );
}

#[test]
fn restore_fixture_parses_as_the_restored_deploy() {
    let restored = parse(RESTORE_FIXTURE);
    assert_eq!(restored.id, "1234abcd12acde000111cdef");
    assert_eq!(restored.state, DeployState::Ready);
    assert_eq!(restored.environment, named("production"));
    assert_eq!(
        restored.commit.message.as_deref(),
        Some("Fix header layout")
    );
    assert_eq!(restored.created_at, at("2024-05-01T12:00:00Z"));
    assert_eq!(
        restored.finished_at,
        at("2024-05-02T08:15:00Z"),
        "published again by the restore"
    );
}

#[test]
fn error_fixture_yields_its_message() {
    assert_eq!(
        error_message(ERROR_FIXTURE.as_bytes()).as_deref(),
        Some("Not Found")
    );
    assert_eq!(error_message(b"<html>bad gateway</html>"), None);
    assert_eq!(error_message(br#"{"code": 500, "message": ""}"#), None);
}

#[test]
fn branch_deploys_have_no_pr_and_extra_commit_keys_are_read() {
    let deploy = parse(
        r#"{"id": "abc", "state": "building", "context": "branch-deploy",
            "branch": "staging", "review_id": "7", "title": "Deploy title",
            "commit_message": "Real message", "committer": "octocat",
            "created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-01T12:00:30Z",
            "brand_new_field": {"x": 1}}"#,
    );
    assert_eq!(deploy.state, DeployState::Building);
    assert_eq!(deploy.environment, branch_preview("staging"));
    assert_eq!(deploy.commit.message.as_deref(), Some("Real message"));
    assert_eq!(deploy.commit.author.as_deref(), Some("octocat"));
    assert_eq!(deploy.finished_at, None, "still building");
    assert_eq!(deploy.dashboard_url, None, "no site name or admin URL");
}

#[test]
fn unknown_or_missing_context_is_a_preview_of_its_branch() {
    let deploy = parse(r#"{"id": "abc", "state": "ready", "branch": "x", "review_id": 3}"#);
    assert_eq!(
        deploy.environment,
        ProviderEnvironment::Preview {
            branch: Some("x".into()),
            pr_number: Some(3)
        }
    );
    let deploy = parse(r#"{"id": "abc", "state": "ready", "context": "dev"}"#);
    assert_eq!(
        deploy.environment,
        ProviderEnvironment::Preview {
            branch: None,
            pr_number: None
        }
    );
}

#[test]
fn a_deploy_without_an_id_or_a_non_list_is_malformed() {
    let result = serde_json::from_str::<WireDeploy>(r#"{"state": "ready"}"#)
        .unwrap()
        .into_provider(None);
    assert!(matches!(result, Err(ProviderError::Malformed { .. })));
    assert!(serde_json::from_str::<Vec<WireDeploy>>(r#"{"deploys": []}"#).is_err());
    assert!(serde_json::from_str::<WireSite>(r#"[]"#).is_err());
}

#[test]
fn next_page_follows_full_pages_or_the_link_header() {
    assert_eq!(next_page(None, 1, 10, 10), Some(2));
    assert_eq!(next_page(None, 2, 10, 9), None);
    assert_eq!(next_page(None, 3, 10, 0), None);
    let link = r#"<https://api.netlify.com/api/v1/sites/s/deploys?page=3&per_page=10>; rel="next", <https://api.netlify.com/api/v1/sites/s/deploys?page=9&per_page=10>; rel="last""#;
    assert_eq!(next_page(Some(link), 2, 10, 10), Some(3));
    // A Link header without `next`: the last page, even though it is full.
    let last =
        r#"<https://api.netlify.com/api/v1/sites/s/deploys?page=1&per_page=10>; rel="first""#;
    assert_eq!(next_page(Some(last), 9, 10, 10), None);
    // Relative targets and a next link without a page number.
    assert_eq!(
        next_page(Some(r#"</sites/s/deploys?page=5>; rel="next""#), 4, 10, 3),
        Some(5)
    );
    assert_eq!(
        next_page(Some(r#"<https://x.example/more>; rel=next"#), 4, 10, 3),
        Some(5)
    );
}

#[test]
fn rate_limit_reset_becomes_a_whole_second_wait() {
    let now = Utc.timestamp_opt(1_700_000_000, 400_000_000).unwrap();
    let reset_only = headers(&[("x-ratelimit-reset", "1700000001")]);
    assert_eq!(
        rate_limit_wait(&reset_only, now),
        Some(Duration::from_secs(1))
    );
    let later = headers(&[
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", "1700000030"),
    ]);
    assert_eq!(rate_limit_wait(&later, now), Some(Duration::from_secs(30)));
    let past = headers(&[("x-ratelimit-reset", "1699999990")]);
    assert_eq!(
        rate_limit_wait(&past, now),
        Some(MIN_RATE_LIMIT_WAIT),
        "never less than the floor"
    );
    let retry_after = headers(&[("retry-after", "12"), ("x-ratelimit-reset", "1700000030")]);
    assert_eq!(
        rate_limit_wait(&retry_after, now),
        Some(Duration::from_secs(12))
    );
    assert_eq!(rate_limit_wait(&HeaderMap::new(), now), None);
}

#[test]
fn urls_keep_the_base_path_and_encode_ids() {
    let client = NetlifyClient::new(
        reqwest::Client::new(),
        NetlifyClientConfig {
            api_base: "http://127.0.0.1:9/netlify/".into(),
            token: Secret::new("nfp_do_not_print"),
            site_id: "site one".into(),
        },
    );
    assert_eq!(
        client.site_url(&["deploys", "a/b"]).unwrap().as_str(),
        "http://127.0.0.1:9/netlify/sites/site%20one/deploys/a%2Fb"
    );
    assert!(!format!("{client:?}").contains("nfp_do_not_print"));
}
