//! Render client: the deploys of one Render service, read through Render's REST API
//! (`/v1/services/{serviceId}/deploys…`) and mapped onto Lookout's types.
//!
//! A Render deploy carries no environment, branch or author: Render models environments and
//! PR previews as separate services. So one [`RenderClient`] serves one service, and every
//! deployment it returns belongs to the Lookout environment named in its config.

use super::http::RestApi;
use super::rollback::{
    HoldKind, HoldOffer, HoldPlacement, HoldRelease, RollbackMethod, RollbackRequest,
    RollbackStarted,
};
use super::wire;
use super::{
    CommitInfo, DeploymentPage, DeploymentProvider, PageCursor, ProviderDeployment,
    ProviderEnvironment, ProviderError, ScopeRule,
};
use crate::secret::Secret;
use app::model::{DeployState, ProviderKind};
use async_trait::async_trait;
use serde::Deserialize;
use url::Url;

/// Render's page size limit for `GET /services/{id}/deploys` (default 20, max 100).
pub const MAX_PAGE_SIZE: u32 = 100;
/// Render's REST API: `{id, message, code}` bodies, the shared status mapping.
const API: RestApi = RestApi::new("Render", error_message);
const DASHBOARD_BASE: &str = "https://dashboard.render.com";
/// The `status` value of the deploy that serves traffic.
const LIVE_STATUS: &str = "live";

/// Where one Render service lives and how to reach its API.
#[derive(Clone, Debug)]
pub struct RenderClientConfig {
    /// The API base, e.g. `https://api.render.com/v1` (a simulator's prefix in tests).
    pub api_base: String,
    pub token: Secret,
    /// `srv-…` (cron jobs: `crn-…`).
    pub service_id: String,
    /// The Lookout environment this service serves (e.g. "production").
    pub environment: String,
    /// The service's public URL, shown as the live deployment's url.
    pub service_url: Option<String>,
}

/// A client for one Render service.
#[derive(Clone, Debug)]
pub struct RenderClient {
    http: reqwest::Client,
    config: RenderClientConfig,
}

impl RenderClient {
    pub fn new(http: reqwest::Client, config: RenderClientConfig) -> Self {
        Self { http, config }
    }

    /// `{api_base}/services/{serviceId}/deploys[/…]`, each segment percent-encoded so an id
    /// can never change the path.
    fn deploys_url(&self, extra: Option<&str>) -> Result<Url, ProviderError> {
        let mut segments = vec!["deploys"];
        segments.extend(extra);
        self.service_url(&segments)
    }

    /// `{api_base}/services/{serviceId}[/…]`, segments percent-encoded.
    fn service_url(&self, extra: &[&str]) -> Result<Url, ProviderError> {
        API.url(
            &self.config.api_base,
            &["services", self.config.service_id.as_str()],
            extra,
        )
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        API.bearer(request, &self.config.token)
    }

    /// Sets the service's `autoDeploy` (`yes` | `no`; the schema's enum, although the docs'
    /// prose says "false").
    async fn set_auto_deploy(&self, on: bool) -> Result<(), ProviderError> {
        let url = self.service_url(&[])?;
        let body = serde_json::json!({ "autoDeploy": if on { "yes" } else { "no" } });
        API.send(self.authorized(self.http.patch(url)).json(&body))
            .await?;
        Ok(())
    }

    fn get(&self, url: Url) -> reqwest::RequestBuilder {
        self.authorized(self.http.get(url))
    }

    async fn fetch_page(
        &self,
        query: &[(&str, &str)],
    ) -> Result<Vec<RenderDeployWithCursor>, ProviderError> {
        let url = self.deploys_url(None)?;
        API.send_json(self.get(url).query(query)).await
    }

