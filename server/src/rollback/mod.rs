//! Rollback as a state machine: preflight → record `pending` (and audit it) → provider call →
//! poll → verify by re-reading → record and audit the outcome. Nothing here knows a provider's
//! API: that is `crate::providers` behind `DeploymentProvider`'s rollback calls.
//!
//! What keeps a rollback from misfiring:
//! - preflight refuses when the live deployment is not the one the user saw, when the target
//!   is not this service's deployment in this environment (`eligibility::scope_refusal`: a
//!   grant for one environment must not reach another through a target id), or when the
//!   target cannot be one (`eligibility`);
//! - one operation per service and environment: an in-process set, and the store's partial
//!   unique index for replicas sharing PostgreSQL;
//! - an idempotency key per confirmation page, so a double click or a retried post finds the
//!   first operation instead of starting a second;
//! - the `pending` row and audit entry are written before the provider is called, so a crash
//!   leaves a record that [`Rollbacks::reconcile`] settles at the next start by re-reading the
//!   provider.

pub mod eligibility;
pub mod notify;
pub mod routes;

use crate::monitor::{Monitor, ProviderTarget};
use crate::providers::rollback::{
    is_rollback_outcome, live_in, HoldKind as ProviderHold, HoldRelease as ProviderRelease,
    RollbackProgress, RollbackRequest, RollbackStarted,
};
use crate::providers::{list_recent_deployments, ProviderDeployment, ProviderError};
use crate::store::{
    BeginRollback, NewAuditEntry, RollbackQuery, RollbackRecord, Store, StoreError,
};
use app::auth::Principal;
use app::model::{DeployState, EnvironmentKind};
use app::rollback::{
    DeploymentRef, HoldKind, HoldPlacement, HoldRelease, HoldView, RollbackEligibility,
    RollbackNote, RollbackPlan, RollbackState, RollbackView,
};
use chrono::Utc;
use eligibility::{eligibility, scope_refusal, Candidate, Destination};
use rand::RngCore;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// How many deployments the confirmation page reads to list what a rollback undoes.
const UNDONE_DEPTH: u32 = 30;
/// The longest reason kept.
const MAX_REASON: usize = 500;
/// The longest field of an audited authorization refusal (what the caller sent is not
/// trusted to be short).
const MAX_REFUSAL_FIELD: usize = 200;
/// How long past its timeout an unfinished operation may go unfollowed before the sweep
/// settles it (the last poll and the verification take a moment).
const STALE_MARGIN: Duration = Duration::from_secs(30);

/// What a user asked for on the confirmation page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackForm {
    pub service: String,
    pub environment: String,
    /// The provider id of the deployment to roll back to.
    pub target: String,
    /// The live deployment the user saw.
    pub expected_live: String,
    pub idempotency_key: String,
    pub reason: String,
    /// The service name as typed (production asks for it).
    pub typed_name: String,
    pub place_hold: bool,
}

/// Who asked, for the records.
#[derive(Clone, Debug)]
pub struct Requester {
    pub name: String,
    pub remote_addr: Option<String>,
}

impl Requester {
    pub fn of(principal: &Principal, remote_addr: Option<String>) -> Self {
        Self {
            name: principal.actor(),
            remote_addr,
        }
    }
}

/// Why a rollback was not started (user-safe text; internal causes are logged).
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// Refused in preflight: stale view, ineligible target, already in progress.
    #[error("{0}")]
    Refused(String),
    #[error("{provider} could not be asked: {summary}")]
    Provider { provider: String, summary: String },
    #[error("the rollback store did not answer; nothing was started")]
    Store(#[from] StoreError),
}

/// The rollback executor: one per server.
pub struct Rollbacks {
    monitor: Arc<Monitor>,
    store: Arc<dyn Store>,
    timeout: Duration,
    poll_every: Duration,
    /// (service, environment) with an operation running in this process.
    running: Mutex<HashSet<(String, String)>>,
    /// Operation ids with a task following them in this process (the sweep leaves them).
    tasks: Mutex<HashSet<i64>>,
    /// Moves on every change of any operation; result pages' streams wait on it.
    changed: watch::Sender<u64>,
    /// The `[[notifications]]` webhooks.
    notifier: notify::Notifier,
}

