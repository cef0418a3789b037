//! The Cloudflare Pages client: the deployments of one Pages project, read through the
//! Cloudflare v4 API.
//!
//! It owns the mapping of Cloudflare's wire format onto Lookout's types: the
//! `{success, errors, messages, result, result_info}` envelope of every answer, the deployment
//! list (`GET /accounts/{account_id}/pages/projects/{project_name}/deployments`, paged by
//! `page`/`per_page` with `result_info`), what is live (the project's `canonical_deployment`,
//! plus the newest successful preview per branch), one deployment, the state of a deployment
//! (its `latest_stage` name × status), `deployment_trigger.metadata` for the commit, and the
//! error envelope. Contract: `shared/providers/github-digitalocean-fly-heroku-cloudflare-supabase.md`,
//! section 5.

use super::http::{read_success, transport_error};
use super::rollback::{RollbackMethod, RollbackRequest, RollbackStarted};
use super::{
    CommitInfo, DeploymentPage, DeploymentProvider, OriginFact, PageCursor, ProviderDeployment,
    ProviderEnvironment, ProviderError, ScopePresence, ScopeRule,
};
use crate::secret::Secret;
use app::model::{DeployState, ProviderKind};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use url::Url;

/// The largest page the client asks for. The documented maximum is UNCONFIRMED; several
/// independent reports say this endpoint answers 400 (code 8000024, "Invalid list options
/// provided") above 25, and 25 is accepted.
pub const MAX_PAGE_SIZE: u32 = 25;
/// Cloudflare's dashboard; a deployment's page is
/// `{DASHBOARD_BASE}/{account_id}/pages/view/{project_name}/{deployment_id}` (UNCONFIRMED: the
/// dashboard's URL scheme is not part of the API).
const DASHBOARD_BASE: &str = "https://dash.cloudflare.com";
const PRODUCTION: &str = "production";
const PREVIEW: &str = "preview";

/// Where and as whom the client talks to Cloudflare, and which Pages project it reads.
#[derive(Clone, Debug)]
pub struct CloudflarePagesClientConfig {
    /// `https://api.cloudflare.com/client/v4`, or a simulator's base such as
    /// `http://127.0.0.1:PORT/cloudflare`.
    pub api_base: String,
    /// An API token with the "Pages Read" permission, sent as a Bearer token.
    pub token: Secret,
    /// The 32-hex account id the project belongs to.
    pub account_id: String,
    /// The project's name (its `*.pages.dev` subdomain's first label).
    pub project_name: String,
}

/// A [`DeploymentProvider`] for one Cloudflare Pages project.
#[derive(Clone, Debug)]
pub struct CloudflarePagesClient {
    http: reqwest::Client,
    config: CloudflarePagesClientConfig,
}

impl CloudflarePagesClient {
    pub fn new(http: reqwest::Client, config: CloudflarePagesClientConfig) -> Self {
        Self { http, config }
    }

    /// `{api_base}/accounts/{account_id}/pages/projects/{project_name}` + further segments,
    /// each percent-encoded so a name can never change the path.
    fn project_url(&self, extra: &[&str]) -> Result<Url, ProviderError> {
        let invalid_base = || ProviderError::Transport {
            detail: "the configured Cloudflare API base is not a valid http(s) URL".into(),
        };
        let mut url = Url::parse(&self.config.api_base).map_err(|_| invalid_base())?;
        url.path_segments_mut()
            .map_err(|()| invalid_base())?
            .pop_if_empty()
            .extend([
                "accounts",
                self.config.account_id.as_str(),
                "pages",
                "projects",
                self.config.project_name.as_str(),
            ])
            .extend(extra);
        Ok(url)
    }

    /// Sends a GET and opens the envelope: `result` on success, a typed error otherwise.
    async fn get<T: DeserializeOwned>(
        &self,
        url: Url,
    ) -> Result<(T, Option<WireResultInfo>), ProviderError> {
        self.send(self.http.get(url)).await
    }

