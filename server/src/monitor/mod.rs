//! The monitor: polls every provider resource and health check on its own schedule and keeps
//! the in-memory [`StatusSnapshot`] that pages, the JSON API and the live stream read.
//!
//! A page load never waits on a provider: it reads the last published snapshot. Provider calls
//! depend only on the configuration, never on the number of viewers. Each provider resource has
//! one task (interval + jitter, exponential backoff on throttling and outages, `Retry-After`
//! honoured); each health check has one task. Results are folded into a snapshot by the pure
//! function [`build_snapshot`] and published on a `watch` channel when something changed.

use crate::config::{
    Config, Connection, ServiceConfig, ServiceEnvironment, ServiceResource, ServiceSource,
};
use crate::providers::cloudflare::{CloudflarePagesClient, CloudflarePagesClientConfig};
use crate::providers::digitalocean::{DigitalOceanClient, DigitalOceanClientConfig};
use crate::providers::fly::{FlyClient, FlyClientConfig};
use crate::providers::github::{GithubClient, GithubClientConfig, GithubSource};
use crate::providers::health::{HealthCheckSpec, HealthChecker};
use crate::providers::heroku::{HerokuClient, HerokuClientConfig};
use crate::providers::netlify::{NetlifyClient, NetlifyClientConfig};
use crate::providers::railway::{
    RailwayClient, RailwayClientConfig, RailwayEnvironmentRef, RailwayTokenKind,
};
use crate::providers::render::{RenderClient, RenderClientConfig};
use crate::providers::supabase::{SupabaseClient, SupabaseClientConfig};
use crate::providers::vercel::{VercelClient, VercelClientConfig};
use crate::providers::{
    list_recent_deployments, DeploymentProvider, ProviderDeployment, ProviderEnvironment,
    ProviderError,
};
use crate::rollback::eligibility::{eligibility, Candidate};
use crate::store::{
    DeploymentRecord, HealthSample, RetentionPolicy, Store, StoreError, UpsertOutcome,
};
use app::model::DeployState;
use app::model::{
    EnvironmentKind, EnvironmentStatus, HealthState, HealthView, PollView, ProviderKind,
    ServiceStatus, StatusSnapshot, UptimeView,
};
use app::rollback::{RollbackEligibility, RollbackNote, RollbackOffer};
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
        let result = state.watches.iter().find(|result| {
            result.service == service
                && result
                    .environment
                    .as_ref()
                    .is_none_or(|only| only == environment)
        });
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

fn was_live_once(state: DeployState) -> bool {
    matches!(
        state,
        DeployState::Ready | DeployState::Superseded | DeployState::RolledBack
    )
}

/// "Roll back to previous" for a row: the newest deployment older than the live one that can
/// be a target, or why there is none.
fn rollback_offer(
    provider: ProviderKind,
    environment_kind: EnvironmentKind,
    recent: &[&ProviderDeployment],
    live: Option<&ProviderDeployment>,
) -> RollbackOffer {
    let Some(live) = live else {
        return RollbackOffer::Unavailable {
            reason: "nothing is live to roll back from".into(),
        };
    };
    let mut newer_successful = 0u32;
    let mut first_refusal: Option<String> = None;
    let mut past_live = false;
    for deployment in recent {
        if deployment.id == live.id {
            past_live = true;
            newer_successful += 1;
            continue;
        }
        let older = match (deployment.created_at, live.created_at) {
            (Some(created), Some(live_created)) => created < live_created,
            _ => past_live,
        };
        if older {
            match eligibility(&Candidate {
                provider,
                state: deployment.state,
                environment_kind,
                is_live: false,
                newer_successful,
                provider_refusal: deployment.rollback_refusal.as_deref(),
            }) {
                RollbackEligibility::Eligible => {
                    return RollbackOffer::Previous {
                        target: Box::new(deployment.to_view()),
                    }
                }
                RollbackEligibility::Ineligible(reason) if was_live_once(deployment.state) => {
                    first_refusal.get_or_insert(reason);
                }
                _ => {}
            }
        }
        if was_live_once(deployment.state) {
            newer_successful += 1;
        }
    }
    RollbackOffer::Unavailable {
        reason: first_refusal.unwrap_or_else(|| {
            "no earlier successful deployment among the recent ones".to_string()
        }),
    }
}

