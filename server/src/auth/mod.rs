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
pub mod client_addr;
pub mod csrf;
pub mod endpoints;
pub mod handlers;
pub mod headers;
pub mod host;
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
/// The CSRF double-submit cookie (HttpOnly, SameSite=Strict; `__Host-` prefixed and Secure
/// over https); forms carry the same value.
pub const CSRF_COOKIE: &str = "lookout_csrf";

/// Password verifications that may run at once (each argon2id job holds 19 MiB).
pub const MAX_CONCURRENT_VERIFICATIONS: usize = 4;
/// Audit actor and detail fields are cut to this many characters.
pub const MAX_AUDIT_FIELD_CHARS: usize = rate_limit::MAX_NAME_CHARS;

/// Every password verification slot is taken: the sign-in is refused (429), not queued.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many sign-ins are being checked at once; try again in a moment")]
pub struct VerifierBusy;

/// What the auth layer learned about a request, stored in its extensions for the handlers
/// and the Leptos context.
#[derive(Clone, Debug)]
pub struct RequestAuth {
    pub principal: Principal,
    pub csrf_token: String,
    /// The client's address: the peer, or when the peer is a trusted proxy the rightmost
    /// `X-Forwarded-For` hop that is not one (`client_addr`).
    pub remote_addr: Option<String>,
    /// The session token hash, when signed in with a password session.
    pub session_sha256: Option<String>,
}

/// Sign-in state shared by the middleware and the handlers.
pub struct AuthService {
    pub config: AuthConfig,
    pub store: Arc<dyn Store>,
    pub limiter: LoginLimiter,
    /// Password verifications running at once (argon2id takes 19 MiB and a core for tens of
    /// milliseconds each, on the blocking pool); a sign-in that finds none free gets 429.
    pub verifications: Arc<tokio::sync::Semaphore>,
    /// Cookies get `Secure` (and the `__Host-` prefix) and responses HSTS.
    pub https: bool,
    /// `scheme://host[:port]` from `server.public_url`; without it the request's Host is the
    /// origin mutating requests must come from.
    pub public_origin: Option<String>,
    /// The host of `server.public_url`, the one name requests may carry besides loopback and
    /// IP literals (`host`).
    pub public_host: Option<String>,
    pub demo: bool,
}

