//! The monitor: polls every provider resource and health check on its own schedule and keeps
//! the in-memory [`StatusSnapshot`] that pages, the JSON API and the live stream read.
//!
//! A page load never waits on a provider: it reads the last published snapshot. Provider calls
//! depend only on the configuration, never on the number of viewers. Each provider resource has
//! one task (interval + jitter, exponential backoff on throttling and outages, `Retry-After`
//! honoured); each health check has one task. Results are folded into a snapshot by the pure
//! function [`build_snapshot`] and published on a `watch` channel when something changed.

use crate::config::{Config, ServiceConfig, ServiceSource};
use crate::providers::health::{HealthCheckSpec, HealthChecker};
use crate::providers::railway::{
    RailwayClient, RailwayClientConfig, RailwayEnvironmentRef, RailwayTokenKind,
};
use crate::providers::render::{RenderClient, RenderClientConfig};
use crate::providers::vercel::{VercelClient, VercelClientConfig};
use crate::providers::{
    list_recent_deployments, DeploymentProvider, ProviderDeployment, ProviderEnvironment,
    ProviderError,
};
use app::model::{
    EnvironmentKind, EnvironmentStatus, HealthState, HealthView, PollView, ServiceStatus,
    StatusSnapshot,
};
use chrono::{DateTime, Utc};
use rand::Rng;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How many recent deployments each poll reads (the newest page; the store keeps history).
const RECENT_PER_POLL: u32 = 20;
/// The longest a failing resource waits between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// How often the snapshot is rebuilt even without new results, so staleness shows on time.
const STALENESS_TICK: Duration = Duration::from_secs(5);
/// Results arriving within this window are folded into one published snapshot, so a burst of
/// polls costs open pages one update.
const COALESCE: Duration = Duration::from_millis(250);

/// One provider resource the monitor polls: a service's client (Render: one per environment).
struct Watch {
    service: String,
    /// For Render, the Lookout environment this resource serves; `None` covers all.
    environment: Option<String>,
    client: Arc<dyn DeploymentProvider>,
}

/// What the last polls of one resource found.
#[derive(Clone, Debug, Default)]
pub struct WatchResult {
    pub service: String,
    pub environment: Option<String>,
    pub live: Vec<ProviderDeployment>,
    pub recent: Vec<ProviderDeployment>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Why the last attempt failed (user-safe), with when the next one is due.
    pub problem: Option<String>,
}

/// Everything the monitor knows, folded into a snapshot by [`build_snapshot`].
#[derive(Clone, Debug, Default)]
pub struct MonitorState {
    pub watches: Vec<WatchResult>,
    /// Keyed by (service, environment).
    pub health: HashMap<(String, String), HealthView>,
}

struct Shared {
    config: Arc<Config>,
    state: Mutex<MonitorState>,
    published: watch::Sender<Arc<StatusSnapshot>>,
    revision: Mutex<u64>,
    running: AtomicBool,
    /// Signalled by pollers and health checks when they stored a result.
    changed: tokio::sync::Notify,
}

/// A handle on the running monitor. Dropping it stops every polling task.
pub struct Monitor {
    shared: Arc<Shared>,
    _tasks: JoinSet<()>,
}

impl Monitor {
    /// Builds the provider clients from config and starts polling.
    pub fn start(config: Arc<Config>, http: reqwest::Client) -> Self {
        let watches = build_watches(&config, &http);
        let state = MonitorState {
            watches: watches
                .iter()
                .map(|watch| WatchResult {
                    service: watch.service.clone(),
                    environment: watch.environment.clone(),
                    ..WatchResult::default()
                })
                .collect(),
            health: HashMap::new(),
        };
        let now = Utc::now();
        let first = StatusSnapshot {
            generated_at: now,
            revision: 1,
            demo: config.demo,
            environments: build_snapshot(&config, &state, now),
        };
        let (published, _) = watch::channel(Arc::new(first));
        let shared = Arc::new(Shared {
            config: config.clone(),
            state: Mutex::new(state),
            published,
            revision: Mutex::new(1),
            running: AtomicBool::new(false),
            changed: tokio::sync::Notify::new(),
        });
        let mut tasks = JoinSet::new();
        for (index, watch) in watches.into_iter().enumerate() {
            tasks.spawn(poll_resource(shared.clone(), index, watch));
        }
        let checker = HealthChecker::new(http);
        for service in &config.services {
            for environment in &service.environments {
                if let Some(spec) = environment.health.clone() {
                    let key = (service.name.clone(), environment.environment.clone());
                    tasks.spawn(check_health(shared.clone(), key, spec, checker.clone()));
                }
            }
        }
        tasks.spawn(publisher(shared.clone()));
        shared.running.store(true, Ordering::Release);
        Self {
            shared,
            _tasks: tasks,
        }
    }

