//! The Fly simulator with one app, and its client (GraphQL for releases, Machines for machines).

use server::providers::fly::{FlyClient, FlyClientConfig};
use server::secret::Secret;
use server::simulators::fly::{FlySimulator, GRAPHQL_PATH, MACHINES_PATH};

pub const TOKEN: &str = "fly_sim_personal_token_1234";
pub const APP: &str = "lookout-api";
pub const APP_URL: &str = "https://lookout-api.fly.dev";

crate::simulated! {
    FlySimulator => FlyClient(FlyClientConfig), prefix "fly", token TOKEN;
    scenario(sim) {
        sim.add_app(APP);
    }
    config(base, token) {
        FlyClientConfig {
            graphql_base: format!("{base}{GRAPHQL_PATH}"),
            machines_base: format!("{base}{MACHINES_PATH}"),
            token: Secret::new(token),
            app: APP.into(),
            environment: "production".into(),
        }
    }
    elsewhere(config) {
        FlyClientConfig {
            app: "someone-elses-app".into(),
            ..config
        }
    }
    push(sim, spec) {
        sim.push_deployment(APP, spec)
    }
}
