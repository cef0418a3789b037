//! Heroku client: the releases of one Heroku app, read through the Platform API (v3) and
//! mapped onto Lookout's types.
//!
//! Heroku models environments as separate apps (staging, production, review apps), so one
//! [`HerokuClient`] serves one app and every release it returns belongs to the Lookout
//! environment named in its config. It owns Heroku's wire format: the `Accept:
//! application/vnd.heroku+json; version=3` header, `Range`/`206 Partial Content`/`Next-Range`
//! paging, `current: true` as the live marker, the release `status` enum, the commit behind a
//! release (read from its slug), `{id, message}` errors, and rollback (a new release made from
//! an older one by `POST /apps/{app}/releases {release}`). Contract:
//! `shared/providers/github-digitalocean-fly-heroku-cloudflare-supabase.md`, section 4.

use super::http::RestApi;
use super::rollback::{RollbackMethod, RollbackProgress, RollbackRequest, RollbackStarted};
use super::wire;
use super::{
    CommitInfo, DeploymentPage, DeploymentProvider, OriginFact, PageCursor, ProviderDeployment,
    ProviderEnvironment, ProviderError, ScopePresence, ScopeRule,
};
use crate::secret::Secret;
use app::model::{DeployState, ProviderKind};
use async_trait::async_trait;
use futures::StreamExt;
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use url::Url;

/// Heroku's largest `max` in a `Range` (the default is 200).
pub const MAX_PAGE_SIZE: u32 = 1000;
/// The media type that selects version 3 of the Platform API; without it Heroku answers 406.
pub const ACCEPT_V3: &str = "application/vnd.heroku+json; version=3";
/// Heroku's Platform API: the v3 media type, `{id, message}` bodies, the shared status
/// mapping.
const API: RestApi = RestApi {
    accept: ACCEPT_V3,
    ..RestApi::new("Heroku", error_message)
};
/// The dashboard's release page. Not in the contract (UNCONFIRMED): third-party tools link
/// `/apps/{app}/activity/releases/{release id}`, some with the version instead; the release
/// id is used here because it is what identifies a release everywhere else.
const DASHBOARD_BASE: &str = "https://dashboard.heroku.com";
/// How many releases to look through for the `current` one, and in what pages: it is nearly
/// always among the newest few (only newer pending or failed releases come before it).
const LIVE_SEARCH_PAGE_SIZE: u32 = 50;
const LIVE_SEARCH_PAGES: u32 = 4;
/// Slug look-ups running at once, so a first listing does not burst the token pool.
const SLUG_LOOKUP_CONCURRENCY: usize = 4;
/// Slugs are immutable, so what is learned about one is kept; past this many the cache is
/// simply emptied (a few look-ups again are cheaper than bookkeeping).
const SLUG_CACHE_LIMIT: usize = 2048;

/// Where one Heroku app lives and how to reach its API.
#[derive(Clone, Debug)]
pub struct HerokuClientConfig {
    /// `https://api.heroku.com`, or a simulator's base such as `http://127.0.0.1:PORT/heroku`.
    pub api_base: String,
    /// An API token (`heroku authorizations:create`, or the account's API key) that can read
    /// the app.
    pub token: Secret,
    /// The app's name or id; every endpoint used here accepts either.
    pub app: String,
    /// The Lookout environment this app serves (e.g. "production").
    pub environment: String,
}

/// A [`DeploymentProvider`] for one Heroku app.
#[derive(Clone, Debug)]
pub struct HerokuClient {
    http: reqwest::Client,
    config: HerokuClientConfig,
    slugs: SlugCache,
}

/// What a slug says about the code it was built from, by slug id.
#[derive(Clone, Default)]
struct SlugCache(Arc<Mutex<HashMap<String, SlugCommit>>>);

impl std::fmt::Debug for SlugCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cached = self.lock().len();
        f.debug_struct("SlugCache")
            .field("cached", &cached)
            .finish()
    }
}

impl SlugCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, SlugCommit>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The commit fields of a slug; both empty for a slug Lookout may not read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct SlugCommit {
    commit: Option<String>,
    description: Option<String>,
}

impl HerokuClient {
    pub fn new(http: reqwest::Client, config: HerokuClientConfig) -> Self {
        Self {
            http,
            config,
            slugs: SlugCache::default(),
        }
    }

    /// `{api_base}/apps/{app}/…`, each segment percent-encoded.
    fn app_url(&self, extra: &[&str]) -> Result<Url, ProviderError> {
        API.url(
            &self.config.api_base,
            &["apps", self.config.app.as_str()],
            extra,
        )
    }

