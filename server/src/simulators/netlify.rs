//! The Netlify simulator: sites and their deploys behind Netlify's REST paths.
//!
//! It serves `GET /sites/{site_id}` (with `published_deploy`), `GET /sites/{site_id}/deploys`
//! (a bare array paged by `page`/`per_page`, with the `production`, `deploy-previews`,
//! `branch`, `state` and `latest-published` filters), `GET /sites/{site_id}/deploys/{deploy_id}`
//! and `GET /deploys/{deploy_id}`, with Netlify's deploy shape, state enum, deploy contexts,
//! `{code, message}` error bodies and `X-RateLimit-*` headers, so the real
//! [`crate::providers::netlify::NetlifyClient`] runs against it unchanged.
//!
//! Netlify has no documented "superseded" state: when a newer production deploy goes live, the
//! old one stays `ready` and simply stops being the site's `published_deploy`. Whether Netlify
//! sends a `Link` header is UNCONFIRMED, so the simulator sends none unless
//! [`NetlifySimulator::set_link_headers`] asks for it, and the client is tested both ways.

// RFC 3339 in UTC with milliseconds, as Netlify writes them (`2024-05-01T12:00:00.000Z`).
use super::skeleton::{
    html_page, timestamp_millis as timestamp, Admitted, RateBudget, SimApi, Simulated,
};
use super::{
    bearer_matches, fault_status, lock, sim_id, SimDeploymentSpec, SimFault, SimOutcome,
    SimRollbackOutcome,
};
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Deploys per page when the request names no `per_page`, and the most it may ask for
/// (both UNCONFIRMED for Netlify; its CLI pages by 100).
const DEFAULT_PER_PAGE: usize = 100;
const MAX_PER_PAGE: usize = 100;
/// The budget the third-party summary of Netlify's docs gives (UNCONFIRMED): 500 per minute.
const DEFAULT_REQUESTS_PER_MINUTE: u64 = 500;
const RATE_WINDOW: Duration = Duration::from_secs(60);
/// A simulated build takes this long from creation to `ready`.
const BUILD_MINUTES: i64 = 2;
/// The git org and account the simulated sites belong to.
const SIM_ACCOUNT: &str = "acme";
/// Netlify's documented deploy states, accepted by the `state` filter.
const DEPLOY_STATES: [&str; 15] = [
    "new",
    "pending_review",
    "accepted",
    "rejected",
    "enqueued",
    "building",
    "uploading",
    "uploaded",
    "preparing",
    "prepared",
    "processing",
    "processed",
    "ready",
    "error",
    "retrying",
];

/// A stand-in for `api.netlify.com/api/v1`.
pub type NetlifySimulator = Simulated<Scenario, RateBudget>;

#[derive(Default)]
pub struct Scenario {
    sites: Vec<SimSite>,
    last_seed: u64,
    /// Whether deploy lists carry a `Link` header ([`NetlifySimulator::set_link_headers`]).
    link_headers: bool,
}

struct SimSite {
    /// The API id (a UUID in the real API).
    id: String,
    name: String,
    /// The id of the deploy the site serves.
    published_deploy: Option<String>,
    /// In push order.
    deploys: Vec<SimDeploy>,
    /// A restore on its way to being published: which deploy, and when.
    pending_publish: Option<(String, Option<Instant>)>,
    /// The locked deploy: while set, new production deploys are not published.
    locked_deploy: Option<String>,
}

impl SimSite {
    fn new(id: &str, name: &str) -> Self {
        Self {
            id: id.to_string(),
            name: name.to_string(),
            published_deploy: None,
            deploys: Vec::new(),
            pending_publish: None,
            locked_deploy: None,
        }
    }

    /// Publishes a restored deploy once its time has come.
    fn advance(&mut self) {
        if let Some((deploy_id, Some(when))) = &self.pending_publish {
            if *when <= Instant::now() {
                self.published_deploy = Some(deploy_id.clone());
                self.pending_publish = None;
            }
        }
    }
}

