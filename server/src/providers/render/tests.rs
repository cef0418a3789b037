use super::*;
use crate::providers::testkit::{assert_maps, at, fixture, named};
use chrono::{TimeZone, Utc};

const LIST_FIXTURE: &str = fixture!("render_list_deploys_CONSTRUCTED.json");
const ROLLBACK_RESPONSE_FIXTURE: &str = fixture!("render_rollback_response_CONSTRUCTED.json");
const ROLLBACK_REQUEST_FIXTURE: &str = fixture!("render_rollback_request.json");
const ERROR_FIXTURE: &str = fixture!("render_error_CONSTRUCTED.json");

fn client() -> RenderClient {
    RenderClient::new(
        reqwest::Client::new(),
        RenderClientConfig {
            api_base: "https://api.render.com/v1".into(),
            token: Secret::new("rnd_test_token"),
            service_id: "srv-abc123".into(),
            environment: "production".into(),
            service_url: Some("https://api.example.com".into()),
        },
    )
}

#[test]
fn every_render_status_maps_to_a_lookout_state() {
    let cases = [
        ("created", DeployState::Queued),
        ("queued", DeployState::Queued),
        ("build_in_progress", DeployState::Building),
        ("update_in_progress", DeployState::Deploying),
        ("pre_deploy_in_progress", DeployState::Deploying),
        ("live", DeployState::Ready),
        ("deactivated", DeployState::Superseded),
        ("build_failed", DeployState::Failed),
        ("update_failed", DeployState::Failed),
        ("pre_deploy_failed", DeployState::Failed),
        ("canceled", DeployState::Canceled),
        ("some_future_status", DeployState::Unknown),
        ("", DeployState::Unknown),
    ];
    assert_maps(&cases, deploy_state);
}

#[test]
fn list_fixture_parses_into_a_page() {
    let items: Vec<RenderDeployWithCursor> = serde_json::from_str(LIST_FIXTURE).unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].cursor.as_deref(), Some("cfQ74cE2sDI="));

    let page = client().to_page(items, 2);
    assert_eq!(page.next, Some(PageCursor("mpFjFKeYgnw=".into())));
    let [live, old] = page.deployments.as_slice() else {
        panic!("two deployments expected");
    };

    assert_eq!(live.id, "dep-d0c1b2a3f4e5d6c7b8a9");
    assert_eq!(live.state, DeployState::Ready);
    assert_eq!(live.provider_state, "live");
    assert_eq!(live.environment, named("production"));
    assert_eq!(
        live.commit,
        CommitInfo {
            sha: Some("de8b89f13b2bc164cf07e735921bf5513e17951d".into()),
            message: Some("Fix header layout".into()),
            author: None,
            branch: None,
        }
    );
    assert_eq!(live.creator, None);
    assert_eq!(live.pr_number, None);
    assert_eq!(live.created_at, at("2021-06-17T08:15:30Z"));
    assert_eq!(live.finished_at, at("2021-06-17T08:18:02Z"));
    assert_eq!(live.url.as_deref(), Some("https://api.example.com"));
    assert_eq!(
        live.dashboard_url.as_deref(),
        Some("https://dashboard.render.com/web/srv-abc123/deploys/dep-d0c1b2a3f4e5d6c7b8a9")
    );

    assert_eq!(old.id, "dep-c9b8a7f6e5d4c3b2a1f0");
    assert_eq!(old.state, DeployState::Superseded);
    assert_eq!(old.commit.message.as_deref(), Some("Previous release"));
    assert_eq!(old.finished_at, at("2021-02-17T08:19:45Z"));
    assert_eq!(old.url, None, "only the live deploy has the service URL");
}

#[test]
fn a_short_page_is_the_last_one() {
    let items: Vec<RenderDeployWithCursor> = serde_json::from_str(LIST_FIXTURE).unwrap();
    let page = client().to_page(items, 20);
    assert_eq!(page.deployments.len(), 2);
    assert_eq!(page.next, None);
    assert_eq!(client().to_page(Vec::new(), 20), DeploymentPage::default());
}

