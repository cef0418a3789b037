//! Rollback end to end over HTTP: the demo's Render simulator behind the real client, the
//! whole server on port 0, signed-in users posting the confirmation form. Covers the state
//! machine's promises: verified outcome, audit before and after, one provider call for many
//! clicks, stale views refused, provider refusals and timeouts reported, and a server killed
//! mid-rollback reconciling on restart.

use serde_json::Value;
use server::config::{self, Config};
use server::demo::{demo_config_text, DemoScenario, DemoWorld, DEMO_TOKENS};
use server::simulators::SimRollbackOutcome;
use std::path::Path;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const API_PRODUCTION: &str = "srv-demoapiprod01";

struct TestApp {
    base: String,
    http: reqwest::Client,
    world: DemoWorld,
    _data_dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

fn test_config_text(world: &DemoWorld, timeout_secs: u64) -> String {
    demo_config_text(DemoScenario::Basic, &world.base_url, Duration::from_secs(1))
        .replace(
            "rollback_timeout_secs = 60",
            &format!("rollback_timeout_secs = {timeout_secs}"),
        )
        .replace("rollback_poll_millis = 300", "rollback_poll_millis = 100")
}

fn config_from(text: &str, data_dir: &Path, extra_env: &[(&str, String)]) -> Config {
    let store_url = format!("sqlite://{}", data_dir.join("lookout.db").display());
    let lookup = |name: &str| {
        DEMO_TOKENS
            .iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, token)| token.to_string())
            .or_else(|| (name == "DATABASE_URL").then(|| store_url.clone()))
            .or_else(|| {
                extra_env
                    .iter()
                    .find(|(variable, _)| *variable == name)
                    .map(|(_, value)| value.clone())
            })
    };
    match config::parse(text, "rollback-test", &lookup) {
        Ok(config) => config,
        Err(errors) => panic!("test config invalid:\n{errors}"),
    }
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn spawn(timeout_secs: u64) -> TestApp {
    spawn_scenario(DemoScenario::Basic, timeout_secs).await
}

async fn spawn_scenario(scenario: DemoScenario, timeout_secs: u64) -> TestApp {
    spawn_with(scenario, timeout_secs, "", &[]).await
}

async fn spawn_with(
    scenario: DemoScenario,
    timeout_secs: u64,
    extra_text: &str,
    extra_env: &[(&str, String)],
) -> TestApp {
    let world = DemoWorld::start(TcpListener::bind("127.0.0.1:0").await.unwrap(), scenario)
        .await
        .unwrap();
    let text = demo_config_text(scenario, &world.base_url, Duration::from_secs(1))
        .replace(
            "rollback_timeout_secs = 60",
            &format!("rollback_timeout_secs = {timeout_secs}"),
        )
        .replace("rollback_poll_millis = 300", "rollback_poll_millis = 100");
    let text = format!("{text}\n{extra_text}");
    let data_dir = tempfile::tempdir().unwrap();
    let config = config_from(&text, data_dir.path(), extra_env);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server::startup::run(config, listener, async move {
        let _ = stopped.await;
    }));
    let app = TestApp {
        base,
        http: no_redirects(),
        world,
        _data_dir: data_dir,
        _stop: stop,
    };
    app.wait_until_polled().await;
    app
}

/// A signed-in browser: its cookies and form token.
#[derive(Clone)]
struct Browser {
    csrf: String,
    session: String,
}

impl Browser {
    fn cookies(&self) -> String {
        format!(
            "lookout_csrf={}; lookout_session={}",
            self.csrf, self.session
        )
    }
}

fn cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| {
            let (pair, _) = value.split_once(';').unwrap_or((value, ""));
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_string())
        })
}

fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

