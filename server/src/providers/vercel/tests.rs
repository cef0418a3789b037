use super::*;
use crate::providers::testkit::{assert_maps, branch_preview, fixture, fixture_bytes, named};

fn parse_list(json: &str) -> DeploymentPage {
    let page: WireDeploymentList = serde_json::from_str(json).unwrap();
    let deployments: Vec<_> = page
        .deployments
        .into_iter()
        .map(|d| d.into_provider().unwrap())
        .collect();
    let next = paging::opaque_next(
        page.pagination.and_then(|p| p.next).and_then(millis_cursor),
        deployments.len(),
    );
    DeploymentPage { deployments, next }
}

fn at(millis: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(millis).single()
}

#[test]
fn every_vercel_state_maps_onto_lookout() {
    let expected = [
        ("QUEUED", DeployState::Queued),
        ("INITIALIZING", DeployState::Queued),
        ("BUILDING", DeployState::Building),
        ("READY", DeployState::Ready),
        ("ERROR", DeployState::Failed),
        ("CANCELED", DeployState::Canceled),
        ("BLOCKED", DeployState::Failed),
        ("DELETED", DeployState::Superseded),
        ("PROMOTING_SOMEHOW", DeployState::Unknown),
        ("", DeployState::Unknown),
    ];
    assert_maps(&expected, map_state);
}

#[test]
fn list_fixture_parses_production_and_preview() {
    let page = parse_list(fixture!("vercel_list_deployments_CONSTRUCTED.json"));
    assert_eq!(page.next, Some(PageCursor("1609492100000".into())));
    assert_eq!(page.deployments.len(), 2);

    let production = &page.deployments[0];
    assert_eq!(production.id, "dpl_2euZBFqxYdDMDG1jTrHFnNZ2eUVa");
    assert_eq!(production.state, DeployState::Ready);
    assert_eq!(production.provider_state, "READY");
    assert_eq!(production.environment, named("production"));
    assert_eq!(
        production.commit,
        CommitInfo {
            sha: Some("de8b89f13b2bc164cf07e735921bf5513e17951d".into()),
            message: Some("Fix header layout".into()),
            author: Some("John Doe".into()),
            branch: Some("main".into()),
        }
    );
    assert_eq!(production.creator.as_deref(), Some("johndoe"));
    assert_eq!(production.created_at, at(1_609_492_210_000));
    assert_eq!(production.finished_at, at(1_609_492_210_000));
    assert_eq!(
        production.url.as_deref(),
        Some("https://docs-9jaeg38me.vercel.app")
    );
    assert_eq!(
        production.dashboard_url.as_deref(),
        Some("https://vercel.com/acme/nextjs/J1hXN00qjUeoYfpEEf7dnDtpSiVq")
    );

    let preview = &page.deployments[1];
    assert_eq!(preview.id, "dpl_7Gw5ZjBRe8zU2q9vVxk3LmP4aTcN");
    assert_eq!(preview.state, DeployState::Failed);
    assert_eq!(preview.environment, branch_preview("feature/x"));
    assert_eq!(
        preview.commit.message.as_deref(),
        Some("WIP feature branch")
    );
    assert_eq!(preview.commit.author, None);
    assert_eq!(preview.created_at, at(1_609_492_100_000));
    assert_eq!(preview.finished_at, None, "no `ready` for a failed build");
}

#[test]
fn empty_page_fixture_ends_the_listing_despite_its_next() {
    let page = parse_list(fixture!("vercel_list_deployments_empty_page.json"));
    assert!(page.deployments.is_empty());
    assert_eq!(page.next, None);
}

#[test]
fn project_fixture_names_the_live_production_deployment() {
    let project: WireProject = serde_json::from_str(fixture!(
        "vercel_get_project_during_rollback_CONSTRUCTED.json"
    ))
    .unwrap();
    let mut targets = project.targets.unwrap();
    let production = targets
        .remove("production")
        .flatten()
        .unwrap()
        .into_provider()
        .unwrap();
    assert_eq!(production.id, "dpl_2euZBFqxYdDMDG1jTrHFnNZ2eUVa");
    assert_eq!(production.state, DeployState::Ready);
    assert_eq!(production.environment, named("production"));
    assert_eq!(
        production.commit.sha.as_deref(),
        Some("de8b89f13b2bc164cf07e735921bf5513e17951d")
    );
    assert_eq!(production.creator.as_deref(), Some("johndoe"));
    assert_eq!(production.created_at, at(1_609_492_210_000));
    assert_eq!(
        production.url.as_deref(),
        Some("https://docs-9jaeg38me.vercel.app")
    );
}

