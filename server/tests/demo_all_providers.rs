//! The all-providers demo scenario (`lookout serve --demo all`): the whole server on port 0
//! against every simulator, read back through `/api/v1/status`; and both scenarios' config
//! text as a user's config file.

mod common;

use common::cli::{folder_with, lookout, succeeds, with_demo_tokens};
use common::status::{environment, row, rows, services_of};
use common::TestApp;
use server::demo::{demo_config_text, DemoScenario, DEMO_TOKENS};
use std::time::Duration;

/// The all-providers demo, once every row has been polled and every health check (Supabase's
/// included: it has no deployments to poll) has answered.
async fn spawn_app() -> TestApp {
    let app = TestApp::demo(DemoScenario::AllProviders).start().await;
    app.wait_until_settled().await;
    app
}

/// `(environment, service, provider kind, live commit sha)` of every configured row with
/// deployments, as seeded.
const LIVE_COMMITS: [(&str, &str, &str, &str); 16] = [
    (
        "production",
        "storefront",
        "netlify",
        "3d1dbf97fb31c37d14c8a9f590c22e13bffdba1c",
    ),
    (
        "staging",
        "storefront",
        "netlify",
        "bc0bef0ec5174fe455d7d124787ac63908ddacf7",
    ),
    (
        "production",
        "api",
        "railway",
        "6c518e5d94aefed997393437343e85c85e9b1961",
    ),
    (
        "staging",
        "api",
        "railway",
        "d06b07fa8057544518a8da33fab64766e9d2a160",
    ),
    (
        "production",
        "admin",
        "heroku",
        "1174ab8fd7f611a626eb7a3deb1447f75cc29042",
    ),
    (
        "staging",
        "admin",
        "heroku",
        "458cab49e512b59c2a2140d9be9e4a810fe360d4",
    ),
    (
        "production",
        "docs",
        "cloudflare_pages",
        "422be3504b5111857799e0234035bd2b2ecef2f5",
    ),
    (
        "production",
        "billing",
        "digitalocean",
        "f1cfd0893c21403315f2e714c0475ae65bea22f9",
    ),
    (
        "staging",
        "billing",
        "digitalocean",
        "effcb1454ce98e20569521cb73206c5b25b461db",
    ),
    (
        "production",
        "marketing",
        "vercel",
        "8e08e610c6e65a1c41253ea02fcc870cceaf75a4",
    ),
    (
        "staging",
        "marketing",
        "vercel",
        "b1ed8ce589df2df4116a04d2ec75ba230a5123a5",
    ),
    (
        "production",
        "webhooks",
        "render",
        "f74234d5101d2ecaf9774e065b9ddd501bb84ca8",
    ),
    (
        "staging",
        "webhooks",
        "render",
        "66d4360d60edad1be49cb529e39298857106debc",
    ),
    (
        "production",
        "search",
        "github",
        "d13505e217f514220d21637b00fb3f632ab865e1",
    ),
    (
        "staging",
        "search",
        "github",
        "e5f02b8c0aa21b72f55879c2841783ba9e9fd700",
    ),
    (
        "preview/feature/gift-cards",
        "storefront",
        "netlify",
        "18e3309d437099e55503fa074a40fdd72c263b4c",
    ),
];

