use super::*;
use crate::simulators::skeleton::test_kit::spec;
use chrono::TimeZone;

fn phases(sim: &DigitalOceanSimulator, app_id: &str) -> Vec<(String, String)> {
    let params = ListParams::parse(Some("per_page=200")).unwrap();
    let list = sim
        .list(app_id, &params, "http://x/v2/apps/a/deployments")
        .unwrap();
    list["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_string(),
                d["phase"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_ready_push_goes_active_and_supersedes_the_previous_one() {
    let sim = DigitalOceanSimulator::new("t");
    sim.add_app("app-1", "api");
    let first = sim.push_deployment("app-1", &spec(1, SimOutcome::Ready));
    let failed = sim.push_deployment("app-1", &spec(2, SimOutcome::Failed));
    let second = sim.push_deployment("app-1", &spec(3, SimOutcome::Ready));
    let building = sim.push_deployment("app-1", &spec(4, SimOutcome::Building));
    let canceled = sim.push_deployment("app-1", &spec(5, SimOutcome::Canceled));
    let as_pairs = |items: &[(&String, &str)]| -> Vec<(String, String)> {
        items
            .iter()
            .map(|(id, phase)| ((*id).clone(), phase.to_string()))
            .collect()
    };
    assert_eq!(
        phases(&sim, "app-1"),
        as_pairs(&[
            (&canceled, "CANCELED"),
            (&building, "BUILDING"),
            (&second, "ACTIVE"),
            (&failed, "ERROR"),
            (&first, "SUPERSEDED"),
        ])
    );
    let app = sim.app_json("app-1").unwrap();
    assert_eq!(app["app"]["active_deployment"]["id"], json!(second));
    assert_eq!(app["app"]["in_progress_deployment"]["id"], json!(building));
    assert_eq!(app["app"]["live_url"], "https://api-sim.ondigitalocean.app");

    let superseded = sim.deployment_json("app-1", &first).unwrap();
    let deployment = &superseded["deployment"];
    assert_eq!(deployment["created_at"], "2026-03-01T12:01:00Z");
    assert_eq!(
        deployment["progress"]["steps"][1]["ended_at"],
        "2026-03-01T12:03:00Z"
    );
    assert_eq!(deployment["phase_last_updated_at"], "2026-03-01T12:05:00Z");
    assert_eq!(
        deployment["services"][0]["source_commit_hash"],
        json!(format!("{:040x}", 1))
    );
    assert_eq!(
        deployment["cause"],
        "commit 0000000 pushed to github/acme/api"
    );
    let in_progress = sim.deployment_json("app-1", &building).unwrap();
    assert_eq!(
        in_progress["deployment"]["progress"]["steps"][0]["ended_at"],
        ZERO_TIME
    );
    assert_eq!(
        sim.deployment_json("app-1", "nope"),
        Err(SimError::NotFound)
    );
}

#[test]
fn an_app_without_an_active_deployment_has_none() {
    let sim = DigitalOceanSimulator::new("t");
    sim.push_deployment("app-2", &spec(1, SimOutcome::Failed));
    let app = sim.app_json("app-2").unwrap();
    assert!(app["app"].get("active_deployment").is_none());
    assert!(app["app"].get("live_url").is_none());
    assert_eq!(sim.app_json("app-3"), Err(SimError::NotFound));
}

#[test]
fn pages_link_to_their_neighbours() {
    let sim = DigitalOceanSimulator::new("t");
    for minute in 0..5 {
        sim.push_deployment("a", &spec(minute, SimOutcome::Ready));
    }
    let base = "http://127.0.0.1:1/do/v2/apps/a/deployments";
    let page = |query: &str| {
        sim.list("a", &ListParams::parse(Some(query)).unwrap(), base)
            .unwrap()
    };
    let first = page("per_page=2");
    assert_eq!(first["meta"]["total"], 5);
    assert_eq!(first["deployments"].as_array().unwrap().len(), 2);
    assert_eq!(
        first["links"]["pages"]["next"],
        json!(format!("{base}?page=2&per_page=2"))
    );
    assert_eq!(
        first["links"]["pages"]["last"],
        json!(format!("{base}?page=3&per_page=2"))
    );
    assert!(first["links"]["pages"].get("prev").is_none());
    let last = page("page=3&per_page=2");
    assert_eq!(last["deployments"].as_array().unwrap().len(), 1);
    assert!(last["links"]["pages"].get("next").is_none());
    assert_eq!(
        last["links"]["pages"]["prev"],
        json!(format!("{base}?page=2&per_page=2"))
    );
    let beyond = page("page=9&per_page=2");
    assert_eq!(beyond["deployments"], json!([]));
    assert!(matches!(
        ListParams::parse(Some("per_page=201")),
        Err(SimError::BadRequest(_))
    ));
    assert!(matches!(
        ListParams::parse(Some("page=0")),
        Err(SimError::BadRequest(_))
    ));
}

#[test]
fn health_reports_each_component() {
    let sim = DigitalOceanSimulator::new("t");
    sim.add_app("a", "api");
    sim.set_component_health("a", "worker", SimComponentState::Unhealthy);
    let health = sim.health_json("a").unwrap();
    let components = health["app_health"]["components"].as_array().unwrap();
    assert_eq!(components.len(), 2);
    assert_eq!(components[0]["name"], "web");
    assert_eq!(components[0]["state"], "HEALTHY");
    assert_eq!(components[1]["state"], "UNHEALTHY");
    assert_eq!(components[1]["replicas_ready"], 0);
}

#[test]
fn the_budgets_run_out_by_the_minute_and_by_the_hour() {
    let sim = DigitalOceanSimulator::new("t");
    sim.set_rate_limits(100, 2);
    let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    let first = sim.spend_budget(now);
    assert_eq!(
        (first.limit, first.remaining, first.retry_after_secs),
        (100, 99, None)
    );
    assert_eq!(first.reset_epoch, now.timestamp() + 3600);
    sim.spend_budget(now + ChronoDuration::seconds(10));
    let burst = sim.spend_budget(now + ChronoDuration::seconds(20));
    assert!(burst.throttled);
    assert_eq!(burst.remaining, 98, "the hourly budget is not used up");
    assert_eq!(
        burst.retry_after_secs,
        Some(40),
        "until the first request leaves the minute"
    );
    let later = sim.spend_budget(now + ChronoDuration::seconds(61));
    assert!(!later.throttled);
    assert_eq!(later.remaining, 97);

    sim.set_rate_limits(3, 100);
    let hourly = sim.spend_budget(now + ChronoDuration::seconds(62));
    assert!(hourly.throttled);
    assert_eq!(hourly.remaining, 0);
    assert_eq!(
        hourly.retry_after_secs, None,
        "over the hour: no retry-after header"
    );
    assert_eq!(hourly.reset_epoch, now.timestamp() + 3600);
}
