//! One provider client per configured resource (per environment where the provider keeps
//! one resource per environment).

use super::Watch;
use crate::config::{Config, Connection, ServiceEnvironment, ServiceResource, ServiceSource};
use crate::providers::cloudflare::{CloudflarePagesClient, CloudflarePagesClientConfig};
use crate::providers::digitalocean::{DigitalOceanClient, DigitalOceanClientConfig};
use crate::providers::fly::{FlyClient, FlyClientConfig};
use crate::providers::github::{GithubClient, GithubClientConfig, GithubSource};
use crate::providers::heroku::{HerokuClient, HerokuClientConfig};
use crate::providers::netlify::{NetlifyClient, NetlifyClientConfig};
use crate::providers::railway::{
    RailwayClient, RailwayClientConfig, RailwayEnvironmentRef, RailwayTokenKind,
};
use crate::providers::render::{RenderClient, RenderClientConfig};
use crate::providers::vercel::{VercelClient, VercelClientConfig};
use crate::providers::DeploymentProvider;
use app::model::ProviderKind;
use std::sync::Arc;

pub(super) fn build_watches(config: &Config, http: &reqwest::Client) -> Vec<Watch> {
    let mut watches = Vec::new();
    for service in &config.services {
        let ServiceSource::Provider {
            connection,
            resource,
        } = &service.source
        else {
            continue;
        };
        let watch = |environment: Option<String>, client: Arc<dyn DeploymentProvider>| Watch {
            service: service.name.clone(),
            environment,
            token_env: connection.token_env.clone(),
            client,
        };
        match (connection.kind, resource) {
            (ProviderKind::Vercel, ServiceResource::Project { project }) => watches.push(watch(
                None,
                Arc::new(VercelClient::new(
                    http.clone(),
                    VercelClientConfig {
                        api_base: connection.api_base.clone(),
                        token: connection.token.clone(),
                        team_id: connection.team_id.clone(),
                        project: project.clone(),
                    },
                )),
            )),
            (ProviderKind::CloudflarePages, ServiceResource::Project { project }) => {
                watches.push(watch(
                    None,
                    Arc::new(CloudflarePagesClient::new(
                        http.clone(),
                        CloudflarePagesClientConfig {
                            api_base: connection.api_base.clone(),
                            token: connection.token.clone(),
                            account_id: connection.account_id.clone().unwrap_or_default(),
                            project_name: project.clone(),
                        },
                    )),
                ))
            }
            (ProviderKind::Netlify, ServiceResource::Site { site_id }) => watches.push(watch(
                None,
                Arc::new(NetlifyClient::new(
                    http.clone(),
                    NetlifyClientConfig {
                        api_base: connection.api_base.clone(),
                        token: connection.token.clone(),
                        site_id: site_id.clone(),
                    },
                )),
            )),
            (
                ProviderKind::Railway,
                ServiceResource::RailwayService {
                    project_id,
                    service_id,
                },
            ) => watches.push(watch(
                None,
                Arc::new(RailwayClient::new(
                    http.clone(),
                    RailwayClientConfig {
                        api_base: connection.api_base.clone(),
                        token: connection.token.clone(),
                        token_kind: if connection.project_token {
                            RailwayTokenKind::ProjectAccessToken
                        } else {
                            RailwayTokenKind::Bearer
                        },
                        project_id: project_id.clone(),
                        service_id: service_id.clone(),
                        environments: service
                            .environments
                            .iter()
                            .filter_map(|environment| {
                                Some(RailwayEnvironmentRef {
                                    environment_id: environment.resource_id.clone()?,
                                    name: environment.provider_environment.clone(),
                                })
                            })
                            .collect(),
                    },
                )),
            )),
            (
                ProviderKind::Github,
                ServiceResource::Repository {
                    owner,
                    repo,
                    workflow,
                },
            ) => {
                let source = match workflow {
                    Some(workflow) => GithubSource::WorkflowRuns {
                        workflow: workflow.clone(),
                        branch_environments: service
                            .environments
                            .iter()
                            .filter_map(|environment| {
                                Some((
                                    environment.branch.clone()?,
                                    environment.provider_environment.clone(),
                                ))
                            })
                            .collect(),
                    },
                    None => GithubSource::Deployments,
                };
                watches.push(watch(
                    None,
                    Arc::new(GithubClient::new(
                        http.clone(),
                        GithubClientConfig {
                            api_base: connection.api_base.clone(),
                            token: connection.token.clone(),
                            owner: owner.clone(),
                            repo: repo.clone(),
                            // With previews on, every environment GitHub reports is read.
                            environments: if service.previews {
                                Vec::new()
                            } else {
                                service
                                    .environments
                                    .iter()
                                    .map(|environment| environment.provider_environment.clone())
                                    .collect()
                            },
                            source,
                        },
                    )),
                ));
            }
            (kind, ServiceResource::PerEnvironment) => {
                for environment in &service.environments {
                    let Some(resource_id) = environment.resource_id.clone() else {
                        continue;
                    };
                    if let Some(client) =
                        per_environment_client(kind, connection, resource_id, environment, http)
                    {
                        watches.push(watch(Some(environment.environment.clone()), client));
                    }
                }
            }
            (kind, resource) => {
                tracing::error!(service = %service.name, provider = %kind, ?resource, "no client for this provider resource");
            }
        }
    }
    watches
}

/// Providers with one resource (app, service) per environment.
fn per_environment_client(
    kind: ProviderKind,
    connection: &Connection,
    resource_id: String,
    environment: &ServiceEnvironment,
    http: &reqwest::Client,
) -> Option<Arc<dyn DeploymentProvider>> {
    let api_base = connection.api_base.clone();
    let token = connection.token.clone();
    let name = environment.provider_environment.clone();
    Some(match kind {
        ProviderKind::Render => Arc::new(RenderClient::new(
            http.clone(),
            RenderClientConfig {
                api_base,
                token,
                service_id: resource_id,
                environment: name,
                service_url: environment.url.clone(),
            },
        )),
        ProviderKind::Digitalocean => Arc::new(DigitalOceanClient::new(
            http.clone(),
            DigitalOceanClientConfig {
                api_base,
                token,
                app_id: resource_id,
                environment: name,
            },
        )),
        ProviderKind::Heroku => Arc::new(HerokuClient::new(
            http.clone(),
            HerokuClientConfig {
                api_base,
                token,
                app: resource_id,
                environment: name,
            },
        )),
        ProviderKind::Fly => Arc::new(FlyClient::new(
            http.clone(),
            FlyClientConfig {
                graphql_base: api_base,
                machines_base: connection
                    .machines_base
                    .clone()
                    .unwrap_or_else(|| crate::providers::fly::DEFAULT_MACHINES_BASE.to_string()),
                token,
                app: resource_id,
                environment: name,
            },
        )),
        // Supabase has no deployments: its environments are health-checked (see `health_probes`).
        _ => return None,
    })
}
