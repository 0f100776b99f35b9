//! The endpoint on simulated time: bytes in, bytes and events out.

use super::*;
use crate::sip::message::{Request, SipMessage, Uri};
use std::time::Duration;

fn cfg() -> EndpointConfig {
    EndpointConfig {
        timers: TimerConfig::default(),
        limits: Limits::default(),
        sent_by: HashMap::from([(Transport::Udp, "127.0.0.1:5060".parse().expect("addr"))]),
        user_agent: "test-gw".into(),
    }
}

fn phone() -> Peer {
    Peer::udp("127.0.0.1:5062".parse().expect("addr"))
}

fn request(method: &str, branch: &str, cseq: u32, to_tag: Option<&str>) -> Vec<u8> {
    let to = match to_tag {
        Some(t) => format!("<sip:1000@127.0.0.1>;tag={t}"),
        None => "<sip:1000@127.0.0.1>".to_owned(),
    };
    format!(
        "{method} sip:1000@127.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5062;branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:2000@127.0.0.1>;tag=abc\r\n\
         To: {to}\r\n\
         Call-ID: call-1@127.0.0.1\r\n\
         CSeq: {cseq} {method}\r\n\
         Contact: <sip:2000@127.0.0.1:5062>\r\n\
         Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// Everything queued, split into sent messages and events.
fn drain(ep: &mut Endpoint) -> (Vec<(Peer, SipMessage)>, Vec<Event>) {
    let (mut sent, mut events) = (Vec::new(), Vec::new());
    while let Some(o) = ep.poll_output() {
        match o {
            Output::Transmit { peer, bytes, .. } => {
                sent.push((peer, SipMessage::parse(&bytes).expect("we send valid SIP")))
            }
            Output::Event(e) => events.push(e),
            Output::Received { .. } | Output::DecodeError { .. } | Output::Retransmitted { .. } => {
            }
        }
    }
    (sent, events)
}

fn status(m: &SipMessage) -> u16 {
    m.as_response().expect("a response").status.0
}

fn server_tx(events: &[Event]) -> ServerTxId {
    events
        .iter()
        .find_map(|e| match e {
            Event::Request { tx, .. } => Some(*tx),
            _ => None,
        })
        .expect("a request event")
}

fn answer(ep: &mut Endpoint, now: Instant, tx: ServerTxId, req: &Request, code: u16) {
    let r = Response::for_request(req, code, "").with_to_tag("gwtag");
    ep.send_response(now, tx, r);
}

fn the_request(events: &[Event]) -> Request {
    events
        .iter()
        .find_map(|e| match e {
            Event::Request { request, .. } => Some(request.clone()),
            _ => None,
        })
        .expect("a request event")
}

#[test]
fn invite_gets_trying_then_final_is_retransmitted_until_ack() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(cfg(), 7);
    ep.handle_input(t0, phone(), &request("INVITE", "z9hG4bKa1", 1, None));
    let (sent, events) = drain(&mut ep);
    assert_eq!(sent.len(), 1);
    assert_eq!(status(&sent[0].1), 100, "100 Trying at once (§17.2.1)");
    let req = the_request(&events);
    // §18.2.1 / RFC 3581: rport filled in with the source port.
    let via = req.headers.top_via().expect("via").expect("via");
    assert_eq!(via.rport(), Some(Some(5062)));
    let tx = server_tx(&events);

    answer(&mut ep, t0, tx, &req, 486);
    let (sent, _) = drain(&mut ep);
    assert_eq!(status(&sent[0].1), 486);
    assert_eq!(sent[0].0.addr, phone().addr, "to received/rport");
    // A retransmitted INVITE gets the 486 again.
    ep.handle_input(t0, phone(), &request("INVITE", "z9hG4bKa1", 1, None));
    let (sent, events) = drain(&mut ep);
    assert_eq!((sent.len(), events.len()), (1, 0));
    assert_eq!(status(&sent[0].1), 486);
    // Timer G retransmits until the ACK, which the transaction absorbs.
    ep.handle_timeout(t0 + Duration::from_millis(500));
    let (sent, _) = drain(&mut ep);
    assert_eq!(sent.len(), 1);
    ep.handle_input(t0, phone(), &request("ACK", "z9hG4bKa1", 1, Some("gwtag")));
    let (sent, events) = drain(&mut ep);
    assert!(sent.is_empty() && events.is_empty(), "{events:?}");
    // Timer I then ends the transaction.
    ep.handle_timeout(t0 + Duration::from_secs(10));
    assert_eq!(ep.transaction_count(), (0, 0));
}

#[test]
fn cancel_is_answered_and_reported() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(cfg(), 7);
    ep.handle_input(t0, phone(), &request("INVITE", "z9hG4bKc1", 1, None));
    let (_, events) = drain(&mut ep);
    let (tx, req) = (server_tx(&events), the_request(&events));
    ep.handle_input(t0, phone(), &request("CANCEL", "z9hG4bKc1", 1, None));
    let (sent, events) = drain(&mut ep);
    assert_eq!(status(&sent[0].1), 200, "CANCEL answered 200 (§9.2)");
    assert_eq!(events, [Event::Cancelled { tx }]);
    answer(&mut ep, t0, tx, &req, 487);
    let (sent, _) = drain(&mut ep);
    assert_eq!(status(&sent[0].1), 487);
    // A CANCEL for nothing gets 481.
    ep.handle_input(t0, phone(), &request("CANCEL", "z9hG4bKnone", 9, None));
    let (sent, events) = drain(&mut ep);
    assert_eq!(status(&sent[0].1), 481);
    assert!(events.is_empty());
}

