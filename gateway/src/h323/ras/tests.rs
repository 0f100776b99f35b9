//! The RAS endpoint against a scripted gatekeeper built from the same ASN.1 types, on
//! simulated time.

use super::*;
use h323_asn1::h225::{
    AdmissionConfirm, AdmissionReject, GatekeeperConfirm, InfoRequest, RegistrationReject,
    endpoint_identifier, gatekeeper_identifier, registration_confirm,
};

fn gk() -> SocketAddr {
    "192.0.2.100:1719".parse().expect("addr")
}

fn gk_ras() -> SocketAddr {
    "192.0.2.100:1819".parse().expect("addr")
}

fn cfg() -> RasConfig {
    RasConfig {
        gatekeeper: gk(),
        gatekeeper_id: None,
        h323_ids: vec!["gw1".into()],
        e164: vec!["4930".into()],
        time_to_live: 60,
        ras_address: "192.0.2.1:40000".parse().expect("addr"),
        call_signal: "192.0.2.1:1720".parse().expect("addr"),
    }
}

/// The datagrams sent, decoded: (to, message, retransmission).
fn sent(ep: &mut RasEndpoint) -> (Vec<(SocketAddr, RasMessage, bool)>, Vec<RasOutput>) {
    let mut msgs = Vec::new();
    let mut other = Vec::new();
    while let Some(o) = ep.poll_output() {
        match o {
            RasOutput::Transmit {
                to,
                bytes,
                label: l,
                retransmission,
            } => {
                let m = h225::decode_ras(&bytes).expect("our RAS decodes");
                assert_eq!(label(&m), l);
                assert_eq!(h225::encode_ras(&m).expect("encodes"), bytes, "canonical");
                msgs.push((to, m, retransmission));
            }
            o => other.push(o),
        }
    }
    (msgs, other)
}

fn seq_of(m: &RasMessage) -> u16 {
    match m {
        RasMessage::gatekeeperRequest(m) => m.request_seq_num.0,
        RasMessage::registrationRequest(m) => m.request_seq_num.0,
        RasMessage::unregistrationRequest(m) => m.request_seq_num.0,
        RasMessage::admissionRequest(m) => m.request_seq_num.0,
        RasMessage::bandwidthRequest(m) => m.request_seq_num.0,
        RasMessage::disengageRequest(m) => m.request_seq_num.0,
        RasMessage::infoRequestResponse(m) => m.request_seq_num.0,
        _ => panic!("not a request: {m:?}"),
    }
}

fn enc(m: &RasMessage) -> Vec<u8> {
    h225::encode_ras(m).expect("encodes")
}

fn gcf(seq: u16) -> RasMessage {
    RasMessage::gatekeeperConfirm(GatekeeperConfirm::new(
        RequestSeqNum(seq),
        protocol_identifier_v7(),
        None,
        Some(gatekeeper_identifier("GK-TEST").expect("bmp")),
        h225_address(gk_ras()),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ))
}

fn rcf(seq: u16, ttl: Option<u32>) -> RasMessage {
    let mut m = registration_confirm(
        seq,
        vec![h225_address(cfg().call_signal)],
        endpoint_identifier("EP-1").expect("bmp"),
    );
    if let RasMessage::registrationConfirm(r) = &mut m {
        r.time_to_live = ttl.map(TimeToLive);
    }
    m
}

fn acf(seq: u16, dest: SocketAddr, routed: bool) -> RasMessage {
    RasMessage::admissionConfirm(AdmissionConfirm::new(
        RequestSeqNum(seq),
        BandWidth(1280),
        if routed {
            CallModel::gatekeeperRouted(())
        } else {
            CallModel::direct(())
        },
        h225_address(dest),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        Some(false),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ))
}

fn arj(seq: u16, reason: AdmissionRejectReason) -> RasMessage {
    RasMessage::admissionReject(AdmissionReject::new(
        RequestSeqNum(seq),
        reason,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ))
}

