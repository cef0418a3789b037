use super::*;
use std::sync::atomic::AtomicUsize;

/// Counts the renders of a test's render closures (shared by clones, for spawned requests).
#[derive(Clone, Default)]
struct Renders(Arc<AtomicUsize>);

impl Renders {
    /// Counts one render; returns how many came before it.
    fn count(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst)
    }

    fn total(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// A cache with `settings` on its own clock.
fn cache_with(settings: PageCacheSettings) -> PageCache {
    PageCache::new(settings, Clock::default())
}

fn key(target: &str) -> PageKey {
    PageKey {
        target: target.into(),
        viewer: Viewer::Shared([0; 32]),
    }
}

fn page(body: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CONTENT_SECURITY_POLICY, "script-src 'nonce-abc'"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn plain() -> Negotiation {
    Negotiation::of(&HeaderMap::new())
}

async fn text(response: Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn the_brotli_window_is_the_smallest_that_holds_the_page() {
    assert_eq!(brotli_window_bits(0), 16);
    assert_eq!(brotli_window_bits(20_000), 16);
    // 2^17 < 150,000 < 2^18
    assert_eq!(brotli_window_bits(150_000), 18);
    assert_eq!(brotli_window_bits(4 * 1024 * 1024), 22);
    assert_eq!(brotli_window_bits(usize::MAX), 22);
    // And a body larger than the window still round-trips.
    let body: Vec<u8> = (0..300_000u32)
        .flat_map(|index| format!("<li>row {index}</li>").into_bytes())
        .take(300_000)
        .collect();
    let compressed = brotli(&body).unwrap();
    let mut decoded = Vec::new();
    ::brotli::BrotliDecompress(&mut &compressed[..], &mut decoded).unwrap();
    assert_eq!(decoded, body);
}

#[test]
fn accept_encoding_picks_brotli_then_gzip_by_q_value() {
    let coding = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        Coding::accepted(&headers)
    };
    assert_eq!(Coding::accepted(&HeaderMap::new()), Coding::Identity);
    assert_eq!(coding("gzip, deflate, br, zstd"), Coding::Brotli);
    assert_eq!(coding("gzip"), Coding::Gzip);
    assert_eq!(coding("br;q=0.5, gzip;q=0.8"), Coding::Gzip);
    assert_eq!(coding("br;q=0, gzip;q=0"), Coding::Identity);
    assert_eq!(coding("*"), Coding::Brotli);
    assert_eq!(coding("identity"), Coding::Identity);
    assert_eq!(coding("br;q=nonsense, gzip"), Coding::Gzip);
}

#[test]
fn only_the_pages_are_cached() {
    for cached in [
        "/",
        "/history",
        "/services/api",
        "/runbooks",
        "/runbooks/database-failover",
    ] {
        assert!(is_cached_path(cached), "{cached}");
    }
    for passed in [
        "/login",
        "/logout",
        "/audit",
        "/rollback",
        "/rollbacks/3",
        "/api/status",
        "/api/v1/status",
        "/api/events",
        "/pkg/app.js",
        "/healthz",
        "/readyz",
        "/sw.js",
        "/services/",
        "/services/api/extra",
        "/runbooks/assets",
        "/runbooks/assets/diagram.png",
    ] {
        assert!(!is_cached_path(passed), "{passed}");
    }
}

#[test]
fn a_personal_viewer_is_its_principal_csrf_cookie_and_session() {
    use app::auth::{Identity, Role};
    let user = |name: &str, csrf: &str, session: Option<&str>| RequestAuth {
        principal: Principal::User(Identity {
            name: name.into(),
            role: Role::Admin,
            deploy_environments: None,
        }),
        csrf_token: csrf.into(),
        remote_addr: Some("127.0.0.1".into()),
        session_sha256: session.map(str::to_string),
    };
    let of = |auth: &RequestAuth| {
        Viewer::of(auth, AuthMode::Password, Some(auth.csrf_token.as_str())).unwrap()
    };
    let admin = of(&user("admin", "t1", Some("s1")));
    assert!(!admin.is_shared());
    assert_eq!(admin, of(&user("admin", "t1", Some("s1"))));
    assert_ne!(
        admin,
        of(&user("admin", "t2", Some("s1"))),
        "another browser"
    );
    assert_ne!(
        admin,
        of(&user("admin", "t1", Some("s2"))),
        "another session"
    );
    assert_ne!(admin, of(&user("viewer", "t1", Some("s1"))), "another user");
    // A token made for this response: not stored.
    let fresh = user("admin", "t1", Some("s1"));
    assert!(Viewer::of(&fresh, AuthMode::Password, None).is_none());
    assert!(Viewer::of(&fresh, AuthMode::Password, Some("other")).is_none());
    // Everyone without a session shares; so does the open mode's one principal.
    let anonymous = |csrf: &str| RequestAuth {
        principal: Principal::Anonymous,
        csrf_token: csrf.into(),
        remote_addr: None,
        session_sha256: None,
    };
    let first = Viewer::of(&anonymous("a"), AuthMode::Password, Some("a")).unwrap();
    assert!(first.is_shared());
    assert_eq!(
        first,
        Viewer::of(&anonymous("b"), AuthMode::Password, None).unwrap()
    );
    let open = Viewer::of(&user("anyone", "a", None), AuthMode::Open, None).unwrap();
    assert!(open.is_shared());
    assert_ne!(open, first);
    let token = RequestAuth {
        principal: Principal::ApiToken { name: "ci".into() },
        ..anonymous("a")
    };
    assert!(Viewer::of(&token, AuthMode::Password, Some("a")).is_none());
}

#[tokio::test]
async fn a_page_is_rendered_once_and_replayed_with_its_headers() {
    let cache = PageCache::default();
    let renders = Renders::default();
    let render = || async {
        renders.count();
        page("<p>hello</p>")
    };
    let generations = Generations::default();
    let first = cache.serve(key("/"), generations, plain(), render).await;
    let etag = first.headers()[header::ETAG].clone();
    let second = cache.serve(key("/"), generations, plain(), render).await;
    assert_eq!(renders.total(), 1);
    assert_eq!(second.headers()[header::ETAG], etag);
    assert_eq!(
        second.headers()[header::CONTENT_SECURITY_POLICY],
        "script-src 'nonce-abc'"
    );
    assert_eq!(second.headers()[header::VARY], "accept-encoding");
    assert_eq!(text(second).await, "<p>hello</p>");
    let stats = cache.stats();
    assert_eq!((stats.misses, stats.hits, stats.stored), (1, 1, 1));
}

#[tokio::test]
async fn responses_that_are_not_plain_200_html_are_never_stored() {
    let cache = PageCache::default();
    let generations = Generations::default();
    type Make = fn() -> Response;
    let cases: Vec<(&str, Make)> = vec![
        ("/404", || {
            (StatusCode::NOT_FOUND, page("gone")).into_response()
        }),
        ("/cookie", || {
            let mut response = page("cookie");
            response
                .headers_mut()
                .insert(header::SET_COOKIE, HeaderValue::from_static("a=b"));
            response
        }),
        ("/no-store", || {
            let mut response = page("secret");
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }),
        ("/json", || "{}".into_response()),
        ("/redirect", || {
            axum::response::Redirect::to("/login").into_response()
        }),
    ];
    for (target, make) in cases {
        let renders = Renders::default();
        let render = || async {
            renders.count();
            make()
        };
        for _ in 0..2 {
            let response = cache.serve(key(target), generations, plain(), render).await;
            assert!(response.headers().get(header::ETAG).is_none(), "{target}");
        }
        assert_eq!(renders.total(), 2, "{target}");
    }
    assert_eq!(cache.stats().stored, 0);
    assert_eq!(cache.stats().entries, 0);
}

#[tokio::test]
async fn new_numbers_drop_every_entry_and_old_numbers_bypass() {
    let cache = PageCache::default();
    let renders = Renders::default();
    let render = || async {
        let n = renders.count();
        page(&format!("render {n}"))
    };
    let first = Generations::default();
    let next = Generations {
        snapshot: 1,
        ..first
    };
    cache.serve(key("/"), first, plain(), render).await;
    cache.serve(key("/history"), first, plain(), render).await;
    assert_eq!(cache.stats().entries, 2);
    let page_now = cache.serve(key("/"), next, plain(), render).await;
    assert_eq!(text(page_now).await, "render 2");
    assert_eq!(
        cache.stats().entries,
        1,
        "the old numbers' entries are gone"
    );
    // A request that read the numbers before they moved renders and stores nothing.
    let late = cache.serve(key("/history"), first, plain(), render).await;
    assert_eq!(text(late).await, "render 3");
    assert_eq!(cache.stats().entries, 1);
    for moved in [
        Generations {
            deployments: 1,
            ..next
        },
        Generations {
            runbooks: 1,
            deployments: 1,
            ..next
        },
    ] {
        let before = renders.total();
        cache.serve(key("/"), moved, plain(), render).await;
        assert_eq!(renders.total(), before + 1);
    }
}

#[tokio::test]
async fn entries_expire_after_max_age_on_the_clock() {
    let clock = Clock::default();
    let cache = PageCache::new(
        PageCacheSettings {
            max_age: Duration::from_secs(3600),
            ..PageCacheSettings::default()
        },
        clock.clone(),
    );
    let renders = Renders::default();
    let render = || async {
        renders.count();
        page("x")
    };
    let generations = Generations::default();
    cache.serve(key("/"), generations, plain(), render).await;
    clock.advance(Duration::from_secs(3599));
    cache.serve(key("/"), generations, plain(), render).await;
    assert_eq!(renders.total(), 1);
    clock.advance(Duration::from_secs(2));
    cache.serve(key("/"), generations, plain(), render).await;
    assert_eq!(renders.total(), 2);
}

#[tokio::test]
async fn the_cache_keeps_within_its_entry_and_byte_bounds() {
    let cache = cache_with(PageCacheSettings {
        max_entries: 3,
        ..PageCacheSettings::default()
    });
    let generations = Generations::default();
    for n in 0..10 {
        let target = format!("/services/s{n}");
        cache
            .serve(key(&target), generations, plain(), || async { page("x") })
            .await;
        // The first stays in use, so it is never the least recently used.
        cache
            .serve(key("/services/s0"), generations, plain(), || async {
                page("x")
            })
            .await;
    }
    assert_eq!(cache.stats().entries, 3);
    let hits = cache.stats().hits;
    cache
        .serve(key("/services/s0"), generations, plain(), || async {
            page("re-rendered")
        })
        .await;
    assert_eq!(cache.stats().hits, hits + 1, "the entry in use was kept");

    let small = cache_with(PageCacheSettings {
        max_bytes: 4096,
        ..PageCacheSettings::default()
    });
    let big = "x".repeat(3000);
    for n in 0..4 {
        let big = big.clone();
        small
            .serve(
                key(&format!("/services/s{n}")),
                generations,
                plain(),
                || async move { page(&big) },
            )
            .await;
    }
    let stats = small.stats();
    assert!(stats.bytes <= 4096, "{stats:?}");
    assert_eq!(stats.entries, 1);
}

#[tokio::test]
async fn many_misses_at_once_render_once() {
    let cache = Arc::new(PageCache::default());
    let renders = Renders::default();
    let (release, released) = watch::channel(false);
    let generations = Generations::default();
    let mut requests = Vec::new();
    for _ in 0..20 {
        let cache = cache.clone();
        let renders = renders.clone();
        let mut released = released.clone();
        requests.push(tokio::spawn(async move {
            let response = cache
                .serve(key("/"), generations, plain(), || async move {
                    renders.count();
                    // Held until every request has asked.
                    let _ = released.wait_for(|go| *go).await;
                    page("once")
                })
                .await;
            text(response).await
        }));
    }
    while cache.stats().coalesced < 19 {
        tokio::task::yield_now().await;
    }
    release.send_replace(true);
    for request in requests {
        assert_eq!(request.await.unwrap(), "once");
    }
    assert_eq!(renders.total(), 1);
    assert_eq!(cache.stats().misses, 1);
}

#[tokio::test]
async fn waiters_render_themselves_when_the_first_render_is_not_stored() {
    let cache = Arc::new(PageCache::default());
    let renders = Renders::default();
    let (release, released) = watch::channel(false);
    let generations = Generations::default();
    let leader = {
        let cache = cache.clone();
        let renders = renders.clone();
        let mut released = released.clone();
        tokio::spawn(async move {
            cache
                .serve(key("/"), generations, plain(), || async move {
                    renders.count();
                    let _ = released.wait_for(|go| *go).await;
                    (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
                })
                .await
                .status()
        })
    };
    while cache.stats().misses < 1 {
        tokio::task::yield_now().await;
    }
    let waiter = {
        let cache = cache.clone();
        let renders = renders.clone();
        tokio::spawn(async move {
            text(
                cache
                    .serve(key("/"), generations, plain(), || async move {
                        renders.count();
                        page("own render")
                    })
                    .await,
            )
            .await
        })
    };
    while cache.stats().coalesced < 1 {
        tokio::task::yield_now().await;
    }
    release.send_replace(true);
    assert_eq!(leader.await.unwrap(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(waiter.await.unwrap(), "own render");
    assert_eq!(renders.total(), 2);
    // A leader that goes away (its request dropped) frees the key too.
    let abandoned = {
        let cache = cache.clone();
        tokio::spawn(async move {
            cache
                .serve(key("/gone"), generations, plain(), || {
                    std::future::pending::<Response>()
                })
                .await
        })
    };
    while cache.stats().misses < 2 {
        tokio::task::yield_now().await;
    }
    abandoned.abort();
    let _ = abandoned.await;
    let after = cache
        .serve(key("/gone"), generations, plain(), || async {
            page("back")
        })
        .await;
    assert_eq!(text(after).await, "back");
}

#[tokio::test]
async fn etags_are_per_coding_and_if_none_match_gets_304_with_the_pages_headers() {
    let cache = PageCache::default();
    let generations = Generations::default();
    let body = "<p>compressible</p>".repeat(200);
    let render = || async { page(&body) };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("br, gzip"),
    );
    let br = cache
        .serve(key("/"), generations, Negotiation::of(&headers), render)
        .await;
    assert_eq!(br.headers()[header::CONTENT_ENCODING], "br");
    let br_etag = br.headers()[header::ETAG].to_str().unwrap().to_string();
    let mut decoded = Vec::new();
    brotli::BrotliDecompress(
        &mut &axum::body::to_bytes(br.into_body(), usize::MAX)
            .await
            .unwrap()[..],
        &mut decoded,
    )
    .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), body);
    let identity = cache.serve(key("/"), generations, plain(), render).await;
    let identity_etag = identity.headers()[header::ETAG]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(br_etag, identity_etag);
    assert!(br_etag.starts_with('"') && br_etag.ends_with("-br\""));

    headers.insert(
        header::IF_NONE_MATCH,
        HeaderValue::from_str(&format!("\"other\", W/{br_etag}")).unwrap(),
    );
    let revalidated = cache
        .serve(key("/"), generations, Negotiation::of(&headers), render)
        .await;
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        revalidated.headers()[header::CONTENT_SECURITY_POLICY],
        "script-src 'nonce-abc'",
        "a 304 updates the browser's stored headers: the policy must match its body"
    );
    assert!(text(revalidated).await.is_empty());
    // The identity copy's tag does not validate the brotli copy.
    headers.insert(
        header::IF_NONE_MATCH,
        HeaderValue::from_str(&identity_etag).unwrap(),
    );
    let other = cache
        .serve(key("/"), generations, Negotiation::of(&headers), render)
        .await;
    assert_eq!(other.status(), StatusCode::OK);
}