#[test]
fn error_fixtures_yield_their_messages() {
    assert_eq!(
        error_message(fixture_bytes!("vercel_error_forbidden.json")).as_deref(),
        Some("Not authorized")
    );
    assert_eq!(
        error_message(fixture_bytes!("vercel_error_not_found.json")).as_deref(),
        Some("Could not find the RESOURCE: ID")
    );
    let rate_limited = error_message(fixture_bytes!("vercel_error_rate_limited.json")).unwrap();
    assert!(rate_limited.starts_with("The rate limit of 6 exceeded"));
    assert_eq!(error_message(b"<html>bad gateway</html>"), None);
}

#[test]
fn aliases_fixture_is_not_a_deployment_list() {
    // The rollback/promote alias listing shares `pagination` but is a different shape;
    // taking it for a deployment list must fail rather than yield an empty page.
    let parsed = serde_json::from_str::<WireDeploymentList>(fixture!(
        "vercel_list_rollback_or_promote_aliases_CONSTRUCTED.json"
    ));
    assert!(parsed.is_err());
}

#[test]
fn v6_state_only_gitlab_meta_and_pr_id_are_read() {
    let json = r#"{
        "uid": "dpl_1", "state": "BUILDING", "target": null, "url": null,
        "createdAt": 1700000000000,
        "creator": {"uid": "u1", "email": "dev@example.com"},
        "meta": {"gitlabCommitSha": "abc", "gitlabCommitRef": "fix/login",
                 "gitlabCommitAuthorName": "Dev", "githubPrId": "42", "extra": 7}
    }"#;
    let deployment = serde_json::from_str::<WireDeployment>(json)
        .unwrap()
        .into_provider()
        .unwrap();
    assert_eq!(deployment.state, DeployState::Building);
    assert_eq!(deployment.provider_state, "BUILDING");
    assert_eq!(deployment.commit.sha.as_deref(), Some("abc"));
    assert_eq!(deployment.commit.author.as_deref(), Some("Dev"));
    assert_eq!(deployment.pr_number, Some(42));
    assert_eq!(
        deployment.environment,
        ProviderEnvironment::Preview {
            branch: Some("fix/login".into()),
            pr_number: Some(42)
        }
    );
    assert_eq!(deployment.creator.as_deref(), Some("dev@example.com"));
    assert_eq!(deployment.url, None);
}

#[test]
fn staging_and_custom_environments_are_named() {
    let staging = serde_json::from_str::<WireDeployment>(
        r#"{"id": "dpl_2", "readyState": "READY", "target": "staging"}"#,
    )
    .unwrap()
    .into_provider()
    .unwrap();
    assert_eq!(staging.environment, named("staging"));
    let custom = serde_json::from_str::<WireDeployment>(
        r#"{"uid": "dpl_3", "readyState": "READY", "target": null,
            "customEnvironment": {"id": "env_1", "slug": "qa"}}"#,
    )
    .unwrap()
    .into_provider()
    .unwrap();
    assert_eq!(custom.environment, named("qa"));
}

#[test]
fn a_deployment_without_an_id_is_malformed() {
    let result = serde_json::from_str::<WireDeployment>(r#"{"readyState": "READY"}"#)
        .unwrap()
        .into_provider();
    assert!(matches!(result, Err(ProviderError::Malformed { .. })));
}

#[test]
fn endpoints_keep_the_base_path_encode_ids_and_add_the_team() {
    let client = VercelClient::new(
        reqwest::Client::new(),
        VercelClientConfig {
            api_base: "http://127.0.0.1:9/vercel/".into(),
            token: Secret::new("tok_do_not_print"),
            team_id: Some("team_1".into()),
            project: "docs".into(),
        },
    );
    let url = client.endpoint(&["v13", "deployments", "a/b"]).unwrap();
    assert_eq!(
        url.as_str(),
        "http://127.0.0.1:9/vercel/v13/deployments/a%2Fb?teamId=team_1"
    );
    assert!(!format!("{client:?}").contains("tok_do_not_print"));
}
