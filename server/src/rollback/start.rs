//! Starting a rollback, as steps that run in this order: the form's one-time key → an earlier
//! operation with the same key → the confirmation (reason, typed name) → the lock for this
//! service and environment → the live deployment is the one the user saw → the target exists,
//! is in scope and is eligible → the `pending` row and its audit entry → the task that follows
//! the operation to its end (`follow.rs`).
//!
//! Steps from the lock on refuse with an audit entry ([`Stop::Refused`]); the ones before it
//! answer the form without one, as does a provider that could not be asked.

use super::eligibility::{eligibility, Candidate};
use super::{
    describe, lock, notify, provider_error, reference, Requester, RollbackError, RollbackForm,
    Rollbacks, RunningGuard, MAX_REASON,
};
use crate::monitor::ProviderTarget;
use crate::providers::rollback::live_in;
use crate::providers::{ProviderDeployment, ProviderError};
use crate::store::{BeginRollback, RollbackQuery, RollbackRecord};
use app::model::{EnvironmentKind, ProviderKind};
use app::rollback::{RollbackEligibility, RollbackState};
use chrono::Utc;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Why a preflight step stopped the start.
enum Stop {
    /// Refused: audited, then returned as [`RollbackError::Refused`].
    Refused(String),
    /// Could not decide (the provider or the store did not answer): returned as is.
    Failed(RollbackError),
}

/// What preflight found at the provider: what is live now and what to roll back to.
struct Checked {
    live: ProviderDeployment,
    wanted: ProviderDeployment,
}

/// Everything the operation's task needs, from the `pending` row to the outcome.
struct Operation {
    record: RollbackRecord,
    form: RollbackForm,
    target: ProviderTarget,
    checked: Checked,
    requester: Requester,
}

/// How the store took the `pending` row.
enum Recorded {
    /// A new operation with this id.
    New(i64),
    /// Another replica recorded the same idempotency key first: its operation's id.
    Earlier(i64),
}

/// The form's one-time key is present and of a sane length.
fn check_idempotency_key(form: &RollbackForm) -> Result<(), RollbackError> {
    if form.idempotency_key.len() < 16 || form.idempotency_key.len() > 128 {
        return Err(RollbackError::Invalid(
            "the form is missing its one-time key; open the rollback page again".into(),
        ));
    }
    Ok(())
}

/// The reason is given (returned trimmed and cut to [`MAX_REASON`] characters), and a
/// production rollback has the service name typed.
fn check_confirmation(
    form: &RollbackForm,
    target: &ProviderTarget,
) -> Result<String, RollbackError> {
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
    Ok(reason)
}

/// The live deployment is still the one the user saw on the confirmation page.
async fn check_live(
    form: &RollbackForm,
    target: &ProviderTarget,
) -> Result<ProviderDeployment, Stop> {
    let provider = target.client.kind();
    let live_now = target
        .client
        .live_deployments()
        .await
        .map_err(|error| Stop::Failed(provider_error(target, &error)))?;
    let Some(live) = live_in(&live_now, &target.environment).cloned() else {
        return Err(Stop::Refused(format!(
            "{provider} reports nothing live; review before rolling back"
        )));
    };
    if live.id != form.expected_live {
        let who = live
            .commit
            .author
            .clone()
            .or_else(|| live.creator.clone())
            .unwrap_or_else(|| "someone".into());
        return Err(Stop::Refused(format!(
            "{who} rolled out {} meanwhile — review before rolling back",
            describe(&live)
        )));
    }
    Ok(live)
}

/// The deployment to roll back to, read fresh from the provider.
async fn read_target(
    form: &RollbackForm,
    target: &ProviderTarget,
) -> Result<ProviderDeployment, Stop> {
    match target.client.deployment(&form.target).await {
        Ok(wanted) => Ok(wanted),
        Err(ProviderError::NotFound { .. }) => Err(Stop::Refused(format!(
            "{} has no deployment `{}`",
            target.client.kind(),
            form.target
        ))),
        Err(error) => Err(Stop::Failed(provider_error(target, &error))),
    }
}

/// The target belongs to this service and environment, and can be rolled back to.
fn check_eligibility(
    form: &RollbackForm,
    target: &ProviderTarget,
    live: &ProviderDeployment,
    wanted: &ProviderDeployment,
) -> Result<(), Stop> {
    // Before anything else about the target: a grant for this environment must not reach
    // another one (or another service) through the id of one of its deployments.
    if let Some(reason) = Rollbacks::out_of_scope(target, &form.service, &form.environment, wanted)
    {
        return Err(Stop::Refused(reason));
    }
    let judged = eligibility(&Candidate {
        provider: target.client.kind(),
        state: wanted.state,
        environment_kind: target.environment_kind,
        is_live: wanted.id == live.id,
        newer_successful: 0,
        provider_refusal: wanted.rollback_refusal.as_deref(),
    });
    match judged {
        RollbackEligibility::Eligible => Ok(()),
        RollbackEligibility::Live => Err(Stop::Refused(format!(
            "{} is already live",
            describe(wanted)
        ))),
        RollbackEligibility::Ineligible(reason) => Err(Stop::Refused(reason)),
    }
}

/// The `pending` row as it is first written (the store gives it its id).
fn pending_record(
    requester: &Requester,
    form: &RollbackForm,
    reason: String,
    checked: &Checked,
    provider: ProviderKind,
) -> RollbackRecord {
    RollbackRecord {
        id: 0,
        idempotency_key: form.idempotency_key.clone(),
        service: form.service.clone(),
        environment: form.environment.clone(),
        provider,
        actor: requester.name.clone(),
        remote_addr: requester.remote_addr.clone(),
        reason,
        from: reference(&checked.live),
        to: reference(&checked.wanted),
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
    }
}

