use super::*;
use crate::simulators::skeleton::test_kit;
use axum::http::header;

fn spec(minute: u32, outcome: SimOutcome) -> SimDeploymentSpec {
    SimDeploymentSpec {
        author: "Ada Lovelace".into(),
        ..test_kit::spec(minute, outcome)
    }
}

fn simulator() -> RailwaySimulator {
    let sim = RailwaySimulator::new("t");
    sim.add_environment("p1", "env-prod", "production", false);
    sim.add_environment("p1", "env-pr", "pr-7", true);
    sim.add_service("p1", "svc-api", "api");
    sim
}

fn run(sim: &RailwaySimulator, query: &str, variables: Value) -> Value {
    let Value::Object(variables) = variables else {
        panic!("variables must be an object")
    };
    sim.execute(query, &variables).unwrap()
}

#[test]
fn a_ready_push_goes_live_and_removes_the_previous_one() {
    let sim = simulator();
    let first = sim.push_deployment("svc-api", "env-prod", &spec(1, SimOutcome::Ready));
    let failed = sim.push_deployment("svc-api", "env-prod", &spec(2, SimOutcome::Failed));
    assert_eq!(
        sim.live_deployment_id("svc-api", "env-prod"),
        Some(first.clone())
    );
    let preview = sim.push_deployment("svc-api", "env-pr", &spec(3, SimOutcome::Ready));
    let second = sim.push_deployment("svc-api", "env-prod", &spec(4, SimOutcome::Ready));
    let building = sim.push_deployment("svc-api", "env-prod", &spec(5, SimOutcome::Building));
    let canceled = sim.push_deployment("svc-api", "env-prod", &spec(6, SimOutcome::Canceled));
    let status = |id: &str| sim.deployment_status(id).unwrap();
    assert_eq!(status(&first), "REMOVED");
    assert_eq!(status(&failed), "FAILED");
    assert_eq!(
        status(&preview),
        "SUCCESS",
        "other environments are untouched"
    );
    assert_eq!(status(&second), "SUCCESS");
    assert_eq!(status(&building), "BUILDING");
    assert_eq!(status(&canceled), "SKIPPED");
    assert_eq!(sim.live_deployment_id("svc-api", "env-prod"), Some(second));
    assert_eq!(first.len(), 36);
    assert_eq!(&first[14..15], "4");
    assert_ne!(first, failed);
}

