use super::*;
use crate::simulators::skeleton::test_kit;

fn spec(minute: u32, outcome: SimOutcome) -> SimDeploymentSpec {
    SimDeploymentSpec {
        commit_message: format!("change {minute}\n\nbody"),
        author: "Ada Lovelace".into(),
        ..test_kit::spec(minute, outcome)
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
