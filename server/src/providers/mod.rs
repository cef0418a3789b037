//! Hosting-provider clients: the only code that talks to provider APIs.
//!
//! Each client is bound to one provider resource (a Vercel project, one Render service, a
//! Railway service across its environments) and implements [`DeploymentProvider`]. Clients map
//! the provider's payloads and state enums onto Lookout's own types here, so nothing outside
//! this module knows a provider's wire format. Base URLs are configurable so the simulators in
//! `crate::simulators` (and tests) stand in for the real APIs.

pub mod cloudflare;
pub mod digitalocean;
pub mod fly;
pub mod github;
mod graphql;
pub mod health;
pub mod heroku;
pub mod http;
pub mod netlify;
pub mod paging;
pub mod railway;
pub mod render;
pub mod rollback;
pub mod supabase;
#[cfg(test)]
mod testkit;
pub mod vercel;
mod wire;

use app::model::{DeployState, DeploymentView, ProviderKind};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rollback::{
    is_rollback_outcome, live_in, HoldKind, HoldRelease, RollbackMethod, RollbackProgress,
    RollbackRequest, RollbackStarted,
};
use std::time::Duration;

/// Which environment of the provider a deployment belongs to, in the provider's own terms.
/// Config maps these onto Lookout environments.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProviderEnvironment {
    /// A named environment: Vercel `target` ("production", "staging"), a Railway environment
    /// name, or the environment a Render service was configured for.
    Named(String),
    /// A preview built from a branch or pull request (Vercel `target: null`, a Railway
    /// ephemeral environment, a Render preview service).
    Preview {
        branch: Option<String>,
        pr_number: Option<u32>,
    },
}

/// The commit a deployment was built from, where the provider says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitInfo {
    pub sha: Option<String>,
    pub message: Option<String>,
    pub author: Option<String>,
    pub branch: Option<String>,
}

/// One deployment as a provider reported it, already mapped onto Lookout's state set.
#[derive(Clone, Debug, PartialEq)]
pub struct ProviderDeployment {
    /// The provider's id (`dpl_…`, `dep-…`, a Railway UUID).
    pub id: String,
    pub state: DeployState,
    /// The provider's own state value, kept for logs and history.
    pub provider_state: String,
    pub environment: ProviderEnvironment,
    pub commit: CommitInfo,
    pub pr_number: Option<u32>,
    /// Who (or what) started the deployment, when the provider says.
    pub creator: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    /// When it finished (became ready or failed).
    pub finished_at: Option<DateTime<Utc>>,
    /// Where the deployment itself can be reached.
    pub url: Option<String>,
    /// The provider's dashboard page for this deployment.
    pub dashboard_url: Option<String>,
    /// Why the provider itself says this deployment cannot be a rollback target (Vercel
    /// `isRollbackCandidate: false`, Railway `canRollback: false`); `None` where it has no
    /// such flag or allows it. Preflight refuses with this text.
    pub rollback_refusal: Option<String>,
    /// Where the provider says this deployment belongs, in its own fields (Railway
    /// `serviceId`/`environmentId`, Vercel `projectId`/`target`, …); empty where the client's
    /// requests are addressed to one resource and the payload names nothing more. Rollback
    /// checks these against [`DeploymentProvider::target_scope`] before acting on a target.
    pub origin: Vec<OriginFact>,
}

/// One thing the provider's payload says about where a deployment belongs: the field's name
/// in the provider's API and its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OriginFact {
    pub field: &'static str,
    pub value: String,
}

impl OriginFact {
    pub fn new(field: &'static str, value: impl Into<String>) -> Self {
        Self {
            field,
            value: value.into(),
        }
    }

    /// The facts for `field` among the values a payload may carry (absent ones skipped).
    pub fn all<'a>(
        field: &'static str,
        values: impl IntoIterator<Item = Option<&'a str>>,
    ) -> Vec<Self> {
        values
            .into_iter()
            .flatten()
            .filter(|value| !value.is_empty())
            .map(|value| Self::new(field, value))
            .collect()
    }
}

