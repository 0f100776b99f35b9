//! The DAHDI span driver without DAHDI: gatewayd built with the `dahdi` feature runs
//! with `tests/dahdi-shim/shim.c` preloaded (`LD_PRELOAD`), which answers its
//! `/dev/dahdi/channel` opens and ioctls, hands the D-channel to Debian's libpri
//! (`tests/pri-peer/peer.c`, listening) and gives each bearer 20 ms of silence every
//! 20 ms. libpri brings the data link up and calls the gateway's tone endpoint; the
//! call is answered on a B-channel and cleared by libpri. Events come through the
//! shim's control socket (its read fails with ELAST, as DAHDI's does, and
//! DAHDI_GETEVENT hands them over): alarms take the span down and up, HDLC errors
//! are counted.
//!
//! What this runs of the driver: opening and `DAHDI_SPECIFY`, the span and signalling
//! checks on `DAHDI_GET_PARAMS`, the buffer, block size and law requests,
//! `DAHDI_SPANSTAT` at start, the tokio registration, D-channel frames with their FCS
//! slot both ways, the bearer tasks, events on the D-channel (`ELAST` then
//! `DAHDI_GETEVENT`). What it cannot: DAHDI itself (its HDLC, clock, `POLLPRI`, when
//! it raises which event), which only a card exercises.

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

/// libpri listening with `action`, then gatewayd on a DAHDI span through the shim
/// (with its event control socket at `control`, if any).
fn start(dir: &Path, action: &str, env: &[(&str, &str)], control: Option<&Path>) -> (Peer, Daemon) {
    let sock = dir.join("dchan.sock");
    let pcap = dir.join("peer.pcap");
    let mut peer = Peer::listen(&sock, "cpe", action, &pcap, env);
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
    let mut vars = vec![
        ("LD_PRELOAD", shim.as_str()),
        ("DAHDI_SHIM_SOCKET", sock_text.as_str()),
        ("DAHDI_SHIM_DCHANNEL", "16"),
    ];
    let control = control.map(|c| c.to_str().expect("utf-8 path").to_owned());
    if let Some(c) = &control {
        vars.push(("DAHDI_SHIM_CONTROL", c));
    }
    let gw = Daemon::start_in_env(dir, ports, &config, &vars);
    (peer, gw)
}

/// The data link is up on both ends; the metrics at that moment.
fn link_up(peer: &mut Peer, gw: &Daemon) -> String {
    peer.wait_line("EVENT DCHAN_UP", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", peer.text(), gw.log_text()));
    gw.wait_metrics("the PRI trunk up over DAHDI", |m| {
        support::metric(m, "gateway_trunk_up", &[("trunk", "pbx")]) == Some(1.0)
            && support::metric(m, "gateway_span_up", &[("span", "e1d")]) == Some(1.0)
    })
}

#[test]
fn a_pri_call_runs_over_the_dahdi_driver() {
    let dir = tempfile::tempdir().expect("temp dir");
    // libpri calls the gateway's 1 kHz tone and clears 1.5 s after the answer.
    let (mut peer, gw) = start(dir.path(), "call:1000", &[("PEER_HOLD_MS", "1500")], None);
    let m = link_up(&mut peer, &gw);
    for d in ["in", "out"] {
        let frames = support::metric(
            &m,
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

#[test]
fn alarms_take_the_span_down_and_up_and_hdlc_errors_are_counted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let control = dir.path().join("control.sock");
    let (mut peer, gw) = start(dir.path(), "idle", &[], Some(&control));
    link_up(&mut peer, &gw);
    let tell = |event: &str| {
        std::os::unix::net::UnixDatagram::unbound()
            .and_then(|s| s.send_to(event.as_bytes(), &control))
            .expect("tell the shim");
    };
    for e in ["BADFCS", "ABORT", "OVERRUN", "BADFCS"] {
        tell(e);
    }
    gw.wait_metrics("HDLC errors counted", |m| {
        let kind = |k: &str| {
            support::metric(
                m,
                "gateway_span_hdlc_errors_total",
                &[("span", "e1d"), ("kind", k)],
            )
        };
        kind("fcs") == Some(2.0) && kind("abort") == Some(1.0) && kind("overrun") == Some(1.0)
    });
    tell("ALARM");
    gw.wait_metrics("the span down in alarm", |m| {
        support::metric(m, "gateway_span_up", &[("span", "e1d")]) == Some(0.0)
    });
    tell("NOALARM");
    gw.wait_metrics("the span and the data link back up", |m| {
        support::metric(m, "gateway_span_up", &[("span", "e1d")]) == Some(1.0)
            && support::metric(m, "gateway_trunk_up", &[("trunk", "pbx")]) == Some(1.0)
    });
    assert!(
        gw.log_text().contains("DAHDI span state"),
        "{}",
        gw.log_text()
    );
}