/// Forgets an operation's task when it ends.
struct TaskGuard {
    rollbacks: Arc<Rollbacks>,
    id: i64,
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        lock(&self.rollbacks.tasks).remove(&self.id);
    }
}

/// Releases the in-process lock when the operation ends (or preflight gives up).
struct RunningGuard {
    rollbacks: Arc<Rollbacks>,
    key: (String, String),
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        lock(&self.rollbacks.running).remove(&self.key);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Maps the provider-side hold onto the page's.
pub fn hold_view_kind(kind: ProviderHold) -> HoldKind {
    match kind {
        ProviderHold::AutoDeployPaused => HoldKind::AutoDeployPaused,
        ProviderHold::PublishingLocked => HoldKind::PublishingLocked,
        ProviderHold::Pinned => HoldKind::Pinned,
    }
}

fn provider_release(release: HoldRelease) -> ProviderRelease {
    match release {
        HoldRelease::Resume => ProviderRelease::Resume,
        HoldRelease::Commit => ProviderRelease::Commit,
        HoldRelease::Revert => ProviderRelease::Revert,
    }
}

fn reference(deployment: &ProviderDeployment) -> DeploymentRef {
    DeploymentRef {
        id: deployment.id.clone(),
        commit_sha: deployment.commit.sha.clone(),
        summary: deployment
            .commit
            .message
            .as_deref()
            .and_then(|message| message.lines().next())
            .map(str::to_string),
    }
}

fn describe(deployment: &ProviderDeployment) -> String {
    reference(deployment).describe()
}

fn provider_error(target: &ProviderTarget, error: &ProviderError) -> RollbackError {
    tracing::warn!(provider = %target.client.kind(), %error, "rollback preflight: provider call failed");
    RollbackError::Provider {
        provider: target.client.kind().to_string(),
        summary: error.summary(),
    }
}

/// A fresh idempotency key (128 random bits, hex).
pub fn new_idempotency_key() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

impl Rollbacks {
    pub fn new(monitor: Arc<Monitor>) -> Arc<Self> {
        let config = monitor.config();
        let settings = config.monitor.clone();
        let notifier = notify::Notifier::new(
            crate::providers::http::build_client(),
            config.notifications.clone(),
            config.public_url.clone(),
        );
        Arc::new(Self {
            notifier,
            store: monitor.store(),
            monitor,
            timeout: settings.rollback_timeout,
            poll_every: settings.rollback_poll,
            running: Mutex::new(HashSet::new()),
            tasks: Mutex::new(HashSet::new()),
            changed: watch::channel(0).0,
        })
    }

    /// Moves whenever an operation changed.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Why `wanted` is not a deployment of `service` in `environment`, if it is not.
    fn out_of_scope(
        target: &ProviderTarget,
        service: &str,
        environment: &str,
        wanted: &ProviderDeployment,
    ) -> Option<String> {
        let rules = target.client.target_scope(&target.environment);
        scope_refusal(
            &Destination {
                provider: target.client.kind(),
                service,
                environment,
                provider_environment: &target.environment,
                rules: rules.as_deref(),
            },
            wanted,
        )
    }

    fn target(&self, service: &str, environment: &str) -> Result<ProviderTarget, RollbackError> {
        self.monitor
            .provider_for(service, environment)
            .ok_or_else(|| {
                RollbackError::NotFound(format!(
                    "no service `{service}` with a provider in environment `{environment}`"
                ))
            })
    }