/// What a rollback target in one configured environment must carry: for `field`, one of
/// the `accepted` values (the configured ids for this service and environment).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScopeRule {
    pub field: &'static str,
    pub accepted: Vec<String>,
    pub compare: ScopeCompare,
    pub presence: ScopePresence,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeCompare {
    Exact,
    /// Names the provider itself treats case-insensitively (GitHub environments).
    IgnoreAsciiCase,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopePresence {
    /// A target whose payload lacks the field is refused: Lookout cannot tell.
    Required,
    /// Checked when the payload carries it; another field already pins the resource.
    IfReported,
}

impl ScopeRule {
    /// The usual rule: exactly one of these values, and the payload must say.
    pub fn required(field: &'static str, accepted: impl IntoIterator<Item = String>) -> Self {
        Self {
            field,
            accepted: accepted.into_iter().collect(),
            compare: ScopeCompare::Exact,
            presence: ScopePresence::Required,
        }
    }

    /// One of these values when the payload names the field at all.
    pub fn if_reported(field: &'static str, accepted: impl IntoIterator<Item = String>) -> Self {
        Self {
            presence: ScopePresence::IfReported,
            ..Self::required(field, accepted)
        }
    }
}

/// The scope of a client bound to one resource that serves several environments (a Vercel
/// project, a Netlify site, a Pages project): the `resource` rule, and `field` naming the
/// environment. Previews are never rollback targets, so they have no scope.
pub(crate) fn named_environment_scope(
    environment: &ProviderEnvironment,
    resource: ScopeRule,
    field: &'static str,
) -> Option<Vec<ScopeRule>> {
    let ProviderEnvironment::Named(name) = environment else {
        return None;
    };
    Some(vec![resource, ScopeRule::required(field, [name.clone()])])
}

impl ProviderDeployment {
    /// The page's view of this deployment.
    pub fn to_view(&self) -> DeploymentView {
        DeploymentView {
            rollback: None,
            id: self.id.clone(),
            state: self.state,
            commit_sha: self.commit.sha.clone(),
            commit_message: self.commit.message.clone(),
            author: self.commit.author.clone().or_else(|| self.creator.clone()),
            branch: self.commit.branch.clone(),
            pr_number: self.pr_number,
            created_at: self.created_at,
            ready_at: self.finished_at,
            url: web_url(self.url.clone(), "url"),
            dashboard_url: web_url(self.dashboard_url.clone(), "dashboard_url"),
            commit_url: None,
        }
    }
}

/// A link a provider's API handed us (a deployment's URL, its dashboard or log page), kept
/// only when it is an absolute `http`/`https` URL with a host: the page puts these in `href`,
/// so a `javascript:`, `data:` or relative value from a provider (or anyone who can set it
/// there, like a GitHub deployment's `environment_url`) never reaches it. Dropped values are
/// logged at debug with the field's name (not the value).
pub fn web_url(value: Option<String>, field: &'static str) -> Option<String> {
    let value = value?;
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return None;
    }
    match url::Url::parse(trimmed) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.has_host() => {
            Some(trimmed.to_string())
        }
        _ => {
            tracing::debug!(field, "provider link dropped: not an absolute http(s) URL");
            None
        }
    }
}

/// An opaque continuation token for the next page (a cursor, a timestamp, a page number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageCursor(pub String);

/// One page of deployments, newest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeploymentPage {
    pub deployments: Vec<ProviderDeployment>,
    /// `None` when this was the last page.
    pub next: Option<PageCursor>,
}

/// What went wrong talking to a provider. User-safe text comes from [`ProviderError::summary`];
/// nothing here ever holds a token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProviderError {
    #[error("the provider rejected the token (401): {message}")]
    Unauthorized { message: String },
    #[error("the token may not access this resource (403): {message}")]
    Forbidden { message: String },
    #[error("not found (404): {message}")]
    NotFound { message: String },
    #[error("rate limited; retry after {retry_after:?}")]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("the provider is unavailable (HTTP {status:?}): {message}")]
    Unavailable {
        status: Option<u16>,
        message: String,
    },
    #[error("the provider answered with something Lookout cannot read: {detail}")]
    Malformed { detail: String },
    #[error("the request was rejected (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("could not reach the provider: {detail}")]
    Transport { detail: String },
    /// A 3xx: provider clients never follow redirects (the request carries a token).
    #[error("the provider answered with a redirect (HTTP {status}), which is not followed")]
    Redirected { status: u16 },
    /// The answer was larger than Lookout reads ([`http::MAX_PROVIDER_BODY`]).
    #[error("the provider's answer is larger than {limit_bytes} bytes")]
    TooLarge { limit_bytes: u64 },
}

impl ProviderError {
    /// A short sentence for the page ("rate limited, retrying in 30 s").
    pub fn summary(&self) -> String {
        match self {
            Self::Unauthorized { .. } => "token rejected by the provider (401)".into(),
            Self::Forbidden { .. } => "token lacks access (403)".into(),
            Self::NotFound { .. } => "resource not found at the provider (404)".into(),
            Self::RateLimited {
                retry_after: Some(wait),
                ..
            } => format!("rate limited, retrying in {} s", wait.as_secs().max(1)),
            Self::RateLimited {
                retry_after: None, ..
            } => "rate limited by the provider".into(),
            Self::Timeout => "provider did not answer in time".into(),
            Self::Unavailable {
                status: Some(status),
                ..
            } => format!("provider unavailable (HTTP {status})"),
            Self::Unavailable { status: None, .. } => "provider unavailable".into(),
            Self::Malformed { .. } => "provider sent an unreadable answer".into(),
            Self::Rejected { status, .. } => {
                format!("provider rejected the request (HTTP {status})")
            }
            Self::Transport { .. } => "provider unreachable".into(),
            Self::Redirected { status } => {
                format!("provider answered with a redirect (HTTP {status}); not followed")
            }
            Self::TooLarge { limit_bytes } => format!(
                "provider answer larger than {} MiB; not read",
                limit_bytes / (1024 * 1024)
            ),
        }
    }

