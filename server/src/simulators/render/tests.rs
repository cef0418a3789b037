use super::*;
use crate::simulators::skeleton::test_kit::spec;

fn statuses(sim: &RenderSimulator, service_id: &str) -> Vec<(String, &'static str)> {
    let params = ListParams::parse(None).unwrap();
    sim.list(service_id, &params)
        .unwrap()
        .into_iter()
        .map(|item| (item.deploy.id, item.deploy.status))
        .collect()
}

#[test]
fn a_ready_push_goes_live_and_deactivates_the_previous_live() {
    let sim = RenderSimulator::new("t");
    sim.add_service("srv-a", "api");
    let first = sim.push_deployment("srv-a", &spec(1, SimOutcome::Ready));
    let failed = sim.push_deployment("srv-a", &spec(2, SimOutcome::Failed));
    assert_eq!(
        statuses(&sim, "srv-a"),
        vec![(failed.clone(), "build_failed"), (first.clone(), "live")]
    );
    let second = sim.push_deployment("srv-a", &spec(3, SimOutcome::Ready));
    let building = sim.push_deployment("srv-a", &spec(4, SimOutcome::Building));
    let canceled = sim.push_deployment("srv-a", &spec(5, SimOutcome::Canceled));
    assert_eq!(
        statuses(&sim, "srv-a"),
        vec![
            (canceled, "canceled"),
            (building.clone(), "build_in_progress"),
            (second, "live"),
            (failed, "build_failed"),
            (first.clone(), "deactivated"),
        ]
    );
    assert!(first.starts_with("dep-") && first.len() == 24);
    let in_progress = sim.get("srv-a", &building).unwrap();
    assert_eq!(in_progress.finished_at, None);
    let done = sim.get("srv-a", &first).unwrap();
    assert_eq!(done.finished_at.as_deref(), Some("2026-03-01T12:03:00Z"));
    assert_eq!(done.created_at, "2026-03-01T12:01:00Z");
}

#[test]
fn services_are_separate() {
    let sim = RenderSimulator::new("t");
    sim.add_service("srv-a", "api");
    let a = sim.push_deployment("srv-a", &spec(1, SimOutcome::Ready));
    let b = sim.push_deployment("srv-b", &spec(2, SimOutcome::Ready));
    assert_eq!(statuses(&sim, "srv-a"), vec![(a, "live")]);
    assert_eq!(statuses(&sim, "srv-b"), vec![(b.clone(), "live")]);
    assert_eq!(sim.service_name("srv-b").as_deref(), Some("srv-b"));
    assert!(matches!(
        sim.get("srv-a", &b),
        Err(SimError::DeployNotFound)
    ));
    assert!(matches!(
        sim.list("srv-c", &ListParams::parse(None).unwrap()),
        Err(SimError::ServiceNotFound)
    ));
}

#[test]
fn query_parameters_are_checked() {
    let params =
        ListParams::parse(Some("limit=5&status=live,canceled&status=queued&cursor=ab")).unwrap();
    assert_eq!(
        params,
        ListParams {
            limit: 5,
            cursor: Some("ab".into()),
            statuses: vec!["live".into(), "canceled".into(), "queued".into()],
        }
    );
    assert_eq!(ListParams::parse(None).unwrap().limit, DEFAULT_LIMIT);
    for bad in ["limit=0", "limit=101", "limit=ten", "status=exploded"] {
        assert!(
            matches!(ListParams::parse(Some(bad)), Err(SimError::BadRequest(_))),
            "{bad}"
        );
    }
}

#[test]
fn cursors_round_trip_and_reject_junk() {
    let cursor = encode_cursor("dep-0000000000000000002a");
    assert_eq!(
        decode_cursor(&cursor).as_deref(),
        Some("dep-0000000000000000002a")
    );
    assert_eq!(decode_cursor("abc"), None);
    assert_eq!(decode_cursor("zz"), None);
}

#[test]
fn the_rate_budget_runs_out_within_a_window() {
    let sim = RenderSimulator::new("t");
    sim.set_requests_per_minute(2);
    let first = sim.spend_budget();
    assert_eq!(
        (first.limit, first.remaining, first.retry_after_secs),
        (2, 1, None)
    );
    assert_eq!(sim.spend_budget().remaining, 0);
    let over = sim.spend_budget();
    assert_eq!(over.remaining, 0);
    assert!(over
        .retry_after_secs
        .is_some_and(|secs| (1..=60).contains(&secs)));
}
