//! The whole server on port 0, the way `main` starts it (`server::startup`), with the demo
//! simulators (or simulators of the test's own) and a store in a temporary folder.
//!
//! `TestApp::demo(scenario)` is the demo as `lookout serve --demo` runs it;
//! `.config_text(edit)` parses the demo's config text, edited, as a user's config file;
//! `TestApp::with_config_text(text)` starts from a config of the test's own. `start()` returns
//! once `/healthz` answers; the app derefs to its [`Site`] for requests.

use super::http::Site;
use server::config::{self, process_env, Config};
use server::demo::{demo_config_text, DemoScenario, DemoWorld, DEMO_TOKENS};
use server::page_cache::PageCache;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

type Edit = Box<dyn Fn(String) -> String + Send + Sync>;

/// Where the config comes from.
enum ConfigSource {
    /// `DemoWorld::config`: the demo's logins, its store `demo.db`, the process environment
    /// behind the overrides.
    Demo,
    /// The demo's config text, edited, parsed as a user's file: demo tokens, the store
    /// `lookout.db`, the overrides, and nothing from the process environment.
    DemoText(Edit),
    /// A config text of the test's own, read like [`ConfigSource::DemoText`].
    Text(String),
}

/// How to build the config again (for a restart on the same store).
struct Recipe {
    poll_interval: Duration,
    source: ConfigSource,
    env: Vec<(String, String)>,
    runbooks_dir: Option<PathBuf>,
    runbooks_reload: Option<Duration>,
}

/// What a test asks of the server it starts.
pub struct AppBuilder {
    scenario: Option<DemoScenario>,
    recipe: Recipe,
    runbooks: Option<Vec<(String, String)>>,
    page_cache: Arc<PageCache>,
    data_dir: Option<tempfile::TempDir>,
    simulators: Vec<LocalServer>,
}

/// A running server and everything it depends on; dropping it stops them.
pub struct TestApp {
    pub site: Site,
    world: Option<DemoWorld>,
    store_url: String,
    data_dir: tempfile::TempDir,
    runbooks: Option<tempfile::TempDir>,
    recipe: Recipe,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    _simulators: Vec<LocalServer>,
}

/// An axum router served on loopback until dropped (a webhook receiver, simulators).
pub struct LocalServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    task: JoinHandle<()>,
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A fresh listener on loopback, port 0.
pub async fn loopback() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port")
}

/// Serves `router` on a loopback port of its own.
pub async fn serve(router: axum::Router) -> LocalServer {
    let listener = loopback().await;
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    LocalServer { base, task }
}

/// The demo tokens and the given store, then `env`, as a config's environment (nothing
/// from the process).
pub fn test_env<'a>(
    store_url: &'a str,
    env: &'a [(String, String)],
) -> impl Fn(&str) -> Option<String> + 'a {
    move |name: &str| {
        DEMO_TOKENS
            .iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, token)| token.to_string())
            .or_else(|| (name == "DATABASE_URL").then(|| store_url.to_string()))
            .or_else(|| {
                env.iter()
                    .find(|(variable, _)| variable == name)
                    .map(|(_, value)| value.clone())
            })
    }
}

/// `text` parsed as a user's config file with [`test_env`]; a test config must be valid.
pub fn parse_test_config(text: &str, store_url: &str, env: &[(String, String)]) -> Config {
    config::parse(text, "test config", &test_env(store_url, env))
        .unwrap_or_else(|errors| panic!("test config invalid:\n{errors}"))
}

impl TestApp {
    /// The demo world of `scenario`, polled every second.
    pub fn demo(scenario: DemoScenario) -> AppBuilder {
        AppBuilder::new(Some(scenario), ConfigSource::Demo)
    }

    /// A config of the test's own, without demo simulators.
    pub fn with_config_text(text: impl Into<String>) -> AppBuilder {
        AppBuilder::new(None, ConfigSource::Text(text.into()))
    }

    /// The demo simulators.
    pub fn world(&self) -> &DemoWorld {
        self.world
            .as_ref()
            .expect("this app runs without the demo world")
    }