    /// How long to wait before the next attempt, if the provider said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Errors worth backing off on (the provider is struggling or throttling us).
    pub fn wants_backoff(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Timeout
                | Self::Unavailable { .. }
                | Self::Transport { .. }
        )
    }
}

/// A client for one provider resource.
#[async_trait]
pub trait DeploymentProvider: Send + Sync {
    fn kind(&self) -> ProviderKind;

    /// One page of deployments, newest first. `cursor` is `None` for the first page.
    async fn list_deployments(
        &self,
        cursor: Option<&PageCursor>,
        page_size: u32,
    ) -> Result<DeploymentPage, ProviderError>;

    /// What serves traffic now, one deployment per provider environment, by the provider's own
    /// marker (Vercel `targets.production`, Render `live`, Railway `activeDeployments`).
    async fn live_deployments(&self) -> Result<Vec<ProviderDeployment>, ProviderError>;

    /// One deployment by id.
    async fn deployment(&self, id: &str) -> Result<ProviderDeployment, ProviderError>;

    /// What a deployment must say about itself (its [`ProviderDeployment::origin`]) to be a
    /// rollback target in `environment`: the configured resource and environment ids. `None`
    /// when the client cannot say, which refuses every target. An empty list: the client's
    /// every request is addressed to the one resource that is this environment (Render,
    /// DigitalOcean, Fly), so a deployment it returns cannot be another's.
    fn target_scope(&self, _environment: &ProviderEnvironment) -> Option<Vec<ScopeRule>> {
        None
    }

    /// How this provider rolls back; `None` when it has no rollback (the dialog says so).
    fn rollback_method(&self) -> Option<RollbackMethod> {
        None
    }

    /// Starts a rollback. Called once per confirmed request, after preflight.
    async fn roll_back(
        &self,
        _request: RollbackRequest<'_>,
    ) -> Result<RollbackStarted, ProviderError> {
        Err(unsupported("rollback"))
    }

    /// Where a started rollback stands. The default reads the deployment the rollback
    /// created (failed or canceled ends it) and the live deployment of the environment.
    async fn rollback_progress(
        &self,
        environment: &ProviderEnvironment,
        target: &ProviderDeployment,
        started: &RollbackStarted,
    ) -> Result<RollbackProgress, ProviderError> {
        if let Some(created_id) = &started.new_deployment_id {
            let created = self.deployment(created_id).await?;
            if matches!(created.state, DeployState::Failed | DeployState::Canceled) {
                return Ok(RollbackProgress::Failed {
                    reason: format!(
                        "{} reports the rollback deployment {created_id} as {}",
                        self.kind(),
                        created.provider_state
                    ),
                });
            }
        }
        let live = self.live_deployments().await?;
        Ok(match live_in(&live, environment) {
            Some(now) if is_rollback_outcome(now, target, started) => {
                RollbackProgress::Live(Box::new(now.clone()))
            }
            Some(now) => RollbackProgress::Waiting {
                detail: format!("{} is still live ({})", now.id, now.provider_state),
            },
            None => RollbackProgress::Waiting {
                detail: "the provider reports nothing live yet".into(),
            },
        })
    }

    /// Ends a hold a rollback placed (resume auto-deploy, unlock, commit or revert a pin).
    async fn release_hold(
        &self,
        _environment: &ProviderEnvironment,
        _hold: HoldKind,
        _release: HoldRelease,
    ) -> Result<(), ProviderError> {
        Err(unsupported("releasing a hold"))
    }
}

/// What a client answers for an operation its provider does not have.
fn unsupported(operation: &str) -> ProviderError {
    ProviderError::Rejected {
        status: 501,
        message: format!("this provider has no {operation} Lookout can call"),
    }
}

/// What serves each branch's preview where the provider marks none (Vercel, Netlify,
/// Cloudflare Pages): the newest ready deployment of each branch, from a list that is newest
/// first. Branch-less previews (CLI uploads, drafts) are no branch's preview and are skipped.
pub(crate) fn branch_previews(
    recent: Vec<ProviderDeployment>,
) -> impl Iterator<Item = ProviderDeployment> {
    let mut seen_branches = std::collections::HashSet::new();
    recent.into_iter().filter(move |deployment| {
        let ProviderEnvironment::Preview {
            branch: Some(branch),
            ..
        } = &deployment.environment
        else {
            return false;
        };
        deployment.state == DeployState::Ready && seen_branches.insert(branch.clone())
    })
}

/// Reads deployments page by page until `depth` are collected or the provider has no more.
pub async fn list_recent_deployments(
    provider: &dyn DeploymentProvider,
    depth: u32,
    page_size: u32,
) -> Result<Vec<ProviderDeployment>, ProviderError> {
    let mut collected = Vec::new();
    let mut cursor: Option<PageCursor> = None;
    while (collected.len() as u64) < u64::from(depth) {
        let page = provider
            .list_deployments(cursor.as_ref(), page_size.min(depth))
            .await?;
        let received = page.deployments.len();
        collected.extend(page.deployments);
        match page.next {
            Some(next) if received > 0 => cursor = Some(next),
            _ => break,
        }
    }
    collected.truncate(depth as usize);
    Ok(collected)
}