/// GRQ -> GCF -> RRQ -> RCF; returns the endpoint, registered, at `now`.
fn registered(now: Instant, ttl: Option<u32>) -> RasEndpoint {
    let mut ep = RasEndpoint::new(cfg(), 7);
    ep.start(now);
    let (msgs, _) = sent(&mut ep);
    let [(to, RasMessage::gatekeeperRequest(grq), false)] = msgs.as_slice() else {
        panic!("one GRQ: {msgs:?}")
    };
    assert_eq!(*to, gk(), "unicast to the configured gatekeeper");
    assert_eq!(socket_of(&grq.ras_address), Some(cfg().ras_address));
    assert!(grq.endpoint_type.gateway.is_some());
    ep.handle_datagram(now, gk(), &enc(&gcf(grq.request_seq_num.0)));
    let (msgs, _) = sent(&mut ep);
    let [(to, RasMessage::registrationRequest(rrq), false)] = msgs.as_slice() else {
        panic!("one RRQ: {msgs:?}")
    };
    assert_eq!(*to, gk_ras(), "the GCF's rasAddress from now on");
    assert_eq!(rrq.keep_alive, Some(false));
    assert_eq!(
        rrq.gatekeeper_identifier
            .as_ref()
            .map(|g| bmp_to_string(&g.0)),
        Some("GK-TEST".into())
    );
    assert_eq!(rrq.terminal_alias.as_ref().map(Vec::len), Some(2));
    assert_eq!(rrq.time_to_live, Some(TimeToLive(60)));
    ep.handle_datagram(now, gk_ras(), &enc(&rcf(rrq.request_seq_num.0, ttl)));
    let (msgs, other) = sent(&mut ep);
    assert!(msgs.is_empty());
    assert_eq!(other, vec![RasOutput::Registered(true)]);
    assert!(ep.is_registered());
    ep
}

fn a_call(answer: bool) -> RasCall {
    RasCall {
        call_id: [1; 16],
        conference_id: [2; 16],
        crv: 77,
        answer,
        called: "5000".into(),
        calling: Some("2000".into()),
    }
}

#[test]
fn registers_and_refreshes_before_time_to_live() {
    let now = Instant::now();
    let mut ep = registered(now, Some(60));
    let refresh = now + refresh_after(Duration::from_secs(60));
    assert_eq!(ep.poll_timeout(), Some(refresh));
    assert!(refresh < now + Duration::from_secs(60));
    ep.handle_timeout(refresh);
    let (msgs, _) = sent(&mut ep);
    let [(_, RasMessage::registrationRequest(light), false)] = msgs.as_slice() else {
        panic!("a lightweight RRQ: {msgs:?}")
    };
    assert_eq!(light.keep_alive, Some(true));
    assert_eq!(
        light
            .endpoint_identifier
            .as_ref()
            .map(|e| bmp_to_string(&e.0)),
        Some("EP-1".into())
    );
    assert!(light.terminal_alias.is_none(), "lightweight: no aliases");
    ep.handle_datagram(
        refresh,
        gk_ras(),
        &enc(&rcf(light.request_seq_num.0, Some(60))),
    );
    let (_, other) = sent(&mut ep);
    assert!(other.is_empty(), "still registered: no change");
    assert_eq!(
        ep.poll_timeout(),
        Some(refresh + refresh_after(Duration::from_secs(60)))
    );
}

#[test]
fn full_registration_when_the_gatekeeper_asks() {
    let now = Instant::now();
    let mut ep = registered(now, Some(60));
    let t = now + refresh_after(Duration::from_secs(60));
    ep.handle_timeout(t);
    let (msgs, _) = sent(&mut ep);
    let seq = seq_of(&msgs[0].1);
    let rrj = RasMessage::registrationReject(RegistrationReject::new(
        RequestSeqNum(seq),
        protocol_identifier_v7(),
        None,
        RegistrationRejectReason::fullRegistrationRequired(()),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ));
    ep.handle_datagram(t, gk_ras(), &enc(&rrj));
    let (msgs, other) = sent(&mut ep);
    assert_eq!(other, vec![RasOutput::Registered(false)]);
    let [(_, RasMessage::registrationRequest(full), false)] = msgs.as_slice() else {
        panic!("a full RRQ: {msgs:?}")
    };
    assert_eq!(full.keep_alive, Some(false));
    assert!(full.terminal_alias.is_some());
}

#[test]
fn requests_are_retransmitted_then_retried_later() {
    let now = Instant::now();
    let mut ep = RasEndpoint::new(cfg(), 1);
    ep.start(now);
    let (first, _) = sent(&mut ep);
    let seq = seq_of(&first[0].1);
    let (timeout, retries) = RasKind::Grq.timing();
    let mut t = now;
    for _ in 0..retries {
        t += timeout;
        assert_eq!(ep.poll_timeout(), Some(t));
        ep.handle_timeout(t);
        let (msgs, _) = sent(&mut ep);
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].2, "marked as a retransmission");
        assert_eq!(seq_of(&msgs[0].1), seq, "same sequence number");
    }
    t += timeout;
    ep.handle_timeout(t);
    let (msgs, _) = sent(&mut ep);
    assert!(msgs.is_empty(), "given up");
    assert_eq!(ep.poll_timeout(), Some(t + RETRY_AFTER));
    ep.handle_timeout(t + RETRY_AFTER);
    let (msgs, _) = sent(&mut ep);
    assert!(matches!(
        msgs.as_slice(),
        [(_, RasMessage::gatekeeperRequest(g), false)] if g.request_seq_num.0 != seq
    ));
    // A late GCF for the abandoned request is ignored.
    ep.handle_datagram(t, gk(), &enc(&gcf(seq)));
    assert!(sent(&mut ep).0.is_empty());
}

