//! DigitalOcean App Platform client: the deployments of one app, read through the public API
//! (`/v2/apps/{app_id}…`) and mapped onto Lookout's types, plus the app's component health.
//!
//! App Platform has one environment per app (staging or previews are separate apps), so one
//! [`DigitalOceanClient`] serves one app and every deployment it returns belongs to the Lookout
//! environment named in its config. It owns DigitalOcean's wire format: the `{deployments,
//! links, meta}` list with `page`/`per_page` paging, `app.active_deployment` as the live
//! marker, the `phase` enum, per-component commit hashes, `{id, message, request_id}` errors,
//! `/health`, and rollback (validate, roll back with the app pinned, then commit or revert). Contract: `shared/providers/github-digitalocean-fly-heroku-cloudflare-
//! supabase.md`, section 2.

use super::http::RestApi;
use super::paging::{self, PageRead, PageSignal};
use super::rollback::{
    live_in, HoldKind, HoldOffer, HoldPlacement, HoldRelease, RollbackMethod, RollbackProgress,
    RollbackRequest, RollbackStarted,
};
use super::wire;
use super::{
    CommitInfo, DeploymentPage, DeploymentProvider, PageCursor, ProviderDeployment,
    ProviderEnvironment, ProviderError, ScopeRule,
};
use crate::secret::Secret;
use app::model::{DeployState, HealthState, HealthView, ProviderKind};
use async_trait::async_trait;
use chrono::{DateTime, Datelike, Utc};
use serde::Deserialize;
use url::Url;

/// DigitalOcean's `per_page` limit (1–200, default 20).
pub const MAX_PAGE_SIZE: u32 = 200;
/// DigitalOcean's REST API: `{id, message}` bodies, the shared status mapping.
const API: RestApi = RestApi::new("DigitalOcean", error_message);
/// The control panel. Deployment pages at `/apps/{app_id}/deployments/{id}` are not in the
/// contract (UNCONFIRMED); the app page `/apps/{app_id}` is widely linked, the deployment path
/// is what third-party tools link to.
const DASHBOARD_BASE: &str = "https://cloud.digitalocean.com";
/// The phase a deployment is in once a newer one replaced it.
const SUPERSEDED_PHASE: &str = "SUPERSEDED";

/// Where one App Platform app lives and how to reach its API.
#[derive(Clone, Debug)]
pub struct DigitalOceanClientConfig {
    /// `https://api.digitalocean.com`, or a simulator's base such as
    /// `http://127.0.0.1:PORT/digitalocean`.
    pub api_base: String,
    /// A personal access token with the `app:read` scope.
    pub token: Secret,
    /// The app's UUID.
    pub app_id: String,
    /// The Lookout environment this app serves (e.g. "production").
    pub environment: String,
}

/// A [`DeploymentProvider`] for one App Platform app.
#[derive(Clone, Debug)]
pub struct DigitalOceanClient {
    http: reqwest::Client,
    config: DigitalOceanClientConfig,
}

impl DigitalOceanClient {
    pub fn new(http: reqwest::Client, config: DigitalOceanClientConfig) -> Self {
        Self { http, config }
    }

    /// `{api_base}/v2/apps/{app_id}[/…]`, each segment percent-encoded.
    fn app_url(&self, extra: &[&str]) -> Result<Url, ProviderError> {
        API.url(
            &self.config.api_base,
            &["v2", "apps", self.config.app_id.as_str()],
            extra,
        )
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: Url) -> Result<T, ProviderError> {
        API.send_json(API.bearer(self.http.get(url), &self.config.token))
            .await
    }

