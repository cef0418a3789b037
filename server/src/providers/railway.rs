//! The Railway client: one Railway service across the environments Lookout watches, read
//! through Railway's GraphQL public API v2.
//!
//! Everything goes to one endpoint (`POST {api_base}` with `{"query", "variables"}`), so this
//! module owns its own request/response handling around `reqwest`: a GraphQL error can arrive
//! with HTTP 200 (or, UNCONFIRMED, with a 4xx), and only the body says what went wrong. Status
//! codes, transport failures and rate-limit headers still go through [`super::http`].
//!
//! Railway has no production/preview flag: an environment is a name, and PR environments are
//! marked `isEphemeral`. Lookout's config maps the names; ephemeral ones become previews.

use super::graphql::{self, decode_data, GraphQlError, GraphQlResponse, PageInfo};
use super::http;
use super::rollback::{
    live_in, RollbackMethod, RollbackProgress, RollbackRequest, RollbackStarted,
};
use super::wire;
use super::{
    CommitInfo, DeploymentPage, DeploymentProvider, OriginFact, PageCursor, ProviderDeployment,
    ProviderEnvironment, ProviderError, ScopePresence, ScopeRule,
};
use crate::secret::Secret;
use app::model::{DeployState, ProviderKind};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};

/// Railway's public GraphQL endpoint (the default `api_base`).
pub const DEFAULT_API_BASE: &str = "https://backboard.railway.com/graphql/v2";

/// The largest page Lookout asks for. Railway's maximum `first` is UNCONFIRMED (the CLI uses
/// 20); 100 is the common GraphQL ceiling, and a smaller page only costs more requests.
pub const MAX_PAGE_SIZE: u32 = 100;

/// How many recent deployments `live_deployments` reads to find what ephemeral (PR)
/// environments serve: those are not configured, so they are discovered from history.
const EPHEMERAL_SCAN_DEPTH: u32 = 50;

/// How the token is sent: Railway uses a different header for project tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RailwayTokenKind {
    /// An account, workspace or OAuth token: `Authorization: Bearer <token>`.
    Bearer,
    /// A project token (one environment of one project): `Project-Access-Token: <token>`.
    ProjectAccessToken,
}

/// One Railway environment Lookout watches for this service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RailwayEnvironmentRef {
    pub environment_id: String,
    /// Railway's name for the environment ("production"); Lookout config maps it.
    pub name: String,
}

/// Where and as whom the client talks to Railway, and which service it watches.
#[derive(Clone, Debug)]
pub struct RailwayClientConfig {
    /// The GraphQL endpoint itself, e.g. [`DEFAULT_API_BASE`].
    pub api_base: String,
    pub token: Secret,
    pub token_kind: RailwayTokenKind,
    pub project_id: String,
    pub service_id: String,
    /// The (non-ephemeral) environments whose live deployment Lookout shows.
    pub environments: Vec<RailwayEnvironmentRef>,
}

/// A [`DeploymentProvider`] for one Railway service.
#[derive(Clone, Debug)]
pub struct RailwayClient {
    http: reqwest::Client,
    config: RailwayClientConfig,
}

/// The fields Lookout reads from every `Deployment`; all queries share this selection.
macro_rules! deployment_fragment {
    () => {
        "fragment LookoutDeployment on Deployment { id status createdAt updatedAt \
         statusUpdatedAt url staticUrl canRollback meta projectId serviceId creator { name email } \
         environmentId environment { id name isEphemeral } }"
    };
}

/// `deploymentRollback(id: String!): Boolean!`; `id` is the deployment to go back to.
const ROLLBACK_MUTATION: &str =
    "mutation LookoutRollback($id: String!) { deploymentRollback(id: $id) }";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RollbackData {
    deployment_rollback: bool,
}

const LIST_QUERY: &str = concat!(
    "query LookoutDeployments($input: DeploymentListInput!, $first: Int, $after: String) { \
     deployments(input: $input, first: $first, after: $after) { \
     edges { cursor node { ...LookoutDeployment } } pageInfo { endCursor hasNextPage } } } ",
    deployment_fragment!()
);

