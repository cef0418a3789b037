//! Wire types: what the server tells the page (and `/api/v1/status` tells scripts).
//!
//! These are plain data shared by the server build and the wasm build. They hold no secret and
//! no provider-specific shape: provider clients map their payloads onto these in `server`.
//! Counts are `u32`/`u64`, never `usize` (the wasm side is 32-bit).
//!
//! This module is the bottom of the crate: it imports nothing from it but `crate::auth`'s
//! `Audience` (which imports nothing itself), so the server, the pages and the logic over these
//! types (`crate::board`) all build on it. The status board is here; the other topics are
//! submodules, re-exported at their old paths (`crate::history`, `crate::rollback`).

pub mod board;
pub mod history;
pub mod rollback;
pub mod runbooks;
mod url;

pub use url::{encode_component, query_string};

use board::RowWindow;
use chrono::{DateTime, Utc};
use rollback::{RollbackEligibility, RollbackNote, RollbackOffer};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kind of an environment; decides card order and how previews are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentKind {
    Production,
    Staging,
    Development,
    Preview,
}

impl EnvironmentKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Staging => "staging",
            Self::Development => "development",
            Self::Preview => "preview",
        }
    }
}

/// Every hosting provider Lookout knows, plus the generic HTTP health check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Vercel,
    Render,
    Railway,
    Netlify,
    Github,
    Digitalocean,
    Heroku,
    Fly,
    CloudflarePages,
    Supabase,
    /// A service that Lookout only health-checks over HTTP (no deploy API).
    HttpHealth,
}

impl ProviderKind {
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Vercel => "Vercel",
            Self::Render => "Render",
            Self::Railway => "Railway",
            Self::Netlify => "Netlify",
            Self::Github => "GitHub",
            Self::Digitalocean => "DigitalOcean",
            Self::Heroku => "Heroku",
            Self::Fly => "Fly.io",
            Self::CloudflarePages => "Cloudflare Pages",
            Self::Supabase => "Supabase",
            Self::HttpHealth => "HTTP check",
        }
    }
}

impl ProviderKind {
    /// Whether the provider reports deployments (Supabase and plain HTTP checks only report
    /// health, so a missing live deployment is expected there, not unknown).
    pub fn has_deployments(self) -> bool {
        !matches!(self, Self::Supabase | Self::HttpHealth)
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// Lookout's one state set for a deployment; every provider enum maps onto it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeployState {
    Queued,
    Building,
    Deploying,
    Ready,
    Failed,
    Canceled,
    /// Was live once, replaced by a newer deployment.
    Superseded,
    RolledBack,
    Unknown,
}

impl DeployState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Building => "building",
            Self::Deploying => "deploying",
            Self::Ready => "ready",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::Superseded => "superseded",
            Self::RolledBack => "rolled back",
            Self::Unknown => "unknown",
        }
    }

    /// Still moving: a newer deployment that may become live.
    pub fn is_in_progress(self) -> bool {
        matches!(self, Self::Queued | Self::Building | Self::Deploying)
    }

    pub fn css_class(self) -> &'static str {
        match self {
            Self::Ready => "ok",
            Self::Queued | Self::Building | Self::Deploying => "busy",
            Self::Failed => "bad",
            Self::RolledBack => "warn",
            Self::Canceled | Self::Superseded | Self::Unknown => "muted",
        }
    }
}

/// What the health check of a service says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Up,
    Degraded,
    Down,
    Unknown,
    /// No health check is configured for this service here; the deploy state speaks alone.
    Unchecked,
}

impl HealthState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Degraded => "degraded",
            Self::Down => "down",
            Self::Unknown => "unknown",
            Self::Unchecked => "not checked",
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            Self::Up => "ok",
            Self::Unchecked => "muted",
            Self::Degraded => "warn",
            Self::Down => "bad",
            Self::Unknown => "muted",
        }
    }
}

