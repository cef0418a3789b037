//! Demo mode: every provider simulator on one loopback server, seeded with one of two
//! scenarios, plus the config (in the user's config format) that points the real clients at
//! them. Tests and the browser tests use the same world and its `/_control` API.
//!
//! - [`DemoScenario::Basic`]: a small product (web on Vercel, api on Render, worker on Railway,
//!   db health-checked over HTTP) across production, staging and two pull-request previews.
//!   The browser tests rely on it; keep its data and names as they are.
//! - [`DemoScenario::AllProviders`]: one product spread over every provider Lookout reads
//!   (`lookout serve --demo all`): storefront on Netlify, api on Railway, worker on Fly.io,
//!   admin on Heroku, docs on Cloudflare Pages, billing on DigitalOcean App Platform,
//!   marketing on Vercel, webhooks on Render, search on GitHub Deployments and db on Supabase.

use crate::config::{self, Config, ConfigErrors};
use crate::simulators::cloudflare::CloudflarePagesSimulator;
use crate::simulators::digitalocean::DigitalOceanSimulator;
use crate::simulators::fly::{FlySimulator, GRAPHQL_PATH as FLY_GRAPHQL, MACHINES_PATH};
use crate::simulators::github::GithubSimulator;
use crate::simulators::health::{HealthSimulator, SimHealthEndpoint};
use crate::simulators::heroku::HerokuSimulator;
use crate::simulators::netlify::NetlifySimulator;
use crate::simulators::railway::RailwaySimulator;
use crate::simulators::render::RenderSimulator;
use crate::simulators::supabase::SupabaseSimulator;
use crate::simulators::vercel::VercelSimulator;
use crate::simulators::{
    FaultInjector, SimDeploymentSpec, SimFault, SimOutcome, SimRollbackOutcome, SimRollbacks,
};
use app::auth::{DemoLogin, Role};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const VERCEL_TOKEN: &str = "demo-vercel-token";
const RENDER_TOKEN: &str = "demo-render-token";
const RAILWAY_TOKEN: &str = "demo-railway-token";
const NETLIFY_TOKEN: &str = "demo-netlify-token";
const CLOUDFLARE_TOKEN: &str = "demo-cloudflare-token";
const GITHUB_TOKEN: &str = "demo-github-token";
const DIGITALOCEAN_TOKEN: &str = "demo-digitalocean-token";
const HEROKU_TOKEN: &str = "demo-heroku-token";
const FLY_TOKEN: &str = "demo-fly-token";
const SUPABASE_TOKEN: &str = "demo-supabase-token";

/// Every demo token, by the environment variable the demo config names it with. Demo mode
/// supplies these itself; tests use them to check the config text as a user's file.
pub const DEMO_TOKENS: [(&str, &str); 10] = [
    ("LOOKOUT_DEMO_VERCEL_TOKEN", VERCEL_TOKEN),
    ("LOOKOUT_DEMO_RENDER_TOKEN", RENDER_TOKEN),
    ("LOOKOUT_DEMO_RAILWAY_TOKEN", RAILWAY_TOKEN),
    ("LOOKOUT_DEMO_NETLIFY_TOKEN", NETLIFY_TOKEN),
    ("LOOKOUT_DEMO_CLOUDFLARE_TOKEN", CLOUDFLARE_TOKEN),
    ("LOOKOUT_DEMO_GITHUB_TOKEN", GITHUB_TOKEN),
    ("LOOKOUT_DEMO_DIGITALOCEAN_TOKEN", DIGITALOCEAN_TOKEN),
    ("LOOKOUT_DEMO_HEROKU_TOKEN", HEROKU_TOKEN),
    ("LOOKOUT_DEMO_FLY_TOKEN", FLY_TOKEN),
    ("LOOKOUT_DEMO_SUPABASE_TOKEN", SUPABASE_TOKEN),
];

// ---- The basic scenario's ids ----

const WEB_PROJECT: &str = "prj_demoWeb01";
const API_PRODUCTION: &str = "srv-demoapiprod01";
const API_STAGING: &str = "srv-demoapistag01";
const RAILWAY_PROJECT: &str = "7f3c2a10-0000-4000-8000-00000000d001";
const WORKER_SERVICE: &str = "7f3c2a10-0000-4000-8000-00000000d002";
const RAILWAY_PRODUCTION: &str = "7f3c2a10-0000-4000-8000-0000000e0001";
const RAILWAY_STAGING: &str = "7f3c2a10-0000-4000-8000-0000000e0002";
const RAILWAY_PR_42: &str = "7f3c2a10-0000-4000-8000-0000000e0042";
const RAILWAY_PR_57: &str = "7f3c2a10-0000-4000-8000-0000000e0057";

const PREVIEW_CHECKOUT: (&str, u32) = ("feature/checkout-redesign", 42);
const PREVIEW_LOGIN: (&str, u32) = ("fix/login-timeout", 57);

// ---- The all-providers scenario's ids ----

const STOREFRONT_SITE: &str = "5b0c3e1a-8d2f-4c7b-9a6e-1f4d2c8b7a30";
const SHOP_RAILWAY_PROJECT: &str = "c4a1e7f2-3b5d-4e8a-9f10-6d2b8c4e1a70";
const SHOP_API_SERVICE: &str = "c4a1e7f2-3b5d-4e8a-9f10-0000000a0001";
const SHOP_RAILWAY_PRODUCTION: &str = "c4a1e7f2-3b5d-4e8a-9f10-0000000e0001";
const SHOP_RAILWAY_STAGING: &str = "c4a1e7f2-3b5d-4e8a-9f10-0000000e0002";
const SHOP_RAILWAY_PR_214: &str = "c4a1e7f2-3b5d-4e8a-9f10-0000000e0214";
const WORKER_APP: &str = "acme-worker";
const WORKER_STAGING_APP: &str = "acme-worker-staging";
const ADMIN_APP: &str = "acme-admin";
const ADMIN_STAGING_APP: &str = "acme-admin-staging";
const CLOUDFLARE_ACCOUNT: &str = "7c1e5a9b3d0f4e2a8b6c9d1e3f5a7b90";
const DOCS_PROJECT: &str = "acme-docs";
const BILLING_APP: &str = "6f1d2a3b-4c5e-4f60-8a7b-9c0d1e2f3a4b";
const BILLING_STAGING_APP: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const MARKETING_PROJECT: &str = "prj_acmeMarketing01";
const WEBHOOKS_PRODUCTION: &str = "srv-acmewebhooksprod";
const WEBHOOKS_STAGING: &str = "srv-acmewebhooksstag";
const SEARCH_REPO: (&str, &str) = ("acme", "search");
const DB_PRODUCTION_REF: &str = "qwmzkpdhrtnvbxcyfjls";
const DB_STAGING_REF: &str = "hgtrlkpwsnzxqbvdmcya";

/// A pull request whose preview spans two services (storefront on Netlify, api on Railway).
const PREVIEW_GIFT_CARDS: (&str, u32) = ("feature/gift-cards", 214);
/// A branch preview without a pull request (docs on Cloudflare Pages).
const PREVIEW_DOCS_BRANCH: &str = "docs/webhook-retries";
/// The branch whose Netlify branch deploys are the storefront's staging.
const STOREFRONT_STAGING_BRANCH: &str = "staging";

/// The demo's store file inside the data dir; replaced at every demo start.
pub const DEMO_DATABASE: &str = "demo.db";

/// Which story the demo tells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DemoScenario {
    /// web on Vercel, api on Render, worker on Railway, db over HTTP (what the browser
    /// tests use).
    #[default]
    Basic,
    /// Every provider Lookout reads, one service each.
    AllProviders,
}

impl DemoScenario {
    /// The name `--demo` and `LOOKOUT_DEMO_SCENARIO` take.
    pub fn name(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::AllProviders => "all",
        }
    }
}