    /// The snapshot channel: pages read the current value, the live stream waits for changes.
    pub fn subscribe(&self) -> watch::Receiver<Arc<StatusSnapshot>> {
        self.shared.published.subscribe()
    }

    pub fn current(&self) -> Arc<StatusSnapshot> {
        self.shared.published.borrow().clone()
    }

    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }
}

fn build_watches(config: &Config, http: &reqwest::Client) -> Vec<Watch> {
    let mut watches = Vec::new();
    for service in &config.services {
        match &service.source {
            ServiceSource::Vercel(source) => watches.push(Watch {
                service: service.name.clone(),
                environment: None,
                client: Arc::new(VercelClient::new(
                    http.clone(),
                    VercelClientConfig {
                        api_base: source.api_base.clone(),
                        token: source.token.clone(),
                        team_id: source.team_id.clone(),
                        project: source.project.clone(),
                    },
                )),
            }),
            ServiceSource::Render(source) => {
                for environment in &service.environments {
                    let Some(service_id) = environment.resource_id.clone() else {
                        continue;
                    };
                    watches.push(Watch {
                        service: service.name.clone(),
                        environment: Some(environment.environment.clone()),
                        client: Arc::new(RenderClient::new(
                            http.clone(),
                            RenderClientConfig {
                                api_base: source.api_base.clone(),
                                token: source.token.clone(),
                                service_id,
                                environment: environment.provider_environment.clone(),
                                service_url: environment.url.clone(),
                            },
                        )),
                    });
                }
            }
            ServiceSource::Railway(source) => watches.push(Watch {
                service: service.name.clone(),
                environment: None,
                client: Arc::new(RailwayClient::new(
                    http.clone(),
                    RailwayClientConfig {
                        api_base: source.api_base.clone(),
                        token: source.token.clone(),
                        token_kind: if source.project_token {
                            RailwayTokenKind::ProjectAccessToken
                        } else {
                            RailwayTokenKind::Bearer
                        },
                        project_id: source.project_id.clone(),
                        service_id: source.service_id.clone(),
                        environments: service
                            .environments
                            .iter()
                            .filter_map(|environment| {
                                Some(RailwayEnvironmentRef {
                                    environment_id: environment.resource_id.clone()?,
                                    name: environment.provider_environment.clone(),
                                })
                            })
                            .collect(),
                    },
                )),
            }),
            ServiceSource::HttpOnly => {}
        }
    }
    watches
}

fn with_jitter(interval: Duration) -> Duration {
    let factor = rand::thread_rng().gen_range(0.9..1.1);
    interval.mul_f64(factor)
}

/// Waits after a failure: doubling from the poll interval, capped, and never less than what
/// the provider asked for.
fn backoff(interval: Duration, failures: u32, error: &ProviderError) -> Duration {
    let doubled = interval.saturating_mul(1 << failures.saturating_sub(1).min(6));
    let base = if error.wants_backoff() {
        doubled.min(MAX_BACKOFF)
    } else {
        interval
    };
    with_jitter(base).max(error.retry_after().unwrap_or_default())
}

async fn poll_resource(shared: Arc<Shared>, index: usize, watch: Watch) {
    let interval = shared.config.monitor.poll_interval;
    let depth = shared.config.monitor.history_depth.min(RECENT_PER_POLL);
    // Spread the first polls so a restart does not burst every provider at once.
    let startup_spread = Duration::from_millis(rand::thread_rng().gen_range(0..250));
    tokio::time::sleep(startup_spread).await;
    let mut failures: u32 = 0;
    loop {
        let attempt_at = Utc::now();
        let outcome = async {
            let live = watch.client.live_deployments().await?;
            let recent = list_recent_deployments(watch.client.as_ref(), depth, depth).await?;
            Ok::<_, ProviderError>((live, recent))
        }
        .await;
        let delay = match &outcome {
            Ok(_) => {
                failures = 0;
                with_jitter(interval)
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                backoff(interval, failures, error)
            }
        };
        {
            let mut state = super_lock(&shared.state);
            let Some(result) = state.watches.get_mut(index) else {
                return;
            };
            result.last_attempt_at = Some(attempt_at);
            match outcome {
                Ok((live, recent)) => {
                    if result.problem.is_some() {
                        tracing::info!(service = %watch.service, provider = %watch.client.kind(), "provider answers again");
                    }
                    result.live = live;
                    result.recent = recent;
                    result.last_success_at = Some(attempt_at);
                    result.problem = None;
                }
                Err(error) => {
                    let retry_at =
                        attempt_at + chrono::Duration::from_std(delay).unwrap_or_default();
                    let problem = format!(
                        "{}; next try {}",
                        error.summary(),
                        retry_at.format("%H:%M:%S UTC")
                    );
                    if failures == 1 {
                        tracing::warn!(service = %watch.service, provider = %watch.client.kind(), error = %error, "provider poll failed");
                    }
                    result.problem = Some(problem);
                }
            }
        }
        shared.changed.notify_one();
        tokio::time::sleep(delay).await;
    }
}

