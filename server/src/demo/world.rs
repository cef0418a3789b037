//! The running demo: every simulator on one loopback server, each under its own prefix, plus
//! the `/_control` API; and the validated demo config pointing at them.

use super::config::{demo_config_text, DEMO_LOGINS, DEMO_TOKENS};
use super::control::control_router;
use super::seed::seed_simulators;
use super::simulators::Simulators;
use super::{DemoScenario, DEMO_DATABASE};
use crate::config::{self, Config, ConfigErrors};
use app::auth::DemoLogin;
use chrono::Utc;
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::Path;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The running simulators: every handle (through `Deref`, so `world.render` is the Render
/// simulator), the server they are mounted on, and the scenario they were seeded with.
pub struct DemoWorld {
    pub scenario: DemoScenario,
    pub simulators: Simulators,
    /// `http://127.0.0.1:PORT` of the simulator server.
    pub base_url: String,
    task: JoinHandle<()>,
}

impl Deref for DemoWorld {
    type Target = Simulators;

    fn deref(&self) -> &Simulators {
        &self.simulators
    }
}

impl Drop for DemoWorld {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DemoWorld {
    /// Seeds `scenario` and serves every simulator on `listener` (loopback), each under its
    /// own prefix, plus the `/_control` API.
    pub async fn start(listener: TcpListener, scenario: DemoScenario) -> std::io::Result<Self> {
        let address: SocketAddr = listener.local_addr()?;
        let sims = Simulators::new();
        seed_simulators(&sims, scenario, Utc::now());
        let app = sims
            .router()
            .merge(control_router(sims.clone(), scenario.story().routes));
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "demo simulators stopped");
            }
        });
        Ok(Self {
            scenario,
            simulators: sims,
            base_url: format!("http://{address}"),
            task,
        })
    }

    /// The demo's config text (the same format a user writes), pointing at the simulators.
    pub fn config_text(&self, poll_interval: Duration) -> String {
        demo_config_text(self.scenario, &self.base_url, poll_interval)
    }

    /// The validated demo config, keeping its store in `data_dir/demo.db`; demo tokens are
    /// supplied here, never from the environment.
    pub fn config(
        &self,
        poll_interval: Duration,
        data_dir: &Path,
        env: config::EnvLookup<'_>,
    ) -> Result<Config, ConfigErrors> {
        let store_url = format!("sqlite://{}", data_dir.join(DEMO_DATABASE).display());
        let lookup = |name: &str| {
            if let Some((_, token)) = DEMO_TOKENS.iter().find(|(variable, _)| *variable == name) {
                return Some((*token).to_string());
            }
            match name {
                // The demo keeps its own store, whatever DATABASE_URL says.
                "DATABASE_URL" => Some(store_url.clone()),
                other => env(other),
            }
        };
        let mut config = config::parse_demo(&self.config_text(poll_interval), &lookup)?;
        config.auth.demo_logins = DEMO_LOGINS
            .iter()
            .map(|(name, password, role)| DemoLogin {
                name: name.to_string(),
                password: password.to_string(),
                role: *role,
            })
            .collect();
        Ok(config)
    }
}