impl fmt::Display for DemoScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DemoScenario {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "basic" => Ok(Self::Basic),
            "all" | "all-providers" | "all_providers" => Ok(Self::AllProviders),
            other => Err(format!("`{other}` is not a demo scenario (basic or all)")),
        }
    }
}

/// Every simulator, empty until a scenario seeds them.
#[derive(Clone)]
struct Simulators {
    vercel: Arc<VercelSimulator>,
    render: Arc<RenderSimulator>,
    railway: Arc<RailwaySimulator>,
    netlify: Arc<NetlifySimulator>,
    cloudflare: Arc<CloudflarePagesSimulator>,
    github: Arc<GithubSimulator>,
    digitalocean: Arc<DigitalOceanSimulator>,
    heroku: Arc<HerokuSimulator>,
    fly: Arc<FlySimulator>,
    supabase: Arc<SupabaseSimulator>,
    health: Arc<HealthSimulator>,
}

impl Simulators {
    fn new() -> Self {
        Self {
            vercel: Arc::new(VercelSimulator::new(VERCEL_TOKEN)),
            render: Arc::new(RenderSimulator::new(RENDER_TOKEN)),
            railway: Arc::new(RailwaySimulator::new(RAILWAY_TOKEN)),
            netlify: Arc::new(NetlifySimulator::new(NETLIFY_TOKEN)),
            cloudflare: Arc::new(CloudflarePagesSimulator::new(CLOUDFLARE_TOKEN)),
            github: Arc::new(GithubSimulator::new(GITHUB_TOKEN)),
            digitalocean: Arc::new(DigitalOceanSimulator::new(DIGITALOCEAN_TOKEN)),
            heroku: Arc::new(HerokuSimulator::new(HEROKU_TOKEN)),
            fly: Arc::new(FlySimulator::new(FLY_TOKEN)),
            supabase: Arc::new(SupabaseSimulator::new(SUPABASE_TOKEN)),
            health: Arc::new(HealthSimulator::new()),
        }
    }

    /// Each simulator under its own prefix (the config's `api_base`s point here).
    fn router(&self) -> Router {
        Router::new()
            .nest("/vercel", self.vercel.clone().router())
            .nest("/render/v1", self.render.clone().router())
            .nest("/railway", self.railway.clone().router())
            .nest("/netlify", self.netlify.clone().router())
            .nest("/cloudflare", self.cloudflare.clone().router())
            .nest("/github", self.github.clone().router())
            .nest("/digitalocean", self.digitalocean.clone().router())
            .nest("/heroku", self.heroku.clone().router())
            .nest("/fly", self.fly.clone().router())
            .nest("/supabase", self.supabase.clone().router())
            .nest("/health", self.health.clone().router())
    }

    /// The fault injector of a provider, by its `[providers]` key or kind.
    fn faults(&self, provider: &str) -> Option<&FaultInjector> {
        Some(match provider {
            "vercel" => &self.vercel.faults,
            "render" => &self.render.faults,
            "railway" => &self.railway.faults,
            "netlify" => &self.netlify.faults,
            "cloudflare" | "cloudflare_pages" => &self.cloudflare.faults,
            "github" => &self.github.faults,
            "digitalocean" => &self.digitalocean.faults,
            "heroku" => &self.heroku.faults,
            "fly" => &self.fly.faults,
            "supabase" => &self.supabase.faults,
            _ => return None,
        })
    }

    fn rollbacks(&self, provider: &str) -> Option<&SimRollbacks> {
        Some(match provider {
            "vercel" => &self.vercel.rollbacks,
            "render" => &self.render.rollbacks,
            "railway" => &self.railway.rollbacks,
            "netlify" => &self.netlify.rollbacks,
            "cloudflare" | "cloudflare_pages" => &self.cloudflare.rollbacks,
            "github" => &self.github.rollbacks,
            "digitalocean" => &self.digitalocean.rollbacks,
            "heroku" => &self.heroku.rollbacks,
            "fly" => &self.fly.rollbacks,
            _ => return None,
        })
    }
}

/// The running simulators.
pub struct DemoWorld {
    pub scenario: DemoScenario,
    pub vercel: Arc<VercelSimulator>,
    pub render: Arc<RenderSimulator>,
    pub railway: Arc<RailwaySimulator>,
    pub netlify: Arc<NetlifySimulator>,
    pub cloudflare: Arc<CloudflarePagesSimulator>,
    pub github: Arc<GithubSimulator>,
    pub digitalocean: Arc<DigitalOceanSimulator>,
    pub heroku: Arc<HerokuSimulator>,
    pub fly: Arc<FlySimulator>,
    pub supabase: Arc<SupabaseSimulator>,
    pub health: Arc<HealthSimulator>,
    /// `http://127.0.0.1:PORT` of the simulator server.
    pub base_url: String,
    task: JoinHandle<()>,
}

impl Drop for DemoWorld {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DemoWorld {
    /// Seeds `scenario` and serves every simulator on `listener` (loopback), each under its
    /// own prefix, plus the `/_control` API.
    pub async fn start(listener: TcpListener, scenario: DemoScenario) -> std::io::Result<Self> {
        let address: SocketAddr = listener.local_addr()?;
        let sims = Simulators::new();
        let now = Utc::now();
        match scenario {
            DemoScenario::Basic => seed_basic(&sims, now),
            DemoScenario::AllProviders => seed_all_providers(&sims, now),
        }
        let control = Arc::new(Control {
            sims: sims.clone(),
            routes: deploy_routes(scenario),
        });
        let control_routes = Router::new()
            .route("/_control/deploy", post(control_deploy))
            .route("/_control/fault", post(control_fault))
            .route("/_control/health", post(control_health))
            .route("/_control/rollback", post(control_rollback))
            .with_state(control);
        let app = sims.router().merge(control_routes);
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "demo simulators stopped");
            }
        });
        let Simulators {
            vercel,
            render,
            railway,
            netlify,
            cloudflare,
            github,
            digitalocean,
            heroku,
            fly,
            supabase,
            health,
        } = sims;
        Ok(Self {
            scenario,
            vercel,
            render,
            railway,
            netlify,
            cloudflare,
            github,
            digitalocean,
            heroku,
            fly,
            supabase,
            health,
            base_url: format!("http://{address}"),
            task,
        })
    }

    /// The demo's config text (the same format a user writes), pointing at the simulators.
    pub fn config_text(&self, poll_interval: Duration) -> String {
        demo_config_text(self.scenario, &self.base_url, poll_interval)
    }

    /// The validated demo config, keeping its store in `data_dir/demo.db`; demo tokens are
    /// supplied here, never from the environment.
    pub fn config(
        &self,
        poll_interval: Duration,
        data_dir: &Path,
        env: config::EnvLookup<'_>,
    ) -> Result<Config, ConfigErrors> {
        let store_url = format!("sqlite://{}", data_dir.join(DEMO_DATABASE).display());
        let lookup = |name: &str| {
            if let Some((_, token)) = DEMO_TOKENS.iter().find(|(variable, _)| *variable == name) {
                return Some((*token).to_string());
            }
            match name {
                // The demo keeps its own store, whatever DATABASE_URL says.
                "DATABASE_URL" => Some(store_url.clone()),
                other => env(other),
            }
        };
        let mut config = config::parse_demo(&self.config_text(poll_interval), &lookup)?;
        config.auth.demo_logins = DEMO_LOGINS
            .iter()
            .map(|(name, password, role)| DemoLogin {
                name: name.to_string(),
                password: password.to_string(),
                role: *role,
            })
            .collect();
        Ok(config)
    }
}

