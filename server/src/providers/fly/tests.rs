use super::machines::*;
use super::*;
use crate::providers::testkit::{assert_maps, at, fixture, headers, named};

const RELEASES_FIXTURE: &str = fixture!("fly_graphql_releases_CONSTRUCTED.json");
const MACHINES_FIXTURE: &str = fixture!("fly_list_machines.json");
const MACHINE_UPDATE_FIXTURE: &str = fixture!("fly_machine_update_response.json");
const ERROR_FIXTURE: &str = fixture!("fly_error_response.json");

fn client() -> FlyClient {
    FlyClient::new(
        reqwest::Client::new(),
        FlyClientConfig {
            graphql_base: DEFAULT_GRAPHQL_BASE.into(),
            machines_base: DEFAULT_MACHINES_BASE.into(),
            token: Secret::new("fly_test_token"),
            app: "myapp".into(),
            environment: "production".into(),
        },
    )
}

fn now() -> DateTime<Utc> {
    at("2026-03-01T12:00:00Z").unwrap()
}

fn release(id: &str, version: i64, status: &str, image: &str) -> WireRelease {
    WireRelease {
        id: id.into(),
        version: Some(version),
        status: Some(status.into()),
        image_ref: Some(image.into()),
        user: None,
        created_at: None,
        updated_at: None,
    }
}

fn machine(state: &str, image: Option<&str>, metadata: &[(&str, &str)]) -> WireMachine {
    WireMachine {
        id: Some("m1".into()),
        state: Some(state.into()),
        config: Some(WireMachineConfig {
            image: image.map(str::to_string),
            metadata: Some(
                metadata
                    .iter()
                    .map(|(key, value)| (key.to_string(), Value::String(value.to_string())))
                    .collect(),
            ),
        }),
        image_ref: None,
    }
}

fn decode_fixture() -> WireApp {
    let data: ReleasesData = decode_graphql(
        StatusCode::OK,
        &HeaderMap::new(),
        RELEASES_FIXTURE.as_bytes(),
        now(),
    )
    .unwrap();
    data.app.unwrap()
}

#[test]
fn every_fly_release_status_maps_to_a_lookout_state() {
    let cases = [
        ("running", DeployState::Deploying),
        ("complete", DeployState::Ready),
        ("failed", DeployState::Failed),
        ("interrupted", DeployState::Canceled),
        // Nomad-era values from community posts.
        ("succeeded", DeployState::Ready),
        ("cancelled", DeployState::Canceled),
        ("canceled", DeployState::Canceled),
        ("COMPLETE", DeployState::Ready),
        ("pending_approval", DeployState::Unknown),
        ("", DeployState::Unknown),
    ];
    assert_maps(&cases, release_state);
    for finished in [
        "complete",
        "succeeded",
        "failed",
        "interrupted",
        "cancelled",
    ] {
        assert!(release_is_finished(finished), "{finished}");
    }
    assert!(!release_is_finished("running"));
}

#[test]
fn a_release_without_an_image_cannot_be_a_rollback_target() {
    let with_image = release("rel_1", 1, "complete", "registry.fly.io/app:deployment-1");
    assert_eq!(
        client()
            .to_deployment(&with_image, Some(1))
            .rollback_refusal,
        None
    );
    let mut without = with_image.clone();
    without.image_ref = None;
    assert!(client()
        .to_deployment(&without, Some(1))
        .rollback_refusal
        .is_some_and(|reason| reason.contains("no image")));
    without.image_ref = Some("  ".into());
    assert!(client()
        .to_deployment(&without, Some(1))
        .rollback_refusal
        .is_some());
}

#[test]
fn every_machine_state_maps_to_an_activity() {
    let cases = [
        ("started", MachineActivity::Serving),
        ("created", MachineActivity::Starting),
        ("starting", MachineActivity::Starting),
        ("replacing", MachineActivity::Starting),
        ("updating", MachineActivity::Starting),
        ("stopping", MachineActivity::Idle),
        ("stopped", MachineActivity::Idle),
        ("suspending", MachineActivity::Idle),
        ("suspended", MachineActivity::Idle),
        ("destroying", MachineActivity::Gone),
        ("destroyed", MachineActivity::Gone),
        ("failed", MachineActivity::Gone),
        ("levitating", MachineActivity::Unknown),
    ];
    assert_maps(&cases, machine_activity);
}

