//! The server side of `app`'s `Dashboard` port: status from the monitor's snapshot, history
//! and per-service views from the store. Store failures are logged here and reach the page as
//! a short, safe message.

use crate::config::Config;
use crate::monitor::Monitor;
use crate::rollback::{Requester, RollbackError, RollbackForm, Rollbacks};
use crate::store::{AuditFilter, DeploymentFilter, HistoryCursor, StoreError, StoredDeployment};
use app::audit::{AuditQuery, AuditRow, AuditView, AUDIT_PAGE_SIZE};
use app::auth::Principal;
use app::dashboard::Dashboard;
use app::error::AppError;
use app::history::{
    HistoryEntry, HistoryQuery, HistoryView, ServiceDetail, ServiceEnvironmentDetail,
    HISTORY_PAGE_SIZE,
};
use app::model::StatusSnapshot;
use app::rollback::{HoldRelease, RollbackPlan, RollbackRequestForm, RollbackView};
use std::sync::Arc;

/// Deployments shown on a service's own page before "older".
const SERVICE_HISTORY: u32 = 20;

pub struct ServerDashboard {
    monitor: Arc<Monitor>,
    rollbacks: Arc<Rollbacks>,
}

impl ServerDashboard {
    pub fn new(monitor: Arc<Monitor>, rollbacks: Arc<Rollbacks>) -> Self {
        Self { monitor, rollbacks }
    }
}

/// A rollback error as the page's error kind; internal causes were logged where they arose.
fn rollback_error(error: RollbackError) -> AppError {
    match error {
        RollbackError::NotFound(message) => AppError::NotFound(message),
        RollbackError::Invalid(message) => AppError::BadRequest(message),
        RollbackError::Refused(message) => AppError::Conflict(message),
        RollbackError::Provider { .. } => AppError::Unavailable(error.to_string()),
        RollbackError::Store(source) => {
            tracing::error!(error = %source, "rollback store failure");
            AppError::Unavailable("the rollback store did not answer; nothing was started".into())
        }
    }
}

/// A page of audit rows from one more than a page read (the extra one says "there is more").
pub fn audit_view(mut entries: Vec<crate::store::AuditEntry>) -> AuditView {
    let more = entries.len() > AUDIT_PAGE_SIZE as usize;
    entries.truncate(AUDIT_PAGE_SIZE as usize);
    let next_before = if more {
        entries.last().map(|entry| entry.id)
    } else {
        None
    };
    AuditView {
        entries: entries
            .into_iter()
            .map(|entry| AuditRow {
                id: entry.id,
                at: entry.at,
                actor: entry.actor,
                action: entry.action,
                target: entry.target,
                outcome: entry.outcome,
                detail: entry.detail,
                remote_addr: entry.remote_addr,
            })
            .collect(),
        next_before,
        generated_at: chrono::Utc::now(),
    }
}

fn store_unavailable(error: StoreError) -> AppError {
    tracing::error!(%error, "history query failed");
    AppError::Unavailable("the history store did not answer; try again shortly".into())
}

fn entry(config: &Config, monitor: &Monitor, stored: StoredDeployment) -> HistoryEntry {
    let mut deployment = stored.to_view();
    let record = stored.record;
    deployment.rollback = monitor.eligibility_of(
        &record.service,
        &record.environment,
        record.environment_kind,
        &record.provider_id,
        record.state,
    );
    if let Some(service) = config
        .services
        .iter()
        .find(|service| service.name == record.service)
    {
        deployment = service.link_commit(deployment);
    }
    HistoryEntry {
        service: record.service,
        environment: record.environment,
        environment_kind: record.environment_kind,
        provider: record.provider,
        deployment,
    }
}

/// The store filter for a history query, or a message saying which filter is wrong.
pub fn filter_of(
    query: &HistoryQuery,
) -> Result<(DeploymentFilter, Option<HistoryCursor>), AppError> {
    let state = query.state_filter().map_err(AppError::BadRequest)?;
    let author = query.author_filter().map_err(AppError::BadRequest)?;
    let (from, to) = query.time_range().map_err(AppError::BadRequest)?;
    let cursor = if query.after.is_empty() {
        None
    } else {
        Some(HistoryCursor::decode(&query.after).map_err(|_| {
            AppError::BadRequest(
                "this page link is not valid any more; start from the newest".into(),
            )
        })?)
    };
    let one = |value: &str| {
        if value.is_empty() {
            Vec::new()
        } else {
            vec![value.to_string()]
        }
    };
    Ok((
        DeploymentFilter {
            services: one(&query.service),
            environments: one(&query.environment),
            states: state.into_iter().collect(),
            author: author.map(str::to_string),
            from,
            to,
        },
        cursor,
    ))
}