    fn get(&self, url: Url) -> reqwest::RequestBuilder {
        API.bearer(self.http.get(url), &self.config.token)
    }

    /// One page of releases for `range` (a `Range` header value) and the `Next-Range` to ask
    /// for next. Heroku's rule: `206 Partial Content` means the list was cut and `Next-Range`
    /// says where it goes on; a `200` is the whole rest of the list.
    async fn releases_page(
        &self,
        range: &str,
    ) -> Result<(Vec<WireRelease>, Option<String>), ProviderError> {
        let url = self.app_url(&["releases"])?;
        let answer = API
            .send(self.get(url).header(reqwest::header::RANGE, range))
            .await?;
        let partial = answer.status == StatusCode::PARTIAL_CONTENT;
        let next_range = answer.header("next-range").map(str::to_string);
        let releases: Vec<WireRelease> = API.decode(&answer.body)?;
        let next = if partial {
            if next_range.is_none() {
                tracing::warn!(
                    app = %self.config.app,
                    "Heroku answered 206 without Next-Range; stopping here"
                );
            }
            next_range
        } else {
            None
        };
        Ok((releases, next))
    }

    async fn get_json<T: DeserializeOwned>(&self, url: Url) -> Result<T, ProviderError> {
        API.send_json(self.get(url)).await
    }

    /// The commits of the slugs behind `releases`, from the cache or looked up (a few at a
    /// time). A slug Lookout may not read, or that is gone, is remembered as having no
    /// commit; any other failure fails the call so the monitor backs off.
    async fn slug_commits(
        &self,
        releases: &[WireRelease],
    ) -> Result<HashMap<String, SlugCommit>, ProviderError> {
        let wanted: HashSet<&str> = releases
            .iter()
            .filter_map(|release| release.slug_id())
            .collect();
        // Owned ids: a stream over borrowed ones trips the `Send` check of the async trait.
        let missing: Vec<String> = {
            let cache = self.slugs.lock();
            wanted
                .iter()
                .filter(|id| !cache.contains_key(**id))
                .map(|id| (*id).to_string())
                .collect()
        };
        let looked_up: Vec<(String, Result<SlugCommit, ProviderError>)> =
            futures::stream::iter(missing)
                .map(|slug_id| async move {
                    let result = self.slug_commit(&slug_id).await;
                    (slug_id, result)
                })
                .buffer_unordered(SLUG_LOOKUP_CONCURRENCY)
                .collect()
                .await;
        let mut first_error = None;
        {
            let mut cache = self.slugs.lock();
            if cache.len() + looked_up.len() > SLUG_CACHE_LIMIT {
                cache.clear();
            }
            for (slug_id, result) in looked_up {
                match result {
                    Ok(commit) => {
                        cache.insert(slug_id, commit);
                    }
                    Err(ProviderError::NotFound { .. } | ProviderError::Forbidden { .. }) => {
                        tracing::warn!(app = %self.config.app, slug_id, "Heroku slug not readable; its release shows no commit");
                        cache.insert(slug_id, SlugCommit::default());
                    }
                    Err(error) => {
                        first_error.get_or_insert(error);
                    }
                }
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        let cache = self.slugs.lock();
        Ok(wanted
            .into_iter()
            .filter_map(|id| Some((id.to_string(), cache.get(id)?.clone())))
            .collect())
    }

    async fn slug_commit(&self, slug_id: &str) -> Result<SlugCommit, ProviderError> {
        let slug: WireSlug = self.get_json(self.app_url(&["slugs", slug_id])?).await?;
        Ok(SlugCommit {
            commit: wire::non_empty(slug.commit),
            description: wire::non_empty(slug.commit_description),
        })
    }

    /// Releases with their slugs' commits, mapped.
    async fn to_deployments(
        &self,
        releases: Vec<WireRelease>,
    ) -> Result<Vec<ProviderDeployment>, ProviderError> {
        let slugs = self.slug_commits(&releases).await?;
        Ok(releases
            .into_iter()
            .map(|release| {
                let slug = release
                    .slug_id()
                    .and_then(|id| slugs.get(id))
                    .cloned()
                    .unwrap_or_default();
                self.to_deployment(release, &slug)
            })
            .collect())
    }

    /// Maps one release onto Lookout's deployment.
    fn to_deployment(&self, release: WireRelease, slug: &SlugCommit) -> ProviderDeployment {
        let status = release.status.clone().unwrap_or_default();
        let state = release_state(&status, release.current);
        let description = wire::non_empty(release.description.clone());
        let deployed_sha = description.as_deref().and_then(deployed_short_sha);
        // A plain "Deploy de63889" says nothing the sha does not, so the slug's commit
        // description (UNCONFIRMED that it holds the commit message; the schema says "an
        // optional description of the provided commit") replaces it when there is one. Every
        // other description ("Set FOO config vars", "Rollback to v46") is what changed and
        // is kept.
        let message = match (&deployed_sha, &slug.description) {
            (Some(_), Some(commit_description)) => Some(commit_description.clone()),
            _ => description,
        };
        let app_name = release
            .app
            .as_ref()
            .and_then(|app| wire::non_empty(app.name.clone()))
            .unwrap_or_else(|| self.config.app.clone());
        let finished_at = match status.as_str() {
            // The release phase is still running.
            "pending" => None,
            // UNCONFIRMED: Heroku has no finished time; `updated_at` is when the status last
            // changed, which for a finished release is when it finished.
            _ => wire::parse_time("heroku", release.updated_at.as_deref()),
        };
        let rollback_refusal = rollback_refusal(&release, &status);
        let origin = release
            .app
            .as_ref()
            .map(|app| OriginFact::all("app", [app.id.as_deref(), app.name.as_deref()]))
            .unwrap_or_default();
        ProviderDeployment {
            origin,
            rollback_refusal,
            state,
            provider_state: status,
            environment: ProviderEnvironment::Named(self.config.environment.clone()),
            commit: CommitInfo {
                // The full sha from the slug; else the short one a deploy's description shows.
                sha: slug.commit.clone().or(deployed_sha),
                message,
                // Neither releases nor slugs name the commit's author.
                author: None,
                // Nor its branch.
                branch: None,
            },
            // Review apps are separate apps; a release has no PR.
            pr_number: None,
            creator: release
                .user
                .as_ref()
                .and_then(|user| wire::non_empty(user.email.clone())),
            created_at: wire::parse_time("heroku", release.created_at.as_deref()),
            finished_at,
            // Releases have no URL; the app's URL is Lookout config.
            url: None,
            dashboard_url: dashboard_url(&app_name, &release.id),
            id: release.id,
        }
    }
}

#[async_trait]
impl DeploymentProvider for HerokuClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Heroku
    }