#[test]
fn admission_confirmed_then_disengaged() {
    let now = Instant::now();
    let mut ep = registered(now, None);
    assert_eq!(ep.poll_timeout(), None, "no timeToLive: no refresh");
    ep.admit(now, 5, a_call(false));
    let (msgs, _) = sent(&mut ep);
    let [(_, RasMessage::admissionRequest(arq), false)] = msgs.as_slice() else {
        panic!("an ARQ: {msgs:?}")
    };
    assert!(!arq.answer_call);
    assert_eq!(arq.call_reference_value.0, 77);
    assert_eq!(arq.call_identifier.as_ref().map(|c| c.guid.0[0]), Some(1));
    assert_eq!(bmp_to_string(&arq.endpoint_identifier.0), "EP-1");
    assert_eq!(arq.band_width.0, G711_CALL_BANDWIDTH);
    let dest: SocketAddr = "198.51.100.7:1720".parse().expect("addr");
    ep.handle_datagram(now, gk_ras(), &enc(&acf(arq.request_seq_num.0, dest, true)));
    let (_, other) = sent(&mut ep);
    assert_eq!(
        other,
        vec![RasOutput::Admitted {
            call: 5,
            dest,
            gatekeeper_routed: true
        }]
    );
    // Bandwidth change, then the end of the call: BRQ, DRQ.
    ep.change_bandwidth(now, 5, 640);
    ep.disengage(now, 5, true);
    let (msgs, _) = sent(&mut ep);
    let [
        (_, RasMessage::bandwidthRequest(brq), false),
        (_, RasMessage::disengageRequest(drq), false),
    ] = msgs.as_slice()
    else {
        panic!("BRQ and DRQ: {msgs:?}")
    };
    assert_eq!(brq.band_width.0, 640);
    assert_eq!(drq.answered_call, Some(true));
    assert_eq!(drq.call_reference_value.0, 77);
    assert_eq!(drq.disengage_reason, DisengageReason::normalDrop(()));
    let dcf = RasMessage::disengageConfirm(DisengageConfirm::new(
        drq.request_seq_num.clone(),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ));
    ep.handle_datagram(now, gk_ras(), &enc(&dcf));
    // BRQ unanswered: retransmitted, then dropped; nothing else pending.
    let (timeout, retries) = RasKind::Brq.timing();
    let mut t = now;
    for _ in 0..=retries {
        t += timeout;
        ep.handle_timeout(t);
    }
    sent(&mut ep);
    assert_eq!(ep.poll_timeout(), None);
    // A second disengage of the same call sends nothing.
    ep.disengage(t, 5, true);
    assert!(sent(&mut ep).0.is_empty());
}

#[test]
fn rejected_and_unanswered_admissions_fail_the_call() {
    let now = Instant::now();
    let mut ep = registered(now, None);
    for (reason, cause) in [
        (
            AdmissionRejectReason::calledPartyNotRegistered(()),
            Q850Cause::SUBSCRIBER_ABSENT,
        ),
        (
            AdmissionRejectReason::requestDenied(()),
            Q850Cause::CALL_REJECTED,
        ),
        (
            AdmissionRejectReason::resourceUnavailable(()),
            Q850Cause::RESOURCE_UNAVAILABLE,
        ),
    ] {
        ep.admit(now, 9, a_call(false));
        let (msgs, _) = sent(&mut ep);
        ep.handle_datagram(now, gk_ras(), &enc(&arj(seq_of(&msgs[0].1), reason)));
        let (_, other) = sent(&mut ep);
        assert_eq!(other, vec![RasOutput::Rejected { call: 9, cause }]);
        // Rejected calls are not disengaged.
        ep.disengage(now, 9, false);
        assert!(sent(&mut ep).0.is_empty());
    }
    // No answer at all: cause 38 after the retransmissions.
    ep.admit(now, 10, a_call(true));
    let (msgs, _) = sent(&mut ep);
    let RasMessage::admissionRequest(arq) = &msgs[0].1 else {
        panic!("ARQ")
    };
    assert!(arq.answer_call);
    let (timeout, retries) = RasKind::Arq.timing();
    let mut t = now;
    for _ in 0..=retries {
        t += timeout;
        ep.handle_timeout(t);
    }
    let (msgs, other) = sent(&mut ep);
    assert_eq!(msgs.len(), usize::from(retries));
    assert_eq!(
        other,
        vec![RasOutput::Rejected {
            call: 10,
            cause: Q850Cause::NETWORK_OUT_OF_ORDER
        }]
    );
    // Not registered: refused at once, nothing sent.
    let mut idle = RasEndpoint::new(cfg(), 3);
    idle.admit(now, 11, a_call(false));
    let (msgs, other) = sent(&mut idle);
    assert!(msgs.is_empty());
    assert_eq!(
        other,
        vec![RasOutput::Rejected {
            call: 11,
            cause: Q850Cause::NETWORK_OUT_OF_ORDER
        }]
    );
}

