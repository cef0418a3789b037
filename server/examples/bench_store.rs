//! The store benchmark (a benchmark, not a test): loads a realistic deploy history and health
//! record into SQLite and, when given a URL, PostgreSQL through the `Store` trait, then times
//! the queries the pages make: history pages (first, deep, filtered), uptime, the latency
//! sparkline, upserts and retention.
//!
//! ```text
//! cargo run --release -p server --example bench_store -- \
//!     [--postgres URL] [--deployments N] [--samples N] [--runs N]
//! ```
//!
//! Figures go to stdout, one a line as `name value unit` (`sqlite.history.first_page.p50 0.42
//! ms`); progress goes to stderr. SQLite lives in a temporary directory; PostgreSQL works in a
//! schema of its own (`bench_…`, selected with `search_path` in the URL) that is dropped at the
//! end, also after an error or Ctrl-C. The data is generated from `--seed`, so both backends
//! (and repeated runs) get the same rows. BENCHMARKS.md records the figures.

use anyhow::{bail, Context, Result};
use app::model::{DeployState, EnvironmentKind, HealthState, ProviderKind};
use chrono::{DateTime, TimeDelta, Utc};
use clap::Parser;
use futures::{StreamExt, TryStreamExt};
use rand::distributions::WeightedIndex;
use rand::prelude::Distribution;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use server::store::{
    self, DeploymentFilter, DeploymentRecord, HealthSample, HistoryCursor, RetentionPolicy, Store,
    StoreError, UpsertOutcome,
};
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "Times Lookout's store (SQLite, and PostgreSQL when given a URL)")]
struct Args {
    /// Also benchmark PostgreSQL at this URL, in a fresh schema dropped afterwards.
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Deployments to load, spread over 90 days.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    deployments: usize,
    /// Health samples to load: 30 services × 2 environments at a fixed interval over 30 days.
    #[arg(long, default_value_t = 1_000_000, value_name = "N")]
    samples: usize,
    /// Timed runs per query (after the warm-up runs).
    #[arg(long, default_value_t = 50, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// Untimed runs before each timed series.
    #[arg(long, default_value_t = 3, value_name = "N")]
    warmup: u32,
    /// Health samples per `record_health_samples` call.
    #[arg(long, default_value_t = 10_000, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    sample_batch: u32,
    /// Concurrent `upsert_deployment` calls while loading PostgreSQL (SQLite has one writer and
    /// is loaded one upsert at a time).
    #[arg(long, default_value_t = 8, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=64))]
    pg_load_concurrency: u32,
    /// Only PostgreSQL (requires --postgres).
    #[arg(long)]
    skip_sqlite: bool,
    /// Do not roll up the rest of the raw samples after the single timed retention run (and do
    /// not re-time uptime and latency afterwards).
    #[arg(long)]
    no_drain: bool,
    /// Keep the SQLite file and the PostgreSQL schema (their locations are printed), e.g. to
    /// look at query plans.
    #[arg(long)]
    keep: bool,
    /// Seed for the generated data.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// Rows per history page, as the page asks for.
const PAGE: u32 = 50;
/// The deep page is this page (reached through the cursor).
const DEEP_PAGE: usize = 20;
const HISTORY_DAYS: i64 = 90;
const SAMPLE_DAYS: i64 = 30;

const SERVICES: [&str; 30] = [
    "api",
    "web",
    "auth",
    "billing",
    "search",
    "notifications",
    "payments",
    "checkout",
    "catalog",
    "inventory",
    "orders",
    "shipping",
    "accounts",
    "admin",
    "analytics",
    "gateway",
    "media",
    "reports",
    "scheduler",
    "worker",
    "mailer",
    "docs",
    "marketing-site",
    "mobile-api",
    "graphql",
    "realtime",
    "exports",
    "imports",
    "ledger",
    "status",
];

const PROVIDERS: [ProviderKind; 10] = [
    ProviderKind::Vercel,
    ProviderKind::Render,
    ProviderKind::Railway,
    ProviderKind::Netlify,
    ProviderKind::Github,
    ProviderKind::Digitalocean,
    ProviderKind::Heroku,
    ProviderKind::Fly,
    ProviderKind::CloudflarePages,
    ProviderKind::Supabase,
];

/// Commit authors; each surname appears once, so an author search for one matches ~1/40 of the
/// human deployments.
const AUTHORS: [&str; 40] = [
    "Grace Hopper",
    "Ada Lovelace",
    "Alan Turing",
    "Barbara Liskov",
    "Donald Knuth",
    "Edsger Dijkstra",
    "Frances Allen",
    "Hedy Lamarr",
    "Ivan Sutherland",
    "John McCarthy",
    "Katherine Johnson",
    "Leslie Lamport",
    "Margaret Hamilton",
    "Niklaus Wirth",
    "Radia Perlman",
    "Shafi Goldwasser",
    "Tim Berners-Lee",
    "Vint Cerf",
    "Whitfield Diffie",
    "Yukihiro Matsumoto",
    "Anders Hejlsberg",
    "Bjarne Stroustrup",
    "Carol Shaw",
    "Dennis Ritchie",
    "Erna Hoover",
    "Fran Bilas",
    "Guido Rossum",
    "Hal Abelson",
    "Ingrid Daubechies",
    "Jean Bartik",
    "Ken Thompson",
    "Lynn Conway",
    "Mary Keller",
    "Nancy Lynch",
    "Ole-Johan Dahl",
    "Peter Naur",
    "Rob Pike",
    "Sophie Wilson",
    "Tony Hoare",
    "Xiaoyun Wang",
];

/// Matches one author (case-insensitively).
const AUTHOR_NEEDLE: &str = "hopper";
/// Matches nobody: the query has to look at every row.
const ABSENT_NEEDLE: &str = "nobody-by-this-name";

const BOTS: [&str; 2] = ["dependabot[bot]", "renovate[bot]"];

const MESSAGES: [&str; 16] = [
    "Fix race in session refresh",
    "Add retry with backoff to the webhook sender",
    "Bump serde from 1.0.203 to 1.0.210",
    "Refactor pricing rules into their own module",
    "Revert \"Enable the new cache layer\"",
    "Tune connection pool size for peak traffic",
    "Update copy on the onboarding screens",
    "Handle empty carts in checkout summary",
    "Log request ids in error responses",
    "Migrate invoices to the new schema",
    "Drop the legacy v1 endpoints",
    "Speed up search indexing with batched writes",
    "Fix time zone handling in reports",
    "Add health endpoint for the load balancer",
    "Pin Node to 20.x in the build image",
    "Increase memory limit for the worker",
];

const TOPICS: [&str; 12] = [
    "feat-search",
    "fix-login",
    "deps",
    "redesign",
    "perf-cache",
    "billing-v2",
    "docs",
    "chore-ci",
    "exp-pricing",
    "fix-timezones",
    "onboarding",
    "a11y",
];

/// The data set, generated once and loaded into each backend.
struct Plan {
    now: DateTime<Utc>,
    deployments: Vec<DeploymentRecord>,
    samples: usize,
    sample_batch: usize,
    seed: u64,
}

impl Plan {
    fn new(args: &Args) -> Result<Self> {
        // A whole second, so the same instant round-trips through both databases.
        let now = DateTime::<Utc>::from_timestamp(Utc::now().timestamp(), 0)
            .context("the clock is out of range")?;
        let mut rng = StdRng::seed_from_u64(args.seed);
        let deployments = (0..args.deployments)
            .map(|i| deployment(&mut rng, now, i, args.deployments))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            now,
            deployments,
            samples: args.samples,
            sample_batch: args.sample_batch as usize,
            seed: args.seed,
        })
    }

    /// Health samples `[start, start + len)` of the load order: time steps at a fixed interval
    /// over the last 30 days, each step one sample per (service, production|staging) series.
    fn sample_batch(&self, start: usize, len: usize) -> Result<Vec<HealthSample>> {
        let series = SERVICES.len() * 2;
        let per_series = self.samples.div_ceil(series).max(1);
        let window_ms = SAMPLE_DAYS * 24 * 3_600_000;
        let interval_ms = window_ms / i64::try_from(per_series)?;
        let begin_ms = self.now.timestamp_millis() - window_ms;
        let mut rng = StdRng::seed_from_u64(self.seed ^ (start as u64).wrapping_mul(0x9e37_79b9));
        let states = WeightedIndex::new([970_u32, 15, 10, 5])?;
        (start..(start + len).min(self.samples))
            .map(|n| {
                let step = i64::try_from(n / series)?;
                let s = n % series;
                let service = s / 2;
                let environment = if s.is_multiple_of(2) {
                    "production"
                } else {
                    "staging"
                };
                // Series are checked a little apart within one interval.
                let offset = interval_ms * i64::try_from(s)? / i64::try_from(series)?;
                let at_ms = begin_ms + step * interval_ms + offset;
                let at = DateTime::<Utc>::from_timestamp_millis(at_ms)
                    .context("sample time out of range")?;
                let state = [
                    HealthState::Up,
                    HealthState::Degraded,
                    HealthState::Down,
                    HealthState::Unknown,
                ][states.sample(&mut rng)];
                let base = 25 + (service as u32 * 37) % 220;
                let latency_ms = match state {
                    HealthState::Down | HealthState::Unknown | HealthState::Unchecked => None,
                    HealthState::Degraded => Some(base * 4 + rng.gen_range(0..2_000)),
                    HealthState::Up if rng.gen_bool(0.02) => Some(base * 5),
                    HealthState::Up => Some(base * 7 / 10 + rng.gen_range(0..=base * 6 / 10)),
                };
                Ok(HealthSample {
                    service: SERVICES[service].to_owned(),
                    environment: environment.to_owned(),
                    at,
                    state,
                    latency_ms,
                })
            })
            .collect()
    }
}

