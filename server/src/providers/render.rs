//! Render client: the deploys of one Render service, read through Render's REST API
//! (`/v1/services/{serviceId}/deploys…`) and mapped onto Lookout's types.
//!
//! A Render deploy carries no environment, branch or author: Render models environments and
//! PR previews as separate services. So one [`RenderClient`] serves one service, and every
//! deployment it returns belongs to the Lookout environment named in its config.

use super::http::{read_success, send_json, transport_error};
use super::rollback::{
    HoldKind, HoldOffer, HoldPlacement, HoldRelease, RollbackMethod, RollbackRequest,
    RollbackStarted,
};
use super::{
    CommitInfo, DeploymentPage, DeploymentProvider, PageCursor, ProviderDeployment,
    ProviderEnvironment, ProviderError, ScopeRule,
};
use crate::secret::Secret;
use app::model::{DeployState, ProviderKind};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use url::Url;

/// Render's page size limit for `GET /services/{id}/deploys` (default 20, max 100).
pub const MAX_PAGE_SIZE: u32 = 100;
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
        let invalid_base = || ProviderError::Transport {
            detail: "the configured Render API base is not a usable URL".into(),
        };
        let mut url = Url::parse(&self.config.api_base).map_err(|_| invalid_base())?;
        {
            let mut segments = url.path_segments_mut().map_err(|()| invalid_base())?;
            segments
                .pop_if_empty()
                .extend(["services", self.config.service_id.as_str()])
                .extend(extra);
        }
        Ok(url)
    }

    /// Sets the service's `autoDeploy` (`yes` | `no`; the schema's enum, although the docs'
    /// prose says "false").
    async fn set_auto_deploy(&self, on: bool) -> Result<(), ProviderError> {
        let url = self.service_url(&[])?;
        let body = serde_json::json!({ "autoDeploy": if on { "yes" } else { "no" } });
        let request = self
            .http
            .patch(url)
            .bearer_auth(self.config.token.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body);
        let response = request.send().await.map_err(transport_error)?;
        read_success(response, error_message).await?;
        Ok(())
    }

    fn get(&self, url: Url) -> reqwest::RequestBuilder {
        self.http
            .get(url)
            .bearer_auth(self.config.token.expose())
            .header(reqwest::header::ACCEPT, "application/json")
    }

    async fn fetch_page(
        &self,
        query: &[(&str, &str)],
    ) -> Result<Vec<RenderDeployWithCursor>, ProviderError> {
        let url = self.deploys_url(None)?;
        let (items, _rate_limit) = send_json(self.get(url).query(query), error_message).await?;
        Ok(items)
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
            created_at: parse_time(deploy.created_at.as_deref()),
            finished_at: parse_time(deploy.finished_at.as_deref()),
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
        let (deploy, _rate_limit) = send_json::<RenderDeploy>(self.get(url), error_message).await?;
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
        let post = self
            .http
            .post(url)
            .bearer_auth(self.config.token.expose())
            .header(reqwest::header::ACCEPT, "application/json")
            .json(&body);
        // 201 with the new Deploy; its first status (`created`?) is UNCONFIRMED and not relied
        // on: progress reads the deploy by id.
        let (created, _rate_limit) = send_json::<RenderDeploy>(post, error_message).await?;
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
            warn_unknown_status(other);
            DeployState::Unknown
        }
    }
}