#[test]
fn gatekeeper_requests_are_answered() {
    let now = Instant::now();
    let mut ep = registered(now, None);
    // IRQ -> IRR to the replyAddress.
    let reply: SocketAddr = "192.0.2.100:1900".parse().expect("addr");
    let irq = RasMessage::infoRequest(InfoRequest::new(
        RequestSeqNum(4242),
        CallReferenceValue(0),
        None,
        Some(h225_address(reply)),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ));
    ep.handle_datagram(now, gk_ras(), &enc(&irq));
    let (msgs, _) = sent(&mut ep);
    let [(to, RasMessage::infoRequestResponse(irr), false)] = msgs.as_slice() else {
        panic!("an IRR: {msgs:?}")
    };
    assert_eq!(*to, reply);
    assert_eq!(irr.request_seq_num.0, 4242);
    assert_eq!(bmp_to_string(&irr.endpoint_identifier.0), "EP-1");
    // The gatekeeper drops an admitted call: DCF, Disengaged.
    ep.admit(now, 3, a_call(false));
    let (msgs, _) = sent(&mut ep);
    let dest: SocketAddr = "198.51.100.7:1720".parse().expect("addr");
    ep.handle_datagram(now, gk_ras(), &enc(&acf(seq_of(&msgs[0].1), dest, false)));
    sent(&mut ep);
    let drq = RasMessage::disengageRequest(DisengageRequest::new(
        RequestSeqNum(900),
        endpoint_identifier("EP-1").expect("bmp"),
        conference_identifier([2; 16]),
        CallReferenceValue(77),
        DisengageReason::forcedDrop(()),
        None,
        Some(call_identifier([1; 16])),
        None,
        None,
        None,
        None,
        Some(true),
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ));
    ep.handle_datagram(now, gk_ras(), &enc(&drq));
    let (msgs, other) = sent(&mut ep);
    assert!(matches!(
        msgs.as_slice(),
        [(_, RasMessage::disengageConfirm(d), false)] if d.request_seq_num.0 == 900
    ));
    assert_eq!(other, vec![RasOutput::Disengaged { call: 3 }]);
    // The gatekeeper unregisters us: UCF, and discovery again.
    let urq = RasMessage::unregistrationRequest(UnregistrationRequest::new(
        RequestSeqNum(901),
        vec![h225_address(cfg().call_signal)],
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
    ));
    ep.handle_datagram(now, gk_ras(), &enc(&urq));
    let (msgs, other) = sent(&mut ep);
    assert_eq!(other, vec![RasOutput::Registered(false)]);
    assert!(matches!(
        msgs.as_slice(),
        [
            (_, RasMessage::unregistrationConfirm(_), false),
            (_, RasMessage::gatekeeperRequest(_), false)
        ]
    ));
}

#[test]
fn shutdown_unregisters_once() {
    let now = Instant::now();
    let mut ep = registered(now, Some(300));
    ep.unregister(now);
    let (msgs, other) = sent(&mut ep);
    assert_eq!(other, vec![RasOutput::Registered(false)]);
    let [(_, RasMessage::unregistrationRequest(urq), false)] = msgs.as_slice() else {
        panic!("a URQ: {msgs:?}")
    };
    assert_eq!(
        urq.endpoint_identifier
            .as_ref()
            .map(|e| bmp_to_string(&e.0)),
        Some("EP-1".into())
    );
    ep.unregister(now);
    assert!(sent(&mut ep).0.is_empty());
}

#[test]
fn garbage_is_ignored() {
    let now = Instant::now();
    let mut ep = registered(now, Some(300));
    for junk in [&b""[..], b"\xff\xff\xff", b"\x00", &[0x40; 64]] {
        ep.handle_datagram(now, gk_ras(), junk);
    }
    let (msgs, other) = sent(&mut ep);
    assert!(msgs.is_empty() && other.is_empty());
}
