//! What a config error says: the origin (file), the line (from the value's span) and the key.

use std::fmt;

/// A configuration error: where, which key, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub origin: String,
    pub line: Option<u32>,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: {}: {}", self.origin, self.key, self.message),
            None => write!(f, "{}: {}: {}", self.origin, self.key, self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// All errors found in one file (validation goes on after the first, so one run shows all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The 1-based line of a byte offset in the config text.
pub(super) fn line_of(text: &str, offset: usize) -> u32 {
    let clamped = offset.min(text.len());
    let line = text.as_bytes()[..clamped]
        .iter()
        .filter(|byte| **byte == b'\n')
        .count()
        + 1;
    u32::try_from(line).unwrap_or(u32::MAX)
}
