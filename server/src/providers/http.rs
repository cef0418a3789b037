//! What every provider client shares: one configured `reqwest::Client`, the mapping of HTTP
//! outcomes onto [`ProviderError`], capped body reads, and parsing of rate-limit headers.
//!
//! The client never follows redirects: a provider request carries its token (a bearer token,
//! Railway's `Project-Access-Token`), and a redirect to another host would hand it over. A
//! 3xx is [`ProviderError::Redirected`] instead, shown as a stale row.

use super::ProviderError;
use crate::secret::Secret;
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

/// One exchange with a provider, read to the end (up to [`MAX_PROVIDER_BODY`]): what every
/// client gets back, whatever its status, before any provider rule has looked at it.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: bytes::Bytes,
    /// When the answer came, for the waits its rate-limit headers announce.
    pub received_at: DateTime<Utc>,
}

impl Answer {
    /// What the rate-limit headers said.
    pub fn rate_limit(&self) -> RateLimitInfo {
        parse_rate_limit(&self.headers, self.received_at)
    }

    /// A header's value as trimmed text, when present and not empty.
    pub fn header(&self, name: impl reqwest::header::AsHeaderName) -> Option<&str> {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
    }
}

/// Sends `request` and reads its answer, mapping only transport failures; the status is the
/// caller's to judge (GraphQL errors come with any status, see fly and railway).
pub async fn exchange(request: RequestBuilder) -> Result<Answer, ProviderError> {
    let response = request.send().await.map_err(transport_error)?;
    let received_at = Utc::now();
    let status = response.status();
    let headers = response.headers().clone();
    let body = read_body(response, MAX_PROVIDER_BODY).await?;
    Ok(Answer {
        status,
        headers,
        body,
        received_at,
    })
}

/// A failure status as a provider rule sees it: the answer, and the message its error body
/// gave (or the status's reason).
pub struct Failure<'a> {
    pub answer: &'a Answer,
    pub message: String,
}

impl Failure<'_> {
    /// The shared mapping of [`status_error`].
    pub fn mapped(self) -> ProviderError {
        status_error(
            self.answer.status,
            &self.answer.headers,
            self.message,
            self.answer.received_at,
        )
    }
}

/// The one place a failure status becomes a [`ProviderError`] for a REST client.
pub type FailureRule = fn(Failure<'_>) -> ProviderError;

/// The rule of every provider that documents nothing of its own: [`status_error`].
pub fn shared_mapping(failure: Failure<'_>) -> ProviderError {
    failure.mapped()
}

/// How a client speaks one provider's REST API: the provider's name (for messages), the
/// `Accept` it sends, the shape of its error body, and how a failure status maps: the shared
/// [`status_error`] (via [`Failure::mapped`]) unless the provider documents otherwise.
#[derive(Clone, Copy, Debug)]
pub struct RestApi {
    pub provider: &'static str,
    pub accept: &'static str,
    /// The message of the provider's error body, when it has one.
    pub error_message: fn(&[u8]) -> Option<String>,
    pub on_failure: FailureRule,
}

impl RestApi {
    /// A provider whose failures follow the shared mapping.
    pub const fn new(provider: &'static str, error_message: fn(&[u8]) -> Option<String>) -> Self {
        Self {
            provider,
            accept: "application/json",
            error_message,
            on_failure: shared_mapping,
        }
    }

    /// `base` + the `resource`'s segments (`["sites", site_id]`) + `extra`, each
    /// percent-encoded so that no configured name or id can change the path (a trailing `/`
    /// on the base is dropped).
    pub fn url(
        &self,
        base: &str,
        resource: &[&str],
        extra: &[&str],
    ) -> Result<url::Url, ProviderError> {
        let invalid_base = || ProviderError::Transport {
            detail: format!(
                "the configured {} API base is not a valid http(s) URL",
                self.provider
            ),
        };
        let mut url = url::Url::parse(base).map_err(|_| invalid_base())?;
        url.path_segments_mut()
            .map_err(|()| invalid_base())?
            .pop_if_empty()
            .extend(resource)
            .extend(extra);
        Ok(url)
    }

    /// `request` with the provider's `Accept` and the token as a Bearer credential.
    pub fn bearer(&self, request: RequestBuilder, token: &Secret) -> RequestBuilder {
        request
            .bearer_auth(token.expose())
            .header(reqwest::header::ACCEPT, self.accept)
    }

    /// Sends `request` (already authorized) and returns its successful answer, or the failure
    /// mapped by this provider's rule.
    pub async fn send(&self, request: RequestBuilder) -> Result<Answer, ProviderError> {
        let answer = exchange(request).await?;
        if answer.status.is_success() {
            return Ok(answer);
        }
        Err(self.failure(&answer))
    }

    /// Sends `request` and decodes its JSON success body.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        request: RequestBuilder,
    ) -> Result<T, ProviderError> {
        let answer = self.send(request).await?;
        self.decode(&answer.body)
    }

    /// A failure answer as [`ProviderError`], by this provider's rule.
    pub fn failure(&self, answer: &Answer) -> ProviderError {
        let message = failure_message(answer, self.error_message);
        (self.on_failure)(Failure { answer, message })
    }

    /// Decodes a JSON body; a body of another shape is [`ProviderError::Malformed`] with
    /// serde's description (which names fields and positions, never values).
    pub fn decode<T: DeserializeOwned>(&self, body: &[u8]) -> Result<T, ProviderError> {
        serde_json::from_slice(body).map_err(|error| ProviderError::Malformed {
            detail: format!("unexpected JSON from {}: {error}", self.provider),
        })
    }
}

/// The message of a failure answer: what `error_message` finds in (the start of) its body,
/// else the status's reason.
pub fn failure_message(answer: &Answer, error_message: fn(&[u8]) -> Option<String>) -> String {
    let body = &answer.body[..answer.body.len().min(MAX_ERROR_BODY)];
    error_message(body).unwrap_or_else(|| status_reason(answer.status))
}

/// The reason phrase of a status, for an error body that says nothing.
pub fn status_reason(status: StatusCode) -> String {
    status
        .canonical_reason()
        .unwrap_or("error without a message")
        .to_string()
}

/// A sensitive header value from a token (Fly's `Authorization`, Railway's
/// `Project-Access-Token`): a token holding characters a header cannot carry is refused as
/// the provider would refuse it.
pub fn token_header(value: &str) -> Result<reqwest::header::HeaderValue, ProviderError> {
    let mut value =
        reqwest::header::HeaderValue::from_str(value).map_err(|_| ProviderError::Unauthorized {
            message: "the token holds characters an HTTP header cannot carry".into(),
        })?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests;
