//! The Workflow-runs source of the GitHub client: the runs of one deploy workflow
//! (`GET /repos/{owner}/{repo}/actions/workflows/{workflow}/runs`), mapped to environments by
//! branch through the config, and their `status`/`conclusion` enums.

use super::*;

impl GithubClient {
    // ---- Workflow-runs source -----------------------------------------------------------

    /// One page of a workflow's runs, and the next page number.
    pub(super) async fn runs_page(
        &self,
        workflow: &str,
        filters: &[(&str, &str)],
        page: u32,
        per_page: u32,
    ) -> Result<(Vec<WireRun>, Option<u32>), ProviderError> {
        let mut url = self.endpoint(&["actions", "workflows", workflow, "runs"])?;
        {
            let mut query = url.query_pairs_mut();
            for (key, value) in filters {
                query.append_pair(key, value);
            }
            query
                .append_pair("per_page", &per_page.clamp(1, MAX_PAGE_SIZE).to_string())
                .append_pair("page", &page.to_string());
        }
        let (list, headers) = self.get::<WireRunList>(url).await?;
        let mut runs = list.workflow_runs;
        runs.sort_by_key(|run| {
            std::cmp::Reverse((
                wire::parse_time("github", run.created_at.as_deref()),
                run.id,
            ))
        });
        Ok((runs, link_page(&headers, "next")))
    }

    pub(super) fn keeps_run(&self, run: &ProviderDeployment) -> bool {
        match &run.environment {
            ProviderEnvironment::Named(name) => self.wants_environment(name),
            ProviderEnvironment::Preview { .. } => true,
        }
    }

    pub(super) async fn list_from_runs(
        &self,
        workflow: &str,
        branch_environments: &[(String, String)],
        page: u32,
        per_page: u32,
    ) -> Result<DeploymentPage, ProviderError> {
        let (deployments, next) = self
            .filtered_pages(
                page,
                |page| async move {
                    let (runs, next) = self.runs_page(workflow, &[], page, per_page).await?;
                    let mapped = runs
                        .into_iter()
                        .map(|run| run.into_provider(branch_environments))
                        .collect();
                    Ok((mapped, next))
                },
                |deployment| self.keeps_run(deployment),
            )
            .await?;
        Ok(DeploymentPage {
            deployments,
            next: next.map(paging::page_cursor),
        })
    }

    /// The newest successful run per mapped environment, and per preview branch among the
    /// newest page of successful runs.
    pub(super) async fn live_from_runs(
        &self,
        workflow: &str,
        branch_environments: &[(String, String)],
    ) -> Result<Vec<ProviderDeployment>, ProviderError> {
        // `status=success` filters on the conclusion too (GH-SPEC: "status or conclusion").
        let (recent, _) = self
            .runs_page(workflow, &[("status", "success")], 1, MAX_PAGE_SIZE)
            .await?;
        let mut successful: Vec<ProviderDeployment> = recent
            .into_iter()
            .map(|run| run.into_provider(branch_environments))
            .filter(|run| run.state == DeployState::Ready)
            .collect();
        // A mapped branch that has not succeeded within that page is asked for by name, so a
        // rarely deployed production branch is not lost behind busy preview branches.
        let seen_branches: HashSet<String> = successful
            .iter()
            .filter_map(|run| run.commit.branch.clone())
            .collect();
        let mut asked = HashSet::new();
        for (branch, environment) in branch_environments {
            if seen_branches.contains(branch)
                || !self.wants_environment(environment)
                || !asked.insert(branch.clone())
            {
                continue;
            }
            let (runs, _) = self
                .runs_page(workflow, &[("branch", branch), ("status", "success")], 1, 1)
                .await?;
            successful.extend(
                runs.into_iter()
                    .map(|run| run.into_provider(branch_environments))
                    .filter(|run| run.state == DeployState::Ready),
            );
        }
        successful.sort_by_key(|run| std::cmp::Reverse(run.created_at));

        let mut live = Vec::new();
        let mut settled_environments = HashSet::new();
        let mut settled_previews = HashSet::new();
        for run in successful {
            let first = match &run.environment {
                ProviderEnvironment::Named(name) => {
                    self.wants_environment(name) && settled_environments.insert(name.clone())
                }
                // Branch-less runs (e.g. a tag's run without head_branch) are no branch's
                // preview.
                ProviderEnvironment::Preview { branch: None, .. } => false,
                ProviderEnvironment::Preview {
                    branch: Some(branch),
                    ..
                } => settled_previews.insert(branch.clone()),
            };
            if first {
                live.push(run);
            }
        }
        Ok(live)
    }

    pub(super) async fn one_run(
        &self,
        id: &str,
        branch_environments: &[(String, String)],
    ) -> Result<ProviderDeployment, ProviderError> {
        id.parse::<u64>().map_err(|_| ProviderError::NotFound {
            message: format!("no GitHub workflow run {id}"),
        })?;
        let url = self.endpoint(&["actions", "runs", id])?;
        let (run, _) = self.get::<WireRun>(url).await?;
        Ok(run.into_provider(branch_environments))
    }
}

