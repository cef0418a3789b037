use super::*;
use crate::providers::testkit::{assert_maps, at, fixture, named};
use chrono::TimeZone;

const LIST_FIXTURE: &str = fixture!("digitalocean_list_deployments.json");
const APP_FIXTURE: &str = fixture!("digitalocean_get_app_active_deployment.json");
const ROLLBACK_FIXTURE: &str = fixture!("digitalocean_rollback_response.json");
const HEALTH_FIXTURE: &str = fixture!("digitalocean_app_health.json");
const ERROR_404_FIXTURE: &str = fixture!("digitalocean_error_404.json");
const ERROR_429_FIXTURE: &str = fixture!("digitalocean_error_429.json");
const VALIDATE_VALID_FIXTURE: &str = fixture!("digitalocean_validate_rollback_valid.json");
const VALIDATE_WARNINGS_FIXTURE: &str = fixture!("digitalocean_validate_rollback_warnings.json");
const VALIDATE_INVALID_FIXTURE: &str = fixture!("digitalocean_validate_rollback_invalid.json");

fn client() -> DigitalOceanClient {
    DigitalOceanClient::new(
        reqwest::Client::new(),
        DigitalOceanClientConfig {
            api_base: "https://api.digitalocean.com".into(),
            token: Secret::new("dop_v1_test_token"),
            app_id: "c2a93513-8d9b-4223-9d61-5e7272c81cf5".into(),
            environment: "production".into(),
        },
    )
}

#[test]
fn every_digitalocean_phase_maps_to_a_lookout_state() {
    let cases = [
        ("UNKNOWN", DeployState::Unknown),
        ("PENDING_BUILD", DeployState::Queued),
        ("BUILDING", DeployState::Building),
        ("PENDING_DEPLOY", DeployState::Deploying),
        ("DEPLOYING", DeployState::Deploying),
        ("ACTIVE", DeployState::Ready),
        ("SUPERSEDED", DeployState::Superseded),
        ("ERROR", DeployState::Failed),
        ("CANCELED", DeployState::Canceled),
        ("TELEPORTING", DeployState::Unknown),
        ("active", DeployState::Unknown),
        ("", DeployState::Unknown),
    ];
    assert_maps(&cases, deployment_state);
}

#[test]
fn list_fixture_parses_into_a_single_page() {
    let list: WireDeploymentList = serde_json::from_str(LIST_FIXTURE).unwrap();
    assert_eq!(list.meta.as_ref().and_then(|meta| meta.total), Some(1));
    let page = client().to_page(list, Some(1), 20).unwrap();
    assert_eq!(page.next, None, "`links.pages` is empty and the total is 1");
    let [deployment] = page.deployments.as_slice() else {
        panic!("one deployment expected");
    };
    assert_eq!(deployment.id, "b6bdf840-2854-4f87-a36c-5f231c617c84");
    assert_eq!(deployment.state, DeployState::Queued);
    assert_eq!(deployment.provider_state, "PENDING_BUILD");
    assert_eq!(deployment.environment, named("production"));
    assert_eq!(
        deployment.commit,
        CommitInfo {
            sha: Some("9a4df0b8e161e323bc3cdf1dc71878080fe144fa".into()),
            message: Some("commit 9a4df0b pushed to github/digitalocean/sample-golang".into()),
            author: None,
            branch: Some("branch".into()),
        }
    );
    assert_eq!(deployment.creator, None);
    assert_eq!(deployment.pr_number, None);
    assert_eq!(deployment.created_at, at("2020-07-28T18:00:00Z"));
    assert_eq!(deployment.finished_at, None, "still pending");
    assert_eq!(deployment.url, None);
    assert_eq!(
        deployment.dashboard_url.as_deref(),
        Some("https://cloud.digitalocean.com/apps/c2a93513-8d9b-4223-9d61-5e7272c81cf5/deployments/b6bdf840-2854-4f87-a36c-5f231c617c84")
    );
}