    #[tracing::instrument(skip_all, fields(provider = "heroku", app = %self.config.app))]
    async fn list_deployments(
        &self,
        cursor: Option<&PageCursor>,
        page_size: u32,
    ) -> Result<DeploymentPage, ProviderError> {
        // The cursor is Heroku's own `Next-Range`, sent back verbatim; it carries the page
        // size of the first request.
        let range = cursor.map_or_else(
            || newest_first_range(page_size.clamp(1, MAX_PAGE_SIZE)),
            |cursor| cursor.0.clone(),
        );
        let (mut releases, next) = self.releases_page(&range).await?;
        // `order=desc` is asked for, so this is already newest first (Heroku's default order
        // is UNCONFIRMED, which is why it is never relied on); sorting by version keeps a page
        // newest first should a proxy or Heroku ever ignore it.
        releases.sort_by_key(|release| std::cmp::Reverse(release.version));
        let next = next.filter(|_| !releases.is_empty()).map(PageCursor);
        let deployments = self.to_deployments(releases).await?;
        Ok(DeploymentPage { deployments, next })
    }

    #[tracing::instrument(skip_all, fields(provider = "heroku", app = %self.config.app))]
    async fn live_deployments(&self) -> Result<Vec<ProviderDeployment>, ProviderError> {
        let mut range = newest_first_range(LIVE_SEARCH_PAGE_SIZE);
        for _ in 0..LIVE_SEARCH_PAGES {
            let (releases, next) = self.releases_page(&range).await?;
            // `current: true` marks the live release (the Heroku CLI finds it the same way);
            // should several ever claim it, the highest version wins.
            let current = releases
                .into_iter()
                .filter(|release| release.current)
                .max_by_key(|release| release.version);
            if let Some(current) = current {
                return self.to_deployments(vec![current]).await;
            }
            match next {
                Some(next) => range = next,
                None => return Ok(Vec::new()),
            }
        }
        tracing::warn!(
            app = %self.config.app,
            searched = LIVE_SEARCH_PAGE_SIZE * LIVE_SEARCH_PAGES,
            "no current Heroku release among the newest releases; showing none as live"
        );
        Ok(Vec::new())
    }