async fn check_health(
    shared: Arc<Shared>,
    key: (String, String),
    spec: HealthCheckSpec,
    checker: HealthChecker,
) {
    let interval = shared.config.monitor.health_interval;
    loop {
        let view = checker.check(&spec).await;
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

/// Publishes after results arrive (coalesced) and on a slow tick (staleness).
async fn publisher(shared: Arc<Shared>) {
    loop {
        let _ = tokio::time::timeout(STALENESS_TICK, shared.changed.notified()).await;
        tokio::time::sleep(COALESCE).await;
        publish(&shared);
    }
}

fn super_lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Rebuilds the snapshot and publishes it if any environment changed.
fn publish(shared: &Shared) {
    let now = Utc::now();
    let environments = {
        let state = super_lock(&shared.state);
        build_snapshot(&shared.config, &state, now)
    };
    let mut revision = super_lock(&shared.revision);
    let changed = shared.published.borrow().environments != environments;
    if !changed {
        return;
    }
    *revision += 1;
    let snapshot = StatusSnapshot {
        generated_at: now,
        revision: *revision,
        demo: shared.config.demo,
        environments,
    };
    shared.published.send_replace(Arc::new(snapshot));
}

/// Folds what the monitor knows into environment cards: configured environments in order
/// (production, staging, development), then one preview environment per branch.
pub fn build_snapshot(
    config: &Config,
    state: &MonitorState,
    now: DateTime<Utc>,
) -> Vec<EnvironmentStatus> {
    let stale_after =
        chrono::Duration::from_std(config.monitor.poll_interval * 2 + Duration::from_secs(10))
            .unwrap_or_else(|_| chrono::Duration::minutes(2));
    let mut environments: Vec<EnvironmentStatus> = config
        .environments
        .iter()
        .map(|environment| EnvironmentStatus {
            name: environment.name.clone(),
            kind: environment.kind,
            branch: None,
            pr_number: None,
            services: config
                .services
                .iter()
                .filter_map(|service| {
                    configured_row(service, &environment.name, state, now, stale_after)
                })
                .collect(),
        })
        .collect();
    environments.sort_by_key(|environment| environment.kind);
    environments.extend(preview_environments(config, state, now, stale_after));
    environments
}

fn poll_view(
    result: Option<&WatchResult>,
    now: DateTime<Utc>,
    stale_after: chrono::Duration,
) -> PollView {
    let Some(result) = result else {
        return PollView {
            last_success_at: None,
            last_attempt_at: None,
            stale: false,
            problem: None,
        };
    };
    let too_old = result
        .last_success_at
        .is_some_and(|success| now - success > stale_after);
    let problem = result.problem.clone().or_else(|| {
        if result.last_attempt_at.is_none() {
            Some("waiting for the first poll".to_string())
        } else {
            too_old.then(|| "no successful poll recently".to_string())
        }
    });
    PollView {
        last_success_at: result.last_success_at,
        last_attempt_at: result.last_attempt_at,
        stale: result.problem.is_some() || too_old,
        problem,
    }
}

fn configured_row(
    service: &ServiceConfig,
    environment: &str,
    state: &MonitorState,
    now: DateTime<Utc>,
    stale_after: chrono::Duration,
) -> Option<ServiceStatus> {
    let configured = service
        .environments
        .iter()
        .find(|candidate| candidate.environment == environment)?;
    let result = state.watches.iter().find(|result| {
        result.service == service.name
            && result
                .environment
                .as_ref()
                .is_none_or(|only| only == environment)
    });
    let marker = ProviderEnvironment::Named(configured.provider_environment.clone());
    let live = result.and_then(|result| {
        result
            .live
            .iter()
            .find(|deployment| deployment.environment == marker)
    });
    let pending = result.and_then(|result| pending_deployment(&result.recent, &marker, live));
    let health = match state
        .health
        .get(&(service.name.clone(), environment.to_string()))
    {
        Some(view) => view.clone(),
        None if configured.health.is_some() => HealthView::unknown("first health check pending"),
        None => HealthView {
            state: HealthState::Unchecked,
            checked_at: None,
            latency_ms: None,
            detail: Some("no health check configured".into()),
        },
    };
    let live_view = live.map(ProviderDeployment::to_view);
    Some(ServiceStatus {
        service: service.name.clone(),
        provider: service.provider_kind(),
        live_url: configured
            .url
            .clone()
            .or_else(|| live_view.as_ref().and_then(|live| live.url.clone())),
        live: live_view,
        pending: pending.map(ProviderDeployment::to_view),
        health,
        poll: poll_view(result, now, stale_after),
    })
}

/// The newest deployment of an environment that is newer than the live one and either still
/// in progress or failed: what the row warns about.
fn pending_deployment<'a>(
    recent: &'a [ProviderDeployment],
    marker: &ProviderEnvironment,
    live: Option<&ProviderDeployment>,
) -> Option<&'a ProviderDeployment> {
    let newest = recent
        .iter()
        .find(|deployment| &deployment.environment == marker)?;
    let is_live = live.is_some_and(|live| live.id == newest.id);
    let newer = match (newest.created_at, live.and_then(|live| live.created_at)) {
        (Some(created), Some(live_created)) => created > live_created,
        _ => true,
    };
    let noteworthy =
        newest.state.is_in_progress() || newest.state == app::model::DeployState::Failed;
    (!is_live && newer && noteworthy).then_some(newest)
}

