//! The Supabase client: the health of one Supabase project through the Management API
//! (`GET /v1/projects/{ref}/health`, plus the project's lifecycle status from
//! `GET /v1/projects/{ref}`), and Supabase's public status page.
//!
//! Health only: Supabase offers no deployment or rollback API (contract section 6), so this
//! client does NOT implement [`super::DeploymentProvider`]; the monitor runs it like a health
//! check and shows a Supabase project as a service without deploys.
//!
//! It owns Supabase's service names and health statuses, the mapping of several services onto
//! one [`HealthView`], the project lifecycle enum, the Statuspage indicator, and Supabase's
//! `X-RateLimit-*` headers (120 requests a minute per endpoint; a 429 lasts until the minute
//! ends, and `X-RateLimit-Reset` says when). Contract:
//! `shared/providers/github-digitalocean-fly-heroku-cloudflare-supabase.md`, section 6.

use super::http;
use super::wire;
use super::ProviderError;
use crate::secret::Secret;
use app::model::{HealthState, HealthView};
use chrono::Utc;
use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;
use std::time::Instant;

/// The Management API base.
pub const DEFAULT_API_BASE: &str = "https://api.supabase.com";
/// Supabase's public status page (an Atlassian Statuspage; UNCONFIRMED by Supabase's docs, but
/// widely used).
pub const DEFAULT_STATUS_BASE: &str = "https://status.supabase.com";
/// Supabase's Management API and status page: `{message}` bodies, the shared status mapping.
const API: http::RestApi = http::RestApi::new("Supabase", error_message);

/// One service error text shown in the detail is cut to this many characters.
const MAX_ERROR_CHARS: usize = 120;
/// Remaining budget at or under which a debug line says so.
const LOW_BUDGET: u64 = 10;

/// A service the health endpoint can report on (`services` in the contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SupabaseService {
    Auth,
    Db,
    DbPostgresUser,
    Pooler,
    Realtime,
    Rest,
    Storage,
    PgBouncer,
}

impl SupabaseService {
    /// Every documented service, in the contract's order.
    pub const ALL: [SupabaseService; 8] = [
        Self::Auth,
        Self::Db,
        Self::DbPostgresUser,
        Self::Pooler,
        Self::Realtime,
        Self::Rest,
        Self::Storage,
        Self::PgBouncer,
    ];

    /// The wire name (`db_postgres_user`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Db => "db",
            Self::DbPostgresUser => "db_postgres_user",
            Self::Pooler => "pooler",
            Self::Realtime => "realtime",
            Self::Rest => "rest",
            Self::Storage => "storage",
            Self::PgBouncer => "pg_bouncer",
        }
    }

    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|service| service.as_str() == name.trim())
    }
}

impl fmt::Display for SupabaseService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a project is asked about unless configured otherwise: the services an app talks to.
/// `db_postgres_user` (a second database probe) and `pg_bouncer` (a dedicated PgBouncer that
/// not every project has; how the endpoint answers for one without it is UNCONFIRMED) are left
/// to explicit configuration.
pub const DEFAULT_SERVICES: [SupabaseService; 6] = [
    SupabaseService::Auth,
    SupabaseService::Db,
    SupabaseService::Pooler,
    SupabaseService::Realtime,
    SupabaseService::Rest,
    SupabaseService::Storage,
];

/// Where and as whom the client talks to Supabase, and which project it watches.
#[derive(Clone, Debug)]
pub struct SupabaseClientConfig {
    /// [`DEFAULT_API_BASE`], or a simulator's `http://127.0.0.1:PORT/supabase`.
    pub api_base: String,
    /// A personal access token (`sbp_…`) or an OAuth access token with `projects:read`.
    pub token: Secret,
    /// The project ref: 20 lower-case letters.
    pub project_ref: String,
    /// [`DEFAULT_STATUS_BASE`], or a simulator's base. The token is never sent there.
    pub status_base: String,
}

