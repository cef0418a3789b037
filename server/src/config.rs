//! Configuration: one TOML file, parsed into types that cannot hold invalid states.
//!
//! Errors name the file, the line and the key. Secrets never sit in the file: a provider names
//! the environment variable that holds its token (`token_env`), resolved at load through an
//! [`EnvLookup`] so tests and demo mode can supply their own. `PORT` from the environment wins
//! over `server.listen`, as PaaS platforms expect.

use crate::providers::health::{HealthCheckSpec, JsonExpectation};
use crate::secret::Secret;
use app::model::{EnvironmentKind, ProviderKind};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

mod auth_section;
mod notifications_section;
pub use auth_section::{ApiTokenConfig, AuthConfig, ProxyConfig, UserConfig};
pub use notifications_section::{NotificationFormat, NotificationTarget};

/// Reads environment variables; a function so tests and the demo can supply values.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// A configuration error: where, which key, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub origin: String,
    pub line: Option<u32>,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}: {}", self.origin, self.key, self.message),
            None => write!(f, "{}: {}: {}", self.origin, self.key, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// All errors found in one file (validation goes on after the first, so one run shows all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

// ---- The validated configuration ----

#[derive(Debug, Clone)]
pub struct Config {
    /// Where this configuration came from (a path, or "demo").
    pub origin: String,
    pub listen: SocketAddr,
    /// The address people open (`server.public_url`, `LOOKOUT_PUBLIC_URL` wins): the only
    /// host name requests may carry besides loopback and IP literals, and the origin
    /// mutating requests must come from.
    pub public_url: Option<String>,
    /// Connection limits (`[server]`).
    pub limits: ServerLimits,
    pub monitor: MonitorSettings,
    pub environments: Vec<EnvironmentConfig>,
    pub services: Vec<ServiceConfig>,
    /// Where Lookout keeps its history: `sqlite://…` (default, under the data dir) or
    /// `postgres://…`. `DATABASE_URL` wins.
    pub store_url: String,
    /// True when the server shows simulated data (demo mode).
    pub demo: bool,
    /// Sign-in, roles and API tokens (`[auth]`).
    pub auth: AuthConfig,
    /// The runbooks folder: `runbooks_dir` (relative to the config file's folder), else
    /// `runbooks/` in the working directory; `LOOKOUT_RUNBOOKS_DIR` wins.
    pub runbooks_dir: PathBuf,
    /// How often the runbooks folder is checked for changes (not in the file; tests shorten it).
    pub runbooks_reload_interval: Duration,
    /// Webhooks told about rollbacks (`[[notifications]]`).
    pub notifications: Vec<NotificationTarget>,
}

/// What one client, and everyone together, may hold open (`[server]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerLimits {
    /// Live streams (`/api/events`, rollback event streams) open at once; more get 503.
    pub max_streams: u32,
    /// Live streams one client address may hold; more get 429.
    pub max_streams_per_address: u32,
    /// A connection that has not sent a request's headers by then is closed (slowloris).
    pub header_read_timeout: Duration,
}

pub const DEFAULT_MAX_STREAMS: u32 = 1_000;
pub const DEFAULT_MAX_STREAMS_PER_ADDRESS: u32 = 20;
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_streams: DEFAULT_MAX_STREAMS,
            max_streams_per_address: DEFAULT_MAX_STREAMS_PER_ADDRESS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MonitorSettings {
    pub poll_interval: Duration,
    pub health_interval: Duration,
    /// How many deployments per provider resource the monitor reads each poll.
    pub history_depth: u32,
    /// How long a rollback may take to go live before it is reported failed.
    pub rollback_timeout: Duration,
    /// How often a running rollback's progress is read from the provider.
    pub rollback_poll: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentConfig {
    pub name: String,
    pub kind: EnvironmentKind,
}

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub name: String,
    pub source: ServiceSource,
    /// The repository's web address (`https://github.com/acme/web`), for commit links.
    pub repository_url: Option<String>,
    /// Show preview deployments of this service (one preview environment per branch).
    pub previews: bool,
    pub environments: Vec<ServiceEnvironment>,
}

impl ServiceConfig {
    /// A deployment view with its commit linked, when the repository is known.
    pub fn link_commit(&self, mut view: app::model::DeploymentView) -> app::model::DeploymentView {
        if let (Some(repository), Some(sha)) = (&self.repository_url, &view.commit_sha) {
            view.commit_url = Some(format!("{repository}/commit/{sha}"));
        }
        view
    }

    pub fn provider_kind(&self) -> ProviderKind {
        match &self.source {
            ServiceSource::Provider { connection, .. } => connection.kind,
            ServiceSource::HttpOnly => ProviderKind::HttpHealth,
        }
    }

    /// The Lookout environment a provider-side environment name maps to.
    pub fn environment_for(&self, provider_environment: &str) -> Option<&ServiceEnvironment> {
        self.environments
            .iter()
            .find(|environment| environment.provider_environment == provider_environment)
    }

    /// The Lookout environment that a branch's deployments are shown in, if one claims it.
    pub fn environment_for_branch(&self, branch: &str) -> Option<&ServiceEnvironment> {
        self.environments
            .iter()
            .find(|environment| environment.branch.as_deref() == Some(branch))
    }
}

/// One service in one environment.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceEnvironment {
    /// The Lookout environment name.
    pub environment: String,
    /// The provider's name for it: Vercel `target`, Railway environment name, GitHub
    /// environment, or the Lookout name itself.
    pub provider_environment: String,
    /// The provider resource serving this environment when there is one per environment:
    /// Render service id, Railway environment id, DigitalOcean app id, Heroku or Fly app,
    /// Supabase project ref.
    pub resource_id: Option<String>,
    /// Branch/preview deployments of this branch belong here (e.g. `staging` on Netlify).
    pub branch: Option<String>,
    pub url: Option<String>,
    pub health: Option<HealthCheckSpec>,
}

/// Where a service's deployments come from.
// Built once at startup and read-only after: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum ServiceSource {
    /// A provider API, through one of the `[providers]` connections.
    Provider {
        connection: Connection,
        resource: ServiceResource,
    },
    /// No deploy API: only health checks (a database, a droplet).
    HttpOnly,
}

/// A `[providers.NAME]` entry: which API, where, and with which token.
#[derive(Debug, Clone)]
pub struct Connection {
    /// The key under `[providers]`.
    pub name: String,
    pub kind: ProviderKind,
    pub api_base: String,
    pub token: Secret,
    /// The environment variable the token came from: named (never printed) when the provider
    /// rejects the token, so the user knows what to fix.
    pub token_env: String,
    /// Vercel: the team to scope calls to.
    pub team_id: Option<String>,
    /// Railway: send the token as `Project-Access-Token` instead of Bearer.
    pub project_token: bool,
    /// Cloudflare: the account that owns the Pages projects.
    pub account_id: Option<String>,
    /// Fly: the Machines API base (`api_base` is the GraphQL endpoint).
    pub machines_base: Option<String>,
    /// Supabase: the public status page.
    pub status_base: Option<String>,
}

/// What a service is at its provider, beyond the per-environment ids.
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceResource {
    /// Vercel project or Cloudflare Pages project.
    Project { project: String },
    /// Railway project + service (environments by id per environment).
    RailwayService {
        project_id: String,
        service_id: String,
    },
    /// Netlify site.
    Site { site_id: String },
    /// GitHub repository, read through Deployments or one Actions workflow.
    Repository {
        owner: String,
        repo: String,
        workflow: Option<String>,
    },
    /// One resource per environment (Render service, DigitalOcean app, Heroku app, Fly app,
    /// Supabase project): the ids are on the environments.
    PerEnvironment,
}

