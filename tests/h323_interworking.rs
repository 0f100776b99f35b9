//! SIP <-> H.323 interworking with audio: baresip A -> gatewayd A (SIP -> H.323) ->
//! gatewayd B (H.323 -> SIP) -> baresip B, with fast start, with slow start over
//! tunnelled H.245 and with slow start over a separate H.245 connection. Each side hears the other's tone; a hang-up crosses both
//! gateways; each gateway writes one CDR.

#[path = "gatewayd_support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::time::Duration;
use support::audio::{check_tone, make_tone};
use support::baresip::{AnswerMode, Baresip, BaresipOptions, event_param, peers_available};
use support::{Daemon, Ports, WAIT};

/// How long audio flows once the call is up (a bounded wait, not synchronisation).
const TALK: Duration = Duration::from_millis(2500);

/// Gateway A: SIP from `caller` on trunk `phones`; `9…` leaves over H.323 to B.
fn config_a(
    ports: Ports,
    caller: SocketAddr,
    b_h225: u16,
    fast_start: bool,
    tunnelling: bool,
) -> String {
    format!(
        "{}media:\n  rtp_port_range: \"14000-14999\"\n\
         trunks:\n  - {{ name: phones, kind: sip, remote: \"{caller}\" }}\n\
         \x20 - {{ name: gw-b, kind: h323, remote: \"127.0.0.1:{b_h225}\", fast_start: {fast_start}, h245_tunnelling: {tunnelling} }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: to-h323, match: {{called: {{prefix: \"9\"}}}}, egress: [gw-b] }}\n",
        ports.config()
    )
}

/// Gateway B: H.323 from A on trunk `gw-a`; strips the 9 and calls `callee` over SIP.
fn config_b(ports: Ports, callee: SocketAddr, a_h225: u16, tunnelling: bool) -> String {
    format!(
        "{}media:\n  rtp_port_range: \"15000-15999\"\n\
         trunks:\n  - {{ name: gw-a, kind: h323, remote: \"127.0.0.1:{a_h225}\", h245_tunnelling: {tunnelling} }}\n\
         \x20 - {{ name: far, kind: sip, remote: \"{callee}\" }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: to-sip, match: {{called: {{prefix: \"9\"}}}}, rewrite: {{called: {{strip: 1}}}}, egress: [far] }}\n",
        ports.config()
    )
}

/// `tunnelling`: A's trunk offers tunnelling; `b_tunnelling`: B's trunk accepts it.
fn hairpin(fast_start: bool, tunnelling: bool, b_tunnelling: bool) {
    hairpin_cleared_by(fast_start, tunnelling, b_tunnelling, false)
}

