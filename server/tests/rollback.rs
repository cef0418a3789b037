//! Rollback end to end over HTTP: the demo's Render simulator behind the real client, the
//! whole server on port 0, signed-in users posting the confirmation form. Covers the state
//! machine's promises: verified outcome, audit before and after, one provider call for many
//! clicks, stale views refused, provider refusals and timeouts reported, and a server killed
//! mid-rollback reconciling on restart.

mod common;

use common::app::{loopback, serve, LocalServer};
use common::cli::{lookout, with_demo_tokens};
use common::http::encode;
use common::status::{environment, row};
use common::wait::{settle, wait_until};
use common::{Browser, Page, Site, TestApp};
use serde_json::Value;
use server::config;
use server::demo::{DemoScenario, DemoWorld};
use server::simulators::SimRollbackOutcome;
use std::time::Duration;

const API_PRODUCTION: &str = "srv-demoapiprod01";

/// The demo's config text with rollbacks timing out after `timeout_secs` and polled every
/// 100 ms.
fn with_rollback_timing(text: String, timeout_secs: u64) -> String {
    text.replace(
        "rollback_timeout_secs = 60",
        &format!("rollback_timeout_secs = {timeout_secs}"),
    )
    .replace("rollback_poll_millis = 300", "rollback_poll_millis = 100")
}

async fn spawn(timeout_secs: u64) -> TestApp {
    spawn_scenario(DemoScenario::Basic, timeout_secs).await
}

async fn spawn_scenario(scenario: DemoScenario, timeout_secs: u64) -> TestApp {
    spawn_with(scenario, timeout_secs, "", &[]).await
}

/// The demo of `scenario` read as a user's config file, with `extra_text` appended and
/// `extra_env` set, once api has been polled.
async fn spawn_with(
    scenario: DemoScenario,
    timeout_secs: u64,
    extra_text: &str,
    extra_env: &[(&str, String)],
) -> TestApp {
    let extra_text = extra_text.to_string();
    let mut app = TestApp::demo(scenario).config_text(move |text| {
        format!("{}\n{extra_text}", with_rollback_timing(text, timeout_secs))
    });
    for (name, value) in extra_env {
        app = app.env(name, value.clone());
    }
    let app = app.start().await;
    wait_until_polled(&app).await;
    app
}

/// Until the monitor has seen what is live for api in production.
async fn wait_until_polled(site: &Site) {
    site.wait_until_serving().await;
    site.wait_for_status("api polled", |status| {
        row(status, "production", "api")["live"]["id"].is_string()
    })
    .await;
}

async fn rollback_plan(site: &Site, browser: &Browser, target: &str) -> Value {
    site.json(
        &format!(
            "/api/rollback_plan?service=api&environment=production&target={}",
            encode(target)
        ),
        Some(browser),
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

/// Confirms a rollback of api in production to `target` as the page does (its plan, then the
/// form it fills) with `reason`: the operation started.
async fn start_api_rollback(site: &Site, browser: &Browser, target: &str, reason: &str) -> i64 {
    let plan = rollback_plan(site, browser, target).await;
    let response = site
        .submit("/api/roll_back_service", browser, &form(&plan, reason))
        .await;
    operation_id(&response)
}

/// As [`start_api_rollback`], then waits for the outcome: the operation and its final view.
async fn roll_back_api(site: &Site, browser: &Browser, target: &str, reason: &str) -> (i64, Value) {
    let id = start_api_rollback(site, browser, target, reason).await;
    (id, wait_finished(site, browser, id).await)
}

async fn previous_target(site: &Site, browser: &Browser) -> String {
    let status = site.status_as(Some(browser)).await;
    let offer = &row(&status, "production", "api")["rollback_offer"];
    assert_eq!(offer["kind"], "previous", "{offer}");
    offer["target"]["id"].as_str().unwrap().to_string()
}

async fn wait_finished(site: &Site, browser: &Browser, id: i64) -> Value {
    let view = settle(
        Duration::from_secs(30),
        || async {
            site.json(&format!("/api/v1/rollbacks/{id}"), Some(browser))
                .await
        },
        |view| matches!(view["state"].as_str(), Some("succeeded" | "failed")),
    )
    .await;
    assert!(
        matches!(view["state"].as_str(), Some("succeeded" | "failed")),
        "rollback {id} did not finish: {view}"
    );
    view
}

async fn audit(site: &Site, admin: &Browser, query: &str) -> Vec<Value> {
    let page = site
        .json(&format!("/api/v1/audit?{query}"), Some(admin))
        .await;
    page["entries"].as_array().unwrap().clone()
}

fn api_row<'a>(status: &'a Value, environment: &str) -> &'a Value {
    row(status, environment, "api")
}

