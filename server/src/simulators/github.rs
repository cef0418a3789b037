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

use super::{
    apply_delay, bearer_matches, fault_status, lock, FaultInjector, RequestCounter,
    SimDeploymentSpec, SimFault, SimOutcome, SimRollbackOutcome, SimRollbacks,
};
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
pub struct GithubSimulator {
    token: String,
    scenario: Mutex<Scenario>,
    budget: Mutex<RateBudget>,
    pub faults: FaultInjector,
    pub requests: RequestCounter,
    /// How the next rollbacks go, and how many were asked for.
    pub rollbacks: SimRollbacks,
}

struct Scenario {
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

/// The primary limit: a fixed one-hour window, as `x-ratelimit-reset` describes it.
struct RateBudget {
    per_hour: u64,
    window_started: Instant,
    window_started_at: DateTime<Utc>,
    used: u64,
}

/// The `x-ratelimit-*` values for one answer.
#[derive(Clone, Copy, Debug)]
struct RateHeaders {
    limit: u64,
    used: u64,
    /// Epoch seconds when the window resets.
    reset: i64,
    exhausted: bool,
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
        Self {
            token: token.to_string(),
            scenario: Mutex::new(Scenario {
                repos: Vec::new(),
                last_id: FIRST_ID,
                auto_inactive: true,
                statuses_oldest_first: false,
            }),
            budget: Mutex::new(RateBudget {
                per_hour: DEFAULT_REQUESTS_PER_HOUR,
                window_started: Instant::now(),
                window_started_at: Utc::now(),
                used: 0,
            }),
            faults: FaultInjector::default(),
            requests: RequestCounter::default(),
            rollbacks: SimRollbacks::default(),
        }
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
        lock(&self.budget).per_hour = per_hour;
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

    /// What every request goes through before its handler: counting, injected faults, the
    /// token, the API version and the hourly budget. `Err` is the answer to send instead.
    async fn admit(&self, headers: &HeaderMap) -> Result<RateHeaders, Response> {
        self.requests.record();
        let fault = apply_delay(self.faults.next()).await;
        if let Some(fault) = fault {
            return Err(fault_response(&fault, self.current_budget()));
        }
        if !self.token_matches(headers) {
            // GitHub answers a bad token before counting it against the user's budget.
            return Err(error_response(StatusCode::UNAUTHORIZED, "Bad credentials"));
        }
        if let Some(version) = headers
            .get("x-github-api-version")
            .and_then(|v| v.to_str().ok())
        {
            if !API_VERSIONS.contains(&version) {
                return Err(error_response(
                    StatusCode::BAD_REQUEST,
                    &format!("API version {version} is not supported."),
                ));
            }
        }
        let rate = self.spend_budget();
        if rate.exhausted {
            return Err(rate.apply(error_response(
                StatusCode::FORBIDDEN,
                "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for \
                 help, please include the request ID.",
            )));
        }
        Ok(rate)
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

    fn roll_window(budget: &mut RateBudget) {
        if budget.window_started.elapsed() >= RATE_WINDOW {
            budget.window_started = Instant::now();
            budget.window_started_at = Utc::now();
            budget.used = 0;
        }
    }

    fn headers_of(budget: &RateBudget) -> RateHeaders {
        RateHeaders {
            limit: budget.per_hour,
            used: budget.used,
            reset: (budget.window_started_at + chrono::Duration::seconds(3_600)).timestamp(),
            exhausted: budget.used > budget.per_hour,
        }
    }

    fn spend_budget(&self) -> RateHeaders {
        let mut budget = lock(&self.budget);
        Self::roll_window(&mut budget);
        budget.used += 1;
        Self::headers_of(&budget)
    }

    fn current_budget(&self) -> RateHeaders {
        let mut budget = lock(&self.budget);
        Self::roll_window(&mut budget);
        Self::headers_of(&budget)
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

async fn list_deployments(
    State(sim): SimState,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): QueryMap,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(refusal) => return refusal,
    };
    let base = RequestBase::new(&uri, &headers);
    let scenario = sim.advanced();
    let Some(sim_repo) = scenario.repo(&owner, &repo) else {
        return rate.apply(not_found());
    };
    let mut matching: Vec<&SimDeployment> = sim_repo
        .deployments
        .iter()
        .filter(|d| query.get("sha").is_none_or(|sha| d.spec.commit_sha == *sha))
        .filter(|d| {
            query
                .get("ref")
                .is_none_or(|r| d.spec.branch == *r || d.spec.commit_sha == *r)
        })
        // Every simulated deployment is a `deploy` task.
        .filter(|_| query.get("task").is_none_or(|task| task == "deploy"))
        .filter(|d| {
            query
                .get("environment")
                .is_none_or(|e| d.environment.eq_ignore_ascii_case(e))
        })
        .collect();
    matching.sort_by_key(|d| std::cmp::Reverse((d.spec.created_at, d.id)));
    let (page, link) = paginate(matching, &query, &base);
    let body = page
        .into_iter()
        .map(|d| deployment_json(d, sim_repo, &base))
        .collect();
    with_link(rate, Value::Array(body), link)
}

async fn create_deployment(
    State(sim): SimState,
    Path((owner, repo)): Path<(String, String)>,
    uri: OriginalUri,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(refusal) => return refusal,
    };
    let base = RequestBase::new(&uri, &headers);
    let Some(Json(body)) = body else {
        return rate.apply(error_response(
            StatusCode::BAD_REQUEST,
            "Problems parsing JSON",
        ));
    };
    match sim.create_deployment(&owner, &repo, &body, &base) {
        Ok(created) => rate.apply((StatusCode::CREATED, Json(created)).into_response()),
        Err((status, message)) => rate.apply(error_response(status, &message)),
    }
}

async fn get_deployment(
    State(sim): SimState,
    Path((owner, repo, deployment_id)): Path<(String, String, String)>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(refusal) => return refusal,
    };
    let base = RequestBase::new(&uri, &headers);
    let scenario = sim.advanced();
    let found = scenario.repo(&owner, &repo).and_then(|sim_repo| {
        let deployment = sim_repo.find_deployment(&deployment_id)?;
        Some(deployment_json(deployment, sim_repo, &base))
    });
    match found {
        Some(body) => rate.apply(Json(body).into_response()),
        None => rate.apply(not_found()),
    }
}

