//! Who may see and who may act, tested on the whole server (port 0, demo simulators):
//! the authorization matrix over every server function, CSRF refusals, login (right and wrong
//! password, rate limit, expiry, logout, audit), proxy mode, API tokens and security headers.

mod common;

use common::app::parse_test_config;
use common::http::SendForPage;
use common::{Browser, TestApp};
use server::auth::endpoints::{EndpointMethod, Requirement, SERVER_FUNCTIONS};
use server::auth::password::sha256_hex;
use server::config;
use server::demo::{demo_config_text, DemoScenario, DEMO_TOKENS};
use server::store::SessionRecord;
use std::time::Duration;

const API_TOKEN: &str = "lkt_test-token-for-scripts-0123456789abcdef";

/// The demo config with its text edited by `edit` (read as a user's config file), the
/// repository's runbooks (so the runbook server functions have something to serve) and an
/// API token, started on `data_dir` (a restart keeps the sessions) or a fresh store.
async fn spawn_on(
    data_dir: Option<tempfile::TempDir>,
    edit: impl Fn(String) -> String + Send + Sync + 'static,
) -> TestApp {
    let mut app = TestApp::demo(DemoScenario::Basic)
        .runbooks_dir(common::repo::runbooks())
        .config_text(move |text| {
            format!(
                "{}\n[[auth.api_tokens]]\nname = \"ci\"\nsha256 = \"{}\"\n",
                edit(text),
                sha256_hex(API_TOKEN)
            )
        });
    if let Some(data_dir) = data_dir {
        app = app.data_dir(data_dir);
    }
    app.start().await
}

async fn spawn_with(edit: impl Fn(String) -> String + Send + Sync + 'static) -> TestApp {
    spawn_on(None, edit).await
}

async fn spawn_public() -> TestApp {
    spawn_with(|text| text).await
}

async fn spawn_private() -> TestApp {
    spawn_with(|text| text.replace("public_status = true", "public_status = false")).await
}

/// The audit log as the admin reads it: (actor, action, outcome, remote_addr).
async fn audit_rows(app: &TestApp) -> Vec<(String, String, String, String)> {
    let admin = app.sign_in("admin").await;
    let audit = app.json("/api/audit", Some(&admin)).await;
    audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let field = |name: &str| row[name].as_str().unwrap_or_default().to_string();
            (
                field("actor"),
                field("action"),
                field("outcome"),
                field("remote_addr"),
            )
        })
        .collect()
}

/// Logs in as `user` with `password` and expects to be sent back to the login form with
/// `error` and no session: the form as it then reads.
async fn refused_login(app: &TestApp, user: &str, password: &str, error: &str) -> String {
    let (refusal, browser) = app.log_in(user, password).await;
    assert_eq!(refusal.status, 303);
    let back = refusal.location();
    assert!(back.starts_with(&format!("/login?error={error}")), "{back}");
    assert!(browser.session.is_none());
    app.page_as(&back, &browser).await.text()
}

/// Who `browser` is signed in as, by the server's account.
async fn session_of(app: &TestApp, browser: &Browser) -> serde_json::Value {
    app.json("/api/session", Some(browser)).await
}

/// What the table says a role gets from an endpoint.
fn expected(requirement: Requirement, role: Option<&str>, public: bool) -> u16 {
    match (requirement, role) {
        (Requirement::Anyone, _) => 200,
        (Requirement::Read, None) => {
            if public {
                200
            } else {
                401
            }
        }
        (Requirement::Read, Some(_)) => 200,
        (Requirement::Audit | Requirement::RollBack, None) => 401,
        (Requirement::Audit, Some("admin")) => 200,
        (Requirement::Audit, Some(_)) => 403,
        (Requirement::RollBack, Some("viewer")) => 403,
        (Requirement::RollBack, Some(_)) => 200,
    }
}

#[test]
fn every_registered_server_function_is_in_the_authorization_table() {
    let registered: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_string())
        .collect();
    assert!(!registered.is_empty(), "no server functions registered?");
    for path in &registered {
        assert!(
            SERVER_FUNCTIONS
                .iter()
                .any(|endpoint| endpoint.path == path),
            "server function {path} is not in server::auth::endpoints::SERVER_FUNCTIONS: \
             add it with its requirement"
        );
    }
    for endpoint in SERVER_FUNCTIONS {
        assert!(
            registered.iter().any(|path| path == endpoint.path),
            "{} is in the table but no server function answers there",
            endpoint.path
        );
    }
}

