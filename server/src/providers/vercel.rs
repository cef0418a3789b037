//! The Vercel client: one Vercel project, read through the REST API.
//!
//! It owns the mapping of Vercel's wire format onto Lookout's types: the deployment list
//! (`GET /v6/deployments`, paged by the `until` timestamp), what is live per environment
//! (`GET /v9/projects/{idOrName}` → `targets`, plus the newest ready preview per branch), one
//! deployment (`GET /v13/deployments/{id}`), Vercel's state enum, the git `meta` keys written by
//! the GitHub, GitLab and Bitbucket integrations, and Vercel's `{"error":{code,message}}` body.
//! Contract: `shared/providers/vercel-netlify-render-railway.md`, section 1.

use super::http::RestApi;
use super::paging;
use super::rollback::{RollbackMethod, RollbackProgress, RollbackRequest, RollbackStarted};
use super::wire;
use super::{
    CommitInfo, DeploymentPage, DeploymentProvider, OriginFact, PageCursor, ProviderDeployment,
    ProviderEnvironment, ProviderError, ScopeRule,
};
use crate::secret::Secret;
use app::model::{DeployState, ProviderKind};
use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use std::collections::HashMap;

/// The largest page the client asks for. Vercel's maximum `limit` is UNCONFIRMED; its CLI uses
/// 100 internally, so 100 is known to be accepted.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Vercel's REST API: `{"error": {code, message}}` bodies, the shared status mapping.
const API: RestApi = RestApi::new("Vercel", error_message);

/// Where and as whom the client talks to Vercel, and which project it reads.
#[derive(Clone, Debug)]
pub struct VercelClientConfig {
    /// `https://api.vercel.com`, or a simulator's base such as `http://127.0.0.1:PORT/vercel`.
    pub api_base: String,
    pub token: Secret,
    /// Sent as `teamId` on every call when the project belongs to a team.
    pub team_id: Option<String>,
    /// The project's id (`prj_…`) or name; every endpoint used here accepts either.
    pub project: String,
}

/// A [`DeploymentProvider`] for one Vercel project.
#[derive(Clone, Debug)]
pub struct VercelClient {
    http: reqwest::Client,
    config: VercelClientConfig,
}

impl VercelClient {
    pub fn new(http: reqwest::Client, config: VercelClientConfig) -> Self {
        Self { http, config }
    }

    /// `api_base` + path segments (each percent-encoded) + `teamId` when configured.
    fn endpoint(&self, segments: &[&str]) -> Result<url::Url, ProviderError> {
        let mut url = API.url(&self.config.api_base, segments, &[])?;
        if let Some(team_id) = &self.config.team_id {
            url.query_pairs_mut().append_pair("teamId", team_id);
        }
        Ok(url)
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        API.bearer(request, &self.config.token)
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, url: url::Url) -> Result<T, ProviderError> {
        API.send_json(self.authorized(self.http.get(url))).await
    }

    async fn deployments_page(
        &self,
        until: Option<&str>,
        limit: u32,
    ) -> Result<WireDeploymentList, ProviderError> {
        let mut url = self.endpoint(&["v6", "deployments"])?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("projectId", &self.config.project)
                .append_pair("limit", &limit.clamp(1, MAX_PAGE_SIZE).to_string());
            if let Some(until) = until {
                query.append_pair("until", until);
            }
        }
        self.get(url).await
    }
}

