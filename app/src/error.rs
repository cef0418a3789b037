//! The one error type at the server-function edge: a kind and a message safe to show.
//! Internal causes are logged on the server, never sent.

use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum AppError {
    /// The server is not ready to answer (starting up, misconfigured).
    #[error("Lookout is not ready: {0}")]
    Unavailable(String),
    /// What was asked for does not exist (an unknown service).
    #[error("not found: {0}")]
    NotFound(String),
    /// The request itself is wrong (a bad filter value); the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// Nobody is signed in and this needs someone who is; the message says how.
    #[error("{0}")]
    Unauthorized(String),
    /// The signed-in user (or token) may not do this; the message says why.
    #[error("{0}")]
    Forbidden(String),
    /// The request conflicts with what is happening (a rollback already in progress, the
    /// live deployment changed); the message says what to review.
    #[error("{0}")]
    Conflict(String),
    /// The request could not reach the server or its answer could not be read.
    #[error("could not talk to the Lookout server: {0}")]
    Transport(String),
}

impl AppError {
    pub fn from_denial(denial: &crate::auth::Denial) -> Self {
        match denial {
            crate::auth::Denial::Unauthenticated(reason) => Self::Unauthorized(reason.clone()),
            crate::auth::Denial::Forbidden(reason) => Self::Forbidden(reason.clone()),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Transport(value.to_string())
    }
}
