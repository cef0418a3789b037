//! The Vercel simulator with one team project, and its client.

use server::providers::vercel::{VercelClient, VercelClientConfig};
use server::secret::Secret;
use server::simulators::vercel::VercelSimulator;

pub const TOKEN: &str = "vercel_test_token_7f3a";
pub const TEAM: &str = "team_1a2b3c4d5e6f7g8h9i0j1k2l";
pub const PROJECT_ID: &str = "prj_docs000000000000000001";
pub const PROJECT_NAME: &str = "docs";

crate::simulated! {
    VercelSimulator => VercelClient(VercelClientConfig), prefix "vercel", token TOKEN;
    scenario(sim) {
        sim.set_team(TEAM);
        sim.add_project(PROJECT_ID, PROJECT_NAME);
    }
    config(base, token) {
        VercelClientConfig {
            api_base: base.to_string(),
            token: Secret::new(token),
            team_id: Some(TEAM.into()),
            // By name: the API (and the simulator) accept a project's id or its name.
            project: PROJECT_NAME.into(),
        }
    }
    elsewhere(config) {
        VercelClientConfig {
            team_id: Some("team_someoneelse".into()),
            ..config
        }
    }
    push(sim, spec) {
        sim.push_deployment(PROJECT_ID, Some("production"), spec)
    }
}
