//! Two gatewayd instances joined by a CESoPSN pseudowire (RFC 5086) over loopback UDP,
//! a PRI trunk on each end: A is the network side, B the user side. The D-channel runs
//! HDLC-framed in TS16, the B-channels in their timeslots.
//!
//! - baresip A -> gatewayd A (SIP -> PRI) -> pseudowire -> gatewayd B (PRI -> SIP) ->
//!   baresip B answers; each hears the other's tone; A's hang-up crosses; both CDRs
//!   say cause 16;
//! - the same call over SAToP (RFC 4553: whole E1 frames, TS0 framing written and
//!   checked);
//! - the trunks' data link comes up over the pseudowire, goes down on A when B's
//!   gatewayd is killed and comes back when it is started again.
//!
//! Every wait is bounded; each test has its own directories and ports.

#[path = "gatewayd_support/mod.rs"]
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;
use support::audio::{check_tone, make_tone};
use support::baresip::{AnswerMode, Baresip, BaresipOptions, event_param, peers_available};
use support::{Daemon, Ports, WAIT, free_port};

/// How long audio flows once the call is up (a bounded wait, not synchronisation).
const TALK: Duration = Duration::from_millis(2500);

/// The pseudowire's two UDP ports, distinct from each other and from the daemons'.
fn pw_ports(a: Ports, b: Ports) -> (u16, u16) {
    let taken = [a.sip, a.h225, a.metrics, b.sip, b.h225, b.metrics];
    loop {
        let (p, q) = (free_port(), free_port());
        if p != q && !taken.contains(&p) && !taken.contains(&q) {
            return (p, q);
        }
    }
}

/// One end: a PRI trunk `pw` on an E1 whose driver is the `protocol` pseudowire from
/// `local` to `remote`. Side A (network): SIP `7…` goes to the PRI with the 7 stripped.
/// Side B (user): PRI calls to `5…` go to the SIP `phone`.
fn config(
    ports: Ports,
    protocol: &str,
    network: bool,
    local: u16,
    remote: u16,
    phone: SocketAddr,
) -> String {
    // Each daemon of the tests running at once has RTP ports of its own.
    let (side, rtp) = match (network, protocol) {
        (true, "satop") => ("network", "19000-19499"),
        (false, "satop") => ("user", "19500-19999"),
        (true, _) => ("network", "18000-18499"),
        (false, _) => ("user", "18500-18999"),
    };
    format!(
        "{}media:\n  rtp_port_range: \"{rtp}\"\n\
         spans:\n  - name: e1pw\n    type: e1\n    framing: ccs\n    \
         driver: {{ kind: pseudowire, protocol: {protocol}, local: \"127.0.0.1:{local}\", remote: \"127.0.0.1:{remote}\", frames_per_packet: 8, jitter_buffer_ms: 4 }}\n\
         trunks:\n  - {{ name: phones, kind: sip, remote: \"{phone}\" }}\n\
         \x20 - {{ name: pw, kind: pri, span: e1pw, side: {side}, switch: euroisdn, route_table: from-pri }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: to-pri, match: {{called: {{prefix: \"7\"}}}}, rewrite: {{called: {{strip: 1}}}}, egress: [pw] }}\n\
         \x20 from-pri:\n\
         \x20   - {{ name: to-phone, match: {{called: {{prefix: \"5\"}}}}, egress: [phones] }}\n",
        ports.config()
    )
}

fn link_up(gw: &Daemon, what: &str) {
    gw.wait_metrics(what, |m| {
        support::metric(m, "gateway_trunk_up", &[("trunk", "pw")]) == Some(1.0)
    });
}

fn start(dir: &Path, ports: Ports, config: &str) -> Daemon {
    std::fs::create_dir_all(dir).expect("daemon dir");
    Daemon::start_in(dir, ports, config, &[])
}

#[test]
fn sip_call_crosses_the_pseudowire_with_audio_both_ways() {
    if peers_available(
        "sip_call_crosses_the_pseudowire_with_audio_both_ways",
        &["baresip", "sox"],
    ) {
        call_over("cesopsn");
    }
}

#[test]
fn sip_call_crosses_a_satop_pseudowire_with_audio_both_ways() {
    if peers_available(
        "sip_call_crosses_a_satop_pseudowire_with_audio_both_ways",
        &["baresip", "sox"],
    ) {
        call_over("satop");
    }
}

