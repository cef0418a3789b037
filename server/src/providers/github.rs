//! The GitHub client: the deployments of one repository, read through the REST API, from one of
//! two sources.
//!
//! - **Deployments** (`GET /repos/{owner}/{repo}/deployments` and each deployment's
//!   `…/statuses`): a GitHub deployment has no state of its own; its state is its latest
//!   status. GitHub has no "live" marker either, so what is live in an environment is derived:
//!   the newest deployment of that environment whose latest status is `success` (the contract's
//!   derivation; GitHub only marks older deployments `inactive` for non-production
//!   environments, and only when the deployer leaves `auto_inactive` on).
//! - **Workflow runs** (`GET /repos/{owner}/{repo}/actions/workflows/{workflow}/runs`): the runs
//!   of one deploy workflow, mapped to environments by branch through the config; runs of other
//!   branches are previews. Live = the newest successful run per environment and per branch.
//!
//! Rollback (Deployments source only) creates a new deployment of the target's sha for the
//! team's CD to act on; GitHub itself deploys nothing.
//!
//! It owns GitHub's wire format, its status/conclusion enums, `Link`-header paging, the
//! `{message, documentation_url}` error body and GitHub's rate-limit rules (a 403 with
//! `x-ratelimit-remaining: 0`, or with `retry-after`, is a rate limit, not a refusal).
//! Contract: `shared/providers/github-digitalocean-fly-heroku-cloudflare-supabase.md`, section 1.

use super::http::{parse_rate_limit, read_success, status_error, transport_error};
use super::rollback::{RollbackMethod, RollbackProgress, RollbackRequest, RollbackStarted};
use super::{
    CommitInfo, DeploymentPage, DeploymentProvider, OriginFact, PageCursor, ProviderDeployment,
    ProviderEnvironment, ProviderError, ScopeCompare, ScopeRule,
};
use crate::secret::Secret;
use app::model::{DeployState, ProviderKind};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use url::Url;

/// GitHub's `per_page` maximum on every list endpoint used here (default 30).
pub const MAX_PAGE_SIZE: u32 = 100;
/// The REST API version the client is written against. A second version, `2026-03-10`,
/// exists; whether the deployment endpoints differ there is UNCONFIRMED, so the client pins
/// this one.
pub const API_VERSION: &str = "2022-11-28";
const ACCEPT: &str = "application/vnd.github+json";
/// How many statuses are read per deployment. One would do if GitHub lists statuses newest
/// first, which is the common practice but UNCONFIRMED (the spec does not say). A few let the
/// client see the order (and go to the last page if it is oldest first), and find when a
/// deployment finished even after it went `inactive`.
const STATUS_PAGE_SIZE: u32 = 5;
/// Deployment statuses fetched at once: the N+1 calls are inherent to the API (a deployment
/// carries no state), so they are at least made a few at a time.
const STATUS_CONCURRENCY: usize = 4;
/// How many deployments per environment `live_deployments` looks through for a success.
const LIVE_SCAN_DEPTH: u32 = 20;
/// When the configured environments are filtered client side, at most this many list pages
/// are read to find one page with a match (so a caller never gets an empty page with a next).
const MAX_FILTER_PAGES: u32 = 5;
/// Terminal statuses are remembered this long, so history does not cost a status call per
/// deployment on every poll. The TTL bounds the damage if a deployer ever re-posts a status on
/// an old deployment.
const STATUS_CACHE_TTL: Duration = Duration::from_secs(600);
const STATUS_CACHE_CAPACITY: usize = 1024;
/// GitHub's secondary rate limit without `retry-after`: "wait at least one minute".
const SECONDARY_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// Which GitHub records are the deployments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GithubSource {
    /// The Deployments API: each deployment names its environment.
    Deployments,
    /// The runs of one Actions workflow.
    WorkflowRuns {
        /// The workflow's file name (`deploy.yml`) or numeric id.
        workflow: String,
        /// `(branch, environment)`: runs of `branch` deploy `environment`. Runs of any other
        /// branch are previews of that branch.
        branch_environments: Vec<(String, String)>,
    },
}

/// Where and as whom the client talks to GitHub, and which repository it reads.
#[derive(Clone, Debug)]
pub struct GithubClientConfig {
    /// `https://api.github.com`, a GitHub Enterprise `https://HOST/api/v3`, or a simulator's
    /// base such as `http://127.0.0.1:PORT/github`.
    pub api_base: String,
    /// A fine-grained token with "Deployments: read" (and "Actions: read" for workflow runs),
    /// or a classic token with `repo` / `repo_deployment`.
    pub token: Secret,
    pub owner: String,
    pub repo: String,
    /// GitHub environment names to watch (compared case-insensitively); empty = every
    /// environment seen. For workflow runs it filters the environments mapped from branches;
    /// previews are always kept.
    pub environments: Vec<String>,
    pub source: GithubSource,
}

/// A [`DeploymentProvider`] for one GitHub repository.
#[derive(Clone, Debug)]
pub struct GithubClient {
    http: reqwest::Client,
    config: GithubClientConfig,
    /// Latest statuses of deployments in a terminal state, by deployment id.
    status_cache: Arc<Mutex<HashMap<u64, (Instant, LatestStatus)>>>,
}

impl GithubClient {
    pub fn new(http: reqwest::Client, config: GithubClientConfig) -> Self {
        Self {
            http,
            config,
            status_cache: Arc::default(),
        }
    }

    /// `{api_base}/repos/{owner}/{repo}/{segments…}`, each segment percent-encoded so that no
    /// configured name or id can change the path.
    fn endpoint(&self, segments: &[&str]) -> Result<Url, ProviderError> {
        let invalid_base = || ProviderError::Transport {
            detail: "the configured GitHub API base is not a valid http(s) URL".into(),
        };
        let mut url = Url::parse(&self.config.api_base).map_err(|_| invalid_base())?;
        url.path_segments_mut()
            .map_err(|()| invalid_base())?
            .pop_if_empty()
            .extend([
                "repos",
                self.config.owner.as_str(),
                self.config.repo.as_str(),
            ])
            .extend(segments);
        Ok(url)
    }

    /// GETs `url` and decodes the JSON body; the response headers come back for `Link`.
    async fn get<T: DeserializeOwned>(&self, url: Url) -> Result<(T, HeaderMap), ProviderError> {
        let (value, _status, headers) = self.send(self.http.get(url)).await?;
        Ok((value, headers))
    }

    /// Sends `request` with GitHub's headers and decodes the JSON success body; the status
    /// (201 vs 202 matters to creating a deployment) and headers come back with it.
    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<(T, StatusCode, HeaderMap), ProviderError> {
        let response = request
            .bearer_auth(self.config.token.expose())
            .header(reqwest::header::ACCEPT, ACCEPT)
            .header("x-github-api-version", API_VERSION)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        if status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS {
            // GitHub answers its rate limits with 403 as well as 429, so these two are read
            // here rather than by the shared mapping (which takes every 403 for a refusal).
            let body = super::http::read_body(response, super::http::MAX_PROVIDER_BODY).await?;
            return Err(refusal_error(status, &headers, &body, Utc::now()));
        }
        let (bytes, _rate_limit) = read_success(response, error_message).await?;
        let value = serde_json::from_slice(&bytes).map_err(|error| ProviderError::Malformed {
            detail: format!("unexpected JSON from GitHub: {error}"),
        })?;
        Ok((value, status, headers))
    }

    /// The Deployments source, or the refusal for a workflow-run source (Lookout cannot
    /// choose which run to re-run or dispatch on a team's behalf).
    fn deployments_source(&self) -> Result<(), ProviderError> {
        match self.config.source {
            GithubSource::Deployments => Ok(()),
            GithubSource::WorkflowRuns { .. } => Err(ProviderError::Rejected {
                status: 501,
                message: "workflow-run sources cannot be rolled back from Lookout; roll back \
                          with your deploy workflow"
                    .into(),
            }),
        }
    }

