//! The two stories as data: each scenario's ids, the simulator resources it creates, its
//! seeded deployments, where `/_control/deploy` sends new ones, and its health endpoints.
//! The browser tests rely on the basic story: keep its data and names as they are.

use super::control::{route, BranchRule, DeployRoute};
use super::names::*;
use super::simulators::{Simulators, Sink};
use super::DemoScenario;
use crate::simulators::SimOutcome::{self, Building, Failed, Ready};

/// One seeded deployment: minutes ago, commit sha, commit message, author, outcome.
pub(super) type Step = (i64, &'static str, &'static str, &'static str, SimOutcome);

/// The seeded deployments of one service in one environment from one branch, oldest first.
/// They go where `/_control/deploy` sends that service's deployments (the scenario's routes).
pub(super) struct History {
    pub service: &'static str,
    /// `production`, `staging` or `preview`.
    pub environment: &'static str,
    pub branch: &'static str,
    pub pr_number: Option<u32>,
    pub steps: &'static [Step],
}

const fn history(
    service: &'static str,
    environment: &'static str,
    branch: &'static str,
    steps: &'static [Step],
) -> History {
    History {
        service,
        environment,
        branch,
        pr_number: None,
        steps,
    }
}

/// The deployments of a pull request's preview.
const fn pull_request(
    service: &'static str,
    (branch, pr_number): (&'static str, u32),
    steps: &'static [Step],
) -> History {
    History {
        service,
        environment: "preview",
        branch,
        pr_number: Some(pr_number),
        steps,
    }
}

/// Everything one scenario seeds.
pub(super) struct Story {
    /// Creates the projects, services, apps and environments the deployments belong to.
    pub resources: fn(&Simulators),
    pub histories: &'static [History],
    /// Where `/_control/deploy` (and the seeding) sends a deployment of a service.
    pub routes: &'static [DeployRoute],
    /// The HTTP health endpoints (`service/environment`) with their usual latency in
    /// milliseconds (for the seeded history); each answers ok unless it is `slowing_down`.
    pub http_health: &'static [(&'static str, u32)],
    /// Health checked by the provider itself (Supabase): in the seeded history only.
    pub provider_health: &'static [(&'static str, u32)],
    /// An endpoint that was down for an hour, `(endpoint, hours ago from, to)`.
    pub outage: (&'static str, i64, i64),
    /// An endpoint whose latency climbs over the last hours and that answers degraded now.
    pub slowing_down: Option<&'static str>,
}

impl DemoScenario {
    pub(super) fn story(self) -> &'static Story {
        match self {
            Self::Basic => &BASIC,
            Self::AllProviders => &ALL_PROVIDERS,
        }
    }
}

/// The basic story: production is degraded (the api's health check reports a slow
/// database), staging's latest api build failed, two PR previews are up or building.
/// History: mostly up, a short outage of the api two days ago, and the api's latency
/// climbing over the last hours.
const BASIC: Story = Story {
    resources: basic_resources,
    histories: BASIC_HISTORIES,
    routes: &BASIC_ROUTES,
    http_health: &[
        ("web/production", 120),
        ("web/staging", 140),
        ("api/production", 180),
        ("api/staging", 210),
        ("worker/production", 60),
        ("db/production", 15),
        ("db/staging", 18),
    ],
    provider_health: &[],
    outage: ("api/production", 47, 48),
    slowing_down: Some("api/production"),
};

fn basic_resources(sims: &Simulators) {
    sims.vercel.add_project(WEB_PROJECT, "web");
    sims.render.add_service(API_PRODUCTION, "api");
    sims.render.add_service(API_STAGING, "api-staging");
    let railway = &sims.railway;
    railway.add_project(RAILWAY_PROJECT);
    railway.add_environment(RAILWAY_PROJECT, RAILWAY_PRODUCTION, "production", false);
    railway.add_environment(RAILWAY_PROJECT, RAILWAY_STAGING, "staging", false);
    railway.add_environment(RAILWAY_PROJECT, RAILWAY_PR_42, "worker-pr-42", true);
    railway.add_environment(RAILWAY_PROJECT, RAILWAY_PR_57, "worker-pr-57", true);
    railway.add_service(RAILWAY_PROJECT, WORKER_SERVICE, "worker");
}

