//! TOML text → the validated [`Config`]: syntax errors and every validation error carry the
//! origin, the line (from the value's span) and the key.

use super::env_lookup::EnvLookup;
use super::error::{line_of, ConfigError, ConfigErrors};
use super::raw::RawConfig;
use super::schema::Config;
use super::validate::Validator;

/// Parses and validates config text. `origin` names the file in errors.
pub fn parse(text: &str, origin: &str, env: EnvLookup<'_>) -> Result<Config, ConfigErrors> {
    parse_as(text, origin, env, false)
}

/// The demo's generated config: simulated data, so it may listen where `PORT` says without a
/// `public_url` (`Config::demo` is set).
pub fn parse_demo(text: &str, env: EnvLookup<'_>) -> Result<Config, ConfigErrors> {
    let mut config = parse_as(text, "demo", env, true)?;
    config.demo = true;
    Ok(config)
}

fn parse_as(
    text: &str,
    origin: &str,
    env: EnvLookup<'_>,
    demo: bool,
) -> Result<Config, ConfigErrors> {
    let raw: RawConfig = toml::from_str(text).map_err(|error| {
        let line = error.span().map(|span| line_of(text, span.start));
        ConfigErrors(vec![ConfigError {
            origin: origin.to_string(),
            line,
            key: "(syntax)".into(),
            message: error.message().trim().to_string(),
        }])
    })?;
    let mut validator = Validator {
        text,
        origin,
        demo,
        errors: Vec::new(),
    };
    let config = validator.config(raw, env);
    if validator.errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(validator.errors))
    }
}