/// Deployment `i` of `n`: spread evenly (with jitter) over the last 90 days, oldest first.
fn deployment(
    rng: &mut StdRng,
    now: DateTime<Utc>,
    i: usize,
    n: usize,
) -> Result<DeploymentRecord> {
    let span_ms = HISTORY_DAYS * 24 * 3_600_000;
    let slot_ms = span_ms / i64::try_from(n.max(1))?;
    let created_ms = now.timestamp_millis() - span_ms
        + slot_ms * i64::try_from(i)?
        + rng.gen_range(0..slot_ms.max(1));
    let created_at =
        DateTime::<Utc>::from_timestamp_millis(created_ms).context("time out of range")?;
    let service_index = rng.gen_range(0..SERVICES.len());
    let service = SERVICES[service_index];
    let provider = PROVIDERS[service_index % PROVIDERS.len()];

    let topic = TOPICS[rng.gen_range(0..TOPICS.len())];
    let feature_branch = format!("{topic}-{}", rng.gen_range(100..1_000));
    let (environment, kind, branch) = match rng.gen_range(0..100) {
        0..=29 => (
            "production".to_owned(),
            EnvironmentKind::Production,
            "main".to_owned(),
        ),
        30..=54 => (
            "staging".to_owned(),
            EnvironmentKind::Staging,
            "develop".to_owned(),
        ),
        55..=64 => (
            "development".to_owned(),
            EnvironmentKind::Development,
            "develop".to_owned(),
        ),
        _ => (
            format!("preview/{feature_branch}"),
            EnvironmentKind::Preview,
            feature_branch,
        ),
    };
    let pr_number = (kind == EnvironmentKind::Preview).then(|| rng.gen_range(1_000..5_000));

    // The last half hour still has deployments in flight; older ones have settled.
    let in_flight = now - created_at < TimeDelta::minutes(30);
    let state = if in_flight {
        [
            DeployState::Queued,
            DeployState::Building,
            DeployState::Deploying,
            DeployState::Ready,
        ][rng.gen_range(0..4)]
    } else {
        let settled = [
            (DeployState::Superseded, 700),
            (DeployState::Ready, 120),
            (DeployState::Failed, 90),
            (DeployState::Canceled, 50),
            (DeployState::RolledBack, 15),
            (DeployState::Unknown, 5),
        ];
        let weights = WeightedIndex::new(settled.iter().map(|(_, w)| *w))?;
        settled[weights.sample(rng)].0
    };
    let finished_at = matches!(
        state,
        DeployState::Ready
            | DeployState::Failed
            | DeployState::Canceled
            | DeployState::Superseded
            | DeployState::RolledBack
    )
    .then(|| created_at + TimeDelta::seconds(rng.gen_range(30..720)));
    let observed_at =
        (finished_at.unwrap_or(created_at) + TimeDelta::seconds(rng.gen_range(1..60))).min(now);

    let (author, creator) = if rng.gen_bool(0.08) {
        (None, Some(BOTS[rng.gen_range(0..BOTS.len())].to_owned()))
    } else {
        let name = AUTHORS[rng.gen_range(0..AUTHORS.len())];
        let login = name.to_lowercase().replace(' ', "-");
        (Some(name.to_owned()), Some(login))
    };
    let sha = format!("{:032x}{:08x}", rng.gen::<u128>(), rng.gen::<u32>());
    let provider_id = format!(
        "{}{:07}{:06x}",
        id_prefix(provider),
        i,
        rng.gen::<u32>() >> 8
    );
    let short = &sha[..7];
    Ok(DeploymentRecord {
        provider,
        service: service.to_owned(),
        environment,
        environment_kind: kind,
        provider_state: provider_state(state).to_owned(),
        state,
        commit_sha: Some(sha.clone()),
        commit_message: Some(MESSAGES[rng.gen_range(0..MESSAGES.len())].to_owned()),
        author,
        branch: Some(branch),
        pr_number,
        creator,
        created_at,
        finished_at,
        url: Some(format!("https://{service}-{short}.example.app")),
        dashboard_url: Some(format!(
            "https://dashboard.example.com/{provider:?}/{service}/{provider_id}"
        )),
        provider_id,
        observed_at,
    })
}

