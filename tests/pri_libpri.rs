//! The PRI leg end to end: gatewayd's test span with Debian's libpri on the far end
//! (`tests/pri-peer/peer.c`, built here with gcc), and baresip on the SIP side.
//!
//! - baresip -> gatewayd (SIP -> PRI, network side) -> libpri (user side) answers; the
//!   B-channel carries audio both ways: libpri hears baresip's 440 Hz, baresip hears
//!   libpri's 1000 Hz;
//! - libpri (user side) calls -> gatewayd (PRI -> SIP) -> baresip answers; the same the
//!   other way;
//! - a refusal: libpri clears with cause 17, baresip gets 486;
//! - DTMF both ways: the PBX's in-band digits (spandsp's generator in the peer) reach
//!   baresip as RFC 4733 events, baresip's events reach the PBX as tones on the bearer
//!   (spandsp's receiver);
//! - tshark reads libpri's LAPD capture with nothing malformed.
//!
//! Every wait is bounded; each test has its own directory, socket paths and ports.

#[path = "gatewayd_support/mod.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::audio::{check_tone, make_tone};
use support::baresip::{AnswerMode, Baresip, BaresipOptions, event_param, peers_available};
use support::libpri::{Peer, field};
use support::{Daemon, Ports, WAIT};

/// How long audio flows once the call is up (a bounded wait, not synchronisation).
const TALK: Duration = Duration::from_millis(2500);

/// Gatewayd with a PRI trunk `pbx` (network side, EuroISDN) on a test span at `span`,
/// SIP phones at `phone`: `7…` goes to the PBX with the 7 stripped, calls from the PBX
/// go to the phone.
fn config(ports: Ports, span: &Path, phone: std::net::SocketAddr) -> String {
    format!(
        "{}media:\n  rtp_port_range: \"17000-17999\"\n\
         spans:\n  - name: e1a\n    type: e1\n    driver: {{ kind: test, socket: \"{}\" }}\n\
         trunks:\n  - {{ name: phones, kind: sip, remote: \"{phone}\" }}\n\
         \x20 - {{ name: pbx, kind: pri, span: e1a, side: network, switch: euroisdn, route_table: from-pbx }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: to-pbx, match: {{called: {{prefix: \"7\"}}}}, rewrite: {{called: {{strip: 1}}}}, egress: [pbx] }}\n\
         \x20 from-pbx:\n\
         \x20   - {{ name: to-phone, match: {{called: {{prefix: \"5\"}}}}, egress: [phones] }}\n",
        ports.config(),
        span.display()
    )
}

