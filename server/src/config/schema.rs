//! The validated configuration: types that cannot hold invalid states, built once at startup
//! and read-only after.

use crate::auth::cidr::IpNetwork;
use crate::providers::health::HealthCheckSpec;
use crate::secret::Secret;
use app::auth::{AuthMode, DemoLogin, Role};
use app::model::{EnvironmentKind, ProviderKind};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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

/// The validated `[auth]` section.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub mode: AuthMode,
    /// Anonymous visitors may read `/`, `/history`, `/services/*`, `/runbooks` and
    /// `GET /api/v1/*`; actions still need a signed-in role.
    pub public_status: bool,
    /// Open mode: the role everyone gets (default viewer: nobody can act).
    pub open_role: Role,
    /// Whether `[auth]` was written at all (an absent section means open, read-only).
    pub explicit: bool,
    pub session_ttl: Duration,
    /// A session unused this long ends (`session_idle_minutes`), within `session_ttl`.
    pub session_idle: Duration,
    pub users: Vec<UserConfig>,
    /// Addresses whose `X-Forwarded-For` (and, in proxy mode, user header) is believed.
    pub trusted_proxies: Vec<IpNetwork>,
    /// A header the platform's edge sets to the client's address (`fly-client-ip`), believed
    /// only from a trusted proxy and before `X-Forwarded-For` (lower-cased).
    pub client_ip_header: Option<String>,
    pub proxy: Option<ProxyConfig>,
    pub api_tokens: Vec<ApiTokenConfig>,
    /// Demo mode only: accounts listed on the login page.
    pub demo_logins: Vec<DemoLogin>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            mode: AuthMode::Open,
            public_status: true,
            open_role: Role::Viewer,
            explicit: false,
            session_ttl: DEFAULT_SESSION_TTL,
            session_idle: DEFAULT_SESSION_IDLE,
            users: Vec::new(),
            trusted_proxies: Vec::new(),
            client_ip_header: None,
            proxy: None,
            api_tokens: Vec::new(),
            demo_logins: Vec::new(),
        }
    }
}

pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// A working day: a session left unused overnight ends.
pub const DEFAULT_SESSION_IDLE: Duration = Duration::from_secs(8 * 3600);

#[derive(Debug, Clone)]
pub struct UserConfig {
    /// The login name (password mode) or the value of the proxy's user header (proxy mode).
    pub name: String,
    /// An argon2id PHC string (`lookout hash-password`); password mode only.
    pub password_hash: Option<Secret>,
    pub role: Role,
    /// Environments a deployer may roll back; `None` means all.
    pub deploy_environments: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The header the proxy sets to the signed-in user (lower-cased).
    pub user_header: String,
    /// The role of proxy users not listed in `[[auth.users]]`; `None` refuses them (403).
    pub default_role: Option<Role>,
    pub logout_url: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ApiTokenConfig {
    pub name: String,
    /// SHA-256 of the token (`lookout create-api-token`); the token itself is never stored.
    pub sha256: [u8; 32],
}

/// The shape a webhook receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotificationFormat {
    /// `{"text": "…"}` (Slack, Mattermost, Discord's `/slack` endpoint, …).
    Slack,
    /// `{"event", "rollback": {…}}`.
    Json,
}

/// One validated webhook.
#[derive(Debug, Clone)]
pub struct NotificationTarget {
    pub format: NotificationFormat,
    pub url: Secret,
    /// The variable the URL came from (named in logs instead of the URL).
    pub url_env: String,
    /// Lookout environments it hears about; empty means all.
    pub environments: Vec<String>,
}

impl NotificationTarget {
    pub fn wants(&self, environment: &str) -> bool {
        self.environments.is_empty() || self.environments.iter().any(|name| name == environment)
    }
}
