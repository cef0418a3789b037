//! The GitHub simulator: repositories with deployments, deployment statuses and Actions
//! workflow runs behind GitHub's REST paths.
//!
//! It serves `GET /repos/{owner}/{repo}/deployments` (filters `sha`, `ref`, `task`,
//! `environment`), `…/deployments/{id}`, `…/deployments/{id}/statuses`,
//! `…/actions/workflows/{workflow}/runs` (by file name or id; filters `branch`, `status`,
//! `event`, `head_sha`, `actor`), `…/actions/runs` and `…/actions/runs/{id}`, with GitHub's
//! bare-array and `{total_count, workflow_runs}` shapes, `per_page`/`page` paging announced in
//! a `Link` header, newest first, `x-ratelimit-*` headers on every answer, 401 `Bad
//! credentials`, a 403 with `x-ratelimit-remaining: 0` once the hourly budget is spent (as
//! GitHub's primary limit does), and `{message, documentation_url, status}` error bodies.
//!
//! A deployment's state lives in its statuses. A pushed `Ready` deployment gets a `success`
//! status, and the previous `success` of its environment gets `inactive` — what GitHub does
//! itself with `auto_inactive` for non-production environments; here the simulated deployer
//! does it for production too, unless [`GithubSimulator::set_auto_inactive`] turns it off
//! (then older production deployments stay `success`, as on GitHub, and only the client's
//! "newest success" rule finds what is live).
//!
//! `POST /repos/{owner}/{repo}/deployments` creates a deployment of a ref (a rollback, when it
//! names an older sha) and answers 201; a simulated CD acting on the deployment event picks it
//! up on the next read (`queued`, `in_progress`) and finishes it when the configured rollback
//! settles (`success`, which makes the previous one `inactive`, or `failure`).

// `timestamp`: RFC 3339 in UTC with whole seconds, as GitHub's `2012-07-20T01:19:13Z`.
use super::skeleton::{
    html_page, timestamp_secs as timestamp, Admitted, RateBudget, SimApi, Simulated, WindowUse,
};
use super::{
    bearer_matches, fault_status, lock, SimDeploymentSpec, SimFault, SimOutcome, SimRollbackOutcome,
};
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod api;
use api::*;

const DEFAULT_PER_PAGE: usize = 30;
const MAX_PER_PAGE: usize = 100;
/// A user token's primary limit (5,000 requests an hour).
const DEFAULT_REQUESTS_PER_HOUR: u64 = 5_000;
const RATE_WINDOW: Duration = Duration::from_secs(3_600);
/// API versions GitHub accepts in `X-GitHub-Api-Version`.
const API_VERSIONS: [&str; 2] = ["2022-11-28", "2026-03-10"];
const DOCUMENTATION_URL: &str = "https://docs.github.com/rest";
/// The deployer picks a deployment up this long after it is created…
const START_SECS: i64 = 30;
/// …and finishes it this long after it is created.
const FINISH_SECS: i64 = 120;
/// Ids start here, so they look like GitHub's (and never collide between kinds).
const FIRST_ID: u64 = 1_000_000;

/// A stand-in for `api.github.com`.
pub type GithubSimulator = Simulated<Scenario, RateBudget>;

pub struct Scenario {
    repos: Vec<SimRepo>,
    /// Deployment, status, workflow and run ids all come from here, so they only grow.
    last_id: u64,
    auto_inactive: bool,
    statuses_oldest_first: bool,
}

struct SimRepo {
    owner: String,
    name: String,
    deployments: Vec<SimDeployment>,
    workflows: Vec<SimWorkflow>,
    runs: Vec<SimRun>,
}

struct SimDeployment {
    id: u64,
    environment: String,
    spec: SimDeploymentSpec,
    /// Oldest first.
    statuses: Vec<SimStatus>,
    /// The `ref` it was created for, when not the branch (a sha, for a rollback).
    git_ref: Option<String>,
    /// The `description` and `payload` it was created with through the API.
    description: Option<String>,
    payload: Value,
    /// The simulated CD still working on a deployment created through the API.
    cd: Option<SimCd>,
}