    fn wants_environment(&self, environment: &str) -> bool {
        self.config.environments.is_empty()
            || self
                .config
                .environments
                .iter()
                .any(|wanted| wanted.eq_ignore_ascii_case(environment))
    }

    /// Reads list pages from `first_page` on until one has an item `keep` accepts (or there is
    /// no next page, or [`MAX_FILTER_PAGES`] were read). Returns the kept items and the page
    /// after the last one read.
    async fn filtered_pages<T, F, Fut>(
        &self,
        first_page: u32,
        fetch: F,
        keep: impl Fn(&T) -> bool,
    ) -> Result<(Vec<T>, Option<u32>), ProviderError>
    where
        F: Fn(u32) -> Fut,
        Fut: std::future::Future<Output = Result<(Vec<T>, Option<u32>), ProviderError>>,
    {
        let mut page = first_page;
        let mut kept = Vec::new();
        for _ in 0..MAX_FILTER_PAGES {
            let (items, next) = fetch(page).await?;
            let received = items.len();
            kept.extend(items.into_iter().filter(|item| keep(item)));
            let next = next.filter(|_| received > 0);
            match next {
                Some(next) if kept.is_empty() => page = next,
                next => return Ok((kept, next)),
            }
        }
        Ok((kept, Some(page)))
    }

    // ---- Deployments source -------------------------------------------------------------

    /// One page of `GET /repos/{o}/{r}/deployments`, newest first, and the next page number.
    async fn deployments_page(
        &self,
        environment: Option<&str>,
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<WireDeployment>, Option<u32>), ProviderError> {
        let mut url = self.endpoint(&["deployments"])?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(environment) = environment {
                query.append_pair("environment", environment);
            }
            query
                .append_pair("per_page", &per_page.clamp(1, MAX_PAGE_SIZE).to_string())
                .append_pair("page", &page.to_string());
        }
        let (mut deployments, headers) = self.get::<Vec<WireDeployment>>(url).await?;
        // UNCONFIRMED: the spec does not state the list's order; in practice it is newest
        // first, which the paging relies on. Within a page it is made so here.
        deployments.sort_by_key(|deployment| {
            std::cmp::Reverse((parse_time(deployment.created_at.as_deref()), deployment.id))
        });
        Ok((deployments, link_page(&headers, "next")))
    }

    /// The latest status of one deployment (`None`: no status yet), from the cache when it is
    /// terminal and fresh.
    async fn latest_status(
        &self,
        deployment_id: u64,
    ) -> Result<Option<LatestStatus>, ProviderError> {
        if let Some(cached) = self.cached_status(deployment_id) {
            return Ok(Some(cached));
        }
        let id = deployment_id.to_string();
        let statuses_url = |page: u32| -> Result<Url, ProviderError> {
            let mut url = self.endpoint(&["deployments", &id, "statuses"])?;
            url.query_pairs_mut()
                .append_pair("per_page", &STATUS_PAGE_SIZE.to_string())
                .append_pair("page", &page.to_string());
            Ok(url)
        };
        let (mut statuses, headers) = self.get::<Vec<WireStatus>>(statuses_url(1)?).await?;
        // Statuses are taken to be newest first (UNCONFIRMED). If this page reads oldest
        // first, the newest status is on the last page, so that one is read instead.
        let oldest_first = match (statuses.first(), statuses.last()) {
            (Some(first), Some(last)) if statuses.len() > 1 => first.order_key() < last.order_key(),
            _ => false,
        };
        if oldest_first {
            if let Some(last_page) = link_page(&headers, "last").filter(|page| *page > 1) {
                statuses = self
                    .get::<Vec<WireStatus>>(statuses_url(last_page)?)
                    .await?
                    .0;
            }
        }
        let latest = LatestStatus::from_statuses(statuses);
        if let Some(latest) = &latest {
            self.remember_status(deployment_id, latest);
        }
        Ok(latest)
    }

    fn cached_status(&self, deployment_id: u64) -> Option<LatestStatus> {
        let cache = self
            .status_cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (stored_at, status) = cache.get(&deployment_id)?;
        (stored_at.elapsed() < STATUS_CACHE_TTL).then(|| status.clone())
    }

    fn remember_status(&self, deployment_id: u64, status: &LatestStatus) {
        if !matches!(status.state.as_str(), "failure" | "error" | "inactive") {
            // `success` is not final: it turns `inactive` when a newer deployment succeeds.
            return;
        }
        let mut cache = self
            .status_cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if cache.len() >= STATUS_CACHE_CAPACITY {
            cache.retain(|_, (stored_at, _)| stored_at.elapsed() < STATUS_CACHE_TTL);
            if cache.len() >= STATUS_CACHE_CAPACITY {
                cache.clear();
            }
        }
        cache.insert(deployment_id, (Instant::now(), status.clone()));
    }

    /// Each deployment with its latest status, a few calls at a time, in the given order. A
    /// deployment deleted between the list and its status call (404) is left out.
    async fn with_statuses(
        &self,
        deployments: Vec<WireDeployment>,
    ) -> Result<Vec<ProviderDeployment>, ProviderError> {
        let mapped: Vec<Option<ProviderDeployment>> = futures::stream::iter(deployments)
            .map(|deployment| async move {
                match self.latest_status(deployment.id).await {
                    Ok(status) => Ok(Some(deployment.into_provider(status))),
                    Err(ProviderError::NotFound { .. }) => Ok(None),
                    Err(error) => Err(error),
                }
            })
            .buffered(STATUS_CONCURRENCY)
            .try_collect()
            .await?;
        Ok(mapped.into_iter().flatten().collect())
    }

    async fn list_from_deployments(
        &self,
        page: u32,
        per_page: u32,
    ) -> Result<DeploymentPage, ProviderError> {
        // One configured environment is filtered by GitHub; several (or none) are read
        // unfiltered and filtered here, since the API takes one `environment` per request.
        let server_filter = match self.config.environments.as_slice() {
            [only] => Some(only.as_str()),
            _ => None,
        };
        let (deployments, next) = self
            .filtered_pages(
                page,
                |page| self.deployments_page(server_filter, page, per_page),
                |deployment| self.wants_environment(&deployment.environment_name()),
            )
            .await?;
        let deployments = self.with_statuses(deployments).await?;
        Ok(DeploymentPage {
            deployments,
            next: next.map(page_cursor),
        })
    }

    /// The newest deployment per environment whose latest status is `success`. Statuses are
    /// fetched newest first and only until each environment has its answer.
    async fn live_from_deployments(&self) -> Result<Vec<ProviderDeployment>, ProviderError> {
        let mut live = Vec::new();
        if self.config.environments.is_empty() {
            let (deployments, _) = self.deployments_page(None, 1, LIVE_SCAN_DEPTH).await?;
            let mut settled: HashSet<String> = HashSet::new();
            for deployment in deployments {
                let environment = deployment.environment_name();
                if settled.contains(&environment) {
                    continue;
                }
                if let Some(found) = self.if_successful(deployment).await? {
                    settled.insert(environment);
                    live.push(found);
                }
            }
        } else {
            for environment in &self.config.environments {
                let (deployments, _) = self
                    .deployments_page(Some(environment), 1, LIVE_SCAN_DEPTH)
                    .await?;
                for deployment in deployments {
                    if let Some(found) = self.if_successful(deployment).await? {
                        live.push(found);
                        break;
                    }
                }
            }
        }
        Ok(live)
    }

    async fn if_successful(
        &self,
        deployment: WireDeployment,
    ) -> Result<Option<ProviderDeployment>, ProviderError> {
        let status = match self.latest_status(deployment.id).await {
            Ok(status) => status,
            Err(ProviderError::NotFound { .. }) => return Ok(None),
            Err(error) => return Err(error),
        };
        Ok(status
            .filter(|status| status.state == "success")
            .map(|status| deployment.into_provider(Some(status))))
    }

    async fn one_deployment(&self, id: &str) -> Result<ProviderDeployment, ProviderError> {
        // `GET /repos/{o}/{r}/deployments/{id}` (GH-SPEC `repos/get-deployment`). A deployment
        // id is a number; anything else cannot exist.
        let not_found = || ProviderError::NotFound {
            message: format!("no GitHub deployment {id}"),
        };
        id.parse::<u64>().map_err(|_| not_found())?;
        let url = self.endpoint(&["deployments", id])?;
        let (deployment, _) = self.get::<WireDeployment>(url).await?;
        let status = self.latest_status(deployment.id).await?;
        Ok(deployment.into_provider(status))
    }

    // ---- Workflow-runs source -----------------------------------------------------------

    /// One page of a workflow's runs, and the next page number.
    async fn runs_page(
        &self,
        workflow: &str,
        filters: &[(&str, &str)],
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<WireRun>, Option<u32>), ProviderError> {
        let mut url = self.endpoint(&["actions", "workflows", workflow, "runs"])?;
        {
            let mut query = url.query_pairs_mut();
            for (key, value) in filters {
                query.append_pair(key, value);
            }
            query
                .append_pair("per_page", &per_page.clamp(1, MAX_PAGE_SIZE).to_string())
                .append_pair("page", &page.to_string());
        }
        let (list, headers) = self.get::<WireRunList>(url).await?;
        let mut runs = list.workflow_runs;
        runs.sort_by_key(|run| std::cmp::Reverse((parse_time(run.created_at.as_deref()), run.id)));
        Ok((runs, link_page(&headers, "next")))
    }

    fn keeps_run(&self, run: &ProviderDeployment) -> bool {
        match &run.environment {
            ProviderEnvironment::Named(name) => self.wants_environment(name),
            ProviderEnvironment::Preview { .. } => true,
        }
    }

    async fn list_from_runs(
        &self,
        workflow: &str,
        branch_environments: &[(String, String)],
        page: u32,
        per_page: u32,
    ) -> Result<DeploymentPage, ProviderError> {
        let (deployments, next) = self
            .filtered_pages(
                page,
                |page| async move {
                    let (runs, next) = self.runs_page(workflow, &[], page, per_page).await?;
                    let mapped = runs
                        .into_iter()
                        .map(|run| run.into_provider(branch_environments))
                        .collect();
                    Ok((mapped, next))
                },
                |deployment| self.keeps_run(deployment),
            )
            .await?;
        Ok(DeploymentPage {
            deployments,
            next: next.map(page_cursor),
        })
    }

    /// The newest successful run per mapped environment, and per preview branch among the
    /// newest page of successful runs.
    async fn live_from_runs(
        &self,
        workflow: &str,
        branch_environments: &[(String, String)],
    ) -> Result<Vec<ProviderDeployment>, ProviderError> {
        // `status=success` filters on the conclusion too (GH-SPEC: "status or conclusion").
        let (recent, _) = self
            .runs_page(workflow, &[("status", "success")], 1, MAX_PAGE_SIZE)
            .await?;
        let mut successful: Vec<ProviderDeployment> = recent
            .into_iter()
            .map(|run| run.into_provider(branch_environments))
            .filter(|run| run.state == DeployState::Ready)
            .collect();
        // A mapped branch that has not succeeded within that page is asked for by name, so a
        // rarely deployed production branch is not lost behind busy preview branches.
        let seen_branches: HashSet<String> = successful
            .iter()
            .filter_map(|run| run.commit.branch.clone())
            .collect();
        let mut asked = HashSet::new();
        for (branch, environment) in branch_environments {
            if seen_branches.contains(branch)
                || !self.wants_environment(environment)
                || !asked.insert(branch.clone())
            {
                continue;
            }
            let (runs, _) = self
                .runs_page(workflow, &[("branch", branch), ("status", "success")], 1, 1)
                .await?;
            successful.extend(
                runs.into_iter()
                    .map(|run| run.into_provider(branch_environments))
                    .filter(|run| run.state == DeployState::Ready),
            );
        }
        successful.sort_by_key(|run| std::cmp::Reverse(run.created_at));

        let mut live = Vec::new();
        let mut settled_environments = HashSet::new();
        let mut settled_previews = HashSet::new();
        for run in successful {
            let first = match &run.environment {
                ProviderEnvironment::Named(name) => {
                    self.wants_environment(name) && settled_environments.insert(name.clone())
                }
                // Branch-less runs (e.g. a tag's run without head_branch) are no branch's
                // preview.
                ProviderEnvironment::Preview { branch: None, .. } => false,
                ProviderEnvironment::Preview {
                    branch: Some(branch),
                    ..
                } => settled_previews.insert(branch.clone()),
            };
            if first {
                live.push(run);
            }
        }
        Ok(live)
    }

    async fn one_run(
        &self,
        id: &str,
        branch_environments: &[(String, String)],
    ) -> Result<ProviderDeployment, ProviderError> {
        id.parse::<u64>().map_err(|_| ProviderError::NotFound {
            message: format!("no GitHub workflow run {id}"),
        })?;
        let url = self.endpoint(&["actions", "runs", id])?;
        let (run, _) = self.get::<WireRun>(url).await?;
        Ok(run.into_provider(branch_environments))
    }
}