/// The hairpin call; `callee_clears`: B hangs up (BYE -> RELEASE COMPLETE -> BYE toward
/// A) instead of A.
fn hairpin_cleared_by(fast_start: bool, tunnelling: bool, b_tunnelling: bool, callee_clears: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let b = Baresip::start(
        &dir.path().join("b"),
        BaresipOptions::new("5000")
            .answer(AnswerMode::Auto)
            .codecs("PCMU,PCMA")
            .tone(1000.0),
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
    let (pa, pb) = (Ports::free(), Ports::free());
    let (dir_a, dir_b) = (dir.path().join("gw-a"), dir.path().join("gw-b"));
    let (mut gw_a, mut gw_b) = {
        let b_cfg = config_b(pb, b.sip_addr(), pa.h225, b_tunnelling);
        let gw_b = start_captured(&dir_b, pb, &b_cfg);
        let a_cfg = config_a(pa, a.sip_addr(), pb.h225, fast_start, tunnelling);
        (start_captured(&dir_a, pa, &a_cfg), gw_b)
    };
    let logs = || {
        format!(
            "\n--- A log:\n{}\n--- B log:\n{}\n--- gatewayd A:\n{}\n--- gatewayd B:\n{}",
            a.log(),
            b.log(),
            gw_a.log_text(),
            gw_b.log_text()
        )
    };
    a.dial(&format!("sip:95000@127.0.0.1:{}", pa.sip))
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs()));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs());
    b.wait_event("CALL_ESTABLISHED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    std::thread::sleep(TALK);
    let (clearer, other) = if callee_clears { (&b, &a) } else { (&a, &b) };
    clearer
        .hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs()));
    let closed = other
        .wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert_eq!(event_param(&closed), "Connection reset by peer", "{closed}");

    let (a_dec, _) = a
        .wait_recordings(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    let (b_dec, _) = b
        .wait_recordings(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    let b_heard = check_tone(&b_dec, 440.0, 10.0).unwrap_or_else(|e| panic!("B: {e}{}", logs()));
    let a_heard = check_tone(&a_dec, 1000.0, 10.0).unwrap_or_else(|e| panic!("A: {e}{}", logs()));
    for r in [&a_heard, &b_heard] {
        assert!(r.active.1 - r.active.0 >= 2.0, "{r}{}", logs());
    }
    // One record on each gateway, cleared normally on both by the side that hung up.
    let (ra, rb) = (&gw_a.wait_cdrs(1)[0], &gw_b.wait_cdrs(1)[0]);
    assert_eq!(
        (ra["egress_trunk"].as_str(), rb["ingress_trunk"].as_str()),
        (Some("gw-b"), Some("gw-a"))
    );
    for r in [ra, rb] {
        assert_eq!(r["cause"], 16, "{r}");
        let by = if callee_clears { "callee" } else { "caller" };
        assert_eq!(r["initiator"], by, "{r}");
        assert!(r["answer"].is_string(), "{r}");
    }
    assert_eq!(rb["called_in"], "95000", "{rb}");
    assert_eq!(rb["called_out"], "5000", "{rb}");
    assert_eq!(
        ra["egress_call_id"], rb["ingress_call_id"],
        "the H.323 call identifier names the same call on both sides"
    );
    // Without tunnelling H.245 ran on its own connection, counted as protocol h245.
    let h245 = |d: &Daemon, ty: &str, dir: &str| {
        support::metric(
            &d.metrics(),
            "gateway_messages_total",
            &[("protocol", "h245"), ("type", ty), ("direction", dir)],
        )
        .unwrap_or(0.0)
    };
    let separate = [
        h245(&gw_a, "terminalCapabilitySet", "out"),
        h245(&gw_a, "openLogicalChannelAck", "in"),
        h245(&gw_b, "terminalCapabilitySet", "out"),
        h245(
            &gw_b,
            "endSessionCommand",
            if callee_clears { "out" } else { "in" },
        ),
    ];
    if tunnelling && b_tunnelling {
        assert_eq!(separate, [0.0; 4], "tunnelled: no H.245 connection");
    } else {
        assert!(separate.iter().all(|n| *n >= 1.0), "{separate:?}{}", logs());
    }
    // Each gateway's capture replays through the sans-IO core to the same messages,
    // the separate H.245 connection's too.
    for (gw, gw_dir, sip) in [(&mut gw_a, &dir_a, pa.sip), (&mut gw_b, &dir_b, pb.sip)] {
        gw.signal(nix::sys::signal::Signal::SIGTERM);
        assert!(gw.wait_exit().success(), "{}", gw.log_text());
        // tshark, an independent decoder, finds nothing malformed in what it sent and
        // received (SIP, H.225.0, tunnelled or separate H.245).
        if support::baresip::have_program("tshark") {
            let out = std::process::Command::new("tshark")
                .args(["-n", "-r"])
                .arg(gw_dir.join("capture.pcapng"))
                .args(["-d", &format!("udp.port=={sip},sip")])
                .args(["-Y", "_ws.malformed || _ws.expert.severity == error"])
                .output()
                .expect("tshark runs");
            let bad = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success() && bad.trim().is_empty(),
                "malformed:\n{bad}"
            );
        }
        let transcript =
            support::replay(&gw_dir.join("gateway.yaml"), &gw_dir.join("capture.pcapng"));
        let support::ReplaySummary {
            calls,
            sent_by_replay: by_replay,
            sent_in_capture: in_capture,
            ..
        } = support::replay_summary(&transcript);
        assert_eq!(calls, 1, "{transcript}");
        // One race is allowed, on the separate H.245 connection at the end of the call:
        // an endSessionCommand (H.323 §8.5) written as the connection closes may miss
        // the capture in the run (the peer closed first, or the close was recorded
        // before the write), while the replay, which has no sockets, always sends it.
        let sends_end = transcript.contains("-> H.245 endSessionCommand");
        assert!(
            by_replay == in_capture || (by_replay == in_capture + 1 && sends_end),
            "the replay sends what the run sent:\n{transcript}"
        );
        if !(tunnelling && b_tunnelling) {
            assert!(transcript.contains("<- H.245 "), "{transcript}");
            assert!(transcript.contains("-> H.245 "), "{transcript}");
        }
    }
}