/// The D-channel came up on both ends: libpri says so, gatewayd's trunk gauge too.
fn wait_link(gw: &Daemon, peer: &mut Peer) {
    peer.wait_line("EVENT DCHAN_UP", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", peer.text(), gw.log_text()));
    gw.wait_metrics("the PRI trunk up", |m| {
        support::metric(m, "gateway_trunk_up", &[("trunk", "pbx")]) == Some(1.0)
    });
}

/// tshark reads libpri's LAPD capture: Q.931 recognised, nothing malformed.
fn check_pcap(pcap: &Path) {
    if !support::baresip::have_program("tshark") {
        return;
    }
    let run = |filter: &str| {
        let out = Command::new("tshark")
            .args(["-n", "-r"])
            .arg(pcap)
            .args(["-Y", filter])
            .output()
            .expect("tshark runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let bad = run("_ws.malformed || _ws.expert.severity == error");
    assert!(bad.trim().is_empty(), "malformed:\n{bad}");
    assert!(
        !run("q931.message_type == 0x05").trim().is_empty(),
        "a SETUP"
    );
}

/// The SIP phone that calls the PBX: user 2000, answers by hand, sends 440 Hz.
fn phone(dir: &Path) -> Baresip {
    let wav = dir.join("tone440.wav");
    make_tone(&wav, 440.0, 30.0);
    Baresip::start(
        &dir.join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMA,PCMU")
            .wav(&wav),
    )
}

#[test]
fn sip_call_to_libpri_with_audio_both_ways() {
    if !peers_available(
        "sip_call_to_libpri_with_audio_both_ways",
        &["baresip", "sox", "gcc"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let a = phone(dir.path());
    let span = dir.path().join("span");
    let pcap = dir.path().join("libpri.pcap");
    let ports = Ports::free();
    let gw_dir = dir.path().join("gw");
    std::fs::create_dir_all(&gw_dir).expect("gw dir");
    let ours = gw_dir.join("capture.pcapng");
    let mut gw = Daemon::start_in(
        &gw_dir,
        ports,
        &config(ports, &span, a.sip_addr()),
        &["--capture", ours.to_str().expect("utf-8 path")],
    );
    let mut peer = Peer::spawn(&span, "cpe", "answer", &pcap, &[("PEER_TONE", "1000")]);
    wait_link(&gw, &mut peer);
    let logs = |peer: &Peer| {
        format!(
            "\n--- libpri:\n{}\n--- A log:\n{}\n--- gatewayd:\n{}",
            peer.text(),
            a.log(),
            gw.log_text()
        )
    };
    a.dial(&format!("sip:71000@127.0.0.1:{}", ports.sip))
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs(&peer)));
    let ring = peer
        .wait_line("EVENT RING", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(field(&ring, "called"), Some("1000"), "{ring}");
    assert_eq!(field(&ring, "calling"), Some("2000"), "{ring}");
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs(&peer));
    std::thread::sleep(TALK);
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs(&peer)));
    let heard = peer
        .wait_line("EVENT BEARER", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    let hz: f64 = field(&heard, "heard_hz")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(
        (hz - 440.0).abs() < 30.0,
        "libpri heard {heard}{}",
        logs(&peer)
    );
    let (dec, _) = a
        .wait_recordings(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    check_tone(&dec, 1000.0, 15.0).unwrap_or_else(|e| panic!("A heard: {e}{}", logs(&peer)));
    let r = &gw.wait_cdrs(1)[0];
    assert_eq!(r["egress_trunk"], "pbx", "{r}");
    assert_eq!(r["cause"], 16, "{r}");
    assert_eq!(r["initiator"], "caller", "{r}");
    assert!(r["answer"].is_string(), "{r}");
    drop(peer);
    check_pcap(&pcap);
    // gatewayd's own capture: SIP on its interface, the D-channel on one named after
    // the trunk (LINUX_LAPD), which tshark reads as the network side's.
    gw.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(gw.wait_exit().success(), "{}", gw.log_text());
    check_pcap(&ours);
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&ours)
        .args(["-Y", "q931", "-T", "fields", "-E", "separator=|"])
        .args([
            "-e",
            "frame.interface_name",
            "-e",
            "_ws.col.Source",
            "-e",
            "_ws.col.Info",
        ])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let setup = text
        .lines()
        .find(|l| l.ends_with("SETUP"))
        .unwrap_or_else(|| panic!("no SETUP in gatewayd's capture:\n{text}"));
    assert!(setup.starts_with("pbx|Local Network"), "{setup}\n{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("Remote User") && l.ends_with("CONNECT")),
        "{text}"
    );
    // GATEWAY_KEEP_CAPTURE=DIR keeps the run as DIR/pri-libpri-gatewayd.{pcapng,yaml}.
    if let Some(keep) = std::env::var_os("GATEWAY_KEEP_CAPTURE") {
        let stem = std::path::PathBuf::from(keep).join("pri-libpri-gatewayd");
        std::fs::copy(&ours, stem.with_extension("pcapng")).expect("keep capture");
        std::fs::copy(gw_dir.join("gateway.yaml"), stem.with_extension("yaml"))
            .expect("keep config");
    }
    // The replay feeds the D-channel (and SIP) back through the call core and sends
    // what the run sent.
    let transcript = support::replay(&gw_dir.join("gateway.yaml"), &ours);
    let summary = support::replay_summary(&transcript);
    assert_eq!(summary.calls, 1, "one call ended:\n{transcript}");
    assert_eq!(
        summary.sent_by_replay, summary.sent_in_capture,
        "the replay sends what the run sent:\n{transcript}"
    );
    assert!(
        transcript.contains("<- PRI pbx I N(S)=0 CALL PROCEEDING"),
        "{transcript}"
    );
}

/// DTMF between a SIP phone (RFC 4733) and the PBX on the PRI, in-band on the bearer:
/// the PBX's digits (spandsp's generator in the peer) reach baresip as telephone-events,
/// and baresip's events reach the PBX as tones (spandsp's receiver in the peer).
#[test]
fn dtmf_crosses_between_sip_and_the_pri_bearer() {
    if !peers_available(
        "dtmf_crosses_between_sip_and_the_pri_bearer",
        &["baresip", "sox", "gcc"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let a = phone(dir.path());
    let span = dir.path().join("span");
    let pcap = dir.path().join("libpri.pcap");
    let ports = Ports::free();
    let gw = Daemon::start_with(ports, &config(ports, &span, a.sip_addr()));
    let mut peer = Peer::spawn(&span, "cpe", "answer", &pcap, &[("PEER_DIGITS", "47*")]);
    wait_link(&gw, &mut peer);
    let logs = |peer: &Peer| {
        format!(
            "\n--- libpri:\n{}\n--- A log:\n{}\n--- gatewayd:\n{}",
            peer.text(),
            a.log(),
            gw.log_text()
        )
    };
    a.dial(&format!("sip:71000@127.0.0.1:{}", ports.sip))
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs(&peer)));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs(&peer));
    // The PBX dials 4, 7, * in-band a second after its answer.
    let mut got = String::new();
    for _ in 0..3 {
        match a.wait_event("CALL_DTMF_START", WAIT) {
            Ok(ev) => got.push_str(event_param(&ev)),
            Err(e) => panic!("after {got:?}: {e}{}", logs(&peer)),
        }
    }
    assert_eq!(got, "47*", "{}", logs(&peer));
    // The phone dials 1, 5, 9, # as RFC 4733 events.
    for d in "159#".chars() {
        a.send_dtmf(d)
            .unwrap_or_else(|e| panic!("sndcode {d}: {e}{}", logs(&peer)));
        std::thread::sleep(Duration::from_millis(250));
    }
    let mut heard = String::new();
    for _ in 0..4 {
        let line = peer
            .wait_line("EVENT DTMF", WAIT)
            .unwrap_or_else(|e| panic!("after {heard:?}: {e}{}", logs(&peer)));
        heard.push_str(field(&line, "digit").unwrap_or("?"));
    }
    assert_eq!(heard, "159#", "{}", logs(&peer));
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs(&peer)));
    let r = &gw.wait_cdrs(1)[0];
    assert_eq!(r["cause"], 16, "{r}");
}