#[async_trait]
impl DeploymentProvider for GithubClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Github
    }

    #[tracing::instrument(skip_all, fields(provider = "github", owner = %self.config.owner, repo = %self.config.repo))]
    async fn list_deployments(
        &self,
        cursor: Option<&PageCursor>,
        page_size: u32,
    ) -> Result<DeploymentPage, ProviderError> {
        let page = match cursor {
            None => 1,
            Some(cursor) => parse_page_cursor(cursor)?,
        };
        let per_page = page_size.clamp(1, MAX_PAGE_SIZE);
        match &self.config.source {
            GithubSource::Deployments => self.list_from_deployments(page, per_page).await,
            GithubSource::WorkflowRuns {
                workflow,
                branch_environments,
            } => {
                self.list_from_runs(workflow, branch_environments, page, per_page)
                    .await
            }
        }
    }

    #[tracing::instrument(skip_all, fields(provider = "github", owner = %self.config.owner, repo = %self.config.repo))]
    async fn live_deployments(&self) -> Result<Vec<ProviderDeployment>, ProviderError> {
        match &self.config.source {
            GithubSource::Deployments => self.live_from_deployments().await,
            GithubSource::WorkflowRuns {
                workflow,
                branch_environments,
            } => self.live_from_runs(workflow, branch_environments).await,
        }
    }

    #[tracing::instrument(skip_all, fields(provider = "github", owner = %self.config.owner, repo = %self.config.repo, deployment = %id))]
    async fn deployment(&self, id: &str) -> Result<ProviderDeployment, ProviderError> {
        match &self.config.source {
            GithubSource::Deployments => self.one_deployment(id).await,
            GithubSource::WorkflowRuns {
                branch_environments,
                ..
            } => self.one_run(id, branch_environments).await,
        }
    }

    /// Every deployment of the repository (PR previews, other environments) is readable by
    /// id: a target must have been deployed to this environment (GitHub compares environment
    /// names case-insensitively). The repository itself is in every request's path.
    fn target_scope(&self, environment: &ProviderEnvironment) -> Option<Vec<ScopeRule>> {
        let ProviderEnvironment::Named(name) = environment else {
            return None;
        };
        Some(match &self.config.source {
            GithubSource::Deployments => vec![ScopeRule {
                compare: ScopeCompare::IgnoreAsciiCase,
                ..ScopeRule::required("environment", [name.clone()])
            }],
            GithubSource::WorkflowRuns {
                branch_environments,
                ..
            } => vec![ScopeRule::required(
                "head_branch",
                branch_environments
                    .iter()
                    .filter(|(_, mapped)| mapped == name)
                    .map(|(branch, _)| branch.clone()),
            )],
        })
    }

    fn rollback_method(&self) -> Option<RollbackMethod> {
        // Workflow runs have no rollback Lookout can make.
        self.deployments_source().ok()?;
        Some(RollbackMethod {
            action: "GitHub records a new deployment of the target's commit sha; your CD must \
                     act on deployment events to actually deploy it."
                .into(),
            hold: None,
            caveats: vec![
                "GitHub itself deploys nothing: only a deployer listening for `deployment` \
                 events (an Actions workflow `on: deployment` or another system) deploys it \
                 and reports statuses. Without one the rollback stays queued."
                    .into(),
                "The deployment is created with auto-merge off and required status checks \
                 bypassed, so an old commit is deployed as it is."
                    .into(),
                "Your deployer uses its current configuration and secrets; only the commit \
                 is the target's."
                    .into(),
                "Nothing stops the next push from deploying again.".into(),
            ],
        })
    }

    #[tracing::instrument(skip_all, fields(provider = "github", owner = %self.config.owner, repo = %self.config.repo, target = %request.target.id))]
    async fn roll_back(
        &self,
        request: RollbackRequest<'_>,
    ) -> Result<RollbackStarted, ProviderError> {
        self.deployments_source()?;
        let ProviderEnvironment::Named(environment) = request.environment else {
            return Err(ProviderError::Rejected {
                status: 400,
                message: "GitHub previews cannot be rolled back from Lookout".into(),
            });
        };
        let Some(sha) = request.target.commit.sha.as_deref() else {
            return Err(ProviderError::Rejected {
                status: 400,
                message: format!(
                    "GitHub deployment {} has no commit sha to deploy again",
                    request.target.id
                ),
            });
        };
        // `auto_merge: false`, or GitHub tries to merge the default branch into the old
        // commit; `required_contexts: []`, or an old commit's checks can refuse it (409).
        // The payload tells a deployer what this deployment is.
        let body = serde_json::json!({
            "ref": sha,
            "environment": environment,
            "auto_merge": false,
            "required_contexts": [],
            "description": request.reason,
            "payload": {
                "lookout": {
                    "rollback_to": request.target.id,
                    "rolled_back": request.live.id,
                },
            },
        });
        let url = self.endpoint(&["deployments"])?;
        let (created, status, _headers) = self
            .send::<WireCreated>(self.http.post(url).json(&body))
            .await?;
        match created {
            // 201: the deployment.
            WireCreated::Deployment(deployment) if status == StatusCode::CREATED => {
                Ok(RollbackStarted {
                    new_deployment_id: Some(deployment.id.to_string()),
                    provider_reference: None,
                    hold: None,
                })
            }
            // 202 "Merged branch response": GitHub merged instead of deploying (only with
            // auto_merge on, which is never sent; kept so the answer is never misread).
            WireCreated::Message { message } => Err(ProviderError::Rejected {
                status: status.as_u16(),
                message: message
                    .unwrap_or_else(|| "GitHub created no deployment for this commit".to_string()),
            }),
            WireCreated::Deployment(_) => Err(ProviderError::Malformed {
                detail: format!("GitHub answered {status} to creating a deployment"),
            }),
        }
    }

    /// The created deployment's latest status: `success` is live, `failure`/`error` (or an
    /// `inactive` before any success) ended it, anything else (or no status yet) waits.
    async fn rollback_progress(
        &self,
        environment: &ProviderEnvironment,
        target: &ProviderDeployment,
        started: &RollbackStarted,
    ) -> Result<RollbackProgress, ProviderError> {
        self.deployments_source()?;
        let Some(created_id) = started.new_deployment_id.as_deref() else {
            return Err(ProviderError::Malformed {
                detail: "a GitHub rollback always creates a deployment, but none was recorded"
                    .into(),
            });
        };
        let created = self.one_deployment(created_id).await?;
        Ok(match created.provider_state.as_str() {
            "success" => {
                // Live by the contract's rule only if nothing newer succeeded meanwhile.
                let live = self.live_deployments().await?;
                match super::rollback::live_in(&live, environment) {
                    Some(now) if super::rollback::is_rollback_outcome(now, target, started) => {
                        RollbackProgress::Live(Box::new(now.clone()))
                    }
                    Some(now) => RollbackProgress::Failed {
                        reason: format!(
                            "GitHub deployment {created_id} succeeded, but the newer \
                             deployment {} is live",
                            now.id
                        ),
                    },
                    None => RollbackProgress::Live(Box::new(created)),
                }
            }
            "failure" | "error" | "inactive" => RollbackProgress::Failed {
                reason: format!(
                    "your deployer reports GitHub deployment {created_id} as {}",
                    created.provider_state
                ),
            },
            "" => RollbackProgress::Waiting {
                detail: format!(
                    "GitHub deployment {created_id} has no status yet: no deployer has picked \
                     it up"
                ),
            },
            state => RollbackProgress::Waiting {
                detail: format!("GitHub deployment {created_id}: {state}"),
            },
        })
    }
}