const DEPLOYMENT_QUERY: &str = concat!(
    "query LookoutDeployment($id: String!) { deployment(id: $id) { ...LookoutDeployment } } ",
    deployment_fragment!()
);

/// The alias of configured environment `index` in the live query (`env0`, `env1`, …); the
/// variable holding its id has the same name.
fn environment_alias(index: usize) -> String {
    format!("env{index}")
}

/// One request for everything live: a `serviceInstance` per configured environment (aliased
/// `env0`, `env1`, …) plus the recent deployments, where ephemeral environments show up. One
/// request rather than several because Railway's hourly budget is small (Free: 100/h).
fn live_query(environment_count: usize) -> String {
    let mut definitions = String::from("$serviceId: String!, $recentInput: DeploymentListInput!");
    let mut selections = String::new();
    for index in 0..environment_count {
        let alias = environment_alias(index);
        definitions.push_str(&format!(", ${alias}: String!"));
        selections.push_str(&format!(
            "{alias}: serviceInstance(serviceId: $serviceId, environmentId: ${alias}) \
             {{ activeDeployments {{ ...LookoutDeployment }} }} "
        ));
    }
    format!(
        "query LookoutLive({definitions}) {{ {selections}recent: deployments(input: \
         $recentInput, first: {EPHEMERAL_SCAN_DEPTH}) {{ edges {{ node {{ ...LookoutDeployment \
         }} }} }} }} {}",
        deployment_fragment!()
    )
}