#[tokio::test]
async fn authorization_matrix_for_every_server_function_and_role() {
    for public in [true, false] {
        let app = if public {
            spawn_public().await
        } else {
            spawn_private().await
        };
        let mut browsers: Vec<(Option<&str>, Browser)> = vec![(None, app.browser().await)];
        for role in ["viewer", "deployer", "admin"] {
            browsers.push((Some(role), app.sign_in(role).await));
        }
        for endpoint in SERVER_FUNCTIONS {
            let path = if endpoint.sample_query.is_empty() {
                endpoint.path.to_string()
            } else {
                format!("{}?{}", endpoint.path, endpoint.sample_query)
            };
            for (role, browser) in &browsers {
                let response = match endpoint.method {
                    EndpointMethod::Get => app.page_as(&path, browser).await,
                    EndpointMethod::Post => {
                        let body = format!("csrf_token={}&{}", browser.csrf, endpoint.sample_query);
                        app.post_form(endpoint.path, browser, &body).await
                    }
                };
                let status = response.status;
                let want = expected(endpoint.requirement, *role, public);
                let body = response.text();
                let refused_on_merits = endpoint.method == EndpointMethod::Post
                    || endpoint.path.starts_with("/api/rollback");
                if refused_on_merits && want == 200 {
                    // Allowed through the guard; the sample is then refused on its merits
                    // (a missing one-time key, an unknown deployment or operation), so the
                    // matrix never starts a rollback.
                    assert!(
                        matches!(status, 400 | 404),
                        "{path} as {role:?} (public_status = {public}): {status} {body}"
                    );
                    continue;
                }
                assert_eq!(
                    status, want,
                    "{path} as {role:?} (public_status = {public}): {body}"
                );
                if status >= 400 {
                    assert!(
                        body.contains("unauthorized") || body.contains("forbidden"),
                        "a refusal says why: {body}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn a_private_dashboard_sends_visitors_to_the_login_page() {
    let app = spawn_private().await;
    let response = app.page("/history?service=api").await;
    assert_eq!(response.status, 303);
    assert_eq!(
        response.location(),
        "/login?next=%2Fhistory%3Fservice%3Dapi"
    );
    for path in ["/api/v1/status", "/api/v1/deployments", "/api/events"] {
        let response = app.page(path).await;
        assert_eq!(response.status, 401, "{path}");
        let body: serde_json::Value = response.json();
        assert!(
            body["error"].as_str().unwrap().contains("sign in"),
            "{body}"
        );
    }
    // Probes and the bundle stay reachable for the platform and the login page.
    assert_eq!(app.page("/healthz").await.status, 200);
    assert_eq!(app.page("/login").await.status, 200);
    let viewer = app.sign_in("viewer").await;
    assert_eq!(app.page_as("/history", &viewer).await.status, 200);
}

#[tokio::test]
async fn api_tokens_read_the_json_api_and_nothing_else() {
    let app = spawn_private().await;
    let bearer = |path: &str, token: &str| {
        app.http
            .get(app.url(path))
            .header("authorization", format!("Bearer {token}"))
            .page()
    };
    assert_eq!(bearer("/api/v1/status", API_TOKEN).await.status, 200);
    assert_eq!(bearer("/api/v1/deployments", API_TOKEN).await.status, 200);
    let wrong = bearer("/api/v1/status", "lkt_not-a-token").await;
    assert_eq!(wrong.status, 401);
    let outside = bearer("/api/status", API_TOKEN).await;
    assert_eq!(outside.status, 401);
    let body = outside.text();
    assert!(body.contains("only on GET /api/v1/"), "{body}");
    let post = app
        .http
        .post(app.url("/api/v1/status"))
        .header("authorization", format!("Bearer {API_TOKEN}"))
        .page()
        .await;
    assert_eq!(post.status, 401);
}

#[tokio::test]
async fn csrf_cross_origin_text_plain_and_tokenless_posts_are_refused() {
    let app = spawn_public().await;
    let browser = app.browser().await;
    let form = format!(
        "csrf_token={}&username=viewer&password=viewer-demo&next=%2F",
        browser.csrf
    );
    let post = |origin: Option<&str>, content_type: &str, body: String| {
        let mut request = app
            .http
            .post(app.url("/login"))
            .header("cookie", browser.cookie_header())
            .header("content-type", content_type.to_string())
            .body(body);
        if let Some(origin) = origin {
            request = request.header("origin", origin.to_string());
        }
        request.page()
    };
    let form_type = "application/x-www-form-urlencoded";

    let cross = post(Some("https://evil.example"), form_type, form.clone()).await;
    assert_eq!(cross.status, 403);
    assert!(cross.text().contains("cross-origin"));

    let no_origin = post(None, form_type, form.clone()).await;
    assert_eq!(no_origin.status, 403);

    let text_plain = post(Some(&app.base), "text/plain", form.clone()).await;
    assert_eq!(text_plain.status, 403);
    assert!(text_plain.text().contains("text/plain"));

    let tokenless = post(
        Some(&app.base),
        form_type,
        "username=viewer&password=viewer-demo".into(),
    )
    .await;
    assert_eq!(tokenless.status, 403);
    assert!(tokenless.text().contains("CSRF"));

    let foreign_token = post(
        Some(&app.base),
        form_type,
        "csrf_token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&username=viewer&password=viewer-demo"
            .into(),
    ).await;
    assert_eq!(foreign_token.status, 403);

    // The same request from our own page succeeds.
    let same = post(Some(&app.base), form_type, form).await;
    assert_eq!(same.status, 303);
    assert!(same.set_cookie("lookout_session").is_some());

    // Logout is a POST under the same rules.
    let logout = app
        .http
        .post(app.url("/logout"))
        .header("origin", "https://evil.example")
        .header("cookie", browser.cookie_header())
        .header("content-type", form_type)
        .body(format!("csrf_token={}", browser.csrf))
        .page()
        .await;
    assert_eq!(logout.status, 403);
}

#[tokio::test]
async fn login_right_and_wrong_password_rate_limit_expiry_logout_and_audit() {
    let app = spawn_public().await;

    // Wrong password: back to the form with the reason, no session.
    let page = refused_login(&app, "deployer", "not-the-password", "invalid").await;
    assert!(page.contains("Wrong user name or password."));

    // Right password: a session that knows the user and role.
    let deployer = app.sign_in("deployer").await;
    let session = session_of(&app, &deployer).await;
    assert_eq!(session["user"]["name"], "deployer");
    assert_eq!(session["user"]["role"], "deployer");

    // Logout ends the session on the server, not only in the browser.
    let logout = app
        .post_form(
            "/logout",
            &deployer,
            &format!("csrf_token={}", deployer.csrf),
        )
        .await;
    assert_eq!(logout.status, 303);
    assert!(session_of(&app, &deployer).await["user"].is_null());

    // An expired session is worth nothing.
    let store = app.open_store().await;
    let now = chrono::Utc::now();
    let expired_token = "expired-session-token";
    store
        .create_session(
            &sha256_hex(expired_token),
            &SessionRecord {
                user_name: "admin".into(),
                created_at: now - chrono::Duration::hours(13),
                expires_at: now - chrono::Duration::hours(1),
            },
        )
        .await
        .unwrap();
    let mut expired = app.browser().await;
    expired.session = Some(expired_token.into());
    assert!(session_of(&app, &expired).await["user"].is_null());
    assert_eq!(app.page_as("/api/audit", &expired).await.status, 401);

    // Five failures for one user engage the limit, even with the right password after.
    for _ in 0..5 {
        let (response, _) = app.log_in("viewer", "guess").await;
        assert!(response.location().starts_with("/login?error=invalid"));
    }
    let page = refused_login(&app, "viewer", "viewer-demo", "rate_limited&retry=").await;
    assert!(page.contains("Too many failed attempts"));

    // Every attempt is in the audit log, which only the admin reads.
    let admin = app.sign_in("admin").await;
    let audit: serde_json::Value = app.page_as("/api/audit", &admin).await.json();
    let outcomes: Vec<(String, String, String)> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["actor"].as_str().unwrap().to_string(),
                row["action"].as_str().unwrap().to_string(),
                row["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for expected in [
        ("deployer", "login", "failed"),
        ("deployer", "login", "succeeded"),
        ("deployer", "logout", "succeeded"),
        ("viewer", "login", "rate_limited"),
        ("admin", "login", "succeeded"),
    ] {
        assert!(
            outcomes
                .iter()
                .any(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()) == expected),
            "{expected:?} missing from {outcomes:?}"
        );
    }
    assert!(audit["entries"][0]["remote_addr"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1"));
    let audit_page = app.page_as("/audit", &admin).await.text();
    assert!(audit_page.contains("rate_limited"));
}

#[tokio::test]
async fn pages_carry_a_nonce_csp_and_the_security_headers() {
    let app = spawn_public().await;
    let response = app.page("/").await;
    assert_eq!(response.status, 200);
    let headers = response.headers.clone();
    let csp = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let html = response.text();
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a script nonce");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "scripts carry the nonce"
    );
    // Every inline script carries it.
    for script in html.split("<script").skip(1) {
        let tag = script.split('>').next().unwrap_or_default();
        assert!(
            tag.contains("src=") || tag.contains(&format!("nonce=\"{nonce}\"")),
            "inline script without the nonce: <script{tag}>"
        );
    }
    // The style sheet is inlined (first paint needs no second request) and allowed by the
    // same nonce, not by `unsafe-inline`: style-src names it.
    let style_src = csp
        .split(';')
        .find(|directive| directive.trim_start().starts_with("style-src"))
        .expect("a style-src directive");
    assert!(style_src.contains(&format!("'nonce-{nonce}'")), "{csp}");
    assert_eq!(html.matches("<style").count(), 1, "one inlined style sheet");
    for style in html.split("<style").skip(1) {
        let tag = style.split('>').next().unwrap_or_default();
        assert!(
            tag.contains(&format!("nonce=\"{nonce}\"")),
            "inline style without the nonce: <style{tag}>"
        );
        assert!(
            style.contains(app::shell::INLINE_CSS.trim()),
            "the whole sheet, unescaped"
        );
    }
    assert!(
        !html.contains("/pkg/main.css"),
        "no render-blocking style sheet request"
    );
    assert!(!html.contains(" onclick=") && !html.contains(" onload="));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "same-origin");
    assert!(
        headers.get("strict-transport-security").is_none(),
        "plain http"
    );
    // Another render, another nonce. (A stored page is replayed with the nonce it was
    // rendered with, one per cache entry: SECURITY.md, "Content-Security-Policy nonces".)
    let admin = app.sign_in("admin").await;
    let again = app.page_as("/", &admin).await;
    assert_ne!(
        again.headers["content-security-policy"].to_str().unwrap(),
        csp
    );
    // JSON gets a policy that allows nothing.
    let json = app.page("/api/v1/status").await;
    assert!(json.headers["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
}

#[tokio::test]
async fn https_public_url_gets_hsts_and_secure_host_cookies() {
    let app = spawn_with(|text| {
        text.replacen(
            "[monitor]",
            "[server]\npublic_url = \"https://status.example.com\"\n\n[monitor]",
            1,
        )
    })
    .await;
    let response = app.page("/login").await;
    assert!(response.headers["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
    let cookie = response.headers["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(
        cookie.starts_with("__Host-lookout_csrf=") && cookie.contains("SameSite=Strict"),
        "the CSRF cookie is like the session cookie: {cookie}"
    );
    // Same-origin now means the public URL, not the Host header.
    let browser = app.browser().await;
    let by_host = app
        .post_form(
            "/login",
            &browser,
            &format!(
                "csrf_token={}&username=viewer&password=viewer-demo",
                browser.csrf
            ),
        )
        .await;
    assert_eq!(by_host.status, 403, "Origin is the test's http address");
    let from_public = app
        .http
        .post(app.url("/login"))
        .header("origin", "https://status.example.com")
        .header("cookie", browser.cookie_header())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf_token={}&username=viewer&password=viewer-demo",
            browser.csrf
        ))
        .page()
        .await;
    assert_eq!(from_public.status, 303);
    let session = from_public.headers["set-cookie"].to_str().unwrap();
    assert!(session.starts_with("__Host-lookout_session="), "{session}");
    assert!(session.contains("SameSite=Strict") && session.contains("HttpOnly"));
}

fn proxy_auth(trusted: &'static str) -> impl Fn(String) -> String + Send + Sync {
    move |text: String| {
        let (before, _) = text.split_once("[auth]").unwrap();
        format!(
            "{before}[auth]\nmode = \"proxy\"\npublic_status = false\n\
             proxy_user_header = \"X-Forwarded-Email\"\ntrusted_proxies = [\"{trusted}\"]\n\
             proxy_default_role = \"viewer\"\n\n\
             [[auth.users]]\nname = \"lead@example.com\"\nrole = \"admin\"\n"
        )
    }
}

#[tokio::test]
async fn proxy_mode_trusts_the_user_header_only_from_trusted_proxies() {
    let app = spawn_with(proxy_auth("127.0.0.1/32")).await;
    let as_user = |email: &'static str| {
        app.http
            .get(app.url("/api/session"))
            .header("x-forwarded-email", email)
            .page()
    };
    let lead: serde_json::Value = as_user("lead@example.com").await.json();
    assert_eq!(lead["user"]["role"], "admin");
    let someone: serde_json::Value = as_user("dev@example.com").await.json();
    assert_eq!(someone["user"]["role"], "viewer", "the default role");
    let anonymous = app.page("/api/status").await;
    assert_eq!(anonymous.status, 401);

    let untrusted = spawn_with(proxy_auth("10.0.0.0/8")).await;
    let forged = untrusted
        .http
        .get(format!("{}/api/audit", untrusted.base))
        .header("x-forwarded-email", "lead@example.com")
        .page()
        .await;
    assert_eq!(
        forged.status, 401,
        "the header is ignored from an untrusted peer"
    );
}

#[tokio::test]
async fn config_errors_in_auth_name_the_key_and_line() {
    let text = "[auth]\nmode = \"password\"\n\n[[auth.users]]\nname = \"sam\"\nrole = \"boss\"\n\
                password_hash = \"plain\"\n\n[[auth.api_tokens]]\nname = \"ci\"\nsha256 = \"xyz\"\n";
    let errors = config::parse(text, "lookout.toml", &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        errors.contains("lookout.toml:6: auth.users.role"),
        "{errors}"
    );
    assert!(errors.contains("auth.api_tokens.sha256"), "{errors}");
    let proxy = "[auth]\nmode = \"proxy\"\n";
    let errors = config::parse(proxy, "lookout.toml", &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        errors.contains("lookout.toml:2: auth.trusted_proxies"),
        "{errors}"
    );
}

fn with_trusted_proxy(text: String) -> String {
    text.replacen(
        "public_status = true",
        "public_status = true\ntrusted_proxies = [\"127.0.0.1/32\"]",
        1,
    )
}

#[tokio::test]
async fn spoofed_forwarded_for_entries_neither_escape_the_address_limit_nor_forge_the_audit() {
    let app = spawn_with(with_trusted_proxy).await;
    let browser = app.browser().await;
    // The client wrote "6.6.6.6, …"; the trusted proxy (the test, on loopback) appended the
    // address it saw, 203.0.113.7.
    for index in 0..20 {
        let forwarded = format!("6.6.6.{index}, 203.0.113.7");
        let body = format!(
            "csrf_token={}&username=nobody{index}&password=guess",
            browser.csrf
        );
        let response = app
            .post_form_with(
                "/login",
                &browser,
                &body,
                &[("x-forwarded-for", &forwarded)],
            )
            .await;
        assert!(
            response.location().starts_with("/login?error=invalid"),
            "attempt {index}: {}",
            response.location()
        );
    }
    let body = format!(
        "csrf_token={}&username=someone-else&password=guess",
        browser.csrf
    );
    let limited = app
        .post_form_with(
            "/login",
            &browser,
            &body,
            &[("x-forwarded-for", "1.1.1.1, 203.0.113.7")],
        )
        .await;
    assert!(
        limited.location().starts_with("/login?error=rate_limited"),
        "a fresh leftmost entry is not a fresh address: {}",
        limited.location()
    );
    let rows = audit_rows(&app).await;
    let failures: Vec<_> = rows
        .iter()
        .filter(|(actor, _, outcome, _)| actor.starts_with("nobody") && outcome == "failed")
        .collect();
    assert_eq!(failures.len(), 20);
    assert!(
        failures
            .iter()
            .all(|(_, _, _, address)| address == "203.0.113.7"),
        "{failures:?}"
    );
}

#[tokio::test]
async fn parallel_wrong_passwords_get_no_more_guesses_than_the_limit() {
    let app = spawn_public().await;
    let browser = app.browser().await;
    let body = format!("csrf_token={}&username=viewer&password=guess", browser.csrf);
    let posts = (0..12).map(|_| app.post_form("/login", &browser, &body));
    let responses = futures::future::join_all(posts).await;
    let mut verified = 0;
    for response in &responses {
        let target = response.location();
        if target.starts_with("/login?error=invalid") {
            verified += 1;
        } else {
            assert!(
                target.starts_with("/login?error=rate_limited") || response.status == 429,
                "{} {target}",
                response.status
            );
        }
    }
    assert!(
        verified <= 5,
        "{verified} guesses were checked, the limit is 5"
    );
    assert!(verified >= 1);
}

#[tokio::test]
async fn rate_limited_attempts_are_audited_once_with_the_name_cut_short() {
    let app = spawn_public().await;
    let browser = app.browser().await;
    let long_name = "x".repeat(20_000);
    let body = format!(
        "csrf_token={}&username={long_name}&password=guess",
        browser.csrf
    );
    for _ in 0..15 {
        let response = app.post_form("/login", &browser, &body).await;
        assert_eq!(response.status, 303);
    }
    let rows = audit_rows(&app).await;
    let flood: Vec<_> = rows
        .iter()
        .filter(|(actor, ..)| actor.starts_with("xxx"))
        .collect();
    assert!(
        flood.iter().all(|(actor, ..)| actor.chars().count() <= 201),
        "actor fields are cut"
    );
    let limited = flood
        .iter()
        .filter(|(_, _, outcome, _)| outcome == "rate_limited")
        .count();
    assert_eq!(limited, 1, "one rate_limited row per key and window");
    assert_eq!(flood.len(), 6, "five failures and one refusal");
}

#[tokio::test]
async fn wrong_passwords_from_elsewhere_do_not_lock_out_the_real_user() {
    let app = spawn_with(with_trusted_proxy).await;
    let browser = app.browser().await;
    let body = format!("csrf_token={}&username=viewer&password=guess", browser.csrf);
    for _ in 0..6 {
        app.post_form_with(
            "/login",
            &browser,
            &body,
            &[("x-forwarded-for", "198.51.100.66")],
        )
        .await;
    }
    let attacker = app
        .post_form_with(
            "/login",
            &browser,
            &body,
            &[("x-forwarded-for", "198.51.100.66")],
        )
        .await;
    assert!(attacker.location().starts_with("/login?error=rate_limited"));
    // The real user, from their own address, still signs in.
    let (response, _) = app.log_in("viewer", "viewer-demo").await;
    assert_eq!(response.location(), "/history");
}

fn with_server_section(lines: &'static str) -> impl Fn(String) -> String + Send + Sync {
    move |text: String| text.replacen("[monitor]", &format!("[server]\n{lines}\n\n[monitor]"), 1)
}

#[tokio::test]
async fn a_rebound_host_name_is_refused_and_probes_still_answer() {
    let app = spawn_public().await;
    let port = app.base.rsplit(':').next().unwrap().to_string();
    let rebound = format!("rebind.attacker.example:{port}");
    let page = app
        .http
        .get(app.url("/"))
        .header("host", &rebound)
        .page()
        .await;
    assert_eq!(page.status, 421);
    let reason: serde_json::Value = page.json();
    assert!(
        reason["error"]
            .as_str()
            .unwrap()
            .contains("server.public_url"),
        "{reason}"
    );
    // The rebinding page's own origin passes the Origin == Host check, but not this one.
    let browser = app.browser().await;
    let login = app
        .http
        .post(app.url("/login"))
        .header("host", &rebound)
        .header("origin", format!("http://{rebound}"))
        .header("cookie", browser.cookie_header())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "csrf_token={}&username=admin&password=admin-demo",
            browser.csrf
        ))
        .page()
        .await;
    assert_eq!(login.status, 421);
    let probe = app
        .http
        .get(app.url("/healthz"))
        .header("host", "internal-probe.example")
        .page()
        .await;
    assert_eq!(probe.status, 200);
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("10.0.0.5:{port}"),
    ] {
        let response = app
            .http
            .get(app.url("/"))
            .header("host", &host)
            .page()
            .await;
        assert_eq!(response.status, 200, "{host}");
    }

    let public = spawn_with(with_server_section(
        "public_url = \"https://status.example.com\"",
    ))
    .await;
    let named = public
        .http
        .get(format!("{}/", public.base))
        .header("host", "status.example.com")
        .page()
        .await;
    assert_eq!(named.status, 200);
    let other = public
        .http
        .get(format!("{}/", public.base))
        .header("host", "lookout.internal")
        .page()
        .await;
    assert_eq!(other.status, 421);
}

#[test]
fn signing_in_beyond_loopback_needs_a_public_url() {
    let text = demo_config_text(
        DemoScenario::Basic,
        "http://127.0.0.1:9",
        Duration::from_secs(1),
    );
    let exposed = text.replacen(
        "[monitor]",
        "[server]\nlisten = \"0.0.0.0:3000\"\n\n[monitor]",
        1,
    );
    let lookup = |name: &str| {
        DEMO_TOKENS
            .iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, token)| token.to_string())
    };
    let errors = config::parse(&exposed, "lookout.toml", &lookup)
        .unwrap_err()
        .to_string();
    let mode_line = exposed
        .lines()
        .position(|line| line.starts_with("mode = \"password\""))
        .unwrap()
        + 1;
    assert!(
        errors.contains(&format!("lookout.toml:{mode_line}: server.public_url")),
        "{errors}"
    );
    // PORT (a PaaS) binds 0.0.0.0 too; LOOKOUT_PUBLIC_URL answers it.
    let paas = |name: &str| match name {
        "PORT" => Some("8080".to_string()),
        "LOOKOUT_PUBLIC_URL" => Some("https://lookout.example.com".to_string()),
        other => lookup(other),
    };
    let config = config::parse(&text, "lookout.toml", &paas).unwrap();
    assert_eq!(
        config.public_url.as_deref(),
        Some("https://lookout.example.com")
    );
    // Loopback, and an open read-only dashboard, need none.
    assert!(config::parse(&text, "lookout.toml", &lookup).is_ok());
    let environment = "[[environments]]\nname = \"production\"\nkind = \"production\"\n";
    let open =
        format!("[server]\nlisten = \"0.0.0.0:3000\"\n[auth]\nmode = \"none\"\n{environment}");
    if let Err(errors) = config::parse(&open, "lookout.toml", &|_| None) {
        panic!("an open read-only dashboard needs no public_url: {errors}");
    }
    let acting = format!(
        "[server]\nlisten = \"0.0.0.0:3000\"\n[auth]\nmode = \"none\"\nopen_role = \"deployer\"\n{environment}"
    );
    let errors = config::parse(&acting, "lookout.toml", &|_| None)
        .unwrap_err()
        .to_string();
    assert!(
        errors.contains("lookout.toml:5: server.public_url"),
        "{errors}"
    );
}