fn id_prefix(provider: ProviderKind) -> &'static str {
    match provider {
        ProviderKind::Vercel => "dpl_",
        ProviderKind::Render => "dep-",
        ProviderKind::Netlify => "nf",
        ProviderKind::Heroku => "rel-",
        ProviderKind::Fly => "fly-",
        _ => "",
    }
}

fn provider_state(state: DeployState) -> &'static str {
    match state {
        DeployState::Queued => "QUEUED",
        DeployState::Building => "BUILDING",
        DeployState::Deploying => "DEPLOYING",
        DeployState::Ready => "READY",
        DeployState::Failed => "ERROR",
        DeployState::Canceled => "CANCELED",
        DeployState::Superseded => "REMOVED",
        DeployState::RolledBack => "ROLLED_BACK",
        DeployState::Unknown => "SLEEPING",
    }
}

/// Prints figures as `prefix.name value unit`.
struct Out {
    prefix: &'static str,
}

impl Out {
    fn figure(&self, name: &str, value: f64, unit: &str) {
        let shown = if value >= 100.0 {
            format!("{value:.0}")
        } else if value >= 10.0 {
            format!("{value:.1}")
        } else {
            format!("{value:.2}")
        };
        println!("{}.{name} {shown} {unit}", self.prefix);
    }