    /// `POST {app}/…` with a JSON body (or none) and Bearer auth; the success body's bytes.
    async fn post(
        &self,
        extra: &[&str],
        body: Option<&serde_json::Value>,
    ) -> Result<bytes::Bytes, ProviderError> {
        let mut request = API.bearer(self.http.post(self.app_url(extra)?), &self.config.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        Ok(API.send(request).await?.body)
    }

    /// Maps one App Platform deployment onto Lookout's deployment. `live_url` is the app's
    /// URL, given only for the active deployment (deployments have no URL of their own).
    fn to_deployment(
        &self,
        deployment: WireDeployment,
        live_url: Option<String>,
    ) -> ProviderDeployment {
        let phase = deployment.phase.clone().unwrap_or_default();
        let state = deployment_state(&phase);
        let (sha, component) = deployment.commit_hash();
        let branch = deployment.branch(component.as_deref());
        let finished_at = deployment.finished_at(&phase);
        let dashboard_url = format!(
            "{DASHBOARD_BASE}/apps/{}/deployments/{}",
            self.config.app_id, deployment.id
        );
        ProviderDeployment {
            origin: Vec::new(),
            rollback_refusal: None,
            state,
            provider_state: phase,
            environment: ProviderEnvironment::Named(self.config.environment.clone()),
            commit: CommitInfo {
                sha,
                // Deployments carry no commit message or author. `cause` ("commit 9a4df0b
                // pushed to github/org/repo", "manual", …) is the only text saying what this
                // deployment is, so it stands in for the message.
                message: deployment.cause.filter(|cause| !cause.trim().is_empty()),
                author: None,
                branch,
            },
            // App Platform has no PR previews in this API.
            pr_number: None,
            // No user field on a deployment; `cause` names what, not who.
            creator: None,
            created_at: parse_time(deployment.created_at.as_deref()),
            finished_at,
            url: live_url,
            dashboard_url: Some(dashboard_url),
            id: deployment.id,
        }
    }

    /// Turns one answer of the list endpoint into a page. `page` is the page that was asked
    /// for when it is a number (the cursor is passed to DigitalOcean as given).
    fn to_page(
        &self,
        list: WireDeploymentList,
        page: Option<u32>,
        per_page: u32,
    ) -> Result<DeploymentPage, ProviderError> {
        if list.deployments.is_none() && list.links.is_none() && list.meta.is_none() {
            return Err(ProviderError::Malformed {
                detail: "a DigitalOcean deployment list without deployments, links or meta".into(),
            });
        }
        let next = next_page(&list, page, per_page).map(paging::page_cursor);
        let mut deployments: Vec<ProviderDeployment> = list
            .deployments
            .unwrap_or_default()
            .into_iter()
            .map(|deployment| self.to_deployment(deployment, None))
            .collect();
        // UNCONFIRMED: the contract does not document the order of this list. A page is
        // sorted newest first here so it always reads that way; were DigitalOcean ever to
        // page oldest first, this would fix the order within a page but not across pages.
        deployments.sort_by_key(|deployment| std::cmp::Reverse(deployment.created_at));
        let next = next.filter(|_| !deployments.is_empty());
        Ok(DeploymentPage { deployments, next })
    }

    /// The app's component health from `GET /v2/apps/{app_id}/health`: up when every
    /// component is `HEALTHY` with its replicas ready, down when all are `UNHEALTHY`,
    /// degraded in between, unknown when DigitalOcean does not know.
    #[tracing::instrument(skip_all, fields(provider = "digitalocean", app_id = %self.config.app_id))]
    pub async fn app_health(&self) -> Result<HealthView, ProviderError> {
        let url = self.app_url(&["health"])?;
        let response: WireHealthResponse = self.get(url).await?;
        let components = response.into_components()?;
        Ok(health_view(&components, Utc::now()))
    }
}

#[async_trait]
impl DeploymentProvider for DigitalOceanClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Digitalocean
    }

    #[tracing::instrument(skip_all, fields(provider = "digitalocean", app_id = %self.config.app_id))]
    async fn list_deployments(
        &self,
        cursor: Option<&PageCursor>,
        page_size: u32,
    ) -> Result<DeploymentPage, ProviderError> {
        let per_page = page_size.clamp(1, MAX_PAGE_SIZE);
        // The cursor is the page number this client handed out. It is sent as given (and
        // validated by DigitalOcean), so the next page is computed from it only when it is a
        // number. Page numbers only line up while `page_size` stays the same across a
        // listing, as `list_recent_deployments` keeps it.
        let page_text = cursor.map_or_else(|| "1".to_string(), |cursor| cursor.0.clone());
        let page = page_text.trim().parse::<u32>().ok();
        let mut url = self.app_url(&["deployments"])?;
        url.query_pairs_mut()
            .append_pair("page", &page_text)
            .append_pair("per_page", &per_page.to_string());
        let list: WireDeploymentList = self.get(url).await?;
        self.to_page(list, page, per_page)
    }

    #[tracing::instrument(skip_all, fields(provider = "digitalocean", app_id = %self.config.app_id))]
    async fn live_deployments(&self) -> Result<Vec<ProviderDeployment>, ProviderError> {
        let url = self.app_url(&[])?;
        let envelope: WireAppEnvelope = self.get(url).await?;
        let app = envelope.app;
        let live_url = app
            .live_url
            .or(app.live_url_base)
            .or(app.default_ingress)
            .and_then(|url| super::web_url(Some(url), "live_url"));
        // `active_deployment` is the documented live marker; an app that never deployed
        // successfully has none.
        Ok(app
            .active_deployment
            .map(|deployment| self.to_deployment(deployment, live_url))
            .into_iter()
            .collect())
    }

    #[tracing::instrument(skip_all, fields(provider = "digitalocean", app_id = %self.config.app_id, deployment_id = %id))]
    async fn deployment(&self, id: &str) -> Result<ProviderDeployment, ProviderError> {
        let url = self.app_url(&["deployments", id])?;
        let envelope: WireDeploymentEnvelope = self.get(url).await?;
        // The app's URL belongs to the active deployment only; finding out whether this is
        // that one would cost a second request, so a single deployment carries no URL.
        Ok(self.to_deployment(envelope.deployment, None))
    }

    /// One App Platform app per environment, and every read is addressed to it
    /// (`/v2/apps/{app_id}/deployments/{id}`; a deployment does not name its app): nothing
    /// more to compare.
    fn target_scope(&self, _environment: &ProviderEnvironment) -> Option<Vec<ScopeRule>> {
        Some(Vec::new())
    }

    fn rollback_method(&self) -> Option<RollbackMethod> {
        Some(RollbackMethod {
            action: "App Platform creates a new deployment that restores the target \
                     deployment and pins the app to it until the rollback is committed or \
                     reverted."
                .into(),
            hold: Some(HoldOffer {
                kind: HoldKind::Pinned,
                placement: HoldPlacement::Always,
            }),
            caveats: vec![
                "While the app is pinned, new deployments, including auto-deploy on push, are \
                 disabled until you commit the rollback (keep it) or revert it (back to the \
                 deployment before it)."
                    .into(),
                "DigitalOcean validates the rollback first: only a deployment that went live \
                 can be a target, within your app tier's history limit (the starter tier \
                 allows none), and not while another rollback is pinned."
                    .into(),
                "Static sites may need a rebuild, and components whose image has no digest are \
                 not guaranteed to return to the old version."
                    .into(),
            ],
        })
    }

    #[tracing::instrument(skip_all, fields(provider = "digitalocean", app_id = %self.config.app_id, target = %request.target.id))]
    async fn roll_back(
        &self,
        request: RollbackRequest<'_>,
    ) -> Result<RollbackStarted, ProviderError> {
        // `skip_pin: false`: the app stays pinned to the rollback (the hold this provider
        // always places) until Lookout's user commits or reverts it.
        let body = serde_json::json!({
            "deployment_id": request.target.id,
            "skip_pin": false,
        });
        let validation: WireRollbackValidation =
            decode(&self.post(&["rollback", "validate"], Some(&body)).await?)?;
        let warnings = validation.warnings_text();
        if !validation.valid {
            let mut message = validation.error.map_or_else(
                || "DigitalOcean reports this rollback as not valid".to_string(),
                |error| error.text(),
            );
            if let Some(warnings) = &warnings {
                message.push_str(&format!(" (warnings: {warnings})"));
            }
            // A 200 answer saying no: mapped to the refusal status the user sees.
            return Err(ProviderError::Rejected {
                status: 422,
                message,
            });
        }
        if let Some(warnings) = &warnings {
            tracing::warn!(warnings = %warnings, "DigitalOcean accepted the rollback with warnings");
        }
        // 200 `{deployment}`: the new deployment that performs the rollback.
        let created: WireDeploymentEnvelope =
            decode(&self.post(&["rollback"], Some(&body)).await?)?;
        Ok(RollbackStarted {
            new_deployment_id: Some(created.deployment.id),
            // The interface has no place for warnings; they are kept in the audit row here.
            provider_reference: warnings.map(|warnings| format!("warnings: {warnings}")),
            hold: Some(HoldKind::Pinned),
        })
    }

    /// The rollback deployment's own `phase` (`ERROR`/`CANCELED` end it), then
    /// `app.active_deployment` being that deployment.
    async fn rollback_progress(
        &self,
        environment: &ProviderEnvironment,
        _target: &ProviderDeployment,
        started: &RollbackStarted,
    ) -> Result<RollbackProgress, ProviderError> {
        let Some(created_id) = started.new_deployment_id.as_deref() else {
            return Err(ProviderError::Malformed {
                detail: "a DigitalOcean rollback always creates a deployment, but none was \
                         recorded"
                    .into(),
            });
        };
        let created = self.deployment(created_id).await?;
        match created.state {
            DeployState::Failed | DeployState::Canceled => {
                return Ok(RollbackProgress::Failed {
                    reason: format!(
                        "DigitalOcean reports the rollback deployment {created_id} as {}",
                        created.provider_state
                    ),
                })
            }
            DeployState::Ready => {}
            _ => {
                return Ok(RollbackProgress::Waiting {
                    detail: format!(
                        "rollback deployment {created_id}: {}",
                        created.provider_state
                    ),
                })
            }
        }
        let live = self.live_deployments().await?;
        Ok(match live_in(&live, environment) {
            Some(now) if now.id == created_id => RollbackProgress::Live(Box::new(now.clone())),
            Some(now) => RollbackProgress::Waiting {
                detail: format!("{} is still the active deployment", now.id),
            },
            None => RollbackProgress::Waiting {
                detail: "DigitalOcean reports no active deployment yet".into(),
            },
        })
    }

    #[tracing::instrument(skip_all, fields(provider = "digitalocean", app_id = %self.config.app_id, release = release.name()))]
    async fn release_hold(
        &self,
        _environment: &ProviderEnvironment,
        hold: HoldKind,
        release: HoldRelease,
    ) -> Result<(), ProviderError> {
        match (hold, release) {
            // 200 with an empty body.
            (HoldKind::Pinned, HoldRelease::Commit) => {
                self.post(&["rollback", "commit"], None).await?;
                Ok(())
            }
            // 200 `{deployment}`: a new deployment from the app spec before the rollback. The
            // interface returns nothing, so its id is logged.
            (HoldKind::Pinned, HoldRelease::Revert) => {
                let bytes = self.post(&["rollback", "revert"], None).await?;
                match decode::<WireDeploymentEnvelope>(&bytes) {
                    Ok(reverted) => tracing::info!(
                        deployment_id = %reverted.deployment.id,
                        "DigitalOcean reverts the rollback with a new deployment"
                    ),
                    Err(error) => {
                        tracing::warn!(%error, "unreadable answer to a revert; it was accepted")
                    }
                }
                Ok(())
            }
            _ => Err(ProviderError::Rejected {
                status: 400,
                message: format!(
                    "DigitalOcean has no `{}` for `{}`",
                    release.name(),
                    hold.name()
                ),
            }),
        }
    }
}

