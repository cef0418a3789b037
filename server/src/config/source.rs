//! Where the config text comes from: a file (`--config`, `LOOKOUT_CONFIG`) or the inline
//! `LOOKOUT_CONFIG_TOML` variable.

use super::env_lookup::EnvLookup;
use super::error::{ConfigError, ConfigErrors};
use super::parse::parse;
use super::schema::Config;
use std::path::{Path, PathBuf};

/// Loads and validates a config file.
pub fn load_file(path: &Path, env: EnvLookup<'_>) -> Result<Config, ConfigErrors> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        ConfigErrors(vec![ConfigError {
            origin: origin.clone(),
            line: None,
            key: "(file)".into(),
            message: format!("cannot read the file: {error}"),
        }])
    })?;
    let mut config = parse(&text, &origin, env)?;
    // A relative `runbooks_dir` in the file is relative to the file's folder.
    if env("LOOKOUT_RUNBOOKS_DIR").is_none() && config.runbooks_dir.is_relative() {
        if let (Some(base), true) = (path.parent(), text_sets_runbooks_dir(&text)) {
            config.runbooks_dir = base.join(&config.runbooks_dir);
        }
    }
    Ok(config)
}

fn text_sets_runbooks_dir(text: &str) -> bool {
    toml::from_str::<toml::Table>(text).is_ok_and(|table| table.contains_key("runbooks_dir"))
}

/// Where the config file is: `--config`, else `LOOKOUT_CONFIG`; `None` means demo mode.
pub fn config_path(flag: Option<PathBuf>, env: EnvLookup<'_>) -> Option<PathBuf> {
    flag.or_else(|| env("LOOKOUT_CONFIG").map(PathBuf::from))
}

/// The environment variable that may hold the whole config text, for hosts that have no
/// secret files (Railway, DigitalOcean App Platform): errors name it with the line.
pub const INLINE_CONFIG_VARIABLE: &str = "LOOKOUT_CONFIG_TOML";

/// Where the config comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A file: `--config` or `LOOKOUT_CONFIG`.
    File(PathBuf),
    /// The text of [`INLINE_CONFIG_VARIABLE`].
    Inline(String),
}

impl ConfigSource {
    /// What errors and logs call it.
    pub fn describe(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Inline(_) => format!("{INLINE_CONFIG_VARIABLE} (environment)"),
        }
    }
}

/// `--config`, else `LOOKOUT_CONFIG`, else a non-empty `LOOKOUT_CONFIG_TOML`; `None` means demo
/// mode. A file named on the command line or in `LOOKOUT_CONFIG` wins over the inline text.
pub fn config_source(flag: Option<PathBuf>, env: EnvLookup<'_>) -> Option<ConfigSource> {
    config_path(flag, env).map(ConfigSource::File).or_else(|| {
        env(INLINE_CONFIG_VARIABLE)
            .filter(|text| !text.trim().is_empty())
            .map(ConfigSource::Inline)
    })
}

/// Loads and validates the config from where [`config_source`] found it. A relative
/// `runbooks_dir` in inline text is relative to the working directory.
pub fn load_source(source: &ConfigSource, env: EnvLookup<'_>) -> Result<Config, ConfigErrors> {
    match source {
        ConfigSource::File(path) => load_file(path, env),
        ConfigSource::Inline(text) => parse(text, &source.describe(), env),
    }
}
