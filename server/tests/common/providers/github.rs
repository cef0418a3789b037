//! The GitHub simulator with one repository, and its client on the Deployments source.

use server::providers::github::{GithubClient, GithubClientConfig, GithubSource};
use server::secret::Secret;
use server::simulators::github::GithubSimulator;

pub const TOKEN: &str = "ghp_sim_token_0123456789";
pub const OWNER: &str = "acme";
pub const REPO: &str = "shop";

crate::simulated! {
    GithubSimulator => GithubClient(GithubClientConfig), prefix "github", token TOKEN;
    scenario(sim) {
        sim.add_repo(OWNER, REPO);
    }
    // The Deployments source, every environment.
    config(base, token) {
        GithubClientConfig {
            api_base: base.to_string(),
            token: Secret::new(token),
            owner: OWNER.into(),
            repo: REPO.into(),
            environments: Vec::new(),
            source: GithubSource::Deployments,
        }
    }
    elsewhere(config) {
        GithubClientConfig {
            repo: "someone-elses-repo".into(),
            ..config
        }
    }
    push(sim, spec) {
        sim.push_deployment(OWNER, REPO, "production", spec)
    }
}