#[test]
fn libpri_call_to_sip_with_audio_both_ways() {
    if !peers_available(
        "libpri_call_to_sip_with_audio_both_ways",
        &["baresip", "sox", "gcc"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let b = Baresip::start(
        &dir.path().join("b"),
        BaresipOptions::new("5000")
            .answer(AnswerMode::Auto)
            .codecs("PCMA,PCMU")
            .tone(1200.0),
    );
    let span = dir.path().join("span");
    let pcap = dir.path().join("libpri.pcap");
    let ports = Ports::free();
    let gw = Daemon::start_with(ports, &config(ports, &span, b.sip_addr()));
    let mut peer = Peer::spawn(
        &span,
        "cpe",
        "call:5000",
        &pcap,
        &[("PEER_TONE", "800"), ("PEER_HOLD_MS", "2500")],
    );
    let logs = |peer: &Peer| {
        format!(
            "\n--- libpri:\n{}\n--- B log:\n{}\n--- gatewayd:\n{}",
            peer.text(),
            b.log(),
            gw.log_text()
        )
    };
    wait_link(&gw, &mut peer);
    peer.wait_line("EVENT ANSWER", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    b.wait_event("CALL_ESTABLISHED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    // libpri clears after PEER_HOLD_MS: DISCONNECT -> BYE.
    b.wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    let heard = peer
        .wait_line("EVENT BEARER", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    let hz: f64 = field(&heard, "heard_hz")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(
        (hz - 1200.0).abs() < 60.0,
        "libpri heard {heard}{}",
        logs(&peer)
    );
    let (dec, _) = b
        .wait_recordings(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    check_tone(&dec, 800.0, 15.0).unwrap_or_else(|e| panic!("B heard: {e}{}", logs(&peer)));
    let r = &gw.wait_cdrs(1)[0];
    assert_eq!(r["ingress_trunk"], "pbx", "{r}");
    assert_eq!(r["egress_trunk"], "phones", "{r}");
    assert_eq!(r["calling_in"], "2000", "{r}");
    assert_eq!(r["cause"], 16, "{r}");
    assert_eq!(r["initiator"], "caller", "{r}");
    drop(peer);
    check_pcap(&pcap);
}

#[test]
fn a_busy_pbx_is_486_on_the_sip_side() {
    if !peers_available("a_busy_pbx_is_486_on_the_sip_side", &["baresip", "gcc"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let a = Baresip::start(
        &dir.path().join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMA"),
    );
    let span = dir.path().join("span");
    let pcap = dir.path().join("libpri.pcap");
    let ports = Ports::free();
    let gw = Daemon::start_with(ports, &config(ports, &span, a.sip_addr()));
    let mut peer = Peer::spawn(&span, "cpe", "reject:17", &pcap, &[]);
    wait_link(&gw, &mut peer);
    a.dial(&format!("sip:71000@127.0.0.1:{}", ports.sip))
        .unwrap_or_else(|e| panic!("dial: {e}"));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", peer.text(), gw.log_text()));
    assert_eq!(ev["type"], "CALL_CLOSED", "{ev}");
    assert!(event_param(&ev).starts_with("486"), "{ev}");
    let r = &gw.wait_cdrs(1)[0];
    assert_eq!(r["cause"], 17, "{r}");
    assert_eq!(r["initiator"], "callee", "{r}");
}