fn warn_unknown_status(status: &str) {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if seen.insert(status.to_string()) {
        tracing::warn!(status, "unknown Render deploy status; shown as unknown");
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

/// A timestamp Lookout cannot read is left out rather than failing the whole answer.
fn parse_time(value: Option<&str>) -> Option<DateTime<Utc>> {
    let value = value?;
    match DateTime::parse_from_rfc3339(value) {
        Ok(time) => Some(time.with_timezone(&Utc)),
        Err(_) => {
            tracing::warn!(value, "unreadable Render timestamp; ignored");
            None
        }
    }
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
mod tests {
    use super::*;
    use chrono::TimeZone;

    const LIST_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/render_list_deploys_CONSTRUCTED.json");
    const ROLLBACK_RESPONSE_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/render_rollback_response_CONSTRUCTED.json");
    const ROLLBACK_REQUEST_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/render_rollback_request.json");
    const ERROR_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/render_error_CONSTRUCTED.json");

    fn client() -> RenderClient {
        RenderClient::new(
            reqwest::Client::new(),
            RenderClientConfig {
                api_base: "https://api.render.com/v1".into(),
                token: Secret::new("rnd_test_token"),
                service_id: "srv-abc123".into(),
                environment: "production".into(),
                service_url: Some("https://api.example.com".into()),
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
    fn every_render_status_maps_to_a_lookout_state() {
        let cases = [
            ("created", DeployState::Queued),
            ("queued", DeployState::Queued),
            ("build_in_progress", DeployState::Building),
            ("update_in_progress", DeployState::Deploying),
            ("pre_deploy_in_progress", DeployState::Deploying),
            ("live", DeployState::Ready),
            ("deactivated", DeployState::Superseded),
            ("build_failed", DeployState::Failed),
            ("update_failed", DeployState::Failed),
            ("pre_deploy_failed", DeployState::Failed),
            ("canceled", DeployState::Canceled),
            ("some_future_status", DeployState::Unknown),
            ("", DeployState::Unknown),
        ];
        for (status, expected) in cases {
            assert_eq!(deploy_state(status), expected, "status {status:?}");
        }
    }

    #[test]
    fn list_fixture_parses_into_a_page() {
        let items: Vec<RenderDeployWithCursor> = serde_json::from_str(LIST_FIXTURE).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].cursor.as_deref(), Some("cfQ74cE2sDI="));

        let page = client().to_page(items, 2);
        assert_eq!(page.next, Some(PageCursor("mpFjFKeYgnw=".into())));
        let [live, old] = page.deployments.as_slice() else {
            panic!("two deployments expected");
        };

        assert_eq!(live.id, "dep-d0c1b2a3f4e5d6c7b8a9");
        assert_eq!(live.state, DeployState::Ready);
        assert_eq!(live.provider_state, "live");
        assert_eq!(
            live.environment,
            ProviderEnvironment::Named("production".into())
        );
        assert_eq!(
            live.commit,
            CommitInfo {
                sha: Some("de8b89f13b2bc164cf07e735921bf5513e17951d".into()),
                message: Some("Fix header layout".into()),
                author: None,
                branch: None,
            }
        );
        assert_eq!(live.creator, None);
        assert_eq!(live.pr_number, None);
        assert_eq!(live.created_at, at("2021-06-17T08:15:30Z"));
        assert_eq!(live.finished_at, at("2021-06-17T08:18:02Z"));
        assert_eq!(live.url.as_deref(), Some("https://api.example.com"));
        assert_eq!(
            live.dashboard_url.as_deref(),
            Some("https://dashboard.render.com/web/srv-abc123/deploys/dep-d0c1b2a3f4e5d6c7b8a9")
        );

        assert_eq!(old.id, "dep-c9b8a7f6e5d4c3b2a1f0");
        assert_eq!(old.state, DeployState::Superseded);
        assert_eq!(old.commit.message.as_deref(), Some("Previous release"));
        assert_eq!(old.finished_at, at("2021-02-17T08:19:45Z"));
        assert_eq!(old.url, None, "only the live deploy has the service URL");
    }

    #[test]
    fn a_short_page_is_the_last_one() {
        let items: Vec<RenderDeployWithCursor> = serde_json::from_str(LIST_FIXTURE).unwrap();
        let page = client().to_page(items, 20);
        assert_eq!(page.deployments.len(), 2);
        assert_eq!(page.next, None);
        assert_eq!(client().to_page(Vec::new(), 20), DeploymentPage::default());
    }

    #[test]
    fn a_page_is_sorted_newest_first_but_pages_on_from_the_last_item() {
        let mut items: Vec<RenderDeployWithCursor> = serde_json::from_str(LIST_FIXTURE).unwrap();
        items.reverse();
        let page = client().to_page(items, 2);
        assert_eq!(page.deployments[0].id, "dep-d0c1b2a3f4e5d6c7b8a9");
        assert_eq!(page.deployments[1].id, "dep-c9b8a7f6e5d4c3b2a1f0");
        assert_eq!(page.next, Some(PageCursor("cfQ74cE2sDI=".into())));
    }

    #[test]
    fn rollback_response_fixture_parses_as_a_queued_deploy() {
        let deploy: RenderDeploy = serde_json::from_str(ROLLBACK_RESPONSE_FIXTURE).unwrap();
        let deployment = client().to_deployment(deploy);
        assert_eq!(deployment.id, "dep-e1f2a3b4c5d6e7f8a9b0");
        assert_eq!(deployment.state, DeployState::Queued);
        assert_eq!(deployment.provider_state, "created");
        assert_eq!(
            deployment.commit.sha.as_deref(),
            Some("0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c")
        );
        assert_eq!(deployment.created_at, at("2021-06-18T10:00:00Z"));
        assert_eq!(deployment.finished_at, None);
        assert_eq!(deployment.url, None);
    }

    #[test]
    fn rollback_request_fixture_names_a_deploy_of_the_list() {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct RollbackRequest {
            deploy_id: String,
        }
        let request: RollbackRequest = serde_json::from_str(ROLLBACK_REQUEST_FIXTURE).unwrap();
        assert_eq!(request.deploy_id, "dep-c9b8a7f6e5d4c3b2a1f0");
        assert!(LIST_FIXTURE.contains(&request.deploy_id));
    }

    #[test]
    fn error_fixture_gives_its_message() {
        assert_eq!(
            error_message(ERROR_FIXTURE.as_bytes()).as_deref(),
            Some("deploy not found")
        );
        assert_eq!(
            error_message(br#"{"id":"x","code":"service_suspended"}"#).as_deref(),
            Some("service_suspended")
        );
        assert_eq!(error_message(b"<html>bad gateway</html>"), None);
        assert_eq!(error_message(b"{}"), None);
    }

    #[test]
    fn lenient_parsing_ignores_new_fields_and_bad_timestamps() {
        let deploy: RenderDeploy = serde_json::from_str(
            r#"{"id":"dep-1","status":"rocketing","createdAt":"yesterday","newField":{"a":1}}"#,
        )
        .unwrap();
        let deployment = client().to_deployment(deploy);
        assert_eq!(deployment.state, DeployState::Unknown);
        assert_eq!(deployment.provider_state, "rocketing");
        assert_eq!(deployment.created_at, None);
        assert_eq!(deployment.commit, CommitInfo::default());
        // Not the documented shape at all: an object instead of the list.
        assert!(serde_json::from_str::<Vec<RenderDeployWithCursor>>(r#"{"deploys":[]}"#).is_err());
    }

    #[test]
    fn deploy_urls_are_built_under_the_api_base_and_encoded() {
        let client = client();
        assert_eq!(
            client.deploys_url(None).unwrap().as_str(),
            "https://api.render.com/v1/services/srv-abc123/deploys"
        );
        assert_eq!(
            client.deploys_url(Some("dep-1/../x")).unwrap().as_str(),
            "https://api.render.com/v1/services/srv-abc123/deploys/dep-1%2F..%2Fx"
        );
        let mut config = client.config.clone();
        config.api_base = "http://127.0.0.1:9/render/".into();
        let nested = RenderClient::new(reqwest::Client::new(), config);
        assert_eq!(
            nested.deploys_url(Some("dep-1")).unwrap().as_str(),
            "http://127.0.0.1:9/render/services/srv-abc123/deploys/dep-1"
        );
        assert!(!format!("{nested:?}").contains("rnd_test_token"));
    }

    #[test]
    fn timestamps_parse_as_utc() {
        assert_eq!(
            parse_time(Some("2021-06-17T10:15:30+02:00")),
            Some(Utc.with_ymd_and_hms(2021, 6, 17, 8, 15, 30).unwrap())
        );
    }
}