/// A GitHub deployment status `state` → Lookout's state. Every value of the spec's enum is
/// known; anything else is `Unknown` (logged once).
pub fn deployment_status_state(state: &str) -> DeployState {
    match state {
        // `pending` is GitHub's initial state: created, nobody has started on it yet.
        "pending" | "queued" => DeployState::Queued,
        // A deployment status is about rolling out, not building.
        "in_progress" => DeployState::Deploying,
        "success" => DeployState::Ready,
        "failure" | "error" => DeployState::Failed,
        // GitHub marks a deployment `inactive` when a newer one of its environment succeeds.
        "inactive" => DeployState::Superseded,
        other => {
            warn_unknown("deployment status state", other);
            DeployState::Unknown
        }
    }
}

/// A workflow run's `status` (+ `conclusion` once `completed`) → Lookout's state.
pub fn workflow_run_state(status: Option<&str>, conclusion: Option<&str>) -> DeployState {
    match status.unwrap_or("") {
        "requested" | "queued" | "pending" | "waiting" => DeployState::Queued,
        "in_progress" => DeployState::Building,
        "completed" => match conclusion {
            Some("success") => DeployState::Ready,
            Some("failure" | "timed_out" | "startup_failure") => DeployState::Failed,
            // Finished without deploying anything.
            Some("cancelled" | "skipped" | "stale") => DeployState::Canceled,
            // Waiting for someone to approve (e.g. a protected environment's reviewers).
            Some("action_required") => DeployState::Queued,
            // Neither passed nor failed: Lookout cannot tell whether it deployed.
            Some("neutral") => DeployState::Unknown,
            Some(other) => {
                warn_unknown("workflow run conclusion", other);
                DeployState::Unknown
            }
            None => DeployState::Unknown,
        },
        other => {
            warn_unknown("workflow run status", other);
            DeployState::Unknown
        }
    }
}

/// Logs each unknown enum value once per process.
fn warn_unknown(what: &'static str, value: &str) {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let first_time = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(format!("{what}:{value}"));
    if first_time {
        tracing::warn!(
            provider = "github",
            what,
            value,
            "unknown GitHub value; shown as unknown"
        );
    }
}

/// Maps a 403 or 429. GitHub signals its primary limit with `x-ratelimit-remaining: 0`
/// (wait until `x-ratelimit-reset`) and its secondary limits with `retry-after` or only a
/// message (wait at least a minute), on either status. Any other 403 is a refusal.
fn refusal_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> ProviderError {
    let message = error_message(body).unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("error without a message")
            .to_string()
    });
    let rate_limit = parse_rate_limit(headers, now);
    let says_rate_limit = message.to_ascii_lowercase().contains("rate limit");
    let is_rate_limit = status == StatusCode::TOO_MANY_REQUESTS
        || rate_limit.retry_after.is_some()
        || rate_limit.remaining == Some(0)
        || says_rate_limit;
    if is_rate_limit {
        ProviderError::RateLimited {
            retry_after: Some(rate_limit.wait(now).unwrap_or(SECONDARY_LIMIT_WAIT)),
            message,
        }
    } else {
        status_error(status, headers, message, now)
    }
}

