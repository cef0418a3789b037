//! Who is asking and what they may do: the roles, the signed-in identity as the page sees it,
//! and the one authorization decision every server function makes (`decide`).
//!
//! The decision is a pure function of the policy, the principal and the access asked for, so
//! the authorization matrix can be tested from one table and the page can hide actions the
//! server would refuse anyway. The server is what enforces it (see `access.rs`).

use serde::{Deserialize, Serialize};

/// What a signed-in user may do. Ordered: each role includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads status, history and runbooks.
    Viewer,
    /// Also rolls back (on the environments granted, or all).
    Deployer,
    /// Also reads the audit log and the config status.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Deployer => "deployer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "viewer" => Some(Role::Viewer),
            "deployer" => Some(Role::Deployer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// How Lookout knows who someone is (the `[auth] mode` key).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// Users in the config with argon2id password hashes; a session cookie after login.
    Password,
    /// A trusted proxy (oauth2-proxy, Cloudflare Access) names the user in a header.
    Proxy,
    /// No login: everyone gets the configured open role. The page says so.
    Open,
}

/// A signed-in user as the page and the guard see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub name: String,
    pub role: Role,
    /// Environments a deployer may roll back; `None` means all of them.
    pub deploy_environments: Option<Vec<String>>,
}

impl Identity {
    /// Whether this user may roll back services in `environment`.
    pub fn may_roll_back(&self, environment: &str) -> bool {
        self.role >= Role::Deployer
            && self
                .deploy_environments
                .as_ref()
                .is_none_or(|granted| granted.iter().any(|name| name == environment))
    }
}

/// Who made a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Principal {
    /// Nobody signed in.
    Anonymous,
    /// A user (password session, proxy header, or everyone in open mode).
    User(Identity),
    /// A script with a read-only API token (`GET /api/v1/*` only).
    ApiToken { name: String },
}

impl Principal {
    /// The name the audit log records.
    pub fn actor(&self) -> String {
        match self {
            Principal::Anonymous => "anonymous".into(),
            Principal::User(identity) => identity.name.clone(),
            Principal::ApiToken { name } => format!("token:{name}"),
        }
    }

    pub fn identity(&self) -> Option<&Identity> {
        match self {
            Principal::User(identity) => Some(identity),
            _ => None,
        }
    }
}

/// The policy parts of the config the decision needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessPolicy {
    pub mode: AuthMode,
    /// Anonymous visitors may read status, history, service pages and runbooks.
    pub public_status: bool,
}

/// What a request asks to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Access {
    /// Status, history, service pages, runbooks.
    Read,
    /// The audit log and config status.
    ReadAudit,
    /// Roll back a service in this environment.
    RollBack { environment: String },
}

/// Why a request was refused: 401 asks to sign in, 403 says signing in will not help.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    Unauthenticated(String),
    Forbidden(String),
}

impl Denial {
    pub fn status(&self) -> u16 {
        match self {
            Denial::Unauthenticated(_) => 401,
            Denial::Forbidden(_) => 403,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            Denial::Unauthenticated(reason) | Denial::Forbidden(reason) => reason,
        }
    }
}

/// The one authorization decision.
pub fn decide(policy: AccessPolicy, principal: &Principal, access: &Access) -> Result<(), Denial> {
    let sign_in = || {
        Denial::Unauthenticated(match policy.mode {
            AuthMode::Proxy => "sign in through your single sign-on proxy first".to_string(),
            _ => "sign in first".to_string(),
        })
    };
    match (principal, access) {
        (Principal::Anonymous, Access::Read) if policy.public_status => Ok(()),
        (Principal::Anonymous, _) => Err(sign_in()),
        (Principal::ApiToken { .. }, Access::Read) => Ok(()),
        (Principal::ApiToken { name }, _) => Err(Denial::Forbidden(format!(
            "API token `{name}` is read-only"
        ))),
        (Principal::User(_), Access::Read) => Ok(()),
        (Principal::User(identity), Access::ReadAudit) => {
            if identity.role >= Role::Admin {
                Ok(())
            } else {
                Err(Denial::Forbidden(format!(
                    "{} is a {}; the audit log needs the admin role",
                    identity.name,
                    identity.role.as_str()
                )))
            }
        }
        (Principal::User(identity), Access::RollBack { environment }) => {
            if identity.may_roll_back(environment) {
                Ok(())
            } else if identity.role < Role::Deployer {
                Err(Denial::Forbidden(format!(
                    "{} is a {}; rolling back needs the deployer role",
                    identity.name,
                    identity.role.as_str()
                )))
            } else {
                Err(Denial::Forbidden(format!(
                    "{} may not roll back in {environment}",
                    identity.name
                )))
            }
        }
    }
}

/// A demo account shown on the login page (demo mode only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoLogin {
    pub name: String,
    pub password: String,
    pub role: Role,
}

/// What the page knows about the visitor's session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: Option<Identity>,
    pub policy: AccessPolicy,
    /// The form token that proves a POST came from one of Lookout's own pages.
    pub csrf_token: String,
    /// Where a proxy-mode user signs out, when configured.
    pub logout_url: Option<String>,
    /// Demo mode only: the demo accounts, so visitors can try each role.
    pub demo_logins: Vec<DemoLogin>,
}

