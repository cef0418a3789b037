//! What the two GraphQL clients (Fly's releases, Railway) share: the request body, the
//! response envelope, the error shape, Relay `pageInfo` paging and reading `data`.
//!
//! How a GraphQL error maps onto [`ProviderError`] stays with each client: both providers put
//! errors in the body with a 200 (or, UNCONFIRMED, a 4xx), and each documents its own codes
//! and wording, so the shared status mapping cannot judge them (see `fly::graphql_error` and
//! `railway::fatal_error`).

use super::ProviderError;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

/// Error messages from a provider are cut to this many characters before they are shown.
const MAX_MESSAGE_CHARS: usize = 300;

/// The JSON body of a GraphQL request.
pub fn request_body(query: &str, variables: Value) -> Value {
    json!({ "query": query, "variables": variables })
}

/// A GraphQL response body: `data` and/or `errors`.
#[derive(Debug, Default, Deserialize)]
pub struct GraphQlResponse {
    #[serde(default)]
    pub data: Option<Value>,
    #[serde(default)]
    pub errors: Option<Vec<GraphQlError>>,
}

impl GraphQlResponse {
    /// The envelope of `body`, when it is one (JSON with `data` or `errors`).
    pub fn read(body: &[u8]) -> Option<Self> {
        serde_json::from_slice::<Self>(body)
            .ok()
            .filter(|envelope| envelope.data.is_some() || envelope.errors.is_some())
    }
}

/// The standard GraphQL error shape.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct GraphQlError {
    #[serde(default)]
    pub message: String,
    /// Which (aliased) root field failed, e.g. `["env1"]`.
    #[serde(default)]
    pub path: Option<Vec<Value>>,
    #[serde(default)]
    pub extensions: Option<GraphQlExtensions>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct GraphQlExtensions {
    #[serde(default)]
    pub code: Option<String>,
}

impl GraphQlError {
    pub fn root_field(&self) -> Option<&str> {
        self.path.as_ref()?.first()?.as_str()
    }

    /// `extensions.code`, upper-cased; empty when absent.
    pub fn code(&self) -> String {
        self.extensions
            .as_ref()
            .and_then(|extensions| extensions.code.as_deref())
            .unwrap_or_default()
            .to_ascii_uppercase()
    }

    /// The message, trimmed and cut to a length a page can show.
    pub fn short_message(&self) -> String {
        truncate(&self.message)
    }
}

/// A provider's message, trimmed and cut to [`MAX_MESSAGE_CHARS`].
pub fn truncate(message: &str) -> String {
    let message = message.trim();
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &message[..cut]),
        None => message.to_string(),
    }
}

/// A Relay connection's `pageInfo`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    #[serde(default)]
    pub end_cursor: Option<String>,
    #[serde(default)]
    pub has_next_page: Option<bool>,
}

impl PageInfo {
    /// The cursor to ask `after` for the next page: only when the provider says there is one.
    pub fn next_cursor(page_info: Option<Self>) -> Option<String> {
        page_info
            .filter(|info| info.has_next_page == Some(true))
            .and_then(|info| super::wire::trimmed(info.end_cursor.as_deref()))
    }
}

/// Reads `data` as `T`; absent or `null` data is [`ProviderError::Malformed`].
pub fn decode_data<T: DeserializeOwned>(data: Option<Value>) -> Result<T, ProviderError> {
    let data = data
        .filter(|data| !data.is_null())
        .ok_or_else(|| ProviderError::Malformed {
            detail: "a GraphQL answer without data".into(),
        })?;
    serde_json::from_value(data).map_err(|error| ProviderError::Malformed {
        detail: format!("unexpected GraphQL data: {error}"),
    })
}