/// When the simulated CD finishes a deployment, and with which state (`None`: never).
struct SimCd {
    settles: Instant,
    final_state: Option<&'static str>,
}

struct SimStatus {
    id: u64,
    state: String,
    description: String,
    created_at: DateTime<Utc>,
    environment_url: Option<String>,
    log_url: Option<String>,
}

struct SimWorkflow {
    id: u64,
    /// `deploy.yml`; its path is `.github/workflows/deploy.yml`.
    file: String,
}

struct SimRun {
    id: u64,
    workflow_id: u64,
    workflow_file: String,
    run_number: u64,
    status: &'static str,
    conclusion: Option<&'static str>,
    updated_at: DateTime<Utc>,
    spec: SimDeploymentSpec,
}

/// The `x-ratelimit-*` values for one answer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateHeaders {
    limit: u64,
    used: u64,
    /// Epoch seconds when the window resets.
    reset: i64,
    exhausted: bool,
}

impl From<WindowUse> for RateHeaders {
    fn from(used: WindowUse) -> Self {
        Self {
            limit: used.limit,
            used: used.used,
            reset: used.resets_at.timestamp(),
            exhausted: used.exhausted(),
        }
    }
}

impl RateHeaders {
    fn remaining(self) -> u64 {
        self.limit.saturating_sub(self.used)
    }

    fn apply(self, mut response: Response) -> Response {
        let headers = response.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("x-ratelimit-remaining", HeaderValue::from(self.remaining()));
        headers.insert(
            "x-ratelimit-used",
            HeaderValue::from(self.used.min(self.limit)),
        );
        headers.insert("x-ratelimit-reset", HeaderValue::from(self.reset));
        headers.insert("x-ratelimit-resource", HeaderValue::from_static("core"));
        response
    }
}

impl GithubSimulator {
    /// A simulator that accepts `Authorization: Bearer <token>` (or GitHub's older
    /// `token <token>`).
    pub fn new(token: &str) -> Self {
        Self::assemble(
            token,
            Scenario {
                repos: Vec::new(),
                last_id: FIRST_ID,
                auto_inactive: true,
                statuses_oldest_first: false,
            },
            RateBudget::new(DEFAULT_REQUESTS_PER_HOUR, RATE_WINDOW),
        )
    }

    /// Adds an empty repository (owner and name are case-insensitive, as on GitHub).
    pub fn add_repo(&self, owner: &str, repo: &str) {
        let mut scenario = lock(&self.scenario);
        scenario.repo_mut(owner, repo);
    }

    /// Whether a new `success` marks the previous `success` of its environment `inactive`
    /// (default on).
    pub fn set_auto_inactive(&self, enabled: bool) {
        lock(&self.scenario).auto_inactive = enabled;
    }

    /// How many requests an hour pass before the simulator answers 403 with
    /// `x-ratelimit-remaining: 0` (default 5,000).
    pub fn set_requests_per_hour(&self, per_hour: u64) {
        self.budget.set_limit(per_hour);
    }