/// Which config keys a provider kind takes, for validation and messages.
fn provider_from_name(value: &str) -> Option<ProviderKind> {
    Some(match value {
        "vercel" => ProviderKind::Vercel,
        "render" => ProviderKind::Render,
        "railway" => ProviderKind::Railway,
        "netlify" => ProviderKind::Netlify,
        "github" => ProviderKind::Github,
        "digitalocean" => ProviderKind::Digitalocean,
        "heroku" => ProviderKind::Heroku,
        "fly" => ProviderKind::Fly,
        "cloudflare_pages" => ProviderKind::CloudflarePages,
        "supabase" => ProviderKind::Supabase,
        _ => return None,
    })
}

const PROVIDER_NAMES: &str =
    "vercel, render, railway, netlify, github, digitalocean, heroku, fly, cloudflare_pages, supabase";

fn default_api_base(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Vercel => "https://api.vercel.com",
        ProviderKind::Render => "https://api.render.com/v1",
        ProviderKind::Railway => "https://backboard.railway.com/graphql/v2",
        ProviderKind::Netlify => "https://api.netlify.com/api/v1",
        ProviderKind::Github => "https://api.github.com",
        ProviderKind::Digitalocean => "https://api.digitalocean.com",
        ProviderKind::Heroku => "https://api.heroku.com",
        ProviderKind::Fly => "https://api.fly.io/graphql",
        ProviderKind::CloudflarePages => "https://api.cloudflare.com/client/v4",
        ProviderKind::Supabase => "https://api.supabase.com",
        ProviderKind::HttpHealth => "",
    }
}

/// The per-environment id key a provider needs, if its resources are per environment.
fn environment_id_key(kind: ProviderKind) -> Option<&'static str> {
    match kind {
        ProviderKind::Render => Some("service_id"),
        ProviderKind::Railway => Some("environment_id"),
        ProviderKind::Digitalocean => Some("app_id"),
        ProviderKind::Heroku | ProviderKind::Fly => Some("app"),
        ProviderKind::Supabase => Some("project_ref"),
        _ => None,
    }
}

// ---- The file's shape ----

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    server: RawServer,
    #[serde(default)]
    monitor: RawMonitor,
    #[serde(default)]
    environments: Vec<Spanned<RawEnvironment>>,
    #[serde(default)]
    providers: BTreeMap<String, Spanned<RawProvider>>,
    #[serde(default)]
    services: Vec<Spanned<RawService>>,
    #[serde(default)]
    store: RawStore,
    auth: Option<auth_section::RawAuth>,
    runbooks_dir: Option<Spanned<String>>,
    #[serde(default)]
    notifications: Vec<Spanned<notifications_section::RawNotification>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawStore {
    url: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<Spanned<String>>,
    public_url: Option<Spanned<String>>,
    max_streams: Option<Spanned<u32>>,
    max_streams_per_address: Option<Spanned<u32>>,
    header_read_timeout_secs: Option<Spanned<u64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMonitor {
    poll_interval_secs: Option<Spanned<u64>>,
    health_interval_secs: Option<Spanned<u64>>,
    history_depth: Option<Spanned<u32>>,
    rollback_timeout_secs: Option<Spanned<u64>>,
    rollback_poll_millis: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironment {
    name: Spanned<String>,
    kind: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    kind: Spanned<String>,
    /// The environment variable holding the token…
    token_env: Option<Spanned<String>>,
    /// …or a file holding it (e.g. a mounted secret).
    token_file: Option<Spanned<String>>,
    api_base: Option<Spanned<String>>,
    /// Vercel: the team to scope calls to.
    team_id: Option<Spanned<String>>,
    /// Railway: `bearer` (account/workspace/OAuth token) or `project` (Project-Access-Token).
    token_kind: Option<Spanned<String>>,
    /// Cloudflare: the account id.
    account_id: Option<Spanned<String>>,
    /// Fly: the Machines API base.
    machines_base: Option<Spanned<String>>,
    /// Supabase: the status page base.
    status_base: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    name: Spanned<String>,
    /// A key of `[providers]`, or `http` for a health-check-only service.
    provider: Spanned<String>,
    /// Vercel project id or name; Cloudflare Pages project name.
    project: Option<Spanned<String>>,
    /// Railway project and service ids.
    project_id: Option<Spanned<String>>,
    service_id: Option<Spanned<String>>,
    /// Netlify site id.
    site_id: Option<Spanned<String>>,
    /// GitHub `owner/repo`, and optionally the Actions workflow that deploys.
    repo: Option<Spanned<String>>,
    workflow: Option<Spanned<String>>,
    /// The repository's web address, for links to commits (any provider).
    repository_url: Option<Spanned<String>>,
    #[serde(default)]
    previews: bool,
    #[serde(default)]
    environments: BTreeMap<String, Spanned<RawServiceEnvironment>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServiceEnvironment {
    /// Vercel: the deployment target (defaults to the environment name).
    target: Option<Spanned<String>>,
    /// Railway and GitHub: the provider's environment name if it differs from Lookout's.
    environment_name: Option<Spanned<String>>,
    /// Branch deployments of this branch belong to this environment.
    branch: Option<Spanned<String>>,
    /// Render: the service id for this environment.
    service_id: Option<Spanned<String>>,
    /// Railway: the environment id.
    environment_id: Option<Spanned<String>>,
    /// DigitalOcean: the app id.
    app_id: Option<Spanned<String>>,
    /// Heroku and Fly: the app name.
    app: Option<Spanned<String>>,
    /// Supabase: the project ref.
    project_ref: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    health: Option<Spanned<RawHealth>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHealth {
    url: Spanned<String>,
    expect_status: Option<Spanned<u16>>,
    json_pointer: Option<Spanned<String>>,
    expect_value: Option<Spanned<toml::Value>>,
    degraded_latency_ms: Option<Spanned<u64>>,
    timeout_ms: Option<Spanned<u64>>,
}

/// Where runbooks are read when the config does not say (relative to the working directory).
pub const DEFAULT_RUNBOOKS_DIR: &str = "runbooks";
/// How often the runbooks folder is checked for changes (tests shorten it through `Config`).
pub const DEFAULT_RUNBOOKS_RELOAD_INTERVAL: Duration = Duration::from_secs(2);

const DEFAULT_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 3000);

/// Loads and validates a config file.
pub fn load_file(path: &Path, env: EnvLookup<'_>) -> Result<Config, ConfigErrors> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        ConfigErrors(vec![ConfigError {
            origin: origin.clone(),
            line: None,
            key: "(file)".into(),
            message: format!("cannot read the file: {error}"),
        }])
    })?;
    let mut config = parse(&text, &origin, env)?;
    // A relative `runbooks_dir` in the file is relative to the file's folder.
    if env("LOOKOUT_RUNBOOKS_DIR").is_none() && config.runbooks_dir.is_relative() {
        if let (Some(base), true) = (path.parent(), text_sets_runbooks_dir(&text)) {
            config.runbooks_dir = base.join(&config.runbooks_dir);
        }
    }
    Ok(config)
}

fn text_sets_runbooks_dir(text: &str) -> bool {
    toml::from_str::<toml::Table>(text).is_ok_and(|table| table.contains_key("runbooks_dir"))
}

/// Where the config file is: `--config`, else `LOOKOUT_CONFIG`; `None` means demo mode.
pub fn config_path(flag: Option<PathBuf>, env: EnvLookup<'_>) -> Option<PathBuf> {
    flag.or_else(|| env("LOOKOUT_CONFIG").map(PathBuf::from))
}

/// The environment variable that may hold the whole config text, for hosts that have no
/// secret files (Railway, DigitalOcean App Platform): errors name it with the line.
pub const INLINE_CONFIG_VARIABLE: &str = "LOOKOUT_CONFIG_TOML";

/// Where the config comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A file: `--config` or `LOOKOUT_CONFIG`.
    File(PathBuf),
    /// The text of [`INLINE_CONFIG_VARIABLE`].
    Inline(String),
}

impl ConfigSource {
    /// What errors and logs call it.
    pub fn describe(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Inline(_) => format!("{INLINE_CONFIG_VARIABLE} (environment)"),
        }
    }
}