#[test]
fn a_page_is_sorted_newest_first_but_pages_on_from_the_last_item() {
    let mut items: Vec<RenderDeployWithCursor> = serde_json::from_str(LIST_FIXTURE).unwrap();
    items.reverse();
    let page = client().to_page(items, 2);
    assert_eq!(page.deployments[0].id, "dep-d0c1b2a3f4e5d6c7b8a9");
    assert_eq!(page.deployments[1].id, "dep-c9b8a7f6e5d4c3b2a1f0");
    assert_eq!(page.next, Some(PageCursor("cfQ74cE2sDI=".into())));
}

#[test]
fn rollback_response_fixture_parses_as_a_queued_deploy() {
    let deploy: RenderDeploy = serde_json::from_str(ROLLBACK_RESPONSE_FIXTURE).unwrap();
    let deployment = client().to_deployment(deploy);
    assert_eq!(deployment.id, "dep-e1f2a3b4c5d6e7f8a9b0");
    assert_eq!(deployment.state, DeployState::Queued);
    assert_eq!(deployment.provider_state, "created");
    assert_eq!(
        deployment.commit.sha.as_deref(),
        Some("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c")
    );
    assert_eq!(deployment.created_at, at("2021-06-18T10:00:00Z"));
    assert_eq!(deployment.finished_at, None);
    assert_eq!(deployment.url, None);
}

#[test]
fn rollback_request_fixture_names_a_deploy_of_the_list() {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    struct RollbackRequest {
        deploy_id: String,
    }
    let request: RollbackRequest = serde_json::from_str(ROLLBACK_REQUEST_FIXTURE).unwrap();
    assert_eq!(request.deploy_id, "dep-c9b8a7f6e5d4c3b2a1f0");
    assert!(LIST_FIXTURE.contains(&request.deploy_id));
}

#[test]
fn error_fixture_gives_its_message() {
    assert_eq!(
        error_message(ERROR_FIXTURE.as_bytes()).as_deref(),
        Some("deploy not found")
    );
    assert_eq!(
        error_message(br#"{"id":"x","code":"service_suspended"}"#).as_deref(),
        Some("service_suspended")
    );
    assert_eq!(error_message(b"<html>bad gateway</html>"), None);
    assert_eq!(error_message(b"{}"), None);
}

#[test]
fn lenient_parsing_ignores_new_fields_and_bad_timestamps() {
    let deploy: RenderDeploy = serde_json::from_str(
        r#"{"id":"dep-1","status":"rocketing","createdAt":"yesterday","newField":{"a":1}}"#,
    )
    .unwrap();
    let deployment = client().to_deployment(deploy);
    assert_eq!(deployment.state, DeployState::Unknown);
    assert_eq!(deployment.provider_state, "rocketing");
    assert_eq!(deployment.created_at, None);
    assert_eq!(deployment.commit, CommitInfo::default());
    // Not the documented shape at all: an object instead of the list.
    assert!(serde_json::from_str::<Vec<RenderDeployWithCursor>>(r#"{"deploys":[]}"#).is_err());
}

#[test]
fn deploy_urls_are_built_under_the_api_base_and_encoded() {
    let client = client();
    assert_eq!(
        client.deploys_url(None).unwrap().as_str(),
        "https://api.render.com/v1/services/srv-abc123/deploys"
    );
    assert_eq!(
        client.deploys_url(Some("dep-1/../x")).unwrap().as_str(),
        "https://api.render.com/v1/services/srv-abc123/deploys/dep-1%2F..%2Fx"
    );
    let mut config = client.config.clone();
    config.api_base = "http://127.0.0.1:9/render/".into();
    let nested = RenderClient::new(reqwest::Client::new(), config);
    assert_eq!(
        nested.deploys_url(Some("dep-1")).unwrap().as_str(),
        "http://127.0.0.1:9/render/services/srv-abc123/deploys/dep-1"
    );
    assert!(!format!("{nested:?}").contains("rnd_test_token"));
}

#[test]
fn timestamps_parse_as_utc() {
    assert_eq!(
        wire::parse_time("render", Some("2021-06-17T10:15:30+02:00")),
        Some(Utc.with_ymd_and_hms(2021, 6, 17, 8, 15, 30).unwrap())
    );
}
