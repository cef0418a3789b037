//! Who may see and who may act. This module resolves every request's principal (session
//! cookie, trusted proxy header, API token, or the open role), enforces CSRF rules on every
//! mutating request, gates pages when the status page is not public, signs people in and out
//! (argon2id, rate-limited, audited) and sets the security headers. The decision itself is
//! `app::auth::decide`, which every server function calls through `app::access::authorize`.
//!
//! Invariants:
//! - a POST/PUT/PATCH/DELETE reaches a handler only from Lookout's own origin and, unless it
//!   is JSON, with the browser's CSRF token (`csrf`);
//! - a server function missing from [`endpoints::SERVER_FUNCTIONS`] is refused (403);
//! - session tokens and API tokens are stored only as SHA-256 hashes.

pub mod cidr;
pub mod csrf;
pub mod endpoints;
pub mod handlers;
pub mod headers;
pub mod middleware;
pub mod password;
pub mod rate_limit;

use crate::config::{AuthConfig, Config};
use crate::store::{NewAuditEntry, SessionRecord, Store};
use app::auth::{AccessPolicy, AuthMode, Identity, Principal, Role};
use axum::http::HeaderMap;
use chrono::Utc;
use rate_limit::LoginLimiter;
use std::net::IpAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// The session cookie (HttpOnly, SameSite=Strict; `__Host-` prefixed and Secure over https).
pub const SESSION_COOKIE: &str = "lookout_session";
/// The CSRF double-submit cookie (HttpOnly, SameSite=Strict); forms carry the same value.
pub const CSRF_COOKIE: &str = "lookout_csrf";

/// What the auth layer learned about a request, stored in its extensions for the handlers
/// and the Leptos context.
#[derive(Clone, Debug)]
pub struct RequestAuth {
    pub principal: Principal,
    pub csrf_token: String,
    /// The client's address (the peer, or the first `X-Forwarded-For` hop when the peer is a
    /// trusted proxy).
    pub remote_addr: Option<String>,
    /// The session token hash, when signed in with a password session.
    pub session_sha256: Option<String>,
}

/// Sign-in state shared by the middleware and the handlers.
pub struct AuthService {
    pub config: AuthConfig,
    pub store: Arc<dyn Store>,
    pub limiter: LoginLimiter,
    /// Cookies get `Secure` (and the `__Host-` prefix) and responses HSTS.
    pub https: bool,
    /// `scheme://host[:port]` from `server.public_url`; without it the request's Host is the
    /// origin mutating requests must come from.
    pub public_origin: Option<String>,
    pub demo: bool,
}

impl AuthService {
    pub fn new(config: &Config, store: Arc<dyn Store>) -> Self {
        let public_origin = config.public_url.as_deref().and_then(origin_of);
        Self {
            config: config.auth.clone(),
            store,
            limiter: LoginLimiter::standard(),
            https: public_origin
                .as_deref()
                .is_some_and(|origin| origin.starts_with("https://")),
            public_origin,
            demo: config.demo,
        }
    }

    pub fn policy(&self) -> AccessPolicy {
        AccessPolicy {
            mode: self.config.mode,
            public_status: self.config.public_status,
        }
    }