struct SimDeploy {
    seed: u64,
    id: String,
    build_id: String,
    /// `production`, `deploy-preview` or `branch-deploy`.
    context: String,
    state: &'static str,
    error_message: Option<&'static str>,
    review_id: Option<u32>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    published_at: Option<DateTime<Utc>>,
    spec: SimDeploymentSpec,
}

/// The `X-RateLimit-*` values for one answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateLimitHeaders {
    limit: u64,
    remaining: u64,
    /// Unix epoch seconds, as Netlify documents `X-RateLimit-Reset`.
    reset_epoch: i64,
}

impl RateLimitHeaders {
    fn apply(self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset_epoch));
        response
    }
}

impl NetlifySimulator {
    /// A simulator that accepts `Authorization: Bearer <token>`.
    pub fn new(token: &str) -> Self {
        Self::assemble(
            token,
            Scenario::default(),
            RateBudget::new(DEFAULT_REQUESTS_PER_MINUTE, RATE_WINDOW),
        )
    }

    /// Adds a site with no deploys (a second call with the same id renames it). `name` is the
    /// `{name}.netlify.app` subdomain; the site answers to its id and to that domain.
    pub fn add_site(&self, site_id: &str, name: &str) {
        let mut scenario = lock(&self.scenario);
        match scenario.sites.iter_mut().find(|site| site.id == site_id) {
            Some(site) => site.name = name.to_string(),
            None => scenario.sites.push(SimSite::new(site_id, name)),
        }
    }

    /// Sends GitHub-style `Link` headers (`rel="next"`, `rel="last"`) on deploy lists.
    pub fn set_link_headers(&self, enabled: bool) {
        lock(&self.scenario).link_headers = enabled;
    }

    /// How many requests per minute pass before the simulator answers 429 (default 500).
    pub fn set_requests_per_minute(&self, per_minute: u64) {
        self.budget.set_limit(per_minute);
    }

    /// Adds a deploy and returns its id (24 hex digits). `context` is `production`,
    /// `deploy-preview` (the spec's `pr_number` becomes `review_id`) or `branch-deploy`. A
    /// `Ready` production deploy becomes the site's `published_deploy`; the one it replaces
    /// stays `ready`. `Failed` is `error`, `Building` is `building`, `Canceled` is `canceled`
    /// (a state string the contract marks UNCONFIRMED). An unknown site is created, named
    /// after its id.
    pub fn push_deployment(
        &self,
        site_id: &str,
        context: &str,
        spec: &SimDeploymentSpec,
    ) -> String {
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        scenario.last_seed += 1;
        let seed = scenario.last_seed;
        let id = sim_id("", seed, 24);
        let site_index = match scenario.sites.iter().position(|site| site.id == site_id) {
            Some(index) => index,
            None => {
                scenario.sites.push(SimSite::new(site_id, site_id));
                scenario.sites.len() - 1
            }
        };
        let finished = spec
            .created_at
            .checked_add_signed(chrono::Duration::minutes(BUILD_MINUTES))
            .unwrap_or(spec.created_at);
        let (state, error_message) = match spec.outcome {
            SimOutcome::Ready => ("ready", None),
            SimOutcome::Failed => ("error", Some("Build script returned non-zero exit code: 2")),
            SimOutcome::Building => ("building", None),
            SimOutcome::Canceled => ("canceled", None),
        };
        let site = &mut scenario.sites[site_index];
        // A locked deploy stops auto publishing: the new deploy is built but not published.
        let goes_live = spec.outcome == SimOutcome::Ready
            && context == "production"
            && site.locked_deploy.is_none();
        if goes_live {
            site.published_deploy = Some(id.clone());
        }
        site.deploys.push(SimDeploy {
            seed,
            id: id.clone(),
            build_id: sim_id("", seed + 0xb000, 24),
            context: context.to_string(),
            state,
            error_message,
            review_id: if context == "deploy-preview" {
                spec.pr_number
            } else {
                None
            },
            created_at: spec.created_at,
            updated_at: if spec.outcome == SimOutcome::Building {
                spec.created_at
            } else {
                finished
            },
            published_at: goes_live.then_some(finished),
            spec: spec.clone(),
        });
        id
    }