async fn list_statuses(
    State(sim): SimState,
    Path((owner, repo, deployment_id)): Path<(String, String, String)>,
    Query(query): QueryMap,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(refusal) => return refusal,
    };
    let base = RequestBase::new(&uri, &headers);
    let scenario = sim.advanced();
    let Some((sim_repo, deployment)) = scenario
        .repo(&owner, &repo)
        .and_then(|sim_repo| Some((sim_repo, sim_repo.find_deployment(&deployment_id)?)))
    else {
        return rate.apply(not_found());
    };
    // Newest first (or oldest first, when the scenario asks for the other order).
    let mut statuses: Vec<&SimStatus> = deployment.statuses.iter().collect();
    statuses.sort_by_key(|status| std::cmp::Reverse(status.id));
    if scenario.statuses_oldest_first {
        statuses.reverse();
    }
    let (page, link) = paginate(statuses, &query, &base);
    let body = page
        .into_iter()
        .map(|status| status_json(status, deployment, sim_repo, &base))
        .collect();
    with_link(rate, Value::Array(body), link)
}

async fn list_workflow_runs(
    State(sim): SimState,
    Path((owner, repo, workflow)): Path<(String, String, String)>,
    Query(query): QueryMap,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    runs_response(sim, owner, repo, Some(workflow), query, uri, headers).await
}

async fn list_all_runs(
    State(sim): SimState,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): QueryMap,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    runs_response(sim, owner, repo, None, query, uri, headers).await
}

