//! The Fly.io client: one Fly app (which is one Lookout environment), read through Fly's GraphQL
//! API (release history) and the Machines REST API (what the machines really run).
//!
//! Fly has no deployments REST endpoint and no rollback endpoint. Release history is
//! `App.releasesUnprocessed` (Relay cursors); Fly's own live marker is
//! `App.currentReleaseUnprocessed`; and `GET /v1/apps/{app}/machines` says which image each
//! machine runs. The machines win when they disagree with the marker, because they are what
//! serves traffic: a rollback done through the Machines API changes their image without
//! creating a release. A release carries no commit, only a version number, an image reference
//! and the user who deployed it.
//!
//! Rollback is the Machines API's "Update a Machine" with the target release's image, one
//! machine at a time, watched through the machines' image and state.
//!
//! This module owns Fly's release statuses and machine states, the `Bearer`/`FlyV1` token
//! schemes, GraphQL error bodies (read whatever the HTTP status) and the Machines API's
//! `{"error"}` body. Contract:
//! `shared/providers/github-digitalocean-fly-heroku-cloudflare-supabase.md`, section 3.

use super::graphql::{self, decode_data, GraphQlError, GraphQlResponse, PageInfo};
use super::http;
use super::rollback::{RollbackMethod, RollbackProgress, RollbackRequest, RollbackStarted};
use super::wire;
use super::{
    CommitInfo, DeploymentPage, DeploymentProvider, PageCursor, ProviderDeployment,
    ProviderEnvironment, ProviderError, ScopeRule,
};
use crate::secret::Secret;
use app::model::{DeployState, ProviderKind};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION};
use reqwest::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

mod machines;
use machines::{choose_live, ImageKey};

/// Fly's GraphQL endpoint (flyctl's `https://api.fly.io` + `/graphql`).
pub const DEFAULT_GRAPHQL_BASE: &str = "https://api.fly.io/graphql";
/// The public Machines API base.
pub const DEFAULT_MACHINES_BASE: &str = "https://api.machines.dev/v1";

/// The largest page the client asks for. Fly's maximum `first` is UNCONFIRMED (flyctl asks
/// for 25); 100 is the usual GraphQL page ceiling, and a smaller page only costs requests.
pub const MAX_PAGE_SIZE: u32 = 100;

/// How many recent releases `live_deployments` reads to name the release the machines run.
const LIVE_SCAN_DEPTH: u32 = 50;

/// `deployment(id)` pages through at most this many pages of [`MAX_PAGE_SIZE`] releases:
/// the contract documents no query for one release by id (see `deployment`).
const DETAIL_SCAN_PAGES: u32 = 10;

/// The Fly dashboard ("Admin URL" as flyctl prints it after `fly apps create`).
const DASHBOARD_BASE: &str = "https://fly.io/apps";
/// The Machines REST API: `{error, status}` bodies, the shared status mapping. (The GraphQL
/// API's errors arrive in its bodies with any status: see [`decode_graphql`].)
const MACHINES_API: http::RestApi = http::RestApi::new("Fly Machines", machines_error_message);

/// Machine metadata keys flyctl writes on deploy (fly-go `machine_types.go`).
const METADATA_RELEASE_ID: &str = "fly_release_id";
const METADATA_RELEASE_VERSION: &str = "fly_release_version";
const METADATA_PROCESS_GROUP: &str = "fly_process_group";

/// Process groups of short-lived machines flyctl runs beside the app (the release command and
/// `fly console`). They may run a new image before the deploy goes out, so they never count
/// as serving traffic. The group names are flyctl's, not part of the contract (inferred).
const NON_SERVING_PROCESS_GROUPS: [&str; 2] = ["fly_app_release_command", "fly_app_console"];

/// One query for both listing and the live check: the current release plus one page of
/// history. `currentReleaseUnprocessed` rides along on every page because it is what marks
/// older successful releases as superseded.
const RELEASES_QUERY: &str = "query LookoutFlyReleases($appName: String!, $first: Int!, \
     $after: String) { app(name: $appName) { currentRelease: currentReleaseUnprocessed { \
     ...LookoutRelease } releases: releasesUnprocessed(first: $first, after: $after) { nodes { \
     ...LookoutRelease } pageInfo { endCursor hasNextPage } } } } fragment LookoutRelease on \
     ReleaseUnprocessed { id version description reason status imageRef stable \
     user { id email name } createdAt updatedAt }";