    /// The site's locked deploy, if any.
    pub fn locked_deploy_id(&self, site_id: &str) -> Option<String> {
        lock(&self.scenario)
            .sites
            .iter()
            .find(|site| site.id == site_id)?
            .locked_deploy
            .clone()
    }

    /// The id of the site's `published_deploy`.
    pub fn published_deploy_id(&self, site_id: &str) -> Option<String> {
        let mut scenario = lock(&self.scenario);
        let site = scenario.sites.iter_mut().find(|site| site.id == site_id)?;
        site.advance();
        site.published_deploy.clone()
    }

    /// Routes relative to the API base (nest this under a prefix such as `/netlify`).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/sites/{site_id}", get(get_site))
            .route("/sites/{site_id}/deploys", get(list_deploys))
            .route("/sites/{site_id}/deploys/{deploy_id}", get(get_site_deploy))
            .route("/deploys/{deploy_id}", get(get_deploy))
            .route(
                "/sites/{site_id}/deploys/{deploy_id}/restore",
                post(restore_deploy),
            )
            .route("/deploys/{deploy_id}/lock", post(lock_deploy))
            .route("/deploys/{deploy_id}/unlock", post(unlock_deploy))
            .fallback(unknown_route)
            .with_state(self)
    }

    /// Counts one request against the current window; `true` when it is over the budget.
    fn spend_budget(&self) -> (RateLimitHeaders, bool) {
        let used = self.budget.spend();
        let rate = RateLimitHeaders {
            limit: used.limit,
            remaining: used.remaining(),
            reset_epoch: Utc::now().timestamp() + used.reset_secs as i64,
        };
        (rate, used.exhausted())
    }
}

type SimState = State<Arc<NetlifySimulator>>;

impl Scenario {
    /// Netlify addresses a site by its id or by its Netlify domain.
    fn find_site(&self, id_or_domain: &str) -> Option<&SimSite> {
        self.sites.iter().find(|site| {
            site.id == id_or_domain || format!("{}.netlify.app", site.name) == id_or_domain
        })
    }
}

impl SimApi for NetlifySimulator {
    type Admission = RateLimitHeaders;

    /// What every request goes through before its handler: counting, injected faults, the
    /// rate budget and the token. `Ok` carries the rate-limit headers for the normal answer.
    async fn admit(&self, headers: &HeaderMap) -> Result<RateLimitHeaders, Response> {
        let fault = self.take_fault().await;
        let (rate, over_budget) = self.spend_budget();
        if let Some(fault) = fault {
            return Err(fault_response(&fault, rate));
        }
        if over_budget {
            return Err(rate_limited(rate));
        }
        if !bearer_matches(headers, &self.token) {
            // The exact 401 message is UNCONFIRMED; the shape is Netlify's `error`.
            return Err(error_response(
                StatusCode::UNAUTHORIZED,
                "Access Denied",
                rate,
            ));
        }
        Ok(rate)
    }
}

async fn get_site(
    State(sim): SimState,
    Path(site_id): Path<String>,
    Admitted(rate): Admitted<RateLimitHeaders>,
) -> Response {
    let mut scenario = lock(&sim.scenario);
    scenario.sites.iter_mut().for_each(SimSite::advance);
    let Some(site) = scenario.find_site(&site_id) else {
        return not_found(rate);
    };
    let published = site
        .published_deploy
        .as_ref()
        .and_then(|id| site.deploys.iter().find(|deploy| deploy.id == *id))
        .map(|deploy| deploy_json(site, deploy));
    let created = site
        .deploys
        .first()
        .map(|deploy| deploy.created_at)
        .unwrap_or_else(Utc::now);
    let body = json!({
        "id": site.id,
        "site_id": site.id,
        "name": site.name,
        "state": "current",
        "plan": "nf_team_dev",
        "url": format!("http://{}.netlify.app", site.name),
        "ssl_url": format!("https://{}.netlify.app", site.name),
        "admin_url": admin_url(site),
        "default_domain": format!("{}.netlify.app", site.name),
        "account_slug": SIM_ACCOUNT,
        "account_name": SIM_ACCOUNT,
        "created_at": timestamp(created),
        "updated_at": timestamp(site.deploys.last().map(|d| d.updated_at).unwrap_or(created)),
        "published_deploy": published,
        "build_settings": {
            "provider": "github",
            "repo_url": format!("https://github.com/{SIM_ACCOUNT}/{}", site.name),
            "repo_branch": "main",
        },
    });
    rate.apply(Json(body).into_response())
}