/// The message of GitHub's error body `{message, documentation_url, errors?}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        message: Option<String>,
    }
    serde_json::from_slice::<ErrorBody>(body)
        .ok()?
        .message
        .filter(|message| !message.trim().is_empty())
}

/// The `page` of the link with relation `rel` in a `Link` header (`<url>; rel="next", …`).
fn link_page(headers: &HeaderMap, rel: &str) -> Option<u32> {
    headers
        .get_all(reqwest::header::LINK)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(split_links)
        .find(|(_, rels)| rels.split_whitespace().any(|r| r.eq_ignore_ascii_case(rel)))
        .and_then(|(target, _)| page_of(&target))
}

/// Splits a `Link` header into `(target, rel)` pairs. Commas inside `<…>` belong to the URL.
fn split_links(header: &str) -> Vec<(String, String)> {
    let mut links = Vec::new();
    let mut rest = header;
    while let Some(open) = rest.find('<') {
        let after_open = &rest[open + 1..];
        let Some(close) = after_open.find('>') else {
            break;
        };
        let target = after_open[..close].to_string();
        let after_target = &after_open[close + 1..];
        let params_end = after_target.find('<').unwrap_or(after_target.len());
        let params = &after_target[..params_end];
        let rel = params
            .split([';', ','])
            .filter_map(|param| {
                let (key, value) = param.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("rel")
                    .then(|| value.trim().trim_matches('"').to_string())
            })
            .next()
            .unwrap_or_default();
        links.push((target, rel));
        rest = &after_target[params_end..];
    }
    links
}

/// The `page` query parameter of a link target (absolute, or relative to anything). Only the
/// number is kept: the client rebuilds the URL from its own base, so a link can never send the
/// token to another host.
fn page_of(target: &str) -> Option<u32> {
    let url = Url::parse(target)
        .or_else(|_| Url::parse("http://link.invalid/").and_then(|base| base.join(target)))
        .ok()?;
    url.query_pairs()
        .find(|(key, _)| key == "page")
        .and_then(|(_, value)| value.trim().parse::<u32>().ok())
        .filter(|page| *page >= 1)
}

fn page_cursor(page: u32) -> PageCursor {
    PageCursor(page.to_string())
}

/// Cursors are GitHub page numbers (with the caller's page size kept the same between calls,
/// as `list_recent_deployments` does).
fn parse_page_cursor(cursor: &PageCursor) -> Result<u32, ProviderError> {
    cursor
        .0
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|page| *page >= 1)
        .ok_or_else(|| ProviderError::Rejected {
            status: 400,
            message: "not a GitHub page cursor (a page number)".into(),
        })
}

/// A timestamp Lookout cannot read is left out rather than failing the whole answer.
fn parse_time(value: Option<&str>) -> Option<DateTime<Utc>> {
    let value = value?;
    match DateTime::parse_from_rfc3339(value) {
        Ok(time) => Some(time.with_timezone(&Utc)),
        Err(_) => {
            tracing::warn!(
                provider = "github",
                value,
                "unreadable GitHub timestamp; ignored"
            );
            None
        }
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.trim().is_empty())
}

/// A full commit SHA (SHA-1 or SHA-256), as opposed to a branch or tag name.
fn is_full_sha(value: &str) -> bool {
    matches!(value.len(), 40 | 64) && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What a deployment's `ref` says: the branch (a branch name, `refs/heads/…`), or the pull
/// request (`refs/pull/{n}/head|merge`). A SHA or a tag ref names neither.
fn branch_and_pr_of_ref(git_ref: Option<&str>) -> (Option<String>, Option<u32>) {
    let Some(git_ref) = git_ref.map(str::trim).filter(|r| !r.is_empty()) else {
        return (None, None);
    };
    if let Some(pull) = git_ref.strip_prefix("refs/pull/") {
        let number = pull.split('/').next().and_then(|n| n.parse().ok());
        return (None, number);
    }
    if git_ref.starts_with("refs/tags/") || is_full_sha(git_ref) {
        return (None, None);
    }
    let branch = git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref);
    (Some(branch.to_string()), None)
}

/// What the client keeps of a deployment's statuses: the newest one, when it finished, and
/// the links the statuses carried.
#[derive(Clone, Debug, PartialEq)]
struct LatestStatus {
    state: String,
    /// `environment_url` of the latest status: where the environment is reachable.
    environment_url: Option<String>,
    /// `log_url`, else `target_url`, of the newest status that has one.
    log_url: Option<String>,
    /// When the deployment reached `success`, `failure` or `error` (not when it later went
    /// `inactive`), as far as the statuses read show it.
    finished_at: Option<DateTime<Utc>>,
}

impl LatestStatus {
    fn from_statuses(mut statuses: Vec<WireStatus>) -> Option<Self> {
        statuses.sort_by_key(|status| std::cmp::Reverse(status.order_key()));
        let latest = statuses.first()?;
        let finished_at = if deployment_status_state(&latest.state).is_in_progress() {
            None
        } else {
            statuses
                .iter()
                .find(|status| matches!(status.state.as_str(), "success" | "failure" | "error"))
                .and_then(|status| parse_time(status.created_at.as_deref()))
        };
        let log_url = statuses.iter().find_map(|status| {
            super::web_url(status.log_url.clone(), "log_url")
                .or_else(|| super::web_url(status.target_url.clone(), "target_url"))
        });
        Some(Self {
            state: latest.state.clone(),
            environment_url: super::web_url(latest.environment_url.clone(), "environment_url"),
            log_url,
            finished_at,
        })
    }
}

/// A GitHub `deployment`. Only the fields Lookout uses; `payload` (an object or a string) and
/// the rest are ignored.
#[derive(Debug, Deserialize)]
struct WireDeployment {
    id: u64,
    #[serde(default)]
    sha: Option<String>,
    #[serde(default, rename = "ref")]
    git_ref: Option<String>,
    /// Required by the spec; a missing one reads as `production`, the API's default.
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    creator: Option<WireUser>,
    #[serde(default)]
    created_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireUser {
    #[serde(default)]
    login: Option<String>,
}

impl WireDeployment {
    fn environment_name(&self) -> String {
        non_empty(self.environment.clone()).unwrap_or_else(|| "production".to_string())
    }

    fn into_provider(self, status: Option<LatestStatus>) -> ProviderDeployment {
        let (branch, pr_number) = branch_and_pr_of_ref(self.git_ref.as_deref());
        // No status at all: the deployment exists but no deployer has picked it up.
        let (state, provider_state) = match &status {
            Some(status) => (deployment_status_state(&status.state), status.state.clone()),
            None => (DeployState::Queued, String::new()),
        };
        let environment = ProviderEnvironment::Named(self.environment_name());
        // Only the field itself vouches for the environment in a rollback, not the default.
        let origin = OriginFact::all("environment", [self.environment.as_deref()]);
        ProviderDeployment {
            origin,
            rollback_refusal: None,
            id: self.id.to_string(),
            state,
            provider_state,
            environment,
            commit: CommitInfo {
                sha: non_empty(self.sha),
                // A deployment carries neither the commit message nor its author (only
                // `GET /repos/{o}/{r}/commits/{sha}` has them, one more call per deployment).
                message: None,
                author: None,
                branch,
            },
            pr_number,
            // The user who created the deployment (often a bot or an app), not the author.
            creator: self.creator.and_then(|user| non_empty(user.login)),
            created_at: parse_time(self.created_at.as_deref()),
            finished_at: status.as_ref().and_then(|status| status.finished_at),
            url: status
                .as_ref()
                .and_then(|status| status.environment_url.clone()),
            dashboard_url: status.and_then(|status| status.log_url),
        }
    }
}

/// What creating a deployment answers: 201 a `deployment`, or 202 `{message}` when GitHub
/// auto-merged instead.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum WireCreated {
    Deployment(WireDeployment),
    Message {
        #[serde(default)]
        message: Option<String>,
    },
}

