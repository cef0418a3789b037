//! Raw file values → validated types. The [`Validator`] collects every problem (so one run
//! shows all) with its line and key; each section's checks are `impl Validator` blocks in
//! their own module (`env`, `providers_section`, `services_section`, `auth_section`,
//! `notifications_section`).

use super::defaults::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_HEALTH_INTERVAL_SECS, DEFAULT_HISTORY_DEPTH,
    DEFAULT_MAX_STREAMS, DEFAULT_MAX_STREAMS_PER_ADDRESS, DEFAULT_POLL_INTERVAL_SECS,
    DEFAULT_ROLLBACK_POLL_MILLIS, DEFAULT_ROLLBACK_TIMEOUT_SECS, DEFAULT_RUNBOOKS_RELOAD_INTERVAL,
};
use super::env_lookup::EnvLookup;
use super::error::{line_of, ConfigError};
use super::raw::{RawConfig, RawEnvironment, RawMonitor, RawServer};
use super::schema::{Config, EnvironmentConfig, MonitorSettings, ServerLimits};
use app::model::EnvironmentKind;
use std::collections::HashSet;
use std::ops::RangeInclusive;
use std::time::Duration;
use toml::Spanned;

pub(super) struct Validator<'a> {
    pub(super) text: &'a str,
    pub(super) origin: &'a str,
    /// The demo's own config (see [`parse_demo`]).
    pub(super) demo: bool,
    pub(super) errors: Vec<ConfigError>,
}

