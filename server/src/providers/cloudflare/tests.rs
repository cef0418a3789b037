use super::*;
use crate::providers::testkit::{at, branch_preview, fixture, named};
use chrono::TimeZone;
use reqwest::header::HeaderValue;

const LIST_FIXTURE: &str = fixture!("cloudflare_list_deployments_CONSTRUCTED.json");
const ROLLBACK_FIXTURE: &str = fixture!("cloudflare_rollback_response_CONSTRUCTED.json");
const ERROR_FIXTURE: &str = fixture!("cloudflare_error_response.json");

fn client() -> CloudflarePagesClient {
    CloudflarePagesClient::new(
        reqwest::Client::new(),
        CloudflarePagesClientConfig {
            api_base: "https://api.cloudflare.com/client/v4".into(),
            token: Secret::new("cf_do_not_print"),
            account_id: "023e105f4ecef8ad9ca31a8372d0c353".into(),
            project_name: "ninjakittens".into(),
        },
    )
}

#[test]
fn every_stage_name_and_status_maps_onto_lookout() {
    use DeployState::*;
    // Rows: the stage names in order; columns: success, idle, active, failure, canceled,
    // skipped.
    let table = [
        (
            "queued",
            [Building, Queued, Queued, Failed, Canceled, Canceled],
        ),
        (
            "initialize",
            [Building, Queued, Building, Failed, Canceled, Canceled],
        ),
        (
            "clone_repo",
            [Building, Building, Building, Failed, Canceled, Canceled],
        ),
        (
            "build",
            [Deploying, Building, Building, Failed, Canceled, Canceled],
        ),
        (
            "deploy",
            [Ready, Deploying, Deploying, Failed, Canceled, Canceled],
        ),
    ];
    let statuses = [
        "success", "idle", "active", "failure", "canceled", "skipped",
    ];
    for (name, expected) in table {
        for (status, lookout) in statuses.iter().zip(expected) {
            assert_eq!(map_stage(name, status), lookout, "{name}:{status}");
        }
    }
    assert_eq!(map_stage("deploy", "exploded"), Unknown);
    assert_eq!(map_stage("initialize", "exploded"), Unknown);
    assert_eq!(map_stage("post_deploy", "success"), Unknown);
    assert_eq!(map_stage("post_deploy", "active"), Unknown);
    assert_eq!(map_stage("post_deploy", "failure"), Failed);
    assert_eq!(map_stage("", ""), Unknown);
}

#[test]
fn list_fixture_parses_production_and_preview() {
    let envelope: WireEnvelope<Vec<WireDeployment>> = serde_json::from_str(LIST_FIXTURE).unwrap();
    assert!(envelope.success);
    let info = envelope.result_info.unwrap();
    assert_eq!(
        (info.page, info.per_page, info.total_count),
        (Some(1), Some(100), Some(2))
    );
    assert_eq!(next_page(Some(&info), 1, 25, 2), None, "2 of 2 read");
    let deployments: Vec<ProviderDeployment> = envelope
        .result
        .unwrap()
        .into_iter()
        .map(|wire| client().to_deployment(wire).unwrap())
        .collect();
    let [production, preview] = deployments.as_slice() else {
        panic!("two deployments expected");
    };

    assert_eq!(production.id, "f64788e9-fccd-4d4a-a28a-cb84f88f6e12");
    assert_eq!(production.state, DeployState::Ready);
    assert_eq!(production.provider_state, "deploy:success");
    assert_eq!(production.environment, named("production"));
    assert_eq!(
        production.commit,
        CommitInfo {
            sha: Some("ad9ccd918a81025731e10e40267e11273a263421".into()),
            message: Some("Update index.html".into()),
            author: None,
            branch: Some("main".into()),
        }
    );
    assert_eq!(production.pr_number, None);
    assert_eq!(production.created_at, at("2021-03-09T00:55:03.923456Z"));
    assert_eq!(production.finished_at, at("2021-03-09T00:59:59.045655Z"));
    assert_eq!(
        production.url.as_deref(),
        Some("https://f64788e9.ninjakittens.pages.dev")
    );
    assert_eq!(
        production.dashboard_url.as_deref(),
        Some("https://dash.cloudflare.com/023e105f4ecef8ad9ca31a8372d0c353/pages/view/ninjakittens/f64788e9-fccd-4d4a-a28a-cb84f88f6e12")
    );

    assert_eq!(preview.id, "bcf48806-b317-4351-9ee7-36e7d557d4de");
    assert_eq!(preview.state, DeployState::Ready);
    assert_eq!(preview.environment, branch_preview("branchname"));
    assert_eq!(
        preview.commit.sha.as_deref(),
        Some("209c5bb11d89533f426b2f8469bcae12fdccf71b")
    );
    assert_eq!(preview.created_at, at("2021-03-08T10:00:00Z"));
}

