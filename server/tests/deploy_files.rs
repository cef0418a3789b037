//! The PaaS deployment files (render.yaml, fly.toml, railway.json, .do/app.yaml) parsed and
//! checked for what a deploy needs: they build the repository's Dockerfile, route to the port
//! Lookout listens on ($PORT), check a health path Lookout serves, keep the SQLite file on
//! persistent storage (or name a PostgreSQL), and take secrets from the host's secret store,
//! never from the file.

mod common;

use common::repo::file as repo_file;

/// A YAML file as JSON values (saphyr is the YAML parser the server already has).
fn yaml_file(path: &str) -> serde_json::Value {
    use saphyr::{LoadableYamlNode, Yaml};
    fn to_json(value: &Yaml<'_>) -> serde_json::Value {
        use saphyr::Scalar;
        use serde_json::Value;
        match value {
            Yaml::Value(Scalar::String(text)) => Value::String(text.to_string()),
            Yaml::Value(Scalar::Integer(number)) => Value::from(*number),
            Yaml::Value(Scalar::FloatingPoint(number)) => Value::from(number.into_inner()),
            Yaml::Value(Scalar::Boolean(flag)) => Value::Bool(*flag),
            Yaml::Value(Scalar::Null) => Value::Null,
            Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect()),
            Yaml::Mapping(mapping) => Value::Object(
                mapping
                    .iter()
                    .map(|(key, value)| {
                        let key = match to_json(key) {
                            Value::String(text) => text,
                            other => other.to_string(),
                        };
                        (key, to_json(value))
                    })
                    .collect(),
            ),
            other => panic!("unexpected YAML node {other:?}"),
        }
    }
    let documents =
        Yaml::load_from_str(&repo_file(path)).unwrap_or_else(|error| panic!("{path}: {error}"));
    to_json(documents.first().expect("one YAML document"))
}

/// Where the image keeps its data: `ENV LOOKOUT_DATA_DIR=…` in the Dockerfile's runtime stage.
fn image_data_dir() -> String {
    let dockerfile = repo_file("Dockerfile");
    let runtime = dockerfile
        .split("AS runtime")
        .nth(1)
        .expect("the Dockerfile has a runtime stage");
    let value = runtime
        .split_whitespace()
        .find_map(|word| word.strip_prefix("LOOKOUT_DATA_DIR="))
        .expect("the runtime stage sets LOOKOUT_DATA_DIR");
    assert!(
        runtime.contains(&format!("VOLUME {value}")),
        "the data dir is a volume"
    );
    value.to_string()
}

/// Health paths the server answers (server/src/routes.rs).
const HEALTH_PATHS: [&str; 2] = ["/healthz", "/readyz"];

/// Provider tokens the example config names: a deploy file may name them, never hold them.
const TOKEN_VARIABLES: [&str; 3] = ["VERCEL_TOKEN", "RENDER_API_KEY", "RAILWAY_TOKEN"];

#[test]
fn the_dockerfile_fetches_crates_in_a_layer_of_their_own_before_the_sources() {
    // The instructions only, without comments, in order.
    let instructions: Vec<String> = repo_file("Dockerfile")
        .lines()
        .filter(|line| !line.trim_start().starts_with('#'))
        .map(str::to_string)
        .collect();
    let position = |needle: &str| {
        instructions
            .iter()
            .position(|line| line.contains(needle))
            .unwrap_or_else(|| panic!("no `{needle}` in the Dockerfile"))
    };
    let tools = position("scripts/setup.sh tools");
    let manifests = position("COPY server/Cargo.toml");
    let fetch = position("scripts/setup.sh fetch");
    let sources = position("COPY . .");
    let build = position("make release");
    assert!(
        tools < manifests && manifests < fetch && fetch < sources && sources < build,
        "tools, manifests, crates, sources, build: {tools} {manifests} {fetch} {sources} {build}"
    );
    let ignore = repo_file(".dockerignore");
    for excluded in ["target", "end2end/node_modules"] {
        assert!(
            ignore.lines().any(|line| line.trim() == excluded),
            "{excluded}"
        );
    }
}

#[test]
fn render_blueprint_builds_the_dockerfile_with_a_disk_for_the_data_dir() {
    let blueprint = yaml_file("render.yaml");
    let service = &blueprint["services"][0];
    assert_eq!(service["type"].as_str(), Some("web"));
    assert_eq!(service["runtime"].as_str(), Some("docker"));
    assert_eq!(service["dockerfilePath"].as_str(), Some("./Dockerfile"));
    let health = service["healthCheckPath"].as_str().unwrap();
    assert!(HEALTH_PATHS.contains(&health), "{health}");
    assert_eq!(
        service["disk"]["mountPath"].as_str(),
        Some(image_data_dir().as_str())
    );
    let variables = service["envVars"].as_array().unwrap();
    // Render sets PORT itself; a fixed one here would fight it.
    assert!(!variables.iter().any(|v| v["key"].as_str() == Some("PORT")));
    for name in TOKEN_VARIABLES
        .iter()
        .chain(&["LOOKOUT_CONFIG_TOML", "DATABASE_URL"])
    {
        let variable = variables
            .iter()
            .find(|v| v["key"].as_str() == Some(name))
            .unwrap_or_else(|| panic!("{name} is declared"));
        assert_eq!(
            variable["sync"].as_bool(),
            Some(false),
            "{name} is set in the dashboard"
        );
        assert!(
            variable.get("value").is_none(),
            "{name} has no value in the file"
        );
    }
}