#[async_trait]
impl DeploymentProvider for VercelClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Vercel
    }

    #[tracing::instrument(skip_all, fields(provider = "vercel", project = %self.config.project))]
    async fn list_deployments(
        &self,
        cursor: Option<&PageCursor>,
        page_size: u32,
    ) -> Result<DeploymentPage, ProviderError> {
        let page = self
            .deployments_page(cursor.map(|cursor| cursor.0.as_str()), page_size)
            .await?;
        let deployments = page
            .deployments
            .into_iter()
            .map(WireDeployment::into_provider)
            .collect::<Result<Vec<_>, _>>()?;
        // An empty page can still carry a `next` timestamp (Vercel's own example does), so
        // emptiness ends the listing too.
        let next = paging::opaque_next(
            page.pagination
                .and_then(|pagination| pagination.next)
                .and_then(millis_cursor),
            deployments.len(),
        );
        Ok(DeploymentPage { deployments, next })
    }

    #[tracing::instrument(skip_all, fields(provider = "vercel", project = %self.config.project))]
    async fn live_deployments(&self) -> Result<Vec<ProviderDeployment>, ProviderError> {
        let project_url = self.endpoint(&["v9", "projects", &self.config.project])?;
        let (project, recent) = futures::try_join!(
            self.get::<WireProject>(project_url),
            self.deployments_page(None, MAX_PAGE_SIZE),
        )?;
        let recent = recent
            .deployments
            .into_iter()
            .map(WireDeployment::into_provider)
            .collect::<Result<Vec<_>, _>>()?;

        // `targets.<environment>` is the deployment serving that environment. The schema
        // implies it and third-party code relies on it, but Vercel's prose never says so.
        let mut live = Vec::new();
        let mut targets: Vec<(String, WireDeployment)> = project
            .targets
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(environment, summary)| Some((environment, summary?)))
            .collect();
        targets.sort_by(|a, b| a.0.cmp(&b.0));
        for (environment, summary) in targets {
            let summary = summary.into_provider()?;
            // The summary lacks `ready` and `inspectorUrl`; the list entry for the same
            // deployment has them, when it is recent enough to be on the first page.
            let mut deployment = recent
                .iter()
                .find(|listed| listed.id == summary.id)
                .cloned()
                .unwrap_or(summary);
            deployment.environment = ProviderEnvironment::Named(environment);
            live.push(deployment);
        }

        // Previews have no marker: the newest ready deployment of a branch is what its
        // preview URL shows. The list is newest first, so the first one per branch wins.
        // Branch-less previews (CLI uploads without git) are no branch's preview; skipped.
        live.extend(super::branch_previews(recent));
        Ok(live)
    }

    #[tracing::instrument(skip_all, fields(provider = "vercel", deployment = %id))]
    async fn deployment(&self, id: &str) -> Result<ProviderDeployment, ProviderError> {
        let url = self.endpoint(&["v13", "deployments", id])?;
        self.get::<WireDeployment>(url).await?.into_provider()
    }

    /// The token sees every project of the team: a target must be this project's (by id or
    /// name, as configured) and built for this environment's target.
    fn target_scope(&self, environment: &ProviderEnvironment) -> Option<Vec<ScopeRule>> {
        let project = ScopeRule::required("project", [self.config.project.clone()]);
        super::named_environment_scope(environment, project, "target")
    }

    fn rollback_method(&self) -> Option<RollbackMethod> {
        Some(RollbackMethod {
            action: "Vercel points the production domains back at the target deployment \
                     (instant rollback); nothing is rebuilt."
                .into(),
            hold: None,
            caveats: vec![
                "The old build runs as it was: environment variable changes since then are not \
                 applied, and cron jobs revert to that deployment's."
                    .into(),
                "On the Hobby plan only the immediately previous production deployment can be \
                 a target."
                    .into(),
                // UNCONFIRMED (third-party summary only): a rollback may turn off automatic
                // domain assignment until the next promote; the caveat covers both cases.
                "Vercel may stop assigning production domains to new deployments until one is \
                 promoted; promote a deployment in Vercel to undo the rollback."
                    .into(),
            ],
        })
    }

    #[tracing::instrument(skip_all, fields(provider = "vercel", project = %self.config.project, target = %request.target.id))]
    async fn roll_back(
        &self,
        request: RollbackRequest<'_>,
    ) -> Result<RollbackStarted, ProviderError> {
        let mut url = self.endpoint(&[
            "v1",
            "projects",
            &self.config.project,
            "rollback",
            &request.target.id,
        ])?;
        if !request.reason.is_empty() {
            url.query_pairs_mut()
                .append_pair("description", request.reason);
        }
        // 201 with an empty body; what 402 and 409 mean is UNCONFIRMED (402 is probably the
        // plan limit): either way the provider's message reaches the user.
        API.send(self.authorized(self.http.post(url))).await?;
        Ok(RollbackStarted::default())
    }

    /// The project's `lastAliasRequest` says how the alias job goes (as the CLI polls it);
    /// when it is about another deployment, the live deployment decides.
    async fn rollback_progress(
        &self,
        environment: &ProviderEnvironment,
        target: &ProviderDeployment,
        started: &RollbackStarted,
    ) -> Result<RollbackProgress, ProviderError> {
        let url = self.endpoint(&["v9", "projects", &self.config.project])?;
        let project: WireProject = self.get(url).await?;
        let ours = project.last_alias_request.as_ref().filter(|request| {
            request.to_deployment_id.as_deref() == Some(target.id.as_str())
                && request
                    .kind
                    .as_deref()
                    .is_none_or(|kind| kind == "rollback")
        });
        match ours.and_then(|request| request.job_status.as_deref()) {
            Some("failed") => Ok(RollbackProgress::Failed {
                reason: "Vercel reports the rollback's alias job failed".into(),
            }),
            Some("skipped") => Ok(RollbackProgress::Failed {
                reason: "Vercel skipped the rollback".into(),
            }),
            Some(status @ ("pending" | "in-progress")) => Ok(RollbackProgress::Waiting {
                detail: format!("Vercel's alias job is {status}"),
            }),
            _ => {
                let live = self.live_deployments().await?;
                Ok(match super::rollback::live_in(&live, environment) {
                    Some(now) if super::rollback::is_rollback_outcome(now, target, started) => {
                        RollbackProgress::Live(Box::new(now.clone()))
                    }
                    Some(now) => RollbackProgress::Waiting {
                        detail: format!("{} is still live", now.id),
                    },
                    None => RollbackProgress::Waiting {
                        detail: "Vercel reports nothing live yet".into(),
                    },
                })
            }
        }
    }
}