/// The list's query: `page`, `per_page` and the filters.
struct ListQuery {
    page: usize,
    per_page: usize,
    production: Option<bool>,
    deploy_previews: Option<bool>,
    branch: Option<String>,
    state: Option<String>,
    latest_published: bool,
}

impl ListQuery {
    fn parse(query: &HashMap<String, String>) -> Result<Self, String> {
        let number = |name: &str, default: usize| match query.get(name) {
            None => Ok(default),
            Some(value) => value
                .trim()
                .parse::<usize>()
                .map_err(|_| format!("Invalid value for {name}")),
        };
        let flag = |name: &str| match query.get(name).map(String::as_str) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(format!("Invalid value for {name}")),
        };
        let state = query.get("state").cloned();
        if let Some(state) = &state {
            if !DEPLOY_STATES.contains(&state.as_str()) {
                return Err(format!("Invalid value for state: {state}"));
            }
        }
        Ok(Self {
            // Netlify-style leniency (UNCONFIRMED): page 0 reads as the first page and an
            // oversized page as the largest one.
            page: number("page", 1)?.max(1),
            per_page: number("per_page", DEFAULT_PER_PAGE)?.clamp(1, MAX_PER_PAGE),
            production: flag("production")?,
            deploy_previews: flag("deploy-previews")?,
            branch: query.get("branch").cloned(),
            state,
            latest_published: flag("latest-published")?.unwrap_or(false),
        })
    }

    fn matches(&self, site: &SimSite, deploy: &SimDeploy) -> bool {
        self.production
            .is_none_or(|wanted| (deploy.context == "production") == wanted)
            && self
                .deploy_previews
                .is_none_or(|wanted| (deploy.context == "deploy-preview") == wanted)
            && self
                .branch
                .as_ref()
                .is_none_or(|branch| deploy.spec.branch == *branch)
            && self
                .state
                .as_ref()
                .is_none_or(|state| deploy.state == state)
            && (!self.latest_published || site.published_deploy.as_ref() == Some(&deploy.id))
    }
}

