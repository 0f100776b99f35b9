//! The DAHDI span driver without DAHDI: gatewayd built with the `dahdi` feature runs
//! with `tests/dahdi-shim/shim.c` preloaded (`LD_PRELOAD`), which answers its
//! `/dev/dahdi/channel` opens and ioctls, hands the D-channel to Debian's libpri
//! (`tests/pri-peer/peer.c`, listening) and gives each bearer 20 ms of silence every
//! 20 ms. libpri brings the data link up and calls the gateway's tone endpoint; the
//! call is answered on a B-channel and cleared by libpri.
//!
//! What this runs of the driver: opening and `DAHDI_SPECIFY`, the span and signalling
//! checks on `DAHDI_GET_PARAMS`, the buffer, block size and law requests,
//! `DAHDI_SPANSTAT` at start, the tokio registration, D-channel frames with their FCS
//! slot both ways, the bearer tasks. What it cannot: DAHDI itself (its HDLC, clock,
//! events and alarms), which only a card exercises.

#![cfg(feature = "dahdi")]

#[path = "gatewayd_support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use support::libpri::Peer;
use support::{Daemon, Ports, WAIT};

/// Builds the shim once per test binary (gcc).
fn shim() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/dahdi-shim/shim.c");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dahdi-shim");
        std::fs::create_dir_all(&dir).expect("shim build dir");
        let lib = dir.join(format!("shim.{}.so", std::process::id()));
        let out = Command::new("gcc")
            .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o"])
            .arg(&lib)
            .arg(&src)
            .arg("-lpthread")
            .output()
            .expect("run gcc (apt-get install build-essential)");
        assert!(
            out.status.success(),
            "building the DAHDI shim failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        lib
    })
}

#[test]
fn a_pri_call_runs_over_the_dahdi_driver() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sock = dir.path().join("dchan.sock");
    let pcap = dir.path().join("peer.pcap");
    // libpri calls the gateway's 1 kHz tone and clears 1.5 s after the answer.
    let mut peer = Peer::listen(
        &sock,
        "cpe",
        "call:1000",
        &pcap,
        &[("PEER_HOLD_MS", "1500")],
    );
    peer.wait_line("LISTENING", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", peer.text()));
    let ports = Ports::free();
    // DAHDI span 1, D-channel 16, two bearers (channels 1 and 2 = timeslots 1 and 2).
    let config = format!(
        "{}spans:\n  - name: e1d\n    type: e1\n    driver: {{ kind: dahdi, span: 1, dchannel: 16, bearers: \"1-2\" }}\n\
         trunks:\n  - {{ name: pbx, kind: pri, span: e1d, side: network, switch: euroisdn, route_table: from-pbx }}\n\
         \x20 - {{ name: tone, kind: local, answer: tone, tone_hz: 1000, ring_ms: 100 }}\n\
         routes:\n  default: []\n  from-pbx:\n\
         \x20   - {{ name: to-tone, match: {{called: {{pattern: \"1000\"}}}}, egress: [tone] }}\n",
        ports.config()
    );
    let shim = shim().to_str().expect("utf-8 path").to_owned();
    let sock_text = sock.to_str().expect("utf-8 path").to_owned();
    let gw = Daemon::start_in_env(
        dir.path(),
        ports,
        &config,
        &[
            ("LD_PRELOAD", &shim),
            ("DAHDI_SHIM_SOCKET", &sock_text),
            ("DAHDI_SHIM_DCHANNEL", "16"),
        ],
    );
    peer.wait_line("EVENT DCHAN_UP", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", peer.text(), gw.log_text()));
    let m = gw.wait_metrics("the PRI trunk up over DAHDI", |m| {
        support::metric(m, "gateway_trunk_up", &[("trunk", "pbx")]) == Some(1.0)
    });
    let get = |name: &str, labels: &[(&str, &str)]| support::metric(&m, name, labels);
    assert_eq!(get("gateway_span_up", &[("span", "e1d")]), Some(1.0), "{m}");
    for d in ["in", "out"] {
        let frames = get(
            "gateway_span_dchannel_frames_total",
            &[("span", "e1d"), ("direction", d)],
        );
        assert!(frames.is_some_and(|f| f >= 1.0), "{d}: {m}");
    }
    assert!(
        gw.log_text().contains("DAHDI span running"),
        "{}",
        gw.log_text()
    );
    // The call: answered on one of the two B-channels, which the bearer bridge then
    // connects to the relay.
    peer.wait_line("EVENT ANSWER", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", peer.text(), gw.log_text()));
    gw.wait_metrics("a B-channel in use", |m| {
        support::metric(m, "gateway_span_bchannels_in_use", &[("span", "e1d")]) == Some(1.0)
    });
    let r = &gw.wait_cdrs(1)[0];
    assert_eq!(r["ingress_trunk"], "pbx", "{r}");
    assert_eq!(r["egress_trunk"], "tone", "{r}");
    assert_eq!(r["cause"], 16, "{r}");
    assert!(r["answer"].is_string(), "{r}");
    gw.wait_metrics("the B-channel free again", |m| {
        support::metric(m, "gateway_span_bchannels_in_use", &[("span", "e1d")]) == Some(0.0)
    });
}
