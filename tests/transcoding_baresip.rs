//! Transcoding end to end (issue 6): a baresip that offers only PCMU talks to a baresip
//! that takes only G.722, and to one that takes only Opus, through gatewayd; and through
//! a G.729 leg (gatewayd calls itself over a trunk limited to G.729, so the call crosses
//! two transcoders: PCMU -> G.729 -> PCMU; needs the `g729` feature). Each side hears
//! the other's tone at the right frequency with a signal-to-noise ratio above the
//! threshold stated per codec pair, and the CDR names both codecs.
//!
//! The thresholds are what a waveform comparison of a pure tone can expect through each
//! pair, with a margin: G.711 and G.722 are waveform coders (about 35 dB for a -12 dBov
//! tone through G.711 alone); Opus and G.729 reproduce the spectrum, not the waveform,
//! so their figures are lower and are measured on what the far end decodes.

#[path = "gatewayd_support/mod.rs"]
mod support;

use std::path::Path;
use std::time::Duration;
use support::audio::{check_tone, make_tone, make_tone_at, tone_snr_db};
use support::baresip::{AnswerMode, Baresip, BaresipOptions, peers_available};
use support::{Daemon, Ports, WAIT};

/// How long audio flows once the call is up (a bounded wait, not synchronisation).
const TALK: Duration = Duration::from_millis(3000);
/// The caller's tone (PCMU) and the callee's.
const A_HZ: f64 = 440.0;
const B_HZ: f64 = 1000.0;

/// Trunk `phones` for the caller, `far` toward the callee with `far_codecs`, and a route
/// `9…` to `far` with the 9 stripped; with `via_g729`, `9…` first goes out over trunk
/// `loop` (limited to G.729) to the gateway's own SIP port, and comes back in as `8…`.
fn config(
    ports: Ports,
    caller: std::net::SocketAddr,
    callee: std::net::SocketAddr,
    far_codecs: &str,
    via_g729: bool,
) -> String {
    let mut c = ports.config();
    c.push_str("media:\n  rtp_port_range: \"16000-17999\"\n");
    c.push_str(&format!(
        "trunks:\n  - {{ name: phones, kind: sip, remote: \"{caller}\" }}\n\
         \x20 - {{ name: far, kind: sip, remote: \"{callee}\", codecs: [{far_codecs}, telephone-event] }}\n"
    ));
    if via_g729 {
        c.push_str(&format!(
            "  - {{ name: loop, kind: sip, remote: \"127.0.0.1:{}\", codecs: [G729, telephone-event] }}\n",
            ports.sip
        ));
        c.push_str(
            "routes:\n  default:\n\
             \x20   - { name: out, match: {called: {prefix: \"9\"}}, rewrite: {called: {strip: 1, prefix: \"8\"}}, egress: [loop] }\n\
             \x20   - { name: back, match: {called: {prefix: \"8\"}}, rewrite: {called: {strip: 1}}, egress: [far] }\n",
        );
    } else {
        c.push_str(
            "routes:\n  default:\n\
             \x20   - { name: far, match: {called: {prefix: \"9\"}}, rewrite: {called: {strip: 1}}, egress: [far] }\n",
        );
    }
    c
}

/// What one side heard: the tone's frequency is checked, and its SNR returned.
fn heard(who: &str, wav: &Path, hz: f64, logs: &dyn Fn() -> String) -> f64 {
    let r = check_tone(wav, hz, 10.0).unwrap_or_else(|e| panic!("{who}: {e}{}", logs()));
    assert!(r.active.1 - r.active.0 >= 2.0, "{who}: {r}{}", logs());
    let snr = tone_snr_db(wav, hz).unwrap_or_else(|| panic!("{who}: no SNR{}", logs()));
    eprintln!("{who} heard {hz} Hz: {r}; SNR {snr:.1} dB");
    snr
}

