//! The dashboard benchmark of issue 8 (a benchmark, not a test): page weight, SSR throughput
//! against a static file, provider fan-out under many viewers, memory, render time at scale
//! and time to content in headless Chromium.
//!
//! ```text
//! make bench            # builds the release client and server once, then runs this
//! cargo run --release -p server --example bench_dashboard -- [--smoke] [--deployments N] …
//! ```
//!
//! Everything runs on loopback. This process serves the provider simulators (Render for the
//! deploys, the health simulator for the health checks) and counts the requests they get; the
//! dashboard is the release binary `target/release/lookout`, started as a child process with a
//! generated config, so its memory is its own. Two runs:
//!
//! 1. **small**: `--services` (50) × production/staging/development, polled every
//!    `--poll-secs`: idle memory, page weight, time to content, SSR vs static throughput and
//!    provider calls per poll interval with one viewer vs `--sse-clients` live viewers plus
//!    `--page-loads` page loads a second.
//! 2. **large**: `--large-services` (1,000) × 3 environments and `--deployments` (100,000) in
//!    the store: render time of `/` and `/history`, and memory with `--sse-clients` connected.
//!
//! Figures go to stdout, one a line: `name<TAB>value<TAB>unit[<TAB>budget]`; progress goes to
//! stderr. BENCHMARKS.md records the figures. `--smoke` shrinks every size so CI can check
//! that the command still works in well under a minute.

use anyhow::{bail, Context, Result};
use app::model::{DeployState, EnvironmentKind, ProviderKind};
use chrono::{Duration as ChronoDuration, Utc};
use clap::Parser;
use server::simulators::health::{HealthSimulator, SimHealthEndpoint};
use server::simulators::render::RenderSimulator;
use server::simulators::{SimDeploymentSpec, SimOutcome};
use server::store::{self, DeploymentRecord};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const RENDER_TOKEN: &str = "rnd_bench_token";
const ENVIRONMENTS: [&str; 3] = ["production", "staging", "development"];

#[derive(Parser, Debug)]
#[command(about = "Measures Lookout's page weight, SSR speed, fan-out, memory and scale")]
struct Args {
    /// Small sizes everywhere: checks the command works (CI), figures mean little.
    #[arg(long)]
    smoke: bool,
    /// The release server binary.
    #[arg(long, default_value = "target/release/lookout")]
    lookout: PathBuf,
    /// The release client bundle (Trunk's dist: index.html and pkg/).
    #[arg(long, default_value = "target/site")]
    site: PathBuf,
    /// Services of the small run (each in three environments).
    #[arg(long, default_value_t = 50)]
    services: usize,
    /// Services of the large run (each in three environments).
    #[arg(long, default_value_t = 1_000)]
    large_services: usize,
    /// Deployments in the large run's store (spread over 90 days).
    #[arg(long, default_value_t = 100_000)]
    deployments: usize,
    /// Live (SSE) viewers for the fan-out and memory figures.
    #[arg(long, default_value_t = 1_000)]
    sse_clients: usize,
    /// Page loads a second during the fan-out figure.
    #[arg(long, default_value_t = 100)]
    page_loads: u32,
    /// Seconds of load per throughput figure (SSR and static each).
    #[arg(long, default_value_t = 8)]
    load_secs: u64,
    /// Concurrent connections of the throughput figure.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The small run's poll interval; fan-out counts calls over several of them.
    #[arg(long, default_value_t = 2)]
    poll_secs: u64,
    /// Poll intervals counted per fan-out figure.
    #[arg(long, default_value_t = 4)]
    intervals: u32,
    /// Timed requests per render-time figure of the large run.
    #[arg(long, default_value_t = 15)]
    render_runs: usize,
    /// Runs per time-to-content figure (Chromium).
    #[arg(long, default_value_t = 5)]
    ttc_runs: u32,
    /// Skip the Chromium figures (no browser on this machine).
    #[arg(long)]
    no_browser: bool,
    /// Keep the large run's dashboard up this many seconds after measuring, to look at it.
    #[arg(long, default_value_t = 0)]
    hold_secs: u64,
}

impl Args {
    fn shrink_for_smoke(&mut self) {
        if self.smoke {
            self.services = self.services.min(5);
            self.large_services = self.large_services.min(20);
            self.deployments = self.deployments.min(500);
            self.sse_clients = self.sse_clients.min(50);
            self.page_loads = self.page_loads.min(10);
            self.load_secs = self.load_secs.min(1);
            self.poll_secs = 1;
            self.intervals = self.intervals.min(2);
            self.render_runs = self.render_runs.min(3);
            self.ttc_runs = 1;
        }
    }
}