#[tokio::test]
async fn live_streams_are_capped_per_address_and_in_all() {
    let app = spawn_with(|text| {
        with_server_section("max_streams = 3\nmax_streams_per_address = 2")(with_trusted_proxy(
            text,
        ))
    })
    .await;
    let open = |address: &'static str| {
        app.http
            .get(app.url("/api/events"))
            .header("x-forwarded-for", address)
            .send()
    };
    let a1 = open("203.0.113.1").await.unwrap();
    let a2 = open("203.0.113.1").await.unwrap();
    assert_eq!((a1.status().as_u16(), a2.status().as_u16()), (200, 200));
    let a3 = open("203.0.113.1").await.unwrap();
    assert_eq!(a3.status(), 429);
    let reason: serde_json::Value = a3.json().await.unwrap();
    assert!(reason["error"].as_str().unwrap().contains("this address"));
    let b1 = open("203.0.113.2").await.unwrap();
    assert_eq!(b1.status(), 200);
    let c1 = open("203.0.113.3").await.unwrap();
    assert_eq!(c1.status(), 503, "three streams are open in all");
    // Closing a stream frees its place.
    drop(a1);
    let mut reopened = None;
    for _ in 0..50 {
        let response = open("203.0.113.3").await.unwrap();
        if response.status() == 200 {
            reopened = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        reopened.is_some(),
        "the closed stream's place was not freed"
    );
    drop((a2, b1));
}

