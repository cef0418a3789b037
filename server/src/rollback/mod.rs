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
mod follow;
mod hold;
pub mod notify;
mod plan;
pub mod routes;
mod start;

pub use hold::hold_view_kind;

use crate::monitor::{Monitor, ProviderTarget};
use crate::providers::rollback::HoldKind as ProviderHold;
use crate::providers::{ProviderDeployment, ProviderError};
use crate::store::{NewAuditEntry, RollbackQuery, RollbackRecord, Store, StoreError};
use app::auth::Principal;
use app::rollback::{DeploymentRef, HoldRelease, HoldView, RollbackNote, RollbackView};
use chrono::Utc;
use eligibility::{scope_refusal, Destination};
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

    async fn save(&self, record: &RollbackRecord) {
        if let Err(error) = self.store.update_rollback(record).await {
            tracing::error!(id = record.id, %error, "storing rollback progress failed");
        }
        self.changed.send_modify(|count| *count += 1);
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
        let record = self.find_one(id).await?;
        let may_release_hold = may_release(&record.environment);
        Ok(view_of(record, may_release_hold))
    }

    /// Operation `id`, or a `NotFound` naming it.
    async fn find_one(&self, id: i64) -> Result<RollbackRecord, RollbackError> {
        self.store
            .find_rollbacks(RollbackQuery::Id(id))
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| RollbackError::NotFound(format!("no rollback #{id}")))
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