/// How often uptime and latency are recomputed from the store.
const UPTIME_REFRESH: Duration = Duration::from_secs(60);
/// How often health data is rolled up and pruned.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);
/// Retention runs per cycle at most (each is bounded by the policy's row limit).
const RETENTION_RUNS_PER_CYCLE: u32 = 20;
/// Sparkline resolution: hourly points over a day.
const LATENCY_BUCKETS: u32 = 24;

/// Recomputes uptime (24 h, 7 d, 30 d) and the latency sparkline of every health-checked
/// service from the store, off the page path.
async fn refresh_uptime(shared: Arc<Shared>, checked: Vec<(String, String)>) {
    // Give the first health checks a moment to land (history from before a restart is
    // already in the store, so the figures are right even if they have not).
    tokio::time::sleep(Duration::from_secs(2)).await;
    loop {
        let now = Utc::now();
        for (service, environment) in checked.iter().cloned() {
            let window = |days: i64| now - chrono::Duration::days(days);
            let percent = |result: Result<crate::store::Uptime, StoreError>| match result {
                Ok(uptime) => uptime.percent,
                Err(error) => {
                    tracing::warn!(%error, "uptime query failed");
                    None
                }
            };
            let day = percent(
                shared
                    .store
                    .uptime(&service, &environment, window(1), now)
                    .await,
            );
            let week = percent(
                shared
                    .store
                    .uptime(&service, &environment, window(7), now)
                    .await,
            );
            let month = percent(
                shared
                    .store
                    .uptime(&service, &environment, window(30), now)
                    .await,
            );
            let latency = match shared
                .store
                .latency_series(&service, &environment, window(1), now, LATENCY_BUCKETS)
                .await
            {
                Ok(points) => points.into_iter().map(|point| point.p50_ms).collect(),
                Err(error) => {
                    tracing::warn!(%error, "latency query failed");
                    Vec::new()
                }
            };
            let mut state = super_lock(&shared.state);
            state.uptime.insert(
                (service, environment),
                (UptimeView { day, week, month }, latency),
            );
        }
        shared.changed.notify_one();
        tokio::time::sleep(UPTIME_REFRESH).await;
    }
}

/// Rolls raw health samples up into hourly rows and prunes old data, in bounded runs.
async fn retention(shared: Arc<Shared>) {
    loop {
        let policy = RetentionPolicy::default();
        for _ in 0..RETENTION_RUNS_PER_CYCLE {
            match shared.store.roll_up_and_prune(Utc::now(), &policy).await {
                Ok(report) if report.more_pending => continue,
                Ok(_) => break,
                Err(error) => {
                    tracing::warn!(%error, "retention run failed");
                    break;
                }
            }
        }
        tokio::time::sleep(RETENTION_EVERY).await;
    }
}

/// Where a polled deployment belongs in Lookout: a configured environment (by provider
/// environment or branch) or a preview; `None` for environments nobody configured.
fn place(
    config: &Config,
    service: &ServiceConfig,
    only: Option<&str>,
    deployment: &ProviderDeployment,
) -> Option<(String, EnvironmentKind)> {
    let configured = service
        .environments
        .iter()
        .filter(|environment| only.is_none_or(|only| only == environment.environment))
        .find(|environment| belongs_to(environment, &deployment.environment));
    if let Some(environment) = configured {
        let kind = config
            .environments
            .iter()
            .find(|known| known.name == environment.environment)
            .map_or(EnvironmentKind::Development, |known| known.kind);
        return Some((environment.environment.clone(), kind));
    }
    match &deployment.environment {
        ProviderEnvironment::Preview {
            branch: Some(branch),
            ..
        } if service.previews => Some((format!("preview/{branch}"), EnvironmentKind::Preview)),
        _ => None,
    }
}

