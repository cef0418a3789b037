//! Holds a rollback placed (auto-deploy paused, publishing locked, a pinned deployment): how
//! they map between the provider's names and the page's, and releasing one.

use super::{Requester, RollbackError, Rollbacks};
use crate::providers::rollback::{
    HoldKind as ProviderHold, HoldPlacement as ProviderPlacement, HoldRelease as ProviderRelease,
};
use app::rollback::{HoldKind, HoldPlacement, HoldRelease};
use chrono::Utc;

/// Maps the provider-side hold onto the page's.
pub fn hold_view_kind(kind: ProviderHold) -> HoldKind {
    match kind {
        ProviderHold::AutoDeployPaused => HoldKind::AutoDeployPaused,
        ProviderHold::PublishingLocked => HoldKind::PublishingLocked,
        ProviderHold::Pinned => HoldKind::Pinned,
    }
}

pub(super) fn hold_view_placement(placement: ProviderPlacement) -> HoldPlacement {
    match placement {
        ProviderPlacement::Offered => HoldPlacement::Offered,
        ProviderPlacement::Always => HoldPlacement::Always,
    }
}

fn provider_release(release: HoldRelease) -> ProviderRelease {
    match release {
        HoldRelease::Resume => ProviderRelease::Resume,
        HoldRelease::Commit => ProviderRelease::Commit,
        HoldRelease::Revert => ProviderRelease::Revert,
    }
}

fn already_released(id: i64) -> RollbackError {
    RollbackError::Invalid(format!("the hold of rollback #{id} was already released"))
}

impl Rollbacks {
    /// Ends a hold a rollback placed; audited either way.
    pub async fn release_hold(
        &self,
        requester: Requester,
        id: i64,
        release: HoldRelease,
    ) -> Result<(), RollbackError> {
        let record = self.find_one(id).await?;
        let Some(hold) = record.hold.as_deref().and_then(ProviderHold::from_name) else {
            return Err(RollbackError::Invalid(format!(
                "rollback #{id} placed no hold"
            )));
        };
        if record.hold_release.is_some() {
            return Err(already_released(id));
        }
        let release_kind = provider_release(release);
        if !hold.releases().contains(&release_kind) {
            return Err(RollbackError::Invalid(format!(
                "`{}` does not apply to {}",
                release.name(),
                hold_view_kind(hold).label()
            )));
        }
        let target = self.target(&record.service, &record.environment)?;
        let subject = format!("{}/{}", record.service, record.environment);
        // Claimed in the store first, by one conditional update: of two concurrent releases
        // (two tabs, two replicas) only one reaches the provider.
        let claimed_at = Utc::now();
        if !self
            .store
            .claim_hold_release(id, release.name(), &requester.name, claimed_at)
            .await?
        {
            return Err(already_released(id));
        }
        self.changed.send_modify(|count| *count += 1);
        match target
            .client
            .release_hold(&target.environment, hold, release_kind)
            .await
        {
            Ok(()) => {
                self.audit(
                    &requester,
                    "rollback_hold",
                    subject,
                    "succeeded",
                    format!("#{id}: {} ({})", release.name(), hold.name()),
                )
                .await;
                self.monitor.poll_now();
                self.announce().await;
                Ok(())
            }
            Err(error) => {
                tracing::warn!(id, %error, "releasing a rollback hold failed at the provider");
                // Still held: give the claim back so it can be released again.
                if let Err(store_error) = self.store.unclaim_hold_release(id, claimed_at).await {
                    tracing::error!(id, error = %store_error, "giving back a hold release claim failed");
                }
                self.changed.send_modify(|count| *count += 1);
                self.audit(
                    &requester,
                    "rollback_hold",
                    subject,
                    "failed",
                    format!(
                        "#{id}: {} ({}): {}",
                        release.name(),
                        hold.name(),
                        error.summary()
                    ),
                )
                .await;
                Err(RollbackError::Provider {
                    provider: record.provider.to_string(),
                    summary: error.summary(),
                })
            }
        }
    }
}
