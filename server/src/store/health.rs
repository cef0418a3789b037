//! Health samples, uptime, latency and retention, for both backends: the SQL text (`?`
//! placeholders) and the pure computations behind charts and retention (batch selection, hourly
//! summaries, percentile merging, bucketing). Percentiles and roll-up merging are computed here
//! in Rust, so SQLite and PostgreSQL give the same numbers.

use super::common::{enum_name, from_millis, int, millis, text, Bind, Sql};
use super::{HealthSample, LatencyPoint, StoreError};
use app::model::HealthState;
use chrono::{DateTime, Utc};
use serde::de::value::{Error as ValueError, StrDeserializer};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

pub(crate) const HOUR_MS: i64 = 3_600_000;

/// A duration in milliseconds, saturating (a policy of "keep for 10,000 years" is fine).
pub(crate) fn duration_ms(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The start of the hour `ms` falls in.
pub(crate) fn hour_floor(ms: i64) -> i64 {
    ms.div_euclid(HOUR_MS) * HOUR_MS
}

/// Counted samples and failures in a window: raw samples in `[since, now)` plus the roll-ups of
/// the hours starting in it. One statement, so one snapshot: a retention run moving samples
/// from raw to roll-up cannot make them count twice or not at all.
/// Binds: service, environment, since, now, service, environment, since, now.
pub(crate) const UPTIME: &str = "SELECT CAST(COALESCE(SUM(samples), 0) AS BIGINT), \
     CAST(COALESCE(SUM(failures), 0) AS BIGINT) FROM (\
     SELECT COUNT(*) AS samples, SUM(CASE WHEN state = 'down' THEN 1 ELSE 0 END) AS failures \
     FROM health_samples WHERE service = ? AND environment = ? AND at >= ? AND at < ? \
     AND state IN ('up', 'degraded', 'down') \
     UNION ALL \
     SELECT SUM(samples) AS samples, SUM(failures) AS failures FROM health_rollups \
     WHERE service = ? AND environment = ? AND hour_start >= ? AND hour_start < ?\
     ) AS parts";

/// The binds of one health window: service, environment, since, now (in milliseconds).
pub(crate) fn window_binds(
    service: &str,
    environment: &str,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Vec<Bind> {
    vec![
        text(service),
        text(environment),
        int(millis(since)),
        int(millis(now)),
    ]
}

/// Binds: service, environment, since, now.
pub(crate) const RAW_LATENCIES: &str = "SELECT at, latency_ms FROM health_samples \
     WHERE service = ? AND environment = ? AND at >= ? AND at < ? AND latency_ms IS NOT NULL";

/// Binds: service, environment, since, now.
pub(crate) const ROLLUP_LATENCIES: &str = "SELECT hour_start, latency_samples, p50_ms, p95_ms \
     FROM health_rollups WHERE service = ? AND environment = ? AND hour_start >= ? \
     AND hour_start < ? AND latency_samples > 0";

/// Samples per multi-row `INSERT` (5 binds each, well under both dialects' bind limits).
pub(crate) const SAMPLES_PER_INSERT: usize = 100;

/// One multi-row insert of health samples.
pub(crate) fn insert_samples_sql(samples: &[HealthSample]) -> Result<Sql, StoreError> {
    let mut sql = Sql::new(
        "INSERT INTO health_samples (service, environment, at, state, latency_ms) VALUES ",
    );
    for (i, sample) in samples.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_list([
            Bind::Text(Some(sample.service.clone())),
            Bind::Text(Some(sample.environment.clone())),
            Bind::Int(Some(millis(sample.at))),
            Bind::Text(Some(enum_name(&sample.state)?)),
            Bind::Int(sample.latency_ms.map(i64::from)),
        ]);
    }
    Ok(sql)
}

/// A latency sample or a roll-up's summary of several, as one weighted summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LatencySummary {
    pub(crate) count: i64,
    pub(crate) p50: Option<i64>,
    pub(crate) p95: Option<i64>,
}

/// Nearest-rank percentile of sorted values (`pct` in 1..=100).
pub(crate) fn percentile(sorted: &[i64], pct: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (n * pct as usize).div_ceil(100).clamp(1, n);
    sorted.get(rank - 1).copied()
}

