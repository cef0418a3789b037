//! Provider-client test kit: a simulator on loopback, its client, and the conformance cases
//! every provider client must pass.
//!
//! [`Simulated`] says, once per simulator, how to set up its scenario (the one resource its
//! client addresses), where it is nested, and how to build the real client for it. [`Kit`]
//! serves any of them on port 0 and hands out clients (the right token, a wrong one, a custom
//! `reqwest::Client`), pushes deployments, injects faults and counts requests. The shared
//! cases live in `provider_conformance.rs`; each `provider_*.rs` keeps only its own story.

pub mod cloudflare;
pub mod digitalocean;
pub mod fly;
pub mod github;
pub mod heroku;
pub mod netlify;
pub mod railway;
pub mod render;
pub mod supabase;
pub mod vercel;

use chrono::{DateTime, TimeZone, Utc};
use futures::future::BoxFuture;
use server::providers::rollback::{progress_until_settled, RollbackProgress, RollbackRequest};
use server::providers::{
    DeploymentProvider, ProviderDeployment, ProviderEnvironment, ProviderError,
};
use server::simulators::{
    FaultInjector, RequestCounter, SimDeploymentSpec, SimOutcome, SimRollbackOutcome, SimRollbacks,
};
use std::sync::Arc;
use std::time::Duration;

/// One provider's simulator and the real client that talks to it.
pub trait Simulated: Sized + Send + Sync + 'static {
    type Client: std::fmt::Debug + Send + Sync + 'static;
    type Config: Clone;
    /// The nest prefix, as on the demo's simulator server (`vercel` serves `/vercel/...`).
    const PREFIX: &'static str;
    /// The token the simulator accepts.
    const TOKEN: &'static str;

    /// The simulator with the resource (project, app, service) the default client addresses.
    fn scenario() -> Self;
    fn routes(self: Arc<Self>) -> axum::Router;
    fn faults(&self) -> &FaultInjector;
    fn requests(&self) -> &RequestCounter;

    /// The client's configuration against `base` (`http://127.0.0.1:port/<prefix>`).
    fn config(base: &str, token: &str) -> Self::Config;
    /// The same configuration pointed at a resource this token cannot see.
    fn elsewhere(config: Self::Config) -> Self::Config;
    fn build(http: reqwest::Client, config: Self::Config) -> Self::Client;

    /// How the simulator treats rollbacks; `None` where the provider has none.
    fn rollbacks(&self) -> Option<&SimRollbacks> {
        None
    }

    /// The client as a deployment provider; `None` where the provider has no deployments.
    fn provider(client: &Self::Client) -> Option<&dyn DeploymentProvider>;
    /// Adds a deployment to the environment the default client reads; `None` likewise.
    fn push(&self, spec: &SimDeploymentSpec) -> Option<String>;

    /// The one read every conformance case makes: the first page of deployments.
    fn read(client: &Self::Client) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(async move {
            let provider =
                Self::provider(client).expect("a provider without deployments reads otherwise");
            provider.list_deployments(None, 10).await.map(drop)
        })
    }
}

/// Implements [`Simulated`] for a simulator whose client reads deployments: what differs per
/// provider is its scenario, its client's configuration, where "elsewhere" is and where a
/// pushed deployment goes.
#[macro_export]
macro_rules! simulated {
    (
        $sim:ident => $client:ident($config:ident), prefix $prefix:literal, token $token:expr;
        scenario($scenario_sim:ident) $scenario:block
        config($base:ident, $config_token:ident) $make_config:block
        elsewhere($elsewhere_config:ident) $elsewhere:block
        push($push_sim:ident, $spec:ident) $push:block
    ) => {
        impl $crate::common::providers::Simulated for $sim {
            type Client = $client;
            type Config = $config;
            const PREFIX: &'static str = $prefix;
            const TOKEN: &'static str = $token;

            fn scenario() -> Self {
                let $scenario_sim = Self::new($token);
                $scenario
                $scenario_sim
            }

            $crate::simulator_parts!();

            fn config($base: &str, $config_token: &str) -> $config $make_config

            fn elsewhere($elsewhere_config: $config) -> $config $elsewhere

            fn build(http: reqwest::Client, config: $config) -> $client {
                $client::new(http, config)
            }

            fn rollbacks(&self) -> Option<&server::simulators::SimRollbacks> {
                Some(&self.rollbacks)
            }

            fn provider(client: &$client) -> Option<&dyn server::providers::DeploymentProvider> {
                Some(client)
            }

            fn push(&self, $spec: &server::simulators::SimDeploymentSpec) -> Option<String> {
                let $push_sim = self;
                Some($push)
            }
        }
    };
}

