//! The demo's config, in the format a user writes: the monitor settings, the environments,
//! a `[providers]` entry per simulator, each scenario's services and the demo accounts.

use super::names::*;
use super::DemoScenario;
use crate::simulators::fly::{GRAPHQL_PATH as FLY_GRAPHQL, MACHINES_PATH};
use app::auth::Role;
use std::time::Duration;

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

/// The config text of a scenario whose simulators serve at `base` (`http://127.0.0.1:PORT`).
pub fn demo_config_text(scenario: DemoScenario, base: &str, poll_interval: Duration) -> String {
    let poll = poll_interval.as_secs().max(1);
    let (title, providers, services) = match scenario {
        DemoScenario::Basic => ("Demo mode", &BASIC_PROVIDERS[..], basic_services(base)),
        DemoScenario::AllProviders => (
            "Demo mode (all providers)",
            &ALL_PROVIDERS[..],
            all_providers_services(base),
        ),
    };
    let providers: Vec<String> = providers
        .iter()
        .map(|key| provider_entry(base, key))
        .collect();
    let providers = providers.join("\n");
    format!(
        r#"# {title}: every provider below is a local simulator.
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

{providers}
{services}
{DEMO_AUTH}"#
    )
}

/// The basic scenario's `[providers]` keys, in the config's order.
const BASIC_PROVIDERS: [&str; 3] = ["vercel", "render", "railway"];
/// The all-providers scenario's `[providers]` keys, in the config's order.
const ALL_PROVIDERS: [&str; 10] = [
    "netlify",
    "railway",
    "fly",
    "heroku",
    "cloudflare",
    "digitalocean",
    "vercel",
    "render",
    "github",
    "supabase",
];

/// The `[providers]` entry of the simulator `key` (its token in `LOOKOUT_DEMO_<KEY>_TOKEN`,
/// its API under its prefix on the simulator server).
fn provider_entry(base: &str, key: &str) -> String {
    let (kind, api_path, more) = match key {
        "render" => ("render", "/render/v1".to_string(), String::new()),
        "railway" => ("railway", "/railway/graphql/v2".to_string(), String::new()),
        "fly" => (
            "fly",
            format!("/fly{FLY_GRAPHQL}"),
            format!("machines_base = \"{base}/fly{MACHINES_PATH}\"\n"),
        ),
        "cloudflare" => (
            "cloudflare_pages",
            "/cloudflare".to_string(),
            format!("account_id = \"{CLOUDFLARE_ACCOUNT}\"\n"),
        ),
        "supabase" => (
            "supabase",
            "/supabase".to_string(),
            format!("status_base = \"{base}/supabase\"\n"),
        ),
        // vercel, netlify, heroku, digitalocean, github: the kind is the key.
        other => (other, format!("/{other}"), String::new()),
    };
    let variable = key.to_ascii_uppercase();
    format!(
        "[providers.{key}]\nkind = \"{kind}\"\ntoken_env = \"LOOKOUT_DEMO_{variable}_TOKEN\"\napi_base = \"{base}{api_path}\"\n{more}"
    )
}

fn basic_services(base: &str) -> String {
    format!(
        r#"[[services]]
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

fn all_providers_services(base: &str) -> String {
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
        r#"# The shop's front end: production from main, staging from the `staging` branch, and a
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