#[tokio::test]
async fn every_provider_shows_its_services_live_in_each_environment() {
    let app = spawn_app().await;
    let status = app.status().await;
    assert_eq!(status["demo"], true);

    let names: Vec<&str> = status["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|env| env["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "production",
            "staging",
            "preview/docs/webhook-retries",
            "preview/feature/gift-cards"
        ]
    );
    assert_eq!(
        services_of(&status, "production"),
        [
            "storefront",
            "api",
            "worker",
            "admin",
            "docs",
            "billing",
            "marketing",
            "webhooks",
            "search",
            "db"
        ]
    );
    // docs has no staging: Cloudflare Pages serves production and branch previews only.
    assert_eq!(
        services_of(&status, "staging"),
        [
            "storefront",
            "api",
            "worker",
            "admin",
            "billing",
            "marketing",
            "webhooks",
            "search",
            "db"
        ]
    );

    for (environment_name, service, provider, sha) in LIVE_COMMITS {
        let row = row(&status, environment_name, service);
        assert_eq!(row["provider"], provider, "{service} in {environment_name}");
        assert_eq!(
            row["live"]["commit_sha"], sha,
            "{service} in {environment_name}: {row:#}"
        );
        assert_eq!(
            row["live"]["state"], "ready",
            "{service} in {environment_name}"
        );
    }

    // Messages and authors where the provider records them.
    let storefront = row(&status, "production", "storefront");
    assert_eq!(
        storefront["live"]["commit_message"],
        "Lazy-load product reviews"
    );
    // Netlify's deploy shape names no commit author.
    assert!(storefront["live"]["author"].is_null());
    assert_eq!(storefront["live_url"], "https://shop.acme.example");
    let api = row(&status, "production", "api");
    assert_eq!(api["live"]["commit_message"], "Add gift card ledger tables");
    assert_eq!(api["live"]["author"], "Jonas Weber");
    let marketing = row(&status, "staging", "marketing");
    assert_eq!(
        marketing["live"]["commit_message"],
        "Try a shorter hero headline"
    );
    assert_eq!(marketing["live"]["author"], "Luis Ortega");
    let search = row(&status, "production", "search");
    // GitHub names the deployment's creator by login.
    assert_eq!(search["live"]["author"], "priyaraman");
    let docs = row(&status, "production", "docs");
    assert_eq!(docs["live"]["commit_message"], "Add a rate limits guide");
    // Heroku names the releasing user, not the commit's author.
    let admin = row(&status, "production", "admin");
    assert_eq!(admin["live"]["author"], "dana.park@acme.example");
    // App Platform has no commit message: its `cause` stands in.
    let billing = row(&status, "production", "billing");
    assert_eq!(
        billing["live"]["commit_message"],
        "commit f1cfd08 pushed to github/acme/billing"
    );

    // Fly releases record no commit: the live version is the current release.
    for (environment_name, app_name) in [
        ("production", "acme-worker"),
        ("staging", "acme-worker-staging"),
    ] {
        let worker = row(&status, environment_name, "worker");
        assert_eq!(worker["provider"], "fly");
        assert_eq!(
            worker["live"]["id"].as_str(),
            app.world().fly.current_release_id(app_name).as_deref(),
            "worker in {environment_name}: {worker:#}"
        );
        assert_eq!(worker["live"]["state"], "ready");
        assert!(worker["live"]["commit_sha"].is_null());
    }
    assert_eq!(
        row(&status, "production", "worker")["live"]["author"],
        "Tom Okafor"
    );
    assert_eq!(
        row(&status, "staging", "worker")["live"]["author"],
        "Sam Lee"
    );

    // Every other row has a live version too (Supabase has no deployments, only health).
    for (environment_name, row) in rows(&status) {
        if row["provider"] != "supabase" {
            assert!(
                row["live"].is_object(),
                "{} in {environment_name} has no live version: {row:#}",
                row["service"]
            );
        }
        assert_eq!(
            row["poll"]["stale"], false,
            "{} in {environment_name} is stale: {row:#}",
            row["service"]
        );
    }
}

#[tokio::test]
async fn deploys_in_flight_and_failed_show_as_pending() {
    let app = spawn_app().await;
    let status = app.status().await;

    let api = row(&status, "staging", "api");
    assert_eq!(api["pending"]["state"], "failed");
    assert_eq!(
        api["pending"]["commit_message"],
        "Move order search to Postgres full-text"
    );

    let webhooks = row(&status, "production", "webhooks");
    assert_eq!(webhooks["pending"]["state"], "building");
    assert_eq!(
        webhooks["pending"]["commit_sha"],
        "66d4360d60edad1be49cb529e39298857106debc"
    );

    let storefront = row(&status, "staging", "storefront");
    assert_eq!(storefront["pending"]["state"], "building");
    assert_eq!(
        storefront["pending"]["commit_message"],
        "Collapse the address form on mobile"
    );

    let worker = row(&status, "staging", "worker");
    let state = worker["pending"]["state"].as_str().unwrap_or_default();
    assert!(
        matches!(state, "building" | "deploying"),
        "the worker's next release is rolling out: {worker:#}"
    );
}

