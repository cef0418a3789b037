//! The whole server on port 0 with the demo simulators: JSON status, rendered HTML, probes,
//! the live stream, provider outages, and token secrecy.

use server::config::process_env;
use server::demo::{DemoScenario, DemoWorld};
use server::simulators::SimFault;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const DEMO_TOKENS: [&str; 3] = [
    "demo-vercel-token",
    "demo-render-token",
    "demo-railway-token",
];

struct TestApp {
    base: String,
    world: DemoWorld,
    http: reqwest::Client,
    stop: oneshot::Sender<()>,
    server: tokio::task::JoinHandle<anyhow::Result<()>>,
    _data_dir: tempfile::TempDir,
}

async fn spawn_app() -> TestApp {
    let world = DemoWorld::start(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        DemoScenario::Basic,
    )
    .await
    .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let config = world
        .config(Duration::from_secs(1), data_dir.path(), &process_env)
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(server::startup::run(config, listener, async move {
        let _ = stopped.await;
    }));
    let app = TestApp {
        base,
        world,
        http: reqwest::Client::new(),
        stop,
        server,
        _data_dir: data_dir,
    };
    app.wait_for_first_polls().await;
    app
}

impl TestApp {
    async fn status(&self) -> serde_json::Value {
        let response = self
            .http
            .get(format!("{}/api/v1/status", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn page(&self, path: &str) -> (u16, String) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// Waits until every provider-backed row has been polled successfully once.
    async fn wait_for_first_polls(&self) {
        for _ in 0..100 {
            let status = self.status().await;
            let all_polled = rows(&status).iter().all(|(_, row)| {
                row["provider"] == "http_health" || !row["poll"]["last_success_at"].is_null()
            });
            if all_polled && !rows(&status).is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the monitor never polled every provider");
    }
}

fn rows(status: &serde_json::Value) -> Vec<(String, serde_json::Value)> {
    status["environments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|env| {
            let name = env["name"].as_str().unwrap().to_string();
            env["services"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |row| (name.clone(), row.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn row<'a>(
    status: &'a serde_json::Value,
    environment: &str,
    service: &str,
) -> &'a serde_json::Value {
    status["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|env| env["name"] == environment)
        .and_then(|env| {
            env["services"]
                .as_array()
                .unwrap()
                .iter()
                .find(|row| row["service"] == service)
        })
        .unwrap_or_else(|| panic!("no {service} in {environment}"))
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
    let mut status = app.status().await;
    for _ in 0..50 {
        if row(&status, "production", "api")["health"]["state"] != "unknown" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = app.status().await;
    }
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
    let (code, html) = app.page("/").await;
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
    let (code, html) = app.page("/no-such-page").await;
    assert_eq!(code, 404);
    assert!(html.contains("Page not found"));
}

#[tokio::test]
async fn probes_answer() {
    let app = spawn_app().await;
    let (code, body) = app.page("/healthz").await;
    assert_eq!((code, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (code, body) = app.page("/readyz").await;
    assert_eq!(code, 200);
    assert!(body.contains(r#""monitor":"running""#));
}

#[tokio::test]
async fn the_live_stream_starts_with_the_snapshot_and_follows_changes() {
    let app = spawn_app().await;
    let mut response = app
        .http
        .get(format!("{}/api/events", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let mut received = String::new();
    let first = tokio::time::timeout(Duration::from_secs(5), response.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    received.push_str(&String::from_utf8_lossy(&first));
    assert!(
        received.starts_with("event: snapshot\ndata: {\"type\":\"snapshot\""),
        "{received}"
    );

    app.world.render.push_deployment(
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
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !received.contains("Stream this change") {
        let chunk = tokio::time::timeout_at(deadline, response.chunk())
            .await
            .expect("no update streamed")
            .unwrap()
            .unwrap();
        received.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn provider_outages_leave_the_last_known_data_marked_stale() {
    let app = spawn_app().await;
    app.world.vercel.faults.set_sticky(SimFault::ServerError);
    app.world.render.faults.set_sticky(SimFault::Garbage);
    app.world.railway.faults.set_sticky(SimFault::RateLimited {
        retry_after_secs: 30,
    });
    let mut status = app.status().await;
    for _ in 0..60 {
        let all_stale = rows(&status)
            .iter()
            .filter(|(_, row)| row["provider"] != "http_health")
            .all(|(_, row)| row["poll"]["stale"] == true);
        if all_stale {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        status = app.status().await;
    }
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

    let (code, html) = app.page("/").await;
    assert_eq!(code, 200);
    assert!(html.contains("Data is"), "the page says the data is stale");
    assert!(html.contains("Stale data") || html.contains("Some data is stale"));
}

#[tokio::test]
async fn tokens_never_leave_the_server() {
    let app = spawn_app().await;
    app.world.vercel.faults.push_once(SimFault::Unauthorized);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut bodies = vec![app.status().await.to_string(), app.page("/").await.1];
    let mut response = app
        .http
        .get(format!("{}/api/events", app.base))
        .send()
        .await
        .unwrap();
    let chunk = tokio::time::timeout(Duration::from_secs(5), response.chunk())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    bodies.push(String::from_utf8_lossy(&chunk).to_string());
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
    let app = spawn_app().await;
    let mut stream = app
        .http
        .get(format!("{}/api/events", app.base))
        .send()
        .await
        .unwrap();
    let _first = stream.chunk().await.unwrap();
    app.stop.send(()).unwrap();
    let finished = tokio::time::timeout(Duration::from_secs(5), app.server).await;
    assert!(
        matches!(finished, Ok(Ok(Ok(())))),
        "the server did not stop in time: {finished:?}"
    );
    // The stream ended with the server instead of hanging.
    let rest = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the live stream was left open");
}

#[tokio::test]
async fn the_history_api_filters_and_explains_bad_input() {
    let app = spawn_app().await;
    let get = |path: String| {
        let http = app.http.clone();
        async move {
            let response = http.get(path).send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (code, body) = get(format!("{}/api/v1/deployments", app.base)).await;
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

    let (code, body) = get(format!(
        "{}/api/v1/deployments?service=api&state=failed",
        app.base
    ))
    .await;
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

    let (code, body) = get(format!(
        "{}/api/v1/deployments?environment=preview/feature/checkout-redesign",
        app.base
    ))
    .await;
    assert_eq!(code, 200);
    assert_eq!(body["deployments"].as_array().unwrap().len(), 2);

    let (code, body) = get(format!("{}/api/v1/deployments?after=garbage", app.base)).await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("not valid"));
    let (code, body) = get(format!("{}/api/v1/deployments?from=yesterday", app.base)).await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("yesterday"));
    // Security #15: the author filter is a substring scan in the store; its length is capped.
    let (code, body) = get(format!(
        "{}/api/v1/deployments?author={}",
        app.base,
        "a".repeat(5000)
    ))
    .await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("author filter"));
}

#[tokio::test]
async fn history_and_uptime_survive_a_restart() {
    let data_dir = tempfile::tempdir().unwrap();
    let world = DemoWorld::start(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        DemoScenario::Basic,
    )
    .await
    .unwrap();
    let start = |fault: bool| {
        let config = world
            .config(Duration::from_secs(1), data_dir.path(), &process_env)
            .unwrap();
        if fault {
            world.vercel.faults.set_sticky(SimFault::ServerError);
            world.render.faults.set_sticky(SimFault::ServerError);
            world.railway.faults.set_sticky(SimFault::ServerError);
        }
        async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let base = format!("http://{}", listener.local_addr().unwrap());
            let (stop, stopped) = oneshot::channel::<()>();
            let server = tokio::spawn(server::startup::run(config, listener, async move {
                let _ = stopped.await;
            }));
            (base, stop, server)
        }
    };
    let http = reqwest::Client::new();
    let deployments = |base: String| {
        let http = http.clone();
        async move {
            let body: serde_json::Value = http
                .get(format!("{base}/api/v1/deployments"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["deployments"].as_array().unwrap().len()
        }
    };

    let (base, stop, server) = start(false).await;
    let mut stored = 0;
    for _ in 0..100 {
        stored = deployments(base.clone()).await;
        if stored >= 12 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(stored >= 12);
    // Let a few health samples land (and the backfill finish), then count again.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Backfill may still have been storing when the count above first reached 12 (seen on a
    // loaded machine): count what is stored now, just before stopping.
    stored = deployments(base.clone()).await;
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();

    // Every provider is down now: whatever the page shows must come from the store.
    let (base, stop, server) = start(true).await;
    // A write may land between the count and the stop: nothing seen may be lost.
    let after_restart = deployments(base.clone()).await;
    assert!(
        after_restart >= stored,
        "history survives the restart: {after_restart} < {stored}"
    );
    let mut uptime = serde_json::Value::Null;
    for _ in 0..60 {
        let status: serde_json::Value = http
            .get(format!("{base}/api/v1/status"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        uptime = row(&status, "production", "db")["uptime"].clone();
        if !uptime.is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        uptime["day"], 100.0,
        "uptime from before the restart: {uptime}"
    );
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn history_and_service_pages_render() {
    let app = spawn_app().await;
    let (code, html) = app.page("/history?service=api").await;
    assert_eq!(code, 200);
    assert!(html.contains("Switch to connection pooler"));
    assert!(!html.contains("Cache product images"), "the filter applies");
    let (code, html) = app.page("/services/api").await;
    assert_eq!(code, 200);
    assert!(html.contains("Uptime 24 h"));
    assert!(html.contains("Recent deployments"));
    // An unknown service or runbook is a page saying so, with 404 (not 200: a link checker
    // or a monitor pointed at it must see it is gone).
    let (code, html) = app.page("/services/nope").await;
    assert_eq!(code, 404);
    assert!(html.contains("no service named `nope` is configured"));
    let (code, html) = app.page("/runbooks/nope").await;
    assert_eq!(code, 404);
    assert!(html.contains("Runbook not found"));
}

/// Security #15: a health endpoint streaming a body without end used to be read whole. Now
/// the checker stops at 1 MiB and the row says its health is unknown, and why.
#[tokio::test]
async fn a_health_endpoint_streaming_without_end_shows_as_unknown() {
    let app = spawn_app().await;
    app.world.health.set_endpoint(
        "db/production",
        server::simulators::health::SimHealthEndpoint {
            padding_bytes: 3 * 1024 * 1024,
            ..server::simulators::health::SimHealthEndpoint::ok()
        },
    );
    let mut health = serde_json::Value::Null;
    for _ in 0..100 {
        health = row(&app.status().await, "production", "db")["health"].clone();
        if health["state"] == "unknown" && !health["detail"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(health["state"], "unknown", "{health:#}");
    assert!(health["detail"]
        .as_str()
        .unwrap()
        .contains("larger than 1024 KiB"));
    let (status, page) = app.page("/").await;
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
        &app.world.vercel.faults,
        &app.world.render.faults,
        &app.world.railway.faults,
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
        app.world.health.set_endpoint(
            endpoint,
            server::simulators::health::SimHealthEndpoint {
                delay_ms: 30_000,
                ..server::simulators::health::SimHealthEndpoint::ok()
            },
        );
    }
    let calls_before = app.world.vercel.requests.get();
    // Polls run every second: after two, the monitor has requests hanging at every provider.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(
        app.world.vercel.requests.get() > calls_before,
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
            let (code, body) = tokio::time::timeout(FAR_BELOW_THE_HANG, app.page(&path))
                .await
                .unwrap_or_else(|_| panic!("{path} waited on a hanging provider"));
            assert_eq!(code, 200, "{path}");
            assert!(!body.is_empty(), "{path}");
        }
    }
    // And what the page shows is what was last seen, not blanks.
    let (_, html) = app.page("/?final=1").await;
    assert!(html.contains("Cache product images at the edge"));
}