// ---------------------------------------------------------------------------------------------
// Wire types (lenient: every field optional, unknown fields ignored)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentNode {
    id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    status_updated_at: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    static_url: Option<String>,
    /// Scalar JSON; only `commitHash` is confirmed to be in it.
    #[serde(default)]
    meta: Option<Value>,
    #[serde(default)]
    project_id: Option<String>,
    #[serde(default)]
    service_id: Option<String>,
    #[serde(default)]
    creator: Option<CreatorNode>,
    #[serde(default)]
    environment_id: Option<String>,
    #[serde(default)]
    environment: Option<EnvironmentNode>,
    /// Whether Railway still keeps what a rollback needs (image and variables).
    #[serde(default)]
    can_rollback: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct CreatorNode {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvironmentNode {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    is_ephemeral: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct ListData {
    deployments: Connection,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Connection {
    #[serde(default)]
    edges: Vec<Edge>,
    #[serde(default)]
    page_info: Option<PageInfo>,
}

#[derive(Debug, Deserialize)]
struct Edge {
    node: DeploymentNode,
}

#[derive(Debug, Deserialize)]
struct DeploymentData {
    #[serde(default)]
    deployment: Option<DeploymentNode>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceInstanceNode {
    #[serde(default)]
    active_deployments: Vec<DeploymentNode>,
}

/// What came back from a request that did not fail outright.
struct GraphQlOutcome {
    status: StatusCode,
    data: Option<Value>,
    errors: Vec<GraphQlError>,
}

// ---------------------------------------------------------------------------------------------
// State and field mapping
// ---------------------------------------------------------------------------------------------

/// Maps Railway's `DeploymentStatus` onto Lookout's state set.
pub fn map_status(status: &str) -> DeployState {
    match status {
        // WAITING is "waiting for approval" in the docs; NEEDS_APPROVAL is the schema's name for
        // the same kind of hold. Neither has started building.
        "QUEUED" | "WAITING" | "NEEDS_APPROVAL" | "INITIALIZING" => DeployState::Queued,
        "BUILDING" => DeployState::Building,
        "DEPLOYING" => DeployState::Deploying,
        // SLEEPING: the deployment is live but scaled to zero (app sleeping); it wakes on the
        // next request, so for the dashboard it is what serves traffic.
        "SUCCESS" | "SLEEPING" => DeployState::Ready,
        "FAILED" | "CRASHED" => DeployState::Failed,
        // REMOVED/REMOVING: replaced by a newer deployment (or removed by hand).
        "REMOVED" | "REMOVING" => DeployState::Superseded,
        "SKIPPED" => DeployState::Canceled,
        other => {
            wire::warn_unknown("railway", "deployment status", other);
            DeployState::Unknown
        }
    }
}

/// Whether `statusUpdatedAt` marks when the deployment finished. For REMOVED it is when the
/// deployment was taken down and for SLEEPING when it fell asleep, not when it became ready,
/// so those have no finish time.
fn status_is_finished(status: &str) -> bool {
    matches!(status, "SUCCESS" | "FAILED" | "CRASHED" | "SKIPPED")
}

fn meta_string(meta: Option<&Value>, key: &str) -> Option<String> {
    wire::trimmed(meta?.get(key)?.as_str())
}

/// `url`/`staticUrl` come as bare host names (meanings UNCONFIRMED); either is the address of
/// the deployment, so the first present one gets a scheme if it has none.
fn deployment_url(node: &DeploymentNode) -> Option<String> {
    let raw =
        wire::trimmed(node.url.as_deref()).or_else(|| wire::trimmed(node.static_url.as_deref()))?;
    let url = if raw.contains("://") {
        raw
    } else {
        format!("https://{raw}")
    };
    super::web_url(Some(url), "url")
}

/// PR environments carry the PR number in their name (`pr-42`, `web-pr-42`). That naming is a
/// convention, UNCONFIRMED as a rule: a name that does not match yields no number.
pub fn pr_number_from_environment_name(name: &str) -> Option<u32> {
    let lower = name.trim().to_ascii_lowercase();
    let start = lower.rfind("pr-")?;
    if start > 0 && !matches!(lower.as_bytes()[start - 1], b'-' | b'_') {
        return None;
    }
    let digits = &lower[start + 3..];
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn dashboard_url(config: &RailwayClientConfig, environment_id: Option<&str>, id: &str) -> String {
    let encode =
        |value: &str| url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
    let mut address = format!(
        "https://railway.com/project/{}/service/{}?",
        encode(&config.project_id),
        encode(&config.service_id)
    );
    if let Some(environment_id) = environment_id {
        address.push_str(&format!("environmentId={}&", encode(environment_id)));
    }
    address.push_str(&format!("id={}", encode(id)));
    address
}

/// Maps one `Deployment` node onto Lookout's deployment.
fn map_deployment(config: &RailwayClientConfig, node: &DeploymentNode) -> ProviderDeployment {
    let status = node.status.clone().unwrap_or_default();
    let meta = node.meta.as_ref();
    let commit = CommitInfo {
        // Only `commitHash` is confirmed in GraphQL `meta`; the other three are the webhook's
        // names (UNCONFIRMED here) and are read when present.
        sha: meta_string(meta, "commitHash"),
        message: meta_string(meta, "commitMessage"),
        author: meta_string(meta, "commitAuthor"),
        branch: meta_string(meta, "branch"),
    };
    let environment_id = node
        .environment_id
        .clone()
        .or_else(|| node.environment.as_ref().and_then(|env| env.id.clone()));
    let environment_name = node
        .environment
        .as_ref()
        .and_then(|env| wire::trimmed(env.name.as_deref()))
        .or_else(|| {
            // Without the environment object, the configured name for its id will do.
            let id = environment_id.as_deref()?;
            config
                .environments
                .iter()
                .find(|env| env.environment_id == id)
                .map(|env| env.name.clone())
        });
    let is_ephemeral = node
        .environment
        .as_ref()
        .and_then(|env| env.is_ephemeral)
        .unwrap_or(false);
    let (environment, pr_number) = if is_ephemeral {
        let pr_number = environment_name
            .as_deref()
            .and_then(pr_number_from_environment_name);
        let environment = ProviderEnvironment::Preview {
            branch: commit.branch.clone(),
            pr_number,
        };
        (environment, pr_number)
    } else {
        // An unnamed, unconfigured environment is shown by its id: better than guessing.
        let name = environment_name
            .or_else(|| environment_id.clone())
            .unwrap_or_default();
        (ProviderEnvironment::Named(name), None)
    };
    let creator = node.creator.as_ref().and_then(|creator| {
        wire::trimmed(creator.name.as_deref()).or_else(|| wire::trimmed(creator.email.as_deref()))
    });
    let finished_at = if status_is_finished(&status) {
        wire::parse_time("railway", node.status_updated_at.as_deref())
    } else {
        None
    };
    ProviderDeployment {
        rollback_refusal: (node.can_rollback == Some(false)).then(|| {
            "Railway no longer keeps this deployment's image (canRollback is false)".to_string()
        }),
        id: node.id.clone(),
        state: map_status(&status),
        provider_state: status,
        environment,
        commit,
        pr_number,
        creator,
        created_at: wire::parse_time("railway", node.created_at.as_deref()),
        finished_at,
        url: deployment_url(node),
        dashboard_url: Some(dashboard_url(config, environment_id.as_deref(), &node.id)),
        origin: [
            OriginFact::all("serviceId", [node.service_id.as_deref()]),
            OriginFact::all("projectId", [node.project_id.as_deref()]),
            OriginFact::all("environmentId", [environment_id.as_deref()]),
        ]
        .concat(),
    }
}

/// Newest first; deployments without a creation time go last.
fn sort_newest_first(deployments: &mut [ProviderDeployment]) {
    deployments.sort_by_key(|deployment| std::cmp::Reverse(deployment.created_at));
}

// ---------------------------------------------------------------------------------------------
// Error mapping
// ---------------------------------------------------------------------------------------------

/// Errors that decide the outcome of the whole request, whatever else came back: the token
/// is wrong, 2FA is required, or the budget is used up.
fn fatal_error(
    error: &GraphQlError,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Option<ProviderError> {
    let message = error.message.trim();
    let lower = message.to_ascii_lowercase();
    // The messages the official CLI handles.
    if lower == "not authorized" || lower == "project token not found" {
        return Some(ProviderError::Unauthorized {
            message: error.short_message(),
        });
    }
    if lower.contains("two factor authentication required") {
        return Some(ProviderError::Forbidden {
            message: error.short_message(),
        });
    }
    // Railway signals throttling with HTTP 429; a GraphQL error saying so is treated alike in
    // case it ever comes with another status (UNCONFIRMED).
    if lower.contains("rate limit") {
        return Some(ProviderError::RateLimited {
            retry_after: http::parse_rate_limit(headers, now).wait(now),
            message: error.short_message(),
        });
    }
    None
}

/// Any other GraphQL error: "not found" for an unknown id (wording UNCONFIRMED: matched
/// loosely), else the request was rejected. The status is the real HTTP status, which for a
/// GraphQL error is usually 200.
fn request_error(error: &GraphQlError, status: StatusCode) -> ProviderError {
    if error.message.to_ascii_lowercase().contains("not found") {
        ProviderError::NotFound {
            message: error.short_message(),
        }
    } else {
        ProviderError::Rejected {
            status: status.as_u16(),
            message: error.short_message(),
        }
    }
}

/// Reads `data` as `T`, failing on any GraphQL error.
fn strict_data<T: serde::de::DeserializeOwned>(
    outcome: GraphQlOutcome,
) -> Result<T, ProviderError> {
    if let Some(error) = outcome.errors.first() {
        return Err(request_error(error, outcome.status));
    }
    decode_data(outcome.data)
}

// ---------------------------------------------------------------------------------------------
// The client
// ---------------------------------------------------------------------------------------------

impl RailwayClient {
    pub fn new(http: reqwest::Client, config: RailwayClientConfig) -> Self {
        Self { http, config }
    }

    pub fn config(&self) -> &RailwayClientConfig {
        &self.config
    }

    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        Ok(match self.config.token_kind {
            RailwayTokenKind::Bearer => request.bearer_auth(self.config.token.expose()),
            RailwayTokenKind::ProjectAccessToken => request.header(
                "Project-Access-Token",
                http::token_header(self.config.token.expose())?,
            ),
        })
    }

    /// Sends one GraphQL request and sorts out what came back. The body is parsed whatever
    /// the status, because the HTTP status of a GraphQL error is UNCONFIRMED (200 or 4xx):
    /// auth messages in the body win over the status; otherwise a failure status maps as
    /// any provider's would.
    async fn execute(
        &self,
        query: &str,
        variables: Value,
    ) -> Result<GraphQlOutcome, ProviderError> {
        let body = graphql::request_body(query, variables);
        let request = self.authorize(self.http.post(&self.config.api_base).json(&body))?;
        let answer = http::exchange(request).await?;
        let (status, headers, bytes, now) = (
            answer.status,
            &answer.headers,
            &answer.body,
            answer.received_at,
        );
        let rate_limit = answer.rate_limit();
        if rate_limit.remaining.is_some() {
            tracing::debug!(
                provider = "railway",
                remaining = ?rate_limit.remaining,
                limit = ?rate_limit.limit,
                "rate-limit budget"
            );
        }
        let envelope = GraphQlResponse::read(bytes);
        let errors = envelope
            .as_ref()
            .and_then(|envelope| envelope.errors.clone())
            .unwrap_or_default();
        let first_message = errors
            .first()
            .map(GraphQlError::short_message)
            .filter(|message| !message.is_empty());
        let reason = || http::status_reason(status);
        if status == StatusCode::TOO_MANY_REQUESTS {
            let message = first_message.unwrap_or_else(reason);
            return Err(http::status_error(status, headers, message, now));
        }
        if let Some(error) = errors
            .iter()
            .find_map(|error| fatal_error(error, headers, now))
        {
            return Err(error);
        }
        if !status.is_success() {
            // An unknown id may come as a 4xx with a GraphQL error (UNCONFIRMED): the body
            // says "not found" more precisely than a 400 does.
            if status.is_client_error() {
                if let Some(error) = errors.first() {
                    if let not_found @ ProviderError::NotFound { .. } = request_error(error, status)
                    {
                        return Err(not_found);
                    }
                }
            }
            let message = first_message.unwrap_or_else(reason);
            return Err(http::status_error(status, headers, message, now));
        }
        let Some(envelope) = envelope else {
            return Err(ProviderError::Malformed {
                detail: "the response is not a GraphQL JSON body".into(),
            });
        };
        Ok(GraphQlOutcome {
            status,
            data: envelope.data,
            errors,
        })
    }

    /// The `DeploymentListInput` for this service. A project token grants one environment
    /// only, so with one configured environment the list is scoped to it; whether Railway
    /// would refuse the unscoped list for such a token is UNCONFIRMED, and the scoped one
    /// returns the same deployments either way.
    fn recent_input(&self) -> Value {
        let mut input = json!({
            "projectId": self.config.project_id,
            "serviceId": self.config.service_id,
        });
        if let (RailwayTokenKind::ProjectAccessToken, [environment]) =
            (self.config.token_kind, self.config.environments.as_slice())
        {
            input["environmentId"] = json!(environment.environment_id);
        }
        input
    }
}

#[async_trait]
impl DeploymentProvider for RailwayClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Railway
    }

    async fn list_deployments(
        &self,
        cursor: Option<&PageCursor>,
        page_size: u32,
    ) -> Result<DeploymentPage, ProviderError> {
        let variables = json!({
            "input": self.recent_input(),
            "first": page_size.clamp(1, MAX_PAGE_SIZE),
            "after": cursor.map(|cursor| cursor.0.clone()),
        });
        let outcome = self.execute(LIST_QUERY, variables).await?;
        let data: ListData = strict_data(outcome)?;
        let mut deployments: Vec<ProviderDeployment> = data
            .deployments
            .edges
            .iter()
            .map(|edge| map_deployment(&self.config, &edge.node))
            .collect();
        // Railway returns newest first; sorting again guards the page order Lookout relies on.
        sort_newest_first(&mut deployments);
        let next = PageInfo::next_cursor(data.deployments.page_info).map(PageCursor);
        Ok(DeploymentPage { deployments, next })
    }

    async fn live_deployments(&self) -> Result<Vec<ProviderDeployment>, ProviderError> {
        let environments = &self.config.environments;
        let mut variables = serde_json::Map::new();
        variables.insert("serviceId".into(), json!(self.config.service_id));
        variables.insert("recentInput".into(), self.recent_input());
        for (index, environment) in environments.iter().enumerate() {
            variables.insert(environment_alias(index), json!(environment.environment_id));
        }
        let outcome = self
            .execute(&live_query(environments.len()), Value::Object(variables))
            .await?;

        // A configured environment the service is not deployed to fails only its own aliased
        // field; the other environments still show. Any other error fails the call.
        let aliases: HashSet<String> = (0..environments.len()).map(environment_alias).collect();
        let (tolerated, fatal): (Vec<GraphQlError>, Vec<GraphQlError>) =
            outcome.errors.into_iter().partition(|error| {
                error
                    .root_field()
                    .is_some_and(|field| aliases.contains(field))
            });
        if let Some(error) = fatal.first() {
            return Err(request_error(error, outcome.status));
        }
        for error in &tolerated {
            tracing::warn!(
                provider = "railway",
                field = error.root_field().unwrap_or_default(),
                message = %error.short_message(),
                "Railway could not read one environment"
            );
        }
        let mut data: HashMap<String, Value> = decode_data(outcome.data)?;

        let mut live = Vec::new();
        for (index, environment) in environments.iter().enumerate() {
            let instance = match data.remove(&environment_alias(index)) {
                None | Some(Value::Null) => continue,
                Some(value) => {
                    serde_json::from_value::<ServiceInstanceNode>(value).map_err(|error| {
                        ProviderError::Malformed {
                            detail: format!("unexpected serviceInstance: {error}"),
                        }
                    })?
                }
            };
            let mut active: Vec<ProviderDeployment> = instance
                .active_deployments
                .iter()
                .map(|node| map_deployment(&self.config, node))
                .collect();
            sort_newest_first(&mut active);
            // During a rollout the new deployment may be active before it is ready; what
            // serves traffic is the newest ready one, else the newest at all.
            let chosen = active
                .iter()
                .position(|deployment| deployment.state == DeployState::Ready)
                .unwrap_or(0);
            if chosen < active.len() {
                live.push(active.swap_remove(chosen));
            } else {
                tracing::debug!(
                    provider = "railway",
                    environment = %environment.name,
                    "no active deployment"
                );
            }
        }

        // Ephemeral (PR) environments are not configured: their newest SUCCESS deployment
        // among the recent ones is what they serve.
        let recent: Connection = match data.remove("recent") {
            Some(value) if !value.is_null() => {
                serde_json::from_value(value).map_err(|error| ProviderError::Malformed {
                    detail: format!("unexpected deployments connection: {error}"),
                })?
            }
            _ => {
                return Err(ProviderError::Malformed {
                    detail: "the live query returned no deployments".into(),
                })
            }
        };
        let configured: HashSet<&str> = environments
            .iter()
            .map(|env| env.environment_id.as_str())
            .collect();
        let mut previews: HashMap<String, ProviderDeployment> = HashMap::new();
        for node in recent.edges.iter().map(|edge| &edge.node) {
            let ephemeral = node
                .environment
                .as_ref()
                .and_then(|env| env.is_ephemeral)
                .unwrap_or(false);
            let environment_id = node
                .environment_id
                .clone()
                .or_else(|| node.environment.as_ref().and_then(|env| env.id.clone()));
            let Some(environment_id) = environment_id else {
                continue;
            };
            if !ephemeral
                || node.status.as_deref() != Some("SUCCESS")
                || configured.contains(environment_id.as_str())
            {
                continue;
            }
            let candidate = map_deployment(&self.config, node);
            let newer = previews
                .get(&environment_id)
                .is_none_or(|current| candidate.created_at > current.created_at);
            if newer {
                previews.insert(environment_id, candidate);
            }
        }
        let mut previews: Vec<ProviderDeployment> = previews.into_values().collect();
        sort_newest_first(&mut previews);
        live.extend(previews);
        Ok(live)
    }

    /// One client serves every environment of the service (and a token may reach other
    /// services and projects): a target must be this service's, in this environment's id.
    fn target_scope(&self, environment: &ProviderEnvironment) -> Option<Vec<ScopeRule>> {
        let ProviderEnvironment::Named(name) = environment else {
            return None;
        };
        let configured = self
            .config
            .environments
            .iter()
            .find(|candidate| &candidate.name == name)?;
        Some(vec![
            ScopeRule::required("serviceId", [self.config.service_id.clone()]),
            // A service id is unique across projects, so the project only double-checks.
            ScopeRule {
                presence: ScopePresence::IfReported,
                ..ScopeRule::required("projectId", [self.config.project_id.clone()])
            },
            ScopeRule::required("environmentId", [configured.environment_id.clone()]),
        ])
    }

    fn rollback_method(&self) -> Option<RollbackMethod> {
        Some(RollbackMethod {
            action: "Railway redeploys the target deployment: its image and its variables \
                     come back (deploymentRollback)."
                .into(),
            hold: None,
            caveats: vec![
                "Only deployments whose image Railway still keeps can be targets (canRollback; \
                 24 h to 15 days after removal depending on the plan)."
                    .into(),
                "The next push to the service's branch deploys again.".into(),
            ],
        })
    }

    async fn roll_back(
        &self,
        request: RollbackRequest<'_>,
    ) -> Result<RollbackStarted, ProviderError> {
        // The schema returns a scalar `Boolean!` (the docs' examples select `{ id status }`,
        // which the schema does not allow): no sub-selection.
        let outcome = self
            .execute(ROLLBACK_MUTATION, json!({ "id": request.target.id }))
            .await?;
        let data: RollbackData = strict_data(outcome)?;
        if !data.deployment_rollback {
            return Err(ProviderError::Rejected {
                status: 200,
                message: "Railway answered false to deploymentRollback".into(),
            });
        }
        // Whether the rollback gets a new deployment id is UNCONFIRMED: look for a deployment
        // of the target's commit newer than the target in its environment; without one, the
        // target itself is what must become active again.
        let recent = super::list_recent_deployments(self, 10, 10).await?;
        let created = recent
            .iter()
            .filter(|deployment| {
                deployment.environment == *request.environment
                    && deployment.id != request.target.id
                    && deployment.id != request.live.id
                    && deployment.commit.sha.is_some()
                    && deployment.commit.sha == request.target.commit.sha
                    && deployment.created_at > request.live.created_at
            })
            .map(|deployment| deployment.id.clone())
            .next();
        Ok(RollbackStarted {
            new_deployment_id: created,
            provider_reference: None,
            hold: None,
        })
    }

    async fn rollback_progress(
        &self,
        environment: &ProviderEnvironment,
        target: &ProviderDeployment,
        started: &RollbackStarted,
    ) -> Result<RollbackProgress, ProviderError> {
        let watched = started.new_deployment_id.as_deref().unwrap_or(&target.id);
        let deployment = self.deployment(watched).await?;
        if matches!(deployment.provider_state.as_str(), "FAILED" | "CRASHED") {
            return Ok(RollbackProgress::Failed {
                reason: format!(
                    "Railway reports the rollback deployment {watched} as {}",
                    deployment.provider_state
                ),
            });
        }
        let live = self.live_deployments().await?;
        Ok(match live_in(&live, environment) {
            Some(now) if now.id == watched => RollbackProgress::Live(Box::new(now.clone())),
            Some(now) => RollbackProgress::Waiting {
                detail: format!(
                    "{} is still active; the rollback is {}",
                    now.id, deployment.provider_state
                ),
            },
            None => RollbackProgress::Waiting {
                detail: format!("the rollback is {}", deployment.provider_state),
            },
        })
    }

    async fn deployment(&self, id: &str) -> Result<ProviderDeployment, ProviderError> {
        let outcome = self.execute(DEPLOYMENT_QUERY, json!({ "id": id })).await?;
        let data: DeploymentData = strict_data(outcome)?;
        let node = data.deployment.ok_or_else(|| ProviderError::NotFound {
            message: format!("Railway has no deployment {id}"),
        })?;
        // This client answers for one service: another service's deployment is not ours.
        if node
            .service_id
            .as_deref()
            .is_some_and(|service_id| service_id != self.config.service_id)
        {
            return Err(ProviderError::NotFound {
                message: format!("deployment {id} belongs to another Railway service"),
            });
        }
        Ok(map_deployment(&self.config, &node))
    }
}

#[cfg(test)]
mod tests;