#[tokio::test]
async fn previews_carry_branch_and_pull_request() {
    let app = spawn_app().await;
    let status = app.status().await;

    let gift_cards = environment(&status, "preview/feature/gift-cards");
    assert_eq!(gift_cards["kind"], "preview");
    assert_eq!(gift_cards["branch"], "feature/gift-cards");
    assert_eq!(gift_cards["pr_number"], 214);
    assert_eq!(
        services_of(&status, "preview/feature/gift-cards"),
        ["storefront", "api"]
    );
    let storefront = row(&status, "preview/feature/gift-cards", "storefront");
    assert_eq!(storefront["provider"], "netlify");
    assert_eq!(storefront["live"]["pr_number"], 214);
    assert_eq!(storefront["live"]["branch"], "feature/gift-cards");
    assert_eq!(
        storefront["live"]["commit_message"],
        "Redeem gift cards at checkout"
    );
    let api = row(&status, "preview/feature/gift-cards", "api");
    assert_eq!(api["provider"], "railway");
    assert_eq!(api["live"]["pr_number"], 214);
    assert_eq!(
        api["live"]["commit_sha"],
        "cdecdb62df697210ed348b5a1d7318e852ad8fce"
    );

    // A Pages branch preview: a branch, no pull request (Pages records none).
    let docs_preview = environment(&status, "preview/docs/webhook-retries");
    assert_eq!(docs_preview["branch"], "docs/webhook-retries");
    assert!(docs_preview["pr_number"].is_null());
    let docs = row(&status, "preview/docs/webhook-retries", "docs");
    assert_eq!(docs["provider"], "cloudflare_pages");
    assert_eq!(
        docs["live"]["commit_sha"],
        "1e2229beb1f51e955f9fc8944029a190aadaa90c"
    );
    assert_eq!(docs["live"]["branch"], "docs/webhook-retries");
}