/// The message of Vercel's error body `{"error":{"code":"…","message":"…"}}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        error: ErrorDetail,
    }
    #[derive(Deserialize)]
    struct ErrorDetail {
        #[serde(default)]
        code: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    let detail = serde_json::from_slice::<ErrorBody>(body).ok()?.error;
    detail.message.or(detail.code)
}

/// Maps Vercel's `readyState`/`state` onto Lookout's state set.
pub fn map_state(state: &str) -> DeployState {
    match state {
        "QUEUED" | "INITIALIZING" => DeployState::Queued,
        "BUILDING" => DeployState::Building,
        "READY" => DeployState::Ready,
        "ERROR" => DeployState::Failed,
        "CANCELED" => DeployState::Canceled,
        // Held back by deployment checks or protection: it never went live, so to the people
        // reading the dashboard it is a failed deploy, not one still in progress.
        "BLOCKED" => DeployState::Failed,
        // A deleted deployment no longer serves anything; it was replaced (or never live).
        "DELETED" => DeployState::Superseded,
        other => {
            wire::warn_unknown("vercel", "state", other);
            DeployState::Unknown
        }
    }
}

/// A ms-epoch `pagination.next` as the `until` value of the next request.
fn millis_cursor(millis: f64) -> Option<String> {
    (millis.is_finite() && millis >= 0.0).then(|| format!("{}", millis.trunc() as i64))
}

fn millis_to_time(millis: Option<f64>) -> Option<DateTime<Utc>> {
    let millis = millis.filter(|value| value.is_finite())?;
    Utc.timestamp_millis_opt(millis as i64).single()
}

#[derive(Debug, Deserialize)]
struct WireDeploymentList {
    #[serde(default)]
    pagination: Option<WirePagination>,
    deployments: Vec<WireDeployment>,
}

#[derive(Debug, Deserialize)]
struct WirePagination {
    #[serde(default)]
    next: Option<f64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireProject {
    #[allow(dead_code)] // required so that a body without it is not taken for a project
    id: String,
    /// Keyed by environment name (`production`, `staging`, custom environments).
    #[serde(default)]
    targets: Option<HashMap<String, Option<WireDeployment>>>,
    /// The last promote or rollback and how its alias job went.
    #[serde(default)]
    last_alias_request: Option<WireAliasRequest>,
}

/// `lastAliasRequest {fromDeploymentId, toDeploymentId, jobStatus, requestedAt, type}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAliasRequest {
    #[serde(default)]
    to_deployment_id: Option<String>,
    /// `pending | in-progress | succeeded | failed | skipped`.
    #[serde(default)]
    job_status: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// A deployment as the list (`uid`), the detail endpoint (`id`) and the project's `targets`
/// summaries (`id`) send it. Timestamps are ms since the epoch.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireDeployment {
    #[serde(default)]
    uid: Option<String>,
    #[serde(default)]
    id: Option<String>,
    /// Host without scheme; null while the upload is incomplete.
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    created_at: Option<f64>,
    #[serde(default)]
    created: Option<f64>,
    #[serde(default)]
    ready: Option<f64>,
    /// Required in v7 and v13; the v6 list may send only `state`.
    #[serde(default)]
    ready_state: Option<String>,
    #[serde(default)]
    state: Option<String>,
    /// `production`, `staging`, or null for a preview.
    #[serde(default)]
    target: Option<String>,
    /// Set for custom environments; its fields are not in the contract (UNCONFIRMED), so only
    /// a string `slug` (else `name`) is read, to name the environment.
    #[serde(default)]
    custom_environment: Option<serde_json::Value>,
    #[serde(default)]
    creator: Option<WireCreator>,
    /// Git information, string → string; non-string values are ignored.
    #[serde(default)]
    meta: Option<HashMap<String, serde_json::Value>>,
    #[serde(default)]
    inspector_url: Option<String>,
    /// Whether Vercel allows rolling back to it (list and detail endpoints).
    #[serde(default)]
    is_rollback_candidate: Option<bool>,
    /// The project it belongs to (`prj_…`), and the project's name.
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireCreator {
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    github_login: Option<String>,
}

impl WireDeployment {
    fn meta_str(&self, key: &str) -> Option<String> {
        self.meta
            .as_ref()?
            .get(key)?
            .as_str()
            .filter(|value| !value.is_empty())
            .map(str::to_string)
    }