#[async_trait::async_trait]
impl Dashboard for ServerDashboard {
    fn status(&self) -> Arc<StatusSnapshot> {
        self.monitor.current()
    }

    async fn history(&self, query: HistoryQuery) -> Result<HistoryView, AppError> {
        let (filter, cursor) = filter_of(&query)?;
        let page = self
            .monitor
            .store()
            .list_deployments(&filter, cursor.as_ref(), HISTORY_PAGE_SIZE)
            .await
            .map_err(store_unavailable)?;
        let config = self.monitor.config();
        let snapshot = self.monitor.current();
        let mut environments: Vec<String> =
            config.environments.iter().map(|e| e.name.clone()).collect();
        environments.extend(
            snapshot
                .environments
                .iter()
                .map(|environment| environment.name.clone())
                .filter(|name| !config.environments.iter().any(|known| &known.name == name)),
        );
        Ok(HistoryView {
            entries: page
                .deployments
                .into_iter()
                .map(|stored| entry(&config, &self.monitor, stored))
                .collect(),
            next: page.next.map(|cursor| cursor.encode()),
            services: config
                .services
                .iter()
                .map(|service| service.name.clone())
                .collect(),
            environments,
            demo: config.demo,
            generated_at: chrono::Utc::now(),
        })
    }

    async fn service(&self, name: String) -> Result<ServiceDetail, AppError> {
        let config = self.monitor.config();
        let Some(service) = config.services.iter().find(|service| service.name == name) else {
            return Err(AppError::NotFound(format!(
                "no service named `{name}` is configured"
            )));
        };
        let snapshot = self.monitor.current();
        let environments = snapshot
            .environments
            .iter()
            .filter_map(|environment| {
                let status = environment
                    .services
                    .iter()
                    .find(|row| row.service == service.name)?
                    .clone();
                Some(ServiceEnvironmentDetail {
                    environment: environment.title(),
                    kind: environment.kind,
                    uptime: status.uptime.clone().unwrap_or_default(),
                    status,
                })
            })
            .collect();
        let filter = DeploymentFilter {
            services: vec![service.name.clone()],
            ..DeploymentFilter::default()
        };
        let page = self
            .monitor
            .store()
            .list_deployments(&filter, None, SERVICE_HISTORY)
            .await
            .map_err(store_unavailable)?;
        Ok(ServiceDetail {
            name: service.name.clone(),
            provider: service.provider_kind(),
            environments,
            history: page
                .deployments
                .into_iter()
                .map(|stored| entry(&config, &self.monitor, stored))
                .collect(),
            more_history: page.next.map(|cursor| cursor.encode()),
            demo: config.demo,
            generated_at: snapshot.generated_at,
        })
    }

    async fn audit(&self, query: AuditQuery) -> Result<AuditView, AppError> {
        let filter = AuditFilter {
            action: query.action,
            actor: query.actor,
            outcome: query.outcome,
        };
        let entries = self
            .monitor
            .store()
            .list_audit_filtered(AUDIT_PAGE_SIZE + 1, query.before, &filter)
            .await
            .map_err(store_unavailable)?;
        Ok(audit_view(entries))
    }

    async fn rollback_plan(
        &self,
        service: String,
        environment: String,
        target: String,
    ) -> Result<RollbackPlan, AppError> {
        self.rollbacks
            .plan(&service, &environment, &target)
            .await
            .map_err(rollback_error)
    }

    async fn roll_back(
        &self,
        principal: &Principal,
        remote_addr: Option<String>,
        form: RollbackRequestForm,
    ) -> Result<i64, AppError> {
        let form = RollbackForm {
            service: form.service,
            environment: form.environment,
            target: form.target,
            expected_live: form.expected_live,
            idempotency_key: form.idempotency_key,
            reason: form.reason,
            typed_name: form.typed_name,
            place_hold: form.place_hold.is_some_and(|value| !value.is_empty()),
        };
        self.rollbacks
            .start(Requester::of(principal, remote_addr), form)
            .await
            .map_err(rollback_error)
    }

    async fn rollback_refused(
        &self,
        principal: &Principal,
        remote_addr: Option<String>,
        service: &str,
        environment: &str,
        reason: &str,
    ) {
        self.rollbacks
            .audit_refused_request(principal, remote_addr, service, environment, reason)
            .await;
    }

    async fn rollback(&self, id: i64) -> Result<RollbackView, AppError> {
        self.rollbacks
            .view(id, |_| false)
            .await
            .map_err(rollback_error)
    }

    async fn release_rollback_hold(
        &self,
        principal: &Principal,
        remote_addr: Option<String>,
        id: i64,
        release: HoldRelease,
    ) -> Result<(), AppError> {
        self.rollbacks
            .release_hold(Requester::of(principal, remote_addr), id, release)
            .await
            .map_err(rollback_error)
    }
}