#[test]
fn rollback_fixture_parses_as_a_deployment() {
    let envelope: WireEnvelope<WireDeployment> = serde_json::from_str(ROLLBACK_FIXTURE).unwrap();
    assert!(envelope.result_info.is_none());
    let deployment = client().to_deployment(envelope.result.unwrap()).unwrap();
    assert_eq!(deployment.id, "f64788e9-fccd-4d4a-a28a-cb84f88f6e12");
    assert_eq!(deployment.state, DeployState::Ready);
    assert_eq!(deployment.environment, named("production"));
    assert_eq!(
        deployment.commit.message.as_deref(),
        Some("Update index.html")
    );
}

#[test]
fn error_fixture_yields_its_message_and_code() {
    assert_eq!(
        error_message(ERROR_FIXTURE.as_bytes()).as_deref(),
        Some("message (code 1000)")
    );
    let envelope: WireEnvelope<serde_json::Value> = serde_json::from_str(ERROR_FIXTURE).unwrap();
    assert!(!envelope.success);
    assert!(envelope.result.is_none());
    assert_eq!(error_message(b"<html>bad gateway</html>"), None);
    assert_eq!(error_message(br#"{"success":false,"errors":[]}"#), None);
    assert_eq!(
        error_message(
            br#"{"errors":[{"code":10000,"message":"Authentication error"},{"code":7003}]}"#
        )
        .as_deref(),
        Some("Authentication error (code 10000); code 7003")
    );
}

#[test]
fn lenient_parsing_and_shapes_that_are_not_an_envelope() {
    let deployment = serde_json::from_str::<WireDeployment>(
        r#"{"id": "d1", "environment": "preview", "is_skipped": true,
            "latest_stage": {"name": "queued", "status": "skipped"},
            "created_on": "2021-03-09T00:58:59.045655", "brand_new": [1]}"#,
    )
    .unwrap()
    .into_provider()
    .unwrap();
    assert_eq!(deployment.state, DeployState::Canceled);
    assert_eq!(
        deployment.created_at,
        Some(
            Utc.with_ymd_and_hms(2021, 3, 9, 0, 58, 59).unwrap()
                + chrono::Duration::microseconds(45_655)
        )
    );
    assert_eq!(
        deployment.environment,
        ProviderEnvironment::Preview {
            branch: None,
            pr_number: None
        }
    );
    let building = serde_json::from_str::<WireDeployment>(
        r#"{"id": "d2", "environment": "production",
            "latest_stage": {"name": "build", "status": "active", "ended_on": null}}"#,
    )
    .unwrap()
    .into_provider()
    .unwrap();
    assert_eq!(building.state, DeployState::Building);
    assert_eq!(building.provider_state, "build:active");
    assert_eq!(building.finished_at, None);

    let no_id = serde_json::from_str::<WireDeployment>(r#"{"environment": "preview"}"#)
        .unwrap()
        .into_provider();
    assert!(matches!(no_id, Err(ProviderError::Malformed { .. })));
    assert!(serde_json::from_str::<WireEnvelope<Vec<WireDeployment>>>(r#"[]"#).is_err());
    assert!(
        serde_json::from_str::<WireEnvelope<Vec<WireDeployment>>>(r#"{"result": []}"#).is_err(),
        "no `success`: not Cloudflare's envelope"
    );
}

#[test]
fn next_page_reads_result_info() {
    let info = |page, per_page, total_count, total_pages| WireResultInfo {
        page,
        per_page,
        total_count,
        total_pages,
    };
    assert_eq!(
        next_page(Some(&info(Some(1), Some(25), Some(60), None)), 1, 25, 25),
        Some(2)
    );
    assert_eq!(
        next_page(Some(&info(Some(3), Some(25), Some(60), None)), 3, 25, 10),
        None
    );
    assert_eq!(
        next_page(Some(&info(Some(2), None, None, Some(3))), 2, 25, 25),
        Some(3)
    );
    assert_eq!(
        next_page(Some(&info(Some(3), None, None, Some(3))), 3, 25, 25),
        None
    );
    assert_eq!(next_page(None, 4, 25, 25), Some(5));
    assert_eq!(next_page(None, 4, 25, 24), None);
    assert_eq!(
        next_page(Some(&info(Some(1), Some(25), Some(60), None)), 1, 25, 0),
        None
    );
}

#[test]
fn the_ratelimit_header_gives_a_wait() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "ratelimit",
        HeaderValue::from_static("\"default\";r=0;t=30"),
    );
    assert_eq!(ratelimit_reset(&headers), Some(Duration::from_secs(30)));
    assert_eq!(ratelimit_reset(&HeaderMap::new()), None);
}

#[test]
fn urls_keep_the_base_path_and_encode_names() {
    let mut config = client().config.clone();
    config.api_base = "http://127.0.0.1:9/cloudflare/".into();
    config.project_name = "a/b".into();
    let nested = CloudflarePagesClient::new(reqwest::Client::new(), config);
    assert_eq!(
        nested.project_url(&["deployments", "x y"]).unwrap().as_str(),
        "http://127.0.0.1:9/cloudflare/accounts/023e105f4ecef8ad9ca31a8372d0c353/pages/projects/a%2Fb/deployments/x%20y"
    );
    assert!(!format!("{nested:?}").contains("cf_do_not_print"));
}
