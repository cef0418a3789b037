//! The monitor: polls every provider resource and health check on its own schedule and keeps
//! the in-memory [`StatusSnapshot`] that pages, the JSON API and the live stream read.
//!
//! A page load never waits on a provider: it reads the last published snapshot. Provider calls
//! depend only on the configuration, never on the number of viewers. Each provider resource has
//! one task (interval + jitter, exponential backoff on throttling and outages, `Retry-After`
//! honoured); each health check has one task. Results are folded into a snapshot by the pure
//! function [`build_snapshot`] and published on a `watch` channel when something changed.

mod clients;
mod health;
mod polling;
mod snapshot;
mod uptime;

pub use snapshot::build_snapshot;

use clients::build_watches;
use health::{check_health, health_probes};
use polling::poll_resource;
use snapshot::{belongs_to, was_live_once};
use uptime::{refresh_uptime, retention};

use crate::config::Config;
use crate::providers::health::HealthChecker;
use crate::providers::{DeploymentProvider, ProviderDeployment, ProviderEnvironment};
use crate::rollback::eligibility::{eligibility, Candidate};
use crate::store::Store;
use app::model::DeployState;
use app::model::{EnvironmentKind, HealthView, ProviderKind, StatusSnapshot, UptimeView};
use app::rollback::{RollbackEligibility, RollbackNote};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How often the snapshot is rebuilt even without new results, so staleness shows on time.
const STALENESS_TICK: Duration = Duration::from_secs(5);
/// Results arriving within this window are folded into one published snapshot, so a burst of
/// polls costs open pages one update.
const COALESCE: Duration = Duration::from_millis(250);

/// One provider resource the monitor polls: a service's client (Render: one per environment).
struct Watch {
    service: String,
    /// For per-environment resources (Render, DigitalOcean, Heroku, Fly), the Lookout
    /// environment this one serves; `None` covers all.
    environment: Option<String>,
    /// Named in the problem text when the provider rejects the token.
    token_env: String,
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

/// Uptime percentages and the hourly median latency of one service in one environment.
pub type UptimeFigures = (UptimeView, Vec<Option<u32>>);

/// Everything the monitor knows, folded into a snapshot by [`build_snapshot`].
#[derive(Clone, Debug, Default)]
pub struct MonitorState {
    pub watches: Vec<WatchResult>,
    /// Keyed by (service, environment).
    pub health: HashMap<(String, String), HealthView>,
    /// Uptime and hourly latency from the store, keyed by (service, environment).
    pub uptime: HashMap<(String, String), UptimeFigures>,
    /// The latest rollback of each (service, environment), for the rows' notes.
    pub rollbacks: HashMap<(String, String), RollbackNote>,
    /// Services whose provider client can roll back.
    pub can_roll_back: std::collections::HashSet<String>,
}

impl MonitorState {
    /// What the polls of `service` found for `environment` (its per-environment resource, or
    /// the one resource serving all its environments).
    fn watch_result(&self, service: &str, environment: &str) -> Option<&WatchResult> {
        self.watches.iter().find(|result| {
            result.service == service
                && result
                    .environment
                    .as_deref()
                    .is_none_or(|only| only == environment)
        })
    }
}

struct Shared {
    config: Arc<Config>,
    store: Arc<dyn Store>,
    /// Counts stored deployment changes; history pages refresh when it moves.
    deployments_changed: watch::Sender<u64>,
    state: Mutex<MonitorState>,
    published: watch::Sender<Arc<StatusSnapshot>>,
    revision: Mutex<u64>,
    running: AtomicBool,
    /// Signalled by pollers and health checks when they stored a result.
    changed: tokio::sync::Notify,
    /// Wakes every poller before its interval is up (after a rollback changed what is live).
    poll_now: tokio::sync::Notify,
    /// Every provider client, for rollbacks: (service, environment it serves or all, client).
    clients: Vec<(String, Option<String>, Arc<dyn DeploymentProvider>)>,
    /// Bounds the polls in flight per provider, and the health checks in flight: a thousand
    /// services starting together neither burst a provider's rate limit nor hold a thousand
    /// responses in memory (BENCHMARKS.md: 143 → 89 MiB at 1,000 services). Per provider, so
    /// one provider that hangs until its timeouts does not hold up the others; rollbacks do
    /// not wait for these.
    polls_in_flight: HashMap<ProviderKind, tokio::sync::Semaphore>,
    checks_in_flight: tokio::sync::Semaphore,
}

/// Polls in flight per provider at most.
const MAX_POLLS_PER_PROVIDER: usize = 8;
/// Health checks in flight at most.
const MAX_CHECKS: usize = 16;

/// A handle on the running monitor. Dropping it stops every polling task.
pub struct Monitor {
    shared: Arc<Shared>,
    _tasks: JoinSet<()>,
}

impl Monitor {
    /// Builds the provider clients from config and starts polling.
    pub fn start(config: Arc<Config>, http: reqwest::Client, store: Arc<dyn Store>) -> Self {
        let watches = build_watches(&config, &http);
        let clients: Vec<(String, Option<String>, Arc<dyn DeploymentProvider>)> = watches
            .iter()
            .map(|watch| {
                (
                    watch.service.clone(),
                    watch.environment.clone(),
                    watch.client.clone(),
                )
            })
            .collect();
        let can_roll_back = watches
            .iter()
            .filter(|watch| watch.client.rollback_method().is_some())
            .map(|watch| watch.service.clone())
            .collect();
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
            uptime: HashMap::new(),
            rollbacks: HashMap::new(),
            can_roll_back,
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
            store,
            deployments_changed: watch::channel(0).0,
            state: Mutex::new(state),
            published,
            revision: Mutex::new(1),
            running: AtomicBool::new(false),
            changed: tokio::sync::Notify::new(),
            poll_now: tokio::sync::Notify::new(),
            clients,
            polls_in_flight: watches
                .iter()
                .map(|watch| {
                    (
                        watch.client.kind(),
                        tokio::sync::Semaphore::new(MAX_POLLS_PER_PROVIDER),
                    )
                })
                .collect(),
            checks_in_flight: tokio::sync::Semaphore::new(MAX_CHECKS),
        });
        let mut tasks = JoinSet::new();
        for (index, watch) in watches.into_iter().enumerate() {
            tasks.spawn(poll_resource(shared.clone(), index, watch));
        }
        let checker = HealthChecker::new(http.clone());
        let probes = health_probes(&config, &http);
        let checked: Vec<(String, String)> = probes.iter().map(|(key, _)| key.clone()).collect();
        for (key, probe) in probes {
            tasks.spawn(check_health(shared.clone(), key, probe, checker.clone()));
        }
        tasks.spawn(publisher(shared.clone()));
        tasks.spawn(refresh_uptime(shared.clone(), checked));
        tasks.spawn(retention(shared.clone()));
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