/// DigitalOcean's deployment `phase` → Lookout's state. Unknown values become `Unknown`
/// (logged once per value), never an error.
pub fn deployment_state(phase: &str) -> DeployState {
    match phase {
        "PENDING_BUILD" => DeployState::Queued,
        "BUILDING" => DeployState::Building,
        // Built and waiting for its turn to roll out: past the build, so deploying.
        "PENDING_DEPLOY" | "DEPLOYING" => DeployState::Deploying,
        "ACTIVE" => DeployState::Ready,
        "SUPERSEDED" => DeployState::Superseded,
        "ERROR" => DeployState::Failed,
        "CANCELED" => DeployState::Canceled,
        // A documented value that says DigitalOcean does not know: nothing to warn about.
        "UNKNOWN" => DeployState::Unknown,
        other => {
            wire::warn_unknown("digitalocean", "deployment phase", other);
            DeployState::Unknown
        }
    }
}

/// The next page number, by the first rule that applies:
/// 1. `links.pages.next` names it (its `page` parameter; the link itself is never followed,
///    so a link can never send the token to another host);
/// 2. `meta.total` says more deployments follow this page;
/// 3. the documented `links.pages` object is present without `next`: this was the last page;
/// 4. neither `links` nor `meta` (off-contract): a full page may have a successor.
fn next_page(list: &WireDeploymentList, page: Option<u32>, per_page: u32) -> Option<u32> {
    let received = list.deployments.as_ref().map_or(0, Vec::len);
    let pages = list.links.as_ref().and_then(|links| links.pages.as_ref());
    let next_link = pages.and_then(|pages| pages.next.as_deref());
    let Some(page) = page else {
        // A cursor that was not a page number: only a next link can say where to go on.
        return next_link.filter(|_| received > 0).and_then(paging::page_of);
    };
    PageRead {
        page,
        per_page,
        received,
    }
    .next_page(PageSignal {
        next_link,
        total_count: list.meta.as_ref().and_then(|meta| meta.total),
        links_without_next: pages.is_some(),
        ..PageSignal::default()
    })
}