    /// What the confirmation page shows for rolling `service` in `environment` back to
    /// `target_id`, read fresh from the provider.
    pub async fn plan(
        &self,
        service: &str,
        environment: &str,
        target_id: &str,
    ) -> Result<RollbackPlan, RollbackError> {
        let target = self.target(service, environment)?;
        let provider = target.client.kind();
        let Some(method) = target.client.rollback_method() else {
            return Err(RollbackError::Refused(format!(
                "{provider} has no rollback Lookout can start"
            )));
        };
        let live_now = target
            .client
            .live_deployments()
            .await
            .map_err(|error| provider_error(&target, &error))?;
        let Some(live) = live_in(&live_now, &target.environment).cloned() else {
            return Err(RollbackError::Refused(format!(
                "{provider} reports nothing live for {service} in {environment}"
            )));
        };
        let wanted = target
            .client
            .deployment(target_id)
            .await
            .map_err(|error| match error {
                ProviderError::NotFound { .. } => RollbackError::NotFound(format!(
                    "{provider} has no deployment `{target_id}` for {service}"
                )),
                other => provider_error(&target, &other),
            })?;
        let recent = list_recent_deployments(target.client.as_ref(), UNDONE_DEPTH, UNDONE_DEPTH)
            .await
            .map_err(|error| provider_error(&target, &error))?;
        let in_environment: Vec<&ProviderDeployment> = recent
            .iter()
            .filter(|deployment| deployment.environment == target.environment)
            .collect();
        let position = in_environment.iter().position(|d| d.id == wanted.id);
        let live_position = in_environment.iter().position(|d| d.id == live.id);
        let newer_successful = position.map_or(0, |index| {
            in_environment[..index]
                .iter()
                .filter(|d| {
                    matches!(
                        d.state,
                        DeployState::Ready | DeployState::Superseded | DeployState::RolledBack
                    )
                })
                .count() as u32
        });
        // What sits between the target and what is live now: undone by the rollback.
        let undone = match (live_position, position) {
            (Some(from), Some(to)) if from < to => in_environment[from + 1..to]
                .iter()
                .map(|d| d.to_view())
                .collect(),
            _ => Vec::new(),
        };
        let scope = Self::out_of_scope(&target, service, environment, &wanted);
        let mut refusal = scope.or_else(|| {
            match eligibility(&Candidate {
                provider,
                state: wanted.state,
                environment_kind: target.environment_kind,
                is_live: wanted.id == live.id,
                newer_successful,
                provider_refusal: wanted.rollback_refusal.as_deref(),
            }) {
                RollbackEligibility::Eligible => None,
                RollbackEligibility::Live => {
                    Some(format!("{} is what is live now", describe(&wanted)))
                }
                RollbackEligibility::Ineligible(reason) => Some(reason),
            }
        });
        if refusal.is_none() {
            let running = self
                .store
                .find_rollbacks(RollbackQuery::InFlight {
                    service,
                    environment,
                })
                .await?;
            if let Some(running) = running.first() {
                refusal = Some(format!(
                    "a rollback of {service} in {environment} by {} is already in progress (#{})",
                    running.actor, running.id
                ));
            }
        }
        Ok(RollbackPlan {
            service: service.to_string(),
            environment: environment.to_string(),
            environment_kind: target.environment_kind,
            provider,
            from: live.to_view(),
            to: wanted.to_view(),
            undone,
            action: method.action,
            caveats: method.caveats,
            hold: method.hold.map(|offer| {
                (
                    hold_view_kind(offer.kind),
                    match offer.placement {
                        crate::providers::rollback::HoldPlacement::Offered => {
                            HoldPlacement::Offered
                        }
                        crate::providers::rollback::HoldPlacement::Always => HoldPlacement::Always,
                    },
                )
            }),
            requires_typed_name: target.environment_kind == EnvironmentKind::Production,
            refusal,
            idempotency_key: new_idempotency_key(),
            generated_at: Utc::now(),
        })
    }

    async fn audit(
        &self,
        requester: &Requester,
        action: &str,
        target: String,
        outcome: &str,
        detail: String,
    ) {
        let entry = NewAuditEntry {
            at: Utc::now(),
            actor: requester.name.clone(),
            action: action.to_string(),
            target,
            outcome: outcome.to_string(),
            detail: Some(detail),
            remote_addr: requester.remote_addr.clone(),
        };
        if let Err(error) = self.store.append_audit(&entry).await {
            tracing::error!(%error, action, outcome, "writing an audit row failed");
        }
    }