/// One call A (PCMU) -> gatewayd -> B (`b_codecs`, baresip module `b_module`); returns
/// the SNR each side measured (A, B) and the CDRs.
fn call(
    name: &str,
    b_module: Option<&str>,
    b_codecs: &str,
    b_rate: (u32, u8),
    far_codecs: &str,
    via_g729: bool,
) -> (f64, f64, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let a_wav = dir.path().join("a.wav");
    make_tone(&a_wav, A_HZ, 30.0);
    let b_wav = dir.path().join("b.wav");
    make_tone_at(&b_wav, B_HZ, 30.0, b_rate.0, b_rate.1);
    let mut b_opts = BaresipOptions::new("5000")
        .answer(AnswerMode::Auto)
        .codecs(b_codecs)
        .wav(&b_wav);
    if let Some(m) = b_module {
        b_opts = b_opts.module(m);
    }
    let b = Baresip::start(&dir.path().join("b"), b_opts);
    let a = Baresip::start(
        &dir.path().join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMU")
            .wav(&a_wav),
    );
    let ports = Ports::free();
    let gw = Daemon::start_with(
        ports,
        &config(ports, a.sip_addr(), b.sip_addr(), far_codecs, via_g729),
    );
    let logs = || {
        format!(
            "\n--- {name}\n--- A log:\n{}\n--- B log:\n{}\n--- gatewayd log:\n{}",
            a.log(),
            b.log(),
            gw.log_text()
        )
    };
    a.dial(&format!("sip:95000@127.0.0.1:{}", ports.sip))
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs()));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs());
    b.wait_event("CALL_ESTABLISHED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    std::thread::sleep(TALK);
    // A transcoded call's RTCP is the gateway's own (RFC 3550 §7.2: the peers' reports
    // are not relayed across it): each baresip gets one (its CALL_RTCP event); the
    // first is due within about 3 s of the call's first packet.
    for (who, ua) in [("A", &a), ("B", &b)] {
        ua.wait_event("CALL_RTCP", WAIT)
            .unwrap_or_else(|e| panic!("{who} got no RTCP: {e}{}", logs()));
    }
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs()));
    b.wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    let (a_dec, _) = a
        .wait_recordings(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    let (b_dec, _) = b
        .wait_recordings(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    // B's baresip says which codec it encoded and decoded with.
    if let Some(m) = b_module {
        let codec = m.trim_end_matches(".so").to_ascii_uppercase();
        let log = b.log().to_ascii_uppercase();
        assert!(
            log.contains(&format!("SET AUDIO ENCODER: {codec}"))
                && log.contains(&format!("SET AUDIO DECODER: {codec}")),
            "B did not use {codec}{}",
            logs()
        );
    }
    let a_snr = heard("A (PCMU)", &a_dec, B_HZ, &logs);
    let b_snr = heard(&format!("B ({b_codecs})"), &b_dec, A_HZ, &logs);
    let cdrs = gw.wait_cdrs(if via_g729 { 2 } else { 1 });
    (a_snr, b_snr, cdrs)
}

#[test]
fn a_pcmu_caller_talks_to_a_g722_callee() {
    if !peers_available("a_pcmu_caller_talks_to_a_g722_callee", &["baresip", "sox"]) {
        return;
    }
    let (a_snr, b_snr, cdrs) = call("G.722", Some("g722.so"), "G722", (16000, 1), "G722", false);
    assert_eq!(cdrs[0]["codec"], "PCMU>G722", "{}", cdrs[0]);
    // Waveform coders both ways (measured 34 and 38 dB); G.722's 16 kHz band carries
    // the narrowband tone intact.
    assert!(a_snr > 25.0, "A: {a_snr:.1} dB");
    assert!(b_snr > 25.0, "B: {b_snr:.1} dB");
}

#[test]
fn a_pcmu_caller_talks_to_an_opus_callee() {
    if !peers_available("a_pcmu_caller_talks_to_an_opus_callee", &["baresip", "sox"]) {
        return;
    }
    let (a_snr, b_snr, cdrs) = call(
        "Opus",
        Some("opus.so"),
        "opus/48000/2",
        (48000, 2),
        "opus",
        false,
    );
    assert_eq!(cdrs[0]["codec"], "PCMU>opus", "{}", cdrs[0]);
    // Measured 34 and 30 dB; Opus keeps a pure tone's waveform closely at 8 kHz.
    assert!(a_snr > 20.0, "A: {a_snr:.1} dB");
    assert!(b_snr > 20.0, "B: {b_snr:.1} dB");
}

#[test]
fn a_call_crosses_a_g729_leg() {
    if !cfg!(feature = "g729") {
        eprintln!("a_call_crosses_a_g729_leg: skipped, needs `--features g729`");
        return;
    }
    if !peers_available("a_call_crosses_a_g729_leg", &["baresip", "sox"]) {
        return;
    }
    let (a_snr, b_snr, cdrs) = call("G.729", None, "PCMU", (8000, 1), "PCMU", true);
    // Two rows: the first pass (phones -> loop) and the call coming back in (loop -> far).
    let codecs: Vec<&str> = cdrs.iter().filter_map(|r| r["codec"].as_str()).collect();
    assert!(codecs.contains(&"PCMU>G729"), "{codecs:?}");
    assert!(codecs.contains(&"G729>PCMU"), "{codecs:?}");
    // Two G.729 passes each way (measured 26-27 dB).
    assert!(a_snr > 15.0, "A: {a_snr:.1} dB");
    assert!(b_snr > 15.0, "B: {b_snr:.1} dB");
}
