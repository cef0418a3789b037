//! Following an operation once it is recorded: the provider call, polling until it settles or
//! times out, verification by re-reading, and the recorded and audited outcome. Also the two
//! ways an operation nobody follows is picked up again: [`Rollbacks::reconcile`] at startup and
//! the periodic [`Rollbacks::sweep`].

use super::{describe, lock, notify, Requester, Rollbacks, RunningGuard, TaskGuard, STALE_MARGIN};
use crate::monitor::ProviderTarget;
use crate::providers::rollback::{
    is_rollback_outcome, live_in, HoldKind as ProviderHold, RollbackProgress, RollbackRequest,
    RollbackStarted,
};
use crate::providers::ProviderDeployment;
use crate::store::{RollbackQuery, RollbackRecord};
use app::rollback::RollbackState;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;

impl Rollbacks {
    /// Marks operation `id` as having a live task in this process until the guard drops.
    pub(super) fn task_guard(self: &Arc<Self>, id: i64) -> TaskGuard {
        lock(&self.tasks).insert(id);
        TaskGuard {
            rollbacks: self.clone(),
            id,
        }
    }

    /// Settles unfinished operations nobody is following: `pending` or `running` longer than
    /// the rollback timeout (plus a margin for the last poll), with no task in this process
    /// (whatever dropped them: a lost task, another replica that died). Each is reconciled as
    /// at a restart; the provider is never called again.
    pub async fn sweep(self: &Arc<Self>) {
        let unfinished = match self.store.find_rollbacks(RollbackQuery::Unfinished).await {
            Ok(unfinished) => unfinished,
            Err(error) => {
                tracing::warn!(%error, "cannot read unfinished rollbacks for the sweep");
                return;
            }
        };
        let stale_after = chrono::Duration::from_std(self.timeout + self.timeout.min(STALE_MARGIN))
            .unwrap_or(chrono::Duration::minutes(10));
        let now = Utc::now();
        for record in unfinished {
            let followed = lock(&self.tasks).contains(&record.id)
                || lock(&self.running)
                    .contains(&(record.service.clone(), record.environment.clone()));
            if followed || now - record.requested_at < stale_after {
                continue;
            }
            tracing::warn!(id = record.id, service = %record.service, environment = %record.environment, "sweeping a rollback nobody is following");
            let rollbacks = self.clone();
            tokio::spawn(async move { rollbacks.reconcile_one(record).await });
        }
    }

