//! The DigitalOcean App Platform simulator with one app, and its client.

use server::providers::digitalocean::{DigitalOceanClient, DigitalOceanClientConfig};
use server::secret::Secret;
use server::simulators::digitalocean::DigitalOceanSimulator;

pub const TOKEN: &str = "dop_v1_sim_token_1234";
pub const APP: &str = "6f9c1e2a-0000-4000-8000-000000000001";
pub const LIVE_URL: &str = "https://api-sim.ondigitalocean.app";

crate::simulated! {
    DigitalOceanSimulator => DigitalOceanClient(DigitalOceanClientConfig), prefix "digitalocean", token TOKEN;
    scenario(sim) {
        sim.add_app(APP, "api");
    }
    config(base, token) {
        DigitalOceanClientConfig {
            api_base: base.to_string(),
            token: Secret::new(token),
            app_id: APP.into(),
            environment: "production".into(),
        }
    }
    elsewhere(config) {
        DigitalOceanClientConfig {
            app_id: "00000000-dead-4000-8000-000000000000".into(),
            ..config
        }
    }
    push(sim, spec) {
        sim.push_deployment(APP, spec)
    }
}