#[test]
fn merged_request_gets_482() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(cfg(), 7);
    ep.handle_input(t0, phone(), &request("INVITE", "z9hG4bKm1", 1, None));
    drain(&mut ep);
    // Same From tag, Call-ID and CSeq, another branch: arrived by a second path.
    ep.handle_input(t0, phone(), &request("INVITE", "z9hG4bKm2", 1, None));
    let (sent, events) = drain(&mut ep);
    assert_eq!(status(&sent[0].1), 482);
    assert!(events.is_empty());
}

#[test]
fn ack_of_a_2xx_goes_to_the_tu() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(cfg(), 7);
    ep.handle_input(t0, phone(), &request("INVITE", "z9hG4bKo1", 1, None));
    let (_, events) = drain(&mut ep);
    let (tx, req) = (server_tx(&events), the_request(&events));
    answer(&mut ep, t0, tx, &req, 200);
    drain(&mut ep);
    // The ACK of a 2xx is its own transaction (new branch, §17.1.1.3).
    ep.handle_input(t0, phone(), &request("ACK", "z9hG4bKo2", 1, Some("gwtag")));
    let (_, events) = drain(&mut ep);
    assert!(
        matches!(events.as_slice(), [Event::Ack { .. }]),
        "{events:?}"
    );
}

#[test]
fn unparseable_requests_get_400_and_garbage_is_dropped() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(cfg(), 7);
    let bad = String::from_utf8(request("INVITE", "z9hG4bKb1", 1, None))
        .expect("ascii")
        .replace("CSeq: 1 INVITE", "CSeq: x INVITE");
    ep.handle_input(t0, phone(), bad.as_bytes());
    let (sent, events) = drain(&mut ep);
    assert!(events.is_empty());
    assert_eq!(sent.len(), 1, "a readable request gets an answer");
    assert_eq!(status(&sent[0].1) / 100, 4);
    ep.handle_input(t0, phone(), b"\x16\x03\x01 not sip at all");
    let (sent, events) = drain(&mut ep);
    assert!(sent.is_empty() && events.is_empty());
}

fn outgoing_invite() -> Request {
    let uri = Uri::parse("sip:1000@127.0.0.1:5062").expect("uri");
    Request::new(Method::Invite, uri)
        .with_header("Max-Forwards", "70")
        .with_header("From", "<sip:gw@127.0.0.1>;tag=gwfrom")
        .with_header("To", "<sip:1000@127.0.0.1>")
        .with_header("Call-ID", "out-1")
        .with_header("CSeq", "1 INVITE")
        .with_header("Contact", "<sip:gw@127.0.0.1:5060>")
        .with_header("Content-Length", "0")
}

/// A response to what the endpoint sent, as the phone would build it.
fn reply(sent: &SipMessage, code: u16) -> Vec<u8> {
    let req = sent.as_request().expect("a request");
    SipMessage::Response(Response::for_request(req, code, "").with_to_tag("ph")).to_bytes()
}

#[test]
fn uac_invite_provisional_then_ok_and_late_cancel() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(cfg(), 7);
    let tx = ep.send_request(t0, outgoing_invite(), phone());
    let (sent, _) = drain(&mut ep);
    let invite = sent[0].1.clone();
    let via = invite.headers().top_via().expect("via").expect("via");
    assert!(via.is_rfc3261_branch());
    assert_eq!(via.rport(), Some(None));
    // CANCEL before a provisional waits (§9.1) ...
    ep.cancel(t0, tx);
    assert!(drain(&mut ep).0.is_empty());
    ep.handle_input(t0, phone(), &reply(&invite, 180));
    let (sent, events) = drain(&mut ep);
    assert!(matches!(events.as_slice(), [Event::Response { tx: t, .. }] if *t == tx));
    // ... and goes out with the INVITE's branch once the 180 came.
    let cancel = &sent[0].1;
    assert_eq!(cancel.as_request().expect("request").method, Method::Cancel);
    assert_eq!(
        cancel
            .headers()
            .top_via()
            .expect("via")
            .expect("via")
            .branch(),
        via.branch()
    );
}

#[test]
fn uac_non_invite_times_out_with_timer_f() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(cfg(), 7);
    let mut options = outgoing_invite();
    options.method = Method::Options;
    options.headers.replace("CSeq", "1 OPTIONS");
    let tx = ep.send_request(t0, options, phone());
    let mut retransmissions = 0usize;
    let mut failed = None;
    while let Some(t) = ep.poll_timeout() {
        ep.handle_timeout(t);
        let (sent, events) = drain(&mut ep);
        retransmissions += sent.len();
        for e in events {
            if let Event::ClientFailed { tx: id, timer } = e {
                failed = Some((id, timer, t - t0));
            }
        }
    }
    // The first send and 10 retransmissions (E: 0.5, 1, 2, 4, 4 ... s) before F at 32 s.
    assert_eq!(retransmissions, 11);
    assert_eq!(failed, Some((tx, Some(Timer::F), Duration::from_secs(32))));
    assert_eq!(ep.transaction_count(), (0, 0));
}

#[test]
fn stray_2xx_is_reported_for_re_ack() {
    let t0 = Instant::now();
    let mut ep = Endpoint::new(cfg(), 7);
    ep.send_request(t0, outgoing_invite(), phone());
    let (sent, _) = drain(&mut ep);
    let invite = sent[0].1.clone();
    ep.handle_input(t0, phone(), &reply(&invite, 200));
    let (_, events) = drain(&mut ep);
    assert!(matches!(events.as_slice(), [Event::Response { .. }]));
    // Timer M ends the transaction; a later 2xx retransmission is stray.
    ep.handle_timeout(t0 + Duration::from_secs(40));
    ep.handle_input(t0, phone(), &reply(&invite, 200));
    let (_, events) = drain(&mut ep);
    assert!(
        matches!(events.as_slice(), [Event::Stray2xx { .. }]),
        "{events:?}"
    );
}