#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_with(with_server_section("header_read_timeout_secs = 1")).await;
    let address = app.base.trim_start_matches("http://").to_string();
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .await
        .unwrap();
    let mut buffer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buffer)).await;
    assert!(
        closed.is_ok(),
        "the server still holds the half-sent request after 5 s"
    );
    // A normal request on a new connection is unaffected.
    assert_eq!(app.page("/healthz").await.status, 200);
}

#[tokio::test]
async fn a_finished_rollbacks_stream_ends_at_once() {
    use app::rollback::{DeploymentRef, RollbackState};
    use server::store::RollbackRecord;
    let app = spawn_public().await;
    let store = app.open_store().await;
    let now = chrono::Utc::now();
    let deployment = |id: &str| DeploymentRef {
        id: id.into(),
        commit_sha: None,
        summary: None,
    };
    let record = RollbackRecord {
        id: 0,
        idempotency_key: "finished-stream-test".into(),
        service: "web".into(),
        environment: "production".into(),
        provider: app::model::ProviderKind::Vercel,
        actor: "deployer".into(),
        remote_addr: None,
        reason: "test".into(),
        from: deployment("dpl_new"),
        to: deployment("dpl_old"),
        place_hold: false,
        state: RollbackState::Succeeded,
        detail: None,
        new_deployment_id: None,
        provider_reference: None,
        hold: None,
        hold_release: None,
        requested_at: now,
        started_at: Some(now),
        finished_at: Some(now),
    };
    let id = store
        .insert_rollback(&record)
        .await
        .unwrap()
        .expect("inserted");
    let response = tokio::time::timeout(
        Duration::from_secs(5),
        app.page(&format!("/api/v1/rollbacks/{id}/events")),
    )
    .await
    .expect("the stream of a finished rollback stays open");
    assert_eq!(response.status, 200);
    let body = response.text();
    assert_eq!(body.matches("event: ").count(), 1, "{body}");
    assert!(body.contains("succeeded"), "{body}");
}