#[test]
fn deployments_page_with_relay_cursors() {
    let sim = simulator();
    let ids: Vec<String> = (0..5)
        .map(|minute| sim.push_deployment("svc-api", "env-prod", &spec(minute, SimOutcome::Ready)))
        .collect();
    let query = "query Q($input: DeploymentListInput!, $first: Int, $after: String) { \
                 deployments(input: $input, first: $first, after: $after) { edges { node { id } } } }";
    let page = run(
        &sim,
        query,
        json!({ "input": { "serviceId": "svc-api" }, "first": 2, "after": null }),
    );
    let connection = &page["data"]["deployments"];
    let edges = connection["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 2);
    assert_eq!(edges[0]["node"]["id"], ids[4].as_str());
    assert_eq!(edges[1]["node"]["id"], ids[3].as_str());
    assert_eq!(connection["pageInfo"]["hasNextPage"], true);
    let after = connection["pageInfo"]["endCursor"].clone();
    let page = run(
        &sim,
        query,
        json!({ "input": { "serviceId": "svc-api" }, "first": 10, "after": after }),
    );
    let connection = &page["data"]["deployments"];
    let ids_on_page: Vec<&str> = connection["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids_on_page,
        vec![ids[2].as_str(), ids[1].as_str(), ids[0].as_str()]
    );
    assert_eq!(connection["pageInfo"]["hasNextPage"], false);
    assert_eq!(connection["pageInfo"]["hasPreviousPage"], true);

    let bad = run(
        &sim,
        query,
        json!({ "input": {}, "first": 2, "after": "nonsense" }),
    );
    assert_eq!(bad["data"]["deployments"], Value::Null);
    assert_eq!(bad["errors"][0]["message"], "Invalid cursor");
}

#[test]
fn literal_arguments_filters_and_the_default_page_size() {
    let sim = simulator();
    for minute in 0..25 {
        sim.push_deployment("svc-api", "env-prod", &spec(minute, SimOutcome::Failed));
    }
    sim.push_deployment("svc-api", "env-pr", &spec(30, SimOutcome::Ready));
    let all = run(
        &sim,
        "{ deployments(input: {serviceId: \"svc-api\"}) { edges { cursor } } }",
        json!({}),
    );
    assert_eq!(
        all["data"]["deployments"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    let success = run(
        &sim,
        "{ deployments(input: {projectId: \"p1\", status: {in: [SUCCESS]}}, first: 500) { edges { cursor } } }",
        json!({}),
    );
    let edges = success["data"]["deployments"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 1);
    assert_eq!(edges[0]["node"]["environment"]["isEphemeral"], true);
    assert_eq!(edges[0]["node"]["environment"]["name"], "pr-7");
}

#[test]
fn aliased_service_instances_and_partial_errors() {
    let sim = simulator();
    let old = sim.push_deployment("svc-api", "env-prod", &spec(1, SimOutcome::Ready));
    let live = sim.push_deployment("svc-api", "env-prod", &spec(2, SimOutcome::Ready));
    let answer = run(
        &sim,
        "query L($s: String!, $env0: String!, $env1: String!) { \
         env0: serviceInstance(serviceId: $s, environmentId: $env0) { activeDeployments { id } } \
         env1 : serviceInstance(serviceId: $s, environmentId: $env1) { activeDeployments { id } } }",
        json!({ "s": "svc-api", "env0": "env-prod", "env1": "env-missing" }),
    );
    let active = answer["data"]["env0"]["activeDeployments"]
        .as_array()
        .unwrap();
    assert_eq!(active.len(), 1);
    assert_eq!(active[0]["id"], live.as_str());
    assert_eq!(active[0]["url"], "api-production.up.railway.app");
    assert_eq!(
        answer["data"]["env0"]["latestDeployment"]["id"],
        live.as_str()
    );
    assert_eq!(answer["data"]["env1"], Value::Null);
    assert_eq!(answer["errors"][0]["path"][0], "env1");

    let one = run(
        &sim,
        "query D($id: String!) { deployment(id: $id) { id } }",
        json!({ "id": old }),
    );
    let node = &one["data"]["deployment"];
    assert_eq!(node["status"], "REMOVED");
    assert_eq!(node["url"], Value::Null);
    assert_eq!(node["createdAt"], "2026-03-01T12:01:00.000Z");
    assert_eq!(node["statusUpdatedAt"], "2026-03-01T12:04:00.000Z");
    assert_eq!(node["meta"]["commitHash"], format!("{:040x}", 1));
    assert_eq!(node["creator"]["email"], "ada-lovelace@example.com");
    let missing = run(
        &sim,
        "query D($id: String!) { deployment(id: $id) { id } }",
        json!({ "id": "nope" }),
    );
    assert_eq!(missing["data"]["deployment"], Value::Null);
    assert_eq!(missing["errors"][0]["message"], "Deployment not found");
}

#[test]
fn root_fields_are_found_by_name_not_inside_other_names() {
    let calls = find_root_calls(
        "query X($deployment: String) { latestDeployments: deployments(first: 3) { edges { node { activeDeployments { id } } } } \
         deployment (id: \"a\\\"b\") { id } } fragment F on Deployment { id }",
        &Map::new(),
    );
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].field, RootField::Deployments);
    assert_eq!(calls[0].key, "latestDeployments");
    assert_eq!(calls[0].arguments.get("first"), Some(&json!(3)));
    assert_eq!(calls[1].field, RootField::Deployment);
    assert_eq!(calls[1].key, "deployment");
    assert_eq!(calls[1].arguments.get("id"), Some(&json!("a\"b")));
    assert!(sim_rejects_unknown_fields());
}

fn sim_rejects_unknown_fields() -> bool {
    simulator()
        .execute("{ projects { edges { node { id } } } }", &Map::new())
        .is_err()
}

#[test]
fn both_token_headers_are_accepted() {
    let sim = simulator();
    let mut headers = HeaderMap::new();
    assert!(!sim.authorized(&headers));
    headers.insert("project-access-token", HeaderValue::from_static("t"));
    assert!(sim.authorized(&headers));
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
    assert!(sim.authorized(&headers));
    headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
    assert!(!sim.authorized(&headers));
}

#[test]
fn the_hourly_budget_runs_out() {
    let sim = simulator();
    sim.set_requests_per_hour(1);
    let first = sim.spend_budget();
    assert_eq!(
        (first.limit, first.remaining, first.retry_after_secs),
        (1, 0, None)
    );
    let over = sim.spend_budget();
    assert!(over
        .retry_after_secs
        .is_some_and(|secs| (1..=3600).contains(&secs)));
}

#[test]
fn cursors_round_trip() {
    assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
    assert_eq!(decode_cursor("Y3Vyc29yOjE="), None);
}