impl Validator<'_> {
    pub(super) fn error<T>(&mut self, at: &Spanned<T>, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            origin: self.origin.to_string(),
            line: Some(line_of(self.text, at.span().start)),
            key: key.to_string(),
            message: message.into(),
        });
    }

    pub(super) fn error_at(&mut self, line: Option<u32>, key: &str, message: impl Into<String>) {
        self.errors.push(ConfigError {
            origin: self.origin.to_string(),
            line,
            key: key.to_string(),
            message: message.into(),
        });
    }

    pub(super) fn config(&mut self, raw: RawConfig, env: EnvLookup<'_>) -> Config {
        let listen = self.listen(&raw.server, env);
        let public_url = self.public_url(&raw.server, env);
        let limits = self.limits(&raw.server);
        let monitor = self.monitor(&raw.monitor);
        let environments = self.environments(&raw.environments);
        let providers = self.providers(&raw.providers, env);
        let services = self.services(&raw.services, &environments, &providers);
        let store_url = self.store_url(&raw.store, env);
        let environment_names: Vec<String> = environments
            .iter()
            .map(|environment| environment.name.clone())
            .collect();
        let auth = self.auth(raw.auth.as_ref(), &environment_names);
        self.exposure(raw.auth.as_ref(), &auth, listen, public_url.is_some());
        let notifications = self.notifications(&raw.notifications, &environment_names, env);
        let runbooks_dir = self.runbooks_dir(raw.runbooks_dir.as_ref(), env);
        Config {
            auth,
            origin: self.origin.to_string(),
            listen,
            public_url,
            limits,
            monitor,
            environments,
            services,
            store_url,
            demo: false,
            runbooks_dir,
            runbooks_reload_interval: DEFAULT_RUNBOOKS_RELOAD_INTERVAL,
            notifications,
        }
    }

    /// The value when it is in `range`; else an error at its line and the default. Absent
    /// means the default.
    fn in_range<T: Copy + PartialOrd>(
        &mut self,
        value: &Option<Spanned<T>>,
        range: RangeInclusive<T>,
        key: &str,
        message: &str,
        default: T,
    ) -> T {
        match value {
            Some(value) if !range.contains(value.get_ref()) => {
                self.error(value, key, message);
                default
            }
            Some(value) => *value.get_ref(),
            None => default,
        }
    }

    pub(super) fn monitor(&mut self, raw: &RawMonitor) -> MonitorSettings {
        const SECONDS: &str = "must be between 1 and 86400 seconds";
        let poll = self.in_range(
            &raw.poll_interval_secs,
            1..=86_400,
            "monitor.poll_interval_secs",
            SECONDS,
            DEFAULT_POLL_INTERVAL_SECS,
        );
        let health = self.in_range(
            &raw.health_interval_secs,
            1..=86_400,
            "monitor.health_interval_secs",
            SECONDS,
            DEFAULT_HEALTH_INTERVAL_SECS,
        );
        let history_depth = self.in_range(
            &raw.history_depth,
            1..=1000,
            "monitor.history_depth",
            "must be between 1 and 1000",
            DEFAULT_HISTORY_DEPTH,
        );
        let rollback_timeout = self.in_range(
            &raw.rollback_timeout_secs,
            1..=3600,
            "monitor.rollback_timeout_secs",
            "must be between 1 and 3600 seconds",
            DEFAULT_ROLLBACK_TIMEOUT_SECS,
        );
        let rollback_poll = self.in_range(
            &raw.rollback_poll_millis,
            50..=60_000,
            "monitor.rollback_poll_millis",
            "must be between 50 and 60000 milliseconds",
            DEFAULT_ROLLBACK_POLL_MILLIS,
        );
        MonitorSettings {
            poll_interval: Duration::from_secs(poll),
            health_interval: Duration::from_secs(health),
            history_depth,
            rollback_timeout: Duration::from_secs(rollback_timeout),
            rollback_poll: Duration::from_millis(rollback_poll),
        }
    }

    /// The trimmed `name` when it is valid and not in `seen` (it is added); else an error at
    /// it: under `invalid_key` with `hint`, or under `twice_key(name)` when seen before.
    pub(super) fn new_name(
        &mut self,
        name: &Spanned<String>,
        seen: &mut HashSet<String>,
        invalid_key: &str,
        hint: &str,
        twice_key: impl FnOnce(&str) -> String,
    ) -> Option<String> {
        let trimmed = name.get_ref().trim().to_string();
        if !valid_name(&trimmed) {
            self.error(name, invalid_key, hint);
            return None;
        }
        if !seen.insert(trimmed.clone()) {
            self.error(
                name,
                &twice_key(&trimmed),
                format!("`{trimmed}` is defined twice"),
            );
            return None;
        }
        Some(trimmed)
    }

    pub(super) fn environments(
        &mut self,
        raw: &[Spanned<RawEnvironment>],
    ) -> Vec<EnvironmentConfig> {
        let mut seen = HashSet::new();
        let mut environments = Vec::new();
        for (index, entry) in raw.iter().enumerate() {
            let environment = entry.get_ref();
            let key = format!("environments[{index}]");
            let Some(name) = self.new_name(
                &environment.name,
                &mut seen,
                &format!("{key}.name"),
                "use letters, digits, `-` and `_` (e.g. production)",
                |_| format!("{key}.name"),
            ) else {
                continue;
            };
            let kind = match &environment.kind {
                Some(kind) => match parse_kind(kind.get_ref()) {
                    Some(EnvironmentKind::Preview) => {
                        self.error(
                            kind,
                            &format!("{key}.kind"),
                            "preview environments come from the providers (set `previews = true` on a service)",
                        );
                        continue;
                    }
                    Some(kind) => kind,
                    None => {
                        self.error(
                            kind,
                            &format!("{key}.kind"),
                            format!(
                                "`{}` is not one of production, staging, development",
                                kind.get_ref()
                            ),
                        );
                        continue;
                    }
                },
                None => parse_kind(&name)
                    .filter(|kind| *kind != EnvironmentKind::Preview)
                    .unwrap_or(EnvironmentKind::Development),
            };
            environments.push(EnvironmentConfig { name, kind });
        }
        if environments.is_empty() && raw.is_empty() {
            self.error_at(
                None,
                "environments",
                "define at least one [[environments]] entry (e.g. name = \"production\")",
            );
        }
        environments
    }
    pub(super) fn limits(&mut self, raw: &RawServer) -> ServerLimits {
        const AT_LEAST_ONE: &str = "must be at least 1";
        let max_streams = self.in_range(
            &raw.max_streams,
            1..=u32::MAX,
            "server.max_streams",
            AT_LEAST_ONE,
            DEFAULT_MAX_STREAMS,
        );
        let max_streams_per_address = self.in_range(
            &raw.max_streams_per_address,
            1..=u32::MAX,
            "server.max_streams_per_address",
            AT_LEAST_ONE,
            DEFAULT_MAX_STREAMS_PER_ADDRESS,
        );
        let header_read_timeout = self.in_range(
            &raw.header_read_timeout_secs,
            1..=300,
            "server.header_read_timeout_secs",
            "must be between 1 and 300",
            DEFAULT_HEADER_READ_TIMEOUT.as_secs(),
        );
        ServerLimits {
            max_streams,
            max_streams_per_address,
            header_read_timeout: Duration::from_secs(header_read_timeout),
        }
    }

    pub(super) fn url(&mut self, value: &Spanned<String>, key: &str) -> Option<String> {
        match url::Url::parse(value.get_ref().trim()) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Some(value.get_ref().trim().to_string())
            }
            _ => {
                self.error(
                    value,
                    key,
                    format!("`{}` is not an http(s) URL", value.get_ref()),
                );
                None
            }
        }
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(super) fn parse_kind(value: &str) -> Option<EnvironmentKind> {
    match value {
        "production" | "prod" => Some(EnvironmentKind::Production),
        "staging" | "stage" => Some(EnvironmentKind::Staging),
        "development" | "dev" => Some(EnvironmentKind::Development),
        "preview" => Some(EnvironmentKind::Preview),
        _ => None,
    }
}
