//! The file's shape: what serde reads, every value with its span so errors can name the line.

use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) server: RawServer,
    #[serde(default)]
    pub(super) monitor: RawMonitor,
    #[serde(default)]
    pub(super) environments: Vec<Spanned<RawEnvironment>>,
    #[serde(default)]
    pub(super) providers: BTreeMap<String, Spanned<RawProvider>>,
    #[serde(default)]
    pub(super) services: Vec<Spanned<RawService>>,
    #[serde(default)]
    pub(super) store: RawStore,
    pub(super) auth: Option<RawAuth>,
    pub(super) runbooks_dir: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) notifications: Vec<Spanned<RawNotification>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStore {
    pub(super) url: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServer {
    pub(super) listen: Option<Spanned<String>>,
    pub(super) public_url: Option<Spanned<String>>,
    pub(super) max_streams: Option<Spanned<u32>>,
    pub(super) max_streams_per_address: Option<Spanned<u32>>,
    pub(super) header_read_timeout_secs: Option<Spanned<u64>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMonitor {
    pub(super) poll_interval_secs: Option<Spanned<u64>>,
    pub(super) health_interval_secs: Option<Spanned<u64>>,
    pub(super) history_depth: Option<Spanned<u32>>,
    pub(super) rollback_timeout_secs: Option<Spanned<u64>>,
    pub(super) rollback_poll_millis: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEnvironment {
    pub(super) name: Spanned<String>,
    pub(super) kind: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProvider {
    pub(super) kind: Spanned<String>,
    /// The environment variable holding the token…
    pub(super) token_env: Option<Spanned<String>>,
    /// …or a file holding it (e.g. a mounted secret).
    pub(super) token_file: Option<Spanned<String>>,
    pub(super) api_base: Option<Spanned<String>>,
    /// Vercel: the team to scope calls to.
    pub(super) team_id: Option<Spanned<String>>,
    /// Railway: `bearer` (account/workspace/OAuth token) or `project` (Project-Access-Token).
    pub(super) token_kind: Option<Spanned<String>>,
    /// Cloudflare: the account id.
    pub(super) account_id: Option<Spanned<String>>,
    /// Fly: the Machines API base.
    pub(super) machines_base: Option<Spanned<String>>,
    /// Supabase: the status page base.
    pub(super) status_base: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) name: Spanned<String>,
    /// A key of `[providers]`, or `http` for a health-check-only service.
    pub(super) provider: Spanned<String>,
    /// Vercel project id or name; Cloudflare Pages project name.
    pub(super) project: Option<Spanned<String>>,
    /// Railway project and service ids.
    pub(super) project_id: Option<Spanned<String>>,
    pub(super) service_id: Option<Spanned<String>>,
    /// Netlify site id.
    pub(super) site_id: Option<Spanned<String>>,
    /// GitHub `owner/repo`, and optionally the Actions workflow that deploys.
    pub(super) repo: Option<Spanned<String>>,
    pub(super) workflow: Option<Spanned<String>>,
    /// The repository's web address, for links to commits (any provider).
    pub(super) repository_url: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) previews: bool,
    #[serde(default)]
    pub(super) environments: BTreeMap<String, Spanned<RawServiceEnvironment>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawServiceEnvironment {
    /// Vercel: the deployment target (defaults to the environment name).
    pub(super) target: Option<Spanned<String>>,
    /// Railway and GitHub: the provider's environment name if it differs from Lookout's.
    pub(super) environment_name: Option<Spanned<String>>,
    /// Branch deployments of this branch belong to this environment.
    pub(super) branch: Option<Spanned<String>>,
    /// Render: the service id for this environment.
    pub(super) service_id: Option<Spanned<String>>,
    /// Railway: the environment id.
    pub(super) environment_id: Option<Spanned<String>>,
    /// DigitalOcean: the app id.
    pub(super) app_id: Option<Spanned<String>>,
    /// Heroku and Fly: the app name.
    pub(super) app: Option<Spanned<String>>,
    /// Supabase: the project ref.
    pub(super) project_ref: Option<Spanned<String>>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) health: Option<Spanned<RawHealth>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealth {
    pub(super) url: Spanned<String>,
    pub(super) expect_status: Option<Spanned<u16>>,
    pub(super) json_pointer: Option<Spanned<String>>,
    pub(super) expect_value: Option<Spanned<toml::Value>>,
    pub(super) degraded_latency_ms: Option<Spanned<u64>>,
    pub(super) timeout_ms: Option<Spanned<u64>>,
}

/// A string field of the file with its key, for checks that go over several.
pub(super) type NamedField<'a> = (&'a Option<Spanned<String>>, &'static str);

impl RawService {
    /// The keys that say which resource a service is at its provider.
    pub(super) fn id_fields(&self) -> [NamedField<'_>; 6] {
        [
            (&self.project, "project"),
            (&self.project_id, "project_id"),
            (&self.service_id, "service_id"),
            (&self.site_id, "site_id"),
            (&self.repo, "repo"),
            (&self.workflow, "workflow"),
        ]
    }
}

impl RawServiceEnvironment {
    /// The provider-specific keys of a service's environment.
    pub(super) fn fields(&self) -> [NamedField<'_>; 8] {
        [
            (&self.target, "target"),
            (&self.environment_name, "environment_name"),
            (&self.branch, "branch"),
            (&self.service_id, "service_id"),
            (&self.environment_id, "environment_id"),
            (&self.app_id, "app_id"),
            (&self.app, "app"),
            (&self.project_ref, "project_ref"),
        ]
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAuth {
    pub(super) mode: Option<Spanned<String>>,
    pub(super) public_status: Option<Spanned<bool>>,
    pub(super) open_role: Option<Spanned<String>>,
    pub(super) session_hours: Option<Spanned<u64>>,
    pub(super) session_idle_minutes: Option<Spanned<u64>>,
    pub(super) proxy_user_header: Option<Spanned<String>>,
    pub(super) trusted_proxies: Option<Spanned<Vec<String>>>,
    pub(super) client_ip_header: Option<Spanned<String>>,
    pub(super) proxy_default_role: Option<Spanned<String>>,
    pub(super) logout_url: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) users: Vec<Spanned<RawUser>>,
    #[serde(default)]
    pub(super) api_tokens: Vec<Spanned<RawApiToken>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUser {
    pub(super) name: Spanned<String>,
    pub(super) password_hash: Option<Spanned<String>>,
    pub(super) role: Spanned<String>,
    pub(super) environments: Option<Spanned<Vec<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApiToken {
    pub(super) name: Spanned<String>,
    pub(super) sha256: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNotification {
    pub(super) kind: Spanned<String>,
    pub(super) url_env: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) environments: Vec<Spanned<String>>,
}
