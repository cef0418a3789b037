//! Demo mode: every provider simulator on one loopback server, seeded with one of two
//! scenarios, plus the config (in the user's config format) that points the real clients at
//! them. Tests and the browser tests use the same world and its `/_control` API.
//!
//! - [`DemoScenario::Basic`]: a small product (web on Vercel, api on Render, worker on Railway,
//!   db health-checked over HTTP) across production, staging and two pull-request previews.
//!   The browser tests rely on it; keep its data and names as they are.
//! - [`DemoScenario::AllProviders`]: one product spread over every provider Lookout reads
//!   (`lookout serve --demo all`): storefront on Netlify, api on Railway, worker on Fly.io,
//!   admin on Heroku, docs on Cloudflare Pages, billing on DigitalOcean App Platform,
//!   marketing on Vercel, webhooks on Render, search on GitHub Deployments and db on Supabase.
//!
//! Layout: `world.rs` (the simulators on one server, [`DemoWorld`], the validated config),
//! `scenarios.rs` (each story as data: ids, resources, seeded deployments, deploy routes,
//! health endpoints), `seed.rs` (one seeding function for every story, and the week of health
//! history), `config.rs` (the config text), `control.rs` (the `/_control` API).

mod config;
mod control;
mod names;
mod scenarios;
mod seed;
mod simulators;
mod world;

pub use config::{demo_config_text, DEMO_LOGINS, DEMO_TOKENS};
pub use seed::seed_health_history;
pub use simulators::Simulators;
pub use world::DemoWorld;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// The demo's store file inside the data dir; replaced at every demo start.
pub const DEMO_DATABASE: &str = "demo.db";

/// Which story the demo tells.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DemoScenario {
    /// web on Vercel, api on Render, worker on Railway, db over HTTP (what the browser
    /// tests use).
    #[default]
    Basic,
    /// Every provider Lookout reads, one service each.
    AllProviders,
}

impl DemoScenario {
    /// The name `--demo` and `LOOKOUT_DEMO_SCENARIO` take.
    pub fn name(self) -> &'static str {
        match self {
            Self::Basic => "basic",
            Self::AllProviders => "all",
        }
    }
}

impl fmt::Display for DemoScenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for DemoScenario {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "basic" => Ok(Self::Basic),
            "all" | "all-providers" | "all_providers" => Ok(Self::AllProviders),
            other => Err(format!("`{other}` is not a demo scenario (basic or all)")),
        }
    }
}
/// Removes the previous demo store so every demo starts from the same story.
pub fn reset_demo_store(data_dir: &Path) -> std::io::Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let path = data_dir.join(format!("{DEMO_DATABASE}{suffix}"));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}