/// One deployment as the page shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeploymentView {
    /// The provider's own id (`dpl_…`, `dep-…`, a UUID).
    pub id: String,
    pub state: DeployState,
    pub commit_sha: Option<String>,
    pub commit_message: Option<String>,
    pub author: Option<String>,
    pub branch: Option<String>,
    pub pr_number: Option<u32>,
    pub created_at: Option<DateTime<Utc>>,
    pub ready_at: Option<DateTime<Utc>>,
    /// Where this deployment is reachable (the live URL for a live deployment).
    pub url: Option<String>,
    /// The provider's dashboard page for this deployment.
    pub dashboard_url: Option<String>,
    /// The commit's page in the repository, when the service's repository is known.
    #[serde(default)]
    pub commit_url: Option<String>,
    /// Whether it can be rolled back to, where the server judged it (history rows).
    #[serde(default)]
    pub rollback: Option<RollbackEligibility>,
}

impl DeploymentView {
    pub fn short_sha(&self) -> Option<&str> {
        self.commit_sha
            .as_deref()
            .map(|sha| sha.get(..7).unwrap_or(sha))
    }

    /// The first line of the commit message, for one-line rows.
    pub fn headline(&self) -> Option<&str> {
        self.commit_message
            .as_deref()
            .and_then(|message| message.lines().next())
    }
}

/// The latest health-check result of a service in an environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthView {
    pub state: HealthState,
    pub checked_at: Option<DateTime<Utc>>,
    pub latency_ms: Option<u32>,
    /// Why it is not `up`, in words an on-call engineer can act on.
    pub detail: Option<String>,
}

impl HealthView {
    pub fn unknown(detail: impl Into<String>) -> Self {
        Self {
            state: HealthState::Unknown,
            checked_at: None,
            latency_ms: None,
            detail: Some(detail.into()),
        }
    }
}

/// How fresh the deployment data of a row is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PollView {
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// True when the last poll failed or the data is older than two poll intervals.
    pub stale: bool,
    /// Why the data is stale ("rate limited, retrying at 14:05"); user-safe, no secrets.
    pub problem: Option<String>,
}

/// One service in one environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub service: String,
    pub provider: ProviderKind,
    /// What serves traffic now.
    pub live: Option<DeploymentView>,
    /// A newer deployment than the live one that is in progress or failed.
    pub pending: Option<DeploymentView>,
    pub health: HealthView,
    pub poll: PollView,
    /// The public URL of the service in this environment.
    pub live_url: Option<String>,
    /// Uptime from Lookout's own store (health-checked services only).
    #[serde(default)]
    pub uptime: Option<UptimeView>,
    /// Median health-check latency per hour over the last 24 hours, oldest first; `None`
    /// where nothing was measured.
    #[serde(default)]
    pub latency_ms: Vec<Option<u32>>,
    /// What "Roll back to previous" would do (`None`: the provider has no deployments).
    #[serde(default)]
    pub rollback_offer: Option<RollbackOffer>,
    /// The latest rollback of this service here, with any hold still in place.
    #[serde(default)]
    pub last_rollback: Option<RollbackNote>,
}

/// Uptime percentages over three windows (`None`: no samples in the window).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UptimeView {
    pub day: Option<f64>,
    pub week: Option<f64>,
    pub month: Option<f64>,
}

impl UptimeView {
    /// "99.95 %", or "–" without samples.
    pub fn format(percent: Option<f64>) -> String {
        match percent {
            Some(value) if value >= 99.995 => "100 %".to_string(),
            Some(value) => format!("{value:.2} %"),
            None => "–".to_string(),
        }
    }
}