    /// A release by id (uuid) or version; `v42` is read as version 42.
    #[tracing::instrument(skip_all, fields(provider = "heroku", app = %self.config.app, release = %id))]
    async fn deployment(&self, id: &str) -> Result<ProviderDeployment, ProviderError> {
        let id_or_version = id
            .strip_prefix('v')
            .filter(|version| !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or(id);
        let release: WireRelease = self
            .get_json(self.app_url(&["releases", id_or_version])?)
            .await?;
        let mut deployments = self.to_deployments(vec![release]).await?;
        deployments.pop().ok_or_else(|| ProviderError::Malformed {
            detail: "a Heroku release vanished while being read".into(),
        })
    }

    /// One app per environment, addressed in every path; the release names its app too
    /// (`app: {id, name}`, documented), so a target must be this app's, by id or name.
    fn target_scope(&self, _environment: &ProviderEnvironment) -> Option<Vec<ScopeRule>> {
        Some(vec![ScopeRule {
            // Every release read goes through `/apps/{app}/`; the `app` field double-checks.
            presence: ScopePresence::IfReported,
            ..ScopeRule::required("app", [self.config.app.clone()])
        }])
    }

    fn rollback_method(&self) -> Option<RollbackMethod> {
        Some(RollbackMethod {
            action: "Heroku creates a new release (\"Rollback to vNN\") from the target \
                     release's slug and config vars; nothing is rebuilt."
                .into(),
            // Heroku has no auto-deploy switch on the Platform API to pause.
            hold: None,
            caveats: vec![
                "Rollback affects code and config vars; it doesn't add or remove add-ons.".into(),
                "Database and add-on state are not rolled back.".into(),
                "Only succeeded releases Heroku marks eligible for rollback can be targets.".into(),
                "The next deploy or config change makes a new release that replaces the \
                 rollback; Heroku offers no hold."
                    .into(),
            ],
        })
    }

    #[tracing::instrument(skip_all, fields(provider = "heroku", app = %self.config.app, target = %request.target.id))]
    async fn roll_back(
        &self,
        request: RollbackRequest<'_>,
    ) -> Result<RollbackStarted, ProviderError> {
        let url = self.app_url(&["releases"])?;
        // The schema's "Rollback" link takes the release *id* (a uuid), as the Heroku CLI
        // sends; whether a version is accepted too is UNCONFIRMED, so the id is always sent
        // (`to_deployment` makes the release id the deployment id). A `{release}` body is
        // what tells a rollback from the "Create" link on the same path (`{slug, …}`).
        let body = serde_json::json!({ "release": request.target.id });
        let post = API
            .bearer(self.http.post(url), &self.config.token)
            .json(&body);
        // 201 or 200 (UNCONFIRMED which): any success carries the new release.
        let created: WireRelease = API.send_json(post).await?;
        Ok(RollbackStarted {
            provider_reference: created.version.map(|version| format!("v{version}")),
            new_deployment_id: Some(created.id),
            hold: None,
        })
    }

    /// Heroku's own signal: the new release's `status` (`pending` while its release phase
    /// runs, then `succeeded` or `failed`) and `current`.
    async fn rollback_progress(
        &self,
        _environment: &ProviderEnvironment,
        _target: &ProviderDeployment,
        started: &RollbackStarted,
    ) -> Result<RollbackProgress, ProviderError> {
        let Some(created_id) = started.new_deployment_id.as_deref() else {
            return Err(ProviderError::Malformed {
                detail: "a Heroku rollback always creates a release, but none was recorded".into(),
            });
        };
        let created = self.deployment(created_id).await?;
        let version = started.provider_reference.as_deref().unwrap_or(created_id);
        Ok(match (created.provider_state.as_str(), created.state) {
            (_, DeployState::Ready) => RollbackProgress::Live(Box::new(created)),
            ("failed", _) => RollbackProgress::Failed {
                reason: format!("Heroku reports the rollback release {version} as failed"),
            },
            ("succeeded", _) => {
                // It succeeded but is not current: another release replaced it already.
                let live = self.live_deployments().await?;
                let now = live
                    .first()
                    .map_or_else(|| "none".to_string(), |now| now.id.clone());
                RollbackProgress::Failed {
                    reason: format!(
                        "the rollback release {version} succeeded but is no longer current \
                         (current: {now})"
                    ),
                }
            }
            (status, _) => RollbackProgress::Waiting {
                detail: format!("rollback release {version}: {status}"),
            },
        })
    }
}

/// The first page's `Range`: every version, newest first, `max` per page. The Heroku CLI sends
/// the same parameters (`version ..; max=15, order=desc`).
fn newest_first_range(max: u32) -> String {
    format!("version ..; order=desc, max={max}")
}

/// Heroku's release `status` and `current` flag → Lookout's state. Unknown values become
/// `Unknown` (logged once per value), never an error.
///
/// `current` decides between live and replaced: a succeeded release that is not current was
/// live once and has been replaced. Rollbacks need no state of their own: Heroku rolls back by
/// creating a *new* release ("Rollback to v46") that is live like any other, and does not mark
/// the releases it undid, so nothing here maps to `RolledBack`.
pub fn release_state(status: &str, current: bool) -> DeployState {
    match (status, current) {
        ("succeeded", true) => DeployState::Ready,
        ("succeeded", false) => DeployState::Superseded,
        // The release phase failed; the release never went live.
        ("failed", _) => DeployState::Failed,
        // The slug is built and the release phase (migrations, …) is running.
        ("pending", _) => DeployState::Deploying,
        // An old release whose artifacts Heroku expired; should one still be current, it is
        // what serves traffic.
        ("expired", true) => DeployState::Ready,
        ("expired", false) => DeployState::Superseded,
        (other, _) => {
            wire::warn_unknown("heroku", "release status", other);
            DeployState::Unknown
        }
    }
}

/// The short sha of a deploy's description, "Deploy de63889" → `de63889`. Heroku writes the
/// first seven hex digits; 7–40 are accepted.
fn deployed_short_sha(description: &str) -> Option<String> {
    let rest = description.trim().strip_prefix("Deploy ")?;
    let token = rest.split_whitespace().next()?;
    let is_sha = (7..=40).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_hexdigit());
    // Only a description that is nothing but "Deploy <sha>" is a plain deploy.
    (is_sha && rest.trim() == token).then(|| token.to_ascii_lowercase())
}

