//! A board too big for one page (130 services in production): the overview card carries 25
//! rows with the ones that need attention first, the environment's own view pages through all
//! of them, and the live stream of a view carries only that view's rows.

mod common;

use common::app::serve;
use common::TestApp;
use server::simulators::health::{HealthSimulator, SimHealthEndpoint};
use server::simulators::render::RenderSimulator;
use server::simulators::{SimDeploymentSpec, SimOutcome};
use std::sync::Arc;

const TOKEN: &str = "rnd_board_test";
const SERVICES: usize = 130;
/// The one service whose health check fails.
const BROKEN: usize = 117;

fn name(index: usize) -> String {
    format!("svc-{index:04}")
}

/// 130 services on one Render account, each with a health check (one failing), once every
/// service has a live deployment and the broken one is seen down.
async fn spawn_board() -> TestApp {
    let render = Arc::new(RenderSimulator::new(TOKEN));
    render.set_requests_per_minute(1_000_000);
    let health = Arc::new(HealthSimulator::new());
    for index in 0..SERVICES {
        let id = format!("srv-board{index:04}");
        render.add_service(&id, &name(index));
        render.push_deployment(
            &id,
            &SimDeploymentSpec {
                commit_sha: format!("{index:040x}"),
                commit_message: "Ship it".into(),
                author: "Test".into(),
                branch: "main".into(),
                pr_number: None,
                outcome: SimOutcome::Ready,
                created_at: chrono::Utc::now() - chrono::Duration::hours(1),
            },
        );
        let endpoint = if index == BROKEN {
            SimHealthEndpoint::down(503)
        } else {
            SimHealthEndpoint::ok()
        };
        health.set_endpoint(&name(index), endpoint);
    }
    let simulators = serve(
        axum::Router::new()
            .nest("/render/v1", render.clone().router())
            .nest("/health", health.clone().router()),
    )
    .await;
    let providers_base = &simulators.base;

    let mut text = format!(
        "[monitor]\npoll_interval_secs = 1\nhealth_interval_secs = 1\nhistory_depth = 3\n\n\
         [auth]\nmode = \"none\"\n\n\
         [[environments]]\nname = \"production\"\nkind = \"production\"\n\n\
         [providers.render]\nkind = \"render\"\ntoken_env = \"BOARD_TOKEN\"\n\
         api_base = \"{providers_base}/render/v1\"\n"
    );
    for index in 0..SERVICES {
        text.push_str(&format!(
            "\n[[services]]\nname = \"{service}\"\nprovider = \"render\"\n\n\
             [services.environments.production]\nservice_id = \"srv-board{index:04}\"\n\
             health = {{ url = \"{providers_base}/health/{service}\", \
             json_pointer = \"/status\", expect_value = \"ok\" }}\n",
            service = name(index)
        ));
    }
    let board = TestApp::with_config_text(text)
        .env("BOARD_TOKEN", TOKEN)
        .runbooks(&[])
        .simulators(simulators)
        .start()
        .await;
    board
        .wait_for_status(
            "every service polled and the broken one seen down",
            |status| {
                let rows = status["environments"][0]["services"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let all_live =
                    rows.len() == SERVICES && rows.iter().all(|row| !row["live"].is_null());
                let broken_seen = rows
                    .iter()
                    .any(|row| row["service"] == name(BROKEN) && row["health"]["state"] == "down");
                all_live && broken_seen
            },
        )
        .await;
    board
}

/// The services shown as rows, in page order.
fn row_names(html: &str) -> Vec<String> {
    html.split("data-service=\"")
        .skip(1)
        .filter_map(|piece| piece.split('"').next())
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn a_big_environment_is_cut_to_a_card_with_problems_first_and_paged_in_its_own_view() {
    let board = spawn_board().await;

    // The JSON API stays complete.
    let (_, body) = board.get("/api/v1/status").await;
    assert_eq!(
        row_names(&body.replace("\"service\":\"", "data-service=\"")).len(),
        SERVICES
    );

    // The overview: 25 rows, the broken service among them although it is configured 118th.
    let (status, html) = board.get("/").await;
    assert_eq!(status, 200);
    let shown = row_names(&html);
    assert_eq!(shown.len(), 25, "{shown:?}");
    assert!(shown.contains(&name(BROKEN)), "{shown:?}");
    assert_eq!(shown[0], name(0));
    assert!(html.contains("Showing 25 of 130 services, problems first: 105 more, all operational."));
    assert!(
        html.contains("href=\"/?environment=production\""),
        "no link to the full list"
    );
    assert!(html.contains("All 130 services in production"));
    assert!(
        html.contains("130 service rows"),
        "the summary counts every service"
    );
    assert!(
        html.contains("Outage"),
        "the headline still reflects the broken service"
    );

    // The environment's own view: 100 rows, then the last 30, with a pager.
    let (_, first) = board.get("/?environment=production").await;
    let first_rows = row_names(&first);
    assert_eq!(first_rows.len(), 100);
    assert_eq!(first_rows[99], name(99));
    assert!(first.contains("Services 1–100 of 130."));
    assert!(first.contains("Page 1 of 2"));
    assert!(first.contains("href=\"/?environment=production&amp;page=2\""));
    assert!(first.contains("Back to every environment"));
    let (_, second) = board.get("/?environment=production&page=2").await;
    let second_rows = row_names(&second);
    assert_eq!(second_rows.len(), 30);
    assert_eq!(second_rows[0], name(100));
    assert!(second.contains("Page 2 of 2"));
    assert!(second.contains("← Previous"));

    // An environment that does not exist says so.
    let (status, missing) = board.get("/?environment=nope").await;
    assert_eq!(status, 404);
    assert!(
        missing.contains("no environment is named `nope`"),
        "{missing}"
    );

    // The live stream of a view carries that view only.
    let mut stream = board
        .events("/api/events?environment=production&page=2", None)
        .await;
    assert_eq!(stream.status, 200);
    let event = stream.first_data().await;
    let rows = event["snapshot"]["environments"][0]["services"]
        .as_array()
        .unwrap();
    assert_eq!(rows.len(), 30);
    assert_eq!(rows[0]["service"], name(100));
    assert_eq!(
        event["snapshot"]["environments"][0]["window"]["page"],
        serde_json::json!([2, 2])
    );
}