    /// Sends a request (with the token) and opens the envelope.
    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(T, Option<WireResultInfo>), ProviderError> {
        let request = request
            .bearer_auth(self.config.token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        let response = request.send().await.map_err(transport_error)?;
        let headers = response.headers().clone();
        let bytes = match read_success(response, error_message).await {
            Ok((bytes, _rate_limit)) => bytes,
            Err(ProviderError::RateLimited {
                retry_after: None,
                message,
            }) => {
                return Err(ProviderError::RateLimited {
                    retry_after: ratelimit_reset(&headers),
                    message,
                })
            }
            Err(error) => return Err(error),
        };
        let envelope: WireEnvelope<T> =
            serde_json::from_slice(&bytes).map_err(|error| ProviderError::Malformed {
                detail: format!("unexpected JSON from Cloudflare: {error}"),
            })?;
        if !envelope.success {
            // A 2xx whose envelope says it failed: Cloudflare refused the request after all.
            return Err(ProviderError::Rejected {
                status: 200,
                message: envelope_errors(&envelope.errors)
                    .unwrap_or_else(|| "the request did not succeed".into()),
            });
        }
        let result = envelope.result.ok_or_else(|| ProviderError::Malformed {
            detail: "a successful Cloudflare answer without `result`".into(),
        })?;
        Ok((result, envelope.result_info))
    }

    async fn deployments_page(
        &self,
        page: u32,
        per_page: u32,
        environment: Option<&str>,
    ) -> Result<(Vec<ProviderDeployment>, Option<u32>), ProviderError> {
        let mut url = self.project_url(&["deployments"])?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(environment) = environment {
                query.append_pair("env", environment);
            }
            query
                .append_pair("page", &page.to_string())
                .append_pair("per_page", &per_page.to_string());
        }
        let (items, info) = self.get::<Vec<WireDeployment>>(url).await?;
        let received = items.len();
        let mut deployments = items
            .into_iter()
            .map(|item| self.to_deployment(item))
            .collect::<Result<Vec<_>, _>>()?;
        // The list's order is UNCONFIRMED (the dashboard and wrangler show newest first). A
        // page is sorted newest first so it always reads that way; across pages the API's
        // order holds.
        deployments.sort_by_key(|deployment| std::cmp::Reverse(deployment.created_at));
        Ok((
            deployments,
            next_page(info.as_ref(), page, per_page, received),
        ))
    }

    fn to_deployment(&self, wire: WireDeployment) -> Result<ProviderDeployment, ProviderError> {
        let mut deployment = wire.into_provider()?;
        deployment.dashboard_url = Some(format!(
            "{DASHBOARD_BASE}/{}/pages/view/{}/{}",
            self.config.account_id, self.config.project_name, deployment.id
        ));
        Ok(deployment)
    }

    /// The newest successful production deployment on the first page of the production list.
    async fn newest_ready_production(&self) -> Result<Option<ProviderDeployment>, ProviderError> {
        let (deployments, _next) = self
            .deployments_page(1, MAX_PAGE_SIZE, Some(PRODUCTION))
            .await?;
        Ok(deployments
            .into_iter()
            .find(|deployment| deployment.state == DeployState::Ready))
    }
}