/// `--config`, else `LOOKOUT_CONFIG`, else a non-empty `LOOKOUT_CONFIG_TOML`; `None` means demo
/// mode. A file named on the command line or in `LOOKOUT_CONFIG` wins over the inline text.
pub fn config_source(flag: Option<PathBuf>, env: EnvLookup<'_>) -> Option<ConfigSource> {
    config_path(flag, env).map(ConfigSource::File).or_else(|| {
        env(INLINE_CONFIG_VARIABLE)
            .filter(|text| !text.trim().is_empty())
            .map(ConfigSource::Inline)
    })
}

/// Loads and validates the config from where [`config_source`] found it. A relative
/// `runbooks_dir` in inline text is relative to the working directory.
pub fn load_source(source: &ConfigSource, env: EnvLookup<'_>) -> Result<Config, ConfigErrors> {
    match source {
        ConfigSource::File(path) => load_file(path, env),
        ConfigSource::Inline(text) => parse(text, &source.describe(), env),
    }
}

/// Parses and validates config text. `origin` names the file in errors.
pub fn parse(text: &str, origin: &str, env: EnvLookup<'_>) -> Result<Config, ConfigErrors> {
    parse_as(text, origin, env, false)
}

/// The demo's generated config: simulated data, so it may listen where `PORT` says without a
/// `public_url` (`Config::demo` is set).
pub fn parse_demo(text: &str, env: EnvLookup<'_>) -> Result<Config, ConfigErrors> {
    let mut config = parse_as(text, "demo", env, true)?;
    config.demo = true;
    Ok(config)
}

fn parse_as(
    text: &str,
    origin: &str,
    env: EnvLookup<'_>,
    demo: bool,
) -> Result<Config, ConfigErrors> {
    let raw: RawConfig = toml::from_str(text).map_err(|error| {
        let line = error.span().map(|span| line_of(text, span.start));
        ConfigErrors(vec![ConfigError {
            origin: origin.to_string(),
            line,
            key: "(syntax)".into(),
            message: error.message().trim().to_string(),
        }])
    })?;
    let mut validator = Validator {
        text,
        origin,
        demo,
        errors: Vec::new(),
    };
    let config = validator.config(raw, env);
    if validator.errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(validator.errors))
    }
}

fn line_of(text: &str, offset: usize) -> u32 {
    let clamped = offset.min(text.len());
    let line = text.as_bytes()[..clamped]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count()
        + 1;
    u32::try_from(line).unwrap_or(u32::MAX)
}

struct Validator<'a> {
    text: &'a str,
    origin: &'a str,
    /// The demo's own config (see [`parse_demo`]).
    demo: bool,
    errors: Vec<ConfigError>,
}

