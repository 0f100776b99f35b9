//! How SIP <-> H.323 calls end, with a real SIP caller: baresip calls gatewayd, the call
//! leaves over H.323 (fast start) to the gateway's own H.225.0 port, comes back in on its
//! H.323 trunk and reaches a built-in endpoint that refuses, never answers, or plays
//! early media. Each outcome crosses the H.323 leg twice (SIP -> Q.931 cause -> SIP
//! status, RFC 3398 tables), so the caller's status shows both translations:
//! - busy: cause 17 <-> 486;  rejected: cause 21 <-> 603;  unallocated: cause 1 <-> 404;
//!   no route: cause 3 <-> 404;
//! - no answer: the no-answer timer (cause 19) <-> 480;
//! - CANCEL before answer: the caller's CANCEL becomes RELEASE COMPLETE, both records
//!   unanswered with the caller as initiator;
//! - early media: a 183 with the endpoint's tone before the answer, heard by the caller.

#[path = "gatewayd_support/mod.rs"]
mod support;

use std::time::Duration;
use support::audio::{check_tone, make_tone};
use support::baresip::{AnswerMode, Baresip, BaresipOptions, event_param, peers_available};
use support::{Daemon, Ports, WAIT};

struct Loop {
    _dir: tempfile::TempDir,
    a: Baresip,
    gw: Daemon,
    ports: Ports,
}

impl Loop {
    fn new() -> Loop {
        Loop::with(None, "2000")
    }

    /// The loop with the H.323 trunk in slow start.
    fn with_slow_start() -> Loop {
        Loop::build(None, "2000", false)
    }

    /// The loop with the caller as `user`, and `9555` routed back out to `callee`.
    fn with(callee: Option<std::net::SocketAddr>, user: &str) -> Loop {
        Loop::build(callee, user, true)
    }

    fn build(callee: Option<std::net::SocketAddr>, user: &str, fast_start: bool) -> Loop {
        let dir = tempfile::tempdir().expect("temp dir");
        let wav = dir.path().join("tone440.wav");
        make_tone(&wav, 440.0, 30.0);
        let a = Baresip::start(
            &dir.path().join("a"),
            BaresipOptions::new(user)
                .answer(AnswerMode::Manual)
                .codecs("PCMU,PCMA")
                .wav(&wav),
        );
        let p = Ports::free();
        let config = format!(
            "{}media:\n  rtp_port_range: \"15000-15999\"\n\
             trunks:\n  - {{ name: phones, kind: sip, remote: \"{}\" }}\n\
             \x20 - {{ name: busy, kind: local, answer: refuse, cause: 17 }}\n\
             \x20 - {{ name: reject, kind: local, answer: refuse, cause: 21 }}\n\
             \x20 - {{ name: nobody, kind: local, answer: refuse, cause: 1 }}\n\
             \x20 - {{ name: slow, kind: local, answer: tone, ring_ms: 60000 }}\n\
             \x20 - {{ name: tone, kind: local, answer: tone, tone_hz: 1200, ring_ms: 100 }}\n\
             \x20 - {{ name: early, kind: local, answer: tone, tone_hz: 1200, ring_ms: 2500, early_media: true }}\n\
             \x20 - {{ name: loop, kind: h323, remote: \"127.0.0.1:{}\", route_table: from-h323, fast_start: {fast_start} }}\n\
             routes:\n  default:\n\
             \x20   - {{ name: via-h323, match: {{called: {{prefix: \"9\"}}}}, egress: [loop] }}\n\
             \x20 from-h323:\n\
             \x20   - {{ name: busy, match: {{called: {{pattern: \"9486\"}}}}, egress: [busy] }}\n\
             \x20   - {{ name: reject, match: {{called: {{pattern: \"9603\"}}}}, egress: [reject] }}\n\
             \x20   - {{ name: nobody, match: {{called: {{pattern: \"9404\"}}}}, egress: [nobody] }}\n\
             \x20   - {{ name: slow, match: {{called: {{pattern: \"9480\"}}}}, egress: [slow] }}\n\
             \x20   - {{ name: tone, match: {{called: {{pattern: \"9100\"}}}}, egress: [tone] }}\n\
             \x20   - {{ name: early, match: {{called: {{pattern: \"9183\"}}}}, egress: [early] }}\n",
            p.config().replace(
                "drain_timeout_seconds: 5\n",
                "drain_timeout_seconds: 5\n  no_answer_seconds: 3\n"
            ),
            a.sip_addr(),
            p.h225
        );
        let config = match callee {
            Some(b) => format!(
                "{config}    - {{ name: far, match: {{called: {{pattern: \"9555\"}}}}, rewrite: {{called: {{strip: 1}}}}, egress: [far] }}\n"
            )
            .replacen(
                "  - { name: busy,",
                &format!("  - {{ name: far, kind: sip, remote: \"{b}\" }}\n  - {{ name: busy,"),
                1,
            ),
            None => config,
        };
        let gw = Daemon::start_with(p, &config);
        Loop {
            _dir: dir,
            a,
            gw,
            ports: p,
        }
    }