/// Stores what a poll found; returns how many deployments were new or changed state, or
/// `None` when the store failed (the next poll writes them again).
async fn persist(
    shared: &Shared,
    watch: &Watch,
    deployments: &[&ProviderDeployment],
) -> Option<u64> {
    let Some(service) = shared
        .config
        .services
        .iter()
        .find(|service| service.name == watch.service)
    else {
        return Some(0);
    };
    let observed_at = Utc::now();
    let mut changed = 0;
    let mut seen = std::collections::HashSet::new();
    for deployment in deployments {
        if !seen.insert(deployment.id.as_str()) {
            continue;
        }
        let Some((environment, kind)) = place(
            &shared.config,
            service,
            watch.environment.as_deref(),
            deployment,
        ) else {
            continue;
        };
        let record = DeploymentRecord::from_provider(
            watch.client.kind(),
            &service.name,
            &environment,
            kind,
            deployment,
            observed_at,
        );
        match shared.store.upsert_deployment(&record).await {
            Ok(UpsertOutcome::Unchanged) => {}
            Ok(_) => changed += 1,
            Err(error) => {
                tracing::warn!(%error, service = %service.name, "storing a deployment failed");
                return None;
            }
        }
    }
    Some(changed)
}

fn build_watches(config: &Config, http: &reqwest::Client) -> Vec<Watch> {
    let mut watches = Vec::new();
    for service in &config.services {
        let ServiceSource::Provider {
            connection,
            resource,
        } = &service.source
        else {
            continue;
        };
        let watch = |environment: Option<String>, client: Arc<dyn DeploymentProvider>| Watch {
            service: service.name.clone(),
            environment,
            token_env: connection.token_env.clone(),
            client,
        };
        match (connection.kind, resource) {
            (ProviderKind::Vercel, ServiceResource::Project { project }) => watches.push(watch(
                None,
                Arc::new(VercelClient::new(
                    http.clone(),
                    VercelClientConfig {
                        api_base: connection.api_base.clone(),
                        token: connection.token.clone(),
                        team_id: connection.team_id.clone(),
                        project: project.clone(),
                    },
                )),
            )),
            (ProviderKind::CloudflarePages, ServiceResource::Project { project }) => {
                watches.push(watch(
                    None,
                    Arc::new(CloudflarePagesClient::new(
                        http.clone(),
                        CloudflarePagesClientConfig {
                            api_base: connection.api_base.clone(),
                            token: connection.token.clone(),
                            account_id: connection.account_id.clone().unwrap_or_default(),
                            project_name: project.clone(),
                        },
                    )),
                ))
            }
            (ProviderKind::Netlify, ServiceResource::Site { site_id }) => watches.push(watch(
                None,
                Arc::new(NetlifyClient::new(
                    http.clone(),
                    NetlifyClientConfig {
                        api_base: connection.api_base.clone(),
                        token: connection.token.clone(),
                        site_id: site_id.clone(),
                    },
                )),
            )),
            (
                ProviderKind::Railway,
                ServiceResource::RailwayService {
                    project_id,
                    service_id,
                },
            ) => watches.push(watch(
                None,
                Arc::new(RailwayClient::new(
                    http.clone(),
                    RailwayClientConfig {
                        api_base: connection.api_base.clone(),
                        token: connection.token.clone(),
                        token_kind: if connection.project_token {
                            RailwayTokenKind::ProjectAccessToken
                        } else {
                            RailwayTokenKind::Bearer
                        },
                        project_id: project_id.clone(),
                        service_id: service_id.clone(),
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
            )),
            (
                ProviderKind::Github,
                ServiceResource::Repository {
                    owner,
                    repo,
                    workflow,
                },
            ) => {
                let source = match workflow {
                    Some(workflow) => GithubSource::WorkflowRuns {
                        workflow: workflow.clone(),
                        branch_environments: service
                            .environments
                            .iter()
                            .filter_map(|environment| {
                                Some((
                                    environment.branch.clone()?,
                                    environment.provider_environment.clone(),
                                ))
                            })
                            .collect(),
                    },
                    None => GithubSource::Deployments,
                };
                watches.push(watch(
                    None,
                    Arc::new(GithubClient::new(
                        http.clone(),
                        GithubClientConfig {
                            api_base: connection.api_base.clone(),
                            token: connection.token.clone(),
                            owner: owner.clone(),
                            repo: repo.clone(),
                            // With previews on, every environment GitHub reports is read.
                            environments: if service.previews {
                                Vec::new()
                            } else {
                                service
                                    .environments
                                    .iter()
                                    .map(|environment| environment.provider_environment.clone())
                                    .collect()
                            },
                            source,
                        },
                    )),
                ));
            }
            (kind, ServiceResource::PerEnvironment) => {
                for environment in &service.environments {
                    let Some(resource_id) = environment.resource_id.clone() else {
                        continue;
                    };
                    if let Some(client) =
                        per_environment_client(kind, connection, resource_id, environment, http)
                    {
                        watches.push(watch(Some(environment.environment.clone()), client));
                    }
                }
            }
            (kind, resource) => {
                tracing::error!(service = %service.name, provider = %kind, ?resource, "no client for this provider resource");
            }
        }
    }
    watches
}

/// Providers with one resource (app, service) per environment.
fn per_environment_client(
    kind: ProviderKind,
    connection: &Connection,
    resource_id: String,
    environment: &ServiceEnvironment,
    http: &reqwest::Client,
) -> Option<Arc<dyn DeploymentProvider>> {
    let api_base = connection.api_base.clone();
    let token = connection.token.clone();
    let name = environment.provider_environment.clone();
    Some(match kind {
        ProviderKind::Render => Arc::new(RenderClient::new(
            http.clone(),
            RenderClientConfig {
                api_base,
                token,
                service_id: resource_id,
                environment: name,
                service_url: environment.url.clone(),
            },
        )),
        ProviderKind::Digitalocean => Arc::new(DigitalOceanClient::new(
            http.clone(),
            DigitalOceanClientConfig {
                api_base,
                token,
                app_id: resource_id,
                environment: name,
            },
        )),
        ProviderKind::Heroku => Arc::new(HerokuClient::new(
            http.clone(),
            HerokuClientConfig {
                api_base,
                token,
                app: resource_id,
                environment: name,
            },
        )),
        ProviderKind::Fly => Arc::new(FlyClient::new(
            http.clone(),
            FlyClientConfig {
                graphql_base: api_base,
                machines_base: connection
                    .machines_base
                    .clone()
                    .unwrap_or_else(|| crate::providers::fly::DEFAULT_MACHINES_BASE.to_string()),
                token,
                app: resource_id,
                environment: name,
            },
        )),
        // Supabase has no deployments: its environments are health-checked (see `health_probes`).
        _ => return None,
    })
}

/// Health probes: the configured HTTP checks plus Supabase project health.
fn health_probes(config: &Config, http: &reqwest::Client) -> Vec<((String, String), HealthProbe)> {
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
enum HealthProbe {
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
                    state: app::model::HealthState::Unknown,
                    checked_at: Some(Utc::now()),
                    latency_ms: None,
                    detail: Some(format!("Supabase health unavailable: {}", error.summary())),
                },
            },
        }
    }
}

