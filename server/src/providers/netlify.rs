//! The Netlify client: the deploys of one Netlify site, read through the REST API.
//!
//! It owns the mapping of Netlify's wire format onto Lookout's types: the deploy list
//! (`GET /sites/{site_id}/deploys`, a bare array paged by `page`/`per_page`), what is live
//! (`GET /sites/{site_id}` → `published_deploy`, plus the newest ready preview per branch), one
//! deploy (`GET /sites/{site_id}/deploys/{deploy_id}`), Netlify's deploy `state` enum, the
//! `context` of a deploy (production, deploy preview, branch deploy), the `{code, message}` error
//! body, and the 429 wait that Netlify announces only as an `X-RateLimit-Reset` epoch time.
//! Contract: `shared/providers/vercel-netlify-render-railway.md`, section 2.

use super::http::{parse_rate_limit, Failure, RestApi};
use super::paging::{self, PageRead, PageSignal};
use super::rollback::{
    HoldKind, HoldOffer, HoldPlacement, HoldRelease, RollbackMethod, RollbackRequest,
    RollbackStarted,
};
use super::wire;
use super::{
    CommitInfo, DeploymentPage, DeploymentProvider, OriginFact, PageCursor, ProviderDeployment,
    ProviderEnvironment, ProviderError, ScopeRule,
};
use crate::secret::Secret;
use app::model::{DeployState, ProviderKind};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::time::Duration;
use url::Url;

/// The largest page the client asks for. Netlify's default and maximum `per_page` are
/// UNCONFIRMED; Netlify's own CLI pages its lists 100 at a time, so 100 is known to work.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Netlify's web app; a deploy's page is `{admin_url}/deploys/{id}` under it.
const DASHBOARD_BASE: &str = "https://app.netlify.com";
/// The deploy context of the site's main deploys, and the name of its one named environment.
const PRODUCTION: &str = "production";
/// Netlify's official JS client never waits less than this before retrying after a 429.
const MIN_RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);
/// Netlify's REST API: `{code, message}` bodies, and its own 429 wait ([`netlify_failure`]).
const API: RestApi = RestApi {
    on_failure: netlify_failure,
    ..RestApi::new("Netlify", error_message)
};

/// Where and as whom the client talks to Netlify, and which site it reads.
#[derive(Clone, Debug)]
pub struct NetlifyClientConfig {
    /// `https://api.netlify.com/api/v1`, or a simulator's base such as
    /// `http://127.0.0.1:PORT/netlify`.
    pub api_base: String,
    /// A personal access token (or OAuth token) of a user who can see the site.
    pub token: Secret,
    /// The site's API id (a UUID) or its Netlify domain (`name.netlify.app`).
    pub site_id: String,
}

/// A [`DeploymentProvider`] for one Netlify site.
#[derive(Clone, Debug)]
pub struct NetlifyClient {
    http: reqwest::Client,
    config: NetlifyClientConfig,
}

/// One decoded answer and the `Link` header that came with it.
struct Answer<T> {
    value: T,
    link: Option<String>,
}

impl NetlifyClient {
    pub fn new(http: reqwest::Client, config: NetlifyClientConfig) -> Self {
        Self { http, config }
    }

    /// `{api_base}/sites/{site_id}` + further segments, each percent-encoded.
    fn site_url(&self, extra: &[&str]) -> Result<Url, ProviderError> {
        API.url(
            &self.config.api_base,
            &["sites", self.config.site_id.as_str()],
            extra,
        )
    }

    fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        API.bearer(request, &self.config.token)
    }

    async fn get<T: DeserializeOwned>(&self, url: Url) -> Result<Answer<T>, ProviderError> {
        let answer = API.send(self.authorized(self.http.get(url))).await?;
        Ok(Answer {
            value: API.decode(&answer.body)?,
            link: answer.header(reqwest::header::LINK).map(str::to_string),
        })
    }

    /// `POST {api_base}/…` with no body; the answer is checked, its body ignored.
    async fn post_empty(&self, url: Url) -> Result<(), ProviderError> {
        API.send(self.authorized(self.http.post(url))).await?;
        Ok(())
    }

    /// `{api_base}/deploys/{deploy_id}/{action}` (lock, unlock).
    fn deploy_action_url(&self, deploy_id: &str, action: &str) -> Result<Url, ProviderError> {
        API.url(&self.config.api_base, &["deploys", deploy_id], &[action])
    }

    /// One page of the deploy list (pages count from 1).
    async fn deploys_page(
        &self,
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<ProviderDeployment>, Option<u32>), ProviderError> {
        let mut url = self.site_url(&["deploys"])?;
        url.query_pairs_mut()
            .append_pair("page", &page.to_string())
            .append_pair("per_page", &per_page.to_string());
        let answer = self.get::<Vec<WireDeploy>>(url).await?;
        let received = answer.value.len();
        let mut deployments = answer
            .value
            .into_iter()
            .map(|deploy| deploy.into_provider(None))
            .collect::<Result<Vec<_>, _>>()?;
        // The list's order is UNCONFIRMED (the UI and CLI show newest first). A page is
        // sorted newest first so it always reads that way; across pages the API's order holds.
        deployments.sort_by_key(|deployment| std::cmp::Reverse(deployment.created_at));
        let next = next_page(answer.link.as_deref(), page, per_page, received);
        Ok((deployments, next))
    }
}

#[async_trait]
impl DeploymentProvider for NetlifyClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Netlify
    }

    #[tracing::instrument(skip_all, fields(provider = "netlify", site_id = %self.config.site_id))]
    async fn list_deployments(
        &self,
        cursor: Option<&PageCursor>,
        page_size: u32,
    ) -> Result<DeploymentPage, ProviderError> {
        let page = paging::requested_page(cursor).ok_or_else(|| ProviderError::Malformed {
            detail: "not a Netlify page cursor".into(),
        })?;
        let (deployments, next) = self
            .deploys_page(page, page_size.clamp(1, MAX_PAGE_SIZE))
            .await?;
        Ok(DeploymentPage {
            deployments,
            next: next.map(paging::page_cursor),
        })
    }

    #[tracing::instrument(skip_all, fields(provider = "netlify", site_id = %self.config.site_id))]
    async fn live_deployments(&self) -> Result<Vec<ProviderDeployment>, ProviderError> {
        let site_url = self.site_url(&[])?;
        let (site, (recent, _next)) = futures::try_join!(
            self.get::<WireSite>(site_url),
            self.deploys_page(1, MAX_PAGE_SIZE),
        )?;
        let site = site.value;
        let mut live = Vec::new();

        // `published_deploy` is what the site's main URL serves: production's live deploy.
        if let Some(published) = site.published_deploy {
            let summary = published.into_provider(site.admin_url.as_deref())?;
            // The site's copy can be a summary; the list entry of the same deploy is complete
            // when it is recent enough to be on the first page.
            let mut deployment = recent
                .iter()
                .find(|listed| listed.id == summary.id)
                .cloned()
                .unwrap_or(summary);
            deployment.environment = ProviderEnvironment::Named(PRODUCTION.into());
            if deployment.url.is_none() {
                deployment.url = super::web_url(site.ssl_url.clone(), "ssl_url")
                    .or_else(|| super::web_url(site.url.clone(), "url"));
            }
            live.push(deployment);
        }

        // Deploy previews and branch deploys have no marker: the newest ready deploy of a
        // branch is what its preview URL shows. The list is newest first, so the first ready
        // one per branch wins; branch-less previews (CLI drafts) are no branch's preview.
        live.extend(super::branch_previews(recent));
        Ok(live)
    }

    #[tracing::instrument(skip_all, fields(provider = "netlify", deploy_id = %id))]
    async fn deployment(&self, id: &str) -> Result<ProviderDeployment, ProviderError> {
        let url = self.site_url(&["deploys", id])?;
        self.get::<WireDeploy>(url).await?.value.into_provider(None)
    }

    /// One site serves production and its previews: a target must be a production-context
    /// deploy of this site.
    fn target_scope(&self, environment: &ProviderEnvironment) -> Option<Vec<ScopeRule>> {
        // `site_id` and `name` are optional in the spec (UNCONFIRMED that a deploy always
        // carries them). The deploy is read under `/sites/{site_id}/`, so one that names no
        // site is taken as this site's; one that names another site is refused.
        let site = ScopeRule::if_reported("site", [self.config.site_id.clone()]);
        super::named_environment_scope(environment, site, "context")
    }

    fn rollback_method(&self) -> Option<RollbackMethod> {
        Some(RollbackMethod {
            action: "Netlify publishes the target deploy again (restore); nothing is rebuilt."
                .into(),
            hold: Some(HoldOffer {
                kind: HoldKind::PublishingLocked,
                placement: HoldPlacement::Offered,
            }),
            caveats: vec![
                "With auto publishing on, the next Git-triggered production deploy replaces \
                 the rollback."
                    .into(),
                "Only ready production deploys can be published again.".into(),
            ],
        })
    }

    #[tracing::instrument(skip_all, fields(provider = "netlify", site_id = %self.config.site_id, target = %request.target.id))]
    async fn roll_back(
        &self,
        request: RollbackRequest<'_>,
    ) -> Result<RollbackStarted, ProviderError> {
        // `restore` publishes an earlier atomic deploy (201 + the deploy). Preferred over
        // `PUT /sites/{id}/rollback`, whose target is UNCONFIRMED.
        self.post_empty(self.site_url(&["deploys", &request.target.id, "restore"])?)
            .await?;
        // Locking the restored deploy stops auto publishing, so the next push cannot replace it.
        if request.place_hold {
            self.post_empty(self.deploy_action_url(&request.target.id, "lock")?)
                .await?;
        }
        Ok(RollbackStarted {
            new_deployment_id: None,
            provider_reference: None,
            hold: request.place_hold.then_some(HoldKind::PublishingLocked),
        })
    }

    async fn release_hold(
        &self,
        _environment: &ProviderEnvironment,
        hold: HoldKind,
        release: HoldRelease,
    ) -> Result<(), ProviderError> {
        if (hold, release) != (HoldKind::PublishingLocked, HoldRelease::Resume) {
            return Err(ProviderError::Rejected {
                status: 400,
                message: format!("Netlify has no `{}` for `{}`", release.name(), hold.name()),
            });
        }
        // The lock sits on the published deploy: unlock that one.
        let site: WireSite = self.get(self.site_url(&[])?).await?.value;
        let Some(published) = site.published_deploy else {
            return Err(ProviderError::Rejected {
                status: 409,
                message: "Netlify reports no published deploy to unlock".into(),
            });
        };
        let published = published.into_provider(None)?;
        self.post_empty(self.deploy_action_url(&published.id, "unlock")?)
            .await
    }
}