/// A GitHub `deployment-status`.
#[derive(Debug, Deserialize)]
struct WireStatus {
    id: u64,
    /// Required by the spec; a missing one reads as an unknown state.
    #[serde(default)]
    state: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    environment_url: Option<String>,
    #[serde(default)]
    log_url: Option<String>,
    #[serde(default)]
    target_url: Option<String>,
}

impl WireStatus {
    /// Newer statuses sort higher: by creation time, then by id (ids only grow).
    fn order_key(&self) -> (Option<DateTime<Utc>>, u64) {
        (parse_time(self.created_at.as_deref()), self.id)
    }
}

/// `{ total_count, workflow_runs }`.
#[derive(Debug, Deserialize)]
struct WireRunList {
    workflow_runs: Vec<WireRun>,
}

/// A GitHub `workflow-run`. `status` and `conclusion` are plain strings in the REST schema.
#[derive(Debug, Deserialize)]
struct WireRun {
    id: u64,
    #[serde(default)]
    head_branch: Option<String>,
    #[serde(default)]
    head_sha: Option<String>,
    #[serde(default)]
    display_title: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    conclusion: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    actor: Option<WireUser>,
    #[serde(default)]
    triggering_actor: Option<WireUser>,
    #[serde(default)]
    head_commit: Option<WireHeadCommit>,
    /// Empty for runs of pull requests from forks.
    #[serde(default)]
    pull_requests: Option<Vec<WirePullRequest>>,
}

#[derive(Debug, Deserialize)]
struct WireHeadCommit {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    author: Option<WireGitPerson>,
}