#[test]
fn releases_fixture_parses_into_deployments() {
    let app = decode_fixture();
    assert!(
        app.current_release.is_none(),
        "the fixture asks only for releases"
    );
    let (releases, next) = FlyClient::page_releases(app.releases);
    assert_eq!(next, None, "no pageInfo: the last page");
    let client = client();
    let deployments: Vec<ProviderDeployment> = releases
        .iter()
        .map(|release| client.to_deployment(release, Some(42)))
        .collect();
    let [live, older] = deployments.as_slice() else {
        panic!("two releases expected");
    };
    assert_eq!(live.id, "rel_0000000000000002");
    assert_eq!(live.state, DeployState::Ready);
    assert_eq!(live.provider_state, "complete");
    assert_eq!(live.environment, named("production"));
    assert_eq!(
        live.commit,
        CommitInfo::default(),
        "Fly releases carry no commit"
    );
    assert_eq!(live.creator.as_deref(), Some("Dev"));
    assert_eq!(live.created_at, at("2025-08-12T16:21:00Z"));
    assert_eq!(live.finished_at, None, "the fixture has no updatedAt");
    assert_eq!(live.url.as_deref(), Some("https://myapp.fly.dev"));
    assert_eq!(
        live.dashboard_url.as_deref(),
        Some("https://fly.io/apps/myapp")
    );
    assert_eq!(
        releases[0].image_ref.as_deref(),
        Some("registry.fly.io/myapp:deployment-01HXXXXXXXXXXXXXXXXXXXXXXX")
    );

    assert_eq!(older.id, "rel_0000000000000001");
    assert_eq!(older.state, DeployState::Superseded);
    assert_eq!(older.provider_state, "complete");
    assert_eq!(older.created_at, at("2025-08-10T09:14:00Z"));
    assert_eq!(older.url, None);
    assert_eq!(releases[1].version, Some(41));
}

#[test]
fn machines_fixture_parses_with_images_from_image_ref() {
    let machines: Vec<WireMachine> = serde_json::from_str(MACHINES_FIXTURE).unwrap();
    assert_eq!(machines.len(), 2);
    assert_eq!(machines[0].id.as_deref(), Some("a5c5de9ce64ca12"));
    assert_eq!(machines[0].activity(), MachineActivity::Serving);
    // `config` is `{}`: the image comes from `image_ref`, Docker Hub spelling dropped.
    assert_eq!(
        machines[0].image(),
        Some(ImageKey {
            name: "rebelthor/sleep".into(),
            tag: Some("latest".into()),
            digest: Some(
                "sha256:597c3e12f830132be2aa69b4c0deccb0657ea4253e6d59c6f38e41e9f69a0add".into()
            ),
        })
    );
    assert!(machines[0].is_app_machine());
    assert_eq!(machines[1].id.as_deref(), Some("9c487adb2596113"));
    assert_eq!(machines[1].activity(), MachineActivity::Serving);
    let second = machines[1].image().unwrap();
    assert_eq!(second.name, "registry.fly.io/teamcoco");
    assert_eq!(second.tag, None);
    assert!(second
        .digest
        .as_deref()
        .is_some_and(|digest| digest.starts_with("sha256:5615ef42")));
    assert_eq!(serving_machines(&machines).len(), 2);
}

#[test]
fn machine_update_fixture_parses_with_null_metadata() {
    let machine: WireMachine = serde_json::from_str(MACHINE_UPDATE_FIXTURE).unwrap();
    assert_eq!(machine.id.as_deref(), Some("73d8d46dbee589"));
    assert_eq!(machine.activity(), MachineActivity::Starting);
    assert_eq!(machine.metadata(METADATA_RELEASE_VERSION), None);
    let image = machine.image().unwrap();
    assert_eq!(
        image,
        ImageKey {
            name: "flyio/fastify-functions".into(),
            tag: Some("latest".into()),
            digest: None,
        },
        "config.image wins over image_ref"
    );
    let release = release(
        "rel_1",
        1,
        "complete",
        "registry-1.docker.io/flyio/fastify-functions:latest",
    );
    assert!(release.image().unwrap().matches(&image));
}

