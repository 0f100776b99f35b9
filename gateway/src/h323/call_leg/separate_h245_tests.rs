//! A separate H.245 connection (H.225.0 §7.2, H.323 §8.2.3) on simulated time: the far
//! end's H.245 is a second [`H245Control`] fed the frames of `H245Transmit`.

use super::*;

const H245_CONN: ConnId = 9;

/// The H.245 messages of the `H245Transmit` outputs (checking the TPKT header).
fn h245_sent(out: &[H323Output]) -> Vec<Vec<u8>> {
    out.iter()
        .filter_map(|o| match o {
            H323Output::H245Transmit { conn, bytes, label } => {
                assert_eq!(*conn, H245_CONN);
                assert_eq!(&bytes[..2], &[3, 0], "TPKT version 3");
                assert_eq!(
                    usize::from(u16::from_be_bytes([bytes[2], bytes[3]])),
                    bytes.len()
                );
                assert_eq!(h245_label(&bytes[4..]), *label);
                Some(bytes[4..].to_vec())
            }
            _ => None,
        })
        .collect()
}

/// Runs H.245 between the leg (on [`H245_CONN`]) and `far` until both are quiet.
fn pump_link(
    calls: &mut H323Calls,
    now: Instant,
    far: &mut H245Control,
    mut pending: Vec<H323Output>,
) -> Vec<H323Output> {
    let mut all = Vec::new();
    for _ in 0..30 {
        for m in h245_sent(&pending) {
            far.handle(&m);
        }
        all.append(&mut pending);
        let back: Vec<Vec<u8>> = std::iter::from_fn(|| far.poll_transmit()).collect();
        if back.is_empty() {
            return all;
        }
        for m in back {
            calls.handle_h245_frame(now, H245_CONN, &m);
        }
        pending = drain(calls);
    }
    panic!("H.245 on the separate connection does not settle");
}

fn far_h245(rtp: SocketAddr) -> H245Control {
    let mut far = H245Control::new(77);
    far.set_local(rtp, None, &[codec(CodecName::Pcmu, 0)]);
    far.enable_slow_start();
    far.start(&[codec(CodecName::Pcmu, 0)]);
    far
}

fn no_tunnel() -> H323Options {
    H323Options {
        fast_start: false,
        tunnelling: false,
        ..opts()
    }
}

fn h245_address_in(s: &Sent) -> Option<SocketAddr> {
    h245_address_of(&s.info.h323_uu_pdu.h323_message_body)
}

#[test]
fn outgoing_connects_to_the_callee_h245_address() {
    let now = Instant::now();
    let mut calls = H323Calls::new(4);
    let (leg, setup) = outgoing(&mut calls, now, no_tunnel(), Some(gw_offer()));
    assert_eq!(setup.info.h323_uu_pdu.h245_tunnelling, Some(false));
    let (call_id, conf) = setup_ids(&setup);
    let far_h245_at: SocketAddr = "198.51.100.20:31000".parse().expect("addr");
    let far_rtp: SocketAddr = "198.51.100.20:30000".parse().expect("addr");
    let mut connect = connect_body(&call_id, &conf, None);
    set_h245_address(&mut connect, far_h245_at);
    calls.handle_frame(
        now,
        CONN,
        &payload(callee(&setup, MessageType::CONNECT), connect, false, vec![]),
    );
    let out = drain(&mut calls);
    assert!(matches!(
        events(&out).as_slice(),
        [CallEvent::Connect { media: None, .. }]
    ));
    assert!(
        out.contains(&H323Output::H245Connect {
            leg,
            addr: far_h245_at
        }),
        "{out:?}"
    );
    assert!(
        !out.iter()
            .any(|o| matches!(o, H323Output::H245Listen { .. })),
        "the callee named its address: we do not listen"
    );
    // Up: our TCS and MSD go on the connection, nothing tunnelled.
    calls.h245_up(now, leg, H245_CONN);
    let first = drain(&mut calls);
    assert!(frames(&first).is_empty(), "{first:?}");
    assert_eq!(
        first
            .iter()
            .filter_map(|o| match o {
                H323Output::H245Transmit { label, .. } => Some(*label),
                _ => None,
            })
            .collect::<Vec<_>>(),
        ["terminalCapabilitySet", "masterSlaveDetermination"]
    );
    let mut far = far_h245(far_rtp);
    let all = pump_link(&mut calls, now, &mut far, first);
    let media = events(&all).into_iter().find_map(|e| match e {
        CallEvent::Media(MediaExchange::Answer(m)) => Some(m),
        _ => None,
    });
    assert_eq!(media.expect("slow start answer").rtp, Some(far_rtp));
    assert!(
        std::iter::from_fn(|| far.poll_event())
            .any(|e| matches!(e, H245Event::Media(m) if m.rtp == gw_offer().rtp))
    );
    // DTMF goes as UserInputIndication on the connection.
    calls.send(
        now,
        leg,
        CallEvent::Info(Info::Dtmf {
            digit: '5',
            duration_ms: 100,
        }),
    );
    let out = drain(&mut calls);
    assert_eq!(h245_sent(&out).len(), 1);
    assert!(frames(&out).is_empty());
    // Release: endSessionCommand on H.245 before RELEASE COMPLETE, then both closed.
    calls.send(now, leg, release(16, Initiator::Caller));
    let out = drain(&mut calls);
    let order: Vec<&str> = out
        .iter()
        .filter_map(|o| match o {
            H323Output::H245Transmit { label, .. } => Some(*label),
            H323Output::Transmit { label, .. } => Some(*label),
            H323Output::Close { .. } => Some("close"),
            _ => None,
        })
        .collect();
    assert_eq!(
        order,
        ["endSessionCommand", "releaseComplete", "close", "close"]
    );
    assert!(out.contains(&H323Output::Close { conn: H245_CONN }));
    assert!(out.contains(&H323Output::Close { conn: CONN }));
}