#[async_trait]
impl DeploymentProvider for CloudflarePagesClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::CloudflarePages
    }

    #[tracing::instrument(skip_all, fields(provider = "cloudflare_pages", project = %self.config.project_name))]
    async fn list_deployments(
        &self,
        cursor: Option<&PageCursor>,
        page_size: u32,
    ) -> Result<DeploymentPage, ProviderError> {
        let page = match cursor {
            None => 1,
            Some(cursor) => cursor
                .0
                .parse::<u32>()
                .ok()
                .filter(|page| *page >= 1)
                .ok_or_else(|| ProviderError::Malformed {
                    detail: "not a Cloudflare page cursor".into(),
                })?,
        };
        let (deployments, next) = self
            .deployments_page(page, page_size.clamp(1, MAX_PAGE_SIZE), None)
            .await?;
        Ok(DeploymentPage {
            deployments,
            next: next.map(|page| PageCursor(page.to_string())),
        })
    }

    #[tracing::instrument(skip_all, fields(provider = "cloudflare_pages", project = %self.config.project_name))]
    async fn live_deployments(&self) -> Result<Vec<ProviderDeployment>, ProviderError> {
        let project_url = self.project_url(&[])?;
        let ((project, _), (recent, _next)) = futures::try_join!(
            self.get::<WireProject>(project_url),
            self.deployments_page(1, MAX_PAGE_SIZE, None),
        )?;
        let mut live = Vec::new();

        // `canonical_deployment` is documented as the "most recent production deployment".
        // That it is the one serving production (rather than the newest attempt, which may
        // have failed) is UNCONFIRMED, so a canonical deployment that did not succeed is
        // replaced by the newest successful production deployment, when there is one.
        let canonical = project
            .canonical_deployment
            .map(|wire| self.to_deployment(wire))
            .transpose()?;
        let production = match canonical {
            Some(canonical) if canonical.state == DeployState::Ready => Some(canonical),
            canonical => self.newest_ready_production().await?.or(canonical),
        };
        if let Some(mut production) = production {
            production.environment = ProviderEnvironment::Named(PRODUCTION.into());
            live.push(production);
        }

        // Previews have no marker: a branch's alias serves its newest successful deployment.
        // The list is newest first, so the first successful one per branch wins.
        let mut seen_branches = HashSet::new();
        for deployment in recent {
            let ProviderEnvironment::Preview {
                branch: Some(branch),
                ..
            } = &deployment.environment
            else {
                continue;
            };
            if deployment.state == DeployState::Ready && seen_branches.insert(branch.clone()) {
                live.push(deployment);
            }
        }
        Ok(live)
    }

    #[tracing::instrument(skip_all, fields(provider = "cloudflare_pages", deployment = %id))]
    async fn deployment(&self, id: &str) -> Result<ProviderDeployment, ProviderError> {
        let url = self.project_url(&["deployments", id])?;
        let (wire, _) = self.get::<WireDeployment>(url).await?;
        self.to_deployment(wire)
    }

    /// One project serves production and its previews: a target must be a production
    /// deployment of this project.
    fn target_scope(&self, environment: &ProviderEnvironment) -> Option<Vec<ScopeRule>> {
        let ProviderEnvironment::Named(name) = environment else {
            return None;
        };
        Some(vec![
            // The deployment is read under `/pages/projects/{project_name}/`; whether every
            // answer carries `project_name` is UNCONFIRMED, so one that names none is taken as
            // this project's, and one that names another project is refused.
            ScopeRule {
                presence: ScopePresence::IfReported,
                ..ScopeRule::required("project", [self.config.project_name.clone()])
            },
            ScopeRule::required("environment", [name.clone()]),
        ])
    }

    fn rollback_method(&self) -> Option<RollbackMethod> {
        Some(RollbackMethod {
            action: "Cloudflare Pages switches production to the target deployment at once; \
                     nothing is rebuilt."
                .into(),
            hold: None,
            caveats: vec![
                "Only successful production deployments can be targets; previews cannot.".into(),
                "The next push to the production branch deploys again.".into(),
            ],
        })
    }

    #[tracing::instrument(skip_all, fields(provider = "cloudflare_pages", project = %self.config.project_name, target = %request.target.id))]
    async fn roll_back(
        &self,
        request: RollbackRequest<'_>,
    ) -> Result<RollbackStarted, ProviderError> {
        let url = self.project_url(&["deployments", &request.target.id, "rollback"])?;
        let (wire, _) = self.send::<WireDeployment>(self.http.post(url)).await?;
        let answered = self.to_deployment(wire)?;
        // Whether `result` is the target itself or a new deployment is UNCONFIRMED: a new id
        // is the deployment that must become canonical; the same id means the target does.
        Ok(RollbackStarted {
            new_deployment_id: (answered.id != request.target.id).then_some(answered.id),
            provider_reference: None,
            hold: None,
        })
    }
}