fn preview_environments(
    config: &Config,
    state: &MonitorState,
    now: DateTime<Utc>,
    stale_after: chrono::Duration,
) -> Vec<EnvironmentStatus> {
    // branch → (pr number, rows)
    let mut previews: BTreeMap<String, (Option<u32>, Vec<ServiceStatus>)> = BTreeMap::new();
    for service in config.services.iter().filter(|service| service.previews) {
        let Some(result) = state
            .watches
            .iter()
            .find(|result| result.service == service.name)
        else {
            continue;
        };
        let mut branches: BTreeMap<String, Option<u32>> = BTreeMap::new();
        for deployment in result.live.iter().chain(result.recent.iter()) {
            if let ProviderEnvironment::Preview {
                branch: Some(branch),
                pr_number,
            } = &deployment.environment
            {
                let entry = branches.entry(branch.clone()).or_insert(*pr_number);
                if entry.is_none() {
                    *entry = *pr_number;
                }
            }
        }
        for (branch, pr_number) in branches {
            let live = result.live.iter().find(|deployment| {
                matches!(&deployment.environment, ProviderEnvironment::Preview { branch: Some(b), .. } if *b == branch)
            });
            let marker = live.map(|live| live.environment.clone()).or_else(|| {
                result
                    .recent
                    .iter()
                    .find(|deployment| {
                        matches!(&deployment.environment, ProviderEnvironment::Preview { branch: Some(b), .. } if *b == branch)
                    })
                    .map(|deployment| deployment.environment.clone())
            });
            let pending = marker
                .as_ref()
                .and_then(|marker| pending_deployment(&result.recent, marker, live));
            if live.is_none() && pending.is_none() {
                continue;
            }
            let live_view = live.map(ProviderDeployment::to_view);
            let row = ServiceStatus {
                service: service.name.clone(),
                provider: service.provider_kind(),
                live_url: live_view.as_ref().and_then(|live| live.url.clone()),
                live: live_view,
                pending: pending.map(ProviderDeployment::to_view),
                health: HealthView {
                    state: HealthState::Unchecked,
                    checked_at: None,
                    latency_ms: None,
                    detail: Some("previews are not health-checked".into()),
                },
                poll: poll_view(Some(result), now, stale_after),
            };
            let entry = previews.entry(branch).or_insert((pr_number, Vec::new()));
            if entry.0.is_none() {
                entry.0 = pr_number;
            }
            entry.1.push(row);
        }
    }
    previews
        .into_iter()
        .map(|(branch, (pr_number, services))| EnvironmentStatus {
            name: format!("preview/{branch}"),
            kind: EnvironmentKind::Preview,
            branch: Some(branch),
            pr_number,
            services,
        })
        .collect()
}
