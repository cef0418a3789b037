//! What the providers' unit tests share: fixture loading, timestamps and header maps, so each
//! client's tests say only what is particular to its provider.

use super::ProviderEnvironment;
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// A recorded or constructed provider answer from `server/tests/fixtures/providers/`, as text.
macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/providers/",
            $name
        ))
    };
}

/// The same fixture as bytes (error bodies are read as bytes).
macro_rules! fixture_bytes {
    ($name:literal) => {
        include_bytes!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/providers/",
            $name
        ))
    };
}

pub(crate) use {fixture, fixture_bytes};

/// An RFC 3339 timestamp, as the mapped deployments carry it.
pub fn at(text: &str) -> Option<DateTime<Utc>> {
    Some(
        DateTime::parse_from_rfc3339(text)
            .expect("a test timestamp is RFC 3339")
            .with_timezone(&Utc),
    )
}

/// A header map from name/value pairs; a name given twice keeps both values (GitHub's `Link`).
pub fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).expect("a test header name"),
            HeaderValue::from_str(value).expect("a test header value"),
        );
    }
    map
}

/// Checks a provider's value → Lookout mapping against a table of `(provider value, expected)`.
pub fn assert_maps<T: PartialEq + std::fmt::Debug>(table: &[(&str, T)], map: impl Fn(&str) -> T) {
    for (value, expected) in table {
        assert_eq!(&map(value), expected, "provider value {value:?}");
    }
}

/// A named provider environment (`production`, `staging`).
pub fn named(name: &str) -> ProviderEnvironment {
    ProviderEnvironment::Named(name.into())
}

/// The preview of a branch, without a pull request.
pub fn branch_preview(branch: &str) -> ProviderEnvironment {
    ProviderEnvironment::Preview {
        branch: Some(branch.into()),
        pr_number: None,
    }
}
