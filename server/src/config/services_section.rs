//! The `[[services]]` entries: where each service's deployments come from and, per
//! environment, its provider ids, branch, URL and health check.

use super::defaults::{
    default_repository_url, DEFAULT_DEGRADED_LATENCY_MILLIS, DEFAULT_HEALTH_TIMEOUT_MILLIS,
};
use super::providers_section::{environment_id_key, provider_from_name};
use super::raw::{NamedField, RawHealth, RawService, RawServiceEnvironment};
use super::schema::{
    Connection, EnvironmentConfig, ServiceConfig, ServiceEnvironment, ServiceResource,
    ServiceSource,
};
use super::validate::Validator;
use crate::providers::health::{HealthCheckSpec, JsonExpectation};
use app::model::{EnvironmentKind, ProviderKind};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use toml::Spanned;

impl Validator<'_> {
    pub(super) fn services(
        &mut self,
        raw: &[Spanned<RawService>],
        environments: &[EnvironmentConfig],
        providers: &BTreeMap<String, Connection>,
    ) -> Vec<ServiceConfig> {
        let mut seen = HashSet::new();
        let mut services = Vec::new();
        for (index, entry) in raw.iter().enumerate() {
            let service = entry.get_ref();
            let Some(name) = self.new_name(
                &service.name,
                &mut seen,
                &format!("services[{index}].name"),
                "use letters, digits, `-` and `_`",
                |name| format!("services.{name}.name"),
            ) else {
                continue;
            };
            let key = format!("services.{name}");
            let provider_name = service.provider.get_ref().as_str();
            let source = if provider_name == "http" {
                self.refuse_fields(&service.id_fields(), &[], &key, |field| {
                    format!("http services do not take `{field}`")
                });
                Some(ServiceSource::HttpOnly)
            } else {
                match providers.get(provider_name) {
                    Some(connection) => self.resource(service, connection, &key).map(|resource| {
                        ServiceSource::Provider {
                            connection: connection.clone(),
                            resource,
                        }
                    }),
                    None if provider_from_name(provider_name).is_some() => {
                        self.error(
                            &service.provider,
                            &format!("{key}.provider"),
                            format!("no [providers.{provider_name}] connection is defined (or it has errors above)"),
                        );
                        None
                    }
                    None => {
                        let message = format!(
                            "`{provider_name}` is not a key of [providers] (nor `http` for a health-check-only service)"
                        );
                        self.error(&service.provider, &format!("{key}.provider"), message);
                        None
                    }
                }
            };
            let Some(source) = source else { continue };
            if service.environments.is_empty() {
                self.error(
                    &service.name,
                    &format!("{key}.environments"),
                    "add at least one [services.environments.<name>] table",
                );
                continue;
            }
            let mut service_environments = Vec::new();
            for (environment_name, environment) in &service.environments {
                let env_key = format!("{key}.environments.{environment_name}");
                let Some(known) = environments
                    .iter()
                    .find(|known| &known.name == environment_name)
                else {
                    self.error(
                        environment,
                        &env_key,
                        format!("`{environment_name}` is not defined in [[environments]]"),
                    );
                    continue;
                };
                if let Some(parsed) =
                    self.service_environment(&source, known, environment, &env_key)
                {
                    service_environments.push(parsed);
                }
            }
            let kind = match &source {
                ServiceSource::Provider { connection, .. } => connection.kind,
                ServiceSource::HttpOnly => ProviderKind::HttpHealth,
            };
            let has_previews = matches!(
                kind,
                ProviderKind::Vercel
                    | ProviderKind::Railway
                    | ProviderKind::Netlify
                    | ProviderKind::CloudflarePages
                    | ProviderKind::Github
            );
            if service.previews && !has_previews {
                self.error(
                    &service.name,
                    &format!("{key}.previews"),
                    format!(
                        "Lookout reads previews from Vercel, Railway, Netlify, Cloudflare Pages and GitHub; not from {}",
                        kind.display_name()
                    ),
                );
            }
            let repository_url = match &service.repository_url {
                Some(url) => self
                    .url(url, &format!("{key}.repository_url"))
                    .map(|url| url.trim_end_matches('/').to_string()),
                None => default_repository_url(&source),
            };
            services.push(ServiceConfig {
                name,
                repository_url,
                source,
                previews: service.previews,
                environments: service_environments,
            });
        }
        services
    }

    /// An error at each of `fields` that is set but not `allowed`, worded by `message`.
    fn refuse_fields(
        &mut self,
        fields: &[NamedField<'_>],
        allowed: &[&str],
        key: &str,
        message: impl Fn(&str) -> String,
    ) {
        for (value, field) in fields {
            if let Some(value) = value {
                if !allowed.contains(field) {
                    self.error(value, &format!("{key}.{field}"), message(field));
                }
            }
        }
    }

    pub(super) fn resource(
        &mut self,
        service: &RawService,
        connection: &Connection,
        key: &str,
    ) -> Option<ServiceResource> {
        let kind = connection.kind;
        let required =
            |value: &Option<Spanned<String>>, field: &str, validator: &mut Self| match value {
                Some(value) if !value.get_ref().trim().is_empty() => {
                    Some(value.get_ref().trim().to_string())
                }
                _ => {
                    validator.error(
                        &service.name,
                        &format!("{key}.{field}"),
                        format!("missing: {} services need `{field}`", kind.display_name()),
                    );
                    None
                }
            };
        let allowed: &[&str] = match kind {
            ProviderKind::Vercel | ProviderKind::CloudflarePages => &["project"],
            ProviderKind::Railway => &["project_id", "service_id"],
            ProviderKind::Netlify => &["site_id"],
            ProviderKind::Github => &["repo", "workflow"],
            _ => &[],
        };
        self.refuse_fields(&service.id_fields(), allowed, key, |field| {
            match environment_id_key(kind) {
                Some(env_key) => format!(
                    "{} services do not take `{field}` here; put `{env_key}` in each [services.environments.<name>]",
                    kind.display_name()
                ),
                None => format!("{} services do not take `{field}`", kind.display_name()),
            }
        });
        match kind {
            ProviderKind::Vercel | ProviderKind::CloudflarePages => {
                Some(ServiceResource::Project {
                    project: required(&service.project, "project", self)?,
                })
            }
            ProviderKind::Railway => {
                let project_id = required(&service.project_id, "project_id", self);
                let service_id = required(&service.service_id, "service_id", self);
                Some(ServiceResource::RailwayService {
                    project_id: project_id?,
                    service_id: service_id?,
                })
            }
            ProviderKind::Netlify => Some(ServiceResource::Site {
                site_id: required(&service.site_id, "site_id", self)?,
            }),
            ProviderKind::Github => {
                let repo = required(&service.repo, "repo", self)?;
                let Some((owner, name)) = repo
                    .split_once('/')
                    .filter(|(o, r)| !o.is_empty() && !r.is_empty() && !r.contains('/'))
                else {
                    if let Some(value) = &service.repo {
                        self.error(value, &format!("{key}.repo"), "write it as owner/repo");
                    }
                    return None;
                };
                Some(ServiceResource::Repository {
                    owner: owner.to_string(),
                    repo: name.to_string(),
                    workflow: service
                        .workflow
                        .as_ref()
                        .map(|workflow| workflow.get_ref().trim().to_string()),
                })
            }
            _ => Some(ServiceResource::PerEnvironment),
        }
    }

    pub(super) fn service_environment(
        &mut self,
        source: &ServiceSource,
        known: &EnvironmentConfig,
        raw: &Spanned<RawServiceEnvironment>,
        key: &str,
    ) -> Option<ServiceEnvironment> {
        let environment = raw.get_ref();
        let environment_name = known.name.as_str();
        let text = |value: &Option<Spanned<String>>| {
            value
                .as_ref()
                .map(|value| value.get_ref().trim().to_string())
                .filter(|value| !value.is_empty())
        };
        let (kind, resource) = match source {
            ServiceSource::Provider {
                connection,
                resource,
            } => (connection.kind, Some(resource)),
            ServiceSource::HttpOnly => (ProviderKind::HttpHealth, None),
        };
        let id_key = environment_id_key(kind);
        let mut allowed: Vec<&str> = id_key.into_iter().collect();
        match kind {
            ProviderKind::Vercel => allowed.extend(["target", "branch"]),
            ProviderKind::Railway => allowed.push("environment_name"),
            ProviderKind::Netlify | ProviderKind::CloudflarePages => allowed.push("branch"),
            ProviderKind::Github => allowed.extend(["environment_name", "branch"]),
            _ => {}
        }
        let fields = environment.fields();
        self.refuse_fields(&fields, &allowed, key, |field| {
            format!("{} services do not take `{field}`", kind.display_name())
        });
        let resource_id = match id_key {
            Some(field) => {
                let value = fields
                    .iter()
                    .find(|(_, name)| *name == field)
                    .and_then(|(value, _)| text(value));
                let Some(value) = value else {
                    self.error(
                        raw,
                        &format!("{key}.{field}"),
                        format!(
                            "missing: {} needs `{field}` for each environment",
                            kind.display_name()
                        ),
                    );
                    return None;
                };
                Some(value)
            }
            None => None,
        };
        let branch = text(&environment.branch);
        let branch_based = matches!(kind, ProviderKind::Netlify | ProviderKind::CloudflarePages);
        if branch_based && branch.is_none() && known.kind != EnvironmentKind::Production {
            self.error(
                raw,
                &format!("{key}.branch"),
                format!(
                    "missing: {} has only production and branch deploys; name the branch deployed to `{environment_name}`",
                    kind.display_name()
                ),
            );
            return None;
        }
        let is_workflow = matches!(
            resource,
            Some(ServiceResource::Repository {
                workflow: Some(_),
                ..
            })
        );
        if is_workflow && branch.is_none() {
            self.error(
                raw,
                &format!("{key}.branch"),
                "missing: with `workflow`, name the branch whose runs deploy this environment",
            );
            return None;
        }
        let provider_environment = match kind {
            ProviderKind::Vercel => text(&environment.target),
            ProviderKind::Railway | ProviderKind::Github => text(&environment.environment_name),
            // Only production is a named environment there; a branch environment matches by
            // its branch, so it gets a name no provider environment has.
            ProviderKind::Netlify | ProviderKind::CloudflarePages => Some(match &branch {
                Some(branch) => format!("branch:{branch}"),
                None => "production".to_string(),
            }),
            _ => None,
        }
        .unwrap_or_else(|| environment_name.to_string());
        if kind == ProviderKind::HttpHealth && environment.health.is_none() {
            self.error(
                raw,
                &format!("{key}.health"),
                "missing: an `http` service needs a health check",
            );
            return None;
        }
        let url = match &environment.url {
            Some(url) => Some(self.url(url, &format!("{key}.url"))?),
            None => None,
        };
        let health = match &environment.health {
            Some(health) => Some(self.health(health, &format!("{key}.health"))?),
            None => None,
        };
        Some(ServiceEnvironment {
            environment: environment_name.to_string(),
            provider_environment,
            resource_id,
            branch,
            url,
            health,
        })
    }

    pub(super) fn health(
        &mut self,
        raw: &Spanned<RawHealth>,
        key: &str,
    ) -> Option<HealthCheckSpec> {
        let health = raw.get_ref();
        let url = self.url(&health.url, &format!("{key}.url"))?;
        let expect_json = match (&health.json_pointer, &health.expect_value) {
            (Some(pointer), Some(value)) => {
                if !pointer.get_ref().starts_with('/') {
                    self.error(
                        pointer,
                        &format!("{key}.json_pointer"),
                        "a JSON pointer starts with `/` (e.g. /status)",
                    );
                    return None;
                }
                let Ok(json) = serde_json::to_value(value.get_ref()) else {
                    self.error(
                        value,
                        &format!("{key}.expect_value"),
                        "cannot be compared with JSON",
                    );
                    return None;
                };
                Some(JsonExpectation {
                    pointer: pointer.get_ref().clone(),
                    value: json,
                })
            }
            (None, None) => None,
            (Some(pointer), None) => {
                self.error(
                    pointer,
                    &format!("{key}.expect_value"),
                    "missing: json_pointer needs expect_value",
                );
                return None;
            }
            (None, Some(value)) => {
                self.error(
                    value,
                    &format!("{key}.json_pointer"),
                    "missing: expect_value needs json_pointer",
                );
                return None;
            }
        };
        if let Some(status) = &health.expect_status {
            if !(100..=599).contains(status.get_ref()) {
                self.error(
                    status,
                    &format!("{key}.expect_status"),
                    "not an HTTP status code",
                );
            }
        }
        let millis = |value: &Option<Spanned<u64>>, default: u64| {
            value.as_ref().map_or(default, |v| *v.get_ref())
        };
        Some(HealthCheckSpec {
            url,
            expect_status: health
                .expect_status
                .as_ref()
                .map(|status| *status.get_ref()),
            expect_json,
            degraded_latency: Duration::from_millis(millis(
                &health.degraded_latency_ms,
                DEFAULT_DEGRADED_LATENCY_MILLIS,
            )),
            timeout: Duration::from_millis(
                millis(&health.timeout_ms, DEFAULT_HEALTH_TIMEOUT_MILLIS).max(1),
            ),
        })
    }
}