impl LatencySummary {
    pub(crate) fn of(mut values: Vec<i64>) -> Self {
        values.sort_unstable();
        Self {
            count: i64::try_from(values.len()).unwrap_or(i64::MAX),
            p50: percentile(&values, 50),
            p95: percentile(&values, 95),
        }
    }

    /// Two summaries as one. Exact counts; the percentiles are the count-weighted mean of the
    /// two (exact percentiles would need the raw values, which are gone once rolled up).
    pub(crate) fn merge(self, other: Self) -> Self {
        let weighted = |a: Option<i64>, b: Option<i64>| match (a, b) {
            (Some(a), Some(b)) => {
                let total = i128::from(self.count) + i128::from(other.count);
                if total <= 0 {
                    return Some(a.max(b));
                }
                let sum = i128::from(a) * i128::from(self.count)
                    + i128::from(b) * i128::from(other.count);
                Some(i64::try_from((sum + total / 2) / total).unwrap_or(i64::MAX))
            }
            (a, b) => a.or(b),
        };
        Self {
            count: self.count.saturating_add(other.count),
            p50: weighted(self.p50, other.p50),
            p95: weighted(self.p95, other.p95),
        }
    }
}

/// `buckets` equal slices of `[since, now)` with the p50/p95 latency of each. Raw latencies in a
/// slice give exact percentiles; roll-ups (placed by their hour's start) merge in by weight.
pub(crate) fn latency_points(
    since: i64,
    now: i64,
    buckets: u32,
    raw: &[(i64, i64)],
    rollups: &[(i64, LatencySummary)],
) -> Result<Vec<LatencyPoint>, StoreError> {
    if buckets == 0 || now <= since {
        return Ok(Vec::new());
    }
    let span = i128::from(now) - i128::from(since);
    let count = buckets.min(super::MAX_LATENCY_BUCKETS);
    let n = i128::from(count);
    let index = |at: i64| -> Option<usize> {
        if at < since || at >= now {
            return None;
        }
        let i = (i128::from(at) - i128::from(since)) * n / span;
        usize::try_from(i.clamp(0, n - 1)).ok()
    };
    let mut values: Vec<Vec<i64>> = vec![Vec::new(); count as usize];
    for &(at, latency) in raw {
        if let Some(slot) = index(at).and_then(|i| values.get_mut(i)) {
            slot.push(latency);
        }
    }
    let mut merged: Vec<Option<LatencySummary>> = values
        .into_iter()
        .map(|slot| (!slot.is_empty()).then(|| LatencySummary::of(slot)))
        .collect();
    for &(hour_start, summary) in rollups {
        if let Some(slot) = index(hour_start).and_then(|i| merged.get_mut(i)) {
            *slot = Some(match slot.take() {
                Some(existing) => existing.merge(summary),
                None => summary,
            });
        }
    }
    merged
        .into_iter()
        .enumerate()
        .map(|(i, summary)| {
            let offset = span * (i as i128) / n;
            let start_ms = i64::try_from(i128::from(since) + offset).unwrap_or(i64::MAX);
            let to_ms = |value: Option<i64>| {
                value.map(|v| u32::try_from(v.clamp(0, i64::from(u32::MAX))).unwrap_or(u32::MAX))
            };
            Ok(LatencyPoint {
                start: from_millis("latency bucket start", start_ms)?,
                p50_ms: summary.and_then(|s| to_ms(s.p50)),
                p95_ms: summary.and_then(|s| to_ms(s.p95)),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Retention

/// The oldest raw samples, up to the run's bound. Binds: cutoff, limit.
pub(crate) const OLDEST_RAW_SAMPLES: &str = "SELECT id, service, environment, at, state, \
     latency_ms FROM health_samples WHERE at < ? ORDER BY at, id LIMIT ?";

/// Adds an hour's summary to its roll-up row, creating it if needed. Counts add up exactly; the
/// percentiles become the count-weighted mean of the two parts, rounded (the same arithmetic as
/// [`LatencySummary::merge`]). Merging in one statement keeps concurrent writers from losing
/// counts. Binds: service, environment, hour_start, samples, failures, latency_samples, p50,
/// p95.
pub(crate) const UPSERT_ROLLUP: &str = "INSERT INTO health_rollups AS r (service, environment, \
     hour_start, samples, failures, latency_samples, p50_ms, p95_ms) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (service, environment, hour_start) DO UPDATE \
     SET samples = r.samples + excluded.samples, \
     failures = r.failures + excluded.failures, \
     latency_samples = r.latency_samples + excluded.latency_samples, \
     p50_ms = CASE WHEN r.p50_ms IS NULL THEN excluded.p50_ms \
       WHEN excluded.p50_ms IS NULL THEN r.p50_ms \
       ELSE (r.p50_ms * r.latency_samples + excluded.p50_ms * excluded.latency_samples \
         + (r.latency_samples + excluded.latency_samples) / 2) \
         / NULLIF(r.latency_samples + excluded.latency_samples, 0) END, \
     p95_ms = CASE WHEN r.p95_ms IS NULL THEN excluded.p95_ms \
       WHEN excluded.p95_ms IS NULL THEN r.p95_ms \
       ELSE (r.p95_ms * r.latency_samples + excluded.p95_ms * excluded.latency_samples \
         + (r.latency_samples + excluded.latency_samples) / 2) \
         / NULLIF(r.latency_samples + excluded.latency_samples, 0) END";

/// Binds: cutoff, limit.
pub(crate) const PRUNE_ROLLUPS: &str = "DELETE FROM health_rollups \
     WHERE (service, environment, hour_start) IN (SELECT service, environment, hour_start \
     FROM health_rollups WHERE hour_start < ? ORDER BY hour_start LIMIT ?)";

/// Binds: cutoff.
pub(crate) const ANY_RAW_BEFORE: &str = "SELECT id FROM health_samples WHERE at < ? LIMIT 1";

/// Binds: cutoff.
pub(crate) const ANY_ROLLUP_BEFORE: &str =
    "SELECT hour_start FROM health_rollups WHERE hour_start < ? LIMIT 1";

/// How many ids one `DELETE … WHERE id IN (…)` names (well under both dialects' bind limits).
pub(crate) const DELETE_CHUNK: usize = 500;

pub(crate) fn delete_samples_sql(ids: &[i64]) -> Sql {
    let mut sql = Sql::new("DELETE FROM health_samples WHERE id IN ");
    sql.bind_list(ids.iter().map(|id| Bind::Int(Some(*id))));
    sql
}

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct RawSampleRow {
    pub(crate) id: i64,
    pub(crate) service: String,
    pub(crate) environment: String,
    pub(crate) at: i64,
    pub(crate) state: String,
    pub(crate) latency_ms: Option<i64>,
}

/// (service, environment, hour start in epoch milliseconds).
pub(crate) type HourKey = (String, String, i64);

/// One hour's summary as [`UPSERT_ROLLUP`] adds it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RollupRow {
    pub(crate) samples: i64,
    pub(crate) failures: i64,
    pub(crate) latency_samples: i64,
    pub(crate) p50_ms: Option<i64>,
    pub(crate) p95_ms: Option<i64>,
}

/// The binds of [`UPSERT_ROLLUP`] for one hour's summary.
pub(crate) fn rollup_binds((service, environment, hour): HourKey, summary: RollupRow) -> Vec<Bind> {
    vec![
        text(service),
        text(environment),
        int(hour),
        int(summary.samples),
        int(summary.failures),
        int(summary.latency_samples),
        Bind::Int(summary.p50_ms),
        Bind::Int(summary.p95_ms),
    ]
}

/// The raw samples one run rolls up. Rows come oldest first; when the bound cut the read short
/// and the rows span several hours, the last (possibly incomplete) hour is left for the next
/// run, so hours are normally rolled up whole. A single hour larger than the bound is rolled up
/// in parts, which [`UPSERT_ROLLUP`] merges.
pub(crate) fn select_batch(mut rows: Vec<RawSampleRow>, bound: usize) -> Vec<RawSampleRow> {
    if rows.len() < bound {
        return rows;
    }
    let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
        return rows;
    };
    let last_hour = hour_floor(last.at);
    if hour_floor(first.at) != last_hour {
        rows.retain(|row| hour_floor(row.at) < last_hour);
    }
    rows
}

/// Hourly summaries of raw samples, keyed by (service, environment, hour start). Samples whose
/// state is not counted for uptime (`unknown`, `unchecked`, or a name this version does not
/// know) still contribute their latency.
pub(crate) fn summarize(rows: &[RawSampleRow]) -> BTreeMap<HourKey, RollupRow> {
    #[derive(Default)]
    struct Tally {
        samples: i64,
        failures: i64,
        latencies: Vec<i64>,
    }
    let mut hours: BTreeMap<HourKey, Tally> = BTreeMap::new();
    for row in rows {
        let key = (
            row.service.clone(),
            row.environment.clone(),
            hour_floor(row.at),
        );
        let entry = hours.entry(key).or_default();
        match HealthState::deserialize(StrDeserializer::<ValueError>::new(&row.state)) {
            Ok(HealthState::Up | HealthState::Degraded) => entry.samples += 1,
            Ok(HealthState::Down) => {
                entry.samples += 1;
                entry.failures += 1;
            }
            Ok(HealthState::Unknown | HealthState::Unchecked) => {}
            Err(_) => {
                tracing::warn!(state = %row.state, id = row.id, "health sample with an unknown state; not counted");
            }
        }
        if let Some(latency) = row.latency_ms {
            entry.latencies.push(latency);
        }
    }
    hours
        .into_iter()
        .map(|(key, tally)| {
            let latency = LatencySummary::of(tally.latencies);
            (
                key,
                RollupRow {
                    samples: tally.samples,
                    failures: tally.failures,
                    latency_samples: latency.count,
                    p50_ms: latency.p50,
                    p95_ms: latency.p95,
                },
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50), Some(50));
        assert_eq!(percentile(&values, 95), Some(95));
        assert_eq!(percentile(&[7], 95), Some(7));
        assert_eq!(percentile(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn merging_weights_percentiles_by_count() {
        let a = LatencySummary {
            count: 3,
            p50: Some(100),
            p95: Some(200),
        };
        let b = LatencySummary {
            count: 1,
            p50: Some(20),
            p95: None,
        };
        let merged = a.merge(b);
        assert_eq!(merged.count, 4);
        assert_eq!(merged.p50, Some(80));
        assert_eq!(merged.p95, Some(200));
    }

    fn raw(id: i64, at: i64) -> RawSampleRow {
        RawSampleRow {
            id,
            service: "api".into(),
            environment: "production".into(),
            at,
            state: "up".into(),
            latency_ms: Some(10),
        }
    }

    #[test]
    fn a_full_batch_leaves_its_last_hour_for_the_next_run() {
        let rows = vec![raw(1, 0), raw(2, 10), raw(3, HOUR_MS), raw(4, HOUR_MS + 1)];
        let batch = select_batch(rows.clone(), 4);
        assert_eq!(batch.iter().map(|r| r.id).collect::<Vec<_>>(), vec![1, 2]);
        // Not full: everything read is all there is.
        assert_eq!(select_batch(rows.clone(), 5).len(), 4);
        // One hour bigger than the bound: rolled up in parts.
        assert_eq!(select_batch(vec![raw(1, 0), raw(2, 1)], 2).len(), 2);
    }

    #[test]
    fn summaries_count_only_up_degraded_and_down() {
        let mut rows = vec![raw(1, 0), raw(2, 1), raw(3, 2), raw(4, 3)];
        rows[1].state = "down".into();
        rows[2].state = "unknown".into();
        rows[3].state = "degraded".into();
        rows[3].latency_ms = Some(30);
        let hours = summarize(&rows);
        let hour = hours
            .get(&("api".to_owned(), "production".to_owned(), 0))
            .copied();
        assert_eq!(
            hour,
            Some(RollupRow {
                samples: 3,
                failures: 1,
                latency_samples: 4,
                p50_ms: Some(10),
                p95_ms: Some(30),
            })
        );
    }

    #[test]
    fn latency_buckets_split_the_window_evenly() {
        let points =
            latency_points(0, 100, 4, &[(0, 5), (24, 7), (25, 9), (99, 1)], &[]).map(|points| {
                points
                    .into_iter()
                    .map(|p| (p.start.timestamp_millis(), p.p50_ms))
                    .collect::<Vec<_>>()
            });
        assert_eq!(
            points.ok(),
            Some(vec![(0, Some(5)), (25, Some(9)), (50, None), (75, Some(1))])
        );
        assert!(latency_points(0, 100, 0, &[], &[]).is_ok_and(|p| p.is_empty()));
        assert!(latency_points(100, 100, 3, &[], &[]).is_ok_and(|p| p.is_empty()));
    }

    #[test]
    fn hours_floor_towards_the_past() {
        assert_eq!(hour_floor(HOUR_MS + 5), HOUR_MS);
        assert_eq!(hour_floor(-1), -HOUR_MS);
    }
}
