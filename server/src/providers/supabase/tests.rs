use super::*;
use crate::providers::testkit::fixture;

const HEALTH_FIXTURE: &str = fixture!("supabase_project_health.json");
const STATUSPAGE_FIXTURE: &str = fixture!("supabase_statuspage_status_CONSTRUCTED.json");

fn client() -> SupabaseClient {
    SupabaseClient::new(
        reqwest::Client::new(),
        SupabaseClientConfig {
            api_base: DEFAULT_API_BASE.into(),
            token: Secret::new("sbp_test_token"),
            project_ref: "abcdefghijklmnopqrst".into(),
            status_base: DEFAULT_STATUS_BASE.into(),
        },
    )
}

fn service(name: &str, status: &str) -> WireServiceHealth {
    WireServiceHealth {
        name: Some(name.into()),
        healthy: Some(status == "ACTIVE_HEALTHY"),
        status: Some(status.into()),
        error: (status == "UNHEALTHY").then(|| format!("{name} is not responding")),
    }
}

#[test]
fn every_supabase_health_value_maps_to_a_lookout_state() {
    for (status, expected) in [
        ("ACTIVE_HEALTHY", HealthState::Up),
        ("COMING_UP", HealthState::Degraded),
        ("UNHEALTHY", HealthState::Down),
        ("SOMETHING_NEW", HealthState::Unknown),
    ] {
        assert_eq!(service_health(status), expected, "service {status}");
    }
    for (status, expected) in [
        ("INACTIVE", HealthState::Down),
        ("ACTIVE_HEALTHY", HealthState::Up),
        ("ACTIVE_UNHEALTHY", HealthState::Degraded),
        ("COMING_UP", HealthState::Degraded),
        ("UNKNOWN", HealthState::Unknown),
        ("GOING_DOWN", HealthState::Down),
        ("INIT_FAILED", HealthState::Down),
        ("REMOVED", HealthState::Down),
        ("RESTORING", HealthState::Degraded),
        ("UPGRADING", HealthState::Degraded),
        ("PAUSING", HealthState::Down),
        ("RESTORE_FAILED", HealthState::Down),
        ("RESTARTING", HealthState::Degraded),
        ("PAUSE_FAILED", HealthState::Down),
        ("RESIZING", HealthState::Degraded),
        ("HIBERNATING", HealthState::Unknown),
    ] {
        assert_eq!(project_health_state(status), expected, "project {status}");
    }
    for (indicator, expected) in [
        ("none", HealthState::Up),
        ("minor", HealthState::Degraded),
        ("major", HealthState::Degraded),
        ("critical", HealthState::Down),
        ("maintenance", HealthState::Degraded),
        ("apocalyptic", HealthState::Unknown),
    ] {
        assert_eq!(
            platform_indicator_health(indicator),
            expected,
            "{indicator}"
        );
    }
}

#[test]
fn health_fixture_parses_and_summarizes() {
    let answers: Vec<WireServiceHealth> = serde_json::from_str(HEALTH_FIXTURE).unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].name.as_deref(), Some("auth"));
    assert_eq!(answers[0].status.as_deref(), Some("COMING_UP"));
    assert_eq!(
        answers[0].healthy,
        Some(true),
        "deprecated and contradicting status"
    );
    assert_eq!(answers[0].error.as_deref(), Some("lorem"));
    let (state, detail) = summarize(&[SupabaseService::Auth], &answers);
    assert_eq!(state, HealthState::Degraded, "status wins over `healthy`");
    assert_eq!(detail.as_deref(), Some("coming up: auth"));
}

#[test]
fn statuspage_fixture_parses() {
    let page: WireStatusPage = serde_json::from_str(STATUSPAGE_FIXTURE).unwrap();
    assert_eq!(page.status.indicator.as_deref(), Some("none"));
    assert_eq!(
        page.status.description.as_deref(),
        Some("All Systems Operational")
    );
    assert!(serde_json::from_str::<WireStatusPage>(r#"{"page":{}}"#).is_err());
}

#[test]
fn services_roll_up_worst_first_with_the_database_decisive() {
    let all = DEFAULT_SERVICES;
    let healthy: Vec<WireServiceHealth> = all
        .iter()
        .map(|s| service(s.as_str(), "ACTIVE_HEALTHY"))
        .collect();
    assert_eq!(summarize(&all, &healthy), (HealthState::Up, None));

    let mut auth_down = healthy.clone();
    auth_down[0] = service("auth", "UNHEALTHY");
    auth_down[5] = service("storage", "COMING_UP");
    assert_eq!(
        summarize(&all, &auth_down),
        (
            HealthState::Degraded,
            Some("unhealthy: auth (auth is not responding); coming up: storage".into())
        )
    );

    let mut db_down = healthy.clone();
    db_down[1] = service("db", "UNHEALTHY");
    assert_eq!(summarize(&all, &db_down).0, HealthState::Down);

    let everything_down: Vec<WireServiceHealth> = [SupabaseService::Auth, SupabaseService::Storage]
        .iter()
        .map(|s| service(s.as_str(), "UNHEALTHY"))
        .collect();
    assert_eq!(
        summarize(
            &[SupabaseService::Auth, SupabaseService::Storage],
            &everything_down
        )
        .0,
        HealthState::Down
    );

    let mut strange = healthy.clone();
    strange[4] = service("rest", "SOMETHING_NEW");
    strange.pop();
    assert_eq!(
        summarize(&all, &strange),
        (
            HealthState::Unknown,
            Some("unknown: rest (SOMETHING_NEW), storage (not reported)".into())
        )
    );

    let legacy = vec![WireServiceHealth {
        name: Some("db".into()),
        healthy: Some(false),
        status: None,
        error: None,
    }];
    assert_eq!(
        summarize(&[SupabaseService::Db], &legacy),
        (HealthState::Down, Some("unhealthy: db".into()))
    );
    assert_eq!(summarize(&all, &[]).0, HealthState::Unknown);
}

#[test]
fn error_bodies_give_their_message() {
    assert_eq!(
        error_message(br#"{"message":"Unauthorized"}"#).as_deref(),
        Some("Unauthorized")
    );
    assert_eq!(
        error_message(br#"{"error":"rate limited"}"#).as_deref(),
        Some("rate limited")
    );
    assert_eq!(error_message(b"<html>502</html>"), None);
    assert_eq!(error_message(br#"{"message":""}"#), None);
}

#[test]
fn urls_and_services_are_configured() {
    let client = client();
    assert_eq!(client.services(), DEFAULT_SERVICES);
    let chosen = client.clone().with_services(&[
        SupabaseService::Db,
        SupabaseService::PgBouncer,
        SupabaseService::Db,
    ]);
    assert_eq!(
        chosen.services(),
        [SupabaseService::Db, SupabaseService::PgBouncer]
    );
    assert_eq!(
        client.clone().with_services(&[]).services(),
        DEFAULT_SERVICES
    );
    assert_eq!(
        client
            .url(
                "http://127.0.0.1:9/supabase/",
                &["v1", "projects", "a/b", "health"]
            )
            .unwrap()
            .as_str(),
        "http://127.0.0.1:9/supabase/v1/projects/a%2Fb/health"
    );
    for service in SupabaseService::ALL {
        assert_eq!(SupabaseService::from_wire(service.as_str()), Some(service));
    }
    assert_eq!(SupabaseService::from_wire("kafka"), None);
    assert!(!format!("{client:?}").contains("sbp_test_token"));
}
