//! The call core on simulated time: SIP bytes in, SIP bytes, media commands and call
//! records out.

use super::media_plan::CountingPorts;
use super::*;
use crate::h323::call_leg::H323Calls;
use crate::sip::message::{Request, Response, SipMessage};

const CONFIG: &str = "\
listeners:
  sip:
    - { transport: udp, address: \"127.0.0.1:5060\" }
metrics:
  listen: \"127.0.0.1:9464\"
trunks:
  - { name: pbx, kind: sip, remote: \"127.0.0.2:5060\" }
  - { name: carrier, kind: sip, remote: \"127.0.0.3:5060\" }
  - { name: standby, kind: sip, remote: \"127.0.0.4:5060\" }
  - { name: tone, kind: local, ring_ms: 100 }
  - { name: busy, kind: local, answer: refuse, cause: 17 }
  - { name: congested, kind: local, answer: refuse, cause: 34 }
routes:
  default:
    - { name: tone, match: {called: {prefix: \"1\"}}, egress: [tone] }
    - { name: out, match: {called: {prefix: \"9\"}}, rewrite: {called: {strip: 1}}, egress: [carrier, standby] }
    - { name: busy, match: {called: {prefix: \"2\"}}, egress: [busy] }
    - { name: failover, match: {called: {prefix: \"3\"}}, egress: [congested, tone] }
";

struct Harness {
    sw: Switch,
    now: Instant,
    wall: SystemTime,
    /// (destination, message) of every SIP message sent.
    sent: Vec<(SocketAddr, SipMessage)>,
    media: Vec<MediaCommand>,
    ended: Vec<CallRecord>,
    /// Records of egress attempts that failed over.
    attempts: Vec<CallRecord>,
    /// RADIUS authorisation queries and accounting points.
    authorize: Vec<AuthQuery>,
    points: Vec<CallPoint>,
    /// Labels of the retransmissions the endpoint marked.
    retransmitted: Vec<String>,
    /// A far H.323 endpoint (the gateway's own H.323 layer), wired to the switch's
    /// H.225.0 outputs.
    peer: H323Calls,
    /// Incoming calls at the far H.323 endpoint.
    peer_incoming: Vec<(H323LegId, Setup)>,
    /// Every H.225.0 message the switch sent the far endpoint (TPKT payloads).
    h225_to_peer: Vec<Vec<u8>>,
    /// Call events the far H.323 endpoint received.
    peer_events: Vec<CallEvent>,
}

/// The switch's end of the one H.225.0 connection of the tests, and the peer's.
const SW_CONN: ConnId = 100;
const PEER_CONN: ConnId = 200;

fn pbx() -> Peer {
    Peer::udp("127.0.0.2:5060".parse().unwrap())
}

fn carrier() -> Peer {
    Peer::udp("127.0.0.3:5060".parse().unwrap())
}

impl Harness {
    fn new() -> Harness {
        Harness::with(CONFIG)
    }

    fn with(config: &str) -> Harness {
        let cfg = Arc::new(Config::parse("t.yaml", config).expect("valid test config"));
        let sip = SipService::new(&cfg, 7, [1; 32]);
        let ports = CountingPorts::new("127.0.0.1:10000".parse().unwrap());
        Harness {
            sw: Switch::new(cfg, sip, Box::new(ports), 3),
            now: Instant::now(),
            wall: SystemTime::now(),
            sent: Vec::new(),
            media: Vec::new(),
            ended: Vec::new(),
            attempts: Vec::new(),
            authorize: Vec::new(),
            points: Vec::new(),
            retransmitted: Vec::new(),
            peer: H323Calls::new(11),
            peer_incoming: Vec::new(),
            h225_to_peer: Vec::new(),
            peer_events: Vec::new(),
        }
    }

    fn drain(&mut self) {
        loop {
            let from_switch: Vec<SwitchOutput> =
                std::iter::from_fn(|| self.sw.poll_output()).collect();
            let from_peer: Vec<H323Output> =
                std::iter::from_fn(|| self.peer.poll_output()).collect();
            if from_switch.is_empty() && from_peer.is_empty() {
                let ep = self.sw.sip().endpoint();
                assert_eq!(
                    ep.poll_timeout(),
                    ep.poll_timeout_by_scan(),
                    "the deadline index agrees with the transactions"
                );
                return;
            }
            for o in from_switch {
                self.switch_output(o);
            }
            for o in from_peer {
                self.peer_output(o);
            }
        }
    }

    /// What the far H.323 endpoint does: frames go to the switch (TPKT header off),
    /// its outgoing call's connection comes up, calls and events are noted.
    fn peer_output(&mut self, o: H323Output) {
        match o {
            H323Output::Transmit { bytes, .. } => {
                self.sw
                    .handle_h225(self.now, self.wall, SW_CONN, &bytes[4..])
            }
            H323Output::Connect { leg, .. } => {
                self.peer.connected(self.now, leg, PEER_CONN);
                self.sw
                    .h225_opened(SW_CONN, "127.0.0.5:40000".parse().unwrap());
            }
            H323Output::Incoming { leg, setup, .. } => self.peer_incoming.push((leg, *setup)),
            H323Output::Event { event, .. } => self.peer_events.push(event),
            _ => {}
        }
    }

    fn switch_output(&mut self, o: SwitchOutput) {
        match o {
            SwitchOutput::H225(H323Output::Transmit { bytes, .. }) => {
                self.h225_to_peer.push(bytes[4..].to_vec());
                self.peer.handle_frame(self.now, PEER_CONN, &bytes[4..])
            }
            SwitchOutput::H225(H323Output::Connect { leg, addr }) => {
                self.peer
                    .connection_opened(PEER_CONN, "127.0.0.1:40001".parse().unwrap());
                self.sw
                    .h225_connected(self.now, self.wall, leg, SW_CONN, addr);
            }
            SwitchOutput::Sip(ServiceOutput::Endpoint(
                crate::sip::endpoint::Output::Transmit { peer, bytes, .. },
            )) => self.sent.push((
                peer.addr,
                SipMessage::parse(&bytes).expect("we send valid SIP"),
            )),
            SwitchOutput::Sip(ServiceOutput::Endpoint(
                crate::sip::endpoint::Output::Retransmitted { label },
            )) => self.retransmitted.push(label),
            SwitchOutput::Media(m) => self.media.push(m),
            SwitchOutput::Ended { record, .. } => self.ended.push(*record),
            SwitchOutput::AttemptEnded { record } => self.attempts.push(*record),
            SwitchOutput::Authorize(q) => self.authorize.push(q),
            SwitchOutput::Accounting(p) => self.points.push(p),
            _ => {}
        }
    }

    /// A Setup for `called` from the far H.323 endpoint.
    fn sw_setup(&self, called: &str) -> Setup {
        Setup {
            called: mapping::number::PartyNumber {
                digits: mapping::number::Digits::new(called).expect("digits"),
                ton: mapping::number::TypeOfNumber::UNKNOWN,
                npi: mapping::number::NumberingPlan::ISDN,
                presentation: None,
                screening: None,
            },
            calling: None,
            display_name: None,
            redirection: vec![],
            bearer: mapping::model::Bearer::Speech,
            media: None,
            sending_complete: true,
        }
    }

    fn input(&mut self, peer: Peer, text: &str) {
        self.sw
            .handle_sip(self.now, self.wall, peer, text.as_bytes());
        self.drain();
    }

    fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        while let Some(t) = self.sw.poll_timeout().filter(|t| *t <= until) {
            self.now = t.max(self.now);
            self.sw.handle_timeout(self.now, self.wall);
            self.drain();
        }
        self.now = until;
    }

    /// Responses sent to `to`, by status.
    fn responses(&self, to: SocketAddr) -> Vec<Response> {
        self.sent
            .iter()
            .filter(|(a, _)| *a == to)
            .filter_map(|(_, m)| m.as_response().cloned())
            .collect()
    }

    fn statuses(&self, to: SocketAddr) -> Vec<u16> {
        self.responses(to).iter().map(|r| r.status.0).collect()
    }

    fn requests(&self, to: SocketAddr) -> Vec<Request> {
        self.sent
            .iter()
            .filter(|(a, _)| *a == to)
            .filter_map(|(_, m)| m.as_request().cloned())
            .collect()
    }
}

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n";

fn invite(called: &str, call_id: &str) -> String {
    format!(
        "INVITE sip:{called}@127.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-{call_id}\r\n\
         Max-Forwards: 70\r\n\
         From: \"Alice\" <sip:2000@127.0.0.2>;tag=a1\r\n\
         To: <sip:{called}@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:2000@127.0.0.2:5060>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
}

fn in_dialog(method: &str, call_id: &str, to_tag: &str, cseq: u32) -> String {
    format!(
        "{method} sip:gw@127.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-{method}{cseq}\r\n\
         Max-Forwards: 70\r\n\
         From: \"Alice\" <sip:2000@127.0.0.2>;tag=a1\r\n\
         To: <sip:1000@127.0.0.1>;tag={to_tag}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} {method}\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// A response from the carrier to the INVITE we sent it.
fn reply_to(req: &Request, status: u16, tag: &str, sdp: Option<&str>) -> String {
    let mut r = Response::for_request(req, status, "").with_to_tag(tag);
    r.headers.push("Contact", "<sip:carrier@127.0.0.3:5060>");
    if let Some(s) = sdp {
        r = r.with_body("application/sdp", s.as_bytes().to_vec());
    }
    String::from_utf8(SipMessage::Response(r).to_bytes()).unwrap()
}

fn to_tag(r: &Response) -> String {
    r.headers.to().unwrap().unwrap().tag().unwrap().to_owned()
}

#[test]
fn sip_call_to_the_tone_endpoint() {
    let mut h = Harness::new();
    h.input(pbx(), &invite("1000", "c1"));
    assert_eq!(h.statuses(pbx().addr), [100, 180]);
    h.advance(Duration::from_millis(100));
    assert_eq!(h.statuses(pbx().addr), [100, 180, 200]);
    let ok = h.responses(pbx().addr).pop().unwrap();
    let sdp = crate::sip::sdp::SessionDescription::parse(&ok.body)
        .unwrap()
        .to_media()
        .unwrap();
    assert_eq!(
        sdp.rtp,
        Some("127.0.0.1:10000".parse().unwrap()),
        "media anchored at the gateway"
    );
    assert_eq!(sdp.codecs[0].payload_type, 0);
    assert!(matches!(
        h.media[..],
        [MediaCommand::Start { b: None, mode: MediaMode::Tone { payload_type: 0, .. }, a_peer, .. }]
            if a_peer.rtp == Some("127.0.0.2:40000".parse().unwrap())
    ));
    let tag = to_tag(&ok);
    h.input(
        pbx(),
        &in_dialog("ACK", "c1", &tag, 1).replace("z9hG4bK-ACK1", "z9hG4bK-ack"),
    );
    // No 2xx retransmission after the ACK.
    h.advance(Duration::from_secs(1));
    assert_eq!(
        h.statuses(pbx().addr).iter().filter(|s| **s == 200).count(),
        1
    );
    h.input(pbx(), &in_dialog("BYE", "c1", &tag, 2));
    assert_eq!(h.statuses(pbx().addr).last(), Some(&200));
    let r = &h.ended[0];
    assert_eq!(r.cause.value, Q850Cause::NORMAL_CLEARING);
    assert_eq!(r.initiator, Initiator::Caller);
    assert!(r.answer.is_some());
    assert_eq!(r.egress_trunk.as_deref(), Some("tone"));
    assert_eq!(r.ingress_call_id.as_deref(), Some("c1"));
    assert_eq!(h.sw.active_calls(), 0);
    // Nothing is left behind once the transactions' timers have run out.
    h.advance(Duration::from_secs(64));
    assert_eq!(h.sw.sip().leg_count(), 0);
    assert_eq!(h.sw.sip().transaction_count(), (0, 0));
    assert!(h.sw.by_leg.is_empty() && h.sw.timers.is_empty());
}

#[test]
fn unanswered_2xx_is_retransmitted_until_the_ack() {
    let mut h = Harness::new();
    h.input(pbx(), &invite("1000", "c2"));
    h.advance(Duration::from_millis(100));
    h.advance(Duration::from_millis(1600));
    // T1 = 500 ms: retransmissions at 0.5, 1.5 s after the first.
    let oks = h.statuses(pbx().addr).iter().filter(|s| **s == 200).count();
    assert_eq!(oks, 3);
    assert_eq!(
        h.retransmitted,
        ["200", "200"],
        "both counted as retransmissions"
    );
}

#[test]
fn sip_to_sip_with_manipulation_answer_and_bye_from_the_callee() {
    let mut h = Harness::new();
    h.input(pbx(), &invite("94000", "c3"));
    let out = h.requests(carrier().addr);
    assert_eq!(out.len(), 1);
    let inv = out[0].clone();
    assert_eq!(
        inv.uri.to_string(),
        "sip:4000@127.0.0.3:5060",
        "the 9 is stripped"
    );
    let offer = crate::sip::sdp::SessionDescription::parse(&inv.body)
        .unwrap()
        .to_media()
        .unwrap();
    assert_eq!(
        offer.rtp,
        Some("127.0.0.1:10002".parse().unwrap()),
        "side B anchored"
    );
    assert!(inv.headers.get("From").unwrap().contains("2000"));

    h.input(carrier(), &reply_to(&inv, 180, "c", None));
    assert_eq!(h.statuses(pbx().addr), [100, 180]);
    let answer = SDP
        .replace("127.0.0.2", "127.0.0.3")
        .replace("40000", "50000");
    h.input(carrier(), &reply_to(&inv, 200, "c", Some(&answer)));
    // The carrier's 2xx is ACKed; the caller gets 200 with side A's address.
    assert!(
        h.requests(carrier().addr)
            .iter()
            .any(|r| r.method == crate::sip::message::Method::Ack)
    );
    let ok = h.responses(pbx().addr).pop().unwrap();
    assert_eq!(ok.status.0, 200);
    let a = crate::sip::sdp::SessionDescription::parse(&ok.body)
        .unwrap()
        .to_media()
        .unwrap();
    assert_eq!(a.rtp, Some("127.0.0.1:10000".parse().unwrap()));
    assert!(matches!(
        &h.media[..],
        [MediaCommand::Start { b: Some(_), mode: MediaMode::Relay, b_peer, .. }]
            if b_peer.rtp == Some("127.0.0.3:50000".parse().unwrap())
    ));

    // The callee hangs up: BYE toward the caller, record with initiator callee.
    let bye = format!(
        "BYE sip:gw@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.3:5060;branch=z9hG4bK-bye\r\n\
         Max-Forwards: 70\r\nFrom: <sip:4000@127.0.0.3>;tag=c\r\nTo: {}\r\nCall-ID: {}\r\n\
         CSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n",
        inv.headers.get("From").unwrap(),
        inv.headers.call_id().unwrap()
    );
    h.input(carrier(), &bye);
    let bye_out = h
        .requests(pbx().addr)
        .into_iter()
        .find(|r| r.method == crate::sip::message::Method::Bye);
    assert!(bye_out.is_some(), "BYE sent to the caller");
    assert_eq!(h.ended.len(), 1);
    assert_eq!(h.ended[0].initiator, Initiator::Callee);
    assert_eq!(h.ended[0].called_out.as_deref(), Some("4000"));
    // The caller answers our BYE; then nothing is left behind.
    let bye_out = h
        .requests(pbx().addr)
        .into_iter()
        .find(|r| r.method == crate::sip::message::Method::Bye)
        .unwrap();
    let ok = Response::for_request(&bye_out, 200, "");
    h.input(
        pbx(),
        &String::from_utf8(SipMessage::Response(ok).to_bytes()).unwrap(),
    );
    h.advance(Duration::from_secs(64));
    assert_eq!(h.sw.sip().leg_count(), 0);
    assert_eq!(h.sw.sip().transaction_count(), (0, 0));
    assert!(h.sw.by_leg.is_empty() && h.sw.timers.is_empty());
}

#[test]
fn busy_endpoint_gives_486_with_the_cause() {
    let mut h = Harness::new();
    h.input(pbx(), &invite("2000", "c4"));
    h.advance(Duration::ZERO);
    let last = h.responses(pbx().addr).pop().unwrap();
    assert_eq!(last.status.0, 486);
    assert!(
        last.headers
            .get("Reason")
            .is_some_and(|r| r.contains("cause=17"))
    );
    assert_eq!(h.ended[0].cause.value, Q850Cause::USER_BUSY);
}

#[test]
fn no_route_is_404_and_a_record() {
    let mut h = Harness::new();
    h.input(pbx(), &invite("5555", "c5"));
    assert_eq!(h.statuses(pbx().addr), [100, 404]);
    assert_eq!(h.ended[0].cause.value, Q850Cause::NO_ROUTE_TO_DESTINATION);
    assert_eq!(h.ended[0].egress_trunk, None);
}

#[test]
fn congestion_fails_over_to_the_next_trunk() {
    let mut h = Harness::new();
    h.input(pbx(), &invite("3000", "c6"));
    h.advance(Duration::from_millis(100));
    assert_eq!(h.statuses(pbx().addr), [100, 180, 200]);
    assert_eq!(
        h.sw.calls
            .values()
            .next()
            .and_then(|c| c.egress_trunk.clone())
            .as_deref(),
        Some("tone")
    );
    // Issue 8: a record for every attempt, the failed one too.
    assert_eq!(h.attempts.len(), 1);
    let a = &h.attempts[0];
    assert_eq!(a.egress_trunk.as_deref(), Some("congested"));
    assert_eq!(a.cause.value.0, 34);
    assert_eq!((a.attempt, a.failed_over, a.answer), (1, true, None));
    assert!(h.ended.is_empty(), "the call itself goes on");
}

#[test]
fn carrier_503_fails_over_and_cancel_ends_the_attempt() {
    let mut h = Harness::new();
    h.input(pbx(), &invite("94000", "c7"));
    let inv = h.requests(carrier().addr)[0].clone();
    h.input(carrier(), &reply_to(&inv, 503, "c", None));
    let standby: SocketAddr = "127.0.0.4:5060".parse().unwrap();
    let inv2 = h.requests(standby);
    assert_eq!(inv2.len(), 1, "second trunk tried after 503 (cause 41/34)");
    // The caller gives up: CANCEL, 487 to the caller, CANCEL toward the standby after
    // its provisional.
    let cancel = invite("94000", "c7")
        .replacen("INVITE sip", "CANCEL sip", 1)
        .replace("CSeq: 1 INVITE", "CSeq: 1 CANCEL");
    let cancel =
        cancel.split("Content-Type").next().unwrap().to_owned() + "Content-Length: 0\r\n\r\n";
    h.input(pbx(), &cancel);
    assert!(h.statuses(pbx().addr).contains(&487));
    let standby_peer = Peer::udp(standby);
    let mut ringing = Response::for_request(&inv2[0], 180, "").with_to_tag("s");
    ringing.headers.push("Contact", "<sip:s@127.0.0.4>");
    h.input(
        standby_peer,
        &String::from_utf8(SipMessage::Response(ringing).to_bytes()).unwrap(),
    );
    assert!(
        h.requests(standby)
            .iter()
            .any(|r| r.method == crate::sip::message::Method::Cancel)
    );
    assert_eq!(h.ended.len(), 1);
    assert_eq!(h.ended[0].initiator, Initiator::Caller);
    // One record per attempt: the carrier's 503, then the standby's cancelled one.
    assert_eq!(h.attempts.len(), 1);
    let first = &h.attempts[0];
    assert_eq!(first.egress_trunk.as_deref(), Some("carrier"));
    assert_eq!(first.sip_status, Some(503));
    assert_eq!((first.attempt, first.failed_over), (1, true));
    assert_eq!(first.call, h.ended[0].call);
    assert!(first.egress_call_id.is_some());
    let last = &h.ended[0];
    assert_eq!(last.egress_trunk.as_deref(), Some("standby"));
    assert_eq!((last.attempt, last.failed_over), (2, false));
    assert_ne!(last.egress_call_id, first.egress_call_id);
}

#[test]
fn unknown_source_is_forbidden() {
    let mut h = Harness::new();
    h.input(
        Peer::udp("127.0.0.9:5060".parse().unwrap()),
        &invite("1000", "c8"),
    );
    assert_eq!(h.statuses("127.0.0.9:5060".parse().unwrap()), [100, 403]);
    assert!(h.ended.is_empty());
}

// ----- DTMF crossings --------------------------------------------------------------------

const DTMF_CONFIG: &str = "\
listeners:
  sip:
    - { transport: udp, address: \"127.0.0.1:5060\" }
  h225:
    - address: \"127.0.0.1:1720\"
metrics:
  listen: \"127.0.0.1:9464\"
trunks:
  - { name: pbx, kind: sip, remote: \"127.0.0.2:5060\" }
  - { name: carrier, kind: sip, remote: \"127.0.0.3:5060\" }
  - { name: info-carrier, kind: sip, remote: \"127.0.0.4:5060\", dtmf: info }
  - { name: gw, kind: h323, remote: \"127.0.0.5:1720\" }
  - { name: gw-rfc, kind: h323, remote: \"127.0.0.6:1720\", dtmf: rfc4733 }
  - { name: gw-signal, kind: h323, remote: \"127.0.0.9:1720\", dtmf: h245-signal }
  - { name: gw-keypad, kind: h323, remote: \"127.0.0.10:1720\", dtmf: q931-keypad }
  - { name: info-pbx, kind: sip, remote: \"127.0.0.7:5060\", dtmf: info }
  - { name: inband-carrier, kind: sip, remote: \"127.0.0.8:5060\", dtmf: inband }
  - { name: tone, kind: local, ring_ms: 0 }
routes:
  default:
    - { name: sip, match: {called: {prefix: \"9\"}}, egress: [carrier] }
    - { name: info, match: {called: {prefix: \"7\"}}, egress: [info-carrier] }
    - { name: h323, match: {called: {prefix: \"8\"}}, egress: [gw] }
    - { name: h323-rfc, match: {called: {prefix: \"6\"}}, egress: [gw-rfc] }
    - { name: h323-signal, match: {called: {prefix: \"41\"}}, egress: [gw-signal] }
    - { name: h323-keypad, match: {called: {prefix: \"42\"}}, egress: [gw-keypad] }
    - { name: inband, match: {called: {prefix: \"5\"}}, egress: [inband-carrier] }
    - { name: tone, match: {called: {prefix: \"1\"}}, egress: [tone] }
";

/// An SDP from `host` at `port` with PCMU and, when given, telephone-event in `te`.
fn sdp_from(host: &str, port: u16, te: Option<u8>) -> String {
    let mut s = format!(
        "v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP 0{}\r\na=rtpmap:0 PCMU/8000\r\n",
        te.map(|pt| format!(" {pt}")).unwrap_or_default()
    );
    if let Some(pt) = te {
        s += &format!("a=rtpmap:{pt} telephone-event/8000\r\na=fmtp:{pt} 0-15\r\n");
    }
    s
}

/// An INVITE from the phone system at `host` with `sdp`.
fn invite_from(host: &str, called: &str, call_id: &str, sdp: &str) -> String {
    format!(
        "INVITE sip:{called}@127.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {host}:5060;branch=z9hG4bK-{call_id}\r\n\
         Max-Forwards: 70\r\n\
         From: \"Alice\" <sip:2000@{host}>;tag=a1\r\n\
         To: <sip:{called}@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:2000@{host}:5060>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{sdp}",
        sdp.len()
    )
}

/// An INFO with `application/dtmf-relay` in a dialog: `from`/`to` are the From and To
/// header values as the sender writes them.
fn info_dtmf(host: &str, call_id: &str, from: &str, to: &str, digit: char, ms: u32) -> String {
    let body = format!("Signal={digit}\r\nDuration={ms}\r\n");
    format!(
        "INFO sip:gw@127.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP {host}:5060;branch=z9hG4bK-info{digit}\r\n\
         Max-Forwards: 70\r\n\
         From: {from}\r\n\
         To: {to}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {} INFO\r\n\
         Content-Type: application/dtmf-relay\r\n\
         Content-Length: {}\r\n\r\n{body}",
        10 + u32::from(digit),
        body.len()
    )
}

fn sdp_of(body: &[u8]) -> Media {
    crate::sip::sdp::SessionDescription::parse(body)
        .expect("SDP")
        .to_media()
        .expect("media")
}

fn te_of(m: &Media) -> Option<u8> {
    telephone_event(m).map(|c| c.payload_type)
}

/// The DTMF policies sent to the media task, in order.
fn policies(h: &Harness) -> Vec<(Side, DtmfPolicy)> {
    h.media
        .iter()
        .filter_map(|m| match m {
            MediaCommand::Dtmf { side, policy, .. } => Some((*side, *policy)),
            _ => None,
        })
        .collect()
}

/// The digits the media task was asked to play, in order.
fn played(h: &Harness) -> Vec<(Side, char, u32)> {
    h.media
        .iter()
        .filter_map(|m| match m {
            MediaCommand::SendDtmf {
                side,
                digit,
                duration_ms,
                ..
            } => Some((*side, *digit, *duration_ms)),
            _ => None,
        })
        .collect()
}

/// INFO requests sent to `to`, as their bodies.
fn infos(h: &Harness, to: &str) -> Vec<String> {
    h.requests(to.parse().unwrap())
        .iter()
        .filter(|r| r.method == crate::sip::message::Method::Info)
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

fn extract(pt: u8) -> DtmfPolicy {
    DtmfPolicy {
        telephone_event_pt: Some(pt),
        extract: true,
        inband: false,
    }
}

fn relay(pt: u8) -> DtmfPolicy {
    DtmfPolicy {
        telephone_event_pt: Some(pt),
        extract: false,
        inband: false,
    }
}

/// A call from the SIP `caller` (with telephone-event `te_a`) to `called` on a SIP
/// egress at `callee`, answered with telephone-event `te_b`: the harness, the INVITE we
/// sent, and our 200 to the caller.
fn sip_call(
    caller: &str,
    te_a: Option<u8>,
    called: &str,
    callee: &str,
    te_b: Option<u8>,
) -> (Harness, Request, Response) {
    let mut h = Harness::with(DTMF_CONFIG);
    let from = Peer::udp(format!("{caller}:5060").parse().unwrap());
    h.input(
        from,
        &invite_from(caller, called, "d1", &sdp_from(caller, 40000, te_a)),
    );
    let to: SocketAddr = format!("{callee}:5060").parse().unwrap();
    let inv = h.requests(to).first().cloned().expect("INVITE sent");
    let answer = sdp_from(callee, 50000, te_b);
    h.input(Peer::udp(to), &reply_to(&inv, 200, "c", Some(&answer)));
    let ok = h
        .responses(from.addr)
        .into_iter()
        .find(|r| r.status.0 == 200)
        .expect("caller answered");
    (h, inv, ok)
}

/// INFO from the caller of [`sip_call`].
fn caller_info(h: &mut Harness, caller: &str, ok: &Response, digit: char, ms: u32) {
    let text = info_dtmf(
        caller,
        "d1",
        &format!("\"Alice\" <sip:2000@{caller}>;tag=a1"),
        &format!("<sip:x@127.0.0.1>;tag={}", to_tag(ok)),
        digit,
        ms,
    );
    h.input(Peer::udp(format!("{caller}:5060").parse().unwrap()), &text);
}

/// INFO from the callee of [`sip_call`] (its tag is `c`).
fn callee_info(h: &mut Harness, callee: &str, inv: &Request, digit: char, ms: u32) {
    let text = info_dtmf(
        callee,
        inv.headers.call_id().unwrap(),
        "<sip:x@127.0.0.1>;tag=c",
        inv.headers.get("From").unwrap(),
        digit,
        ms,
    );
    h.input(Peer::udp(format!("{callee}:5060").parse().unwrap()), &text);
}

#[test]
fn dtmf_rfc4733_on_both_sip_legs_stays_in_the_relay() {
    let (mut h, inv, ok) = sip_call("127.0.0.2", Some(101), "9100", "127.0.0.3", Some(96));
    assert_eq!(
        te_of(&sdp_of(&inv.body)),
        Some(101),
        "A's telephone-event offered"
    );
    assert_eq!(te_of(&sdp_of(&ok.body)), Some(101));
    // Relayed, renumbered 101 <-> 96 by the relay's rules; nothing taken out.
    let Some(MediaCommand::Start { pt_map, .. }) = h.media.first() else {
        panic!("media started: {:?}", h.media);
    };
    assert!(
        pt_map
            .iter()
            .any(|r| (r.from, r.pt_in, r.pt_out) == (Side::A, 101, 96))
    );
    assert_eq!(
        policies(&h),
        [],
        "nothing taken out, nothing to tell the media task"
    );
    // A digit that comes as INFO anyway goes on as events toward the RFC 4733 leg; the
    // media task learns B's payload type with it, once.
    caller_info(&mut h, "127.0.0.2", &ok, '5', 160);
    caller_info(&mut h, "127.0.0.2", &ok, '6', 0);
    assert_eq!(policies(&h), [(Side::B, relay(96))]);
    assert_eq!(played(&h), [(Side::B, '5', 160), (Side::B, '6', 0)]);
    assert!(infos(&h, "127.0.0.3:5060").is_empty());
}

#[test]
fn dtmf_rfc4733_caller_to_sip_info_callee() {
    let (mut h, inv, ok) = sip_call("127.0.0.2", Some(101), "7100", "127.0.0.4", None);
    assert_eq!(
        te_of(&sdp_of(&inv.body)),
        None,
        "no telephone-event toward an INFO trunk"
    );
    assert_eq!(
        te_of(&sdp_of(&ok.body)),
        Some(101),
        "the caller keeps its telephone-event although the callee has none"
    );
    assert_eq!(policies(&h), [(Side::A, extract(101))]);
    // A's events, taken out by the media task, become INFO toward the callee.
    h.sw.media_dtmf(h.now, h.wall, 1, Side::A, '5', 100);
    h.drain();
    assert_eq!(
        infos(&h, "127.0.0.4:5060"),
        ["Signal=5\r\nDuration=100\r\n"]
    );
    // The callee's INFO becomes events toward the caller.
    callee_info(&mut h, "127.0.0.4", &inv, '#', 250);
    assert_eq!(played(&h), [(Side::A, '#', 250)]);
    assert!(infos(&h, "127.0.0.2:5060").is_empty());
}

#[test]
fn dtmf_sip_info_caller_to_rfc4733_callee() {
    let (mut h, inv, ok) = sip_call("127.0.0.7", Some(101), "9100", "127.0.0.3", Some(96));
    assert_eq!(te_of(&sdp_of(&inv.body)), Some(101));
    assert_eq!(
        te_of(&sdp_of(&ok.body)),
        None,
        "an INFO trunk is answered without telephone-event"
    );
    assert_eq!(policies(&h), [(Side::B, extract(96))]);
    h.sw.media_dtmf(h.now, h.wall, 1, Side::B, '#', 80);
    h.drain();
    assert_eq!(infos(&h, "127.0.0.7:5060"), ["Signal=#\r\nDuration=80\r\n"]);
    caller_info(&mut h, "127.0.0.7", &ok, '3', 0);
    assert_eq!(played(&h), [(Side::B, '3', 0)]);
}

#[test]
fn dtmf_caller_without_telephone_event_gets_info() {
    // The trunk wants RFC 4733 but the phone offers none: INFO toward it; the callee
    // is offered telephone-event by the gateway.
    let (mut h, inv, ok) = sip_call("127.0.0.2", None, "9100", "127.0.0.3", Some(101));
    assert_eq!(te_of(&sdp_of(&inv.body)), Some(101), "added by the gateway");
    assert_eq!(te_of(&sdp_of(&ok.body)), None);
    assert_eq!(policies(&h), [(Side::B, extract(101))]);
    h.sw.media_dtmf(h.now, h.wall, 1, Side::B, '9', 120);
    h.drain();
    assert_eq!(
        infos(&h, "127.0.0.2:5060"),
        ["Signal=9\r\nDuration=120\r\n"]
    );
}

#[test]
fn dtmf_toward_an_inband_trunk_becomes_tones_and_the_endpoint_takes_none() {
    let (mut h, inv, ok) = sip_call("127.0.0.2", Some(101), "5100", "127.0.0.8", None);
    assert_eq!(
        te_of(&sdp_of(&inv.body)),
        None,
        "the in-band side gets none"
    );
    assert_eq!(
        te_of(&sdp_of(&ok.body)),
        Some(101),
        "the caller keeps its events: the gateway converts"
    );
    assert_eq!(
        policies(&h),
        [
            (Side::A, extract(101)),
            (
                Side::B,
                DtmfPolicy {
                    inband: true,
                    ..DtmfPolicy::default()
                }
            )
        ]
    );
    caller_info(&mut h, "127.0.0.2", &ok, '1', 100);
    assert!(infos(&h, "127.0.0.8:5060").is_empty());
    assert_eq!(played(&h), [(Side::B, '1', 100)], "tones written toward B");

    // The built-in endpoint takes none.
    let mut h = Harness::with(DTMF_CONFIG);
    h.input(
        pbx(),
        &invite_from(
            "127.0.0.2",
            "1000",
            "e1",
            &sdp_from("127.0.0.2", 40000, Some(101)),
        ),
    );
    h.advance(Duration::ZERO);
    let ok = h.responses(pbx().addr).pop().expect("answered");
    assert_eq!(ok.status.0, 200);
    h.input(
        pbx(),
        &info_dtmf(
            "127.0.0.2",
            "e1",
            "\"Alice\" <sip:2000@127.0.0.2>;tag=a1",
            &format!("<sip:x@127.0.0.1>;tag={}", to_tag(&ok)),
            '2',
            100,
        ),
    );
    assert!(played(&h).is_empty() && policies(&h).is_empty());
}

/// The far H.323 endpoint answers its incoming call with fast start (PCMU).
fn h323_answer(h: &mut Harness) {
    let (leg, setup) = h.peer_incoming.first().cloned().expect("Setup arrived");
    assert!(setup.media.is_some(), "fast start offered");
    let answer = Media {
        rtp: Some("127.0.0.5:30000".parse().unwrap()),
        rtcp: None,
        codecs: vec![mapping::model::Codec {
            name: mapping::model::CodecName::Pcmu,
            clock_rate: 8000,
            channels: 1,
            payload_type: 0,
            fmtp: None,
        }],
        ptime: Some(20),
        direction: mapping::model::MediaDirection::SendRecv,
    };
    h.peer.send(
        h.now,
        leg,
        CallEvent::Connect {
            connected: None,
            media: Some(MediaExchange::Answer(answer)),
        },
    );
    h.drain();
}

fn peer_dtmf(h: &Harness) -> Vec<char> {
    h.peer_events
        .iter()
        .filter_map(|e| match e {
            CallEvent::Info(Info::Dtmf { digit, .. }) => Some(*digit),
            _ => None,
        })
        .collect()
}

#[test]
fn dtmf_sip_rfc4733_to_h323_user_input() {
    let mut h = Harness::with(DTMF_CONFIG);
    h.input(
        pbx(),
        &invite_from(
            "127.0.0.2",
            "8100",
            "h1",
            &sdp_from("127.0.0.2", 40000, Some(101)),
        ),
    );
    h323_answer(&mut h);
    let ok = h
        .responses(pbx().addr)
        .into_iter()
        .find(|r| r.status.0 == 200)
        .expect("caller answered");
    assert_eq!(
        te_of(&sdp_of(&ok.body)),
        Some(101),
        "the caller keeps telephone-event; H.245 carried none"
    );
    assert_eq!(policies(&h), [(Side::A, extract(101))]);
    // Events from the caller become UserInputIndication (or keypad) toward H.323.
    for d in ['0', '*', '#'] {
        h.sw.media_dtmf(h.now, h.wall, 1, Side::A, d, 100);
        h.drain();
    }
    assert_eq!(peer_dtmf(&h), ['0', '*', '#']);
    // User input from the H.323 side becomes events toward the caller.
    let leg = h.peer_incoming[0].0;
    h.peer.send(
        h.now,
        leg,
        CallEvent::Info(Info::Dtmf {
            digit: '7',
            duration_ms: 0,
        }),
    );
    h.drain();
    assert_eq!(played(&h), [(Side::A, '7', 0)]);
    assert!(infos(&h, "127.0.0.2:5060").is_empty());
}

/// An in-dialog re-INVITE from the PBX with an SDP body.
fn reinvite_from_pbx(call_id: &str, to_tag: &str, cseq: u32, sdp: &str) -> String {
    in_dialog("INVITE", call_id, to_tag, cseq).replacen(
        "Content-Length: 0\r\n\r\n",
        &format!(
            "Contact: <sip:2000@127.0.0.2:5060>\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{sdp}",
            sdp.len()
        ),
        1,
    )
}

/// Hold and resume across SIP <-> H.323 (RFC 3264 §8.4 <-> H.323 §8.4.6): the SIP
/// caller's sendonly re-INVITE pauses the H.323 callee with an empty capability set,
/// sendrecv resumes it; the H.323 side's own pause re-INVITEs the caller sendonly.
#[test]
fn hold_and_resume_cross_between_sip_and_h323() {
    let mut h = Harness::with(DTMF_CONFIG);
    let sdp = sdp_from("127.0.0.2", 40000, Some(101));
    h.input(pbx(), &invite_from("127.0.0.2", "8100", "ho1", &sdp));
    h323_answer(&mut h);
    let ok = h
        .responses(pbx().addr)
        .into_iter()
        .find(|r| r.status.0 == 200)
        .expect("caller answered");
    let tag = to_tag(&ok);
    let ack = in_dialog("ACK", "ho1", &tag, 1);
    h.input(pbx(), &ack);
    let holds = |h: &Harness| {
        h.peer_events
            .iter()
            .filter(|e| matches!(e, CallEvent::Hold | CallEvent::Resume))
            .cloned()
            .collect::<Vec<_>>()
    };
    // The caller holds: the H.323 callee is paused.
    h.input(
        pbx(),
        &reinvite_from_pbx("ho1", &tag, 2, &format!("{sdp}a=sendonly\r\n")),
    );
    assert_eq!(holds(&h), [CallEvent::Hold]);
    let r = h.responses(pbx().addr).pop().unwrap();
    assert!(String::from_utf8_lossy(&r.body).contains("a=recvonly"));
    // ...and resumed.
    h.input(pbx(), &reinvite_from_pbx("ho1", &tag, 3, &sdp));
    assert_eq!(holds(&h), [CallEvent::Hold, CallEvent::Resume]);
    // The H.323 side holds: the caller gets a sendonly re-INVITE.
    let leg = h.peer_incoming[0].0;
    h.peer.send(h.now, leg, CallEvent::Hold);
    h.drain();
    let re: Vec<Request> = h
        .requests(pbx().addr)
        .into_iter()
        .filter(|r| r.method == crate::sip::message::Method::Invite)
        .collect();
    assert_eq!(re.len(), 1);
    assert!(String::from_utf8_lossy(&re[0].body).contains("a=sendonly"));
    assert!(h.ended.is_empty());
}

#[test]
fn dtmf_h323_user_input_to_sip_rfc4733() {
    let mut h = Harness::with(DTMF_CONFIG);
    // The far H.323 endpoint calls 9100 with fast start (PCMU, no telephone-event).
    let mut setup = h.sw_setup("9100");
    setup.media = Some(Media {
        rtp: Some("127.0.0.5:30000".parse().unwrap()),
        rtcp: None,
        codecs: vec![mapping::model::Codec {
            name: mapping::model::CodecName::Pcmu,
            clock_rate: 8000,
            channels: 1,
            payload_type: 0,
            fmtp: None,
        }],
        ptime: Some(20),
        direction: mapping::model::MediaDirection::SendRecv,
    });
    let opts = H323Options {
        fast_start: true,
        tunnelling: true,
        local: "127.0.0.5:1720".parse().unwrap(),
    };
    let leg = h
        .peer
        .outgoing(h.now, "127.0.0.1:1720".parse().unwrap(), &setup, opts);
    h.drain();
    let inv = h.requests(carrier().addr).first().cloned().expect("INVITE");
    assert_eq!(
        te_of(&sdp_of(&inv.body)),
        Some(101),
        "telephone-event offered toward the RFC 4733 trunk"
    );
    h.input(
        carrier(),
        &reply_to(
            &inv,
            200,
            "c",
            Some(&sdp_from("127.0.0.3", 50000, Some(101))),
        ),
    );
    assert!(
        h.peer_events
            .iter()
            .any(|e| matches!(e, CallEvent::Connect { .. })),
        "{:?}",
        h.peer_events
    );
    assert_eq!(policies(&h), [(Side::B, extract(101))]);
    // User input from H.323 becomes events toward the SIP callee...
    for d in "0123456789*#".chars() {
        h.peer.send(
            h.now,
            leg,
            CallEvent::Info(Info::Dtmf {
                digit: d,
                duration_ms: 0,
            }),
        );
        h.drain();
    }
    let digits: String = played(&h)
        .iter()
        .map(|(s, d, _)| {
            assert_eq!(*s, Side::B);
            *d
        })
        .collect();
    assert_eq!(digits, "0123456789*#");
    // ... and its events become user input toward H.323.
    h.sw.media_dtmf(h.now, h.wall, 1, Side::B, '4', 100);
    h.drain();
    assert_eq!(peer_dtmf(&h), ['4']);
}

#[test]
fn dtmf_sip_rfc4733_to_h323_rfc4733_is_regenerated() {
    // The H.323 leg negotiated no telephone-event (fast start has none): the gateway
    // takes the events out on both sides and plays them on the other, in PT 101 there.
    let mut h = Harness::with(DTMF_CONFIG);
    h.input(
        pbx(),
        &invite_from(
            "127.0.0.2",
            "6100",
            "r1",
            &sdp_from("127.0.0.2", 40000, Some(100)),
        ),
    );
    h323_answer(&mut h);
    assert_eq!(
        policies(&h),
        [(Side::A, extract(100)), (Side::B, extract(101))]
    );
    h.sw.media_dtmf(h.now, h.wall, 1, Side::A, '1', 100);
    h.sw.media_dtmf(h.now, h.wall, 1, Side::B, '2', 90);
    h.drain();
    assert_eq!(played(&h), [(Side::B, '1', 100), (Side::A, '2', 90)]);
    assert!(
        peer_dtmf(&h).is_empty(),
        "no user input toward an RFC 4733 trunk"
    );
}

/// RFC 3262 (100rel/PRACK), RFC 4028 (session timers) and re-INVITE glare (RFC 3261
/// §14.1) on both kinds of SIP leg.
mod sip_extensions {
    use super::*;
    use crate::sip::message::Method;

    /// An INVITE from the PBX with extra header lines (each ending in CRLF).
    fn invite_ext(called: &str, call_id: &str, extra: &str) -> String {
        invite(called, call_id).replacen(
            "Content-Type: application/sdp",
            &format!("{extra}Content-Type: application/sdp"),
            1,
        )
    }

    fn with_body(head: String, extra: &str, body: Option<&str>) -> String {
        match body {
            Some(b) => format!(
                "{head}{extra}Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{b}",
                b.len()
            ),
            None => format!("{head}{extra}Content-Length: 0\r\n\r\n"),
        }
    }

    /// An in-dialog request from the PBX (the caller of leg A).
    fn from_pbx(
        method: &str,
        call_id: &str,
        to_tag: &str,
        cseq: u32,
        extra: &str,
        body: Option<&str>,
    ) -> String {
        let head = format!(
            "{method} sip:gw@127.0.0.1:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-x{method}{cseq}\r\n\
             Max-Forwards: 70\r\n\
             From: \"Alice\" <sip:2000@127.0.0.2>;tag=a1\r\n\
             To: <sip:1000@127.0.0.1>;tag={to_tag}\r\n\
             Call-ID: {call_id}\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:2000@127.0.0.2:5060>\r\n"
        );
        with_body(head, extra, body)
    }

    /// An in-dialog request from the carrier (the callee of leg B) for our INVITE `inv`.
    fn from_carrier(method: &str, inv: &Request, cseq: u32, body: Option<&str>) -> String {
        let head = format!(
            "{method} sip:gw@127.0.0.1:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 127.0.0.3:5060;branch=z9hG4bK-c{method}{cseq}\r\n\
             Max-Forwards: 70\r\n\
             From: <sip:4000@127.0.0.3>;tag=c\r\n\
             To: {}\r\n\
             Call-ID: {}\r\n\
             CSeq: {cseq} {method}\r\n\
             Contact: <sip:carrier@127.0.0.3:5060>\r\n",
            inv.headers.get("From").unwrap(),
            inv.headers.call_id().unwrap()
        );
        with_body(head, "", body)
    }

    /// The carrier's response to our INVITE, with extra headers.
    fn reply_with(req: &Request, status: u16, sdp: Option<&str>, extra: &[(&str, &str)]) -> String {
        let mut r = Response::for_request(req, status, "").with_to_tag("c");
        r.headers.push("Contact", "<sip:carrier@127.0.0.3:5060>");
        for (n, v) in extra {
            r.headers.push(n, v);
        }
        if let Some(s) = sdp {
            r = r.with_body("application/sdp", s.as_bytes().to_vec());
        }
        String::from_utf8(SipMessage::Response(r).to_bytes()).unwrap()
    }

    /// A plain response to a request we sent.
    fn answer(req: &Request, status: u16, extra: &[(&str, &str)]) -> String {
        let mut r = Response::for_request(req, status, "");
        for (n, v) in extra {
            r.headers.push(n, v);
        }
        String::from_utf8(SipMessage::Response(r).to_bytes()).unwrap()
    }

    fn carrier_sdp() -> String {
        SDP.replace("127.0.0.2", "127.0.0.3")
            .replace("40000", "50000")
    }

    fn cseq(m: &SipMessage) -> (u32, Method) {
        let c = m.headers().cseq().unwrap().unwrap();
        (c.seq, c.method)
    }

    /// Responses to `to` for the dialog `call_id`.
    fn responses_of(h: &Harness, to: SocketAddr, call_id: &str) -> Vec<Response> {
        h.responses(to)
            .into_iter()
            .filter(|r| r.headers.call_id() == Some(call_id))
            .collect()
    }

    fn requests_of(h: &Harness, to: SocketAddr, method: Method) -> Vec<Request> {
        h.requests(to)
            .into_iter()
            .filter(|r| r.method == method)
            .collect()
    }

    /// Distinct CSeq numbers of the `method` requests sent to `to` (retransmissions
    /// counted once).
    fn seqs(h: &Harness, to: SocketAddr, method: Method) -> Vec<u32> {
        let mut seqs: Vec<u32> = requests_of(h, to, method)
            .iter()
            .map(|r| r.headers.cseq().unwrap().unwrap().seq)
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        seqs
    }

    /// Distinct CSeq numbers of our re-INVITEs to the carrier (after the INVITE's 1).
    fn reinvites(h: &Harness) -> Vec<u32> {
        let mut s = seqs(h, carrier().addr, Method::Invite);
        s.retain(|s| *s > 1);
        s
    }

    /// The caller ACKs the gateway's 2xx of `call_id`; returns the gateway's tag.
    fn ack_from_pbx(h: &mut Harness, call_id: &str) -> String {
        let ok = responses_of(h, pbx().addr, call_id)
            .into_iter()
            .rfind(|r| r.status.0 == 200)
            .expect("a 2xx to ACK");
        let tag = to_tag(&ok);
        h.input(pbx(), &from_pbx("ACK", call_id, &tag, 1, "", None));
        tag
    }

    #[test]
    fn reliable_provisional_is_retransmitted_until_its_prack() {
        let mut h = Harness::new();
        h.input(
            pbx(),
            &invite_ext("94000", "r1", "Supported: 100rel, timer\r\n"),
        );
        let inv = h.requests(carrier().addr)[0].clone();
        // Our own INVITE offers the extensions too.
        assert!(inv.headers.has_option_tag("Supported", "100rel"));
        assert!(inv.headers.has_option_tag("Supported", "timer"));
        assert_eq!(inv.headers.get("Session-Expires"), Some("1800"));
        assert_eq!(inv.headers.get("Min-SE"), Some("90"));

        h.input(carrier(), &reply_with(&inv, 180, None, &[]));
        let ringing = |h: &Harness| -> Vec<Response> {
            responses_of(h, pbx().addr, "r1")
                .into_iter()
                .filter(|r| r.status.0 == 180)
                .collect()
        };
        let first = ringing(&h)[0].clone();
        assert!(first.headers.has_option_tag("Require", "100rel"));
        let rseq = first.headers.rseq().unwrap().unwrap();
        assert!((1..=0x7FFF_FFFF).contains(&rseq));
        // T1 doubling up to T2: again at 0.5, 1.5, 3.5 and 7.5 s, same RSeq.
        h.advance(Duration::from_millis(7400));
        assert_eq!(ringing(&h).len(), 4);
        h.advance(Duration::from_millis(200));
        let again = ringing(&h);
        assert_eq!(again.len(), 5);
        assert!(
            again
                .iter()
                .all(|r| r.headers.rseq().unwrap() == Some(rseq))
        );

        let tag = to_tag(&first);
        let rack = |n: u32| format!("RAck: {n} 1 INVITE\r\n");
        h.input(
            pbx(),
            &from_pbx("PRACK", "r1", &tag, 2, &rack(rseq.wrapping_add(1)), None),
        );
        let last = h.responses(pbx().addr).pop().unwrap();
        assert_eq!(last.status.0, 481, "a PRACK for no provisional of ours");
        h.input(pbx(), &from_pbx("PRACK", "r1", &tag, 3, &rack(rseq), None));
        let last = h.responses(pbx().addr).pop().unwrap();
        assert_eq!(
            (last.status.0, cseq(&SipMessage::Response(last.clone()))),
            (200, (3, Method::Prack))
        );
        h.advance(Duration::from_secs(40));
        assert_eq!(ringing(&h).len(), 5, "no retransmission after the PRACK");
        assert!(h.ended.is_empty(), "the call goes on");
    }

    #[test]
    fn reliable_183_with_sdp_holds_the_next_provisional_and_the_2xx() {
        let mut h = Harness::new();
        h.input(pbx(), &invite_ext("94000", "r2", "Require: 100rel\r\n"));
        let inv = h.requests(carrier().addr)[0].clone();
        let sdp = carrier_sdp();
        h.input(carrier(), &reply_with(&inv, 183, Some(&sdp), &[]));
        h.input(carrier(), &reply_with(&inv, 180, None, &[]));
        h.input(carrier(), &reply_with(&inv, 200, Some(&sdp), &[]));
        // The 180 waits behind the unacknowledged 183, the 2xx too (its SDP answer
        // is the 183's, RFC 3262 §3).
        assert_eq!(h.statuses(pbx().addr), [100, 183]);
        let early = h.responses(pbx().addr)[1].clone();
        assert!(!early.body.is_empty());
        let rseq = early.headers.rseq().unwrap().unwrap();
        let tag = to_tag(&early);
        h.input(
            pbx(),
            &from_pbx(
                "PRACK",
                "r2",
                &tag,
                2,
                &format!("RAck: {rseq} 1 INVITE\r\n"),
                None,
            ),
        );
        assert_eq!(h.statuses(pbx().addr), [100, 183, 200, 200]);
        let ok = h.responses(pbx().addr).pop().unwrap();
        assert_eq!(cseq(&SipMessage::Response(ok.clone())), (1, Method::Invite));
        assert_eq!(ok.body, early.body, "the 2xx repeats the early answer");
        assert_eq!(
            ok.headers.get("Session-Expires"),
            Some("1800;refresher=uas")
        );
        assert!(ok.headers.has_option_tag("Supported", "100rel"));
    }

    #[test]
    fn offer_in_a_prack_is_answered_in_its_200() {
        let mut h = Harness::new();
        h.input(pbx(), &invite_ext("94000", "r5", "Require: 100rel\r\n"));
        let inv = h.requests(carrier().addr)[0].clone();
        h.input(carrier(), &reply_with(&inv, 183, Some(&carrier_sdp()), &[]));
        let early = h.responses(pbx().addr)[1].clone();
        let rseq = early.headers.rseq().unwrap().unwrap();
        // RFC 3262 §5 / RFC 6337 §3.1.3: the caller's PRACK makes a new offer (hold).
        let hold = SDP.replace("a=sendrecv", "a=sendonly");
        let hold = if hold.contains("a=sendonly") {
            hold
        } else {
            format!("{SDP}a=sendonly\r\n")
        };
        h.input(
            pbx(),
            &from_pbx(
                "PRACK",
                "r5",
                &to_tag(&early),
                2,
                &format!("RAck: {rseq} 1 INVITE\r\n"),
                Some(&hold),
            ),
        );
        let ok = h.responses(pbx().addr).pop().unwrap();
        assert_eq!(ok.status.0, 200);
        assert_eq!(cseq(&SipMessage::Response(ok.clone())), (2, Method::Prack));
        let answer = sdp_of(&ok.body);
        assert_eq!(answer.direction, mapping::model::MediaDirection::RecvOnly);
        // A PRACK with an undecodable body gets 488.
        h.input(carrier(), &reply_with(&inv, 180, None, &[]));
        let r180 = h.responses(pbx().addr).pop().unwrap();
        assert_eq!(r180.status.0, 180);
        let rseq = r180.headers.rseq().unwrap().unwrap();
        h.input(
            pbx(),
            &from_pbx(
                "PRACK",
                "r5",
                &to_tag(&early),
                3,
                &format!("RAck: {rseq} 1 INVITE\r\n"),
                Some("v=0\r\nnot sdp\r\n"),
            ),
        );
        assert_eq!(h.responses(pbx().addr).pop().unwrap().status.0, 488);
    }

    #[test]
    fn unacknowledged_reliable_provisional_fails_the_call_after_64_t1() {
        let mut h = Harness::new();
        h.input(pbx(), &invite_ext("94000", "r3", "Supported: 100rel\r\n"));
        let inv = h.requests(carrier().addr)[0].clone();
        h.input(carrier(), &reply_with(&inv, 180, None, &[]));
        h.advance(Duration::from_millis(31_900));
        assert!(h.ended.is_empty());
        h.advance(Duration::from_millis(200));
        let last = h.responses(pbx().addr).pop().unwrap();
        assert_eq!(last.status.0, 500);
        assert!(
            last.headers
                .get("Reason")
                .is_some_and(|r| r.contains("cause=102"))
        );
        assert_eq!(requests_of(&h, carrier().addr, Method::Cancel).len(), 1);
        assert_eq!(h.ended.len(), 1);
        assert_eq!(h.ended[0].cause.value, Q850Cause::RECOVERY_ON_TIMER_EXPIRY);
    }

    #[test]
    fn outgoing_leg_pracks_reliable_provisionals_in_order() {
        let mut h = Harness::new();
        h.input(pbx(), &invite("94000", "r4"));
        let inv = h.requests(carrier().addr)[0].clone();
        let rel = |status: u16, rseq: &str| {
            reply_with(&inv, status, None, &[("Require", "100rel"), ("RSeq", rseq)])
        };
        h.input(carrier(), &rel(180, "5"));
        let pracks = requests_of(&h, carrier().addr, Method::Prack);
        assert_eq!(pracks.len(), 1);
        assert_eq!(pracks[0].headers.get("RAck"), Some("5 1 INVITE"));
        assert_eq!(
            cseq(&SipMessage::Request(pracks[0].clone())),
            (2, Method::Prack)
        );
        assert_eq!(pracks[0].uri.to_string(), "sip:carrier@127.0.0.3:5060");
        assert_eq!(to_tag_of(&pracks[0]), "c");
        // The caller did not offer 100rel: its 180 is plain.
        assert_eq!(h.statuses(pbx().addr), [100, 180]);
        assert!(!h.responses(pbx().addr)[1].headers.contains("RSeq"));

        // A retransmission (same RSeq) and one out of order are dropped unPRACKed.
        h.input(carrier(), &rel(180, "5"));
        h.input(carrier(), &rel(183, "7"));
        assert_eq!(requests_of(&h, carrier().addr, Method::Prack).len(), 1);
        assert_eq!(h.statuses(pbx().addr), [100, 180]);
        // The next in sequence is PRACKed and passed on.
        h.input(carrier(), &rel(183, "6"));
        let pracks = requests_of(&h, carrier().addr, Method::Prack);
        assert_eq!(pracks.len(), 2);
        assert_eq!(pracks[1].headers.get("RAck"), Some("6 1 INVITE"));
        assert_eq!(
            cseq(&SipMessage::Request(pracks[1].clone())),
            (3, Method::Prack)
        );
        assert_eq!(h.statuses(pbx().addr), [100, 180, 183]);
    }

    #[test]
    fn reliable_provisional_without_contact_is_pracked_to_the_request_uri() {
        // linphone 5.1 with a bad contact setting sends its 180 without Contact.
        let mut h = Harness::new();
        h.input(pbx(), &invite("94000", "r5"));
        let inv = h.requests(carrier().addr)[0].clone();
        let mut r = Response::for_request(&inv, 180, "").with_to_tag("c");
        r.headers.push("Require", "100rel");
        r.headers.push("RSeq", "1");
        h.input(
            carrier(),
            &String::from_utf8(SipMessage::Response(r).to_bytes()).unwrap(),
        );
        let pracks = requests_of(&h, carrier().addr, Method::Prack);
        assert_eq!(pracks.len(), 1);
        assert_eq!(pracks[0].uri, inv.uri);
        assert_eq!(pracks[0].headers.get("RAck"), Some("1 1 INVITE"));
    }

    fn to_tag_of(r: &Request) -> String {
        r.headers.to().unwrap().unwrap().tag().unwrap().to_owned()
    }

    #[test]
    fn session_interval_below_our_minimum_is_422_and_known_extensions_pass() {
        let mut h = Harness::new();
        h.input(pbx(), &invite_ext("1000", "s1", "Session-Expires: 60\r\n"));
        let rs = responses_of(&h, pbx().addr, "s1");
        assert_eq!(
            rs.iter().map(|r| r.status.0).collect::<Vec<_>>(),
            [100, 422]
        );
        assert_eq!(rs[1].headers.get("Min-SE"), Some("90"));

        h.input(pbx(), &invite_ext("1000", "s2", "Require: foo, 100rel\r\n"));
        let last = responses_of(&h, pbx().addr, "s2").pop().unwrap();
        assert_eq!(last.status.0, 420);
        assert_eq!(last.headers.get("Unsupported"), Some("foo"));

        h.input(
            pbx(),
            &invite_ext(
                "1000",
                "s3",
                "Require: 100rel, timer\r\nSession-Expires: 90\r\n",
            ),
        );
        let rs = responses_of(&h, pbx().addr, "s3");
        assert_eq!(
            rs.iter().map(|r| r.status.0).collect::<Vec<_>>(),
            [100, 180]
        );
        assert!(rs[1].headers.contains("RSeq"));
        assert!(h.ended.is_empty(), "refused before any call was made");
    }

    #[test]
    fn configured_session_timer_intervals() {
        let cfg = CONFIG.replace(
            "metrics:",
            "sip: {session_timer: {interval_seconds: 600, min_se_seconds: 300}}\nmetrics:",
        );
        let mut h = Harness::with(&cfg);
        // Below the configured minimum: 422 naming it.
        h.input(pbx(), &invite_ext("1000", "c1", "Session-Expires: 200\r\n"));
        let rs = responses_of(&h, pbx().addr, "c1");
        assert_eq!(rs.last().map(|r| r.status.0), Some(422));
        assert_eq!(rs.last().unwrap().headers.get("Min-SE"), Some("300"));
        // No interval asked: ours.
        h.input(pbx(), &invite_ext("1000", "c2", ""));
        h.advance(Duration::from_millis(100));
        let ok = responses_of(&h, pbx().addr, "c2").pop().unwrap();
        assert_eq!(ok.status.0, 200);
        assert_eq!(ok.headers.get("Session-Expires"), Some("600;refresher=uas"));
        // Our own INVITEs ask for it.
        h.input(pbx(), &invite("9555", "c3"));
        let inv = requests_of(&h, carrier().addr, Method::Invite)
            .pop()
            .unwrap();
        assert_eq!(inv.headers.get("Session-Expires"), Some("600"));
        assert_eq!(inv.headers.get("Min-SE"), Some("300"));
    }

    #[test]
    fn incoming_leg_ends_the_call_when_the_caller_stops_refreshing() {
        let mut h = Harness::new();
        h.input(
            pbx(),
            &invite_ext("1000", "s4", "Supported: timer\r\nSession-Expires: 120\r\n"),
        );
        h.advance(Duration::from_millis(100));
        let ok = h.responses(pbx().addr).pop().unwrap();
        assert_eq!(ok.status.0, 200);
        assert_eq!(ok.headers.get("Session-Expires"), Some("120;refresher=uac"));
        assert!(ok.headers.has_option_tag("Require", "timer"));
        let tag = ack_from_pbx(&mut h, "s4");

        // The caller refreshes with an UPDATE at half time: answered, timer restarted.
        h.advance(Duration::from_secs(60));
        h.input(
            pbx(),
            &from_pbx(
                "UPDATE",
                "s4",
                &tag,
                2,
                "Session-Expires: 120;refresher=uac\r\nSupported: timer\r\n",
                None,
            ),
        );
        let up = h.responses(pbx().addr).pop().unwrap();
        assert_eq!(
            (up.status.0, up.headers.get("Session-Expires")),
            (200, Some("120;refresher=uac"))
        );
        assert!(up.body.is_empty());
        // Then nothing: BYE at 120 - min(32, 40) = 88 s after the refresh.
        h.advance(Duration::from_secs(87));
        assert!(requests_of(&h, pbx().addr, Method::Bye).is_empty());
        h.advance(Duration::from_secs(2));
        let byes = requests_of(&h, pbx().addr, Method::Bye);
        assert_eq!(seqs(&h, pbx().addr, Method::Bye).len(), 1);
        assert!(
            byes[0]
                .headers
                .get("Reason")
                .is_some_and(|r| r.contains("cause=102"))
        );
        assert_eq!(h.ended.len(), 1);
        assert_eq!(h.ended[0].cause.value, Q850Cause::RECOVERY_ON_TIMER_EXPIRY);
        h.input(pbx(), &answer(&byes[0], 200, &[]));
        h.advance(Duration::from_secs(64));
        assert_eq!(h.sw.sip().leg_count(), 0);
    }

    #[test]
    fn incoming_leg_refreshes_for_a_caller_without_timers() {
        let mut h = Harness::new();
        h.input(
            pbx(),
            &invite_ext("1000", "s5", "Allow: INVITE, ACK, BYE, CANCEL, UPDATE\r\n"),
        );
        h.advance(Duration::from_millis(100));
        let ok = h.responses(pbx().addr).pop().unwrap();
        assert_eq!(
            ok.headers.get("Session-Expires"),
            Some("1800;refresher=uas")
        );
        assert!(!ok.headers.contains("Require"));
        ack_from_pbx(&mut h, "s5");
        h.advance(Duration::from_secs(899));
        assert!(requests_of(&h, pbx().addr, Method::Update).is_empty());
        h.advance(Duration::from_secs(2));
        let ups = requests_of(&h, pbx().addr, Method::Update);
        assert_eq!(
            seqs(&h, pbx().addr, Method::Update).len(),
            1,
            "UPDATE at half the interval"
        );
        assert_eq!(
            ups[0].headers.get("Session-Expires"),
            Some("1800;refresher=uac")
        );
        assert!(ups[0].body.is_empty());
        // The caller knows nothing of timers: its 200 has no Session-Expires, and we
        // keep refreshing.
        h.input(pbx(), &answer(&ups[0], 200, &[]));
        h.advance(Duration::from_secs(899));
        assert_eq!(seqs(&h, pbx().addr, Method::Update).len(), 1);
        h.advance(Duration::from_secs(2));
        assert_eq!(seqs(&h, pbx().addr, Method::Update).len(), 2);
        assert!(h.ended.is_empty());
    }

    #[test]
    fn outgoing_leg_refreshes_with_a_reinvite_and_acks_it() {
        let mut h = Harness::new();
        h.input(pbx(), &invite("94000", "s6"));
        let inv = h.requests(carrier().addr)[0].clone();
        h.input(
            carrier(),
            &reply_with(
                &inv,
                200,
                Some(&carrier_sdp()),
                &[
                    ("Session-Expires", "1800;refresher=uac"),
                    ("Supported", "timer"),
                ],
            ),
        );
        let ok = h.responses(pbx().addr).pop().unwrap();
        assert_eq!(
            ok.headers.get("Session-Expires"),
            Some("1800;refresher=uas")
        );
        ack_from_pbx(&mut h, "s6");
        h.advance(Duration::from_secs(899));
        assert!(reinvites(&h).is_empty());
        h.advance(Duration::from_secs(2));
        assert_eq!(reinvites(&h), [2]);
        let re = requests_of(&h, carrier().addr, Method::Invite)
            .pop()
            .unwrap();
        assert_eq!(
            re.headers.get("Session-Expires"),
            Some("1800;refresher=uac")
        );
        assert_eq!(re.headers.get("Min-SE"), Some("90"));
        assert_eq!(
            re.body, inv.body,
            "a refresh re-offers the same description, same version"
        );
        assert_eq!(to_tag_of(&re), "c");
        h.input(
            carrier(),
            &reply_with(
                &re,
                200,
                Some(&carrier_sdp()),
                &[("Session-Expires", "1800;refresher=uac")],
            ),
        );
        let acks = requests_of(&h, carrier().addr, Method::Ack);
        let ack = acks.last().unwrap();
        assert_eq!(cseq(&SipMessage::Request(ack.clone())), (2, Method::Ack));
        assert!(h.ended.is_empty());
    }

    #[test]
    fn outgoing_leg_ends_the_call_when_the_callee_stops_refreshing() {
        let mut h = Harness::new();
        h.input(pbx(), &invite("94000", "s7"));
        let inv = h.requests(carrier().addr)[0].clone();
        h.input(
            carrier(),
            &reply_with(
                &inv,
                200,
                Some(&carrier_sdp()),
                &[
                    ("Session-Expires", "120;refresher=uas"),
                    ("Supported", "timer"),
                ],
            ),
        );
        ack_from_pbx(&mut h, "s7");
        h.advance(Duration::from_secs(87));
        assert!(requests_of(&h, carrier().addr, Method::Bye).is_empty());
        h.advance(Duration::from_secs(2));
        let byes = requests_of(&h, carrier().addr, Method::Bye);
        assert_eq!(seqs(&h, carrier().addr, Method::Bye).len(), 1);
        assert!(
            byes[0]
                .headers
                .get("Reason")
                .is_some_and(|r| r.contains("cause=102"))
        );
        assert_eq!(seqs(&h, pbx().addr, Method::Bye).len(), 1);
        assert_eq!(h.ended.len(), 1);
        assert_eq!(h.ended[0].cause.value, Q850Cause::RECOVERY_ON_TIMER_EXPIRY);
        assert_eq!(h.ended[0].initiator, Initiator::Gateway);
    }

    /// RFC 3264 §8.4 across the B2BUA: the caller's sendonly re-INVITE becomes our
    /// sendonly re-INVITE to the callee (the anchored relay stays), a refresh during
    /// the hold changes nothing, and sendrecv resumes both.
    #[test]
    fn hold_and_resume_cross_to_the_other_sip_leg() {
        let mut h = Harness::new();
        h.input(pbx(), &invite("94000", "h1"));
        let inv = h.requests(carrier().addr)[0].clone();
        h.input(carrier(), &reply_with(&inv, 200, Some(&carrier_sdp()), &[]));
        let tag = ack_from_pbx(&mut h, "h1");
        let held = format!("{SDP}a=sendonly\r\n");
        h.input(pbx(), &from_pbx("INVITE", "h1", &tag, 2, "", Some(&held)));
        let ok = responses_of(&h, pbx().addr, "h1").pop().unwrap();
        assert_eq!(ok.status.0, 200);
        let body = String::from_utf8(ok.body.clone()).unwrap();
        assert!(body.contains("a=recvonly"), "{body}");
        assert_eq!(reinvites(&h), [2], "the hold crosses to the callee");
        let re = requests_of(&h, carrier().addr, Method::Invite)
            .pop()
            .unwrap();
        let offer = String::from_utf8(re.body.clone()).unwrap();
        assert!(offer.contains("a=sendonly"), "{offer}");
        assert_ne!(re.body, inv.body, "a new version of our description");
        let answer = carrier_sdp() + "a=recvonly\r\n";
        h.input(carrier(), &reply_with(&re, 200, Some(&answer), &[]));
        assert_eq!(
            requests_of(&h, carrier().addr, Method::Ack).len(),
            2,
            "the INVITE's 2xx and the re-INVITE's 2xx are ACKed"
        );
        // A refresh while held: still held, nothing new toward the callee.
        h.input(pbx(), &from_pbx("INVITE", "h1", &tag, 3, "", Some(&held)));
        assert_eq!(reinvites(&h), [2]);
        // Resume.
        h.input(pbx(), &from_pbx("INVITE", "h1", &tag, 4, "", Some(SDP)));
        let ok = responses_of(&h, pbx().addr, "h1").pop().unwrap();
        let body = String::from_utf8(ok.body.clone()).unwrap();
        assert!(!body.contains("only"), "sendrecv again: {body}");
        assert_eq!(reinvites(&h), [2, 3]);
        let re = requests_of(&h, carrier().addr, Method::Invite)
            .pop()
            .unwrap();
        let offer = String::from_utf8(re.body.clone()).unwrap();
        assert!(!offer.contains("a=sendonly"), "{offer}");
        // The callee holds: the caller is re-INVITEd sendonly.
        h.input(carrier(), &reply_with(&re, 200, Some(&carrier_sdp()), &[]));
        let callee_hold = carrier_sdp() + "a=inactive\r\n";
        h.input(
            carrier(),
            &from_carrier("INVITE", &inv, 1, Some(&callee_hold)),
        );
        let to_pbx = requests_of(&h, pbx().addr, Method::Invite);
        assert_eq!(to_pbx.len(), 1, "{to_pbx:?}");
        let offer = String::from_utf8(to_pbx[0].body.clone()).unwrap();
        assert!(offer.contains("a=sendonly"), "{offer}");
        assert!(h.ended.is_empty());
    }

    #[test]
    fn crossing_reinvites_get_491_and_ours_is_retried_after_2_1_to_4_s() {
        let mut h = Harness::new();
        h.input(pbx(), &invite("94000", "g1"));
        let inv = h.requests(carrier().addr)[0].clone();
        h.input(
            carrier(),
            &reply_with(
                &inv,
                200,
                Some(&carrier_sdp()),
                &[
                    ("Session-Expires", "180;refresher=uac"),
                    ("Supported", "timer"),
                ],
            ),
        );
        ack_from_pbx(&mut h, "g1");
        h.advance(Duration::from_secs(90));
        assert_eq!(reinvites(&h), [2]);
        let ours = requests_of(&h, carrier().addr, Method::Invite)
            .pop()
            .unwrap();
        // The callee's own re-INVITE crosses ours: 491 (§14.2).
        h.input(
            carrier(),
            &from_carrier("INVITE", &inv, 1, Some(&carrier_sdp())),
        );
        let last = h.responses(carrier().addr).pop().unwrap();
        assert_eq!(
            (last.status.0, cseq(&SipMessage::Response(last.clone()))),
            (491, (1, Method::Invite))
        );
        // Ours gets 491 too: we own the Call-ID, so we retry after 2.1-4 s.
        h.input(carrier(), &reply_with(&ours, 491, None, &[]));
        h.advance(Duration::from_millis(2090));
        assert_eq!(reinvites(&h), [2]);
        h.advance(Duration::from_millis(1920));
        assert_eq!(reinvites(&h), [2, 3]);
        let retry = requests_of(&h, carrier().addr, Method::Invite)
            .pop()
            .unwrap();
        assert_eq!(
            retry.headers.get("Session-Expires"),
            Some("180;refresher=uac")
        );
        assert!(h.ended.is_empty());
    }

    #[test]
    fn glare_retry_is_within_2_s_when_the_peer_owns_the_call_id() {
        let mut h = Harness::new();
        h.input(pbx(), &invite("1000", "g2"));
        h.advance(Duration::from_millis(100));
        ack_from_pbx(&mut h, "g2");
        h.advance(Duration::from_secs(901));
        // No UPDATE in the caller's Allow: a re-INVITE with our description.
        assert_eq!(seqs(&h, pbx().addr, Method::Invite), [1]);
        let ours = requests_of(&h, pbx().addr, Method::Invite).pop().unwrap();
        assert!(!ours.body.is_empty());
        h.input(pbx(), &answer(&ours, 491, &[]));
        h.advance(Duration::from_millis(2010));
        assert_eq!(seqs(&h, pbx().addr, Method::Invite), [1, 2]);
    }
}

/// RFC 5806 Diversion <-> Q.931 Redirecting number, both ways through the H.323 leg.
#[test]
fn diversion_and_redirecting_number_cross_between_sip_and_h323() {
    use mapping::model::RedirectionReason;
    let mut h = Harness::with(DTMF_CONFIG);
    let invite = invite_from(
        "127.0.0.2",
        "8100",
        "dv1",
        &sdp_from("127.0.0.2", 40000, None),
    )
    .replacen(
        "Content-Type",
        "Diversion: <sip:4711@127.0.0.2;user=phone>;reason=no-answer;counter=1\r\nContent-Type",
        1,
    );
    h.input(pbx(), &invite);
    let setup = &h.peer_incoming.first().expect("an H.323 Setup").1;
    assert_eq!(setup.redirection.len(), 1, "{setup:?}");
    assert_eq!(setup.redirection[0].from.digits.as_str(), "4711");
    assert_eq!(setup.redirection[0].reason, RedirectionReason::NO_REPLY);

    // An H.323 Setup with a restricted Redirecting number, to a SIP trunk.
    let mut setup = h.sw_setup("9100");
    let mut from = h.sw_setup("5150").called;
    from.presentation = Some(mapping::number::Presentation::RESTRICTED);
    setup.redirection = vec![mapping::model::Redirection {
        from,
        reason: RedirectionReason::BUSY,
        count: Some(2),
    }];
    let opts = H323Options {
        fast_start: false,
        tunnelling: true,
        local: "127.0.0.5:1720".parse().unwrap(),
    };
    h.peer
        .outgoing(h.now, "127.0.0.1:1720".parse().unwrap(), &setup, opts);
    h.drain();
    let inv = h.requests(carrier().addr).first().cloned().expect("INVITE");
    let d = inv.headers.get("Diversion").expect("a Diversion header");
    assert!(d.starts_with("<sip:5150@"), "{d}");
    // Q.931's Redirecting number carries no count: one diversion is all H.323 tells.
    assert!(
        d.ends_with(";reason=user-busy;counter=1;privacy=full"),
        "{d}"
    );
}

/// A delayed offer (INVITE without SDP) to the built-in tone endpoint: the 200 carries
/// the endpoint's offer, the ACK's answer starts the tone with the codec chosen there.
#[test]
fn delayed_offer_reaches_the_tone_endpoint() {
    let mut h = Harness::new();
    let no_sdp = invite("1000", "do1");
    let head = no_sdp.split("Content-Type").next().unwrap();
    h.input(pbx(), &format!("{head}Content-Length: 0\r\n\r\n"));
    h.advance(Duration::from_millis(200));
    let ok = h.responses(pbx().addr).pop().expect("a response");
    assert_eq!(ok.status.0, 200);
    let offer = sdp_of(&ok.body);
    assert!(offer.codecs.len() >= 2, "our codecs offered: {offer:?}");
    assert!(
        !h.media
            .iter()
            .any(|m| matches!(m, MediaCommand::Start { .. })),
        "no media before the answer"
    );
    // The ACK answers PCMA.
    let answer = "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n\
                  m=audio 42000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n";
    let ack = in_dialog("ACK", "do1", &to_tag(&ok), 1).replace(
        "Content-Length: 0\r\n\r\n",
        &format!(
            "Content-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{answer}",
            answer.len()
        ),
    );
    h.input(pbx(), &ack);
    let start = h
        .media
        .iter()
        .find_map(|m| match m {
            MediaCommand::Start { a_peer, mode, .. } => Some((a_peer.rtp, *mode)),
            _ => None,
        })
        .expect("the tone starts with the answer");
    assert_eq!(start.0, Some("127.0.0.2:42000".parse().unwrap()));
    assert!(
        matches!(
            start.1,
            MediaMode::Tone {
                payload_type: 8,
                ..
            }
        ),
        "{:?}",
        start.1
    );
}

/// An H.323 caller with slow start (no fast start, H.245 after Connect) reaches the tone
/// endpoint: Connect, then logical channels both ways, then the tone.
#[test]
fn h323_slow_start_caller_reaches_the_tone_endpoint() {
    let mut h = Harness::with(DTMF_CONFIG);
    let setup = h.sw_setup("1000");
    let opts = H323Options {
        fast_start: false,
        tunnelling: true,
        local: "127.0.0.5:1720".parse().unwrap(),
    };
    let leg = h
        .peer
        .outgoing(h.now, "127.0.0.1:1720".parse().unwrap(), &setup, opts);
    h.drain();
    h.advance(Duration::from_millis(10));
    assert!(
        h.peer_events
            .iter()
            .any(|e| matches!(e, CallEvent::Connect { .. })),
        "answered: {:?}",
        h.peer_events
    );
    // The far endpoint's media address for its slow-start channel.
    h.peer.send(
        h.now,
        leg,
        CallEvent::Media(MediaExchange::Answer(Media {
            rtp: Some("127.0.0.5:30000".parse().unwrap()),
            rtcp: None,
            codecs: vec![mapping::model::Codec {
                name: mapping::model::CodecName::Pcmu,
                clock_rate: 8000,
                channels: 1,
                payload_type: 0,
                fmtp: None,
            }],
            ptime: Some(20),
            direction: mapping::model::MediaDirection::SendRecv,
        })),
    );
    h.drain();
    h.advance(Duration::from_millis(10));
    assert!(
        h.media.iter().any(|m| matches!(
            m,
            MediaCommand::Start {
                mode: MediaMode::Tone { .. },
                ..
            }
        )),
        "the tone starts once H.245 opened the channels: {:?}",
        h.media
    );
    assert!(h.ended.is_empty(), "{:?}", h.ended);
}

/// The H.245 UserInputIndications in what the switch sent the far H.323 endpoint.
fn user_inputs(h: &Harness) -> Vec<h323_asn1::h245::UserInputIndication> {
    use h323_asn1::h245::{IndicationMessage, MultimediaSystemControlMessage};
    let mut out = Vec::new();
    for frame in &h.h225_to_peer {
        let Ok(m) = mapping::q931::Message::decode(frame, mapping::q931::Dialect::H225) else {
            continue;
        };
        let Ok(uu) = crate::h323::uuie::decode(&m) else {
            continue;
        };
        for pdu in uu.h323_uu_pdu.h245_control.iter().flatten() {
            if let Ok(MultimediaSystemControlMessage::indication(IndicationMessage::userInput(u))) =
                h323_asn1::h245::decode(pdu)
            {
                out.push(u);
            }
        }
    }
    out
}

/// Q.931 INFORMATION messages the switch sent the far endpoint.
fn informations(h: &Harness) -> usize {
    h.h225_to_peer
        .iter()
        .filter_map(|f| mapping::q931::Message::decode(f, mapping::q931::Dialect::H225).ok())
        .filter(|m| m.msg_type == mapping::q931::MessageType::INFORMATION)
        .count()
}

/// The trunk's `dtmf` picks the form digits take toward H.323: UserInputIndication
/// `signal` with the duration, or Q.931 keypad INFORMATION.
#[test]
fn dtmf_toward_h323_in_the_trunks_form() {
    use h323_asn1::h245::UserInputIndication;
    for (called, keypad) in [("4100", false), ("4200", true)] {
        let mut h = Harness::with(DTMF_CONFIG);
        h.input(
            pbx(),
            &invite_from(
                "127.0.0.2",
                called,
                "df",
                &sdp_from("127.0.0.2", 40000, Some(101)),
            ),
        );
        h323_answer(&mut h);
        h.drain();
        let before = informations(&h);
        for d in ['5', '#'] {
            h.sw.media_dtmf(h.now, h.wall, 1, Side::A, d, 160);
            h.drain();
        }
        assert_eq!(peer_dtmf(&h), ['5', '#'], "{called}");
        let uiis = user_inputs(&h);
        if keypad {
            assert_eq!(informations(&h) - before, 2, "keypad INFORMATION per digit");
            assert!(uiis.is_empty(), "{uiis:?}");
        } else {
            assert_eq!(uiis.len(), 2, "{uiis:?}");
            for u in &uiis {
                let UserInputIndication::signal(sig) = u else {
                    panic!("signal form: {u:?}");
                };
                assert_eq!(sig.duration, Some(160));
            }
        }
    }
}

fn radius_config() -> String {
    format!(
        "{CONFIG}radius:\n  servers: [{{ address: 127.0.0.1, secret: s, auth_port: 1812 }}]\n  \
         authenticate: [pbx]\n  reject_cause: 57\n  spool_directory: /nonexistent\n"
    )
}

#[test]
fn radius_reject_ends_the_call_with_the_configured_cause_before_routing() {
    let mut h = Harness::with(&radius_config());
    h.input(pbx(), &invite("1000", "r1"));
    assert_eq!(h.statuses(pbx().addr), [100], "waits for RADIUS, unrouted");
    let q = h.authorize.pop().expect("asked");
    assert_eq!(q.called, "1000");
    assert_eq!(q.calling, "2000");
    assert_eq!(q.source, Some("127.0.0.2".parse().unwrap()));
    h.sw.authorized(h.now, h.wall, q.call, AuthAnswer::Reject);
    h.drain();
    assert_eq!(h.statuses(pbx().addr), [100, 403]);
    assert_eq!(h.ended[0].cause.value, Q850Cause(57));
    assert_eq!(h.ended[0].egress_trunk, None);
    assert!(h.points.is_empty(), "no accounting for a call never routed");
}

#[test]
fn radius_credit_limits_the_answered_call_with_cause_102() {
    let mut h = Harness::with(&radius_config());
    h.input(pbx(), &invite("1000", "r2"));
    let q = h.authorize.pop().expect("asked");
    h.sw.authorized(
        h.now,
        h.wall,
        q.call,
        AuthAnswer::Accept {
            limit: Some(Duration::from_secs(30)),
        },
    );
    h.drain();
    h.advance(Duration::from_millis(100));
    assert_eq!(h.statuses(pbx().addr), [100, 180, 200]);
    assert!(
        matches!(h.points[..], [CallPoint::Attempt(_), CallPoint::Answer(ref r)] if r.answer.is_some())
    );
    h.advance(Duration::from_secs(29));
    assert!(h.ended.is_empty());
    h.advance(Duration::from_secs(1));
    assert_eq!(h.ended[0].cause.value, Q850Cause::RECOVERY_ON_TIMER_EXPIRY);
    assert_eq!(h.ended[0].initiator, Initiator::Gateway);
    assert_eq!(
        h.requests(pbx().addr)
            .last()
            .map(|r| r.method.as_str().to_owned()),
        Some("BYE".into())
    );
}

#[test]
fn radius_unavailable_is_a_temporary_failure_and_other_trunks_are_not_asked() {
    let mut h = Harness::with(&radius_config());
    h.input(pbx(), &invite("1000", "r3"));
    let q = h.authorize.pop().expect("asked");
    h.sw.authorized(h.now, h.wall, q.call, AuthAnswer::Unavailable);
    h.drain();
    assert_eq!(h.statuses(pbx().addr), [100, 503]);
    assert_eq!(h.ended[0].cause.value, Q850Cause::TEMPORARY_FAILURE);
    // A RADIUS task that never answers: released after general.no_answer_seconds.
    h.input(pbx(), &invite("1000", "r5"));
    assert_eq!(h.authorize.len(), 1);
    h.advance(Duration::from_secs(119));
    assert_eq!(h.ended.len(), 1);
    h.advance(Duration::from_secs(1));
    assert_eq!(h.ended[1].cause.value, Q850Cause::TEMPORARY_FAILURE);
    h.authorize.clear();
    // A call from the carrier (not in `authenticate`) is routed at once.
    h.input(
        carrier(),
        &invite("1000", "r4").replace("127.0.0.2", "127.0.0.3"),
    );
    assert!(h.authorize.is_empty());
    assert!(h.statuses(carrier().addr).contains(&180));
}