impl Validator<'_> {
    fn error<T>(&mut self, at: &Spanned<T>, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            origin: self.origin.to_string(),
            line: Some(line_of(self.text, at.span().start)),
            key: key.to_string(),
            message: message.into(),
        });
    }

    fn error_at(&mut self, line: Option<u32>, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            origin: self.origin.to_string(),
            line,
            key: key.to_string(),
            message: message.into(),
        });
    }

    fn config(&mut self, raw: RawConfig, env: EnvLookup<'_>) -> Config {
        let listen = self.listen(&raw.server, env);
        let public_url = self.public_url(&raw.server, env);
        let limits = self.limits(&raw.server);
        let monitor = self.monitor(&raw.monitor);
        let environments = self.environments(&raw.environments);
        let providers = self.providers(&raw.providers, env);
        let services = self.services(&raw.services, &environments, &providers);
        let store_url = self.store_url(&raw.store, env);
        let environment_names: Vec<String> = environments
            .iter()
            .map(|environment| environment.name.clone())
            .collect();
        let auth = self.auth(raw.auth.as_ref(), &environment_names);
        self.exposure(raw.auth.as_ref(), &auth, listen, public_url.is_some());
        let notifications = self.notifications(&raw.notifications, &environment_names, env);
        let runbooks_dir = match (env("LOOKOUT_RUNBOOKS_DIR"), &raw.runbooks_dir) {
            (Some(dir), _) => PathBuf::from(dir),
            (None, Some(dir)) if dir.get_ref().trim().is_empty() => {
                self.error(dir, "runbooks_dir", "must not be empty");
                PathBuf::from(DEFAULT_RUNBOOKS_DIR)
            }
            (None, Some(dir)) => PathBuf::from(dir.get_ref()),
            (None, None) => PathBuf::from(DEFAULT_RUNBOOKS_DIR),
        };
        Config {
            auth,
            origin: self.origin.to_string(),
            listen,
            public_url,
            limits,
            monitor,
            environments,
            services,
            store_url,
            demo: false,
            runbooks_dir,
            runbooks_reload_interval: DEFAULT_RUNBOOKS_RELOAD_INTERVAL,
            notifications,
        }
    }

    /// `LOOKOUT_PUBLIC_URL` from the environment wins over `server.public_url` (a PaaS knows
    /// the address it gives the app only at deploy time); without either, the address Render
    /// (`RENDER_EXTERNAL_URL`) or Railway (`RAILWAY_PUBLIC_DOMAIN`) gives the service.
    fn public_url(&mut self, raw: &RawServer, env: EnvLookup<'_>) -> Option<String> {
        let parsed = match env("LOOKOUT_PUBLIC_URL").filter(|url| !url.trim().is_empty()) {
            Some(url) => self.env_url(&url, "LOOKOUT_PUBLIC_URL (environment)"),
            None => match &raw.public_url {
                Some(url) => self.url(url, "server.public_url"),
                // What the PaaS says the service's address is: Render's full URL, Railway's
                // public domain (always https).
                None => env("RENDER_EXTERNAL_URL")
                    .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
                    .or_else(|| {
                        env("RAILWAY_PUBLIC_DOMAIN")
                            .filter(|domain| !domain.is_empty() && !domain.contains('/'))
                            .map(|domain| format!("https://{domain}"))
                    }),
            },
        };
        parsed.map(|text| text.trim_end_matches('/').to_string())
    }

    fn store_url(&mut self, raw: &RawStore, env: EnvLookup<'_>) -> String {
        let check = |url: &str| {
            url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://")
        };
        if let Some(url) = env("DATABASE_URL") {
            if !check(&url) {
                self.error_at(
                    None,
                    "DATABASE_URL (environment)",
                    "must start with sqlite:, postgres:// or postgresql://",
                );
            }
            return url;
        }
        match &raw.url {
            Some(url) if check(url.get_ref()) => url.get_ref().clone(),
            Some(url) => {
                self.error(
                    url,
                    "store.url",
                    "must start with sqlite:, postgres:// or postgresql://",
                );
                String::new()
            }
            None => {
                let data_dir = env("LOOKOUT_DATA_DIR").unwrap_or_else(|| "data".to_string());
                format!("sqlite://{}/lookout.db", data_dir.trim_end_matches('/'))
            }
        }
    }

    fn listen(&mut self, raw: &RawServer, env: EnvLookup<'_>) -> SocketAddr {
        let configured = match &raw.listen {
            Some(listen) => match listen.get_ref().parse::<SocketAddr>() {
                Ok(address) => address,
                Err(_) => {
                    self.error(
                        listen,
                        "server.listen",
                        format!(
                            "`{}` is not an address like 127.0.0.1:3000",
                            listen.get_ref()
                        ),
                    );
                    DEFAULT_LISTEN
                }
            },
            None => DEFAULT_LISTEN,
        };
        match env("PORT") {
            Some(port) => match port.trim().parse::<u16>() {
                // A PaaS sets PORT and routes to all interfaces.
                Ok(port) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
                Err(_) => {
                    self.error_at(
                        None,
                        "PORT (environment)",
                        format!("`{port}` is not a port number"),
                    );
                    configured
                }
            },
            None => configured,
        }
    }

    fn monitor(&mut self, raw: &RawMonitor) -> MonitorSettings {
        let mut seconds = |value: &Option<Spanned<u64>>, key: &str, default: u64| match value {
            Some(value) if *value.get_ref() == 0 || *value.get_ref() > 86_400 => {
                self.error(value, key, "must be between 1 and 86400 seconds");
                default
            }
            Some(value) => *value.get_ref(),
            None => default,
        };
        let poll = seconds(&raw.poll_interval_secs, "monitor.poll_interval_secs", 30);
        let health = seconds(
            &raw.health_interval_secs,
            "monitor.health_interval_secs",
            30,
        );
        let history_depth = match &raw.history_depth {
            Some(depth) if *depth.get_ref() == 0 || *depth.get_ref() > 1000 => {
                self.error(depth, "monitor.history_depth", "must be between 1 and 1000");
                50
            }
            Some(depth) => *depth.get_ref(),
            None => 50,
        };
        let rollback_timeout = match &raw.rollback_timeout_secs {
            Some(value) if !(1..=3600).contains(value.get_ref()) => {
                self.error(
                    value,
                    "monitor.rollback_timeout_secs",
                    "must be between 1 and 3600 seconds",
                );
                300
            }
            Some(value) => *value.get_ref(),
            None => 300,
        };
        let rollback_poll = match &raw.rollback_poll_millis {
            Some(value) if !(50..=60_000).contains(value.get_ref()) => {
                self.error(
                    value,
                    "monitor.rollback_poll_millis",
                    "must be between 50 and 60000 milliseconds",
                );
                2000
            }
            Some(value) => *value.get_ref(),
            None => 2000,
        };
        MonitorSettings {
            poll_interval: Duration::from_secs(poll),
            health_interval: Duration::from_secs(health),
            history_depth,
            rollback_timeout: Duration::from_secs(rollback_timeout),
            rollback_poll: Duration::from_millis(rollback_poll),
        }
    }

    fn environments(&mut self, raw: &[Spanned<RawEnvironment>]) -> Vec<EnvironmentConfig> {
        let mut seen = HashSet::new();
        let mut environments = Vec::new();
        for (index, entry) in raw.iter().enumerate() {
            let environment = entry.get_ref();
            let key = format!("environments[{index}]");
            let name = environment.name.get_ref().trim().to_string();
            if !valid_name(&name) {
                self.error(
                    &environment.name,
                    &format!("{key}.name"),
                    "use letters, digits, `-` and `_` (e.g. production)",
                );
                continue;
            }
            if !seen.insert(name.clone()) {
                self.error(
                    &environment.name,
                    &format!("{key}.name"),
                    format!("`{name}` is defined twice"),
                );
                continue;
            }
            let kind = match &environment.kind {
                Some(kind) => match parse_kind(kind.get_ref()) {
                    Some(EnvironmentKind::Preview) => {
                        self.error(
                            kind,
                            &format!("{key}.kind"),
                            "preview environments come from the providers (set `previews = true` on a service)",
                        );
                        continue;
                    }
                    Some(kind) => kind,
                    None => {
                        self.error(
                            kind,
                            &format!("{key}.kind"),
                            format!(
                                "`{}` is not one of production, staging, development",
                                kind.get_ref()
                            ),
                        );
                        continue;
                    }
                },
                None => parse_kind(&name)
                    .filter(|kind| *kind != EnvironmentKind::Preview)
                    .unwrap_or(EnvironmentKind::Development),
            };
            environments.push(EnvironmentConfig { name, kind });
        }
        if environments.is_empty() && raw.is_empty() {
            self.error_at(
                None,
                "environments",
                "define at least one [[environments]] entry (e.g. name = \"production\")",
            );
        }
        environments
    }

    fn providers(
        &mut self,
        raw: &BTreeMap<String, Spanned<RawProvider>>,
        env: EnvLookup<'_>,
    ) -> BTreeMap<String, Connection> {
        let mut providers = BTreeMap::new();
        for (name, entry) in raw {
            let provider = entry.get_ref();
            let key = format!("providers.{name}");
            let Some(kind) = provider_from_name(provider.kind.get_ref()) else {
                self.error(
                    &provider.kind,
                    &format!("{key}.kind"),
                    format!(
                        "`{}` is not a supported provider ({PROVIDER_NAMES})",
                        provider.kind.get_ref()
                    ),
                );
                continue;
            };
            let Some((token, token_env)) = self.token(provider, entry, &key, env) else {
                continue;
            };
            let api_base = match &provider.api_base {
                Some(base) => match self.url(base, &format!("{key}.api_base")) {
                    Some(base) => base.trim_end_matches('/').to_string(),
                    None => continue,
                },
                None => default_api_base(kind).to_string(),
            };
            let only_for = |value: &Option<Spanned<String>>,
                            field: &str,
                            owner: ProviderKind,
                            validator: &mut Self| {
                match value {
                    Some(value) if kind != owner => {
                        validator.error(
                            value,
                            &format!("{key}.{field}"),
                            format!("only {} connections take `{field}`", owner.display_name()),
                        );
                        None
                    }
                    Some(value) => Some(value.get_ref().trim().to_string()),
                    None => None,
                }
            };
            let team_id = only_for(&provider.team_id, "team_id", ProviderKind::Vercel, self);
            let token_kind = only_for(
                &provider.token_kind,
                "token_kind",
                ProviderKind::Railway,
                self,
            );
            let account_id = only_for(
                &provider.account_id,
                "account_id",
                ProviderKind::CloudflarePages,
                self,
            );
            let machines_base = only_for(
                &provider.machines_base,
                "machines_base",
                ProviderKind::Fly,
                self,
            );
            let status_base = only_for(
                &provider.status_base,
                "status_base",
                ProviderKind::Supabase,
                self,
            );
            let project_token = match token_kind.as_deref() {
                None | Some("bearer") => false,
                Some("project") => true,
                Some(other) => {
                    if let Some(value) = &provider.token_kind {
                        self.error(
                            value,
                            &format!("{key}.token_kind"),
                            format!("`{other}` is not one of bearer, project"),
                        );
                    }
                    false
                }
            };
            if kind == ProviderKind::CloudflarePages && account_id.is_none() {
                self.error(
                    entry,
                    &format!("{key}.account_id"),
                    "missing: Cloudflare Pages needs the account id",
                );
                continue;
            }
            providers.insert(
                name.clone(),
                Connection {
                    name: name.clone(),
                    kind,
                    api_base,
                    token,
                    token_env,
                    team_id,
                    project_token,
                    account_id,
                    machines_base: machines_base.map(|base| base.trim_end_matches('/').to_string()),
                    status_base: status_base.map(|base| base.trim_end_matches('/').to_string()),
                },
            );
        }
        providers
    }

    /// The token from `token_env` or `token_file`, and how to name its source in messages.
    fn token(
        &mut self,
        provider: &RawProvider,
        entry: &Spanned<RawProvider>,
        key: &str,
        env: EnvLookup<'_>,
    ) -> Option<(Secret, String)> {
        match (&provider.token_env, &provider.token_file) {
            (Some(token_env), None) => match env(token_env.get_ref()) {
                Some(token) => Some((Secret::new(token.trim()), token_env.get_ref().clone())),
                None => {
                    self.error(
                        token_env,
                        &format!("{key}.token_env"),
                        format!("environment variable {} is not set", token_env.get_ref()),
                    );
                    None
                }
            },
            (None, Some(token_file)) => match std::fs::read_to_string(token_file.get_ref()) {
                Ok(token) if !token.trim().is_empty() => Some((
                    Secret::new(token.trim()),
                    format!("the file {}", token_file.get_ref()),
                )),
                Ok(_) => {
                    self.error(
                        token_file,
                        &format!("{key}.token_file"),
                        format!("{} is empty", token_file.get_ref()),
                    );
                    None
                }
                Err(error) => {
                    self.error(
                        token_file,
                        &format!("{key}.token_file"),
                        format!("cannot read {}: {error}", token_file.get_ref()),
                    );
                    None
                }
            },
            (Some(token_env), Some(_)) => {
                self.error(
                    token_env,
                    &format!("{key}.token_env"),
                    "give token_env or token_file, not both",
                );
                None
            }
            (None, None) => {
                self.error(
                    entry,
                    &format!("{key}.token_env"),
                    "missing: name the environment variable (token_env) or file (token_file) that holds the API token",
                );
                None
            }
        }
    }

    fn services(
        &mut self,
        raw: &[Spanned<RawService>],
        environments: &[EnvironmentConfig],
        providers: &BTreeMap<String, Connection>,
    ) -> Vec<ServiceConfig> {
        let mut seen = HashSet::new();
        let mut services = Vec::new();
        for (index, entry) in raw.iter().enumerate() {
            let service = entry.get_ref();
            let name = service.name.get_ref().trim().to_string();
            if !valid_name(&name) {
                self.error(
                    &service.name,
                    &format!("services[{index}].name"),
                    "use letters, digits, `-` and `_`",
                );
                continue;
            }
            let key = format!("services.{name}");
            if !seen.insert(name.clone()) {
                self.error(
                    &service.name,
                    &format!("{key}.name"),
                    format!("`{name}` is defined twice"),
                );
                continue;
            }
            let provider_name = service.provider.get_ref().as_str();
            let source = if provider_name == "http" {
                self.no_service_ids(service, &key, "http");
                Some(ServiceSource::HttpOnly)
            } else {
                match providers.get(provider_name) {
                    Some(connection) => self.resource(service, connection, &key).map(|resource| {
                        ServiceSource::Provider {
                            connection: connection.clone(),
                            resource,
                        }
                    }),
                    None if provider_from_name(provider_name).is_some() => {
                        self.error(
                            &service.provider,
                            &format!("{key}.provider"),
                            format!("no [providers.{provider_name}] connection is defined (or it has errors above)"),
                        );
                        None
                    }
                    None => {
                        let message = format!(
                            "`{provider_name}` is not a key of [providers] (nor `http` for a health-check-only service)"
                        );
                        self.error(&service.provider, &format!("{key}.provider"), message);
                        None
                    }
                }
            };
            let Some(source) = source else { continue };
            if service.environments.is_empty() {
                self.error(
                    &service.name,
                    &format!("{key}.environments"),
                    "add at least one [services.environments.<name>] table",
                );
                continue;
            }
            let mut service_environments = Vec::new();
            for (environment_name, environment) in &service.environments {
                let env_key = format!("{key}.environments.{environment_name}");
                let Some(known) = environments
                    .iter()
                    .find(|known| &known.name == environment_name)
                else {
                    self.error(
                        environment,
                        &env_key,
                        format!("`{environment_name}` is not defined in [[environments]]"),
                    );
                    continue;
                };
                if let Some(parsed) =
                    self.service_environment(&source, known, environment, &env_key)
                {
                    service_environments.push(parsed);
                }
            }
            let kind = match &source {
                ServiceSource::Provider { connection, .. } => connection.kind,
                ServiceSource::HttpOnly => ProviderKind::HttpHealth,
            };
            let has_previews = matches!(
                kind,
                ProviderKind::Vercel
                    | ProviderKind::Railway
                    | ProviderKind::Netlify
                    | ProviderKind::CloudflarePages
                    | ProviderKind::Github
            );
            if service.previews && !has_previews {
                self.error(
                    &service.name,
                    &format!("{key}.previews"),
                    format!(
                        "Lookout reads previews from Vercel, Railway, Netlify, Cloudflare Pages and GitHub; not from {}",
                        kind.display_name()
                    ),
                );
            }
            let repository_url = match &service.repository_url {
                Some(url) => self
                    .url(url, &format!("{key}.repository_url"))
                    .map(|url| url.trim_end_matches('/').to_string()),
                None => default_repository_url(&source),
            };
            services.push(ServiceConfig {
                name,
                repository_url,
                source,
                previews: service.previews,
                environments: service_environments,
            });
        }
        services
    }

    fn no_service_ids(&mut self, service: &RawService, key: &str, what: &str) {
        for (value, field) in [
            (&service.project, "project"),
            (&service.project_id, "project_id"),
            (&service.service_id, "service_id"),
            (&service.site_id, "site_id"),
            (&service.repo, "repo"),
            (&service.workflow, "workflow"),
        ] {
            if let Some(value) = value {
                self.error(
                    value,
                    &format!("{key}.{field}"),
                    format!("{what} services do not take `{field}`"),
                );
            }
        }
    }

    fn resource(
        &mut self,
        service: &RawService,
        connection: &Connection,
        key: &str,
    ) -> Option<ServiceResource> {
        let kind = connection.kind;
        let required =
            |value: &Option<Spanned<String>>, field: &str, validator: &mut Self| match value {
                Some(value) if !value.get_ref().trim().is_empty() => {
                    Some(value.get_ref().trim().to_string())
                }
                _ => {
                    validator.error(
                        &service.name,
                        &format!("{key}.{field}"),
                        format!("missing: {} services need `{field}`", kind.display_name()),
                    );
                    None
                }
            };
        let allowed: &[&str] = match kind {
            ProviderKind::Vercel | ProviderKind::CloudflarePages => &["project"],
            ProviderKind::Railway => &["project_id", "service_id"],
            ProviderKind::Netlify => &["site_id"],
            ProviderKind::Github => &["repo", "workflow"],
            _ => &[],
        };
        for (value, field) in [
            (&service.project, "project"),
            (&service.project_id, "project_id"),
            (&service.service_id, "service_id"),
            (&service.site_id, "site_id"),
            (&service.repo, "repo"),
            (&service.workflow, "workflow"),
        ] {
            if let Some(value) = value {
                if !allowed.contains(&field) {
                    let hint = match environment_id_key(kind) {
                        Some(env_key) => format!(
                            "{} services do not take `{field}` here; put `{env_key}` in each [services.environments.<name>]",
                            kind.display_name()
                        ),
                        None => format!("{} services do not take `{field}`", kind.display_name()),
                    };
                    self.error(value, &format!("{key}.{field}"), hint);
                }
            }
        }
        match kind {
            ProviderKind::Vercel | ProviderKind::CloudflarePages => {
                Some(ServiceResource::Project {
                    project: required(&service.project, "project", self)?,
                })
            }
            ProviderKind::Railway => {
                let project_id = required(&service.project_id, "project_id", self);
                let service_id = required(&service.service_id, "service_id", self);
                Some(ServiceResource::RailwayService {
                    project_id: project_id?,
                    service_id: service_id?,
                })
            }
            ProviderKind::Netlify => Some(ServiceResource::Site {
                site_id: required(&service.site_id, "site_id", self)?,
            }),
            ProviderKind::Github => {
                let repo = required(&service.repo, "repo", self)?;
                let Some((owner, name)) = repo
                    .split_once('/')
                    .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
                else {
                    if let Some(value) = &service.repo {
                        self.error(value, &format!("{key}.repo"), "write it as owner/repo");
                    }
                    return None;
                };
                Some(ServiceResource::Repository {
                    owner: owner.to_string(),
                    repo: name.to_string(),
                    workflow: service
                        .workflow
                        .as_ref()
                        .map(|workflow| workflow.get_ref().trim().to_string()),
                })
            }
            _ => Some(ServiceResource::PerEnvironment),
        }
    }

    fn service_environment(
        &mut self,
        source: &ServiceSource,
        known: &EnvironmentConfig,
        raw: &Spanned<RawServiceEnvironment>,
        key: &str,
    ) -> Option<ServiceEnvironment> {
        let environment = raw.get_ref();
        let environment_name = known.name.as_str();
        let text = |value: &Option<Spanned<String>>| {
            value
                .as_ref()
                .map(|value| value.get_ref().trim().to_string())
                .filter(|value| !value.is_empty())
        };
        let (kind, resource) = match source {
            ServiceSource::Provider {
                connection,
                resource,
            } => (connection.kind, Some(resource)),
            ServiceSource::HttpOnly => (ProviderKind::HttpHealth, None),
        };
        let id_key = environment_id_key(kind);
        let mut allowed: Vec<&str> = id_key.into_iter().collect();
        match kind {
            ProviderKind::Vercel => allowed.extend(["target", "branch"]),
            ProviderKind::Railway => allowed.push("environment_name"),
            ProviderKind::Netlify | ProviderKind::CloudflarePages => allowed.push("branch"),
            ProviderKind::Github => allowed.extend(["environment_name", "branch"]),
            _ => {}
        }
        for (value, field) in [
            (&environment.target, "target"),
            (&environment.environment_name, "environment_name"),
            (&environment.branch, "branch"),
            (&environment.service_id, "service_id"),
            (&environment.environment_id, "environment_id"),
            (&environment.app_id, "app_id"),
            (&environment.app, "app"),
            (&environment.project_ref, "project_ref"),
        ] {
            if let Some(value) = value {
                if !allowed.contains(&field) {
                    self.error(
                        value,
                        &format!("{key}.{field}"),
                        format!("{} services do not take `{field}`", kind.display_name()),
                    );
                }
            }
        }
        let resource_id = match id_key {
            Some(field) => {
                let value = match field {
                    "service_id" => text(&environment.service_id),
                    "environment_id" => text(&environment.environment_id),
                    "app_id" => text(&environment.app_id),
                    "app" => text(&environment.app),
                    _ => text(&environment.project_ref),
                };
                let Some(value) = value else {
                    self.error(
                        raw,
                        &format!("{key}.{field}"),
                        format!(
                            "missing: {} needs `{field}` for each environment",
                            kind.display_name()
                        ),
                    );
                    return None;
                };
                Some(value)
            }
            None => None,
        };
        let branch = text(&environment.branch);
        let branch_based = matches!(kind, ProviderKind::Netlify | ProviderKind::CloudflarePages);
        if branch_based && branch.is_none() && known.kind != EnvironmentKind::Production {
            self.error(
                raw,
                &format!("{key}.branch"),
                format!(
                    "missing: {} has only production and branch deploys; name the branch deployed to `{environment_name}`",
                    kind.display_name()
                ),
            );
            return None;
        }
        let is_workflow = matches!(
            resource,
            Some(ServiceResource::Repository {
                workflow: Some(_),
                ..
            })
        );
        if is_workflow && branch.is_none() {
            self.error(
                raw,
                &format!("{key}.branch"),
                "missing: with `workflow`, name the branch whose runs deploy this environment",
            );
            return None;
        }
        let provider_environment = match kind {
            ProviderKind::Vercel => text(&environment.target),
            ProviderKind::Railway | ProviderKind::Github => text(&environment.environment_name),
            // Only production is a named environment there; a branch environment matches by
            // its branch, so it gets a name no provider environment has.
            ProviderKind::Netlify | ProviderKind::CloudflarePages => Some(match &branch {
                Some(branch) => format!("branch:{branch}"),
                None => "production".to_string(),
            }),
            _ => None,
        }
        .unwrap_or_else(|| environment_name.to_string());
        if kind == ProviderKind::HttpHealth && environment.health.is_none() {
            self.error(
                raw,
                &format!("{key}.health"),
                "missing: an `http` service needs a health check",
            );
            return None;
        }
        let url = match &environment.url {
            Some(url) => Some(self.url(url, &format!("{key}.url"))?),
            None => None,
        };
        let health = match &environment.health {
            Some(health) => Some(self.health(health, &format!("{key}.health"))?),
            None => None,
        };
        Some(ServiceEnvironment {
            environment: environment_name.to_string(),
            provider_environment,
            resource_id,
            branch,
            url,
            health,
        })
    }

    fn health(&mut self, raw: &Spanned<RawHealth>, key: &str) -> Option<HealthCheckSpec> {
        let health = raw.get_ref();
        let url = self.url(&health.url, &format!("{key}.url"))?;
        let expect_json = match (&health.json_pointer, &health.expect_value) {
            (Some(pointer), Some(value)) => {
                if !pointer.get_ref().starts_with('/') {
                    self.error(
                        pointer,
                        &format!("{key}.json_pointer"),
                        "a JSON pointer starts with `/` (e.g. /status)",
                    );
                    return None;
                }
                let Ok(json) = serde_json::to_value(value.get_ref()) else {
                    self.error(
                        value,
                        &format!("{key}.expect_value"),
                        "cannot be compared with JSON",
                    );
                    return None;
                };
                Some(JsonExpectation {
                    pointer: pointer.get_ref().clone(),
                    value: json,
                })
            }
            (None, None) => None,
            (Some(pointer), None) => {
                self.error(
                    pointer,
                    &format!("{key}.expect_value"),
                    "missing: json_pointer needs expect_value",
                );
                return None;
            }
            (None, Some(value)) => {
                self.error(
                    value,
                    &format!("{key}.json_pointer"),
                    "missing: expect_value needs json_pointer",
                );
                return None;
            }
        };
        if let Some(status) = &health.expect_status {
            if !(100..=599).contains(status.get_ref()) {
                self.error(
                    status,
                    &format!("{key}.expect_status"),
                    "not an HTTP status code",
                );
            }
        }
        let millis = |value: &Option<Spanned<u64>>, default: u64| {
            value.as_ref().map_or(default, |v| *v.get_ref())
        };
        Some(HealthCheckSpec {
            url,
            expect_status: health
                .expect_status
                .as_ref()
                .map(|status| *status.get_ref()),
            expect_json,
            degraded_latency: Duration::from_millis(millis(&health.degraded_latency_ms, 2000)),
            timeout: Duration::from_millis(millis(&health.timeout_ms, 5000).max(1)),
        })
    }

    fn env_url(&mut self, value: &str, key: &str) -> Option<String> {
        match url::Url::parse(value.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Some(value.trim().to_string())
            }
            _ => {
                self.error_at(None, key, format!("`{value}` is not an http(s) URL"));
                None
            }
        }
    }

    fn limits(&mut self, raw: &RawServer) -> ServerLimits {
        let mut count = |value: &Option<Spanned<u32>>, key: &str, default: u32| match value {
            Some(value) if *value.get_ref() == 0 => {
                self.error(value, key, "must be at least 1");
                default
            }
            Some(value) => *value.get_ref(),
            None => default,
        };
        let max_streams = count(&raw.max_streams, "server.max_streams", DEFAULT_MAX_STREAMS);
        let max_streams_per_address = count(
            &raw.max_streams_per_address,
            "server.max_streams_per_address",
            DEFAULT_MAX_STREAMS_PER_ADDRESS,
        );
        let header_read_timeout = match &raw.header_read_timeout_secs {
            Some(value) if !(1..=300).contains(value.get_ref()) => {
                self.error(
                    value,
                    "server.header_read_timeout_secs",
                    "must be between 1 and 300",
                );
                DEFAULT_HEADER_READ_TIMEOUT
            }
            Some(value) => Duration::from_secs(*value.get_ref()),
            None => DEFAULT_HEADER_READ_TIMEOUT,
        };
        ServerLimits {
            max_streams,
            max_streams_per_address,
            header_read_timeout,
        }
    }

    fn url(&mut self, value: &Spanned<String>, key: &str) -> Option<String> {
        match url::Url::parse(value.get_ref().trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Some(value.get_ref().trim().to_string())
            }
            _ => {
                self.error(
                    value,
                    key,
                    format!("`{}` is not an http(s) URL", value.get_ref()),
                );
                None
            }
        }
    }
}

