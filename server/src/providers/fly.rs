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

use super::http;
use super::rollback::{RollbackMethod, RollbackProgress, RollbackRequest, RollbackStarted};
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
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, OnceLock};

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

/// Provider messages are kept for logs and the page; a runaway body is cut here.
const MAX_MESSAGE_CHARS: usize = 300;

/// The Fly dashboard ("Admin URL" as flyctl prints it after `fly apps create`).
const DASHBOARD_BASE: &str = "https://fly.io/apps";

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

/// A GraphQL response body: `data` and/or `errors`.
#[derive(Debug, Deserialize)]
struct GraphQlResponse {
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    errors: Option<Vec<GraphQlError>>,
}

/// The standard GraphQL error shape; Fly's use of it (and of `extensions.code`) is
/// UNCONFIRMED, so both the code and the wording are read.
#[derive(Clone, Debug, Deserialize)]
struct GraphQlError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    extensions: Option<GraphQlExtensions>,
}

#[derive(Clone, Debug, Deserialize)]
struct GraphQlExtensions {
    #[serde(default)]
    code: Option<String>,
}

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
    page_info: Option<WirePageInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePageInfo {
    #[serde(default)]
    end_cursor: Option<String>,
    #[serde(default)]
    has_next_page: Option<bool>,
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
            warn_unknown("release status", status);
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
            warn_unknown("machine state", state);
            MachineActivity::Unknown
        }
    }
}

fn warn_unknown(kind: &'static str, value: &str) {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let first_time = SEEN
        .get_or_init(|| Mutex::new(HashSet::new()))
        .lock()
        .map(|mut seen| seen.insert(format!("{kind}:{value}")))
        .unwrap_or(true);
    if first_time {
        tracing::warn!(
            provider = "fly",
            kind,
            value,
            "unknown Fly value; shown as unknown"
        );
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

fn truncate(message: &str) -> String {
    let message = message.trim();
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_string(),
    }
}

/// The message of the Machines API error body: `error`, else the `status` code.
fn machines_error_message(body: &[u8]) -> Option<String> {
    let body: MachinesErrorBody = serde_json::from_slice(body).ok()?;
    body.error
        .or(body.status)
        .map(|text| truncate(&text))
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
    let message = match truncate(&error.message) {
        text if text.is_empty() => "GraphQL error without a message".to_string(),
        text => text,
    };
    let code = error
        .extensions
        .as_ref()
        .and_then(|extensions| extensions.code.as_deref())
        .unwrap_or_default()
        .to_ascii_uppercase();
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
    let envelope = serde_json::from_slice::<GraphQlResponse>(body)
        .ok()
        .filter(|envelope| envelope.data.is_some() || envelope.errors.is_some());
    if let Some(error) = envelope
        .as_ref()
        .and_then(|envelope| envelope.errors.as_ref())
        .and_then(|errors| errors.first())
    {
        return Err(graphql_error(error, status, headers, now));
    }
    if !status.is_success() {
        let message = machines_error_message(body).unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("error without a message")
                .to_string()
        });
        return Err(http::status_error(status, headers, message, now));
    }
    let data = envelope
        .and_then(|envelope| envelope.data)
        .filter(|data| !data.is_null())
        .ok_or_else(|| ProviderError::Malformed {
            detail: "the answer is not a GraphQL body with data".into(),
        })?;
    serde_json::from_value(data).map_err(|error| ProviderError::Malformed {
        detail: format!("unexpected GraphQL data: {error}"),
    })
}

// ---------------------------------------------------------------------------------------------
// Images and machines
// ---------------------------------------------------------------------------------------------

/// An image reference split for comparison: `registry/repository`, tag, digest.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ImageKey {
    name: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ImageKey {
    /// Parses `registry/repo:tag@digest`. Docker Hub's spellings (`docker.io/`,
    /// `registry-1.docker.io/`, `index.docker.io/`, `library/`) are dropped so the same image
    /// compares equal however it is written, and a reference without tag or digest means
    /// `:latest`, as Docker reads it.
    fn parse(reference: &str) -> Option<Self> {
        let reference = reference.trim();
        if reference.is_empty() {
            return None;
        }
        let (name_and_tag, digest) = match reference.split_once('@') {
            Some((name, digest)) => (name, Some(digest.to_ascii_lowercase())),
            None => (reference, None),
        };
        let last_slash = name_and_tag.rfind('/').map_or(0, |at| at + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(colon) => {
                let at = last_slash + colon;
                (
                    &name_and_tag[..at],
                    Some(name_and_tag[at + 1..].to_string()),
                )
            }
            None => (name_and_tag, None),
        };
        let mut name = name.to_ascii_lowercase();
        for hub in ["docker.io/", "registry-1.docker.io/", "index.docker.io/"] {
            if let Some(rest) = name.strip_prefix(hub) {
                name = rest.to_string();
            }
        }
        if let Some(rest) = name.strip_prefix("library/") {
            name = rest.to_string();
        }
        let tag = match (tag, &digest) {
            (None, None) => Some("latest".to_string()),
            (tag, _) => tag,
        };
        Some(Self { name, tag, digest })
    }

    /// Same repository, and the same digest when both have one, else the same tag.
    fn matches(&self, other: &Self) -> bool {
        if self.name != other.name {
            return false;
        }
        match (&self.digest, &other.digest, &self.tag, &other.tag) {
            (Some(a), Some(b), _, _) => a == b,
            (_, _, Some(a), Some(b)) => a == b,
            _ => false,
        }
    }
}