#[tokio::test]
async fn a_non_ascii_next_redirects_percent_encoded_instead_of_panicking() {
    let app = spawn_public().await;
    let browser = app.browser().await;
    let body = format!(
        "csrf_token={}&username=viewer&password=viewer-demo&next=%2Fservices%2Fcaf%C3%A9",
        browser.csrf
    );
    let response = app.post_form("/login", &browser, &body).await;
    assert_eq!(response.status, 303);
    assert_eq!(response.location(), "/services/caf%C3%A9");
    assert!(response.set_cookie("lookout_session").is_some());
    for evil in [
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "javascript%3Aalert(1)",
        "%2F%09%2Fevil.example",
    ] {
        let body = format!(
            "csrf_token={}&username=viewer&password=viewer-demo&next={evil}",
            browser.csrf
        );
        let response = app.post_form("/login", &browser, &body).await;
        assert_eq!(response.location(), "/", "{evil}");
    }
}

#[tokio::test]
async fn the_continue_link_passes_the_same_redirect_check() {
    let app = spawn_public().await;
    let viewer = app.sign_in("viewer").await;
    for (next, evil) in [
        ("%2F%2Fevil.example%2F", "//evil.example"),
        ("javascript%3Aalert(1)", "javascript:"),
        ("%2F%5Cevil.example", "/\\evil.example"),
    ] {
        let html = app
            .page_as(&format!("/login?next={next}"), &viewer)
            .await
            .text();
        assert!(html.contains("You are signed in as"), "signed in");
        assert!(
            !html.contains(&format!("href=\"{evil}")),
            "{evil} in {html}"
        );
        assert!(html.contains("<a href=\"/\">Continue</a>"), "{next}");
    }
    let html = app.page_as("/login?next=%2Fhistory", &viewer).await.text();
    assert!(html.contains("<a href=\"/history\">Continue</a>"));
}

