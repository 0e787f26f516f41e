//! The `cam` command line: argument definitions and dispatch. Each command
//! group lives in its own module; `main.rs` only calls [`run`].

pub mod campaigns;
pub mod cycle;
pub mod demo;
pub mod import;
pub mod init;
pub mod mail;
pub mod migrate;
pub mod plugins;
pub mod run;
pub mod scaffold;
pub mod serve;
pub mod tenants;
pub mod tokens;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, DEFAULT_CONFIG_FILE};

/// cam: client acquisition with sandboxed, hot-swappable WebAssembly plugins.
#[derive(Debug, Parser)]
#[command(name = "cam", version, about, long_about = None)]
pub struct Cli {
    /// The config file.
    #[arg(long, global = true, env = "CAM_CONFIG", default_value = DEFAULT_CONFIG_FILE)]
    pub config: PathBuf,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true, env = "CAM_LOG_JSON")]
    pub log_json: bool,
    /// Show the plugins' own log lines (the `log` import), tagged with the
    /// plugin's name and version, from LEVEL up (default when given: debug).
    #[arg(
        long,
        global = true,
        env = "CAM_PLUGIN_LOGS",
        value_name = "LEVEL",
        num_args = 0..=1,
        default_missing_value = "debug"
    )]
    pub plugin_logs: Option<PluginLogLevel>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with plugins: list, check, scaffold.
    #[command(subcommand)]
    Plugins(plugins::PluginsCommand),
    /// Set up cam in a folder: config, database, example plugins, mail folders.
    Init(init::InitArgs),
    /// Apply pending database migrations.
    Migrate,
    /// Import leads from a CSV file into a campaign.
    Import(import::ImportArgs),
    /// Create, list, show, pause and resume campaigns.
    #[command(subcommand)]
    Campaigns(campaigns::CampaignsCommand),
    /// Run one cycle of one campaign and print its report.
    Cycle(cycle::CycleArgs),
    /// Show the whole pipeline on example data in a fresh folder.
    Demo(demo::DemoArgs),
    /// The worker: run cycles over RUNNING campaigns until stopped.
    Run(run::RunArgs),
    /// Mail: check how the host reads messages, review emails that may
    /// have been sent, see the alert log.
    #[command(subcommand)]
    Mail(mail::MailCommand),
    /// Answer one-click unsubscribe links and the REST API (put it behind HTTPS).
    Serve(serve::ServeArgs),
    /// Hosted use: create, list, show, disable and enable tenants.
    #[command(subcommand)]
    Tenants(tenants::TenantsCommand),
    /// API tokens: create (shown once), list, revoke.
    #[command(subcommand)]
    Tokens(tokens::TokensCommand),
}

/// The lowest level of plugin log lines shown (`--plugin-logs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PluginLogLevel {
    /// Everything a plugin logs.
    Trace,
    /// Debug and up.
    Debug,
    /// Info and up.
    Info,
    /// Warnings and errors.
    Warn,
    /// Errors only.
    Error,
    /// None.
    Off,
}

impl PluginLogLevel {
    fn directive(self) -> &'static str {
        match self {
            PluginLogLevel::Trace => "cam::plugin=trace",
            PluginLogLevel::Debug => "cam::plugin=debug",
            PluginLogLevel::Info => "cam::plugin=info",
            PluginLogLevel::Warn => "cam::plugin=warn",
            PluginLogLevel::Error => "cam::plugin=error",
            PluginLogLevel::Off => "cam::plugin=off",
        }
    }
}

/// Sets up logging to stderr (`RUST_LOG` filters; default `info`).
///
/// The worker logs at `info` by default; one-shot commands only at `warn`, so
/// their own output stays readable. `plugins` sets the level of the plugins'
/// own lines (target `cam::plugin`) on top of either.
pub fn init_logging(json: bool, default_level: &str, plugins: Option<PluginLogLevel>) {
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    if let Some(directive) = plugins.and_then(|level| level.directive().parse().ok()) {
        filter = filter.add_directive(directive);
    }
    // Colours only for a person at a terminal, never into a file or a pipe.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = Config::load(&cli.config)?;
    match cli.command {
        Command::Plugins(command) => plugins::run(&config, command).await,
        Command::Init(args) => init::run(&config, args).await,
        Command::Migrate => migrate::run(&config).await,
        Command::Import(args) => import::run(&config, args).await,
        Command::Campaigns(command) => campaigns::run(&config, command).await,
        Command::Cycle(args) => cycle::run(&config, args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Run(args) => run::run(&config, args).await,
        Command::Mail(command) => mail::run(&config, command).await,
        Command::Serve(args) => serve::run(&config, args).await,
        Command::Tenants(command) => tenants::run(&config, command).await,
        Command::Tokens(command) => tokens::run(&config, command).await,
    }
}
