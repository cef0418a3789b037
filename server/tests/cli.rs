//! The `lookout` binary's subcommands, run as a user would.

mod common;

use common::cli::{fails, folder_with, lookout, succeeds};
use std::process::Command;

/// With the three provider tokens `examples/lookout.toml` names set to `values`.
fn with_example_tokens<'a>(command: &'a mut Command, values: [&str; 3]) -> &'a mut Command {
    for (variable, value) in ["VERCEL_TOKEN", "RENDER_API_KEY", "RAILWAY_TOKEN"]
        .into_iter()
        .zip(values)
    {
        command.env(variable, value);
    }
    command
}

#[test]
fn check_config_accepts_the_example_and_prints_what_it_understood() {
    let stdout = succeeds(with_example_tokens(
        lookout().args(["check-config", "examples/lookout.toml"]),
        [
            "vercel-secret-value",
            "render-secret-value",
            "railway-secret-value",
        ],
    ));
    assert!(
        stdout.contains("web on Vercel: project prj_12HKQaOmR5t5Uy6vdcQsNIiZgHGB"),
        "{stdout}"
    );
    assert!(stdout.contains("api on Render"));
    assert!(stdout.contains("worker on Railway"));
    assert!(stdout.contains("ok: examples/lookout.toml is valid"));
    assert!(
        stdout.contains("runbooks: examples/../runbooks"),
        "{stdout}"
    );
    assert!(stdout.contains("runbooks: 5 loaded"), "{stdout}");
    assert!(!stdout.contains("secret-value"), "tokens are never printed");
}

#[test]
fn check_config_names_file_line_and_key_and_exits_1() {
    let (_dir, paths) = folder_with(&[(
        "broken.toml",
        "[[environments]]\nname = \"production\"\n\n[[services]]\nname = \"api\"\nprovider = \"render\"\n",
    )]);
    let path = &paths[0];
    let stderr = fails(lookout().arg("check-config").arg(path));
    assert!(
        stderr.contains(&format!("{}:6: services.api.provider", path.display())),
        "{stderr}"
    );
}

#[test]
fn check_config_reports_a_missing_token_variable() {
    let stderr = fails(
        lookout()
            .args(["check-config", "examples/lookout.toml"])
            .env_remove("VERCEL_TOKEN")
            .env("RENDER_API_KEY", "r")
            .env("RAILWAY_TOKEN", "r"),
    );
    assert!(
        stderr.contains("providers.vercel.token_env: environment variable VERCEL_TOKEN is not set"),
        "{stderr}"
    );
}

#[test]
fn check_config_reports_runbook_front_matter_errors_with_file_and_line() {
    let (_dir, paths) = folder_with(&[
        (
            "lookout.toml",
            "runbooks_dir = \"books\"\n\n[[environments]]\nname = \"production\"\n",
        ),
        (
            "books/broken.md",
            "---\ntitle: Broken\nseverity: apocalyptic\n---\nBody\n",
        ),
        (
            "books/unknown.md",
            "---\ntitle: Unknown service\nservices: [ghost]\n---\nBody\n",
        ),
    ]);
    let [config, broken, unknown] = &paths[..] else {
        unreachable!("three files")
    };
    let stderr = fails(lookout().arg("check-config").arg(config));
    assert!(
        stderr.contains(&format!(
            "{}:3: severity: `apocalyptic` is not a severity",
            broken.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "warning: {}:3: services: `ghost` is not a configured service",
            unknown.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("1 runbook error(s)"), "{stderr}");
}

#[test]
fn check_config_without_a_file_checks_the_inline_config_a_paas_passes() {
    let text = common::repo::file("examples/lookout.toml");
    let stdout = succeeds(with_example_tokens(
        lookout()
            .arg("check-config")
            .env("LOOKOUT_CONFIG_TOML", &text),
        ["v", "r", "t"],
    ));
    assert!(
        stdout.contains("ok: LOOKOUT_CONFIG_TOML (environment) is valid"),
        "{stdout}"
    );
    assert!(stdout.contains("api on Render"), "{stdout}");
}

#[test]
fn check_config_without_a_file_or_variable_says_what_it_needs() {
    let stderr = fails(lookout().arg("check-config"));
    assert!(stderr.contains("LOOKOUT_CONFIG_TOML"), "{stderr}");
}
