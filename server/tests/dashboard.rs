//! The whole server on port 0 with the demo simulators: JSON status, rendered HTML, probes,
//! the live stream, provider outages, and token secrecy.

mod common;

use common::status::{row, rows};
use common::wait::{settle, wait_until, PATIENCE};
use common::TestApp;
use server::demo::DemoScenario;
use server::simulators::SimFault;
use std::time::Duration;

const DEMO_TOKENS: [&str; 3] = [
    "demo-vercel-token",
    "demo-render-token",
    "demo-railway-token",
];

/// The basic demo, once every row has been polled and checked.
async fn spawn_app() -> TestApp {
    let app = TestApp::demo(DemoScenario::Basic).start().await;
    app.wait_until_settled().await;
    app
}

#[tokio::test]
async fn status_reports_every_environment_kind_with_live_versions() {
    let app = spawn_app().await;
    let status = app.status().await;
    assert_eq!(status["demo"], true);
    let kinds: Vec<_> = status["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["production", "staging", "preview", "preview"]);

    let web = row(&status, "production", "web");
    assert_eq!(web["provider"], "vercel");
    assert_eq!(web["live"]["state"], "ready");
    assert_eq!(
        web["live"]["commit_message"],
        "Cache product images at the edge"
    );
    assert_eq!(web["live"]["author"], "Maya Chen");
    assert_eq!(web["live_url"], "https://shop.example.com");
    assert_eq!(
        web["live"]["commit_url"],
        "https://github.com/acme/shop-web/commit/c4d9e2f7a1b6c3d8e5f0a7b2c9d4e1f6a3b8c5d2"
    );
    assert_eq!(web["poll"]["stale"], false);

    let api = row(&status, "production", "api");
    assert_eq!(api["provider"], "render");
    assert_eq!(
        api["live"]["commit_sha"],
        "f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d"
    );
    assert!(api["live"]["id"].as_str().unwrap().starts_with("dep-"));

    let worker = row(&status, "production", "worker");
    assert_eq!(worker["provider"], "railway");
    assert_eq!(
        worker["live"]["commit_message"],
        "Send order emails in batches"
    );

    let staging_api = row(&status, "staging", "api");
    assert_eq!(staging_api["pending"]["state"], "failed");
    assert_eq!(
        staging_api["pending"]["commit_message"],
        "Switch to connection pooler"
    );

    let checkout = row(&status, "preview/feature/checkout-redesign", "web");
    assert_eq!(checkout["live"]["pr_number"], 42);
    let login = row(&status, "preview/fix/login-timeout", "worker");
    assert!(login["live"].is_null());
    assert_eq!(login["pending"]["state"], "building");
}

#[tokio::test]
async fn health_checks_report_degraded_and_up() {
    let app = spawn_app().await;
    let status = app
        .wait_for_status("api's health check", |status| {
            row(status, "production", "api")["health"]["state"] != "unknown"
        })
        .await;
    let api = row(&status, "production", "api");
    assert_eq!(api["health"]["state"], "degraded");
    assert!(api["health"]["detail"]
        .as_str()
        .unwrap()
        .contains("degraded"));
    assert_eq!(row(&status, "production", "db")["health"]["state"], "up");
    assert_eq!(
        row(&status, "staging", "worker")["health"]["state"],
        "unchecked"
    );
}

#[tokio::test]
async fn the_home_page_is_complete_html() {
    let app = spawn_app().await;
    let (code, html) = app.get("/").await;
    assert_eq!(code, 200);
    for expected in [
        "Demo data.",
        r#"data-environment="production""#,
        r#"data-environment="staging""#,
        "feature/checkout-redesign (#42)",
        "fix/login-timeout (#57)",
        "c4d9e2f",
        "Cache product images at the edge",
        "Move order totals to a materialized view",
        "Newer deploy 1a2b3c4",
        "/pkg/app.js",
    ] {
        assert!(html.contains(expected), "the page lacks {expected:?}");
    }
    let (code, html) = app.get("/no-such-page").await;
    assert_eq!(code, 404);
    assert!(html.contains("Page not found"));
}

#[tokio::test]
async fn probes_answer() {
    let app = spawn_app().await;
    let (code, body) = app.get("/healthz").await;
    assert_eq!((code, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (code, body) = app.get("/readyz").await;
    assert_eq!(code, 200);
    assert!(body.contains(r#""monitor":"running""#));
}

#[tokio::test]
async fn the_live_stream_starts_with_the_snapshot_and_follows_changes() {
    let app = spawn_app().await;
    let mut stream = app.events("/api/events", None).await;
    assert_eq!(stream.status, 200);
    assert_eq!(stream.headers["content-type"], "text/event-stream");
    let first = stream.first_frame().await;
    assert!(
        first.starts_with("event: snapshot\ndata: {\"type\":\"snapshot\""),
        "{first}"
    );

    app.world().render.push_deployment(
        "srv-demoapistag01",
        &server::simulators::SimDeploymentSpec {
            commit_sha: "feedfacefeedfacefeedfacefeedfacefeedface".into(),
            commit_message: "Stream this change".into(),
            author: "Test".into(),
            branch: "develop".into(),
            pr_number: None,
            outcome: server::simulators::SimOutcome::Ready,
            created_at: chrono::Utc::now(),
        },
    );
    stream
        .read_until(Duration::from_secs(10), |received| {
            received.contains("Stream this change")
        })
        .await;
}

#[tokio::test]
async fn provider_outages_leave_the_last_known_data_marked_stale() {
    let app = spawn_app().await;
    app.world().vercel.faults.set_sticky(SimFault::ServerError);
    app.world().render.faults.set_sticky(SimFault::Garbage);
    app.world()
        .railway
        .faults
        .set_sticky(SimFault::RateLimited {
            retry_after_secs: 30,
        });
    let status = settle(
        PATIENCE,
        || app.status(),
        |status| {
            rows(status)
                .iter()
                .filter(|(_, row)| row["provider"] != "http_health")
                .all(|(_, row)| row["poll"]["stale"] == true)
        },
    )
    .await;
    let web = row(&status, "production", "web");
    assert_eq!(web["poll"]["stale"], true);
    assert!(web["poll"]["problem"]
        .as_str()
        .unwrap()
        .contains("provider unavailable (HTTP 503)"));
    assert_eq!(
        web["live"]["commit_message"], "Cache product images at the edge",
        "last known data stays"
    );
    let api = row(&status, "production", "api");
    assert!(api["poll"]["problem"]
        .as_str()
        .unwrap()
        .contains("unreadable"));
    let worker = row(&status, "production", "worker");
    assert!(worker["poll"]["problem"]
        .as_str()
        .unwrap()
        .contains("rate limited, retrying in 30 s"));

    let (code, html) = app.get("/").await;
    assert_eq!(code, 200);
    assert!(html.contains("Data is"), "the page says the data is stale");
    assert!(html.contains("Stale data") || html.contains("Some data is stale"));
}

#[tokio::test]
async fn tokens_never_leave_the_server() {
    let app = spawn_app().await;
    app.world().vercel.faults.push_once(SimFault::Unauthorized);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut bodies = vec![app.status().await.to_string(), app.get("/").await.1];
    bodies.push(app.events("/api/events", None).await.first_frame().await);
    for body in &bodies {
        for token in DEMO_TOKENS {
            assert!(
                !body.contains(token),
                "a response contains the token {token}"
            );
        }
    }
}

#[tokio::test]
async fn shutdown_is_graceful_even_with_a_live_stream_open() {
    let mut app = spawn_app().await;
    let mut stream = app.events("/api/events", None).await;
    stream.first_frame().await;
    let finished = app.shut_down(Duration::from_secs(5)).await;
    assert!(
        finished.is_ok(),
        "the server did not stop cleanly: {finished:?}"
    );
    // The stream ended with the server instead of hanging.
    assert!(
        stream.ends_within(Duration::from_secs(2)).await,
        "the live stream was left open"
    );
}

#[tokio::test]
async fn the_history_api_filters_and_explains_bad_input() {
    let app = spawn_app().await;
    let site = &app.site;
    let get = |path: String| async move {
        let page = site.page(&path).await;
        (page.status, page.json())
    };
    let (code, body) = get("/api/v1/deployments".to_string()).await;
    assert_eq!(code, 200);
    let all = body["deployments"].as_array().unwrap();
    assert!(all.len() >= 12, "the demo history is stored: {}", all.len());
    let providers: std::collections::BTreeSet<_> = all
        .iter()
        .map(|d| d["provider"].as_str().unwrap())
        .collect();
    assert_eq!(
        providers.into_iter().collect::<Vec<_>>(),
        ["railway", "render", "vercel"]
    );

    let (code, body) = get("/api/v1/deployments?service=api&state=failed".to_string()).await;
    assert_eq!(code, 200);
    let failed = body["deployments"].as_array().unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0]["deployment"]["commit_message"],
        "Switch to connection pooler"
    );
    assert_eq!(failed[0]["environment"], "staging");
    assert_eq!(
        failed[0]["deployment"]["commit_url"],
        "https://github.com/acme/shop-api/commit/1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"
    );
    assert!(body["next"].is_null());

    let (code, body) =
        get("/api/v1/deployments?environment=preview/feature/checkout-redesign".to_string()).await;
    assert_eq!(code, 200);
    assert_eq!(body["deployments"].as_array().unwrap().len(), 2);

    let (code, body) = get("/api/v1/deployments?after=garbage".to_string()).await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("not valid"));
    let (code, body) = get("/api/v1/deployments?from=yesterday".to_string()).await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("yesterday"));
    // Security #15: the author filter is a substring scan in the store; its length is capped.
    let (code, body) = get(format!("/api/v1/deployments?author={}", "a".repeat(5000))).await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("author filter"));
}