async fn runs_response(
    sim: Arc<GithubSimulator>,
    owner: String,
    repo: String,
    workflow: Option<String>,
    query: HashMap<String, String>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(refusal) => return refusal,
    };
    let base = RequestBase::new(&uri, &headers);
    let scenario = sim.advanced();
    let Some(sim_repo) = scenario.repo(&owner, &repo) else {
        return rate.apply(not_found());
    };
    let workflow_id = match &workflow {
        None => None,
        Some(name_or_id) => match sim_repo
            .workflows
            .iter()
            .find(|w| w.file == *name_or_id || w.id.to_string() == *name_or_id)
        {
            Some(found) => Some(found.id),
            None => return rate.apply(not_found()),
        },
    };
    let mut matching: Vec<&SimRun> = sim_repo
        .runs
        .iter()
        .filter(|run| workflow_id.is_none_or(|id| run.workflow_id == id))
        .filter(|run| query.get("branch").is_none_or(|b| run.spec.branch == *b))
        .filter(|run| {
            // GitHub's `status` filter matches the status or the conclusion.
            query
                .get("status")
                .is_none_or(|s| run.status == s || run.conclusion == Some(s.as_str()))
        })
        .filter(|run| query.get("event").is_none_or(|e| run_event(run) == e))
        .filter(|run| {
            query
                .get("head_sha")
                .is_none_or(|sha| run.spec.commit_sha == *sha)
        })
        .filter(|run| {
            query
                .get("actor")
                .is_none_or(|actor| login(&run.spec.author) == *actor)
        })
        .collect();
    matching.sort_by_key(|run| std::cmp::Reverse((run.spec.created_at, run.id)));
    let total_count = matching.len();
    let (page, link) = paginate(matching, &query, &base);
    let runs: Vec<Value> = page
        .into_iter()
        .map(|run| run_json(run, sim_repo, &base))
        .collect();
    with_link(
        rate,
        json!({ "total_count": total_count, "workflow_runs": runs }),
        link,
    )
}

async fn get_run(
    State(sim): SimState,
    Path((owner, repo, run_id)): Path<(String, String, String)>,
    uri: OriginalUri,
    headers: HeaderMap,
) -> Response {
    let rate = match sim.admit(&headers).await {
        Ok(rate) => rate,
        Err(refusal) => return refusal,
    };
    let base = RequestBase::new(&uri, &headers);
    let scenario = sim.advanced();
    let found = scenario.repo(&owner, &repo).and_then(|sim_repo| {
        let run = sim_repo
            .runs
            .iter()
            .find(|run| run.id.to_string() == run_id)?;
        Some(run_json(run, sim_repo, &base))
    });
    match found {
        Some(body) => rate.apply(Json(body).into_response()),
        None => rate.apply(not_found()),
    }
}

async fn unknown_route() -> Response {
    not_found()
}

impl SimRepo {
    fn find_deployment(&self, id: &str) -> Option<&SimDeployment> {
        self.deployments.iter().find(|d| d.id.to_string() == id)
    }

    fn api_url(&self, base: &RequestBase) -> String {
        format!("{}/repos/{}/{}", base.api_base, self.owner, self.name)
    }
}

fn error_body(status: StatusCode, message: &str) -> Value {
    json!({
        "message": message,
        "documentation_url": DOCUMENTATION_URL,
        "status": status.as_u16().to_string(),
    })
}

fn error_response(status: StatusCode, message: &str) -> Response {
    (status, Json(error_body(status, message))).into_response()
}

fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "Not Found")
}

fn fault_response(fault: &SimFault, rate: RateHeaders) -> Response {
    let status = fault_status(fault);
    match fault {
        SimFault::RateLimited { retry_after_secs } => {
            // A secondary limit: 429 with `retry-after`; the primary budget may still be left.
            let mut response = rate.apply(error_response(
                status,
                "You have exceeded a secondary rate limit. Please wait a few minutes before \
                 you try again.",
            ));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_secs));
            response
        }
        SimFault::ServerError => rate.apply(error_response(status, "Service Unavailable")),
        SimFault::Unauthorized => error_response(StatusCode::UNAUTHORIZED, "Bad credentials"),
        SimFault::Garbage => rate.apply(
            (
                status,
                [(header::CONTENT_TYPE, "text/html")],
                "<html><body>Unicorn! This page is taking too long to load.</body></html>",
            )
                .into_response(),
        ),
        // `apply_delay` has already served a `Slow` fault; answering normally is its point.
        SimFault::Slow { .. } => rate.apply(error_response(status, "unexpected fault")),
    }
}

/// RFC 3339 in UTC with whole seconds, as GitHub's `2012-07-20T01:19:13Z`.
fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A host-name-safe form of a name (`Preview – docs` → `preview-docs`).
fn slug(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.trim_end_matches('-').to_string()
}

/// The GitHub login of a simulated author (`Jane Doe` → `janedoe`).
fn login(author: &str) -> String {
    let login: String = author
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect::<String>()
        .to_ascii_lowercase();
    if login.is_empty() {
        "octocat".to_string()
    } else {
        login
    }
}

/// A stable user id for a login.
fn user_id(login: &str) -> u64 {
    login.bytes().fold(7u64, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u64::from(byte))
    }) % 100_000_000
}