/// The config text of a scenario whose simulators serve at `base` (`http://127.0.0.1:PORT`).
pub fn demo_config_text(scenario: DemoScenario, base: &str, poll_interval: Duration) -> String {
    let providers = match scenario {
        DemoScenario::Basic => basic_config_text(base, poll_interval),
        DemoScenario::AllProviders => all_providers_config_text(base, poll_interval),
    };
    format!("{providers}\n{DEMO_AUTH}")
}

/// The demo signs in with passwords and shows its status publicly, as the README's Security
/// section recommends. The accounts are listed on the login page (demo mode only).
pub const DEMO_LOGINS: [(&str, &str, Role); 4] = [
    ("viewer", "viewer-demo", Role::Viewer),
    ("deployer", "deployer-demo", Role::Deployer),
    ("staging-deployer", "staging-demo", Role::Deployer),
    ("admin", "admin-demo", Role::Admin),
];

/// `[auth]` for the demo: argon2id hashes of the passwords in [`DEMO_LOGINS`]
/// (made with `lookout hash-password`).
const DEMO_AUTH: &str = r#"[auth]
mode = "password"
public_status = true

[[auth.users]]
name = "viewer"
role = "viewer"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$j2p9u+HrM0/SSbWSO764Aw$O/zntDjI6a4c0JZgAXLdCgyAPB/mjJobEqJipk7a6vw"

[[auth.users]]
name = "deployer"
role = "deployer"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$SGwxi1Redn2BLOXkPoT/EQ$iT/Q4uwFNGhR1hugzm+0bgJhcugC87choLW4rgOMaU8"

[[auth.users]]
name = "staging-deployer"
role = "deployer"
environments = ["staging"]
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$kUqmAOFkzUUWj1dhSuApyg$pYMsxv18kkhlzMxWkEoSNop2zw2+IL0T+lxd7wri6DU"

[[auth.users]]
name = "admin"
role = "admin"
password_hash = "$argon2id$v=19$m=19456,t=2,p=1$xIK4KI1CFIc998TwnIIpVQ$5R5AcfkxoUbycoNZJ/3PmggK7T6lKMDsrPDywZsIqR0"
"#;

fn basic_config_text(base: &str, poll_interval: Duration) -> String {
    let poll = poll_interval.as_secs().max(1);
    format!(
        r#"# Demo mode: every provider below is a local simulator.
[monitor]
poll_interval_secs = {poll}
health_interval_secs = {poll}
history_depth = 20
rollback_poll_millis = 300
rollback_timeout_secs = 60

[[environments]]
name = "production"
kind = "production"

[[environments]]
name = "staging"
kind = "staging"

[providers.vercel]
kind = "vercel"
token_env = "LOOKOUT_DEMO_VERCEL_TOKEN"
api_base = "{base}/vercel"

[providers.render]
kind = "render"
token_env = "LOOKOUT_DEMO_RENDER_TOKEN"
api_base = "{base}/render/v1"

[providers.railway]
kind = "railway"
token_env = "LOOKOUT_DEMO_RAILWAY_TOKEN"
api_base = "{base}/railway/graphql/v2"

[[services]]
name = "web"
provider = "vercel"
project = "{WEB_PROJECT}"
repository_url = "https://github.com/acme/shop-web"
previews = true

[services.environments.production]
target = "production"
url = "https://shop.example.com"
health = {{ url = "{base}/health/web/production", json_pointer = "/status", expect_value = "ok" }}

[services.environments.staging]
target = "staging"
url = "https://staging.shop.example.com"
health = {{ url = "{base}/health/web/staging", json_pointer = "/status", expect_value = "ok" }}

[[services]]
name = "api"
provider = "render"
repository_url = "https://github.com/acme/shop-api"

[services.environments.production]
service_id = "{API_PRODUCTION}"
url = "https://api.shop.example.com"
health = {{ url = "{base}/health/api/production", json_pointer = "/status", expect_value = "ok", degraded_latency_ms = 800 }}

[services.environments.staging]
service_id = "{API_STAGING}"
url = "https://api.staging.shop.example.com"
health = {{ url = "{base}/health/api/staging", json_pointer = "/status", expect_value = "ok" }}

[[services]]
name = "worker"
provider = "railway"
repository_url = "https://github.com/acme/shop-worker"
project_id = "{RAILWAY_PROJECT}"
service_id = "{WORKER_SERVICE}"
previews = true

[services.environments.production]
environment_id = "{RAILWAY_PRODUCTION}"
health = {{ url = "{base}/health/worker/production", expect_status = 200 }}

[services.environments.staging]
environment_id = "{RAILWAY_STAGING}"

[[services]]
name = "db"
provider = "http"

[services.environments.production]
health = {{ url = "{base}/health/db/production", json_pointer = "/status", expect_value = "ok" }}

[services.environments.staging]
health = {{ url = "{base}/health/db/staging", json_pointer = "/status", expect_value = "ok" }}
"#
    )
}

