//! Runbooks through the whole server (port 0, demo simulators, a temporary runbooks folder):
//! the list, search and filters, a rendered page, images and path traversal, reload without
//! restart, broken front matter, links from service rows, and sanitized HTML.

mod common;

use common::TestApp;
use server::demo::DemoScenario;

const API_DOWN: &str = "---\ntitle: API down\nservices: [api]\nseverity: critical\ntags: [outage]\nlast_reviewed: 2020-01-01\n---\n## First checks\n\nCurl the `healthz` endpoint.\n\n```bash\ncurl -sS https://api.example.com/healthz\n```\n\nSee [rollback](rollback.md#render) and ![diagram](images/flow.png).\n";
const ROLLBACK: &str = "+++\ntitle = \"Rolling back\"\nservices = [\"api\", \"web\"]\nseverity = \"high\"\ntags = [\"rollback\"]\n+++\n## Render\n\nUse the dashboard's rollback button.\n";

/// The basic demo serving `files` as its runbooks (reloaded every 100 ms).
async fn spawn_app(files: &[(&str, &str)]) -> TestApp {
    TestApp::demo(DemoScenario::Basic)
        .runbooks(files)
        .start()
        .await
}

/// The rendered runbook body (between the article tags).
fn article(page: &str) -> &str {
    let start = page
        .find("<article class=\"runbook-body\"")
        .expect("the page has a runbook body");
    let end = page[start..].find("</article>").unwrap() + start;
    &page[start..end]
}

#[tokio::test]
async fn the_list_shows_every_runbook_and_searches_on_the_server() {
    let app = spawn_app(&[("api-down.md", API_DOWN), ("rollback.md", ROLLBACK)]).await;
    let (status, page) = app.get("/runbooks").await;
    assert_eq!(status, 200);
    assert!(page.contains("API down") && page.contains("Rolling back"));
    assert!(page.contains("2 runbooks"));
    // Critical first, and an old review is flagged.
    assert!(page.find("API down").unwrap() < page.find("Rolling back").unwrap());
    assert!(page.contains("Review overdue: last reviewed 2020-01-01"));

    let (_, found) = app.get("/runbooks?q=dashboard+button").await;
    assert!(found.contains("Rolling back") && !found.contains(">API down<"));
    assert!(found.contains("1 of 2 runbooks match"));
    let (_, none) = app.get("/runbooks?q=nothing-like-this").await;
    assert!(none.contains("No runbook matches"));
    let (_, tagged) = app.get("/runbooks?tag=outage").await;
    assert!(tagged.contains(">API down<") && !tagged.contains(">Rolling back<"));
    let (_, by_service) = app.get("/runbooks?service=web").await;
    assert!(by_service.contains(">Rolling back<") && !by_service.contains(">API down<"));

    // The server function answers the same, as JSON.
    let (status, json) = app.get("/api/runbooks?query[q]=healthz").await;
    assert_eq!(status, 200, "{json}");
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(list["runbooks"][0]["slug"], "api-down");
    assert_eq!(list["total"], 2);
}

