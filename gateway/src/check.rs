//! `gatewayd check-config` and `gatewayd default-config`.

use crate::config::{Config, EMBEDDED_DEFAULT};
use std::path::Path;
use std::process::ExitCode;

/// Validates `file`: prints a one-line summary and returns success, or prints every
/// error on stderr, one per line (`FILE:LINE:COL: field.path: message`), and returns 1.
pub fn check_config(file: &Path) -> ExitCode {
    match Config::load(file) {
        Ok(config) => {
            println!("{}", summary(file, &config));
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            ExitCode::from(1)
        }
    }
}

/// Prints the embedded default configuration.
pub fn default_config() -> ExitCode {
    print!("{EMBEDDED_DEFAULT}");
    ExitCode::SUCCESS
}

/// `FILE: OK: node NAME, N SIP listeners, M H.225.0 listeners, metrics on ADDR`.
pub fn summary(file: &Path, config: &Config) -> String {
    format!(
        "{}: OK: node {}, {} SIP listener(s), {} H.225.0 listener(s), metrics on {}",
        file.display(),
        config.general.node_name,
        config.listeners.sip.len(),
        config.listeners.h225.len(),
        config.metrics.listen
    )
}
