//! The `cam` binary: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser as _;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cam::cli::Cli::parse();
    let level = if matches!(cli.command, cam::cli::Command::Run(_) | cam::cli::Command::Serve(_)) {
        "info"
    } else {
        "warn"
    };
    cam::cli::init_logging(cli.log_json, level, cli.plugin_logs);
    match cam::cli::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