/// Security #15: `q` used to be split into any number of words, each scanned over every
/// runbook's text, so one anonymous request could burn minutes of CPU. Now a search uses at
/// most 8 distinct words of its first 200 characters, looked up in an index, and says so.
#[tokio::test]
async fn a_search_of_thousands_of_words_is_cut_to_eight_and_says_so() {
    let app = spawn_app(&[("api-down.md", API_DOWN), ("rollback.md", ROLLBACK)]).await;
    let words: Vec<String> = (0..4000).map(|n| format!("w{n}")).collect();
    let q = format!("curl healthz {}", words.join(" "));
    let (status, json) = app
        .get(&format!("/api/runbooks?query[q]={}", q.replace(' ', "+")))
        .await;
    assert_eq!(status, 200, "{json}");
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(list["query_truncated"], true);
    let terms: Vec<&str> = list["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|term| term.as_str().unwrap())
        .collect();
    assert_eq!(
        terms,
        ["curl", "healthz", "w0", "w1", "w2", "w3", "w4", "w5"]
    );
    assert!(list["runbooks"].as_array().unwrap().is_empty());

    let (status, page) = app
        .get(&format!("/runbooks?q={}", q.replace(' ', "+")))
        .await;
    assert_eq!(status, 200);
    assert!(page.contains("data-search-truncated"), "{page}");
    assert!(page.contains("only the first 8 words"));
    assert!(page.contains("maxlength=\"200\""));
    // A search within the caps finds what it did before, without the note.
    let (_, page) = app.get("/runbooks?q=curl+healthz").await;
    assert!(page.contains(">API down<") && !page.contains("data-search-truncated"));
}

#[tokio::test]
async fn a_runbook_page_has_its_contents_anchors_and_rewritten_links() {
    let app = spawn_app(&[("api-down.md", API_DOWN), ("rollback.md", ROLLBACK)]).await;
    let (status, page) = app.get("/runbooks/api-down").await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r##"<a href="#rb-first-checks">First checks</a>"##),
        "toc"
    );
    let body = article(&page);
    assert!(body.contains(r#"<h2 id="rb-first-checks">"#));
    assert!(body.contains(r#"<code class="language-bash">"#));
    assert!(body.contains(r#"href="/runbooks/rollback#rb-render""#));
    assert!(body.contains(r#"src="/runbooks/assets/images/flow.png""#));
    assert!(page.contains(r#"href="/services/api""#));
    // The plain script that adds copy buttons and the service worker.
    assert!(page.contains(r#"<script src="/lookout.js" defer"#));

    let (status, missing) = app.get("/runbooks/no-such-runbook").await;
    assert_eq!(status, 404, "a page saying so, with the status to match");
    assert!(missing.contains("Runbook not found"));
}

#[tokio::test]
async fn images_are_served_from_the_folder_and_nothing_else_is() {
    let app = spawn_app(&[("api-down.md", API_DOWN)]).await;
    app.write_runbook("images/flow.png", "\u{89}PNG fake");
    app.write_runbook("images/bad.svg", "<svg onload=\"alert(1)\"/>");
    app.write_runbook("notes.txt", "not an image");
    std::fs::write(
        app.runbooks_dir().parent().unwrap().join("outside.png"),
        "secret",
    )
    .ok();

    let image = app.page("/runbooks/assets/images/flow.png").await;
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), Some("image/png"));

    // An SVG opened on its own cannot run its script.
    let svg = app.page("/runbooks/assets/images/bad.svg").await;
    assert_eq!(svg.status, 200);
    let csp = svg.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("sandbox"));

    for path in [
        "/runbooks/assets/../outside.png",
        "/runbooks/assets/%2e%2e/outside.png",
        "/runbooks/assets/images/%2e%2e/%2e%2e/outside.png",
        "/runbooks/assets/..%2foutside.png",
        "/runbooks/assets/%2fetc%2fpasswd.png",
    ] {
        let (status, body) = app.raw_get(path).await;
        assert!(
            status == 400 || status == 404,
            "{path} answered {status}: {body}"
        );
        assert!(!body.contains("secret"), "{path} leaked a file outside");
    }
    let (status, _) = app.get("/runbooks/assets/notes.txt").await;
    assert_eq!(status, 404, "only images are served");
    let (status, _) = app.get("/runbooks/assets/api-down.md").await;
    assert_eq!(status, 404, "markdown sources are not served");
}

#[tokio::test]
async fn changes_on_disk_show_without_a_restart_and_a_broken_edit_keeps_the_last_good_version() {
    let app = spawn_app(&[("api-down.md", API_DOWN)]).await;
    app.write_runbook(
        "new-one.md",
        "---\ntitle: Queue backlog\nservices: [worker]\n---\nDrain it.\n",
    );
    app.wait_for_page("/runbooks", |page| page.contains("Queue backlog"))
        .await;

    app.write_runbook(
        "new-one.md",
        "---\ntitle: Queue backlog, revised\nservices: [worker]\n---\nDrain it slowly.\n",
    );
    app.wait_for_page("/runbooks/new-one", |page| {
        page.contains("Queue backlog, revised") && page.contains("Drain it slowly.")
    })
    .await;

    // A half-written file (front matter never closed): the last good version stays.
    app.write_runbook("new-one.md", "---\ntitle: Queue back");
    let page = app
        .wait_for_page("/runbooks/new-one", |page| {
            page.contains("last good version")
        })
        .await;
    assert!(page.contains("Queue backlog, revised"));
    assert!(page.contains("Drain it slowly."));

    std::fs::remove_file(app.runbooks_dir().join("new-one.md")).unwrap();
    app.wait_for_page("/runbooks", |page| !page.contains("Queue backlog"))
        .await;
}

#[tokio::test]
async fn broken_front_matter_is_reported_with_its_line_and_does_not_break_the_list() {
    let app = spawn_app(&[
        ("api-down.md", API_DOWN),
        (
            "broken.md",
            "---\ntitle: Broken one\nseverity: apocalyptic\nservices: [api\n---\nStill readable.\n",
        ),
        (
            "typo.md",
            "---\ntitle: Typo\nseverity: apocalyptic\n---\nBody.\n",
        ),
    ])
    .await;
    let (status, list) = app.get("/runbooks").await;
    assert_eq!(status, 200);
    assert!(list.contains(">API down<"));
    assert!(list.contains(">Typo<"));
    // A file whose front matter cannot be parsed still shows, under its file name.
    assert!(list.contains(">broken<"), "{list}");
    assert!(list.contains("problem in this file"));

    let (_, typo) = app.get("/runbooks/typo").await;
    assert!(typo.contains("typo.md:3: severity:"), "{typo}");
    assert!(typo.contains("Body."));
    let (_, broken) = app.get("/runbooks/broken").await;
    assert!(broken.contains("broken.md:"), "file and line");
    assert!(broken.contains("Still readable."));
}

#[tokio::test]
async fn service_rows_link_their_runbooks_and_a_degraded_service_shows_them_first() {
    let app = spawn_app(&[("api-down.md", API_DOWN), ("rollback.md", ROLLBACK)]).await;
    // In the basic demo, api in production is degraded.
    let home = app
        .wait_for_page("/", |page| page.contains("aria-label=\"Runbooks for api\""))
        .await;
    let row_start = home.find("data-service=\"api\"").unwrap();
    let row_end = home[row_start + 1..]
        .find("data-service=")
        .map_or(home.len(), |end| row_start + 1 + end);
    let row = &home[row_start..row_end];
    let runbooks = row.find("Runbooks for api").unwrap();
    let version = row.find("svc-version").unwrap();
    assert!(
        runbooks < version,
        "the runbooks come first on a degraded row"
    );
    assert!(row.contains(r#"href="/runbooks/api-down""#));
    // A healthy service gets one quiet link.
    assert!(home.contains(r#"href="/runbooks?service=web""#));

    let (_, service) = app.get("/services/api").await;
    assert!(service.contains(r#"href="/runbooks/api-down""#));
    assert!(service.contains(r#"href="/runbooks/rollback""#));
    // The live stream carries no runbook HTML.
    let (_, status) = app.get("/api/v1/status").await;
    assert!(!status.contains("runbook"));
}

#[tokio::test]
async fn hostile_markdown_renders_inert() {
    let hostile = "---\ntitle: Hostile\n---\n<script>alert('script')</script>\n\n[x](javascript:alert('link'))\n\n<img src=x onerror=\"alert('handler')\">\n\n<iframe src=\"https://evil.example\"></iframe>\n\n<svg><script>alert('svg')</script></svg>\n\n<!-- --><script>alert('comment')</script> -->\n";
    let app = spawn_app(&[("hostile.md", hostile)]).await;
    let (status, page) = app.get("/runbooks/hostile").await;
    assert_eq!(status, 200);
    let body = article(&page).to_lowercase();
    for needle in [
        "<script",
        "javascript:",
        "onerror",
        "<iframe",
        "<svg",
        "alert(",
    ] {
        assert!(!body.contains(needle), "`{needle}` survived:\n{body}");
    }
    // The raw HTML is not smuggled through the hydration data either.
    assert!(!page.contains("<script>alert("));
}