/// A workflow run's `status` (+ `conclusion` once `completed`) → Lookout's state.
pub fn workflow_run_state(status: Option<&str>, conclusion: Option<&str>) -> DeployState {
    match status.unwrap_or("") {
        "requested" | "queued" | "pending" | "waiting" => DeployState::Queued,
        "in_progress" => DeployState::Building,
        "completed" => match conclusion {
            Some("success") => DeployState::Ready,
            Some("failure" | "timed_out" | "startup_failure") => DeployState::Failed,
            // Finished without deploying anything.
            Some("cancelled" | "skipped" | "stale") => DeployState::Canceled,
            // Waiting for someone to approve (e.g. a protected environment's reviewers).
            Some("action_required") => DeployState::Queued,
            // Neither passed nor failed: Lookout cannot tell whether it deployed.
            Some("neutral") => DeployState::Unknown,
            Some(other) => {
                wire::warn_unknown("github", "workflow run conclusion", other);
                DeployState::Unknown
            }
            None => DeployState::Unknown,
        },
        other => {
            wire::warn_unknown("github", "workflow run status", other);
            DeployState::Unknown
        }
    }
}

/// `{ total_count, workflow_runs }`.
#[derive(Debug, Deserialize)]
pub(super) struct WireRunList {
    pub(super) workflow_runs: Vec<WireRun>,
}

/// A GitHub `workflow-run`. `status` and `conclusion` are plain strings in the REST schema.
#[derive(Debug, Deserialize)]
pub(super) struct WireRun {
    pub(super) id: u64,
    #[serde(default)]
    pub(super) head_branch: Option<String>,
    #[serde(default)]
    pub(super) head_sha: Option<String>,
    #[serde(default)]
    pub(super) display_title: Option<String>,
    #[serde(default)]
    pub(super) status: Option<String>,
    #[serde(default)]
    pub(super) conclusion: Option<String>,
    #[serde(default)]
    pub(super) html_url: Option<String>,
    #[serde(default)]
    pub(super) created_at: Option<String>,
    #[serde(default)]
    pub(super) updated_at: Option<String>,
    #[serde(default)]
    pub(super) actor: Option<WireUser>,
    #[serde(default)]
    pub(super) triggering_actor: Option<WireUser>,
    #[serde(default)]
    pub(super) head_commit: Option<WireHeadCommit>,
    /// Empty for runs of pull requests from forks.
    #[serde(default)]
    pub(super) pull_requests: Option<Vec<WirePullRequest>>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireHeadCommit {
    #[serde(default)]
    pub(super) message: Option<String>,
    #[serde(default)]
    pub(super) author: Option<WireGitPerson>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WireGitPerson {
    #[serde(default)]
    pub(super) name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WirePullRequest {
    #[serde(default)]
    pub(super) number: Option<u64>,
}

impl WireRun {
    pub(super) fn into_provider(
        self,
        branch_environments: &[(String, String)],
    ) -> ProviderDeployment {
        let state = workflow_run_state(self.status.as_deref(), self.conclusion.as_deref());
        let provider_state = match (self.status.as_deref(), &self.conclusion) {
            (Some("completed"), Some(conclusion)) => conclusion.clone(),
            (status, _) => status.unwrap_or_default().to_string(),
        };
        let branch = wire::non_empty(self.head_branch);
        let pr_number = self
            .pull_requests
            .unwrap_or_default()
            .first()
            .and_then(|pr| pr.number)
            .and_then(|number| u32::try_from(number).ok());
        let mapped = branch.as_ref().and_then(|branch| {
            branch_environments
                .iter()
                .find(|(mapped_branch, _)| mapped_branch == branch)
                .map(|(_, environment)| environment.clone())
        });
        let environment = match mapped {
            Some(environment) => ProviderEnvironment::Named(environment),
            None => ProviderEnvironment::Preview {
                branch: branch.clone(),
                pr_number,
            },
        };
        let (message, author) = match self.head_commit {
            Some(commit) => (
                wire::non_empty(commit.message),
                commit
                    .author
                    .and_then(|author| wire::non_empty(author.name)),
            ),
            None => (None, None),
        };
        // A run has no completion time of its own; `updated_at` of a completed run is when
        // it finished (a re-run makes it a new attempt and moves it on).
        let finished_at = if self.status.as_deref() == Some("completed") {
            wire::parse_time("github", self.updated_at.as_deref())
        } else {
            None
        };
        let origin = OriginFact::all("head_branch", [branch.as_deref()]);
        ProviderDeployment {
            origin,
            rollback_refusal: None,
            id: self.id.to_string(),
            state,
            provider_state,
            environment,
            commit: CommitInfo {
                sha: wire::non_empty(self.head_sha),
                message: message.or_else(|| wire::non_empty(self.display_title)),
                author,
                branch,
            },
            pr_number,
            // Who started this attempt (a re-run's actor), else who started the run.
            creator: self
                .triggering_actor
                .and_then(|user| wire::non_empty(user.login))
                .or_else(|| self.actor.and_then(|user| wire::non_empty(user.login))),
            created_at: wire::parse_time("github", self.created_at.as_deref()),
            finished_at,
            // A run has no URL of its own; what it deployed is the environment's business.
            url: None,
            dashboard_url: crate::providers::web_url(self.html_url, "html_url"),
        }
    }
}