async fn list_deploys(
    State(sim): SimState,
    Path(site_id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    OriginalUri(uri): OriginalUri,
    Admitted(rate): Admitted<RateLimitHeaders>,
    headers: HeaderMap,
) -> Response {
    let params = match ListQuery::parse(&query) {
        Ok(params) => params,
        Err(message) => return error_response(StatusCode::UNPROCESSABLE_ENTITY, &message, rate),
    };
    let scenario = lock(&sim.scenario);
    let Some(site) = scenario.find_site(&site_id) else {
        return not_found(rate);
    };
    let mut matching: Vec<&SimDeploy> = site
        .deploys
        .iter()
        .filter(|deploy| params.matches(site, deploy))
        .collect();
    matching.sort_by_key(|deploy| std::cmp::Reverse((deploy.created_at, deploy.seed)));
    let total = matching.len();
    let start = (params.page - 1).saturating_mul(params.per_page);
    let items: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(params.per_page)
        .map(|deploy| deploy_json(site, deploy))
        .collect();
    let mut response = Json(items).into_response();
    if scenario.link_headers {
        let last_page = total.div_ceil(params.per_page).max(1);
        if let Some(link) = link_header(
            &headers,
            uri.path(),
            params.page,
            params.per_page,
            last_page,
        ) {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    rate.apply(response)
}

/// A GitHub-style `Link` header: `next` while there is a next page, plus `last`.
fn link_header(
    headers: &HeaderMap,
    path: &str,
    page: usize,
    per_page: usize,
    last_page: usize,
) -> Option<HeaderValue> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let target = |page: usize| format!("<http://{host}{path}?page={page}&per_page={per_page}>");
    let mut links = Vec::new();
    if page < last_page {
        links.push(format!("{}; rel=\"next\"", target(page + 1)));
    }
    links.push(format!("{}; rel=\"last\"", target(last_page)));
    HeaderValue::from_str(&links.join(", ")).ok()
}

async fn get_site_deploy(
    State(sim): SimState,
    Path((site_id, deploy_id)): Path<(String, String)>,
    Admitted(rate): Admitted<RateLimitHeaders>,
) -> Response {
    let scenario = lock(&sim.scenario);
    let found = scenario.find_site(&site_id).and_then(|site| {
        site.deploys
            .iter()
            .find(|deploy| deploy.id == deploy_id)
            .map(|deploy| deploy_json(site, deploy))
    });
    match found {
        Some(body) => rate.apply(Json(body).into_response()),
        None => not_found(rate),
    }
}

async fn get_deploy(
    State(sim): SimState,
    Path(deploy_id): Path<String>,
    Admitted(rate): Admitted<RateLimitHeaders>,
) -> Response {
    let scenario = lock(&sim.scenario);
    let found = scenario.sites.iter().find_map(|site| {
        site.deploys
            .iter()
            .find(|deploy| deploy.id == deploy_id)
            .map(|deploy| deploy_json(site, deploy))
    });
    match found {
        Some(body) => rate.apply(Json(body).into_response()),
        None => not_found(rate),
    }
}

/// `POST /sites/{site_id}/deploys/{deploy_id}/restore`: publishes a ready production deploy
/// again (201 + the deploy). Whether publishing takes any time is UNCONFIRMED; the simulator
/// publishes after the settle time. Netlify documents no failure state for a restore, so a
/// `fails` or `never_live` outcome leaves the old deploy published.
async fn restore_deploy(
    State(sim): SimState,
    Path((site_id, deploy_id)): Path<(String, String)>,
    Admitted(rate): Admitted<RateLimitHeaders>,
) -> Response {
    let (outcome, settles_at) = sim.rollbacks.next();
    let mut scenario = lock(&sim.scenario);
    let Some(site) = scenario.sites.iter_mut().find(|site| site.id == site_id) else {
        return not_found(rate);
    };
    site.advance();
    let Some(deploy) = site.deploys.iter().find(|deploy| deploy.id == deploy_id) else {
        return not_found(rate);
    };
    if deploy.state != "ready" || deploy.context != "production" {
        return error_response(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Only a ready production deploy can be published",
            rate,
        );
    }
    if outcome == SimRollbackOutcome::Refused || site.pending_publish.is_some() {
        return error_response(
            StatusCode::CONFLICT,
            "Another deploy is being published for this site",
            rate,
        );
    }
    let body = deploy_json(site, deploy);
    let when = (outcome == SimRollbackOutcome::GoesLive).then_some(settles_at);
    site.pending_publish = Some((deploy_id, when));
    rate.apply((StatusCode::CREATED, Json(body)).into_response())
}

async fn lock_deploy(
    State(sim): SimState,
    Path(deploy_id): Path<String>,
    Admitted(rate): Admitted<RateLimitHeaders>,
) -> Response {
    set_lock(sim, deploy_id, rate, true)
}

async fn unlock_deploy(
    State(sim): SimState,
    Path(deploy_id): Path<String>,
    Admitted(rate): Admitted<RateLimitHeaders>,
) -> Response {
    set_lock(sim, deploy_id, rate, false)
}

/// `POST /deploys/{id}/lock|unlock` → 200 + the deploy.
fn set_lock(
    sim: Arc<NetlifySimulator>,
    deploy_id: String,
    rate: RateLimitHeaders,
    locked: bool,
) -> Response {
    let mut scenario = lock(&sim.scenario);
    let Some(site) = scenario
        .sites
        .iter_mut()
        .find(|site| site.deploys.iter().any(|deploy| deploy.id == deploy_id))
    else {
        return not_found(rate);
    };
    site.locked_deploy = locked.then(|| deploy_id.clone());
    let Some(deploy) = site.deploys.iter().find(|deploy| deploy.id == deploy_id) else {
        return not_found(rate);
    };
    let mut body = deploy_json(site, deploy);
    body["locked"] = Value::Bool(locked);
    rate.apply(Json(body).into_response())
}

async fn unknown_route() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({ "code": 404, "message": "Not Found" })),
    )
        .into_response()
}