    /// Maps one Render deploy onto Lookout's deployment.
    fn to_deployment(&self, deploy: RenderDeploy) -> ProviderDeployment {
        let state = deploy_state(&deploy.status);
        let is_live = deploy.status == LIVE_STATUS;
        let commit = deploy.commit.unwrap_or_default();
        let dashboard_url = format!(
            "{DASHBOARD_BASE}/web/{}/deploys/{}",
            self.config.service_id, deploy.id
        );
        ProviderDeployment {
            origin: Vec::new(),
            rollback_refusal: None,
            state,
            provider_state: deploy.status,
            environment: ProviderEnvironment::Named(self.config.environment.clone()),
            commit: CommitInfo {
                sha: commit.id,
                message: commit.message,
                // Render deploys have no author field; `trigger` (new_commit, manual,
                // rollback, …) says what started a deploy but not who, so it is not kept.
                author: None,
                // The branch is a property of the service, not of the deploy.
                branch: None,
            },
            // PR previews are separate Render services, never a field of a deploy.
            pr_number: None,
            creator: None,
            created_at: wire::parse_time("render", deploy.created_at.as_deref()),
            finished_at: wire::parse_time("render", deploy.finished_at.as_deref()),
            // Render deploys have no URL of their own: only the live one is reachable, at the
            // service's URL.
            url: if is_live {
                self.config.service_url.clone()
            } else {
                None
            },
            dashboard_url: Some(dashboard_url),
            id: deploy.id,
        }
    }

    /// Turns one answer of the list endpoint into a page. `limit` is what was asked for.
    fn to_page(&self, items: Vec<RenderDeployWithCursor>, limit: u32) -> DeploymentPage {
        // Render's paging rule: the next page starts after the cursor of the last item, and a
        // short page is the last one. The cursor is taken in Render's own order, before any
        // re-sorting below.
        let next = if items.is_empty() || items.len() < limit as usize {
            None
        } else {
            let last_cursor = items.last().and_then(|item| item.cursor.clone());
            if last_cursor.is_none() {
                tracing::warn!(
                    service_id = %self.config.service_id,
                    "Render returned a full page without a cursor; stopping here"
                );
            }
            last_cursor.map(PageCursor)
        };
        let mut deployments: Vec<ProviderDeployment> = items
            .into_iter()
            .map(|item| self.to_deployment(item.deploy))
            .collect();
        // UNCONFIRMED: Render does not document the order of this list. It is sorted newest
        // first here so a page always reads newest first. If Render ever paged oldest first,
        // this fixes the order within a page but not across pages.
        sort_newest_first(&mut deployments);
        DeploymentPage { deployments, next }
    }
}

#[async_trait]
impl DeploymentProvider for RenderClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Render
    }

    #[tracing::instrument(skip_all, fields(provider = "render", service_id = %self.config.service_id))]
    async fn list_deployments(
        &self,
        cursor: Option<&PageCursor>,
        page_size: u32,
    ) -> Result<DeploymentPage, ProviderError> {
        // Render rejects a limit outside 1..=100.
        let limit = page_size.clamp(1, MAX_PAGE_SIZE);
        let limit_text = limit.to_string();
        let mut query = vec![("limit", limit_text.as_str())];
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.0.as_str()));
        }
        let items = self.fetch_page(&query).await?;
        Ok(self.to_page(items, limit))
    }

    #[tracing::instrument(skip_all, fields(provider = "render", service_id = %self.config.service_id))]
    async fn live_deployments(&self) -> Result<Vec<ProviderDeployment>, ProviderError> {
        let items = self
            .fetch_page(&[("status", LIVE_STATUS), ("limit", "1")])
            .await?;
        // UNCONFIRMED: "exactly one live deploy per service" is inferred from the status enum,
        // not documented. With `limit=1` at most one should come back; should several (or a
        // deploy that is not live) ever arrive, the newest live one wins.
        let mut live: Vec<ProviderDeployment> = items
            .into_iter()
            .filter(|item| item.deploy.status == LIVE_STATUS)
            .map(|item| self.to_deployment(item.deploy))
            .collect();
        sort_newest_first(&mut live);
        live.truncate(1);
        Ok(live)
    }

    #[tracing::instrument(skip_all, fields(provider = "render", service_id = %self.config.service_id, deploy_id = %id))]
    async fn deployment(&self, id: &str) -> Result<ProviderDeployment, ProviderError> {
        let url = self.deploys_url(Some(id))?;
        let deploy: RenderDeploy = API.send_json(self.get(url)).await?;
        Ok(self.to_deployment(deploy))
    }

    /// One Render service per environment, and every read is addressed to it
    /// (`/services/{serviceId}/deploys/{deployId}`; a deploy names no service or
    /// environment): nothing more to compare.
    fn target_scope(&self, _environment: &ProviderEnvironment) -> Option<Vec<ScopeRule>> {
        Some(Vec::new())
    }

    fn rollback_method(&self) -> Option<RollbackMethod> {
        Some(RollbackMethod {
            action: "Render starts a new deploy from the target deploy's build artifact; \
                     nothing is rebuilt."
                .into(),
            hold: Some(HoldOffer {
                kind: HoldKind::AutoDeployPaused,
                placement: HoldPlacement::Offered,
            }),
            caveats: vec![
                "A rollback through Render's API leaves auto-deploy on: the next push deploys \
                 again unless auto-deploy is paused."
                    .into(),
                "Render keeps build artifacts for a plan-dependent number of deploys (2 on \
                 Free, up to 30); older deploys cannot be targets."
                    .into(),
            ],
        })
    }

    #[tracing::instrument(skip_all, fields(provider = "render", service_id = %self.config.service_id, target = %request.target.id))]
    async fn roll_back(
        &self,
        request: RollbackRequest<'_>,
    ) -> Result<RollbackStarted, ProviderError> {
        // Pausing first, so a push landing during the rollback cannot overtake it.
        if request.place_hold {
            self.set_auto_deploy(false).await?;
        }
        let url = self.service_url(&["rollback"])?;
        let body = serde_json::json!({ "deployId": request.target.id });
        let post = self.authorized(self.http.post(url)).json(&body);
        // 201 with the new Deploy; its first status (`created`?) is UNCONFIRMED and not relied
        // on: progress reads the deploy by id.
        let created: RenderDeploy = API.send_json(post).await?;
        Ok(RollbackStarted {
            new_deployment_id: Some(created.id),
            provider_reference: None,
            hold: request.place_hold.then_some(HoldKind::AutoDeployPaused),
        })
    }

    async fn release_hold(
        &self,
        _environment: &ProviderEnvironment,
        hold: HoldKind,
        release: HoldRelease,
    ) -> Result<(), ProviderError> {
        match (hold, release) {
            (HoldKind::AutoDeployPaused, HoldRelease::Resume) => self.set_auto_deploy(true).await,
            _ => Err(ProviderError::Rejected {
                status: 400,
                message: format!("Render has no `{}` for `{}`", release.name(), hold.name()),
            }),
        }
    }
}