/// A gatewayd in `dir` writing its signalling to `dir/capture.pcapng`.
fn start_captured(dir: &std::path::Path, ports: Ports, config: &str) -> Daemon {
    std::fs::create_dir_all(dir).expect("gateway dir");
    let cap = dir.join("capture.pcapng");
    let cap = cap.to_str().expect("utf-8 path").to_owned();
    Daemon::start_in(dir, ports, config, &["--capture", &cap])
}

#[test]
fn sip_h323_sip_with_fast_start() {
    if !peers_available("sip_h323_sip_with_fast_start", &["baresip", "sox"]) {
        return;
    }
    hairpin(true, true, true);
}

#[test]
fn sip_h323_sip_with_slow_start_tunnelled_h245() {
    if !peers_available(
        "sip_h323_sip_with_slow_start_tunnelled_h245",
        &["baresip", "sox"],
    ) {
        return;
    }
    hairpin(false, true, true);
}

/// Slow start with tunnelling off on A's trunk: B listens and names its H.245 address,
/// A connects, H.245 runs on that connection (H.225.0 §7.2).
#[test]
fn sip_h323_sip_with_slow_start_separate_h245() {
    if !peers_available(
        "sip_h323_sip_with_slow_start_separate_h245",
        &["baresip", "sox"],
    ) {
        return;
    }
    hairpin(false, false, true);
}

/// A offers tunnelling, B's trunk refuses it (`h245_tunnelling: false`): B answers with
/// h245Tunnelling FALSE and its H.245 address, A switches over to the separate connection.
#[test]
fn sip_h323_sip_switching_over_from_refused_tunnelling() {
    if !peers_available(
        "sip_h323_sip_switching_over_from_refused_tunnelling",
        &["baresip", "sox"],
    ) {
        return;
    }
    hairpin(false, true, false);
}

/// One gateway calls itself: SIP in, out over H.323 to its own H.225.0 port, back in on
/// its H.323 trunk, to the built-in tone endpoint (the embedded default's demo, on free
/// ports).
/// The callee hangs up: its BYE becomes RELEASE COMPLETE on gatewayd B, and a BYE
/// toward the caller on gatewayd A.
#[test]
fn sip_h323_sip_callee_hangs_up() {
    if !peers_available("sip_h323_sip_callee_hangs_up", &["baresip", "sox"]) {
        return;
    }
    hairpin_cleared_by(true, true, true, true);
}

