//! The page cache (issue #19) on the whole server (port 0, demo simulators): a page is
//! rendered once per change and replayed — compressed, with its own headers and ETag — until
//! the snapshot, the stored deployments or the runbooks change or its time is up; a
//! signed-in visitor's page is never anyone else's; errors and cookies are never replayed.
//!
//! Each server gets its own `PageCache` (through `startup::run_with_page_cache`) with a
//! one-hour max age and a clock the test moves, so nothing here waits for time to pass.
//! Renders are counted by the router's app function (`PageCacheStats::renders`).

mod common;

use common::status::settled;
use common::wait::wait_until;
use common::{Browser, Page, TestApp};
use server::demo::DemoScenario;
use server::page_cache::{Clock, PageCache, PageCacheSettings, PageCacheStats};
use std::io::Read;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

const MAX_AGE: Duration = Duration::from_secs(3600);

const RUNBOOK: &str = "---\ntitle: API down\nservices: [api]\nseverity: critical\n---\n## First checks\n\nCurl the health endpoint.\n";

/// The server with a page cache the test holds: its counters, and a clock the test moves.
struct CachedApp {
    app: TestApp,
    cache: Arc<PageCache>,
    clock: Clock,
    /// Who reads `/api/v1/status` (a private dashboard's needs a signed-in reader).
    reader: Option<Browser>,
}

impl Deref for CachedApp {
    type Target = TestApp;

    fn deref(&self) -> &TestApp {
        &self.app
    }
}

/// A server polling providers and health endpoints every `interval`, with one runbook and a
/// one-hour max age, once the first polls are in.
async fn spawn_app(interval: Duration) -> CachedApp {
    let clock = Clock::default();
    let cache = Arc::new(PageCache::new(
        PageCacheSettings {
            max_age: MAX_AGE,
            ..PageCacheSettings::default()
        },
        clock.clone(),
    ));
    let app = TestApp::demo(DemoScenario::Basic)
        .poll_interval(interval)
        .runbooks(&[("api-down.md", RUNBOOK)])
        .page_cache(cache.clone())
        .start()
        .await;
    app.wait_until_settled().await;
    CachedApp {
        app,
        cache,
        clock,
        reader: None,
    }
}

/// A quiet server: providers and health endpoints are polled once at start and then only
/// every hour (after the first polls, nothing changes unless a test changes it).
async fn spawn_quiet() -> CachedApp {
    spawn_app(Duration::from_secs(3600)).await
}

impl CachedApp {
    async fn status(&self) -> serde_json::Value {
        self.app.status_as(self.reader.as_ref()).await
    }

    fn stats(&self) -> PageCacheStats {
        self.cache.stats()
    }

    fn renders(&self) -> u64 {
        self.stats().renders
    }

    /// `path` twice, between polls: both answers, and how many renders the second one took.
    async fn get_twice(&self, path: &str) -> (Page, Page, u64) {
        self.between_polls(async || {
            let first = self.page(path).await;
            let before = self.renders();
            let second = self.page(path).await;
            (first, second, self.renders() - before)
        })
        .await
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
    let (first, second, renders) = app.get_twice("/").await;
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
    let history = app.page("/history?service=web").await;
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
            let board = app.page("/").await;
            let history = app.page("/history").await;
            assert_eq!(app.page("/").await.etag(), board.etag());
            assert_eq!(app.page("/history").await.etag(), history.etag());
            (board, history)
        })
        .await;
    assert!(!board.text().contains(message));
    assert!(!history.text().contains(message));
    let (code, _) = app
        .control_deploy(
            ("web", "production"),
            "0c0ffee0c0ffee0c0ffee0c0ffee0c0ffee0c0ff",
            message,
            "Grace Hopper",
        )
        .await;
    assert!((200..300).contains(&code), "{code}");
    app.wait_for_status("the new deployment in the snapshot", |status| {
        status.to_string().contains(message)
    })
    .await;
    // …and new once the snapshot is (an hour's max age: only the new numbers can make these
    // pages new).
    assert!(app.page("/").await.text().contains(message));
    // The history reads the store, which the poll fills before it publishes.
    app.wait_for_page("/history", |page| page.contains(message))
        .await;
}

#[tokio::test]
async fn a_changed_runbook_renders_new_content() {
    let app = spawn_quiet().await;
    let list = app
        .between_polls(async || {
            let list = app.page("/runbooks").await;
            assert_eq!(app.page("/runbooks").await.etag(), list.etag());
            list
        })
        .await;
    assert!(list.text().contains("API down"));
    let page = app.page("/runbooks/api-down").await;
    assert_eq!(page.status, 200);
    assert!(page.header("etag").is_some());
    app.write_runbook(
        "api-down.md",
        &RUNBOOK.replace("title: API down", "title: API unreachable"),
    );
    app.wait_for_page("/runbooks", |list| list.contains("API unreachable"))
        .await;
    assert!(app
        .page("/runbooks/api-down")
        .await
        .text()
        .contains("API unreachable"));
}

