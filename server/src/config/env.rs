//! What the environment supplies or overrides: `PORT`, `LOOKOUT_PUBLIC_URL` (then the host's
//! own address), `DATABASE_URL`, `LOOKOUT_DATA_DIR`, `LOOKOUT_RUNBOOKS_DIR`, and the provider
//! tokens named by `token_env` (or read from `token_file`).

use super::defaults::{DEFAULT_LISTEN, DEFAULT_RUNBOOKS_DIR};
use super::env_lookup::EnvLookup;
use super::raw::{RawProvider, RawServer, RawStore};
use super::validate::Validator;
use crate::secret::Secret;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use toml::Spanned;

impl Validator<'_> {
    /// `LOOKOUT_RUNBOOKS_DIR` wins over the file's `runbooks_dir`; the default is `runbooks`.
    pub(super) fn runbooks_dir(
        &mut self,
        raw: Option<&Spanned<String>>,
        env: EnvLookup<'_>,
    ) -> PathBuf {
        match (env("LOOKOUT_RUNBOOKS_DIR"), raw) {
            (Some(dir), _) => PathBuf::from(dir),
            (None, Some(dir)) if dir.get_ref().trim().is_empty() => {
                self.error(dir, "runbooks_dir", "must not be empty");
                PathBuf::from(DEFAULT_RUNBOOKS_DIR)
            }
            (None, Some(dir)) => PathBuf::from(dir.get_ref()),
            (None, None) => PathBuf::from(DEFAULT_RUNBOOKS_DIR),
        }
    }

    /// `LOOKOUT_PUBLIC_URL` from the environment wins over `server.public_url` (a PaaS knows
    /// the address it gives the app only at deploy time); without either, the address Render
    /// (`RENDER_EXTERNAL_URL`) or Railway (`RAILWAY_PUBLIC_DOMAIN`) gives the service.
    pub(super) fn public_url(&mut self, raw: &RawServer, env: EnvLookup<'_>) -> Option<String> {
        let parsed = match env("LOOKOUT_PUBLIC_URL").filter(|url| !url.trim().is_empty()) {
            Some(url) => self.env_url(&url, "LOOKOUT_PUBLIC_URL (environment)"),
            None => match &raw.public_url {
                Some(url) => self.url(url, "server.public_url"),
                // What the PaaS says the service's address is: Render's full URL, Railway's
                // public domain (always https).
                None => env("RENDER_EXTERNAL_URL")
                    .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
                    .or_else(|| {
                        env("RAILWAY_PUBLIC_DOMAIN")
                            .filter(|domain| !domain.is_empty() && !domain.contains('/'))
                            .map(|domain| format!("https://{domain}"))
                    }),
            },
        };
        parsed.map(|text| text.trim_end_matches('/').to_string())
    }

    pub(super) fn store_url(&mut self, raw: &RawStore, env: EnvLookup<'_>) -> String {
        let check = |url: &str| {
            url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://")
        };
        if let Some(url) = env("DATABASE_URL") {
            if !check(&url) {
                self.error_at(
                    None,
                    "DATABASE_URL (environment)",
                    "must start with sqlite:, postgres:// or postgresql://",
                );
            }
            return url;
        }
        match &raw.url {
            Some(url) if check(url.get_ref()) => url.get_ref().clone(),
            Some(url) => {
                self.error(
                    url,
                    "store.url",
                    "must start with sqlite:, postgres:// or postgresql://",
                );
                String::new()
            }
            None => {
                let data_dir = env("LOOKOUT_DATA_DIR").unwrap_or_else(|| "data".to_string());
                format!("sqlite://{}/lookout.db", data_dir.trim_end_matches('/'))
            }
        }
    }

    pub(super) fn listen(&mut self, raw: &RawServer, env: EnvLookup<'_>) -> SocketAddr {
        let configured = match &raw.listen {
            Some(listen) => match listen.get_ref().parse::<SocketAddr>() {
                Ok(address) => address,
                Err(_) => {
                    self.error(
                        listen,
                        "server.listen",
                        format!(
                            "`{}` is not an address like 127.0.0.1:3000",
                            listen.get_ref()
                        ),
                    );
                    DEFAULT_LISTEN
                }
            },
            None => DEFAULT_LISTEN,
        };
        match env("PORT") {
            Some(port) => match port.trim().parse::<u16>() {
                // A PaaS sets PORT and routes to all interfaces.
                Ok(port) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
                Err(_) => {
                    self.error_at(
                        None,
                        "PORT (environment)",
                        format!("`{port}` is not a port number"),
                    );
                    configured
                }
            },
            None => configured,
        }
    }

    /// The token from `token_env` or `token_file`, and how to name its source in messages.
    pub(super) fn token(
        &mut self,
        provider: &RawProvider,
        entry: &Spanned<RawProvider>,
        key: &str,
        env: EnvLookup<'_>,
    ) -> Option<(Secret, String)> {
        match (&provider.token_env, &provider.token_file) {
            (Some(token_env), None) => match env(token_env.get_ref()) {
                Some(token) => Some((Secret::new(token.trim()), token_env.get_ref().clone())),
                None => {
                    self.error(
                        token_env,
                        &format!("{key}.token_env"),
                        format!("environment variable {} is not set", token_env.get_ref()),
                    );
                    None
                }
            },
            (None, Some(token_file)) => match std::fs::read_to_string(token_file.get_ref()) {
                Ok(token) if !token.trim().is_empty() => Some((
                    Secret::new(token.trim()),
                    format!("the file {}", token_file.get_ref()),
                )),
                Ok(_) => {
                    self.error(
                        token_file,
                        &format!("{key}.token_file"),
                        format!("{} is empty", token_file.get_ref()),
                    );
                    None
                }
                Err(error) => {
                    self.error(
                        token_file,
                        &format!("{key}.token_file"),
                        format!("cannot read {}: {error}", token_file.get_ref()),
                    );
                    None
                }
            },
            (Some(token_env), Some(_)) => {
                self.error(
                    token_env,
                    &format!("{key}.token_env"),
                    "give token_env or token_file, not both",
                );
                None
            }
            (None, None) => {
                self.error(
                    entry,
                    &format!("{key}.token_env"),
                    "missing: name the environment variable (token_env) or file (token_file) that holds the API token",
                );
                None
            }
        }
    }
    pub(super) fn env_url(&mut self, value: &str, key: &str) -> Option<String> {
        match url::Url::parse(value.trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Some(value.trim().to_string())
            }
            _ => {
                self.error_at(None, key, format!("`{value}` is not an http(s) URL"));
                None
            }
        }
    }
}
