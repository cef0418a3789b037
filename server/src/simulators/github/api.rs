//! GitHub's HTTP surface: the request gate, the handlers, paging links and the JSON payloads\nand error bodies in GitHub's shapes.

use super::*;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// Where the request came from, for the URLs in payloads and `Link` headers.
impl<S: Send + Sync> FromRequestParts<S> for RequestBase {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let uri = OriginalUri::from_request_parts(parts, state).await?;
        Ok(RequestBase::new(&uri, &parts.headers))
    }
}

impl SimApi for GithubSimulator {
    type Admission = RateHeaders;

    /// What every request goes through before its handler: counting, injected faults, the
    /// token, the API version and the hourly budget. `Err` is the answer to send instead.
    async fn admit(&self, headers: &HeaderMap) -> Result<RateHeaders, Response> {
        let fault = self.take_fault().await;
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
}

pub(super) async fn list_deployments(
    State(sim): SimState,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): QueryMap,
    Admitted(rate): Admitted<RateHeaders>,
    base: RequestBase,
) -> Response {
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

pub(super) async fn create_deployment(
    State(sim): SimState,
    Path((owner, repo)): Path<(String, String)>,
    Admitted(rate): Admitted<RateHeaders>,
    base: RequestBase,
    body: Option<Json<Value>>,
) -> Response {
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

pub(super) async fn get_deployment(
    State(sim): SimState,
    Path((owner, repo, deployment_id)): Path<(String, String, String)>,
    Admitted(rate): Admitted<RateHeaders>,
    base: RequestBase,
) -> Response {
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

pub(super) async fn list_statuses(
    State(sim): SimState,
    Path((owner, repo, deployment_id)): Path<(String, String, String)>,
    Query(query): QueryMap,
    Admitted(rate): Admitted<RateHeaders>,
    base: RequestBase,
) -> Response {
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

pub(super) async fn list_workflow_runs(
    State(sim): SimState,
    Path((owner, repo, workflow)): Path<(String, String, String)>,
    Query(query): QueryMap,
    Admitted(rate): Admitted<RateHeaders>,
    base: RequestBase,
) -> Response {
    runs_response(sim, owner, repo, Some(workflow), query, rate, base).await
}

pub(super) async fn list_all_runs(
    State(sim): SimState,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): QueryMap,
    Admitted(rate): Admitted<RateHeaders>,
    base: RequestBase,
) -> Response {
    runs_response(sim, owner, repo, None, query, rate, base).await
}

pub(super) async fn runs_response(
    sim: Arc<GithubSimulator>,
    owner: String,
    repo: String,
    workflow: Option<String>,
    query: HashMap<String, String>,
    rate: RateHeaders,
    base: RequestBase,
) -> Response {
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

pub(super) async fn get_run(
    State(sim): SimState,
    Path((owner, repo, run_id)): Path<(String, String, String)>,
    Admitted(rate): Admitted<RateHeaders>,
    base: RequestBase,
) -> Response {
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

pub(super) async fn unknown_route() -> Response {
    not_found()
}

impl SimRepo {
    pub(super) fn find_deployment(&self, id: &str) -> Option<&SimDeployment> {
        self.deployments.iter().find(|d| d.id.to_string() == id)
    }

    pub(super) fn api_url(&self, base: &RequestBase) -> String {
        format!("{}/repos/{}/{}", base.api_base, self.owner, self.name)
    }
}

pub(super) fn error_body(status: StatusCode, message: &str) -> Value {
    json!({
        "message": message,
        "documentation_url": DOCUMENTATION_URL,
        "status": status.as_u16().to_string(),
    })
}

pub(super) fn error_response(status: StatusCode, message: &str) -> Response {
    (status, Json(error_body(status, message))).into_response()
}

pub(super) fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "Not Found")
}

pub(super) fn fault_response(fault: &SimFault, rate: RateHeaders) -> Response {
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
        SimFault::Garbage => rate.apply(html_page(
            "<html><body>Unicorn! This page is taking too long to load.</body></html>",
        )),
        // `apply_delay` has already served a `Slow` fault; answering normally is its point.
        SimFault::Slow { .. } => rate.apply(error_response(status, "unexpected fault")),
    }
}

/// A host-name-safe form of a name (`Preview – docs` → `preview-docs`).
pub(super) fn slug(name: &str) -> String {
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
pub(super) fn login(author: &str) -> String {
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
pub(super) fn user_id(login: &str) -> u64 {
    login.bytes().fold(7u64, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u64::from(byte))
    }) % 100_000_000
}

pub(super) fn user_json(author: &str) -> Value {
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

pub(super) fn deployment_json(
    deployment: &SimDeployment,
    sim_repo: &SimRepo,
    base: &RequestBase,
) -> Value {
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

pub(super) fn status_json(
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

pub(super) fn run_event(run: &SimRun) -> &'static str {
    if run.spec.pr_number.is_some() {
        "pull_request"
    } else {
        "push"
    }
}

pub(super) fn run_json(run: &SimRun, sim_repo: &SimRepo, base: &RequestBase) -> Value {
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