impl AuthService {
    pub fn new(config: &Config, store: Arc<dyn Store>) -> Self {
        let public_origin = config.public_url.as_deref().and_then(origin_of);
        Self {
            config: config.auth.clone(),
            store,
            limiter: LoginLimiter::standard(),
            verifications: Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_VERIFICATIONS)),
            https: public_origin
                .as_deref()
                .is_some_and(|origin| origin.starts_with("https://")),
            public_origin,
            public_host: config.public_url.as_deref().and_then(host::host_of),
            demo: config.demo,
        }
    }

    pub fn policy(&self) -> AccessPolicy {
        AccessPolicy {
            mode: self.config.mode,
            public_status: self.config.public_status,
        }
    }

    /// The refusal (401/403 with its reason) of a request that needs read access: the JSON
    /// API, the live stream, the rollback API and the runbook files (anonymous when
    /// `public_status`, a signed-in user, or an API token). `None` when it may read.
    pub fn read_refusal(&self, request: &RequestAuth) -> Option<axum::response::Response> {
        app::auth::decide(self.policy(), &request.principal, &app::auth::Access::Read)
            .err()
            .map(|denial| {
                let status = axum::http::StatusCode::from_u16(denial.status())
                    .unwrap_or(axum::http::StatusCode::FORBIDDEN);
                middleware::refuse(status, denial.reason())
            })
    }

    pub fn session_cookie_name(&self) -> &'static str {
        if self.https {
            "__Host-lookout_session"
        } else {
            SESSION_COOKIE
        }
    }

    pub fn csrf_cookie_name(&self) -> &'static str {
        if self.https {
            "__Host-lookout_csrf"
        } else {
            CSRF_COOKIE
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
            AuthMode::Password => match cookie(headers, self.session_cookie_name()) {
                Some(token) => self.session_principal(&token).await,
                None => (Principal::Anonymous, None),
            },
        }
    }

    /// The signed-in user of a session cookie: the session must exist, be neither expired
    /// nor idle too long, and its tag must match the user's configured hash, role and grants
    /// (a changed password or role ends it). Use slides the idle expiry, written at most
    /// once a minute.
    async fn session_principal(&self, token: &str) -> (Principal, Option<String>) {
        let hash = password::sha256_hex(token);
        let now = Utc::now();
        let session = match self.store.find_session(&hash, now).await {
            Ok(Some(session)) => session,
            Ok(None) => return (Principal::Anonymous, None),
            Err(error) => {
                tracing::error!(%error, "session lookup failed; treating as signed out");
                return (Principal::Anonymous, None);
            }
        };
        let user = self
            .config
            .users
            .iter()
            .find(|user| user.name.eq_ignore_ascii_case(&session.user_name));
        let bound = user.is_some_and(|user| session_tag_matches(token, user));
        let identity = user.and_then(|user| self.identity_of(&user.name));
        let Some(identity) = identity.filter(|_| bound) else {
            // Removed from the config, or its password, role or grants changed.
            if let Err(error) = self.store.delete_session(&hash).await {
                tracing::warn!(%error, "could not end a stale session");
            }
            return (Principal::Anonymous, None);
        };
        let wanted = self.session_expiry(session.created_at, now);
        if wanted - session.expires_at >= chrono::Duration::minutes(1) {
            if let Err(error) = self.store.touch_session(&hash, wanted).await {
                tracing::warn!(%error, "could not extend a session");
            }
        }
        (Principal::User(identity), Some(hash))
    }

    /// When a session used at `now` expires: idle timeout, capped by the absolute lifetime.
    fn session_expiry(
        &self,
        created_at: chrono::DateTime<Utc>,
        now: chrono::DateTime<Utc>,
    ) -> chrono::DateTime<Utc> {
        let ttl = chrono::Duration::from_std(self.config.session_ttl)
            .unwrap_or_else(|_| chrono::Duration::hours(12));
        let idle = chrono::Duration::from_std(self.config.session_idle)
            .unwrap_or_else(|_| chrono::Duration::hours(8));
        (created_at + ttl).min(now + idle)
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
    /// failures take the same time. At most [`MAX_CONCURRENT_VERIFICATIONS`] run at once; the
    /// slot is held until the hash job ends, even when the request goes away.
    pub async fn verify_login(
        &self,
        name: &str,
        password: &str,
    ) -> Result<Option<Identity>, VerifierBusy> {
        let permit = self
            .verifications
            .clone()
            .try_acquire_owned()
            .map_err(|_| VerifierBusy)?;
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
        let verified = tokio::task::spawn_blocking(move || {
            let verified = password::verify_password(&password, &hash);
            drop(permit);
            verified
        })
        .await
        .unwrap_or(false);
        Ok(if verified {
            user.and_then(|user| self.identity_of(&user.name))
        } else {
            None
        })
    }

    /// Starts a session; returns the cookie token (only its hash is stored). The token is
    /// `random.tag`, the tag binding it to the user's configured hash, role and grants.
    pub async fn start_session(&self, user: &str) -> Result<String, crate::store::StoreError> {
        let random = password::random_token();
        let token = match self
            .config
            .users
            .iter()
            .find(|known| known.name.eq_ignore_ascii_case(user))
        {
            Some(known) => format!("{random}.{}", session_tag(&random, known)),
            None => random,
        };
        let now = Utc::now();
        let record = SessionRecord {
            user_name: user.to_string(),
            created_at: now,
            expires_at: self.session_expiry(now, now),
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
        let cut = |text: &str| rate_limit::truncate_chars(text, MAX_AUDIT_FIELD_CHARS);
        let entry = NewAuditEntry {
            at: Utc::now(),
            actor: cut(actor),
            action: action.to_string(),
            target: "lookout".to_string(),
            outcome: outcome.to_string(),
            detail: detail.as_deref().map(cut),
            remote_addr: remote_addr.as_deref().map(cut),
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
        if self.config.mode == AuthMode::Password && !self.https && !listen.ip().is_loopback() {
            warnings.push(format!(
                "password sign-in on {listen} without an https server.public_url: passwords and \
                 session cookies cross the network readable unless TLS ends in front of Lookout \
                 (set public_url = \"https://…\" so cookies are Secure and __Host-)"
            ));
        }
        // Behind a PaaS router every request's peer is the router: without trusted_proxies
        // all visitors share one address, for the sign-in limits and the per-address stream
        // cap alike, and the audit log shows the router.
        if !self.demo && !listen.ip().is_loopback() && self.config.trusted_proxies.is_empty() {
            warnings.push(format!(
                "Lookout listens on {listen} and [auth] trusted_proxies is empty: behind a \
                 platform router or reverse proxy every visitor has the router's address (one \
                 bucket for sign-in limits and live streams, the router's address in the audit \
                 log); set trusted_proxies (README: Security, \"Client addresses\")"
            ));
        }
        warnings
    }
}

/// The tag of a session token: SHA-256 over the token's random part and what the config says
/// about its user (password hash, role, grants), base64url. A changed line in
/// `[[auth.users]]` gives another tag, so the session no longer matches.
fn session_tag(random: &str, user: &crate::config::UserConfig) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let mut digest = Sha256::new();
    digest.update(b"lookout-session-v1\0");
    digest.update(random.as_bytes());
    digest.update(b"\0");
    digest.update(user.name.to_lowercase().as_bytes());
    digest.update(b"\0");
    if let Some(hash) = &user.password_hash {
        digest.update(hash.expose().as_bytes());
    }
    digest.update(b"\0");
    digest.update(user.role.as_str().as_bytes());
    digest.update(b"\0");
    if let Some(environments) = &user.deploy_environments {
        digest.update(environments.join(",").as_bytes());
    }
    let bytes = digest.finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..16])
}

