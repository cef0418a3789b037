use super::*;
use crate::providers::testkit::fixture;
use crate::providers::testkit::{assert_maps, named};
use chrono::TimeZone;

const PROJECT: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const SERVICE: &str = "5e4d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d1c";
const PRODUCTION: &str = "0b8e3a1c-6f0d-4b1e-9d2a-2f5c7e9a1b3c";

fn config() -> RailwayClientConfig {
    RailwayClientConfig {
        api_base: DEFAULT_API_BASE.into(),
        token: Secret::new("railway-token-123"),
        token_kind: RailwayTokenKind::Bearer,
        project_id: PROJECT.into(),
        service_id: SERVICE.into(),
        environments: vec![RailwayEnvironmentRef {
            environment_id: PRODUCTION.into(),
            name: "production".into(),
        }],
    }
}

fn envelope(text: &str) -> GraphQlResponse {
    serde_json::from_str(text).unwrap()
}

#[test]
fn every_railway_status_maps_to_a_lookout_state() {
    let expected = [
        ("QUEUED", DeployState::Queued),
        ("WAITING", DeployState::Queued),
        ("NEEDS_APPROVAL", DeployState::Queued),
        ("INITIALIZING", DeployState::Queued),
        ("BUILDING", DeployState::Building),
        ("DEPLOYING", DeployState::Deploying),
        ("SUCCESS", DeployState::Ready),
        ("SLEEPING", DeployState::Ready),
        ("FAILED", DeployState::Failed),
        ("CRASHED", DeployState::Failed),
        ("REMOVED", DeployState::Superseded),
        ("REMOVING", DeployState::Superseded),
        ("SKIPPED", DeployState::Canceled),
        ("TELEPORTING", DeployState::Unknown),
        ("", DeployState::Unknown),
    ];
    assert_maps(&expected, map_status);
}

#[test]
fn the_list_fixture_maps_onto_lookout_deployments() {
    let body = envelope(fixture!("railway_list_deployments_CONSTRUCTED.json"));
    assert!(body.errors.is_none());
    let data: ListData = decode_data(body.data).unwrap();
    let config = config();
    let mapped: Vec<ProviderDeployment> = data
        .deployments
        .edges
        .iter()
        .map(|edge| map_deployment(&config, &edge.node))
        .collect();
    assert_eq!(mapped.len(), 2);

    let live = &mapped[0];
    assert_eq!(live.id, "8107edff-4b8e-44fc-b43a-04566e847a2a");
    assert_eq!(live.state, DeployState::Ready);
    assert_eq!(live.provider_state, "SUCCESS");
    // The fixture has no `environment` object: the configured name for the id is used.
    assert_eq!(live.environment, named("production"));
    assert_eq!(
        live.commit,
        CommitInfo {
            sha: Some("de8b89f13b2bc164cf07e735921bf5513e17951d".into()),
            message: Some("Fix header layout".into()),
            author: Some("octocat".into()),
            branch: Some("main".into()),
        }
    );
    assert_eq!(
        live.created_at,
        Some(
            Utc.with_ymd_and_hms(2025, 11, 21, 23, 48, 42).unwrap()
                + chrono::Duration::milliseconds(311)
        )
    );
    assert_eq!(
        live.finished_at,
        Some(Utc.with_ymd_and_hms(2025, 11, 21, 23, 50, 2).unwrap())
    );
    assert_eq!(
        live.url.as_deref(),
        Some("https://web-production-1a2b.up.railway.app")
    );
    assert_eq!(
        live.dashboard_url.as_deref(),
        Some(
            "https://railway.com/project/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d/service/\
             5e4d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d1c?environmentId=\
             0b8e3a1c-6f0d-4b1e-9d2a-2f5c7e9a1b3c&id=8107edff-4b8e-44fc-b43a-04566e847a2a"
        )
    );
    assert_eq!(live.creator, None);
    assert_eq!(live.pr_number, None);

    let removed = &mapped[1];
    assert_eq!(removed.id, "2c1b0a9f-8e7d-4c6b-9a5f-4e3d2c1b0a9f");
    assert_eq!(removed.state, DeployState::Superseded);
    assert_eq!(
        removed.commit.sha.as_deref(),
        Some("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c")
    );
    assert_eq!(
        removed.commit.message, None,
        "unconfirmed meta keys are optional"
    );
    // `url` is null, so `staticUrl` is the address.
    assert_eq!(
        removed.url.as_deref(),
        Some("https://web-production-1a2b.up.railway.app")
    );
    // statusUpdatedAt of a REMOVED deployment is when it was removed, not a finish time.
    assert_eq!(removed.finished_at, None);

    let info = data.deployments.page_info.unwrap();
    assert_eq!(info.has_next_page, Some(false));
    assert_eq!(info.end_cursor.as_deref(), Some("Y3Vyc29yOjI="));
}

#[test]
fn the_not_authorized_fixture_is_unauthorized() {
    let body = envelope(fixture!("railway_error_not_authorized_CONSTRUCTED.json"));
    // `"data": null` reads as no data.
    assert!(body.data.is_none());
    let errors = body.errors.unwrap();
    assert_eq!(errors[0].message, "Not Authorized");
    assert_eq!(
        fatal_error(&errors[0], &HeaderMap::new(), Utc::now()),
        Some(ProviderError::Unauthorized {
            message: "Not Authorized".into()
        })
    );
}

