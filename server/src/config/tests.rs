use super::*;
use app::model::{EnvironmentKind, ProviderKind};
use std::path::PathBuf;
use std::time::Duration;

fn env_with(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_string())
    }
}

const GOOD: &str = r#"
[server]
listen = "127.0.0.1:4000"

[monitor]
poll_interval_secs = 20

[[environments]]
name = "production"

[[environments]]
name = "staging"

[providers.vercel]
kind = "vercel"
token_env = "VERCEL_TOKEN"
team_id = "team_1"

[providers.render]
kind = "render"
token_env = "RENDER_API_KEY"

[[services]]
name = "web"
provider = "vercel"
project = "prj_web"
previews = true

[services.environments.production]
url = "https://example.com"
health = { url = "https://example.com/api/health", json_pointer = "/status", expect_value = "ok" }

[services.environments.staging]
target = "staging"

[[services]]
name = "api"
provider = "render"

[services.environments.production]
service_id = "srv-prod"

[[services]]
name = "db"
provider = "http"

[services.environments.production]
health = { url = "https://db.example.com/health", expect_status = 200 }
"#;

#[test]
fn a_good_file_is_understood() {
    let env = env_with(&[("VERCEL_TOKEN", "v-secret"), ("RENDER_API_KEY", "r-secret")]);
    let config = parse(GOOD, "lookout.toml", &env).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:4000");
    assert_eq!(config.monitor.poll_interval, Duration::from_secs(20));
    assert_eq!(config.environments.len(), 2);
    assert_eq!(config.environments[0].kind, EnvironmentKind::Production);
    let web = &config.services[0];
    assert!(web.previews);
    assert_eq!(web.provider_kind(), ProviderKind::Vercel);
    assert_eq!(
        web.environment_for("staging")
            .map(|e| e.environment.as_str()),
        Some("staging")
    );
    let health = web.environments[0].health.as_ref().unwrap();
    assert_eq!(
        health.expect_json.as_ref().unwrap().value,
        serde_json::json!("ok")
    );
    assert_eq!(
        config.services[1].environments[0].resource_id.as_deref(),
        Some("srv-prod")
    );
    let summary = describe(&config);
    assert!(summary.contains("web on Vercel: project prj_web"));
    assert!(!summary.contains("v-secret") && !format!("{config:?}").contains("v-secret"));
}

#[test]
fn port_from_the_environment_wins() {
    let env = env_with(&[
        ("VERCEL_TOKEN", "v"),
        ("RENDER_API_KEY", "r"),
        ("PORT", "8080"),
    ]);
    let config = parse(GOOD, "lookout.toml", &env).unwrap();
    assert_eq!(config.listen.to_string(), "0.0.0.0:8080");
}

#[test]
fn public_url_from_the_environment_wins_and_is_checked() {
    let text = "[server]\npublic_url = \"https://file.example.com/\"\n\n[[environments]]\nname = \"production\"\n";
    let no_public_url = "[[environments]]\nname = \"production\"\n";
    let from_file = parse(text, "x.toml", &env_with(&[])).unwrap();
    assert_eq!(
        from_file.public_url.as_deref(),
        Some("https://file.example.com")
    );
    let env = env_with(&[("LOOKOUT_PUBLIC_URL", "https://lookout.onrender.com/")]);
    let from_env = parse(text, "x.toml", &env).unwrap();
    assert_eq!(
        from_env.public_url.as_deref(),
        Some("https://lookout.onrender.com")
    );
    let errors = parse(
        text,
        "x.toml",
        &env_with(&[("LOOKOUT_PUBLIC_URL", "lookout.fly.dev")]),
    )
    .unwrap_err();
    assert_eq!(errors.0[0].key, "LOOKOUT_PUBLIC_URL (environment)");
    let render = env_with(&[("RENDER_EXTERNAL_URL", "https://lookout-x1.onrender.com")]);
    let on_render = parse(no_public_url, "x.toml", &render).unwrap();
    assert_eq!(
        on_render.public_url.as_deref(),
        Some("https://lookout-x1.onrender.com")
    );
    let railway = env_with(&[("RAILWAY_PUBLIC_DOMAIN", "lookout.up.railway.app")]);
    let on_railway = parse(no_public_url, "x.toml", &railway).unwrap();
    assert_eq!(
        on_railway.public_url.as_deref(),
        Some("https://lookout.up.railway.app")
    );
    let file_wins = parse(text, "x.toml", &render).unwrap();
    assert_eq!(
        file_wins.public_url.as_deref(),
        Some("https://file.example.com")
    );
}

