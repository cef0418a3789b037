use super::*;
use crate::simulators::skeleton::test_kit;

fn spec(minute: u32, outcome: SimOutcome) -> SimDeploymentSpec {
    SimDeploymentSpec {
        author: "Ada Lovelace".into(),
        ..test_kit::spec(minute, outcome)
    }
}

fn run(sim: &FlySimulator, query: &str, variables: Value) -> Result<Value, GraphQlFailure> {
    let Value::Object(variables) = variables else {
        panic!("variables must be an object");
    };
    sim.execute(query, &variables)
}

const QUERY: &str = "query($appName: String!, $first: Int!, $after: String) { app(name: $appName) { current: currentReleaseUnprocessed { id } releases: releasesUnprocessed(first: $first, after: $after) { nodes { id } pageInfo { endCursor hasNextPage } } } }";

#[test]
fn a_ready_push_goes_current_and_moves_the_machines() {
    let sim = FlySimulator::new("t");
    sim.add_app("web");
    assert!(sim.machine_ids("web").is_empty());
    let first = sim.push_deployment("web", &spec(1, SimOutcome::Ready));
    assert_eq!(first, "rel_0000000000000001");
    let machines = sim.machine_ids("web");
    assert_eq!(machines.len(), 2);
    let failed = sim.push_deployment("web", &spec(2, SimOutcome::Failed));
    assert_eq!(sim.current_release_id("web"), Some(first.clone()));
    let second = sim.push_deployment("web", &spec(3, SimOutcome::Ready));
    let running = sim.push_deployment("web", &spec(4, SimOutcome::Building));
    let interrupted = sim.push_deployment("web", &spec(5, SimOutcome::Canceled));
    assert_eq!(sim.current_release_id("web"), Some(second.clone()));
    assert_eq!(
        sim.machine_ids("web"),
        machines,
        "the same machines, updated"
    );

    let data = run(&sim, QUERY, json!({ "appName": "web", "first": 10 })).unwrap();
    let nodes = data["app"]["releases"]["nodes"].as_array().unwrap();
    let listed: Vec<(&str, &str, i64)> = nodes
        .iter()
        .map(|node| {
            (
                node["id"].as_str().unwrap(),
                node["status"].as_str().unwrap(),
                node["version"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            (interrupted.as_str(), "interrupted", 5),
            (running.as_str(), "running", 4),
            (second.as_str(), "complete", 3),
            (failed.as_str(), "failed", 2),
            (first.as_str(), "complete", 1),
        ]
    );
    assert_eq!(data["app"]["current"]["id"], second.as_str());
    assert_eq!(nodes[2]["user"]["email"], "ada-lovelace@example.com");
    assert_eq!(nodes[2]["createdAt"], "2026-03-01T12:03:00Z");
    assert_eq!(nodes[2]["updatedAt"], "2026-03-01T12:05:00Z");
    assert_eq!(
        nodes[1]["updatedAt"], nodes[1]["createdAt"],
        "still running"
    );

    let listed = sim.machines("web", None).unwrap();
    let second_image = nodes[2]["imageRef"].as_str().unwrap();
    assert!(second_image.starts_with("registry.fly.io/web:deployment-01J"));
    for machine in &listed {
        assert_eq!(machine["config"]["image"], second_image);
        assert_eq!(machine["config"]["metadata"]["fly_release_version"], "3");
        assert_eq!(machine["state"], "started");
    }
}

#[test]
fn machines_can_be_rolled_back_without_a_release() {
    let sim = FlySimulator::new("t");
    let first = sim.push_deployment("web", &spec(1, SimOutcome::Ready));
    let second = sim.push_deployment("web", &spec(2, SimOutcome::Ready));
    assert!(sim.roll_machines_to("web", &first));
    assert!(!sim.roll_machines_to("web", "rel_nope"));
    assert!(!sim.roll_machines_to("nope", &first));
    assert_eq!(sim.current_release_id("web"), Some(second));
    let machines = sim.machines("web", None).unwrap();
    let data = run(&sim, QUERY, json!({ "appName": "web", "first": 10 })).unwrap();
    let first_image = data["app"]["releases"]["nodes"][1]["imageRef"].clone();
    assert_eq!(machines[0]["config"]["image"], first_image);
    assert_eq!(
        machines[0]["config"]["metadata"]["fly_release_version"],
        "2"
    );
    assert_eq!(data["app"]["releases"]["totalCount"], 2);
}

#[test]
fn releases_page_with_relay_cursors() {
    let sim = FlySimulator::new("t");
    let ids: Vec<String> = (1..=5)
        .map(|minute| sim.push_deployment("web", &spec(minute, SimOutcome::Ready)))
        .collect();
    let page = |after: Value| {
        run(
            &sim,
            QUERY,
            json!({ "appName": "web", "first": 2, "after": after }),
        )
        .unwrap()["app"]["releases"]
            .clone()
    };
    let one = page(Value::Null);
    assert_eq!(one["nodes"][0]["id"], ids[4].as_str());
    assert_eq!(one["pageInfo"]["hasNextPage"], true);
    let two = page(one["pageInfo"]["endCursor"].clone());
    assert_eq!(two["nodes"][0]["id"], ids[2].as_str());
    assert_eq!(two["edges"][1]["node"]["id"], ids[1].as_str());
    let three = page(two["pageInfo"]["endCursor"].clone());
    assert_eq!(three["nodes"].as_array().unwrap().len(), 1);
    assert_eq!(three["pageInfo"]["hasNextPage"], false);
    assert_eq!(three["pageInfo"]["hasPreviousPage"], true);

    let bad = run(
        &sim,
        QUERY,
        json!({ "appName": "web", "first": 2, "after": "zz" }),
    );
    assert!(bad.unwrap_err().message.contains("Invalid cursor"));
    let negative = run(&sim, QUERY, json!({ "appName": "web", "first": -1 }));
    assert!(negative.is_err());
    let literal = run(
        &sim,
        r#"{ app(name: "web") { releasesUnprocessed(first: 200, status: "complete") { totalCount nodes { id } } } }"#,
        json!({}),
    )
    .unwrap();
    assert_eq!(literal["app"]["releasesUnprocessed"]["totalCount"], 5);
    let backwards = run(
        &sim,
        r#"{ app(name: "web") { releasesUnprocessed(last: 2) { nodes { id } } } }"#,
        json!({}),
    );
    assert!(backwards.is_err());
}

#[test]
fn unknown_apps_and_queries_are_graphql_errors() {
    let sim = FlySimulator::new("t");
    let failure = run(&sim, QUERY, json!({ "appName": "ghost", "first": 1 })).unwrap_err();
    assert_eq!(failure.message, "Could not find App \"ghost\"");
    assert_eq!(failure.code, Some("NOT_FOUND"));
    assert_eq!(failure.path.as_deref(), Some("app"));
    assert!(run(&sim, "{ viewer { id } }", json!({})).is_err());
    assert!(sim.machines("ghost", None).is_none());
}

#[test]
fn fields_are_found_as_whole_words_with_aliases() {
    let variables = Map::from_iter([("appName".to_string(), json!("web"))]);
    let query = "query($appName: String!) { a: app(name: $appName) { cur: currentReleaseUnprocessed { id } releasesUnprocessed(first: 3, after: \"c1)\") { nodes { id } } } } fragment F on ReleaseUnprocessed { id }";
    let app = find_field(query, "app", &variables).unwrap();
    assert_eq!(app.key, "a");
    assert_eq!(app.arguments.get("name"), Some(&json!("web")));
    let current = find_field(query, "currentReleaseUnprocessed", &variables).unwrap();
    assert_eq!(current.key, "cur");
    assert!(current.arguments.is_empty());
    let releases = find_field(query, "releasesUnprocessed", &variables).unwrap();
    assert_eq!(releases.key, "releasesUnprocessed");
    assert_eq!(releases.arguments.get("first"), Some(&json!(3)));
    assert_eq!(releases.arguments.get("after"), Some(&json!("c1)")));
    assert_eq!(find_field("{ appName }", "app", &variables), None);
}

#[test]
fn machine_filters_follow_the_machines_api() {
    let sim = FlySimulator::new("t");
    sim.push_deployment("web", &spec(1, SimOutcome::Ready));
    let ids = sim.machine_ids("web");
    assert!(sim.set_machine_state("web", &ids[0], "destroyed"));
    assert!(!sim.set_machine_state("web", "nope", "stopped"));
    assert_eq!(sim.machines("web", None).unwrap().len(), 1);
    assert_eq!(
        sim.machines("web", Some("include_deleted=true"))
            .unwrap()
            .len(),
        2
    );
    assert_eq!(sim.machines("web", Some("region=ams")).unwrap().len(), 1);
    assert_eq!(sim.machines("web", Some("region=ord")).unwrap().len(), 0);
    let group = sim
        .machines(
            "web",
            Some("include_deleted=true&metadata.fly_process_group=app"),
        )
        .unwrap();
    assert_eq!(group.len(), 2);
    assert!(sim
        .machines("web", Some("metadata.fly_process_group=worker"))
        .unwrap()
        .is_empty());
}

#[test]
fn both_token_schemes_are_checked() {
    let with = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    };
    let plain = FlySimulator::new("pat_123");
    assert!(plain.authorized(&with("Bearer pat_123")));
    assert!(!plain.authorized(&with("FlyV1 pat_123")));
    assert!(!plain.authorized(&with("Bearer pat_1234")));
    assert!(!plain.authorized(&HeaderMap::new()));
    let macaroon = FlySimulator::new("fm2_abc,fm2_def");
    assert!(macaroon.authorized(&with("FlyV1 fm2_abc,fm2_def")));
    assert!(!macaroon.authorized(&with("Bearer fm2_abc,fm2_def")));
}

#[test]
fn ids_look_like_flys() {
    let tag = ulid_like(7);
    assert_eq!(tag.len(), 26);
    assert!(tag.starts_with("01J"));
    assert_ne!(ulid_like(7), ulid_like(8));
    assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
    assert_eq!(decode_cursor("42"), None);
    assert_eq!(slug("Ada Lovelace!"), "ada-lovelace");
    assert_eq!(slug("—"), "user");
    let name = machine_name(3);
    assert_eq!(name.split('-').count(), 3);
}
