//! The real Supabase health client against the Supabase simulator: what is Supabase's own
//! (service health rolled up, the project lifecycle, the public status page, its per-endpoint
//! budget). Auth, faults and the 429 wait are the conformance suite's
//! (`provider_conformance.rs`), on the project health read.

mod common;

use common::providers::supabase::{PROJECT, TOKEN};
use common::providers::Kit;

use app::model::HealthState;
use server::providers::supabase::SupabaseService;
use server::providers::ProviderError;
use server::simulators::supabase::SupabaseSimulator;
use server::simulators::SimFault;
use std::time::Duration;

type Harness = Kit<SupabaseSimulator>;

#[tokio::test]
async fn a_healthy_project_is_up_with_its_latency() {
    let harness = Harness::start().await;
    let health = harness.client().project_health().await.unwrap();
    assert_eq!(health.state, HealthState::Up);
    assert_eq!(health.detail, None);
    assert!(health.latency_ms.is_some());
    assert!(health.checked_at.is_some());
}

#[tokio::test]
async fn each_service_status_maps_onto_the_project_health() {
    let harness = Harness::start().await;
    let client = harness.client();
    let set = |service: &str, status: &str| {
        assert!(harness.sim.set_service_health(PROJECT, service, status));
    };

    set("storage", "COMING_UP");
    let health = client.project_health().await.unwrap();
    assert_eq!(health.state, HealthState::Degraded);
    assert_eq!(health.detail.as_deref(), Some("coming up: storage"));

    set("auth", "UNHEALTHY");
    let health = client.project_health().await.unwrap();
    assert_eq!(
        health.state,
        HealthState::Degraded,
        "the database still answers"
    );
    assert_eq!(
        health.detail.as_deref(),
        Some("unhealthy: auth (auth is not responding); coming up: storage")
    );

    set("db", "UNHEALTHY");
    let health = client.project_health().await.unwrap();
    assert_eq!(health.state, HealthState::Down);
    assert!(health
        .detail
        .as_deref()
        .is_some_and(|detail| detail.contains("db (db is not responding)")));

    for service in ["auth", "db", "storage"] {
        set(service, "ACTIVE_HEALTHY");
    }
    set("rest", "BRAND_NEW_STATUS");
    let health = client.project_health().await.unwrap();
    assert_eq!(health.state, HealthState::Unknown);
    assert_eq!(
        health.detail.as_deref(),
        Some("unknown: rest (BRAND_NEW_STATUS)")
    );

    // A service outside the defaults is asked about only when configured.
    set("pg_bouncer", "UNHEALTHY");
    assert_eq!(
        client.project_health().await.unwrap().state,
        HealthState::Unknown
    );
    let bouncer = harness
        .client()
        .with_services(&[SupabaseService::Db, SupabaseService::PgBouncer]);
    let health = bouncer.project_health().await.unwrap();
    assert_eq!(health.state, HealthState::Degraded);
    assert_eq!(
        health.detail.as_deref(),
        Some("unhealthy: pg_bouncer (pg_bouncer is not responding)")
    );
}

#[tokio::test]
async fn the_project_lifecycle_says_why_it_does_not_answer() {
    let harness = Harness::start().await;
    let client = harness.client();
    let project = client.project_lifecycle().await.unwrap();
    assert_eq!(project.status, "ACTIVE_HEALTHY");
    assert_eq!(project.health, HealthState::Up);
    assert_eq!(project.region.as_deref(), Some("eu-central-1"));
    assert_eq!(project.name.as_deref(), Some("project-lookou"));

    for (status, expected) in [
        ("INACTIVE", HealthState::Down),
        ("RESTORING", HealthState::Degraded),
        ("ACTIVE_UNHEALTHY", HealthState::Degraded),
        ("UNKNOWN", HealthState::Unknown),
    ] {
        assert!(harness.sim.set_project_status(PROJECT, status));
        let project = client.project_lifecycle().await.unwrap();
        assert_eq!(
            (project.status.as_str(), project.health),
            (status, expected)
        );
    }
}