/// The page after `page`, from `result_info`: `total_pages` when given, else `total_count`,
/// else "a full page came back" (both totals are optional in the schema).
fn next_page(
    info: Option<&WireResultInfo>,
    page: u32,
    per_page: u32,
    received: usize,
) -> Option<u32> {
    if received == 0 {
        return None;
    }
    let page = info.and_then(|info| info.page).unwrap_or(page);
    let per_page = info
        .and_then(|info| info.per_page)
        .filter(|per_page| *per_page > 0)
        .unwrap_or(per_page);
    let more = match (
        info.and_then(|info| info.total_pages),
        info.and_then(|info| info.total_count),
    ) {
        (Some(total_pages), _) => u64::from(page) < total_pages,
        (None, Some(total_count)) => u64::from(page) * u64::from(per_page) < total_count,
        (None, None) => received >= per_page as usize,
    };
    more.then(|| page.checked_add(1)).flatten()
}

/// The messages of Cloudflare's error envelope, as `message (code N)`, joined.
fn error_message(body: &[u8]) -> Option<String> {
    let envelope: WireErrorEnvelope = serde_json::from_slice(body).ok()?;
    envelope_errors(&envelope.errors)
}

fn envelope_errors(errors: &[WireMessage]) -> Option<String> {
    let text: Vec<String> = errors
        .iter()
        .filter_map(|error| {
            let message = error.message.as_deref().filter(|m| !m.trim().is_empty());
            match (message, &error.code) {
                (Some(message), Some(code)) => Some(format!("{message} (code {code})")),
                (Some(message), None) => Some(message.to_string()),
                (None, Some(code)) => Some(format!("code {code}")),
                (None, None) => None,
            }
        })
        .collect();
    (!text.is_empty()).then(|| text.join("; "))
}