    /// Runs [`Self::sweep`] every rollback timeout (at least every second, at most every
    /// minute) for as long as the server runs.
    pub fn spawn_sweeper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let rollbacks = Arc::downgrade(self);
        let every = self
            .timeout
            .clamp(Duration::from_secs(1), Duration::from_secs(60));
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                let Some(rollbacks) = rollbacks.upgrade() else {
                    return;
                };
                rollbacks.sweep().await;
            }
        })
    }

    /// The provider call, then polling until live, failed or timed out, then verification.
    pub(super) async fn execute(
        self: &Arc<Self>,
        mut record: RollbackRecord,
        target: ProviderTarget,
        wanted: ProviderDeployment,
        live: ProviderDeployment,
        requester: Requester,
    ) {
        let request = RollbackRequest {
            environment: &target.environment,
            target: &wanted,
            live: &live,
            reason: &record.reason,
            place_hold: record.place_hold,
        };
        let started = match target.client.roll_back(request).await {
            Ok(started) => started,
            Err(error) => {
                // The provider's own text stays in the log: readers of the operation (the
                // result page, its stream, the API, webhooks) get the summary only.
                tracing::warn!(id = record.id, %error, "the provider refused the rollback");
                record.state = RollbackState::Failed;
                record.detail = Some(format!("{} refused: {}", record.provider, error.summary()));
                self.finish(record, &requester).await;
                return;
            }
        };
        record.state = RollbackState::Running;
        record.started_at = Some(Utc::now());
        record.new_deployment_id = started.new_deployment_id.clone();
        record.provider_reference = started.provider_reference.clone();
        record.hold = started.hold.map(|hold| hold.name().to_string());
        record.detail = Some(format!("{} accepted the rollback", record.provider));
        self.save(&record).await;
        self.monitor.poll_now();
        self.follow(record, &target, &wanted, &started, &requester)
            .await;
    }

    /// Polls the provider until the rollback settles or its time is up, then verifies.
    async fn follow(
        self: &Arc<Self>,
        mut record: RollbackRecord,
        target: &ProviderTarget,
        wanted: &ProviderDeployment,
        started: &RollbackStarted,
        requester: &Requester,
    ) {
        let deadline = record.requested_at
            + chrono::Duration::from_std(self.timeout).unwrap_or(chrono::Duration::minutes(5));
        loop {
            tokio::time::sleep(self.poll_every).await;
            let progress = target
                .client
                .rollback_progress(&target.environment, wanted, started)
                .await;
            match progress {
                Ok(RollbackProgress::Live(_)) => {
                    self.verify(&mut record, target, wanted, started).await;
                    break;
                }
                Ok(RollbackProgress::Failed { reason }) => {
                    record.state = RollbackState::Failed;
                    record.detail = Some(reason);
                    break;
                }
                Ok(RollbackProgress::Waiting { detail }) => {
                    if record.detail.as_deref() != Some(detail.as_str()) {
                        record.detail = Some(detail);
                        self.save(&record).await;
                    }
                }
                Err(error) => {
                    let detail = format!("could not read progress: {}", error.summary());
                    if record.detail.as_deref() != Some(detail.as_str()) {
                        tracing::warn!(id = record.id, %error, "reading rollback progress failed");
                        record.detail = Some(detail);
                        self.save(&record).await;
                    }
                }
            }
            if Utc::now() >= deadline {
                let live_now = match target.client.live_deployments().await {
                    Ok(live) => live_in(&live, &target.environment)
                        .map(|live| format!("{} ({})", describe(live), live.provider_state))
                        .unwrap_or_else(|| "nothing reported live".into()),
                    Err(error) => format!("unknown ({})", error.summary()),
                };
                record.state = RollbackState::Failed;
                record.detail = Some(format!(
                    "{} did not report {} live within {} s; live now: {live_now}",
                    record.provider,
                    record.to.describe(),
                    self.timeout.as_secs()
                ));
                break;
            }
        }
        self.finish(record, requester).await;
    }

    /// Re-reads the live deployment: `succeeded` only if it is the target.
    async fn verify(
        &self,
        record: &mut RollbackRecord,
        target: &ProviderTarget,
        wanted: &ProviderDeployment,
        started: &RollbackStarted,
    ) {
        match target.client.live_deployments().await {
            Ok(live) => match live_in(&live, &target.environment) {
                Some(now) if is_rollback_outcome(now, wanted, started) => {
                    record.state = RollbackState::Succeeded;
                    record.detail = Some(format!(
                        "{} reports {} live (read again after the rollback)",
                        record.provider,
                        describe(now)
                    ));
                }
                Some(now) => {
                    record.state = RollbackState::Failed;
                    record.detail = Some(format!(
                        "not verified: {} reported the target live, but re-reading shows {}",
                        record.provider,
                        describe(now)
                    ));
                }
                None => {
                    record.state = RollbackState::Failed;
                    record.detail = Some("not verified: nothing is reported live".into());
                }
            },
            Err(error) => {
                record.state = RollbackState::Failed;
                record.detail = Some(format!(
                    "not verified: re-reading the live deployment failed ({})",
                    error.summary()
                ));
            }
        }
    }

    /// Records the outcome, audits it and republishes the rows.
    async fn finish(&self, mut record: RollbackRecord, requester: &Requester) {
        let finished_at = Utc::now();
        record.finished_at = Some(finished_at);
        self.save(&record).await;
        let took = (finished_at - record.requested_at).num_milliseconds() as f64 / 1000.0;
        let mut detail = format!(
            "#{}: {} → {} in {took:.1} s: {}",
            record.id,
            record.from.describe(),
            record.to.describe(),
            record.detail.as_deref().unwrap_or("")
        );
        if let Some(created) = &record.new_deployment_id {
            detail.push_str(&format!("; new deployment {created}"));
        }
        if let Some(reference) = &record.provider_reference {
            detail.push_str(&format!("; provider reference {reference}"));
        }
        self.audit(
            requester,
            "rollback",
            format!("{}/{}", record.service, record.environment),
            record.state.name(),
            detail,
        )
        .await;
        tracing::info!(id = record.id, service = %record.service, environment = %record.environment, outcome = record.state.name(), "rollback finished");
        self.notifier
            .announce(&record, notify::RollbackMoment::Finished);
        self.monitor.poll_now();
        self.announce().await;
    }

    /// Settles the operations a previous run left unfinished (a crash or a kill between the
    /// provider call and the outcome): each resumes polling until its deadline, or is decided
    /// by re-reading the provider. Runs once at startup.
    pub async fn reconcile(self: &Arc<Self>) {
        let unfinished = match self.store.find_rollbacks(RollbackQuery::Unfinished).await {
            Ok(unfinished) => unfinished,
            Err(error) => {
                tracing::error!(%error, "cannot read unfinished rollbacks");
                return;
            }
        };
        for record in unfinished {
            let rollbacks = self.clone();
            tokio::spawn(async move { rollbacks.reconcile_one(record).await });
        }
        self.announce().await;
    }

    async fn reconcile_one(self: &Arc<Self>, mut record: RollbackRecord) {
        let requester = Requester {
            name: "lookout".into(),
            remote_addr: None,
        };
        tracing::warn!(id = record.id, service = %record.service, state = record.state.name(), "reconciling a rollback left unfinished by a restart");
        let Ok(target) = self.target(&record.service, &record.environment) else {
            record.state = RollbackState::Failed;
            record.detail = Some(
                "interrupted by a restart; the service is no longer configured, so the \
                 outcome is unknown"
                    .into(),
            );
            self.finish(record, &requester).await;
            return;
        };
        let key = (record.service.clone(), record.environment.clone());
        lock(&self.running).insert(key.clone());
        let _guard = RunningGuard {
            rollbacks: self.clone(),
            key,
        };
        let _task = self.task_guard(record.id);
        let wanted = match target.client.deployment(&record.to.id).await {
            Ok(wanted) => wanted,
            Err(error) => {
                record.state = RollbackState::Failed;
                record.detail = Some(format!(
                    "interrupted by a restart; the target could not be re-read ({})",
                    error.summary()
                ));
                self.finish(record, &requester).await;
                return;
            }
        };
        let started = RollbackStarted {
            new_deployment_id: record.new_deployment_id.clone(),
            provider_reference: record.provider_reference.clone(),
            hold: record.hold.as_deref().and_then(ProviderHold::from_name),
        };
        // A `pending` row may or may not have reached the provider: only the live deployment
        // can tell. It is never called a second time.
        if let Ok(live) = target.client.live_deployments().await {
            if let Some(now) = live_in(&live, &target.environment) {
                let created_after = now
                    .created_at
                    .is_some_and(|created| created >= record.requested_at);
                let same_commit = now.commit.sha.is_some() && now.commit.sha == wanted.commit.sha;
                if is_rollback_outcome(now, &wanted, &started) || (created_after && same_commit) {
                    record.state = RollbackState::Succeeded;
                    record.detail = Some(format!(
                        "reconciled after a restart: {} reports {} live",
                        record.provider,
                        describe(now)
                    ));
                    self.finish(record, &requester).await;
                    return;
                }
            }
        }
        record.detail = Some("interrupted by a restart; following the provider again".into());
        self.save(&record).await;
        self.follow(record, &target, &wanted, &started, &requester)
            .await;
    }
}
