//! Uptime and latency figures recomputed from the store, and bounded retention of health
//! history.

use super::{super_lock, Shared};
use crate::store::RetentionPolicy;
use app::model::UptimeView;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;

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
pub(super) async fn refresh_uptime(shared: Arc<Shared>, checked: Vec<(String, String)>) {
    // Give the first health checks a moment to land (history from before a restart is
    // already in the store, so the figures are right even if they have not).
    tokio::time::sleep(Duration::from_secs(2)).await;
    loop {
        let now = Utc::now();
        for (service, environment) in checked.iter().cloned() {
            let window = |days: i64| now - chrono::Duration::days(days);
            let (store, name, env) = (
                shared.store.as_ref(),
                service.as_str(),
                environment.as_str(),
            );
            let percent = |days: i64| async move {
                match store.uptime(name, env, window(days), now).await {
                    Ok(uptime) => uptime.percent,
                    Err(error) => {
                        tracing::warn!(%error, "uptime query failed");
                        None
                    }
                }
            };
            let (day, week, month) = (percent(1).await, percent(7).await, percent(30).await);
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
pub(super) async fn retention(shared: Arc<Shared>) {
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
