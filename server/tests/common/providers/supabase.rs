//! The Supabase simulator with one project, and its health client (Supabase has no
//! deployments: the conformance cases read the project's health instead).

use super::Simulated;
use futures::future::BoxFuture;
use server::providers::supabase::{SupabaseClient, SupabaseClientConfig};
use server::providers::{DeploymentProvider, ProviderError};
use server::secret::Secret;
use server::simulators::supabase::SupabaseSimulator;
use server::simulators::SimDeploymentSpec;

pub const TOKEN: &str = "sbp_sim_token_0123456789abcdef";
pub const PROJECT: &str = "lookoutdemoprojectaa";

impl Simulated for SupabaseSimulator {
    type Client = SupabaseClient;
    type Config = SupabaseClientConfig;
    const PREFIX: &'static str = "supabase";
    const TOKEN: &'static str = TOKEN;

    fn scenario() -> Self {
        let sim = Self::new(TOKEN);
        sim.add_project(PROJECT);
        sim
    }

    crate::simulator_parts!();

    fn config(base: &str, token: &str) -> SupabaseClientConfig {
        SupabaseClientConfig {
            api_base: base.to_string(),
            token: Secret::new(token),
            project_ref: PROJECT.into(),
            status_base: base.to_string(),
        }
    }

    fn elsewhere(config: SupabaseClientConfig) -> SupabaseClientConfig {
        SupabaseClientConfig {
            project_ref: "someoneelsesproject0".into(),
            ..config
        }
    }

    fn build(http: reqwest::Client, config: SupabaseClientConfig) -> SupabaseClient {
        SupabaseClient::new(http, config)
    }

    fn provider(_client: &SupabaseClient) -> Option<&dyn DeploymentProvider> {
        None
    }

    fn push(&self, _spec: &SimDeploymentSpec) -> Option<String> {
        None
    }

    fn read(client: &SupabaseClient) -> BoxFuture<'_, Result<(), ProviderError>> {
        Box::pin(async move { client.project_health().await.map(drop) })
    }
}