    /// Audits a rollback request that authorization refused (401/403), for signed-in callers
    /// only (an anonymous flood must not grow the audit log), every field cut to
    /// [`MAX_REFUSAL_FIELD`] characters.
    pub async fn audit_refused_request(
        &self,
        principal: &Principal,
        remote_addr: Option<String>,
        service: &str,
        environment: &str,
        reason: &str,
    ) {
        if principal.identity().is_none() {
            return;
        }
        let cut = |text: &str| -> String { text.chars().take(MAX_REFUSAL_FIELD).collect() };
        let requester = Requester {
            name: cut(&principal.actor()),
            remote_addr: remote_addr.as_deref().map(cut),
        };
        self.audit(
            &requester,
            "rollback",
            format!("{}/{}", cut(service), cut(environment)),
            "refused",
            format!("not authorized: {}", cut(reason)),
        )
        .await;
    }

    /// Refuses in preflight: audited, then returned.
    async fn refuse(
        &self,
        requester: &Requester,
        form: &RollbackForm,
        reason: String,
    ) -> RollbackError {
        self.audit(
            requester,
            "rollback",
            format!("{}/{}", form.service, form.environment),
            "refused",
            format!(
                "to {}: {reason}",
                form.target
                    .chars()
                    .take(MAX_REFUSAL_FIELD)
                    .collect::<String>()
            ),
        )
        .await;
        RollbackError::Refused(reason)
    }

    /// Starts a rollback (after preflight) and returns its operation id; the provider call
    /// and the polling run in the background. A key seen before returns the earlier id.
    pub async fn start(
        self: &Arc<Self>,
        requester: Requester,
        form: RollbackForm,
    ) -> Result<i64, RollbackError> {
        if form.idempotency_key.len() < 16 || form.idempotency_key.len() > 128 {
            return Err(RollbackError::Invalid(
                "the form is missing its one-time key; open the rollback page again".into(),
            ));
        }
        if let Some(earlier) = self
            .store
            .find_rollbacks(RollbackQuery::Key(&form.idempotency_key))
            .await?
            .into_iter()
            .next()
        {
            return Ok(earlier.id);
        }
        let target = self.target(&form.service, &form.environment)?;
        let reason = form.reason.trim();
        if reason.is_empty() {
            return Err(RollbackError::Invalid(
                "say why you are rolling back (it goes into the audit log)".into(),
            ));
        }
        let reason: String = reason.chars().take(MAX_REASON).collect();
        if target.environment_kind == EnvironmentKind::Production
            && form.typed_name.trim() != form.service
        {
            return Err(RollbackError::Invalid(format!(
                "type the service name `{}` to confirm a production rollback",
                form.service
            )));
        }
        let key = (form.service.clone(), form.environment.clone());
        if !lock(&self.running).insert(key.clone()) {
            let reason = format!(
                "a rollback of {} in {} is already in progress",
                form.service, form.environment
            );
            return Err(self.refuse(&requester, &form, reason).await);
        }
        let guard = RunningGuard {
            rollbacks: self.clone(),
            key,
        };
        let provider = target.client.kind();
        let live_now = target
            .client
            .live_deployments()
            .await
            .map_err(|error| provider_error(&target, &error))?;
        let Some(live) = live_in(&live_now, &target.environment).cloned() else {
            let reason = format!("{provider} reports nothing live; review before rolling back");
            return Err(self.refuse(&requester, &form, reason).await);
        };
        if live.id != form.expected_live {
            let who = live
                .commit
                .author
                .clone()
                .or_else(|| live.creator.clone())
                .unwrap_or_else(|| "someone".into());
            let reason = format!(
                "{who} rolled out {} meanwhile — review before rolling back",
                describe(&live)
            );
            return Err(self.refuse(&requester, &form, reason).await);
        }
        let wanted = match target.client.deployment(&form.target).await {
            Ok(wanted) => wanted,
            Err(ProviderError::NotFound { .. }) => {
                let reason = format!("{provider} has no deployment `{}`", form.target);
                return Err(self.refuse(&requester, &form, reason).await);
            }
            Err(error) => return Err(provider_error(&target, &error)),
        };
        // Before anything else about the target: a grant for this environment must not reach
        // another one (or another service) through the id of one of its deployments.
        if let Some(reason) = Self::out_of_scope(&target, &form.service, &form.environment, &wanted)
        {
            return Err(self.refuse(&requester, &form, reason).await);
        }
        let judged = eligibility(&Candidate {
            provider,
            state: wanted.state,
            environment_kind: target.environment_kind,
            is_live: wanted.id == live.id,
            newer_successful: 0,
            provider_refusal: wanted.rollback_refusal.as_deref(),
        });
        match judged {
            RollbackEligibility::Eligible => {}
            RollbackEligibility::Live => {
                let reason = format!("{} is already live", describe(&wanted));
                return Err(self.refuse(&requester, &form, reason).await);
            }
            RollbackEligibility::Ineligible(reason) => {
                return Err(self.refuse(&requester, &form, reason).await);
            }
        }
        let record = RollbackRecord {
            id: 0,
            idempotency_key: form.idempotency_key.clone(),
            service: form.service.clone(),
            environment: form.environment.clone(),
            provider,
            actor: requester.name.clone(),
            remote_addr: requester.remote_addr.clone(),
            reason: reason.clone(),
            from: reference(&live),
            to: reference(&wanted),
            place_hold: form.place_hold,
            state: RollbackState::Pending,
            detail: Some(format!("asking {provider} to roll back")),
            new_deployment_id: None,
            provider_reference: None,
            hold: None,
            hold_release: None,
            requested_at: Utc::now(),
            started_at: None,
            finished_at: None,
        };
        // From the `pending` row on, the operation runs in its own task: a request dropped
        // now (a closed tab, a proxy timeout) cannot leave a `pending` row with nothing
        // behind it. The request only waits for the id.
        let (begun, id) = tokio::sync::oneshot::channel();
        let rollbacks = self.clone();
        tokio::spawn(async move {
            let _guard = guard;
            rollbacks
                .begin_and_execute(record, form, target, wanted, live, requester, begun)
                .await;
        });
        id.await.map_err(|_| {
            RollbackError::Invalid("the rollback could not be recorded; try again".into())
        })?
    }