#[test]
fn fly_config_builds_the_dockerfile_routes_to_port_and_mounts_the_data_dir() {
    let fly: toml::Table = toml::from_str(&repo_file("fly.toml")).unwrap();
    assert_eq!(fly["build"]["dockerfile"].as_str(), Some("Dockerfile"));
    let env = fly["env"].as_table().unwrap();
    let port: i64 = env["PORT"].as_str().unwrap().parse().unwrap();
    let service = fly["http_service"].as_table().unwrap();
    assert_eq!(service["internal_port"].as_integer(), Some(port));
    assert_eq!(service["force_https"].as_bool(), Some(true));
    assert_eq!(
        service["auto_stop_machines"].as_str(),
        Some("off"),
        "the monitor must keep polling"
    );
    let check = &service["checks"].as_array().unwrap()[0];
    assert!(HEALTH_PATHS.contains(&check["path"].as_str().unwrap()));
    let data_dir = env["LOOKOUT_DATA_DIR"].as_str().unwrap();
    assert_eq!(data_dir, image_data_dir());
    let mounts = fly["mounts"].as_array().unwrap();
    assert_eq!(mounts[0]["destination"].as_str(), Some(data_dir));
    assert!(env["LOOKOUT_PUBLIC_URL"]
        .as_str()
        .unwrap()
        .starts_with("https://"));
    for name in TOKEN_VARIABLES.iter().chain(&["LOOKOUT_CONFIG_TOML"]) {
        assert!(
            !env.contains_key(*name),
            "{name} is a `fly secrets set`, not [env]"
        );
    }
}

#[test]
fn railway_config_builds_the_dockerfile_and_requires_a_volume_on_the_data_dir() {
    let railway: serde_json::Value = serde_json::from_str(&repo_file("railway.json")).unwrap();
    assert_eq!(railway["build"]["builder"], "DOCKERFILE");
    assert_eq!(railway["build"]["dockerfilePath"], "Dockerfile");
    let deploy = &railway["deploy"];
    assert!(HEALTH_PATHS.contains(&deploy["healthcheckPath"].as_str().unwrap()));
    assert_eq!(
        deploy["requiredMountPath"].as_str(),
        Some(image_data_dir().as_str())
    );
    // Railway injects PORT and takes variables from its dashboard: the file names none.
    let text = repo_file("railway.json");
    for name in TOKEN_VARIABLES {
        assert!(!text.contains(name));
    }
}

#[test]
fn digitalocean_spec_builds_the_dockerfile_on_its_port_with_a_postgres_and_secret_tokens() {
    let spec = yaml_file(".do/app.yaml");
    let service = &spec["services"][0];
    assert_eq!(service["dockerfile_path"].as_str(), Some("Dockerfile"));
    assert!(HEALTH_PATHS.contains(&service["health_check"]["http_path"].as_str().unwrap()));
    let envs = service["envs"].as_array().unwrap();
    let value_of = |key: &str| {
        envs.iter()
            .find(|e| e["key"].as_str() == Some(key))
            .unwrap_or_else(|| panic!("{key} is declared"))
    };
    let port: u64 = value_of("PORT")["value"].as_str().unwrap().parse().unwrap();
    assert_eq!(service["http_port"].as_u64(), Some(port));
    // No disks on App Platform: the store is the spec's PostgreSQL.
    let database = &spec["databases"][0];
    assert_eq!(database["engine"].as_str(), Some("PG"));
    let database_name = database["name"].as_str().unwrap();
    assert_eq!(
        value_of("DATABASE_URL")["value"].as_str(),
        Some(format!("${{{database_name}.DATABASE_URL}}").as_str())
    );
    assert_eq!(
        value_of("LOOKOUT_PUBLIC_URL")["value"].as_str(),
        Some("${APP_URL}")
    );
    for name in TOKEN_VARIABLES.iter().chain(&["LOOKOUT_CONFIG_TOML"]) {
        let variable = value_of(name);
        assert_eq!(variable["type"].as_str(), Some("SECRET"), "{name}");
        assert!(
            variable.get("value").is_none(),
            "{name} has no value in the file"
        );
    }
}