#[test]
fn app_fixture_names_the_active_deployment() {
    let envelope: WireAppEnvelope = serde_json::from_str(APP_FIXTURE).unwrap();
    let app = envelope.app;
    assert_eq!(
        app.live_url.as_deref(),
        Some("https://sample-golang-zyhgn.ondigitalocean.app")
    );
    let active = app.active_deployment.unwrap();
    let deployment = client().to_deployment(active, app.live_url);
    assert_eq!(deployment.id, "991dfa59-6a23-459f-86d6-67dfa2c6f1e3");
    assert_eq!(deployment.state, DeployState::Ready);
    assert_eq!(deployment.provider_state, "ACTIVE");
    assert_eq!(
        deployment.commit.sha.as_deref(),
        Some("db6936cb46047c576962962eed81ad52c21f35d7")
    );
    assert_eq!(deployment.commit.branch.as_deref(), Some("main"));
    assert_eq!(deployment.commit.message.as_deref(), Some("manual"));
    assert_eq!(deployment.created_at, at("2021-02-10T17:05:30Z"));
    // The end of the last progress step (deploy), to the nanosecond.
    assert_eq!(deployment.finished_at, at("2021-02-10T17:06:53.404104185Z"));
    assert_eq!(
        deployment.url.as_deref(),
        Some("https://sample-golang-zyhgn.ondigitalocean.app")
    );
}

#[test]
fn rollback_fixture_parses_as_a_new_pending_deployment() {
    let envelope: WireDeploymentEnvelope = serde_json::from_str(ROLLBACK_FIXTURE).unwrap();
    let deployment = client().to_deployment(envelope.deployment, None);
    assert_eq!(deployment.id, "b6bdf840-2854-4f87-a36c-5f231c617c84");
    assert_eq!(deployment.state, DeployState::Queued);
    assert_eq!(
        deployment.commit.sha.as_deref(),
        Some("9a4df0b8e161e323bc3cdf1dc71878080fe144fa")
    );
    assert_eq!(deployment.finished_at, None);
}

#[test]
fn health_fixture_without_the_wrapper_is_up() {
    let response: WireHealthResponse = serde_json::from_str(HEALTH_FIXTURE).unwrap();
    let components = response.into_components().unwrap();
    assert_eq!(components.len(), 1);
    assert_eq!(components[0].name.as_deref(), Some("sample-expressjs"));
    assert_eq!(components[0].state.as_deref(), Some("HEALTHY"));
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
    let view = health_view(&components, now);
    // Two replicas ready for one desired is not a shortage.
    assert_eq!(view.state, HealthState::Up);
    assert_eq!(view.detail, None);
    assert_eq!(view.checked_at, Some(now));
    assert_eq!(view.latency_ms, None);
}