fn call_over(protocol: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let b = Baresip::start(
        &dir.path().join("b"),
        BaresipOptions::new("5000")
            .answer(AnswerMode::Auto)
            .codecs("PCMA,PCMU")
            .tone(1000.0),
    );
    let wav = dir.path().join("tone440.wav");
    make_tone(&wav, 440.0, 30.0);
    let a = Baresip::start(
        &dir.path().join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMA,PCMU")
            .wav(&wav),
    );
    let (pa, pb) = (Ports::free(), Ports::free());
    let (ua, ub) = pw_ports(pa, pb);
    let gw_b = start(
        &dir.path().join("gw-b"),
        pb,
        &config(pb, protocol, false, ub, ua, b.sip_addr()),
    );
    let gw_a = start(
        &dir.path().join("gw-a"),
        pa,
        &config(pa, protocol, true, ua, ub, a.sip_addr()),
    );
    let logs = || {
        format!(
            "\n--- A log:\n{}\n--- B log:\n{}\n--- gatewayd A:\n{}\n--- gatewayd B:\n{}",
            a.log(),
            b.log(),
            gw_a.log_text(),
            gw_b.log_text()
        )
    };
    link_up(&gw_a, "A's PRI link up");
    link_up(&gw_b, "B's PRI link up");
    a.dial(&format!("sip:75000@127.0.0.1:{}", pa.sip))
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs()));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs());
    b.wait_event("CALL_ESTABLISHED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs()));
    std::thread::sleep(TALK);
    for gw in [&gw_a, &gw_b] {
        let m = gw.metrics();
        let in_use = support::metric(&m, "gateway_span_bchannels_in_use", &[("span", "e1pw")]);
        assert_eq!(in_use, Some(1.0), "one B-channel in use{}", logs());
    }
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs()));
    let closed = b
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
    let (ra, rb) = (&gw_a.wait_cdrs(1)[0], &gw_b.wait_cdrs(1)[0]);
    assert_eq!(ra["egress_trunk"], "pw", "{ra}");
    assert_eq!(rb["ingress_trunk"], "pw", "{rb}");
    assert_eq!(rb["called_in"], "5000", "{rb}");
    assert_eq!(rb["calling_in"], "2000", "{rb}");
    for r in [ra, rb] {
        assert_eq!(r["cause"], 16, "{r}");
        assert_eq!(r["initiator"], "caller", "{r}");
        assert!(r["answer"].is_string(), "{r}");
    }
}

#[test]
fn the_data_link_comes_up_over_the_pseudowire_and_recovers_after_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let phone: SocketAddr = "127.0.0.1:9".parse().expect("address");
    let (pa, pb) = (Ports::free(), Ports::free());
    let (ua, ub) = pw_ports(pa, pb);
    let cfg_b = config(pb, "cesopsn", false, ub, ua, phone);
    let gw_a = start(
        &dir.path().join("gw-a"),
        pa,
        &config(pa, "cesopsn", true, ua, ub, phone),
    );
    let mut gw_b = start(&dir.path().join("gw-b"), pb, &cfg_b);
    link_up(&gw_a, "A's PRI link up");
    link_up(&gw_b, "B's PRI link up");
    // The span's own series: up, LAPD frames both ways, packets both ways.
    let m = gw_a.metrics();
    let span = |name: &str, dir: Option<&str>| {
        let mut labels = vec![("span", "e1pw")];
        labels.extend(dir.map(|d| ("direction", d)));
        support::metric(&m, name, &labels).unwrap_or(-1.0)
    };
    assert_eq!(span("gateway_span_up", None), 1.0, "{m}");
    for d in ["in", "out"] {
        assert!(
            span("gateway_span_dchannel_frames_total", Some(d)) >= 1.0,
            "{m}"
        );
        assert!(
            span("gateway_pseudowire_packets_total", Some(d)) >= 1.0,
            "{m}"
        );
    }
    gw_b.signal(nix::sys::signal::Signal::SIGKILL);
    gw_b.wait_exit();
    gw_a.wait_metrics("A's PRI link down after B went away", |m| {
        support::metric(m, "gateway_trunk_up", &[("trunk", "pw")]) == Some(0.0)
    });
    gw_a.wait_metrics("A's span down after B went away", |m| {
        support::metric(m, "gateway_span_up", &[("span", "e1pw")]) == Some(0.0)
    });
    assert!(
        gw_a.log_text().contains("pseudowire silent"),
        "{}",
        gw_a.log_text()
    );
    let gw_b = start(&dir.path().join("gw-b"), pb, &cfg_b);
    link_up(&gw_a, "A's PRI link up again");
    link_up(&gw_b, "B's PRI link up after its restart");
}