#[derive(Debug, Deserialize)]
struct WireGitPerson {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WirePullRequest {
    #[serde(default)]
    number: Option<u64>,
}

impl WireRun {
    fn into_provider(self, branch_environments: &[(String, String)]) -> ProviderDeployment {
        let state = workflow_run_state(self.status.as_deref(), self.conclusion.as_deref());
        let provider_state = match (self.status.as_deref(), &self.conclusion) {
            (Some("completed"), Some(conclusion)) => conclusion.clone(),
            (status, _) => status.unwrap_or_default().to_string(),
        };
        let branch = non_empty(self.head_branch);
        let pr_number = self
            .pull_requests
            .unwrap_or_default()
            .first()
            .and_then(|pr| pr.number)
            .and_then(|number| u32::try_from(number).ok());
        let mapped = branch.as_ref().and_then(|branch| {
            branch_environments
                .iter()
                .find(|(mapped_branch, _)| mapped_branch == branch)
                .map(|(_, environment)| environment.clone())
        });
        let environment = match mapped {
            Some(environment) => ProviderEnvironment::Named(environment),
            None => ProviderEnvironment::Preview {
                branch: branch.clone(),
                pr_number,
            },
        };
        let (message, author) = match self.head_commit {
            Some(commit) => (
                non_empty(commit.message),
                commit.author.and_then(|author| non_empty(author.name)),
            ),
            None => (None, None),
        };
        // A run has no completion time of its own; `updated_at` of a completed run is when
        // it finished (a re-run makes it a new attempt and moves it on).
        let finished_at = if self.status.as_deref() == Some("completed") {
            parse_time(self.updated_at.as_deref())
        } else {
            None
        };
        let origin = OriginFact::all("head_branch", [branch.as_deref()]);
        ProviderDeployment {
            origin,
            rollback_refusal: None,
            id: self.id.to_string(),
            state,
            provider_state,
            environment,
            commit: CommitInfo {
                sha: non_empty(self.head_sha),
                message: message.or_else(|| non_empty(self.display_title)),
                author,
                branch,
            },
            pr_number,
            // Who started this attempt (a re-run's actor), else who started the run.
            creator: self
                .triggering_actor
                .and_then(|user| non_empty(user.login))
                .or_else(|| self.actor.and_then(|user| non_empty(user.login))),
            created_at: parse_time(self.created_at.as_deref()),
            finished_at,
            // A run has no URL of its own; what it deployed is the environment's business.
            url: None,
            dashboard_url: super::web_url(self.html_url, "html_url"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use reqwest::header::{HeaderName, HeaderValue};

    const LIST_DEPLOYMENTS: &str =
        include_str!("../../tests/fixtures/providers/github_list_deployments.json");
    const LIST_STATUSES: &str =
        include_str!("../../tests/fixtures/providers/github_list_deployment_statuses.json");
    const CREATE_DEPLOYMENT: &str = include_str!(
        "../../tests/fixtures/providers/github_create_deployment_rollback_response.json"
    );
    const CREATE_STATUS: &str = include_str!(
        "../../tests/fixtures/providers/github_create_deployment_status_response.json"
    );
    const LIST_RUNS: &str =
        include_str!("../../tests/fixtures/providers/github_list_workflow_runs.json");
    const RERUN: &str =
        include_str!("../../tests/fixtures/providers/github_rerun_workflow_response.json");
    const DISPATCH: &str =
        include_str!("../../tests/fixtures/providers/github_workflow_dispatch_response.json");

    fn at(text: &str) -> Option<DateTime<Utc>> {
        Some(
            DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc),
        )
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn client(source: GithubSource) -> GithubClient {
        GithubClient::new(
            reqwest::Client::new(),
            GithubClientConfig {
                api_base: "https://api.github.com".into(),
                token: Secret::new("ghp_do_not_print"),
                owner: "octocat".into(),
                repo: "example".into(),
                environments: Vec::new(),
                source,
            },
        )
    }

    #[test]
    fn every_deployment_status_state_maps_onto_lookout() {
        let expected = [
            ("error", DeployState::Failed),
            ("failure", DeployState::Failed),
            ("inactive", DeployState::Superseded),
            ("pending", DeployState::Queued),
            ("success", DeployState::Ready),
            ("queued", DeployState::Queued),
            ("in_progress", DeployState::Deploying),
            ("destroyed", DeployState::Unknown),
            ("", DeployState::Unknown),
        ];
        for (github, lookout) in expected {
            assert_eq!(deployment_status_state(github), lookout, "{github}");
        }
    }

    #[test]
    fn every_workflow_run_status_and_conclusion_maps_onto_lookout() {
        let statuses = [
            ("requested", DeployState::Queued),
            ("queued", DeployState::Queued),
            ("pending", DeployState::Queued),
            ("waiting", DeployState::Queued),
            ("in_progress", DeployState::Building),
            ("exploding", DeployState::Unknown),
        ];
        for (status, lookout) in statuses {
            assert_eq!(workflow_run_state(Some(status), None), lookout, "{status}");
        }
        let conclusions = [
            ("success", DeployState::Ready),
            ("failure", DeployState::Failed),
            ("timed_out", DeployState::Failed),
            ("startup_failure", DeployState::Failed),
            ("cancelled", DeployState::Canceled),
            ("skipped", DeployState::Canceled),
            ("stale", DeployState::Canceled),
            ("action_required", DeployState::Queued),
            ("neutral", DeployState::Unknown),
            ("vanished", DeployState::Unknown),
        ];
        for (conclusion, lookout) in conclusions {
            assert_eq!(
                workflow_run_state(Some("completed"), Some(conclusion)),
                lookout,
                "{conclusion}"
            );
        }
        assert_eq!(
            workflow_run_state(Some("completed"), None),
            DeployState::Unknown
        );
        assert_eq!(workflow_run_state(None, None), DeployState::Unknown);
    }

    #[test]
    fn list_deployments_fixture_with_its_statuses_fixture() {
        let deployments: Vec<WireDeployment> = serde_json::from_str(LIST_DEPLOYMENTS).unwrap();
        assert_eq!(deployments.len(), 1);
        let statuses: Vec<WireStatus> = serde_json::from_str(LIST_STATUSES).unwrap();
        let latest = LatestStatus::from_statuses(statuses).unwrap();
        assert_eq!(
            latest,
            LatestStatus {
                state: "success".into(),
                environment_url: Some("https://test-branch.lab.acme.com".into()),
                log_url: Some("https://example.com/deployment/42/output".into()),
                finished_at: at("2012-07-20T01:19:13Z"),
            }
        );
        let deployment = deployments
            .into_iter()
            .next()
            .unwrap()
            .into_provider(Some(latest));
        assert_eq!(deployment.id, "1");
        assert_eq!(deployment.state, DeployState::Ready);
        assert_eq!(deployment.provider_state, "success");
        assert_eq!(
            deployment.environment,
            ProviderEnvironment::Named("production".into())
        );
        assert_eq!(
            deployment.commit,
            CommitInfo {
                sha: Some("a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d".into()),
                message: None,
                author: None,
                branch: Some("topic-branch".into()),
            }
        );
        assert_eq!(deployment.pr_number, None);
        assert_eq!(deployment.creator.as_deref(), Some("octocat"));
        assert_eq!(deployment.created_at, at("2012-07-20T01:19:13Z"));
        assert_eq!(deployment.finished_at, at("2012-07-20T01:19:13Z"));
        assert_eq!(
            deployment.url.as_deref(),
            Some("https://test-branch.lab.acme.com")
        );
        assert_eq!(
            deployment.dashboard_url.as_deref(),
            Some("https://example.com/deployment/42/output")
        );
    }

    #[test]
    fn create_deployment_fixture_without_a_status_is_queued() {
        let deployment: WireDeployment = serde_json::from_str(CREATE_DEPLOYMENT).unwrap();
        let deployment = deployment.into_provider(None);
        assert_eq!(deployment.id, "1");
        assert_eq!(deployment.state, DeployState::Queued);
        assert_eq!(deployment.provider_state, "");
        assert_eq!(
            deployment.environment,
            ProviderEnvironment::Named("production".into())
        );
        assert_eq!(
            deployment.commit.sha.as_deref(),
            Some("a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d")
        );
        assert_eq!(deployment.finished_at, None);
        assert_eq!(deployment.url, None);
        assert_eq!(deployment.dashboard_url, None);
    }

    #[test]
    fn creating_answers_a_deployment_or_a_merge_message() {
        let created: WireCreated = serde_json::from_str(CREATE_DEPLOYMENT).unwrap();
        assert!(matches!(created, WireCreated::Deployment(ref d) if d.id == 1));
        let merged: WireCreated = serde_json::from_str(
            r#"{"message":"Auto-merged master into topic-branch on deployment."}"#,
        )
        .unwrap();
        assert!(
            matches!(merged, WireCreated::Message { message: Some(ref m) } if m.starts_with("Auto-merged"))
        );
    }

    #[test]
    fn only_the_deployments_source_has_a_rollback() {
        assert!(client(GithubSource::Deployments)
            .rollback_method()
            .is_some());
        let runs = client(GithubSource::WorkflowRuns {
            workflow: "deploy.yml".into(),
            branch_environments: Vec::new(),
        });
        assert_eq!(runs.rollback_method(), None);
    }

    #[test]
    fn create_status_fixture_is_a_success_status() {
        let status: WireStatus = serde_json::from_str(CREATE_STATUS).unwrap();
        assert_eq!(status.id, 1);
        assert_eq!(status.state, "success");
        assert_eq!(status.created_at.as_deref(), Some("2012-07-20T01:19:13Z"));
        assert_eq!(
            status.environment_url.as_deref(),
            Some("https://test-branch.lab.acme.com")
        );
        let latest = LatestStatus::from_statuses(vec![status]).unwrap();
        assert_eq!(deployment_status_state(&latest.state), DeployState::Ready);
    }

    #[test]
    fn list_workflow_runs_fixture() {
        let list: WireRunList = serde_json::from_str(LIST_RUNS).unwrap();
        assert_eq!(list.workflow_runs.len(), 1);
        let mapping = vec![("master".to_string(), "production".to_string())];
        let run = list
            .workflow_runs
            .into_iter()
            .next()
            .unwrap()
            .into_provider(&mapping);
        assert_eq!(run.id, "30433642");
        assert_eq!(run.state, DeployState::Queued);
        assert_eq!(run.provider_state, "queued");
        assert_eq!(
            run.environment,
            ProviderEnvironment::Named("production".into())
        );
        assert_eq!(
            run.commit,
            CommitInfo {
                sha: Some("acb5820ced9479c074f688cc328bf03f341a511d".into()),
                message: Some("Create linter.yaml".into()),
                author: Some("Octo Cat".into()),
                branch: Some("master".into()),
            }
        );
        assert_eq!(run.pr_number, None);
        assert_eq!(run.creator.as_deref(), Some("octocat"));
        assert_eq!(run.created_at, at("2020-01-22T19:33:08Z"));
        assert_eq!(run.finished_at, None, "queued: not finished");
        assert_eq!(run.url, None);
        assert_eq!(
            run.dashboard_url.as_deref(),
            Some("https://github.com/octo-org/octo-repo/actions/runs/30433642")
        );
    }

    #[test]
    fn an_unmapped_branch_run_is_a_preview_with_its_pull_request() {
        let json = r#"{
            "id": 7, "head_branch": "feature/login", "head_sha": "abc",
            "display_title": "Add login", "status": "completed", "conclusion": "success",
            "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-01T09:02:00Z",
            "actor": {"login": "ada"}, "triggering_actor": {"login": "grace"},
            "head_commit": null, "pull_requests": [{"number": 42, "id": 1}], "new": true
        }"#;
        let run: WireRun = serde_json::from_str(json).unwrap();
        let run = run.into_provider(&[("main".into(), "production".into())]);
        assert_eq!(run.state, DeployState::Ready);
        assert_eq!(run.provider_state, "success");
        assert_eq!(
            run.environment,
            ProviderEnvironment::Preview {
                branch: Some("feature/login".into()),
                pr_number: Some(42)
            }
        );
        assert_eq!(run.pr_number, Some(42));
        assert_eq!(
            run.commit.message.as_deref(),
            Some("Add login"),
            "display_title"
        );
        assert_eq!(run.commit.author, None);
        assert_eq!(run.creator.as_deref(), Some("grace"), "the re-run's actor");
        assert_eq!(run.finished_at, at("2026-03-01T09:02:00Z"));
    }

    #[test]
    fn rerun_and_dispatch_fixtures_are_not_deployment_lists() {
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(RERUN).unwrap(),
            serde_json::json!({})
        );
        assert!(serde_json::from_str::<WireRunList>(RERUN).is_err());
        assert!(serde_json::from_str::<Vec<WireDeployment>>(RERUN).is_err());
        #[derive(Deserialize)]
        struct Dispatch {
            workflow_run_id: u64,
            run_url: String,
            html_url: String,
        }
        let dispatch: Dispatch = serde_json::from_str(DISPATCH).unwrap();
        assert_eq!(dispatch.workflow_run_id, 1);
        assert_eq!(
            dispatch.run_url,
            "https://api.github.com/repos/octo-org/octo-repo/actions/runs/1"
        );
        assert_eq!(
            dispatch.html_url,
            "https://github.com/octo-org/octo-repo/actions/runs/1"
        );
        assert!(serde_json::from_str::<WireRunList>(DISPATCH).is_err());
    }

    #[test]
    fn the_latest_status_wins_in_either_order_and_finish_survives_inactive() {
        let statuses = |order: &[(u64, &str, &str)]| -> Vec<WireStatus> {
            order
                .iter()
                .map(|(id, state, time)| WireStatus {
                    id: *id,
                    state: state.to_string(),
                    created_at: Some(time.to_string()),
                    environment_url: (*state == "success").then(|| "https://app.example".into()),
                    log_url: (*state != "inactive").then(|| format!("https://ci.example/{id}")),
                    target_url: None,
                })
                .collect()
        };
        let history = [
            (1, "queued", "2026-03-01T09:00:00Z"),
            (2, "in_progress", "2026-03-01T09:00:30Z"),
            (3, "success", "2026-03-01T09:02:00Z"),
            (4, "inactive", "2026-03-01T10:00:00Z"),
        ];
        let mut newest_first = history;
        newest_first.reverse();
        for order in [&history[..], &newest_first[..]] {
            let latest = LatestStatus::from_statuses(statuses(order)).unwrap();
            assert_eq!(latest.state, "inactive");
            assert_eq!(latest.finished_at, at("2026-03-01T09:02:00Z"));
            assert_eq!(latest.environment_url, None, "only the latest status's URL");
            assert_eq!(latest.log_url.as_deref(), Some("https://ci.example/3"));
        }
        let running = LatestStatus::from_statuses(statuses(&history[..2])).unwrap();
        assert_eq!(running.state, "in_progress");
        assert_eq!(running.finished_at, None);
        assert_eq!(LatestStatus::from_statuses(Vec::new()), None);
    }

    #[test]
    fn refs_name_a_branch_or_a_pull_request() {
        assert_eq!(
            branch_and_pr_of_ref(Some("main")),
            (Some("main".into()), None)
        );
        assert_eq!(
            branch_and_pr_of_ref(Some("refs/heads/release/2")),
            (Some("release/2".into()), None)
        );
        assert_eq!(
            branch_and_pr_of_ref(Some("refs/pull/17/merge")),
            (None, Some(17))
        );
        assert_eq!(branch_and_pr_of_ref(Some("refs/tags/v1.0.0")), (None, None));
        assert_eq!(
            branch_and_pr_of_ref(Some("a84d88e7554fc1fa21bcbc4efae3c782a70d2b9d")),
            (None, None)
        );
        assert_eq!(branch_and_pr_of_ref(None), (None, None));
    }

    #[test]
    fn link_headers_give_page_numbers() {
        let map = headers(&[(
            "link",
            r#"<https://api.github.com/repositories/1/deployments?per_page=2&page=3>; rel="next", <https://api.github.com/repositories/1/deployments?per_page=2&page=9>; rel="last""#,
        )]);
        assert_eq!(link_page(&map, "next"), Some(3));
        assert_eq!(link_page(&map, "last"), Some(9));
        assert_eq!(link_page(&map, "prev"), None);
        // Commas inside a URL, several header lines, relative targets, unquoted rel.
        let map = headers(&[
            ("link", r#"</x?q=a,b&page=1>; rel="prev first""#),
            ("link", "</x?page=4&q=c,d>; rel=next"),
        ]);
        assert_eq!(link_page(&map, "first"), Some(1));
        assert_eq!(link_page(&map, "next"), Some(4));
        assert_eq!(link_page(&headers(&[("link", "garbage")]), "next"), None);
        assert_eq!(
            link_page(
                &headers(&[("link", "<https://x/?page=0>; rel=\"next\"")]),
                "next"
            ),
            None
        );
        assert_eq!(link_page(&HeaderMap::new(), "next"), None);
    }

    #[test]
    fn a_403_with_no_requests_left_is_a_rate_limit_not_a_refusal() {
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let body = br#"{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest"}"#;
        let primary = refusal_error(
            StatusCode::FORBIDDEN,
            &headers(&[
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-reset", "1700000090"),
            ]),
            body,
            now,
        );
        assert_eq!(
            primary,
            ProviderError::RateLimited {
                retry_after: Some(Duration::from_secs(90)),
                message: "API rate limit exceeded for user ID 1.".into()
            }
        );
        let secondary = refusal_error(
            StatusCode::FORBIDDEN,
            &headers(&[("retry-after", "30"), ("x-ratelimit-remaining", "4000")]),
            br#"{"message":"You have exceeded a secondary rate limit."}"#,
            now,
        );
        assert_eq!(secondary.retry_after(), Some(Duration::from_secs(30)));
        let message_only = refusal_error(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            br#"{"message":"You have exceeded a secondary rate limit. Please wait."}"#,
            now,
        );
        assert_eq!(message_only.retry_after(), Some(SECONDARY_LIMIT_WAIT));
        let plain_429 = refusal_error(StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), b"", now);
        assert_eq!(plain_429.retry_after(), Some(SECONDARY_LIMIT_WAIT));

        let forbidden = refusal_error(
            StatusCode::FORBIDDEN,
            &headers(&[("x-ratelimit-remaining", "4999")]),
            br#"{"message":"Resource not accessible by personal access token","documentation_url":"https://docs.github.com/rest"}"#,
            now,
        );
        assert_eq!(
            forbidden,
            ProviderError::Forbidden {
                message: "Resource not accessible by personal access token".into()
            }
        );
    }

    #[test]
    fn error_bodies_give_their_message() {
        assert_eq!(
            error_message(br#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}"#)
                .as_deref(),
            Some("Bad credentials")
        );
        assert_eq!(
            error_message(br#"{"message":"Validation Failed","errors":[{"resource":"Deployment","field":"ref","code":"missing"}]}"#)
                .as_deref(),
            Some("Validation Failed")
        );
        assert_eq!(error_message(b"<html>unicorn</html>"), None);
        assert_eq!(error_message(br#"{"message":""}"#), None);
    }

    #[test]
    fn lenient_parsing_and_the_wrong_shape() {
        let deployment: WireDeployment = serde_json::from_str(
            r#"{"id": 5, "payload": "a string payload", "created_at": "yesterday", "future": [1]}"#,
        )
        .unwrap();
        let deployment = deployment.into_provider(None);
        assert_eq!(deployment.created_at, None);
        assert_eq!(
            deployment.environment,
            ProviderEnvironment::Named("production".into())
        );
        assert!(serde_json::from_str::<Vec<WireDeployment>>(r#"{"deployments": []}"#).is_err());
        assert!(serde_json::from_str::<Vec<WireDeployment>>(r#"[{"sha": "abc"}]"#).is_err());
        assert!(serde_json::from_str::<WireRunList>(r#"[]"#).is_err());
    }

    #[test]
    fn endpoints_keep_the_base_path_and_encode_segments() {
        let mut client = client(GithubSource::Deployments);
        client.config.api_base = "http://127.0.0.1:9/github/".into();
        client.config.owner = "octo cat".into();
        assert_eq!(
            client
                .endpoint(&["deployments", "1/../x", "statuses"])
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/github/repos/octo%20cat/example/deployments/1%2F..%2Fx/statuses"
        );
        assert!(!format!("{client:?}").contains("ghp_do_not_print"));
        client.config.api_base = "not a url".into();
        assert!(matches!(
            client.endpoint(&[]),
            Err(ProviderError::Transport { .. })
        ));
    }

    #[test]
    fn cursors_are_page_numbers() {
        assert_eq!(parse_page_cursor(&page_cursor(3)).unwrap(), 3);
        for bad in ["0", "-1", "two", ""] {
            assert!(parse_page_cursor(&PageCursor(bad.into())).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_terminal_statuses_are_cached() {
        let client = client(GithubSource::Deployments);
        let status = |state: &str| LatestStatus {
            state: state.into(),
            environment_url: None,
            log_url: None,
            finished_at: None,
        };
        client.remember_status(1, &status("success"));
        client.remember_status(2, &status("in_progress"));
        client.remember_status(3, &status("failure"));
        client.remember_status(4, &status("inactive"));
        assert_eq!(client.cached_status(1), None);
        assert_eq!(client.cached_status(2), None);
        assert_eq!(client.cached_status(3), Some(status("failure")));
        assert_eq!(client.cached_status(4), Some(status("inactive")));
        // Clones share the cache.
        assert_eq!(client.clone().cached_status(3), Some(status("failure")));
    }
}