    /// Writes the `pending` row (and audits it), tells the request its id, then runs the
    /// operation to the end.
    #[allow(clippy::too_many_arguments)]
    async fn begin_and_execute(
        self: &Arc<Self>,
        record: RollbackRecord,
        form: RollbackForm,
        target: ProviderTarget,
        wanted: ProviderDeployment,
        live: ProviderDeployment,
        requester: Requester,
        begun: tokio::sync::oneshot::Sender<Result<i64, RollbackError>>,
    ) {
        let id = match self.store.begin_rollback(&record).await {
            Ok(BeginRollback::Started(id)) => id,
            Ok(BeginRollback::Duplicate(earlier)) => {
                let _ = begun.send(Ok(earlier.id));
                return;
            }
            Ok(BeginRollback::InFlight(running)) => {
                let reason = format!(
                    "a rollback of {} in {} by {} is already in progress (#{})",
                    running.service, running.environment, running.actor, running.id
                );
                let _ = begun.send(Err(self.refuse(&requester, &form, reason).await));
                return;
            }
            Err(error) => {
                let _ = begun.send(Err(RollbackError::Store(error)));
                return;
            }
        };
        let _task = self.task_guard(id);
        let reason = record.reason.clone();
        let record = RollbackRecord { id, ..record };
        self.audit(
            &requester,
            "rollback",
            format!("{}/{}", record.service, record.environment),
            "pending",
            format!(
                "#{id}: {} → {}; reason: {reason}",
                record.from.describe(),
                record.to.describe()
            ),
        )
        .await;
        // The requester may be gone; the operation goes on either way.
        let _ = begun.send(Ok(id));
        self.notifier
            .announce(&record, notify::RollbackMoment::Started);
        self.announce().await;
        self.execute(record, target, wanted, live, requester).await;
    }

