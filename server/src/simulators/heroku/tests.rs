use super::*;
use crate::simulators::skeleton::test_kit::spec;
use chrono::TimeZone;

fn listed(sim: &HerokuSimulator, range: &str) -> (Vec<(u64, String, bool)>, Option<String>) {
    let range = RangeSpec::parse(Some(range)).unwrap();
    let (body, next) = sim.list("shop", &range).unwrap();
    let rows = body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["version"].as_u64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
                r["current"].as_bool().unwrap(),
            )
        })
        .collect();
    (rows, next)
}

#[test]
fn a_succeeded_release_becomes_current() {
    let sim = HerokuSimulator::new("t");
    sim.add_app("shop");
    sim.push_deployment("shop", &spec(1, SimOutcome::Ready));
    sim.push_deployment("shop", &spec(2, SimOutcome::Failed));
    sim.push_deployment("shop", &spec(3, SimOutcome::Building));
    sim.push_deployment("shop", &spec(4, SimOutcome::Canceled));
    let (rows, next) = listed(&sim, "version ..; order=desc");
    assert_eq!(
        rows,
        vec![
            (4, "failed".into(), false),
            (3, "pending".into(), false),
            (2, "failed".into(), false),
            (1, "succeeded".into(), true),
        ]
    );
    assert_eq!(next, None);
    sim.push_release("shop", &spec(5, SimOutcome::Ready));
    let config = sim.push_config_release(
        "shop",
        "Set FOO config vars",
        "bob@example.com",
        Utc.with_ymd_and_hms(2026, 3, 1, 12, 30, 0).unwrap(),
    );
    let (rows, _) = listed(&sim, "version ..; order=desc, max=3");
    assert_eq!(rows[0], (6, "succeeded".into(), true));
    assert_eq!(rows[1], (5, "succeeded".into(), false));
    let release = sim.release("shop", &config).unwrap();
    let by_version = sim.release("shop", "5").unwrap();
    assert_eq!(
        release["slug"], by_version["slug"],
        "config releases reuse the slug"
    );
    assert_eq!(release["description"], "Set FOO config vars");
    assert_eq!(by_version["description"], "Deploy 0000000");
    assert_eq!(by_version["user"]["email"], "ada@example.com");
    assert_eq!(by_version["created_at"], "2026-03-01T12:05:00Z");
    assert_eq!(by_version["updated_at"], "2026-03-01T12:07:00Z");
    let slug_id = by_version["slug"]["id"].as_str().unwrap();
    let slug = sim.slug("shop", slug_id).unwrap();
    assert_eq!(slug["commit"], json!(format!("{:040x}", 5)));
    assert_eq!(slug["commit_description"], "change 5");
    let pending = sim.release("shop", "3").unwrap();
    assert_eq!(pending["updated_at"], pending["created_at"]);
    assert_eq!(sim.release("shop", "99"), Err(SimError::ReleaseNotFound));
    assert_eq!(sim.release("nope", "1"), Err(SimError::AppNotFound));
    // The app's id works in place of its name.
    let app_id = sim.app_id("shop").unwrap();
    assert!(sim.release(&app_id, "1").is_ok());
}

#[test]
fn ranges_page_with_next_range() {
    let sim = HerokuSimulator::new("t");
    for minute in 1..=5 {
        sim.push_deployment("shop", &spec(minute, SimOutcome::Ready));
    }
    let (rows, next) = listed(&sim, "version ..; order=desc, max=2");
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [5, 4]);
    let next = next.unwrap();
    assert_eq!(next, "version ]4..; order=desc, max=2");
    let (rows, next) = listed(&sim, &next);
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [3, 2]);
    let (rows, next) = listed(&sim, &next.unwrap());
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1]);
    assert_eq!(next, None, "the rest fits: a 200");

    let (rows, next) = listed(&sim, "version 2..3");
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 3]);
    assert_eq!(next, None);
    let (rows, _) = listed(&sim, "version ]2..; max=1");
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [3]);
    let (rows, _) = listed(&sim, "]3..; order=desc");
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 1]);
    let (rows, next) = listed(&sim, "id ..; max=4");
    assert_eq!(rows.len(), 4);
    assert!(next.unwrap().starts_with("id ]"));
}

#[test]
fn bad_ranges_are_refused() {
    for bad in [
        "name ..",
        "version 1",
        "version a..",
        "version ..; max=0",
        "version ..; order=sideways",
        "version ..; colour=blue",
    ] {
        assert!(
            matches!(RangeSpec::parse(Some(bad)), Err(SimError::BadRange(_))),
            "{bad}"
        );
    }
    assert_eq!(RangeSpec::parse(None).unwrap(), RangeSpec::default_range());
    assert_eq!(
        RangeSpec::parse(Some("version ..; max=5000")).unwrap().max,
        MAX_MAX
    );
}

#[test]
fn the_accept_header_must_name_version_3() {
    let with = |value: &str| {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        accepts_v3(&headers)
    };
    assert!(with("application/vnd.heroku+json; version=3"));
    assert!(with("application/vnd.heroku+json;version=3"));
    assert!(!with("application/json"));
    assert!(!with("application/vnd.heroku+json"));
    assert!(!with("application/vnd.heroku+json; version=2"));
    assert!(!accepts_v3(&HeaderMap::new()));
}

#[test]
fn the_token_pool_runs_dry() {
    let sim = HerokuSimulator::new("t");
    sim.set_rate_limit(2, 60);
    assert_eq!(sim.spend_token().remaining, 1);
    assert_eq!(sim.spend_token().remaining, 0);
    let dry = sim.spend_token();
    assert_eq!(dry.remaining, 0);
    assert_eq!(dry.retry_after_secs, Some(1), "one token a second");
}
