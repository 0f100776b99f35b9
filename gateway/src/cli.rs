//! The `gatewayd` command line.

use crate::logging::LogFormat;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// SIP / H.323 / E1-T1 trunk gateway.
///
/// Signals while running: SIGHUP reloads the configuration file (a bad file is refused
/// and the running configuration stays); SIGTERM or SIGINT stops taking new calls, lets
/// live calls finish for up to general.drain_timeout_seconds, and exits 0.
#[derive(Debug, Parser)]
#[command(name = "gatewayd", version, propagate_version = true)]
pub struct Cli {
    /// Log line format: text for people, json for journald / ELK.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Log filter: a level (error, warn, info, debug, trace) or directives such as
    /// "info,gateway=debug". Overrides RUST_LOG; the default is info.
    #[arg(long, value_name = "LEVEL", global = true)]
    pub log_level: Option<String>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway until SIGTERM or SIGINT.
    Run(RunArgs),
    /// Check a configuration file: exit 0 when valid, else print every error as
    /// FILE:LINE:COL: field.path: message and exit 1.
    CheckConfig {
        /// The YAML configuration file.
        file: PathBuf,
    },
    /// Print the embedded default configuration (loopback only), a starting point for a file.
    DefaultConfig,
    /// Feed a capture's signalling through the call core (its timestamps as the clock)
    /// and print the call transcript it produces.
    Replay {
        /// A pcap or pcapng file (`gatewayd run --capture` writes ones that replay with
        /// the captured run's identifiers).
        file: PathBuf,
        /// The configuration the gateway ran with; default the embedded one.
        #[arg(long, short, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

/// Options of `gatewayd run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// YAML configuration file; without it the embedded default runs (127.0.0.1 only:
    /// SIP 5060 UDP+TCP, H.225.0 1720, metrics 9464).
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Show calling and called numbers in logs in full, whatever general.redact_numbers says.
    #[arg(long)]
    pub no_redact: bool,

    /// Write every SIP and H.225.0 packet sent and received to this pcapng file (SIP/TLS
    /// as plain text; no RTP). It records the run's randomness, so `gatewayd replay`
    /// reproduces the run. It holds the signalling in full: keep it private.
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let cli = Cli::parse_from(["gatewayd", "run", "--log-format", "json", "-c", "x.yaml"]);
        assert_eq!(cli.log_format, LogFormat::Json);
        let Command::Run(run) = cli.command else {
            panic!("run expected");
        };
        assert_eq!(run.config, Some(PathBuf::from("x.yaml")));
        let cli = Cli::parse_from(["gatewayd", "--log-level", "debug", "check-config", "f"]);
        assert_eq!(cli.log_level.as_deref(), Some("debug"));
    }
}
