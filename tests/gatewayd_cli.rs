//! End-to-end tests of the `gatewayd` command line: help, version, check-config exit
//! codes and messages, start-up failures.

mod gatewayd_support;

use gatewayd_support::{Ports, run_bounded, write_file};
use std::process::ExitStatus;

/// What a finished `gatewayd` run printed.
struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Output {
    let (status, stdout, stderr) = run_bounded(args);
    Output {
        status,
        stdout,
        stderr,
    }
}

#[test]
fn help_everywhere() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = &out.stdout;
    for word in [
        "run",
        "check-config",
        "--log-format",
        "--log-level",
        "--version",
    ] {
        assert!(help.contains(word), "{word} missing from --help:\n{help}");
    }
    for (sub, words) in [
        ("run", &["--config", "--no-redact", "--log-format"][..]),
        ("check-config", &["<FILE>"][..]),
        ("default-config", &["--help"][..]),
    ] {
        let out = run(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help");
        let help = &out.stdout;
        for word in words {
            assert!(
                help.contains(word),
                "{word} missing from {sub} --help:\n{help}"
            );
        }
    }
}

#[test]
fn version() {
    let out = run(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        out.stdout.trim(),
        format!("gatewayd {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&[]).status.code(), Some(2));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(run(&["run", "--log-format", "xml"]).status.code(), Some(2));
    let bad_filter = run(&["run", "--log-level", "a=b=c"]);
    assert_eq!(bad_filter.status.code(), Some(2));
    assert!(
        bad_filter.stderr.contains("invalid log filter"),
        "{}",
        bad_filter.stderr
    );
}

#[test]
fn check_config_accepts_the_embedded_default() {
    let out = run(&["default-config"]);
    assert!(out.status.success());
    assert_eq!(out.stdout, gateway::config::EMBEDDED_DEFAULT);

    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_file(dir.path(), "default.yaml", &out.stdout);
    let out = run(&["check-config", file.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(0), "{}", out.stderr);
    let stdout = &out.stdout;
    assert_eq!(stdout.lines().count(), 1, "one-line summary: {stdout}");
    assert!(stdout.contains("OK"), "{stdout}");
}

/// The example is checked as deployed: with its TLS listener's certificate and key in
/// place (made here), and without them (check-config names the missing file and field).
#[test]
fn check_config_accepts_the_example() {
    let example = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/gateway.example.yaml"
    ))
    .expect("example config");
    let dir = tempfile::tempdir().expect("temp dir");
    let tls = dir.path().join("tls");
    std::fs::create_dir_all(&tls).expect("tls dir");
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec!["gw.example.net".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    write_file(&tls, "fullchain.pem", &cert.pem());
    write_file(&tls, "privkey.pem", &key.serialize_pem());
    let placed = example.replace(
        "/etc/gateway/tls/",
        &format!("{}/", tls.to_str().expect("utf-8 path")),
    );
    let file = write_file(dir.path(), "example.yaml", &placed);
    let out = run(&["check-config", file.to_str().expect("utf-8 path")]);
    if cfg!(feature = "dahdi") {
        assert_eq!(out.status.code(), Some(0), "{}{}", out.stdout, out.stderr);
        assert!(out.stdout.contains("OK"));
    } else {
        // Its two DAHDI spans need a gatewayd built with the `dahdi` feature; nothing
        // else is wrong.
        assert_eq!(out.status.code(), Some(1), "{}{}", out.stdout, out.stderr);
        let errors: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.contains("example.yaml:"))
            .collect();
        assert_eq!(errors.len(), 2, "{}", out.stderr);
        for (e, line) in errors.iter().zip(["86", "95"]) {
            assert!(
                e.contains(&format!("example.yaml:{line}:"))
                    && e.contains("driver.kind: this gatewayd was built without the DAHDI span driver (cargo feature `dahdi`)"),
                "{}",
                out.stderr
            );
        }
    }

    let file = write_file(dir.path(), "as-shipped.yaml", &example);
    let out = run(&["check-config", file.to_str().expect("utf-8 path")]);
    assert_eq!(out.status.code(), Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "as-shipped.yaml:35:9: listeners.sip[2].tls: /etc/gateway/tls/fullchain.pem: "
        ),
        "{}",
        out.stderr
    );
}

const BROKEN: &str = "\
general:
  drain_timeout_seconds: soon
listeners:
  sip:
    - { transport: carrier-pigeon, address: \"127.0.0.1:5060\" }
metrics:
  listen: \"not an address\"
";

#[test]
fn check_config_reports_every_error_with_its_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_file(dir.path(), "broken.yaml", BROKEN);
    let name = file.to_str().expect("utf-8 path");
    let out = run(&["check-config", name]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = &out.stderr;
    let line = regex::Regex::new(&format!(
        r"^{}:[1-9][0-9]*:[0-9]+: \S*:? ?.+$",
        regex::escape(name)
    ))
    .expect("valid regex");
    let errors: Vec<&str> = stderr.lines().collect();
    for e in &errors {
        assert!(line.is_match(e), "not FILE:LINE:COL: path: message: {e:?}");
    }
    // Every error, not just the first.
    for field in [
        ": general.drain_timeout_seconds: ",
        ": listeners.sip[0].transport: ",
        ": metrics.listen: ",
    ] {
        assert!(
            errors.iter().any(|e| e.contains(field)),
            "no error for{field}in:\n{stderr}"
        );
    }
}

#[test]
fn check_config_of_a_missing_file_fails() {
    let out = run(&["check-config", "/nonexistent/gateway.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.starts_with("/nonexistent/gateway.yaml:"));
}

#[test]
fn run_refuses_a_bad_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = write_file(dir.path(), "broken.yaml", BROKEN);
    let name = file.to_str().expect("utf-8 path");
    let out = run(&["run", "--config", name]);
    let stderr = out.stderr;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("{name}:")), "{stderr}");
    assert!(stderr.contains("cannot start"), "{stderr}");
}

#[test]
fn run_refuses_a_port_in_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = Ports::free();
    // Hold the SIP/TCP port.
    let _held = std::net::TcpListener::bind(("127.0.0.1", ports.sip)).expect("hold port");
    let file = write_file(dir.path(), "gateway.yaml", &ports.config());
    let out = run(&["run", "--config", file.to_str().expect("utf-8 path")]);
    let stderr = out.stderr;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let expected = format!("cannot bind SIP/TCP listener on 127.0.0.1:{}", ports.sip);
    assert!(stderr.contains(&expected), "{stderr}");
}
