//! What Lookout assumes when the file says nothing.

use super::schema::{ServerLimits, ServiceResource, ServiceSource};
use app::model::ProviderKind;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

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

/// `[monitor]`: how often deployments and health are read, how many deployments, and how
/// long a rollback may take and how often its progress is read.
pub(super) const DEFAULT_POLL_INTERVAL_SECS: u64 = 30;
pub(super) const DEFAULT_HEALTH_INTERVAL_SECS: u64 = 30;
pub(super) const DEFAULT_HISTORY_DEPTH: u32 = 50;
pub(super) const DEFAULT_ROLLBACK_TIMEOUT_SECS: u64 = 300;
pub(super) const DEFAULT_ROLLBACK_POLL_MILLIS: u64 = 2000;

/// A health check slower than this is degraded; one slower than the timeout is down.
pub(super) const DEFAULT_DEGRADED_LATENCY_MILLIS: u64 = 2000;
pub(super) const DEFAULT_HEALTH_TIMEOUT_MILLIS: u64 = 5000;

/// Where runbooks are read when the config does not say (relative to the working directory).
pub const DEFAULT_RUNBOOKS_DIR: &str = "runbooks";
/// How often the runbooks folder is checked for changes (tests shorten it through `Config`).
pub const DEFAULT_RUNBOOKS_RELOAD_INTERVAL: Duration = Duration::from_secs(2);

pub(super) const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 3000);

pub(super) fn default_api_base(kind: ProviderKind) -> &'static str {
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

/// GitHub services on github.com know their repository's address.
pub(super) fn default_repository_url(source: &ServiceSource) -> Option<String> {
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