/// `faults`, `requests` and `routes` are the same on every simulator.
#[macro_export]
macro_rules! simulator_parts {
    () => {
        fn routes(self: std::sync::Arc<Self>) -> axum::Router {
            self.router()
        }
        fn faults(&self) -> &server::simulators::FaultInjector {
            &self.faults
        }
        fn requests(&self) -> &server::simulators::RequestCounter {
            &self.requests
        }
    };
}

/// A simulator served on a free loopback port under its prefix.
pub struct Kit<S: Simulated> {
    pub sim: Arc<S>,
    /// `http://127.0.0.1:<port>/<prefix>`.
    pub base: String,
}

impl<S: Simulated> Kit<S> {
    /// The standard scenario of `S`.
    pub async fn start() -> Self {
        Self::serve(S::scenario()).await
    }

    /// A simulator the test set up itself.
    pub async fn serve(sim: S) -> Self {
        let sim = Arc::new(sim);
        let app = axum::Router::new().nest(&format!("/{}", S::PREFIX), sim.clone().routes());
        let origin = serve_on_loopback(app).await;
        Self {
            sim,
            base: format!("{origin}/{}", S::PREFIX),
        }
    }

    /// The configuration of the default client, to adjust before [`Kit::client_for`].
    pub fn config(&self) -> S::Config {
        S::config(&self.base, S::TOKEN)
    }

    pub fn client(&self) -> S::Client {
        self.client_for(self.config())
    }

    pub fn client_for(&self, config: S::Config) -> S::Client {
        S::build(server::providers::http::build_client(), config)
    }

    pub fn client_with(&self, http: reqwest::Client, config: S::Config) -> S::Client {
        S::build(http, config)
    }

    pub fn client_with_token(&self, token: &str) -> S::Client {
        self.client_for(S::config(&self.base, token))
    }

    /// A client that gives up after 300 ms (a `Slow` fault of 1.5 s times it out).
    pub fn impatient_client(&self) -> S::Client {
        S::build(impatient_http(), self.config())
    }

    /// A client for a resource this token cannot see.
    pub fn client_elsewhere(&self) -> S::Client {
        self.client_for(S::elsewhere(self.config()))
    }

    /// Pushes `spec(minute, outcome)` to the default client's environment; returns its id.
    pub fn push(&self, minute: u32, outcome: SimOutcome) -> String {
        self.push_spec(&spec(minute, outcome))
    }

    pub fn push_spec(&self, spec: &SimDeploymentSpec) -> String {
        self.sim
            .push(spec)
            .unwrap_or_else(|| panic!("{} has no deployments to push", S::PREFIX))
    }

    /// `count` pushes of `main` from minute 0 to the default environment, every seventh
    /// (minute 3, 10, 17, …) failed; their ids, oldest first.
    pub fn production_history(&self, count: u32) -> Vec<String> {
        (0..count)
            .map(|minute| {
                let outcome = if minute % 7 == 3 {
                    SimOutcome::Failed
                } else {
                    SimOutcome::Ready
                };
                self.push(minute, outcome)
            })
            .collect()
    }

    /// Pushes [`MIXED_HISTORY`] at minutes 5, 10, 13, …, 28 in `order`; the ids, newest first.
    pub fn push_mixed_history(&self, order: PushOrder) -> Vec<String> {
        let minutes = std::iter::once(5).chain((0..).map(|index| 10 + index * 3));
        let mut history: Vec<(u32, SimOutcome)> = minutes.zip(MIXED_HISTORY).collect();
        if order == PushOrder::OldestLast {
            history.rotate_left(1);
        }
        let mut pushed: Vec<(u32, String)> = history
            .into_iter()
            .map(|(minute, outcome)| (minute, self.push(minute, outcome)))
            .collect();
        pushed.sort_by_key(|(minute, _)| std::cmp::Reverse(*minute));
        pushed.into_iter().map(|(_, id)| id).collect()
    }

    /// `N` ready deployments live in turn (minutes 1 to `N`), as the client reads them: the
    /// last is live, the others are rollback targets.
    pub async fn live_in_turn<const N: usize>(&self) -> [ProviderDeployment; N] {
        let ids: [String; N] =
            std::array::from_fn(|index| self.push(index as u32 + 1, SimOutcome::Ready));
        let client = self.client();
        let provider = S::provider(&client).expect("a provider with deployments");
        read_back(provider, &ids).await
    }

