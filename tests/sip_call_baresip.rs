//! Calls through gatewayd with baresip on both ends, audio checked by tone frequency:
//! - baresip -> gatewayd's built-in tone endpoint (the gateway as UAS): the caller hears
//!   the configured tone; the echo endpoint sends the caller's own tone back;
//! - baresip A -> gatewayd -> baresip B (UAS and UAC, a B2BUA with anchored media): each
//!   hears the other's tone, with digit manipulation on the way; a hang-up crosses;
//! - a busy endpoint: the caller gets 486.
//!
//! Each test has its own daemon on free ports and its own 127.0.0.x addresses.

#[path = "gatewayd_support/mod.rs"]
mod support;

use std::time::Duration;
use support::audio::{check_tone, make_tone};
use support::baresip::{AnswerMode, Baresip, BaresipOptions, event_param, peers_available};
use support::{Daemon, Ports, WAIT, metric};

/// How long audio flows once the call is up (a bounded wait, not synchronisation).
const TALK: Duration = Duration::from_millis(2500);

/// A gateway config: trunk `phones` for `caller`, trunk `far` toward `callee` (if any),
/// the built-in endpoints, and routes `1…` tone, `2…` echo, `486` busy, `9…` to `far`
/// with the 9 stripped.
fn config(
    ports: Ports,
    caller: std::net::SocketAddr,
    callee: Option<std::net::SocketAddr>,
) -> String {
    config_with(ports, caller, callee, "udp")
}

/// [`config`] with the transport toward `far`.
fn config_with(
    ports: Ports,
    caller: std::net::SocketAddr,
    callee: Option<std::net::SocketAddr>,
    far_transport: &str,
) -> String {
    let mut c = ports.config();
    c.push_str("media:\n  rtp_port_range: \"14000-15999\"\n");
    c.push_str(&format!(
        "trunks:\n  - {{ name: phones, kind: sip, remote: \"{caller}\" }}\n\
         \x20 - {{ name: tone, kind: local, answer: tone, tone_hz: 1200, ring_ms: 200 }}\n\
         \x20 - {{ name: echo, kind: local, answer: echo }}\n\
         \x20 - {{ name: busy, kind: local, answer: refuse, cause: 17 }}\n\
         \x20 - {{ name: congested, kind: local, answer: refuse, cause: 34 }}\n"
    ));
    if let Some(far) = callee {
        c.push_str(&format!(
            "  - {{ name: far, kind: sip, remote: \"{far}\", transport: {far_transport} }}\n"
        ));
    }
    c.push_str(
        "routes:\n  default:\n\
         \x20   - { name: tone, match: {called: {prefix: \"1\"}}, egress: [tone] }\n\
         \x20   - { name: echo, match: {called: {prefix: \"2\"}}, egress: [echo] }\n\
         \x20   - { name: busy, match: {called: {pattern: \"486\"}}, egress: [busy] }\n\
         \x20   - { name: failover, match: {called: {prefix: \"3\"}}, egress: [congested, tone] }\n",
    );
    if callee.is_some() {
        c.push_str(
            "    - { name: far, match: {called: {prefix: \"9\"}}, rewrite: {called: {strip: 1}}, egress: [far] }\n",
        );
    }
    c
}

fn caller(dir: &std::path::Path, hz: f64) -> Baresip {
    let wav = dir.join(format!("tone{hz}.wav"));
    make_tone(&wav, hz, 30.0);
    Baresip::start(
        &dir.join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMU,PCMA")
            .wav(&wav),
    )
}

fn wait_calls(gw: &Daemon, outcome: &str, n: f64) {
    gw.wait_metrics(&format!("{n} {outcome} call(s)"), |m| {
        let total: f64 = ["sip", "local", "none"]
            .iter()
            .filter_map(|e| {
                metric(
                    m,
                    "gateway_calls_total",
                    &[("ingress", "sip"), ("egress", e), ("outcome", outcome)],
                )
            })
            .sum();
        total >= n
    });
}

