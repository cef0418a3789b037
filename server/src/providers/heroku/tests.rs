use super::*;
use crate::providers::testkit::{at, fixture, named};

const LIST_FIXTURE: &str = fixture!("heroku_list_releases.json");
const ROLLBACK_FIXTURE: &str = fixture!("heroku_rollback_response.json");
const SCHEMA_EXAMPLE_ID: &str = "01234567-89ab-cdef-0123-456789abcdef";

fn client() -> HerokuClient {
    HerokuClient::new(
        reqwest::Client::new(),
        HerokuClientConfig {
            api_base: "https://api.heroku.com".into(),
            token: Secret::new("HRKU-test-token"),
            app: "example".into(),
            environment: "production".into(),
        },
    )
}

#[test]
fn every_heroku_release_status_maps_to_a_lookout_state() {
    let cases = [
        ("succeeded", true, DeployState::Ready),
        ("succeeded", false, DeployState::Superseded),
        ("failed", false, DeployState::Failed),
        ("failed", true, DeployState::Failed),
        ("pending", false, DeployState::Deploying),
        ("pending", true, DeployState::Deploying),
        ("expired", false, DeployState::Superseded),
        ("expired", true, DeployState::Ready),
        ("rolled_out", false, DeployState::Unknown),
        ("SUCCEEDED", true, DeployState::Unknown),
        ("", false, DeployState::Unknown),
    ];
    for (status, current, expected) in cases {
        assert_eq!(
            release_state(status, current),
            expected,
            "status {status:?}, current {current}"
        );
    }
}

#[test]
fn list_fixture_parses_into_the_current_release() {
    let releases: Vec<WireRelease> = serde_json::from_str(LIST_FIXTURE).unwrap();
    assert_eq!(releases.len(), 1);
    let release = &releases[0];
    assert_eq!(release.version, Some(11));
    assert!(release.current);
    assert_eq!(release.slug_id(), Some(SCHEMA_EXAMPLE_ID));

    let slug = SlugCommit {
        commit: Some("60883d9e8947a57e04dc9124f25df004866a2051".into()),
        description: Some("fixed a bug with API documentation".into()),
    };
    let releases: Vec<WireRelease> = serde_json::from_str(LIST_FIXTURE).unwrap();
    let release = releases.into_iter().next().unwrap();
    let deployment = client().to_deployment(release, &slug);
    assert_eq!(deployment.id, SCHEMA_EXAMPLE_ID);
    assert_eq!(deployment.state, DeployState::Ready);
    assert_eq!(deployment.provider_state, "succeeded");
    assert_eq!(deployment.environment, named("production"));
    assert_eq!(
        deployment.commit,
        CommitInfo {
            sha: Some("60883d9e8947a57e04dc9124f25df004866a2051".into()),
            // Not a plain deploy: the release's own description is kept.
            message: Some("Added new feature".into()),
            author: None,
            branch: None,
        }
    );
    assert_eq!(deployment.creator.as_deref(), Some("username@example.com"));
    assert_eq!(deployment.pr_number, None);
    assert_eq!(deployment.created_at, at("2012-01-01T12:00:00Z"));
    assert_eq!(deployment.finished_at, at("2012-01-01T12:00:00Z"));
    assert_eq!(deployment.url, None);
    assert_eq!(
        deployment.dashboard_url.as_deref(),
        Some("https://dashboard.heroku.com/apps/example/activity/releases/01234567-89ab-cdef-0123-456789abcdef")
    );
}

#[test]
fn rollback_fixture_parses_as_a_release() {
    let release: WireRelease = serde_json::from_str(ROLLBACK_FIXTURE).unwrap();
    let deployment = client().to_deployment(release, &SlugCommit::default());
    assert_eq!(deployment.id, SCHEMA_EXAMPLE_ID);
    assert_eq!(deployment.state, DeployState::Ready);
    assert_eq!(
        deployment.commit.sha, None,
        "no slug commit, no sha in the text"
    );
    assert_eq!(
        deployment.commit.message.as_deref(),
        Some("Added new feature")
    );
}

#[test]
fn heroku_rollback_eligibility_becomes_the_refusal() {
    let release: WireRelease = serde_json::from_str(ROLLBACK_FIXTURE).unwrap();
    assert_eq!(
        client()
            .to_deployment(release, &SlugCommit::default())
            .rollback_refusal,
        None
    );
    let flagged: WireRelease = serde_json::from_str(
        r#"{"id":"r-2","version":7,"status":"succeeded","slug":{"id":"s"},
            "eligible_for_rollback":false}"#,
    )
    .unwrap();
    let refusal = client()
        .to_deployment(flagged, &SlugCommit::default())
        .rollback_refusal;
    assert_eq!(
        refusal.as_deref(),
        Some("Heroku marks release v7 as not eligible for rollback")
    );
    // Without the flag (older answers) the contract's rule stands in.
    for (body, expected) in [
        (
            r#"{"id":"r","version":3,"status":"failed","slug":{"id":"s"}}"#,
            Some("failed"),
        ),
        (
            r#"{"id":"r","version":3,"status":"succeeded","slug":null}"#,
            Some("no slug"),
        ),
        (
            r#"{"id":"r","version":3,"status":"succeeded","slug":{"id":"s"}}"#,
            None,
        ),
    ] {
        let release: WireRelease = serde_json::from_str(body).unwrap();
        let refusal = client()
            .to_deployment(release, &SlugCommit::default())
            .rollback_refusal;
        match expected {
            Some(word) => assert!(refusal.as_deref().unwrap().contains(word), "{body}"),
            None => assert_eq!(refusal, None, "{body}"),
        }
    }
}

