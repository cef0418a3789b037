use super::*;
use crate::providers::testkit::headers;

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0).unwrap()
}

#[test]
fn retry_after_in_seconds_and_as_a_date() {
    let info = parse_rate_limit(&headers(&[("retry-after", "30")]), now());
    assert_eq!(info.retry_after, Some(Duration::from_secs(30)));
    let date = (now() + chrono::Duration::seconds(90)).to_rfc2822();
    let info = parse_rate_limit(&headers(&[("retry-after", &date)]), now());
    assert_eq!(info.retry_after, Some(Duration::from_secs(90)));
}

#[test]
fn render_reset_is_read_as_relative_or_epoch() {
    let relative = parse_rate_limit(
        &headers(&[("ratelimit-remaining", "0"), ("ratelimit-reset", "45")]),
        now(),
    );
    assert_eq!(relative.wait(now()), Some(Duration::from_secs(45)));
    let epoch = parse_rate_limit(
        &headers(&[
            ("ratelimit-remaining", "0"),
            ("ratelimit-reset", "1700000060"),
        ]),
        now(),
    );
    assert_eq!(epoch.wait(now()), Some(Duration::from_secs(60)));
}

#[test]
fn x_ratelimit_headers_are_read() {
    let info = parse_rate_limit(
        &headers(&[
            ("x-ratelimit-limit", "1000"),
            ("x-ratelimit-remaining", "12"),
            ("x-ratelimit-reset", "1700000100"),
        ]),
        now(),
    );
    assert_eq!(info.limit, Some(1000));
    assert_eq!(info.remaining, Some(12));
    assert_eq!(info.wait(now()), None, "budget left: no wait");
}

#[test]
fn a_429_with_only_a_reset_time_waits_until_then() {
    let h = headers(&[("x-ratelimit-reset", "1700000009")]);
    assert!(matches!(
        status_error(StatusCode::TOO_MANY_REQUESTS, &h, String::new(), now()),
        ProviderError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(9)
    ));
}

#[test]
fn garbage_headers_are_ignored() {
    let info = parse_rate_limit(
        &headers(&[("retry-after", "soon"), ("ratelimit-limit", "-3")]),
        now(),
    );
    assert_eq!(info, RateLimitInfo::default());
}

#[test]
fn statuses_map_to_typed_errors() {
    let h = headers(&[("retry-after", "7")]);
    assert!(matches!(
        status_error(StatusCode::TOO_MANY_REQUESTS, &h, "slow down".into(), now()),
        ProviderError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7)
    ));
    assert!(matches!(
        status_error(StatusCode::BAD_GATEWAY, &h, String::new(), now()),
        ProviderError::Unavailable {
            status: Some(502),
            ..
        }
    ));
    assert!(matches!(
        status_error(StatusCode::UNAUTHORIZED, &h, String::new(), now()),
        ProviderError::Unauthorized { .. }
    ));
    assert!(matches!(
        status_error(StatusCode::UNPROCESSABLE_ENTITY, &h, String::new(), now()),
        ProviderError::Rejected { status: 422, .. }
    ));
    assert_eq!(
        status_error(StatusCode::FOUND, &h, String::new(), now()),
        ProviderError::Redirected { status: 302 }
    );
}