#[test]
fn error_fixture_gives_its_message() {
    assert_eq!(
        machines_error_message(ERROR_FIXTURE.as_bytes()).as_deref(),
        Some("Authenticate: token validation error")
    );
    assert_eq!(
        machines_error_message(br#"{"status":"insufficient_capacity"}"#).as_deref(),
        Some("insufficient_capacity")
    );
    assert_eq!(machines_error_message(b"<html>oops</html>"), None);
    assert_eq!(machines_error_message(b"{}"), None);
}

#[test]
fn tokens_get_the_scheme_fly_go_would_send() {
    assert_eq!(authorization_value("abc123"), "Bearer abc123");
    assert_eq!(authorization_value("fm2_lJPE"), "FlyV1 fm2_lJPE");
    assert_eq!(authorization_value("fm1r_abc"), "FlyV1 fm1r_abc");
    assert_eq!(authorization_value("fo1_x,fm2_y"), "FlyV1 fo1_x,fm2_y");
    assert_eq!(authorization_value("FlyV1 fm2_pasted"), "FlyV1 fm2_pasted");
    assert_eq!(authorization_value(" Bearer  tok "), "Bearer tok");
    assert_eq!(authorization_value("fm3_future"), "Bearer fm3_future");
    let header = client().authorization().unwrap();
    assert!(header.is_sensitive());
    assert!(!format!("{:?}", client()).contains("fly_test_token"));
}

#[test]
fn graphql_errors_are_read_whatever_the_status() {
    let decode = |status: u16, body: &str| {
        decode_graphql::<ReleasesData>(
            StatusCode::from_u16(status).unwrap(),
            &HeaderMap::new(),
            body.as_bytes(),
            now(),
        )
        .unwrap_err()
    };
    let unauthenticated =
        r#"{"data":null,"errors":[{"message":"You must be authenticated to view this."}]}"#;
    assert!(matches!(
        decode(200, unauthenticated),
        ProviderError::Unauthorized { .. }
    ));
    assert!(matches!(
        decode(401, unauthenticated),
        ProviderError::Unauthorized { .. }
    ));
    let not_found = r#"{"data":{"app":null},"errors":[{"message":"Could not find App \"nope\"","path":["app"],"extensions":{"code":"NOT_FOUND"}}]}"#;
    assert_eq!(
        decode(200, not_found),
        ProviderError::NotFound {
            message: "Could not find App \"nope\"".into()
        }
    );
    let coded = r#"{"errors":[{"message":"nope","extensions":{"code":"FORBIDDEN"}}]}"#;
    assert!(matches!(
        decode(200, coded),
        ProviderError::Forbidden { .. }
    ));
    let other = r#"{"errors":[{"message":"Argument 'first' must be positive"}]}"#;
    assert!(matches!(
        decode(200, other),
        ProviderError::Rejected { status: 200, .. }
    ));
    assert!(matches!(
        decode(503, r#"{"errors":[{"message":"Service Unavailable"}]}"#),
        ProviderError::Unavailable {
            status: Some(503),
            ..
        }
    ));
    assert!(matches!(
        decode(502, "<html>bad gateway</html>"),
        ProviderError::Unavailable {
            status: Some(502),
            ..
        }
    ));
    assert!(matches!(
        decode(200, "<html>hi</html>"),
        ProviderError::Malformed { .. }
    ));
    assert!(matches!(
        decode(200, r#"{"data":null}"#),
        ProviderError::Malformed { .. }
    ));
    assert!(matches!(
        decode(200, r#"{"data":{"app":{"releases":{"nodes":"many"}}}}"#),
        ProviderError::Malformed { .. }
    ));
    let headers = headers(&[("retry-after", "4")]);
    let limited = decode_graphql::<ReleasesData>(
        StatusCode::TOO_MANY_REQUESTS,
        &headers,
        br#"{"errors":[{"message":"slow down"}]}"#,
        now(),
    )
    .unwrap_err();
    assert_eq!(
        limited.retry_after(),
        Some(std::time::Duration::from_secs(4))
    );
}

#[test]
fn image_references_compare_by_digest_else_tag() {
    let key = |text: &str| ImageKey::parse(text).unwrap();
    assert!(key("registry.fly.io/app:deployment-01A")
        .matches(&key("registry.fly.io/app:deployment-01A")));
    assert!(!key("registry.fly.io/app:deployment-01A")
        .matches(&key("registry.fly.io/app:deployment-01B")));
    assert!(key("nginx").matches(&key("docker.io/library/nginx:latest")));
    assert!(key("localhost:5000/app:v1").matches(&key("localhost:5000/app:v1")));
    assert_eq!(key("localhost:5000/app").tag.as_deref(), Some("latest"));
    assert!(!key("app:latest@sha256:aa").matches(&key("app:latest@sha256:bb")));
    assert!(key("app:v1@sha256:aa").matches(&key("app@sha256:aa")));
    assert!(
        !key("app@sha256:aa").matches(&key("app:v1")),
        "nothing to compare"
    );
    assert_eq!(ImageKey::parse("  "), None);
}

#[test]
fn live_is_what_the_machines_run() {
    let v3 = release("r3", 3, "complete", "registry.fly.io/myapp:deployment-3");
    let v2 = release("r2", 2, "complete", "registry.fly.io/myapp:deployment-2");
    let v1 = release("r1", 1, "complete", "registry.fly.io/myapp:deployment-1");
    let recent = vec![v3.clone(), v2.clone(), v1.clone()];
    let on = |state: &str, image: &str, version: &str| {
        machine(
            state,
            Some(image),
            &[
                (METADATA_RELEASE_VERSION, version),
                (METADATA_PROCESS_GROUP, "app"),
            ],
        )
    };
    let pick = |machines: &[WireMachine]| {
        choose_live(Some(&v3), &recent, machines).map(|release| release.id.clone())
    };

    // Agreement.
    let agree = [on("started", "registry.fly.io/myapp:deployment-3", "3")];
    assert_eq!(pick(&agree).as_deref(), Some("r3"));
    // A Machines-API rollback: the image is v1's, the metadata still says v3.
    let rolled_back = [
        on("started", "registry.fly.io/myapp:deployment-1", "3"),
        on("started", "registry.fly.io/myapp:deployment-1", "3"),
    ];
    assert_eq!(pick(&rolled_back).as_deref(), Some("r1"));
    // Mid-deploy: the majority wins; a tie goes to the newer release.
    let mixed = [
        on("started", "registry.fly.io/myapp:deployment-2", "2"),
        on("started", "registry.fly.io/myapp:deployment-2", "2"),
        on("started", "registry.fly.io/myapp:deployment-3", "3"),
    ];
    assert_eq!(pick(&mixed).as_deref(), Some("r2"));
    assert_eq!(pick(&mixed[1..]).as_deref(), Some("r3"));
    // Scaled to zero: stopped machines still say what would serve.
    let asleep = [on("stopped", "registry.fly.io/myapp:deployment-2", "2")];
    assert_eq!(pick(&asleep).as_deref(), Some("r2"));
    // Started machines outrank stopped ones; destroyed and release-command ones never count.
    let busy = [
        on("stopped", "registry.fly.io/myapp:deployment-1", "1"),
        on("destroyed", "registry.fly.io/myapp:deployment-1", "1"),
        machine(
            "started",
            Some("registry.fly.io/myapp:deployment-1"),
            &[(METADATA_PROCESS_GROUP, "fly_app_release_command")],
        ),
        on("started", "registry.fly.io/myapp:deployment-2", "2"),
    ];
    assert_eq!(pick(&busy).as_deref(), Some("r2"));
    // Metadata alone when the machine says nothing of its image.
    let no_image = [machine("started", None, &[(METADATA_RELEASE_ID, "r2")])];
    assert_eq!(pick(&no_image).as_deref(), Some("r2"));
    // An image no release has, or no machines at all: Fly's marker.
    let stranger = [on("started", "ghcr.io/someone/else:1", "9")];
    assert_eq!(pick(&stranger).as_deref(), Some("r3"));
    assert_eq!(pick(&[]).as_deref(), Some("r3"));
    // The same image in two releases (a redeploy): the metadata's, else the newest.
    let redeploy = release("r4", 4, "complete", "registry.fly.io/myapp:deployment-3");
    let with_redeploy = vec![redeploy.clone(), v3.clone(), v2.clone()];
    let machines = [on("started", "registry.fly.io/myapp:deployment-3", "3")];
    assert_eq!(
        choose_live(Some(&redeploy), &with_redeploy, &machines).map(|r| r.id.as_str()),
        Some("r3")
    );
    let machines = [machine(
        "started",
        Some("registry.fly.io/myapp:deployment-3"),
        &[],
    )];
    assert_eq!(
        choose_live(Some(&redeploy), &with_redeploy, &machines).map(|r| r.id.as_str()),
        Some("r4")
    );
}

#[test]
fn the_marker_skips_a_current_release_that_did_not_succeed() {
    let failed = release("r3", 3, "failed", "img:3");
    let ok = release("r2", 2, "complete", "img:2");
    let recent = vec![failed.clone(), ok.clone()];
    assert_eq!(
        marker_release(Some(&failed), &recent).map(|r| r.id.as_str()),
        Some("r2")
    );
    assert_eq!(
        marker_release(None, &recent).map(|r| r.id.as_str()),
        Some("r2")
    );
    let only_failed = vec![failed.clone()];
    assert_eq!(
        marker_release(Some(&failed), &only_failed).map(|r| r.id.as_str()),
        Some("r3")
    );
    assert!(marker_release(None, &[]).is_none());
}

#[test]
fn older_successes_are_superseded_but_failures_keep_their_state() {
    let client = client();
    let mapped = |status: &str, version: i64| {
        client
            .to_deployment(&release("r", version, status, "img:1"), Some(5))
            .state
    };
    assert_eq!(mapped("complete", 5), DeployState::Ready);
    assert_eq!(mapped("complete", 4), DeployState::Superseded);
    assert_eq!(mapped("complete", 6), DeployState::Ready, "newer than live");
    assert_eq!(mapped("failed", 4), DeployState::Failed);
    assert_eq!(mapped("running", 6), DeployState::Deploying);
    let unknown_live = client.to_deployment(&release("r", 4, "complete", "img:1"), None);
    assert_eq!(unknown_live.state, DeployState::Ready);
    assert_eq!(unknown_live.url, None);
}

#[test]
fn lenient_parsing_ignores_new_fields_and_null_nodes() {
    let body = r#"{"data":{"app":{"currentRelease":null,"releases":{"nodes":[null,
        {"id":"r1","version":1,"status":"teleporting","createdAt":"yesterday",
         "shinyNewField":{"a":1}}],"pageInfo":{"endCursor":"abc","hasNextPage":true}}}}}"#;
    let data: ReleasesData =
        decode_graphql(StatusCode::OK, &HeaderMap::new(), body.as_bytes(), now()).unwrap();
    let app = data.app.unwrap();
    let (releases, next) = FlyClient::page_releases(app.releases);
    assert_eq!(next.as_deref(), Some("abc"));
    let deployment = client().to_deployment(&releases[0], None);
    assert_eq!(deployment.state, DeployState::Unknown);
    assert_eq!(deployment.provider_state, "teleporting");
    assert_eq!(deployment.created_at, None);
    assert_eq!(deployment.creator, None);
}

#[test]
fn machines_urls_are_built_under_the_base_and_encoded() {
    let mut config = client().config().clone();
    config.machines_base = "http://127.0.0.1:9/fly/v1/".into();
    config.app = "my app/x".into();
    let client = FlyClient::new(reqwest::Client::new(), config);
    assert_eq!(
        client.machines_url(None).unwrap().as_str(),
        "http://127.0.0.1:9/fly/v1/apps/my%20app%2Fx/machines"
    );
}