#[test]
fn the_rollback_fixtures_have_the_documented_shape() {
    let request: Value = serde_json::from_str(fixture!("railway_rollback_request.json")).unwrap();
    let query = request["query"].as_str().unwrap();
    assert!(query.contains("deploymentRollback(id: $id)"));
    assert!(
        !query.contains("deploymentRollback(id: $id) {"),
        "Boolean!: no sub-selection"
    );
    assert_eq!(
        request["variables"]["id"],
        "2c1b0a9f-8e7d-4c6b-9a5f-4e3d2c1b0a9f"
    );

    let response = envelope(fixture!("railway_rollback_response_CONSTRUCTED.json"));
    assert!(response.errors.is_none());
    let data: HashMap<String, bool> = decode_data(response.data).unwrap();
    assert_eq!(data.get("deploymentRollback"), Some(&true));
}

#[test]
fn the_webhook_fixture_uses_the_same_status_and_meta_names() {
    let event: Value = serde_json::from_str(fixture!("railway_webhook_deployment.json")).unwrap();
    assert_eq!(event["type"], "Deployment.failed");
    assert_eq!(
        map_status(event["details"]["status"].as_str().unwrap()),
        DeployState::Ready
    );
    for key in ["commitHash", "commitMessage", "commitAuthor", "branch"] {
        assert_eq!(
            meta_string(Some(&event["details"]), key).as_deref(),
            Some("...")
        );
    }
    assert_eq!(event["resource"]["environment"]["isEphemeral"], false);
}

#[test]
fn graphql_errors_map_by_message() {
    let error = |message: &str| GraphQlError {
        message: message.into(),
        ..GraphQlError::default()
    };
    let none = HeaderMap::new();
    let now = Utc::now();
    assert!(matches!(
        fatal_error(&error("Project Token not found"), &none, now),
        Some(ProviderError::Unauthorized { .. })
    ));
    assert!(matches!(
        fatal_error(&error("Two Factor Authentication Required"), &none, now),
        Some(ProviderError::Forbidden { .. })
    ));
    assert_eq!(
        fatal_error(&error("Deployment not found"), &none, now),
        None
    );
    assert!(matches!(
        request_error(&error("Deployment not found"), StatusCode::OK),
        ProviderError::NotFound { .. }
    ));
    assert!(matches!(
        request_error(&error("Problem processing request"), StatusCode::OK),
        ProviderError::Rejected { status: 200, .. }
    ));
}

#[test]
fn an_ephemeral_environment_is_a_preview_with_its_pr_number() {
    let node: DeploymentNode = serde_json::from_value(json!({
        "id": "d1",
        "status": "BUILDING",
        "createdAt": "2026-01-02T03:04:05Z",
        "staticUrl": "https://web-web-pr-42.up.railway.app",
        "meta": { "commitHash": "abc", "branch": "feature/x" },
        "creator": { "name": null, "email": "dev@example.com" },
        "environmentId": "env-pr",
        "environment": { "id": "env-pr", "name": "web-pr-42", "isEphemeral": true },
        "someNewField": { "nested": 1 }
    }))
    .unwrap();
    let mapped = map_deployment(&config(), &node);
    assert_eq!(
        mapped.environment,
        ProviderEnvironment::Preview {
            branch: Some("feature/x".into()),
            pr_number: Some(42)
        }
    );
    assert_eq!(mapped.pr_number, Some(42));
    assert_eq!(mapped.state, DeployState::Building);
    assert_eq!(mapped.finished_at, None);
    assert_eq!(mapped.creator.as_deref(), Some("dev@example.com"));
    assert_eq!(
        mapped.url.as_deref(),
        Some("https://web-web-pr-42.up.railway.app")
    );
}

#[test]
fn pr_numbers_come_only_from_matching_names() {
    assert_eq!(pr_number_from_environment_name("pr-42"), Some(42));
    assert_eq!(pr_number_from_environment_name("web-PR-7"), Some(7));
    assert_eq!(pr_number_from_environment_name("api_pr-3"), Some(3));
    assert_eq!(pr_number_from_environment_name("production"), None);
    assert_eq!(pr_number_from_environment_name("upr-5"), None);
    assert_eq!(pr_number_from_environment_name("pr-5b"), None);
    assert_eq!(pr_number_from_environment_name("pr-"), None);
}

#[test]
fn the_live_query_aliases_each_environment() {
    let query = live_query(2);
    assert!(query.contains("$env0: String!, $env1: String!"));
    assert!(query.contains("env1: serviceInstance(serviceId: $serviceId, environmentId: $env1)"));
    assert!(query.contains("recent: deployments(input: $recentInput, first: 50)"));
    assert!(query.contains("fragment LookoutDeployment on Deployment"));
}

#[test]
fn a_project_token_scopes_the_list_to_its_one_environment() {
    let bearer = RailwayClient::new(reqwest::Client::new(), config());
    assert_eq!(
        bearer.recent_input(),
        json!({ "projectId": PROJECT, "serviceId": SERVICE })
    );
    let mut project = config();
    project.token_kind = RailwayTokenKind::ProjectAccessToken;
    let scoped = RailwayClient::new(reqwest::Client::new(), project.clone());
    assert_eq!(scoped.recent_input()["environmentId"], PRODUCTION);
    project.environments.push(RailwayEnvironmentRef {
        environment_id: "other".into(),
        name: "staging".into(),
    });
    let unscoped = RailwayClient::new(reqwest::Client::new(), project);
    assert_eq!(unscoped.recent_input().get("environmentId"), None);
}

#[test]
fn the_client_debug_output_hides_the_token() {
    let client = RailwayClient::new(reqwest::Client::new(), config());
    assert!(!format!("{client:?}").contains("railway-token-123"));
}