fn operation_id(response: &Page) -> i64 {
    let location = response.location();
    location
        .strip_prefix("/rollbacks/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("expected a redirect to the result page, got {location:?}"))
}

#[tokio::test]
async fn a_deployer_rolls_back_api_the_result_is_verified_audited_and_the_hold_released() {
    let app = spawn(30).await;
    let deployer = app.sign_in("deployer").await;
    let admin = app.sign_in("admin").await;
    let target = previous_target(&app, &deployer).await;
    let plan = rollback_plan(&app, &deployer, &target).await;
    assert_eq!(plan["refusal"], Value::Null, "{plan}");
    assert_eq!(plan["requires_typed_name"], true);
    assert!(plan["action"].as_str().unwrap().contains("Render"));
    let live_before = plan["from"]["id"].as_str().unwrap().to_string();

    // The confirmation page names both ends without JavaScript.
    let page = app
        .page_as(
            &format!("/rollback?service=api&environment=production&target={target}"),
            &deployer,
        )
        .await
        .text();
    assert!(page.contains("Roll back api in production?"), "{page}");
    assert!(page.contains(&live_before) && page.contains(&target));

    let response = app
        .submit(
            "/api/roll_back_service",
            &deployer,
            &form(&plan, "checkout errors"),
        )
        .await;
    assert_eq!(response.status, 302);
    let id = operation_id(&response);
    let done = wait_finished(&app, &deployer, id).await;
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
    let live = app.world().render.live_deployment(API_PRODUCTION).unwrap();
    assert_eq!(live.0, created);
    assert_eq!(Some(live.1.as_str()), plan["to"]["commit_sha"].as_str());
    assert_eq!(app.world().render.auto_deploy(API_PRODUCTION), Some("no"));

    // Audit: pending before the provider call, the outcome after.
    let rows = audit(&app, &admin, "action=rollback").await;
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
    let status = app.json("/api/v1/status", Some(&deployer)).await;
    let note = &api_row(&status, "production")["last_rollback"];
    assert_eq!(note["state"], "succeeded");
    assert_eq!(note["hold"], "auto_deploy_paused");
    let result_page = app
        .page_as(&format!("/rollbacks/{id}"), &deployer)
        .await
        .text();
    assert!(result_page.contains("Rolled back, verified"));
    assert!(result_page.contains("Resume auto-deploy"));

    // Issue #15: five simultaneous releases (two tabs, impatient clicks) reach Render once:
    // the release is claimed in the store by one conditional update first.
    let fields = [("id", id.to_string()), ("release", "resume".into())];
    let responses = futures::future::join_all(
        (0..5).map(|_| app.submit("/api/release_rollback_hold", &deployer, &fields)),
    )
    .await;
    let locations: Vec<String> = responses.iter().map(Page::location).collect();
    assert!(responses.iter().all(|response| response.status == 302));
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
    assert_eq!(app.world().render.auto_deploy(API_PRODUCTION), Some("yes"));
    let rows = audit(&app, &admin, "action=rollback_hold").await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["outcome"], "succeeded");
}