    fn count(&self, name: &str, value: u64, unit: &str) {
        println!("{}.{name} {value} {unit}", self.prefix);
    }

    fn duration(&self, name: &str, elapsed: Duration) {
        if elapsed >= Duration::from_secs(10) {
            self.figure(name, elapsed.as_secs_f64(), "s");
        } else {
            self.figure(name, elapsed.as_secs_f64() * 1_000.0, "ms");
        }
    }
}

/// Nearest-rank percentile of sorted durations, in milliseconds.
fn percentile_ms(sorted: &[Duration], pct: usize) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let rank = (n * pct).div_ceil(100).clamp(1, n);
    sorted[rank - 1].as_secs_f64() * 1_000.0
}

/// Runs `call(k)` `warmup` times untimed, then `runs` times timed (k counts on across both), and
/// prints `name.p50` and `name.p95`. Returns the last result.
async fn timed<T, F, Fut>(out: &Out, name: &str, warmup: u32, runs: u32, mut call: F) -> Result<T>
where
    F: FnMut(usize) -> Fut,
    Fut: Future<Output = Result<T, StoreError>>,
{
    let mut k = 0;
    for _ in 0..warmup {
        call(k).await.with_context(|| format!("{name} (warm-up)"))?;
        k += 1;
    }
    let mut times = Vec::with_capacity(runs as usize);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = call(k).await.with_context(|| name.to_owned())?;
        times.push(start.elapsed());
        last = Some(value);
        k += 1;
    }
    times.sort_unstable();
    out.figure(&format!("{name}.p50"), percentile_ms(&times, 50), "ms");
    out.figure(&format!("{name}.p95"), percentile_ms(&times, 95), "ms");
    last.context("no timed runs")
}

