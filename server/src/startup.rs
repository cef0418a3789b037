//! The startup seam: `main` and the tests both call [`run`] with a config, a bound listener and
//! a shutdown signal, so tests exercise exactly what production runs (on port 0).

use crate::auth::AuthService;
use crate::config::Config;
use crate::monitor::Monitor;
use crate::providers::http::build_client;
use crate::routes::{router, AppState};
use axum::serve::ListenerExt;
use leptos::prelude::LeptosOptions;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The Leptos bundle's name: Trunk emits `app.js` and `app_bg.wasm` for the `app` crate.
pub const BUNDLE_NAME: &str = "app";

/// Where the built client lives (Trunk's `dist`); `LOOKOUT_SITE_ROOT` overrides it.
pub fn site_root() -> PathBuf {
    std::env::var_os("LOOKOUT_SITE_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/site"))
}

/// Leptos options built in code (cargo-leptos metadata is not used).
pub fn leptos_options(listen: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(BUNDLE_NAME)
        .site_root(site_root().to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(listen)
        .build()
}

/// Serves the dashboard on `listener` until `shutdown` completes, then stops gracefully
/// (live streams end, in-flight requests finish, polling stops).
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let local_addr = listener.local_addr()?;
    // A store that cannot be opened or migrated stops startup with the reason.
    let store = crate::store::open(&config.store_url)
        .await
        .map_err(|error| {
            anyhow::anyhow!(
                "cannot open the store at {}: {error}",
                crate::config::redact_url_password(&config.store_url)
            )
        })?;
    let auth = Arc::new(AuthService::new(&config, store.clone()));
    for warning in auth.startup_warnings(local_addr) {
        tracing::warn!("{warning}");
    }
    let config = Arc::new(config);
    let monitor = Arc::new(Monitor::start(config.clone(), build_client(), store));
    let rollbacks = crate::rollback::Rollbacks::new(monitor.clone());
    // Operations a previous run left unfinished are settled by re-reading the providers.
    rollbacks.reconcile().await;
    // And later ones nobody follows any more are swept (the task ends with the server).
    let sweeper = rollbacks.spawn_sweeper();
    let runbooks = crate::runbooks::RunbookLibrary::load(&config.runbooks_dir);
    tracing::info!(dir = %config.runbooks_dir.display(), runbooks = runbooks.len(), "runbooks loaded");
    let reloader = runbooks.spawn_reloader(config.runbooks_reload_interval);
    let (stopping, shutting_down) = watch::channel(false);
    let state = AppState {
        leptos_options: leptos_options(local_addr),
        monitor: monitor.clone(),
        auth,
        shutting_down,
        runbooks,
        rollbacks,
        snapshot_frames: Arc::default(),
    };
    let app = router(state);
    if !site_root()
        .join("pkg")
        .join(format!("{BUNDLE_NAME}.js"))
        .exists()
    {
        tracing::warn!(
            site_root = %site_root().display(),
            "the client bundle is missing: pages render but will not hydrate (run `make build`)"
        );
    }
    // No Nagle delay: a response whose headers and body go out in separate writes (every
    // file the `/pkg` service streams) otherwise waits ~40 ms for the client's delayed ACK.
    let listener = listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stopping.send(true);
    })
    .await?;
    reloader.abort();
    sweeper.abort();
    drop(monitor);
    Ok(())
}