#[tokio::test]
async fn the_platform_status_comes_from_the_status_page_without_the_token() {
    let harness = Harness::start().await;
    let client = harness.client();
    assert_eq!(
        client.platform_status().await.unwrap(),
        (HealthState::Up, "All Systems Operational".to_string())
    );
    for (indicator, description, expected) in [
        ("minor", "Minor Service Outage", HealthState::Degraded),
        ("major", "Partial System Outage", HealthState::Degraded),
        ("critical", "Major Service Outage", HealthState::Down),
        ("sideways", "Something new", HealthState::Unknown),
    ] {
        harness.sim.set_platform_status(indicator, description);
        assert_eq!(
            client.platform_status().await.unwrap(),
            (expected, description.to_string())
        );
    }
    // The status page is public: a client with a wrong token still reads it.
    let wrong = harness.client_with_token("sbp_wrong");
    assert!(wrong.platform_status().await.is_ok());
}

#[tokio::test]
async fn running_out_of_budget_is_a_429_until_the_minute_ends() {
    let harness = Harness::start().await;
    harness.sim.set_requests_per_minute(2);
    let client = harness.client();
    client.project_health().await.unwrap();
    client.project_health().await.unwrap();
    let error = client.project_health().await.unwrap_err();
    assert!(
        matches!(error, ProviderError::RateLimited { retry_after: Some(wait), .. }
            if wait > Duration::ZERO && wait <= Duration::from_secs(60)),
        "{error:?}"
    );
    // The budget is per endpoint: the project endpoint still answers.
    assert!(client.project_lifecycle().await.is_ok());
}

#[tokio::test]
async fn the_lifecycle_and_the_status_page_fail_typed_too() {
    let harness = Harness::start().await;
    // The health read of another organisation's project is the conformance suite's; the
    // project endpoint refuses it the same way.
    assert!(matches!(
        harness.client_elsewhere().project_lifecycle().await,
        Err(ProviderError::Forbidden { .. })
    ));
    harness.sim.faults.push_once(SimFault::Garbage);
    assert!(matches!(
        harness.client().platform_status().await,
        Err(ProviderError::Malformed { .. })
    ));
}

/// The simulator's own HTTP surface, for what the client never sends.
#[tokio::test]
async fn the_simulator_speaks_supabase_http() {
    let harness = Harness::start().await;
    harness
        .sim
        .set_service_health(PROJECT, "realtime", "UNHEALTHY");
    let http = reqwest::Client::new();
    let url = format!("{}/v1/projects/{PROJECT}/health", harness.base);

    let response = http
        .get(&url)
        .bearer_auth(TOKEN)
        .query(&[("services", "realtime"), ("services", "rest")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(response.headers().contains_key(name), "{name}");
    }
    assert_eq!(response.headers()["x-ratelimit-limit"], "120");
    let items: serde_json::Value = response.json().await.unwrap();
    assert_eq!(items[0]["name"], "realtime");
    assert_eq!(items[0]["healthy"], false);
    assert_eq!(items[0]["info"]["db_connected"], false);
    assert_eq!(items[1]["info"]["db_schema"], "public,graphql_public");

    let response = http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 400, "services is required");
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("services"));

    harness.sim.faults.push_once(SimFault::RateLimited {
        retry_after_secs: 9,
    });
    let response = http
        .get(&url)
        .bearer_auth(TOKEN)
        .query(&[("services", "db")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["x-ratelimit-remaining"], "0");
    assert_eq!(response.headers()["x-ratelimit-reset"], "9");
    assert!(!response.headers().contains_key("retry-after"));

    let response = http
        .get(format!("{}/api/v2/status.json", harness.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let page: serde_json::Value = response.json().await.unwrap();
    assert_eq!(page["status"]["indicator"], "none");
}
