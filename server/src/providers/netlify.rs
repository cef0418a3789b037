//! The Netlify client: the deploys of one Netlify site, read through the REST API.
//!
//! It owns the mapping of Netlify's wire format onto Lookout's types: the deploy list
//! (`GET /sites/{site_id}/deploys`, a bare array paged by `page`/`per_page`), what is live
//! (`GET /sites/{site_id}` → `published_deploy`, plus the newest ready preview per branch), one
//! deploy (`GET /sites/{site_id}/deploys/{deploy_id}`), Netlify's deploy `state` enum, the
//! `context` of a deploy (production, deploy preview, branch deploy), the `{code, message}` error
//! body, and the 429 wait that Netlify announces only as an `X-RateLimit-Reset` epoch time.
//! Contract: `shared/providers/vercel-netlify-render-railway.md`, section 2.

use super::http::{parse_rate_limit, read_success, transport_error};
use super::rollback::{
    HoldKind, HoldOffer, HoldPlacement, HoldRelease, RollbackMethod, RollbackRequest,
    RollbackStarted,
};
use super::{
    CommitInfo, DeploymentPage, DeploymentProvider, OriginFact, PageCursor, ProviderDeployment,
    ProviderEnvironment, ProviderError, ScopePresence, ScopeRule,
};
use crate::secret::Secret;
use app::model::{DeployState, ProviderKind};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
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

    /// `{api_base}/sites/{site_id}` + further segments, each percent-encoded so an id can
    /// never change the path.
    fn site_url(&self, extra: &[&str]) -> Result<Url, ProviderError> {
        let invalid_base = || ProviderError::Transport {
            detail: "the configured Netlify API base is not a valid http(s) URL".into(),
        };
        let mut url = Url::parse(&self.config.api_base).map_err(|_| invalid_base())?;
        url.path_segments_mut()
            .map_err(|()| invalid_base())?
            .pop_if_empty()
            .extend(["sites", self.config.site_id.as_str()])
            .extend(extra);
        Ok(url)
    }

    async fn get<T: DeserializeOwned>(&self, url: Url) -> Result<Answer<T>, ProviderError> {
        let request = self
            .http
            .get(url)
            .bearer_auth(self.config.token.expose())
            .header(reqwest::header::ACCEPT, "application/json");
        let response = request.send().await.map_err(transport_error)?;
        let headers = response.headers().clone();
        let bytes = match read_success(response, error_message).await {
            Ok((bytes, _rate_limit)) => bytes,
            Err(ProviderError::RateLimited {
                retry_after,
                message,
            }) => {
                return Err(ProviderError::RateLimited {
                    retry_after: rate_limit_wait(&headers, Utc::now()).or(retry_after),
                    message,
                })
            }
            Err(error) => return Err(error),
        };
        let value = serde_json::from_slice(&bytes).map_err(|error| ProviderError::Malformed {
            detail: format!("unexpected JSON from Netlify: {error}"),
        })?;
        let link = headers
            .get(reqwest::header::LINK)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        Ok(Answer { value, link })
    }

    /// `POST {api_base}/…` with no body; the answer is checked, its body ignored.
    async fn post_empty(&self, url: Url) -> Result<(), ProviderError> {
        let response = self
            .http
            .post(url)
            .bearer_auth(self.config.token.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport_error)?;
        read_success(response, error_message).await?;
        Ok(())
    }

    /// `{api_base}/deploys/{deploy_id}/{action}` (lock, unlock).
    fn deploy_action_url(&self, deploy_id: &str, action: &str) -> Result<Url, ProviderError> {
        let invalid_base = || ProviderError::Transport {
            detail: "the configured Netlify API base is not a valid http(s) URL".into(),
        };
        let mut url = Url::parse(&self.config.api_base).map_err(|_| invalid_base())?;
        url.path_segments_mut()
            .map_err(|()| invalid_base())?
            .pop_if_empty()
            .extend(["deploys", deploy_id, action]);
        Ok(url)
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
        let page = match cursor {
            None => 1,
            Some(cursor) => cursor
                .0
                .parse::<u32>()
                .ok()
                .filter(|page| *page >= 1)
                .ok_or_else(|| ProviderError::Malformed {
                    detail: "not a Netlify page cursor".into(),
                })?,
        };
        let (deployments, next) = self
            .deploys_page(page, page_size.clamp(1, MAX_PAGE_SIZE))
            .await?;
        Ok(DeploymentPage {
            deployments,
            next: next.map(|page| PageCursor(page.to_string())),
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

    #[tracing::instrument(skip_all, fields(provider = "netlify", deploy_id = %id))]
    async fn deployment(&self, id: &str) -> Result<ProviderDeployment, ProviderError> {
        let url = self.site_url(&["deploys", id])?;
        self.get::<WireDeploy>(url).await?.value.into_provider(None)
    }

    /// One site serves production and its previews: a target must be a production-context
    /// deploy of this site.
    fn target_scope(&self, environment: &ProviderEnvironment) -> Option<Vec<ScopeRule>> {
        let ProviderEnvironment::Named(name) = environment else {
            return None;
        };
        Some(vec![
            // `site_id` and `name` are optional in the spec (UNCONFIRMED that a deploy always
            // carries them). The deploy is read under `/sites/{site_id}/`, so one that names
            // no site is taken as this site's; one that names another site is refused.
            ScopeRule {
                presence: ScopePresence::IfReported,
                ..ScopeRule::required("site", [self.config.site_id.clone()])
            },
            ScopeRule::required("context", [name.clone()]),
        ])
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
    if received == 0 {
        return None;
    }
    match link.filter(|link| !link.trim().is_empty()) {
        Some(link) => {
            let next = link_target(link, "next")?;
            let url =
                Url::parse(&next).or_else(|_| Url::parse("http://relative.invalid/")?.join(&next));
            url.ok()
                .and_then(|url| {
                    url.query_pairs()
                        .find(|(key, _)| key == "page")
                        .and_then(|(_, value)| value.parse::<u32>().ok())
                })
                // A next link without a readable page number still says there is more.
                .or_else(|| page.checked_add(1))
        }
        None => (received >= per_page as usize)
            .then(|| page.checked_add(1))
            .flatten(),
    }
}

/// The target of the link with relation `rel` in an RFC 8288 `Link` header.
fn link_target(header: &str, rel: &str) -> Option<String> {
    header.split(',').find_map(|entry| {
        let mut parts = entry.split(';');
        let target = parts
            .next()?
            .trim()
            .strip_prefix('<')?
            .strip_suffix('>')?
            .to_string();
        let has_rel = parts.any(|param| {
            let Some((key, value)) = param.split_once('=') else {
                return false;
            };
            key.trim().eq_ignore_ascii_case("rel")
                && value
                    .trim()
                    .trim_matches('"')
                    .split_ascii_whitespace()
                    .any(|one| one.eq_ignore_ascii_case(rel))
        });
        has_rel.then_some(target)
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
            warn_unknown("state", other);
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

/// Logs each unknown value once per process, so a new Netlify value is noticed without
/// flooding the log on every poll.
fn warn_unknown(field: &'static str, value: &str) {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let first_time = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(format!("{field}={value}"));
    if first_time {
        tracing::warn!(
            provider = "netlify",
            field,
            value,
            "unknown Netlify value; shown as unknown"
        );
    }
}

/// Netlify writes ISO-8601 (`2024-05-01T12:00:00.000Z`); an unreadable one is left out
/// rather than failing the whole answer.
fn parse_time(value: Option<&str>) -> Option<DateTime<Utc>> {
    let value = value?;
    match DateTime::parse_from_rfc3339(value) {
        Ok(time) => Some(time.with_timezone(&Utc)),
        Err(_) => {
            warn_unknown("timestamp", value);
            None
        }
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
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
    non_empty(value?.as_str().map(str::to_string))
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
                warn_unknown("context", other.unwrap_or(""));
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
        let id = non_empty(self.id.clone()).ok_or_else(|| ProviderError::Malformed {
            detail: "a Netlify deploy without `id`".into(),
        })?;
        let provider_state = self.state.clone().unwrap_or_default();
        let state = deploy_state(
            &provider_state,
            self.error_message.as_deref(),
            self.skipped == Some(true),
        );
        let branch = non_empty(self.branch.clone());
        let review = self.review_number();
        let environment = self.environment(branch.clone(), review);
        let commit = CommitInfo {
            sha: non_empty(self.commit_ref.clone()),
            message: extra_string(self.commit_message.as_ref())
                .or_else(|| non_empty(self.title.clone())),
            author: extra_string(self.committer.as_ref())
                .or_else(|| extra_string(self.commit_author.as_ref())),
            branch,
        };
        // `published_at` is when a production deploy went live; previews are never published,
        // so for them (and failures) the last update is when they finished.
        let finished_at = if state.is_in_progress() {
            None
        } else {
            parse_time(self.published_at.as_deref())
                .or_else(|| parse_time(self.updated_at.as_deref()))
        };
        let admin_url = super::web_url(self.admin_url.clone(), "admin_url")
            .or_else(|| super::web_url(site_admin_url.map(str::to_string), "admin_url"))
            .or_else(|| {
                non_empty(self.name.clone()).map(|name| format!("{DASHBOARD_BASE}/sites/{name}"))
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
            created_at: parse_time(self.created_at.as_deref()),
            finished_at,
            url: super::web_url(self.deploy_ssl_url, "deploy_ssl_url")
                .or_else(|| super::web_url(self.deploy_url, "deploy_url")),
            dashboard_url,
            id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use reqwest::header::{HeaderName, HeaderValue};

    const LIST_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/netlify_list_deploys_CONSTRUCTED.json");
    const SITE_FIXTURE: &str = include_str!(
        "../../tests/fixtures/providers/netlify_get_site_published_deploy_CONSTRUCTED.json"
    );
    const RESTORE_FIXTURE: &str = include_str!(
        "../../tests/fixtures/providers/netlify_restore_deploy_response_CONSTRUCTED.json"
    );
    const ERROR_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/netlify_error_CONSTRUCTED.json");

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
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn parse(json: &str) -> ProviderDeployment {
        serde_json::from_str::<WireDeploy>(json)
            .unwrap()
            .into_provider(None)
            .unwrap()
    }

    #[test]
    fn every_netlify_state_maps_onto_lookout() {
        let expected = [
            ("new", DeployState::Queued),
            ("pending_review", DeployState::Queued),
            ("accepted", DeployState::Queued),
            ("rejected", DeployState::Canceled),
            ("enqueued", DeployState::Queued),
            ("building", DeployState::Building),
            ("uploading", DeployState::Deploying),
            ("uploaded", DeployState::Deploying),
            ("preparing", DeployState::Deploying),
            ("prepared", DeployState::Deploying),
            ("processing", DeployState::Deploying),
            ("processed", DeployState::Deploying),
            ("ready", DeployState::Ready),
            ("error", DeployState::Failed),
            ("retrying", DeployState::Queued),
            // UNCONFIRMED values.
            ("canceled", DeployState::Canceled),
            ("cancelled", DeployState::Canceled),
            ("current", DeployState::Ready),
            ("old", DeployState::Superseded),
            // Unknown ones.
            ("teleporting", DeployState::Unknown),
            ("", DeployState::Unknown),
        ];
        for (netlify, lookout) in expected {
            assert_eq!(map_state(netlify), lookout, "{netlify:?}");
        }
    }

    #[test]
    fn a_canceled_build_reported_as_an_error_is_canceled() {
        assert_eq!(
            deploy_state("error", Some("Canceled build"), false),
            DeployState::Canceled
        );
        assert_eq!(deploy_state("error", None, true), DeployState::Canceled);
        assert_eq!(
            deploy_state(
                "error",
                Some("Build script returned non-zero exit code: 2"),
                false
            ),
            DeployState::Failed
        );
        assert_eq!(deploy_state("ready", None, true), DeployState::Ready);
    }

    #[test]
    fn list_fixture_parses_production_and_deploy_preview() {
        let deploys: Vec<WireDeploy> = serde_json::from_str(LIST_FIXTURE).unwrap();
        let [production, preview] = <[WireDeploy; 2]>::try_from(deploys).unwrap();

        let production = production.into_provider(None).unwrap();
        assert_eq!(production.id, "1234abcd12acde000111cdef");
        assert_eq!(production.state, DeployState::Ready);
        assert_eq!(production.provider_state, "ready");
        assert_eq!(
            production.environment,
            ProviderEnvironment::Named("production".into())
        );
        assert_eq!(
            production.commit,
            CommitInfo {
                sha: Some("de8b89f13b2bc164cf07e735921bf5513e17951d".into()),
                message: Some("Fix header layout".into()),
                author: None,
                branch: Some("main".into()),
            }
        );
        assert_eq!(production.pr_number, None);
        assert_eq!(production.creator, None);
        assert_eq!(production.created_at, at("2024-05-01T12:00:00Z"));
        assert_eq!(production.finished_at, at("2024-05-01T12:01:29Z"));
        assert_eq!(
            production.url.as_deref(),
            Some("https://1234abcd12acde000111cdef--yoursitename.netlify.app")
        );
        assert_eq!(
            production.dashboard_url.as_deref(),
            Some("https://app.netlify.com/sites/yoursitename/deploys/1234abcd12acde000111cdef")
        );

        let preview = preview.into_provider(None).unwrap();
        assert_eq!(preview.id, "2345bcde23bcdf111222def0");
        assert_eq!(preview.state, DeployState::Failed);
        assert_eq!(preview.provider_state, "error");
        assert_eq!(
            preview.environment,
            ProviderEnvironment::Preview {
                branch: Some("feature/x".into()),
                pr_number: Some(42)
            }
        );
        assert_eq!(preview.pr_number, Some(42));
        assert_eq!(
            preview.commit.sha.as_deref(),
            Some("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c")
        );
        assert_eq!(
            preview.commit.message.as_deref(),
            Some("WIP feature branch")
        );
        assert_eq!(preview.created_at, at("2024-04-30T09:00:00Z"));
        assert_eq!(
            preview.finished_at,
            at("2024-04-30T09:02:10Z"),
            "never published: finished when last updated"
        );
        assert_eq!(
            preview.url.as_deref(),
            Some("https://deploy-preview-42--yoursitename.netlify.app")
        );
    }

    #[test]
    fn site_fixture_names_the_published_deploy() {
        let site: WireSite = serde_json::from_str(SITE_FIXTURE).unwrap();
        assert_eq!(
            site.ssl_url.as_deref(),
            Some("https://yoursitename.netlify.app")
        );
        let admin_url = site.admin_url.clone();
        let published = site
            .published_deploy
            .unwrap()
            .into_provider(admin_url.as_deref())
            .unwrap();
        assert_eq!(published.id, "1234abcd12acde000111cdef");
        assert_eq!(published.state, DeployState::Ready);
        assert_eq!(
            published.environment,
            ProviderEnvironment::Named("production".into())
        );
        assert_eq!(
            published.commit.sha.as_deref(),
            Some("de8b89f13b2bc164cf07e735921bf5513e17951d")
        );
        assert_eq!(published.commit.branch.as_deref(), Some("main"));
        assert_eq!(published.finished_at, at("2024-05-02T08:15:00Z"));
        assert_eq!(published.created_at, None, "the summary has no created_at");
        assert_eq!(
            published.dashboard_url.as_deref(),
            Some("https://app.netlify.com/sites/yoursitename/deploys/1234abcd12acde000111cdef")
        );
    }

    #[test]
    fn restore_fixture_parses_as_the_restored_deploy() {
        let restored = parse(RESTORE_FIXTURE);
        assert_eq!(restored.id, "1234abcd12acde000111cdef");
        assert_eq!(restored.state, DeployState::Ready);
        assert_eq!(
            restored.environment,
            ProviderEnvironment::Named("production".into())
        );
        assert_eq!(
            restored.commit.message.as_deref(),
            Some("Fix header layout")
        );
        assert_eq!(restored.created_at, at("2024-05-01T12:00:00Z"));
        assert_eq!(
            restored.finished_at,
            at("2024-05-02T08:15:00Z"),
            "published again by the restore"
        );
    }

    #[test]
    fn error_fixture_yields_its_message() {
        assert_eq!(
            error_message(ERROR_FIXTURE.as_bytes()).as_deref(),
            Some("Not Found")
        );
        assert_eq!(error_message(b"<html>bad gateway</html>"), None);
        assert_eq!(error_message(br#"{"code": 500, "message": ""}"#), None);
    }

    #[test]
    fn branch_deploys_have_no_pr_and_extra_commit_keys_are_read() {
        let deploy = parse(
            r#"{"id": "abc", "state": "building", "context": "branch-deploy",
                "branch": "staging", "review_id": "7", "title": "Deploy title",
                "commit_message": "Real message", "committer": "octocat",
                "created_at": "2024-05-01T12:00:00Z", "updated_at": "2024-05-01T12:00:30Z",
                "brand_new_field": {"x": 1}}"#,
        );
        assert_eq!(deploy.state, DeployState::Building);
        assert_eq!(
            deploy.environment,
            ProviderEnvironment::Preview {
                branch: Some("staging".into()),
                pr_number: None
            }
        );
        assert_eq!(deploy.commit.message.as_deref(), Some("Real message"));
        assert_eq!(deploy.commit.author.as_deref(), Some("octocat"));
        assert_eq!(deploy.finished_at, None, "still building");
        assert_eq!(deploy.dashboard_url, None, "no site name or admin URL");
    }

    #[test]
    fn unknown_or_missing_context_is_a_preview_of_its_branch() {
        let deploy = parse(r#"{"id": "abc", "state": "ready", "branch": "x", "review_id": 3}"#);
        assert_eq!(
            deploy.environment,
            ProviderEnvironment::Preview {
                branch: Some("x".into()),
                pr_number: Some(3)
            }
        );
        let deploy = parse(r#"{"id": "abc", "state": "ready", "context": "dev"}"#);
        assert_eq!(
            deploy.environment,
            ProviderEnvironment::Preview {
                branch: None,
                pr_number: None
            }
        );
    }

    #[test]
    fn a_deploy_without_an_id_or_a_non_list_is_malformed() {
        let result = serde_json::from_str::<WireDeploy>(r#"{"state": "ready"}"#)
            .unwrap()
            .into_provider(None);
        assert!(matches!(result, Err(ProviderError::Malformed { .. })));
        assert!(serde_json::from_str::<Vec<WireDeploy>>(r#"{"deploys": []}"#).is_err());
        assert!(serde_json::from_str::<WireSite>(r#"[]"#).is_err());
    }

    #[test]
    fn next_page_follows_full_pages_or_the_link_header() {
        assert_eq!(next_page(None, 1, 10, 10), Some(2));
        assert_eq!(next_page(None, 2, 10, 9), None);
        assert_eq!(next_page(None, 3, 10, 0), None);
        let link = r#"<https://api.netlify.com/api/v1/sites/s/deploys?page=3&per_page=10>; rel="next", <https://api.netlify.com/api/v1/sites/s/deploys?page=9&per_page=10>; rel="last""#;
        assert_eq!(next_page(Some(link), 2, 10, 10), Some(3));
        // A Link header without `next`: the last page, even though it is full.
        let last =
            r#"<https://api.netlify.com/api/v1/sites/s/deploys?page=1&per_page=10>; rel="first""#;
        assert_eq!(next_page(Some(last), 9, 10, 10), None);
        // Relative targets and a next link without a page number.
        assert_eq!(
            next_page(Some(r#"</sites/s/deploys?page=5>; rel="next""#), 4, 10, 3),
            Some(5)
        );
        assert_eq!(
            next_page(Some(r#"<https://x.example/more>; rel=next"#), 4, 10, 3),
            Some(5)
        );
    }

    #[test]
    fn rate_limit_reset_becomes_a_whole_second_wait() {
        let now = Utc.timestamp_opt(1_700_000_000, 400_000_000).unwrap();
        let reset_only = headers(&[("x-ratelimit-reset", "1700000001")]);
        assert_eq!(
            rate_limit_wait(&reset_only, now),
            Some(Duration::from_secs(1))
        );
        let later = headers(&[
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000030"),
        ]);
        assert_eq!(rate_limit_wait(&later, now), Some(Duration::from_secs(30)));
        let past = headers(&[("x-ratelimit-reset", "1699999990")]);
        assert_eq!(
            rate_limit_wait(&past, now),
            Some(MIN_RATE_LIMIT_WAIT),
            "never less than the floor"
        );
        let retry_after = headers(&[("retry-after", "12"), ("x-ratelimit-reset", "1700000030")]);
        assert_eq!(
            rate_limit_wait(&retry_after, now),
            Some(Duration::from_secs(12))
        );
        assert_eq!(rate_limit_wait(&HeaderMap::new(), now), None);
    }

    #[test]
    fn urls_keep_the_base_path_and_encode_ids() {
        let client = NetlifyClient::new(
            reqwest::Client::new(),
            NetlifyClientConfig {
                api_base: "http://127.0.0.1:9/netlify/".into(),
                token: Secret::new("nfp_do_not_print"),
                site_id: "site one".into(),
            },
        );
        assert_eq!(
            client.site_url(&["deploys", "a/b"]).unwrap().as_str(),
            "http://127.0.0.1:9/netlify/sites/site%20one/deploys/a%2Fb"
        );
        assert!(!format!("{client:?}").contains("nfp_do_not_print"));
    }
}