/// Loads the plan through the `Store` trait, printing load times.
async fn load(out: &Out, store: &Arc<dyn Store>, plan: &Plan, concurrency: usize) -> Result<()> {
    eprintln!(
        "[{}] loading {} deployments ({} concurrent upserts)…",
        out.prefix,
        plan.deployments.len(),
        concurrency
    );
    let start = Instant::now();
    futures::stream::iter(plan.deployments.iter())
        .map(|record| async move {
            match store.upsert_deployment(record).await? {
                UpsertOutcome::Inserted => Ok(()),
                other => bail!("{} was not new: {other:?}", record.provider_id),
            }
        })
        .buffer_unordered(concurrency)
        .try_collect::<()>()
        .await
        .context("loading deployments")?;
    let elapsed = start.elapsed();
    out.duration("load.deployments", elapsed);
    out.figure(
        "load.deployments.rate",
        plan.deployments.len() as f64 / elapsed.as_secs_f64().max(1e-9),
        "rows/s",
    );

    eprintln!(
        "[{}] loading {} health samples in batches of {}…",
        out.prefix, plan.samples, plan.sample_batch
    );
    let start = Instant::now();
    let mut generating = Duration::ZERO;
    let mut at = 0;
    while at < plan.samples {
        let generated = Instant::now();
        let batch = plan.sample_batch(at, plan.sample_batch)?;
        generating += generated.elapsed();
        store
            .record_health_samples(&batch)
            .await
            .context("loading health samples")?;
        at += batch.len();
    }
    // Only the store's time counts.
    let elapsed = start.elapsed().saturating_sub(generating);
    out.duration("load.samples", elapsed);
    out.figure(
        "load.samples.rate",
        plan.samples as f64 / elapsed.as_secs_f64().max(1e-9),
        "rows/s",
    );
    Ok(())
}