impl Rollbacks {
    /// Starts a rollback (after preflight) and returns its operation id; the provider call
    /// and the polling run in the background. A key seen before returns the earlier id.
    pub async fn start(
        self: &Arc<Self>,
        requester: Requester,
        form: RollbackForm,
    ) -> Result<i64, RollbackError> {
        check_idempotency_key(&form)?;
        if let Some(earlier) = self.earlier_operation(&form).await? {
            return Ok(earlier);
        }
        let target = self.target(&form.service, &form.environment)?;
        let reason = check_confirmation(&form, &target)?;
        let running = match self.take_lock(&form) {
            Ok(running) => running,
            Err(stop) => return Err(self.stopped(&requester, &form, stop).await),
        };
        let checked = match self.check_at_provider(&form, &target).await {
            Ok(checked) => checked,
            Err(stop) => return Err(self.stopped(&requester, &form, stop).await),
        };
        let record = pending_record(&requester, &form, reason, &checked, target.client.kind());
        let operation = Operation {
            record,
            form,
            target,
            checked,
            requester,
        };
        self.spawn_operation(running, operation).await
    }

    /// The id of the operation this form's one-time key already started, if any (a double
    /// click, a retried post).
    async fn earlier_operation(&self, form: &RollbackForm) -> Result<Option<i64>, RollbackError> {
        Ok(self
            .store
            .find_rollbacks(RollbackQuery::Key(&form.idempotency_key))
            .await?
            .into_iter()
            .next()
            .map(|earlier| earlier.id))
    }

    /// One operation per service and environment in this process (the store's index covers
    /// replicas); released when the guard drops.
    fn take_lock(self: &Arc<Self>, form: &RollbackForm) -> Result<RunningGuard, Stop> {
        let key = (form.service.clone(), form.environment.clone());
        if !lock(&self.running).insert(key.clone()) {
            return Err(Stop::Refused(format!(
                "a rollback of {} in {} is already in progress",
                form.service, form.environment
            )));
        }
        Ok(RunningGuard {
            rollbacks: self.clone(),
            key,
        })
    }

    /// The preflight steps that ask the provider, in order.
    async fn check_at_provider(
        &self,
        form: &RollbackForm,
        target: &ProviderTarget,
    ) -> Result<Checked, Stop> {
        let live = check_live(form, target).await?;
        let wanted = read_target(form, target).await?;
        check_eligibility(form, target, &live, &wanted)?;
        Ok(Checked { live, wanted })
    }

    /// Turns a stopped step into the start's error, auditing a refusal first.
    async fn stopped(
        &self,
        requester: &Requester,
        form: &RollbackForm,
        stop: Stop,
    ) -> RollbackError {
        match stop {
            Stop::Refused(reason) => self.refuse(requester, form, reason).await,
            Stop::Failed(error) => error,
        }
    }

    /// From the `pending` row on, the operation runs in its own task: a request dropped now
    /// (a closed tab, a proxy timeout) cannot leave a `pending` row with nothing behind it.
    /// The request only waits for the id.
    async fn spawn_operation(
        self: &Arc<Self>,
        running: RunningGuard,
        operation: Operation,
    ) -> Result<i64, RollbackError> {
        let (begun, id) = oneshot::channel();
        let rollbacks = self.clone();
        tokio::spawn(async move {
            let _running = running;
            rollbacks.begin_and_execute(operation, begun).await;
        });
        id.await.map_err(|_| {
            RollbackError::Invalid("the rollback could not be recorded; try again".into())
        })?
    }

    /// Writes the `pending` row (and audits it), tells the request its id, then runs the
    /// operation to the end.
    async fn begin_and_execute(
        self: &Arc<Self>,
        operation: Operation,
        begun: oneshot::Sender<Result<i64, RollbackError>>,
    ) {
        let Operation {
            record,
            form,
            target,
            checked,
            requester,
        } = operation;
        let id = match self.record_pending(&record, &form, &requester).await {
            Ok(Recorded::New(id)) => id,
            Ok(Recorded::Earlier(id)) => {
                let _ = begun.send(Ok(id));
                return;
            }
            Err(error) => {
                let _ = begun.send(Err(error));
                return;
            }
        };
        let _task = self.task_guard(id);
        let record = RollbackRecord { id, ..record };
        self.record_audit(&requester, &record).await;
        // The requester may be gone; the operation goes on either way.
        let _ = begun.send(Ok(id));
        self.notifier
            .announce(&record, notify::RollbackMoment::Started);
        self.announce().await;
        self.execute(record, target, checked.wanted, checked.live, requester)
            .await;
    }

    /// Writes the `pending` row; the store refuses (audited) when another replica runs an
    /// operation for the same service and environment.
    async fn record_pending(
        &self,
        record: &RollbackRecord,
        form: &RollbackForm,
        requester: &Requester,
    ) -> Result<Recorded, RollbackError> {
        match self.store.begin_rollback(record).await? {
            BeginRollback::Started(id) => Ok(Recorded::New(id)),
            BeginRollback::Duplicate(earlier) => Ok(Recorded::Earlier(earlier.id)),
            BeginRollback::InFlight(running) => {
                let reason = format!(
                    "a rollback of {} in {} by {} is already in progress (#{})",
                    running.service, running.environment, running.actor, running.id
                );
                Err(self.refuse(requester, form, reason).await)
            }
        }
    }

    /// The `pending` audit entry, written before the provider is called.
    async fn record_audit(&self, requester: &Requester, record: &RollbackRecord) {
        self.audit(
            requester,
            "rollback",
            format!("{}/{}", record.service, record.environment),
            "pending",
            format!(
                "#{}: {} → {}; reason: {}",
                record.id,
                record.from.describe(),
                record.to.describe(),
                record.reason
            ),
        )
        .await;
    }
}
