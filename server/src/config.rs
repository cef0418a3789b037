//! Configuration: one TOML file, parsed into types that cannot hold invalid states.
//!
//! Errors name the file, the line and the key. Secrets never sit in the file: a provider names
//! the environment variable that holds its token (`token_env`), resolved at load through an
//! [`EnvLookup`] so tests and demo mode can supply their own. `PORT` from the environment wins
//! over `server.listen`, as PaaS platforms expect.
//!
//! One job a module: `source` (where the text comes from), `parse` (TOML → `Config`), `error`
//! (errors with line and key), `env_lookup` (how the environment is read), `raw` (the file's shape), `schema` (the validated types), `validate`
//! (the checks, with one module per section: `env`, `providers_section`,
//! `services_section`, `auth_section`, `notifications_section`), `defaults`, `describe`
//! (`check-config`'s summary).

mod auth_section;
mod defaults;
mod describe;
mod env;
mod env_lookup;
mod error;
mod notifications_section;
mod parse;
mod providers_section;
mod raw;
mod schema;
mod services_section;
mod source;
mod validate;

pub use defaults::{
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_STREAMS, DEFAULT_MAX_STREAMS_PER_ADDRESS,
    DEFAULT_RUNBOOKS_DIR, DEFAULT_RUNBOOKS_RELOAD_INTERVAL,
};
pub use describe::describe;
pub use env_lookup::{process_env, EnvLookup};
pub use error::{ConfigError, ConfigErrors};
pub use parse::{parse, parse_demo};
pub use schema::{
    ApiTokenConfig, AuthConfig, Config, Connection, EnvironmentConfig, MonitorSettings,
    NotificationFormat, NotificationTarget, ProxyConfig, ServerLimits, ServiceConfig,
    ServiceEnvironment, ServiceResource, ServiceSource, UserConfig,
};
pub use source::{
    config_path, config_source, load_file, load_source, ConfigSource, INLINE_CONFIG_VARIABLE,
};

#[cfg(test)]
mod tests;
