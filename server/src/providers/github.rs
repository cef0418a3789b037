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

use super::http::{parse_rate_limit, status_error, Failure, RestApi};
use super::paging;
use super::rollback::{RollbackMethod, RollbackProgress, RollbackRequest, RollbackStarted};
use super::wire;
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
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

mod runs;
pub use runs::workflow_run_state;

/// GitHub's `per_page` maximum on every list endpoint used here (default 30).
pub const MAX_PAGE_SIZE: u32 = 100;
/// The REST API version the client is written against. A second version, `2026-03-10`,
/// exists; whether the deployment endpoints differ there is UNCONFIRMED, so the client pins
/// this one.
pub const API_VERSION: &str = "2022-11-28";
const ACCEPT: &str = "application/vnd.github+json";
/// GitHub's REST API: its media type, `{message}` bodies, and its rate-limit rules
/// ([`github_failure`]).
const API: RestApi = RestApi {
    accept: ACCEPT,
    on_failure: github_failure,
    ..RestApi::new("GitHub", error_message)
};
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
        API.url(
            &self.config.api_base,
            &[
                "repos",
                self.config.owner.as_str(),
                self.config.repo.as_str(),
            ],
            segments,
        )
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
        let request = API
            .bearer(request, &self.config.token)
            .header("x-github-api-version", API_VERSION);
        let answer = API.send(request).await?;
        Ok((API.decode(&answer.body)?, answer.status, answer.headers))
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
            std::cmp::Reverse((
                wire::parse_time("github", deployment.created_at.as_deref()),
                deployment.id,
            ))
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
            next: next.map(paging::page_cursor),
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
            wire::warn_unknown("github", "deployment status state", other);
            DeployState::Unknown
        }
    }
}

/// GitHub answers its rate limits with 403 as well as 429, so those two go to
/// [`refusal_error`]; every other failure maps as any provider's.
fn github_failure(failure: Failure<'_>) -> ProviderError {
    let answer = failure.answer;
    if matches!(
        answer.status,
        StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
    ) {
        return refusal_error(
            answer.status,
            &answer.headers,
            &answer.body,
            answer.received_at,
        );
    }
    failure.mapped()
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
    paging::link_in(headers, rel).and_then(|target| paging::page_of(&target))
}

/// Cursors are GitHub page numbers (with the caller's page size kept the same between calls,
/// as `list_recent_deployments` does).
fn parse_page_cursor(cursor: &PageCursor) -> Result<u32, ProviderError> {
    paging::requested_page(Some(cursor)).ok_or_else(|| ProviderError::Rejected {
        status: 400,
        message: "not a GitHub page cursor (a page number)".into(),
    })
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
                .and_then(|status| wire::parse_time("github", status.created_at.as_deref()))
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
        wire::non_empty(self.environment.clone()).unwrap_or_else(|| "production".to_string())
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
                sha: wire::non_empty(self.sha),
                // A deployment carries neither the commit message nor its author (only
                // `GET /repos/{o}/{r}/commits/{sha}` has them, one more call per deployment).
                message: None,
                author: None,
                branch,
            },
            pr_number,
            // The user who created the deployment (often a bot or an app), not the author.
            creator: self.creator.and_then(|user| wire::non_empty(user.login)),
            created_at: wire::parse_time("github", self.created_at.as_deref()),
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
        (
            wire::parse_time("github", self.created_at.as_deref()),
            self.id,
        )
    }
}

#[cfg(test)]
mod tests;