fn admin_url(site: &SimSite) -> String {
    format!("https://app.netlify.com/sites/{}", site.name)
}

/// One deploy in Netlify's `deploy` shape. The commit author is not in Netlify's schema, so
/// the spec's author is not sent.
fn deploy_json(site: &SimSite, deploy: &SimDeploy) -> Value {
    let spec = &deploy.spec;
    let permalink_prefix = match (deploy.context.as_str(), deploy.review_id) {
        ("deploy-preview", Some(review)) => format!("deploy-preview-{review}"),
        _ => deploy.id.clone(),
    };
    let repo = format!("https://github.com/{SIM_ACCOUNT}/{}", site.name);
    json!({
        "id": deploy.id,
        "site_id": site.id,
        "user_id": "5b4a3c2d1e0f9a8b7c6d5e4f",
        "build_id": deploy.build_id,
        "state": deploy.state,
        "name": site.name,
        "url": format!("http://{}.netlify.app", site.name),
        "ssl_url": format!("https://{}.netlify.app", site.name),
        "admin_url": admin_url(site),
        "deploy_url": format!("http://{permalink_prefix}--{}.netlify.app", site.name),
        "deploy_ssl_url": format!("https://{permalink_prefix}--{}.netlify.app", site.name),
        "screenshot_url": null,
        "review_id": deploy.review_id,
        "review_url": deploy.review_id.map(|review| format!("{repo}/pull/{review}")),
        "draft": false,
        "required": [],
        "required_functions": [],
        "error_message": deploy.error_message,
        "branch": spec.branch,
        "commit_ref": spec.commit_sha,
        "commit_url": format!("{repo}/commit/{}", spec.commit_sha),
        "skipped": null,
        "created_at": timestamp(deploy.created_at),
        "updated_at": timestamp(deploy.updated_at),
        "published_at": deploy.published_at.map(timestamp),
        "title": spec.commit_message,
        "context": deploy.context,
        "locked": null,
        "framework": "astro",
    })
}

fn error_response(status: StatusCode, message: &str, rate: RateLimitHeaders) -> Response {
    rate.apply(
        (
            status,
            Json(json!({ "code": status.as_u16(), "message": message })),
        )
            .into_response(),
    )
}

fn not_found(rate: RateLimitHeaders) -> Response {
    error_response(StatusCode::NOT_FOUND, "Not Found", rate)
}

/// A 429 with the budget spent: `X-RateLimit-Remaining: 0` and the reset time.
fn rate_limited(rate: RateLimitHeaders) -> Response {
    error_response(
        StatusCode::TOO_MANY_REQUESTS,
        "Rate limit exceeded",
        RateLimitHeaders {
            remaining: 0,
            ..rate
        },
    )
}