    /// The first of the GitHub, GitLab and Bitbucket variants of a commit meta key
    /// (`githubCommitSha`, `gitlabCommitSha`, `bitbucketCommitSha`).
    fn commit_meta(&self, suffix: &str) -> Option<String> {
        ["github", "gitlab", "bitbucket"]
            .iter()
            .find_map(|host| self.meta_str(&format!("{host}Commit{suffix}")))
    }

    /// The pull request a preview was built for. `githubPrId` is UNCONFIRMED (not among the
    /// keys Vercel's CLI writes; git-integration keys are undocumented): read when present,
    /// as a string or a number, and otherwise the PR is simply unknown.
    fn pr_number(&self) -> Option<u32> {
        match self.meta.as_ref()?.get("githubPrId")? {
            serde_json::Value::String(text) => text.trim().parse().ok(),
            serde_json::Value::Number(number) => {
                number.as_u64().and_then(|n| u32::try_from(n).ok())
            }
            _ => None,
        }
    }

    fn custom_environment_name(&self) -> Option<String> {
        let custom = self.custom_environment.as_ref()?;
        ["slug", "name"]
            .iter()
            .find_map(|key| custom.get(key)?.as_str())
            .filter(|name| !name.is_empty())
            .map(str::to_string)
    }

    fn into_provider(self) -> Result<ProviderDeployment, ProviderError> {
        let id = self
            .uid
            .clone()
            .or_else(|| self.id.clone())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| ProviderError::Malformed {
                detail: "a Vercel deployment without `uid` or `id`".into(),
            })?;
        let provider_state = self
            .ready_state
            .clone()
            .or_else(|| self.state.clone())
            .unwrap_or_default();
        let state = map_state(&provider_state);
        let commit = CommitInfo {
            sha: self.commit_meta("Sha"),
            message: self.commit_meta("Message"),
            author: self.commit_meta("AuthorName"),
            branch: self.commit_meta("Ref"),
        };
        let pr_number = self.pr_number();
        // `GET /v13/deployments/{id}` answers for any deployment the token can see, of any
        // project: rollback checks these against the configured project.
        let mut origin = OriginFact::all(
            "project",
            [self.project_id.as_deref(), self.name.as_deref()],
        );
        let environment = match (&self.target, self.custom_environment_name()) {
            (Some(target), _) if !target.is_empty() => ProviderEnvironment::Named(target.clone()),
            (_, Some(custom)) => ProviderEnvironment::Named(custom),
            _ => ProviderEnvironment::Preview {
                branch: commit.branch.clone(),
                pr_number,
            },
        };
        // The target (or custom environment) it was built for, as the environment above.
        if let ProviderEnvironment::Named(name) = &environment {
            origin.push(OriginFact::new("target", name.clone()));
        }
        let creator = self.creator.as_ref().and_then(|creator| {
            creator
                .username
                .clone()
                .or_else(|| creator.email.clone())
                .or_else(|| creator.github_login.clone())
        });
        let finished_at = if state.is_in_progress() {
            None
        } else {
            millis_to_time(self.ready)
        };
        let rollback_refusal = (self.is_rollback_candidate == Some(false)).then(|| {
            "Vercel does not offer it as a rollback target (isRollbackCandidate is false)"
                .to_string()
        });
        Ok(ProviderDeployment {
            rollback_refusal,
            id,
            state,
            provider_state,
            environment,
            commit,
            pr_number,
            creator,
            created_at: millis_to_time(self.created_at.or(self.created)),
            finished_at,
            url: super::web_url(
                self.url
                    .filter(|host| !host.is_empty())
                    .map(|host| format!("https://{host}")),
                "url",
            ),
            dashboard_url: super::web_url(self.inspector_url, "inspectorUrl"),
            origin,
        })
    }
}

#[cfg(test)]
mod tests;
