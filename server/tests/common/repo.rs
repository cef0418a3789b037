//! Files of the repository itself (deploy files, the example config, the runbooks folder).

use std::path::PathBuf;

/// The repository's root folder.
pub fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The text of the repository file at `path` (relative to the root).
pub fn file(path: &str) -> String {
    let full = root().join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|error| panic!("{}: {error}", full.display()))
}

/// The repository's own runbooks folder.
pub fn runbooks() -> PathBuf {
    root().join("runbooks")
}