/// A project's lifecycle status (`GET /v1/projects/{ref}`), mapped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SupabaseProject {
    /// Supabase's own value (`ACTIVE_HEALTHY`, `INACTIVE`, …).
    pub status: String,
    pub health: HealthState,
    pub name: Option<String>,
    pub region: Option<String>,
}

/// A health client for one Supabase project.
#[derive(Clone, Debug)]
pub struct SupabaseClient {
    http: reqwest::Client,
    config: SupabaseClientConfig,
    services: Vec<SupabaseService>,
}

/// One item of the health answer (`V1ServiceHealthResponse`).
#[derive(Clone, Debug, Deserialize)]
struct WireServiceHealth {
    #[serde(default)]
    name: Option<String>,
    /// Deprecated in favour of `status`; read only when `status` is missing.
    #[serde(default)]
    healthy: Option<bool>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// The part of `GET /v1/projects/{ref}` Lookout reads.
#[derive(Debug, Deserialize)]
struct WireProject {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    region: Option<String>,
}

/// Statuspage's `status.json`: `{page, status: {indicator, description}}`.
#[derive(Debug, Deserialize)]
struct WireStatusPage {
    status: WireStatusIndicator,
}

#[derive(Debug, Deserialize)]
struct WireStatusIndicator {
    #[serde(default)]
    indicator: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Mapping
// ---------------------------------------------------------------------------------------------

/// A service's `status` → Lookout's health: `ACTIVE_HEALTHY` is up, `COMING_UP` degraded
/// (starting, not yet answering), `UNHEALTHY` down. Anything else is unknown (logged once).
pub fn service_health(status: &str) -> HealthState {
    match status.trim() {
        "ACTIVE_HEALTHY" => HealthState::Up,
        "COMING_UP" => HealthState::Degraded,
        "UNHEALTHY" => HealthState::Down,
        other => {
            wire::warn_unknown("supabase", "service status", other);
            HealthState::Unknown
        }
    }
}

/// A project lifecycle `status` → Lookout's health.
pub fn project_health_state(status: &str) -> HealthState {
    match status.trim() {
        "ACTIVE_HEALTHY" => HealthState::Up,
        // Running, but a service is unhealthy: the health endpoint says which.
        "ACTIVE_UNHEALTHY" => HealthState::Degraded,
        // On the way up or through maintenance: may answer slowly or not at all for a while.
        "COMING_UP" | "RESTORING" | "UPGRADING" | "RESTARTING" | "RESIZING" => {
            HealthState::Degraded
        }
        // Paused (INACTIVE) or on the way there, removed, or stuck after a failed operation:
        // the project does not serve.
        "INACTIVE" | "GOING_DOWN" | "PAUSING" | "REMOVED" | "INIT_FAILED" | "RESTORE_FAILED"
        | "PAUSE_FAILED" => HealthState::Down,
        "UNKNOWN" => HealthState::Unknown,
        other => {
            wire::warn_unknown("supabase", "project status", other);
            HealthState::Unknown
        }
    }
}

/// The Statuspage `status.indicator` → Lookout's health, with Statuspage's own wording:
/// `none` "All Systems Operational", `minor` a minor or partial degradation, `major` a
/// partial system outage, `critical` a major outage. The page covers the whole platform, not
/// this project, so only `critical` reads as down. `maintenance` is outside the contract's
/// list but Statuspage pages send it during maintenance windows (UNCONFIRMED for Supabase).
pub fn platform_indicator_health(indicator: &str) -> HealthState {
    match indicator.trim() {
        "none" => HealthState::Up,
        "minor" | "major" | "maintenance" => HealthState::Degraded,
        "critical" => HealthState::Down,
        other => {
            wire::warn_unknown("supabase", "status page indicator", other);
            HealthState::Unknown
        }
    }
}

fn short(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// Rolls the services up into one state and a detail naming the ones that are not up:
/// - no services reported: unknown;
/// - the database unhealthy, or every reported service unhealthy: down (nothing works
///   without the database);
/// - another service unhealthy, or any coming up: degraded;
/// - a status Lookout does not know, or a requested service missing from the answer:
///   unknown (nothing worse being known);
/// - otherwise up.
fn summarize(
    requested: &[SupabaseService],
    answers: &[WireServiceHealth],
) -> (HealthState, Option<String>) {
    if answers.is_empty() {
        return (
            HealthState::Unknown,
            Some("Supabase reported no services".into()),
        );
    }
    let mut unhealthy: Vec<String> = Vec::new();
    let mut coming_up: Vec<String> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut database_down = false;
    let mut reported: HashSet<&str> = HashSet::new();
    for answer in answers {
        let name = answer
            .name
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .unwrap_or("unnamed service");
        reported.insert(name);
        let state = match (answer.status.as_deref(), answer.healthy) {
            (Some(status), _) => service_health(status),
            (None, Some(true)) => HealthState::Up,
            (None, Some(false)) => HealthState::Down,
            (None, None) => HealthState::Unknown,
        };
        match state {
            HealthState::Up | HealthState::Unchecked => {}
            HealthState::Degraded => coming_up.push(name.to_string()),
            HealthState::Down => {
                database_down |= name == SupabaseService::Db.as_str();
                unhealthy.push(match answer.error.as_deref().map(short) {
                    Some(error) if !error.is_empty() => format!("{name} ({error})"),
                    _ => name.to_string(),
                });
            }
            HealthState::Unknown => unknown.push(match answer.status.as_deref() {
                Some(status) => format!("{name} ({})", short(status)),
                None => format!("{name} (no status)"),
            }),
        }
    }
    for service in requested {
        if !reported.contains(service.as_str()) {
            unknown.push(format!("{service} (not reported)"));
        }
    }
    let state = if database_down || unhealthy.len() == answers.len() {
        HealthState::Down
    } else if !unhealthy.is_empty() || !coming_up.is_empty() {
        HealthState::Degraded
    } else if !unknown.is_empty() {
        HealthState::Unknown
    } else {
        HealthState::Up
    };
    let mut parts = Vec::new();
    if !unhealthy.is_empty() {
        parts.push(format!("unhealthy: {}", unhealthy.join(", ")));
    }
    if !coming_up.is_empty() {
        parts.push(format!("coming up: {}", coming_up.join(", ")));
    }
    if !unknown.is_empty() {
        parts.push(format!("unknown: {}", unknown.join(", ")));
    }
    let detail = (!parts.is_empty()).then(|| parts.join("; "));
    (state, detail)
}

/// The message of a Management API error body. Its shape is UNCONFIRMED (the spec gives only
/// descriptions), so `message`, `error` and `msg` are all read.
fn error_message(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    ["message", "error", "msg"]
        .iter()
        .find_map(|key| value.get(*key)?.as_str().map(short))
        .filter(|text| !text.is_empty())
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

impl SupabaseClient {
    /// A client asking about [`DEFAULT_SERVICES`].
    pub fn new(http: reqwest::Client, config: SupabaseClientConfig) -> Self {
        Self {
            http,
            config,
            services: DEFAULT_SERVICES.to_vec(),
        }
    }

    /// Asks about these services instead (duplicates dropped; an empty list keeps the
    /// defaults, since the endpoint requires at least one).
    pub fn with_services(mut self, services: &[SupabaseService]) -> Self {
        let mut chosen: Vec<SupabaseService> = Vec::new();
        for service in services {
            if !chosen.contains(service) {
                chosen.push(*service);
            }
        }
        if !chosen.is_empty() {
            self.services = chosen;
        }
        self
    }

    pub fn config(&self) -> &SupabaseClientConfig {
        &self.config
    }

    pub fn services(&self) -> &[SupabaseService] {
        &self.services
    }

    /// `{base}/{segments…}`, each segment percent-encoded.
    fn url(&self, base: &str, segments: &[&str]) -> Result<url::Url, ProviderError> {
        API.url(base, segments, &[])
    }

    fn management_get(&self, url: url::Url) -> reqwest::RequestBuilder {
        API.bearer(self.http.get(url), &self.config.token)
    }

    /// A Management API answer decoded, its rate-limit budget noted.
    async fn management_json<T: serde::de::DeserializeOwned>(
        &self,
        url: url::Url,
    ) -> Result<T, ProviderError> {
        let answer = API.send(self.management_get(url)).await?;
        Self::note_budget(&answer.rate_limit());
        API.decode(&answer.body)
    }

    fn note_budget(rate_limit: &http::RateLimitInfo) {
        if rate_limit.remaining.is_some_and(|left| left <= LOW_BUDGET) {
            tracing::debug!(
                provider = "supabase",
                remaining = ?rate_limit.remaining,
                limit = ?rate_limit.limit,
                "Supabase rate-limit budget running low"
            );
        }
    }

    /// The project's health: `GET /v1/projects/{ref}/health?services=auth,db,…` (comma
    /// separated, as public clients send it; the spec does not say how the array is encoded,
    /// UNCONFIRMED beyond that usage). `timeout_ms` is not sent: an observed 400 for
    /// `timeout_ms=10000` suggests the documented range is not what the API accepts.
    /// `latency_ms` is the time the request took.
    #[tracing::instrument(skip_all, fields(provider = "supabase", project_ref = %self.config.project_ref))]
    pub async fn project_health(&self) -> Result<HealthView, ProviderError> {
        let mut url = self.url(
            &self.config.api_base,
            &["v1", "projects", &self.config.project_ref, "health"],
        )?;
        let services: Vec<&str> = self.services.iter().map(|s| s.as_str()).collect();
        url.query_pairs_mut()
            .append_pair("services", &services.join(","));
        let started = Instant::now();
        let answers: Vec<WireServiceHealth> = self.management_json(url).await?;
        let latency_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let (state, detail) = summarize(&self.services, &answers);
        Ok(HealthView {
            state,
            checked_at: Some(Utc::now()),
            latency_ms: Some(latency_ms),
            detail,
        })
    }

    /// The project's lifecycle status (`GET /v1/projects/{ref}`): says why a project does not
    /// answer (paused, restoring, upgrading) where the health endpoint only says that it does
    /// not.
    #[tracing::instrument(skip_all, fields(provider = "supabase", project_ref = %self.config.project_ref))]
    pub async fn project_lifecycle(&self) -> Result<SupabaseProject, ProviderError> {
        let url = self.url(
            &self.config.api_base,
            &["v1", "projects", &self.config.project_ref],
        )?;
        let project: WireProject = self.management_json(url).await?;
        let status = project.status.unwrap_or_default();
        Ok(SupabaseProject {
            health: project_health_state(&status),
            status,
            name: project.name,
            region: project.region,
        })
    }

    /// Supabase's platform status from its public status page (`/api/v2/status.json`): the
    /// indicator mapped, and the page's own description ("All Systems Operational"). No token
    /// goes to the status page: it is public and another host.
    #[tracing::instrument(skip_all, fields(provider = "supabase"))]
    pub async fn platform_status(&self) -> Result<(HealthState, String), ProviderError> {
        let url = self.url(&self.config.status_base, &["api", "v2", "status.json"])?;
        let request = self.http.get(url).header(ACCEPT, "application/json");
        let page: WireStatusPage = API.send_json(request).await?;
        let indicator = page.status.indicator.unwrap_or_default();
        let description = page
            .status
            .description
            .map(|text| short(&text))
            .filter(|text| !text.is_empty())
            .unwrap_or_else(|| format!("status indicator: {indicator}"));
        Ok((platform_indicator_health(&indicator), description))
    }
}

#[cfg(test)]
mod tests;
