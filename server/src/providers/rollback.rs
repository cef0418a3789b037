//! What every provider client says about rolling back: how it does it, what it leaves behind
//! (a paused auto-deploy, a lock, a pin), and the calls that start it, report its progress and
//! undo the hold. The flow around these calls (preflight, locks, audit, verification) is
//! `crate::rollback`; a client only speaks its provider's API.

use super::{ProviderDeployment, ProviderEnvironment};

/// How a provider rolls back, for the confirmation dialog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackMethod {
    /// What the provider will do, one sentence ("Render starts a new deploy from the target
    /// deploy's build artifact; nothing is rebuilt.").
    pub action: String,
    /// The hold that keeps the next push from undoing the rollback, if the provider has one.
    pub hold: Option<HoldOffer>,
    /// Caveats the user should read before confirming (environment variables not applied, …).
    pub caveats: Vec<String>,
}

/// A hold the provider can place with a rollback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoldOffer {
    pub kind: HoldKind,
    /// Whether the provider always places it, or Lookout offers it as a choice.
    pub placement: HoldPlacement,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldPlacement {
    /// The dialog offers it (checked by default); the user may decline.
    Offered,
    /// The provider places it by itself with every rollback.
    Always,
}

/// What keeps a rolled-back environment from moving on by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HoldKind {
    /// Render: `autoDeploy` set to `no`; resumed by setting it back to `yes`.
    AutoDeployPaused,
    /// Netlify: auto publishing stopped by locking the restored deploy; resumed by unlocking.
    PublishingLocked,
    /// DigitalOcean App Platform: the app is pinned to the rollback until it is committed
    /// (kept, unpinned) or reverted (back to the deployment before the rollback).
    Pinned,
}

impl HoldKind {
    /// The stored and wire name.
    pub fn name(self) -> &'static str {
        match self {
            Self::AutoDeployPaused => "auto_deploy_paused",
            Self::PublishingLocked => "publishing_locked",
            Self::Pinned => "pinned",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::AutoDeployPaused, Self::PublishingLocked, Self::Pinned]
            .into_iter()
            .find(|kind| kind.name() == name)
    }

    /// The ways the user may end this hold.
    pub fn releases(self) -> &'static [HoldRelease] {
        match self {
            Self::AutoDeployPaused | Self::PublishingLocked => &[HoldRelease::Resume],
            Self::Pinned => &[HoldRelease::Commit, HoldRelease::Revert],
        }
    }
}

/// How a hold ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HoldRelease {
    /// Auto-deploy / auto publishing back on.
    Resume,
    /// DigitalOcean: keep the rollback and unpin the app.
    Commit,
    /// DigitalOcean: undo the rollback (back to the deployment before it) and unpin.
    Revert,
}

impl HoldRelease {
    pub fn name(self) -> &'static str {
        match self {
            Self::Resume => "resume",
            Self::Commit => "commit",
            Self::Revert => "revert",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Resume, Self::Commit, Self::Revert]
            .into_iter()
            .find(|release| release.name() == name)
    }
}

/// One rollback to start.
#[derive(Clone, Copy, Debug)]
pub struct RollbackRequest<'a> {
    pub environment: &'a ProviderEnvironment,
    /// The deployment to roll back to, as the provider reported it in preflight.
    pub target: &'a ProviderDeployment,
    /// What is live now (preflight checked it is what the user saw).
    pub live: &'a ProviderDeployment,
    /// The user's reason, passed on where the provider records one.
    pub reason: &'a str,
    /// Whether to place the offered hold (ignored where the provider has none or always
    /// places it).
    pub place_hold: bool,
}

/// What the provider said when it accepted a rollback.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RollbackStarted {
    /// A deployment the rollback created (Render, Heroku, GitHub, Fly): the one that must go
    /// live. `None` where the target itself goes live again (Vercel, Netlify, Cloudflare).
    pub new_deployment_id: Option<String>,
    /// Any other id the provider returned for this operation (a DigitalOcean deployment, a
    /// Heroku release), kept in the audit row.
    pub provider_reference: Option<String>,
    /// The hold now in place, if any.
    pub hold: Option<HoldKind>,
}

/// Where a rollback stands, by the provider's own account.
#[derive(Clone, Debug, PartialEq)]
pub enum RollbackProgress {
    /// Still moving; the text says what the provider reports ("update_in_progress").
    Waiting { detail: String },
    /// The provider reports this deployment live in the environment (verification still
    /// re-reads it).
    Live(Box<ProviderDeployment>),
    /// The provider reports the rollback failed, with its reason.
    Failed { reason: String },
}

/// Whether `live` is the outcome a rollback to `target` should have: the target itself, or
/// the deployment the rollback created, built from the target's commit.
pub fn is_rollback_outcome(
    live: &ProviderDeployment,
    target: &ProviderDeployment,
    started: &RollbackStarted,
) -> bool {
    if live.id == target.id {
        return true;
    }
    let created = started
        .new_deployment_id
        .as_deref()
        .is_some_and(|id| id == live.id);
    let same_commit = match (&live.commit.sha, &target.commit.sha) {
        (Some(live_sha), Some(target_sha)) => live_sha == target_sha,
        // A provider without commits (Fly images, Heroku slugs without a commit) vouches for
        // the created deployment by its id alone.
        (None, None) => true,
        _ => false,
    };
    created && same_commit
}

/// The live deployment of one environment among what `live_deployments` returned.
pub fn live_in<'a>(
    live: &'a [ProviderDeployment],
    environment: &ProviderEnvironment,
) -> Option<&'a ProviderDeployment> {
    live.iter()
        .find(|deployment| &deployment.environment == environment)
}

/// Reads `provider`'s progress on a started rollback every 50 ms until it stops waiting or
/// `limit` passes (the last answer then). For tests and tools; the server's own loop is
/// `crate::rollback`'s, with its timeout and audit.
pub async fn progress_until_settled(
    provider: &dyn super::DeploymentProvider,
    target: &ProviderDeployment,
    started: &RollbackStarted,
    limit: std::time::Duration,
) -> Result<RollbackProgress, super::ProviderError> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let progress = provider
            .rollback_progress(&target.environment, target, started)
            .await?;
        if !matches!(progress, RollbackProgress::Waiting { .. })
            || tokio::time::Instant::now() >= deadline
        {
            return Ok(progress);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[cfg(test)]
mod tests;