fn session_tag_matches(token: &str, user: &crate::config::UserConfig) -> bool {
    let Some((random, tag)) = token.rsplit_once('.') else {
        return false;
    };
    bool::from(session_tag(random, user).as_bytes().ct_eq(tag.as_bytes()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn demo_config() -> Config {
        use crate::demo::{demo_config_text, DemoScenario, DEMO_TOKENS};
        let text = demo_config_text(
            DemoScenario::Basic,
            "http://127.0.0.1:9",
            std::time::Duration::from_secs(5),
        );
        let lookup = |name: &str| {
            DEMO_TOKENS
                .iter()
                .find(|(variable, _)| *variable == name)
                .map(|(_, token)| token.to_string())
        };
        crate::config::parse(&text, "test", &lookup).unwrap()
    }

    async fn demo_auth() -> AuthService {
        let store = crate::store::open("sqlite::memory:").await.unwrap();
        AuthService::new(&demo_config(), store)
    }

    fn session_cookie(auth: &AuthService, token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let value = format!("{}={token}", auth.session_cookie_name());
        headers.insert(axum::http::header::COOKIE, value.parse().unwrap());
        headers
    }

    #[tokio::test]
    async fn an_idle_session_ends_and_a_used_one_slides_at_most_once_a_minute() {
        let auth = demo_auth().await;
        let token = auth.start_session("viewer").await.unwrap();
        let hash = password::sha256_hex(&token);
        let now = Utc::now();
        let stored = auth.store.find_session(&hash, now).await.unwrap().unwrap();
        let idle = chrono::Duration::hours(8);
        assert!(
            (stored.expires_at - (now + idle)).num_seconds().abs() < 5,
            "a new session expires after the idle timeout, not the 12 h lifetime"
        );
        // Used again right away: no write (the expiry moved by less than a minute).
        let (principal, _) = auth.principal(&session_cookie(&auth, &token), None).await;
        assert!(matches!(principal, Principal::User(_)));
        let again = auth.store.find_session(&hash, now).await.unwrap().unwrap();
        assert_eq!(again.expires_at, stored.expires_at);
        // Last used long ago (expiry near): use slides it to now + idle.
        let soon = Utc::now() + chrono::Duration::minutes(5);
        auth.store.touch_session(&hash, soon).await.unwrap();
        let (principal, _) = auth.principal(&session_cookie(&auth, &token), None).await;
        assert!(matches!(principal, Principal::User(_)));
        let slid = auth
            .store
            .find_session(&hash, Utc::now())
            .await
            .unwrap()
            .unwrap();
        assert!(slid.expires_at > soon + chrono::Duration::hours(7));
        // Idle past its expiry: signed out.
        let past = Utc::now() - chrono::Duration::seconds(1);
        auth.store.touch_session(&hash, past).await.unwrap();
        let (principal, _) = auth.principal(&session_cookie(&auth, &token), None).await;
        assert!(matches!(principal, Principal::Anonymous));
    }

    #[tokio::test]
    async fn a_session_without_its_tag_is_worthless() {
        let auth = demo_auth().await;
        let token = auth.start_session("admin").await.unwrap();
        let (random, _) = token.rsplit_once('.').unwrap();
        // A row for the bare random part (as an older Lookout stored) is not accepted.
        auth.store
            .create_session(
                &password::sha256_hex(random),
                &SessionRecord {
                    user_name: "admin".into(),
                    created_at: Utc::now(),
                    expires_at: Utc::now() + chrono::Duration::hours(1),
                },
            )
            .await
            .unwrap();
        let (principal, _) = auth.principal(&session_cookie(&auth, random), None).await;
        assert!(matches!(principal, Principal::Anonymous));
        let (principal, _) = auth.principal(&session_cookie(&auth, &token), None).await;
        assert!(matches!(principal, Principal::User(_)));
    }

    #[tokio::test]
    async fn password_mode_beyond_loopback_without_https_is_warned_about() {
        let auth = demo_auth().await;
        let exposed: std::net::SocketAddr = "0.0.0.0:3000".parse().unwrap();
        let local: std::net::SocketAddr = "127.0.0.1:3000".parse().unwrap();
        assert!(auth
            .startup_warnings(exposed)
            .iter()
            .any(|warning| warning.contains("without an https server.public_url")));
        assert!(auth.startup_warnings(local).is_empty());
    }

    #[tokio::test]
    async fn listening_beyond_loopback_without_trusted_proxies_is_warned_about() {
        let mut auth = demo_auth().await;
        auth.demo = false;
        let exposed: std::net::SocketAddr = "0.0.0.0:3000".parse().unwrap();
        let warned = |auth: &AuthService| {
            auth.startup_warnings(exposed)
                .iter()
                .any(|warning| warning.contains("trusted_proxies is empty"))
        };
        assert!(warned(&auth));
        auth.config.trusted_proxies = vec!["10.0.0.0/8".parse().unwrap()];
        assert!(!warned(&auth));
        auth.demo = true;
        auth.config.trusted_proxies.clear();
        assert!(!warned(&auth), "the demo has no proxy to name");
    }

    #[tokio::test]
    async fn a_full_verifier_refuses_instead_of_queueing_argon2_jobs() {
        let auth = demo_auth().await;
        let held: Vec<_> = (0..MAX_CONCURRENT_VERIFICATIONS)
            .map(|_| auth.verifications.clone().try_acquire_owned().unwrap())
            .collect();
        assert!(matches!(
            auth.verify_login("viewer", "viewer-demo").await,
            Err(VerifierBusy)
        ));
        drop(held);
        let identity = auth.verify_login("viewer", "viewer-demo").await.unwrap();
        assert_eq!(
            identity.map(|identity| identity.name).as_deref(),
            Some("viewer")
        );
        assert_eq!(
            auth.verifications.available_permits(),
            MAX_CONCURRENT_VERIFICATIONS,
            "the slot is given back when the job ends"
        );
    }
}
