//! Security #15, provider input: the real clients against tiny local servers that misbehave.
//! A redirect is never followed (so no token reaches another host), and a provider or health
//! endpoint streaming a body without end fails with a typed error at the cap instead of
//! filling memory.

mod common;

use common::providers::{serve_on_loopback, Simulated};

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use futures::StreamExt;
use server::providers::github::GithubClient;
use server::providers::health::{HealthCheckSpec, HealthChecker};
use server::providers::http::{build_client, MAX_HEALTH_BODY, MAX_PROVIDER_BODY};
use server::providers::railway::{RailwayClient, RailwayClientConfig, RailwayTokenKind};
use server::providers::{DeploymentProvider, ProviderError};
use server::simulators::github::GithubSimulator;
use server::simulators::railway::RailwaySimulator;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "tok_never_leaves_0123456789";

/// A loopback server; every request's headers are recorded.
struct Spy {
    base: String,
    seen: Arc<Mutex<Vec<HeaderMap>>>,
}

impl Spy {
    async fn start(answer: fn() -> Response) -> Self {
        let seen: Arc<Mutex<Vec<HeaderMap>>> = Arc::default();
        let record = seen.clone();
        let app = Router::new().route(
            "/{*path}",
            any(move |headers: HeaderMap| {
                let record = record.clone();
                async move {
                    record.lock().unwrap().push(headers);
                    answer()
                }
            }),
        );
        let base = serve_on_loopback(app).await;
        Self { base, seen }
    }

    fn requests(&self) -> usize {
        self.seen.lock().unwrap().len()
    }

    fn saw_token(&self) -> bool {
        self.seen.lock().unwrap().iter().any(|headers| {
            headers
                .values()
                .any(|value| String::from_utf8_lossy(value.as_bytes()).contains(TOKEN))
        })
    }
}

/// A server that answers every request with a 302 to `target`.
async fn redirector(target: &str) -> String {
    let target = target.to_string();
    let app = Router::new().route(
        "/{*path}",
        any(move || {
            let target = target.clone();
            async move {
                (
                    StatusCode::FOUND,
                    [(axum::http::header::LOCATION, format!("{target}/stolen"))],
                )
                    .into_response()
            }
        }),
    );
    serve_on_loopback(app).await
}

/// `bytes` of JSON-ish text (an array of zeros), streamed in 64 KiB chunks without a length.
fn endless(bytes: usize) -> Response {
    const CHUNK: usize = 64 * 1024;
    let chunks = bytes.div_ceil(CHUNK);
    let body = futures::stream::iter(0..chunks).map(move |index| {
        let size = CHUNK.min(bytes - index * CHUNK);
        let mut chunk = vec![b'0'; size];
        if index == 0 {
            chunk[0] = b'[';
        }
        Ok::<_, std::convert::Infallible>(bytes::Bytes::from(chunk))
    });
    (
        StatusCode::OK,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        Body::from_stream(body),
    )
        .into_response()
}

/// The kit's GitHub client (every environment, the Deployments source), aimed at `api_base`.
fn github(api_base: &str) -> GithubClient {
    GithubSimulator::build(build_client(), GithubSimulator::config(api_base, TOKEN))
}

/// The kit's Railway client, with a project access token, aimed at `api_base`.
fn railway(api_base: &str) -> RailwayClient {
    let config = RailwayClientConfig {
        token_kind: RailwayTokenKind::ProjectAccessToken,
        ..RailwaySimulator::config(api_base, TOKEN)
    };
    RailwaySimulator::build(build_client(), config)
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_the_railway_project_token_stays_home() {
    let elsewhere = Spy::start(|| StatusCode::OK.into_response()).await;
    let api = redirector(&elsewhere.base).await;
    let error = railway(&api).live_deployments().await.unwrap_err();
    assert_eq!(error, ProviderError::Redirected { status: 302 });
    assert!(error.summary().contains("redirect"), "{}", error.summary());
    assert_eq!(elsewhere.requests(), 0, "the redirect was followed");
    assert!(!elsewhere.saw_token());
}

#[tokio::test]
async fn a_redirect_is_not_followed_and_the_github_bearer_token_stays_home() {
    let elsewhere = Spy::start(|| StatusCode::OK.into_response()).await;
    let api = redirector(&elsewhere.base).await;
    let client = github(&api);
    for error in [
        client.live_deployments().await.unwrap_err(),
        client.list_deployments(None, 10).await.unwrap_err(),
        client.deployment("1").await.unwrap_err(),
    ] {
        assert_eq!(error, ProviderError::Redirected { status: 302 });
    }
    assert_eq!(elsewhere.requests(), 0, "the redirect was followed");
    assert!(!elsewhere.saw_token());
}

#[tokio::test]
async fn a_provider_body_past_the_cap_is_a_typed_error_not_a_buffer_without_end() {
    let huge = Spy::start(|| endless(MAX_PROVIDER_BODY + 1024 * 1024)).await;
    let error = github(&huge.base).list_deployments(None, 10).await;
    assert_eq!(
        error.unwrap_err(),
        ProviderError::TooLarge {
            limit_bytes: MAX_PROVIDER_BODY as u64
        }
    );
    let error = railway(&huge.base).live_deployments().await.unwrap_err();
    assert!(matches!(error, ProviderError::TooLarge { .. }), "{error:?}");
    assert!(error.summary().contains("8 MiB"), "{}", error.summary());
    // Just under the cap is read (and then fails as the garbage it is).
    let fits = Spy::start(|| endless(MAX_PROVIDER_BODY - 1024)).await;
    let error = github(&fits.base)
        .list_deployments(None, 10)
        .await
        .unwrap_err();
    assert!(
        matches!(error, ProviderError::Malformed { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_health_check_reads_at_most_its_cap_and_follows_no_redirect() {
    let checker = HealthChecker::new(build_client());
    let spec = |url: String| HealthCheckSpec {
        url,
        expect_status: None,
        expect_json: None,
        degraded_latency: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
    };
    let huge = Spy::start(|| endless(MAX_HEALTH_BODY * 3)).await;
    let view = checker.check(&spec(format!("{}/health", huge.base))).await;
    assert_eq!(view.state, app::model::HealthState::Unknown);
    assert!(
        view.detail
            .as_deref()
            .unwrap()
            .contains("larger than 1024 KiB"),
        "{view:?}"
    );

    let elsewhere = Spy::start(|| StatusCode::OK.into_response()).await;
    let moved = redirector(&elsewhere.base).await;
    let view = checker.check(&spec(format!("{moved}/health"))).await;
    assert_eq!(view.state, app::model::HealthState::Down);
    assert!(view.detail.as_deref().unwrap().contains("not followed"));
    assert_eq!(elsewhere.requests(), 0);
}
