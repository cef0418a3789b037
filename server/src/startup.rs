//! The startup seam: `main` and the tests both call [`run`] with a config, a bound listener and
//! a shutdown signal, so tests exercise exactly what production runs (on port 0).

use crate::app_state::AppState;
use crate::auth::AuthService;
use crate::config::Config;
use crate::monitor::Monitor;
use crate::providers::http::build_client;
use crate::routes::router;
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
    run_with_page_cache(config, listener, shutdown, Arc::default()).await
}

/// As [`run`], with the page cache given: tests keep a handle on it to read its counters and
/// move its clock (`server/tests/page_cache.rs`).
pub async fn run_with_page_cache(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    page_cache: Arc<crate::page_cache::PageCache>,
) -> anyhow::Result<()> {
    let local_addr = listener.local_addr()?;
    // A store that cannot be opened or migrated stops startup with the reason.
    let store = crate::store::open(&config.store_url)
        .await
        .map_err(|error| {
            anyhow::anyhow!(
                "cannot open the store at {}: {error}",
                crate::secret::redact_url(&config.store_url)
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
    let trimmer = crate::memory::spawn_trimmer();
    let (stopping, shutting_down) = watch::channel(false);
    let state = AppState {
        leptos_options: leptos_options(local_addr),
        monitor: monitor.clone(),
        auth,
        shutting_down,
        runbooks,
        rollbacks,
        snapshot_frames: Arc::default(),
        stream_limits: crate::stream_limits::StreamLimits::new(&config.limits),
        page_cache,
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
    let header_read_timeout = config.limits.header_read_timeout;
    serve(listener, app, header_read_timeout, async move {
        shutdown.await;
        tracing::info!("shutting down");
        let _ = stopping.send(true);
    })
    .await;
    reloader.abort();
    sweeper.abort();
    trimmer.abort();
    drop(monitor);
    Ok(())
}

/// The accept loop (instead of `axum::serve`, which sets no header-read timeout): HTTP/1.1
/// with `TCP_NODELAY` on every connection, each request told its peer (`ConnectInfo`), a
/// connection that does not finish sending a request's headers within `header_read_timeout`
/// closed (slowloris), and on `shutdown` no new connections while open ones finish.
async fn serve(
    listener: TcpListener,
    app: axum::Router,
    header_read_timeout: std::time::Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;

    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .keep_alive(true);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // No Nagle delay: a response whose headers and body go out in separate writes (every
        // file the `/pkg` service streams) otherwise waits ~40 ms for the client's delayed ACK.
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY");
        }
        let service = app.clone().map_request(
            move |mut request: axum::http::Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        );
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