fn all_providers_config_text(base: &str, poll_interval: Duration) -> String {
    let poll = poll_interval.as_secs().max(1);
    let (search_owner, search_repo) = SEARCH_REPO;
    let health = |name: &str| {
        format!(
            r#"health = {{ url = "{base}/health/{name}", json_pointer = "/status", expect_value = "ok" }}"#
        )
    };
    let storefront_production = health("storefront/production");
    let storefront_staging = health("storefront/staging");
    let api_production = health("api/production");
    let api_staging = health("api/staging");
    let admin_production = health("admin/production");
    let billing_production = health("billing/production");
    let billing_staging = health("billing/staging");
    let marketing_production = health("marketing/production");
    let webhooks_production = health("webhooks/production");
    let webhooks_staging = health("webhooks/staging");
    let search_production = health("search/production");
    format!(
        r#"# Demo mode (all providers): every provider below is a local simulator.
[monitor]
poll_interval_secs = {poll}
health_interval_secs = {poll}
history_depth = 20
rollback_poll_millis = 300
rollback_timeout_secs = 60

[[environments]]
name = "production"
kind = "production"

[[environments]]
name = "staging"
kind = "staging"

[providers.netlify]
kind = "netlify"
token_env = "LOOKOUT_DEMO_NETLIFY_TOKEN"
api_base = "{base}/netlify"

[providers.railway]
kind = "railway"
token_env = "LOOKOUT_DEMO_RAILWAY_TOKEN"
api_base = "{base}/railway/graphql/v2"

[providers.fly]
kind = "fly"
token_env = "LOOKOUT_DEMO_FLY_TOKEN"
api_base = "{base}/fly{FLY_GRAPHQL}"
machines_base = "{base}/fly{MACHINES_PATH}"

[providers.heroku]
kind = "heroku"
token_env = "LOOKOUT_DEMO_HEROKU_TOKEN"
api_base = "{base}/heroku"

[providers.cloudflare]
kind = "cloudflare_pages"
token_env = "LOOKOUT_DEMO_CLOUDFLARE_TOKEN"
api_base = "{base}/cloudflare"
account_id = "{CLOUDFLARE_ACCOUNT}"

[providers.digitalocean]
kind = "digitalocean"
token_env = "LOOKOUT_DEMO_DIGITALOCEAN_TOKEN"
api_base = "{base}/digitalocean"

[providers.vercel]
kind = "vercel"
token_env = "LOOKOUT_DEMO_VERCEL_TOKEN"
api_base = "{base}/vercel"

[providers.render]
kind = "render"
token_env = "LOOKOUT_DEMO_RENDER_TOKEN"
api_base = "{base}/render/v1"

[providers.github]
kind = "github"
token_env = "LOOKOUT_DEMO_GITHUB_TOKEN"
api_base = "{base}/github"

[providers.supabase]
kind = "supabase"
token_env = "LOOKOUT_DEMO_SUPABASE_TOKEN"
api_base = "{base}/supabase"
status_base = "{base}/supabase"

# The shop's front end: production from main, staging from the `staging` branch, and a
# deploy preview per pull request.
[[services]]
name = "storefront"
provider = "netlify"
site_id = "{STOREFRONT_SITE}"
previews = true

[services.environments.production]
url = "https://shop.acme.example"
{storefront_production}

[services.environments.staging]
branch = "{STOREFRONT_STAGING_BRANCH}"
url = "https://staging.shop.acme.example"
{storefront_staging}

# One Railway service across its environments; PR environments are previews.
[[services]]
name = "api"
provider = "railway"
project_id = "{SHOP_RAILWAY_PROJECT}"
service_id = "{SHOP_API_SERVICE}"
previews = true

[services.environments.production]
environment_id = "{SHOP_RAILWAY_PRODUCTION}"
url = "https://api.acme.example"
{api_production}

[services.environments.staging]
environment_id = "{SHOP_RAILWAY_STAGING}"
url = "https://api.staging.acme.example"
{api_staging}

# One Fly app per environment.
[[services]]
name = "worker"
provider = "fly"

[services.environments.production]
app = "{WORKER_APP}"

[services.environments.staging]
app = "{WORKER_STAGING_APP}"

# One Heroku app per environment.
[[services]]
name = "admin"
provider = "heroku"

[services.environments.production]
app = "{ADMIN_APP}"
url = "https://admin.acme.example"
{admin_production}

[services.environments.staging]
app = "{ADMIN_STAGING_APP}"
url = "https://{ADMIN_STAGING_APP}.herokuapp.com"

# Cloudflare Pages: production plus a preview per branch.
[[services]]
name = "docs"
provider = "cloudflare"
project = "{DOCS_PROJECT}"
previews = true

[services.environments.production]
url = "https://docs.acme.example"

# One App Platform app per environment.
[[services]]
name = "billing"
provider = "digitalocean"

[services.environments.production]
app_id = "{BILLING_APP}"
url = "https://billing.acme.example"
{billing_production}

[services.environments.staging]
app_id = "{BILLING_STAGING_APP}"
{billing_staging}

[[services]]
name = "marketing"
provider = "vercel"
project = "{MARKETING_PROJECT}"

[services.environments.production]
target = "production"
url = "https://www.acme.example"
{marketing_production}

[services.environments.staging]
target = "staging"
url = "https://staging.www.acme.example"

# One Render service per environment.
[[services]]
name = "webhooks"
provider = "render"

[services.environments.production]
service_id = "{WEBHOOKS_PRODUCTION}"
url = "https://hooks.acme.example"
{webhooks_production}

[services.environments.staging]
service_id = "{WEBHOOKS_STAGING}"
url = "https://hooks.staging.acme.example"
{webhooks_staging}

# Deployed by a pipeline that records GitHub Deployments per environment.
[[services]]
name = "search"
provider = "github"
repo = "{search_owner}/{search_repo}"

[services.environments.production]
url = "https://search.acme.example"
{search_production}

[services.environments.staging]

# Supabase has no deployments: Lookout shows each project's health.
[[services]]
name = "db"
provider = "supabase"

[services.environments.production]
project_ref = "{DB_PRODUCTION_REF}"

[services.environments.staging]
project_ref = "{DB_STAGING_REF}"
"#
    )
}

fn spec(
    now: DateTime<Utc>,
    minutes_ago: i64,
    sha: &str,
    message: &str,
    author: &str,
    branch: &str,
    outcome: SimOutcome,
) -> SimDeploymentSpec {
    SimDeploymentSpec {
        commit_sha: sha.to_string(),
        commit_message: message.to_string(),
        author: author.to_string(),
        branch: branch.to_string(),
        pr_number: None,
        outcome,
        created_at: now - ChronoDuration::minutes(minutes_ago),
    }
}

fn preview(mut spec: SimDeploymentSpec, pr_number: u32) -> SimDeploymentSpec {
    spec.pr_number = Some(pr_number);
    spec
}

/// The basic story: production is degraded (the api's health check reports a slow
/// database), staging's latest api build failed, two PR previews are up or building.
fn seed_basic(sims: &Simulators, now: DateTime<Utc>) {
    use SimOutcome::{Building, Failed, Ready};
    let vercel = &sims.vercel;
    vercel.add_project(WEB_PROJECT, "web");
    let web_history = [
        (
            4320,
            "3f2a9c1d8e7b6a5f4e3d2c1b0a9f8e7d6c5b4a39",
            "Add order history page",
            "Maya Chen",
            Ready,
        ),
        (
            1500,
            "8b1e4d7a2c5f9e3b6a0d4c7f1e5b8a2d6c9f3e70",
            "Upgrade Next.js to 15.3",
            "Tom Okafor",
            Ready,
        ),
        (
            190,
            "c4d9e2f7a1b6c3d8e5f0a7b2c9d4e1f6a3b8c5d2",
            "Cache product images at the edge",
            "Maya Chen",
            Ready,
        ),
    ];
    for (minutes, sha, message, author, outcome) in web_history {
        vercel.push_deployment(
            WEB_PROJECT,
            Some("production"),
            &spec(now, minutes, sha, message, author, "main", outcome),
        );
    }
    vercel.push_deployment(
        WEB_PROJECT,
        Some("staging"),
        &spec(
            now,
            95,
            "e7f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9",
            "Try new checkout copy",
            "Priya Raman",
            "develop",
            Ready,
        ),
    );
    vercel.push_deployment(
        WEB_PROJECT,
        None,
        &preview(
            spec(
                now,
                42,
                "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
                "Redesign checkout summary",
                "Priya Raman",
                PREVIEW_CHECKOUT.0,
                Ready,
            ),
            PREVIEW_CHECKOUT.1,
        ),
    );
    vercel.push_deployment(
        WEB_PROJECT,
        None,
        &preview(
            spec(
                now,
                3,
                "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f",
                "Raise login session timeout",
                "Sam Lee",
                PREVIEW_LOGIN.0,
                Building,
            ),
            PREVIEW_LOGIN.1,
        ),
    );

    let render = &sims.render;
    render.add_service(API_PRODUCTION, "api");
    render.add_service(API_STAGING, "api-staging");
    let api_history = [
        (
            5000,
            "0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a69788796",
            "Paginate /orders",
            "Jonas Weber",
            Ready,
        ),
        (
            2900,
            "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b",
            "Add idempotency keys to payments",
            "Jonas Weber",
            Ready,
        ),
        (
            220,
            "f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d",
            "Move order totals to a materialized view",
            "Ana Souza",
            Ready,
        ),
    ];
    for (minutes, sha, message, author, outcome) in api_history {
        render.push_deployment(
            API_PRODUCTION,
            &spec(now, minutes, sha, message, author, "main", outcome),
        );
    }
    render.push_deployment(
        API_STAGING,
        &spec(
            now,
            300,
            "f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d",
            "Move order totals to a materialized view",
            "Ana Souza",
            "develop",
            Ready,
        ),
    );
    render.push_deployment(
        API_STAGING,
        &spec(
            now,
            25,
            "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d",
            "Switch to connection pooler",
            "Ana Souza",
            "develop",
            Failed,
        ),
    );

    let railway = &sims.railway;
    railway.add_project(RAILWAY_PROJECT);
    railway.add_environment(RAILWAY_PROJECT, RAILWAY_PRODUCTION, "production", false);
    railway.add_environment(RAILWAY_PROJECT, RAILWAY_STAGING, "staging", false);
    railway.add_environment(RAILWAY_PROJECT, RAILWAY_PR_42, "worker-pr-42", true);
    railway.add_environment(RAILWAY_PROJECT, RAILWAY_PR_57, "worker-pr-57", true);
    railway.add_service(RAILWAY_PROJECT, WORKER_SERVICE, "worker");
    let worker_history = [
        (
            3000,
            "2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e",
            "Retry failed webhooks with backoff",
            "Tom Okafor",
            Ready,
        ),
        (
            400,
            "6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
            "Send order emails in batches",
            "Sam Lee",
            Ready,
        ),
    ];
    for (minutes, sha, message, author, outcome) in worker_history {
        railway.push_deployment(
            WORKER_SERVICE,
            RAILWAY_PRODUCTION,
            &spec(now, minutes, sha, message, author, "main", outcome),
        );
    }
    railway.push_deployment(
        WORKER_SERVICE,
        RAILWAY_STAGING,
        &spec(
            now,
            60,
            "6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
            "Send order emails in batches",
            "Sam Lee",
            "develop",
            Ready,
        ),
    );
    railway.push_deployment(
        WORKER_SERVICE,
        RAILWAY_PR_42,
        &preview(
            spec(
                now,
                40,
                "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678",
                "Redesign checkout summary",
                "Priya Raman",
                PREVIEW_CHECKOUT.0,
                Ready,
            ),
            PREVIEW_CHECKOUT.1,
        ),
    );
    railway.push_deployment(
        WORKER_SERVICE,
        RAILWAY_PR_57,
        &preview(
            spec(
                now,
                2,
                "5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f",
                "Raise login session timeout",
                "Sam Lee",
                PREVIEW_LOGIN.0,
                Building,
            ),
            PREVIEW_LOGIN.1,
        ),
    );

    let health = &sims.health;
    for endpoint in [
        "web/production",
        "web/staging",
        "api/staging",
        "worker/production",
        "db/production",
        "db/staging",
    ] {
        health.set_endpoint(endpoint, SimHealthEndpoint::ok());
    }
    health.set_endpoint(
        "api/production",
        SimHealthEndpoint {
            status: 200,
            body: serde_json::json!({"status": "degraded", "checks": {"database": "slow queries"}}),
            delay_ms: 0,
            padding_bytes: 0,
        },
    );
}

