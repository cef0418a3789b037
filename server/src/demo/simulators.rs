//! Every simulator the demo runs, as one set of handles, and where a seeded deployment goes
//! (`Sink`). It sits below the world, the scenarios, the seeding and the control API, which
//! all reach the simulators through it.

use super::names::*;
use crate::simulators::cloudflare::CloudflarePagesSimulator;
use crate::simulators::digitalocean::DigitalOceanSimulator;
use crate::simulators::fly::FlySimulator;
use crate::simulators::github::GithubSimulator;
use crate::simulators::health::HealthSimulator;
use crate::simulators::heroku::HerokuSimulator;
use crate::simulators::netlify::NetlifySimulator;
use crate::simulators::railway::RailwaySimulator;
use crate::simulators::render::RenderSimulator;
use crate::simulators::supabase::SupabaseSimulator;
use crate::simulators::vercel::VercelSimulator;
use crate::simulators::{FaultInjector, SimDeploymentSpec, SimRollbacks};
use axum::Router;
use std::sync::Arc;

/// Every simulator, empty until a scenario seeds them.
#[derive(Clone)]
pub struct Simulators {
    pub vercel: Arc<VercelSimulator>,
    pub render: Arc<RenderSimulator>,
    pub railway: Arc<RailwaySimulator>,
    pub netlify: Arc<NetlifySimulator>,
    pub cloudflare: Arc<CloudflarePagesSimulator>,
    pub github: Arc<GithubSimulator>,
    pub digitalocean: Arc<DigitalOceanSimulator>,
    pub heroku: Arc<HerokuSimulator>,
    pub fly: Arc<FlySimulator>,
    pub supabase: Arc<SupabaseSimulator>,
    pub health: Arc<HealthSimulator>,
}

/// Where a deployment of a demo service goes: the simulator and its resource.
#[derive(Clone, Copy, Debug)]
pub(super) enum Sink {
    Vercel {
        project: &'static str,
        /// `None` for a preview.
        target: Option<&'static str>,
    },
    Render {
        service_id: &'static str,
    },
    Railway {
        service_id: &'static str,
        environment_id: &'static str,
    },
    Netlify {
        site_id: &'static str,
        context: &'static str,
    },
    /// The docs project.
    Cloudflare {
        environment: &'static str,
    },
    /// The search repository.
    Github {
        environment: &'static str,
    },
    Digitalocean {
        app_id: &'static str,
    },
    Heroku {
        app: &'static str,
    },
    Fly {
        app: &'static str,
    },
}

impl Simulators {
    pub(super) fn new() -> Self {
        Self {
            vercel: Arc::new(VercelSimulator::new(VERCEL_TOKEN)),
            render: Arc::new(RenderSimulator::new(RENDER_TOKEN)),
            railway: Arc::new(RailwaySimulator::new(RAILWAY_TOKEN)),
            netlify: Arc::new(NetlifySimulator::new(NETLIFY_TOKEN)),
            cloudflare: Arc::new(CloudflarePagesSimulator::new(CLOUDFLARE_TOKEN)),
            github: Arc::new(GithubSimulator::new(GITHUB_TOKEN)),
            digitalocean: Arc::new(DigitalOceanSimulator::new(DIGITALOCEAN_TOKEN)),
            heroku: Arc::new(HerokuSimulator::new(HEROKU_TOKEN)),
            fly: Arc::new(FlySimulator::new(FLY_TOKEN)),
            supabase: Arc::new(SupabaseSimulator::new(SUPABASE_TOKEN)),
            health: Arc::new(HealthSimulator::new()),
        }
    }

    /// Each simulator under its own prefix (the config's `api_base`s point here).
    pub(super) fn router(&self) -> Router {
        Router::new()
            .nest("/vercel", self.vercel.clone().router())
            .nest("/render/v1", self.render.clone().router())
            .nest("/railway", self.railway.clone().router())
            .nest("/netlify", self.netlify.clone().router())
            .nest("/cloudflare", self.cloudflare.clone().router())
            .nest("/github", self.github.clone().router())
            .nest("/digitalocean", self.digitalocean.clone().router())
            .nest("/heroku", self.heroku.clone().router())
            .nest("/fly", self.fly.clone().router())
            .nest("/supabase", self.supabase.clone().router())
            .nest("/health", self.health.clone().router())
    }

    /// Pushes `spec` where `sink` says; returns the new deployment's id.
    pub(super) fn push(&self, sink: Sink, spec: &SimDeploymentSpec) -> String {
        match sink {
            Sink::Vercel { project, target } => self.vercel.push_deployment(project, target, spec),
            Sink::Render { service_id } => self.render.push_deployment(service_id, spec),
            Sink::Railway {
                service_id,
                environment_id,
            } => self
                .railway
                .push_deployment(service_id, environment_id, spec),
            Sink::Netlify { site_id, context } => {
                self.netlify.push_deployment(site_id, context, spec)
            }
            Sink::Cloudflare { environment } => {
                self.cloudflare
                    .push_deployment(CLOUDFLARE_ACCOUNT, DOCS_PROJECT, environment, spec)
            }
            Sink::Github { environment } => {
                self.github
                    .push_deployment(SEARCH_REPO.0, SEARCH_REPO.1, environment, spec)
            }
            Sink::Digitalocean { app_id } => self.digitalocean.push_deployment(app_id, spec),
            Sink::Heroku { app } => self.heroku.push_deployment(app, spec),
            Sink::Fly { app } => self.fly.push_deployment(app, spec),
        }
    }

    /// The fault injector of a provider, by its `[providers]` key or kind.
    pub(super) fn faults(&self, provider: &str) -> Option<&FaultInjector> {
        Some(match provider {
            "vercel" => &self.vercel.faults,
            "render" => &self.render.faults,
            "railway" => &self.railway.faults,
            "netlify" => &self.netlify.faults,
            "cloudflare" | "cloudflare_pages" => &self.cloudflare.faults,
            "github" => &self.github.faults,
            "digitalocean" => &self.digitalocean.faults,
            "heroku" => &self.heroku.faults,
            "fly" => &self.fly.faults,
            "supabase" => &self.supabase.faults,
            _ => return None,
        })
    }

    /// How a provider's simulator treats rollbacks, by its `[providers]` key or kind
    /// (Supabase has none).
    pub(super) fn rollbacks(&self, provider: &str) -> Option<&SimRollbacks> {
        Some(match provider {
            "vercel" => &self.vercel.rollbacks,
            "render" => &self.render.rollbacks,
            "railway" => &self.railway.rollbacks,
            "netlify" => &self.netlify.rollbacks,
            "cloudflare" | "cloudflare_pages" => &self.cloudflare.rollbacks,
            "github" => &self.github.rollbacks,
            "digitalocean" => &self.digitalocean.rollbacks,
            "heroku" => &self.heroku.rollbacks,
            "fly" => &self.fly.rollbacks,
            _ => return None,
        })
    }
}