/// The message of DigitalOcean's error body `{id, message, request_id?}`: the message, else
/// the short id (`not_found`, `too_many_requests`).
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct WireError {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    let error: WireError = serde_json::from_slice(body).ok()?;
    error
        .message
        .filter(|text| !text.trim().is_empty())
        .or(error.id)
        .filter(|text| !text.trim().is_empty())
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ProviderError> {
    API.decode(bytes)
}

/// `POST …/rollback/validate`'s answer: `{valid, error?, warnings?}`.
#[derive(Debug, Deserialize)]
struct WireRollbackValidation {
    valid: bool,
    #[serde(default)]
    error: Option<WireRollbackCondition>,
    #[serde(default)]
    warnings: Vec<WireRollbackCondition>,
}

/// `app_rollback_validation_condition`: `{code, message, components?}`.
#[derive(Debug, Deserialize)]
struct WireRollbackCondition {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    components: Vec<String>,
}

impl WireRollbackCondition {
    /// "message (code; components: a, b)".
    fn text(&self) -> String {
        let message = self
            .message
            .as_deref()
            .filter(|text| !text.trim().is_empty())
            .unwrap_or("no reason given");
        let mut details: Vec<String> = self.code.iter().cloned().collect();
        if !self.components.is_empty() {
            details.push(format!("components: {}", self.components.join(", ")));
        }
        if details.is_empty() {
            message.to_string()
        } else {
            format!("{message} ({})", details.join("; "))
        }
    }
}

impl WireRollbackValidation {
    fn warnings_text(&self) -> Option<String> {
        (!self.warnings.is_empty()).then(|| {
            self.warnings
                .iter()
                .map(WireRollbackCondition::text)
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// An RFC 3339 timestamp. DigitalOcean writes an unset time as `0001-01-01T00:00:00Z`
/// (sometimes without the `Z`): that, and anything unreadable, is no time at all.
fn parse_time(value: Option<&str>) -> Option<DateTime<Utc>> {
    let value = value?.trim();
    if value.is_empty() || value.starts_with("0001-01-01") {
        return None;
    }
    match DateTime::parse_from_rfc3339(value) {
        Ok(time) if time.year() > 1 => Some(time.with_timezone(&Utc)),
        Ok(_) => None,
        Err(_) => {
            tracing::warn!(value, "unreadable DigitalOcean timestamp; ignored");
            None
        }
    }
}

/// The health of the app's components. Function components carry only metrics, no state,
/// so they do not count.
fn health_view(components: &[WireComponentHealth], now: DateTime<Utc>) -> HealthView {
    let checked_at = Some(now);
    let view = |state, detail: Option<String>| HealthView {
        state,
        checked_at,
        // The API call's latency says nothing about the app's; there is none to report.
        latency_ms: None,
        detail,
    };
    if components.is_empty() {
        return view(
            HealthState::Unknown,
            Some("DigitalOcean reported no components".into()),
        );
    }
    let mut unhealthy = Vec::new();
    let mut unknown = Vec::new();
    let mut short_of_replicas = Vec::new();
    for component in components {
        let name = component.name.as_deref().unwrap_or("unnamed component");
        match component.state.as_deref().unwrap_or("UNKNOWN") {
            "HEALTHY" => {
                if let (Some(desired), Some(ready)) = (
                    component.replicas_desired.as_ref().and_then(as_u64),
                    component.replicas_ready.as_ref().and_then(as_u64),
                ) {
                    if ready < desired {
                        short_of_replicas
                            .push(format!("{name}: {ready} of {desired} replicas ready"));
                    }
                }
            }
            "UNHEALTHY" => unhealthy.push(name.to_string()),
            "UNKNOWN" => unknown.push(name.to_string()),
            other => {
                wire::warn_unknown("digitalocean", "component health state", other);
                unknown.push(name.to_string());
            }
        }
    }
    if unhealthy.len() == components.len() {
        view(
            HealthState::Down,
            Some(format!("unhealthy: {}", unhealthy.join(", "))),
        )
    } else if !unhealthy.is_empty() {
        view(
            HealthState::Degraded,
            Some(format!("unhealthy: {}", unhealthy.join(", "))),
        )
    } else if !short_of_replicas.is_empty() {
        view(HealthState::Degraded, Some(short_of_replicas.join("; ")))
    } else if !unknown.is_empty() {
        view(
            HealthState::Unknown,
            Some(format!("health unknown for: {}", unknown.join(", "))),
        )
    } else {
        view(HealthState::Up, None)
    }
}

/// A count that DigitalOcean's int64 fields may send as a number or, protobuf-style, as a
/// string.
fn as_u64(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(number) => number.as_u64(),
        serde_json::Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// `{deployments, links: {pages}, meta: {total}}`. An app without deployments may come back
/// without the `deployments` array (empty lists are often omitted), so each part is optional,
/// but a body with none of them is not this shape.
#[derive(Debug, Deserialize)]
struct WireDeploymentList {
    #[serde(default)]
    deployments: Option<Vec<WireDeployment>>,
    #[serde(default)]
    links: Option<WireLinks>,
    #[serde(default)]
    meta: Option<WireMeta>,
}

#[derive(Debug, Deserialize)]
struct WireLinks {
    #[serde(default)]
    pages: Option<WirePages>,
}

/// `first`, `prev`, `next` and `last` are absolute URLs; only `next` matters here.
#[derive(Debug, Deserialize)]
struct WirePages {
    #[serde(default)]
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireMeta {
    #[serde(default)]
    total: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct WireDeploymentEnvelope {
    deployment: WireDeployment,
}

#[derive(Debug, Deserialize)]
struct WireAppEnvelope {
    app: WireApp,
}

/// The fields of `app` Lookout reads; `in_progress_deployment`, `pending_deployment` and
/// `pinned_deployment` are not live and are ignored.
#[derive(Debug, Deserialize)]
struct WireApp {
    #[serde(default)]
    active_deployment: Option<WireDeployment>,
    #[serde(default)]
    live_url: Option<String>,
    #[serde(default)]
    live_url_base: Option<String>,
    #[serde(default)]
    default_ingress: Option<String>,
}

/// `apps_deployment`. Only the fields Lookout uses; `progress` counters, `tier_slug`,
/// `cloned_from` and the rest of `spec` are ignored.
#[derive(Debug, Deserialize)]
struct WireDeployment {
    id: String,
    #[serde(default)]
    cause: Option<String>,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    phase_last_updated_at: Option<String>,
    #[serde(default)]
    progress: Option<WireProgress>,
    #[serde(default)]
    services: Vec<WireComponent>,
    #[serde(default)]
    workers: Vec<WireComponent>,
    #[serde(default)]
    jobs: Vec<WireComponent>,
    #[serde(default)]
    static_sites: Vec<WireComponent>,
    #[serde(default)]
    functions: Vec<WireComponent>,
    #[serde(default)]
    spec: Option<WireSpec>,
}

/// One deployed component: `{name, source_commit_hash}`.
#[derive(Debug, Deserialize)]
struct WireComponent {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    source_commit_hash: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireProgress {
    #[serde(default)]
    steps: Vec<WireStep>,
}

#[derive(Debug, Deserialize)]
struct WireStep {
    #[serde(default)]
    ended_at: Option<String>,
}

/// The app spec a deployment was made from; only the git sources of its components.
#[derive(Debug, Default, Deserialize)]
struct WireSpec {
    #[serde(default)]
    services: Vec<WireComponentSpec>,
    #[serde(default)]
    workers: Vec<WireComponentSpec>,
    #[serde(default)]
    jobs: Vec<WireComponentSpec>,
    #[serde(default)]
    static_sites: Vec<WireComponentSpec>,
    #[serde(default)]
    functions: Vec<WireComponentSpec>,
}

/// A component's source: `github`, `gitlab`, `bitbucket` or plain `git`, each with `branch`.
#[derive(Debug, Deserialize)]
struct WireComponentSpec {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    github: Option<WireGitSource>,
    #[serde(default)]
    gitlab: Option<WireGitSource>,
    #[serde(default)]
    bitbucket: Option<WireGitSource>,
    #[serde(default)]
    git: Option<WireGitSource>,
}

#[derive(Debug, Deserialize)]
struct WireGitSource {
    #[serde(default)]
    branch: Option<String>,
}

impl WireComponentSpec {
    fn branch(&self) -> Option<String> {
        [&self.github, &self.gitlab, &self.bitbucket, &self.git]
            .into_iter()
            .flatten()
            .find_map(|source| source.branch.clone())
            .filter(|branch| !branch.is_empty())
    }
}

impl WireDeployment {
    fn components(&self) -> impl Iterator<Item = &WireComponent> {
        self.services
            .iter()
            .chain(&self.workers)
            .chain(&self.jobs)
            .chain(&self.static_sites)
            .chain(&self.functions)
    }

    /// The commit hash and the component it came from. Hashes are per component; an app
    /// built from one repository has the same hash everywhere, and for one built from
    /// several the first service's (else worker's, job's, …) stands for the deployment.
    fn commit_hash(&self) -> (Option<String>, Option<String>) {
        self.components()
            .find_map(|component| {
                let hash = component.source_commit_hash.as_deref()?.trim();
                (!hash.is_empty()).then(|| (Some(hash.to_string()), component.name.clone()))
            })
            .unwrap_or((None, None))
    }

    /// The branch of the component the commit hash came from, else of the first component
    /// that names one.
    fn branch(&self, component: Option<&str>) -> Option<String> {
        let spec = self.spec.as_ref()?;
        let specs = || {
            spec.services
                .iter()
                .chain(&spec.workers)
                .chain(&spec.jobs)
                .chain(&spec.static_sites)
                .chain(&spec.functions)
        };
        component
            .and_then(|name| {
                specs()
                    .find(|candidate| candidate.name.as_deref() == Some(name))
                    .and_then(WireComponentSpec::branch)
            })
            .or_else(|| specs().find_map(WireComponentSpec::branch))
    }

    /// When a finished deployment finished: the end of its last progress step (build, then
    /// deploy), else when its phase last changed. A superseded deployment's phase changed
    /// when it was replaced, long after it finished, so for it only the steps count.
    fn finished_at(&self, phase: &str) -> Option<DateTime<Utc>> {
        if !matches!(phase, "ACTIVE" | "SUPERSEDED" | "ERROR" | "CANCELED") {
            return None;
        }
        let steps_ended = self
            .progress
            .iter()
            .flat_map(|progress| &progress.steps)
            .filter_map(|step| parse_time(step.ended_at.as_deref()))
            .max();
        steps_ended.or_else(|| {
            (phase != SUPERSEDED_PHASE)
                .then(|| parse_time(self.phase_last_updated_at.as_deref()))
                .flatten()
        })
    }
}

/// The schema's `{app_health: {components, functions_components}}`; the spec's own example
/// has `components` at the top level instead, so both are read.
#[derive(Debug, Deserialize)]
struct WireHealthResponse {
    #[serde(default)]
    app_health: Option<WireHealth>,
    #[serde(default)]
    components: Option<Vec<WireComponentHealth>>,
}

#[derive(Debug, Deserialize)]
struct WireHealth {
    #[serde(default)]
    components: Option<Vec<WireComponentHealth>>,
}

impl WireHealthResponse {
    fn into_components(self) -> Result<Vec<WireComponentHealth>, ProviderError> {
        match (self.app_health, self.components) {
            (Some(health), _) => Ok(health.components.unwrap_or_default()),
            (None, Some(components)) => Ok(components),
            (None, None) => Err(ProviderError::Malformed {
                detail: "a DigitalOcean health answer without `app_health` or `components`".into(),
            }),
        }
    }
}

/// `{name, cpu_usage_percent, memory_usage_percent, replicas_desired, replicas_ready, state}`.
#[derive(Debug, Deserialize)]
struct WireComponentHealth {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    replicas_desired: Option<serde_json::Value>,
    #[serde(default)]
    replicas_ready: Option<serde_json::Value>,
    /// `UNKNOWN | HEALTHY | UNHEALTHY`, default `UNKNOWN`.
    #[serde(default)]
    state: Option<String>,
}

#[cfg(test)]
mod tests;
