//! The `[auth]` section: how people sign in, which roles they have, and the API tokens scripts
//! use. Validated like the rest of the file (errors name the line and key).

use super::error::line_of;
use super::raw::{RawAuth, RawUser};
use super::schema::{
    ApiTokenConfig, AuthConfig, ProxyConfig, UserConfig, DEFAULT_SESSION_IDLE, DEFAULT_SESSION_TTL,
};
use super::validate::Validator;
use crate::auth::cidr::IpNetwork;
use crate::secret::Secret;
use app::auth::{AuthMode, Role};
use std::time::Duration;
use toml::Spanned;

const DEFAULT_PROXY_HEADER: &str = "x-forwarded-email";

impl Validator<'_> {
    pub(super) fn auth(&mut self, raw: Option<&RawAuth>, environments: &[String]) -> AuthConfig {
        let Some(raw) = raw else {
            return AuthConfig::default();
        };
        let mode = match &raw.mode {
            None => AuthMode::Open,
            Some(mode) => match mode.get_ref().as_str() {
                "password" => AuthMode::Password,
                "proxy" => AuthMode::Proxy,
                "none" => AuthMode::Open,
                other => {
                    self.error(
                        mode,
                        "auth.mode",
                        format!("`{other}` is not one of: password, proxy, none"),
                    );
                    AuthMode::Open
                }
            },
        };
        let open_role = raw
            .open_role
            .as_ref()
            .and_then(|role| self.role(role, "auth.open_role"))
            .unwrap_or(Role::Viewer);
        let session_ttl = match &raw.session_hours {
            Some(hours) if *hours.get_ref() == 0 || *hours.get_ref() > 24 * 30 => {
                self.error(hours, "auth.session_hours", "must be between 1 and 720");
                DEFAULT_SESSION_TTL
            }
            Some(hours) => Duration::from_secs(hours.get_ref() * 3600),
            None => DEFAULT_SESSION_TTL,
        };
        let session_idle = match &raw.session_idle_minutes {
            Some(minutes) if !(5..=24 * 30 * 60).contains(minutes.get_ref()) => {
                self.error(
                    minutes,
                    "auth.session_idle_minutes",
                    "must be between 5 and 43200",
                );
                DEFAULT_SESSION_IDLE
            }
            Some(minutes) => Duration::from_secs(minutes.get_ref() * 60),
            None => DEFAULT_SESSION_IDLE,
        };
        let mut users: Vec<UserConfig> = Vec::new();
        for user in &raw.users {
            let Some(parsed) = self.user(user.get_ref(), mode, environments) else {
                continue;
            };
            if users
                .iter()
                .any(|known| known.name.eq_ignore_ascii_case(&parsed.name))
            {
                self.error(
                    &user.get_ref().name,
                    "auth.users.name",
                    format!("user `{}` is listed twice", parsed.name),
                );
                continue;
            }
            users.push(parsed);
        }
        if mode == AuthMode::Password && users.is_empty() && raw.users.is_empty() {
            let at = raw.mode.as_ref().map(|mode| mode.span().start);
            self.error_at(
                at.map(|offset| line_of(self.text, offset)),
                "auth.users",
                "password mode needs at least one [[auth.users]] entry with a password_hash",
            );
        }
        let trusted_proxies = self.trusted_proxies(raw, mode);
        let client_ip_header = raw.client_ip_header.as_ref().and_then(|header| {
            let name = header.get_ref().trim().to_ascii_lowercase();
            let valid = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                self.error(header, "auth.client_ip_header", "must be a header name like fly-client-ip");
                return None;
            }
            if trusted_proxies.is_empty() {
                self.error(
                    header,
                    "auth.client_ip_header",
                    "is believed only from trusted_proxies; list the platform's proxy addresses there",
                );
            }
            Some(name)
        });
        let proxy = (mode == AuthMode::Proxy).then(|| self.proxy(raw));
        let mut api_tokens: Vec<ApiTokenConfig> = Vec::new();
        for token in &raw.api_tokens {
            let token = token.get_ref();
            let name = token.name.get_ref().trim().to_string();
            if name.is_empty() {
                self.error(&token.name, "auth.api_tokens.name", "must not be empty");
                continue;
            }
            match parse_sha256(token.sha256.get_ref()) {
                Some(sha256) => api_tokens.push(ApiTokenConfig { name, sha256 }),
                None => self.error(
                    &token.sha256,
                    "auth.api_tokens.sha256",
                    "must be 64 hex digits (the line `lookout create-api-token` prints)",
                ),
            }
        }
        AuthConfig {
            mode,
            public_status: raw
                .public_status
                .as_ref()
                .map(|value| *value.get_ref())
                .unwrap_or(mode == AuthMode::Open),
            open_role,
            explicit: true,
            session_ttl,
            session_idle,
            users,
            trusted_proxies,
            client_ip_header,
            proxy,
            api_tokens,
            demo_logins: Vec::new(),
        }
    }

    /// `server.public_url` is required when Lookout listens beyond loopback and anyone can
    /// sign in or act there (password or proxy mode, or `none` with `open_role` deployer or
    /// admin): the Host check and the origin check then have one name to hold requests to.
    /// An open, read-only dashboard may go without (it answers to IP literals and loopback
    /// names only); demo mode binds what `PORT` says and shows simulated data.
    pub(super) fn exposure(
        &mut self,
        raw: Option<&RawAuth>,
        auth: &AuthConfig,
        listen: std::net::SocketAddr,
        has_public_url: bool,
    ) {
        let acts = match auth.mode {
            AuthMode::Password | AuthMode::Proxy => true,
            AuthMode::Open => auth.open_role >= Role::Deployer,
        };
        if has_public_url || listen.ip().is_loopback() || !acts || self.demo {
            return;
        }
        let at = raw.and_then(|raw| {
            let offset = match auth.mode {
                AuthMode::Open => raw.open_role.as_ref()?.span().start,
                _ => raw.mode.as_ref()?.span().start,
            };
            Some(line_of(self.text, offset))
        });
        let why = match auth.mode {
            AuthMode::Password => "auth.mode = \"password\"",
            AuthMode::Proxy => "auth.mode = \"proxy\"",
            AuthMode::Open => "auth.open_role lets anyone act",
        };
        self.error_at(
            at,
            "server.public_url",
            format!(
                "must be set when Lookout listens beyond loopback ({listen}) and {why}: set it \
                 (or LOOKOUT_PUBLIC_URL) to the address people open, e.g. \
                 https://status.example.com; requests naming any other host are refused"
            ),
        );
    }

    fn role(&mut self, value: &Spanned<String>, key: &str) -> Option<Role> {
        let role = Role::parse(value.get_ref());
        if role.is_none() {
            self.error(
                value,
                key,
                format!(
                    "`{}` is not one of: viewer, deployer, admin",
                    value.get_ref()
                ),
            );
        }
        role
    }

    fn user(
        &mut self,
        raw: &RawUser,
        mode: AuthMode,
        environments: &[String],
    ) -> Option<UserConfig> {
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty() {
            self.error(&raw.name, "auth.users.name", "must not be empty");
            return None;
        }
        let role = self.role(&raw.role, "auth.users.role")?;
        let password_hash = match (&raw.password_hash, mode) {
            (Some(hash), _) => {
                if crate::auth::password::is_argon2id_hash(hash.get_ref()) {
                    Some(Secret::new(hash.get_ref().clone()))
                } else {
                    self.error(
                        hash,
                        "auth.users.password_hash",
                        "is not an argon2id hash (make one with `lookout hash-password`)",
                    );
                    return None;
                }
            }
            (None, AuthMode::Password) => {
                self.error(
                    &raw.name,
                    "auth.users.password_hash",
                    format!("user `{name}` needs a password_hash in password mode (`lookout hash-password`)"),
                );
                return None;
            }
            (None, _) => None,
        };
        let deploy_environments = match &raw.environments {
            None => None,
            Some(list) => {
                for environment in list.get_ref() {
                    if !environments.iter().any(|known| known == environment) {
                        self.error(
                            list,
                            "auth.users.environments",
                            format!("`{environment}` is not an environment in [[environments]]"),
                        );
                    }
                }
                Some(list.get_ref().clone())
            }
        };
        Some(UserConfig {
            name,
            password_hash,
            role,
            deploy_environments,
        })
    }

    fn trusted_proxies(&mut self, raw: &RawAuth, mode: AuthMode) -> Vec<IpNetwork> {
        let mut trusted_proxies = Vec::new();
        match &raw.trusted_proxies {
            Some(list) => {
                for entry in list.get_ref() {
                    match entry.parse::<IpNetwork>() {
                        Ok(network) => trusted_proxies.push(network),
                        Err(message) => self.error(list, "auth.trusted_proxies", message),
                    }
                }
                if list.get_ref().is_empty() && mode == AuthMode::Proxy {
                    self.error(list, "auth.trusted_proxies", "must name at least one address");
                }
            }
            None if mode == AuthMode::Proxy => self.error_at(
                raw.mode
                    .as_ref()
                    .map(|mode| line_of(self.text, mode.span().start)),
                "auth.trusted_proxies",
                "proxy mode needs the proxy's addresses (e.g. [\"127.0.0.1/32\"]); the user header is ignored from anyone else",
            ),
            None => {}
        }
        trusted_proxies
    }

    fn proxy(&mut self, raw: &RawAuth) -> ProxyConfig {
        let user_header = raw
            .proxy_user_header
            .as_ref()
            .map(|header| header.get_ref().trim().to_ascii_lowercase())
            .unwrap_or_else(|| DEFAULT_PROXY_HEADER.to_string());
        let default_role = raw
            .proxy_default_role
            .as_ref()
            .and_then(|role| self.role(role, "auth.proxy_default_role"));
        let logout_url = raw
            .logout_url
            .as_ref()
            .and_then(|url| self.url(url, "auth.logout_url"));
        ProxyConfig {
            user_header,
            default_role,
            logout_url,
        }
    }
}