#[test]
fn health_states_roll_up() {
    let now = Utc::now();
    let parse = |json: &str| {
        serde_json::from_str::<WireHealthResponse>(json)
            .unwrap()
            .into_components()
            .unwrap()
    };
    let wrapped = parse(
        r#"{"app_health":{"components":[
            {"name":"web","state":"HEALTHY","replicas_desired":2,"replicas_ready":2},
            {"name":"worker","state":"UNHEALTHY"}]}}"#,
    );
    let view = health_view(&wrapped, now);
    assert_eq!(view.state, HealthState::Degraded);
    assert_eq!(view.detail.as_deref(), Some("unhealthy: worker"));

    let down = parse(r#"{"components":[{"name":"web","state":"UNHEALTHY"}]}"#);
    assert_eq!(health_view(&down, now).state, HealthState::Down);

    let short = parse(
        r#"{"components":[{"name":"web","state":"HEALTHY","replicas_desired":"3","replicas_ready":"1"}]}"#,
    );
    let view = health_view(&short, now);
    assert_eq!(view.state, HealthState::Degraded);
    assert_eq!(view.detail.as_deref(), Some("web: 1 of 3 replicas ready"));

    let unknown = parse(r#"{"components":[{"name":"web"},{"name":"api","state":"HEALTHY"}]}"#);
    assert_eq!(health_view(&unknown, now).state, HealthState::Unknown);
    let odd = parse(r#"{"components":[{"name":"web","state":"WOBBLY"}]}"#);
    assert_eq!(health_view(&odd, now).state, HealthState::Unknown);

    let empty = parse(r#"{"app_health":{}}"#);
    assert_eq!(health_view(&empty, now).state, HealthState::Unknown);
    assert!(matches!(
        serde_json::from_str::<WireHealthResponse>(r#"{"status":"ok"}"#)
            .unwrap()
            .into_components(),
        Err(ProviderError::Malformed { .. })
    ));
}

#[test]
fn error_fixtures_give_their_messages() {
    assert_eq!(
        error_message(ERROR_404_FIXTURE.as_bytes()).as_deref(),
        Some("The resource you requested could not be found.")
    );
    assert_eq!(
        error_message(ERROR_429_FIXTURE.as_bytes()).as_deref(),
        Some("API rate limit exceeded.")
    );
    assert_eq!(
        error_message(br#"{"id":"forbidden","request_id":"r-1"}"#).as_deref(),
        Some("forbidden")
    );
    assert_eq!(error_message(b"<html>bad gateway</html>"), None);
    assert_eq!(error_message(b"{}"), None);
}

#[test]
fn validate_rollback_fixtures_read_as_refusals_and_warnings() {
    let valid: WireRollbackValidation = serde_json::from_str(VALIDATE_VALID_FIXTURE).unwrap();
    assert!(valid.valid && valid.error.is_none());
    assert_eq!(valid.warnings_text(), None);

    let warned: WireRollbackValidation = serde_json::from_str(VALIDATE_WARNINGS_FIXTURE).unwrap();
    assert!(warned.valid);
    assert_eq!(
        warned.warnings_text().as_deref(),
        Some(
            "one or more components are missing an image digest and are not guaranteed \
             rollback to the old version. (image_source_missing_digest; components: \
             docker-worker)"
        )
    );

    let invalid: WireRollbackValidation = serde_json::from_str(VALIDATE_INVALID_FIXTURE).unwrap();
    assert!(!invalid.valid);
    assert_eq!(
        invalid.error.unwrap().text(),
        "deployment result \"failed\" is unsuitable for rollback (incompatible_result)"
    );
}

fn list(json: &str) -> WireDeploymentList {
    serde_json::from_str(json).unwrap()
}

#[test]
fn the_next_page_comes_from_links_then_meta_then_a_full_page() {
    let by_link = list(
        r#"{"deployments":[{"id":"a"},{"id":"b"}],
            "links":{"pages":{"next":"https://api.digitalocean.com/v2/apps/x/deployments?page=3&per_page=2"}},
            "meta":{"total":100}}"#,
    );
    assert_eq!(next_page(&by_link, Some(2), 2), Some(3));
    let unreadable_link =
        list(r#"{"deployments":[{"id":"a"}],"links":{"pages":{"next":"/relative"}}}"#);
    assert_eq!(next_page(&unreadable_link, Some(4), 1), Some(5));

    let by_total = list(r#"{"deployments":[{"id":"a"},{"id":"b"}],"meta":{"total":5}}"#);
    assert_eq!(next_page(&by_total, Some(2), 2), Some(3));
    assert_eq!(next_page(&by_total, Some(3), 2), None, "4 + 2 ≥ 5");

    let last_by_links = list(
        r#"{"deployments":[{"id":"a"},{"id":"b"}],"links":{"pages":{"prev":"https://x/?page=1"}}}"#,
    );
    assert_eq!(next_page(&last_by_links, Some(2), 2), None);

    let bare = list(r#"{"deployments":[{"id":"a"},{"id":"b"}]}"#);
    assert_eq!(next_page(&bare, Some(1), 2), Some(2));
    assert_eq!(
        next_page(&bare, Some(1), 3),
        None,
        "a short page is the last"
    );

    let empty = list(r#"{"links":{"pages":{"next":"https://x/?page=9"}},"meta":{"total":0}}"#);
    assert_eq!(
        next_page(&empty, Some(8), 2),
        None,
        "nothing received: stop"
    );
    assert_eq!(
        client().to_page(empty, Some(8), 2).unwrap(),
        DeploymentPage::default()
    );
    assert!(matches!(
        client().to_page(list(r#"{"apps":[]}"#), Some(1), 2),
        Err(ProviderError::Malformed { .. })
    ));
}

#[test]
fn a_page_is_sorted_newest_first() {
    let page = client()
        .to_page(
            list(
                r#"{"deployments":[
                    {"id":"old","created_at":"2026-03-01T09:00:00Z","phase":"SUPERSEDED"},
                    {"id":"new","created_at":"2026-03-01T10:00:00Z","phase":"ACTIVE"}],
                    "links":{"pages":{}},"meta":{"total":2}}"#,
            ),
            Some(1),
            20,
        )
        .unwrap();
    let ids: Vec<&str> = page.deployments.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["new", "old"]);
}

#[test]
fn finished_times_follow_the_phase() {
    let deployment = |phase: &str| -> WireDeployment {
        serde_json::from_str(&format!(
            r#"{{"id":"d","phase":"{phase}","phase_last_updated_at":"2026-03-01T12:00:00Z",
                "progress":{{"steps":[{{"ended_at":"2026-03-01T09:01:00Z"}},
                                      {{"ended_at":"2026-03-01T09:02:00.5Z"}},
                                      {{"ended_at":"0001-01-01T00:00:00"}}]}}}}"#
        ))
        .unwrap()
    };
    assert_eq!(
        deployment("SUPERSEDED").finished_at("SUPERSEDED"),
        at("2026-03-01T09:02:00.5Z")
    );
    assert_eq!(deployment("BUILDING").finished_at("BUILDING"), None);
    let no_steps: WireDeployment = serde_json::from_str(
        r#"{"id":"d","phase":"ERROR","phase_last_updated_at":"2026-03-01T12:00:00Z"}"#,
    )
    .unwrap();
    assert_eq!(no_steps.finished_at("ERROR"), at("2026-03-01T12:00:00Z"));
    let superseded_no_steps: WireDeployment =
        serde_json::from_str(r#"{"id":"d","phase_last_updated_at":"2026-03-01T12:00:00Z"}"#)
            .unwrap();
    assert_eq!(superseded_no_steps.finished_at("SUPERSEDED"), None);
}

#[test]
fn lenient_parsing_ignores_new_fields_and_zero_times() {
    let deployment: WireDeployment = serde_json::from_str(
        r#"{"id":"d-1","phase":"LEVITATING","created_at":"0001-01-01T00:00:00Z",
            "services":[{"name":"web","source_commit_hash":""}],
            "workers":[{"name":"queue","source_commit_hash":"abc123"}],
            "spec":{"workers":[{"name":"queue","gitlab":{"branch":"release"}}]},
            "brand_new_field":{"x":1}}"#,
    )
    .unwrap();
    let deployment = client().to_deployment(deployment, None);
    assert_eq!(deployment.state, DeployState::Unknown);
    assert_eq!(deployment.provider_state, "LEVITATING");
    assert_eq!(deployment.created_at, None);
    assert_eq!(deployment.commit.sha.as_deref(), Some("abc123"));
    assert_eq!(deployment.commit.branch.as_deref(), Some("release"));
    assert_eq!(deployment.commit.message, None);
    assert!(serde_json::from_str::<WireDeploymentEnvelope>(r#"{"deployment":{}}"#).is_err());
}

#[test]
fn urls_are_built_under_the_api_base_and_encoded() {
    let client = client();
    assert_eq!(
        client.app_url(&["deployments"]).unwrap().as_str(),
        "https://api.digitalocean.com/v2/apps/c2a93513-8d9b-4223-9d61-5e7272c81cf5/deployments"
    );
    assert_eq!(
        client.app_url(&["deployments", "x/../y"]).unwrap().as_str(),
        "https://api.digitalocean.com/v2/apps/c2a93513-8d9b-4223-9d61-5e7272c81cf5/deployments/x%2F..%2Fy"
    );
    let mut config = client.config.clone();
    config.api_base = "http://127.0.0.1:9/digitalocean/".into();
    let nested = DigitalOceanClient::new(reqwest::Client::new(), config);
    assert_eq!(
        nested.app_url(&[]).unwrap().as_str(),
        "http://127.0.0.1:9/digitalocean/v2/apps/c2a93513-8d9b-4223-9d61-5e7272c81cf5"
    );
    assert!(!format!("{nested:?}").contains("dop_v1_test_token"));
}