#[test]
fn a_plain_deploy_shows_its_commit() {
    let release: WireRelease = serde_json::from_str(
        r#"{"id":"r-1","version":42,"description":"Deploy de63889","status":"pending",
            "current":false,"created_at":"2026-03-01T09:00:00Z",
            "updated_at":"2026-03-01T09:01:00Z","slug":{"id":"s-1"},
            "user":{"email":"ada@example.com"},"app":{"name":"shop-api"}}"#,
    )
    .unwrap();
    let without_slug = client().to_deployment(release, &SlugCommit::default());
    assert_eq!(without_slug.state, DeployState::Deploying);
    assert_eq!(without_slug.finished_at, None, "still in its release phase");
    assert_eq!(without_slug.commit.sha.as_deref(), Some("de63889"));
    assert_eq!(
        without_slug.commit.message.as_deref(),
        Some("Deploy de63889")
    );
    assert_eq!(
        without_slug.dashboard_url.as_deref(),
        Some("https://dashboard.heroku.com/apps/shop-api/activity/releases/r-1")
    );

    let release: WireRelease = serde_json::from_str(
        r#"{"id":"r-1","description":"Deploy de63889","status":"succeeded","slug":{"id":"s-1"}}"#,
    )
    .unwrap();
    let slug = SlugCommit {
        commit: Some("de63889aa3a1b3c5d7e9f0123456789abcdef012".into()),
        description: Some("Fix the checkout total".into()),
    };
    let with_slug = client().to_deployment(release, &slug);
    assert_eq!(with_slug.commit.sha, slug.commit);
    assert_eq!(
        with_slug.commit.message.as_deref(),
        Some("Fix the checkout total")
    );
    assert_eq!(with_slug.state, DeployState::Superseded);
}

#[test]
fn deploy_descriptions_are_recognised_strictly() {
    assert_eq!(
        deployed_short_sha("Deploy de63889").as_deref(),
        Some("de63889")
    );
    assert_eq!(
        deployed_short_sha("Deploy DE63889AB").as_deref(),
        Some("de63889ab")
    );
    assert_eq!(deployed_short_sha("Rollback to v46"), None);
    assert_eq!(deployed_short_sha("Deploy de63889 by ada"), None);
    assert_eq!(deployed_short_sha("Deploy main"), None);
    assert_eq!(deployed_short_sha("Deploy abc"), None);
    assert_eq!(deployed_short_sha("Set FOO config vars"), None);
}

#[test]
fn error_bodies_give_their_messages() {
    assert_eq!(
        error_message(
            br#"{"id":"rate_limit","message":"Your account reached the API rate limit","url":"https://devcenter.heroku.com/articles/platform-api-reference#rate-limits"}"#
        )
        .as_deref(),
        Some("Your account reached the API rate limit")
    );
    assert_eq!(
        error_message(br#"{"id":"not_acceptable"}"#).as_deref(),
        Some("not_acceptable")
    );
    assert_eq!(error_message(b"<html>oops</html>"), None);
    assert_eq!(error_message(b"{}"), None);
}

#[test]
fn lenient_parsing_ignores_new_fields() {
    let release: WireRelease = serde_json::from_str(
        r#"{"id":"r-9","status":"teleported","created_at":"last week","slug":null,
            "brand_new":{"x":1}}"#,
    )
    .unwrap();
    assert_eq!(release.slug_id(), None);
    let deployment = client().to_deployment(release, &SlugCommit::default());
    assert_eq!(deployment.state, DeployState::Unknown);
    assert_eq!(deployment.provider_state, "teleported");
    assert_eq!(deployment.created_at, None);
    assert_eq!(deployment.creator, None);
    assert!(serde_json::from_str::<Vec<WireRelease>>(r#"{"releases":[]}"#).is_err());
    assert!(serde_json::from_str::<WireRelease>(r#"{"version":3}"#).is_err());
}

#[test]
fn urls_are_built_under_the_api_base_and_encoded() {
    let client = client();
    assert_eq!(
        client.app_url(&["releases"]).unwrap().as_str(),
        "https://api.heroku.com/apps/example/releases"
    );
    assert_eq!(
        client.app_url(&["slugs", "a/../b"]).unwrap().as_str(),
        "https://api.heroku.com/apps/example/slugs/a%2F..%2Fb"
    );
    let mut config = client.config.clone();
    config.api_base = "http://127.0.0.1:9/heroku/".into();
    let nested = HerokuClient::new(reqwest::Client::new(), config);
    assert_eq!(
        nested.app_url(&["releases", "42"]).unwrap().as_str(),
        "http://127.0.0.1:9/heroku/apps/example/releases/42"
    );
    assert!(!format!("{nested:?}").contains("HRKU-test-token"));
    assert_eq!(newest_first_range(15), "version ..; order=desc, max=15");
}
