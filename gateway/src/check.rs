//! `gatewayd check-config`, `gatewayd default-config` and `gatewayd replay`.

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

/// `gatewayd replay FILE`: the transcript on stdout, a progress line on stderr while a
/// long file runs (when stderr is a terminal), a summary line last. Exit 1 when the
/// configuration or the file cannot be read.
pub fn replay(file: &Path, config: Option<&Path>) -> ExitCode {
    use std::io::IsTerminal;
    let cfg = match config {
        Some(p) => Config::load(p),
        None => Config::parse("<embedded>", EMBEDDED_DEFAULT),
    };
    let cfg = match cfg {
        Ok(c) => c,
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            return ExitCode::from(1);
        }
    };
    let capture = match crate::capture::reader::read(file) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gatewayd replay: {e}");
            return ExitCode::from(1);
        }
    };
    let show = std::io::stderr().is_terminal() && capture.packets.len() >= 1000;
    let mut last = 0;
    let mut transcript = String::new();
    let summary = crate::replay::replay(cfg, &capture, &mut transcript, |done, total| {
        let pct = done * 100 / total.max(1);
        if show && (pct != last || done == total) {
            last = pct;
            let bar = "#".repeat(pct / 4);
            eprint!("\rreplay [{bar:<25}] {pct:3}% {done}/{total} packets");
            if done == total {
                eprintln!();
            }
        }
    });
    print!("{transcript}");
    println!(
        "# {} packet(s) fed, {} call(s) ended, {} message(s) sent by the replay ({} in the capture), {} frame(s) skipped{}",
        summary.fed,
        summary.calls,
        summary.sent_by_replay,
        summary.sent_in_capture,
        capture.skipped,
        if summary.seeded { "" } else { ", unseeded" }
    );
    ExitCode::SUCCESS
}
