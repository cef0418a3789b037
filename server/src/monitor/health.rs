//! Health probes (configured HTTP checks, Supabase project health) and one task per probe
//! that records each sample.

use super::polling::with_jitter;
use super::{super_lock, Shared};
use crate::config::{Config, ServiceSource};
use crate::providers::health::{HealthCheckSpec, HealthChecker};
use crate::providers::supabase::{SupabaseClient, SupabaseClientConfig};
use crate::store::HealthSample;
use app::model::{HealthState, HealthView, ProviderKind};
use chrono::Utc;
use std::sync::Arc;

/// Health probes: the configured HTTP checks plus Supabase project health.
pub(super) fn health_probes(
    config: &Config,
    http: &reqwest::Client,
) -> Vec<((String, String), HealthProbe)> {
    let mut probes = Vec::new();
    for service in &config.services {
        for environment in &service.environments {
            let key = (service.name.clone(), environment.environment.clone());
            if let Some(spec) = environment.health.clone() {
                probes.push((key.clone(), HealthProbe::Http(spec)));
            }
            if let ServiceSource::Provider { connection, .. } = &service.source {
                if connection.kind == ProviderKind::Supabase && environment.health.is_none() {
                    if let Some(project_ref) = environment.resource_id.clone() {
                        let client = SupabaseClient::new(
                            http.clone(),
                            SupabaseClientConfig {
                                api_base: connection.api_base.clone(),
                                token: connection.token.clone(),
                                project_ref,
                                status_base: connection.status_base.clone().unwrap_or_else(|| {
                                    crate::providers::supabase::DEFAULT_STATUS_BASE.to_string()
                                }),
                            },
                        );
                        probes.push((key, HealthProbe::Supabase(Box::new(client))));
                    }
                }
            }
        }
    }
    probes
}

/// One way of checking a service's health.
pub(super) enum HealthProbe {
    Http(HealthCheckSpec),
    Supabase(Box<SupabaseClient>),
}

impl HealthProbe {
    async fn check(&self, checker: &HealthChecker) -> HealthView {
        match self {
            Self::Http(spec) => checker.check(spec).await,
            Self::Supabase(client) => match client.project_health().await {
                Ok(view) => view,
                Err(error) => HealthView {
                    state: HealthState::Unknown,
                    checked_at: Some(Utc::now()),
                    latency_ms: None,
                    detail: Some(format!("Supabase health unavailable: {}", error.summary())),
                },
            },
        }
    }
}

pub(super) async fn check_health(
    shared: Arc<Shared>,
    key: (String, String),
    probe: HealthProbe,
    checker: HealthChecker,
) {
    let interval = shared.config.monitor.health_interval;
    loop {
        let permit = shared.checks_in_flight.acquire().await;
        let view = probe.check(&checker).await;
        drop(permit);
        if let Some(at) = view.checked_at {
            let sample = HealthSample {
                service: key.0.clone(),
                environment: key.1.clone(),
                at,
                state: view.state,
                latency_ms: view.latency_ms,
            };
            if let Err(error) = shared.store.record_health_samples(&[sample]).await {
                tracing::warn!(%error, "storing a health sample failed");
            }
        }
        {
            let mut state = super_lock(&shared.state);
            let previous = state.health.insert(key.clone(), view.clone());
            if previous.map(|previous| previous.state) != Some(view.state) {
                tracing::info!(service = %key.0, environment = %key.1, health = view.state.label(), detail = ?view.detail, "health changed");
            }
        }
        shared.changed.notify_one();
        tokio::time::sleep(with_jitter(interval)).await;
    }
}
