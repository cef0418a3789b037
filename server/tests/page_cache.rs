//! The page cache (issue #19) on the whole server (port 0, demo simulators): a page is
//! rendered once per change and replayed — compressed, with its own headers and ETag — until
//! the snapshot, the stored deployments or the runbooks change or its time is up; a
//! signed-in visitor's page is never anyone else's; errors and cookies are never replayed.
//!
//! Each server gets its own `PageCache` (through `startup::run_with_page_cache`) with a
//! one-hour max age and a clock the test moves, so nothing here waits for time to pass.
//! Renders are counted by the router's app function (`PageCacheStats::renders`).

use server::config::process_env;
use server::demo::{DemoScenario, DemoWorld};
use server::page_cache::{Clock, PageCache, PageCacheSettings, PageCacheStats};
use std::io::Read;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const MAX_AGE: Duration = Duration::from_secs(3600);

struct TestApp {
    base: String,
    world: DemoWorld,
    http: reqwest::Client,
    cache: Arc<PageCache>,
    clock: Clock,
    runbooks: tempfile::TempDir,
    /// Who reads `/api/v1/status` (a private dashboard's needs a signed-in reader).
    reader: Option<Browser>,
    _data_dir: tempfile::TempDir,
    _stop: oneshot::Sender<()>,
}

const RUNBOOK: &str = "---\ntitle: API down\nservices: [api]\nseverity: critical\n---\n## First checks\n\nCurl the health endpoint.\n";

/// A quiet server: providers and health endpoints are polled once at start and then only
/// every `interval` (an hour: after the first polls, nothing changes unless a test changes
/// it).
async fn spawn_app(interval: Duration) -> TestApp {
    let world = DemoWorld::start(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        DemoScenario::Basic,
    )
    .await
    .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let runbooks = tempfile::tempdir().unwrap();
    std::fs::write(runbooks.path().join("api-down.md"), RUNBOOK).unwrap();
    let mut config = world
        .config(interval, data_dir.path(), &process_env)
        .unwrap();
    config.runbooks_dir = runbooks.path().to_path_buf();
    config.runbooks_reload_interval = Duration::from_millis(100);
    let clock = Clock::default();
    let cache = Arc::new(PageCache::new(
        PageCacheSettings {
            max_age: MAX_AGE,
            ..PageCacheSettings::default()
        },
        clock.clone(),
    ));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server::startup::run_with_page_cache(
        config,
        listener,
        async move {
            let _ = stopped.await;
        },
        cache.clone(),
    ));
    let app = TestApp {
        base,
        world,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        cache,
        clock,
        runbooks,
        reader: None,
        _data_dir: data_dir,
        _stop: stop,
    };
    app.wait_for_first_polls().await;
    app
}

async fn spawn_quiet() -> TestApp {
    spawn_app(Duration::from_secs(3600)).await
}

/// A browser: its CSRF cookie and, once signed in, its session cookie.
#[derive(Clone, Default)]
struct Browser {
    csrf: String,
    session: Option<String>,
}

impl Browser {
    fn cookie_header(&self) -> String {
        let mut cookie = format!("lookout_csrf={}", self.csrf);
        if let Some(session) = &self.session {
            cookie.push_str(&format!("; lookout_session={session}"));
        }
        cookie
    }
}

/// One response, read whole.
struct Page {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Page {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    fn etag(&self) -> &str {
        self.header("etag").expect("a stored page has an ETag")
    }

    fn html(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    /// The nonce of the page's Content-Security-Policy header.
    fn csp_nonce(&self) -> String {
        let csp = self.header("content-security-policy").unwrap();
        csp.split("'nonce-")
            .nth(1)
            .and_then(|rest| rest.split('\'').next())
            .expect("a script nonce")
            .to_string()
    }

    fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|value| {
                let (pair, _) = value.split_once(';').unwrap_or((value, ""));
                let (key, value) = pair.split_once('=')?;
                (key == name).then(|| value.to_string())
            })
    }
}