/// One seeded deployment: minutes ago, commit sha, commit message, author, outcome.
type Step = (i64, &'static str, &'static str, &'static str, SimOutcome);

/// The deployments of one branch, oldest first.
fn story(now: DateTime<Utc>, branch: &str, steps: &[Step]) -> Vec<SimDeploymentSpec> {
    steps
        .iter()
        .map(|&(minutes, sha, message, author, outcome)| {
            spec(now, minutes, sha, message, author, branch, outcome)
        })
        .collect()
}

/// The all-providers story. Production: every service live, webhooks rolling out a new
/// deploy on Render. Staging: the api's latest build failed on Railway, the storefront's next
/// branch deploy is building on Netlify, the worker's next release is running on Fly, and
/// Supabase reports the staging project's realtime service still coming up (degraded).
/// Previews: PR #214 (storefront + api) and a docs branch without a PR.
fn seed_all_providers(sims: &Simulators, now: DateTime<Utc>) {
    use SimOutcome::{Building, Failed, Ready};

    // storefront on Netlify: production from main, staging = the `staging` branch's branch
    // deploys, and a deploy preview of PR #214.
    let netlify = &sims.netlify;
    netlify.add_site(STOREFRONT_SITE, "acme-storefront");
    let production: [Step; 2] = [
        (
            2880,
            "f77c8e8967a0fa094adf07e9437693130a577e28",
            "Add gift card balance lookup",
            "Maya Chen",
            Ready,
        ),
        (
            610,
            "3d1dbf97fb31c37d14c8a9f590c22e13bffdba1c",
            "Lazy-load product reviews",
            "Luis Ortega",
            Ready,
        ),
    ];
    for spec in story(now, "main", &production) {
        netlify.push_deployment(STOREFRONT_SITE, "production", &spec);
    }
    let staging: [Step; 2] = [
        (
            180,
            "bc0bef0ec5174fe455d7d124787ac63908ddacf7",
            "Show delivery estimates at checkout",
            "Priya Raman",
            Ready,
        ),
        (
            4,
            "08f77333b20c8d271af898fd2ac7d6e5d2129d24",
            "Collapse the address form on mobile",
            "Priya Raman",
            Building,
        ),
    ];
    for spec in story(now, STOREFRONT_STAGING_BRANCH, &staging) {
        netlify.push_deployment(STOREFRONT_SITE, "branch-deploy", &spec);
    }
    netlify.push_deployment(
        STOREFRONT_SITE,
        "deploy-preview",
        &preview(
            spec(
                now,
                35,
                "18e3309d437099e55503fa074a40fdd72c263b4c",
                "Redeem gift cards at checkout",
                "Sam Lee",
                PREVIEW_GIFT_CARDS.0,
                Ready,
            ),
            PREVIEW_GIFT_CARDS.1,
        ),
    );

    // api on Railway: production, staging (its newest build failed) and PR #214's
    // ephemeral environment.
    let railway = &sims.railway;
    railway.add_project(SHOP_RAILWAY_PROJECT);
    railway.add_environment(
        SHOP_RAILWAY_PROJECT,
        SHOP_RAILWAY_PRODUCTION,
        "production",
        false,
    );
    railway.add_environment(SHOP_RAILWAY_PROJECT, SHOP_RAILWAY_STAGING, "staging", false);
    railway.add_environment(
        SHOP_RAILWAY_PROJECT,
        SHOP_RAILWAY_PR_214,
        "api-pr-214",
        true,
    );
    railway.add_service(SHOP_RAILWAY_PROJECT, SHOP_API_SERVICE, "api");
    let production: [Step; 2] = [
        (
            4300,
            "84f03c7305c4997f00420fb8bca0106221951534",
            "Rate-limit the public search endpoint",
            "Jonas Weber",
            Ready,
        ),
        (
            720,
            "6c518e5d94aefed997393437343e85c85e9b1961",
            "Add gift card ledger tables",
            "Jonas Weber",
            Ready,
        ),
    ];
    for spec in story(now, "main", &production) {
        railway.push_deployment(SHOP_API_SERVICE, SHOP_RAILWAY_PRODUCTION, &spec);
    }
    let staging: [Step; 2] = [
        (
            240,
            "d06b07fa8057544518a8da33fab64766e9d2a160",
            "Expose delivery estimates on /cart",
            "Ana Souza",
            Ready,
        ),
        (
            18,
            "67e87cab145aef956d6932821367574281d66010",
            "Move order search to Postgres full-text",
            "Ana Souza",
            Failed,
        ),
    ];
    for spec in story(now, "develop", &staging) {
        railway.push_deployment(SHOP_API_SERVICE, SHOP_RAILWAY_STAGING, &spec);
    }
    railway.push_deployment(
        SHOP_API_SERVICE,
        SHOP_RAILWAY_PR_214,
        &preview(
            spec(
                now,
                33,
                "cdecdb62df697210ed348b5a1d7318e852ad8fce",
                "Add a gift card redeem endpoint",
                "Sam Lee",
                PREVIEW_GIFT_CARDS.0,
                Ready,
            ),
            PREVIEW_GIFT_CARDS.1,
        ),
    );

    // worker on Fly.io: one app per environment; staging's next release is rolling out.
    // (Fly releases record no commit: only the release, its image and who deployed it.)
    let fly = &sims.fly;
    fly.add_app(WORKER_APP);
    fly.add_app(WORKER_STAGING_APP);
    let production: [Step; 2] = [
        (
            5100,
            "8bdf306028f4aa32a9e28234240dbdc7cf5a50c0",
            "Batch abandoned-cart emails",
            "Tom Okafor",
            Ready,
        ),
        (
            1300,
            "f3e7346f8bcae1a9678bca7bce687bf3ae295673",
            "Retry failed webhooks with jitter",
            "Tom Okafor",
            Ready,
        ),
    ];
    for spec in story(now, "main", &production) {
        fly.push_deployment(WORKER_APP, &spec);
    }
    let staging: [Step; 2] = [
        (
            300,
            "d65d32931a4bccfaa84878de7c639c582055d473",
            "Expire unused gift cards nightly",
            "Sam Lee",
            Ready,
        ),
        (
            2,
            "ba85255473d3fac4e9cd69ede710812e8e7c71eb",
            "Upgrade to Tokio 1.45",
            "Sam Lee",
            Building,
        ),
    ];
    for spec in story(now, "develop", &staging) {
        fly.push_deployment(WORKER_STAGING_APP, &spec);
    }

    // admin on Heroku: one app per environment (releases name the releasing user's email).
    let heroku = &sims.heroku;
    heroku.add_app(ADMIN_APP);
    heroku.add_app(ADMIN_STAGING_APP);
    let production: [Step; 2] = [
        (
            7000,
            "68f51794d2fd2bdbefaef4212e253bf680bffb89",
            "Audit log for refunds",
            "dana.park@acme.example",
            Ready,
        ),
        (
            1450,
            "1174ab8fd7f611a626eb7a3deb1447f75cc29042",
            "Export orders to CSV in bulk",
            "dana.park@acme.example",
            Ready,
        ),
    ];
    for spec in story(now, "main", &production) {
        heroku.push_deployment(ADMIN_APP, &spec);
    }
    let staging: [Step; 1] = [(
        200,
        "458cab49e512b59c2a2140d9be9e4a810fe360d4",
        "Role-based access for support agents",
        "luis.ortega@acme.example",
        Ready,
    )];
    for spec in story(now, "develop", &staging) {
        heroku.push_deployment(ADMIN_STAGING_APP, &spec);
    }

    // docs on Cloudflare Pages: production and one branch preview (Pages records no author
    // and no PR number).
    let cloudflare = &sims.cloudflare;
    cloudflare.add_project(CLOUDFLARE_ACCOUNT, DOCS_PROJECT);
    let production: [Step; 2] = [
        (
            3100,
            "1c03f43996da4838e7f0f31e515f1ab8fab4655f",
            "Document webhook signatures",
            "Priya Raman",
            Ready,
        ),
        (
            95,
            "422be3504b5111857799e0234035bd2b2ecef2f5",
            "Add a rate limits guide",
            "Maya Chen",
            Ready,
        ),
    ];
    for spec in story(now, "main", &production) {
        cloudflare.push_deployment(CLOUDFLARE_ACCOUNT, DOCS_PROJECT, "production", &spec);
    }
    cloudflare.push_deployment(
        CLOUDFLARE_ACCOUNT,
        DOCS_PROJECT,
        "preview",
        &spec(
            now,
            50,
            "1e2229beb1f51e955f9fc8944029a190aadaa90c",
            "Explain the webhook retry schedule",
            "Tom Okafor",
            PREVIEW_DOCS_BRANCH,
            Ready,
        ),
    );

    // billing on DigitalOcean App Platform: one app per environment (deployments carry the
    // commit and its cause, not a message or author).
    let digitalocean = &sims.digitalocean;
    digitalocean.add_app(BILLING_APP, "billing");
    digitalocean.add_app(BILLING_STAGING_APP, "billing-staging");
    let production: [Step; 2] = [
        (
            2200,
            "1a76baf363dd44258684bff31cc44095730a0af8",
            "Prorate plan changes",
            "Jonas Weber",
            Ready,
        ),
        (
            400,
            "f1cfd0893c21403315f2e714c0475ae65bea22f9",
            "Send dunning emails after three days",
            "Ana Souza",
            Ready,
        ),
    ];
    for spec in story(now, "main", &production) {
        digitalocean.push_deployment(BILLING_APP, &spec);
    }
    let staging: [Step; 1] = [(
        150,
        "effcb1454ce98e20569521cb73206c5b25b461db",
        "Retry declined cards once",
        "Ana Souza",
        Ready,
    )];
    for spec in story(now, "develop", &staging) {
        digitalocean.push_deployment(BILLING_STAGING_APP, &spec);
    }

    // marketing on Vercel: the production and staging targets.
    let vercel = &sims.vercel;
    vercel.add_project(MARKETING_PROJECT, "marketing");
    let production: [Step; 2] = [
        (
            9000,
            "e304b00714493585b895c9f49c6b2d18d9c29c57",
            "Spring collection landing page",
            "Maya Chen",
            Ready,
        ),
        (
            1000,
            "8e08e610c6e65a1c41253ea02fcc870cceaf75a4",
            "Update the pricing page copy",
            "Luis Ortega",
            Ready,
        ),
    ];
    for spec in story(now, "main", &production) {
        vercel.push_deployment(MARKETING_PROJECT, Some("production"), &spec);
    }
    let staging: [Step; 1] = [(
        130,
        "b1ed8ce589df2df4116a04d2ec75ba230a5123a5",
        "Try a shorter hero headline",
        "Luis Ortega",
        Ready,
    )];
    for spec in story(now, "develop", &staging) {
        vercel.push_deployment(MARKETING_PROJECT, Some("staging"), &spec);
    }

    // webhooks on Render: one service per environment; production is rolling out what
    // staging already runs.
    let render = &sims.render;
    render.add_service(WEBHOOKS_PRODUCTION, "webhooks");
    render.add_service(WEBHOOKS_STAGING, "webhooks-staging");
    let production: [Step; 2] = [
        (
            3000,
            "f74234d5101d2ecaf9774e065b9ddd501bb84ca8",
            "Verify Stripe signatures with the rotated secret",
            "Jonas Weber",
            Ready,
        ),
        (
            6,
            "66d4360d60edad1be49cb529e39298857106debc",
            "Fan out order events to Slack",
            "Ana Souza",
            Building,
        ),
    ];
    for spec in story(now, "main", &production) {
        render.push_deployment(WEBHOOKS_PRODUCTION, &spec);
    }
    let staging: [Step; 1] = [(
        90,
        "66d4360d60edad1be49cb529e39298857106debc",
        "Fan out order events to Slack",
        "Ana Souza",
        Ready,
    )];
    for spec in story(now, "develop", &staging) {
        render.push_deployment(WEBHOOKS_STAGING, &spec);
    }

    // search through GitHub Deployments: environments production and staging.
    let github = &sims.github;
    let (owner, repo) = SEARCH_REPO;
    github.add_repo(owner, repo);
    let production: [Step; 2] = [
        (
            2000,
            "ab6f5e7261123d6e890b0fc6b90db738adcd8b25",
            "Boost in-stock products in results",
            "Jonas Weber",
            Ready,
        ),
        (
            500,
            "d13505e217f514220d21637b00fb3f632ab865e1",
            "Add synonyms for clothing sizes",
            "Priya Raman",
            Ready,
        ),
    ];
    for spec in story(now, "main", &production) {
        github.push_deployment(owner, repo, "production", &spec);
    }
    let staging: [Step; 1] = [(
        70,
        "e5f02b8c0aa21b72f55879c2841783ba9e9fd700",
        "Typo-tolerant product search",
        "Priya Raman",
        Ready,
    )];
    for spec in story(now, "develop", &staging) {
        github.push_deployment(owner, repo, "staging", &spec);
    }

    // db on Supabase: production healthy; staging's realtime service is still coming up.
    let supabase = &sims.supabase;
    supabase.add_project(DB_PRODUCTION_REF);
    supabase.add_project(DB_STAGING_REF);
    supabase.set_service_health(DB_STAGING_REF, "realtime", "COMING_UP");

    let health = &sims.health;
    for endpoint in ALL_PROVIDERS_HEALTH {
        health.set_endpoint(endpoint.0, SimHealthEndpoint::ok());
    }
}

/// The all-providers scenario's HTTP health endpoints (`service/environment`) and their
/// usual latency in milliseconds, for the seeded history.
const ALL_PROVIDERS_HEALTH: [(&str, u32); 11] = [
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

/// Where `/_control/deploy` sends a new deployment of a demo service.
#[derive(Clone, Copy, Debug)]
enum Sink {
    Vercel {
        project: &'static str,
        /// `None` for a preview.
        target: Option<&'static str>,
    },
    Render {
        service_id: &'static str,
    },
    Railway {
        service_id: &'static str,
        environment_id: &'static str,
    },
    Netlify {
        site_id: &'static str,
        context: &'static str,
    },
    Cloudflare {
        environment: &'static str,
    },
    Github {
        environment: &'static str,
    },
    Digitalocean {
        app_id: &'static str,
    },
    Heroku {
        app: &'static str,
    },
    Fly {
        app: &'static str,
    },
}

/// Which branch a control deployment is of.
#[derive(Clone, Copy, Debug)]
enum BranchRule {
    /// The request's branch, else this one.
    Any(&'static str),
    /// Always this branch (a branch that is an environment, e.g. Netlify's `staging`); a
    /// request naming another branch does not match.
    Fixed(&'static str),
    /// Only requests that name this branch (a PR environment).
    Only(&'static str),
}

impl BranchRule {
    /// The branch to deploy, or `None` when the request does not match this rule.
    fn branch(self, requested: Option<&str>) -> Option<String> {
        match (self, requested) {
            (Self::Any(default), requested) => Some(requested.unwrap_or(default).to_string()),
            (Self::Fixed(branch), None) => Some(branch.to_string()),
            (Self::Fixed(branch) | Self::Only(branch), Some(requested)) => {
                (requested == branch).then(|| branch.to_string())
            }
            (Self::Only(_), None) => None,
        }
    }
}

/// One `(service, environment)` the control API can deploy to.
#[derive(Clone, Copy, Debug)]
struct DeployRoute {
    service: &'static str,
    /// `production`, `staging` or `preview`.
    environment: &'static str,
    branch: BranchRule,
    sink: Sink,
}

const fn route(
    service: &'static str,
    environment: &'static str,
    branch: BranchRule,
    sink: Sink,
) -> DeployRoute {
    DeployRoute {
        service,
        environment,
        branch,
        sink,
    }
}

const BASIC_ROUTES: [DeployRoute; 9] = [
    route(
        "web",
        "production",
        BranchRule::Any("main"),
        Sink::Vercel {
            project: WEB_PROJECT,
            target: Some("production"),
        },
    ),
    route(
        "web",
        "staging",
        BranchRule::Any("main"),
        Sink::Vercel {
            project: WEB_PROJECT,
            target: Some("staging"),
        },
    ),
    route(
        "web",
        "preview",
        BranchRule::Any("main"),
        Sink::Vercel {
            project: WEB_PROJECT,
            target: None,
        },
    ),
    route(
        "api",
        "production",
        BranchRule::Any("main"),
        Sink::Render {
            service_id: API_PRODUCTION,
        },
    ),
    route(
        "api",
        "staging",
        BranchRule::Any("main"),
        Sink::Render {
            service_id: API_STAGING,
        },
    ),
    route(
        "worker",
        "production",
        BranchRule::Any("main"),
        Sink::Railway {
            service_id: WORKER_SERVICE,
            environment_id: RAILWAY_PRODUCTION,
        },
    ),
    route(
        "worker",
        "staging",
        BranchRule::Any("main"),
        Sink::Railway {
            service_id: WORKER_SERVICE,
            environment_id: RAILWAY_STAGING,
        },
    ),
    route(
        "worker",
        "preview",
        BranchRule::Only(PREVIEW_CHECKOUT.0),
        Sink::Railway {
            service_id: WORKER_SERVICE,
            environment_id: RAILWAY_PR_42,
        },
    ),
    route(
        "worker",
        "preview",
        BranchRule::Only(PREVIEW_LOGIN.0),
        Sink::Railway {
            service_id: WORKER_SERVICE,
            environment_id: RAILWAY_PR_57,
        },
    ),
];

const ALL_PROVIDERS_ROUTES: [DeployRoute; 20] = [
    route(
        "storefront",
        "production",
        BranchRule::Any("main"),
        Sink::Netlify {
            site_id: STOREFRONT_SITE,
            context: "production",
        },
    ),
    route(
        "storefront",
        "staging",
        BranchRule::Fixed(STOREFRONT_STAGING_BRANCH),
        Sink::Netlify {
            site_id: STOREFRONT_SITE,
            context: "branch-deploy",
        },
    ),
    route(
        "storefront",
        "preview",
        BranchRule::Any(PREVIEW_GIFT_CARDS.0),
        Sink::Netlify {
            site_id: STOREFRONT_SITE,
            context: "deploy-preview",
        },
    ),
    route(
        "api",
        "production",
        BranchRule::Any("main"),
        Sink::Railway {
            service_id: SHOP_API_SERVICE,
            environment_id: SHOP_RAILWAY_PRODUCTION,
        },
    ),
    route(
        "api",
        "staging",
        BranchRule::Any("develop"),
        Sink::Railway {
            service_id: SHOP_API_SERVICE,
            environment_id: SHOP_RAILWAY_STAGING,
        },
    ),
    route(
        "api",
        "preview",
        BranchRule::Only(PREVIEW_GIFT_CARDS.0),
        Sink::Railway {
            service_id: SHOP_API_SERVICE,
            environment_id: SHOP_RAILWAY_PR_214,
        },
    ),
    route(
        "worker",
        "production",
        BranchRule::Any("main"),
        Sink::Fly { app: WORKER_APP },
    ),
    route(
        "worker",
        "staging",
        BranchRule::Any("develop"),
        Sink::Fly {
            app: WORKER_STAGING_APP,
        },
    ),
    route(
        "admin",
        "production",
        BranchRule::Any("main"),
        Sink::Heroku { app: ADMIN_APP },
    ),
    route(
        "admin",
        "staging",
        BranchRule::Any("develop"),
        Sink::Heroku {
            app: ADMIN_STAGING_APP,
        },
    ),
    route(
        "docs",
        "production",
        BranchRule::Any("main"),
        Sink::Cloudflare {
            environment: "production",
        },
    ),
    route(
        "docs",
        "preview",
        BranchRule::Any(PREVIEW_DOCS_BRANCH),
        Sink::Cloudflare {
            environment: "preview",
        },
    ),
    route(
        "billing",
        "production",
        BranchRule::Any("main"),
        Sink::Digitalocean {
            app_id: BILLING_APP,
        },
    ),
    route(
        "billing",
        "staging",
        BranchRule::Any("develop"),
        Sink::Digitalocean {
            app_id: BILLING_STAGING_APP,
        },
    ),
    route(
        "marketing",
        "production",
        BranchRule::Any("main"),
        Sink::Vercel {
            project: MARKETING_PROJECT,
            target: Some("production"),
        },
    ),
    route(
        "marketing",
        "staging",
        BranchRule::Any("develop"),
        Sink::Vercel {
            project: MARKETING_PROJECT,
            target: Some("staging"),
        },
    ),
    route(
        "webhooks",
        "production",
        BranchRule::Any("main"),
        Sink::Render {
            service_id: WEBHOOKS_PRODUCTION,
        },
    ),
    route(
        "webhooks",
        "staging",
        BranchRule::Any("develop"),
        Sink::Render {
            service_id: WEBHOOKS_STAGING,
        },
    ),
    route(
        "search",
        "production",
        BranchRule::Any("main"),
        Sink::Github {
            environment: "production",
        },
    ),
    route(
        "search",
        "staging",
        BranchRule::Any("develop"),
        Sink::Github {
            environment: "staging",
        },
    ),
];

fn deploy_routes(scenario: DemoScenario) -> &'static [DeployRoute] {
    match scenario {
        DemoScenario::Basic => &BASIC_ROUTES,
        DemoScenario::AllProviders => &ALL_PROVIDERS_ROUTES,
    }
}

struct Control {
    sims: Simulators,
    routes: &'static [DeployRoute],
}

impl Control {
    /// Pushes `spec` where `sink` says; returns the new deployment's id.
    fn push(&self, sink: Sink, spec: &SimDeploymentSpec) -> String {
        let sims = &self.sims;
        match sink {
            Sink::Vercel { project, target } => sims.vercel.push_deployment(project, target, spec),
            Sink::Render { service_id } => sims.render.push_deployment(service_id, spec),
            Sink::Railway {
                service_id,
                environment_id,
            } => sims
                .railway
                .push_deployment(service_id, environment_id, spec),
            Sink::Netlify { site_id, context } => {
                sims.netlify.push_deployment(site_id, context, spec)
            }
            Sink::Cloudflare { environment } => {
                sims.cloudflare
                    .push_deployment(CLOUDFLARE_ACCOUNT, DOCS_PROJECT, environment, spec)
            }
            Sink::Github { environment } => {
                sims.github
                    .push_deployment(SEARCH_REPO.0, SEARCH_REPO.1, environment, spec)
            }
            Sink::Digitalocean { app_id } => sims.digitalocean.push_deployment(app_id, spec),
            Sink::Heroku { app } => sims.heroku.push_deployment(app, spec),
            Sink::Fly { app } => sims.fly.push_deployment(app, spec),
        }
    }
}

/// `POST /_control/deploy`: a new deployment of a demo service.
#[derive(Deserialize)]
struct DeployRequest {
    service: String,
    /// `production`, `staging`, or `preview` (then `branch` and `pr_number` say which).
    environment: String,
    commit_sha: String,
    message: String,
    author: String,
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    pr_number: Option<u32>,
    outcome: SimOutcome,
}

fn bad_request(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(serde_json::json!({"error": message.into()})),
    )
        .into_response()
}

async fn control_deploy(
    State(control): State<Arc<Control>>,
    Json(request): Json<DeployRequest>,
) -> Response {
    let found = control.routes.iter().find_map(|route| {
        if route.service != request.service || route.environment != request.environment {
            return None;
        }
        let branch = route.branch.branch(request.branch.as_deref())?;
        Some((route.sink, branch))
    });
    let Some((sink, branch)) = found else {
        return bad_request(format!(
            "the demo has no {} deployments in {}",
            request.service, request.environment
        ));
    };
    let spec = SimDeploymentSpec {
        commit_sha: request.commit_sha,
        commit_message: request.message,
        author: request.author,
        branch,
        pr_number: request.pr_number,
        outcome: request.outcome,
        created_at: Utc::now(),
    };
    let id = control.push(sink, &spec);
    Json(serde_json::json!({"id": id})).into_response()
}

/// `POST /_control/fault`: make a provider simulator fail (`"once": true` for one request).
#[derive(Deserialize)]
struct FaultRequest {
    /// A `[providers]` key of the demo config (`vercel`, `netlify`, `cloudflare`, …).
    provider: String,
    /// `null` clears every fault of the provider.
    fault: Option<SimFault>,
    #[serde(default)]
    once: bool,
}

async fn control_fault(
    State(control): State<Arc<Control>>,
    Json(request): Json<FaultRequest>,
) -> Response {
    let Some(faults) = control.sims.faults(&request.provider) else {
        return bad_request(format!("unknown provider `{}`", request.provider));
    };
    match (request.fault, request.once) {
        (None, _) => faults.clear(),
        (Some(fault), true) => faults.push_once(fault),
        (Some(fault), false) => faults.set_sticky(fault),
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_control/rollback`: how a provider simulator treats the next rollbacks.
#[derive(Deserialize)]
struct RollbackBehaviourRequest {
    provider: String,
    outcome: SimRollbackOutcome,
    /// How long an accepted rollback takes to settle (default 1.5 s).
    #[serde(default = "default_settle_millis")]
    settle_millis: u64,
}

fn default_settle_millis() -> u64 {
    1500
}

async fn control_rollback(
    State(control): State<Arc<Control>>,
    Json(request): Json<RollbackBehaviourRequest>,
) -> Response {
    let Some(rollbacks) = control.sims.rollbacks(&request.provider) else {
        return bad_request(format!(
            "unknown provider `{}` (or one without rollback)",
            request.provider
        ));
    };
    rollbacks.set(
        request.outcome,
        Duration::from_millis(request.settle_millis),
    );
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_control/health`: how a demo health endpoint answers from now on.
#[derive(Deserialize)]
struct HealthRequest {
    service: String,
    environment: String,
    #[serde(flatten)]
    endpoint: SimHealthEndpoint,
}

async fn control_health(
    State(control): State<Arc<Control>>,
    Json(request): Json<HealthRequest>,
) -> Response {
    control.sims.health.set_endpoint(
        &format!("{}/{}", request.service, request.environment),
        request.endpoint,
    );
    StatusCode::NO_CONTENT.into_response()
}

/// Removes the previous demo store so every demo starts from the same story.
pub fn reset_demo_store(data_dir: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let path = data_dir.join(format!("{DEMO_DATABASE}{suffix}"));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// A week of simulated health-check history for the scenario's services, so uptime figures
/// and latency sparklines have something to show. Basic: mostly up, a short outage of the api
/// two days ago, and the api's latency climbing over the last hours (the degradation on the
/// page). All providers: mostly up, with a short outage of the production webhooks three days
/// ago.
pub async fn seed_health_history(
    store: &dyn crate::store::Store,
    now: chrono::DateTime<Utc>,
    scenario: DemoScenario,
) -> Result<(), crate::store::StoreError> {
    use crate::store::HealthSample;
    use app::model::HealthState;
    let endpoints: Vec<(&str, &str, u32)> = match scenario {
        DemoScenario::Basic => vec![
            ("web", "production", 120_u32),
            ("web", "staging", 140),
            ("api", "production", 180),
            ("api", "staging", 210),
            ("worker", "production", 60),
            ("db", "production", 15),
            ("db", "staging", 18),
        ],
        DemoScenario::AllProviders => ALL_PROVIDERS_HEALTH
            .iter()
            .filter_map(|(endpoint, latency)| {
                let (service, environment) = endpoint.split_once('/')?;
                Some((service, environment, *latency))
            })
            .chain([("db", "production", 25), ("db", "staging", 30)])
            .collect(),
    };
    let step = ChronoDuration::minutes(15);
    let samples_per_endpoint = 7 * 24 * 4;
    for (service, environment, base_latency) in endpoints {
        let mut samples = Vec::with_capacity(samples_per_endpoint);
        for index in 0..samples_per_endpoint {
            let at = now - step * (samples_per_endpoint - index) as i32;
            let hours_ago = (now - at).num_hours();
            // A deterministic wobble so the sparkline is not flat.
            let wobble = ((index * 37) % 23) as u32 * base_latency / 40;
            let mut latency = base_latency + wobble;
            let mut state = HealthState::Up;
            if scenario == DemoScenario::AllProviders
                && service == "webhooks"
                && environment == "production"
                && (71..=72).contains(&hours_ago)
            {
                state = HealthState::Down;
            }
            if scenario == DemoScenario::Basic && service == "api" && environment == "production" {
                if (47..=48).contains(&hours_ago) {
                    state = HealthState::Down;
                }
                if hours_ago < 6 {
                    latency += (6 - hours_ago as u32) * 90;
                    state = HealthState::Degraded;
                }
            }
            samples.push(HealthSample {
                service: service.to_string(),
                environment: environment.to_string(),
                at,
                state,
                latency_ms: (state != HealthState::Down).then_some(latency),
            });
        }
        store.record_health_samples(&samples).await?;
    }
    store
        .roll_up_and_prune(now, &crate::store::RetentionPolicy::default())
        .await?;
    Ok(())
}