#[test]
fn one_gateway_loops_sip_through_its_own_h323_port() {
    if !peers_available(
        "one_gateway_loops_sip_through_its_own_h323_port",
        &["baresip", "sox"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let wav = dir.path().join("tone440.wav");
    make_tone(&wav, 440.0, 30.0);
    let a = Baresip::start(
        &dir.path().join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMU,PCMA")
            .wav(&wav),
    );
    let p = Ports::free();
    let config = format!(
        "{}media:\n  rtp_port_range: \"14000-14999\"\n\
         trunks:\n  - {{ name: phones, kind: sip, remote: \"{}\" }}\n\
         \x20 - {{ name: tone, kind: local, answer: tone, tone_hz: 1200, ring_ms: 100 }}\n\
         \x20 - {{ name: loop, kind: h323, remote: \"127.0.0.1:{}\", route_table: from-h323 }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: via-h323, match: {{called: {{prefix: \"9\"}}}}, egress: [loop] }}\n\
         \x20 from-h323:\n\
         \x20   - {{ name: tone, match: {{called: {{pattern: \"91000\"}}}}, egress: [tone] }}\n",
        p.config(),
        a.sip_addr(),
        p.h225
    );
    let gw = Daemon::start_with(p, &config);
    let logs = || {
        format!(
            "\n--- A log:\n{}\n--- gatewayd:\n{}",
            a.log(),
            gw.log_text()
        )
    };
    a.dial(&format!("sip:91000@127.0.0.1:{}", p.sip))
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs()));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs());
    std::thread::sleep(TALK);
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs()));
    let (dec, _) = a
        .wait_recordings(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    let heard = check_tone(&dec, 1200.0, 10.0).unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert!(heard.active.1 - heard.active.0 >= 2.0, "{heard}");
    // Two call attempts on the one gateway: SIP -> H.323 and H.323 -> tone.
    let cdrs = gw.wait_cdrs(2);
    let mut legs: Vec<(String, String)> = cdrs
        .iter()
        .map(|r| {
            (
                r["ingress_trunk"].as_str().unwrap_or_default().to_owned(),
                r["egress_trunk"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    legs.sort();
    assert_eq!(
        legs,
        [
            ("loop".to_owned(), "tone".to_owned()),
            ("phones".to_owned(), "loop".to_owned())
        ]
    );
}

/// Hold and resume across both gateways: baresip A's hold re-INVITE (sendonly) becomes
/// an empty TerminalCapabilitySet from gatewayd A (H.323 §8.4.6), which gatewayd B turns
/// into a sendonly re-INVITE toward baresip B; resume goes the same way with a full
/// capability set and sendrecv. Both gateways capture their traffic; tshark reads what
/// crossed (and finds nothing malformed), and the call still carries audio afterwards.
#[test]
fn hold_and_resume_cross_the_hairpin() {
    if !peers_available(
        "hold_and_resume_cross_the_hairpin",
        &["baresip", "sox", "tshark"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let b = Baresip::start(
        &dir.path().join("b"),
        BaresipOptions::new("5000")
            .answer(AnswerMode::Auto)
            .codecs("PCMU,PCMA")
            .tone(1000.0),
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
    let (pa, pb) = (Ports::free(), Ports::free());
    let (dir_a, dir_b) = (dir.path().join("gw-a"), dir.path().join("gw-b"));
    let mut gw_b = start_captured(&dir_b, pb, &config_b(pb, b.sip_addr(), pa.h225, true));
    let mut gw_a = start_captured(&dir_a, pa, &config_a(pa, a.sip_addr(), pb.h225, true, true));
    let (cap_a, cap_b) = (dir_a.join("capture.pcapng"), dir_b.join("capture.pcapng"));
    let logs = || {
        format!(
            "\n--- A log:\n{}\n--- B log:\n{}\n--- gatewayd A:\n{}\n--- gatewayd B:\n{}",
            a.log(),
            b.log(),
            gw_a.log_text(),
            gw_b.log_text()
        )
    };
    a.dial(&format!("sip:95000@127.0.0.1:{}", pa.sip))
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs()));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs());
    b.wait_event("CALL_ESTABLISHED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    // Each re-INVITE that reaches baresip B is a new remote offer there.
    let b_offer = |what: &str| {
        b.wait_event_where("CALL_REMOTE_SDP", WAIT, |e| event_param(e) == "offer")
            .unwrap_or_else(|e| panic!("{what}: {e}{}", logs()));
    };
    b_offer("the INVITE");
    a.command("hold", None)
        .unwrap_or_else(|e| panic!("hold: {e}{}", logs()));
    b_offer("the hold");
    a.command("resume", None)
        .unwrap_or_else(|e| panic!("resume: {e}{}", logs()));
    b_offer("the resume");
    std::thread::sleep(TALK);
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs()));
    b.wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    // Audio after the resume: baresip restarts its recorder on each re-INVITE (its
    // decode dump stays empty), so the relays' counts tell instead. Hold and resume
    // take a few packet times; at least 100 packets (2 s of the 2.5 s talk) in each
    // direction on both gateways can only have flowed after the resume.
    for gw in [&gw_a, &gw_b] {
        let r = &gw.wait_cdrs(1)[0];
        assert_eq!(r["cause"], 16, "{r}");
        for dir in ["caller_packets", "callee_packets"] {
            assert!(r[dir].as_u64().unwrap_or(0) >= 100, "{dir}: {r}{}", logs());
        }
    }
    for gw in [&mut gw_a, &mut gw_b] {
        gw.signal(nix::sys::signal::Signal::SIGTERM);
        assert!(gw.wait_exit().success(), "{}", gw.log_text());
    }

    // GATEWAY_KEEP_CAPTURE=DIR keeps both runs as DIR/hold-resume-gatewayd-{a,b}.pcapng
    // with their .yaml (how captures/hold-resume-gatewayd-* were made).
    if let Some(keep) = std::env::var_os("GATEWAY_KEEP_CAPTURE") {
        let keep = std::path::PathBuf::from(keep);
        for (side, gw_dir, cap) in [("a", &dir_a, &cap_a), ("b", &dir_b, &cap_b)] {
            let stem = keep.join(format!("hold-resume-gatewayd-{side}"));
            std::fs::copy(cap, stem.with_extension("pcapng")).expect("keep capture");
            std::fs::copy(gw_dir.join("gateway.yaml"), stem.with_extension("yaml"))
                .expect("keep config");
        }
    }
    let tshark = |cap: &std::path::Path, sip: u16, filter: &str, fields: &[&str]| {
        let mut cmd = std::process::Command::new("tshark");
        cmd.args(["-n", "-r", cap.to_str().expect("utf-8 path")])
            .args(["-d", &format!("udp.port=={sip},sip"), "-Y", filter]);
        if !fields.is_empty() {
            cmd.args(["-T", "fields", "-E", "separator=;"]);
            for f in fields {
                cmd.args(["-e", f]);
            }
        }
        let out = cmd.output().expect("tshark runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for (cap, sip) in [(&cap_a, pa.sip), (&cap_b, pb.sip)] {
        let bad = tshark(
            cap,
            sip,
            "_ws.malformed || _ws.expert.severity == error",
            &[],
        );
        assert!(
            bad.trim().is_empty(),
            "malformed in {}:\n{bad}",
            cap.display()
        );
    }
    // Gateway A: the capability sets it sent over H.323 toward B, in order: the call's,
    // the empty one (no capability table), the full one again.
    let tcs = tshark(
        &cap_a,
        pa.sip,
        &format!(
            "tcp.dstport == {} && h245.terminalCapabilitySet_element",
            pb.h225
        ),
        &["h245.capabilityTable"],
    );
    let tables: Vec<bool> = tcs.lines().map(|l| !l.trim().is_empty()).collect();
    assert_eq!(tables, [true, false, true], "A's capability sets:\n{tcs}");
    // Gateway B: the re-INVITEs toward baresip B say sendonly, then not.
    let invites = tshark(
        &cap_b,
        pb.sip,
        &format!(
            "sip.Method == \"INVITE\" && udp.dstport == {}",
            b.sip_addr().port()
        ),
        &["sdp.media_attr"],
    );
    let held: Vec<bool> = invites.lines().map(|l| l.contains("sendonly")).collect();
    assert_eq!(held, [false, true, false], "B's INVITEs:\n{invites}");
}

/// A busy callee across both gateways: baresip B refuses with 486, gatewayd B clears
/// the H.323 call with cause 17 (RFC 3398 §8.2.6.1), gatewayd A turns it back into 486
/// (§7.2.4.1) for baresip A; both records name the callee and cause 17.
#[test]
fn a_busy_callee_crosses_both_gateways_as_486_and_cause_17() {
    if !peers_available(
        "a_busy_callee_crosses_both_gateways_as_486_and_cause_17",
        &["baresip", "sox"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let b = Baresip::start(
        &dir.path().join("b"),
        BaresipOptions::new("5000")
            .answer(AnswerMode::Manual)
            .codecs("PCMU,PCMA"),
    );
    let a = Baresip::start(
        &dir.path().join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMU"),
    );
    let (pa, pb) = (Ports::free(), Ports::free());
    let gw_b = Daemon::start_with(pb, &config_b(pb, b.sip_addr(), pa.h225, true));
    let gw_a = Daemon::start_with(pa, &config_a(pa, a.sip_addr(), pb.h225, true, true));
    let logs = || {
        format!(
            "\n--- A log:\n{}\n--- B log:\n{}\n--- gatewayd A:\n{}\n--- gatewayd B:\n{}",
            a.log(),
            b.log(),
            gw_a.log_text(),
            gw_b.log_text()
        )
    };
    a.dial(&format!("sip:95000@127.0.0.1:{}", pa.sip))
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs()));
    b.wait_event("CALL_INCOMING", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    b.hangup()
        .unwrap_or_else(|e| panic!("refuse: {e}{}", logs()));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert_eq!(ev["type"], "CALL_CLOSED", "{ev}{}", logs());
    assert!(event_param(&ev).starts_with("486"), "{ev}{}", logs());
    let (ra, rb) = (&gw_a.wait_cdrs(1)[0], &gw_b.wait_cdrs(1)[0]);
    for r in [ra, rb] {
        assert_eq!(r["cause"], 17, "{r}");
        assert_eq!(r["initiator"], "callee", "{r}");
        assert!(r.get("answer").is_none(), "{r}");
    }
    assert_eq!(rb["sip_status"], 486, "{rb}");
}