    pub fn session_cookie_name(&self) -> &'static str {
        if self.https {
            "__Host-lookout_session"
        } else {
            SESSION_COOKIE
        }
    }

    pub fn is_trusted_proxy(&self, peer: Option<IpAddr>) -> bool {
        let Some(peer) = peer else {
            return false;
        };
        self.config
            .trusted_proxies
            .iter()
            .any(|network| network.contains(peer))
    }

    /// The role and grants of a configured user (case-insensitive name).
    fn identity_of(&self, name: &str) -> Option<Identity> {
        self.config
            .users
            .iter()
            .find(|user| user.name.eq_ignore_ascii_case(name))
            .map(|user| Identity {
                name: user.name.clone(),
                role: user.role,
                deploy_environments: user.deploy_environments.clone(),
            })
    }

    /// Who is asking, without an API token (those are resolved by the middleware).
    pub async fn principal(
        &self,
        headers: &HeaderMap,
        peer: Option<IpAddr>,
    ) -> (Principal, Option<String>) {
        match self.config.mode {
            AuthMode::Open => (
                Principal::User(Identity {
                    name: "anyone".into(),
                    role: self.config.open_role,
                    deploy_environments: None,
                }),
                None,
            ),
            AuthMode::Proxy => (self.proxy_principal(headers, peer), None),
            AuthMode::Password => {
                let Some(token) = cookie(headers, self.session_cookie_name()) else {
                    return (Principal::Anonymous, None);
                };
                let hash = password::sha256_hex(&token);
                match self.store.find_session(&hash, Utc::now()).await {
                    Ok(Some(session)) => match self.identity_of(&session.user_name) {
                        Some(identity) => (Principal::User(identity), Some(hash)),
                        // The user was removed from the config: the session is worthless.
                        None => (Principal::Anonymous, None),
                    },
                    Ok(None) => (Principal::Anonymous, None),
                    Err(error) => {
                        tracing::error!(%error, "session lookup failed; treating as signed out");
                        (Principal::Anonymous, None)
                    }
                }
            }
        }
    }

    fn proxy_principal(&self, headers: &HeaderMap, peer: Option<IpAddr>) -> Principal {
        let Some(proxy) = &self.config.proxy else {
            return Principal::Anonymous;
        };
        let Some(user) = headers
            .get(proxy.user_header.as_str())
            .and_then(|value| value.to_str().ok())
            .map(str::trim)
            .filter(|value| !value.is_empty())
        else {
            return Principal::Anonymous;
        };
        if !self.is_trusted_proxy(peer) {
            tracing::warn!(
                peer = ?peer,
                header = %proxy.user_header,
                "ignoring the user header from an address that is not a trusted proxy"
            );
            return Principal::Anonymous;
        }
        match self.identity_of(user) {
            Some(identity) => Principal::User(identity),
            None => match proxy.default_role {
                Some(role) => Principal::User(Identity {
                    name: user.to_string(),
                    role,
                    deploy_environments: None,
                }),
                None => {
                    tracing::info!(user, "proxy user has no role in [[auth.users]]");
                    Principal::Anonymous
                }
            },
        }
    }

    /// The API token's name when `presented` matches a configured hash (constant time).
    pub fn api_token(&self, presented: &str) -> Option<String> {
        let hash = password::sha256(presented);
        let mut found = None;
        for token in &self.config.api_tokens {
            if bool::from(token.sha256.ct_eq(&hash)) {
                found = Some(token.name.clone());
            }
        }
        found
    }

    /// Checks a password login. Unknown users are verified against a dummy hash, so both
    /// failures take the same time.
    pub async fn verify_login(&self, name: &str, password: &str) -> Option<Identity> {
        let user = self
            .config
            .users
            .iter()
            .find(|user| user.name.eq_ignore_ascii_case(name));
        let hash = user
            .and_then(|user| user.password_hash.as_ref())
            .map(|hash| hash.expose().to_string())
            .unwrap_or_else(|| password::dummy_hash().to_string());
        let password = password.to_string();
        let verified =
            tokio::task::spawn_blocking(move || password::verify_password(&password, &hash))
                .await
                .unwrap_or(false);
        if verified {
            user.and_then(|user| self.identity_of(&user.name))
        } else {
            None
        }
    }

    /// Starts a session; returns the cookie token (only its hash is stored).
    pub async fn start_session(&self, user: &str) -> Result<String, crate::store::StoreError> {
        let token = password::random_token();
        let now = Utc::now();
        let ttl = chrono::Duration::from_std(self.config.session_ttl)
            .unwrap_or_else(|_| chrono::Duration::hours(12));
        let record = SessionRecord {
            user_name: user.to_string(),
            created_at: now,
            expires_at: now + ttl,
        };
        self.store
            .create_session(&password::sha256_hex(&token), &record)
            .await?;
        if let Err(error) = self.store.delete_expired_sessions(now).await {
            tracing::warn!(%error, "could not remove expired sessions");
        }
        Ok(token)
    }

    /// Appends an audit row; a failure is logged, never shown (the action already happened).
    pub async fn audit(
        &self,
        actor: &str,
        action: &str,
        outcome: &str,
        detail: Option<String>,
        remote_addr: Option<String>,
    ) {
        let entry = NewAuditEntry {
            at: Utc::now(),
            actor: actor.to_string(),
            action: action.to_string(),
            target: "lookout".to_string(),
            outcome: outcome.to_string(),
            detail,
            remote_addr,
        };
        if let Err(error) = self.store.append_audit(&entry).await {
            tracing::error!(%error, action, outcome, "could not write the audit log");
        }
    }

    /// Demo mode only: the accounts the login page lists.
    pub fn demo_logins(&self) -> Vec<app::auth::DemoLogin> {
        if self.demo {
            self.config.demo_logins.clone()
        } else {
            Vec::new()
        }
    }

    pub fn logout_url(&self) -> Option<String> {
        self.config
            .proxy
            .as_ref()
            .and_then(|proxy| proxy.logout_url.clone())
    }

    /// A startup warning when anyone who can reach the address may act.
    pub fn startup_warnings(&self, listen: std::net::SocketAddr) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.config.mode == AuthMode::Open && !listen.ip().is_loopback() {
            warnings.push(format!(
                "auth mode is none and Lookout listens on {listen}: anyone who can reach it can read it{}",
                if self.config.open_role >= Role::Deployer {
                    " and roll back"
                } else {
                    ""
                }
            ));
        }
        warnings
    }
}

/// `scheme://host[:port]` of an http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    match parsed.origin() {
        origin @ url::Origin::Tuple(..) => Some(origin.ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// One cookie's value from the `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
}