/// Times the history, uptime, latency, upsert and retention paths on a loaded store. True when
/// the raw-sample backlog was rolled up (and the health queries timed again).
async fn queries(out: &Out, store: &Arc<dyn Store>, plan: &Plan, args: &Args) -> Result<bool> {
    let (warmup, runs) = (args.warmup, args.runs);
    let store = store.as_ref();
    let now = plan.now;
    eprintln!("[{}] timing queries ({runs} runs each)…", out.prefix);

    let everything = DeploymentFilter::default();
    let page = timed(out, "history.first_page", warmup, runs, |_| {
        store.list_deployments(&everything, None, PAGE)
    })
    .await?;
    if page.deployments.len() != (PAGE as usize).min(plan.deployments.len()) {
        bail!("the first page has {} rows", page.deployments.len());
    }

    // The cursor for the deep page, by walking there.
    let mut cursor: Option<HistoryCursor> = None;
    let mut reached = true;
    for _ in 1..DEEP_PAGE {
        let page = store
            .list_deployments(&everything, cursor.as_ref(), PAGE)
            .await?;
        match page.next {
            Some(next) => cursor = Some(next),
            None => {
                reached = false;
                break;
            }
        }
    }
    if reached {
        let deep = timed(out, "history.page_20", warmup, runs, |_| {
            store.list_deployments(&everything, cursor.as_ref(), PAGE)
        })
        .await?;
        if deep.deployments.len() != PAGE as usize {
            bail!("page {DEEP_PAGE} has {} rows", deep.deployments.len());
        }
    } else {
        eprintln!(
            "[{}] fewer than {DEEP_PAGE} pages: no deep page",
            out.prefix
        );
    }

    let filters = [
        (
            "history.filter_service",
            DeploymentFilter {
                services: vec![SERVICES[0].to_owned()],
                ..DeploymentFilter::default()
            },
        ),
        (
            "history.filter_state_failed",
            DeploymentFilter {
                states: vec![DeployState::Failed],
                ..DeploymentFilter::default()
            },
        ),
        (
            "history.filter_author",
            DeploymentFilter {
                author: Some(AUTHOR_NEEDLE.to_owned()),
                ..DeploymentFilter::default()
            },
        ),
        (
            "history.filter_author_absent",
            DeploymentFilter {
                author: Some(ABSENT_NEEDLE.to_owned()),
                ..DeploymentFilter::default()
            },
        ),
        (
            "history.filter_time_range",
            DeploymentFilter {
                from: Some(now - TimeDelta::days(45)),
                to: Some(now - TimeDelta::days(38)),
                ..DeploymentFilter::default()
            },
        ),
        (
            "history.filter_service_env_state",
            DeploymentFilter {
                services: vec![SERVICES[1].to_owned()],
                environments: vec!["production".to_owned()],
                states: vec![DeployState::Failed, DeployState::RolledBack],
                ..DeploymentFilter::default()
            },
        ),
    ];
    for (name, filter) in &filters {
        let page = timed(out, name, warmup, runs, |_| {
            store.list_deployments(filter, None, PAGE)
        })
        .await?;
        eprintln!(
            "[{}] {name}: {} rows on the first page",
            out.prefix,
            page.deployments.len()
        );
    }

    health_queries(out, store, plan, args, "").await?;

    // Upserts on a loaded table: one that changes nothing, one that records a state change.
    let n = (warmup + runs) as usize;
    let stride = (plan.deployments.len() / n.max(1)).max(1);
    let unchanged: Vec<&DeploymentRecord> =
        plan.deployments.iter().step_by(stride).take(n).collect();
    if unchanged.len() == n {
        let outcome = timed(out, "upsert.unchanged", warmup, runs, |k| {
            store.upsert_deployment(unchanged[k])
        })
        .await?;
        if outcome != UpsertOutcome::Unchanged {
            bail!("a repeated upsert gave {outcome:?}");
        }
    }
    let superseded = plan
        .deployments
        .iter()
        .filter(|record| record.state == DeployState::Superseded);
    let stride = (superseded.clone().count() / n.max(1)).max(1);
    let rolled_back: Vec<DeploymentRecord> = superseded
        .step_by(stride)
        .take(n)
        .map(|record| DeploymentRecord {
            state: DeployState::RolledBack,
            provider_state: provider_state(DeployState::RolledBack).to_owned(),
            observed_at: now,
            ..record.clone()
        })
        .collect();
    if rolled_back.len() == n {
        let outcome = timed(out, "upsert.state_change", warmup, runs, |k| {
            store.upsert_deployment(&rolled_back[k])
        })
        .await?;
        if !matches!(outcome, UpsertOutcome::StateChanged { .. }) {
            bail!("a state change gave {outcome:?}");
        }
    }

    // Retention: one run as the background task would do it, then (unless --no-drain) the rest
    // of the backlog, and the health queries again on the steady-state tables.
    let policy = RetentionPolicy::default();
    let start = Instant::now();
    let report = store.roll_up_and_prune(now, &policy).await?;
    out.duration("retention.first_run", start.elapsed());
    out.count(
        "retention.first_run.rolled_up_hours",
        report.rolled_up_hours,
        "rows",
    );
    out.count(
        "retention.first_run.raw_deleted",
        report.raw_deleted,
        "rows",
    );
    out.count(
        "retention.first_run.rollups_deleted",
        report.rollups_deleted,
        "rows",
    );
    out.count(
        "retention.first_run.more_pending",
        u64::from(report.more_pending),
        "bool",
    );
    if !args.no_drain && report.more_pending {
        eprintln!("[{}] rolling up the rest of the raw samples…", out.prefix);
        let start = Instant::now();
        let (mut runs_done, mut deleted, mut slowest) = (0_u64, 0_u64, Duration::ZERO);
        loop {
            let run = Instant::now();
            let report = store.roll_up_and_prune(now, &policy).await?;
            slowest = slowest.max(run.elapsed());
            runs_done += 1;
            deleted += report.raw_deleted;
            if !report.more_pending {
                break;
            }
            if runs_done > 1_000_000 {
                bail!("retention never finishes");
            }
        }
        let elapsed = start.elapsed();
        out.count("retention.drain.runs", runs_done, "runs");
        out.count("retention.drain.raw_deleted", deleted, "rows");
        out.duration("retention.drain.total", elapsed);
        out.figure(
            "retention.drain.per_run_mean",
            elapsed.as_secs_f64() * 1_000.0 / runs_done as f64,
            "ms",
        );
        out.duration("retention.drain.slowest_run", slowest);
        health_queries(out, store, plan, args, "after_retention.").await?;
        return Ok(true);
    }
    Ok(false)
}

