//! Cross-site request forgery rules for every mutating request (POST, PUT, PATCH, DELETE):
//!
//! 1. it comes from Lookout's own origin (`Origin`, else `Referer`, checked against
//!    `server.public_url`, else against the request's `Host`); a request with neither is
//!    refused, since browsers send `Origin` on every POST;
//! 2. its body is JSON (a non-simple content type, which a cross-site form cannot send), or a
//!    form (`application/x-www-form-urlencoded`) carrying the browser's CSRF token in the
//!    `csrf_token` field (or the `X-CSRF-Token` header), equal to the `lookout_csrf` cookie.
//!    `text/plain`, multipart and bodies without a content type are refused.
//!
//! SameSite=Strict cookies alone were not enough for Argo CD (CVE-2024-22424); Leptos server
//! functions do no Origin check of their own (leptos #3786).

use axum::http::{header, HeaderMap};
use subtle::ConstantTimeEq;

/// Why a mutating request was refused (sent to the client as the 403 reason).
#[derive(Debug, PartialEq, Eq)]
pub enum CsrfRefusal {
    CrossOrigin(String),
    NoOrigin,
    SimpleBody(String),
    MissingToken,
    WrongToken,
}

impl std::fmt::Display for CsrfRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CsrfRefusal::CrossOrigin(origin) => write!(
                f,
                "cross-origin request refused: {origin} is not this Lookout's origin"
            ),
            CsrfRefusal::NoOrigin => f.write_str(
                "request refused: a mutating request must carry an Origin or Referer header",
            ),
            CsrfRefusal::SimpleBody(kind) => write!(
                f,
                "request refused: a {kind} body is not accepted (send JSON, or a form from a Lookout page)"
            ),
            CsrfRefusal::MissingToken => {
                f.write_str("request refused: the form carries no CSRF token; reload the page")
            }
            CsrfRefusal::WrongToken => f.write_str(
                "request refused: the form's CSRF token does not match this browser; reload the page",
            ),
        }
    }
}

/// How a mutating request's body must be checked.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyRule {
    /// JSON: a cross-site page cannot send it without a CORS preflight we never grant.
    Json,
    /// A form: it must carry the CSRF token.
    Form,
}

/// Rule 1: the request comes from our origin.
pub fn check_origin(headers: &HeaderMap, public_origin: Option<&str>) -> Result<(), CsrfRefusal> {
    let claimed = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .filter(|value| *value != "null")
        .map(str::to_string)
        .or_else(|| {
            headers
                .get(header::REFERER)
                .and_then(|value| value.to_str().ok())
                .and_then(super::origin_of)
        });
    let Some(claimed) = claimed else {
        return Err(CsrfRefusal::NoOrigin);
    };
    let same = match public_origin {
        Some(expected) => claimed.eq_ignore_ascii_case(expected),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default();
            claimed.split_once("://").is_some_and(|(_, authority)| {
                !host.is_empty() && authority.eq_ignore_ascii_case(host)
            })
        }
    };
    if same {
        Ok(())
    } else {
        Err(CsrfRefusal::CrossOrigin(claimed))
    }
}

/// Rule 2, first half: which body rule applies, or the refusal.
pub fn body_rule(headers: &HeaderMap) -> Result<BodyRule, CsrfRefusal> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match content_type.as_str() {
        "application/json" | "application/cbor" => Ok(BodyRule::Json),
        "application/x-www-form-urlencoded" => Ok(BodyRule::Form),
        "" => Err(CsrfRefusal::SimpleBody("untyped".into())),
        other => Err(CsrfRefusal::SimpleBody(other.to_string())),
    }
}

/// Rule 2, second half: the form's token (field or header) equals the cookie's.
pub fn check_form_token(
    headers: &HeaderMap,
    body: &[u8],
    cookie_token: Option<&str>,
) -> Result<(), CsrfRefusal> {
    let presented = headers
        .get("x-csrf-token")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            url::form_urlencoded::parse(body)
                .find(|(key, _)| key == app::auth::CSRF_FIELD)
                .map(|(_, value)| value.into_owned())
        });
    let Some(presented) = presented.filter(|token| !token.is_empty()) else {
        return Err(CsrfRefusal::MissingToken);
    };
    match cookie_token {
        Some(expected) if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
        _ => Err(CsrfRefusal::WrongToken),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn origin_must_match_the_public_url_or_the_host() {
        let ours = headers(&[("origin", "https://status.example.com")]);
        assert_eq!(
            check_origin(&ours, Some("https://status.example.com")),
            Ok(())
        );
        let theirs = headers(&[("origin", "https://evil.example")]);
        assert!(matches!(
            check_origin(&theirs, Some("https://status.example.com")),
            Err(CsrfRefusal::CrossOrigin(_))
        ));
        let by_host = headers(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert_eq!(check_origin(&by_host, None), Ok(()));
        let referer = headers(&[
            ("referer", "http://127.0.0.1:3000/login?x=1"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert_eq!(check_origin(&referer, None), Ok(()));
        let null = headers(&[("origin", "null"), ("host", "127.0.0.1:3000")]);
        assert_eq!(check_origin(&null, None), Err(CsrfRefusal::NoOrigin));
        assert_eq!(
            check_origin(&headers(&[]), None),
            Err(CsrfRefusal::NoOrigin)
        );
    }

    #[test]
    fn simple_bodies_need_a_token_and_text_plain_is_refused() {
        let json = headers(&[("content-type", "application/json")]);
        assert_eq!(body_rule(&json), Ok(BodyRule::Json));
        let form = headers(&[(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )]);
        assert_eq!(body_rule(&form), Ok(BodyRule::Form));
        let text = headers(&[("content-type", "text/plain")]);
        assert!(matches!(body_rule(&text), Err(CsrfRefusal::SimpleBody(_))));
        let multipart = headers(&[("content-type", "multipart/form-data; boundary=x")]);
        assert!(matches!(
            body_rule(&multipart),
            Err(CsrfRefusal::SimpleBody(_))
        ));

        let empty = HeaderMap::new();
        assert_eq!(
            check_form_token(&empty, b"csrf_token=abc&x=1", Some("abc")),
            Ok(())
        );
        assert_eq!(
            check_form_token(&empty, b"csrf_token=abd", Some("abc")),
            Err(CsrfRefusal::WrongToken)
        );
        assert_eq!(
            check_form_token(&empty, b"x=1", Some("abc")),
            Err(CsrfRefusal::MissingToken)
        );
        assert_eq!(
            check_form_token(&empty, b"csrf_token=abc", None),
            Err(CsrfRefusal::WrongToken)
        );
    }
}