#[tokio::test]
async fn history_and_uptime_survive_a_restart() {
    let mut app = TestApp::demo(DemoScenario::Basic).start().await;
    let deployments = |app: &TestApp| {
        let site = app.site.clone();
        async move {
            let body = site.json("/api/v1/deployments", None).await;
            body["deployments"].as_array().unwrap().len()
        }
    };
    wait_until(
        "12 stored deployments",
        || deployments(&app),
        |stored| *stored >= 12,
    )
    .await;
    // Let a few health samples land (and the backfill finish), then count again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Backfill may still have been storing when the count above first reached 12 (seen on a
    // loaded machine): count what is stored now, just before stopping.
    let stored = deployments(&app).await;

    // Every provider is down now: whatever the page shows must come from the store.
    for faults in [
        &app.world().vercel.faults,
        &app.world().render.faults,
        &app.world().railway.faults,
    ] {
        faults.set_sticky(SimFault::ServerError);
    }
    app.restart().await;
    // A write may land between the count and the stop: nothing seen may be lost.
    let after_restart = deployments(&app).await;
    assert!(
        after_restart >= stored,
        "history survives the restart: {after_restart} < {stored}"
    );
    let db = app
        .settle_row(None, "production", "db", |db| !db["uptime"].is_null())
        .await;
    let uptime = &db["uptime"];
    assert_eq!(
        uptime["day"], 100.0,
        "uptime from before the restart: {uptime}"
    );
    app.shut_down(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test]
async fn history_and_service_pages_render() {
    let app = spawn_app().await;
    let (code, html) = app.get("/history?service=api").await;
    assert_eq!(code, 200);
    assert!(html.contains("Switch to connection pooler"));
    assert!(!html.contains("Cache product images"), "the filter applies");
    let (code, html) = app.get("/services/api").await;
    assert_eq!(code, 200);
    assert!(html.contains("Uptime 24 h"));
    assert!(html.contains("Recent deployments"));
    // An unknown service or runbook is a page saying so, with 404 (not 200: a link checker
    // or a monitor pointed at it must see it is gone).
    let (code, html) = app.get("/services/nope").await;
    assert_eq!(code, 404);
    assert!(html.contains("no service named `nope` is configured"));
    let (code, html) = app.get("/runbooks/nope").await;
    assert_eq!(code, 404);
    assert!(html.contains("Runbook not found"));
}

/// Security #15: a health endpoint streaming a body without end used to be read whole. Now
/// the checker stops at 1 MiB and the row says its health is unknown, and why.
#[tokio::test]
async fn a_health_endpoint_streaming_without_end_shows_as_unknown() {
    let app = spawn_app().await;
    app.world().health.set_endpoint(
        "db/production",
        server::simulators::health::SimHealthEndpoint {
            padding_bytes: 3 * 1024 * 1024,
            ..server::simulators::health::SimHealthEndpoint::ok()
        },
    );
    let db = app
        .settle_row(None, "production", "db", |db| {
            db["health"]["state"] == "unknown" && !db["health"]["detail"].is_null()
        })
        .await;
    let health = &db["health"];
    assert_eq!(health["state"], "unknown", "{health:#}");
    assert!(health["detail"]
        .as_str()
        .unwrap()
        .contains("larger than 1024 KiB"));
    let (status, page) = app.get("/").await;
    assert_eq!(status, 200);
    assert!(page.contains("answer larger than 1024 KiB; not read"));
}

/// Page loads never wait on a provider: with every provider API and health endpoint hanging
/// for 30 s (longer than the providers' client timeout), polls hang, and pages and the status
/// API still answer at once from what the monitor last saw. The bound is far below the hang
/// and the client timeout, so it proves that no request waits on a provider; it is not a
/// speed figure (those are in `make bench`).
#[tokio::test]
async fn page_loads_never_wait_on_a_provider() {
    const HANG: SimFault = SimFault::Slow { millis: 30_000 };
    const FAR_BELOW_THE_HANG: Duration = Duration::from_secs(5);
    let app = spawn_app().await;
    for faults in [
        &app.world().vercel.faults,
        &app.world().render.faults,
        &app.world().railway.faults,
    ] {
        faults.set_sticky(HANG);
    }
    for endpoint in [
        "web/production",
        "web/staging",
        "api/production",
        "api/staging",
        "worker/production",
        "db/production",
        "db/staging",
    ] {
        app.world().health.set_endpoint(
            endpoint,
            server::simulators::health::SimHealthEndpoint {
                delay_ms: 30_000,
                ..server::simulators::health::SimHealthEndpoint::ok()
            },
        );
    }
    let calls_before = app.world().vercel.requests.get();
    // Polls run every second: after two, the monitor has requests hanging at every provider.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(
        app.world().vercel.requests.get() > calls_before,
        "the monitor kept polling (and its polls now hang)"
    );
    // Distinct queries, so each page is rendered for this request, not replayed.
    for round in 0..3 {
        for path in [
            format!("/?round={round}"),
            format!("/?environment=production&round={round}"),
            format!("/history?round={round}"),
            format!("/services/api?round={round}"),
            "/api/v1/status".to_string(),
        ] {
            let (code, body) = tokio::time::timeout(FAR_BELOW_THE_HANG, app.get(&path))
                .await
                .unwrap_or_else(|_| panic!("{path} waited on a hanging provider"));
            assert_eq!(code, 200, "{path}");
            assert!(!body.is_empty(), "{path}");
        }
    }
    // And what the page shows is what was last seen, not blanks.
    let (_, html) = app.get("/?final=1").await;
    assert!(html.contains("Cache product images at the edge"));
}