#[tokio::test]
async fn twenty_simultaneous_clicks_make_one_provider_call() {
    let app = spawn(30).await;
    app.world()
        .render
        .rollbacks
        .set(SimRollbackOutcome::GoesLive, Duration::from_secs(2));
    let deployer = app.sign_in("deployer").await;
    let target = previous_target(&app, &deployer).await;
    let mut plans = Vec::new();
    for _ in 0..20 {
        plans.push(rollback_plan(&app, &deployer, &target).await);
    }
    let forms: Vec<_> = plans
        .iter()
        .map(|plan| form(plan, "double clicks"))
        .collect();
    let posts = forms
        .iter()
        .map(|form| app.submit("/api/roll_back_service", &deployer, form));
    let responses = futures::future::join_all(posts).await;
    let mut started = Vec::new();
    let mut refused = 0;
    for (index, response) in responses.iter().enumerate() {
        let to = response.location();
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
        .submit("/api/roll_back_service", &deployer, &forms[winner])
        .await;
    assert_eq!(operation_id(&again), id);
    let done = wait_finished(&app, &deployer, id).await;
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(app.world().render.rollbacks.calls.get(), 1);
}

#[tokio::test]
async fn a_stale_view_is_refused_with_who_did_what_and_audited() {
    let app = spawn(30).await;
    let deployer = app.sign_in("deployer").await;
    let admin = app.sign_in("admin").await;
    let target = previous_target(&app, &deployer).await;
    let mut plan = rollback_plan(&app, &deployer, &target).await;
    plan["from"]["id"] = Value::String("dep-what-the-user-saw".into());
    let response = app
        .submit("/api/roll_back_service", &deployer, &form(&plan, "stale"))
        .await;
    assert_eq!(response.status, 302);
    let back = response.location();
    assert!(back.starts_with("/rollback?service=api"), "{back}");
    assert!(back.contains("meanwhile"), "{back}");
    assert_eq!(app.world().render.rollbacks.calls.get(), 0);
    let rows = audit(&app, &admin, "action=rollback&outcome=refused").await;
    assert_eq!(rows.len(), 1);
    assert!(rows[0]["detail"].as_str().unwrap().contains("meanwhile"));
}

#[tokio::test]
async fn production_needs_the_typed_name_and_other_environments_need_the_grant() {
    let app = spawn(30).await;
    let deployer = app.sign_in("deployer").await;
    let target = previous_target(&app, &deployer).await;
    let plan = rollback_plan(&app, &deployer, &target).await;
    let mut form = form(&plan, "typo");
    form.retain(|(key, _)| *key != "form[typed_name]");
    form.push(("form[typed_name]", "apl".into()));
    let response = app.submit("/api/roll_back_service", &deployer, &form).await;
    assert!(response.location().contains("type%20the%20service%20name"));
    assert_eq!(app.world().render.rollbacks.calls.get(), 0);

    let staging_only = app.sign_in("staging-deployer").await;
    let response = app
        .page_as(
            &format!("/api/rollback_plan?service=api&environment=production&target={target}"),
            &staging_only,
        )
        .await;
    assert_eq!(response.status, 403);
    assert!(response.text().contains("may not roll back in production"));
}

#[tokio::test]
async fn provider_refusals_and_rollbacks_that_never_go_live_end_failed_with_the_reason() {
    let app = spawn(2).await;
    let deployer = app.sign_in("deployer").await;
    let target = previous_target(&app, &deployer).await;

    // Each outcome the provider may give, and the failure detail it must end with.
    let (app, deployer, target) = (&app, &deployer, &target);
    let failed_with = |outcome, reason| async move {
        app.world()
            .render
            .rollbacks
            .set(outcome, Duration::from_millis(100));
        let (_, done) = roll_back_api(app, deployer, target, reason).await;
        assert_eq!(done["state"], "failed", "{done}");
        done["detail"].as_str().unwrap().to_string()
    };
    let detail = failed_with(SimRollbackOutcome::Refused, "refused").await;
    // Issue #15: readers get the error's summary; Render's own text stays in the log.
    assert!(
        detail.contains("Render refused: provider rejected the request (HTTP"),
        "{detail}"
    );
    assert!(
        !detail.contains("another deploy is in progress"),
        "{detail}"
    );
    let detail = failed_with(SimRollbackOutcome::NeverLive, "stuck").await;
    assert!(
        detail.contains("within 2 s") && detail.contains("live now"),
        "{detail}"
    );
}

/// The server binary, killed with SIGKILL after the provider accepted the rollback and
/// before the outcome was recorded, then started again on the same database.
#[tokio::test]
async fn a_rollback_interrupted_by_sigkill_is_reconciled_at_the_next_start() {
    let world = DemoWorld::start(loopback().await, DemoScenario::Basic)
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
        with_rollback_timing(world.config_text(Duration::from_secs(1)), 60)
    );
    std::fs::write(&config_path, &text).unwrap();
    let start = || {
        with_demo_tokens(
            lookout()
                .args(["serve", "--config"])
                .arg(&config_path)
                .env("DATABASE_URL", &store_url)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null()),
        )
        .spawn()
        .unwrap()
    };
    let mut child = start();
    let app = Site::new(format!("http://127.0.0.1:{port}"));
    wait_until_polled(&app).await;
    let deployer = app.sign_in("deployer").await;
    let target = previous_target(&app, &deployer).await;
    let id = start_api_rollback(&app, &deployer, &target, "crash").await;
    // Wait until the provider has been called (the row is `running`), then kill.
    settle(
        Duration::from_secs(2),
        || async {
            app.json(&format!("/api/v1/rollbacks/{id}"), Some(&deployer))
                .await
        },
        |view| view["state"] == "running",
    )
    .await;
    assert_eq!(world.render.rollbacks.calls.get(), 1);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let mut child = start();
    wait_until_polled(&app).await;
    let deployer = app.sign_in("deployer").await;
    let done = wait_finished(&app, &deployer, id).await;
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(done["state"], "succeeded", "{done}");
    assert_eq!(world.render.rollbacks.calls.get(), 1, "never called twice");
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
        let (code, _) = app
            .control(
                "/_control/rollback",
                serde_json::json!({"provider": provider, "outcome": "goes_live", "settle_millis": 200}),
            )
            .await;
        assert_eq!(code, 204, "{provider}");
    }
    // The demo's webhooks service has a single production deploy: give it a second one so
    // there is something to go back to.
    let (code, _) = app
        .control_deploy(
            ("webhooks", "production"),
            "5e1f0c2d3b4a59687766554433221100ffeeddcc",
            "Retry webhooks with jitter",
            "Ada Lovelace",
        )
        .await;
    assert!((200..300).contains(&code), "{code}");
    let deployer = app.sign_in("deployer").await;
    // Wait until every provider has been polled again.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = app.json("/api/v1/status", Some(&deployer)).await;
    let production = environment(&status, "production");
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
            .json(
                &format!(
                    "/api/rollback_plan?service={service}&environment=production&target={}",
                    encode(target)
                ),
                Some(&deployer),
            )
            .await;
        if !plan["refusal"].is_null() {
            problems.push(format!(
                "{service} ({provider}): refused: {}",
                plan["refusal"]
            ));
            continue;
        }
        let mut form = form(&plan, "all providers");
        for field in form.iter_mut() {
            if matches!(field.0, "form[service]" | "form[typed_name]") {
                field.1 = service.to_string();
            }
        }
        let response = app.submit("/api/roll_back_service", &deployer, &form).await;
        let to = response.location();
        let Some(id) = to
            .strip_prefix("/rollbacks/")
            .and_then(|id| id.parse::<i64>().ok())
        else {
            problems.push(format!("{service} ({provider}): not started: {to}"));
            continue;
        };
        let done = wait_finished(&app, &deployer, id).await;
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
async fn webhook_receiver() -> (LocalServer, Received) {
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
    (serve(app).await, received)
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
            ("TEST_SLACK_WEBHOOK", format!("{}/slack", hooks.base)),
            ("TEST_JSON_WEBHOOK", format!("{}/json", hooks.base)),
        ],
    )
    .await;
    let deployer = app.sign_in("deployer").await;
    let target = previous_target(&app, &deployer).await;
    let (_, done) = roll_back_api(&app, &deployer, &target, "errors").await;
    assert_eq!(done["state"], "succeeded");
    // The sends are their own tasks: give them a moment.
    let messages = settle(
        Duration::from_millis(2500),
        || async { received.lock().unwrap().clone() },
        |messages| messages.len() >= 2,
    )
    .await;
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