#[test]
fn caller_hears_the_tone_endpoint_and_its_own_echo() {
    if !peers_available(
        "caller_hears_the_tone_endpoint_and_its_own_echo",
        &["baresip", "sox"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let a = caller(dir.path(), 440.0);
    let ports = Ports::free();
    let gw = Daemon::start_with(ports, &config(ports, a.sip_addr(), None));
    let logs = || {
        format!(
            "\n--- A log:\n{}\n--- gatewayd log:\n{}",
            a.log(),
            gw.log_text()
        )
    };

    // 1: the tone endpoint rings, answers and plays 1200 Hz.
    a.dial(&format!("sip:1000@127.0.0.1:{}", ports.sip))
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs()));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs());
    assert!(
        a.event_types().iter().any(|t| t == "CALL_RINGING"),
        "180 before the answer: {:?}",
        a.event_types()
    );
    std::thread::sleep(TALK);
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs()));
    a.wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    let (dec, _) = a
        .wait_recordings(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    let heard = check_tone(&dec, 1200.0, 10.0).unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert!(heard.active.1 - heard.active.0 >= 2.0, "{heard}");
    wait_calls(&gw, "answered", 1.0);

    // 2: the echo endpoint sends the caller's 440 Hz back (audio both ways through the
    // gateway's media task). A new second, so baresip writes a new recording.
    std::thread::sleep(Duration::from_millis(1100));
    a.dial(&format!("sip:2000@127.0.0.1:{}", ports.sip))
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs()));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs());
    std::thread::sleep(TALK);
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs()));
    let (dec2, _) = loop {
        let r = a
            .wait_recordings(WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", logs()));
        if r.0 != dec {
            break r;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    check_tone(&dec2, 440.0, 10.0).unwrap_or_else(|e| panic!("echo: {e}{}", logs()));
    wait_calls(&gw, "answered", 2.0);
    let cdrs = gw.wait_cdrs(2);
    let trunks: Vec<&str> = cdrs
        .iter()
        .filter_map(|r| r["egress_trunk"].as_str())
        .collect();
    assert_eq!(trunks, ["tone", "echo"]);
    assert!(
        cdrs.iter()
            .all(|r| r["initiator"] == "caller" && r["cause"] == 16)
    );
}

#[test]
fn baresip_calls_baresip_through_the_gateway() {
    if !peers_available(
        "baresip_calls_baresip_through_the_gateway",
        &["baresip", "sox"],
    ) {
        return;
    }
    b2bua_call("udp", false);
}

/// The same call with the gateway's leg toward B over TCP: the gateway opens the
/// connection, B's requests and responses come back on it (RFC 3261 §18).
#[test]
fn gateway_calls_baresip_over_tcp() {
    if !peers_available("gateway_calls_baresip_over_tcp", &["baresip", "sox"]) {
        return;
    }
    b2bua_call("tcp", false);
}

/// The trunk toward B names it `localhost:PORT`: the gateway resolves the name (from
/// /etc/hosts, no DNS query leaves the machine) and calls B at 127.0.0.1.
#[test]
fn gateway_calls_a_trunk_by_host_name() {
    if !peers_available("gateway_calls_a_trunk_by_host_name", &["baresip", "sox"]) {
        return;
    }
    b2bua_call("udp", true);
}

fn b2bua_call(far_transport: &str, by_name: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    // B answers as user 5000: the gateway strips the 9 of 95000.
    let mut b_opts = BaresipOptions::new("5000")
        .answer(AnswerMode::Auto)
        .codecs("PCMU,PCMA")
        .tone(1000.0);
    if by_name {
        b_opts = b_opts.ip(std::net::Ipv4Addr::LOCALHOST);
    }
    let b = Baresip::start(&dir.path().join("b"), b_opts);
    let a = caller(dir.path(), 440.0);
    let ports = Ports::free();
    let mut cfg = config_with(ports, a.sip_addr(), Some(b.sip_addr()), far_transport);
    if by_name {
        cfg = cfg.replace(
            &format!("remote: \"{}\"", b.sip_addr()),
            &format!("remote: \"localhost:{}\"", b.sip_addr().port()),
        );
        assert!(cfg.contains("remote: \"localhost:"), "{cfg}");
    }
    let gw = Daemon::start_with(ports, &cfg);
    let logs = || {
        format!(
            "\n--- A log:\n{}\n--- B log:\n{}\n--- gatewayd log:\n{}",
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
    let est_b = b
        .wait_event("CALL_ESTABLISHED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert_eq!(est_b["direction"], "incoming");
    std::thread::sleep(TALK);

    // The callee hangs up: the caller's call ends too.
    b.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs()));
    let closed = a
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
        assert!(r.active.1 - r.active.0 >= 2.0, "{r}");
    }
    wait_calls(&gw, "answered", 1.0);
    // One CDR for the call: the callee cleared normally, numbers before and after the
    // manipulation, both legs' Call-IDs, RTP counted both ways.
    let cdrs = gw.wait_cdrs(1);
    let r = &cdrs[0];
    assert_eq!(r["cause"], 16, "{r}");
    assert_eq!(r["initiator"], "callee", "{r}");
    assert_eq!(r["ingress_trunk"], "phones", "{r}");
    assert_eq!(r["egress_trunk"], "far", "{r}");
    assert_eq!(r["called_in"], "95000", "{r}");
    assert_eq!(r["called_out"], "5000", "{r}");
    assert!(
        r["answer"].is_string()
            && r["ingress_call_id"].is_string()
            && r["egress_call_id"].is_string(),
        "{r}"
    );
    assert_ne!(
        r["ingress_call_id"], r["egress_call_id"],
        "two dialogs: {r}"
    );
    assert!(
        r["billable_seconds"].as_u64().is_some_and(|s| s >= 2),
        "{r}"
    );
    for dir in ["caller_packets", "callee_packets"] {
        assert!(r[dir].as_u64().is_some_and(|p| p >= 100), "{dir}: {r}");
    }
}

#[test]
fn busy_endpoint_is_486_for_the_caller() {
    if !peers_available("busy_endpoint_is_486_for_the_caller", &["baresip", "sox"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let a = caller(dir.path(), 440.0);
    let ports = Ports::free();
    let gw = Daemon::start_with(ports, &config(ports, a.sip_addr(), None));
    a.dial(&format!("sip:486@127.0.0.1:{}", ports.sip))
        .unwrap_or_else(|e| panic!("dial: {e}\n{}", gw.log_text()));
    let closed = a
        .wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", gw.log_text()));
    assert!(event_param(&closed).starts_with("486"), "{closed}");
    wait_calls(&gw, "busy", 1.0);
    let cdrs = gw.wait_cdrs(1);
    assert_eq!(cdrs[0]["cause"], 17, "{}", cdrs[0]);
    assert_eq!(cdrs[0]["initiator"], "callee", "{}", cdrs[0]);
    assert!(cdrs[0].get("answer").is_none(), "{}", cdrs[0]);
    assert_eq!(
        gw.cdr_lines("csv").len(),
        1,
        "the same record in the CSV file"
    );
}

/// Failover: the first egress trunk refuses with cause 34 (no circuit), a default
/// failover cause, and the call completes on the second; one record, on the second
/// trunk.
#[test]
fn a_refused_first_trunk_fails_over_to_the_second() {
    if !peers_available(
        "a_refused_first_trunk_fails_over_to_the_second",
        &["baresip", "sox"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let a = caller(dir.path(), 440.0);
    let ports = Ports::free();
    let gw = Daemon::start_with(ports, &config(ports, a.sip_addr(), None));
    let logs = || {
        format!(
            "\n--- A log:\n{}\n--- gatewayd log:\n{}",
            a.log(),
            gw.log_text()
        )
    };
    a.dial(&format!("sip:3000@127.0.0.1:{}", ports.sip))
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
    check_tone(&dec, 1200.0, 10.0).unwrap_or_else(|e| panic!("{e}{}", logs()));
    // One record per attempt: the refused one (written when the call moved on), then
    // the call's own on the second trunk.
    let cdrs = gw.wait_cdrs(2);
    let (refused, done) = (&cdrs[0], &cdrs[1]);
    assert_eq!(refused["egress_trunk"], "congested", "{refused}");
    assert_eq!(refused["cause"], 34, "{refused}");
    assert_eq!(refused["attempt"], 1, "{refused}");
    assert_eq!(refused["failed_over"], true, "{refused}");
    assert!(refused.get("answer").is_none(), "{refused}");
    assert_eq!(done["call"], refused["call"], "{done}");
    assert_eq!(done["egress_trunk"], "tone", "{done}");
    assert_eq!(done["route"], "failover", "{done}");
    assert_eq!(done["cause"], 16, "{done}");
    assert_eq!(done["attempt"], 2, "{done}");
    assert_eq!(done["failed_over"], false, "{done}");
}
