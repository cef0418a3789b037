//! The `lookout` binary as a user runs it: from the repository root, with none of the
//! variables of the shell that runs the tests that would change what it reads.

use super::app::write_file;
use server::demo::DEMO_TOKENS;
use std::path::PathBuf;
use std::process::{Command, Output};

/// A temporary folder holding `files` (name, text; folders are created): the folder (delete
/// it when the test ends) and the path of each file.
pub fn folder_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let paths = files
        .iter()
        .map(|(name, text)| {
            write_file(dir.path(), name, text);
            dir.path().join(name)
        })
        .collect();
    (dir, paths)
}

/// `lookout`, in the repository root, without `PORT`, `LOOKOUT_CONFIG`, `LOOKOUT_CONFIG_TOML`,
/// `LOOKOUT_PUBLIC_URL` or `DATABASE_URL` from the test's environment.
pub fn lookout() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lookout"));
    command.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    for variable in [
        "PORT",
        "LOOKOUT_CONFIG",
        "LOOKOUT_CONFIG_TOML",
        "LOOKOUT_PUBLIC_URL",
        "DATABASE_URL",
    ] {
        command.env_remove(variable);
    }
    command
}

/// With every demo token in its environment.
pub fn with_demo_tokens(command: &mut Command) -> &mut Command {
    for (variable, token) in DEMO_TOKENS {
        command.env(variable, token);
    }
    command
}

/// Runs `command` and returns its stdout, failing with both streams unless it succeeded.
pub fn succeeds(command: &mut Command) -> String {
    let output = command.output().expect("lookout runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs `command`, expects exit code 1, and returns its stderr.
pub fn fails(command: &mut Command) -> String {
    let Output { status, stderr, .. } = command.output().expect("lookout runs");
    let stderr = String::from_utf8_lossy(&stderr).into_owned();
    assert_eq!(status.code(), Some(1), "{stderr}");
    stderr
}
