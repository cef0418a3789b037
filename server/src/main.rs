//! `lookout`: parse the command line, set up logging, and hand over to the library.

use clap::{Parser, Subcommand};
use server::demo::DemoScenario;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "lookout", version, about = "Deployment status dashboard")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the dashboard. Without a config (no --config, no LOOKOUT_CONFIG) it serves the
    /// demo: local provider simulators with sample data.
    Serve {
        /// The TOML config file.
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Without a config: which demo to serve, `basic` (default) or `all` (every
        /// provider). Also LOOKOUT_DEMO_SCENARIO.
        #[arg(long, value_name = "basic|all")]
        demo: Option<DemoScenario>,
    },
    /// Validate a config file and print what was understood; exit 1 on errors.
    CheckConfig {
        /// The TOML config file; without it, LOOKOUT_CONFIG or LOOKOUT_CONFIG_TOML.
        file: Option<PathBuf>,
    },
    /// Read a password from stdin and print its argon2id hash for `[[auth.users]]`.
    HashPassword,
    /// Make a read-only API token for `GET /api/v1/*`: prints the token (shown once) and the
    /// `[[auth.api_tokens]]` entry holding only its hash.
    CreateApiToken {
        /// What the token is for (shown in the audit log as `token:NAME`).
        name: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    server::cli::init_tracing();
    let command = cli.command.unwrap_or(Command::Serve {
        config: None,
        demo: None,
    });
    match command {
        Command::Serve { config, demo } => server::cli::serve(config, demo),
        Command::CheckConfig { file } => server::cli::check_config(file),
        Command::HashPassword => server::cli::hash_password(),
        Command::CreateApiToken { name } => server::cli::create_api_token(&name),
    }
}