impl ServiceStatus {
    pub fn rollup(&self) -> RollupStatus {
        let deploy_failed = self
            .pending
            .as_ref()
            .is_some_and(|deployment| deployment.state == DeployState::Failed);
        let deploying = self
            .pending
            .as_ref()
            .is_some_and(|deployment| deployment.state.is_in_progress());
        match self.health.state {
            HealthState::Down => RollupStatus::Down,
            _ if self.live.is_none() && self.provider.has_deployments() => {
                if deploying {
                    RollupStatus::Deploying
                } else {
                    RollupStatus::Unknown
                }
            }
            HealthState::Degraded => RollupStatus::Degraded,
            _ if deploy_failed => RollupStatus::Degraded,
            HealthState::Unknown if self.poll.stale => RollupStatus::Unknown,
            _ if self
                .live
                .as_ref()
                .is_some_and(|live| live.state != DeployState::Ready) =>
            {
                RollupStatus::Unknown
            }
            _ if self.poll.stale => RollupStatus::Stale,
            _ if deploying => RollupStatus::Deploying,
            HealthState::Up | HealthState::Unchecked => RollupStatus::Operational,
            HealthState::Unknown => RollupStatus::Unknown,
        }
    }
}

/// The one status an environment card (or a service row) rolls up to; worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollupStatus {
    Down,
    Degraded,
    Unknown,
    Stale,
    Deploying,
    Operational,
}

impl RollupStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Down => "Down",
            Self::Degraded => "Degraded",
            Self::Unknown => "Unknown",
            Self::Stale => "Stale data",
            Self::Deploying => "Deploying",
            Self::Operational => "Operational",
        }
    }

    pub fn css_class(self) -> &'static str {
        match self {
            Self::Down => "bad",
            Self::Degraded => "warn",
            Self::Unknown | Self::Stale => "muted",
            Self::Deploying => "busy",
            Self::Operational => "ok",
        }
    }

    /// A text glyph per status so colour is never the only signal.
    pub fn icon(self) -> &'static str {
        match self {
            Self::Down => "✖",
            Self::Degraded => "▲",
            Self::Unknown => "?",
            Self::Stale => "◷",
            Self::Deploying => "↻",
            Self::Operational => "●",
        }
    }
}

/// One environment card.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentStatus {
    /// Unique on the page: `production`, `staging`, or `preview/<branch>` for previews.
    pub name: String,
    pub kind: EnvironmentKind,
    /// For previews: the branch the environment was built from.
    pub branch: Option<String>,
    pub pr_number: Option<u32>,
    pub services: Vec<ServiceStatus>,
    /// Set when the page carries only some of the environment's rows (`crate::board`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<RowWindow>,
}

impl EnvironmentStatus {
    /// Services in the environment, including rows this page does not carry.
    pub fn service_total(&self) -> u32 {
        self.window.as_ref().map_or(
            // A page without a window carries every row; no environment nears u32::MAX rows.
            u32::try_from(self.services.len()).unwrap_or(u32::MAX),
            |window| window.total,
        )
    }

    /// The worst status of its services (an empty card is unknown), including the rows this
    /// page does not carry.
    pub fn rollup(&self) -> RollupStatus {
        if let Some(window) = &self.window {
            return window.rollup;
        }
        self.services
            .iter()
            .map(ServiceStatus::rollup)
            .min()
            .unwrap_or(RollupStatus::Unknown)
    }

    /// What the card's heading says.
    pub fn title(&self) -> String {
        match (&self.branch, self.pr_number) {
            (Some(branch), Some(pr)) => format!("{branch} (#{pr})"),
            (Some(branch), None) => branch.clone(),
            (None, Some(pr)) => format!("PR #{pr}"),
            (None, None) => self.name.clone(),
        }
    }

    /// An id usable as an HTML anchor.
    pub fn anchor(&self) -> String {
        let slug: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        format!("env-{slug}")
    }
}

/// Everything the home page shows; also the body of `GET /api/v1/status`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StatusSnapshot {
    /// When the server assembled this snapshot.
    pub generated_at: DateTime<Utc>,
    /// Increases with every change; lets live clients drop out-of-order updates.
    pub revision: u64,
    /// True when the server shows simulated demo data.
    pub demo: bool,
    /// Production first, then staging, development, then previews by branch.
    pub environments: Vec<EnvironmentStatus>,
}