impl WireMachine {
    /// The image the machine runs: `config.image`, else rebuilt from `image_ref`.
    fn image(&self) -> Option<ImageKey> {
        let configured = self
            .config
            .as_ref()
            .and_then(|config| config.image.as_deref())
            .and_then(ImageKey::parse);
        configured.or_else(|| {
            let image_ref = self.image_ref.as_ref()?;
            let repository = image_ref.repository.as_deref()?.trim();
            if repository.is_empty() {
                return None;
            }
            let mut reference = match image_ref.registry.as_deref().map(str::trim) {
                Some(registry) if !registry.is_empty() => format!("{registry}/{repository}"),
                _ => repository.to_string(),
            };
            if let Some(tag) = image_ref.tag.as_deref().filter(|tag| !tag.is_empty()) {
                reference.push(':');
                reference.push_str(tag);
            }
            if let Some(digest) = image_ref.digest.as_deref().filter(|d| !d.is_empty()) {
                reference.push('@');
                reference.push_str(digest);
            }
            ImageKey::parse(&reference)
        })
    }

    fn metadata(&self, key: &str) -> Option<String> {
        let value = self.config.as_ref()?.metadata.as_ref()?.get(key)?;
        match value {
            Value::String(text) if !text.trim().is_empty() => Some(text.trim().to_string()),
            Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }

    fn activity(&self) -> MachineActivity {
        machine_activity(self.state.as_deref().unwrap_or_default())
    }

    /// Release-command and console machines run beside the app, not as it.
    fn is_app_machine(&self) -> bool {
        self.metadata(METADATA_PROCESS_GROUP)
            .is_none_or(|group| !NON_SERVING_PROCESS_GROUPS.contains(&group.as_str()))
    }
}

impl WireRelease {
    fn state(&self) -> DeployState {
        release_state(self.status.as_deref().unwrap_or_default())
    }

    fn image(&self) -> Option<ImageKey> {
        ImageKey::parse(self.image_ref.as_deref()?)
    }
}

/// Newest first by version; a release without a version goes last.
fn newest_release<'a>(releases: impl Iterator<Item = &'a WireRelease>) -> Option<&'a WireRelease> {
    releases.max_by_key(|release| release.version.unwrap_or(i64::MIN))
}

/// Fly's own marker: `currentReleaseUnprocessed` when it is a successful release. Whether Fly
/// can name a failed or still-running release as current ("the latest release"), or none at
/// all, is UNCONFIRMED; then the newest successful release stands in, else the current one
/// whatever its status.
fn marker_release<'a>(
    current: Option<&'a WireRelease>,
    recent: &'a [WireRelease],
) -> Option<&'a WireRelease> {
    if let Some(current) = current.filter(|release| release.state() == DeployState::Ready) {
        return Some(current);
    }
    newest_release(
        recent
            .iter()
            .filter(|release| release.state() == DeployState::Ready),
    )
    .or(current)
}

/// The machines that stand for the app's traffic: the started ones, else (an app scaled to
/// zero, or one mid-restart) those starting, stopped or suspended. Destroyed machines and
/// release-command/console machines never count.
fn serving_machines(machines: &[WireMachine]) -> Vec<&WireMachine> {
    let app_machines: Vec<&WireMachine> = machines
        .iter()
        .filter(|machine| machine.is_app_machine())
        .collect();
    let started: Vec<&WireMachine> = app_machines
        .iter()
        .copied()
        .filter(|machine| machine.activity() == MachineActivity::Serving)
        .collect();
    if !started.is_empty() {
        return started;
    }
    app_machines
        .into_iter()
        .filter(|machine| {
            matches!(
                machine.activity(),
                MachineActivity::Starting | MachineActivity::Idle
            )
        })
        .collect()
}