    fn logs(&self) -> String {
        format!(
            "\n--- A log:\n{}\n--- gatewayd:\n{}",
            self.a.log(),
            self.gw.log_text()
        )
    }

    fn dial(&self, number: &str) {
        self.a
            .dial(&format!("sip:{number}@127.0.0.1:{}", self.ports.sip))
            .unwrap_or_else(|e| panic!("dial: {e}{}", self.logs()));
    }

    /// Dials and waits for the call to close without being answered: the status.
    fn refused(&self, number: &str) -> String {
        self.dial(number);
        let ev = self
            .a
            .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", self.logs()));
        assert_eq!(ev["type"], "CALL_CLOSED", "{ev}{}", self.logs());
        event_param(&ev).to_owned()
    }
}

/// The records of the last call: (outer SIP -> H.323, inner H.323 -> endpoint).
fn last_pair(gw: &Daemon, n: usize) -> (serde_json::Value, serde_json::Value) {
    let cdrs = gw.wait_cdrs(n);
    let pair = &cdrs[n - 2..];
    let outer = pair
        .iter()
        .find(|r| r["ingress_trunk"] == "phones")
        .cloned()
        .unwrap_or_else(|| panic!("no SIP record in {pair:?}"));
    let inner = pair
        .iter()
        .find(|r| r["ingress_trunk"] == "loop")
        .cloned()
        .unwrap_or_else(|| panic!("no H.323 record in {pair:?}"));
    (outer, inner)
}

#[test]
fn refusals_cross_h323_with_their_causes() {
    if !peers_available("refusals_cross_h323_with_their_causes", &["baresip", "sox"]) {
        return;
    }
    let l = Loop::new();
    let mut n = 0;
    // 9999 has no route on the way back in: cause 3, also 404.
    for (number, status, cause) in [
        ("9486", "486", 17),
        ("9603", "603", 21),
        ("9404", "404", 1),
        ("9999", "404", 3),
    ] {
        let got = l.refused(number);
        assert!(got.starts_with(status), "{number}: {got}{}", l.logs());
        n += 2;
        let (outer, inner) = last_pair(&l.gw, n);
        for r in [&outer, &inner] {
            assert_eq!(r["cause"], cause, "{number}: {r}");
            assert!(r.get("answer").is_none(), "{r}");
        }
        assert_eq!(outer["egress_trunk"], "loop", "{outer}");
    }
}