/// One printed figure without a budget.
fn figure(name: &str, value: impl std::fmt::Display, unit: &str, budget: Option<&str>) {
    match budget {
        Some(budget) => println!("{name}\t{value}\t{unit}\t{budget}"),
        None => println!("{name}\t{value}\t{unit}"),
    }
}

/// What a budgeted figure must be.
#[derive(Clone, Copy, Debug)]
enum Budget {
    AtMost(f64),
    AtLeast(f64),
}

impl Budget {
    fn met(self, value: f64) -> bool {
        match self {
            Self::AtMost(limit) => value <= limit,
            Self::AtLeast(floor) => value >= floor,
        }
    }

    fn describe(self, unit: &str) -> String {
        match self {
            Self::AtMost(limit) => format!("<= {limit} {unit}"),
            Self::AtLeast(floor) => format!(">= {floor} {unit}"),
        }
    }
}

/// One budgeted figure as printed, kept for the summary at the end.
struct Verdict {
    name: String,
    value: String,
    unit: String,
    budget: String,
    met: bool,
}

static VERDICTS: std::sync::Mutex<Vec<Verdict>> = std::sync::Mutex::new(Vec::new());

/// A figure with a budget: `name<TAB>value<TAB>unit<TAB>budget<TAB>MET|MISSED`.
fn checked(name: &str, value: f64, decimals: usize, unit: &str, budget: Budget) {
    let met = budget.met(value);
    let verdict = Verdict {
        name: name.to_string(),
        value: format!("{value:.decimals$}"),
        unit: unit.to_string(),
        budget: budget.describe(unit),
        met,
    };
    println!(
        "{}\t{}\t{}\t{}\t{}",
        verdict.name,
        verdict.value,
        verdict.unit,
        verdict.budget,
        if met { "MET" } else { "MISSED" }
    );
    VERDICTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .push(verdict);
}

/// Every budgeted figure again, one line each, and the count met.
fn print_budget_summary() {
    let verdicts = VERDICTS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    println!("# budgets");
    for verdict in verdicts.iter() {
        println!(
            "# {:<7} {:<48} {:>10} {:<6} (budget {})",
            if verdict.met { "MET" } else { "MISSED" },
            verdict.name,
            verdict.value,
            verdict.unit,
            verdict.budget
        );
    }
    let met = verdicts.iter().filter(|verdict| verdict.met).count();
    println!("# {met} of {} budgets met", verdicts.len());
}