/// An injected fault in Netlify's shape: 429 with `X-RateLimit-Reset` `retry_after_secs`
/// from now (whole epoch seconds, as Netlify sends it), 401, 503, or a 200 that is not JSON.
fn fault_response(fault: &SimFault, rate: RateLimitHeaders) -> Response {
    let status = fault_status(fault);
    match fault {
        SimFault::RateLimited { retry_after_secs } => rate_limited(RateLimitHeaders {
            reset_epoch: Utc::now().timestamp() + *retry_after_secs as i64,
            ..rate
        }),
        SimFault::Unauthorized => error_response(status, "Access Denied", rate),
        SimFault::ServerError => error_response(status, "Service Unavailable", rate),
        SimFault::Garbage | SimFault::Slow { .. } => rate.apply(html_page(
            "<html><body>Netlify is having a moment</body></html>",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulators::skeleton::test_kit;

    fn spec(outcome: SimOutcome, minute: i64) -> SimDeploymentSpec {
        SimDeploymentSpec {
            author: "Jane Doe".into(),
            branch: "main".into(),
            pr_number: Some(9),
            ..test_kit::spec_at(minute, outcome, test_kit::epoch_minute(minute))
        }
    }

    #[test]
    fn ready_production_deploys_are_published_and_others_are_not() {
        let sim = NetlifySimulator::new("tok");
        sim.add_site("site-1", "docs");
        let first = sim.push_deployment("site-1", "production", &spec(SimOutcome::Ready, 0));
        assert_eq!(first.len(), 24);
        assert_eq!(sim.published_deploy_id("site-1"), Some(first.clone()));
        sim.push_deployment("site-1", "production", &spec(SimOutcome::Failed, 1));
        sim.push_deployment("site-1", "deploy-preview", &spec(SimOutcome::Ready, 2));
        sim.push_deployment("site-1", "branch-deploy", &spec(SimOutcome::Ready, 3));
        assert_eq!(sim.published_deploy_id("site-1"), Some(first.clone()));
        let second = sim.push_deployment("site-1", "production", &spec(SimOutcome::Ready, 4));
        assert_eq!(sim.published_deploy_id("site-1"), Some(second));

        let scenario = lock(&sim.scenario);
        let site = scenario.find_site("docs.netlify.app").unwrap();
        let old = deploy_json(site, &site.deploys[0]);
        assert_eq!(old["state"], "ready", "no superseded state at Netlify");
        assert_eq!(old["published_at"], "2023-11-14T22:15:20.000Z");
        let failed = deploy_json(site, &site.deploys[1]);
        assert_eq!(failed["state"], "error");
        assert_eq!(failed["review_id"], Value::Null, "production has no review");
        let preview = deploy_json(site, &site.deploys[2]);
        assert_eq!(preview["review_id"], 9);
        assert_eq!(preview["published_at"], Value::Null);
        assert_eq!(
            preview["deploy_ssl_url"],
            "https://deploy-preview-9--docs.netlify.app"
        );
        let branch = deploy_json(site, &site.deploys[3]);
        assert_eq!(branch["context"], "branch-deploy");
        assert_eq!(branch["review_id"], Value::Null);
    }

    #[test]
    fn list_queries_are_checked_and_filter() {
        let parse = |pairs: &[(&str, &str)]| {
            ListQuery::parse(
                &pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let params = parse(&[("page", "0"), ("per_page", "500")]).unwrap();
        assert_eq!((params.page, params.per_page), (1, MAX_PER_PAGE));
        assert!(parse(&[("per_page", "ten")]).is_err());
        assert!(parse(&[("state", "exploded")]).is_err());
        assert!(parse(&[("production", "yes")]).is_err());

        let sim = NetlifySimulator::new("tok");
        let live = sim.push_deployment("s", "production", &spec(SimOutcome::Ready, 0));
        sim.push_deployment("s", "deploy-preview", &spec(SimOutcome::Ready, 1));
        let scenario = lock(&sim.scenario);
        let site = scenario.find_site("s").unwrap();
        let published = parse(&[("latest-published", "true")]).unwrap();
        let ids: Vec<&str> = site
            .deploys
            .iter()
            .filter(|d| published.matches(site, d))
            .map(|d| d.id.as_str())
            .collect();
        assert_eq!(ids, vec![live.as_str()]);
        let previews = parse(&[("deploy-previews", "true")]).unwrap();
        assert_eq!(
            site.deploys
                .iter()
                .filter(|d| previews.matches(site, d))
                .count(),
            1
        );
    }

    #[test]
    fn the_rate_budget_runs_out_within_a_window() {
        let sim = NetlifySimulator::new("tok");
        sim.set_requests_per_minute(1);
        let (first, over) = sim.spend_budget();
        assert_eq!((first.limit, first.remaining, over), (1, 0, false));
        let (_, over) = sim.spend_budget();
        assert!(over);
        assert!(first.reset_epoch > Utc::now().timestamp());
    }
}