/// For errors the user must fix, where to look (the token's variable name, never its value).
fn what_to_fix(error: &ProviderError, token_env: &str) -> String {
    match error {
        ProviderError::Unauthorized { .. } | ProviderError::Forbidden { .. } => {
            format!(": check the token in {token_env}")
        }
        ProviderError::NotFound { .. } => ": check the ids in the config".to_string(),
        _ => String::new(),
    }
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
    // On the first start for a service, read its history as deep as configured (backfill);
    // afterwards only the newest page.
    let mut backfill = match shared
        .store
        .latest_deployment_time(watch.client.kind(), &watch.service)
        .await
    {
        Ok(None) => shared.config.monitor.history_depth,
        Ok(Some(_)) => 0,
        Err(error) => {
            tracing::warn!(%error, service = %watch.service, "cannot read the stored history");
            0
        }
    };
    // What the last fully stored poll found (not written again).
    let mut last_stored: Vec<ProviderDeployment> = Vec::new();
    loop {
        let attempt_at = Utc::now();
        let read = depth.max(backfill);
        let permit = match shared.polls_in_flight.get(&watch.client.kind()) {
            Some(limit) => limit.acquire().await.ok(),
            None => None,
        };
        let outcome = async {
            let live = watch.client.live_deployments().await?;
            let recent = list_recent_deployments(watch.client.as_ref(), read, depth).await?;
            Ok::<_, ProviderError>((live, recent))
        }
        .await;
        drop(permit);
        if let Ok((live, recent)) = &outcome {
            backfill = 0;
            // Only what differs from the last poll that was stored in full goes to the store:
            // most polls find nothing new.
            let fresh: Vec<&ProviderDeployment> = live
                .iter()
                .chain(recent.iter())
                .filter(|deployment| !last_stored.contains(deployment))
                .collect();
            if let Some(changed) = persist(&shared, &watch, &fresh).await {
                last_stored = live.iter().chain(recent.iter()).cloned().collect();
                if changed > 0 {
                    shared
                        .deployments_changed
                        .send_modify(|count| *count += changed);
                }
            }
        }
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
                        "{}{}; next try {}",
                        error.summary(),
                        what_to_fix(&error, &watch.token_env),
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
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = shared.poll_now.notified() => {}
        }
    }
}