fn progress(message: &str) {
    eprintln!("[bench] {message}");
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = Args::parse();
    args.shrink_for_smoke();
    if !args.lookout.exists() {
        bail!(
            "{} is missing: build it first (`make bench` does)",
            args.lookout.display()
        );
    }
    if !args.site.join("pkg").join("app_bg.wasm").exists() {
        bail!(
            "{} has no client bundle: run `trunk build --release` first (`make bench` does)",
            args.site.display()
        );
    }
    let started = Instant::now();
    let scratch = tempfile::tempdir().context("cannot create a temporary directory")?;
    small_run(&args, scratch.path()).await?;
    large_run(&args, scratch.path()).await?;
    print_budget_summary();
    progress(&format!("done in {:.0} s", started.elapsed().as_secs_f64()));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The simulated providers

/// Render and the health endpoints for `services` × [`ENVIRONMENTS`], served on loopback.
struct Providers {
    render: Arc<RenderSimulator>,
    health: Arc<HealthSimulator>,
    base_url: String,
    task: JoinHandle<()>,
}

impl Drop for Providers {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn service_name(index: usize) -> String {
    format!("svc-{index:04}")
}

fn render_service_id(index: usize, environment: &str) -> String {
    format!("srv-bench{index:04}{}", &environment[..4])
}

impl Providers {
    async fn start(services: usize) -> Result<Self> {
        let render = Arc::new(RenderSimulator::new(RENDER_TOKEN));
        // The simulator's rate limit is not what is measured here.
        render.set_requests_per_minute(u64::MAX / 2);
        let health = Arc::new(HealthSimulator::new());
        let now = Utc::now();
        for index in 0..services {
            for environment in ENVIRONMENTS {
                let id = render_service_id(index, environment);
                render.add_service(&id, &service_name(index));
                for (age_minutes, outcome) in [
                    (7 * 24 * 60, SimOutcome::Ready),
                    (2 * 24 * 60, SimOutcome::Failed),
                    (90 + index as i64 % 600, SimOutcome::Ready),
                ] {
                    render.push_deployment(
                        &id,
                        &SimDeploymentSpec {
                            commit_sha: format!("{:040x}", index * 31 + age_minutes as usize),
                            commit_message: format!(
                                "Change {age_minutes} of {}",
                                service_name(index)
                            ),
                            author: "Bench Author".into(),
                            branch: "main".into(),
                            pr_number: None,
                            outcome,
                            created_at: now - ChronoDuration::minutes(age_minutes),
                        },
                    );
                }
                // One service in a hundred is down, so cards have rows that need attention.
                let endpoint = if index % 100 == 42 {
                    SimHealthEndpoint::down(503)
                } else {
                    SimHealthEndpoint::ok()
                };
                health.set_endpoint(&format!("{}/{environment}", service_name(index)), endpoint);
            }
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let app = axum::Router::new()
            .nest("/render/v1", render.clone().router())
            .nest("/health", health.clone().router());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            render,
            health,
            base_url: format!("http://{address}"),
            task,
        })
    }

    fn config_text(&self, services: usize, listen: SocketAddr, poll_secs: u64) -> String {
        let base = &self.base_url;
        let mut text = format!(
            "[server]\nlisten = \"{listen}\"\n\
             # 1,000 viewers from one loopback address: above the per-address default.\n\
             max_streams = 5000\nmax_streams_per_address = 5000\n\n[monitor]\npoll_interval_secs = {poll_secs}\n\
             health_interval_secs = {poll_secs}\nhistory_depth = 5\n\n\
             [auth]\nmode = \"none\"\n\n\
             [[environments]]\nname = \"production\"\nkind = \"production\"\n\n\
             [[environments]]\nname = \"staging\"\nkind = \"staging\"\n\n\
             [[environments]]\nname = \"development\"\nkind = \"development\"\n\n\
             [providers.render]\nkind = \"render\"\ntoken_env = \"BENCH_RENDER_TOKEN\"\n\
             api_base = \"{base}/render/v1\"\n"
        );
        for index in 0..services {
            let name = service_name(index);
            let _ = write!(
                text,
                "\n[[services]]\nname = \"{name}\"\nprovider = \"render\"\n\
                 repository_url = \"https://github.com/acme/{name}\"\n"
            );
            for environment in ENVIRONMENTS {
                let id = render_service_id(index, environment);
                let _ = write!(
                    text,
                    "\n[services.environments.{environment}]\nservice_id = \"{id}\"\n\
                     health = {{ url = \"{base}/health/{name}/{environment}\", \
                     json_pointer = \"/status\", expect_value = \"ok\" }}\n"
                );
            }
        }
        text
    }

    fn provider_calls(&self) -> u64 {
        self.render.requests.get()
    }

    fn health_checks(&self) -> u64 {
        self.health.requests.get()
    }
}

// ---------------------------------------------------------------------------------------------
// The dashboard under test: the release binary in a child process

struct Dashboard {
    child: Child,
    base_url: String,
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

impl Dashboard {
    async fn start(
        args: &Args,
        dir: &Path,
        config_text: &str,
        listen: SocketAddr,
        site: &Path,
    ) -> Result<Self> {
        let config = dir.join("lookout.toml");
        std::fs::write(&config, config_text)?;
        let runbooks = dir.join("runbooks");
        std::fs::create_dir_all(&runbooks)?;
        let log = std::fs::File::create(dir.join("lookout.log"))?;
        let child = Command::new(&args.lookout)
            .args(["serve", "--config"])
            .arg(&config)
            .env("BENCH_RENDER_TOKEN", RENDER_TOKEN)
            .env(
                "DATABASE_URL",
                format!("sqlite://{}", dir.join("lookout.db").display()),
            )
            .env("LOOKOUT_SITE_ROOT", site)
            .env("LOOKOUT_RUNBOOKS_DIR", &runbooks)
            .env("LOOKOUT_DATA_DIR", dir)
            .env("RUST_LOG", "warn")
            .env_remove("PORT")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", args.lookout.display()))?;
        let dashboard = Self {
            child,
            base_url: format!("http://{listen}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let ready = client
                .get(format!("{}/readyz", dashboard.base_url))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if ready {
                return Ok(dashboard);
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(dir.join("lookout.log")).unwrap_or_default();
                bail!("the dashboard did not become ready in 120 s; its log:\n{log}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Resident memory split into private (`RssAnon`) and file-backed (`RssFile`), MiB.
    fn memory_split_mib(&self) -> Result<(f64, f64)> {
        let [anon, file] = proc_status_mib(self.child.id(), ["RssAnon:", "RssFile:"])?;
        Ok((anon, file))
    }

    /// Resident and peak memory from `/proc` (Linux), in MiB.
    fn memory_mib(&self) -> Result<(f64, f64)> {
        let [rss, peak] = proc_status_mib(self.child.id(), ["VmRSS:", "VmHWM:"])?;
        Ok((rss, peak))
    }
}

/// Fields of `/proc/PID/status` given in kB (Linux), in MiB.
fn proc_status_mib<const N: usize>(pid: u32, names: [&str; N]) -> Result<[f64; N]> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("cannot read the server's /proc status (Linux only)")?;
    let mut values = [0.0; N];
    for (value, name) in values.iter_mut().zip(names) {
        let kib: f64 = status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .with_context(|| format!("no {name} in /proc status"))?
            .parse()?;
        *value = kib / 1024.0;
    }
    Ok(values)
}

/// A copy of the client bundle the dashboard serves, so the benchmark can add its static
/// file next to the real ones.
fn copy_site(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to.join("pkg"))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_site(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Run 1: 50 services

async fn small_run(args: &Args, scratch: &Path) -> Result<()> {
    let dir = scratch.join("small");
    let site = scratch.join("site");
    std::fs::create_dir_all(&dir)?;
    copy_site(&args.site, &site)?;
    progress(&format!(
        "small run: {} services × {} environments, polled every {} s",
        args.services,
        ENVIRONMENTS.len(),
        args.poll_secs
    ));
    let providers = Providers::start(args.services).await?;
    let listen = free_port()?;
    let config = providers.config_text(args.services, listen, args.poll_secs);
    let dashboard = Dashboard::start(args, &dir, &config, listen, &site).await?;
    // Idle: started, first polls done, one trim of the heap since (`server::memory`), nobody
    // looking.
    let idle_after = Duration::from_secs(args.poll_secs * 2 + 1)
        .max(server::memory::TRIM_INTERVAL + Duration::from_secs(2));
    tokio::time::sleep(idle_after).await;
    let (rss, _) = dashboard.memory_mib()?;
    checked("memory_rss_idle", rss, 1, "MiB", Budget::AtMost(20.0));
    // The split: private memory (heap, stacks) vs the binary's own pages mapped from the
    // file (shared, clean, dropped first under memory pressure).
    let (anon, file) = dashboard.memory_split_mib()?;
    figure("memory_rss_idle_anon", format!("{anon:.1}"), "MiB", None);
    figure("memory_rss_idle_file", format!("{file:.1}"), "MiB", None);

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency * 2)
        .build()?;
    let html = page_weight(&client, &dashboard.base_url).await?;

    if args.no_browser {
        progress("time to content skipped (--no-browser)");
    } else {
        time_to_content(args, &dashboard.base_url)?;
    }

    // The static file: the very bytes of `/`, served by the same server's file service, with
    // the brotli bytes `/` sends next to it as its precompressed copy.
    let html_br = fetch(&client, &format!("{}/", dashboard.base_url), "br").await?;
    std::fs::write(site.join("pkg").join("bench-static.html"), &html)?;
    std::fs::write(site.join("pkg").join("bench-static.html.br"), &html_br)?;
    let sampler = RssSampler::start(dashboard.child.id());
    let ssr = throughput(&client, &dashboard.base_url, "/", "identity", args).await?;
    let ssr_br = throughput(&client, &dashboard.base_url, "/", "br", args).await?;
    let under_load = sampler.stop().await;
    let fixed = throughput(
        &client,
        &dashboard.base_url,
        "/pkg/bench-static.html",
        "identity",
        args,
    )
    .await?;
    let fixed_br = throughput(
        &client,
        &dashboard.base_url,
        "/pkg/bench-static.html",
        "br",
        args,
    )
    .await?;
    checked(
        "memory_rss_under_load_on_home",
        under_load,
        1,
        "MiB",
        Budget::AtMost(40.0),
    );
    figure(
        "ssr_home_requests_per_s",
        format!("{:.0}", ssr.per_second),
        "req/s",
        None,
    );
    figure("ssr_home_p50", format!("{:.2}", ssr.p50_ms), "ms", None);
    figure("ssr_home_p99", format!("{:.2}", ssr.p99_ms), "ms", None);
    figure(
        "static_same_bytes_requests_per_s",
        format!("{:.0}", fixed.per_second),
        "req/s",
        None,
    );
    figure(
        "static_same_bytes_p50",
        format!("{:.2}", fixed.p50_ms),
        "ms",
        None,
    );
    figure(
        "static_same_bytes_p99",
        format!("{:.2}", fixed.p99_ms),
        "ms",
        None,
    );
    checked(
        "ssr_to_static_ratio",
        ssr.per_second / fixed.per_second.max(f64::MIN_POSITIVE),
        3,
        "ratio",
        Budget::AtLeast(0.5),
    );
    figure(
        "ssr_home_br_requests_per_s",
        format!("{:.0}", ssr_br.per_second),
        "req/s",
        None,
    );
    figure(
        "static_same_bytes_br_requests_per_s",
        format!("{:.0}", fixed_br.per_second),
        "req/s",
        None,
    );
    checked(
        "ssr_to_static_ratio_br",
        ssr_br.per_second / fixed_br.per_second.max(f64::MIN_POSITIVE),
        3,
        "ratio",
        Budget::AtLeast(0.5),
    );

    fan_out(args, &providers, &dashboard).await?;
    drop(dashboard);
    drop(providers);
    Ok(())
}

/// Bytes of a first load of `/`: the HTML and every script, style sheet and wasm it loads,
/// raw and as the server sends them gzip- and brotli-compressed. Returns the HTML.
async fn page_weight(client: &reqwest::Client, base: &str) -> Result<Vec<u8>> {
    let html = fetch(client, &format!("{base}/"), "identity").await?;
    let text = String::from_utf8_lossy(&html).to_string();
    let mut assets: Vec<String> = Vec::new();
    for marker in ["href=\"", "src=\""] {
        for piece in text.split(marker).skip(1) {
            let Some(end) = piece.find('"') else { continue };
            let path = &piece[..end];
            let is_asset = [".js", ".css", ".wasm"]
                .iter()
                .any(|extension| path.ends_with(extension));
            if path.starts_with('/') && !path.starts_with("//") && is_asset {
                assets.push(path.to_string());
            }
        }
    }
    assets.sort();
    assets.dedup();
    if !assets.iter().any(|path| path.ends_with(".wasm")) {
        bail!("`/` does not reference the wasm bundle; is the release client built?");
    }
    let mut totals = [0usize; 3];
    for path in std::iter::once("/".to_string()).chain(assets) {
        let url = format!("{base}{path}");
        let mut sizes = [0usize; 3];
        for (slot, encoding) in ["identity", "gzip", "br"].into_iter().enumerate() {
            sizes[slot] = fetch(client, &url, encoding).await?.len();
            totals[slot] += sizes[slot];
        }
        let name = if path == "/" {
            "html"
        } else {
            path.trim_start_matches('/')
        };
        let name = name.replace(['/', '.'], "_");
        figure(&format!("page_weight_{name}_raw"), kb(sizes[0]), "KB", None);
        figure(
            &format!("page_weight_{name}_gzip"),
            kb(sizes[1]),
            "KB",
            None,
        );
        figure(&format!("page_weight_{name}_br"), kb(sizes[2]), "KB", None);
    }
    figure("page_weight_total_raw", kb(totals[0]), "KB", None);
    figure("page_weight_total_gzip", kb(totals[1]), "KB", None);
    checked(
        "page_weight_total_br",
        totals[2] as f64 / 1000.0,
        1,
        "KB",
        Budget::AtMost(150.0),
    );
    before_first_card(client, base, &text).await?;
    Ok(html)
}

/// HTML and CSS a browser has to receive before it can paint the first environment card:
/// the HTML up to the card's element, compressed as the page cache compresses it (a brotli
/// stream's prefix is about the size of the compressed prefix), plus every style sheet the
/// `<head>` links to (render-blocking), as served with `br`.
async fn before_first_card(client: &reqwest::Client, base: &str, html: &str) -> Result<()> {
    let card = html
        .find("class=\"env-card")
        .context("`/` has no environment card (class=\"env-card …\")")?;
    let prefix = &html.as_bytes()[..card];
    let mut compressed = Vec::new();
    // Quality 6: what `page_cache` stores pages with.
    let params = brotli::enc::BrotliEncoderParams {
        quality: 6,
        lgwin: 22,
        ..Default::default()
    };
    brotli::BrotliCompress(&mut &prefix[..], &mut compressed, &params)?;
    let head = html.split("</head>").next().unwrap_or_default();
    let mut sheets = 0usize;
    for tag in head.split("<link").skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        if !tag.contains("stylesheet") {
            continue;
        }
        if let Some(href) = tag
            .split("href=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
        {
            sheets += fetch(client, &format!("{base}{href}"), "br").await?.len();
        }
    }
    figure("before_first_card_html_raw", kb(prefix.len()), "KB", None);
    figure("before_first_card_css_linked_br", kb(sheets), "KB", None);
    checked(
        "before_first_card_html_css_br",
        (compressed.len() + sheets) as f64 / 1000.0,
        1,
        "KB",
        Budget::AtMost(40.0),
    );
    Ok(())
}

/// Samples the dashboard's resident memory every 100 ms until stopped; the figure is the
/// highest sample (VmRSS, MiB).
struct RssSampler {
    stop: Arc<AtomicBool>,
    task: JoinHandle<f64>,
}

impl RssSampler {
    fn start(pid: u32) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let stop = stop.clone();
            async move {
                let mut highest = 0.0f64;
                while !stop.load(Ordering::Relaxed) {
                    if let Ok([rss]) = proc_status_mib(pid, ["VmRSS:"]) {
                        highest = highest.max(rss);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                highest
            }
        });
        Self { stop, task }
    }

    async fn stop(self) -> f64 {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap_or(f64::NAN)
    }
}

fn kb(bytes: usize) -> String {
    format!("{:.1}", bytes as f64 / 1000.0)
}

async fn fetch(client: &reqwest::Client, url: &str, encoding: &str) -> Result<Vec<u8>> {
    let response = client
        .get(url)
        .header("accept-encoding", encoding)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    if !response.status().is_success() {
        bail!("GET {url} answered {}", response.status());
    }
    Ok(response.bytes().await?.to_vec())
}

struct Throughput {
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `--concurrency` connections requesting `path` back to back for `--load-secs` (after a
/// warm-up of four requests a connection), with `encoding` as the only accepted coding.
async fn throughput(
    client: &reqwest::Client,
    base: &str,
    path: &str,
    encoding: &'static str,
    args: &Args,
) -> Result<Throughput> {
    let url = format!("{base}{path}");
    for _ in 0..(args.concurrency * 4) {
        fetch(client, &url, encoding).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(args.load_secs);
    let workers: Vec<_> = (0..args.concurrency)
        .map(|_| {
            let client = client.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let started = Instant::now();
                    fetch(&client, &url, encoding).await?;
                    latencies.push(started.elapsed());
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let started = Instant::now();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    Ok(Throughput {
        per_second: latencies.len() as f64 / elapsed,
        p50_ms: percentile_ms(&latencies, 0.50),
        p99_ms: percentile_ms(&latencies, 0.99),
    })
}

/// Nearest-rank percentile of sorted durations, in milliseconds.
fn percentile_ms(sorted: &[Duration], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((quantile * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

/// Live viewers: `count` open `/api/events` streams, drained in the background until dropped.
struct Viewers {
    tasks: Vec<JoinHandle<()>>,
    connected: Arc<AtomicU64>,
}

impl Drop for Viewers {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

async fn open_viewers(base: &str, count: usize) -> Result<Viewers> {
    let connected = Arc::new(AtomicU64::new(0));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let client = client.clone();
        let url = format!("{base}/api/events");
        let connected = connected.clone();
        tasks.push(tokio::spawn(async move {
            let Ok(mut response) = client.get(url).send().await else {
                return;
            };
            if !response.status().is_success() {
                return;
            }
            connected.fetch_add(1, Ordering::Relaxed);
            while let Ok(Some(_)) = response.chunk().await {}
            connected.fetch_sub(1, Ordering::Relaxed);
        }));
    }
    let viewers = Viewers { tasks, connected };
    let deadline = Instant::now() + Duration::from_secs(60);
    while (viewers.connected.load(Ordering::Relaxed) as usize) < count {
        if Instant::now() > deadline {
            bail!(
                "only {} of {count} live viewers connected in 60 s",
                viewers.connected.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(viewers)
}

/// Provider calls and health checks per poll interval, counted by the simulators over
/// `--intervals` intervals whose window starts between two polls.
async fn calls_per_interval(args: &Args, providers: &Providers) -> (f64, f64) {
    // Wait for a poll to happen, then start half an interval later: the window then holds
    // exactly `intervals` polls whatever their phase.
    let before = providers.provider_calls();
    let wait_until = Instant::now() + Duration::from_secs(args.poll_secs * 3);
    while providers.provider_calls() == before && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(args.poll_secs * 500)).await;
    let (calls, checks) = (providers.provider_calls(), providers.health_checks());
    tokio::time::sleep(Duration::from_secs(
        args.poll_secs * u64::from(args.intervals),
    ))
    .await;
    let intervals = f64::from(args.intervals);
    (
        (providers.provider_calls() - calls) as f64 / intervals,
        (providers.health_checks() - checks) as f64 / intervals,
    )
}

async fn fan_out(args: &Args, providers: &Providers, dashboard: &Dashboard) -> Result<()> {
    let one = open_viewers(&dashboard.base_url, 1).await?;
    let (calls_one, checks_one) = calls_per_interval(args, providers).await;
    drop(one);
    progress(&format!(
        "fan-out: {} live viewers and {} page loads/s",
        args.sse_clients, args.page_loads
    ));
    let many = open_viewers(&dashboard.base_url, args.sse_clients).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let loads = Arc::new(AtomicU64::new(0));
    let loader = {
        let stop = stop.clone();
        let loads = loads.clone();
        let url = format!("{}/", dashboard.base_url);
        let period = Duration::from_secs_f64(1.0 / f64::from(args.page_loads.max(1)));
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut ticker = tokio::time::interval(period);
            while !stop.load(Ordering::Relaxed) {
                ticker.tick().await;
                let client = client.clone();
                let url = url.clone();
                let loads = loads.clone();
                tokio::spawn(async move {
                    if fetch(&client, &url, "gzip").await.is_ok() {
                        loads.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        })
    };
    let started = Instant::now();
    let (calls_many, checks_many) = calls_per_interval(args, providers).await;
    let load_rate = loads.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let _ = loader.await;
    let still_connected = many.connected.load(Ordering::Relaxed);
    drop(many);
    figure(
        "fanout_provider_calls_per_interval_1_viewer",
        format!("{calls_one:.1}"),
        "calls",
        None,
    );
    figure(
        "fanout_health_checks_per_interval_1_viewer",
        format!("{checks_one:.1}"),
        "checks",
        None,
    );
    figure(
        &format!(
            "fanout_provider_calls_per_interval_{}_viewers",
            args.sse_clients
        ),
        format!("{calls_many:.1}"),
        "calls",
        None,
    );
    figure(
        &format!(
            "fanout_health_checks_per_interval_{}_viewers",
            args.sse_clients
        ),
        format!("{checks_many:.1}"),
        "checks",
        None,
    );
    figure(
        "fanout_page_loads_served_per_s",
        format!("{load_rate:.1}"),
        "loads/s",
        None,
    );
    figure(
        "fanout_viewers_still_connected",
        still_connected,
        "viewers",
        None,
    );
    // One poll more or less inside the window is noise, not fan-out: 1.05 is the bar.
    checked(
        "fanout_ratio",
        calls_many / calls_one.max(f64::MIN_POSITIVE),
        2,
        "ratio",
        Budget::AtMost(1.05),
    );
    Ok(())
}

/// Runs the Chromium script (`end2end/scripts/bench-ttc.mjs`) and passes its figures on.
fn time_to_content(args: &Args, base: &str) -> Result<()> {
    progress("time to content (headless Chromium)");
    let output = Command::new("node")
        .current_dir("end2end")
        .args(["scripts/bench-ttc.mjs", base, "/"])
        .arg(args.ttc_runs.to_string())
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run node (is it installed? `make setup-test` installs it)")?;
    if !output.status.success() {
        bail!("the time-to-content script failed ({})", output.status);
    }
    print!("{}", String::from_utf8_lossy(&output.stdout));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Run 2: 1,000 services and 100,000 deployments

async fn large_run(args: &Args, scratch: &Path) -> Result<()> {
    let dir = scratch.join("large");
    std::fs::create_dir_all(&dir)?;
    progress(&format!(
        "large run: {} services × {} environments, {} deployments in the store",
        args.large_services,
        ENVIRONMENTS.len(),
        args.deployments
    ));
    seed_history(&dir, args.large_services, args.deployments).await?;
    let providers = Providers::start(args.large_services).await?;
    let listen = free_port()?;
    // A long interval: the figures are render time and memory, not polling.
    let config = providers.config_text(args.large_services, listen, 60);
    let dashboard = Dashboard::start(args, &dir, &config, listen, &args.site).await?;
    // Wait for the first poll and health check of every service and environment.
    let expected = (args.large_services * ENVIRONMENTS.len()) as u64;
    let deadline = Instant::now() + Duration::from_secs(120);
    while (providers.provider_calls() < expected || providers.health_checks() < expected)
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    let client = reqwest::Client::new();
    for (name, path) in [("home", "/"), ("history", "/history")] {
        let url = format!("{}{path}", dashboard.base_url);
        let bytes = fetch(&client, &url, "identity").await?.len();
        let mut times = Vec::with_capacity(args.render_runs);
        for _ in 0..args.render_runs {
            let started = Instant::now();
            fetch(&client, &url, "identity").await?;
            times.push(started.elapsed());
        }
        times.sort();
        let scale = format!("{}x{}", args.large_services, ENVIRONMENTS.len());
        checked(
            &format!("scale_{scale}_{name}_render_p50"),
            percentile_ms(&times, 0.5),
            1,
            "ms",
            Budget::AtMost(50.0),
        );
        figure(
            &format!("scale_{scale}_{name}_render_p95"),
            format!("{:.1}", percentile_ms(&times, 0.95)),
            "ms",
            None,
        );
        figure(&format!("scale_{scale}_{name}_html"), kb(bytes), "KB", None);
    }

    let (rss, _) = dashboard.memory_mib()?;
    figure(
        &format!("memory_rss_{}_services_no_viewers", args.large_services),
        format!("{rss:.1}"),
        "MiB",
        None,
    );
    progress(&format!("memory with {} live viewers", args.sse_clients));
    let viewers = open_viewers(&dashboard.base_url, args.sse_clients).await?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (rss, peak) = dashboard.memory_mib()?;
    checked(
        &format!(
            "memory_rss_{}_services_{}_viewers",
            args.large_services, args.sse_clients
        ),
        rss,
        1,
        "MiB",
        Budget::AtMost(150.0),
    );
    figure(
        "memory_peak_rss_large_run",
        format!("{peak:.1}"),
        "MiB",
        None,
    );
    drop(viewers);
    if args.hold_secs > 0 {
        progress(&format!(
            "the large run's dashboard stays up at {} for {} s",
            dashboard.base_url, args.hold_secs
        ));
        tokio::time::sleep(Duration::from_secs(args.hold_secs)).await;
    }
    drop(dashboard);
    drop(providers);
    Ok(())
}

/// `deployments` rows of history for the large run's services, written through the `Store`
/// trait before the dashboard starts (the monitor adds the simulators' own on top).
async fn seed_history(dir: &Path, services: usize, deployments: usize) -> Result<()> {
    let store = store::open(&format!("sqlite://{}", dir.join("lookout.db").display()))
        .await
        .context("cannot open the large run's store")?;
    let now = Utc::now();
    let started = Instant::now();
    let span_minutes = 90 * 24 * 60;
    for index in 0..deployments {
        let service = index % services;
        let environment = ENVIRONMENTS[(index / services) % ENVIRONMENTS.len()];
        let kind = match environment {
            "production" => EnvironmentKind::Production,
            "staging" => EnvironmentKind::Staging,
            _ => EnvironmentKind::Development,
        };
        let created_at = now
            - ChronoDuration::minutes(
                (span_minutes as i64 * (deployments - index) as i64) / deployments as i64 + 120,
            );
        let state = match index % 20 {
            0 => DeployState::Failed,
            1 => DeployState::Canceled,
            _ => DeployState::Superseded,
        };
        let record = DeploymentRecord {
            provider: ProviderKind::Render,
            service: service_name(service),
            environment: environment.to_string(),
            environment_kind: kind,
            provider_id: format!("dep-hist{index:012}"),
            state,
            provider_state: match state {
                DeployState::Failed => "build_failed",
                DeployState::Canceled => "canceled",
                _ => "deactivated",
            }
            .to_string(),
            commit_sha: Some(format!("{:040x}", index * 7919)),
            commit_message: Some(format!("Historic change {index}")),
            author: Some(format!("Author {}", index % 40)),
            branch: Some("main".into()),
            pr_number: None,
            creator: None,
            created_at,
            finished_at: Some(created_at + ChronoDuration::minutes(3)),
            url: None,
            dashboard_url: None,
            observed_at: created_at + ChronoDuration::minutes(3),
        };
        store.upsert_deployment(&record).await?;
        if index > 0 && index % 20_000 == 0 {
            progress(&format!("  {index} deployments written"));
        }
    }
    progress(&format!(
        "  {deployments} deployments written in {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}