/// The `[auth]` lines of `lookout check-config` (names and roles, never hashes).
pub(super) fn describe(auth: &AuthConfig) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mode = match auth.mode {
        AuthMode::Password => "password",
        AuthMode::Proxy => "proxy",
        AuthMode::Open if auth.explicit => "none",
        AuthMode::Open => "none (no [auth] section)",
    };
    let _ = writeln!(
        out,
        "auth: {mode}; status page {}",
        if auth.public_status {
            "public"
        } else {
            "needs sign-in"
        }
    );
    if auth.mode == AuthMode::Open {
        let _ = writeln!(
            out,
            "  everyone is a {} (anyone who can reach Lookout)",
            auth.open_role.as_str()
        );
    }
    if let Some(proxy) = &auth.proxy {
        let _ = writeln!(
            out,
            "  user header {} from {} trusted address range(s); unlisted users: {}",
            proxy.user_header,
            auth.trusted_proxies.len(),
            proxy.default_role.map_or("refused", |role| role.as_str())
        );
    }
    for user in &auth.users {
        let scope = user
            .deploy_environments
            .as_ref()
            .map(|environments| format!(" on {}", environments.join(", ")))
            .unwrap_or_default();
        let _ = writeln!(out, "  user {}: {}{scope}", user.name, user.role.as_str());
    }
    for token in &auth.api_tokens {
        let _ = writeln!(out, "  API token {}: read-only", token.name);
    }
    out
}

fn parse_sha256(text: &str) -> Option<[u8; 32]> {
    let text = text.trim().trim_start_matches("sha256:");
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (index, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(index * 2..index * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}