/// The message of Netlify's error body `{"code": 404, "message": "Not Found"}`.
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct ErrorBody {
        #[serde(default)]
        message: Option<String>,
    }
    serde_json::from_slice::<ErrorBody>(body)
        .ok()?
        .message
        .filter(|message| !message.trim().is_empty())
}

/// Netlify's failures map as everyone's, except that a 429 waits as [`rate_limit_wait`] says.
fn netlify_failure(failure: Failure<'_>) -> ProviderError {
    let answer = failure.answer;
    match failure.mapped() {
        ProviderError::RateLimited {
            retry_after,
            message,
        } => ProviderError::RateLimited {
            retry_after: rate_limit_wait(&answer.headers, answer.received_at).or(retry_after),
            message,
        },
        error => error,
    }
}

/// How long to wait after a 429. Netlify documents only `X-RateLimit-Reset` (Unix epoch
/// seconds) on a 429; whether `X-RateLimit-Remaining: 0` comes with it is UNCONFIRMED, so the
/// reset time alone is enough here. It is whole seconds, so the wait is rounded up, and never
/// shorter than the 1 s floor Netlify's own client keeps. A `Retry-After`, should one come,
/// wins.
fn rate_limit_wait(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let info = parse_rate_limit(headers, now);
    if let Some(wait) = info.retry_after {
        return Some(wait);
    }
    let millis = (info.reset_at? - now).num_milliseconds().max(0);
    let seconds = (millis as u64).div_ceil(1000);
    Some(Duration::from_secs(seconds).max(MIN_RATE_LIMIT_WAIT))
}

/// The page after `page`. A `Link` header is UNCONFIRMED for Netlify: when one comes, its
/// `rel="next"` decides (none means this was the last page); without one, the next page
/// exists while a full page came back, the rule Netlify's CLI pages by.
fn next_page(link: Option<&str>, page: u32, per_page: u32, received: usize) -> Option<u32> {
    let link = link.filter(|link| !link.trim().is_empty());
    let next_link = link.and_then(|link| paging::link_target(link, "next"));
    PageRead {
        page,
        per_page,
        received,
    }
    .next_page(PageSignal {
        next_link: next_link.as_deref(),
        links_without_next: link.is_some(),
        ..PageSignal::default()
    })
}

