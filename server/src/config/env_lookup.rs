//! How config reads the environment: a function, so tests and demo mode can supply values.

/// Reads environment variables; a function so tests and the demo can supply values.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment.
pub fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}
