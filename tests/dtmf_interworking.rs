//! DTMF across legs that carry it differently, with real user agents:
//!
//! - baresip A -> gatewayd A (SIP, RFC 4733) -> H.323 (H.245 UserInputIndication
//!   alphanumeric or signal, Q.931 Keypad, or RFC 4733 in the RTP: each form once) ->
//!   gatewayd B -> SIP (RFC 4733) baresip B: `0123456789*#` sent by A arrives at B digit
//!   by digit, in order; then the same from B to A. Gateway A takes A's telephone-events
//!   out of the media and sends user input; gateway B turns user input back into
//!   telephone-events in the stream toward B (and the other way round);
//! - baresip A -> gatewayd (SIP, RFC 4733) -> SIP trunk with `dtmf: info` -> baresip B:
//!   the digits arrive as SIP INFO `application/dtmf-relay`;
//! - baresip A (RFC 4733) -> gatewayd -> SIP trunk with `dtmf: inband` -> baresip B: A's
//!   digits become Q.23 tones in the audio toward B (multimon-ng, an independent
//!   decoder, reads them from what B decoded), and tones in B's audio (a file of
//!   digits) reach A as RFC 4733 events.
//!
//! baresip reports each received digit as a `CALL_DTMF_START` event over ctrl_tcp. Every
//! wait is bounded.

#[path = "gatewayd_support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::time::Duration;
use support::audio::{make_dtmf, make_tone, multimon_dtmf};
use support::baresip::{AnswerMode, Baresip, BaresipOptions, event_param, peers_available};
use support::{Daemon, Ports, WAIT, metric};

/// The digits sent each way.
const DIGITS: &str = "0123456789*#";

/// Pause between two `sndcode`s, a quick dialler's pace (baresip plays each digit's
/// events for about 100 ms).
const BETWEEN_DIGITS: Duration = Duration::from_millis(250);

/// Gateway A: SIP from `caller` on trunk `phones`; `9…` leaves over H.323 to B.
fn config_a(ports: Ports, caller: SocketAddr, b_h225: u16, fast_start: bool, dtmf: &str) -> String {
    format!(
        "{}media:\n  rtp_port_range: \"14000-14999\"\n\
         trunks:\n  - {{ name: phones, kind: sip, remote: \"{caller}\" }}\n\
         \x20 - {{ name: gw-b, kind: h323, remote: \"127.0.0.1:{b_h225}\", fast_start: {fast_start}, dtmf: {dtmf} }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: to-h323, match: {{called: {{prefix: \"9\"}}}}, egress: [gw-b] }}\n",
        ports.config()
    )
}

/// Gateway B: H.323 from A on trunk `gw-a`; strips the 9 and calls `callee` over SIP.
fn config_b(ports: Ports, callee: SocketAddr, a_h225: u16, dtmf: &str) -> String {
    format!(
        "{}media:\n  rtp_port_range: \"15000-15999\"\n\
         trunks:\n  - {{ name: gw-a, kind: h323, remote: \"127.0.0.1:{a_h225}\", dtmf: {dtmf} }}\n\
         \x20 - {{ name: far, kind: sip, remote: \"{callee}\" }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: to-sip, match: {{called: {{prefix: \"9\"}}}}, rewrite: {{called: {{strip: 1}}}}, egress: [far] }}\n",
        ports.config()
    )
}

/// One gateway: SIP from `caller` (RFC 4733); `9…` goes to `callee` on a SIP trunk that
/// takes DTMF as INFO.
fn config_info(ports: Ports, caller: SocketAddr, callee: SocketAddr) -> String {
    format!(
        "{}media:\n  rtp_port_range: \"16000-16999\"\n\
         trunks:\n  - {{ name: phones, kind: sip, remote: \"{caller}\" }}\n\
         \x20 - {{ name: far, kind: sip, remote: \"{callee}\", dtmf: info }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: to-sip, match: {{called: {{prefix: \"9\"}}}}, rewrite: {{called: {{strip: 1}}}}, egress: [far] }}\n",
        ports.config()
    )
}

/// One gateway: SIP from `caller` (RFC 4733); `9…` goes to `callee` on a SIP trunk that
/// carries DTMF as tones in the audio.
fn config_inband(ports: Ports, caller: SocketAddr, callee: SocketAddr) -> String {
    config_info(ports, caller, callee).replace("dtmf: info", "dtmf: inband")
}

/// The two user agents: A calls (manual answer), B answers by itself.
fn agents(dir: &std::path::Path) -> (Baresip, Baresip) {
    let b = Baresip::start(
        &dir.join("b"),
        BaresipOptions::new("5000")
            .answer(AnswerMode::Auto)
            .codecs("PCMU,PCMA")
            .tone(1000.0),
    );
    let wav = dir.join("tone440.wav");
    make_tone(&wav, 440.0, 30.0);
    let a = Baresip::start(
        &dir.join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMU")
            .wav(&wav),
    );
    (a, b)
}