/// The wait from Cloudflare's structured `Ratelimit` header (`"default";r=0;t=30`: `t` is the
/// seconds until the window resets), for a 429 that came without `Retry-After`.
fn ratelimit_reset(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("ratelimit")?.to_str().ok()?;
    value
        .split([';', ','])
        .filter_map(|param| param.trim().split_once('='))
        .find(|(key, _)| key.trim() == "t")
        .and_then(|(_, seconds)| seconds.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// Maps a deployment's `latest_stage` onto Lookout's state set. The stages run `queued` →
/// `initialize` → `clone_repo` → `build` → `deploy`; a deployment is live-ready when `deploy`
/// succeeded and over when any stage failed or was canceled. This reading of the two enums is
/// inferred (the contract says so), not documented.
pub fn map_stage(name: &str, status: &str) -> DeployState {
    match (name, status) {
        // Terminal outcomes mean the same at any stage, even one Lookout does not know yet.
        (_, "failure") => DeployState::Failed,
        // Skipped (a `[skip ci]` commit, a branch or path rule, a newer queued build): it
        // never went live, like a canceled one.
        (_, "canceled" | "skipped") => DeployState::Canceled,
        ("queued", "idle" | "active") | ("initialize", "idle") => DeployState::Queued,
        // Out of the queue: the build machine starts.
        ("queued", "success") | ("initialize" | "clone_repo", _) => match status {
            "idle" | "active" | "success" => DeployState::Building,
            other => unknown_stage(name, other),
        },
        ("build", "idle" | "active") => DeployState::Building,
        // Built; the deploy stage follows.
        ("build", "success") | ("deploy", "idle" | "active") => DeployState::Deploying,
        ("deploy", "success") => DeployState::Ready,
        (name, status) => unknown_stage(name, status),
    }
}

fn unknown_stage(name: &str, status: &str) -> DeployState {
    warn_unknown(&format!("{name}:{status}"));
    DeployState::Unknown
}

/// Logs each unknown value once per process, so a new Cloudflare value is noticed without
/// flooding the log on every poll.
fn warn_unknown(value: &str) {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let first_time = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(value.to_string());
    if first_time {
        tracing::warn!(
            provider = "cloudflare_pages",
            value,
            "unknown Cloudflare Pages value; shown as unknown"
        );
    }
}

/// Cloudflare's timestamps vary: `2021-03-09T00:55:03.923456Z`, and also without a zone
/// (`2021-03-09T00:58:59.045655`), which is read as UTC. Anything else is left out.
fn parse_time(value: Option<&str>) -> Option<DateTime<Utc>> {
    let value = value?.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Some(time.with_timezone(&Utc));
    }
    match NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f") {
        Ok(naive) => Some(naive.and_utc()),
        Err(_) => {
            warn_unknown(&format!("timestamp {value}"));
            None
        }
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

/// Every Cloudflare answer: `success` is required so that a body of another shape is not
/// taken for an empty success.
#[derive(Debug, Deserialize)]
struct WireEnvelope<T> {
    success: bool,
    #[serde(default)]
    errors: Vec<WireMessage>,
    #[serde(default = "Option::default")]
    result: Option<T>,
    #[serde(default)]
    result_info: Option<WireResultInfo>,
}

#[derive(Debug, Deserialize)]
struct WireErrorEnvelope {
    #[serde(default)]
    errors: Vec<WireMessage>,
}

/// One entry of `errors`/`messages`: `{code, message, documentation_url?, source?}`.
#[derive(Debug, Deserialize)]
struct WireMessage {
    #[serde(default)]
    code: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireResultInfo {
    #[serde(default)]
    page: Option<u32>,
    #[serde(default)]
    per_page: Option<u32>,
    #[serde(default)]
    total_count: Option<u64>,
    #[serde(default)]
    total_pages: Option<u64>,
}

/// A Pages project: only what Lookout reads.
#[derive(Debug, Deserialize)]
struct WireProject {
    #[allow(dead_code)] // required so that another `result` is not taken for a project
    name: String,
    #[serde(default)]
    canonical_deployment: Option<WireDeployment>,
}

/// A Pages deployment (CF-SDK `interface Deployment`), the fields Lookout reads.
#[derive(Debug, Default, Deserialize)]
struct WireDeployment {
    #[serde(default)]
    id: Option<String>,
    /// The project it belongs to, by id and by name.
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    project_name: Option<String>,
    /// `production | preview`.
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    created_on: Option<String>,
    #[serde(default)]
    modified_on: Option<String>,
    #[serde(default)]
    is_skipped: Option<bool>,
    #[serde(default)]
    deployment_trigger: Option<WireTrigger>,
    #[serde(default)]
    latest_stage: Option<WireStage>,
}

#[derive(Debug, Default, Deserialize)]
struct WireTrigger {
    #[serde(default)]
    metadata: Option<WireTriggerMetadata>,
}

/// The commit a deployment was built from; there is no author.
#[derive(Debug, Default, Deserialize)]
struct WireTriggerMetadata {
    #[serde(default)]
    branch: Option<String>,
    #[serde(default)]
    commit_hash: Option<String>,
    #[serde(default)]
    commit_message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct WireStage {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    ended_on: Option<String>,
}

impl WireDeployment {
    fn into_provider(self) -> Result<ProviderDeployment, ProviderError> {
        let id = non_empty(self.id).ok_or_else(|| ProviderError::Malformed {
            detail: "a Cloudflare Pages deployment without `id`".into(),
        })?;
        let stage = self.latest_stage.unwrap_or_default();
        let stage_name = stage.name.unwrap_or_default();
        let stage_status = stage.status.unwrap_or_default();
        let state = if self.is_skipped == Some(true) {
            DeployState::Canceled
        } else {
            map_stage(&stage_name, &stage_status)
        };
        let metadata = self
            .deployment_trigger
            .and_then(|trigger| trigger.metadata)
            .unwrap_or_default();
        let branch = non_empty(metadata.branch);
        let mut origin = OriginFact::all(
            "project",
            [self.project_id.as_deref(), self.project_name.as_deref()],
        );
        origin.extend(OriginFact::all(
            "environment",
            [self.environment.as_deref()],
        ));
        let environment = match self.environment.as_deref() {
            Some(PRODUCTION) => ProviderEnvironment::Named(PRODUCTION.into()),
            Some(PREVIEW) => ProviderEnvironment::Preview {
                branch: branch.clone(),
                pr_number: None,
            },
            other => {
                // Pages documents only production and preview; anything else was built from
                // a branch too, so it is shown as that branch's preview.
                warn_unknown(&format!("environment {}", other.unwrap_or("")));
                ProviderEnvironment::Preview {
                    branch: branch.clone(),
                    pr_number: None,
                }
            }
        };
        let finished_at = if state.is_in_progress() || state == DeployState::Unknown {
            None
        } else {
            parse_time(stage.ended_on.as_deref())
                .or_else(|| parse_time(self.modified_on.as_deref()))
        };
        Ok(ProviderDeployment {
            origin,
            rollback_refusal: None,
            id,
            state,
            provider_state: format!("{stage_name}:{stage_status}"),
            environment,
            commit: CommitInfo {
                sha: non_empty(metadata.commit_hash),
                message: non_empty(metadata.commit_message),
                // Pages records no commit author.
                author: None,
                branch,
            },
            // Pages comments on pull requests but records no PR number on a deployment.
            pr_number: None,
            creator: None,
            created_at: parse_time(self.created_on.as_deref()),
            finished_at,
            url: super::web_url(self.url, "url"),
            dashboard_url: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use reqwest::header::HeaderValue;

    const LIST_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/cloudflare_list_deployments_CONSTRUCTED.json");
    const ROLLBACK_FIXTURE: &str = include_str!(
        "../../tests/fixtures/providers/cloudflare_rollback_response_CONSTRUCTED.json"
    );
    const ERROR_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/cloudflare_error_response.json");

    fn client() -> CloudflarePagesClient {
        CloudflarePagesClient::new(
            reqwest::Client::new(),
            CloudflarePagesClientConfig {
                api_base: "https://api.cloudflare.com/client/v4".into(),
                token: Secret::new("cf_do_not_print"),
                account_id: "023e105f4ecef8ad9ca31a8372d0c353".into(),
                project_name: "ninjakittens".into(),
            },
        )
    }

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    #[test]
    fn every_stage_name_and_status_maps_onto_lookout() {
        use DeployState::*;
        // Rows: the stage names in order; columns: success, idle, active, failure, canceled,
        // skipped.
        let table = [
            (
                "queued",
                [Building, Queued, Queued, Failed, Canceled, Canceled],
            ),
            (
                "initialize",
                [Building, Queued, Building, Failed, Canceled, Canceled],
            ),
            (
                "clone_repo",
                [Building, Building, Building, Failed, Canceled, Canceled],
            ),
            (
                "build",
                [Deploying, Building, Building, Failed, Canceled, Canceled],
            ),
            (
                "deploy",
                [Ready, Deploying, Deploying, Failed, Canceled, Canceled],
            ),
        ];
        let statuses = [
            "success", "idle", "active", "failure", "canceled", "skipped",
        ];
        for (name, expected) in table {
            for (status, lookout) in statuses.iter().zip(expected) {
                assert_eq!(map_stage(name, status), lookout, "{name}:{status}");
            }
        }
        assert_eq!(map_stage("deploy", "exploded"), Unknown);
        assert_eq!(map_stage("initialize", "exploded"), Unknown);
        assert_eq!(map_stage("post_deploy", "success"), Unknown);
        assert_eq!(map_stage("post_deploy", "active"), Unknown);
        assert_eq!(map_stage("post_deploy", "failure"), Failed);
        assert_eq!(map_stage("", ""), Unknown);
    }

    #[test]
    fn list_fixture_parses_production_and_preview() {
        let envelope: WireEnvelope<Vec<WireDeployment>> =
            serde_json::from_str(LIST_FIXTURE).unwrap();
        assert!(envelope.success);
        let info = envelope.result_info.unwrap();
        assert_eq!(
            (info.page, info.per_page, info.total_count),
            (Some(1), Some(100), Some(2))
        );
        assert_eq!(next_page(Some(&info), 1, 25, 2), None, "2 of 2 read");
        let deployments: Vec<ProviderDeployment> = envelope
            .result
            .unwrap()
            .into_iter()
            .map(|wire| client().to_deployment(wire).unwrap())
            .collect();
        let [production, preview] = deployments.as_slice() else {
            panic!("two deployments expected");
        };

        assert_eq!(production.id, "f64788e9-fccd-4d4a-a28a-cb84f88f6e12");
        assert_eq!(production.state, DeployState::Ready);
        assert_eq!(production.provider_state, "deploy:success");
        assert_eq!(
            production.environment,
            ProviderEnvironment::Named("production".into())
        );
        assert_eq!(
            production.commit,
            CommitInfo {
                sha: Some("ad9ccd918a81025731e10e40267e11273a263421".into()),
                message: Some("Update index.html".into()),
                author: None,
                branch: Some("main".into()),
            }
        );
        assert_eq!(production.pr_number, None);
        assert_eq!(production.created_at, at("2021-03-09T00:55:03.923456Z"));
        assert_eq!(production.finished_at, at("2021-03-09T00:59:59.045655Z"));
        assert_eq!(
            production.url.as_deref(),
            Some("https://f64788e9.ninjakittens.pages.dev")
        );
        assert_eq!(
            production.dashboard_url.as_deref(),
            Some("https://dash.cloudflare.com/023e105f4ecef8ad9ca31a8372d0c353/pages/view/ninjakittens/f64788e9-fccd-4d4a-a28a-cb84f88f6e12")
        );

        assert_eq!(preview.id, "bcf48806-b317-4351-9ee7-36e7d557d4de");
        assert_eq!(preview.state, DeployState::Ready);
        assert_eq!(
            preview.environment,
            ProviderEnvironment::Preview {
                branch: Some("branchname".into()),
                pr_number: None
            }
        );
        assert_eq!(
            preview.commit.sha.as_deref(),
            Some("209c5bb11d89533f426b2f8469bcae12fdccf71b")
        );
        assert_eq!(preview.created_at, at("2021-03-08T10:00:00Z"));
    }

    #[test]
    fn rollback_fixture_parses_as_a_deployment() {
        let envelope: WireEnvelope<WireDeployment> =
            serde_json::from_str(ROLLBACK_FIXTURE).unwrap();
        assert!(envelope.result_info.is_none());
        let deployment = client().to_deployment(envelope.result.unwrap()).unwrap();
        assert_eq!(deployment.id, "f64788e9-fccd-4d4a-a28a-cb84f88f6e12");
        assert_eq!(deployment.state, DeployState::Ready);
        assert_eq!(
            deployment.environment,
            ProviderEnvironment::Named("production".into())
        );
        assert_eq!(
            deployment.commit.message.as_deref(),
            Some("Update index.html")
        );
    }

    #[test]
    fn error_fixture_yields_its_message_and_code() {
        assert_eq!(
            error_message(ERROR_FIXTURE.as_bytes()).as_deref(),
            Some("message (code 1000)")
        );
        let envelope: WireEnvelope<serde_json::Value> =
            serde_json::from_str(ERROR_FIXTURE).unwrap();
        assert!(!envelope.success);
        assert!(envelope.result.is_none());
        assert_eq!(error_message(b"<html>bad gateway</html>"), None);
        assert_eq!(error_message(br#"{"success":false,"errors":[]}"#), None);
        assert_eq!(
            error_message(
                br#"{"errors":[{"code":10000,"message":"Authentication error"},{"code":7003}]}"#
            )
            .as_deref(),
            Some("Authentication error (code 10000); code 7003")
        );
    }

    #[test]
    fn lenient_parsing_and_shapes_that_are_not_an_envelope() {
        let deployment = serde_json::from_str::<WireDeployment>(
            r#"{"id": "d1", "environment": "preview", "is_skipped": true,
                "latest_stage": {"name": "queued", "status": "skipped"},
                "created_on": "2021-03-09T00:58:59.045655", "brand_new": [1]}"#,
        )
        .unwrap()
        .into_provider()
        .unwrap();
        assert_eq!(deployment.state, DeployState::Canceled);
        assert_eq!(
            deployment.created_at,
            Some(
                Utc.with_ymd_and_hms(2021, 3, 9, 0, 58, 59).unwrap()
                    + chrono::Duration::microseconds(45_655)
            )
        );
        assert_eq!(
            deployment.environment,
            ProviderEnvironment::Preview {
                branch: None,
                pr_number: None
            }
        );
        let building = serde_json::from_str::<WireDeployment>(
            r#"{"id": "d2", "environment": "production",
                "latest_stage": {"name": "build", "status": "active", "ended_on": null}}"#,
        )
        .unwrap()
        .into_provider()
        .unwrap();
        assert_eq!(building.state, DeployState::Building);
        assert_eq!(building.provider_state, "build:active");
        assert_eq!(building.finished_at, None);

        let no_id = serde_json::from_str::<WireDeployment>(r#"{"environment": "preview"}"#)
            .unwrap()
            .into_provider();
        assert!(matches!(no_id, Err(ProviderError::Malformed { .. })));
        assert!(serde_json::from_str::<WireEnvelope<Vec<WireDeployment>>>(r#"[]"#).is_err());
        assert!(
            serde_json::from_str::<WireEnvelope<Vec<WireDeployment>>>(r#"{"result": []}"#).is_err(),
            "no `success`: not Cloudflare's envelope"
        );
    }

    #[test]
    fn next_page_reads_result_info() {
        let info = |page, per_page, total_count, total_pages| WireResultInfo {
            page,
            per_page,
            total_count,
            total_pages,
        };
        assert_eq!(
            next_page(Some(&info(Some(1), Some(25), Some(60), None)), 1, 25, 25),
            Some(2)
        );
        assert_eq!(
            next_page(Some(&info(Some(3), Some(25), Some(60), None)), 3, 25, 10),
            None
        );
        assert_eq!(
            next_page(Some(&info(Some(2), None, None, Some(3))), 2, 25, 25),
            Some(3)
        );
        assert_eq!(
            next_page(Some(&info(Some(3), None, None, Some(3))), 3, 25, 25),
            None
        );
        assert_eq!(next_page(None, 4, 25, 25), Some(5));
        assert_eq!(next_page(None, 4, 25, 24), None);
        assert_eq!(
            next_page(Some(&info(Some(1), Some(25), Some(60), None)), 1, 25, 0),
            None
        );
    }

    #[test]
    fn the_ratelimit_header_gives_a_wait() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "ratelimit",
            HeaderValue::from_static("\"default\";r=0;t=30"),
        );
        assert_eq!(ratelimit_reset(&headers), Some(Duration::from_secs(30)));
        assert_eq!(ratelimit_reset(&HeaderMap::new()), None);
    }

    #[test]
    fn urls_keep_the_base_path_and_encode_names() {
        let mut config = client().config.clone();
        config.api_base = "http://127.0.0.1:9/cloudflare/".into();
        config.project_name = "a/b".into();
        let nested = CloudflarePagesClient::new(reqwest::Client::new(), config);
        assert_eq!(
            nested.project_url(&["deployments", "x y"]).unwrap().as_str(),
            "http://127.0.0.1:9/cloudflare/accounts/023e105f4ecef8ad9ca31a8372d0c353/pages/projects/a%2Fb/deployments/x%20y"
        );
        assert!(!format!("{nested:?}").contains("cf_do_not_print"));
    }
}