    /// Creates a deployment of `spec.branch` at `spec.commit_sha` in `environment` and the
    /// statuses a deployer would post, and returns its id. `Ready`: `queued`, `in_progress`,
    /// `success` (and the environment's previous `success` turns `inactive`); `Failed`: …,
    /// `failure`; `Building`: `queued`, `in_progress`; `Canceled`: `queued`, then `inactive`
    /// (GitHub has no canceled state). An unknown repository is created.
    pub fn push_deployment(
        &self,
        owner: &str,
        repo: &str,
        environment: &str,
        spec: &SimDeploymentSpec,
    ) -> String {
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        let id = scenario.next_id();
        let start = spec.created_at + chrono::Duration::seconds(START_SECS);
        let finish = spec.created_at + chrono::Duration::seconds(FINISH_SECS);
        let environment_url = format!("https://{}-{}.example.test", slug(repo), slug(environment));
        let log_url = format!(
            "https://deployer.example.test/{}/{}/deployments/{id}",
            slug(owner),
            slug(repo)
        );
        let mut steps: Vec<(&'static str, DateTime<Utc>, &str)> =
            vec![("queued", spec.created_at, "Deployment queued")];
        match spec.outcome {
            SimOutcome::Ready => {
                steps.push(("in_progress", start, "Deploying"));
                steps.push(("success", finish, "Deployment finished successfully."));
            }
            SimOutcome::Failed => {
                steps.push(("in_progress", start, "Deploying"));
                steps.push(("failure", finish, "Deployment failed."));
            }
            SimOutcome::Building => steps.push(("in_progress", start, "Deploying")),
            SimOutcome::Canceled => steps.push(("inactive", finish, "Deployment canceled.")),
        }
        let statuses = steps
            .into_iter()
            .map(|(state, created_at, description)| SimStatus {
                id: scenario.next_id(),
                state: state.to_string(),
                description: description.to_string(),
                created_at,
                environment_url: matches!(state, "in_progress" | "success")
                    .then(|| environment_url.clone()),
                log_url: (state != "queued").then(|| log_url.clone()),
            })
            .collect();
        scenario
            .repo_mut(owner, repo)
            .deployments
            .push(SimDeployment {
                id,
                environment: environment.to_string(),
                spec: spec.clone(),
                statuses,
                git_ref: None,
                description: None,
                payload: json!({}),
                cd: None,
            });
        if spec.outcome == SimOutcome::Ready {
            scenario.inactivate_previous(owner, repo, environment, id, finish);
        }
        id.to_string()
    }

    /// Creates a deployment that no deployer has acted on yet (no status at all).
    pub fn push_deployment_without_status(
        &self,
        owner: &str,
        repo: &str,
        environment: &str,
        spec: &SimDeploymentSpec,
    ) -> String {
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        let id = scenario.next_id();
        scenario
            .repo_mut(owner, repo)
            .deployments
            .push(SimDeployment {
                id,
                environment: environment.to_string(),
                spec: spec.clone(),
                statuses: Vec::new(),
                git_ref: None,
                description: None,
                payload: json!({}),
                cd: None,
            });
        id.to_string()
    }

    /// Posts a status on an existing deployment, as a deployer would (`POST …/statuses`), one
    /// minute after its latest status; any state string is accepted, so unknown states can be
    /// simulated. A `success` makes the previous success of the environment `inactive` (when
    /// auto-inactive is on). Returns false for an unknown repository or deployment.
    pub fn post_status(&self, owner: &str, repo: &str, deployment_id: &str, state: &str) -> bool {
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        let status_id = scenario.next_id();
        let Some(deployment) = scenario
            .repo_mut(owner, repo)
            .deployments
            .iter_mut()
            .find(|d| d.id.to_string() == deployment_id)
        else {
            return false;
        };
        let created_at = deployment
            .statuses
            .last()
            .map_or(deployment.spec.created_at, |s| s.created_at)
            + chrono::Duration::minutes(1);
        deployment.statuses.push(SimStatus {
            id: status_id,
            state: state.to_string(),
            description: format!("State set to {state}."),
            created_at,
            environment_url: None,
            log_url: None,
        });
        let (id, environment) = (deployment.id, deployment.environment.clone());
        if state == "success" {
            scenario.inactivate_previous(owner, repo, &environment, id, created_at);
        }
        true
    }

    /// Sets the `environment_url` and `log_url` (and `target_url`) of every status of a
    /// deployment, as a deployer could post them: anything at all, `javascript:` included
    /// (security #15 tests that such links never reach the page). Returns false for an unknown
    /// repository or deployment.
    pub fn set_status_urls(
        &self,
        owner: &str,
        repo: &str,
        deployment_id: &str,
        environment_url: &str,
        log_url: &str,
    ) -> bool {
        let mut guard = lock(&self.scenario);
        let Some(deployment) = guard
            .repo_mut(owner, repo)
            .deployments
            .iter_mut()
            .find(|d| d.id.to_string() == deployment_id)
        else {
            return false;
        };
        for status in &mut deployment.statuses {
            status.environment_url = Some(environment_url.to_string());
            status.log_url = Some(log_url.to_string());
        }
        true
    }

    /// Lists statuses oldest first instead of newest first. GitHub's order is UNCONFIRMED
    /// (newest first in practice); this lets tests run the client against the other one.
    pub fn set_statuses_oldest_first(&self, oldest_first: bool) {
        lock(&self.scenario).statuses_oldest_first = oldest_first;
    }

    /// Adds a run of the workflow file `workflow` (e.g. `deploy.yml`, created on first use)
    /// for `spec.branch` and returns the run's id. `Ready`: `completed`/`success`; `Failed`:
    /// `completed`/`failure`; `Building`: `in_progress`; `Canceled`: `completed`/`cancelled`.
    /// A spec with a PR number is a `pull_request` run listing that PR.
    pub fn push_workflow_run(
        &self,
        owner: &str,
        repo: &str,
        workflow: &str,
        spec: &SimDeploymentSpec,
    ) -> String {
        let mut guard = lock(&self.scenario);
        let scenario = &mut *guard;
        let new_workflow_id = scenario.next_id();
        let id = scenario.next_id();
        let sim_repo = scenario.repo_mut(owner, repo);
        let workflow_id = match sim_repo.workflows.iter().find(|w| w.file == workflow) {
            Some(existing) => existing.id,
            None => {
                sim_repo.workflows.push(SimWorkflow {
                    id: new_workflow_id,
                    file: workflow.to_string(),
                });
                new_workflow_id
            }
        };
        let run_number = sim_repo
            .runs
            .iter()
            .filter(|run| run.workflow_id == workflow_id)
            .count() as u64
            + 1;
        let (status, conclusion) = match spec.outcome {
            SimOutcome::Ready => ("completed", Some("success")),
            SimOutcome::Failed => ("completed", Some("failure")),
            SimOutcome::Building => ("in_progress", None),
            SimOutcome::Canceled => ("completed", Some("cancelled")),
        };
        let updated_secs = if status == "completed" {
            FINISH_SECS
        } else {
            START_SECS
        };
        sim_repo.runs.push(SimRun {
            id,
            workflow_id,
            workflow_file: workflow.to_string(),
            run_number,
            status,
            conclusion,
            updated_at: spec.created_at + chrono::Duration::seconds(updated_secs),
            spec: spec.clone(),
        });
        id.to_string()
    }

    /// Routes relative to the API base (nest this under a prefix such as `/github`).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route(
                "/repos/{owner}/{repo}/deployments",
                get(list_deployments).post(create_deployment),
            )
            .route(
                "/repos/{owner}/{repo}/deployments/{deployment_id}",
                get(get_deployment),
            )
            .route(
                "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses",
                get(list_statuses),
            )
            .route("/repos/{owner}/{repo}/actions/runs", get(list_all_runs))
            .route("/repos/{owner}/{repo}/actions/runs/{run_id}", get(get_run))
            .route(
                "/repos/{owner}/{repo}/actions/workflows/{workflow}/runs",
                get(list_workflow_runs),
            )
            .fallback(unknown_route)
            .with_state(self)
    }

    /// The scenario, after the simulated CD caught up with the clock.
    fn advanced(&self) -> std::sync::MutexGuard<'_, Scenario> {
        let mut scenario = lock(&self.scenario);
        scenario.advance_cd(Instant::now(), Utc::now());
        scenario
    }

    /// `POST /repos/{o}/{r}/deployments`: a deployment of `ref` for the CD to act on. The
    /// `ref` must name a commit or branch the repository has deployed (GitHub: any ref;
    /// 422 "No ref found" otherwise). With `auto_merge` on (GitHub's default) and a ref that is
    /// not the newest commit, GitHub would try to merge the default branch into it; the
    /// simulator answers that with the documented 409 merge conflict (UNCONFIRMED which of
    /// 202/409 GitHub gives for a bare sha). The simulator has no commit statuses, so
    /// `required_contexts` never fails; [`SimRollbackOutcome::Refused`] stands for a failed
    /// check (409).
    fn create_deployment(
        &self,
        owner: &str,
        repo: &str,
        body: &Value,
        base: &RequestBase,
    ) -> Result<Value, (StatusCode, String)> {
        let (outcome, settles) = self.rollbacks.next();
        let mut scenario = self.advanced();
        let sim_repo = scenario
            .repo(owner, repo)
            .ok_or((StatusCode::NOT_FOUND, "Not Found".to_string()))?;
        let Some(git_ref) = body.get("ref").and_then(Value::as_str) else {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid request.\n\n\"ref\" wasn't supplied.".into(),
            ));
        };
        let mut known: Vec<&SimDeployment> = sim_repo
            .deployments
            .iter()
            .filter(|d| d.spec.commit_sha == git_ref || d.spec.branch == git_ref)
            .collect();
        known.sort_by_key(|d| std::cmp::Reverse((d.spec.created_at, d.id)));
        let Some(source) = known.first() else {
            return Err((
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("No ref found for: {git_ref}"),
            ));
        };
        let newest_sha = sim_repo
            .deployments
            .iter()
            .max_by_key(|d| (d.spec.created_at, d.id))
            .map(|d| d.spec.commit_sha.clone());
        let auto_merge = body
            .get("auto_merge")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        if auto_merge && newest_sha.as_deref() != Some(source.spec.commit_sha.as_str()) {
            return Err((
                StatusCode::CONFLICT,
                format!("Conflict merging main into {git_ref}."),
            ));
        }
        if outcome == SimRollbackOutcome::Refused {
            return Err((
                StatusCode::CONFLICT,
                format!("Conflict: Commit status checks failed for {git_ref}."),
            ));
        }
        let spec = SimDeploymentSpec {
            author: "lookout-bot".into(),
            pr_number: None,
            outcome: SimOutcome::Building,
            created_at: Utc::now(),
            ..source.spec.clone()
        };
        let environment = body
            .get("environment")
            .and_then(Value::as_str)
            .unwrap_or("production")
            .to_string();
        let description = body
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string);
        let payload = body.get("payload").cloned().unwrap_or_else(|| json!({}));
        let final_state = match outcome {
            SimRollbackOutcome::GoesLive | SimRollbackOutcome::Refused => Some("success"),
            SimRollbackOutcome::Fails => Some("failure"),
            SimRollbackOutcome::NeverLive => None,
        };
        let id = scenario.next_id();
        let deployment = SimDeployment {
            id,
            environment,
            spec,
            statuses: Vec::new(),
            git_ref: Some(git_ref.to_string()),
            description,
            payload,
            cd: Some(SimCd {
                settles,
                final_state,
            }),
        };
        let sim_repo = scenario.repo_mut(owner, repo);
        let answer = deployment_json(&deployment, sim_repo, base);
        sim_repo.deployments.push(deployment);
        Ok(answer)
    }

    fn token_matches(&self, headers: &HeaderMap) -> bool {
        bearer_matches(headers, &self.token)
            || headers
                .get(header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("token "))
                .is_some_and(|given| given == self.token)
    }

    fn spend_budget(&self) -> RateHeaders {
        RateHeaders::from(self.budget.spend())
    }

    fn current_budget(&self) -> RateHeaders {
        RateHeaders::from(self.budget.peek())
    }
}