#[test]
fn outgoing_listens_when_the_callee_names_no_address() {
    let now = Instant::now();
    let mut calls = H323Calls::new(5);
    // Tunnelling offered, the callee refuses it: switch-over to a separate connection.
    let o = H323Options {
        fast_start: false,
        ..opts()
    };
    let (leg, setup) = outgoing(&mut calls, now, o, Some(gw_offer()));
    assert_eq!(setup.info.h323_uu_pdu.h245_tunnelling, Some(true));
    let (call_id, conf) = setup_ids(&setup);
    calls.handle_frame(
        now,
        CONN,
        &payload(
            callee(&setup, MessageType::CONNECT),
            connect_body(&call_id, &conf, None),
            false,
            vec![],
        ),
    );
    let out = drain(&mut calls);
    assert!(
        out.contains(&H323Output::H245Listen {
            leg,
            conn: CONN,
            ip: opts().local.ip()
        }),
        "{out:?}"
    );
    let ours: SocketAddr = "192.0.2.1:40001".parse().expect("addr");
    calls.h245_listening(now, leg, ours);
    let out = drain(&mut calls);
    let f = frames(&out);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].label, "facility");
    let Body::facility(fac) = &f[0].info.h323_uu_pdu.h323_message_body else {
        unreachable!("a facility")
    };
    assert_eq!(fac.reason, FacilityReason::startH245(()));
    assert_eq!(h245_address_in(&f[0]), Some(ours));
    assert_eq!(f[0].info.h323_uu_pdu.h245_tunnelling, Some(false));
    // The callee connects: the listener stops, H.245 starts.
    calls.h245_up(now, leg, H245_CONN);
    let out = drain(&mut calls);
    assert!(out.contains(&H323Output::H245StopListening { leg }));
    assert_eq!(h245_sent(&out).len(), 2);
    // A second connection for the same leg is closed.
    calls.h245_up(now, leg, 10);
    assert_eq!(drain(&mut calls), vec![H323Output::Close { conn: 10 }]);
    // The peer closes H.245: the call goes on.
    calls.h245_closed(now, H245_CONN);
    assert!(drain(&mut calls).is_empty());
    assert_eq!(calls.len(), 1);
}

