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
use super::ProviderError;
use crate::secret::Secret;
use app::model::{HealthState, HealthView};
use chrono::Utc;
use reqwest::header::ACCEPT;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashSet;
use std::fmt;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// The Management API base.
pub const DEFAULT_API_BASE: &str = "https://api.supabase.com";
/// Supabase's public status page (an Atlassian Statuspage; UNCONFIRMED by Supabase's docs, but
/// widely used).
pub const DEFAULT_STATUS_BASE: &str = "https://status.supabase.com";

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
            warn_unknown("service status", other);
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
            warn_unknown("project status", other);
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
            warn_unknown("status page indicator", other);
            HealthState::Unknown
        }
    }
}

fn warn_unknown(kind: &'static str, value: &str) {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let first_time = SEEN
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .map(|mut seen| seen.insert(format!("{kind}:{value}")))
        .unwrap_or(true);
    if first_time {
        tracing::warn!(
            provider = "supabase",
            kind,
            value,
            "unknown Supabase value; shown as unknown"
        );
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
        let invalid_base = || ProviderError::Transport {
            detail: "the configured Supabase base is not a usable URL".into(),
        };
        let mut url = url::Url::parse(base).map_err(|_| invalid_base())?;
        url.path_segments_mut()
            .map_err(|()| invalid_base())?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    fn management_get(&self, url: url::Url) -> reqwest::RequestBuilder {
        self.http
            .get(url)
            .bearer_auth(self.config.token.expose())
            .header(ACCEPT, "application/json")
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
        let (answers, rate_limit): (Vec<WireServiceHealth>, _) =
            http::send_json(self.management_get(url), error_message).await?;
        let latency_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        Self::note_budget(&rate_limit);
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
        let (project, rate_limit): (WireProject, _) =
            http::send_json(self.management_get(url), error_message).await?;
        Self::note_budget(&rate_limit);
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
        let (page, _rate_limit): (WireStatusPage, _) =
            http::send_json(request, error_message).await?;
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
mod tests {
    use super::*;

    const HEALTH_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/supabase_project_health.json");
    const STATUSPAGE_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/supabase_statuspage_status_CONSTRUCTED.json");

    fn client() -> SupabaseClient {
        SupabaseClient::new(
            reqwest::Client::new(),
            SupabaseClientConfig {
                api_base: DEFAULT_API_BASE.into(),
                token: Secret::new("sbp_test_token"),
                project_ref: "abcdefghijklmnopqrst".into(),
                status_base: DEFAULT_STATUS_BASE.into(),
            },
        )
    }

    fn service(name: &str, status: &str) -> WireServiceHealth {
        WireServiceHealth {
            name: Some(name.into()),
            healthy: Some(status == "ACTIVE_HEALTHY"),
            status: Some(status.into()),
            error: (status == "UNHEALTHY").then(|| format!("{name} is not responding")),
        }
    }

    #[test]
    fn every_supabase_health_value_maps_to_a_lookout_state() {
        for (status, expected) in [
            ("ACTIVE_HEALTHY", HealthState::Up),
            ("COMING_UP", HealthState::Degraded),
            ("UNHEALTHY", HealthState::Down),
            ("SOMETHING_NEW", HealthState::Unknown),
        ] {
            assert_eq!(service_health(status), expected, "service {status}");
        }
        for (status, expected) in [
            ("INACTIVE", HealthState::Down),
            ("ACTIVE_HEALTHY", HealthState::Up),
            ("ACTIVE_UNHEALTHY", HealthState::Degraded),
            ("COMING_UP", HealthState::Degraded),
            ("UNKNOWN", HealthState::Unknown),
            ("GOING_DOWN", HealthState::Down),
            ("INIT_FAILED", HealthState::Down),
            ("REMOVED", HealthState::Down),
            ("RESTORING", HealthState::Degraded),
            ("UPGRADING", HealthState::Degraded),
            ("PAUSING", HealthState::Down),
            ("RESTORE_FAILED", HealthState::Down),
            ("RESTARTING", HealthState::Degraded),
            ("PAUSE_FAILED", HealthState::Down),
            ("RESIZING", HealthState::Degraded),
            ("HIBERNATING", HealthState::Unknown),
        ] {
            assert_eq!(project_health_state(status), expected, "project {status}");
        }
        for (indicator, expected) in [
            ("none", HealthState::Up),
            ("minor", HealthState::Degraded),
            ("major", HealthState::Degraded),
            ("critical", HealthState::Down),
            ("maintenance", HealthState::Degraded),
            ("apocalyptic", HealthState::Unknown),
        ] {
            assert_eq!(
                platform_indicator_health(indicator),
                expected,
                "{indicator}"
            );
        }
    }

    #[test]
    fn health_fixture_parses_and_summarizes() {
        let answers: Vec<WireServiceHealth> = serde_json::from_str(HEALTH_FIXTURE).unwrap();
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0].name.as_deref(), Some("auth"));
        assert_eq!(answers[0].status.as_deref(), Some("COMING_UP"));
        assert_eq!(
            answers[0].healthy,
            Some(true),
            "deprecated and contradicting status"
        );
        assert_eq!(answers[0].error.as_deref(), Some("lorem"));
        let (state, detail) = summarize(&[SupabaseService::Auth], &answers);
        assert_eq!(state, HealthState::Degraded, "status wins over `healthy`");
        assert_eq!(detail.as_deref(), Some("coming up: auth"));
    }

    #[test]
    fn statuspage_fixture_parses() {
        let page: WireStatusPage = serde_json::from_str(STATUSPAGE_FIXTURE).unwrap();
        assert_eq!(page.status.indicator.as_deref(), Some("none"));
        assert_eq!(
            page.status.description.as_deref(),
            Some("All Systems Operational")
        );
        assert!(serde_json::from_str::<WireStatusPage>(r#"{"page":{}}"#).is_err());
    }

    #[test]
    fn services_roll_up_worst_first_with_the_database_decisive() {
        let all = DEFAULT_SERVICES;
        let healthy: Vec<WireServiceHealth> = all
            .iter()
            .map(|s| service(s.as_str(), "ACTIVE_HEALTHY"))
            .collect();
        assert_eq!(summarize(&all, &healthy), (HealthState::Up, None));

        let mut auth_down = healthy.clone();
        auth_down[0] = service("auth", "UNHEALTHY");
        auth_down[5] = service("storage", "COMING_UP");
        assert_eq!(
            summarize(&all, &auth_down),
            (
                HealthState::Degraded,
                Some("unhealthy: auth (auth is not responding); coming up: storage".into())
            )
        );

        let mut db_down = healthy.clone();
        db_down[1] = service("db", "UNHEALTHY");
        assert_eq!(summarize(&all, &db_down).0, HealthState::Down);

        let everything_down: Vec<WireServiceHealth> =
            [SupabaseService::Auth, SupabaseService::Storage]
                .iter()
                .map(|s| service(s.as_str(), "UNHEALTHY"))
                .collect();
        assert_eq!(
            summarize(
                &[SupabaseService::Auth, SupabaseService::Storage],
                &everything_down
            )
            .0,
            HealthState::Down
        );

        let mut strange = healthy.clone();
        strange[4] = service("rest", "SOMETHING_NEW");
        strange.pop();
        assert_eq!(
            summarize(&all, &strange),
            (
                HealthState::Unknown,
                Some("unknown: rest (SOMETHING_NEW), storage (not reported)".into())
            )
        );

        let legacy = vec![WireServiceHealth {
            name: Some("db".into()),
            healthy: Some(false),
            status: None,
            error: None,
        }];
        assert_eq!(
            summarize(&[SupabaseService::Db], &legacy),
            (HealthState::Down, Some("unhealthy: db".into()))
        );
        assert_eq!(summarize(&all, &[]).0, HealthState::Unknown);
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message(br#"{"message":"Unauthorized"}"#).as_deref(),
            Some("Unauthorized")
        );
        assert_eq!(
            error_message(br#"{"error":"rate limited"}"#).as_deref(),
            Some("rate limited")
        );
        assert_eq!(error_message(b"<html>502</html>"), None);
        assert_eq!(error_message(br#"{"message":""}"#), None);
    }

    #[test]
    fn urls_and_services_are_configured() {
        let client = client();
        assert_eq!(client.services(), DEFAULT_SERVICES);
        let chosen = client.clone().with_services(&[
            SupabaseService::Db,
            SupabaseService::PgBouncer,
            SupabaseService::Db,
        ]);
        assert_eq!(
            chosen.services(),
            [SupabaseService::Db, SupabaseService::PgBouncer]
        );
        assert_eq!(
            client.clone().with_services(&[]).services(),
            DEFAULT_SERVICES
        );
        assert_eq!(
            client
                .url(
                    "http://127.0.0.1:9/supabase/",
                    &["v1", "projects", "a/b", "health"]
                )
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/supabase/v1/projects/a%2Fb/health"
        );
        for service in SupabaseService::ALL {
            assert_eq!(SupabaseService::from_wire(service.as_str()), Some(service));
        }
        assert_eq!(SupabaseService::from_wire("kafka"), None);
        assert!(!format!("{client:?}").contains("sbp_test_token"));
    }
}