impl StatusSnapshot {
    /// The snapshot as `audience` may see it: anonymous readers are not told who started a
    /// service's latest rollback.
    pub fn for_audience(mut self, audience: crate::auth::Audience) -> Self {
        if audience == crate::auth::Audience::Anonymous {
            for service in self
                .environments
                .iter_mut()
                .flat_map(|environment| environment.services.iter_mut())
            {
                if let Some(note) = service.last_rollback.as_mut() {
                    note.actor = None;
                }
            }
        }
        self
    }

    pub fn empty(generated_at: DateTime<Utc>) -> Self {
        Self {
            generated_at,
            revision: 0,
            demo: false,
            environments: Vec::new(),
        }
    }
}

/// A message on the live stream (`/api/events`), one per SSE event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEvent {
    /// The whole new snapshot (sent on connect and on every change).
    Snapshot { snapshot: StatusSnapshot },
    /// Keeps proxies from closing the stream and lets the page's clock tick.
    Heartbeat { server_time: DateTime<Utc> },
    /// New deployments (or state changes) were stored: history views refresh.
    DeploymentsChanged { count: u64 },
}

/// Names of the SSE events, shared by the server that sends them and the page that listens.
pub mod live_event_names {
    pub const SNAPSHOT: &str = "snapshot";
    pub const HEARTBEAT: &str = "heartbeat";
    pub const DEPLOYMENTS: &str = "deployments";
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn service(health: HealthState, live: bool, stale: bool) -> ServiceStatus {
        ServiceStatus {
            service: "api".into(),
            provider: ProviderKind::Render,
            live: live.then(|| DeploymentView {
                id: "dep-1".into(),
                state: DeployState::Ready,
                commit_sha: Some("0123456789abcdef".into()),
                commit_message: Some("Fix it\n\nLong body".into()),
                author: None,
                branch: None,
                pr_number: None,
                created_at: None,
                ready_at: None,
                url: None,
                dashboard_url: None,
                commit_url: None,
                rollback: None,
            }),
            pending: None,
            health: HealthView {
                state: health,
                checked_at: None,
                latency_ms: None,
                detail: None,
            },
            poll: PollView {
                last_success_at: None,
                last_attempt_at: None,
                stale,
                problem: None,
            },
            live_url: None,
            uptime: None,
            latency_ms: Vec::new(),
            rollback_offer: None,
            last_rollback: None,
        }
    }

    #[test]
    fn the_worst_service_decides_the_card() {
        let env = EnvironmentStatus {
            name: "production".into(),
            kind: EnvironmentKind::Production,
            branch: None,
            pr_number: None,
            services: vec![
                service(HealthState::Up, true, false),
                service(HealthState::Degraded, true, false),
            ],
            window: None,
        };
        assert_eq!(env.rollup(), RollupStatus::Degraded);
    }

    #[test]
    fn stale_data_is_never_reported_as_operational() {
        assert_eq!(
            service(HealthState::Up, true, true).rollup(),
            RollupStatus::Stale
        );
        assert_eq!(
            service(HealthState::Unknown, true, true).rollup(),
            RollupStatus::Unknown
        );
    }

    #[test]
    fn a_service_with_nothing_live_is_unknown_not_operational() {
        assert_eq!(
            service(HealthState::Up, false, false).rollup(),
            RollupStatus::Unknown
        );
    }

    #[test]
    fn short_sha_and_headline() {
        let s = service(HealthState::Up, true, false);
        let live = s.live.unwrap();
        assert_eq!(live.short_sha(), Some("0123456"));
        assert_eq!(live.headline(), Some("Fix it"));
    }

    #[test]
    fn preview_titles_name_branch_and_pr() {
        let env = EnvironmentStatus {
            name: "preview/feature/login".into(),
            kind: EnvironmentKind::Preview,
            branch: Some("feature/login".into()),
            pr_number: Some(42),
            services: vec![],
            window: None,
        };
        assert_eq!(env.title(), "feature/login (#42)");
        assert_eq!(env.anchor(), "env-preview-feature-login");
        assert_eq!(env.rollup(), RollupStatus::Unknown);
    }
}