impl TestApp {
    async fn fetch(&self, path: &str, browser: Option<&Browser>, headers: &[(&str, &str)]) -> Page {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(browser) = browser {
            request = request.header("cookie", browser.cookie_header());
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        Page {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.bytes().await.unwrap().to_vec(),
        }
    }

    async fn get(&self, path: &str, browser: Option<&Browser>) -> Page {
        self.fetch(path, browser, &[]).await
    }

    async fn status(&self) -> serde_json::Value {
        let page = self.get("/api/v1/status", self.reader.as_ref()).await;
        serde_json::from_slice(&page.body).unwrap()
    }

    fn stats(&self) -> PageCacheStats {
        self.cache.stats()
    }

    fn renders(&self) -> u64 {
        self.stats().renders
    }

    async fn wait_for_first_polls(&self) {
        for _ in 0..200 {
            let mut request = self.http.get(format!("{}/api/v1/status", self.base));
            if let Some(reader) = &self.reader {
                request = request.header("cookie", reader.cookie_header());
            }
            if let Ok(response) = request.send().await {
                let status: serde_json::Value = response.json().await.unwrap();
                let rows: Vec<&serde_json::Value> = status["environments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|environment| environment["services"].as_array().unwrap())
                    .collect();
                let polled = rows.iter().all(|row| {
                    row["provider"] == "http_health" || !row["poll"]["last_success_at"].is_null()
                });
                let checked = rows
                    .iter()
                    .all(|row| row["health"].is_null() || row["health"]["state"] != "unknown");
                if !rows.is_empty() && polled && checked {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the monitor never polled every provider");
    }

    /// Runs `step` again until no new snapshot was published while it ran (a poll landing in
    /// between makes every page new, rightly, but that is not what the step checks).
    async fn between_polls<T>(&self, mut step: impl AsyncFnMut() -> T) -> T {
        for _ in 0..50 {
            let before = self.status().await["revision"].as_u64();
            let result = step().await;
            if self.status().await["revision"].as_u64() == before {
                return result;
            }
        }
        panic!("the snapshot never held still");
    }

    /// A fresh browser that has loaded the login page (and so holds a CSRF cookie).
    async fn browser(&self) -> Browser {
        let page = self.get("/login", None).await;
        assert_eq!(page.status, 200);
        Browser {
            csrf: page.set_cookie("lookout_csrf").expect("a CSRF cookie"),
            session: None,
        }
    }

    async fn signed_in(&self, user: &str, password: &str) -> Browser {
        let mut browser = self.browser().await;
        let response = self
            .http
            .post(format!("{}/login", self.base))
            .header("origin", &self.base)
            .header("cookie", browser.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "csrf_token={}&username={user}&password={password}&next=%2F",
                browser.csrf
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "login as {user}");
        browser.session = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .find_map(|value| {
                let (pair, _) = value.split_once(';')?;
                pair.strip_prefix("lookout_session=").map(str::to_string)
            });
        assert!(browser.session.is_some(), "a session cookie");
        browser
    }
}

fn decode_brotli(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    brotli::Decompressor::new(bytes, 4096)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn decode_gzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn a_second_get_of_the_board_is_served_from_the_cache() {
    let app = spawn_quiet().await;
    let (first, second, renders) = app
        .between_polls(async || {
            let first = app.get("/", None).await;
            let after_first = app.renders();
            let second = app.get("/", None).await;
            (first, second, app.renders() - after_first)
        })
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(second.status, 200);
    assert_eq!(renders, 0, "the second GET rendered nothing");
    assert_eq!(second.body, first.body, "the same bytes");
    assert_eq!(second.etag(), first.etag());
    assert_eq!(second.header("vary"), Some("accept-encoding"));
    let stats = app.stats();
    assert!(stats.hits >= 1 && stats.stored >= 1, "{stats:?}");
    // Other pages and queries are entries of their own.
    let before = app.renders();
    let history = app.get("/history?service=web", None).await;
    assert_eq!(history.status, 200);
    assert!(app.renders() > before);
}

#[tokio::test]
async fn a_new_snapshot_revision_renders_new_content() {
    // Polled every second: the new deployment shows soon.
    let app = spawn_app(Duration::from_secs(1)).await;
    let message = "Serve the page cache from the edge";
    // Stored while nothing changes…
    let (board, history) = app
        .between_polls(async || {
            let board = app.get("/", None).await;
            let history = app.get("/history", None).await;
            assert_eq!(app.get("/", None).await.etag(), board.etag());
            assert_eq!(app.get("/history", None).await.etag(), history.etag());
            (board, history)
        })
        .await;
    assert!(!board.html().contains(message));
    assert!(!history.html().contains(message));
    let response = reqwest::Client::new()
        .post(format!("{}/_control/deploy", app.world.base_url))
        .json(&serde_json::json!({
            "service": "web",
            "environment": "production",
            "commit_sha": "0c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ff",
            "message": message,
            "author": "Grace Hopper",
            "outcome": "ready",
        }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    for _ in 0..200 {
        if app.status().await.to_string().contains(message) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(app.status().await.to_string().contains(message));
    // …and new once the snapshot is (an hour's max age: only the new numbers can make these
    // pages new).
    assert!(app.get("/", None).await.html().contains(message));
    for _ in 0..100 {
        // The history reads the store, which the poll fills before it publishes.
        if app.get("/history", None).await.html().contains(message) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the history page never showed the new deployment");
}

#[tokio::test]
async fn a_changed_runbook_renders_new_content() {
    let app = spawn_quiet().await;
    let list = app
        .between_polls(async || {
            let list = app.get("/runbooks", None).await;
            assert_eq!(app.get("/runbooks", None).await.etag(), list.etag());
            list
        })
        .await;
    assert!(list.html().contains("API down"));
    let page = app.get("/runbooks/api-down", None).await;
    assert_eq!(page.status, 200);
    assert!(page.header("etag").is_some());
    std::fs::write(
        app.runbooks.path().join("api-down.md"),
        RUNBOOK.replace("title: API down", "title: API unreachable"),
    )
    .unwrap();
    for _ in 0..200 {
        if app
            .get("/runbooks", None)
            .await
            .html()
            .contains("API unreachable")
        {
            assert!(app
                .get("/runbooks/api-down", None)
                .await
                .html()
                .contains("API unreachable"));
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the runbook list never showed the new title");
}

#[tokio::test]
async fn a_signed_in_page_is_never_served_to_anyone_else() {
    let app = spawn_quiet().await;
    let admin = app.signed_in("admin", "admin-demo").await;
    let viewer = app.signed_in("viewer", "viewer-demo").await;
    let visitor = app.browser().await;
    let secrets = [&admin.csrf, &viewer.csrf, &visitor.csrf];
    let pages = app
        .between_polls(async || {
            let mut pages = Vec::new();
            for browser in [
                Some(&visitor),
                Some(&admin),
                Some(&viewer),
                None,
                Some(&admin),
                Some(&visitor),
                Some(&viewer),
            ] {
                let before = app.renders();
                let page = app.get("/", browser).await;
                pages.push((page, app.renders() - before));
            }
            pages
        })
        .await;
    let [(visitor_page, _), (admin_page, admin_renders), (viewer_page, viewer_renders), (nobody_page, nobody_renders), (admin_again, admin_again_renders), (visitor_again, visitor_again_renders), (viewer_again, viewer_again_renders)] =
        <[(Page, u64); 7]>::try_from(pages).ok().unwrap();
    for page in [&visitor_page, &admin_page, &viewer_page, &nobody_page] {
        assert_eq!(page.status, 200);
    }

    // The signed-in pages are their own, rendered for them even though an anonymous page of
    // the same URL was stored.
    assert_eq!((admin_renders, viewer_renders), (1, 1));
    let admin_html = admin_page.html();
    assert!(admin_html.contains("who-name\">admin<"), "the admin's name");
    assert!(admin_html.contains(&admin.csrf), "the admin's CSRF token");
    let viewer_html = viewer_page.html();
    assert!(viewer_html.contains("who-name\">viewer<"));
    assert!(viewer_html.contains(&viewer.csrf));
    assert!(!viewer_html.contains(&admin.csrf) && !admin_html.contains(&viewer.csrf));
    assert!(!viewer_html.contains("who-name\">admin<"));
    assert!(!admin_html.contains(&visitor.csrf) && !viewer_html.contains(&visitor.csrf));

    // Anonymous visitors share one page that carries nobody's name or token, their own
    // included.
    assert_eq!(nobody_renders, 0, "the anonymous page is shared");
    assert_eq!(visitor_again_renders, 0);
    assert_eq!(nobody_page.etag(), visitor_page.etag());
    for page in [&visitor_page, &nobody_page, &visitor_again] {
        let html = page.html();
        assert!(!html.contains("class=\"who-name\""), "nobody is signed in");
        assert!(html.contains("Sign in"));
        for secret in secrets {
            assert!(
                !html.contains(secret.as_str()),
                "a CSRF token in an anonymous page"
            );
        }
    }

    // And each signed-in page is replayed to its own viewer only.
    assert_eq!((admin_again_renders, viewer_again_renders), (0, 0));
    assert_eq!(admin_again.etag(), admin_page.etag());
    assert_eq!(viewer_again.etag(), viewer_page.etag());
    assert!(admin_again.html().contains(&admin.csrf));
    let tags = [visitor_page.etag(), admin_page.etag(), viewer_page.etag()];
    assert!(tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2]);

    // What the client is told about storing them is what it was told before the cache.
    for page in [&admin_page, &admin_again, &viewer_again] {
        assert_eq!(page.header("cache-control"), Some("no-store"));
    }
    for page in [&visitor_page, &nobody_page, &visitor_again] {
        assert_eq!(page.header("cache-control"), None);
    }
    for page in [&visitor_again, &admin_again] {
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    }

    // The same browser signed in as someone else is another viewer.
    let switched = Browser {
        csrf: admin.csrf.clone(),
        session: viewer.session.clone(),
    };
    let page = app.get("/", Some(&switched)).await;
    assert!(page.html().contains("who-name\">viewer<"));
    assert_ne!(page.etag(), admin_page.etag());
}

#[tokio::test]
async fn cookies_are_never_replayed() {
    let app = spawn_quiet().await;
    let (first, second, renders) = app
        .between_polls(async || {
            let first = app.get("/", None).await;
            let before = app.renders();
            let second = app.get("/", None).await;
            (first, second, app.renders() - before)
        })
        .await;
    assert_eq!(renders, 0);
    assert_eq!(first.etag(), second.etag());
    // Each visitor without a cookie gets a CSRF cookie of its own, on a stored page too,
    // and the page does not carry it.
    let one = first.set_cookie("lookout_csrf").unwrap();
    let two = second.set_cookie("lookout_csrf").unwrap();
    assert_ne!(one, two);
    assert!(!second.html().contains(&one) && !second.html().contains(&two));
    assert!(!first.html().contains(&one));
    // The login page is never stored: it carries the cookie's token in its form.
    let before = app.stats();
    let login = app.get("/login", None).await;
    let token = login.set_cookie("lookout_csrf").unwrap();
    assert!(login.html().contains(&format!("value=\"{token}\"")));
    assert!(login.header("etag").is_none());
    let after = app.stats();
    assert_eq!((after.hits, after.misses), (before.hits, before.misses));
}

#[tokio::test]
async fn error_pages_are_rendered_every_time() {
    let app = spawn_quiet().await;
    // (`/services/nope` and `/runbooks/nope` show their "not found" text with status 200
    // today, so they are stored like any page: they are a function of the config.)
    for path in ["/?environment=nowhere", "/?environment=gone&page=2"] {
        for _ in 0..2 {
            let before = app.renders();
            let page = app.get(path, None).await;
            assert_eq!(page.status, 404, "{path}");
            assert!(page.header("etag").is_none(), "{path}");
            assert_eq!(app.renders(), before + 1, "{path} rendered again");
        }
    }
    assert_eq!(app.stats().entries, 0);
    // While the board itself is stored.
    assert!(app.get("/", None).await.header("etag").is_some());
    assert_eq!(app.stats().entries, 1);
}

#[tokio::test]
async fn if_none_match_gets_304_without_a_body() {
    let app = spawn_quiet().await;
    let (page, revalidated, other) = app
        .between_polls(async || {
            let page = app.get("/", None).await;
            let revalidated = app
                .fetch("/", None, &[("if-none-match", page.etag())])
                .await;
            let other = app
                .fetch("/", None, &[("if-none-match", "\"something-else\"")])
                .await;
            (page, revalidated, other)
        })
        .await;
    assert!(page.etag().starts_with('"') && !page.etag().starts_with("W/"));
    assert_eq!(revalidated.status, 304);
    assert!(revalidated.body.is_empty());
    assert_eq!(revalidated.header("etag"), Some(page.etag()));
    // The browser keeps the headers of a 304 for the body it has: the same policy, nonce
    // included.
    assert_eq!(
        revalidated.header("content-security-policy"),
        page.header("content-security-policy")
    );
    assert_eq!(other.status, 200);
    assert_eq!(other.body, page.body);
    assert!(app.stats().not_modified >= 1);
}

#[tokio::test]
async fn brotli_and_gzip_decode_to_the_same_page() {
    let app = spawn_quiet().await;
    let (identity, gzip, brotli) = app
        .between_polls(async || {
            (
                app.get("/", None).await,
                app.fetch("/", None, &[("accept-encoding", "gzip")]).await,
                app.fetch("/", None, &[("accept-encoding", "gzip, deflate, br")])
                    .await,
            )
        })
        .await;
    assert_eq!(identity.header("content-encoding"), None);
    assert_eq!(gzip.header("content-encoding"), Some("gzip"));
    assert_eq!(brotli.header("content-encoding"), Some("br"));
    for page in [&identity, &gzip, &brotli] {
        assert_eq!(page.header("vary"), Some("accept-encoding"));
        assert_eq!(
            page.header("content-length"),
            Some(page.body.len().to_string().as_str())
        );
    }
    assert!(brotli.body.len() < gzip.body.len() && gzip.body.len() < identity.body.len());
    assert_eq!(decode_gzip(&gzip.body), identity.body);
    assert_eq!(decode_brotli(&brotli.body), identity.body);
    // One representation, one strong validator each.
    let tags = [identity.etag(), gzip.etag(), brotli.etag()];
    assert!(tags[0] != tags[1] && tags[1] != tags[2] && tags[0] != tags[2]);
    // Pages that are not stored are still compressed as before.
    let login = app
        .fetch("/login", None, &[("accept-encoding", "gzip")])
        .await;
    assert_eq!(login.header("content-encoding"), Some("gzip"));
    assert!(String::from_utf8(decode_gzip(&login.body))
        .unwrap()
        .contains("Sign in"));
}

#[tokio::test]
async fn the_csp_nonce_of_a_stored_page_matches_its_scripts() {
    let app = spawn_quiet().await;
    let admin = app.signed_in("admin", "admin-demo").await;
    let (first, replayed, personal) = app
        .between_polls(async || {
            (
                app.get("/", None).await,
                app.get("/", None).await,
                app.get("/", Some(&admin)).await,
            )
        })
        .await;
    for page in [&first, &replayed, &personal] {
        let nonce = page.csp_nonce();
        let html = page.html();
        assert!(html.contains(&format!("nonce=\"{nonce}\"")));
        for script in html.split("<script").skip(1) {
            let tag = script.split('>').next().unwrap_or_default();
            assert!(
                tag.contains("src=") || tag.contains(&format!("nonce=\"{nonce}\"")),
                "inline script without the header's nonce: <script{tag}>"
            );
        }
    }
    assert_eq!(
        replayed.csp_nonce(),
        first.csp_nonce(),
        "one nonce per entry"
    );
    assert_ne!(
        personal.csp_nonce(),
        first.csp_nonce(),
        "entries do not share one"
    );
}

#[tokio::test]
async fn stored_pages_expire_after_max_age() {
    let app = spawn_quiet().await;
    let (first, replayed, expired, renders) = app
        .between_polls(async || {
            let first = app.get("/services/web", None).await;
            let replayed = app.get("/services/web", None).await;
            app.clock.advance(MAX_AGE - Duration::from_secs(1));
            let still = app.get("/services/web", None).await;
            assert_eq!(still.etag(), first.etag());
            app.clock.advance(Duration::from_secs(2));
            let before = app.renders();
            let expired = app.get("/services/web", None).await;
            (first, replayed, expired, app.renders() - before)
        })
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(replayed.etag(), first.etag());
    assert_eq!(renders, 1, "rendered again once its time was up");
    assert_ne!(expired.etag(), first.etag());
    assert_ne!(expired.csp_nonce(), first.csp_nonce());
}

#[tokio::test]
async fn many_simultaneous_misses_render_once() {
    let app = spawn_quiet().await;
    let renders = app
        .between_polls(async || {
            // A URL nobody asked for before (each attempt its own).
            let path = format!("/history?service=api&n={}", app.stats().misses);
            let before = app.renders();
            let pages = futures::future::join_all((0..16).map(|_| app.get(&path, None))).await;
            for page in &pages {
                assert_eq!(page.status, 200);
                assert_eq!(page.body, pages[0].body);
            }
            app.renders() - before
        })
        .await;
    assert_eq!(renders, 1);
    assert!(app.stats().coalesced >= 1, "{:?}", app.stats());
}

/// The per-viewer entries of a private dashboard are still per viewer, and its redirect to
/// the login page is not stored.
#[tokio::test]
async fn a_private_dashboard_still_sends_visitors_to_the_login_page() {
    let world = DemoWorld::start(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        DemoScenario::Basic,
    )
    .await
    .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let text = world
        .config_text(Duration::from_secs(3600))
        .replace("public_status = true", "public_status = false");
    let store_url = format!("sqlite://{}", data_dir.path().join("demo.db").display());
    let lookup = |name: &str| {
        server::demo::DEMO_TOKENS
            .iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, token)| token.to_string())
            .or_else(|| (name == "DATABASE_URL").then(|| store_url.clone()))
    };
    let config = server::config::parse(&text, "page-cache-test", &lookup).unwrap();
    let cache = Arc::new(PageCache::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (_stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server::startup::run_with_page_cache(
        config,
        listener,
        async move {
            let _ = stopped.await;
        },
        cache.clone(),
    ));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut response = None;
    for _ in 0..100 {
        if let Ok(answer) = http.get(format!("{base}/")).send().await {
            response = Some(answer);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..2 {
        let response = match response.take() {
            Some(response) => response,
            None => http.get(format!("{base}/")).send().await.unwrap(),
        };
        assert_eq!(response.status(), 303);
        assert!(response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login"));
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
    assert_eq!(cache.stats().entries, 0);
    // A signed-in reader's pages are stored for them, and still marked no-store.
    let app = TestApp {
        base,
        world,
        http,
        cache,
        clock: Clock::default(),
        runbooks: tempfile::tempdir().unwrap(),
        reader: None,
        _data_dir: data_dir,
        _stop,
    };
    let viewer = app.signed_in("viewer", "viewer-demo").await;
    let app = TestApp {
        reader: Some(viewer.clone()),
        ..app
    };
    app.wait_for_first_polls().await;
    let (first, second) = app
        .between_polls(async || {
            (
                app.get("/history", Some(&viewer)).await,
                app.get("/history", Some(&viewer)).await,
            )
        })
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(second.etag(), first.etag());
    assert_eq!(second.header("cache-control"), Some("no-store"));
    assert!(second.html().contains(&viewer.csrf));
}
