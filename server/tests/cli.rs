//! The `lookout` binary's subcommands, run as a user would.

use std::process::Command;

fn lookout() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_lookout"));
    command.current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    command
        .env_remove("PORT")
        .env_remove("LOOKOUT_CONFIG")
        .env_remove("LOOKOUT_CONFIG_TOML")
        .env_remove("LOOKOUT_PUBLIC_URL");
    command
}

#[test]
fn check_config_accepts_the_example_and_prints_what_it_understood() {
    let output = lookout()
        .args(["check-config", "examples/lookout.toml"])
        .env("VERCEL_TOKEN", "vercel-secret-value")
        .env("RENDER_API_KEY", "render-secret-value")
        .env("RAILWAY_TOKEN", "railway-secret-value")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
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
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(
        &path,
        "[[environments]]\nname = \"production\"\n\n[[services]]\nname = \"api\"\nprovider = \"render\"\n",
    )
    .unwrap();
    let output = lookout().arg("check-config").arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:6: services.api.provider", path.display())),
        "{stderr}"
    );
}

#[test]
fn check_config_reports_a_missing_token_variable() {
    let output = lookout()
        .args(["check-config", "examples/lookout.toml"])
        .env_remove("VERCEL_TOKEN")
        .env("RENDER_API_KEY", "r")
        .env("RAILWAY_TOKEN", "r")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("providers.vercel.token_env: environment variable VERCEL_TOKEN is not set"),
        "{stderr}"
    );
}

#[test]
fn check_config_reports_runbook_front_matter_errors_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lookout.toml");
    std::fs::write(
        &config,
        "runbooks_dir = \"books\"\n\n[[environments]]\nname = \"production\"\n",
    )
    .unwrap();
    let books = dir.path().join("books");
    std::fs::create_dir(&books).unwrap();
    std::fs::write(
        books.join("broken.md"),
        "---\ntitle: Broken\nseverity: apocalyptic\n---\nBody\n",
    )
    .unwrap();
    std::fs::write(
        books.join("unknown.md"),
        "---\ntitle: Unknown service\nservices: [ghost]\n---\nBody\n",
    )
    .unwrap();
    let output = lookout().arg("check-config").arg(&config).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}:3: severity: `apocalyptic` is not a severity",
            books.join("broken.md").display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "warning: {}:3: services: `ghost` is not a configured service",
            books.join("unknown.md").display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("1 runbook error(s)"), "{stderr}");
}

#[test]
fn check_config_without_a_file_checks_the_inline_config_a_paas_passes() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/lookout.toml"
    ))
    .unwrap();
    let output = lookout()
        .arg("check-config")
        .env("LOOKOUT_CONFIG_TOML", &text)
        .env("VERCEL_TOKEN", "v")
        .env("RENDER_API_KEY", "r")
        .env("RAILWAY_TOKEN", "t")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("ok: LOOKOUT_CONFIG_TOML (environment) is valid"),
        "{stdout}"
    );
    assert!(stdout.contains("api on Render"), "{stdout}");
}

#[test]
fn check_config_without_a_file_or_variable_says_what_it_needs() {
    let output = lookout().arg("check-config").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("LOOKOUT_CONFIG_TOML"), "{stderr}");
}
