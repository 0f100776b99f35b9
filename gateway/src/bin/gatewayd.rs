//! `gatewayd`: the trunk gateway daemon. See `gatewayd --help`.

use clap::Parser;
use gateway::cli::{Cli, Command};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::CheckConfig { file } => gateway::check::check_config(file),
        Command::DefaultConfig => gateway::check::default_config(),
        Command::Replay { file, config } => gateway::check::replay(file, config.as_deref()),
        Command::Run(args) => {
            if let Err(e) = gateway::logging::init(cli.log_format, cli.log_level.as_deref()) {
                eprintln!("gatewayd: {e}");
                return ExitCode::from(2);
            }
            gateway::daemon::run(args)
        }
    }
}
