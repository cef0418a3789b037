//! The Cloudflare Pages simulator with one project, and its client.

use server::providers::cloudflare::{CloudflarePagesClient, CloudflarePagesClientConfig};
use server::secret::Secret;
use server::simulators::cloudflare::CloudflarePagesSimulator;

pub const TOKEN: &str = "cf_test_token_81b0";
pub const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
pub const PROJECT: &str = "ninjakittens";

crate::simulated! {
    CloudflarePagesSimulator => CloudflarePagesClient(CloudflarePagesClientConfig), prefix "cloudflare", token TOKEN;
    scenario(sim) {
        sim.add_project(ACCOUNT, PROJECT);
    }
    config(base, token) {
        CloudflarePagesClientConfig {
            api_base: base.to_string(),
            token: Secret::new(token),
            account_id: ACCOUNT.into(),
            project_name: PROJECT.into(),
        }
    }
    elsewhere(config) {
        CloudflarePagesClientConfig {
            account_id: "ffffffffffffffffffffffffffffffff".into(),
            ..config
        }
    }
    push(sim, spec) {
        sim.push_deployment(ACCOUNT, PROJECT, "production", spec)
    }
}