/// Uptime over 24 h, 7 d and 30 d and the latency sparkline, for one service in production.
async fn health_queries(
    out: &Out,
    store: &dyn Store,
    plan: &Plan,
    args: &Args,
    prefix: &str,
) -> Result<()> {
    let (warmup, runs, now) = (args.warmup, args.runs, plan.now);
    let (service, environment) = (SERVICES[0], "production");
    for (label, days) in [("24h", 1), ("7d", 7), ("30d", 30)] {
        let since = now - TimeDelta::days(days);
        let uptime = timed(
            out,
            &format!("{prefix}uptime.{label}"),
            warmup,
            runs,
            |_| store.uptime(service, environment, since, now),
        )
        .await?;
        eprintln!(
            "[{}] {prefix}uptime.{label}: {} samples, {:.3} %",
            out.prefix,
            uptime.samples,
            uptime.percent.unwrap_or(f64::NAN)
        );
    }
    for (label, days) in [("24h", 1), ("30d", 30)] {
        let since = now - TimeDelta::days(days);
        let name = format!("{prefix}latency.{label}_24_buckets");
        let points = timed(out, &name, warmup, runs, |_| {
            store.latency_series(service, environment, since, now, 24)
        })
        .await?;
        if points.len() != 24 {
            bail!("{name} gave {} points", points.len());
        }
    }
    Ok(())
}

/// Loads and times one store, then prints its size.
async fn bench(
    out: &Out,
    store: Arc<dyn Store>,
    plan: &Plan,
    args: &Args,
    backend: Backend<'_>,
) -> Result<()> {
    let concurrency = match backend {
        Backend::Sqlite(_) => 1,
        Backend::Postgres { .. } => args.pg_load_concurrency as usize,
    };
    let start = Instant::now();
    load(out, &store, plan, concurrency).await?;
    match backend {
        Backend::Sqlite(path) => {
            let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            let wal = path.with_extension("db-wal");
            let bytes = size(path) + size(&wal);
            out.figure("size_after_load", bytes as f64 / 1_048_576.0, "MiB");
        }
        Backend::Postgres { admin, schema } => {
            // What autovacuum would have done by now on a live server: fresh planner statistics.
            sqlx::query(&format!(
                "ANALYZE {schema}.deployments, {schema}.deployment_state_changes, \
                 {schema}.health_samples"
            ))
            .execute(admin)
            .await
            .context("ANALYZE")?;
            let bytes: i64 = sqlx::query_scalar(
                "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::BIGINT \
                 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = $1 AND c.relkind = 'r'",
            )
            .bind(schema)
            .fetch_one(admin)
            .await
            .context("measuring the schema size")?;
            out.figure("size_after_load", bytes as f64 / 1_048_576.0, "MiB");
        }
    }
    let drained = queries(out, &store, plan, args).await?;
    if let (true, Backend::Postgres { admin, schema }) = (drained, backend) {
        // The drain left ~930k dead rows that the health indexes still point at until a vacuum;
        // on a live server autovacuum gets there (retention deletes 10k rows a run, not 930k at
        // once). Time the health queries again on the vacuumed tables.
        eprintln!("[postgres] VACUUM ANALYZE of the health tables…");
        let vacuum = Instant::now();
        sqlx::query(&format!(
            "VACUUM (ANALYZE) {schema}.health_samples, {schema}.health_rollups"
        ))
        .execute(admin)
        .await
        .context("VACUUM")?;
        out.duration("vacuum_after_retention", vacuum.elapsed());
        health_queries(out, store.as_ref(), plan, args, "after_vacuum.").await?;
    }
    out.duration("total", start.elapsed());
    Ok(())
}