#[tokio::test]
async fn a_signed_in_page_is_never_served_to_anyone_else() {
    let app = spawn_quiet().await;
    let admin = app.sign_in("admin").await;
    let viewer = app.sign_in("viewer").await;
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
                let page = app.fetch("/", browser, &[]).await;
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
    let admin_html = admin_page.text();
    assert!(admin_html.contains("who-name\">admin<"), "the admin's name");
    assert!(admin_html.contains(&admin.csrf), "the admin's CSRF token");
    let viewer_html = viewer_page.text();
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
        let html = page.text();
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
    assert!(admin_again.text().contains(&admin.csrf));
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
        ..Browser::default()
    };
    let page = app.page_as("/", &switched).await;
    assert!(page.text().contains("who-name\">viewer<"));
    assert_ne!(page.etag(), admin_page.etag());
}

#[tokio::test]
async fn cookies_are_never_replayed() {
    let app = spawn_quiet().await;
    let (first, second, renders) = app.get_twice("/").await;
    assert_eq!(renders, 0);
    assert_eq!(first.etag(), second.etag());
    // Each visitor without a cookie gets a CSRF cookie of its own, on a stored page too,
    // and the page does not carry it.
    let one = first.set_cookie("lookout_csrf").unwrap();
    let two = second.set_cookie("lookout_csrf").unwrap();
    assert_ne!(one, two);
    assert!(!second.text().contains(&one) && !second.text().contains(&two));
    assert!(!first.text().contains(&one));
    // The login page is never stored: it carries the cookie's token in its form.
    let before = app.stats();
    let login = app.page("/login").await;
    let token = login.set_cookie("lookout_csrf").unwrap();
    assert!(login.text().contains(&format!("value=\"{token}\"")));
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
            let page = app.page(path).await;
            assert_eq!(page.status, 404, "{path}");
            assert!(page.header("etag").is_none(), "{path}");
            assert_eq!(app.renders(), before + 1, "{path} rendered again");
        }
    }
    assert_eq!(app.stats().entries, 0);
    // While the board itself is stored.
    assert!(app.page("/").await.header("etag").is_some());
    assert_eq!(app.stats().entries, 1);
}

#[tokio::test]
async fn if_none_match_gets_304_without_a_body() {
    let app = spawn_quiet().await;
    let (page, revalidated, other) = app
        .between_polls(async || {
            let page = app.page("/").await;
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
                app.page("/").await,
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
    let admin = app.sign_in("admin").await;
    let (first, replayed, personal) = app
        .between_polls(async || {
            (
                app.page("/").await,
                app.page("/").await,
                app.page_as("/", &admin).await,
            )
        })
        .await;
    for page in [&first, &replayed, &personal] {
        let nonce = page.csp_nonce();
        let html = page.text();
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
            let first = app.page("/services/web").await;
            let replayed = app.page("/services/web").await;
            app.clock.advance(MAX_AGE - Duration::from_secs(1));
            let still = app.page("/services/web").await;
            assert_eq!(still.etag(), first.etag());
            app.clock.advance(Duration::from_secs(2));
            let before = app.renders();
            let expired = app.page("/services/web").await;
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
            let pages = futures::future::join_all((0..16).map(|_| app.page(&path))).await;
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
    let cache = Arc::new(PageCache::default());
    let app = TestApp::demo(DemoScenario::Basic)
        .poll_interval(Duration::from_secs(3600))
        .config_text(|text| text.replace("public_status = true", "public_status = false"))
        .page_cache(cache.clone())
        .start()
        .await;
    for _ in 0..2 {
        let page = app.page("/").await;
        assert_eq!(page.status, 303);
        assert!(page.location().starts_with("/login"));
        assert_eq!(page.header("cache-control"), Some("no-store"));
    }
    assert_eq!(cache.stats().entries, 0);
    // A signed-in reader's pages are stored for them, and still marked no-store.
    let viewer = app.sign_in("viewer").await;
    let app = CachedApp {
        app,
        cache,
        clock: Clock::default(),
        reader: Some(viewer.clone()),
    };
    wait_until("the monitor's first polls", || app.status(), settled).await;
    let (first, second) = app
        .between_polls(async || {
            (
                app.page_as("/history", &viewer).await,
                app.page_as("/history", &viewer).await,
            )
        })
        .await;
    assert_eq!(first.status, 200);
    assert_eq!(second.etag(), first.etag());
    assert_eq!(second.header("cache-control"), Some("no-store"));
    assert!(second.text().contains(&viewer.csrf));
}