/// The release a machine runs. The image decides: a rollback through the Machines API swaps
/// `config.image` but leaves the metadata naming the newer release. Among releases with that
/// image (a redeploy reuses one), the metadata's release wins, else the newest successful one.
/// A machine without image information is matched by its metadata alone; one whose image no
/// known release has matches nothing.
fn release_for_machine<'a>(
    machine: &WireMachine,
    known: &[&'a WireRelease],
) -> Option<&'a WireRelease> {
    let release_id = machine.metadata(METADATA_RELEASE_ID);
    let release_version = machine
        .metadata(METADATA_RELEASE_VERSION)
        .and_then(|version| version.trim_start_matches('v').parse::<i64>().ok());
    let named_by_metadata = |release: &&WireRelease| {
        release_id.as_deref() == Some(release.id.as_str())
            || (release_version.is_some() && release.version == release_version)
    };
    let Some(image) = machine.image() else {
        return known
            .iter()
            .copied()
            .find(|release| named_by_metadata(release));
    };
    let same_image: Vec<&'a WireRelease> = known
        .iter()
        .copied()
        .filter(|release| release.image().is_some_and(|other| other.matches(&image)))
        .collect();
    same_image
        .iter()
        .copied()
        .find(|release| named_by_metadata(release))
        .or_else(|| {
            newest_release(
                same_image
                    .iter()
                    .copied()
                    .filter(|release| release.state() == DeployState::Ready),
            )
        })
        .or_else(|| newest_release(same_image.iter().copied()))
}

/// What serves traffic: the release most serving machines run (ties: the newer release).
/// When that differs from Fly's marker the machines win, because they are what answers
/// requests (a Machines-API rollback leaves the release list untouched). With no machines, or
/// none whose image a recent release has, Fly's marker stands.
fn choose_live<'a>(
    current: Option<&'a WireRelease>,
    recent: &'a [WireRelease],
    machines: &[WireMachine],
) -> Option<&'a WireRelease> {
    let marker = marker_release(current, recent);
    let known: Vec<&WireRelease> = current.into_iter().chain(recent.iter()).collect();
    let mut tally: Vec<(&WireRelease, usize)> = Vec::new();
    for machine in serving_machines(machines) {
        match release_for_machine(machine, &known) {
            Some(release) => match tally.iter_mut().find(|(seen, _)| seen.id == release.id) {
                Some((_, count)) => *count += 1,
                None => tally.push((release, 1)),
            },
            // Its image is in no recent release (deployed by hand, or older than the scan):
            // it cannot be named, so it does not vote.
            None => tracing::debug!(
                provider = "fly",
                machine = machine.id.as_deref().unwrap_or_default(),
                "machine runs an image no recent release has"
            ),
        }
    }
    let by_machines = tally
        .into_iter()
        .max_by_key(|(release, count)| (*count, release.version.unwrap_or(i64::MIN)))
        .map(|(release, _)| release);
    match (by_machines, marker) {
        (Some(running), Some(marker)) if running.id != marker.id => {
            // Expected after a rollback through the Machines API, or mid-deploy; logged at
            // debug because every poll would repeat it.
            tracing::debug!(
                provider = "fly",
                running = running.version.unwrap_or_default(),
                marker = marker.version.unwrap_or_default(),
                "machines run another release than Fly's current one; showing what they run"
            );
            Some(running)
        }
        (Some(running), _) => Some(running),
        (None, marker) => marker,
    }
}