#[tokio::test]
async fn private_responses_are_marked_no_store_and_public_pages_are_not() {
    let app = spawn_public().await;
    let cache_control = |response: &common::Page| {
        response
            .headers
            .get("cache-control")
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let public = app.page("/").await;
    assert_eq!(public.status, 200);
    assert!(
        !cache_control(&public).contains("no-store"),
        "the public page may be kept offline"
    );
    assert!(cache_control(&app.page("/login").await).contains("no-store"));
    let admin = app.sign_in("admin").await;
    for path in ["/", "/history", "/audit", "/api/session", "/runbooks"] {
        let response = app.page_as(path, &admin).await;
        assert!(
            cache_control(&response).contains("no-store"),
            "{path} for a signed-in user: {:?}",
            response.headers.get("cache-control")
        );
    }
    // The bundle keeps its own caching.
    let private = spawn_private().await;
    let redirect = private.page("/history").await;
    assert!(cache_control(&redirect).contains("no-store"));
    assert!(cache_control(&private.page("/api/v1/status").await).contains("no-store"));
}

#[tokio::test]
async fn the_csrf_cookie_is_strict() {
    let app = spawn_public().await;
    let response = app.page("/login").await;
    let cookie = response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("lookout_csrf="))
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("SameSite=Strict") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[tokio::test]
async fn a_changed_password_hash_ends_existing_sessions() {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().to_path_buf();
    let first = spawn_on(Some(dir), |text| text).await;
    let viewer = first.sign_in("viewer").await;
    let admin = first.sign_in("admin").await;
    assert_eq!(session_of(&first, &viewer).await["user"]["name"], "viewer");
    // Restart on the same store with viewer's hash changed (admin's unchanged).
    let data_dir = first.into_data_dir().await;
    assert_eq!(data_dir.path(), kept);
    let second = spawn_on(Some(data_dir), |text| {
        text.replacen(
            "j2p9u+HrM0/SSbWSO764Aw$O/zntDjI6a4c0JZgAXLdCgyAPB/mjJobEqJipk7a6vw",
            "xIK4KI1CFIc998TwnIIpVQ$5R5AcfkxoUbycoNZJ/3PmggK7T6lKMDsrPDywZsIqR0",
            1,
        )
    })
    .await;
    assert!(
        session_of(&second, &viewer).await["user"].is_null(),
        "the old session is over"
    );
    assert_eq!(
        session_of(&second, &admin).await["user"]["name"],
        "admin",
        "others keep theirs"
    );
}

#[tokio::test]
async fn the_store_urls_password_is_not_in_the_startup_error() {
    let data_dir = tempfile::tempdir().unwrap();
    let text = demo_config_text(
        DemoScenario::Basic,
        "http://127.0.0.1:9",
        Duration::from_secs(1),
    );
    let store_url = format!("sqlite://{}", data_dir.path().join("lookout.db").display());
    let mut config = parse_test_config(&text, &store_url, &[]);
    config.store_url = "postgres://lookout:s3cr/et@127.0.0.1:1/lookout".into();
    let listener = common::app::loopback().await;
    let error = server::startup::run(config, listener, std::future::pending())
        .await
        .unwrap_err();
    let shown = format!("{error:#} {error:?}");
    assert!(!shown.contains("s3cr"), "{shown}");
    assert!(shown.contains("cannot open the store"), "{shown}");
}