fn user_json(author: &str) -> Value {
    let login = login(author);
    json!({
        "login": login,
        "id": user_id(&login),
        "node_id": format!("MDQ6VXNlcj{}", user_id(&login)),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}", user_id(&login)),
        "url": format!("https://api.github.com/users/{login}"),
        "html_url": format!("https://github.com/{login}"),
        "type": "User",
        "site_admin": false,
    })
}

fn deployment_json(deployment: &SimDeployment, sim_repo: &SimRepo, base: &RequestBase) -> Value {
    let repository_url = sim_repo.api_url(base);
    let url = format!("{repository_url}/deployments/{}", deployment.id);
    let updated_at = deployment
        .statuses
        .last()
        .map_or(deployment.spec.created_at, |status| status.created_at);
    let production = deployment.environment == "production";
    json!({
        "url": url,
        "id": deployment.id,
        "node_id": format!("DE_sim{}", deployment.id),
        "sha": deployment.spec.commit_sha,
        "ref": deployment.git_ref.as_deref().unwrap_or(&deployment.spec.branch),
        "task": "deploy",
        "payload": deployment.payload,
        "original_environment": deployment.environment,
        "environment": deployment.environment,
        "description": deployment.description.clone().unwrap_or_else(|| {
            format!("Deploy {} to {}", deployment.spec.branch, deployment.environment)
        }),
        "creator": user_json(&deployment.spec.author),
        "created_at": timestamp(deployment.spec.created_at),
        "updated_at": timestamp(updated_at),
        "statuses_url": format!("{url}/statuses"),
        "repository_url": repository_url,
        "transient_environment": false,
        "production_environment": production,
    })
}

fn status_json(
    status: &SimStatus,
    deployment: &SimDeployment,
    sim_repo: &SimRepo,
    base: &RequestBase,
) -> Value {
    let repository_url = sim_repo.api_url(base);
    let deployment_url = format!("{repository_url}/deployments/{}", deployment.id);
    json!({
        "url": format!("{deployment_url}/statuses/{}", status.id),
        "id": status.id,
        "node_id": format!("DES_sim{}", status.id),
        "state": status.state,
        "creator": user_json("github-actions"),
        "description": status.description,
        "environment": deployment.environment,
        "target_url": status.log_url.clone().unwrap_or_default(),
        "created_at": timestamp(status.created_at),
        "updated_at": timestamp(status.created_at),
        "deployment_url": deployment_url,
        "repository_url": repository_url,
        "environment_url": status.environment_url.clone().unwrap_or_default(),
        "log_url": status.log_url.clone().unwrap_or_default(),
    })
}

fn run_event(run: &SimRun) -> &'static str {
    if run.spec.pr_number.is_some() {
        "pull_request"
    } else {
        "push"
    }
}