    /// Marks operation `id` as having a live task in this process until the guard drops.
    fn task_guard(self: &Arc<Self>, id: i64) -> TaskGuard {
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
    async fn execute(
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

    async fn save(&self, record: &RollbackRecord) {
        if let Err(error) = self.store.update_rollback(record).await {
            tracing::error!(id = record.id, %error, "storing rollback progress failed");
        }
        self.changed.send_modify(|count| *count += 1);
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

    /// Republishes the service rows' notes from the store.
    pub async fn announce(&self) {
        match self.store.find_rollbacks(RollbackQuery::LatestEach).await {
            Ok(latest) => {
                let notes: HashMap<(String, String), RollbackNote> = latest
                    .into_iter()
                    .map(|record| {
                        (
                            (record.service.clone(), record.environment.clone()),
                            note(&record),
                        )
                    })
                    .collect();
                self.monitor.set_rollback_notes(notes);
            }
            Err(error) => tracing::warn!(%error, "reading the latest rollbacks failed"),
        }
        self.changed.send_modify(|count| *count += 1);
    }

    /// One operation as the result page shows it.
    pub async fn view(
        &self,
        id: i64,
        may_release: impl Fn(&str) -> bool,
    ) -> Result<RollbackView, RollbackError> {
        let record = self
            .store
            .find_rollbacks(RollbackQuery::Id(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| RollbackError::NotFound(format!("no rollback #{id}")))?;
        let may_release_hold = may_release(&record.environment);
        Ok(view_of(record, may_release_hold))
    }

    /// Ends a hold a rollback placed; audited either way.
    pub async fn release_hold(
        &self,
        requester: Requester,
        id: i64,
        release: HoldRelease,
    ) -> Result<(), RollbackError> {
        let record = self
            .store
            .find_rollbacks(RollbackQuery::Id(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| RollbackError::NotFound(format!("no rollback #{id}")))?;
        let Some(hold) = record.hold.as_deref().and_then(ProviderHold::from_name) else {
            return Err(RollbackError::Invalid(format!(
                "rollback #{id} placed no hold"
            )));
        };
        if record.hold_release.is_some() {
            return Err(RollbackError::Invalid(format!(
                "the hold of rollback #{id} was already released"
            )));
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
            return Err(RollbackError::Invalid(format!(
                "the hold of rollback #{id} was already released"
            )));
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

fn note(record: &RollbackRecord) -> RollbackNote {
    RollbackNote {
        id: record.id,
        state: record.state,
        to: record.to.clone(),
        actor: Some(record.actor.clone()),
        at: record.finished_at.unwrap_or(record.requested_at),
        hold: match (&record.hold, &record.hold_release) {
            (Some(hold), None) => ProviderHold::from_name(hold).map(hold_view_kind),
            _ => None,
        },
    }
}

fn view_of(record: RollbackRecord, may_release_hold: bool) -> RollbackView {
    let hold = record
        .hold
        .as_deref()
        .and_then(ProviderHold::from_name)
        .map(|kind| HoldView {
            kind: hold_view_kind(kind),
            released: record.hold_release.as_ref().and_then(|(how, by, at)| {
                let release = match how.as_str() {
                    "resume" => HoldRelease::Resume,
                    "commit" => HoldRelease::Commit,
                    "revert" => HoldRelease::Revert,
                    _ => return None,
                };
                Some((release, Some(by.clone()), *at))
            }),
        });
    RollbackView {
        id: record.id,
        service: record.service,
        environment: record.environment,
        provider: record.provider,
        actor: Some(record.actor),
        reason: Some(record.reason),
        from: record.from,
        to: record.to,
        state: record.state,
        detail: record.detail,
        new_deployment_id: record.new_deployment_id,
        requested_at: record.requested_at,
        finished_at: record.finished_at,
        hold,
        may_release_hold,
        generated_at: Utc::now(),
    }
}