impl Scenario {
    fn next_id(&mut self) -> u64 {
        self.last_id += 1;
        self.last_id
    }

    /// The simulated CD: a deployment created through the API is picked up at once (`queued`,
    /// `in_progress`) and finished when its time comes (`success` inactivates the previous
    /// success of its environment, as a deployer with `auto_inactive` does).
    fn advance_cd(&mut self, now: Instant, at: DateTime<Utc>) {
        let mut due: Vec<(usize, usize, bool, Option<&'static str>)> = Vec::new();
        for (repo_index, sim_repo) in self.repos.iter().enumerate() {
            for (index, deployment) in sim_repo.deployments.iter().enumerate() {
                let Some(cd) = &deployment.cd else {
                    continue;
                };
                let pick_up = deployment.statuses.is_empty();
                let finish = cd.final_state.filter(|_| cd.settles <= now);
                if pick_up || finish.is_some() {
                    due.push((repo_index, index, pick_up, finish));
                }
            }
        }
        for (repo_index, index, pick_up, finish) in due {
            let mut states: Vec<&'static str> = Vec::new();
            if pick_up {
                states.extend(["queued", "in_progress"]);
            }
            states.extend(finish);
            for state in states {
                let status_id = self.next_id();
                let sim_repo = &mut self.repos[repo_index];
                let (owner, name) = (slug(&sim_repo.owner), slug(&sim_repo.name));
                let deployment = &mut sim_repo.deployments[index];
                let environment_url = format!(
                    "https://{name}-{}.example.test",
                    slug(&deployment.environment)
                );
                deployment.statuses.push(SimStatus {
                    id: status_id,
                    state: state.to_string(),
                    description: format!("CD: {state}"),
                    created_at: at,
                    environment_url: matches!(state, "in_progress" | "success")
                        .then_some(environment_url),
                    log_url: Some(format!(
                        "https://deployer.example.test/{owner}/{name}/deployments/{}",
                        deployment.id
                    )),
                });
            }
            if finish.is_some() {
                self.repos[repo_index].deployments[index].cd = None;
            }
            if finish == Some("success") {
                let sim_repo = &self.repos[repo_index];
                let (owner, name) = (sim_repo.owner.clone(), sim_repo.name.clone());
                let deployment = &sim_repo.deployments[index];
                let (id, environment) = (deployment.id, deployment.environment.clone());
                self.inactivate_previous(&owner, &name, &environment, id, at);
            }
        }
    }

    /// What GitHub does on a new `success` with `auto_inactive`: every other deployment of the
    /// environment whose latest status is `success` gets an `inactive` status.
    fn inactivate_previous(
        &mut self,
        owner: &str,
        repo: &str,
        environment: &str,
        new_id: u64,
        at: DateTime<Utc>,
    ) {
        if !self.auto_inactive {
            return;
        }
        let previous: Vec<u64> = self
            .repo_mut(owner, repo)
            .deployments
            .iter()
            .filter(|d| {
                d.id != new_id
                    && d.environment.eq_ignore_ascii_case(environment)
                    && d.latest_state() == Some("success")
            })
            .map(|d| d.id)
            .collect();
        for previous_id in previous {
            let status_id = self.next_id();
            let Some(deployment) = self
                .repo_mut(owner, repo)
                .deployments
                .iter_mut()
                .find(|d| d.id == previous_id)
            else {
                continue;
            };
            // Never before its own latest status, even if deployments were pushed out of
            // time order.
            let after_last = deployment
                .statuses
                .last()
                .map_or(at, |s| s.created_at + chrono::Duration::seconds(1));
            deployment.statuses.push(SimStatus {
                id: status_id,
                state: "inactive".to_string(),
                description: format!("Superseded by deployment {new_id}."),
                created_at: at.max(after_last),
                environment_url: None,
                log_url: None,
            });
        }
    }

    fn repo(&self, owner: &str, repo: &str) -> Option<&SimRepo> {
        self.repos
            .iter()
            .find(|r| r.owner.eq_ignore_ascii_case(owner) && r.name.eq_ignore_ascii_case(repo))
    }

    fn repo_mut(&mut self, owner: &str, repo: &str) -> &mut SimRepo {
        let index =
            match self.repos.iter().position(|r| {
                r.owner.eq_ignore_ascii_case(owner) && r.name.eq_ignore_ascii_case(repo)
            }) {
                Some(index) => index,
                None => {
                    self.repos.push(SimRepo {
                        owner: owner.to_string(),
                        name: repo.to_string(),
                        deployments: Vec::new(),
                        workflows: Vec::new(),
                        runs: Vec::new(),
                    });
                    self.repos.len() - 1
                }
            };
        &mut self.repos[index]
    }
}

impl SimDeployment {
    fn latest_state(&self) -> Option<&str> {
        self.statuses.last().map(|status| status.state.as_str())
    }
}

type SimState = State<Arc<GithubSimulator>>;
type QueryMap = Query<HashMap<String, String>>;

/// Where this request was addressed, so bodies and `Link` headers point back at the
/// simulator: `http://{host}{prefix}` and the request path.
struct RequestBase {
    api_base: String,
    path: String,
    query: Option<String>,
}

impl RequestBase {
    fn new(uri: &OriginalUri, headers: &HeaderMap) -> Self {
        let host = headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("localhost");
        let path = uri.0.path().to_string();
        let prefix = path.find("/repos/").map_or("", |at| &path[..at]);
        Self {
            api_base: format!("http://{host}{prefix}"),
            path: format!("http://{host}{path}"),
            query: uri.0.query().map(str::to_string),
        }
    }