    /// Posts `body` to the demo simulators' control API (`/_control/deploy`, `…/fault`,
    /// `…/health`, `…/rollback`): the status and the JSON answer (null without one).
    pub async fn control(&self, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.world().base_url))
            .json(&body)
            .send()
            .await
            .expect("the simulators answer");
        let code = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (code, body)
    }

    /// A ready deployment of `sha` by `author`, pushed through the control API to the provider
    /// behind `service` in `environment`: the status and the JSON answer.
    pub async fn control_deploy(
        &self,
        (service, environment): (&str, &str),
        sha: &str,
        message: &str,
        author: &str,
    ) -> (u16, serde_json::Value) {
        let deployment = serde_json::json!({
            "service": service,
            "environment": environment,
            "commit_sha": sha,
            "message": message,
            "author": author,
            "outcome": "ready",
        });
        self.control("/_control/deploy", deployment).await
    }

    /// The store's URL (`sqlite://…` in the app's data folder).
    pub fn store_url(&self) -> &str {
        &self.store_url
    }

    /// The store, opened a second time (as another process would).
    pub async fn open_store(&self) -> Arc<dyn server::store::Store> {
        server::store::open(&self.store_url)
            .await
            .expect("the app's store opens")
    }

    /// The temporary runbooks folder (with `.runbooks(…)`).
    pub fn runbooks_dir(&self) -> &Path {
        self.runbooks
            .as_ref()
            .expect("started with .runbooks(…)")
            .path()
    }

    /// Writes `text` to `name` in the runbooks folder (creating folders).
    pub fn write_runbook(&self, name: &str, text: &str) {
        write_file(self.runbooks_dir(), name, text);
    }

    /// Stops the server as SIGTERM would and waits at most `within` for it to finish.
    pub async fn shut_down(&mut self, within: Duration) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(server) = self.server.take() else {
            return Ok(());
        };
        match tokio::time::timeout(within, server).await {
            Err(_) => Err(format!("the server did not stop within {within:?}")),
            Ok(Err(join)) => Err(format!("the server task failed: {join}")),
            Ok(Ok(Err(error))) => Err(format!("the server stopped with an error: {error:#}")),
            Ok(Ok(Ok(()))) => Ok(()),
        }
    }

    /// Stops the server and starts it again on the same world and store, with the config
    /// built again (the world may have changed in between).
    pub async fn restart(&mut self) {
        self.shut_down(Duration::from_secs(10))
            .await
            .expect("a clean stop before the restart");
        let config = self.recipe.config(
            self.world.as_ref(),
            self.data_dir.path(),
            self.runbooks.as_ref().map(|dir| dir.path()),
        );
        let (site, stop, server) = launch(config, Arc::default()).await;
        self.site = site;
        self.stop = Some(stop);
        self.server = Some(server);
        self.site.wait_until_serving().await;
    }

    /// Stops the server and hands back its data folder, for a next start on the same store.
    pub async fn into_data_dir(mut self) -> tempfile::TempDir {
        self.shut_down(Duration::from_secs(10))
            .await
            .expect("a clean stop");
        let placeholder = tempfile::tempdir().expect("a temporary folder");
        std::mem::replace(&mut self.data_dir, placeholder)
    }
}

impl Deref for TestApp {
    type Target = Site;

    fn deref(&self) -> &Site {
        &self.site
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Writes `text` to `dir/name`, creating the folders between.
pub fn write_file(dir: &Path, name: &str, text: &str) {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("a folder for the file");
    }
    std::fs::write(&path, text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
}

impl AppBuilder {
    fn new(scenario: Option<DemoScenario>, source: ConfigSource) -> Self {
        Self {
            scenario,
            recipe: Recipe {
                poll_interval: Duration::from_secs(1),
                source,
                env: Vec::new(),
                runbooks_dir: None,
                runbooks_reload: None,
            },
            runbooks: None,
            page_cache: Arc::default(),
            data_dir: None,
            simulators: Vec::new(),
        }
    }

    /// How often providers and health endpoints are polled.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.recipe.poll_interval = interval;
        self
    }

    /// The demo's config text, edited by `edit`, parsed as a user's config file.
    pub fn config_text(mut self, edit: impl Fn(String) -> String + Send + Sync + 'static) -> Self {
        self.recipe.source = ConfigSource::DemoText(Box::new(edit));
        self
    }

    /// An environment variable the config sees.
    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.recipe.env.push((name.to_string(), value.into()));
        self
    }