#[test]
fn incoming_without_tunnelling_listens_and_names_the_address() {
    let now = Instant::now();
    let mut calls = H323Calls::new(6);
    calls.set_inbound_options(opts());
    calls.connection_opened(CONN, peer_addr());
    // A Setup with neither fast start nor tunnelling.
    calls.handle_frame(now, CONN, &caller_setup(0x21, None, false));
    let out = drain(&mut calls);
    let leg = out
        .iter()
        .find_map(|o| match o {
            H323Output::Incoming { leg, .. } => Some(*leg),
            _ => None,
        })
        .expect("incoming");
    assert!(out.contains(&H323Output::H245Listen {
        leg,
        conn: CONN,
        ip: opts().local.ip()
    }));
    let ours: SocketAddr = "192.0.2.1:40002".parse().expect("addr");
    calls.h245_listening(now, leg, ours);
    assert!(drain(&mut calls).is_empty(), "rides on our first response");
    calls.send(now, leg, CallEvent::Proceeding);
    let out = drain(&mut calls);
    let f = frames(&out);
    assert_eq!(f[0].label, "callProceeding");
    assert_eq!(h245_address_in(&f[0]), Some(ours));
    calls.send(
        now,
        leg,
        CallEvent::Connect {
            connected: None,
            media: Some(MediaExchange::Offer(gw_offer())),
        },
    );
    let out = drain(&mut calls);
    let f = frames(&out);
    assert_eq!(f[0].label, "connect");
    assert_eq!(h245_address_in(&f[0]), None, "sent once");
    // The caller connects and runs slow start with us.
    calls.h245_up(now, leg, H245_CONN);
    let first = drain(&mut calls);
    let far_rtp: SocketAddr = "203.0.113.5:30000".parse().expect("addr");
    let mut far = far_h245(far_rtp);
    let all = pump_link(&mut calls, now, &mut far, first);
    let media = events(&all).into_iter().find_map(|e| match e {
        CallEvent::Media(MediaExchange::Answer(m)) => Some(m),
        _ => None,
    });
    assert_eq!(
        media.expect("answer to the call core's offer").rtp,
        Some(far_rtp)
    );
    // The caller clears: the H.245 connection is closed with the call.
    let rc = Message::release_complete(
        Dialect::H225,
        CallReference::pri(0x21, false),
        Some(Cause::NORMAL),
    );
    calls.handle_frame(
        now,
        CONN,
        &payload(rc, release_complete_body(None, None), false, vec![]),
    );
    let out = drain(&mut calls);
    assert!(out.contains(&H323Output::Close { conn: H245_CONN }));
    assert!(out.contains(&H323Output::Gone { leg }));
}

#[test]
fn incoming_setup_with_h245_address_is_connected_to() {
    let now = Instant::now();
    let mut calls = H323Calls::new(7);
    calls.connection_opened(CONN, peer_addr());
    let theirs: SocketAddr = "203.0.113.5:31005".parse().expect("addr");
    let mut msg = Message::decode(&caller_setup(0x22, None, false), Dialect::H225).expect("ok");
    let mut info = uuie::decode(&msg).expect("uuie");
    if let Body::setup(s) = &mut info.h323_uu_pdu.h323_message_body {
        s.h245_address = Some(h225_address(theirs));
    }
    uuie::attach(&mut msg, &info).expect("encodes");
    calls.handle_frame(now, CONN, &msg.encode());
    let out = drain(&mut calls);
    assert!(
        out.iter()
            .any(|o| matches!(o, H323Output::H245Connect { addr, .. } if *addr == theirs)),
        "{out:?}"
    );
    assert!(
        !out.iter()
            .any(|o| matches!(o, H323Output::H245Listen { .. }))
    );
    // The connection fails: the call goes on without H.245.
    let leg = out
        .iter()
        .find_map(|o| match o {
            H323Output::Incoming { leg, .. } => Some(*leg),
            _ => None,
        })
        .expect("incoming");
    calls.h245_failed(now, leg);
    assert!(drain(&mut calls).is_empty());
    assert_eq!(calls.len(), 1);
}

#[test]
fn both_sides_listening_the_smaller_address_connects() {
    let now = Instant::now();
    for (ours, theirs, we_connect) in [
        ("192.0.2.1:40001", "192.0.2.9:40001", true),
        ("192.0.2.9:40001", "192.0.2.1:40001", false),
        ("192.0.2.1:40001", "192.0.2.1:40002", true),
    ] {
        let ours: SocketAddr = ours.parse().expect("addr");
        let theirs: SocketAddr = theirs.parse().expect("addr");
        let mut calls = H323Calls::new(8);
        let (leg, setup) = outgoing(&mut calls, now, no_tunnel(), Some(gw_offer()));
        let (call_id, conf) = setup_ids(&setup);
        calls.handle_frame(
            now,
            CONN,
            &payload(
                callee(&setup, MessageType::CONNECT),
                connect_body(&call_id, &conf, None),
                false,
                vec![],
            ),
        );
        drain(&mut calls);
        calls.h245_listening(now, leg, ours);
        drain(&mut calls);
        let mut fac = FacilityUUIE::new(
            protocol_identifier_v7(),
            None,
            None,
            None,
            FacilityReason::startH245(()),
            Some(call_id.clone()),
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
            None,
        );
        fac.h245_address = Some(h225_address(theirs));
        calls.handle_frame(
            now,
            CONN,
            &payload(
                callee(&setup, MessageType::FACILITY),
                Body::facility(fac),
                false,
                vec![],
            ),
        );
        let out = drain(&mut calls);
        let connects = out.contains(&H323Output::H245Connect { leg, addr: theirs });
        assert_eq!(connects, we_connect, "{ours} vs {theirs}: {out:?}");
        assert_eq!(
            out.contains(&H323Output::H245StopListening { leg }),
            we_connect
        );
    }
}