#[rustfmt::skip] // One row per deployment.
const BASIC_HISTORIES: &[History] = &[
    // web on Vercel.
    history("web", "production", "main", &[
        (4320, "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39", "Add order history page", "Maya Chen", Ready),
        (1500, "8b1e4d7a2c5f9e3b6a0d4c7f1e5b8a2d6c9f3e70", "Upgrade Next.js to 15.3", "Tom Okafor", Ready),
        (190, "c4d9e2f7a1b6c3d8e5f0a7b2c9d4e1f6a3b8c5d2", "Cache product images at the edge", "Maya Chen", Ready),
    ]),
    history("web", "staging", "develop", &[
        (95, "e7f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9", "Try new checkout copy", "Priya Raman", Ready),
    ]),
    pull_request("web", PREVIEW_CHECKOUT, &[
        (42, "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "Redesign checkout summary", "Priya Raman", Ready),
    ]),
    pull_request("web", PREVIEW_LOGIN, &[
        (3, "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f", "Raise login session timeout", "Sam Lee", Building),
    ]),
    // api on Render: one service per environment.
    history("api", "production", "main", &[
        (5000, "0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796", "Paginate /orders", "Jonas Weber", Ready),
        (2900, "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b", "Add idempotency keys to payments", "Jonas Weber", Ready),
        (220, "f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d", "Move order totals to a materialized view", "Ana Souza", Ready),
    ]),
    history("api", "staging", "develop", &[
        (300, "f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d", "Move order totals to a materialized view", "Ana Souza", Ready),
        (25, "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d", "Switch to connection pooler", "Ana Souza", Failed),
    ]),
    // worker on Railway: production, staging and a PR environment per preview.
    history("worker", "production", "main", &[
        (3000, "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e", "Retry failed webhooks with backoff", "Tom Okafor", Ready),
        (400, "6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", "Send order emails in batches", "Sam Lee", Ready),
    ]),
    history("worker", "staging", "develop", &[
        (60, "6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e", "Send order emails in batches", "Sam Lee", Ready),
    ]),
    pull_request("worker", PREVIEW_CHECKOUT, &[
        (40, "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "Redesign checkout summary", "Priya Raman", Ready),
    ]),
    pull_request("worker", PREVIEW_LOGIN, &[
        (2, "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f", "Raise login session timeout", "Sam Lee", Building),
    ]),
];

#[rustfmt::skip] // One row per route.
const BASIC_ROUTES: [DeployRoute; 9] = [
    route("web", "production", BranchRule::Any("main"), Sink::Vercel { project: WEB_PROJECT, target: Some("production") }),
    route("web", "staging", BranchRule::Any("main"), Sink::Vercel { project: WEB_PROJECT, target: Some("staging") }),
    route("web", "preview", BranchRule::Any("main"), Sink::Vercel { project: WEB_PROJECT, target: None }),
    route("api", "production", BranchRule::Any("main"), Sink::Render { service_id: API_PRODUCTION }),
    route("api", "staging", BranchRule::Any("main"), Sink::Render { service_id: API_STAGING }),
    route("worker", "production", BranchRule::Any("main"), Sink::Railway { service_id: WORKER_SERVICE, environment_id: RAILWAY_PRODUCTION }),
    route("worker", "staging", BranchRule::Any("main"), Sink::Railway { service_id: WORKER_SERVICE, environment_id: RAILWAY_STAGING }),
    route("worker", "preview", BranchRule::Only(PREVIEW_CHECKOUT.0), Sink::Railway { service_id: WORKER_SERVICE, environment_id: RAILWAY_PR_42 }),
    route("worker", "preview", BranchRule::Only(PREVIEW_LOGIN.0), Sink::Railway { service_id: WORKER_SERVICE, environment_id: RAILWAY_PR_57 }),
];

/// The all-providers story. Production: every service live, webhooks rolling out a new
/// deploy on Render. Staging: the api's latest build failed on Railway, the storefront's next
/// branch deploy is building on Netlify, the worker's next release is running on Fly, and
/// Supabase reports the staging project's realtime service still coming up (degraded).
/// Previews: PR #214 (storefront + api) and a docs branch without a PR. History: mostly up,
/// with a short outage of the production webhooks three days ago.
const ALL_PROVIDERS: Story = Story {
    resources: all_providers_resources,
    histories: ALL_PROVIDERS_HISTORIES,
    routes: &ALL_PROVIDERS_ROUTES,
    http_health: &ALL_PROVIDERS_HEALTH,
    provider_health: &[("db/production", 25), ("db/staging", 30)],
    outage: ("webhooks/production", 71, 72),
    slowing_down: None,
};

/// The all-providers scenario's HTTP health endpoints (`service/environment`) and their
/// usual latency in milliseconds, for the seeded history.
pub(super) const ALL_PROVIDERS_HEALTH: [(&str, u32); 11] = [
    ("storefront/production", 90),
    ("storefront/staging", 110),
    ("api/production", 160),
    ("api/staging", 190),
    ("admin/production", 210),
    ("billing/production", 140),
    ("billing/staging", 150),
    ("marketing/production", 70),
    ("webhooks/production", 120),
    ("webhooks/staging", 130),
    ("search/production", 95),
];

fn all_providers_resources(sims: &Simulators) {
    sims.netlify.add_site(STOREFRONT_SITE, "acme-storefront");
    let railway = &sims.railway;
    railway.add_project(SHOP_RAILWAY_PROJECT);
    for (id, name, ephemeral) in [
        (SHOP_RAILWAY_PRODUCTION, "production", false),
        (SHOP_RAILWAY_STAGING, "staging", false),
        (SHOP_RAILWAY_PR_214, "api-pr-214", true),
    ] {
        railway.add_environment(SHOP_RAILWAY_PROJECT, id, name, ephemeral);
    }
    railway.add_service(SHOP_RAILWAY_PROJECT, SHOP_API_SERVICE, "api");
    sims.fly.add_app(WORKER_APP);
    sims.fly.add_app(WORKER_STAGING_APP);
    sims.heroku.add_app(ADMIN_APP);
    sims.heroku.add_app(ADMIN_STAGING_APP);
    sims.cloudflare
        .add_project(CLOUDFLARE_ACCOUNT, DOCS_PROJECT);
    sims.digitalocean.add_app(BILLING_APP, "billing");
    sims.digitalocean
        .add_app(BILLING_STAGING_APP, "billing-staging");
    sims.vercel.add_project(MARKETING_PROJECT, "marketing");
    sims.render.add_service(WEBHOOKS_PRODUCTION, "webhooks");
    sims.render
        .add_service(WEBHOOKS_STAGING, "webhooks-staging");
    sims.github.add_repo(SEARCH_REPO.0, SEARCH_REPO.1);
    // db on Supabase: production healthy; staging's realtime service is still coming up.
    sims.supabase.add_project(DB_PRODUCTION_REF);
    sims.supabase.add_project(DB_STAGING_REF);
    sims.supabase
        .set_service_health(DB_STAGING_REF, "realtime", "COMING_UP");
}

#[rustfmt::skip] // One row per deployment.
const ALL_PROVIDERS_HISTORIES: &[History] = &[
    // storefront on Netlify: production from main, staging = the `staging` branch's branch
    // deploys, and a deploy preview of PR #214.
    history("storefront", "production", "main", &[
        (2880, "f77c8e8967a0fa094adf07e9437693130a577e28", "Add gift card balance lookup", "Maya Chen", Ready),
        (610, "3d1dbf97fb31c37d14c8a9f590c22e13bffdba1c", "Lazy-load product reviews", "Luis Ortega", Ready),
    ]),
    history("storefront", "staging", STOREFRONT_STAGING_BRANCH, &[
        (180, "bc0bef0ec5174fe455d7d124787ac63908ddacf7", "Show delivery estimates at checkout", "Priya Raman", Ready),
        (4, "08f77333b20c8d271af898fd2ac7d6e5d2129d24", "Collapse the address form on mobile", "Priya Raman", Building),
    ]),
    pull_request("storefront", PREVIEW_GIFT_CARDS, &[
        (35, "18e3309d437099e55503fa074a40fdd72c263b4c", "Redeem gift cards at checkout", "Sam Lee", Ready),
    ]),
    // api on Railway: production, staging (its newest build failed) and PR #214's
    // ephemeral environment.
    history("api", "production", "main", &[
        (4300, "84f03c7305c4997f00420fb8bca0106221951534", "Rate-limit the public search endpoint", "Jonas Weber", Ready),
        (720, "6c518e5d94aefed997393437343e85c85e9b1961", "Add gift card ledger tables", "Jonas Weber", Ready),
    ]),
    history("api", "staging", "develop", &[
        (240, "d06b07fa8057544518a8da33fab64766e9d2a160", "Expose delivery estimates on /cart", "Ana Souza", Ready),
        (18, "67e87cab145aef956d6932821367574281d66010", "Move order search to Postgres full-text", "Ana Souza", Failed),
    ]),
    pull_request("api", PREVIEW_GIFT_CARDS, &[
        (33, "cdecdb62df697210ed348b5a1d7318e852ad8fce", "Add a gift card redeem endpoint", "Sam Lee", Ready),
    ]),
    // worker on Fly.io: one app per environment; staging's next release is rolling out.
    // (Fly releases record no commit: only the release, its image and who deployed it.)
    history("worker", "production", "main", &[
        (5100, "8bdf306028f4aa32a9e28234240dbdc7cf5a50c0", "Batch abandoned-cart emails", "Tom Okafor", Ready),
        (1300, "f3e7346f8bcae1a9678bca7bce687bf3ae295673", "Retry failed webhooks with jitter", "Tom Okafor", Ready),
    ]),
    history("worker", "staging", "develop", &[
        (300, "d65d32931a4bccfaa84878de7c639c582055d473", "Expire unused gift cards nightly", "Sam Lee", Ready),
        (2, "ba85255473d3fac4e9cd69ede710812e8e7c71eb", "Upgrade to Tokio 1.45", "Sam Lee", Building),
    ]),
    // admin on Heroku: one app per environment (releases name the releasing user's email).
    history("admin", "production", "main", &[
        (7000, "68f51794d2fd2bdbefaef4212e253bf680bffb89", "Audit log for refunds", "dana.park@acme.example", Ready),
        (1450, "1174ab8fd7f611a626eb7a3deb1447f75cc29042", "Export orders to CSV in bulk", "dana.park@acme.example", Ready),
    ]),
    history("admin", "staging", "develop", &[
        (200, "458cab49e512b59c2a2140d9be9e4a810fe360d4", "Role-based access for support agents", "luis.ortega@acme.example", Ready),
    ]),
    // docs on Cloudflare Pages: production and one branch preview (Pages records no author
    // and no PR number).
    history("docs", "production", "main", &[
        (3100, "1c03f43996da4838e7f0f31e515f1ab8fab4655f", "Document webhook signatures", "Priya Raman", Ready),
        (95, "422be3504b5111857799e0234035bd2b2ecef2f5", "Add a rate limits guide", "Maya Chen", Ready),
    ]),
    history("docs", "preview", PREVIEW_DOCS_BRANCH, &[
        (50, "1e2229beb1f51e955f9fc8944029a190aadaa90c", "Explain the webhook retry schedule", "Tom Okafor", Ready),
    ]),
    // billing on DigitalOcean App Platform: one app per environment (deployments carry the
    // commit and its cause, not a message or author).
    history("billing", "production", "main", &[
        (2200, "1a76baf363dd44258684bff31cc44095730a0af8", "Prorate plan changes", "Jonas Weber", Ready),
        (400, "f1cfd0893c21403315f2e714c0475ae65bea22f9", "Send dunning emails after three days", "Ana Souza", Ready),
    ]),
    history("billing", "staging", "develop", &[
        (150, "effcb1454ce98e20569521cb73206c5b25b461db", "Retry declined cards once", "Ana Souza", Ready),
    ]),
    // marketing on Vercel: the production and staging targets.
    history("marketing", "production", "main", &[
        (9000, "e304b00714493585b895c9f49c6b2d18d9c29c57", "Spring collection landing page", "Maya Chen", Ready),
        (1000, "8e08e610c6e65a1c41253ea02fcc870cceaf75a4", "Update the pricing page copy", "Luis Ortega", Ready),
    ]),
    history("marketing", "staging", "develop", &[
        (130, "b1ed8ce589df2df4116a04d2ec75ba230a5123a5", "Try a shorter hero headline", "Luis Ortega", Ready),
    ]),
    // webhooks on Render: one service per environment; production is rolling out what
    // staging already runs.
    history("webhooks", "production", "main", &[
        (3000, "f74234d5101d2ecaf9774e065b9ddd501bb84ca8", "Verify Stripe signatures with the rotated secret", "Jonas Weber", Ready),
        (6, "66d4360d60edad1be49cb529e39298857106debc", "Fan out order events to Slack", "Ana Souza", Building),
    ]),
    history("webhooks", "staging", "develop", &[
        (90, "66d4360d60edad1be49cb529e39298857106debc", "Fan out order events to Slack", "Ana Souza", Ready),
    ]),
    // search through GitHub Deployments: environments production and staging.
    history("search", "production", "main", &[
        (2000, "ab6f5e7261123d6e890b0fc6b90db738adcd8b25", "Boost in-stock products in results", "Jonas Weber", Ready),
        (500, "d13505e217f514220d21637b00fb3f632ab865e1", "Add synonyms for clothing sizes", "Priya Raman", Ready),
    ]),
    history("search", "staging", "develop", &[
        (70, "e5f02b8c0aa21b72f55879c2841783ba9e9fd700", "Typo-tolerant product search", "Priya Raman", Ready),
    ]),
];

#[rustfmt::skip] // One row per route.
const ALL_PROVIDERS_ROUTES: [DeployRoute; 20] = [
    route("storefront", "production", BranchRule::Any("main"), Sink::Netlify { site_id: STOREFRONT_SITE, context: "production" }),
    route("storefront", "staging", BranchRule::Fixed(STOREFRONT_STAGING_BRANCH), Sink::Netlify { site_id: STOREFRONT_SITE, context: "branch-deploy" }),
    route("storefront", "preview", BranchRule::Any(PREVIEW_GIFT_CARDS.0), Sink::Netlify { site_id: STOREFRONT_SITE, context: "deploy-preview" }),
    route("api", "production", BranchRule::Any("main"), Sink::Railway { service_id: SHOP_API_SERVICE, environment_id: SHOP_RAILWAY_PRODUCTION }),
    route("api", "staging", BranchRule::Any("develop"), Sink::Railway { service_id: SHOP_API_SERVICE, environment_id: SHOP_RAILWAY_STAGING }),
    route("api", "preview", BranchRule::Only(PREVIEW_GIFT_CARDS.0), Sink::Railway { service_id: SHOP_API_SERVICE, environment_id: SHOP_RAILWAY_PR_214 }),
    route("worker", "production", BranchRule::Any("main"), Sink::Fly { app: WORKER_APP }),
    route("worker", "staging", BranchRule::Any("develop"), Sink::Fly { app: WORKER_STAGING_APP }),
    route("admin", "production", BranchRule::Any("main"), Sink::Heroku { app: ADMIN_APP }),
    route("admin", "staging", BranchRule::Any("develop"), Sink::Heroku { app: ADMIN_STAGING_APP }),
    route("docs", "production", BranchRule::Any("main"), Sink::Cloudflare { environment: "production" }),
    route("docs", "preview", BranchRule::Any(PREVIEW_DOCS_BRANCH), Sink::Cloudflare { environment: "preview" }),
    route("billing", "production", BranchRule::Any("main"), Sink::Digitalocean { app_id: BILLING_APP }),
    route("billing", "staging", BranchRule::Any("develop"), Sink::Digitalocean { app_id: BILLING_STAGING_APP }),
    route("marketing", "production", BranchRule::Any("main"), Sink::Vercel { project: MARKETING_PROJECT, target: Some("production") }),
    route("marketing", "staging", BranchRule::Any("develop"), Sink::Vercel { project: MARKETING_PROJECT, target: Some("staging") }),
    route("webhooks", "production", BranchRule::Any("main"), Sink::Render { service_id: WEBHOOKS_PRODUCTION }),
    route("webhooks", "staging", BranchRule::Any("develop"), Sink::Render { service_id: WEBHOOKS_STAGING }),
    route("search", "production", BranchRule::Any("main"), Sink::Github { environment: "production" }),
    route("search", "staging", BranchRule::Any("develop"), Sink::Github { environment: "staging" }),
];
