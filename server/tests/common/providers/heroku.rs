//! The Heroku simulator with one app, and its client.

use server::providers::heroku::{HerokuClient, HerokuClientConfig};
use server::secret::Secret;
use server::simulators::heroku::HerokuSimulator;

pub const TOKEN: &str = "HRKU-sim-token-1234";
pub const APP: &str = "shop-api";

crate::simulated! {
    HerokuSimulator => HerokuClient(HerokuClientConfig), prefix "heroku", token TOKEN;
    scenario(sim) {
        sim.add_app(APP);
    }
    config(base, token) {
        HerokuClientConfig {
            api_base: base.to_string(),
            token: Secret::new(token),
            app: APP.into(),
            environment: "production".into(),
        }
    }
    elsewhere(config) {
        HerokuClientConfig {
            app: "someone-elses-app".into(),
            ..config
        }
    }
    push(sim, spec) {
        sim.push_deployment(APP, spec)
    }
}