/// Where and as whom the client talks to Fly, and which app it watches.
#[derive(Clone, Debug)]
pub struct FlyClientConfig {
    /// The GraphQL endpoint itself, e.g. [`DEFAULT_GRAPHQL_BASE`] (a simulator's
    /// `http://127.0.0.1:PORT/fly/graphql` in tests).
    pub graphql_base: String,
    /// The Machines API base including `/v1`, e.g. [`DEFAULT_MACHINES_BASE`].
    pub machines_base: String,
    /// A Fly API token: a deploy token from `fly tokens create deploy` (`FlyV1 fm2_…`) or a
    /// personal access token. The scheme is chosen from the token (see [`authorization_value`]).
    pub token: Secret,
    /// The Fly app name (`myapp`, `myapp-staging`).
    pub app: String,
    /// The Lookout environment this app serves: Fly has no environments inside an app.
    pub environment: String,
}

/// A [`DeploymentProvider`] for one Fly app.
#[derive(Clone, Debug)]
pub struct FlyClient {
    http: reqwest::Client,
    config: FlyClientConfig,
}

// ---------------------------------------------------------------------------------------------
// Wire types (lenient: optional fields, unknown fields ignored)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
struct ReleasesData {
    #[serde(default)]
    app: Option<WireApp>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireApp {
    #[serde(default)]
    current_release: Option<WireRelease>,
    #[serde(default)]
    releases: Option<WireConnection>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireConnection {
    #[serde(default)]
    nodes: Vec<Option<WireRelease>>,
    #[serde(default)]
    page_info: Option<PageInfo>,
}

/// Fly's `ReleaseUnprocessed`: only the fields Lookout reads.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRelease {
    id: String,
    #[serde(default)]
    version: Option<i64>,
    /// A free string in the schema (no enum); see [`release_state`].
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    image_ref: Option<String>,
    #[serde(default)]
    user: Option<WireUser>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
struct WireUser {
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    name: Option<String>,
}

/// A Machine from `GET /v1/apps/{app}/machines`.
#[derive(Clone, Debug, Deserialize)]
struct WireMachine {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    config: Option<WireMachineConfig>,
    #[serde(default)]
    image_ref: Option<WireImageRef>,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct WireMachineConfig {
    #[serde(default)]
    image: Option<String>,
    /// `null` in the docs' update example, string values otherwise.
    #[serde(default)]
    metadata: Option<HashMap<String, Value>>,
}

#[derive(Clone, Debug, Deserialize)]
struct WireImageRef {
    #[serde(default)]
    registry: Option<String>,
    #[serde(default)]
    repository: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    digest: Option<String>,
}

/// The Machines API error body `{"error": "…", "status"?: "…"}`.
#[derive(Debug, Deserialize)]
struct MachinesErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// State mapping
// ---------------------------------------------------------------------------------------------

/// Fly's release `status` → Lookout's state. The schema has no enum: flyctl writes `running`
/// at the start of a Machines deploy, then `complete`, `failed` or `interrupted` (on Ctrl-C);
/// `succeeded` and `cancelled` are Nomad-era values from community posts. Anything else is
/// UNCONFIRMED and shows as unknown (logged once per value).
///
/// `complete` maps to `Ready`; a successful release older than the live one is turned into
/// `Superseded` by the caller, because Fly keeps no "replaced" status of its own.
pub fn release_state(status: &str) -> DeployState {
    match status.trim().to_ascii_lowercase().as_str() {
        "running" => DeployState::Deploying,
        "complete" | "succeeded" => DeployState::Ready,
        "failed" => DeployState::Failed,
        "interrupted" | "cancelled" | "canceled" => DeployState::Canceled,
        _ => {
            wire::warn_unknown("fly", "release status", status);
            DeployState::Unknown
        }
    }
}

/// Whether a release status is final, so `updatedAt` says when it finished.
fn release_is_finished(status: &str) -> bool {
    matches!(
        status.trim().to_ascii_lowercase().as_str(),
        "complete" | "succeeded" | "failed" | "interrupted" | "cancelled" | "canceled"
    )
}

/// What a machine in a given state does for traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MachineActivity {
    /// Running and routed to (`started`).
    Serving,
    /// On its way up (`created`, `starting`, `replacing`, `updating`).
    Starting,
    /// Stopped or suspended, or on its way there. Fly Proxy starts such machines on the next
    /// request when autostart is on, so for a scale-to-zero app they are still what serves.
    Idle,
    /// Being destroyed, destroyed, or failed: serves nothing.
    Gone,
    /// A state Lookout does not know.
    Unknown,
}

/// Fly's machine `state` → what it means for traffic. fly-go names `created, started,
/// stopped, suspended, destroying, destroyed` and the docs show `starting`; the full list
/// (fly.io/docs/machines/machine-states) is UNCONFIRMED, so the transitional states Fly is
/// known to report (`stopping`, `suspending`, `replacing`, `updating`, `failed`) are mapped
/// too, and anything else is unknown (logged once per value).
pub fn machine_activity(state: &str) -> MachineActivity {
    match state.trim().to_ascii_lowercase().as_str() {
        "started" => MachineActivity::Serving,
        "created" | "starting" | "replacing" | "updating" => MachineActivity::Starting,
        "stopped" | "stopping" | "suspended" | "suspending" => MachineActivity::Idle,
        "destroying" | "destroyed" | "failed" => MachineActivity::Gone,
        _ => {
            wire::warn_unknown("fly", "machine state", state);
            MachineActivity::Unknown
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Auth and errors
// ---------------------------------------------------------------------------------------------

/// The `Authorization` value for a Fly token, as fly-go's `AuthorizationHeader` builds it:
/// `FlyV1 <token>` when any comma-separated part is a macaroon (`fm1r_…`, `fm2_…`), else
/// `Bearer <token>`. `fly tokens create` prints deploy tokens with their scheme
/// (`FlyV1 fm2_…`), so a token pasted that way is sent with the scheme it already has.
pub fn authorization_value(token: &str) -> String {
    let token = token.trim();
    for scheme in ["FlyV1", "Bearer"] {
        if let Some(rest) = token
            .get(..scheme.len())
            .filter(|prefix| prefix.eq_ignore_ascii_case(scheme))
            .and_then(|_| token.get(scheme.len()..))
            .filter(|rest| rest.starts_with(' '))
        {
            return format!("{scheme} {}", rest.trim_start());
        }
    }
    let is_macaroon = token
        .split(',')
        .any(|part| matches!(part.trim().split('_').next(), Some("fm1r" | "fm2")));
    if is_macaroon {
        format!("FlyV1 {token}")
    } else {
        format!("Bearer {token}")
    }
}

/// The message of the Machines API error body: `error`, else the `status` code.
fn machines_error_message(body: &[u8]) -> Option<String> {
    let body: MachinesErrorBody = serde_json::from_slice(body).ok()?;
    body.error
        .or(body.status)
        .map(|text| graphql::truncate(&text))
        .filter(|text| !text.is_empty())
}

/// Maps one GraphQL error onto [`ProviderError`]. Fly's error codes and wording are
/// UNCONFIRMED, so `extensions.code`, the message and the HTTP status are all consulted.
fn graphql_error(
    error: &GraphQlError,
    status: StatusCode,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> ProviderError {
    let message = match error.short_message() {
        text if text.is_empty() => "GraphQL error without a message".to_string(),
        text => text,
    };
    let code = error.code();
    let lower = message.to_ascii_lowercase();
    let says = |needles: &[&str]| needles.iter().any(|needle| lower.contains(needle));
    if status == StatusCode::TOO_MANY_REQUESTS || code == "RATE_LIMITED" || says(&["rate limit"]) {
        return ProviderError::RateLimited {
            retry_after: http::parse_rate_limit(headers, now).wait(now),
            message,
        };
    }
    if status == StatusCode::UNAUTHORIZED
        || matches!(code.as_str(), "UNAUTHORIZED" | "UNAUTHENTICATED")
        || says(&[
            "must be authenticated",
            "not authenticated",
            "unauthorized",
            "unauthenticated",
            "token validation",
            "invalid token",
        ])
    {
        return ProviderError::Unauthorized { message };
    }
    if status == StatusCode::FORBIDDEN
        || code == "FORBIDDEN"
        || says(&["not authorized", "forbidden", "permission", "access denied"])
    {
        return ProviderError::Forbidden { message };
    }
    if status == StatusCode::NOT_FOUND
        || code == "NOT_FOUND"
        || says(&["could not find", "not found"])
    {
        return ProviderError::NotFound { message };
    }
    if !status.is_success() {
        return http::status_error(status, headers, message, now);
    }
    ProviderError::Rejected {
        status: status.as_u16(),
        message,
    }
}

/// Sorts out a GraphQL answer. The body is read whatever the status: a GraphQL error may come
/// with 200 or with a 4xx (UNCONFIRMED for Fly), and its message says more than the status.
fn decode_graphql<T: DeserializeOwned>(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<T, ProviderError> {
    let envelope = GraphQlResponse::read(body);
    if let Some(error) = envelope
        .as_ref()
        .and_then(|envelope| envelope.errors.as_ref())
        .and_then(|errors| errors.first())
    {
        return Err(graphql_error(error, status, headers, now));
    }
    if !status.is_success() {
        let message = machines_error_message(body).unwrap_or_else(|| http::status_reason(status));
        return Err(http::status_error(status, headers, message, now));
    }
    decode_data(envelope.and_then(|envelope| envelope.data))
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

impl FlyClient {
    pub fn new(http: reqwest::Client, config: FlyClientConfig) -> Self {
        Self { http, config }
    }

    pub fn config(&self) -> &FlyClientConfig {
        &self.config
    }

    fn authorization(&self) -> Result<HeaderValue, ProviderError> {
        http::token_header(&authorization_value(self.config.token.expose()))
    }

    /// `request` with the token in the scheme Fly expects ([`authorization_value`]).
    fn authorized(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        Ok(request
            .header(AUTHORIZATION, self.authorization()?)
            .header(ACCEPT, MACHINES_API.accept))
    }

    fn dashboard_url(&self) -> String {
        let app: String =
            url::form_urlencoded::byte_serialize(self.config.app.as_bytes()).collect();
        format!("{DASHBOARD_BASE}/{app}")
    }

    /// The app's default public hostname, `<app>.fly.dev` (as flyctl prints it). An app with
    /// custom domains or no public service has other or no addresses; Lookout cannot tell.
    fn app_url(&self) -> String {
        format!("https://{}.fly.dev", self.config.app)
    }

    /// `{machines_base}/apps/{app}/machines[/{id}]`, each segment percent-encoded.
    fn machines_url(&self, machine_id: Option<&str>) -> Result<url::Url, ProviderError> {
        MACHINES_API.url(
            &self.config.machines_base,
            &["apps", self.config.app.as_str(), "machines"],
            machine_id.as_slice(),
        )
    }

    /// The machines as Fly sent them, for updates: "We don't support partial updates", so an
    /// update must send back the whole `config`, including fields Lookout does not model.
    async fn machines_raw(&self) -> Result<Vec<Value>, ProviderError> {
        let request = self.authorized(self.http.get(self.machines_url(None)?))?;
        MACHINES_API.send_json(request).await
    }

    /// One release by id or `v<version>`, as the history has it (see `deployment`), and the
    /// live version of the page it was found on.
    async fn find_release(&self, id: &str) -> Result<(WireRelease, Option<i64>), ProviderError> {
        let wanted_version = id
            .strip_prefix('v')
            .and_then(|digits| digits.parse::<i64>().ok());
        let mut cursor: Option<String> = None;
        for _ in 0..DETAIL_SCAN_PAGES {
            let app = self.releases(MAX_PAGE_SIZE, cursor.as_deref()).await?;
            let live_version = Self::live_version(app.current_release.as_ref());
            let (releases, next) = Self::page_releases(app.releases);
            if let Some(release) = releases.into_iter().find(|release| {
                release.id == id || (wanted_version.is_some() && release.version == wanted_version)
            }) {
                return Ok((release, live_version));
            }
            match next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        Err(ProviderError::NotFound {
            message: format!(
                "release not found in the history of Fly app {}",
                self.config.app
            ),
        })
    }

    /// A release newer than `newest_before` that runs `image`: the record of a rollback, if
    /// Fly makes one for Machines-API updates (UNCONFIRMED; inferred that it does not).
    async fn release_recording(
        &self,
        image: &ImageKey,
        newest_before: Option<i64>,
    ) -> Result<Option<WireRelease>, ProviderError> {
        let app = self.releases(LIVE_SCAN_DEPTH, None).await?;
        let (recent, _next) = Self::page_releases(app.releases);
        Ok(recent.into_iter().find(|release| {
            release.version > newest_before
                && release.image().is_some_and(|other| other.matches(image))
        }))
    }

    async fn graphql<T: DeserializeOwned>(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<T, ProviderError> {
        let request = self
            .authorized(self.http.post(self.config.graphql_base.as_str()))?
            .json(&graphql::request_body(query, variables));
        // GraphQL errors come with any status, so the answer is judged by `decode_graphql`.
        let answer = http::exchange(request).await?;
        decode_graphql(
            answer.status,
            &answer.headers,
            &answer.body,
            answer.received_at,
        )
    }

    /// The current release and one page of history.
    async fn releases(&self, first: u32, after: Option<&str>) -> Result<WireApp, ProviderError> {
        let variables = json!({
            "appName": self.config.app,
            "first": first.clamp(1, MAX_PAGE_SIZE),
            "after": after,
        });
        let data: ReleasesData = self.graphql(RELEASES_QUERY, variables).await?;
        data.app.ok_or_else(|| ProviderError::NotFound {
            message: format!("Fly app {} not found", self.config.app),
        })
    }

    async fn machines(&self) -> Result<Vec<WireMachine>, ProviderError> {
        let request = self.authorized(self.http.get(self.machines_url(None)?))?;
        MACHINES_API.send_json(request).await
    }

    /// The version successful releases are compared with: the current release's, when it is
    /// a successful one. The list does not read the machines (that would double its cost), so
    /// after a Machines-API rollback it still calls Fly's current release the ready one;
    /// [`DeploymentProvider::live_deployments`] is the authority on what serves.
    fn live_version(current: Option<&WireRelease>) -> Option<i64> {
        current
            .filter(|release| release.state() == DeployState::Ready)
            .and_then(|release| release.version)
    }

    /// Maps one release. `live_version` is the version serving traffic, when known: older
    /// successful releases become `Superseded`, and the live one gets the app's URL.
    fn to_deployment(
        &self,
        release: &WireRelease,
        live_version: Option<i64>,
    ) -> ProviderDeployment {
        let status = release.status.clone().unwrap_or_default();
        let is_live = live_version.is_some() && release.version == live_version;
        let state = match release.state() {
            DeployState::Ready
                if !is_live
                    && matches!((release.version, live_version), (Some(v), Some(live)) if v < live) =>
            {
                DeployState::Superseded
            }
            state => state,
        };
        let creator = release.user.as_ref().and_then(|user| {
            wire::trimmed(user.name.as_deref()).or_else(|| wire::trimmed(user.email.as_deref()))
        });
        ProviderDeployment {
            origin: Vec::new(),
            // A rollback redeploys the release's image; without one there is nothing to run.
            rollback_refusal: wire::trimmed(release.image_ref.as_deref())
                .is_none()
                .then(|| {
                    "Fly records no image for this release, so it cannot be redeployed".to_string()
                }),
            id: release.id.clone(),
            state,
            environment: ProviderEnvironment::Named(self.config.environment.clone()),
            // A Fly release records no commit, branch or PR: only `imageRef` (a
            // `deployment-<ULID>` tag unless `--image-label` set another).
            commit: CommitInfo::default(),
            pr_number: None,
            creator,
            created_at: wire::parse_time("fly", release.created_at.as_deref()),
            // `updatedAt` of a finished release is when its status was last written, which
            // flyctl does once the machines are updated.
            finished_at: if release_is_finished(&status) {
                wire::parse_time("fly", release.updated_at.as_deref())
            } else {
                None
            },
            url: is_live.then(|| self.app_url()),
            dashboard_url: Some(self.dashboard_url()),
            provider_state: status,
        }
    }

    fn page_releases(connection: Option<WireConnection>) -> (Vec<WireRelease>, Option<String>) {
        let Some(connection) = connection else {
            return (Vec::new(), None);
        };
        let mut releases: Vec<WireRelease> = connection.nodes.into_iter().flatten().collect();
        // Newest first. That Fly returns them so is inferred (flyctl asks for `first: 25` and
        // shows the newest), and flyctl sorts by version anyway; so does this, within a page.
        releases.sort_by_key(|release| std::cmp::Reverse(release.version.unwrap_or(i64::MIN)));
        let next = PageInfo::next_cursor(connection.page_info).filter(|_| !releases.is_empty());
        (releases, next)
    }
}

#[async_trait]
impl DeploymentProvider for FlyClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Fly
    }

    #[tracing::instrument(skip_all, fields(provider = "fly", app = %self.config.app))]
    async fn list_deployments(
        &self,
        cursor: Option<&PageCursor>,
        page_size: u32,
    ) -> Result<DeploymentPage, ProviderError> {
        let app = self
            .releases(page_size, cursor.map(|cursor| cursor.0.as_str()))
            .await?;
        let live_version = Self::live_version(app.current_release.as_ref());
        let (releases, next) = Self::page_releases(app.releases);
        Ok(DeploymentPage {
            deployments: releases
                .iter()
                .map(|release| self.to_deployment(release, live_version))
                .collect(),
            next: next.map(PageCursor),
        })
    }

    #[tracing::instrument(skip_all, fields(provider = "fly", app = %self.config.app))]
    async fn live_deployments(&self) -> Result<Vec<ProviderDeployment>, ProviderError> {
        let (app, machines) =
            futures::try_join!(self.releases(LIVE_SCAN_DEPTH, None), self.machines())?;
        let (recent, _next) = Self::page_releases(app.releases);
        let live = choose_live(app.current_release.as_ref(), &recent, &machines);
        Ok(live
            .map(|release| {
                let mut deployment = self.to_deployment(release, release.version);
                if release.version.is_none() {
                    // Without a version the live one cannot be told by number; it is live.
                    deployment.url = Some(self.app_url());
                }
                deployment
            })
            .into_iter()
            .collect())
    }

    /// One release by its GraphQL id, or by `v<version>` as `fly releases` shows it. The
    /// contract documents no query for a single unprocessed release (`App.release(id:)` exists
    /// in the schema but returns the config-processed `Release`, and whether that works for
    /// Machines apps is UNCONFIRMED), so this pages through the history, newest first.
    #[tracing::instrument(skip_all, fields(provider = "fly", app = %self.config.app, release = %id))]
    async fn deployment(&self, id: &str) -> Result<ProviderDeployment, ProviderError> {
        let (release, live_version) = self.find_release(id).await?;
        Ok(self.to_deployment(&release, live_version))
    }

    /// One Fly app per environment; a target is looked up in that app's own release history
    /// (`app(name:) { releases }`), so it cannot be another app's: nothing more to compare.
    fn target_scope(&self, _environment: &ProviderEnvironment) -> Option<Vec<ScopeRule>> {
        Some(Vec::new())
    }

    fn rollback_method(&self) -> Option<RollbackMethod> {
        Some(RollbackMethod {
            action: "Lookout updates each of the app's machines through the Machines API to run \
                     the target release's image again, as `fly deploy --image` does; nothing \
                     is rebuilt."
                .into(),
            hold: None,
            caveats: vec![
                "Only the image is rolled back: the machines keep their current configuration, \
                 environment and secrets (fly.toml is not rolled back)."
                    .into(),
                "Fly may have pruned an image that has not been deployed for a while; such a \
                 release cannot be redeployed."
                    .into(),
                "Every current machine gets the image, including extra machines autoscaling \
                 created; the database is not rolled back."
                    .into(),
                "Fly records no new release for a Machines-API update, so `fly releases` still \
                 names the newer release; Lookout reads what the machines run. The next \
                 `fly deploy` replaces the rollback."
                    .into(),
            ],
        })
    }

    #[tracing::instrument(skip_all, fields(provider = "fly", app = %self.config.app, target = %request.target.id))]
    async fn roll_back(
        &self,
        request: RollbackRequest<'_>,
    ) -> Result<RollbackStarted, ProviderError> {
        // The image comes from the release history the client already reads.
        let (target, _live_version) = self.find_release(&request.target.id).await?;
        let image =
            wire::trimmed(target.image_ref.as_deref()).ok_or_else(|| ProviderError::Rejected {
                status: 422,
                message: "Fly records no image for this release, so it cannot be redeployed".into(),
            })?;
        let newest_before = {
            let app = self.releases(1, None).await?;
            Self::page_releases(app.releases)
                .0
                .first()
                .and_then(|release| release.version)
        };
        let machines = self.machines_raw().await?;
        let mut updated: Vec<String> = Vec::new();
        for machine in &machines {
            let typed: WireMachine = match serde_json::from_value(machine.clone()) {
                Ok(typed) => typed,
                Err(_) => continue,
            };
            // Release-command and console machines, and destroyed ones, are not the app.
            if !typed.is_app_machine() || typed.activity() == MachineActivity::Gone {
                continue;
            }
            let (Some(id), Some(Value::Object(config))) =
                (typed.id.as_deref(), machine.get("config"))
            else {
                continue;
            };
            let mut config = config.clone();
            config.insert("image".into(), Value::String(image.clone()));
            let post = self
                .authorized(self.http.post(self.machines_url(Some(id))?))?
                .json(&json!({ "config": config }));
            let result: Result<Value, ProviderError> = MACHINES_API.send_json(post).await;
            if let Err(error) = result {
                if updated.is_empty() {
                    return Err(error);
                }
                // Some machines already run the target image: say which, so the user can
                // finish by hand (`fly machine update --image`) or deploy again.
                return Err(ProviderError::Rejected {
                    status: 409,
                    message: format!(
                        "Fly refused to update machine {id} ({error}); machines {} already \
                         run the target image",
                        updated.join(", ")
                    ),
                });
            }
            updated.push(id.to_string());
        }
        if updated.is_empty() {
            return Err(ProviderError::Rejected {
                status: 409,
                message: format!("Fly app {} has no machines to update", self.config.app),
            });
        }
        // Both ways, as the contract cannot say whether Fly records a release for this
        // (inferred: it does not): a new release with the target image, if one is there, is
        // the rollback's deployment; otherwise the target itself goes live again.
        let recorded = match ImageKey::parse(&image) {
            Some(key) => self.release_recording(&key, newest_before).await?,
            None => None,
        };
        Ok(RollbackStarted {
            new_deployment_id: recorded.map(|release| release.id),
            provider_reference: Some(format!("machines: {}", updated.join(", "))),
            hold: None,
        })
    }

    /// The machines' own account: every app machine on the target image and `started` is
    /// live; a machine on the target image that `failed` (or was destroyed) ends it; one on
    /// another image means someone deployed over the rollback.
    async fn rollback_progress(
        &self,
        environment: &ProviderEnvironment,
        target: &ProviderDeployment,
        started: &RollbackStarted,
    ) -> Result<RollbackProgress, ProviderError> {
        let (target_release, _) = self.find_release(&target.id).await?;
        let Some(image) = target_release.image() else {
            return Ok(RollbackProgress::Failed {
                reason: "Fly records no image for the target release".into(),
            });
        };
        let machines = self.machines().await?;
        let app_machines: Vec<&WireMachine> = machines
            .iter()
            .filter(|machine| machine.is_app_machine())
            .collect();
        let mut ready = 0;
        let mut waiting: Vec<String> = Vec::new();
        for machine in &app_machines {
            let id = machine.id.as_deref().unwrap_or("?");
            let state = machine.state.as_deref().unwrap_or_default();
            let on_target = machine.image().is_some_and(|other| other.matches(&image));
            match (on_target, machine.activity()) {
                (true, MachineActivity::Serving) => ready += 1,
                (true, MachineActivity::Gone) if state == "destroyed" => {}
                (true, MachineActivity::Gone) => {
                    return Ok(RollbackProgress::Failed {
                        reason: format!("Fly machine {id} is {state} on the target image"),
                    })
                }
                (true, _) => waiting.push(format!("{id}: {state}")),
                (false, MachineActivity::Gone) => {}
                (false, _) => {
                    return Ok(RollbackProgress::Failed {
                        reason: format!(
                            "Fly machine {id} runs another image than the target release's; \
                             something deployed over the rollback"
                        ),
                    })
                }
            }
        }
        if ready == 0 || !waiting.is_empty() {
            return Ok(RollbackProgress::Waiting {
                detail: format!(
                    "{ready} of {} machines started on the target image ({})",
                    app_machines.len(),
                    if waiting.is_empty() {
                        "none yet".to_string()
                    } else {
                        waiting.join(", ")
                    }
                ),
            });
        }
        // All machines run it: the live release by Lookout's reading (the target, or the
        // release Fly recorded for the rollback, if it records one).
        let live = self.live_deployments().await?;
        Ok(match super::rollback::live_in(&live, environment) {
            Some(now) if super::rollback::is_rollback_outcome(now, target, started) => {
                RollbackProgress::Live(Box::new(now.clone()))
            }
            Some(now) => RollbackProgress::Waiting {
                detail: format!(
                    "the machines run the target image, but {} reads as live",
                    now.id
                ),
            },
            None => RollbackProgress::Waiting {
                detail: "Fly reports nothing live yet".into(),
            },
        })
    }
}

#[cfg(test)]
mod tests;
