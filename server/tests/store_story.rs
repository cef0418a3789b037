//! The store story: one sequence of what Lookout asks of its store, run against SQLite and
//! against a real PostgreSQL, so both backends are held to the same behaviour.
//!
//! PostgreSQL comes from `LOOKOUT_TEST_POSTGRES_URL` (`scripts/test-postgres.sh start` prints
//! one); each run works in its own schema. Without the variable the PostgreSQL test is skipped
//! with a note, except in CI, where it fails.

mod common;

use app::model::{DeployState, EnvironmentKind, HealthState, ProviderKind};
use chrono::{DateTime, Duration, TimeZone, Utc};
use server::store::{
    self, DeploymentFilter, DeploymentRecord, HealthSample, HistoryCursor, NewAuditEntry,
    RetentionPolicy, Store, StoreError, StoredDeployment, UpsertOutcome, Uptime,
};
use std::sync::Arc;

/// "Now" for the whole story: on the hour, so windows of whole days line up with roll-up hours.
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 10, 12, 0, 0).unwrap()
}

fn minutes(n: i64) -> Duration {
    Duration::minutes(n)
}

fn hours(n: i64) -> Duration {
    Duration::hours(n)
}

fn days(n: i64) -> Duration {
    Duration::days(n)
}

struct Deploy {
    provider: ProviderKind,
    service: &'static str,
    environment: &'static str,
    kind: EnvironmentKind,
    id: &'static str,
    state: DeployState,
    age: Duration,
    author: Option<&'static str>,
    creator: Option<&'static str>,
}

impl Deploy {
    fn record(&self) -> DeploymentRecord {
        let created_at = now() - self.age;
        DeploymentRecord {
            provider: self.provider,
            service: self.service.into(),
            environment: self.environment.into(),
            environment_kind: self.kind,
            provider_id: self.id.into(),
            state: self.state,
            provider_state: format!("{:?}", self.state).to_uppercase(),
            commit_sha: Some(format!("{:0>40}", self.id.len())),
            commit_message: Some(format!("Deploy {}\n\nBody", self.id)),
            author: self.author.map(Into::into),
            branch: (self.kind == EnvironmentKind::Preview).then(|| "feature-x".into()),
            pr_number: (self.kind == EnvironmentKind::Preview).then_some(42),
            creator: self.creator.map(Into::into),
            created_at,
            finished_at: None,
            url: Some(format!("https://{}.example.test", self.id)),
            dashboard_url: Some(format!("https://dashboard.example.test/{}", self.id)),
            observed_at: created_at + minutes(1),
        }
    }
}

fn deploys() -> Vec<Deploy> {
    use DeployState::*;
    use EnvironmentKind::*;
    use ProviderKind::*;
    let d = |provider, service, environment, kind, id, state, age, author, creator| Deploy {
        provider,
        service,
        environment,
        kind,
        id,
        state,
        age,
        author,
        creator,
    };
    vec![
        d(
            Vercel,
            "web",
            "production",
            Production,
            "dpl_1",
            Ready,
            days(10),
            Some("Ada Lovelace"),
            None,
        ),
        d(
            Render,
            "api",
            "production",
            Production,
            "dep-2",
            Building,
            hours(2),
            None,
            Some("Grace Hopper"),
        ),
        d(
            Render,
            "api",
            "staging",
            Staging,
            "dep-3",
            Failed,
            hours(3),
            Some("ada.l"),
            None,
        ),
        // Same creation time as dep-3: the id breaks the tie.
        d(
            Render,
            "api",
            "staging",
            Staging,
            "dep-3b",
            Canceled,
            hours(3),
            Some("Linus"),
            None,
        ),
        d(
            Vercel,
            "web",
            "preview/feature-x",
            Preview,
            "dpl_4",
            Ready,
            hours(1),
            Some("Linus"),
            None,
        ),
        d(
            Railway,
            "worker",
            "production",
            Production,
            "uuid-5",
            RolledBack,
            days(1),
            Some("Grace Hopper"),
            None,
        ),
        d(
            Render,
            "api",
            "production",
            Production,
            "dep-6",
            Failed,
            minutes(30),
            Some("Ada Lovelace"),
            Some("ci-bot"),
        ),
    ]
}

fn ids(deployments: &[StoredDeployment]) -> Vec<&str> {
    deployments
        .iter()
        .map(|d| d.record.provider_id.as_str())
        .collect()
}

async fn list(store: &dyn Store, filter: &DeploymentFilter) -> Vec<String> {
    let page = store.list_deployments(filter, None, 100).await.unwrap();
    assert_eq!(page.next, None, "a page larger than the result has no next");
    ids(&page.deployments)
        .into_iter()
        .map(String::from)
        .collect()
}