/// Posts [`crafted_form`] and expects it refused: sent back to the confirmation page of
/// `service`. Returns where it was sent (the reason is in the query).
async fn refused_crafted_post(
    site: &Site,
    browser: &Browser,
    (service, environment): (&str, &str),
    (target, expected_live): (&str, &str),
    key: &str,
) -> String {
    let form = crafted_form(service, environment, target, expected_live, key);
    let back = site
        .submit("/api/roll_back_service", browser, &form)
        .await
        .location();
    assert!(
        back.starts_with(&format!("/rollback?service={service}")),
        "expected a refusal, got {back:?}"
    );
    back
}

/// Issue #15 (high): Railway has one client per service across its environments, so a
/// deployer granted only `staging` could name an older *production* deployment as the target
/// of a staging rollback and Railway rolled back production (audited as staging). The target
/// must belong to the environment being rolled back: refused, audited, no provider call.
#[tokio::test]
async fn a_staging_deployer_cannot_roll_back_production_by_naming_a_production_target() {
    let app = spawn(30).await;
    let admin = app.sign_in("admin").await;
    let staging_only = app.sign_in("staging-deployer").await;
    let worker = |status: &Value, environment: &str, at: &str| {
        row(status, environment, "worker")
            .pointer(at)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let status = wait_until(
        "worker's production target and staging deployment",
        || app.status_as(Some(&staging_only)),
        |status| {
            worker(status, "production", "/rollback_offer/target/id").is_some()
                && worker(status, "staging", "/live/id").is_some()
        },
    )
    .await;
    let production_target = worker(&status, "production", "/rollback_offer/target/id").unwrap();
    let staging_live = worker(&status, "staging", "/live/id").unwrap();

    // A crafted post is refused: no provider call, and an audit row that says why.
    let back = refused_crafted_post(
        &app,
        &staging_only,
        ("worker", "staging"),
        (&production_target, &staging_live),
        "issue-15-cross-environment-target",
    )
    .await;
    assert!(
        back.contains("not%20a%20deployment%20of%20worker"),
        "{back}"
    );
    assert_eq!(app.world().railway.rollbacks.calls.get(), 0);
    // The confirmation page refuses it too.
    let plan = app
        .page_as(
            &format!(
                "/api/rollback_plan?service=worker&environment=staging&target={}",
                encode(&production_target)
            ),
            &staging_only,
        )
        .await;
    let plan_status = plan.status;
    let plan_body = plan.text();
    let plan_refused = if (200..300).contains(&plan_status) {
        let plan: Value = serde_json::from_str(&plan_body).unwrap();
        plan["refusal"]
            .as_str()
            .is_some_and(|refusal| refusal.contains("not a deployment of worker in staging"))
    } else {
        plan_body.contains("not a deployment of worker in staging")
    };
    assert!(plan_refused, "{plan_status}: {plan_body}");

    let rows = audit(&app, &admin, "action=rollback&outcome=refused").await;
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
    let admin = app.sign_in("admin").await;
    let deployer = app.sign_in("deployer").await;
    let preview = app.world().github.push_deployment(
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
    let search = app
        .settle_row(Some(&deployer), "production", "search", |search| {
            search["live"]["id"].is_string()
        })
        .await;
    let live = search["live"]["id"]
        .as_str()
        .expect("search has something live in production")
        .to_string();
    let plan = app
        .json(
            &format!(
                "/api/rollback_plan?service=search&environment=production&target={}",
                encode(&preview)
            ),
            Some(&deployer),
        )
        .await;
    assert!(
        plan["refusal"]
            .as_str()
            .is_some_and(|refusal| refusal.contains("not a deployment of search in production")),
        "{plan}"
    );
    refused_crafted_post(
        &app,
        &deployer,
        ("search", "production"),
        (&preview, &live),
        "issue-15-github-preview-target",
    )
    .await;
    assert_eq!(app.world().github.rollbacks.calls.get(), 0);
    let rows = audit(&app, &admin, "action=rollback&outcome=refused").await;
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
    let deployer = app.sign_in("deployer").await;
    let target = previous_target(&app, &deployer).await;
    let plan = rollback_plan(&app, &deployer, &target).await;
    // What a dropped request used to leave behind: a `pending` row with no task.
    let store = app.open_store().await;
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
    let done = wait_finished(&app, &deployer, id).await;
    assert_eq!(done["state"], "failed", "{done}");
    assert_eq!(
        app.world().render.rollbacks.calls.get(),
        0,
        "a swept operation never calls the provider"
    );
    // The service is free again.
    let plan = rollback_plan(&app, &deployer, &target).await;
    assert_eq!(plan["refusal"], Value::Null, "{plan}");
}

/// Issue #15 (low): a rollback refused by authorization (401/403) left no trace. A signed-in
/// caller's refusal is audited (actor, service/environment, outcome refused, the reason, cut
/// to 200 characters); an anonymous one is not, so a flood of anonymous posts writes nothing.
#[tokio::test]
async fn rollbacks_refused_by_authorization_are_audited_for_signed_in_callers_only() {
    let app = spawn(30).await;
    let admin = app.sign_in("admin").await;
    let deployer = app.sign_in("deployer").await;
    let target = previous_target(&app, &deployer).await;
    let plan = rollback_plan(&app, &deployer, &target).await;
    let staging_only = app.sign_in("staging-deployer").await;
    let mut form = form(&plan, "not mine to roll back");
    let response = app
        .submit("/api/roll_back_service", &staging_only, &form)
        .await;
    assert!(
        response.location().is_empty() || !response.location().starts_with("/rollbacks/"),
        "{}",
        response.location()
    );
    // An anonymous caller (a browser with only the form token): refused, not audited.
    let anonymous = app.browser().await;
    for field in form.iter_mut() {
        if field.0 == "form[service]" {
            field.1 = "x".repeat(5000);
        }
    }
    for _ in 0..3 {
        let response = app
            .submit("/api/roll_back_service", &anonymous, &form)
            .await;
        assert!(!response.location().starts_with("/rollbacks/"));
    }
    // A signed-in caller's oversized fields are cut.
    let response = app
        .submit("/api/roll_back_service", &staging_only, &form)
        .await;
    assert!(!response.location().starts_with("/rollbacks/"));
    assert_eq!(app.world().render.rollbacks.calls.get(), 0);
    // Newest first.
    let rows = audit(&app, &admin, "action=rollback&outcome=refused").await;
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
    let deployer = app.sign_in("deployer").await;
    let viewer = app.sign_in("viewer").await;
    let target = previous_target(&app, &deployer).await;
    let reason = "secret-incident-4711";
    let (id, done) = roll_back_api(&app, &deployer, &target, reason).await;
    assert_eq!(done["state"], "succeeded", "{done}");

    let site = &app.site;
    let anonymous = |path: String| async move { site.get(&path).await.1 };
    let view: Value =
        serde_json::from_str(&anonymous(format!("/api/v1/rollbacks/{id}")).await).unwrap();
    assert_eq!(view["state"], "succeeded");
    assert_eq!(view["actor"], Value::Null, "{view}");
    assert_eq!(view["reason"], Value::Null, "{view}");
    let seen = app
        .json(&format!("/api/v1/rollbacks/{id}"), Some(&viewer))
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
        .page_as(&format!("/rollbacks/{id}"), &viewer)
        .await
        .text();
    assert!(signed_in_page.contains(reason));

    // The board: the note says a rollback happened, not by whom.
    let api = app
        .settle_row(None, "production", "api", |api| {
            api["last_rollback"]["state"] == "succeeded"
        })
        .await;
    let note = &api["last_rollback"];
    assert_eq!(note["state"], "succeeded", "{note}");
    assert_eq!(note["actor"], Value::Null, "{note}");
    let status = app.json("/api/v1/status", Some(&viewer)).await;
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
    let frame = app.events("/api/events", None).await.first_frame().await;
    assert!(frame.contains("\"last_rollback\":{"), "{frame}");
    assert!(!frame.contains("\"actor\":\"deployer\""), "{frame}");
    let frame = app
        .events("/api/events", Some(&viewer))
        .await
        .first_frame()
        .await;
    assert!(frame.contains("\"actor\":\"deployer\""), "{frame}");
}