#[test]
fn h245_timeout_clears_a_slow_start_call() {
    let now = Instant::now();
    let mut calls = H323Calls::new(9);
    let (leg, setup) = outgoing(&mut calls, now, no_tunnel(), Some(gw_offer()));
    let (call_id, conf) = setup_ids(&setup);
    let mut connect = connect_body(&call_id, &conf, None);
    set_h245_address(&mut connect, "198.51.100.20:31000".parse().expect("addr"));
    calls.handle_frame(
        now,
        CONN,
        &payload(callee(&setup, MessageType::CONNECT), connect, false, vec![]),
    );
    drain(&mut calls);
    let up = now + Duration::from_secs(1);
    calls.h245_up(up, leg, H245_CONN);
    drain(&mut calls);
    // The peer never answers our TCS and MSD: T101 and T106 run out.
    let at = calls.poll_timeout().expect("H.245 timers run");
    assert_eq!(at, up + crate::h323::h245_control::RESPONSE_TIMEOUT);
    calls.handle_timeout(at);
    let out = drain(&mut calls);
    for timer in ["T101", "T106"] {
        assert!(
            out.contains(&H323Output::H245Timeout { leg, timer }),
            "{out:?}"
        );
    }
    let f = frames(&out);
    assert_eq!(f.last().map(|s| s.label), Some("releaseComplete"));
    assert_eq!(
        f.last().and_then(|s| s.msg.cause()).map(|c| c.value),
        Some(Q850Cause::RECOVERY_ON_TIMER_EXPIRY)
    );
    assert!(matches!(
        events(&out).as_slice(),
        [CallEvent::Release(r)] if r.cause.value == Q850Cause::RECOVERY_ON_TIMER_EXPIRY
            && r.initiator == Initiator::Gateway
    ));
    assert!(out.contains(&H323Output::Close { conn: H245_CONN }));
    assert!(calls.is_empty());
}

#[test]
fn an_ingress_trunk_without_tunnelling_refuses_it() {
    let now = Instant::now();
    let mut calls = H323Calls::new(12);
    calls.set_inbound_options(opts());
    calls.connection_opened(CONN, peer_addr());
    calls.handle_frame(now, CONN, &caller_setup(0x23, None, true));
    let leg = drain(&mut calls)
        .iter()
        .find_map(|o| match o {
            H323Output::Incoming { leg, .. } => Some(*leg),
            _ => None,
        })
        .expect("incoming");
    calls.refuse_tunnelling(leg);
    assert_eq!(
        drain(&mut calls),
        vec![H323Output::H245Listen {
            leg,
            conn: CONN,
            ip: opts().local.ip()
        }]
    );
    calls.send(now, leg, CallEvent::Proceeding);
    let out = drain(&mut calls);
    let f = frames(&out);
    assert_eq!(f[0].info.h323_uu_pdu.h245_tunnelling, Some(false));
    assert!(f[0].info.h323_uu_pdu.h245_control.is_none());
    // Too late once we answered: nothing changes.
    calls.refuse_tunnelling(leg);
    assert!(drain(&mut calls).is_empty());
}

#[test]
fn a_separate_h245_connection_that_never_comes_clears_a_slow_start_call() {
    let now = Instant::now();
    let mut calls = H323Calls::new(12);
    let o = H323Options {
        fast_start: false,
        ..opts()
    };
    let (leg, setup) = outgoing(&mut calls, now, o, Some(gw_offer()));
    let (call_id, conf) = setup_ids(&setup);
    calls.handle_frame(
        now,
        CONN,
        &payload(
            callee(&setup, MessageType::CONNECT),
            connect_body(&call_id, &conf, None),
            false,
            vec![],
        ),
    );
    drain(&mut calls);
    calls.h245_listening(now, leg, "192.0.2.1:40001".parse().expect("addr"));
    drain(&mut calls);
    // Nobody connects.
    let at = calls.poll_timeout().expect("the wait runs");
    assert_eq!(at, now + H245_CONNECT_WAIT);
    calls.handle_timeout(at - Duration::from_millis(1));
    assert!(drain(&mut calls).is_empty());
    calls.handle_timeout(at);
    let out = drain(&mut calls);
    assert!(
        out.contains(&H323Output::H245StopListening { leg }),
        "{out:?}"
    );
    assert!(
        out.contains(&H323Output::H245Timeout {
            leg,
            timer: "connect"
        }),
        "{out:?}"
    );
    let f = frames(&out);
    assert_eq!(f.last().map(|s| s.label), Some("releaseComplete"));
    assert!(matches!(
        events(&out).as_slice(),
        [CallEvent::Release(r)] if r.cause.value == Q850Cause::RECOVERY_ON_TIMER_EXPIRY
    ));
    assert!(calls.is_empty());
}