fn run_json(run: &SimRun, sim_repo: &SimRepo, base: &RequestBase) -> Value {
    let repository_url = sim_repo.api_url(base);
    let url = format!("{repository_url}/actions/runs/{}", run.id);
    let html_url = format!(
        "https://github.com/{}/{}/actions/runs/{}",
        sim_repo.owner, sim_repo.name, run.id
    );
    let spec = &run.spec;
    let title = spec.commit_message.lines().next().unwrap_or_default();
    let name = run
        .workflow_file
        .trim_end_matches(".yml")
        .trim_end_matches(".yaml");
    let pull_requests: Vec<Value> = spec
        .pr_number
        .map(|number| {
            json!({
                "id": u64::from(number) + 500_000,
                "number": number,
                "url": format!("{repository_url}/pulls/{number}"),
                "head": {"ref": spec.branch, "sha": spec.commit_sha},
                "base": {"ref": "main"},
            })
        })
        .into_iter()
        .collect();
    let author_email = format!("{}@users.noreply.github.com", login(&spec.author));
    json!({
        "id": run.id,
        "name": name,
        "node_id": format!("WFR_sim{}", run.id),
        "head_branch": spec.branch,
        "head_sha": spec.commit_sha,
        "path": format!(".github/workflows/{}", run.workflow_file),
        "display_title": title,
        "run_number": run.run_number,
        "run_attempt": 1,
        "event": run_event(run),
        "status": run.status,
        "conclusion": run.conclusion,
        "workflow_id": run.workflow_id,
        "url": url,
        "html_url": html_url,
        "pull_requests": pull_requests,
        "created_at": timestamp(spec.created_at),
        "updated_at": timestamp(run.updated_at),
        "run_started_at": timestamp(spec.created_at),
        "actor": user_json(&spec.author),
        "triggering_actor": user_json(&spec.author),
        "jobs_url": format!("{url}/jobs"),
        "logs_url": format!("{url}/logs"),
        "cancel_url": format!("{url}/cancel"),
        "rerun_url": format!("{url}/rerun"),
        "workflow_url": format!("{repository_url}/actions/workflows/{}", run.workflow_id),
        "head_commit": {
            "id": spec.commit_sha,
            "tree_id": spec.commit_sha.chars().rev().collect::<String>(),
            "message": spec.commit_message,
            "timestamp": timestamp(spec.created_at - chrono::Duration::minutes(5)),
            "author": {"name": spec.author, "email": author_email},
            "committer": {"name": "GitHub", "email": "noreply@github.com"},
        },
        "repository": {
            "id": user_id(&sim_repo.name),
            "name": sim_repo.name,
            "full_name": format!("{}/{}", sim_repo.owner, sim_repo.name),
            "url": repository_url,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn spec(minute: u32, outcome: SimOutcome) -> SimDeploymentSpec {
        SimDeploymentSpec {
            commit_sha: format!("{minute:040x}"),
            commit_message: format!("change {minute}\n\nbody"),
            author: "Ada Lovelace".into(),
            branch: "main".into(),
            pr_number: None,
            outcome,
            created_at: Utc.with_ymd_and_hms(2026, 3, 1, 12, minute, 0).unwrap(),
        }
    }

    /// `(id, environment, "state,state,…")` per deployment, in push order.
    fn states(sim: &GithubSimulator) -> Vec<(String, String, String)> {
        let scenario = lock(&sim.scenario);
        let repo = scenario.repo("acme", "shop").unwrap();
        repo.deployments
            .iter()
            .map(|d| {
                let states: Vec<&str> = d.statuses.iter().map(|s| s.state.as_str()).collect();
                (d.id.to_string(), d.environment.clone(), states.join(","))
            })
            .collect()
    }

    fn row(id: &str, environment: &str, states: &str) -> (String, String, String) {
        (id.to_string(), environment.to_string(), states.to_string())
    }

    #[test]
    fn a_new_success_makes_the_previous_success_of_its_environment_inactive() {
        let sim = GithubSimulator::new("t");
        sim.add_repo("acme", "shop");
        let push = |environment: &str, minute: u32, outcome: SimOutcome| {
            sim.push_deployment("acme", "shop", environment, &spec(minute, outcome))
        };
        let first = push("production", 1, SimOutcome::Ready);
        let staging = push("staging", 2, SimOutcome::Ready);
        let failed = push("production", 3, SimOutcome::Failed);
        let second = sim.push_deployment("Acme", "Shop", "production", &spec(4, SimOutcome::Ready));
        let building = push("production", 5, SimOutcome::Building);
        let canceled = push("production", 6, SimOutcome::Canceled);
        let bare = sim.push_deployment_without_status(
            "acme",
            "shop",
            "production",
            &spec(7, SimOutcome::Ready),
        );
        assert_eq!(
            states(&sim),
            vec![
                row(&first, "production", "queued,in_progress,success,inactive"),
                row(&staging, "staging", "queued,in_progress,success"),
                row(&failed, "production", "queued,in_progress,failure"),
                row(&second, "production", "queued,in_progress,success"),
                row(&building, "production", "queued,in_progress"),
                row(&canceled, "production", "queued,inactive"),
                row(&bare, "production", ""),
            ]
        );
        // Status ids only grow, also for the inactive status added to an older deployment.
        let scenario = lock(&sim.scenario);
        let repo = scenario.repo("acme", "shop").unwrap();
        let inactive = repo.deployments[0].statuses.last().unwrap();
        assert!(repo.deployments[3]
            .statuses
            .iter()
            .all(|s| s.id < inactive.id));
        assert!(inactive.created_at > repo.deployments[0].statuses[2].created_at);
    }

    #[test]
    fn without_auto_inactive_older_successes_stay_success() {
        let sim = GithubSimulator::new("t");
        sim.set_auto_inactive(false);
        sim.push_deployment("acme", "shop", "production", &spec(1, SimOutcome::Ready));
        sim.push_deployment("acme", "shop", "production", &spec(2, SimOutcome::Ready));
        assert!(states(&sim).iter().all(|(_, _, s)| s.ends_with("success")));
    }

    #[test]
    fn posted_statuses_follow_the_latest_and_a_success_inactivates_the_live_one() {
        let sim = GithubSimulator::new("t");
        let live = sim.push_deployment("acme", "shop", "production", &spec(1, SimOutcome::Ready));
        let bare = sim.push_deployment_without_status(
            "acme",
            "shop",
            "production",
            &spec(5, SimOutcome::Ready),
        );
        assert!(sim.post_status("acme", "shop", &bare, "in_progress"));
        assert!(sim.post_status("acme", "shop", &bare, "success"));
        assert!(!sim.post_status("acme", "shop", "1", "success"));
        assert!(!sim.post_status("acme", "nope", &bare, "success"));
        assert_eq!(
            states(&sim),
            vec![
                row(&live, "production", "queued,in_progress,success,inactive"),
                row(&bare, "production", "in_progress,success"),
            ]
        );
    }

    #[test]
    fn workflow_runs_get_numbers_and_outcomes() {
        let sim = GithubSimulator::new("t");
        let a = sim.push_workflow_run("acme", "shop", "deploy.yml", &spec(1, SimOutcome::Ready));
        let b = sim.push_workflow_run("acme", "shop", "deploy.yml", &spec(2, SimOutcome::Canceled));
        sim.push_workflow_run("acme", "shop", "ci.yml", &spec(3, SimOutcome::Building));
        let scenario = lock(&sim.scenario);
        let repo = scenario.repo("acme", "shop").unwrap();
        assert_eq!(repo.workflows.len(), 2);
        let runs: Vec<(String, u64, &str, Option<&str>)> = repo
            .runs
            .iter()
            .map(|r| (r.id.to_string(), r.run_number, r.status, r.conclusion))
            .collect();
        assert_eq!(runs[0], (a, 1, "completed", Some("success")));
        assert_eq!(runs[1], (b, 2, "completed", Some("cancelled")));
        assert_eq!(runs[2].1, 1, "numbered per workflow");
        assert_eq!(runs[2].2, "in_progress");
    }

    #[test]
    fn pages_and_links() {
        let base = RequestBase {
            api_base: "http://h/github".into(),
            path: "http://h/github/repos/a/b/deployments".into(),
            query: Some("environment=production&per_page=2&page=1".into()),
        };
        let query = |pairs: &[(&str, &str)]| -> HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let items: Vec<u32> = (1..=5).collect();
        let (page, link) = paginate(items.clone(), &query(&[("per_page", "2")]), &base);
        assert_eq!(page, vec![1, 2]);
        assert_eq!(
            link.as_deref(),
            Some(
                "<http://h/github/repos/a/b/deployments?environment=production&per_page=2&page=2>; rel=\"next\", \
                 <http://h/github/repos/a/b/deployments?environment=production&per_page=2&page=3>; rel=\"last\""
            )
        );
        let (page, link) = paginate(
            items.clone(),
            &query(&[("per_page", "2"), ("page", "3")]),
            &base,
        );
        assert_eq!(page, vec![5]);
        let link = link.unwrap();
        assert!(!link.contains("rel=\"next\"") && link.contains("rel=\"prev\""));
        let (page, link) = paginate(
            items.clone(),
            &query(&[("per_page", "2"), ("page", "9")]),
            &base,
        );
        assert!(page.is_empty());
        assert!(!link.unwrap().contains("rel=\"next\""));
        let (page, link) = paginate(items.clone(), &query(&[("per_page", "junk")]), &base);
        assert_eq!(page.len(), 5, "default 30");
        assert_eq!(link, None, "one page: no Link header");
        let many: Vec<u32> = (0..250).collect();
        let (page, _) = paginate(many, &query(&[("per_page", "1000")]), &base);
        assert_eq!(page.len(), MAX_PER_PAGE);
    }

    #[test]
    fn names_become_slugs_and_logins() {
        assert_eq!(slug("Preview – docs"), "preview-docs");
        assert_eq!(slug("production"), "production");
        assert_eq!(login("Jane Doe"), "janedoe");
        assert_eq!(login("  "), "octocat");
    }

    #[test]
    fn the_hourly_budget_runs_out() {
        let sim = GithubSimulator::new("t");
        sim.set_requests_per_hour(1);
        assert!(!sim.spend_budget().exhausted);
        let over = sim.spend_budget();
        assert!(over.exhausted);
        assert_eq!(over.remaining(), 0);
        assert!(over.reset > Utc::now().timestamp());
    }
}