/// GitHub services on github.com know their repository's address.
fn default_repository_url(source: &ServiceSource) -> Option<String> {
    match source {
        ServiceSource::Provider {
            connection,
            resource: ServiceResource::Repository { owner, repo, .. },
        } if connection.api_base == default_api_base(ProviderKind::Github) => {
            Some(format!("https://github.com/{owner}/{repo}"))
        }
        _ => None,
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`. A URL that does not
/// parse (a password with `/` or `#` in it) loses everything before its last `@`.
pub fn redact_url_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            if parsed.set_password(Some("***")).is_ok() {
                parsed.to_string()
            } else {
                "<unprintable URL>".to_string()
            }
        }
        Ok(_) => url.to_string(),
        Err(_) => match (url.split_once("://"), url.rsplit_once('@')) {
            (Some((scheme, _)), Some((_, host))) => format!("{scheme}://***@{host}"),
            (None, Some((_, host))) => format!("***@{host}"),
            _ => url.to_string(),
        },
    }
}

/// A URL safe to print: the password and every query value replaced by `***`
/// (`https://x/health?key=abc` → `https://x/health?key=***`). Health URLs and API bases can
/// carry secrets in their query.
pub fn redact_url_secrets(url: &str) -> String {
    let without_password = redact_url_password(url);
    let Ok(mut parsed) = url::Url::parse(&without_password) else {
        return without_password;
    };
    if parsed.query().is_some() {
        let keys: Vec<String> = parsed
            .query_pairs()
            .map(|(key, _)| key.into_owned())
            .collect();
        parsed
            .query_pairs_mut()
            .clear()
            .extend_pairs(keys.iter().map(|key| (key.as_str(), "***")));
    }
    parsed.to_string()
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_kind(value: &str) -> Option<EnvironmentKind> {
    match value {
        "production" | "prod" => Some(EnvironmentKind::Production),
        "staging" | "stage" => Some(EnvironmentKind::Staging),
        "development" | "dev" => Some(EnvironmentKind::Development),
        "preview" => Some(EnvironmentKind::Preview),
        _ => None,
    }
}

/// A human summary of what was understood, for `lookout check-config`. Names token variables,
/// never token values.
pub fn describe(config: &Config) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "config: {}", config.origin);
    let _ = writeln!(out, "listen: {}", config.listen);
    let _ = writeln!(out, "store: {}", redact_url_secrets(&config.store_url));
    if let Some(url) = &config.public_url {
        let _ = writeln!(out, "public url: {url}");
    }
    let _ = writeln!(out, "runbooks: {}", config.runbooks_dir.display());
    let _ = writeln!(
        out,
        "monitor: poll every {} s, health every {} s, history depth {}",
        config.monitor.poll_interval.as_secs(),
        config.monitor.health_interval.as_secs(),
        config.monitor.history_depth
    );
    let _ = writeln!(out, "environments:");
    for environment in &config.environments {
        let _ = writeln!(out, "  {} ({})", environment.name, environment.kind.label());
    }
    let _ = writeln!(out, "services:");
    for service in &config.services {
        let detail = match &service.source {
            ServiceSource::Provider {
                connection,
                resource,
            } => {
                let what = match resource {
                    ServiceResource::Project { project } => format!("project {project}"),
                    ServiceResource::RailwayService {
                        project_id,
                        service_id,
                    } => {
                        format!("project {project_id} service {service_id}")
                    }
                    ServiceResource::Site { site_id } => format!("site {site_id}"),
                    ServiceResource::Repository {
                        owner,
                        repo,
                        workflow,
                    } => match workflow {
                        Some(workflow) => format!("repo {owner}/{repo}, workflow {workflow}"),
                        None => format!("repo {owner}/{repo}, deployments"),
                    },
                    ServiceResource::PerEnvironment => "one resource per environment".to_string(),
                };
                format!(
                    "{what} at {} (token from {})",
                    redact_url_secrets(&connection.api_base),
                    connection.token_env
                )
            }
            ServiceSource::HttpOnly => "health checks only".to_string(),
        };
        let _ = writeln!(
            out,
            "  {} on {}: {detail}{}",
            service.name,
            service.provider_kind(),
            if service.previews {
                ", with previews"
            } else {
                ""
            }
        );
        for environment in &service.environments {
            let mut parts = Vec::new();
            if environment.provider_environment != environment.environment
                && !environment.provider_environment.starts_with("branch:")
            {
                parts.push(format!(
                    "provider environment {}",
                    environment.provider_environment
                ));
            }
            if let Some(branch) = &environment.branch {
                parts.push(format!("branch {branch}"));
            }
            if let Some(id) = &environment.resource_id {
                parts.push(format!("id {id}"));
            }
            if let Some(url) = &environment.url {
                parts.push(format!("url {}", redact_url_secrets(url)));
            }
            if let Some(health) = &environment.health {
                parts.push(format!("health {}", redact_url_secrets(&health.url)));
            }
            let _ = writeln!(out, "    {}: {}", environment.environment, parts.join(", "));
        }
    }
    out.push_str(&auth_section::describe(&config.auth));
    out.push_str(&notifications_section::describe(&config.notifications));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unparseable_store_urls_hide_their_password_too() {
        for url in [
            "postgres://lookout:pa/ss@db.internal/lookout",
            "postgres://lookout:p#ss@db.internal/lookout",
            "postgres://lookout:pass word@db.internal:5432/lookout",
        ] {
            let shown = redact_url_password(url);
            assert!(
                !shown.contains("ss@") && !shown.contains("pa"),
                "{url} → {shown}"
            );
            assert!(shown.contains("db.internal"), "{shown}");
            let shown = redact_url_secrets(url);
            assert!(
                !shown.contains("ss@") && !shown.contains("pa"),
                "{url} → {shown}"
            );
        }
    }

    #[test]
    fn printed_urls_hide_passwords_and_query_values() {
        assert_eq!(
            redact_url_secrets("https://api.example.com/health?key=s3cret&full=1"),
            "https://api.example.com/health?key=***&full=***"
        );
        assert_eq!(
            redact_url_secrets("postgres://lookout:pw@db:5432/lookout"),
            "postgres://lookout:***@db:5432/lookout"
        );
        assert_eq!(
            redact_url_secrets("https://x.example/"),
            "https://x.example/"
        );
    }

    fn env_with(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.to_string())
        }
    }

    const GOOD: &str = r#"