    /// Sets how the simulator treats rollbacks (settling after `settle`), starts one with
    /// `request` and polls it for up to `patience`: where it stands then.
    pub async fn settle_rollback(
        &self,
        (outcome, settle): (SimRollbackOutcome, Duration),
        request: RollbackRequest<'_>,
        patience: Duration,
    ) -> RollbackProgress {
        let rollbacks = self.sim.rollbacks();
        rollbacks
            .expect("a provider with rollbacks")
            .set(outcome, settle);
        let client = self.client();
        let provider = S::provider(&client).expect("a provider with deployments");
        let target = request.target;
        let started = provider.roll_back(request).await.unwrap();
        progress_until_settled(provider, target, &started, patience)
            .await
            .unwrap()
    }

    pub fn faults(&self) -> &FaultInjector {
        self.sim.faults()
    }

    /// API requests the simulator has served so far.
    pub fn requests(&self) -> u64 {
        self.sim.requests().get()
    }
}

/// Serves `app` on a free loopback port; returns its origin (`http://127.0.0.1:<port>`).
pub async fn serve_on_loopback(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    origin
}

/// A `reqwest::Client` that gives up after 300 ms.
pub fn impatient_http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap()
}

/// Every outcome, oldest first: two failed builds, a canceled one, one still building and four
/// that went live in turn (the newest of them is live).
pub const MIXED_HISTORY: [SimOutcome; 8] = [
    SimOutcome::Failed,
    SimOutcome::Ready,
    SimOutcome::Failed,
    SimOutcome::Ready,
    SimOutcome::Canceled,
    SimOutcome::Ready,
    SimOutcome::Ready,
    SimOutcome::Building,
];

/// How [`Kit::push_mixed_history`] pushes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushOrder {
    /// In time order, as deployments happen.
    OldestFirst,
    /// The oldest pushed last: a listing must order by creation time, not push order.
    OldestLast,
}

pub const AUTHOR: &str = "Ada Lovelace";

/// When the deployment of `minute` was created: minutes after 2026-03-01 09:00 UTC.
pub fn created(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap() + chrono::Duration::minutes(minute.into())
}

/// The commit of `minute`; its first seven characters differ for every minute, as short shas do.
pub fn sha(minute: u32) -> String {
    format!("{:07x}{:033x}", 0xabc0000 + minute, minute)
}

/// A deployment of `main` built at `minute`.
pub fn spec(minute: u32, outcome: SimOutcome) -> SimDeploymentSpec {
    spec_on("main", minute, outcome)
}

pub fn spec_on(branch: &str, minute: u32, outcome: SimOutcome) -> SimDeploymentSpec {
    SimDeploymentSpec {
        commit_sha: sha(minute),
        commit_message: format!("change number {minute}"),
        author: AUTHOR.into(),
        branch: branch.into(),
        pr_number: None,
        outcome,
        created_at: created(minute),
    }
}

pub fn ids(deployments: &[ProviderDeployment]) -> Vec<&str> {
    deployments.iter().map(|d| d.id.as_str()).collect()
}

pub fn named(name: &str) -> ProviderEnvironment {
    ProviderEnvironment::Named(name.into())
}

pub fn preview(branch: &str, pr_number: Option<u32>) -> ProviderEnvironment {
    ProviderEnvironment::Preview {
        branch: Some(branch.into()),
        pr_number,
    }
}

/// The ids of the deployments in `environment`.
pub fn ids_in<'a>(
    deployments: &'a [ProviderDeployment],
    environment: &ProviderEnvironment,
) -> Vec<&'a str> {
    deployments
        .iter()
        .filter(|d| &d.environment == environment)
        .map(|d| d.id.as_str())
        .collect()
}

/// Reads each id back through the client (rollback tests start from what the client saw).
pub async fn read_back<const N: usize>(
    client: &dyn DeploymentProvider,
    ids: &[String; N],
) -> [ProviderDeployment; N] {
    let mut deployments = Vec::new();
    for id in ids {
        deployments.push(client.deployment(id).await.unwrap());
    }
    deployments.try_into().unwrap()
}

/// A confirmed rollback to `target` without a hold.
pub fn rollback_request<'a>(
    target: &'a ProviderDeployment,
    live: &'a ProviderDeployment,
    environment: &'a ProviderEnvironment,
) -> RollbackRequest<'a> {
    RollbackRequest {
        environment,
        target,
        live,
        reason: "bad release",
        place_hold: false,
    }
}

/// A confirmed rollback to `target` that places the provider's hold (auto-deploy off, a pin).
pub fn held_rollback_request<'a>(
    target: &'a ProviderDeployment,
    live: &'a ProviderDeployment,
    environment: &'a ProviderEnvironment,
    reason: &'a str,
) -> RollbackRequest<'a> {
    RollbackRequest {
        reason,
        place_hold: true,
        ..rollback_request(target, live, environment)
    }
}