    /// Runbooks in a temporary folder of their own, reloaded every 100 ms.
    pub fn runbooks(mut self, files: &[(&str, &str)]) -> Self {
        let files = files
            .iter()
            .map(|(name, text)| (name.to_string(), text.to_string()))
            .collect();
        self.runbooks = Some(files);
        self.recipe.runbooks_reload = Some(Duration::from_millis(100));
        self
    }

    /// Runbooks from an existing folder.
    pub fn runbooks_dir(mut self, dir: PathBuf) -> Self {
        self.recipe.runbooks_dir = Some(dir);
        self
    }

    /// The page cache the server uses (the test keeps a handle on it).
    pub fn page_cache(mut self, cache: Arc<PageCache>) -> Self {
        self.page_cache = cache;
        self
    }

    /// Keeps the store in `data_dir` (a restart on the same store).
    pub fn data_dir(mut self, data_dir: tempfile::TempDir) -> Self {
        self.data_dir = Some(data_dir);
        self
    }

    /// Simulators of the test's own, kept running as long as the app.
    pub fn simulators(mut self, simulators: LocalServer) -> Self {
        self.simulators.push(simulators);
        self
    }

    /// Starts the simulators and the server; returns once the server answers `/healthz`.
    pub async fn start(self) -> TestApp {
        let world = match self.scenario {
            Some(scenario) => Some(
                DemoWorld::start(loopback().await, scenario)
                    .await
                    .expect("the demo simulators start"),
            ),
            None => None,
        };
        let data_dir = match self.data_dir {
            Some(dir) => dir,
            None => tempfile::tempdir().expect("a temporary folder"),
        };
        let runbooks = self.runbooks.map(|files| {
            let dir = tempfile::tempdir().expect("a temporary folder");
            for (name, text) in &files {
                write_file(dir.path(), name, text);
            }
            dir
        });
        let config = self.recipe.config(
            world.as_ref(),
            data_dir.path(),
            runbooks.as_ref().map(|dir| dir.path()),
        );
        let store_url = config.store_url.clone();
        let (site, stop, server) = launch(config, self.page_cache).await;
        site.wait_until_serving().await;
        TestApp {
            site,
            world,
            store_url,
            data_dir,
            runbooks,
            recipe: self.recipe,
            stop: Some(stop),
            server: Some(server),
            _simulators: self.simulators,
        }
    }
}

impl Recipe {
    fn config(
        &self,
        world: Option<&DemoWorld>,
        data_dir: &Path,
        runbooks: Option<&Path>,
    ) -> Config {
        let store_url = format!("sqlite://{}", data_dir.join("lookout.db").display());
        let demo_text = || {
            let world = world.expect("a demo config needs the demo world");
            world.config_text(self.poll_interval)
        };
        let mut config = match &self.source {
            ConfigSource::Demo => {
                let world = world.expect("a demo config needs the demo world");
                let lookup = |name: &str| {
                    self.env
                        .iter()
                        .find(|(variable, _)| variable == name)
                        .map(|(_, value)| value.clone())
                        .or_else(|| process_env(name))
                };
                world
                    .config(self.poll_interval, data_dir, &lookup)
                    .unwrap_or_else(|errors| panic!("the demo config is invalid:\n{errors}"))
            }
            ConfigSource::DemoText(edit) => {
                parse_test_config(&edit(demo_text()), &store_url, &self.env)
            }
            ConfigSource::Text(text) => parse_test_config(text, &store_url, &self.env),
        };
        if let Some(dir) = runbooks.or(self.runbooks_dir.as_deref()) {
            config.runbooks_dir = dir.to_path_buf();
        }
        if let Some(interval) = self.runbooks_reload {
            config.runbooks_reload_interval = interval;
        }
        config
    }
}

/// Serves `config` on a fresh loopback port until the returned sender fires (or drops).
async fn launch(
    config: Config,
    page_cache: Arc<PageCache>,
) -> (Site, oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>) {
    let listener = loopback().await;
    let site = Site::new(format!("http://{}", listener.local_addr().unwrap()));
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(server::startup::run_with_page_cache(
        config,
        listener,
        async move {
            let _ = stopped.await;
        },
        page_cache,
    ));
    (site, stop, server)
}

/// The demo's config text for `scenario` at `base`, polled every second.
pub fn demo_text(scenario: DemoScenario, base: &str) -> String {
    demo_config_text(scenario, base, Duration::from_secs(1))
}