/// The form field that carries the CSRF token in form posts.
pub const CSRF_FIELD: &str = "csrf_token";

/// The one check for every redirect built from user input (`?next=`, a form's `next`, the
/// server functions' redirects): `Some` only for a path on this site, percent-encoded so it
/// is a valid header value. Refused: anything not starting with one `/` (`https:`,
/// `javascript:`, relative paths), `//host` and `/\host` (browsers read both as another
/// host), and control characters (browsers drop tabs and newlines, so `/\t/host` is `//host`).
pub fn local_redirect_path(path: &str) -> Option<String> {
    let local = path.starts_with('/')
        && !path.starts_with("//")
        && !path.starts_with("/\\")
        && !path.chars().any(char::is_control);
    if !local {
        return None;
    }
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_graphic() {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Some(out)
}

/// Where to go after signing in: a local path (never the login page itself), else `/`.
pub fn safe_next(next: &str) -> String {
    local_redirect_path(next)
        .filter(|path| !path.starts_with("/login"))
        .unwrap_or_else(|| "/".to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn redirects_stay_on_this_site_and_are_valid_header_values() {
        use super::{local_redirect_path, safe_next};
        assert_eq!(safe_next("/history?service=api"), "/history?service=api");
        for refused in [
            "https://evil.example/",
            "http:evil.example",
            "javascript:alert(1)",
            "//evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "history",
            "",
            "/login?next=/",
        ] {
            assert_eq!(safe_next(refused), "/", "{refused:?}");
        }
        assert_eq!(safe_next("/services/café"), "/services/caf%C3%A9");
        assert_eq!(safe_next("/a b"), "/a%20b");
        assert_eq!(
            local_redirect_path("/rollbacks/3?error=x"),
            Some("/rollbacks/3?error=x".into())
        );
        assert_eq!(local_redirect_path("//evil.example"), None);
    }

    use super::*;

    fn user(role: Role, environments: Option<&[&str]>) -> Principal {
        Principal::User(Identity {
            name: "sam".into(),
            role,
            deploy_environments: environments
                .map(|names| names.iter().map(|name| name.to_string()).collect()),
        })
    }

    const PUBLIC: AccessPolicy = AccessPolicy {
        mode: AuthMode::Password,
        public_status: true,
    };
    const PRIVATE: AccessPolicy = AccessPolicy {
        mode: AuthMode::Password,
        public_status: false,
    };

    fn roll_back(environment: &str) -> Access {
        Access::RollBack {
            environment: environment.into(),
        }
    }

    #[test]
    fn anonymous_reads_only_a_public_status_page() {
        assert_eq!(decide(PUBLIC, &Principal::Anonymous, &Access::Read), Ok(()));
        let denied = decide(PRIVATE, &Principal::Anonymous, &Access::Read).unwrap_err();
        assert_eq!(denied.status(), 401);
        let denied = decide(PUBLIC, &Principal::Anonymous, &roll_back("production")).unwrap_err();
        assert_eq!(denied.status(), 401);
    }

    #[test]
    fn roles_include_the_ones_below() {
        let viewer = user(Role::Viewer, None);
        let deployer = user(Role::Deployer, None);
        let admin = user(Role::Admin, None);
        assert_eq!(decide(PRIVATE, &viewer, &Access::Read), Ok(()));
        assert_eq!(
            decide(PRIVATE, &viewer, &roll_back("staging"))
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(decide(PRIVATE, &deployer, &roll_back("staging")), Ok(()));
        assert_eq!(
            decide(PRIVATE, &deployer, &Access::ReadAudit)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(decide(PRIVATE, &admin, &Access::ReadAudit), Ok(()));
        assert_eq!(decide(PRIVATE, &admin, &roll_back("production")), Ok(()));
    }

    #[test]
    fn a_deployer_granted_staging_may_not_roll_back_production() {
        let deployer = user(Role::Deployer, Some(&["staging"]));
        assert_eq!(decide(PRIVATE, &deployer, &roll_back("staging")), Ok(()));
        let denied = decide(PRIVATE, &deployer, &roll_back("production")).unwrap_err();
        assert_eq!(denied.status(), 403);
        assert!(denied.reason().contains("production"), "{denied:?}");
    }

    #[test]
    fn api_tokens_only_read() {
        let token = Principal::ApiToken { name: "ci".into() };
        assert_eq!(decide(PRIVATE, &token, &Access::Read), Ok(()));
        assert_eq!(
            decide(PRIVATE, &token, &Access::ReadAudit)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            decide(PRIVATE, &token, &roll_back("staging"))
                .unwrap_err()
                .status(),
            403
        );
    }
}

/// Who a page's rollback details are shown to: signed-in users (viewer and up, API tokens)
/// see who rolled back and why; anonymous readers of a public dashboard see only that a
/// rollback happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Audience {
    SignedIn,
    Anonymous,
}

impl Audience {
    pub fn of(principal: &Principal) -> Self {
        match principal {
            Principal::Anonymous => Self::Anonymous,
            Principal::User(_) | Principal::ApiToken { .. } => Self::SignedIn,
        }
    }
}