/// Render's deploy `status` → Lookout's state. Unknown values become `Unknown` (logged once
/// per value), never an error, so a new Render status cannot break the dashboard.
pub fn deploy_state(status: &str) -> DeployState {
    match status {
        "created" | "queued" => DeployState::Queued,
        "build_in_progress" => DeployState::Building,
        "update_in_progress" | "pre_deploy_in_progress" => DeployState::Deploying,
        "live" => DeployState::Ready,
        "deactivated" => DeployState::Superseded,
        "build_failed" | "update_failed" | "pre_deploy_failed" => DeployState::Failed,
        "canceled" => DeployState::Canceled,
        other => {
            wire::warn_unknown("render", "deploy status", other);
            DeployState::Unknown
        }
    }
}

/// The message of Render's error body `{id?, message?, code?}`: the message, else the machine
/// code, else the id.
fn error_message(body: &[u8]) -> Option<String> {
    let error: RenderError = serde_json::from_slice(body).ok()?;
    error
        .message
        .or(error.code)
        .or(error.id)
        .filter(|text| !text.trim().is_empty())
}

/// Newest first; deployments without a creation time go last (stable otherwise).
fn sort_newest_first(deployments: &mut [ProviderDeployment]) {
    deployments.sort_by_key(|deployment| std::cmp::Reverse(deployment.created_at));
}

/// One item of the list endpoint: `{cursor, deploy}`.
#[derive(Debug, Deserialize)]
struct RenderDeployWithCursor {
    #[serde(default)]
    cursor: Option<String>,
    deploy: RenderDeploy,
}

/// Render's `Deploy`. Only the fields Lookout uses; the rest (`image`, `artifactId`,
/// `trigger`, `startedAt`, `updatedAt`, …) are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RenderDeploy {
    id: String,
    #[serde(default)]
    commit: Option<RenderCommit>,
    /// Required by the schema; a missing one reads as an unknown state.
    #[serde(default)]
    status: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    finished_at: Option<String>,
}

/// `commit {id, message, createdAt}`; absent for image-backed services.
#[derive(Debug, Default, Deserialize)]
struct RenderCommit {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// Render's `Error` schema.
#[derive(Debug, Deserialize)]
struct RenderError {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

#[cfg(test)]
mod tests;
