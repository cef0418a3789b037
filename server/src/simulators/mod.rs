//! Local simulators of the provider APIs: the same paths, payload shapes, state enums, paging,
//! auth checks and error bodies as the contracts in `shared/providers/`, driven by a scenario.
//!
//! They back demo mode, the integration and browser tests, and the benchmarks: one set of
//! fakes that exercises the real clients. They bind loopback only. Each provider's simulator
//! is an axum `Router` nested under its own prefix (`/vercel`, `/render`, `/railway`,
//! `/health`) on one simulator server, plus a `/_control` API that the tests and demo use to
//! change the scenario (see `crate::demo`).

pub mod cloudflare;
pub mod digitalocean;
pub mod fly;
pub mod github;
pub mod health;
pub mod heroku;
pub mod netlify;
pub mod railway;
pub mod render;
pub mod skeleton;
pub mod supabase;
pub mod vercel;

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// How a simulated deployment ends up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimOutcome {
    /// Built and now live; the previously live deployment of its environment is superseded.
    Ready,
    /// The build failed; the live deployment stays live.
    Failed,
    /// Still building.
    Building,
    /// Canceled before it went live.
    Canceled,
}

/// A deployment to add to a simulator's scenario; each simulator fills in its own ids, URLs
/// and provider-specific fields from this.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct SimDeploymentSpec {
    pub commit_sha: String,
    pub commit_message: String,
    pub author: String,
    pub branch: String,
    #[serde(default)]
    pub pr_number: Option<u32>,
    pub outcome: SimOutcome,
    /// When the deployment was created; it finishes a couple of minutes later.
    pub created_at: DateTime<Utc>,
}

/// A failure a simulator returns instead of its normal answer, in the provider's own shape.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SimFault {
    /// 429 with the provider's rate-limit headers and error body.
    RateLimited { retry_after_secs: u64 },
    /// 500/503 with the provider's error body.
    ServerError,
    /// 200 with a body that is not the documented JSON.
    Garbage,
    /// 401 with the provider's error body, as for a wrong token.
    Unauthorized,
    /// Answers normally but only after this delay (longer than the client timeout = timeout).
    Slow { millis: u64 },
}

/// Faults queued for the next requests (each used once), or one that sticks until cleared.
#[derive(Debug, Default)]
pub struct FaultInjector {
    queued: Mutex<VecDeque<SimFault>>,
    sticky: Mutex<Option<SimFault>>,
}

impl FaultInjector {
    /// The next request gets this fault.
    pub fn push_once(&self, fault: SimFault) {
        lock(&self.queued).push_back(fault);
    }

    /// Every request gets this fault until [`FaultInjector::clear`].
    pub fn set_sticky(&self, fault: SimFault) {
        *lock(&self.sticky) = Some(fault);
    }

    pub fn clear(&self) {
        lock(&self.queued).clear();
        *lock(&self.sticky) = None;
    }

    /// The fault for the request being served now, if any.
    pub fn next(&self) -> Option<SimFault> {
        lock(&self.queued)
            .pop_front()
            .or_else(|| lock(&self.sticky).clone())
    }
}

/// Counts the API requests a simulator served (the fan-out benchmark reads it).
#[derive(Debug, Default)]
pub struct RequestCounter(AtomicU64);

impl RequestCounter {
    pub fn record(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A poisoned simulator lock only means another handler panicked; the data is still usable.
pub fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Checks `Authorization: Bearer <token>` the way the providers do.
pub fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|given| given == token)
}

/// Sleeps for a `Slow` fault; returns the fault for the others so the caller renders it.
pub async fn apply_delay(fault: Option<SimFault>) -> Option<SimFault> {
    match fault {
        Some(SimFault::Slow { millis }) => {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            None
        }
        other => other,
    }
}

/// The status code a fault answers with.
pub fn fault_status(fault: &SimFault) -> StatusCode {
    match fault {
        SimFault::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        SimFault::ServerError => StatusCode::SERVICE_UNAVAILABLE,
        SimFault::Garbage | SimFault::Slow { .. } => StatusCode::OK,
        SimFault::Unauthorized => StatusCode::UNAUTHORIZED,
    }
}

/// A simulated id: the prefix and the seed as zero-padded hex (`dpl_00000000000000000000002a`).
pub fn sim_id(prefix: &str, seed: u64, width: usize) -> String {
    format!("{prefix}{seed:0width$x}")
}

/// How the simulated provider treats the next rollbacks (`POST /_control/rollback`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimRollbackOutcome {
    /// Accepted; the target (or its new deployment) is live after the settle time.
    #[default]
    GoesLive,
    /// Accepted, but the target never goes live (stuck in progress).
    NeverLive,
    /// Accepted, then the provider reports the rollback failed.
    Fails,
    /// Refused up front with the provider's own error (plan limit, conflict, ineligible).
    Refused,
}

/// The rollback behaviour of one simulator, and a count of the rollback calls it accepted or
/// refused (the concurrency test counts provider calls with it).
#[derive(Debug)]
pub struct SimRollbacks {
    outcome: Mutex<SimRollbackOutcome>,
    settle: Mutex<Duration>,
    pub calls: RequestCounter,
}

impl Default for SimRollbacks {
    fn default() -> Self {
        Self {
            outcome: Mutex::new(SimRollbackOutcome::GoesLive),
            settle: Mutex::new(Duration::from_millis(1500)),
            calls: RequestCounter::default(),
        }
    }
}

impl SimRollbacks {
    pub fn set(&self, outcome: SimRollbackOutcome, settle: Duration) {
        *lock(&self.outcome) = outcome;
        *lock(&self.settle) = settle;
    }

    /// Counts a rollback call and says how it goes and when it settles.
    pub fn next(&self) -> (SimRollbackOutcome, std::time::Instant) {
        self.calls.record();
        (
            *lock(&self.outcome),
            std::time::Instant::now() + *lock(&self.settle),
        )
    }
}