    /// The published snapshot's revision (moves only when the snapshot changed), without
    /// cloning it: the page cache reads it on every request.
    pub fn revision(&self) -> u64 {
        self.shared.published.borrow().revision
    }

    pub fn is_running(&self) -> bool {
        self.shared.running.load(Ordering::Acquire)
    }

    /// Moves whenever deployments were stored or changed state.
    pub fn subscribe_deployments(&self) -> watch::Receiver<u64> {
        self.shared.deployments_changed.subscribe()
    }

    /// How many stored deployment changes there have been (what [`Self::subscribe_deployments`]
    /// sends): history and service pages are a function of it.
    pub fn deployments_generation(&self) -> u64 {
        *self.shared.deployments_changed.borrow()
    }

    pub fn store(&self) -> Arc<dyn Store> {
        self.shared.store.clone()
    }

    pub fn config(&self) -> Arc<Config> {
        self.shared.config.clone()
    }

    /// The provider client serving `service` in the Lookout environment `environment`, with
    /// the provider's name for that environment.
    pub fn provider_for(&self, service: &str, environment: &str) -> Option<ProviderTarget> {
        let config = &self.shared.config;
        let service_config = config.services.iter().find(|s| s.name == service)?;
        let configured = service_config
            .environments
            .iter()
            .find(|candidate| candidate.environment == environment)?;
        let environment_kind = config
            .environments
            .iter()
            .find(|candidate| candidate.name == environment)
            .map(|candidate| candidate.kind)?;
        let client = self
            .shared
            .clients
            .iter()
            .find(|(name, only, _)| {
                name == service && only.as_deref().is_none_or(|only| only == environment)
            })
            .map(|(_, _, client)| client.clone())?;
        Some(ProviderTarget {
            client,
            environment: ProviderEnvironment::Named(configured.provider_environment.clone()),
            environment_kind,
        })
    }

    /// Polls every provider now instead of at the end of its interval.
    pub fn poll_now(&self) {
        self.shared.poll_now.notify_waiters();
    }

    /// Replaces the rows' rollback notes and republishes.
    pub fn set_rollback_notes(&self, notes: HashMap<(String, String), RollbackNote>) {
        super_lock(&self.shared.state).rollbacks = notes;
        publish(&self.shared);
    }

    /// Whether a stored deployment can be a rollback target, judged against what the last
    /// polls saw (what is live, how many successful deployments are newer, the provider's own
    /// flag). `None` for services whose provider cannot roll back.
    pub fn eligibility_of(
        &self,
        service: &str,
        environment: &str,
        environment_kind: EnvironmentKind,
        deployment_id: &str,
        deploy_state: DeployState,
    ) -> Option<RollbackEligibility> {
        let state = super_lock(&self.shared.state);
        if !state.can_roll_back.contains(service) {
            return None;
        }
        let config = &self.shared.config;
        let service_config = config.services.iter().find(|s| s.name == service)?;
        let provider = service_config.provider_kind();
        let configured = service_config
            .environments
            .iter()
            .find(|candidate| candidate.environment == environment);
        let result = state.watch_result(service, environment);
        let belongs = |deployment: &ProviderDeployment| {
            configured.is_some_and(|configured| belongs_to(configured, &deployment.environment))
        };
        let recent: Vec<&ProviderDeployment> = result
            .map(|result| result.recent.iter().filter(|d| belongs(d)).collect())
            .unwrap_or_default();
        let live = result.and_then(|result| result.live.iter().find(|d| belongs(d)));
        let position = recent.iter().position(|d| d.id == deployment_id);
        let reported = position.and_then(|index| recent.get(index).copied());
        let newer_successful = match position {
            Some(index) => recent[..index]
                .iter()
                .filter(|d| was_live_once(d.state))
                .count() as u32,
            // Older than everything the last poll read: at least that many are newer.
            None => recent.iter().filter(|d| was_live_once(d.state)).count() as u32,
        };
        Some(eligibility(&Candidate {
            provider,
            state: reported.map_or(deploy_state, |d| d.state),
            environment_kind,
            is_live: live.is_some_and(|live| live.id == deployment_id),
            newer_successful,
            provider_refusal: reported.and_then(|d| d.rollback_refusal.as_deref()),
        }))
    }
}

/// A provider client and the environment a rollback addresses.
#[derive(Clone)]
pub struct ProviderTarget {
    pub client: Arc<dyn DeploymentProvider>,
    pub environment: ProviderEnvironment,
    pub environment_kind: EnvironmentKind,
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