[server]
listen = "127.0.0.1:4000"

[monitor]
poll_interval_secs = 20

[[environments]]
name = "production"

[[environments]]
name = "staging"

[providers.vercel]
kind = "vercel"
token_env = "VERCEL_TOKEN"
team_id = "team_1"

[providers.render]
kind = "render"
token_env = "RENDER_API_KEY"

[[services]]
name = "web"
provider = "vercel"
project = "prj_web"
previews = true

[services.environments.production]
url = "https://example.com"
health = { url = "https://example.com/api/health", json_pointer = "/status", expect_value = "ok" }

[services.environments.staging]
target = "staging"

[[services]]
name = "api"
provider = "render"

[services.environments.production]
service_id = "srv-prod"

[[services]]
name = "db"
provider = "http"

[services.environments.production]
health = { url = "https://db.example.com/health", expect_status = 200 }
"#;

    #[test]
    fn a_good_file_is_understood() {
        let env = env_with(&[("VERCEL_TOKEN", "v-secret"), ("RENDER_API_KEY", "r-secret")]);
        let config = parse(GOOD, "lookout.toml", &env).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:4000");
        assert_eq!(config.monitor.poll_interval, Duration::from_secs(20));
        assert_eq!(config.environments.len(), 2);
        assert_eq!(config.environments[0].kind, EnvironmentKind::Production);
        let web = &config.services[0];
        assert!(web.previews);
        assert_eq!(web.provider_kind(), ProviderKind::Vercel);
        assert_eq!(
            web.environment_for("staging")
                .map(|e| e.environment.as_str()),
            Some("staging")
        );
        let health = web.environments[0].health.as_ref().unwrap();
        assert_eq!(
            health.expect_json.as_ref().unwrap().value,
            serde_json::json!("ok")
        );
        assert_eq!(
            config.services[1].environments[0].resource_id.as_deref(),
            Some("srv-prod")
        );
        let summary = describe(&config);
        assert!(summary.contains("web on Vercel: project prj_web"));
        assert!(!summary.contains("v-secret") && !format!("{config:?}").contains("v-secret"));
    }

    #[test]
    fn port_from_the_environment_wins() {
        let env = env_with(&[
            ("VERCEL_TOKEN", "v"),
            ("RENDER_API_KEY", "r"),
            ("PORT", "8080"),
        ]);
        let config = parse(GOOD, "lookout.toml", &env).unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:8080");
    }

    #[test]
    fn public_url_from_the_environment_wins_and_is_checked() {
        let text = "[server]\npublic_url = \"https://file.example.com/\"\n\n[[environments]]\nname = \"production\"\n";
        let no_public_url = "[[environments]]\nname = \"production\"\n";
        let from_file = parse(text, "x.toml", &env_with(&[])).unwrap();
        assert_eq!(
            from_file.public_url.as_deref(),
            Some("https://file.example.com")
        );
        let env = env_with(&[("LOOKOUT_PUBLIC_URL", "https://lookout.onrender.com/")]);
        let from_env = parse(text, "x.toml", &env).unwrap();
        assert_eq!(
            from_env.public_url.as_deref(),
            Some("https://lookout.onrender.com")
        );
        let errors = parse(
            text,
            "x.toml",
            &env_with(&[("LOOKOUT_PUBLIC_URL", "lookout.fly.dev")]),
        )
        .unwrap_err();
        assert_eq!(errors.0[0].key, "LOOKOUT_PUBLIC_URL (environment)");
        let render = env_with(&[("RENDER_EXTERNAL_URL", "https://lookout-x1.onrender.com")]);
        let on_render = parse(no_public_url, "x.toml", &render).unwrap();
        assert_eq!(
            on_render.public_url.as_deref(),
            Some("https://lookout-x1.onrender.com")
        );
        let railway = env_with(&[("RAILWAY_PUBLIC_DOMAIN", "lookout.up.railway.app")]);
        let on_railway = parse(no_public_url, "x.toml", &railway).unwrap();
        assert_eq!(
            on_railway.public_url.as_deref(),
            Some("https://lookout.up.railway.app")
        );
        let file_wins = parse(text, "x.toml", &render).unwrap();
        assert_eq!(
            file_wins.public_url.as_deref(),
            Some("https://file.example.com")
        );
    }

    #[test]
    fn the_config_source_is_the_flag_then_lookout_config_then_the_inline_text() {
        let inline = env_with(&[("LOOKOUT_CONFIG_TOML", "[server]\n")]);
        assert_eq!(
            config_source(None, &inline),
            Some(ConfigSource::Inline("[server]\n".into()))
        );
        let both = env_with(&[
            ("LOOKOUT_CONFIG", "a.toml"),
            ("LOOKOUT_CONFIG_TOML", "[server]\n"),
        ]);
        assert_eq!(
            config_source(None, &both),
            Some(ConfigSource::File(PathBuf::from("a.toml")))
        );
        assert_eq!(
            config_source(Some(PathBuf::from("b.toml")), &both),
            Some(ConfigSource::File(PathBuf::from("b.toml")))
        );
        let blank = env_with(&[("LOOKOUT_CONFIG_TOML", "  \n")]);
        assert_eq!(config_source(None, &blank), None, "blank text is demo mode");
    }

    #[test]
    fn inline_config_errors_name_the_variable_and_line() {
        let text = "[server]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n";
        let source = ConfigSource::Inline(text.into());
        let errors = load_source(&source, &env_with(&[])).unwrap_err();
        assert!(
            errors
                .to_string()
                .starts_with("LOOKOUT_CONFIG_TOML (environment):3: "),
            "{errors}"
        );
    }

    #[test]
    fn a_missing_token_variable_names_the_key_and_line() {
        let env = env_with(&[("RENDER_API_KEY", "r")]);
        let errors = parse(GOOD, "lookout.toml", &env).unwrap_err();
        let first = &errors.0[0];
        assert_eq!(first.key, "providers.vercel.token_env");
        assert_eq!(first.line, Some(16));
        assert!(errors.to_string().starts_with("lookout.toml:16: providers.vercel.token_env: environment variable VERCEL_TOKEN is not set"));
    }

    #[test]
    fn an_unknown_key_is_a_syntax_error_with_its_line() {
        let text = "[server]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n";
        let errors = parse(text, "x.toml", &env_with(&[])).unwrap_err();
        assert_eq!(errors.0[0].line, Some(3));
        assert!(errors.0[0].message.contains("listne"), "{}", errors);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = r#"
[[environments]]
name = "production"
kind = "prod-ish"

[[services]]
name = "api"
provider = "heroku"

[[services]]
name = "db"
provider = "http"
[services.environments.qa]
health = { url = "not a url" }
"#;
        let errors = parse(text, "x.toml", &env_with(&[])).unwrap_err();
        let keys: Vec<_> = errors
            .0
            .iter()
            .map(|error| (error.key.as_str(), error.line))
            .collect();
        assert!(
            keys.contains(&("environments[0].kind", Some(4))),
            "{keys:?}"
        );
        assert!(
            keys.contains(&("services.api.provider", Some(8))),
            "{keys:?}"
        );
        assert!(
            keys.iter()
                .any(|(key, _)| *key == "services.db.environments.qa"),
            "{keys:?}"
        );
    }

    #[test]
    fn each_provider_names_its_missing_keys() {
        let text = r#"
[[environments]]
name = "production"
[[environments]]
name = "staging"
[providers.netlify]
kind = "netlify"
token_env = "T"
[providers.github]
kind = "github"
token_env = "T"
[providers.cloudflare]
kind = "cloudflare_pages"
token_env = "T"
[providers.heroku]
kind = "heroku"
token_env = "T"
[[services]]
name = "front"
provider = "netlify"
site_id = "site-1"
[services.environments.staging]
url = "https://staging.example.com"
[[services]]
name = "deploys"
provider = "github"
repo = "acme"
[services.environments.production]
[[services]]
name = "admin"
provider = "heroku"
[services.environments.production]
app_id = "oops"
"#;
        let errors = parse(text, "x.toml", &env_with(&[("T", "t")])).unwrap_err();
        let keys: Vec<_> = errors.0.iter().map(|error| error.key.as_str()).collect();
        assert!(
            keys.contains(&"providers.cloudflare.account_id"),
            "{keys:?}"
        );
        assert!(
            keys.contains(&"services.front.environments.staging.branch"),
            "{keys:?}"
        );
        assert!(keys.contains(&"services.deploys.repo"), "{keys:?}");
        assert!(
            keys.contains(&"services.admin.environments.production.app_id"),
            "{keys:?}"
        );
        assert!(
            keys.contains(&"services.admin.environments.production.app"),
            "{keys:?}"
        );
        let text = errors.to_string();
        assert!(text.contains("write it as owner/repo"), "{text}");
        assert!(
            text.contains("Heroku needs `app` for each environment"),
            "{text}"
        );
    }

    #[test]
    fn render_environments_need_a_service_id() {
        let text = r#"
[[environments]]
name = "production"
[providers.render]
kind = "render"
token_env = "R"
[[services]]
name = "api"
provider = "render"
[services.environments.production]
url = "https://api.example.com"
"#;
        let errors = parse(text, "x.toml", &env_with(&[("R", "r")])).unwrap_err();
        assert_eq!(
            errors.0[0].key,
            "services.api.environments.production.service_id"
        );
        assert_eq!(errors.0[0].line, Some(10));
    }
}