/// Why Heroku would not roll back to `release`, by its own `eligible_for_rollback` flag. Where
/// the flag is absent (answers older than 2024-11-19), the contract's rule stands in: only a
/// succeeded release with a slug can be a target. That Heroku's API refuses ineligible
/// releases is inferred (UNCONFIRMED); the flag is honoured either way.
fn rollback_refusal(release: &WireRelease, status: &str) -> Option<String> {
    let version = release
        .version
        .map_or_else(|| release.id.clone(), |version| format!("v{version}"));
    match release.eligible_for_rollback {
        Some(true) => None,
        Some(false) => Some(format!(
            "Heroku marks release {version} as not eligible for rollback"
        )),
        None if status != "succeeded" => Some(format!(
            "release {version} is {status}; Heroku rolls back only to succeeded releases"
        )),
        None if release.slug_id().is_none() => Some(format!(
            "release {version} has no slug (no code) to roll back to"
        )),
        None => None,
    }
}

fn dashboard_url(app_name: &str, release_id: &str) -> Option<String> {
    let mut url = Url::parse(DASHBOARD_BASE).ok()?;
    url.path_segments_mut()
        .ok()?
        .extend(["apps", app_name, "activity", "releases", release_id]);
    Some(url.into())
}

/// The message of Heroku's error body `{id, message, url?}`: the message, else the id
/// (`rate_limit`, `not_found`).
fn error_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct WireError {
        #[serde(default)]
        id: Option<String>,
        #[serde(default)]
        message: Option<String>,
    }
    let error: WireError = serde_json::from_slice(body).ok()?;
    wire::non_empty(error.message).or_else(|| wire::non_empty(error.id))
}

/// Heroku's `release`. Only the fields Lookout uses; `addon_plan_names`, `artifacts` and
/// `output_stream_url` are ignored here.
#[derive(Debug, Deserialize)]
struct WireRelease {
    id: String,
    /// Heroku's own rollback flag (added 2024-11-19); absent from older answers.
    #[serde(default)]
    eligible_for_rollback: Option<bool>,
    #[serde(default)]
    version: Option<u64>,
    #[serde(default)]
    description: Option<String>,
    /// `failed | pending | succeeded | expired`.
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    current: bool,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    /// Null for releases without code (the first ones of an app).
    #[serde(default)]
    slug: Option<WireSlugRef>,
    #[serde(default)]
    user: Option<WireUser>,
    #[serde(default)]
    app: Option<WireAppRef>,
}

impl WireRelease {
    fn slug_id(&self) -> Option<&str> {
        self.slug
            .as_ref()
            .map(|slug| slug.id.as_str())
            .filter(|id| !id.is_empty())
    }
}

#[derive(Debug, Deserialize)]
struct WireSlugRef {
    id: String,
}

#[derive(Debug, Deserialize)]
struct WireUser {
    #[serde(default)]
    email: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireAppRef {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// Heroku's `slug`: only the commit fields.
#[derive(Debug, Deserialize)]
struct WireSlug {
    #[serde(default)]
    commit: Option<String>,
    #[serde(default)]
    commit_description: Option<String>,
}

#[cfg(test)]
mod tests;