/// Every page of a query, following cursors through their text form.
async fn walk(store: &dyn Store, filter: &DeploymentFilter, limit: u32) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<HistoryCursor> = None;
    loop {
        let page = store
            .list_deployments(filter, cursor.as_ref(), limit)
            .await
            .unwrap();
        assert!(page.deployments.len() <= limit as usize);
        pages.push(
            ids(&page.deployments)
                .into_iter()
                .map(String::from)
                .collect(),
        );
        match page.next {
            Some(next) => cursor = Some(HistoryCursor::decode(&next.encode()).unwrap()),
            None => break,
        }
        assert!(pages.len() < 100, "pagination does not end");
    }
    pages
}

async fn find(store: &dyn Store, provider_id: &str) -> StoredDeployment {
    let page = store
        .list_deployments(&DeploymentFilter::default(), None, 500)
        .await
        .unwrap();
    page.deployments
        .into_iter()
        .find(|d| d.record.provider_id == provider_id)
        .unwrap_or_else(|| panic!("{provider_id} not stored"))
}

// ---------------------------------------------------------------------------------------------
// Health data

fn api_state(i: i64) -> (HealthState, Option<u32>) {
    if i % 50 == 0 {
        (HealthState::Down, None)
    } else if i % 25 == 0 {
        (HealthState::Unknown, None)
    } else if i % 13 == 0 {
        (HealthState::Unchecked, None)
    } else if i % 7 == 0 {
        (HealthState::Degraded, Some(300 + (i % 5) as u32))
    } else {
        (HealthState::Up, Some(100 + ((i * 7) % 40) as u32))
    }
}

/// One sample every 10 minutes for 7 days, for api and web in production.
fn health_samples() -> Vec<HealthSample> {
    let start = now() - days(7);
    let count = 7 * 24 * 6;
    let mut samples = Vec::new();
    for i in 0..count {
        let (state, latency_ms) = api_state(i);
        samples.push(HealthSample {
            service: "api".into(),
            environment: "production".into(),
            at: start + minutes(10 * i + 1),
            state,
            latency_ms,
        });
    }
    for i in 0..count {
        samples.push(HealthSample {
            service: "web".into(),
            environment: "production".into(),
            at: start + minutes(10 * i + 1),
            state: HealthState::Up,
            latency_ms: Some(50),
        });
    }
    samples
}

