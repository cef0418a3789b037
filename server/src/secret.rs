//! Secrets (provider tokens): held only in this process, never printed, never serialized; and
//! the one redactor for the places that do print a URL that may carry one. Headers that carry
//! a token are marked sensitive where they are made (`providers::http::sensitive_header`) and
//! are never printed, so no header redactor is needed.

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

/// What a hidden value is printed as.
const HIDDEN: &str = "***";

/// A URL safe to print (`check-config`, startup and store errors, logs): the password and
/// every query value replaced by `***` (`postgres://user:secret@host/db` →
/// `postgres://user:***@host/db`, `https://x/health?key=abc` → `https://x/health?key=***`).
/// Store URLs, health URLs and API bases can all carry secrets, and a query parameter's name
/// does not tell whether its value is one. A URL that does not parse (a password with `/` or
/// `#` in it) loses everything before its last `@`.
pub fn redact_url(url: &str) -> String {
    let without_password = redact_url_password(url);
    let Ok(mut parsed) = url::Url::parse(&without_password) else {
        return without_password;
    };
    if parsed.query().is_some() {
        let keys: Vec<String> = parsed
            .query_pairs()
            .map(|(key, _)| key.into_owned())
            .collect();
        parsed
            .query_pairs_mut()
            .clear()
            .extend_pairs(keys.iter().map(|key| (key.as_str(), HIDDEN)));
    }
    parsed.to_string()
}

/// The userinfo password hidden; an unparseable URL cut to what follows its last `@`.
fn redact_url_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            if parsed.set_password(Some(HIDDEN)).is_ok() {
                parsed.to_string()
            } else {
                "<unprintable URL>".to_string()
            }
        }
        Ok(_) => url.to_string(),
        Err(_) => match (url.split_once("://"), url.rsplit_once('@')) {
            (Some((scheme, _)), Some((_, host))) => format!("{scheme}://{HIDDEN}@{host}"),
            (None, Some((_, host))) => format!("{HIDDEN}@{host}"),
            _ => url.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{redact_url, Secret};

    #[test]
    fn a_secret_never_prints_its_value() {
        let secret = Secret::new("tok_live_123");
        assert!(!format!("{secret:?}").contains("tok_live_123"));
        assert!(!format!("{secret}").contains("tok_live_123"));
        assert_eq!(secret.expose(), "tok_live_123");
    }

    #[test]
    fn printed_urls_hide_passwords_and_query_values() {
        for (url, shown) in [
            (
                "https://api.example.com/health?key=s3cret&full=1",
                "https://api.example.com/health?key=***&full=***",
            ),
            (
                "postgres://lookout:pw@db:5432/lookout",
                "postgres://lookout:***@db:5432/lookout",
            ),
            (
                "postgres://lookout:hunter2@db.internal:5432/lookout",
                "postgres://lookout:***@db.internal:5432/lookout",
            ),
            (
                "postgres://lookout:pw@db/lookout?sslpassword=x",
                "postgres://lookout:***@db/lookout?sslpassword=***",
            ),
            // Nothing to hide: printed as written.
            ("https://x.example/", "https://x.example/"),
            (
                "postgres://db.internal/lookout",
                "postgres://db.internal/lookout",
            ),
            ("sqlite::memory:", "sqlite::memory:"),
        ] {
            assert_eq!(redact_url(url), shown, "{url}");
        }
    }

    #[test]
    fn unparseable_urls_hide_their_password_too() {
        for url in [
            "postgres://lookout:pa/ss@db.internal/lookout",
            "postgres://lookout:p#ss@db.internal/lookout",
            "postgres://lookout:pass word@db.internal:5432/lookout",
        ] {
            let shown = redact_url(url);
            assert!(
                !shown.contains("ss@") && !shown.contains("pa"),
                "{url} → {shown}"
            );
            assert!(shown.contains("db.internal"), "{shown}");
        }
        assert_eq!(
            redact_url("postgres://lookout:pa/ss@db.internal/lookout"),
            "postgres://***@db.internal/lookout"
        );
        assert_eq!(redact_url("lookout@db.internal"), "***@db.internal");
        assert_eq!(redact_url("not a url"), "not a url");
    }
}