#[test]
fn the_config_source_is_the_flag_then_lookout_config_then_the_inline_text() {
    let inline = env_with(&[("LOOKOUT_CONFIG_TOML", "[server]\n")]);
    assert_eq!(
        config_source(None, &inline),
        Some(ConfigSource::Inline("[server]\n".into()))
    );
    let both = env_with(&[
        ("LOOKOUT_CONFIG", "a.toml"),
        ("LOOKOUT_CONFIG_TOML", "[server]\n"),
    ]);
    assert_eq!(
        config_source(None, &both),
        Some(ConfigSource::File(PathBuf::from("a.toml")))
    );
    assert_eq!(
        config_source(Some(PathBuf::from("b.toml")), &both),
        Some(ConfigSource::File(PathBuf::from("b.toml")))
    );
    let blank = env_with(&[("LOOKOUT_CONFIG_TOML", "  \n")]);
    assert_eq!(config_source(None, &blank), None, "blank text is demo mode");
}

#[test]
fn inline_config_errors_name_the_variable_and_line() {
    let text = "[server]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n";
    let source = ConfigSource::Inline(text.into());
    let errors = load_source(&source, &env_with(&[])).unwrap_err();
    assert!(
        errors
            .to_string()
            .starts_with("LOOKOUT_CONFIG_TOML (environment):3: "),
        "{errors}"
    );
}

#[test]
fn a_missing_token_variable_names_the_key_and_line() {
    let env = env_with(&[("RENDER_API_KEY", "r")]);
    let errors = parse(GOOD, "lookout.toml", &env).unwrap_err();
    let first = &errors.0[0];
    assert_eq!(first.key, "providers.vercel.token_env");
    assert_eq!(first.line, Some(16));
    assert!(errors.to_string().starts_with(
        "lookout.toml:16: providers.vercel.token_env: environment variable VERCEL_TOKEN is not set"
    ));
}

#[test]
fn an_unknown_key_is_a_syntax_error_with_its_line() {
    let text = "[server]\nlisten = \"127.0.0.1:1\"\nlistne = 3\n";
    let errors = parse(text, "x.toml", &env_with(&[])).unwrap_err();
    assert_eq!(errors.0[0].line, Some(3));
    assert!(errors.0[0].message.contains("listne"), "{}", errors);
}

#[test]
fn every_problem_is_reported_at_once() {
    let text = r#"
[[environments]]
name = "production"
kind = "prod-ish"

[[services]]
name = "api"
provider = "heroku"

[[services]]
name = "db"
provider = "http"
[services.environments.qa]
health = { url = "not a url" }
"#;
    let errors = parse(text, "x.toml", &env_with(&[])).unwrap_err();
    let keys: Vec<_> = errors
        .0
        .iter()
        .map(|error| (error.key.as_str(), error.line))
        .collect();
    assert!(
        keys.contains(&("environments[0].kind", Some(4))),
        "{keys:?}"
    );
    assert!(
        keys.contains(&("services.api.provider", Some(8))),
        "{keys:?}"
    );
    assert!(
        keys.iter()
            .any(|(key, _)| *key == "services.db.environments.qa"),
        "{keys:?}"
    );
}

#[test]
fn each_provider_names_its_missing_keys() {
    let text = r#"
[[environments]]
name = "production"
[[environments]]
name = "staging"
[providers.netlify]
kind = "netlify"
token_env = "T"
[providers.github]
kind = "github"
token_env = "T"
[providers.cloudflare]
kind = "cloudflare_pages"
token_env = "T"
[providers.heroku]
kind = "heroku"
token_env = "T"
[[services]]
name = "front"
provider = "netlify"
site_id = "site-1"
[services.environments.staging]
url = "https://staging.example.com"
[[services]]
name = "deploys"
provider = "github"
repo = "acme"
[services.environments.production]
[[services]]
name = "admin"
provider = "heroku"
[services.environments.production]
app_id = "oops"
"#;
    let errors = parse(text, "x.toml", &env_with(&[("T", "t")])).unwrap_err();
    let keys: Vec<_> = errors.0.iter().map(|error| error.key.as_str()).collect();
    assert!(
        keys.contains(&"providers.cloudflare.account_id"),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"services.front.environments.staging.branch"),
        "{keys:?}"
    );
    assert!(keys.contains(&"services.deploys.repo"), "{keys:?}");
    assert!(
        keys.contains(&"services.admin.environments.production.app_id"),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"services.admin.environments.production.app"),
        "{keys:?}"
    );
    let text = errors.to_string();
    assert!(text.contains("write it as owner/repo"), "{text}");
    assert!(
        text.contains("Heroku needs `app` for each environment"),
        "{text}"
    );
}

#[test]
fn render_environments_need_a_service_id() {
    let text = r#"
[[environments]]
name = "production"
[providers.render]
kind = "render"
token_env = "R"
[[services]]
name = "api"
provider = "render"
[services.environments.production]
url = "https://api.example.com"
"#;
    let errors = parse(text, "x.toml", &env_with(&[("R", "r")])).unwrap_err();
    assert_eq!(
        errors.0[0].key,
        "services.api.environments.production.service_id"
    );
    assert_eq!(errors.0[0].line, Some(10));
}