/// What uptime the samples give over `[from, to)`, counted the way the spec says.
fn expected_uptime(
    samples: &[HealthSample],
    service: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (u64, u64) {
    samples
        .iter()
        .filter(|s| s.service == service && s.at >= from && s.at < to)
        .fold((0, 0), |(n, failures), s| match s.state {
            HealthState::Up | HealthState::Degraded => (n + 1, failures),
            HealthState::Down => (n + 1, failures + 1),
            HealthState::Unknown | HealthState::Unchecked => (n, failures),
        })
}

fn percentile(values: &mut [u32], pct: usize) -> Option<u32> {
    values.sort_unstable();
    if values.is_empty() {
        return None;
    }
    let rank = (values.len() * pct).div_ceil(100).clamp(1, values.len());
    Some(values[rank - 1])
}

fn expected_latency(
    samples: &[HealthSample],
    service: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (Option<u32>, Option<u32>) {
    let mut values: Vec<u32> = samples
        .iter()
        .filter(|s| s.service == service && s.at >= from && s.at < to)
        .filter_map(|s| s.latency_ms)
        .collect();
    (percentile(&mut values, 50), percentile(&mut values, 95))
}

async fn uptime(
    store: &dyn Store,
    service: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Uptime {
    store.uptime(service, "production", from, to).await.unwrap()
}

fn assert_uptime(actual: Uptime, (samples, failures): (u64, u64), what: &str) {
    assert_eq!(
        (actual.samples, actual.failures),
        (samples, failures),
        "{what}"
    );
    let percent = (samples > 0).then(|| (samples - failures) as f64 * 100.0 / samples as f64);
    match (actual.percent, percent) {
        (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{what}: {a} vs {b}"),
        (a, b) => assert_eq!(a, b, "{what}"),
    }
}

/// What the story leaves behind, checked again after reopening the store.
struct Facts {
    history: Vec<String>,
    uptime_last_6_days: Uptime,
    audit: Vec<(i64, String)>,
}

async fn story(store: Arc<dyn Store>) -> Facts {
    let store = store.as_ref();
    store.ping().await.unwrap();

    // --- Deployments: insert, upsert unchanged, upsert with a state change --------------------
    for deploy in deploys() {
        assert_eq!(
            store.upsert_deployment(&deploy.record()).await.unwrap(),
            UpsertOutcome::Inserted,
            "{}",
            deploy.id
        );
    }
    let dpl_1 = deploys()[0].record();
    let first = find(store, "dpl_1").await;
    assert_eq!(first.record, dpl_1, "a record reads back as written");
    assert_eq!(first.first_seen_at, dpl_1.observed_at);
    assert_eq!(first.state_changed_at, dpl_1.observed_at);
    let mut seen_again = dpl_1.clone();
    seen_again.observed_at += minutes(10);
    seen_again.commit_message = Some("Deploy dpl_1 (edited)".into());
    assert_eq!(
        store.upsert_deployment(&seen_again).await.unwrap(),
        UpsertOutcome::Unchanged
    );
    let again = find(store, "dpl_1").await;
    assert_eq!(again.id, first.id, "upserts keep the row");
    assert_eq!(again.record.observed_at, seen_again.observed_at);
    assert_eq!(
        again.record.commit_message.as_deref(),
        Some("Deploy dpl_1 (edited)"),
        "other fields are refreshed"
    );
    assert_eq!(again.state_changed_at, first.state_changed_at);
    assert_eq!(again.first_seen_at, first.first_seen_at);

    let building = deploys()[1].record();
    let mut ready = building.clone();
    ready.state = DeployState::Ready;
    ready.provider_state = "live".into();
    ready.observed_at = building.observed_at + minutes(4);
    ready.finished_at = Some(building.created_at + minutes(4));
    assert_eq!(
        store.upsert_deployment(&ready).await.unwrap(),
        UpsertOutcome::StateChanged {
            from: DeployState::Building,
            to: DeployState::Ready
        }
    );
    let mut still_ready = ready.clone();
    still_ready.observed_at += minutes(5);
    assert_eq!(
        store.upsert_deployment(&still_ready).await.unwrap(),
        UpsertOutcome::Unchanged
    );
    let dep_2 = find(store, "dep-2").await;
    assert_eq!(dep_2.record.state, DeployState::Ready);
    assert_eq!(dep_2.record.finished_at, ready.finished_at);
    assert_eq!(
        dep_2.state_changed_at, ready.observed_at,
        "moves with the change"
    );
    assert_eq!(dep_2.first_seen_at, building.observed_at, "never moves");
    let changes = store.deployment_state_changes(dep_2.id).await.unwrap();
    let changes: Vec<_> = changes.iter().map(|c| (c.from, c.to, c.at)).collect();
    assert_eq!(
        changes,
        vec![
            (None, DeployState::Building, building.observed_at),
            (
                Some(DeployState::Building),
                DeployState::Ready,
                ready.observed_at
            ),
        ],
        "state changes keep their timestamps"
    );
    let view = dep_2.to_view();
    assert_eq!(
        view.author.as_deref(),
        Some("Grace Hopper"),
        "creator stands in"
    );
    assert_eq!(view.id, "dep-2");

    // --- History filters ----------------------------------------------------------------------
    let all = [
        "dep-6", "dpl_4", "dep-2", "dep-3b", "dep-3", "uuid-5", "dpl_1",
    ];
    let f = DeploymentFilter::default;
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let cases: Vec<(&str, DeploymentFilter, Vec<&str>)> = vec![
        ("no filter, newest first, ties by id", f(), all.to_vec()),
        (
            "one service",
            DeploymentFilter {
                services: strings(&["api"]),
                ..f()
            },
            vec!["dep-6", "dep-2", "dep-3b", "dep-3"],
        ),
        (
            "two services",
            DeploymentFilter {
                services: strings(&["api", "worker"]),
                ..f()
            },
            vec!["dep-6", "dep-2", "dep-3b", "dep-3", "uuid-5"],
        ),
        (
            "one environment",
            DeploymentFilter {
                environments: strings(&["production"]),
                ..f()
            },
            vec!["dep-6", "dep-2", "uuid-5", "dpl_1"],
        ),
        (
            "a preview environment",
            DeploymentFilter {
                environments: strings(&["preview/feature-x"]),
                ..f()
            },
            vec!["dpl_4"],
        ),
        (
            "two environments",
            DeploymentFilter {
                environments: strings(&["staging", "preview/feature-x"]),
                ..f()
            },
            vec!["dpl_4", "dep-3b", "dep-3"],
        ),
        (
            "one state",
            DeploymentFilter {
                states: vec![DeployState::Failed],
                ..f()
            },
            vec!["dep-6", "dep-3"],
        ),
        (
            "failed or rolled back",
            DeploymentFilter {
                states: vec![DeployState::Failed, DeployState::RolledBack],
                ..f()
            },
            vec!["dep-6", "dep-3", "uuid-5"],
        ),
        (
            "ready, after a state change",
            DeploymentFilter {
                states: vec![DeployState::Ready],
                ..f()
            },
            vec!["dpl_4", "dep-2", "dpl_1"],
        ),
        (
            "author, any case, substring",
            DeploymentFilter {
                author: Some("ADA".into()),
                ..f()
            },
            vec!["dep-6", "dep-3", "dpl_1"],
        ),
        (
            "author or creator",
            DeploymentFilter {
                author: Some("grace".into()),
                ..f()
            },
            vec!["dep-2", "uuid-5"],
        ),
        (
            "creator only",
            DeploymentFilter {
                author: Some("ci-bot".into()),
                ..f()
            },
            vec!["dep-6"],
        ),
        (
            "a blank author is no filter",
            DeploymentFilter {
                author: Some("  ".into()),
                ..f()
            },
            all.to_vec(),
        ),
        (
            "an author with LIKE wildcards is literal",
            DeploymentFilter {
                author: Some("%".into()),
                ..f()
            },
            vec![],
        ),
        (
            "time range: from inclusive, to exclusive",
            DeploymentFilter {
                from: Some(now() - hours(3)),
                to: Some(now() - hours(1)),
                ..f()
            },
            vec!["dep-2", "dep-3b", "dep-3"],
        ),
        (
            "from only",
            DeploymentFilter {
                from: Some(now() - hours(1)),
                ..f()
            },
            vec!["dep-6", "dpl_4"],
        ),
        (
            "to only",
            DeploymentFilter {
                to: Some(now() - days(1)),
                ..f()
            },
            vec!["dpl_1"],
        ),
        (
            "service + state + author",
            DeploymentFilter {
                services: strings(&["api"]),
                states: vec![DeployState::Failed],
                author: Some("ada".into()),
                ..f()
            },
            vec!["dep-6", "dep-3"],
        ),
        (
            "service + environment + state + author",
            DeploymentFilter {
                services: strings(&["api"]),
                environments: strings(&["production"]),
                states: vec![DeployState::Failed],
                author: Some("ada".into()),
                ..f()
            },
            vec!["dep-6"],
        ),
        (
            "services + environment + time",
            DeploymentFilter {
                services: strings(&["api", "web"]),
                environments: strings(&["production"]),
                from: Some(now() - hours(3)),
                ..f()
            },
            vec!["dep-6", "dep-2"],
        ),
        (
            "nothing matches",
            DeploymentFilter {
                services: strings(&["nope"]),
                ..f()
            },
            vec![],
        ),
    ];
    for (what, filter, expected) in &cases {
        assert_eq!(list(store, filter).await, strings(expected), "{what}");
    }

    for (provider, service, latest, what) in [
        (
            ProviderKind::Render,
            "api",
            Some(now() - minutes(30)),
            "newest api",
        ),
        (
            ProviderKind::Vercel,
            "web",
            Some(now() - hours(1)),
            "newest web",
        ),
        (ProviderKind::Vercel, "api", None, "never seen: backfill"),
    ] {
        let found = store
            .latest_deployment_time(provider, service)
            .await
            .unwrap();
        assert_eq!(found, latest, "{what}");
    }

    // --- Pagination boundaries ----------------------------------------------------------------
    let one_by_one = walk(store, &f(), 1).await;
    assert_eq!(
        one_by_one.len(),
        all.len(),
        "limit 1: one page per deployment"
    );
    assert_eq!(
        one_by_one.concat(),
        strings(&all),
        "limit 1 crosses the tie"
    );
    assert_eq!(
        walk(store, &f(), 7).await,
        vec![strings(&all)],
        "exactly full"
    );
    assert_eq!(
        walk(store, &f(), 6).await,
        vec![strings(&all[..6]), strings(&all[6..])]
    );
    let production = DeploymentFilter {
        environments: strings(&["production"]),
        ..f()
    };
    assert_eq!(
        walk(store, &production, 2).await,
        vec![strings(&["dep-6", "dep-2"]), strings(&["uuid-5", "dpl_1"])],
        "an exactly full last page has no next"
    );
    let zero = store.list_deployments(&f(), None, 0).await.unwrap();
    assert_eq!(
        ids(&zero.deployments),
        vec!["dep-6"],
        "limit 0 is clamped to 1"
    );
    for garbled in ["", "garbage", "12.", "x.1", "1.2.3", "-.-"] {
        assert!(
            matches!(
                HistoryCursor::decode(garbled),
                Err(StoreError::InvalidCursor)
            ),
            "{garbled:?}"
        );
    }

    let page_1 = store.list_deployments(&f(), None, 2).await.unwrap();
    assert_eq!(ids(&page_1.deployments), vec!["dep-6", "dpl_4"]);
    let cursor = page_1.next.expect("more pages");
    // Between page fetches: a newer deployment, and one as old as the cursor's row.
    let arriving = |id, age| Deploy {
        provider: ProviderKind::Render,
        service: "api",
        environment: "production",
        kind: EnvironmentKind::Production,
        id,
        state: DeployState::Building,
        age,
        author: Some("Ada Lovelace"),
        creator: None,
    };
    let newer = arriving("dep-7", Duration::zero());
    let tied = arriving("dep-8", hours(1));
    store.upsert_deployment(&newer.record()).await.unwrap();
    store.upsert_deployment(&tied.record()).await.unwrap();
    let page_2 = store
        .list_deployments(&f(), Some(&cursor), 2)
        .await
        .unwrap();
    assert_eq!(
        ids(&page_2.deployments),
        vec!["dep-2", "dep-3b"],
        "later pages do not shift when newer deployments arrive"
    );
    let refreshed = store.list_deployments(&f(), None, 3).await.unwrap();
    assert_eq!(ids(&refreshed.deployments), vec!["dep-7", "dep-6", "dep-8"]);
    let history = walk(store, &f(), 500).await.concat();
    assert_eq!(history.len(), 9);

    // --- Health samples and uptime ------------------------------------------------------------
    let samples = health_samples();
    store.record_health_samples(&samples).await.unwrap();
    store.record_health_samples(&[]).await.unwrap();
    let week = now() - days(7);
    let day = now() - days(1);
    assert_uptime(
        uptime(store, "api", day, now()).await,
        expected_uptime(&samples, "api", day, now()),
        "api 24 h",
    );
    assert_uptime(
        uptime(store, "api", week, now()).await,
        expected_uptime(&samples, "api", week, now()),
        "api 7 d",
    );
    let api_week = uptime(store, "api", week, now()).await;
    assert!(api_week.failures > 0 && api_week.percent.is_some_and(|p| p < 100.0));
    assert_eq!(uptime(store, "web", week, now()).await.percent, Some(100.0));
    let nothing = uptime(store, "ghost", week, now()).await;
    assert_eq!(
        (nothing.samples, nothing.percent),
        (0, None),
        "no samples, no figure"
    );

    // Latency sparkline over raw samples: exact percentiles per bucket.
    let series = store
        .latency_series("api", "production", day, now(), 24)
        .await
        .unwrap();
    assert_eq!(series.len(), 24);
    for (i, point) in series.iter().enumerate() {
        let start = day + hours(i as i64);
        assert_eq!(point.start, start);
        let (p50, p95) = expected_latency(&samples, "api", start, start + hours(1));
        assert_eq!((point.p50_ms, point.p95_ms), (p50, p95), "bucket {i}");
    }
    assert!(store
        .latency_series("api", "production", day, now(), 0)
        .await
        .unwrap()
        .is_empty());

    // Figures to hold across the roll-up.
    let first_hour = (week, week + hours(1));
    let boundary = (now() - hours(49), now() - hours(47));
    let old_hour = (now() - days(3), now() - days(3) + hours(1));
    let old_hour_latency = store
        .latency_series("api", "production", old_hour.0, old_hour.1, 1)
        .await
        .unwrap();
    assert_eq!(
        old_hour_latency
            .iter()
            .map(|p| (p.p50_ms, p.p95_ms))
            .collect::<Vec<_>>(),
        vec![expected_latency(&samples, "api", old_hour.0, old_hour.1)]
    );
    let before = [
        (uptime(store, "api", week, now()).await, "api 7 d"),
        (uptime(store, "web", week, now()).await, "web 7 d"),
        (uptime(store, "api", day, now()).await, "api 24 h"),
        (
            uptime(store, "api", first_hour.0, first_hour.1).await,
            "api, the first hour (split across runs)",
        ),
        (
            uptime(store, "api", boundary.0, boundary.1).await,
            "api, across the raw/roll-up boundary",
        ),
    ];
    let check_unchanged = |after: [Uptime; 5], when: &str| {
        for ((expected, what), actual) in before.iter().zip(after) {
            assert_uptime(
                actual,
                (expected.samples, expected.failures),
                &format!("{what}, {when}"),
            );
        }
    };

    // --- Roll-up and prune --------------------------------------------------------------------
    let cutoff = now() - hours(48);
    let to_roll = samples.iter().filter(|s| s.at < cutoff).count() as u64;
    // A tiny bound splits the first hour (both series) across runs.
    let tiny = RetentionPolicy {
        max_rows_per_run: 4,
        ..RetentionPolicy::default()
    };
    let report = store.roll_up_and_prune(now(), &tiny).await.unwrap();
    assert_eq!(report.raw_deleted, 4);
    assert_eq!(report.rolled_up_hours, 2, "api and web, first hour, partly");
    assert!(report.more_pending);
    let after_split = [
        uptime(store, "api", week, now()).await,
        uptime(store, "web", week, now()).await,
        uptime(store, "api", day, now()).await,
        uptime(store, "api", first_hour.0, first_hour.1).await,
        uptime(store, "api", boundary.0, boundary.1).await,
    ];
    check_unchanged(after_split, "after a partial run");

    let bounded = RetentionPolicy {
        max_rows_per_run: 100,
        ..RetentionPolicy::default()
    };
    let mut deleted = report.raw_deleted;
    let mut runs = 0;
    loop {
        let report = store.roll_up_and_prune(now(), &bounded).await.unwrap();
        assert!(report.raw_deleted <= 100, "bounded: {report:?}");
        assert!(report.raw_deleted > 0, "progress: {report:?}");
        assert_eq!(report.rollups_deleted, 0);
        deleted += report.raw_deleted;
        runs += 1;
        if !report.more_pending {
            break;
        }
        assert!(runs < 1_000, "retention does not finish");
    }
    assert_eq!(deleted, to_roll, "every sample older than 48 h rolled up");
    assert!(runs > 1, "the bound made it take several runs");
    let idle = store.roll_up_and_prune(now(), &bounded).await.unwrap();
    assert_eq!(
        idle,
        store::RetentionReport::default(),
        "nothing left to do"
    );
    let after = [
        uptime(store, "api", week, now()).await,
        uptime(store, "web", week, now()).await,
        uptime(store, "api", day, now()).await,
        uptime(store, "api", first_hour.0, first_hour.1).await,
        uptime(store, "api", boundary.0, boundary.1).await,
    ];
    check_unchanged(after, "after the roll-up");
    assert_eq!(
        store
            .latency_series("api", "production", old_hour.0, old_hour.1, 1)
            .await
            .unwrap(),
        old_hour_latency,
        "an hour rolled up whole keeps its exact percentiles"
    );
    let split_hour = store
        .latency_series("api", "production", first_hour.0, first_hour.1, 1)
        .await
        .unwrap();
    let p50 = split_hour
        .first()
        .and_then(|p| p.p50_ms)
        .expect("merged p50");
    assert!(
        (100..=304).contains(&p50),
        "merged p50 {p50} within the hour's range"
    );

    // A late sample for an hour already rolled up merges into it.
    let late = HealthSample {
        service: "api".into(),
        environment: "production".into(),
        at: week + Duration::seconds(30),
        state: HealthState::Down,
        latency_ms: Some(900),
    };
    store.record_health_samples(&[late]).await.unwrap();
    let with_late = uptime(store, "api", first_hour.0, first_hour.1).await;
    assert_eq!(with_late.samples, before[3].0.samples + 1);
    assert_eq!(with_late.failures, before[3].0.failures + 1);
    let report = store.roll_up_and_prune(now(), &bounded).await.unwrap();
    assert_eq!(
        (
            report.rolled_up_hours,
            report.raw_deleted,
            report.more_pending
        ),
        (1, 1, false)
    );
    let merged = uptime(store, "api", first_hour.0, first_hour.1).await;
    assert_eq!(
        (merged.samples, merged.failures),
        (with_late.samples, with_late.failures),
        "merged, not duplicated or lost"
    );

    // A 7-day sparkline reads roll-ups for the old days and raw samples for the last two.
    let week_series = store
        .latency_series("api", "production", week, now(), 7)
        .await
        .unwrap();
    assert_eq!(
        week_series.iter().map(|p| p.start).collect::<Vec<_>>(),
        (0..7).map(|i| week + days(i)).collect::<Vec<_>>()
    );
    assert!(week_series
        .iter()
        .all(|p| p.p50_ms.is_some() && p.p95_ms.is_some()));

    // Roll-ups older than the policy go, in bounded runs.
    let short = RetentionPolicy {
        rollups_for: std::time::Duration::from_secs(6 * 24 * 3600),
        max_rows_per_run: 10,
        ..RetentionPolicy::default()
    };
    let mut pruned = Vec::new();
    loop {
        let report = store.roll_up_and_prune(now(), &short).await.unwrap();
        assert_eq!(report.raw_deleted, 0);
        pruned.push((report.rollups_deleted, report.more_pending));
        if !report.more_pending {
            break;
        }
        assert!(pruned.len() < 100);
    }
    assert_eq!(
        pruned,
        vec![(10, true), (10, true), (10, true), (10, true), (8, false)],
        "one day of hourly roll-ups for two series, ten at a time"
    );
    let six_days = now() - days(6);
    let oldest_day = uptime(store, "api", week, six_days).await;
    assert_eq!((oldest_day.samples, oldest_day.percent), (0, None));
    let uptime_last_6_days = uptime(store, "api", six_days, now()).await;
    assert_uptime(
        uptime_last_6_days,
        expected_uptime(&samples, "api", six_days, now()),
        "api, last 6 days, after pruning",
    );

    // --- Audit: append-only -------------------------------------------------------------------
    let entry = |minutes_ago: i64, actor: &str, action: &str, outcome: &str| NewAuditEntry {
        at: now() - minutes(minutes_ago),
        actor: actor.into(),
        action: action.into(),
        target: "api/production".into(),
        outcome: outcome.into(),
        detail: (outcome == "failed").then(|| "provider said no".into()),
        remote_addr: Some("192.0.2.7".into()),
    };
    let entries = [
        entry(3, "ada", "rollback", "pending"),
        entry(2, "ada", "rollback", "succeeded"),
        entry(1, "bob", "login", "failed"),
    ];
    let mut audit_ids = Vec::new();
    for e in &entries {
        audit_ids.push(store.append_audit(e).await.unwrap());
    }
    assert!(audit_ids.windows(2).all(|w| w[0] < w[1]), "ids grow");
    let listed = store.list_audit(10, None).await.unwrap();
    assert_eq!(
        listed.iter().map(|e| e.id).collect::<Vec<_>>(),
        audit_ids.iter().rev().copied().collect::<Vec<_>>(),
        "newest first"
    );
    let newest = &listed[0];
    assert_eq!(
        (
            newest.at,
            newest.actor.as_str(),
            newest.action.as_str(),
            newest.target.as_str(),
            newest.outcome.as_str(),
            newest.detail.as_deref(),
            newest.remote_addr.as_deref()
        ),
        (
            entries[2].at,
            "bob",
            "login",
            "api/production",
            "failed",
            Some("provider said no"),
            Some("192.0.2.7")
        )
    );
    assert_eq!(listed[1].detail, None);
    assert_eq!(store.list_audit(2, None).await.unwrap().len(), 2);
    let older = store.list_audit(10, Some(audit_ids[1])).await.unwrap();
    assert_eq!(
        older.iter().map(|e| e.id).collect::<Vec<_>>(),
        vec![audit_ids[0]]
    );

    // Sessions: found by token hash until they expire; ended on logout; expired ones swept.
    let session = store::SessionRecord {
        user_name: "sam".into(),
        created_at: now() - days(1),
        expires_at: now() + days(1),
    };
    store.create_session("hash-live", &session).await.unwrap();
    let expired = store::SessionRecord {
        expires_at: now() - days(1) + chrono::Duration::hours(1),
        ..session.clone()
    };
    store
        .create_session("hash-expired", &expired)
        .await
        .unwrap();
    assert_eq!(
        store.find_session("hash-live", now()).await.unwrap(),
        Some(session.clone())
    );
    assert_eq!(
        store.find_session("hash-expired", now()).await.unwrap(),
        None
    );
    assert_eq!(
        store.find_session("hash-unknown", now()).await.unwrap(),
        None
    );
    assert!(
        store.create_session("hash-live", &session).await.is_err(),
        "a token hash is unique"
    );
    assert_eq!(store.delete_expired_sessions(now()).await.unwrap(), 1);
    store.delete_session("hash-live").await.unwrap();
    store.delete_session("hash-live").await.unwrap();
    assert_eq!(store.find_session("hash-live", now()).await.unwrap(), None);

    // Chapter: rollback operations, their idempotency key and the one-in-flight lock.
    rollback_chapter(store).await;
    let filtered = store
        .list_audit_filtered(
            10,
            None,
            &store::AuditFilter {
                outcome: "pending".into(),
                ..store::AuditFilter::default()
            },
        )
        .await
        .unwrap();
    assert!(filtered.iter().all(|entry| entry.outcome == "pending"));

    Facts {
        history,
        uptime_last_6_days,
        audit: listed.iter().map(|e| (e.id, e.outcome.clone())).collect(),
    }
}

fn rollback_record(key: &str, environment: &str) -> store::RollbackRecord {
    store::RollbackRecord {
        id: 0,
        idempotency_key: key.into(),
        service: "api".into(),
        environment: environment.into(),
        provider: ProviderKind::Render,
        actor: "ada".into(),
        remote_addr: Some("127.0.0.1".into()),
        reason: "bad deploy".into(),
        from: app::rollback::DeploymentRef {
            id: "dep-new".into(),
            commit_sha: Some("bbbb".into()),
            summary: Some("Broke it".into()),
        },
        to: app::rollback::DeploymentRef {
            id: "dep-old".into(),
            commit_sha: Some("aaaa".into()),
            summary: None,
        },
        place_hold: true,
        state: app::rollback::RollbackState::Pending,
        detail: None,
        new_deployment_id: None,
        provider_reference: None,
        hold: None,
        hold_release: None,
        requested_at: now(),
        started_at: None,
        finished_at: None,
    }
}

async fn rollback_chapter(store: &dyn Store) {
    use store::{BeginRollback, RollbackQuery};
    let first = rollback_record("key-one-0123456789", "production");
    let BeginRollback::Started(id) = store.begin_rollback(&first).await.unwrap() else {
        panic!("the first rollback starts");
    };
    // The same key again: the same operation.
    match store.begin_rollback(&first).await.unwrap() {
        BeginRollback::Duplicate(earlier) => assert_eq!(earlier.id, id),
        other => panic!("expected the earlier operation, got {other:?}"),
    }
    // Another click on the same service and environment: refused while the first runs.
    let second = rollback_record("key-two-0123456789", "production");
    match store.begin_rollback(&second).await.unwrap() {
        BeginRollback::InFlight(running) => assert_eq!(running.id, id),
        other => panic!("expected the running operation, got {other:?}"),
    }
    // Another environment is not locked.
    let staging = rollback_record("key-staging-01234", "staging");
    assert!(matches!(
        store.begin_rollback(&staging).await.unwrap(),
        BeginRollback::Started(_)
    ));
    let unfinished = store
        .find_rollbacks(RollbackQuery::Unfinished)
        .await
        .unwrap();
    assert_eq!(unfinished.len(), 2);

    // Finishing releases the lock and keeps everything written.
    let mut done = store
        .find_rollbacks(RollbackQuery::Id(id))
        .await
        .unwrap()
        .remove(0);
    assert_eq!(done.to, first.to);
    assert!(done.place_hold);
    done.state = app::rollback::RollbackState::Succeeded;
    done.new_deployment_id = Some("dep-rollback".into());
    done.hold = Some("auto_deploy_paused".into());
    done.started_at = Some(now());
    done.finished_at = Some(now() + minutes(1));
    store.update_rollback(&done).await.unwrap();
    // Issue #15: releasing the hold is one conditional update; a second release finds it
    // taken, and progress saved from a copy without the release cannot undo it.
    let released_at = now();
    assert!(store
        .claim_hold_release(id, "resume", "ada", released_at)
        .await
        .unwrap());
    assert!(
        !store
            .claim_hold_release(id, "resume", "bob", released_at)
            .await
            .unwrap(),
        "a hold is released once"
    );
    store.update_rollback(&done).await.unwrap();
    done.hold_release = Some(("resume".into(), "ada".into(), released_at));
    assert_eq!(
        store.find_rollbacks(RollbackQuery::Id(id)).await.unwrap(),
        vec![done.clone()]
    );
    let BeginRollback::Started(next) = store.begin_rollback(&second).await.unwrap() else {
        panic!("the lock is free once the first finished");
    };
    let latest = store
        .find_rollbacks(RollbackQuery::LatestEach)
        .await
        .unwrap();
    let latest_production = latest
        .iter()
        .find(|record| record.environment == "production")
        .unwrap();
    assert_eq!(latest_production.id, next);
    assert_eq!(latest.len(), 2);
    assert_eq!(
        store
            .find_rollbacks(RollbackQuery::Key("key-two-0123456789"))
            .await
            .unwrap()[0]
            .id,
        next
    );
}

/// After a restart the store answers as before.
async fn after_restart(store: Arc<dyn Store>, facts: &Facts) {
    let store = store.as_ref();
    let history = walk(store, &DeploymentFilter::default(), 4).await.concat();
    assert_eq!(history, facts.history, "history survives a restart");
    let six_days = now() - days(6);
    let uptime = store
        .uptime("api", "production", six_days, now())
        .await
        .unwrap();
    assert_eq!(
        uptime, facts.uptime_last_6_days,
        "uptime survives a restart"
    );
    let audit: Vec<_> = store
        .list_audit(10, None)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.id, e.outcome))
        .collect();
    assert_eq!(audit, facts.audit, "the audit log survives a restart");
    // New rows continue after the old ones.
    let id = store
        .append_audit(&NewAuditEntry {
            at: now(),
            actor: "system".into(),
            action: "start".into(),
            target: "lookout".into(),
            outcome: "succeeded".into(),
            detail: None,
            remote_addr: None,
        })
        .await
        .unwrap();
    assert!(facts.audit.iter().all(|(old, _)| *old < id));
}

#[tokio::test]
async fn sqlite_story() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("lookout.db");
    let url = format!("sqlite:{}", path.display());
    let store = store::open(&url).await.unwrap();
    assert_eq!(store.backend(), store::Backend::Sqlite);
    let facts = story(store).await;

    // Restart: open the same file again, this time by its bare path.
    let reopened = store::open(path.to_str().unwrap()).await.unwrap();
    after_restart(reopened, &facts).await;
}

#[tokio::test]
async fn postgres_story() {
    let Some(schema) = common::postgres::TestSchema::create("story").await else {
        return;
    };
    let url = schema.url.clone();

    let store = store::open(&url).await.unwrap();
    assert_eq!(store.backend(), store::Backend::Postgres);
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(&schema.name)
    .fetch_one(schema.admin())
    .await
    .unwrap();
    assert!(tables >= 5, "the schema is created in the run's own schema");
    let facts = story(store).await;
    let reopened = store::open(&url).await.unwrap();
    after_restart(reopened, &facts).await;

    // Append-only holds even for hand-written SQL.
    let raw = sqlx::PgPool::connect(&url).await.unwrap();
    for statement in [
        "UPDATE audit_log SET outcome = 'x'",
        "DELETE FROM audit_log",
    ] {
        let error = sqlx::query(statement).execute(&raw).await.err();
        assert!(
            error.is_some_and(|e| e.to_string().contains("append-only")),
            "{statement} should be refused"
        );
    }
    raw.close().await;

    schema.drop().await;
}
