//! Secrets (provider tokens): held only in this process, never printed, never serialized.

use std::fmt;

/// A token. `Debug` and `Display` print `[redacted]`; there is no `Serialize`, so a secret
/// cannot end up in a response, the page, the SSE stream or a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The only way to read the value: call sites that send it to a provider say so.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn a_secret_never_prints_its_value() {
        let secret = Secret::new("tok_live_123");
        assert!(!format!("{secret:?}").contains("tok_live_123"));
        assert!(!format!("{secret}").contains("tok_live_123"));
        assert_eq!(secret.expose(), "tok_live_123");
    }
}
