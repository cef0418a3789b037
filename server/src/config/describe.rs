//! The `lookout check-config` summary of what was understood.

use super::schema::{Config, ServiceResource, ServiceSource};
use super::{auth_section, notifications_section};
use crate::secret::redact_url;

/// A human summary of what was understood, for `lookout check-config`. Names token variables,
/// never token values.
pub fn describe(config: &Config) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "config: {}", config.origin);
    let _ = writeln!(out, "listen: {}", config.listen);
    let _ = writeln!(out, "store: {}", redact_url(&config.store_url));
    if let Some(url) = &config.public_url {
        let _ = writeln!(out, "public url: {url}");
    }
    let _ = writeln!(out, "runbooks: {}", config.runbooks_dir.display());
    let _ = writeln!(
        out,
        "monitor: poll every {} s, health every {} s, history depth {}",
        config.monitor.poll_interval.as_secs(),
        config.monitor.health_interval.as_secs(),
        config.monitor.history_depth
    );
    let _ = writeln!(out, "environments:");
    for environment in &config.environments {
        let _ = writeln!(out, "  {} ({})", environment.name, environment.kind.label());
    }
    let _ = writeln!(out, "services:");
    for service in &config.services {
        let detail = match &service.source {
            ServiceSource::Provider {
                connection,
                resource,
            } => {
                let what = match resource {
                    ServiceResource::Project { project } => format!("project {project}"),
                    ServiceResource::RailwayService {
                        project_id,
                        service_id,
                    } => {
                        format!("project {project_id} service {service_id}")
                    }
                    ServiceResource::Site { site_id } => format!("site {site_id}"),
                    ServiceResource::Repository {
                        owner,
                        repo,
                        workflow,
                    } => match workflow {
                        Some(workflow) => format!("repo {owner}/{repo}, workflow {workflow}"),
                        None => format!("repo {owner}/{repo}, deployments"),
                    },
                    ServiceResource::PerEnvironment => "one resource per environment".to_string(),
                };
                format!(
                    "{what} at {} (token from {})",
                    redact_url(&connection.api_base),
                    connection.token_env
                )
            }
            ServiceSource::HttpOnly => "health checks only".to_string(),
        };
        let _ = writeln!(
            out,
            "  {} on {}: {detail}{}",
            service.name,
            service.provider_kind(),
            if service.previews {
                ", with previews"
            } else {
                ""
            }
        );
        for environment in &service.environments {
            let mut parts = Vec::new();
            if environment.provider_environment != environment.environment
                && !environment.provider_environment.starts_with("branch:")
            {
                parts.push(format!(
                    "provider environment {}",
                    environment.provider_environment
                ));
            }
            if let Some(branch) = &environment.branch {
                parts.push(format!("branch {branch}"));
            }
            if let Some(id) = &environment.resource_id {
                parts.push(format!("id {id}"));
            }
            if let Some(url) = &environment.url {
                parts.push(format!("url {}", redact_url(url)));
            }
            if let Some(health) = &environment.health {
                parts.push(format!("health {}", redact_url(&health.url)));
            }
            let _ = writeln!(out, "    {}: {}", environment.environment, parts.join(", "));
        }
    }
    out.push_str(&auth_section::describe(&config.auth));
    out.push_str(&notifications_section::describe(&config.notifications));
    out
}
