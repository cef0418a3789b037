//! What the `lookout` subcommands do, kept out of `main.rs` so it stays a thin parser.

use crate::config::{self, process_env};
use crate::demo::{self, DemoScenario, DemoWorld};
use crate::startup;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use tokio::net::TcpListener;

/// Human-readable logs in a terminal, JSON with `LOG_FORMAT=json`; `RUST_LOG` filters.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,tower_http=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if process_env("LOG_FORMAT").as_deref() == Some("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// `lookout check-config [FILE]`: without FILE, what `serve` would load (`LOOKOUT_CONFIG`, else
/// `LOOKOUT_CONFIG_TOML`).
pub fn check_config(file: Option<PathBuf>) -> ExitCode {
    let Some(source) = config::config_source(file, &process_env) else {
        eprintln!(
            "no config to check: give a file, or set LOOKOUT_CONFIG or {}",
            config::INLINE_CONFIG_VARIABLE
        );
        return ExitCode::FAILURE;
    };
    let origin = source.describe();
    match config::load_source(&source, &process_env) {
        Ok(config) => {
            print!("{}", config::describe(&config));
            let library = crate::runbooks::RunbookLibrary::load(&config.runbooks_dir);
            let services: Vec<String> = config.services.iter().map(|s| s.name.clone()).collect();
            let problems = library.problems(&services);
            println!("runbooks: {} loaded", library.len());
            for warning in &problems.warnings {
                eprintln!("warning: {warning}");
            }
            if problems.errors.is_empty() {
                println!("ok: {origin} is valid");
                ExitCode::SUCCESS
            } else {
                for error in &problems.errors {
                    eprintln!("{error}");
                }
                eprintln!(
                    "{} runbook error(s) in {}",
                    problems.errors.len(),
                    library.dir().display()
                );
                ExitCode::FAILURE
            }
        }
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!("{} error(s) in {origin}", errors.0.len());
            ExitCode::FAILURE
        }
    }
}

/// `lookout hash-password`: one line from stdin (a terminal or a pipe) → an argon2id hash.
pub fn hash_password() -> ExitCode {
    use std::io::BufRead;
    eprintln!("Password (read from stdin, one line):");
    let mut line = String::new();
    if let Err(error) = std::io::stdin().lock().read_line(&mut line) {
        eprintln!("cannot read the password: {error}");
        return ExitCode::FAILURE;
    }
    let password = line.trim_end_matches(['\r', '\n']);
    if password.len() < 8 {
        eprintln!("refusing a password shorter than 8 characters");
        return ExitCode::FAILURE;
    }
    match crate::auth::password::hash_password(password) {
        Ok(hash) => {
            println!("{hash}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("cannot hash the password: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `lookout create-api-token NAME`: a random token and the config entry with its hash.
pub fn create_api_token(name: &str) -> ExitCode {
    let name = name.trim();
    if name.is_empty() || name.contains('"') {
        eprintln!("the token name must be non-empty and must not contain quotes");
        return ExitCode::FAILURE;
    }
    let token = format!("lkt_{}", crate::auth::password::random_token());
    let hash = crate::auth::password::sha256_hex(&token);
    eprintln!("The token (shown once; send it as `Authorization: Bearer <token>`):");
    println!("{token}");
    eprintln!("Add this to the config file:");
    println!("\n[[auth.api_tokens]]\nname = \"{name}\"\nsha256 = \"{hash}\"");
    ExitCode::SUCCESS
}

/// `lookout serve [--config FILE] [--demo basic|all]`.
pub fn serve(config_flag: Option<PathBuf>, demo_flag: Option<DemoScenario>) -> ExitCode {
    crate::memory::limit_malloc_arenas();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve_async(config_flag, demo_flag)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lookout: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve_async(
    config_flag: Option<PathBuf>,
    demo_flag: Option<DemoScenario>,
) -> anyhow::Result<()> {
    // The demo world must outlive the server: it is dropped (and its simulators stop) last.
    let mut _demo: Option<DemoWorld> = None;
    let config = match config::config_source(config_flag, &process_env) {
        Some(source) if demo_flag.is_some() => {
            anyhow::bail!(
                "--demo serves simulated data and takes no config; {} was given (--config, LOOKOUT_CONFIG or LOOKOUT_CONFIG_TOML)",
                source.describe()
            )
        }
        Some(source) => config::load_source(&source, &process_env)?,
        None => {
            // `--demo` wins over LOOKOUT_DEMO_SCENARIO; basic when neither is given.
            let scenario = match (demo_flag, process_env("LOOKOUT_DEMO_SCENARIO")) {
                (Some(scenario), _) => scenario,
                (None, Some(name)) => name
                    .parse::<DemoScenario>()
                    .map_err(|error| anyhow::anyhow!("LOOKOUT_DEMO_SCENARIO: {error}"))?,
                (None, None) => DemoScenario::Basic,
            };
            let port: u16 = process_env("LOOKOUT_DEMO_SIMULATOR_PORT")
                .and_then(|port| port.parse().ok())
                .unwrap_or(0);
            let poll = process_env("LOOKOUT_DEMO_POLL_SECS")
                .and_then(|seconds| seconds.parse().ok())
                .unwrap_or(5);
            let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await?;
            let world = DemoWorld::start(listener, scenario).await?;
            tracing::info!(simulators = %world.base_url, %scenario, "demo mode: serving simulated providers (no config given)");
            let data_dir =
                PathBuf::from(process_env("LOOKOUT_DATA_DIR").unwrap_or_else(|| "data".into()));
            demo::reset_demo_store(&data_dir)?;
            let config = world.config(Duration::from_secs(poll), &data_dir, &process_env)?;
            let store = crate::store::open(&config.store_url).await?;
            demo::seed_health_history(store.as_ref(), chrono::Utc::now(), scenario).await?;
            drop(store);
            _demo = Some(world);
            config
        }
    };
    if !config.listen.ip().is_loopback() {
        tracing::info!("listening on all interfaces ({})", config.listen);
    }
    let listener = TcpListener::bind(config.listen).await?;
    let address = listener.local_addr()?;
    let shown = if address.ip().is_unspecified() {
        format!("http://localhost:{}", address.port())
    } else {
        format!("http://{address}")
    };
    tracing::info!("Lookout is serving {} at {shown}", config.origin);
    println!("Lookout is up: {shown}");
    startup::run(config, listener, shutdown_signal()).await?;
    Ok(())
}

/// SIGTERM (what a PaaS sends) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