/// A calls `uri` and both ends see the call up with RTP flowing.
fn call(a: &Baresip, b: &Baresip, uri: &str, logs: &dyn Fn() -> String) {
    a.dial(uri)
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs()));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs());
    b.wait_event("CALL_ESTABLISHED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    for ua in [a, b] {
        ua.wait_event("CALL_RTPESTAB", WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", logs()));
    }
}

/// `from` sends [`DIGITS`]; `to` must report each one, in order.
fn digits_cross(from: &Baresip, to: &Baresip, logs: &dyn Fn() -> String) {
    for d in DIGITS.chars() {
        from.send_dtmf(d)
            .unwrap_or_else(|e| panic!("sndcode {d}: {e}{}", logs()));
        std::thread::sleep(BETWEEN_DIGITS);
    }
    let mut got = String::new();
    for _ in DIGITS.chars() {
        match to.wait_event("CALL_DTMF_START", WAIT) {
            Ok(ev) => got.push_str(event_param(&ev)),
            Err(e) => panic!("after {got:?}: {e}{}", logs()),
        }
    }
    assert_eq!(got, DIGITS, "{}", logs());
}

/// Messages of `protocol` and `kind` the gateway sent, from its metrics text.
fn sent(metrics: &str, protocol: &str, kind: &str) -> f64 {
    metric(
        metrics,
        "gateway_messages_total",
        &[("protocol", protocol), ("type", kind), ("direction", "out")],
    )
    .unwrap_or(0.0)
}

/// The hairpin with `dtmf` as the DTMF form of both gateways' H.323 trunks.
fn hairpin(fast_start: bool, dtmf: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = agents(dir.path());
    let (pa, pb) = (Ports::free(), Ports::free());
    let gw_b = Daemon::start_with(pb, &config_b(pb, b.sip_addr(), pa.h225, dtmf));
    let gw_a = Daemon::start_with(pa, &config_a(pa, a.sip_addr(), pb.h225, fast_start, dtmf));
    let logs = || {
        format!(
            "\n--- A events: {:?}\n--- B events: {:?}\n--- A log:\n{}\n--- B log:\n{}\n\
             --- gatewayd A:\n{}\n--- gatewayd B:\n{}",
            a.event_types(),
            b.event_types(),
            a.log(),
            b.log(),
            gw_a.log_text(),
            gw_b.log_text()
        )
    };
    call(&a, &b, &format!("sip:95000@127.0.0.1:{}", pa.sip), &logs);
    digits_cross(&a, &b, &logs);
    digits_cross(&b, &a, &logs);
    // How each digit crossed H.323, once each way from each gateway: H.245 user input
    // tunnelled in a Facility (alphanumeric or signal), a Q.931 INFORMATION with a
    // Keypad facility, or telephone-events in the RTP (no signalling message at all).
    let n = DIGITS.len() as f64;
    for gw in [&gw_a, &gw_b] {
        let m = gw.metrics();
        let (facility, information) = (
            sent(&m, "h225", "facility"),
            sent(&m, "h225", "information"),
        );
        match dtmf {
            "h245-alphanumeric" | "h245-signal" => {
                assert!(facility >= n, "{m}{}", logs());
                assert_eq!(information, 0.0, "{m}");
            }
            "q931-keypad" => {
                assert!(information >= n, "{m}{}", logs());
                assert!(facility < n, "{m}");
            }
            _ => assert!(facility < n && information == 0.0, "{m}{}", logs()),
        }
    }
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs()));
    b.wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    let (ra, rb) = (&gw_a.wait_cdrs(1)[0], &gw_b.wait_cdrs(1)[0]);
    for r in [ra, rb] {
        assert_eq!(r["cause"], 16, "{r}");
    }
}

#[test]
fn dtmf_sip_rfc4733_h323_user_input_sip_rfc4733_fast_start() {
    if !peers_available(
        "dtmf_sip_rfc4733_h323_user_input_sip_rfc4733_fast_start",
        &["baresip", "sox"],
    ) {
        return;
    }
    hairpin(true, "h245-alphanumeric");
}

#[test]
fn dtmf_sip_rfc4733_h323_user_input_sip_rfc4733_slow_start() {
    if !peers_available(
        "dtmf_sip_rfc4733_h323_user_input_sip_rfc4733_slow_start",
        &["baresip", "sox"],
    ) {
        return;
    }
    hairpin(false, "h245-alphanumeric");
}

