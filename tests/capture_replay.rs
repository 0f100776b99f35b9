//! `gatewayd run --capture` and `gatewayd replay`, end to end:
//! - baresip calls through gatewayd twice: to the tone endpoint over SIP, and over
//!   H.323 (SIP -> the gateway's own H.225.0 port -> back in -> tone endpoint);
//! - the capture gatewayd wrote is decoded by tshark with zero malformed packets, SIP and
//!   H.225.0 recognised;
//! - `gatewayd replay` of that capture, with the configuration of the run, reproduces
//!   the run: the same calls end with the same causes, and the core sends exactly as many
//!   messages as the capture shows it sending (the capture carries the run's seed, so the
//!   peers' answers match the replayed dialogs and call references);
//! - the golden replays: every capture in captures/ with a `.replay.txt` replays to
//!   exactly that transcript.

#[path = "gatewayd_support/mod.rs"]
mod support;

use nix::sys::signal::Signal;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use support::baresip::{AnswerMode, Baresip, BaresipOptions, peers_available};
use support::{Daemon, Ports, WAIT, gatewayd};

fn config(ports: Ports, caller: std::net::SocketAddr) -> String {
    let mut c = ports.config();
    c.push_str("media:\n  rtp_port_range: \"17000-17999\"\n");
    c.push_str(&format!(
        "trunks:\n  - {{ name: phones, kind: sip, remote: \"{caller}\" }}\n\
         \x20 - {{ name: tone, kind: local, answer: tone, tone_hz: 1000, ring_ms: 200 }}\n\
         \x20 - {{ name: h323-loop, kind: h323, remote: \"127.0.0.1:{h}\", route_table: from-h323 }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: tone, match: {{called: {{pattern: \"1000\"}}}}, egress: [tone] }}\n\
         \x20   - {{ name: via-h323, match: {{called: {{prefix: \"9\"}}, ingress: [phones]}}, egress: [h323-loop] }}\n\
         \x20 from-h323:\n\
         \x20   - {{ name: tone, match: {{called: {{pattern: \"91000\"}}}}, egress: [tone] }}\n",
        h = ports.h225
    ));
    c
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("run command");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_captured_run_is_decoded_by_tshark_and_replays_to_the_same_calls() {
    if !peers_available(
        "a_captured_run_is_decoded_by_tshark_and_replays_to_the_same_calls",
        &["baresip", "sox", "tshark"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let a = Baresip::start(
        &dir.path().join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMU,PCMA")
            .tone(440.0),
    );
    let ports = Ports::free();
    let capture = dir.path().join("run.pcapng");
    let mut gw = Daemon::start_in(
        dir.path(),
        ports,
        &config(ports, a.sip_addr()),
        &["--capture", capture.to_str().expect("utf-8 path")],
    );
    let logs = |gw: &Daemon| format!("\n--- A:\n{}\n--- gatewayd:\n{}", a.log(), gw.log_text());
    for number in ["1000", "91000"] {
        a.dial(&format!("sip:{number}@127.0.0.1:{}", ports.sip))
            .unwrap_or_else(|e| panic!("dial: {e}{}", logs(&gw)));
        let ev = a
            .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", logs(&gw)));
        assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs(&gw));
        std::thread::sleep(Duration::from_millis(500));
        a.hangup()
            .unwrap_or_else(|e| panic!("hangup: {e}{}", logs(&gw)));
        a.wait_event("CALL_CLOSED", WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", logs(&gw)));
    }
    // SIP -> tone, and SIP -> H.323 plus H.323 -> tone: three records.
    let cdrs = gw.wait_cdrs(3);
    gw.signal(Signal::SIGTERM);
    assert!(gw.wait_exit().success(), "{}", gw.log_text());

    // GATEWAY_KEEP_CAPTURE=DIR/NAME keeps the run as NAME.pcapng and NAME.yaml (how
    // captures/replay-sip-h323-loop was made).
    if let Some(keep) = std::env::var_os("GATEWAY_KEEP_CAPTURE") {
        let keep = PathBuf::from(keep);
        std::fs::copy(&capture, keep.with_extension("pcapng")).expect("keep capture");
        std::fs::copy(dir.path().join("gateway.yaml"), keep.with_extension("yaml"))
            .expect("keep config");
    }

    // tshark: every packet decodes, SIP and H.225.0 are recognised.
    let f = capture.to_str().expect("utf-8 path");
    // SIP on its port; H.225.0 is found by tshark's TPKT/Q.931 heuristics.
    let decode = ["-d".to_owned(), format!("udp.port=={},sip", ports.sip)];
    let tshark = |filter: &str| {
        let (ok, out, err) = run(Command::new("tshark")
            .args(["-n", "-r", f])
            .args(&decode)
            .args(["-Y", filter]));
        assert!(ok, "tshark failed: {err}");
        out
    };
    let malformed = tshark("_ws.malformed || _ws.expert.severity == error");
    assert!(malformed.trim().is_empty(), "malformed:\n{malformed}");
    let invites = tshark("sip.Method == \"INVITE\"").lines().count();
    assert!(invites >= 2, "INVITEs seen: {invites}");
    let setups = tshark("h225.h323_message_body == 0").lines().count();
    assert_eq!(setups, 1, "one H.225.0 Setup");

    // The replay reproduces the run.
    let transcript = support::replay(&dir.path().join("gateway.yaml"), &capture);
    let support::ReplaySummary {
        fed,
        calls,
        sent_by_replay,
        sent_in_capture,
    } = support::replay_summary(&transcript);
    assert!(fed > 0, "{transcript}");
    assert_eq!(calls, cdrs.len(), "{transcript}");
    assert_eq!(
        sent_by_replay, sent_in_capture,
        "the replay sends what the run sent:\n{transcript}"
    );
    let ended: Vec<&str> = transcript
        .lines()
        .filter(|l| l.contains(" ended: "))
        .collect();
    for (line, cdr) in ended.iter().zip(&cdrs) {
        assert!(
            line.contains(&format!("cause {} ", cdr["cause"])),
            "{line} vs {cdr}"
        );
    }
    assert!(!transcript.contains("unseeded"), "{transcript}");
}

/// captures/NAME.pcapng with a golden captures/NAME.replay.txt (and the configuration of
/// its run in captures/NAME.yaml, else the embedded default) replays to exactly that.
#[test]
fn golden_replays_of_the_project_captures() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../captures");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("captures/") {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let Some(stem) = name.strip_suffix(".replay.txt") else {
            continue;
        };
        let pcap = dir.join(format!("{stem}.pcapng"));
        let yaml = dir.join(format!("{stem}.yaml"));
        let mut cmd = gatewayd();
        cmd.arg("replay");
        if yaml.exists() {
            cmd.arg("--config").arg(&yaml);
        }
        let (ok, out, err) = run(cmd.arg(&pcap));
        assert!(ok, "{stem}: {err}");
        let golden = std::fs::read_to_string(&path).expect("golden transcript");
        assert_eq!(out, golden, "{stem}: the replay differs from {name}");
        checked += 1;
    }
    assert!(checked >= 1, "no golden replay in captures/");
}