fn parse_time(value: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value?.trim())
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .map(str::to_string)
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
        let mut value = HeaderValue::from_str(&authorization_value(self.config.token.expose()))
            .map_err(|_| ProviderError::Unauthorized {
                message: "the token holds characters an HTTP header cannot carry".into(),
            })?;
        value.set_sensitive(true);
        Ok(value)
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

    /// `{machines_base}/apps/{app}/machines`, each segment percent-encoded.
    fn machines_url(&self) -> Result<url::Url, ProviderError> {
        let invalid_base = || ProviderError::Transport {
            detail: "the configured Fly Machines API base is not a usable URL".into(),
        };
        let mut url = url::Url::parse(&self.config.machines_base).map_err(|_| invalid_base())?;
        url.path_segments_mut()
            .map_err(|()| invalid_base())?
            .pop_if_empty()
            .extend(["apps", self.config.app.as_str(), "machines"]);
        Ok(url)
    }

    /// `{machines_base}/apps/{app}/machines/{id}`, each segment percent-encoded.
    fn machine_url(&self, machine_id: &str) -> Result<url::Url, ProviderError> {
        let mut url = self.machines_url()?;
        url.path_segments_mut()
            .map_err(|()| ProviderError::Transport {
                detail: "the configured Fly Machines API base is not a usable URL".into(),
            })?
            .push(machine_id);
        Ok(url)
    }

    /// The machines as Fly sent them, for updates: "We don't support partial updates", so an
    /// update must send back the whole `config`, including fields Lookout does not model.
    async fn machines_raw(&self) -> Result<Vec<Value>, ProviderError> {
        let request = self
            .http
            .get(self.machines_url()?)
            .header(AUTHORIZATION, self.authorization()?)
            .header(ACCEPT, "application/json");
        let (machines, _rate_limit) = http::send_json(request, machines_error_message).await?;
        Ok(machines)
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
            .http
            .post(self.config.graphql_base.as_str())
            .header(AUTHORIZATION, self.authorization()?)
            .header(ACCEPT, "application/json")
            .json(&json!({ "query": query, "variables": variables }));
        let response = request.send().await.map_err(http::transport_error)?;
        let now = Utc::now();
        let status = response.status();
        let headers = response.headers().clone();
        let body = http::read_body(response, http::MAX_PROVIDER_BODY).await?;
        decode_graphql(status, &headers, &body, now)
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
        let request = self
            .http
            .get(self.machines_url()?)
            .header(AUTHORIZATION, self.authorization()?)
            .header(ACCEPT, "application/json");
        let (machines, _rate_limit) = http::send_json(request, machines_error_message).await?;
        Ok(machines)
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
            non_empty(user.name.as_deref()).or_else(|| non_empty(user.email.as_deref()))
        });
        ProviderDeployment {
            origin: Vec::new(),
            // A rollback redeploys the release's image; without one there is nothing to run.
            rollback_refusal: non_empty(release.image_ref.as_deref()).is_none().then(|| {
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
            created_at: parse_time(release.created_at.as_deref()),
            // `updatedAt` of a finished release is when its status was last written, which
            // flyctl does once the machines are updated.
            finished_at: if release_is_finished(&status) {
                parse_time(release.updated_at.as_deref())
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
        let next = connection
            .page_info
            .filter(|info| info.has_next_page == Some(true))
            .and_then(|info| non_empty(info.end_cursor.as_deref()))
            .filter(|_| !releases.is_empty());
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
            non_empty(target.image_ref.as_deref()).ok_or_else(|| ProviderError::Rejected {
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
                .http
                .post(self.machine_url(id)?)
                .header(AUTHORIZATION, self.authorization()?)
                .header(ACCEPT, "application/json")
                .json(&json!({ "config": config }));
            let result: Result<(Value, _), ProviderError> =
                http::send_json(post, machines_error_message).await;
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
mod tests {
    use super::*;

    const RELEASES_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/fly_graphql_releases_CONSTRUCTED.json");
    const MACHINES_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/fly_list_machines.json");
    const MACHINE_UPDATE_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/fly_machine_update_response.json");
    const ERROR_FIXTURE: &str =
        include_str!("../../tests/fixtures/providers/fly_error_response.json");

    fn client() -> FlyClient {
        FlyClient::new(
            reqwest::Client::new(),
            FlyClientConfig {
                graphql_base: DEFAULT_GRAPHQL_BASE.into(),
                machines_base: DEFAULT_MACHINES_BASE.into(),
                token: Secret::new("fly_test_token"),
                app: "myapp".into(),
                environment: "production".into(),
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

    fn now() -> DateTime<Utc> {
        at("2026-03-01T12:00:00Z").unwrap()
    }

    fn release(id: &str, version: i64, status: &str, image: &str) -> WireRelease {
        WireRelease {
            id: id.into(),
            version: Some(version),
            status: Some(status.into()),
            image_ref: Some(image.into()),
            user: None,
            created_at: None,
            updated_at: None,
        }
    }

    fn machine(state: &str, image: Option<&str>, metadata: &[(&str, &str)]) -> WireMachine {
        WireMachine {
            id: Some("m1".into()),
            state: Some(state.into()),
            config: Some(WireMachineConfig {
                image: image.map(str::to_string),
                metadata: Some(
                    metadata
                        .iter()
                        .map(|(key, value)| (key.to_string(), Value::String(value.to_string())))
                        .collect(),
                ),
            }),
            image_ref: None,
        }
    }

    fn decode_fixture() -> WireApp {
        let data: ReleasesData = decode_graphql(
            StatusCode::OK,
            &HeaderMap::new(),
            RELEASES_FIXTURE.as_bytes(),
            now(),
        )
        .unwrap();
        data.app.unwrap()
    }

    #[test]
    fn every_fly_release_status_maps_to_a_lookout_state() {
        let cases = [
            ("running", DeployState::Deploying),
            ("complete", DeployState::Ready),
            ("failed", DeployState::Failed),
            ("interrupted", DeployState::Canceled),
            // Nomad-era values from community posts.
            ("succeeded", DeployState::Ready),
            ("cancelled", DeployState::Canceled),
            ("canceled", DeployState::Canceled),
            ("COMPLETE", DeployState::Ready),
            ("pending_approval", DeployState::Unknown),
            ("", DeployState::Unknown),
        ];
        for (status, expected) in cases {
            assert_eq!(release_state(status), expected, "status {status:?}");
        }
        for finished in [
            "complete",
            "succeeded",
            "failed",
            "interrupted",
            "cancelled",
        ] {
            assert!(release_is_finished(finished), "{finished}");
        }
        assert!(!release_is_finished("running"));
    }

    #[test]
    fn a_release_without_an_image_cannot_be_a_rollback_target() {
        let with_image = release("rel_1", 1, "complete", "registry.fly.io/app:deployment-1");
        assert_eq!(
            client()
                .to_deployment(&with_image, Some(1))
                .rollback_refusal,
            None
        );
        let mut without = with_image.clone();
        without.image_ref = None;
        assert!(client()
            .to_deployment(&without, Some(1))
            .rollback_refusal
            .is_some_and(|reason| reason.contains("no image")));
        without.image_ref = Some("  ".into());
        assert!(client()
            .to_deployment(&without, Some(1))
            .rollback_refusal
            .is_some());
    }

    #[test]
    fn every_machine_state_maps_to_an_activity() {
        let cases = [
            ("started", MachineActivity::Serving),
            ("created", MachineActivity::Starting),
            ("starting", MachineActivity::Starting),
            ("replacing", MachineActivity::Starting),
            ("updating", MachineActivity::Starting),
            ("stopping", MachineActivity::Idle),
            ("stopped", MachineActivity::Idle),
            ("suspending", MachineActivity::Idle),
            ("suspended", MachineActivity::Idle),
            ("destroying", MachineActivity::Gone),
            ("destroyed", MachineActivity::Gone),
            ("failed", MachineActivity::Gone),
            ("levitating", MachineActivity::Unknown),
        ];
        for (state, expected) in cases {
            assert_eq!(machine_activity(state), expected, "state {state:?}");
        }
    }

    #[test]
    fn releases_fixture_parses_into_deployments() {
        let app = decode_fixture();
        assert!(
            app.current_release.is_none(),
            "the fixture asks only for releases"
        );
        let (releases, next) = FlyClient::page_releases(app.releases);
        assert_eq!(next, None, "no pageInfo: the last page");
        let client = client();
        let deployments: Vec<ProviderDeployment> = releases
            .iter()
            .map(|release| client.to_deployment(release, Some(42)))
            .collect();
        let [live, older] = deployments.as_slice() else {
            panic!("two releases expected");
        };
        assert_eq!(live.id, "rel_0000000000000002");
        assert_eq!(live.state, DeployState::Ready);
        assert_eq!(live.provider_state, "complete");
        assert_eq!(
            live.environment,
            ProviderEnvironment::Named("production".into())
        );
        assert_eq!(
            live.commit,
            CommitInfo::default(),
            "Fly releases carry no commit"
        );
        assert_eq!(live.creator.as_deref(), Some("Dev"));
        assert_eq!(live.created_at, at("2025-08-12T16:21:00Z"));
        assert_eq!(live.finished_at, None, "the fixture has no updatedAt");
        assert_eq!(live.url.as_deref(), Some("https://myapp.fly.dev"));
        assert_eq!(
            live.dashboard_url.as_deref(),
            Some("https://fly.io/apps/myapp")
        );
        assert_eq!(
            releases[0].image_ref.as_deref(),
            Some("registry.fly.io/myapp:deployment-01HXXXXXXXXXXXXXXXXXXXXXXX")
        );

        assert_eq!(older.id, "rel_0000000000000001");
        assert_eq!(older.state, DeployState::Superseded);
        assert_eq!(older.provider_state, "complete");
        assert_eq!(older.created_at, at("2025-08-10T09:14:00Z"));
        assert_eq!(older.url, None);
        assert_eq!(releases[1].version, Some(41));
    }

    #[test]
    fn machines_fixture_parses_with_images_from_image_ref() {
        let machines: Vec<WireMachine> = serde_json::from_str(MACHINES_FIXTURE).unwrap();
        assert_eq!(machines.len(), 2);
        assert_eq!(machines[0].id.as_deref(), Some("a5c5de9ce64ca12"));
        assert_eq!(machines[0].activity(), MachineActivity::Serving);
        // `config` is `{}`: the image comes from `image_ref`, Docker Hub spelling dropped.
        assert_eq!(
            machines[0].image(),
            Some(ImageKey {
                name: "rebelthor/sleep".into(),
                tag: Some("latest".into()),
                digest: Some(
                    "sha256:597c3e12f830132be2aa69b4c0deccb0657ea4253e6d59c6f38e41e9f69a0add"
                        .into()
                ),
            })
        );
        assert!(machines[0].is_app_machine());
        assert_eq!(machines[1].id.as_deref(), Some("9c487adb2596113"));
        assert_eq!(machines[1].activity(), MachineActivity::Serving);
        let second = machines[1].image().unwrap();
        assert_eq!(second.name, "registry.fly.io/teamcoco");
        assert_eq!(second.tag, None);
        assert!(second
            .digest
            .as_deref()
            .is_some_and(|digest| digest.starts_with("sha256:5615ef42")));
        assert_eq!(serving_machines(&machines).len(), 2);
    }

    #[test]
    fn machine_update_fixture_parses_with_null_metadata() {
        let machine: WireMachine = serde_json::from_str(MACHINE_UPDATE_FIXTURE).unwrap();
        assert_eq!(machine.id.as_deref(), Some("73d8d46dbee589"));
        assert_eq!(machine.activity(), MachineActivity::Starting);
        assert_eq!(machine.metadata(METADATA_RELEASE_VERSION), None);
        let image = machine.image().unwrap();
        assert_eq!(
            image,
            ImageKey {
                name: "flyio/fastify-functions".into(),
                tag: Some("latest".into()),
                digest: None,
            },
            "config.image wins over image_ref"
        );
        let release = release(
            "rel_1",
            1,
            "complete",
            "registry-1.docker.io/flyio/fastify-functions:latest",
        );
        assert!(release.image().unwrap().matches(&image));
    }

    #[test]
    fn error_fixture_gives_its_message() {
        assert_eq!(
            machines_error_message(ERROR_FIXTURE.as_bytes()).as_deref(),
            Some("Authenticate: token validation error")
        );
        assert_eq!(
            machines_error_message(br#"{"status":"insufficient_capacity"}"#).as_deref(),
            Some("insufficient_capacity")
        );
        assert_eq!(machines_error_message(b"<html>oops</html>"), None);
        assert_eq!(machines_error_message(b"{}"), None);
    }

    #[test]
    fn tokens_get_the_scheme_fly_go_would_send() {
        assert_eq!(authorization_value("abc123"), "Bearer abc123");
        assert_eq!(authorization_value("fm2_lJPE"), "FlyV1 fm2_lJPE");
        assert_eq!(authorization_value("fm1r_abc"), "FlyV1 fm1r_abc");
        assert_eq!(authorization_value("fo1_x,fm2_y"), "FlyV1 fo1_x,fm2_y");
        assert_eq!(authorization_value("FlyV1 fm2_pasted"), "FlyV1 fm2_pasted");
        assert_eq!(authorization_value(" Bearer  tok "), "Bearer tok");
        assert_eq!(authorization_value("fm3_future"), "Bearer fm3_future");
        let header = client().authorization().unwrap();
        assert!(header.is_sensitive());
        assert!(!format!("{:?}", client()).contains("fly_test_token"));
    }

    #[test]
    fn graphql_errors_are_read_whatever_the_status() {
        let decode = |status: u16, body: &str| {
            decode_graphql::<ReleasesData>(
                StatusCode::from_u16(status).unwrap(),
                &HeaderMap::new(),
                body.as_bytes(),
                now(),
            )
            .unwrap_err()
        };
        let unauthenticated =
            r#"{"data":null,"errors":[{"message":"You must be authenticated to view this."}]}"#;
        assert!(matches!(
            decode(200, unauthenticated),
            ProviderError::Unauthorized { .. }
        ));
        assert!(matches!(
            decode(401, unauthenticated),
            ProviderError::Unauthorized { .. }
        ));
        let not_found = r#"{"data":{"app":null},"errors":[{"message":"Could not find App \"nope\"","path":["app"],"extensions":{"code":"NOT_FOUND"}}]}"#;
        assert_eq!(
            decode(200, not_found),
            ProviderError::NotFound {
                message: "Could not find App \"nope\"".into()
            }
        );
        let coded = r#"{"errors":[{"message":"nope","extensions":{"code":"FORBIDDEN"}}]}"#;
        assert!(matches!(
            decode(200, coded),
            ProviderError::Forbidden { .. }
        ));
        let other = r#"{"errors":[{"message":"Argument 'first' must be positive"}]}"#;
        assert!(matches!(
            decode(200, other),
            ProviderError::Rejected { status: 200, .. }
        ));
        assert!(matches!(
            decode(503, r#"{"errors":[{"message":"Service Unavailable"}]}"#),
            ProviderError::Unavailable {
                status: Some(503),
                ..
            }
        ));
        assert!(matches!(
            decode(502, "<html>bad gateway</html>"),
            ProviderError::Unavailable {
                status: Some(502),
                ..
            }
        ));
        assert!(matches!(
            decode(200, "<html>hi</html>"),
            ProviderError::Malformed { .. }
        ));
        assert!(matches!(
            decode(200, r#"{"data":null}"#),
            ProviderError::Malformed { .. }
        ));
        assert!(matches!(
            decode(200, r#"{"data":{"app":{"releases":{"nodes":"many"}}}}"#),
            ProviderError::Malformed { .. }
        ));
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("4"));
        let limited = decode_graphql::<ReleasesData>(
            StatusCode::TOO_MANY_REQUESTS,
            &headers,
            br#"{"errors":[{"message":"slow down"}]}"#,
            now(),
        )
        .unwrap_err();
        assert_eq!(
            limited.retry_after(),
            Some(std::time::Duration::from_secs(4))
        );
    }

    #[test]
    fn image_references_compare_by_digest_else_tag() {
        let key = |text: &str| ImageKey::parse(text).unwrap();
        assert!(key("registry.fly.io/app:deployment-01A")
            .matches(&key("registry.fly.io/app:deployment-01A")));
        assert!(!key("registry.fly.io/app:deployment-01A")
            .matches(&key("registry.fly.io/app:deployment-01B")));
        assert!(key("nginx").matches(&key("docker.io/library/nginx:latest")));
        assert!(key("localhost:5000/app:v1").matches(&key("localhost:5000/app:v1")));
        assert_eq!(key("localhost:5000/app").tag.as_deref(), Some("latest"));
        assert!(!key("app:latest@sha256:aa").matches(&key("app:latest@sha256:bb")));
        assert!(key("app:v1@sha256:aa").matches(&key("app@sha256:aa")));
        assert!(
            !key("app@sha256:aa").matches(&key("app:v1")),
            "nothing to compare"
        );
        assert_eq!(ImageKey::parse("  "), None);
    }

    #[test]
    fn live_is_what_the_machines_run() {
        let v3 = release("r3", 3, "complete", "registry.fly.io/myapp:deployment-3");
        let v2 = release("r2", 2, "complete", "registry.fly.io/myapp:deployment-2");
        let v1 = release("r1", 1, "complete", "registry.fly.io/myapp:deployment-1");
        let recent = vec![v3.clone(), v2.clone(), v1.clone()];
        let on = |state: &str, image: &str, version: &str| {
            machine(
                state,
                Some(image),
                &[
                    (METADATA_RELEASE_VERSION, version),
                    (METADATA_PROCESS_GROUP, "app"),
                ],
            )
        };
        let pick = |machines: &[WireMachine]| {
            choose_live(Some(&v3), &recent, machines).map(|release| release.id.clone())
        };

        // Agreement.
        let agree = [on("started", "registry.fly.io/myapp:deployment-3", "3")];
        assert_eq!(pick(&agree).as_deref(), Some("r3"));
        // A Machines-API rollback: the image is v1's, the metadata still says v3.
        let rolled_back = [
            on("started", "registry.fly.io/myapp:deployment-1", "3"),
            on("started", "registry.fly.io/myapp:deployment-1", "3"),
        ];
        assert_eq!(pick(&rolled_back).as_deref(), Some("r1"));
        // Mid-deploy: the majority wins; a tie goes to the newer release.
        let mixed = [
            on("started", "registry.fly.io/myapp:deployment-2", "2"),
            on("started", "registry.fly.io/myapp:deployment-2", "2"),
            on("started", "registry.fly.io/myapp:deployment-3", "3"),
        ];
        assert_eq!(pick(&mixed).as_deref(), Some("r2"));
        assert_eq!(pick(&mixed[1..]).as_deref(), Some("r3"));
        // Scaled to zero: stopped machines still say what would serve.
        let asleep = [on("stopped", "registry.fly.io/myapp:deployment-2", "2")];
        assert_eq!(pick(&asleep).as_deref(), Some("r2"));
        // Started machines outrank stopped ones; destroyed and release-command ones never count.
        let busy = [
            on("stopped", "registry.fly.io/myapp:deployment-1", "1"),
            on("destroyed", "registry.fly.io/myapp:deployment-1", "1"),
            machine(
                "started",
                Some("registry.fly.io/myapp:deployment-1"),
                &[(METADATA_PROCESS_GROUP, "fly_app_release_command")],
            ),
            on("started", "registry.fly.io/myapp:deployment-2", "2"),
        ];
        assert_eq!(pick(&busy).as_deref(), Some("r2"));
        // Metadata alone when the machine says nothing of its image.
        let no_image = [machine("started", None, &[(METADATA_RELEASE_ID, "r2")])];
        assert_eq!(pick(&no_image).as_deref(), Some("r2"));
        // An image no release has, or no machines at all: Fly's marker.
        let stranger = [on("started", "ghcr.io/someone/else:1", "9")];
        assert_eq!(pick(&stranger).as_deref(), Some("r3"));
        assert_eq!(pick(&[]).as_deref(), Some("r3"));
        // The same image in two releases (a redeploy): the metadata's, else the newest.
        let redeploy = release("r4", 4, "complete", "registry.fly.io/myapp:deployment-3");
        let with_redeploy = vec![redeploy.clone(), v3.clone(), v2.clone()];
        let machines = [on("started", "registry.fly.io/myapp:deployment-3", "3")];
        assert_eq!(
            choose_live(Some(&redeploy), &with_redeploy, &machines).map(|r| r.id.as_str()),
            Some("r3")
        );
        let machines = [machine(
            "started",
            Some("registry.fly.io/myapp:deployment-3"),
            &[],
        )];
        assert_eq!(
            choose_live(Some(&redeploy), &with_redeploy, &machines).map(|r| r.id.as_str()),
            Some("r4")
        );
    }

    #[test]
    fn the_marker_skips_a_current_release_that_did_not_succeed() {
        let failed = release("r3", 3, "failed", "img:3");
        let ok = release("r2", 2, "complete", "img:2");
        let recent = vec![failed.clone(), ok.clone()];
        assert_eq!(
            marker_release(Some(&failed), &recent).map(|r| r.id.as_str()),
            Some("r2")
        );
        assert_eq!(
            marker_release(None, &recent).map(|r| r.id.as_str()),
            Some("r2")
        );
        let only_failed = vec![failed.clone()];
        assert_eq!(
            marker_release(Some(&failed), &only_failed).map(|r| r.id.as_str()),
            Some("r3")
        );
        assert!(marker_release(None, &[]).is_none());
    }

    #[test]
    fn older_successes_are_superseded_but_failures_keep_their_state() {
        let client = client();
        let mapped = |status: &str, version: i64| {
            client
                .to_deployment(&release("r", version, status, "img:1"), Some(5))
                .state
        };
        assert_eq!(mapped("complete", 5), DeployState::Ready);
        assert_eq!(mapped("complete", 4), DeployState::Superseded);
        assert_eq!(mapped("complete", 6), DeployState::Ready, "newer than live");
        assert_eq!(mapped("failed", 4), DeployState::Failed);
        assert_eq!(mapped("running", 6), DeployState::Deploying);
        let unknown_live = client.to_deployment(&release("r", 4, "complete", "img:1"), None);
        assert_eq!(unknown_live.state, DeployState::Ready);
        assert_eq!(unknown_live.url, None);
    }

    #[test]
    fn lenient_parsing_ignores_new_fields_and_null_nodes() {
        let body = r#"{"data":{"app":{"currentRelease":null,"releases":{"nodes":[null,
            {"id":"r1","version":1,"status":"teleporting","createdAt":"yesterday",
             "shinyNewField":{"a":1}}],"pageInfo":{"endCursor":"abc","hasNextPage":true}}}}}"#;
        let data: ReleasesData =
            decode_graphql(StatusCode::OK, &HeaderMap::new(), body.as_bytes(), now()).unwrap();
        let app = data.app.unwrap();
        let (releases, next) = FlyClient::page_releases(app.releases);
        assert_eq!(next.as_deref(), Some("abc"));
        let deployment = client().to_deployment(&releases[0], None);
        assert_eq!(deployment.state, DeployState::Unknown);
        assert_eq!(deployment.provider_state, "teleporting");
        assert_eq!(deployment.created_at, None);
        assert_eq!(deployment.creator, None);
    }

    #[test]
    fn machines_urls_are_built_under_the_base_and_encoded() {
        let mut config = client().config().clone();
        config.machines_base = "http://127.0.0.1:9/fly/v1/".into();
        config.app = "my app/x".into();
        let client = FlyClient::new(reqwest::Client::new(), config);
        assert_eq!(
            client.machines_url().unwrap().as_str(),
            "http://127.0.0.1:9/fly/v1/apps/my%20app%2Fx/machines"
        );
    }
}
