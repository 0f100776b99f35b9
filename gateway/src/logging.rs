//! Logging through `tracing`: human-readable text on stderr (coloured on a terminal), or
//! one JSON object per line for journald / ELK. Numbers in events go through
//! [`mapping::pii::Redacted`].

use clap::ValueEnum;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// The log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Filter used when neither `--log-level` nor `RUST_LOG` is given.
pub const DEFAULT_LEVEL: &str = "info";

/// Installs the process-wide subscriber. The filter is `level` when given, else
/// `RUST_LOG`, else [`DEFAULT_LEVEL`]; either may be a level (`debug`) or a directive
/// list (`info,gateway=trace`).
pub fn init(format: LogFormat, level: Option<&str>) -> Result<(), String> {
    let directives = match (level, std::env::var("RUST_LOG")) {
        (Some(level), _) => level.to_owned(),
        (None, Ok(env)) if !env.trim().is_empty() => env,
        _ => DEFAULT_LEVEL.to_owned(),
    };
    let filter = EnvFilter::try_new(&directives)
        .map_err(|e| format!("invalid log filter {directives:?}: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    installed.map_err(|e| format!("cannot install the logger: {e}"))
}
