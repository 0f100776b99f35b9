//! The call core on simulated time: SIP bytes in, SIP bytes, media commands and call
//! records out.

use super::media_plan::CountingPorts;
use super::*;
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
}

fn pbx() -> Peer {
    Peer::udp("127.0.0.2:5060".parse().unwrap())
}

fn carrier() -> Peer {
    Peer::udp("127.0.0.3:5060".parse().unwrap())
}

impl Harness {
    fn new() -> Harness {
        let cfg = Arc::new(Config::parse("t.yaml", CONFIG).expect("valid test config"));
        let sip = SipService::new(&cfg, 7, [1; 32]);
        let ports = CountingPorts::new("127.0.0.1:10000".parse().unwrap());
        Harness {
            sw: Switch::new(cfg, sip, Box::new(ports), 3),
            now: Instant::now(),
            wall: SystemTime::now(),
            sent: Vec::new(),
            media: Vec::new(),
            ended: Vec::new(),
        }
    }

    fn drain(&mut self) {
        while let Some(o) = self.sw.poll_output() {
            match o {
                SwitchOutput::Sip(ServiceOutput::Endpoint(
                    crate::sip::endpoint::Output::Transmit { peer, bytes, .. },
                )) => self.sent.push((
                    peer.addr,
                    SipMessage::parse(&bytes).expect("we send valid SIP"),
                )),
                SwitchOutput::Media(m) => self.media.push(m),
                SwitchOutput::Ended { record, .. } => self.ended.push(*record),
                _ => {}
            }
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
