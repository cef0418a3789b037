//! The Railway simulator with one project (production, staging and a PR environment; the
//! client's service and another), and its client over GraphQL.

use server::providers::railway::{
    RailwayClient, RailwayClientConfig, RailwayEnvironmentRef, RailwayTokenKind,
};
use server::secret::Secret;
use server::simulators::railway::{RailwaySimulator, GRAPHQL_PATH};

pub const TOKEN: &str = "railway_sim_token_5678";
pub const PROJECT: &str = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
pub const SERVICE: &str = "5e4d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d1c";
pub const OTHER_SERVICE: &str = "11111111-2222-4333-8444-555555555555";
pub const PRODUCTION: &str = "0b8e3a1c-6f0d-4b1e-9d2a-2f5c7e9a1b3c";
pub const STAGING: &str = "7c6b5a49-3827-4165-9f0e-d1c2b3a49586";
pub const PR_ENV: &str = "e0e0e0e0-1111-4222-8333-444444444444";

crate::simulated! {
    RailwaySimulator => RailwayClient(RailwayClientConfig), prefix "railway", token TOKEN;
    scenario(sim) {
        sim.add_project(PROJECT);
        sim.add_environment(PROJECT, PRODUCTION, "production", false);
        sim.add_environment(PROJECT, STAGING, "staging", false);
        sim.add_environment(PROJECT, PR_ENV, "api-pr-7", true);
        sim.add_service(PROJECT, SERVICE, "api");
        sim.add_service(PROJECT, OTHER_SERVICE, "worker");
    }
    // A bearer token; production and staging configured.
    config(base, token) {
        RailwayClientConfig {
            api_base: format!("{base}{GRAPHQL_PATH}"),
            token: Secret::new(token),
            token_kind: RailwayTokenKind::Bearer,
            project_id: PROJECT.into(),
            service_id: SERVICE.into(),
            environments: vec![
                RailwayEnvironmentRef {
                    environment_id: PRODUCTION.into(),
                    name: "production".into(),
                },
                RailwayEnvironmentRef {
                    environment_id: STAGING.into(),
                    name: "staging".into(),
                },
            ],
        }
    }
    elsewhere(config) {
        RailwayClientConfig {
            project_id: "00000000-dead-4000-8000-000000000000".into(),
            service_id: "00000000-dead-4000-8000-000000000001".into(),
            ..config
        }
    }
    push(sim, spec) {
        sim.push_deployment(SERVICE, PRODUCTION, spec)
    }
}