/// Maps Netlify's deploy `state` onto Lookout's state set.
pub fn map_state(state: &str) -> DeployState {
    match state {
        // Created, waiting for a build slot; `pending_review`/`accepted` are deploy requests
        // from untrusted contributors waiting on (or past) a maintainer's approval.
        "new" | "pending_review" | "accepted" | "enqueued" | "retrying" => DeployState::Queued,
        "building" => DeployState::Building,
        // After the build: files go up and are post-processed before the deploy is ready.
        // `prepared` is the state in which an API deploy waits for its files; Netlify's Go
        // client accepts it as "ready to upload", not as live.
        "uploading" | "uploaded" | "preparing" | "prepared" | "processing" | "processed" => {
            DeployState::Deploying
        }
        "ready" => DeployState::Ready,
        "error" => DeployState::Failed,
        // A maintainer refused the deploy request: it was never built.
        "rejected" => DeployState::Canceled,
        // UNCONFIRMED values, seen by third-party code: a canceled state (the UI shows
        // "Canceled"; the API's spelling is unknown, so both), the published deploy
        // (`current`) and one it replaced (`old`).
        "canceled" | "cancelled" => DeployState::Canceled,
        "current" => DeployState::Ready,
        "old" => DeployState::Superseded,
        other => {
            wire::warn_unknown("netlify", "state", other);
            DeployState::Unknown
        }
    }
}

/// The state of a deploy: [`map_state`], except that a canceled build may also arrive as
/// `error` with a message saying so, or as a `skipped` deploy (UNCONFIRMED: the API has a
/// cancel endpoint but documents no canceled state).
fn deploy_state(state: &str, error_message: Option<&str>, skipped: bool) -> DeployState {
    let mapped = map_state(state);
    let says_canceled =
        error_message.is_some_and(|message| message.to_ascii_lowercase().contains("cancel"));
    if mapped == DeployState::Failed && (skipped || says_canceled) {
        DeployState::Canceled
    } else {
        mapped
    }
}

/// `GET /sites/{site_id}`: only what Lookout reads.
#[derive(Debug, Deserialize)]
struct WireSite {
    #[allow(dead_code)] // required so that a body without it is not taken for a site
    id: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    ssl_url: Option<String>,
    #[serde(default)]
    admin_url: Option<String>,
    /// The deploy the site's URL serves; null before the first successful production deploy.
    #[serde(default)]
    published_deploy: Option<WireDeploy>,
}

/// Netlify's `deploy`. Every field is optional in the spec; only those Lookout reads are here.
#[derive(Debug, Default, Deserialize)]
struct WireDeploy {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    state: Option<String>,
    /// `production | deploy-preview | branch-deploy` (from Netlify's client types; that these
    /// are the only values is UNCONFIRMED).
    #[serde(default)]
    context: Option<String>,
    #[serde(default)]
    branch: Option<String>,
    /// The pull request of a deploy preview; a number in the spec, read as a string too.
    #[serde(default)]
    review_id: Option<serde_json::Value>,
    /// The git SHA.
    #[serde(default)]
    commit_ref: Option<String>,
    /// The deploy message: for a git deploy, the commit's message. The commit message and
    /// author are not in the OpenAPI (UNCONFIRMED), so `title` stands for the message and the
    /// extra keys below are read only when a response happens to carry them.
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    commit_message: Option<serde_json::Value>,
    #[serde(default)]
    committer: Option<serde_json::Value>,
    #[serde(default)]
    commit_author: Option<serde_json::Value>,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    skipped: Option<bool>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    published_at: Option<String>,
    /// The deploy's own permalink (`https://{id}--{site}.netlify.app`).
    #[serde(default)]
    deploy_ssl_url: Option<String>,
    #[serde(default)]
    deploy_url: Option<String>,
    /// The site's admin page (`https://app.netlify.com/sites/{name}`).
    #[serde(default)]
    admin_url: Option<String>,
    /// The site's name.
    #[serde(default)]
    name: Option<String>,
    /// The site it belongs to (a UUID).
    #[serde(default)]
    site_id: Option<String>,
}

