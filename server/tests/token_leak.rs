//! Provider tokens never leave the server. Runs the all-provider demo with every provider
//! token known, captures every log line at debug level, then: crawls every page (anonymous and
//! as admin), calls every server function and JSON endpoint, reads the live stream, makes each
//! provider fail in every way the simulators can (so error paths log), and fetches the client
//! bundles (JS, wasm, CSS). No response body, header, log line or bundle may contain any token,
//! nor its base64 in any alignment.

mod common;

use base64::Engine;
use common::status::rows;
use common::TestApp;
use server::auth::endpoints::SERVER_FUNCTIONS;
use server::config::process_env;
use server::demo::{DemoScenario, DEMO_TOKENS};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for CapturedLogs {
    type Writer = CapturedLogs;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// The token and its base64 (standard and URL-safe) at each of the three byte alignments it
/// could have inside a longer encoded string.
fn forbidden_forms(token: &str) -> Vec<String> {
    let mut forms = vec![token.to_string()];
    for engine in [
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for offset in 0..3usize {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(token.as_bytes());
            let encoded = engine.encode(&bytes);
            let first_group = usize::from(offset > 0);
            let last_group = (offset + token.len()) / 3;
            if last_group > first_group {
                forms.push(encoded[first_group * 4..last_group * 4].to_string());
            }
        }
    }
    forms
}

struct Findings {
    forms: Vec<(String, String)>,
    leaks: Vec<String>,
    checked: usize,
}

impl Findings {
    fn new() -> Self {
        let forms = DEMO_TOKENS
            .iter()
            .flat_map(|(variable, token)| {
                forbidden_forms(token)
                    .into_iter()
                    .map(move |form| (variable.to_string(), form))
            })
            .collect();
        Self {
            forms,
            leaks: Vec::new(),
            checked: 0,
        }
    }

    fn check(&mut self, what: &str, bytes: &[u8]) {
        self.checked += 1;
        for (variable, form) in &self.forms {
            if bytes
                .windows(form.len())
                .any(|window| window == form.as_bytes())
            {
                self.leaks
                    .push(format!("{what} contains {variable} (as `{form}`)"));
            }
        }
    }
}

fn site_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_reaches_a_page_response_stream_log_or_bundle() {
    let logs = CapturedLogs::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(logs.clone())
            .with_ansi(false)
            .finish(),
    )
    .expect("the only subscriber in this test binary");

    let mut app = TestApp::demo(DemoScenario::AllProviders)
        .env(
            "LOOKOUT_RUNBOOKS_DIR",
            common::repo::runbooks().display().to_string(),
        )
        .start()
        .await;
    let mut findings = Findings::new();

    // Let every provider be polled, then fail each in every way, then recover.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut services: Vec<String> = Vec::new();
    for (_, row) in rows(&app.status().await) {
        let service = row["service"].as_str().unwrap().to_string();
        if !services.contains(&service) {
            services.push(service);
        }
    }
    let providers = [
        "vercel",
        "render",
        "railway",
        "netlify",
        "github",
        "digitalocean",
        "heroku",
        "fly",
        "cloudflare",
        "supabase",
    ];
    for fault in [
        serde_json::json!({"kind": "unauthorized"}),
        serde_json::json!({"kind": "server_error"}),
        serde_json::json!({"kind": "garbage"}),
        serde_json::json!({"kind": "rate_limited", "retry_after_secs": 1}),
    ] {
        for provider in providers {
            let (code, _) = app
                .control(
                    "/_control/fault",
                    serde_json::json!({"provider": provider, "fault": fault, "once": false}),
                )
                .await;
            assert!((200..300).contains(&code), "fault for {provider}");
        }
        tokio::time::sleep(Duration::from_millis(2500)).await;
        for provider in providers {
            app.control(
                "/_control/fault",
                serde_json::json!({"provider": provider, "fault": null}),
            )
            .await;
        }
    }

    // Sign in as admin so the admin-only pages are crawled too.
    let admin = app.sign_in("admin").await;

    let mut paths: Vec<String> = vec![
        "/".into(),
        "/history".into(),
        "/login".into(),
        "/runbooks".into(),
        "/runbooks?q=rollback".into(),
        "/runbooks/rollback".into(),
        "/runbooks/api-down".into(),
        "/sw.js".into(),
        "/lookout.js".into(),
        "/audit".into(),
        "/no-such-page".into(),
        "/healthz".into(),
        "/readyz".into(),
        "/api/v1/status".into(),
        "/api/v1/deployments".into(),
    ];
    for service in &services {
        paths.push(format!("/services/{service}"));
        paths.push(format!("/history?service={service}"));
        paths.push(format!("/api/service?name={service}"));
        paths.push(format!("/api/v1/deployments?service={service}"));
    }
    for endpoint in SERVER_FUNCTIONS {
        paths.push(format!("{}?{}", endpoint.path, endpoint.sample_query));
    }
    for path in &paths {
        for reader in [None, Some(&admin)] {
            let page = app.fetch(path, reader, &[]).await;
            let headers = format!("{:?}", page.headers);
            findings.check(&format!("headers of {path}"), headers.as_bytes());
            findings.check(&format!("GET {path}"), &page.body);
        }
    }

    // The live stream for a few seconds (snapshots, heartbeats, history changes).
    let mut stream = app.events("/api/events", None).await;
    let streamed = stream.read_for(Duration::from_secs(3)).await;
    assert!(!streamed.is_empty(), "the stream sent something");
    findings.check("the live stream", streamed.as_bytes());

    // The client bundles, as built for the browser.
    let pkg = site_root().join("pkg");
    let bundle = ["app.js", "app_bg.wasm", "main.css"];
    if pkg.join("app_bg.wasm").exists() {
        for file in bundle {
            let bytes = std::fs::read(pkg.join(file)).unwrap();
            findings.check(&format!("bundle {file}"), &bytes);
        }
    } else if process_env("CI").is_some() {
        panic!(
            "the client bundle is missing at {}: `make test` builds it before the tests",
            pkg.display()
        );
    } else {
        eprintln!("skipping the bundle check: build the client first (trunk build --release)");
    }

    let _ = app.shut_down(Duration::from_secs(10)).await;
    let captured = logs.0.lock().unwrap().clone();
    assert!(
        captured.len() > 10_000 && String::from_utf8_lossy(&captured).contains("DEBUG"),
        "debug logs were captured ({} bytes)",
        captured.len()
    );
    findings.check("the logs", &captured);
    assert!(findings.checked > 50, "checked {} items", findings.checked);
    assert!(
        findings.leaks.is_empty(),
        "tokens leaked:\n{}",
        findings.leaks.join("\n")
    );
}

#[test]
fn base64_forms_find_a_token_at_any_alignment() {
    let token = "demo-vercel-token";
    let forms = forbidden_forms(token);
    for prefix in ["", "x", "xy", "xyz"] {
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(format!("{prefix}{token}suffix").as_bytes());
        assert!(
            forms
                .iter()
                .skip(1)
                .any(|form| encoded.contains(form.as_str())),
            "prefix {prefix:?}: {encoded}"
        );
    }
}
