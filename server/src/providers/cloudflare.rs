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

use super::http::{Failure, RestApi};
use super::paging::{self, PageRead, PageSignal};
use super::rollback::{RollbackMethod, RollbackRequest, RollbackStarted};
use super::wire;
use super::{
    CommitInfo, DeploymentPage, DeploymentProvider, OriginFact, PageCursor, ProviderDeployment,
    ProviderEnvironment, ProviderError, ScopeRule,
};
use crate::secret::Secret;
use app::model::{DeployState, ProviderKind};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Duration;
use url::Url;

/// The largest page the client asks for. The documented maximum is UNCONFIRMED; several
/// independent reports say this endpoint answers 400 (code 8000024, "Invalid list options
/// provided") above 25, and 25 is accepted.
pub const MAX_PAGE_SIZE: u32 = 25;
/// Cloudflare's v4 API: the `errors` envelope, and its own 429 wait ([`cloudflare_failure`]).
const API: RestApi = RestApi {
    on_failure: cloudflare_failure,
    ..RestApi::new("Cloudflare", error_message)
};
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
        API.url(
            &self.config.api_base,
            &[
                "accounts",
                self.config.account_id.as_str(),
                "pages",
                "projects",
                self.config.project_name.as_str(),
            ],
            extra,
        )
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
        let answer = API.send(API.bearer(request, &self.config.token)).await?;
        let envelope: WireEnvelope<T> = API.decode(&answer.body)?;
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
        let page = paging::requested_page(cursor).ok_or_else(|| ProviderError::Malformed {
            detail: "not a Cloudflare page cursor".into(),
        })?;
        let (deployments, next) = self
            .deployments_page(page, page_size.clamp(1, MAX_PAGE_SIZE), None)
            .await?;
        Ok(DeploymentPage {
            deployments,
            next: next.map(paging::page_cursor),
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
        live.extend(super::branch_previews(recent));
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
        // The deployment is read under `/pages/projects/{project_name}/`; whether every answer
        // carries `project_name` is UNCONFIRMED, so one that names none is taken as this
        // project's, and one that names another project is refused.
        let project = ScopeRule::if_reported("project", [self.config.project_name.clone()]);
        super::named_environment_scope(environment, project, "environment")
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
    let read = PageRead {
        page: info.and_then(|info| info.page).unwrap_or(page),
        per_page: info
            .and_then(|info| info.per_page)
            .filter(|per_page| *per_page > 0)
            .unwrap_or(per_page),
        received,
    };
    read.next_page(PageSignal {
        total_pages: info.and_then(|info| info.total_pages),
        total_count: info.and_then(|info| info.total_count),
        ..PageSignal::default()
    })
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

/// Cloudflare's failures map as everyone's, except that a 429 without `Retry-After` waits as
/// its `Ratelimit` header says ([`ratelimit_reset`]).
fn cloudflare_failure(failure: Failure<'_>) -> ProviderError {
    let headers = &failure.answer.headers;
    match failure.mapped() {
        ProviderError::RateLimited {
            retry_after: None,
            message,
        } => ProviderError::RateLimited {
            retry_after: ratelimit_reset(headers),
            message,
        },
        error => error,
    }
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
    wire::warn_unknown("cloudflare_pages", "stage", &format!("{name}:{status}"));
    DeployState::Unknown
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
            wire::warn_unknown("cloudflare_pages", "timestamp", value);
            None
        }
    }
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
        let id = wire::non_empty(self.id).ok_or_else(|| ProviderError::Malformed {
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
        let branch = wire::non_empty(metadata.branch);
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
                wire::warn_unknown("cloudflare_pages", "environment", other.unwrap_or(""));
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
                sha: wire::non_empty(metadata.commit_hash),
                message: wire::non_empty(metadata.commit_message),
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
mod tests;