async fn check_health(
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
                    configured_row(
                        service,
                        &environment.name,
                        environment.kind,
                        state,
                        now,
                        stale_after,
                    )
                })
                .collect(),
            window: None,
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
    environment_kind: EnvironmentKind,
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
    let belongs = |deployment: &ProviderDeployment| belongs_to(configured, &deployment.environment);
    let live = result.and_then(|result| result.live.iter().find(|deployment| belongs(deployment)));
    let pending = result.and_then(|result| pending_deployment(&result.recent, belongs, live));
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
    let live_view = live.map(|live| service.link_commit(live.to_view()));
    let rollback_offer = state.can_roll_back.contains(&service.name).then(|| {
        let recent: Vec<&ProviderDeployment> = result
            .map(|result| result.recent.iter().filter(|d| belongs(d)).collect())
            .unwrap_or_default();
        rollback_offer(service.provider_kind(), environment_kind, &recent, live)
    });
    let last_rollback = state
        .rollbacks
        .get(&(service.name.clone(), environment.to_string()))
        .cloned();
    let uptime = state
        .uptime
        .get(&(service.name.clone(), environment.to_string()))
        .cloned();
    Some(ServiceStatus {
        last_rollback,
        rollback_offer,
        service: service.name.clone(),
        provider: service.provider_kind(),
        live_url: configured
            .url
            .clone()
            .or_else(|| live_view.as_ref().and_then(|live| live.url.clone())),
        live: live_view,
        pending: pending.map(|pending| service.link_commit(pending.to_view())),
        health,
        poll: poll_view(result, now, stale_after),
        uptime: uptime.as_ref().map(|(uptime, _)| uptime.clone()),
        latency_ms: uptime.map(|(_, latency)| latency).unwrap_or_default(),
    })
}

/// The newest deployment of an environment that is newer than the live one and either still
/// in progress or failed: what the row warns about.
/// Whether a deployment of the provider belongs to a configured environment: by the provider's
/// environment name, or by branch when the environment claims one (Netlify `staging` branch).
fn belongs_to(configured: &ServiceEnvironment, environment: &ProviderEnvironment) -> bool {
    match environment {
        ProviderEnvironment::Named(name) => *name == configured.provider_environment,
        ProviderEnvironment::Preview {
            branch: Some(branch),
            ..
        } => configured.branch.as_deref() == Some(branch.as_str()),
        ProviderEnvironment::Preview { branch: None, .. } => false,
    }
}

fn pending_deployment<'a>(
    recent: &'a [ProviderDeployment],
    belongs: impl Fn(&ProviderDeployment) -> bool,
    live: Option<&ProviderDeployment>,
) -> Option<&'a ProviderDeployment> {
    let newest = recent.iter().find(|deployment| belongs(deployment))?;
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
            // A branch that a configured environment claims (Netlify `staging`) is not a preview.
            if service.environment_for_branch(&branch).is_some() {
                continue;
            }
            let of_branch = |deployment: &ProviderDeployment| matches!(&deployment.environment, ProviderEnvironment::Preview { branch: Some(b), .. } if *b == branch);
            let live = result.live.iter().find(|deployment| of_branch(deployment));
            let pending = pending_deployment(&result.recent, of_branch, live);
            if live.is_none() && pending.is_none() {
                continue;
            }
            let live_view = live.map(|live| service.link_commit(live.to_view()));
            let row = ServiceStatus {
                last_rollback: None,
                rollback_offer: None,
                service: service.name.clone(),
                provider: service.provider_kind(),
                live_url: live_view.as_ref().and_then(|live| live.url.clone()),
                live: live_view,
                pending: pending.map(|pending| service.link_commit(pending.to_view())),
                health: HealthView {
                    state: HealthState::Unchecked,
                    checked_at: None,
                    latency_ms: None,
                    detail: Some("previews are not health-checked".into()),
                },
                poll: poll_view(Some(result), now, stale_after),
                uptime: None,
                latency_ms: Vec::new(),
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
            window: None,
        })
        .collect()
}