/// H.245 UserInputIndication `signal` (with each digit's duration) on the H.323 hop.
#[test]
fn dtmf_sip_rfc4733_h323_signal_sip_rfc4733() {
    if !peers_available(
        "dtmf_sip_rfc4733_h323_signal_sip_rfc4733",
        &["baresip", "sox"],
    ) {
        return;
    }
    hairpin(true, "h245-signal");
}

/// Q.931 INFORMATION with a Keypad facility IE on the H.323 hop.
#[test]
fn dtmf_sip_rfc4733_h323_keypad_sip_rfc4733() {
    if !peers_available(
        "dtmf_sip_rfc4733_h323_keypad_sip_rfc4733",
        &["baresip", "sox"],
    ) {
        return;
    }
    hairpin(true, "q931-keypad");
}

/// RFC 4733 telephone-events in the RTP of the H.323 hop (H.245 names the capability).
#[test]
fn dtmf_sip_rfc4733_h323_rfc4733_sip_rfc4733() {
    if !peers_available(
        "dtmf_sip_rfc4733_h323_rfc4733_sip_rfc4733",
        &["baresip", "sox"],
    ) {
        return;
    }
    hairpin(true, "rfc4733");
}

#[test]
fn dtmf_sip_rfc4733_to_sip_info() {
    if !peers_available("dtmf_sip_rfc4733_to_sip_info", &["baresip", "sox"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let (a, b) = agents(dir.path());
    let p = Ports::free();
    let gw = Daemon::start_with(p, &config_info(p, a.sip_addr(), b.sip_addr()));
    let logs = || {
        format!(
            "\n--- A events: {:?}\n--- B events: {:?}\n--- A log:\n{}\n--- B log:\n{}\n\
             --- gatewayd:\n{}",
            a.event_types(),
            b.event_types(),
            a.log(),
            b.log(),
            gw.log_text()
        )
    };
    call(&a, &b, &format!("sip:95000@127.0.0.1:{}", p.sip), &logs);
    digits_cross(&a, &b, &logs);
    // B was offered no telephone-event (its trunk takes INFO): the digits went to it
    // as 12 INFO requests.
    gw.wait_metrics("12 INFO sent", |t| {
        sent(t, "sip", "INFO") == DIGITS.len() as f64
    });
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs()));
    b.wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
}

#[test]
fn dtmf_sip_rfc4733_to_sip_inband() {
    if !peers_available(
        "dtmf_sip_rfc4733_to_sip_inband",
        &["baresip", "sox", "multimon-ng"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // B's microphone: 1.5 s of silence, then the digits as tones (100 ms on, 150 ms off).
    let b_wav = dir.path().join("b-dtmf.wav");
    make_dtmf(&b_wav, DIGITS, 100, 150, 1.5, 30.0);
    let b = Baresip::start(
        &dir.path().join("b"),
        BaresipOptions::new("5000")
            .answer(AnswerMode::Auto)
            .codecs("PCMU")
            .wav(&b_wav),
    );
    let wav = dir.path().join("tone440.wav");
    make_tone(&wav, 440.0, 30.0);
    let a = Baresip::start(
        &dir.path().join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMU")
            .wav(&wav),
    );
    let p = Ports::free();
    let gw = Daemon::start_with(p, &config_inband(p, a.sip_addr(), b.sip_addr()));
    let logs = || {
        format!(
            "\n--- A events: {:?}\n--- B events: {:?}\n--- A log:\n{}\n--- B log:\n{}\n\
             --- gatewayd:\n{}",
            a.event_types(),
            b.event_types(),
            a.log(),
            b.log(),
            gw.log_text()
        )
    };
    call(&a, &b, &format!("sip:95000@127.0.0.1:{}", p.sip), &logs);
    // B's tones reach A as RFC 4733 events, each digit once, in order.
    let mut got = String::new();
    for _ in DIGITS.chars() {
        match a.wait_event("CALL_DTMF_START", WAIT) {
            Ok(ev) => got.push_str(event_param(&ev)),
            Err(e) => panic!("after {got:?}: {e}{}", logs()),
        }
    }
    assert_eq!(got, DIGITS, "{}", logs());
    // A's events become tones toward B: B was offered no telephone-event.
    for d in DIGITS.chars() {
        a.send_dtmf(d)
            .unwrap_or_else(|e| panic!("sndcode {d}: {e}{}", logs()));
        std::thread::sleep(BETWEEN_DIGITS);
    }
    std::thread::sleep(Duration::from_millis(500));
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs()));
    b.wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    let (b_dec, _) = b
        .wait_recordings(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    let heard = multimon_dtmf(&b_dec).unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert_eq!(heard, DIGITS, "multimon-ng on B's audio{}", logs());
    assert!(
        !b.log().contains("telephone-event"),
        "B negotiated no telephone-event{}",
        logs()
    );
}