#[test]
fn no_answer_and_cancel_cross_h323() {
    if !peers_available("no_answer_and_cancel_cross_h323", &["baresip", "sox"]) {
        return;
    }
    let l = Loop::new();
    // The endpoint rings for a minute; the no-answer timer (3 s) clears with cause 19.
    let got = l.refused("9480");
    assert!(got.starts_with("480"), "{got}{}", l.logs());
    let (outer, inner) = last_pair(&l.gw, 2);
    assert_eq!(outer["cause"], 19, "{outer}");
    assert_eq!(outer["initiator"], "gateway", "{outer}");
    assert_eq!(inner["cause"], 19, "{inner}");

    // The caller gives up while it rings: CANCEL -> RELEASE COMPLETE.
    l.dial("9480");
    l.a.wait_event("CALL_RINGING", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", l.logs()));
    l.a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", l.logs()));
    let ev =
        l.a.wait_event("CALL_CLOSED", WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", l.logs()));
    let (outer, inner) = last_pair(&l.gw, 4);
    for r in [&outer, &inner] {
        assert_eq!(r["initiator"], "caller", "{ev} {r}");
        assert!(r.get("answer").is_none(), "{r}");
    }
    assert_eq!(outer["cause"], inner["cause"], "{outer} {inner}");
}

#[test]
fn early_media_crosses_h323_before_the_answer() {
    if !peers_available(
        "early_media_crosses_h323_before_the_answer",
        &["baresip", "sox"],
    ) {
        return;
    }
    let l = Loop::new();
    l.dial("9183");
    let progress =
        l.a.wait_any(&["CALL_PROGRESS", "CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", l.logs()));
    assert_eq!(
        progress["type"],
        "CALL_PROGRESS",
        "a 183 first: {progress}{}",
        l.logs()
    );
    let est =
        l.a.wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", l.logs()));
    assert_eq!(est["type"], "CALL_ESTABLISHED", "{est}{}", l.logs());
    // Hang up at once: what the caller heard is (almost) all early media.
    std::thread::sleep(Duration::from_millis(300));
    l.a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", l.logs()));
    let (dec, _) =
        l.a.wait_recordings(WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", l.logs()));
    let heard = check_tone(&dec, 1200.0, 10.0).unwrap_or_else(|e| panic!("{e}{}", l.logs()));
    assert!(
        heard.active.1 - heard.active.0 >= 2.0,
        "the ring time's tone was heard before the answer: {heard}{}",
        l.logs()
    );
    let (outer, inner) = last_pair(&l.gw, 2);
    for r in [&outer, &inner] {
        assert!(r["answer"].is_string(), "{r}");
    }
}

/// A caller whose From is anonymous (RFC 3323) stays anonymous through H.323 (the
/// Setup's Calling party number says presentation restricted) and back out to SIP:
/// the callee sees `sip:anonymous@anonymous.invalid`, not the caller's address.
#[test]
fn restricted_caller_stays_restricted_across_h323() {
    if !peers_available(
        "restricted_caller_stays_restricted_across_h323",
        &["baresip", "sox"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let b = Baresip::start(
        &dir.path().join("b"),
        BaresipOptions::new("555")
            .answer(AnswerMode::Manual)
            .codecs("PCMU,PCMA")
            .tone(1000.0),
    );
    let l = Loop::with(Some(b.sip_addr()), "anonymous");
    l.dial("9555");
    let incoming = b
        .wait_event("CALL_INCOMING", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", l.logs()));
    let from = incoming["peeruri"].as_str().unwrap_or_default();
    assert_eq!(
        from,
        "sip:anonymous@anonymous.invalid",
        "{incoming}{}",
        l.logs()
    );
    l.a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", l.logs()));
    b.wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", l.logs()));
}

/// With `fast_start: false` the H.323 leg starts slowly (no media in the Setup, H.245
/// capability exchange and logical channels after CONNECT): the built-in endpoint on
/// the far side answers such a caller with its own offer and plays its tone once the
/// channels are open.
#[test]
fn slow_start_caller_reaches_the_tone_endpoint() {
    if !peers_available(
        "slow_start_caller_reaches_the_tone_endpoint",
        &["baresip", "sox"],
    ) {
        return;
    }
    let l = Loop::with_slow_start();
    l.dial("9100");
    let ev =
        l.a.wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", l.logs()));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", l.logs());
    std::thread::sleep(Duration::from_millis(2500));
    l.a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", l.logs()));
    let (dec, _) =
        l.a.wait_recordings(WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", l.logs()));
    let heard = check_tone(&dec, 1200.0, 10.0).unwrap_or_else(|e| panic!("{e}{}", l.logs()));
    assert!(
        heard.active.1 - heard.active.0 >= 2.0,
        "{heard}{}",
        l.logs()
    );
    let (outer, inner) = last_pair(&l.gw, 2);
    for r in [&outer, &inner] {
        assert_eq!(r["cause"], 16, "{r}");
        assert!(r["answer"].is_string(), "{r}");
    }
}
