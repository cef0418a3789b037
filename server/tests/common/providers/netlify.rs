//! The Netlify simulator with one site, and its client.

use server::providers::netlify::{NetlifyClient, NetlifyClientConfig};
use server::secret::Secret;
use server::simulators::netlify::NetlifySimulator;

pub const TOKEN: &str = "nfp_test_token_4c2e";
pub const SITE_ID: &str = "3970e0fe-8564-4903-9a55-c5f8de49fb8b";
pub const SITE_NAME: &str = "docs";

crate::simulated! {
    NetlifySimulator => NetlifyClient(NetlifyClientConfig), prefix "netlify", token TOKEN;
    scenario(sim) {
        sim.add_site(SITE_ID, SITE_NAME);
    }
    config(base, token) {
        NetlifyClientConfig {
            api_base: base.to_string(),
            token: Secret::new(token),
            site_id: SITE_ID.into(),
        }
    }
    elsewhere(config) {
        NetlifyClientConfig {
            site_id: "00000000-dead-4000-8000-000000000000".into(),
            ..config
        }
    }
    push(sim, spec) {
        sim.push_deployment(SITE_ID, "production", spec)
    }
}