#[tokio::test]
async fn supabase_staging_is_degraded_while_a_service_comes_up() {
    let app = spawn_app().await;
    let status = app.status().await;
    let production = row(&status, "production", "db");
    assert_eq!(production["provider"], "supabase");
    assert_eq!(production["health"]["state"], "up");
    let staging = row(&status, "staging", "db");
    assert_eq!(staging["provider"], "supabase");
    assert_eq!(staging["health"]["state"], "degraded", "{staging:#}");
    assert!(
        staging["health"]["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("realtime"),
        "{staging:#}"
    );
    // The HTTP checks answer too.
    assert_eq!(
        row(&status, "production", "storefront")["health"]["state"],
        "up"
    );
}

#[tokio::test]
async fn the_control_api_deploys_the_new_services() {
    let app = spawn_app().await;
    let deploy = |service, sha, message| {
        app.control_deploy((service, "staging"), sha, message, "Test Pilot")
    };
    let (code, body) = deploy(
        "storefront",
        "0123456789abcdef0123456789abcdef01234567",
        "Staging through the control API",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = deploy(
        "admin",
        "89abcdef0123456789abcdef0123456789abcdef",
        "Heroku through the control API",
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = deploy("docs", "00", "docs has no staging").await;
    assert_eq!(code, 400);
    assert!(body["error"].as_str().unwrap().contains("docs"), "{body}");
    let (code, _) = app
        .control(
            "/_control/fault",
            serde_json::json!({"provider": "cloudflare", "fault": null}),
        )
        .await;
    assert_eq!(code, 204);

    let status = app
        .wait_for_status("the control deployments going live", |status| {
            row(status, "staging", "storefront")["live"]["commit_sha"]
                == "0123456789abcdef0123456789abcdef01234567"
                && row(status, "staging", "admin")["live"]["commit_sha"]
                    == "89abcdef0123456789abcdef0123456789abcdef"
        })
        .await;
    // The staging branch deploy went to staging, not to a preview of `main`.
    assert_eq!(
        row(&status, "staging", "storefront")["live"]["branch"],
        "staging"
    );
}

fn demo_env(name: &str) -> Option<String> {
    DEMO_TOKENS
        .iter()
        .find(|(variable, _)| *variable == name)
        .map(|(_, token)| (*token).to_string())
}

#[test]
fn both_scenarios_config_text_is_a_valid_config() {
    let base = "http://127.0.0.1:9";
    let basic = demo_config_text(DemoScenario::Basic, base, Duration::from_secs(5));
    let config = server::config::parse(&basic, "basic", &demo_env).unwrap();
    let services: Vec<&str> = config.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(services, ["web", "api", "worker", "db"]);

    let all = demo_config_text(DemoScenario::AllProviders, base, Duration::from_secs(5));
    let config = server::config::parse(&all, "all", &demo_env).unwrap();
    let services: Vec<(String, String)> = config
        .services
        .iter()
        .map(|s| (s.name.clone(), s.provider_kind().display_name().to_string()))
        .collect();
    let expected = [
        ("storefront", "Netlify"),
        ("api", "Railway"),
        ("worker", "Fly.io"),
        ("admin", "Heroku"),
        ("docs", "Cloudflare Pages"),
        ("billing", "DigitalOcean"),
        ("marketing", "Vercel"),
        ("webhooks", "Render"),
        ("search", "GitHub"),
        ("db", "Supabase"),
    ];
    assert_eq!(
        services,
        expected.map(|(name, kind)| (name.to_string(), kind.to_string()))
    );
    let environments: Vec<&str> = config
        .environments
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    assert_eq!(environments, ["production", "staging"]);
    for (_, token) in DEMO_TOKENS {
        assert!(
            !all.contains(token),
            "the config names tokens, never holds them"
        );
    }
}

#[test]
fn demo_scenarios_parse_from_their_names() {
    assert_eq!("basic".parse(), Ok(DemoScenario::Basic));
    assert_eq!("all".parse(), Ok(DemoScenario::AllProviders));
    assert_eq!("All-Providers".parse(), Ok(DemoScenario::AllProviders));
    assert!("everything".parse::<DemoScenario>().is_err());
    assert_eq!(DemoScenario::default(), DemoScenario::Basic);
}

#[test]
fn check_config_accepts_the_all_providers_demo_config() {
    let text = demo_config_text(
        DemoScenario::AllProviders,
        "http://127.0.0.1:9",
        Duration::from_secs(5),
    );
    let (_dir, paths) = folder_with(&[("all-providers.toml", &text)]);
    let stdout = succeeds(with_demo_tokens(
        lookout().arg("check-config").arg(&paths[0]),
    ));
    for expected in [
        "storefront on Netlify: site 5b0c3e1a-8d2f-4c7b-9a6e-1f4d2c8b7a30",
        "api on Railway",
        "worker on Fly.io",
        "admin on Heroku",
        "docs on Cloudflare Pages: project acme-docs",
        "billing on DigitalOcean",
        "marketing on Vercel",
        "webhooks on Render",
        "search on GitHub: repo acme/search, deployments",
        "db on Supabase",
        "is valid",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in {stdout}"
        );
    }
    for (_, token) in DEMO_TOKENS {
        assert!(!stdout.contains(token), "tokens are never printed");
    }
}

#[tokio::test]
async fn the_home_page_shows_every_provider_with_its_live_version() {
    let app = spawn_app().await;
    let status = app.wait_until_settled().await;
    let (_, html) = app.get("/").await;
    for provider in [
        "Vercel",
        "Render",
        "Railway",
        "Netlify",
        "GitHub",
        "DigitalOcean",
        "Heroku",
        "Fly.io",
        "Cloudflare Pages",
        "Supabase",
    ] {
        assert!(html.contains(provider), "the page lacks {provider}");
    }
    // Every live version the API reports is on the page (short sha, or the id without one).
    for (_, row) in rows(&status) {
        let live = &row["live"];
        if live.is_null() {
            continue;
        }
        let shown = match live["commit_sha"].as_str() {
            Some(sha) => sha[..7].to_string(),
            None => live["id"].as_str().unwrap().to_string(),
        };
        assert!(
            html.contains(&shown),
            "{} lacks {shown} on the page",
            row["service"]
        );
    }
}

/// Security #15: a deployer can post any `environment_url`/`log_url` on a GitHub deployment;
/// they used to reach the row's "Open" and "GitHub" links as they were. A `javascript:` one
/// must not appear anywhere in the page (nor in the data it hydrates from).
#[tokio::test]
async fn a_javascript_environment_url_from_github_never_reaches_the_page() {
    use server::simulators::{SimDeploymentSpec, SimOutcome};
    let app = spawn_app().await;
    let sha = "5ec0ffee5ec0ffee5ec0ffee5ec0ffee5ec0ffee";
    let spec = SimDeploymentSpec {
        commit_sha: sha.into(),
        commit_message: "Hostile links".into(),
        author: "Mallory".into(),
        branch: "develop".into(),
        pr_number: None,
        outcome: SimOutcome::Ready,
        created_at: chrono::Utc::now(),
    };
    let github = &app.world().github;
    let id = github.push_deployment("acme", "search", "staging", &spec);
    assert!(github.set_status_urls(
        "acme",
        "search",
        &id,
        "javascript:alert(1)",
        "javascript:alert(2)"
    ));
    let search = app
        .settle_row(None, "staging", "search", |search| {
            search["live"]["commit_sha"] == sha
        })
        .await;
    let live = &search["live"];
    assert_eq!(
        live["commit_sha"], sha,
        "the new deployment never went live"
    );
    assert!(
        live["url"].is_null() && live["dashboard_url"].is_null(),
        "{live:#}"
    );
    for path in ["/", "/?environment=staging", "/services/search", "/history"] {
        let (_, page) = app.get(path).await;
        assert!(
            page.contains("5ec0ffe"),
            "{path} does not show the deployment"
        );
        assert!(
            !page.to_lowercase().contains("javascript:"),
            "{path} carries the javascript: link"
        );
    }
}