#[derive(Clone, Copy)]
enum Backend<'a> {
    Sqlite(&'a Path),
    Postgres {
        admin: &'a sqlx::PgPool,
        schema: &'a str,
    },
}

/// `work`, or an error when Ctrl-C comes first (so the caller still cleans up).
async fn interruptible(work: impl Future<Output = Result<()>>) -> Result<()> {
    tokio::select! {
        outcome = work => outcome,
        signal = tokio::signal::ctrl_c() => {
            signal.context("waiting for Ctrl-C")?;
            bail!("interrupted")
        }
    }
}

async fn run_sqlite(plan: &Plan, args: &Args) -> Result<()> {
    let dir = tempfile::Builder::new()
        .prefix("lookout-bench-")
        .tempdir()?;
    let path = dir.path().join("bench.db");
    let location = path.to_str().context("temporary path is not UTF-8")?;
    let store = store::open(location)
        .await
        .with_context(|| format!("opening SQLite at {location}"))?;
    let out = Out { prefix: "sqlite" };
    let outcome = interruptible(bench(&out, store, plan, args, Backend::Sqlite(&path))).await;
    if args.keep {
        let kept = dir.keep();
        eprintln!("[sqlite] kept {}", kept.join("bench.db").display());
    }
    outcome
}

async fn run_postgres(base: &str, plan: &Plan, args: &Args) -> Result<()> {
    let admin = sqlx::postgres::PgPoolOptions::new()
        .max_connections(2)
        .connect(base)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", without_password(base)))?;
    let schema = format!("bench_{}_{:08x}", std::process::id(), rand::random::<u32>());
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .context("creating the benchmark schema")?;
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
    let out = Out { prefix: "postgres" };
    let outcome = interruptible(async {
        let store = store::open(&url)
            .await
            .context("opening PostgreSQL in the benchmark schema")?;
        let backend = Backend::Postgres {
            admin: &admin,
            schema: &schema,
        };
        bench(&out, store, plan, args, backend).await
    })
    .await;
    if args.keep {
        eprintln!("[postgres] kept schema {schema} (DROP SCHEMA {schema} CASCADE when done)");
    } else {
        // The store's pool is gone with `bench`; its connections hold no locks.
        let dropped = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&admin)
            .await;
        if let Err(error) = dropped {
            eprintln!("[postgres] could not drop schema {schema}: {error}");
        }
    }
    admin.close().await;
    outcome
}

/// The URL without its password, for messages.
fn without_password(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.rsplit_once('@') {
            Some((credentials, host)) => {
                let user = credentials.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}@{host}")
            }
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.skip_sqlite && args.postgres.is_none() {
        bail!("--skip-sqlite needs --postgres URL");
    }
    let start = Instant::now();
    let plan = Plan::new(&args)?;
    eprintln!(
        "generated {} deployments in {:.1} s; {} health samples are generated while loading",
        plan.deployments.len(),
        start.elapsed().as_secs_f64(),
        plan.samples
    );
    if !args.skip_sqlite {
        run_sqlite(&plan, &args).await?;
    }
    if let Some(base) = &args.postgres {
        run_postgres(base, &plan, &args).await?;
    }
    eprintln!("done in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}
