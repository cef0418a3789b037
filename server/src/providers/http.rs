//! What every provider client shares: one configured `reqwest::Client`, the mapping of HTTP
//! outcomes onto [`ProviderError`], capped body reads, and parsing of rate-limit headers.
//!
//! The client never follows redirects: a provider request carries its token (a bearer token,
//! Railway's `Project-Access-Token`), and a redirect to another host would hand it over. A
//! 3xx is [`ProviderError::Redirected`] instead, shown as a stale row.

use super::ProviderError;
use chrono::{DateTime, TimeZone, Utc};
use reqwest::header::HeaderMap;
use reqwest::{RequestBuilder, Response, StatusCode};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Timeouts for provider calls: a page load never waits on these (the monitor does).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Error bodies are read up to this size for the message; the rest is dropped.
const MAX_ERROR_BODY: usize = 4096;
/// The largest provider API answer read (one page of deployments is far smaller); past it
/// the call fails with [`ProviderError::TooLarge`] instead of buffering without end.
pub const MAX_PROVIDER_BODY: usize = 8 * 1024 * 1024;
/// The largest health-check answer read (only its status and maybe a JSON field matter).
pub const MAX_HEALTH_BODY: usize = 1024 * 1024;

/// One HTTP client for all providers and health checks (connection pooling, timeouts, a
/// clear User-Agent, no redirects followed).
pub fn build_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("lookout/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|error| {
            // Only a broken TLS backend fails here; a default client would follow redirects.
            tracing::error!(%error, "the provider HTTP client could not be built");
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default()
        })
}

/// Reads a response body in chunks, failing with [`ProviderError::TooLarge`] as soon as it
/// passes `limit` bytes (or says it will, in `Content-Length`), so a provider or a health
/// endpoint streaming without end costs at most `limit` bytes of memory.
pub async fn read_body(
    mut response: Response,
    limit: usize,
) -> Result<bytes::Bytes, ProviderError> {
    let too_large = || ProviderError::TooLarge {
        limit_bytes: u64::try_from(limit).unwrap_or(u64::MAX),
    };
    if response
        .content_length()
        .is_some_and(|length| length > u64::try_from(limit).unwrap_or(u64::MAX))
    {
        return Err(too_large());
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// What a provider told us about our request budget. Every field is optional: providers send
/// different subsets (Vercel: `Retry-After` on 429; Render: `RateLimit-*`; Railway and
/// Netlify: `X-RateLimit-*`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RateLimitInfo {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub reset_at: Option<DateTime<Utc>>,
    pub retry_after: Option<Duration>,
}

/// Values at or above this are Unix epoch seconds; below, seconds from now. Render documents
/// `RateLimit-Reset` as epoch seconds but its example is `45` (UNCONFIRMED which), so both are
/// accepted.
const EPOCH_THRESHOLD: u64 = 1_000_000_000;

fn header_u64(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite() && *value >= 0.0)
        .map(|value| value.ceil() as u64)
}

fn reset_to_time(value: u64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if value >= EPOCH_THRESHOLD * 1000 {
        // Milliseconds since the epoch.
        Utc.timestamp_millis_opt(value as i64).single()
    } else if value >= EPOCH_THRESHOLD {
        Utc.timestamp_opt(value as i64, 0).single()
    } else {
        Some(now + chrono::Duration::seconds(value as i64))
    }
}

/// Reads `Retry-After` (seconds or an HTTP date), `RateLimit-*` and `X-RateLimit-*`.
pub fn parse_rate_limit(headers: &HeaderMap, now: DateTime<Utc>) -> RateLimitInfo {
    let limit =
        header_u64(headers, "ratelimit-limit").or_else(|| header_u64(headers, "x-ratelimit-limit"));
    let remaining = header_u64(headers, "ratelimit-remaining")
        .or_else(|| header_u64(headers, "x-ratelimit-remaining"));
    let reset_at = header_u64(headers, "ratelimit-reset")
        .or_else(|| header_u64(headers, "x-ratelimit-reset"))
        .and_then(|value| reset_to_time(value, now));
    let retry_after = headers
        .get("retry-after")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, now));
    RateLimitInfo {
        limit,
        remaining,
        reset_at,
        retry_after,
    }
}

fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

impl RateLimitInfo {
    /// How long to wait before asking again: `Retry-After` first, else until the reset time
    /// when the budget is used up.
    pub fn wait(&self, now: DateTime<Utc>) -> Option<Duration> {
        if let Some(wait) = self.retry_after {
            return Some(wait);
        }
        match (self.remaining, self.reset_at) {
            (Some(0), Some(reset_at)) => Some(whole_seconds(
                (reset_at - now).to_std().unwrap_or(Duration::ZERO),
            )),
            _ => None,
        }
    }
}

/// Rounds a wait up to whole seconds, at least one: retrying early only earns another 429.
fn whole_seconds(wait: Duration) -> Duration {
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    Duration::from_secs(seconds.max(1))
}

/// Maps a transport failure onto [`ProviderError`].
pub fn transport_error(error: reqwest::Error) -> ProviderError {
    if error.is_timeout() {
        ProviderError::Timeout
    } else if error.is_decode() || error.is_body() {
        ProviderError::Malformed {
            detail: "the response body could not be read".into(),
        }
    } else {
        // `reqwest::Error`'s Display names the URL but never headers, so no token leaks here.
        ProviderError::Transport {
            detail: error.without_url().to_string(),
        }
    }
}

/// Maps a non-success status onto [`ProviderError`]; `message` is what the provider's error
/// body said (each client extracts it from its own error shape).
pub fn status_error(
    status: StatusCode,
    headers: &HeaderMap,
    message: String,
    now: DateTime<Utc>,
) -> ProviderError {
    match status {
        StatusCode::UNAUTHORIZED => ProviderError::Unauthorized { message },
        StatusCode::FORBIDDEN => ProviderError::Forbidden { message },
        StatusCode::NOT_FOUND => ProviderError::NotFound { message },
        StatusCode::TOO_MANY_REQUESTS => {
            let info = parse_rate_limit(headers, now);
            // A 429 means the budget is spent even when no `Remaining: 0` came with it, so a
            // lone reset time (Netlify's `X-RateLimit-Reset`) is the wait too.
            let until_reset = info
                .reset_at
                .map(|reset_at| whole_seconds((reset_at - now).to_std().unwrap_or(Duration::ZERO)));
            ProviderError::RateLimited {
                retry_after: info.wait(now).or(until_reset),
                message,
            }
        }
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ProviderError::Timeout,
        status if status.is_redirection() => ProviderError::Redirected {
            status: status.as_u16(),
        },
        status if status.is_server_error() => ProviderError::Unavailable {
            status: Some(status.as_u16()),
            message,
        },
        status => ProviderError::Rejected {
            status: status.as_u16(),
            message,
        },
    }
}

/// Sends a request and decodes a JSON success body into `T`. For a failure status, the body
/// is handed to `error_message` (the provider's own error shape) and mapped by [`status_error`].
pub async fn send_json<T: DeserializeOwned>(
    request: RequestBuilder,
    error_message: fn(&[u8]) -> Option<String>,
) -> Result<(T, RateLimitInfo), ProviderError> {
    let response = request.send().await.map_err(transport_error)?;
    let (bytes, rate_limit) = read_success(response, error_message).await?;
    let value = serde_json::from_slice(&bytes).map_err(|error| ProviderError::Malformed {
        detail: format!("unexpected JSON: {error}"),
    })?;
    Ok((value, rate_limit))
}

/// Reads the body of a response, or maps its failure status onto [`ProviderError`].
pub async fn read_success(
    response: Response,
    error_message: fn(&[u8]) -> Option<String>,
) -> Result<(bytes::Bytes, RateLimitInfo), ProviderError> {
    let now = Utc::now();
    let status = response.status();
    let headers = response.headers().clone();
    let rate_limit = parse_rate_limit(&headers, now);
    let bytes = read_body(response, MAX_PROVIDER_BODY).await?;
    if status.is_success() {
        return Ok((bytes, rate_limit));
    }
    let body = &bytes[..bytes.len().min(MAX_ERROR_BODY)];
    let message = error_message(body).unwrap_or_else(|| {
        status
            .canonical_reason()
            .unwrap_or("error without a message")
            .to_string()
    });
    Err(status_error(status, &headers, message, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

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
}