impl TestApp {
    async fn wait_until_polled(&self) {
        for _ in 0..200 {
            if let Ok(response) = self
                .http
                .get(format!("{}/api/v1/status", self.base))
                .send()
                .await
            {
                if let Ok(status) = response.json::<Value>().await {
                    if api_row(&status, "production")["live"]["id"].is_string() {
                        return;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the monitor never polled api");
    }

    async fn sign_in(&self, user: &str, password: &str) -> Browser {
        let page = self
            .http
            .get(format!("{}/login", self.base))
            .send()
            .await
            .unwrap();
        let csrf = cookie(&page, "lookout_csrf").unwrap();
        let response = self
            .http
            .post(format!("{}/login", self.base))
            .header("origin", &self.base)
            .header("cookie", format!("lookout_csrf={csrf}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "csrf_token={csrf}&username={user}&password={password}&next=%2F"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "sign in as {user}");
        Browser {
            csrf,
            session: cookie(&response, "lookout_session").unwrap(),
        }
    }

    async fn get(&self, path: &str, browser: &Browser) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cookie", browser.cookies())
            .send()
            .await
            .unwrap()
    }

    async fn get_json(&self, path: &str, browser: &Browser) -> Value {
        let response = self.get(path, browser).await;
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.json().await.unwrap()
    }

    /// Posts a form the way a browser without JavaScript does (Accept: text/html).
    async fn post_form(
        &self,
        path: &str,
        browser: &Browser,
        fields: &[(&str, String)],
    ) -> reqwest::Response {
        let mut body = format!("csrf_token={}", browser.csrf);
        for (key, value) in fields {
            body.push_str(&format!("&{}={}", encode(key), encode(value)));
        }
        self.http
            .post(format!("{}{path}", self.base))
            .header("origin", &self.base)
            .header("cookie", browser.cookies())
            .header("accept", "text/html")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn plan(&self, browser: &Browser, target: &str) -> Value {
        self.get_json(
            &format!(
                "/api/rollback_plan?service=api&environment=production&target={}",
                encode(target)
            ),
            browser,
        )
        .await
    }

    /// The confirmation form as the page fills it.
    fn form(plan: &Value, reason: &str) -> Vec<(&'static str, String)> {
        vec![
            ("form[service]", "api".into()),
            ("form[environment]", "production".into()),
            ("form[target]", plan["to"]["id"].as_str().unwrap().into()),
            (
                "form[expected_live]",
                plan["from"]["id"].as_str().unwrap().into(),
            ),
            (
                "form[idempotency_key]",
                plan["idempotency_key"].as_str().unwrap().into(),
            ),
            ("form[reason]", reason.into()),
            ("form[typed_name]", "api".into()),
            ("form[place_hold]", "on".into()),
        ]
    }

    async fn previous_target(&self, browser: &Browser) -> String {
        let status = self.get_json("/api/v1/status", browser).await;
        let offer = &api_row(&status, "production")["rollback_offer"];
        assert_eq!(offer["kind"], "previous", "{offer}");
        offer["target"]["id"].as_str().unwrap().to_string()
    }

    async fn wait_finished(&self, browser: &Browser, id: i64) -> Value {
        for _ in 0..300 {
            let view = self
                .get_json(&format!("/api/v1/rollbacks/{id}"), browser)
                .await;
            if matches!(view["state"].as_str(), Some("succeeded" | "failed")) {
                return view;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("rollback {id} did not finish");
    }

    async fn audit(&self, admin: &Browser, query: &str) -> Vec<Value> {
        let page = self
            .get_json(&format!("/api/v1/audit?{query}"), admin)
            .await;
        page["entries"].as_array().unwrap().clone()
    }
}

fn api_row<'a>(status: &'a Value, environment: &str) -> &'a Value {
    status["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|candidate| candidate["name"] == environment)
        .and_then(|environment| {
            environment["services"]
                .as_array()
                .unwrap()
                .iter()
                .find(|row| row["service"] == "api")
        })
        .unwrap_or(&Value::Null)
}

fn operation_id(response: &reqwest::Response) -> i64 {
    let location = location(response);
    location
        .strip_prefix("/rollbacks/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("expected a redirect to the result page, got {location:?}"))
}

#[tokio::test]
async fn a_deployer_rolls_back_api_the_result_is_verified_audited_and_the_hold_released() {
    let app = spawn(30).await;
    let deployer = app.sign_in("deployer", "deployer-demo").await;
    let admin = app.sign_in("admin", "admin-demo").await;
    let target = app.previous_target(&deployer).await;
    let plan = app.plan(&deployer, &target).await;
    assert_eq!(plan["refusal"], Value::Null, "{plan}");
    assert_eq!(plan["requires_typed_name"], true);
    assert!(plan["action"].as_str().unwrap().contains("Render"));
    let live_before = plan["from"]["id"].as_str().unwrap().to_string();

    // The confirmation page names both ends without JavaScript.
    let page = app
        .get(
            &format!("/rollback?service=api&environment=production&target={target}"),
            &deployer,
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Roll back api in production?"), "{page}");
    assert!(page.contains(&live_before) && page.contains(&target));

    let response = app
        .post_form(
            "/api/roll_back_service",
            &deployer,
            &TestApp::form(&plan, "checkout errors"),
        )
        .await;
    assert_eq!(response.status(), 302);
    let id = operation_id(&response);
    let done = app.wait_finished(&deployer, id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert!(
        done["detail"]
            .as_str()
            .unwrap()
            .contains("read again after the rollback"),
        "{done}"
    );
    let created = done["new_deployment_id"].as_str().unwrap();

    // The provider's live deployment is the new deploy of the target's commit.
    let live = app.world.render.live_deployment(API_PRODUCTION).unwrap();
    assert_eq!(live.0, created);
    assert_eq!(Some(live.1.as_str()), plan["to"]["commit_sha"].as_str());
    assert_eq!(app.world.render.auto_deploy(API_PRODUCTION), Some("no"));

    // Audit: pending before the provider call, the outcome after.
    let rows = app.audit(&admin, "action=rollback").await;
    let outcomes: Vec<&str> = rows
        .iter()
        .map(|row| row["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["succeeded", "pending"], "{rows:?}");
    assert!(rows.iter().all(|row| row["actor"] == "deployer"));
    assert!(rows[1]["detail"]
        .as_str()
        .unwrap()
        .contains("checkout errors"));

    // The row says so, with the hold, until it is released.
    let status = app.get_json("/api/v1/status", &deployer).await;
    let note = &api_row(&status, "production")["last_rollback"];
    assert_eq!(note["state"], "succeeded");
    assert_eq!(note["hold"], "auto_deploy_paused");
    let result_page = app
        .get(&format!("/rollbacks/{id}"), &deployer)
        .await
        .text()
        .await
        .unwrap();
    assert!(result_page.contains("Rolled back, verified"));
    assert!(result_page.contains("Resume auto-deploy"));

    // Issue #15: five simultaneous releases (two tabs, impatient clicks) reach Render once:
    // the release is claimed in the store by one conditional update first.
    let fields = [("id", id.to_string()), ("release", "resume".into())];
    let responses = futures::future::join_all(
        (0..5).map(|_| app.post_form("/api/release_rollback_hold", &deployer, &fields)),
    )
    .await;
    let locations: Vec<String> = responses.iter().map(location).collect();
    assert!(responses.iter().all(|response| response.status() == 302));
    assert_eq!(
        locations
            .iter()
            .filter(|to| **to == format!("/rollbacks/{id}"))
            .count(),
        1,
        "{locations:?}"
    );
    assert!(
        locations
            .iter()
            .filter(|to| to.contains("?error="))
            .all(|to| to.contains("already%20released")),
        "{locations:?}"
    );
    assert_eq!(app.world.render.auto_deploy(API_PRODUCTION), Some("yes"));
    let rows = app.audit(&admin, "action=rollback_hold").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["outcome"], "succeeded");
}

#[tokio::test]
async fn twenty_simultaneous_clicks_make_one_provider_call() {
    let app = spawn(30).await;
    app.world
        .render
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_secs(2));
    let deployer = app.sign_in("deployer", "deployer-demo").await;
    let target = app.previous_target(&deployer).await;
    let mut plans = Vec::new();
    for _ in 0..20 {
        plans.push(app.plan(&deployer, &target).await);
    }
    let forms: Vec<_> = plans
        .iter()
        .map(|plan| TestApp::form(plan, "double clicks"))
        .collect();
    let posts = forms
        .iter()
        .map(|form| app.post_form("/api/roll_back_service", &deployer, form));
    let responses = futures::future::join_all(posts).await;
    let mut started = Vec::new();
    let mut refused = 0;
    for (index, response) in responses.iter().enumerate() {
        let to = location(response);
        if to.starts_with("/rollbacks/") {
            started.push((index, operation_id(response)));
        } else {
            assert!(to.contains("already%20in%20progress"), "{to}");
            refused += 1;
        }
    }
    assert_eq!(started.len(), 1, "exactly one operation: {started:?}");
    assert_eq!(refused, 19);
    let (winner, id) = started[0];
    // The winning confirmation posted again (a retry) finds the same operation.
    let again = app
        .post_form("/api/roll_back_service", &deployer, &forms[winner])
        .await;
    assert_eq!(operation_id(&again), id);
    let done = app.wait_finished(&deployer, id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(app.world.render.rollbacks.calls.get(), 1);
}

#[tokio::test]
async fn a_stale_view_is_refused_with_who_did_what_and_audited() {
    let app = spawn(30).await;
    let deployer = app.sign_in("deployer", "deployer-demo").await;
    let admin = app.sign_in("admin", "admin-demo").await;
    let target = app.previous_target(&deployer).await;
    let mut plan = app.plan(&deployer, &target).await;
    plan["from"]["id"] = Value::String("dep-what-the-user-saw".into());
    let response = app
        .post_form(
            "/api/roll_back_service",
            &deployer,
            &TestApp::form(&plan, "stale"),
        )
        .await;
    assert_eq!(response.status(), 302);
    let back = location(&response);
    assert!(back.starts_with("/rollback?service=api"), "{back}");
    assert!(back.contains("meanwhile"), "{back}");
    assert_eq!(app.world.render.rollbacks.calls.get(), 0);
    let rows = app.audit(&admin, "action=rollback&outcome=refused").await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["detail"].as_str().unwrap().contains("meanwhile"));
}

#[tokio::test]
async fn production_needs_the_typed_name_and_other_environments_need_the_grant() {
    let app = spawn(30).await;
    let deployer = app.sign_in("deployer", "deployer-demo").await;
    let target = app.previous_target(&deployer).await;
    let plan = app.plan(&deployer, &target).await;
    let mut form = TestApp::form(&plan, "typo");
    form.retain(|(key, _)| *key != "form[typed_name]");
    form.push(("form[typed_name]", "apl".into()));
    let response = app
        .post_form("/api/roll_back_service", &deployer, &form)
        .await;
    assert!(location(&response).contains("type%20the%20service%20name"));
    assert_eq!(app.world.render.rollbacks.calls.get(), 0);

    let staging_only = app.sign_in("staging-deployer", "staging-demo").await;
    let response = app
        .get(
            &format!("/api/rollback_plan?service=api&environment=production&target={target}"),
            &staging_only,
        )
        .await;
    assert_eq!(response.status(), 403);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("may not roll back in production"));
}

#[tokio::test]
async fn provider_refusals_and_rollbacks_that_never_go_live_end_failed_with_the_reason() {
    let app = spawn(2).await;
    let deployer = app.sign_in("deployer", "deployer-demo").await;
    let target = app.previous_target(&deployer).await;

    app.world
        .render
        .rollbacks
        .set(SimRollbackOutcome::Refused, Duration::from_millis(100));
    let plan = app.plan(&deployer, &target).await;
    let response = app
        .post_form(
            "/api/roll_back_service",
            &deployer,
            &TestApp::form(&plan, "refused"),
        )
        .await;
    let done = app.wait_finished(&deployer, operation_id(&response)).await;
    assert_eq!(done["state"], "failed");
    let detail = done["detail"].as_str().unwrap();
    // Issue #15: readers get the error's summary; Render's own text stays in the log.
    assert!(
        detail.contains("Render refused: provider rejected the request (HTTP"),
        "{detail}"
    );
    assert!(
        !detail.contains("another deploy is in progress"),
        "{detail}"
    );

    app.world
        .render
        .rollbacks
        .set(SimRollbackOutcome::NeverLive, Duration::from_millis(100));
    let plan = app.plan(&deployer, &target).await;
    let response = app
        .post_form(
            "/api/roll_back_service",
            &deployer,
            &TestApp::form(&plan, "stuck"),
        )
        .await;
    let done = app.wait_finished(&deployer, operation_id(&response)).await;
    assert_eq!(done["state"], "failed");
    let detail = done["detail"].as_str().unwrap();
    assert!(
        detail.contains("within 2 s") && detail.contains("live now"),
        "{detail}"
    );
}

/// The server binary, killed with SIGKILL after the provider accepted the rollback and
/// before the outcome was recorded, then started again on the same database.
#[tokio::test]
async fn a_rollback_interrupted_by_sigkill_is_reconciled_at_the_next_start() {
    let world = DemoWorld::start(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        DemoScenario::Basic,
    )
    .await
    .unwrap();
    world
        .render
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_secs(3));
    let data_dir = tempfile::tempdir().unwrap();
    let config_path = data_dir.path().join("lookout.toml");
    let store_url = format!("sqlite://{}", data_dir.path().join("lookout.db").display());
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\n\n{}",
        test_config_text(&world, 60)
    );
    std::fs::write(&config_path, &text).unwrap();
    let start = || {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_lookout"));
        command
            .args(["serve", "--config"])
            .arg(&config_path)
            .env("DATABASE_URL", &store_url)
            .env_remove("PORT")
            .env_remove("LOOKOUT_CONFIG")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        for (variable, token) in DEMO_TOKENS {
            command.env(variable, token);
        }
        command.spawn().unwrap()
    };
    let mut child = start();
    let app = TestApp {
        base: format!("http://127.0.0.1:{port}"),
        http: no_redirects(),
        world,
        _data_dir: tempfile::tempdir().unwrap(),
        _stop: oneshot::channel().0,
    };
    app.wait_until_polled().await;
    let deployer = app.sign_in("deployer", "deployer-demo").await;
    let target = app.previous_target(&deployer).await;
    let plan = app.plan(&deployer, &target).await;
    let response = app
        .post_form(
            "/api/roll_back_service",
            &deployer,
            &TestApp::form(&plan, "crash"),
        )
        .await;
    let id = operation_id(&response);
    // Wait until the provider has been called (the row is `running`), then kill.
    for _ in 0..100 {
        let view = app
            .get_json(&format!("/api/v1/rollbacks/{id}"), &deployer)
            .await;
        if view["state"] == "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.world.render.rollbacks.calls.get(), 1);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let mut child = start();
    app.wait_until_polled().await;
    let deployer = app.sign_in("deployer", "deployer-demo").await;
    let done = app.wait_finished(&deployer, id).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(
        app.world.render.rollbacks.calls.get(),
        1,
        "never called twice"
    );
    let admin_rows = {
        // Reconciliation writes the outcome as `lookout`.
        let store = server::store::open(&store_url).await.unwrap();
        store.list_audit(10, None).await.unwrap()
    };
    let rollback_rows: Vec<_> = admin_rows
        .iter()
        .filter(|row| row.action == "rollback")
        .map(|row| (row.actor.as_str(), row.outcome.as_str()))
        .collect();
    assert_eq!(
        rollback_rows,
        [("lookout", "succeeded"), ("deployer", "pending")],
        "{admin_rows:?}"
    );
}

/// Every service of the all-providers demo that can roll back does, through the whole state
/// machine and the real clients, and each outcome is verified.
#[tokio::test]
async fn every_provider_in_the_all_providers_demo_rolls_back_and_verifies() {
    let app = spawn_scenario(DemoScenario::AllProviders, 30).await;
    for provider in [
        "vercel",
        "render",
        "railway",
        "netlify",
        "cloudflare",
        "github",
        "digitalocean",
        "heroku",
        "fly",
    ] {
        let response = reqwest::Client::new()
            .post(format!("{}/_control/rollback", app.world.base_url))
            .json(&serde_json::json!({"provider": provider, "outcome": "goes_live", "settle_millis": 200}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204, "{provider}");
    }
    // The demo's webhooks service has a single production deploy: give it a second one so
    // there is something to go back to.
    let response = reqwest::Client::new()
        .post(format!("{}/_control/deploy", app.world.base_url))
        .json(&serde_json::json!({
            "service": "webhooks",
            "environment": "production",
            "commit_sha": "5e1f0c2d3b4a59687766554433221100ffeeddcc",
            "message": "Retry webhooks with jitter",
            "author": "Ada Lovelace",
            "outcome": "ready",
        }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let deployer = app.sign_in("deployer", "deployer-demo").await;
    // Wait until every provider has been polled again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = app.get_json("/api/v1/status", &deployer).await;
    let production = status["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|environment| environment["name"] == "production")
        .unwrap();
    let mut rolled_back = Vec::new();
    let mut problems = Vec::new();
    for row in production["services"].as_array().unwrap() {
        let service = row["service"].as_str().unwrap();
        let provider = row["provider"].as_str().unwrap().to_string();
        let offer = &row["rollback_offer"];
        if offer.is_null() {
            continue;
        }
        if offer["kind"] != "previous" {
            problems.push(format!("{service} ({provider}): no target: {offer}"));
            continue;
        }
        let target = offer["target"]["id"].as_str().unwrap();
        let plan = app
            .get_json(
                &format!(
                    "/api/rollback_plan?service={service}&environment=production&target={}",
                    encode(target)
                ),
                &deployer,
            )
            .await;
        if !plan["refusal"].is_null() {
            problems.push(format!(
                "{service} ({provider}): refused: {}",
                plan["refusal"]
            ));
            continue;
        }
        let mut form = TestApp::form(&plan, "all providers");
        for field in form.iter_mut() {
            if matches!(field.0, "form[service]" | "form[typed_name]") {
                field.1 = service.to_string();
            }
        }
        let response = app
            .post_form("/api/roll_back_service", &deployer, &form)
            .await;
        let to = location(&response);
        let Some(id) = to
            .strip_prefix("/rollbacks/")
            .and_then(|id| id.parse::<i64>().ok())
        else {
            problems.push(format!("{service} ({provider}): not started: {to}"));
            continue;
        };
        let done = app.wait_finished(&deployer, id).await;
        if done["state"] == "succeeded" {
            rolled_back.push(provider);
        } else {
            problems.push(format!("{service} ({provider}): {}", done["detail"]));
        }
    }
    assert!(
        problems.is_empty(),
        "{problems:#?} (succeeded: {rolled_back:?})"
    );
    rolled_back.sort();
    assert_eq!(
        rolled_back,
        [
            "cloudflare_pages",
            "digitalocean",
            "fly",
            "github",
            "heroku",
            "netlify",
            "railway",
            "render",
            "vercel"
        ]
    );
}

/// What the webhook receiver got: (path name, body) in arrival order.
type Received = std::sync::Arc<std::sync::Mutex<Vec<(String, Value)>>>;

/// A local webhook receiver: every POST body, by path.
async fn webhook_receiver() -> (String, Received) {
    use axum::extract::{Path as UrlPath, State};
    let received: Received = Default::default();
    let app = axum::Router::new()
        .route(
            "/{name}",
            axum::routing::post(
                |State(store): State<Received>,
                 UrlPath(name): UrlPath<String>,
                 axum::Json(body): axum::Json<Value>| async move {
                    store.lock().unwrap().push((name, body));
                    "ok"
                },
            ),
        )
        .with_state(received.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, received)
}

#[tokio::test]
async fn slack_and_json_webhooks_hear_when_a_rollback_starts_and_ends() {
    let (hooks, received) = webhook_receiver().await;
    let extra = "[[notifications]]\nkind = \"slack\"\nurl_env = \"TEST_SLACK_WEBHOOK\"\n\n\
                 [[notifications]]\nkind = \"json\"\nurl_env = \"TEST_JSON_WEBHOOK\"\n\
                 environments = [\"staging\"]\n";
    let app = spawn_with(
        DemoScenario::Basic,
        30,
        extra,
        &[
            ("TEST_SLACK_WEBHOOK", format!("{hooks}/slack")),
            ("TEST_JSON_WEBHOOK", format!("{hooks}/json")),
        ],
    )
    .await;
    let deployer = app.sign_in("deployer", "deployer-demo").await;
    let target = app.previous_target(&deployer).await;
    let plan = app.plan(&deployer, &target).await;
    let response = app
        .post_form(
            "/api/roll_back_service",
            &deployer,
            &TestApp::form(&plan, "errors"),
        )
        .await;
    let done = app.wait_finished(&deployer, operation_id(&response)).await;
    assert_eq!(done["state"], "succeeded");
    // The sends are their own tasks: give them a moment.
    let mut messages = Vec::new();
    for _ in 0..50 {
        messages = received.lock().unwrap().clone();
        if messages.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let texts: Vec<String> = messages
        .iter()
        .map(|(name, body)| {
            assert_eq!(name, "slack", "the JSON hook only wants staging: {body}");
            body["text"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert!(
        texts[0].contains("deployer is rolling back api in production"),
        "{}",
        texts[0]
    );
    assert!(texts[0].contains("Reason: errors"));
    assert!(texts[1].contains("succeeded"), "{}", texts[1]);
}

#[test]
fn notification_config_errors_name_the_key_and_line() {
    let text = "[[environments]]\nname = \"production\"\n\n\
                [[notifications]]\nkind = \"teams\"\nurl_env = \"X\"\n\n\
                [[notifications]]\nkind = \"json\"\nurl_env = \"UNSET_WEBHOOK\"\n\n\
                [[notifications]]\nkind = \"slack\"\nurl_env = \"SET_WEBHOOK\"\n\
                environments = [\"prod\"]\n";
    let lookup =
        |name: &str| (name == "SET_WEBHOOK").then(|| "https://hooks.example.test/x".to_string());
    let errors = config::parse(text, "lookout.toml", &lookup)
        .unwrap_err()
        .to_string();
    assert!(
        errors
            .contains("lookout.toml:5: notifications[0].kind: `teams` is not a notification kind"),
        "{errors}"
    );
    assert!(errors.contains("lookout.toml:10: notifications[1].url_env: environment variable UNSET_WEBHOOK is not set"), "{errors}");
    assert!(errors.contains("lookout.toml:15: notifications[2].environments[0]: `prod` is not a configured environment"), "{errors}");
    assert!(
        !errors.contains("hooks.example.test"),
        "a webhook URL is never printed"
    );
}

fn service_row<'a>(status: &'a Value, environment: &str, service: &str) -> &'a Value {
    status["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|candidate| candidate["name"] == environment)
        .and_then(|environment| {
            environment["services"]
                .as_array()
                .unwrap()
                .iter()
                .find(|row| row["service"] == service)
        })
        .unwrap_or(&Value::Null)
}

/// The confirmation form for `service` in `environment`, filled by hand (the way a crafted
/// post would be): `target` need not be anything the page offered.
fn crafted_form(
    service: &str,
    environment: &str,
    target: &str,
    expected_live: &str,
    key: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("form[service]", service.into()),
        ("form[environment]", environment.into()),
        ("form[target]", target.into()),
        ("form[expected_live]", expected_live.into()),
        ("form[idempotency_key]", key.into()),
        ("form[reason]", "crafted".into()),
        ("form[typed_name]", service.into()),
    ]
}

/// Issue #15 (high): Railway has one client per service across its environments, so a
/// deployer granted only `staging` could name an older *production* deployment as the target
/// of a staging rollback and Railway rolled back production (audited as staging). The target
/// must belong to the environment being rolled back: refused, audited, no provider call.
#[tokio::test]
async fn a_staging_deployer_cannot_roll_back_production_by_naming_a_production_target() {
    let app = spawn(30).await;
    let admin = app.sign_in("admin", "admin-demo").await;
    let staging_only = app.sign_in("staging-deployer", "staging-demo").await;
    let mut production_target = None;
    let mut staging_live = None;
    for _ in 0..100 {
        let status = app.get_json("/api/v1/status", &staging_only).await;
        production_target = service_row(&status, "production", "worker")["rollback_offer"]
            ["target"]["id"]
            .as_str()
            .map(str::to_string);
        staging_live = service_row(&status, "staging", "worker")["live"]["id"]
            .as_str()
            .map(str::to_string);
        if production_target.is_some() && staging_live.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let production_target = production_target.expect("worker has a production target");
    let staging_live = staging_live.expect("worker has something live in staging");

    // A crafted post is refused: no provider call, and an audit row that says why.
    let response = app
        .post_form(
            "/api/roll_back_service",
            &staging_only,
            &crafted_form(
                "worker",
                "staging",
                &production_target,
                &staging_live,
                "issue-15-cross-environment-target",
            ),
        )
        .await;
    let back = location(&response);
    assert!(
        back.starts_with("/rollback?service=worker"),
        "expected a refusal, got {back:?}"
    );
    assert!(
        back.contains("not%20a%20deployment%20of%20worker"),
        "{back}"
    );
    assert_eq!(app.world.railway.rollbacks.calls.get(), 0);
    // The confirmation page refuses it too.
    let plan = app
        .get(
            &format!(
                "/api/rollback_plan?service=worker&environment=staging&target={}",
                encode(&production_target)
            ),
            &staging_only,
        )
        .await;
    let plan_status = plan.status();
    let plan_body = plan.text().await.unwrap();
    let plan_refused = if plan_status.is_success() {
        let plan: Value = serde_json::from_str(&plan_body).unwrap();
        plan["refusal"]
            .as_str()
            .is_some_and(|refusal| refusal.contains("not a deployment of worker in staging"))
    } else {
        plan_body.contains("not a deployment of worker in staging")
    };
    assert!(plan_refused, "{plan_status}: {plan_body}");

    let rows = app.audit(&admin, "action=rollback&outcome=refused").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["actor"], "staging-deployer");
    assert_eq!(rows[0]["target"], "worker/staging");
    assert!(
        rows[0]["detail"]
            .as_str()
            .unwrap()
            .contains("not a deployment of worker in staging"),
        "{}",
        rows[0]["detail"]
    );
}

/// Issue #15 (high), GitHub: a production deployer could name any deployment of the
/// repository (a PR preview's, another environment's) and Lookout created a production
/// deployment of its sha with status checks skipped. Only production's own are targets.
#[tokio::test]
async fn a_github_preview_deployment_is_not_a_production_target() {
    use server::simulators::{SimDeploymentSpec, SimOutcome};
    let app = spawn_scenario(DemoScenario::AllProviders, 30).await;
    let admin = app.sign_in("admin", "admin-demo").await;
    let deployer = app.sign_in("deployer", "deployer-demo").await;
    let preview = app.world.github.push_deployment(
        "acme",
        "search",
        "pr-12",
        &SimDeploymentSpec {
            commit_sha: "0badc0de0badc0de0badc0de0badc0de0badc0de".into(),
            commit_message: "Unreviewed experiment".into(),
            author: "Mallory".into(),
            branch: "experiment".into(),
            pr_number: Some(12),
            outcome: SimOutcome::Ready,
            created_at: chrono::Utc::now() - chrono::Duration::minutes(30),
        },
    );
    let mut live = None;
    for _ in 0..100 {
        let status = app.get_json("/api/v1/status", &deployer).await;
        live = service_row(&status, "production", "search")["live"]["id"]
            .as_str()
            .map(str::to_string);
        if live.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let live = live.expect("search has something live in production");
    let plan = app
        .get_json(
            &format!(
                "/api/rollback_plan?service=search&environment=production&target={}",
                encode(&preview)
            ),
            &deployer,
        )
        .await;
    assert!(
        plan["refusal"]
            .as_str()
            .is_some_and(|refusal| refusal.contains("not a deployment of search in production")),
        "{plan}"
    );
    let response = app
        .post_form(
            "/api/roll_back_service",
            &deployer,
            &crafted_form(
                "search",
                "production",
                &preview,
                &live,
                "issue-15-github-preview-target",
            ),
        )
        .await;
    let back = location(&response);
    assert!(
        back.starts_with("/rollback?service=search"),
        "expected a refusal, got {back:?}"
    );
    assert_eq!(app.world.github.rollbacks.calls.get(), 0);
    let rows = app.audit(&admin, "action=rollback&outcome=refused").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["target"], "search/production");
}

/// Issue #15 (low): a request dropped between the `pending` row and the task that follows it
/// left the row `pending`, and the service could not be rolled back until a restart. The
/// operation now runs in its own task from the `pending` row on, and a sweep settles an
/// operation nobody follows once it is past its timeout, as the restart reconciliation does
/// (re-reading the provider, never calling it).
#[tokio::test]
async fn a_pending_rollback_nobody_follows_is_swept_and_frees_the_service() {
    use server::store::{BeginRollback, RollbackRecord};
    let app = spawn(2).await;
    let deployer = app.sign_in("deployer", "deployer-demo").await;
    let target = app.previous_target(&deployer).await;
    let plan = app.plan(&deployer, &target).await;
    // What a dropped request used to leave behind: a `pending` row with no task.
    let store_url = format!(
        "sqlite://{}",
        app._data_dir.path().join("lookout.db").display()
    );
    let store = server::store::open(&store_url).await.unwrap();
    let requested_at = chrono::Utc::now() - chrono::Duration::minutes(1);
    let reference = |side: &str| app::rollback::DeploymentRef {
        id: plan[side]["id"].as_str().unwrap().to_string(),
        commit_sha: plan[side]["commit_sha"].as_str().map(str::to_string),
        summary: None,
    };
    let abandoned = RollbackRecord {
        id: 0,
        idempotency_key: "abandoned-by-a-dropped-request".into(),
        service: "api".into(),
        environment: "production".into(),
        provider: app::model::ProviderKind::Render,
        actor: "deployer".into(),
        remote_addr: None,
        reason: "dropped".into(),
        from: reference("from"),
        to: reference("to"),
        place_hold: false,
        state: app::rollback::RollbackState::Pending,
        detail: Some("asking Render to roll back".into()),
        new_deployment_id: None,
        provider_reference: None,
        hold: None,
        hold_release: None,
        requested_at,
        started_at: None,
        finished_at: None,
    };
    let BeginRollback::Started(id) = store.begin_rollback(&abandoned).await.unwrap() else {
        panic!("the service was free");
    };
    let done = app.wait_finished(&deployer, id).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(
        app.world.render.rollbacks.calls.get(),
        0,
        "a swept operation never calls the provider"
    );
    // The service is free again.
    let plan = app.plan(&deployer, &target).await;
    assert_eq!(plan["refusal"], Value::Null, "{plan}");
}

/// Issue #15 (low): a rollback refused by authorization (401/403) left no trace. A signed-in
/// caller's refusal is audited (actor, service/environment, outcome refused, the reason, cut
/// to 200 characters); an anonymous one is not, so a flood of anonymous posts writes nothing.
#[tokio::test]
async fn rollbacks_refused_by_authorization_are_audited_for_signed_in_callers_only() {
    let app = spawn(30).await;
    let admin = app.sign_in("admin", "admin-demo").await;
    let deployer = app.sign_in("deployer", "deployer-demo").await;
    let target = app.previous_target(&deployer).await;
    let plan = app.plan(&deployer, &target).await;
    let staging_only = app.sign_in("staging-deployer", "staging-demo").await;
    let mut form = TestApp::form(&plan, "not mine to roll back");
    let response = app
        .post_form("/api/roll_back_service", &staging_only, &form)
        .await;
    assert!(
        location(&response).is_empty() || !location(&response).starts_with("/rollbacks/"),
        "{}",
        location(&response)
    );
    // An anonymous caller (a browser with only the form token): refused, not audited.
    let page = app
        .http
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let anonymous = Browser {
        csrf: cookie(&page, "lookout_csrf").unwrap(),
        session: String::new(),
    };
    for field in form.iter_mut() {
        if field.0 == "form[service]" {
            field.1 = "x".repeat(5000);
        }
    }
    for _ in 0..3 {
        let response = app
            .post_form("/api/roll_back_service", &anonymous, &form)
            .await;
        assert!(!location(&response).starts_with("/rollbacks/"));
    }
    // A signed-in caller's oversized fields are cut.
    let response = app
        .post_form("/api/roll_back_service", &staging_only, &form)
        .await;
    assert!(!location(&response).starts_with("/rollbacks/"));
    assert_eq!(app.world.render.rollbacks.calls.get(), 0);
    // Newest first.
    let rows = app.audit(&admin, "action=rollback&outcome=refused").await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1]["actor"], "staging-deployer");
    assert_eq!(rows[1]["target"], "api/production");
    let detail = rows[1]["detail"].as_str().unwrap();
    assert!(detail.starts_with("not authorized: "), "{detail}");
    assert!(detail.contains("production"), "{detail}");
    assert_eq!(
        rows[0]["target"].as_str().unwrap(),
        format!("{}/production", "x".repeat(200))
    );
}

/// Issue #15 (low): with `public_status = true` anonymous readers saw who rolled back and
/// why (the result page, its API, the status board and its stream). They now see that a
/// rollback happened; who and why only signed-in users (viewer and up) see.
#[tokio::test]
async fn anonymous_readers_see_a_rollback_happened_but_not_who_or_why() {
    let app = spawn(30).await;
    let deployer = app.sign_in("deployer", "deployer-demo").await;
    let viewer = app.sign_in("viewer", "viewer-demo").await;
    let target = app.previous_target(&deployer).await;
    let plan = app.plan(&deployer, &target).await;
    let reason = "secret-incident-4711";
    let response = app
        .post_form(
            "/api/roll_back_service",
            &deployer,
            &TestApp::form(&plan, reason),
        )
        .await;
    let id = operation_id(&response);
    let done = app.wait_finished(&deployer, id).await;
    assert_eq!(done["state"], "succeeded", "{done}");

    let anonymous = |path: String| {
        let http = app.http.clone();
        let base = app.base.clone();
        async move {
            http.get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let view: Value =
        serde_json::from_str(&anonymous(format!("/api/v1/rollbacks/{id}")).await).unwrap();
    assert_eq!(view["state"], "succeeded");
    assert_eq!(view["actor"], Value::Null, "{view}");
    assert_eq!(view["reason"], Value::Null, "{view}");
    let seen = app
        .get_json(&format!("/api/v1/rollbacks/{id}"), &viewer)
        .await;
    assert_eq!(seen["actor"], "deployer");
    assert_eq!(seen["reason"], reason);

    let page = anonymous(format!("/rollbacks/{id}")).await;
    assert!(page.contains("Rollback"), "{page}");
    assert!(
        !page.contains(reason),
        "the reason is on the anonymous page"
    );
    let signed_in_page = app
        .get(&format!("/rollbacks/{id}"), &viewer)
        .await
        .text()
        .await
        .unwrap();
    assert!(signed_in_page.contains(reason));

    // The board: the note says a rollback happened, not by whom.
    let mut status = Value::Null;
    for _ in 0..100 {
        status = serde_json::from_str(&anonymous("/api/v1/status".into()).await).unwrap();
        if api_row(&status, "production")["last_rollback"]["state"] == "succeeded" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let note = &api_row(&status, "production")["last_rollback"];
    assert_eq!(note["state"], "succeeded", "{note}");
    assert_eq!(note["actor"], Value::Null, "{note}");
    let status = app.get_json("/api/v1/status", &viewer).await;
    assert_eq!(
        api_row(&status, "production")["last_rollback"]["actor"],
        "deployer"
    );
    let home = anonymous("/".into()).await;
    assert!(
        home.contains("Rolled back to"),
        "the home page shows the note"
    );
    assert!(
        !home.contains("by deployer"),
        "the home page names the actor"
    );
    // The live stream's first snapshot, read anonymously and signed in.
    let first_frame = |cookies: Option<String>| {
        let http = app.http.clone();
        let base = app.base.clone();
        async move {
            let mut request = http.get(format!("{base}/api/events"));
            if let Some(cookies) = cookies {
                request = request.header("cookie", cookies);
            }
            let mut response = request.send().await.unwrap();
            let mut text = String::new();
            while !text.contains("\n\n") {
                let chunk = response.chunk().await.unwrap().expect("a snapshot frame");
                text.push_str(&String::from_utf8_lossy(&chunk));
            }
            text
        }
    };
    let frame = first_frame(None).await;
    assert!(frame.contains("\"last_rollback\":{"), "{frame}");
    assert!(!frame.contains("\"actor\":\"deployer\""), "{frame}");
    let frame = first_frame(Some(viewer.cookies())).await;
    assert!(frame.contains("\"actor\":\"deployer\""), "{frame}");
}
