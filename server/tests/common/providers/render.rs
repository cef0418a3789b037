//! The Render simulator with one service, and its client.

use server::providers::render::{RenderClient, RenderClientConfig};
use server::secret::Secret;
use server::simulators::render::RenderSimulator;

pub const TOKEN: &str = "rnd_sim_token_1234";
pub const SERVICE: &str = "srv-api0001";
pub const SERVICE_URL: &str = "https://api.example.test";

crate::simulated! {
    RenderSimulator => RenderClient(RenderClientConfig), prefix "render", token TOKEN;
    scenario(sim) {
        sim.add_service(SERVICE, "api");
    }
    config(base, token) {
        RenderClientConfig {
            api_base: base.to_string(),
            token: Secret::new(token),
            service_id: SERVICE.into(),
            environment: "production".into(),
            service_url: Some(SERVICE_URL.into()),
        }
    }
    elsewhere(config) {
        RenderClientConfig {
            service_id: "srv-someoneelse".into(),
            ..config
        }
    }
    push(sim, spec) {
        sim.push_deployment(SERVICE, spec)
    }
}