/// A string from an undocumented key, or nothing when it is absent or not a string.
fn extra_string(value: Option<&serde_json::Value>) -> Option<String> {
    wire::non_empty(value?.as_str().map(str::to_string))
}

impl WireDeploy {
    fn review_number(&self) -> Option<u32> {
        match self.review_id.as_ref()? {
            serde_json::Value::Number(number) => number
                .as_u64()
                .or_else(|| {
                    number
                        .as_f64()
                        .filter(|n| n.fract() == 0.0 && *n >= 0.0)
                        .map(|n| n as u64)
                })
                .and_then(|n| u32::try_from(n).ok()),
            serde_json::Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }

    fn environment(&self, branch: Option<String>, review: Option<u32>) -> ProviderEnvironment {
        match self.context.as_deref() {
            Some(PRODUCTION) => ProviderEnvironment::Named(PRODUCTION.into()),
            Some("deploy-preview") => ProviderEnvironment::Preview {
                branch,
                pr_number: review,
            },
            Some("branch-deploy") => ProviderEnvironment::Preview {
                branch,
                pr_number: None,
            },
            other => {
                // Only production is a named environment at Netlify; anything else is built
                // from a branch, so it is shown as that branch's preview.
                wire::warn_unknown("netlify", "context", other.unwrap_or(""));
                ProviderEnvironment::Preview {
                    branch,
                    pr_number: review,
                }
            }
        }
    }

    /// `site_admin_url` fills in the dashboard link when the deploy itself lacks `admin_url`
    /// (the site's `published_deploy` may be a summary).
    fn into_provider(
        self,
        site_admin_url: Option<&str>,
    ) -> Result<ProviderDeployment, ProviderError> {
        let id = wire::non_empty(self.id.clone()).ok_or_else(|| ProviderError::Malformed {
            detail: "a Netlify deploy without `id`".into(),
        })?;
        let provider_state = self.state.clone().unwrap_or_default();
        let state = deploy_state(
            &provider_state,
            self.error_message.as_deref(),
            self.skipped == Some(true),
        );
        let branch = wire::non_empty(self.branch.clone());
        let review = self.review_number();
        let environment = self.environment(branch.clone(), review);
        let commit = CommitInfo {
            sha: wire::non_empty(self.commit_ref.clone()),
            message: extra_string(self.commit_message.as_ref())
                .or_else(|| wire::non_empty(self.title.clone())),
            author: extra_string(self.committer.as_ref())
                .or_else(|| extra_string(self.commit_author.as_ref())),
            branch,
        };
        // `published_at` is when a production deploy went live; previews are never published,
        // so for them (and failures) the last update is when they finished.
        let finished_at = if state.is_in_progress() {
            None
        } else {
            wire::parse_time("netlify", self.published_at.as_deref())
                .or_else(|| wire::parse_time("netlify", self.updated_at.as_deref()))
        };
        let admin_url = super::web_url(self.admin_url.clone(), "admin_url")
            .or_else(|| super::web_url(site_admin_url.map(str::to_string), "admin_url"))
            .or_else(|| {
                wire::non_empty(self.name.clone())
                    .map(|name| format!("{DASHBOARD_BASE}/sites/{name}"))
            });
        let dashboard_url =
            admin_url.map(|admin| format!("{}/deploys/{id}", admin.trim_end_matches('/')));
        // The site by its id, its name and its Netlify domain (config accepts either id or
        // domain), and the deploy context.
        let domain = self
            .name
            .as_deref()
            .map(|name| format!("{name}.netlify.app"));
        let mut origin = OriginFact::all(
            "site",
            [
                self.site_id.as_deref(),
                self.name.as_deref(),
                domain.as_deref(),
            ],
        );
        origin.extend(OriginFact::all("context", [self.context.as_deref()]));
        Ok(ProviderDeployment {
            origin,
            rollback_refusal: None,
            state,
            provider_state,
            environment,
            commit,
            pr_number: review,
            // `user_id` is an opaque account id, not a name Lookout could show.
            creator: None,
            created_at: wire::parse_time("netlify", self.created_at.as_deref()),
            finished_at,
            url: super::web_url(self.deploy_ssl_url, "deploy_ssl_url")
                .or_else(|| super::web_url(self.deploy_url, "deploy_url")),
            dashboard_url,
            id,
        })
    }
}

#[cfg(test)]
mod tests;