    /// This request's URL with `page` replaced.
    fn page_url(&self, page: usize) -> String {
        let mut url = format!("{}?", self.path);
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in
            url::form_urlencoded::parse(self.query.as_deref().unwrap_or("").as_bytes())
        {
            if key != "page" {
                serializer.append_pair(&key, &value);
            }
        }
        serializer.append_pair("page", &page.to_string());
        url.push_str(&serializer.finish());
        url
    }
}

/// One page of `items` (already newest first) by `per_page`/`page`, and the `Link` header.
fn paginate<T>(
    items: Vec<T>,
    query: &HashMap<String, String>,
    base: &RequestBase,
) -> (Vec<T>, Option<String>) {
    let per_page = query
        .get("per_page")
        .and_then(|value| value.trim().parse::<usize>().ok())
        .filter(|value| *value >= 1)
        .map_or(DEFAULT_PER_PAGE, |value| value.min(MAX_PER_PAGE));
    let page = query
        .get("page")
        .and_then(|value| value.trim().parse::<usize>().ok())
        .filter(|value| *value >= 1)
        .unwrap_or(1);
    let total = items.len();
    let last_page = total.div_ceil(per_page).max(1);
    let mut links = Vec::new();
    if page < last_page {
        links.push(format!("<{}>; rel=\"next\"", base.page_url(page + 1)));
        links.push(format!("<{}>; rel=\"last\"", base.page_url(last_page)));
    }
    if page > 1 {
        links.push(format!(
            "<{}>; rel=\"prev\"",
            base.page_url((page - 1).min(last_page))
        ));
        links.push(format!("<{}>; rel=\"first\"", base.page_url(1)));
    }
    let items = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    (items, (!links.is_empty()).then(|| links.join(", ")))
}

fn with_link(rate: RateHeaders, body: Value, link: Option<String>) -> Response {
    let mut response = rate.apply(Json(body).into_response());
    if let Some(value) = link.and_then(|link| HeaderValue::from_str(&link).ok()) {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}

#[cfg(test)]
mod tests;
