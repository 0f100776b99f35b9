//! The H.323 legs on simulated time: the far end is built from the same codecs
//! (`mapping::q931`, `h323_asn1`) and, for H.245, from a second [`H245Control`].

use super::*;
use crate::h323::fast_start::{answer_of, propose};
use h323_asn1::h225::{
    AlertingUUIE, CallProceedingUUIE, ConnectUUIE, FacilityUUIE, ReleaseCompleteReason,
    ReleaseCompleteUUIE, StatusInquiryUUIE, conference_identifier,
};
use h323_asn1::h245;
use mapping::model::{Codec, CodecName, MediaDirection, Progress};
use mapping::number::{NumberingPlan, TypeOfNumber};
use mapping::q931::ies::{BearerCapability, ProgressIndicator, TransferCapability};
use proptest::prelude::*;

const CONN: ConnId = 7;

fn peer_addr() -> SocketAddr {
    "203.0.113.5:1720".parse().expect("addr")
}

fn codec(name: CodecName, pt: u8) -> Codec {
    Codec {
        name,
        clock_rate: 8000,
        channels: 1,
        payload_type: pt,
        fmtp: None,
    }
}

fn media(at: &str, codecs: Vec<Codec>) -> Media {
    Media {
        rtp: Some(at.parse().expect("addr")),
        rtcp: None,
        codecs,
        ptime: Some(20),
        direction: MediaDirection::SendRecv,
    }
}

thread_local! {
    /// Every frame this test thread's legs transmitted, for [`our_frames_pass_tshark`].
    static SEEN: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn drain(calls: &mut H323Calls) -> Vec<H323Output> {
    let out: Vec<H323Output> = std::iter::from_fn(|| calls.poll_output()).collect();
    SEEN.with(|seen| {
        for o in &out {
            if let H323Output::Transmit { bytes, .. } = o {
                seen.borrow_mut().push(bytes.clone());
            }
        }
    });
    out
}

/// A transmitted frame decoded: connection, Q.931 message, UUIE, label.
struct Sent {
    conn: ConnId,
    msg: Message,
    info: H323UserInformation,
    label: &'static str,
}

fn sent(o: &H323Output) -> Option<Sent> {
    let H323Output::Transmit { conn, bytes, label } = o else {
        return None;
    };
    assert_eq!(&bytes[..2], &[3, 0], "TPKT version 3");
    assert_eq!(
        usize::from(u16::from_be_bytes([bytes[2], bytes[3]])),
        bytes.len(),
        "TPKT length"
    );
    let msg = Message::decode(&bytes[4..], Dialect::H225).expect("our Q.931 decodes");
    let info = uuie::decode(&msg).expect("our UUIE decodes");
    assert_eq!(uuie::body_name(&info.h323_uu_pdu.h323_message_body), *label);
    Some(Sent {
        conn: *conn,
        msg,
        info,
        label,
    })
}

fn frames(out: &[H323Output]) -> Vec<Sent> {
    out.iter().filter_map(sent).collect()
}

fn events(out: &[H323Output]) -> Vec<CallEvent> {
    out.iter()
        .filter_map(|o| match o {
            H323Output::Event { event, .. } => Some(event.clone()),
            _ => None,
        })
        .collect()
}

fn h245_of(s: &Sent) -> Vec<h245::MultimediaSystemControlMessage> {
    s.info
        .h323_uu_pdu
        .h245_control
        .iter()
        .flatten()
        .map(|b| h245::decode(b).expect("our H.245 decodes"))
        .collect()
}

fn fast_of(s: &Sent) -> Option<Vec<Vec<u8>>> {
    if let Body::setup(b) = &s.info.h323_uu_pdu.h323_message_body {
        return b
            .fast_start
            .as_ref()
            .map(|l| l.iter().map(|e| e.to_vec()).collect());
    }
    fast_start_of(&s.info.h323_uu_pdu.h323_message_body)
        .0
        .map(|l| l.into_iter().map(<[u8]>::to_vec).collect())
}

/// A far-end message: Q.931 `msg` with `body`, tunnelling flag and tunnelled H.245.
fn payload(mut msg: Message, body: Body, tunnelling: bool, h245: Vec<Vec<u8>>) -> Vec<u8> {
    let mut info = user_information(body, tunnelling);
    if !h245.is_empty() {
        info.h323_uu_pdu.h245_control = Some(h245.into_iter().map(Into::into).collect());
    }
    uuie::attach(&mut msg, &info).expect("encodes");
    msg.encode()
}

fn caller_setup(crv: u16, fast: Option<Vec<Vec<u8>>>, tunnelling: bool) -> Vec<u8> {
    let called = PartyNumber {
        digits: Digits::new("1000").expect("digits"),
        ton: TypeOfNumber::NATIONAL,
        npi: NumberingPlan::ISDN,
        presentation: None,
        screening: None,
    };
    let calling = PartyNumber {
        digits: Digits::new("5551234").expect("digits"),
        ton: TypeOfNumber::NATIONAL,
        npi: NumberingPlan::ISDN,
        presentation: Some(Presentation::ALLOWED),
        screening: Some(Screening::NETWORK_PROVIDED),
    };
    let bearer = BearerCapability::circuit_64k(TransferCapability::SPEECH, None);
    let msg = Message::setup(
        Dialect::H225,
        CallReference::pri(crv, false),
        &bearer,
        &called,
        Some(&calling),
    )
    .expect("fits");
    let mut s = setup_uuie(
        terminal_endpoint(),
        conference_identifier([3; 16]),
        call_identifier([9; 16]),
    );
    s.fast_start = fast.map(|l| l.into_iter().map(Into::into).collect());
    payload(msg, Body::setup(s), tunnelling, vec![])
}

fn caller_offer() -> Media {
    media(
        "10.0.0.9:7000",
        vec![codec(CodecName::Pcmu, 0), codec(CodecName::Pcma, 8)],
    )
}

/// An incoming call on [`CONN`]: returns the leg and its Setup.
fn incoming(
    calls: &mut H323Calls,
    now: Instant,
    fast: bool,
    tunnelling: bool,
) -> (H323LegId, Setup) {
    calls.connection_opened(CONN, peer_addr());
    let proposals = fast.then(|| propose(&caller_offer(), 1));
    calls.handle_frame(now, CONN, &caller_setup(0x0123, proposals, tunnelling));
    let out = drain(calls);
    match out.as_slice() {
        [H323Output::Incoming { leg, setup, .. }] => (*leg, (**setup).clone()),
        other => panic!("not one Incoming: {other:?}"),
    }
}

fn release(cause: u8, initiator: Initiator) -> CallEvent {
    CallEvent::Release(Release {
        cause: Cause::user(Q850Cause(cause)),
        initiator,
        sip_status: None,
    })
}

#[test]
fn incoming_fast_start_call_answered_and_released() {
    let now = Instant::now();
    let mut calls = H323Calls::new(1);
    let (leg, setup) = incoming(&mut calls, now, true, true);
    assert_eq!(setup.called.digits.as_str(), "1000");
    assert_eq!(setup.called.ton, TypeOfNumber::NATIONAL);
    let calling = setup.calling.as_ref().expect("calling number");
    assert_eq!(calling.digits.as_str(), "5551234");
    assert_eq!(calling.presentation, Some(Presentation::ALLOWED));
    let offer = setup.media.as_ref().expect("fast start offer");
    assert_eq!(offer.rtp, Some("10.0.0.9:7000".parse().expect("addr")));
    assert_eq!(offer.rtcp, Some("10.0.0.9:7001".parse().expect("addr")));
    assert_eq!(
        offer.codecs,
        vec![codec(CodecName::Pcmu, 0), codec(CodecName::Pcma, 8)]
    );
    assert_eq!(offer.ptime, Some(20));

    // CALL PROCEEDING: tunnelling confirmed, our TCS and MSD ride on it.
    calls.send(now, leg, CallEvent::Proceeding);
    let out = drain(&mut calls);
    let f = frames(&out);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].label, "callProceeding");
    assert_eq!(f[0].conn, CONN);
    assert!(f[0].msg.call_ref.flag(), "sent to the originator");
    assert_eq!(f[0].msg.call_ref.value(), 0x0123);
    assert_eq!(f[0].info.h323_uu_pdu.h245_tunnelling, Some(true));
    let h = h245_of(&f[0]);
    assert!(h.iter().any(|m| matches!(
        m,
        h245::MultimediaSystemControlMessage::request(h245::RequestMessage::terminalCapabilitySet(
            _
        ))
    )));
    assert!(h.iter().any(|m| matches!(
        m,
        h245::MultimediaSystemControlMessage::request(
            h245::RequestMessage::masterSlaveDetermination(_)
        )
    )));

    // ALERTING with the call core's answer: fast start accepted, PI 8.
    let ours = media("192.0.2.10:20000", vec![codec(CodecName::Pcmu, 0)]);
    calls.send(
        now,
        leg,
        CallEvent::Alerting(Progress {
            descriptions: vec![],
            media: Some(MediaExchange::Answer(ours.clone())),
        }),
    );
    let out = drain(&mut calls);
    let f = frames(&out);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].label, "alerting");
    assert_eq!(
        f[0].msg.progress_descriptions(),
        vec![ProgressDescription::INBAND_AVAILABLE]
    );
    let accepted = fast_of(&f[0]).expect("fast start answer");
    assert_eq!(accepted.len(), 2);
    // As the caller reads it: where we receive, in u-law.
    let answer = answer_of(&accepted, Some(&caller_offer())).expect("an answer");
    assert_eq!(answer.rtp, ours.rtp);
    assert_eq!(answer.codecs, vec![codec(CodecName::Pcmu, 0)]);

    // CONNECT: no second fast start answer, the Setup's conference ID.
    calls.send(
        now,
        leg,
        CallEvent::Connect {
            connected: None,
            media: Some(MediaExchange::Answer(ours)),
        },
    );
    let out = drain(&mut calls);
    let f = frames(&out);
    assert_eq!(f[0].label, "connect");
    assert!(fast_of(&f[0]).is_none());
    match &f[0].info.h323_uu_pdu.h323_message_body {
        Body::connect(c) => {
            assert_eq!(c.conference_id, conference_identifier([3; 16]));
            assert_eq!(c.call_identifier, Some(call_identifier([9; 16])));
        }
        _ => unreachable!("label checked"),
    }

    // STATUS ENQUIRY: STATUS, call state active (Q.931 §5.8.10).
    let enq = payload(
        Message::new(
            Dialect::H225,
            CallReference::pri(0x0123, false),
            MessageType::STATUS_ENQUIRY,
        ),
        Body::statusInquiry(StatusInquiryUUIE::new(
            protocol_identifier_v7(),
            call_identifier([9; 16]),
            None,
            None,
        )),
        true,
        vec![],
    );
    calls.handle_frame(now, CONN, &enq);
    let out = drain(&mut calls);
    let st = frames(&out)
        .into_iter()
        .find(|s| s.label == "status")
        .expect("a STATUS");
    assert_eq!(
        st.msg
            .get::<CallState>()
            .and_then(Result::ok)
            .map(|s| s.state),
        Some(CallStateValue::ACTIVE)
    );
    assert_eq!(
        st.msg.cause().map(|c| c.value),
        Some(Q850Cause::RESPONSE_TO_STATUS_ENQUIRY)
    );

    // The call core clears: RELEASE COMPLETE with cause 16 and endSession, then Close.
    calls.send(now, leg, release(16, Initiator::Callee));
    let out = drain(&mut calls);
    let f = frames(&out);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].label, "releaseComplete");
    assert_eq!(f[0].msg.cause().map(|c| c.value.0), Some(16));
    assert!(h245_of(&f[0]).iter().any(|m| matches!(
        m,
        h245::MultimediaSystemControlMessage::command(h245::CommandMessage::endSessionCommand(_))
    )));
    assert_eq!(
        &out[1..],
        &[H323Output::Gone { leg }, H323Output::Close { conn: CONN }]
    );
    assert!(calls.is_empty());
    assert_eq!(calls.poll_timeout(), None);
}

#[test]
fn incoming_release_by_the_caller() {
    let now = Instant::now();
    let mut calls = H323Calls::new(2);
    let (leg, _) = incoming(&mut calls, now, true, true);
    let rc = payload(
        Message::release_complete(
            Dialect::H225,
            CallReference::pri(0x0123, false),
            Some(Cause::user(Q850Cause::NORMAL_CLEARING)),
        ),
        release_complete_body(None, None),
        true,
        vec![],
    );
    calls.handle_frame(now, CONN, &rc);
    let out = drain(&mut calls);
    assert_eq!(
        out,
        vec![
            H323Output::Event {
                leg,
                event: release(16, Initiator::Caller)
            },
            H323Output::Gone { leg },
            H323Output::Close { conn: CONN },
        ]
    );
}

fn opts() -> H323Options {
    H323Options {
        fast_start: true,
        tunnelling: true,
        local: "192.0.2.1:1720".parse().expect("addr"),
    }
}

fn our_setup(media: Option<Media>) -> Setup {
    Setup {
        called: PartyNumber {
            digits: Digits::new("4930123456").expect("digits"),
            ton: TypeOfNumber::INTERNATIONAL,
            npi: NumberingPlan::ISDN,
            presentation: None,
            screening: None,
        },
        calling: Some(PartyNumber {
            digits: Digits::new("2125550100").expect("digits"),
            ton: TypeOfNumber::NATIONAL,
            npi: NumberingPlan::ISDN,
            presentation: Some(Presentation::RESTRICTED),
            screening: Some(Screening::USER_VERIFIED_PASSED),
        }),
        display_name: None,
        redirection: vec![],
        bearer: mapping::model::Bearer::Speech,
        media,
        sending_complete: true,
    }
}

fn gw_offer() -> Media {
    media(
        "192.0.2.10:20000",
        vec![codec(CodecName::Pcma, 8), codec(CodecName::Pcmu, 0)],
    )
}

/// An outgoing call connected on [`CONN`]: the leg, our Setup as sent.
fn outgoing(
    calls: &mut H323Calls,
    now: Instant,
    o: H323Options,
    m: Option<Media>,
) -> (H323LegId, Sent) {
    let dest: SocketAddr = "198.51.100.20:1720".parse().expect("addr");
    let leg = calls.outgoing(now, dest, &our_setup(m), o);
    assert_eq!(drain(calls), vec![H323Output::Connect { leg, addr: dest }]);
    calls.connected(now, leg, CONN);
    let out = drain(calls);
    let mut f = frames(&out);
    assert_eq!(f.len(), 1, "{out:?}");
    let s = f.remove(0);
    assert_eq!(s.label, "setup");
    (leg, s)
}

/// A message from the callee on our call reference.
fn callee(setup: &Sent, t: MessageType) -> Message {
    Message::new(Dialect::H225, setup.msg.call_ref.reply(), t)
}

fn setup_ids(s: &Sent) -> (CallIdentifier, ConferenceIdentifier) {
    match &s.info.h323_uu_pdu.h323_message_body {
        Body::setup(b) => (
            b.call_identifier.clone().expect("a call identifier"),
            b.conference_id.clone(),
        ),
        _ => unreachable!("a setup"),
    }
}

fn cp_body(call_id: &CallIdentifier, fast: Option<Vec<Vec<u8>>>) -> Body {
    Body::callProceeding(CallProceedingUUIE::new(
        protocol_identifier_v7(),
        gateway_endpoint(),
        None,
        Some(call_id.clone()),
        None,
        None,
        None,
        fast.map(|l| l.into_iter().map(Into::into).collect()),
        None,
        None,
        None,
        None,
    ))
}

fn alerting_body(call_id: &CallIdentifier, fast: Option<Vec<Vec<u8>>>) -> Body {
    Body::alerting(AlertingUUIE::new(
        protocol_identifier_v7(),
        gateway_endpoint(),
        None,
        Some(call_id.clone()),
        None,
        None,
        None,
        fast.map(|l| l.into_iter().map(Into::into).collect()),
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

fn connect_body(
    call_id: &CallIdentifier,
    conf: &ConferenceIdentifier,
    fast: Option<Vec<Vec<u8>>>,
) -> Body {
    Body::connect(ConnectUUIE::new(
        protocol_identifier_v7(),
        None,
        gateway_endpoint(),
        conf.clone(),
        Some(call_id.clone()),
        None,
        None,
        None,
        fast.map(|l| l.into_iter().map(Into::into).collect()),
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

fn facility_body(call_id: &CallIdentifier) -> Body {
    Body::facility(FacilityUUIE::new(
        protocol_identifier_v7(),
        None,
        None,
        None,
        FacilityReason::undefinedReason(()),
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
    ))
}

#[test]
fn outgoing_call_with_fast_start_in_alerting_and_connect() {
    let now = Instant::now();
    let mut calls = H323Calls::new(3);
    let (leg, setup) = outgoing(&mut calls, now, opts(), Some(gw_offer()));
    // The Setup: numbers with TON/NPI/presentation, our address, fresh identifiers,
    // tunnelling offered, fast start proposals for A-law and u-law.
    assert!(!setup.msg.call_ref.flag(), "we allocated the reference");
    let called = setup.msg.called_number().expect("called");
    assert_eq!(called.digits.as_str(), "4930123456");
    assert_eq!(called.ton, TypeOfNumber::INTERNATIONAL);
    let calling = setup.msg.calling_number().expect("calling");
    assert_eq!(calling.presentation, Some(Presentation::RESTRICTED));
    assert_eq!(calling.screening, Some(Screening::USER_VERIFIED_PASSED));
    assert_eq!(setup.info.h323_uu_pdu.h245_tunnelling, Some(true));
    let Body::setup(s) = &setup.info.h323_uu_pdu.h323_message_body else {
        unreachable!("a setup")
    };
    assert_eq!(
        s.source_call_signal_address,
        Some(h225_address(opts().local))
    );
    assert!(s.source_address.is_none(), "restricted: no alias");
    assert_eq!(
        s.presentation_indicator,
        Some(PresentationIndicator::presentationRestricted(()))
    );
    assert!(s.destination_address.is_some());
    assert!(s.source_info.gateway.is_some());
    assert_ne!(s.call_identifier, Some(call_identifier([0; 16])));
    let proposals = Proposals::parse(&fast_of(&setup).expect("fast start"));
    assert_eq!(proposals.channels().len(), 4);
    assert_eq!(calls.poll_timeout(), Some(now + T303));

    let (call_id, conf) = setup_ids(&setup);
    // CALL PROCEEDING with tunnelling: Proceeding; our TCS/MSD go in a FACILITY.
    calls.handle_frame(
        now,
        CONN,
        &payload(
            callee(&setup, MessageType::CALL_PROCEEDING),
            cp_body(&call_id, None),
            true,
            vec![],
        ),
    );
    let out = drain(&mut calls);
    assert_eq!(events(&out), vec![CallEvent::Proceeding]);
    let f = frames(&out);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].label, "facility");
    assert_eq!(h245_of(&f[0]).len(), 2, "TCS and MSD");
    assert_eq!(calls.poll_timeout(), Some(now + T310));

    // ALERTING with the accepted channels: Alerting with the answer.
    let theirs = media("198.51.100.20:30000", vec![codec(CodecName::Pcma, 8)]);
    let accepted = proposals.accept(&theirs).expect("fits").elements;
    let t1 = now + Duration::from_millis(300);
    calls.handle_frame(
        t1,
        CONN,
        &payload(
            callee(&setup, MessageType::ALERTING),
            alerting_body(&call_id, Some(accepted.clone())),
            true,
            vec![],
        ),
    );
    let out = drain(&mut calls);
    let ev = events(&out);
    let [CallEvent::Alerting(p)] = ev.as_slice() else {
        panic!("not Alerting: {ev:?}")
    };
    let Some(MediaExchange::Answer(a)) = &p.media else {
        panic!("no answer in Alerting")
    };
    assert_eq!(a.rtp, theirs.rtp);
    assert_eq!(a.codecs, vec![codec(CodecName::Pcma, 8)]);
    // T301 runs (to t1 + T301), but the H.245 response timers of the unanswered TCS/MSD
    // come first.
    assert!(t1 + T301 > now + crate::h323::h245_control::RESPONSE_TIMEOUT);
    assert_eq!(
        calls.poll_timeout(),
        Some(now + crate::h323::h245_control::RESPONSE_TIMEOUT)
    );

    // CONNECT repeating fastStart: Connect, the answer is not given twice.
    let mut connect = callee(&setup, MessageType::CONNECT);
    connect
        .set(&ProgressIndicator::new(
            Location::PRIVATE_REMOTE,
            ProgressDescription::INBAND_AVAILABLE,
        ))
        .expect("fits");
    calls.handle_frame(
        t1,
        CONN,
        &payload(
            connect,
            connect_body(&call_id, &conf, Some(accepted)),
            true,
            vec![],
        ),
    );
    let out = drain(&mut calls);
    assert_eq!(
        events(&out),
        vec![CallEvent::Connect {
            connected: None,
            media: None
        }]
    );
    assert_eq!(
        calls.poll_timeout(),
        Some(now + crate::h323::h245_control::RESPONSE_TIMEOUT),
        "no Q.931 timer after CONNECT, only H.245's T101/T106 (never answered here)"
    );

    // DTMF both ways through tunnelled H.245.
    calls.send(
        t1,
        leg,
        CallEvent::Info(Info::Dtmf {
            digit: '5',
            duration_ms: 100,
        }),
    );
    let out = drain(&mut calls);
    let f = frames(&out);
    assert_eq!(f[0].label, "facility");
    assert!(h245_of(&f[0]).iter().any(|m| matches!(
        m,
        h245::MultimediaSystemControlMessage::indication(h245::IndicationMessage::userInput(
            h245::UserInputIndication::alphanumeric(_)
        ))
    )));
    let uii = h245::build::user_input_signal('#', Some(160)).expect("digit");
    calls.handle_frame(
        t1,
        CONN,
        &payload(
            callee(&setup, MessageType::FACILITY),
            facility_body(&call_id),
            true,
            vec![h245::encode(&uii).expect("encodes")],
        ),
    );
    assert_eq!(
        events(&drain(&mut calls)),
        vec![CallEvent::Info(Info::Dtmf {
            digit: '#',
            duration_ms: 160
        })]
    );
}

/// Carries tunnelled H.245 between our leg and a far-end [`H245Control`] until both are
/// quiet; returns every output of ours on the way.
fn pump(
    calls: &mut H323Calls,
    now: Instant,
    far: &mut H245Control,
    to_us: impl Fn(Vec<Vec<u8>>) -> Vec<u8>,
    mut pending: Vec<H323Output>,
) -> Vec<H323Output> {
    let mut all = Vec::new();
    for _ in 0..30 {
        for s in frames(&pending) {
            for m in s.info.h323_uu_pdu.h245_control.iter().flatten() {
                far.handle(m);
            }
        }
        all.append(&mut pending);
        let back: Vec<Vec<u8>> = std::iter::from_fn(|| far.poll_transmit()).collect();
        if back.is_empty() {
            return all;
        }
        calls.handle_frame(now, CONN, &to_us(back));
        pending = drain(calls);
    }
    panic!("tunnelled H.245 does not settle");
}

#[test]
fn outgoing_slow_start_through_tunnelled_h245() {
    let now = Instant::now();
    let mut calls = H323Calls::new(4);
    let o = H323Options {
        fast_start: false,
        ..opts()
    };
    let (leg, setup) = outgoing(&mut calls, now, o, Some(gw_offer()));
    assert!(fast_of(&setup).is_none(), "no proposals");
    let (call_id, conf) = setup_ids(&setup);
    let far_rtp: SocketAddr = "198.51.100.20:30000".parse().expect("addr");
    let mut far = H245Control::new(77);
    far.set_local(far_rtp, None, &[codec(CodecName::Pcmu, 0)]);
    far.enable_slow_start();
    far.start(&[codec(CodecName::Pcmu, 0)]);

    calls.handle_frame(
        now,
        CONN,
        &payload(
            callee(&setup, MessageType::CALL_PROCEEDING),
            cp_body(&call_id, None),
            true,
            vec![],
        ),
    );
    let first = drain(&mut calls);
    assert_eq!(events(&first), vec![CallEvent::Proceeding]);
    let to_us = |h245: Vec<Vec<u8>>| {
        payload(
            callee(&setup, MessageType::FACILITY),
            facility_body(&call_id),
            true,
            h245,
        )
    };
    let all = pump(&mut calls, now, &mut far, to_us, first);
    // Every message we sent on the way was a FACILITY (H.225.0 §8.2.1).
    assert!(frames(&all).iter().all(|s| s.label == "facility"));
    let ours = frames(&all);
    let olc = ours
        .iter()
        .flat_map(h245_of)
        .find_map(|m| match m {
            h245::MultimediaSystemControlMessage::request(
                h245::RequestMessage::openLogicalChannel(o),
            ) => Some(o),
            _ => None,
        })
        .expect("we opened our channel");
    // The far end can receive both laws: our preference (A-law) wins.
    assert_eq!(
        olc.forward_logical_channel_parameters.data_type,
        h245::DataType::audioData(h245::AudioCapability::g711Alaw64k(20)),
    );
    // The far side sees where we receive.
    let far_media = std::iter::from_fn(|| far.poll_event()).find_map(|e| match e {
        H245Event::Media(m) => Some(m),
        _ => None,
    });
    assert_eq!(far_media.expect("far media").rtp, gw_offer().rtp);

    // CONNECT: the H.245 answer rides on it.
    calls.handle_frame(
        now,
        CONN,
        &payload(
            callee(&setup, MessageType::CONNECT),
            connect_body(&call_id, &conf, None),
            true,
            vec![],
        ),
    );
    let ev = events(&drain(&mut calls));
    let [
        CallEvent::Connect {
            media: Some(MediaExchange::Answer(a)),
            ..
        },
    ] = ev.as_slice()
    else {
        panic!("Connect without the slow start answer: {ev:?}")
    };
    assert_eq!(a.rtp, Some(far_rtp));
    assert_eq!(a.rtcp, Some("198.51.100.20:30001".parse().expect("addr")));
    // Asymmetric: we send A-law, the far end sends u-law (its own preference).
    assert_eq!(
        a.codecs,
        vec![codec(CodecName::Pcma, 8), codec(CodecName::Pcmu, 0)]
    );
    let _ = leg;
}

#[test]
fn incoming_slow_start_answers_the_call_core_offer() {
    let now = Instant::now();
    let mut calls = H323Calls::new(5);
    let (leg, setup) = incoming(&mut calls, now, false, true);
    assert!(setup.media.is_none(), "a delayed offer");
    let caller_rtp: SocketAddr = "10.0.0.9:7000".parse().expect("addr");
    let mut far = H245Control::new(11);
    far.set_local(caller_rtp, None, &[codec(CodecName::Pcma, 8)]);
    far.enable_slow_start();
    far.start(&[codec(CodecName::Pcma, 8)]);
    let to_us = |h245: Vec<Vec<u8>>| {
        payload(
            Message::new(
                Dialect::H225,
                CallReference::pri(0x0123, false),
                MessageType::FACILITY,
            ),
            facility_body(&call_id([9; 16])),
            true,
            h245,
        )
    };
    fn call_id(b: [u8; 16]) -> CallIdentifier {
        call_identifier(b)
    }
    calls.send(now, leg, CallEvent::Proceeding);
    let first = drain(&mut calls);
    let mut all = pump(&mut calls, now, &mut far, to_us, first);
    // Capabilities and determination are done; no media yet: our address is unknown.
    assert!(events(&all).is_empty());
    // The call core answers with its offer (the egress leg's answer re-offered).
    let ours = media("192.0.2.10:20000", vec![codec(CodecName::Pcma, 8)]);
    calls.send(
        now,
        leg,
        CallEvent::Connect {
            connected: None,
            media: Some(MediaExchange::Offer(ours.clone())),
        },
    );
    let next = drain(&mut calls);
    all.extend(pump(&mut calls, now, &mut far, to_us, next));
    let ev = events(&all);
    assert!(
        ev.contains(&CallEvent::Media(MediaExchange::Answer(Media {
            rtp: Some(caller_rtp),
            rtcp: Some("10.0.0.9:7001".parse().expect("addr")),
            codecs: vec![codec(CodecName::Pcma, 8)],
            ptime: Some(20),
            direction: MediaDirection::SendRecv,
        }))),
        "{ev:?}"
    );
    let far_media = std::iter::from_fn(|| far.poll_event()).find_map(|e| match e {
        H245Event::Media(m) => Some(m),
        _ => None,
    });
    assert_eq!(far_media.expect("far media").rtp, ours.rtp);
}

#[test]
fn release_complete_cause_maps_to_release() {
    let now = Instant::now();
    let mut calls = H323Calls::new(6);
    let (leg, setup) = outgoing(&mut calls, now, opts(), Some(gw_offer()));
    let rc = payload(
        Message::release_complete(
            Dialect::H225,
            setup.msg.call_ref.reply(),
            Some(Cause {
                value: Q850Cause::USER_BUSY,
                location: Location::PUBLIC_REMOTE,
            }),
        ),
        release_complete_body(None, None),
        true,
        vec![],
    );
    calls.handle_frame(now, CONN, &rc);
    assert_eq!(
        drain(&mut calls),
        vec![
            H323Output::Event {
                leg,
                event: CallEvent::Release(Release {
                    cause: Cause {
                        value: Q850Cause::USER_BUSY,
                        location: Location::PUBLIC_REMOTE
                    },
                    initiator: Initiator::Callee,
                    sip_status: None,
                })
            },
            H323Output::Gone { leg },
            H323Output::Close { conn: CONN },
        ]
    );

    // Without a Cause element the UUIE reason says it (inConf = 17).
    let (leg, setup) = outgoing(&mut calls, now, opts(), None);
    let body = Body::releaseComplete(ReleaseCompleteUUIE::new(
        protocol_identifier_v7(),
        Some(ReleaseCompleteReason::inConf(())),
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
    let rc = payload(
        Message::release_complete(Dialect::H225, setup.msg.call_ref.reply(), None),
        body,
        false,
        vec![],
    );
    calls.handle_frame(now, CONN, &rc);
    let ev = events(&drain(&mut calls));
    assert_eq!(
        ev,
        vec![CallEvent::Release(Release {
            cause: Cause::user(Q850Cause::USER_BUSY),
            initiator: Initiator::Callee,
            sip_status: None,
        })]
    );

    // Ours toward the peer: cause 17 goes with reason inConf.
    let (leg2, _) = outgoing(&mut calls, now, opts(), None);
    calls.send(now, leg2, release(17, Initiator::Caller));
    let out = drain(&mut calls);
    let f = frames(&out);
    assert_eq!(
        f[0].msg.cause().map(|c| c.value),
        Some(Q850Cause::USER_BUSY)
    );
    match &f[0].info.h323_uu_pdu.h323_message_body {
        Body::releaseComplete(r) => assert_eq!(r.reason, Some(ReleaseCompleteReason::inConf(()))),
        _ => panic!("not releaseComplete"),
    }
    let _ = leg;
}

#[test]
fn q931_timers_clear_outgoing_calls() {
    let t0 = Instant::now();
    let mut calls = H323Calls::new(7);
    // T303: no answer to SETUP.
    let (leg, _) = outgoing(&mut calls, t0, opts(), None);
    calls.handle_timeout(t0 + T303 - Duration::from_millis(1));
    assert!(drain(&mut calls).is_empty(), "not yet");
    calls.handle_timeout(t0 + T303);
    let out = drain(&mut calls);
    let f = frames(&out);
    assert_eq!(f[0].label, "releaseComplete");
    assert_eq!(
        f[0].msg.cause().map(|c| c.value),
        Some(Q850Cause::RECOVERY_ON_TIMER_EXPIRY)
    );
    assert_eq!(
        events(&out),
        vec![CallEvent::Release(Release {
            cause: local_cause(Q850Cause::RECOVERY_ON_TIMER_EXPIRY),
            initiator: Initiator::Gateway,
            sip_status: None,
        })]
    );
    assert!(out.contains(&H323Output::Gone { leg }));
    assert!(out.contains(&H323Output::Close { conn: CONN }));

    // T310: CALL PROCEEDING, then nothing.
    let (_, setup) = outgoing(&mut calls, t0, opts(), None);
    let (call_id, _) = setup_ids(&setup);
    calls.handle_frame(
        t0,
        CONN,
        &payload(
            callee(&setup, MessageType::CALL_PROCEEDING),
            cp_body(&call_id, None),
            false,
            vec![],
        ),
    );
    drain(&mut calls);
    assert_eq!(calls.poll_timeout(), Some(t0 + T310));
    calls.handle_timeout(t0 + T310);
    let ev = events(&drain(&mut calls));
    assert!(
        matches!(&ev[..], [CallEvent::Release(r)] if r.cause.value == Q850Cause::RECOVERY_ON_TIMER_EXPIRY)
    );

    // T301: ALERTING, then no answer: 19 toward the call core.
    let (_, setup) = outgoing(&mut calls, t0, opts(), None);
    let (call_id, _) = setup_ids(&setup);
    calls.handle_frame(
        t0,
        CONN,
        &payload(
            callee(&setup, MessageType::ALERTING),
            alerting_body(&call_id, None),
            false,
            vec![],
        ),
    );
    drain(&mut calls);
    assert_eq!(calls.poll_timeout(), Some(t0 + T301));
    calls.handle_timeout(t0 + T301);
    let out = drain(&mut calls);
    assert_eq!(
        frames(&out)[0].msg.cause().map(|c| c.value),
        Some(Q850Cause::RECOVERY_ON_TIMER_EXPIRY)
    );
    let ev = events(&out);
    assert!(
        matches!(&ev[..], [CallEvent::Release(r)] if r.cause.value == Q850Cause::NO_ANSWER && r.initiator == Initiator::Gateway)
    );
    assert!(calls.is_empty());
}

#[test]
fn connection_events_of_outgoing_legs() {
    let now = Instant::now();
    let mut calls = H323Calls::new(8);
    let dest = peer_addr();
    // Connect failure: cause 38 from the gateway.
    let leg = calls.outgoing(now, dest, &our_setup(None), opts());
    drain(&mut calls);
    calls.connect_failed(now, leg);
    assert_eq!(
        drain(&mut calls),
        vec![
            H323Output::Event {
                leg,
                event: CallEvent::Release(Release {
                    cause: local_cause(Q850Cause::NETWORK_OUT_OF_ORDER),
                    initiator: Initiator::Gateway,
                    sip_status: None,
                })
            },
            H323Output::Gone { leg }
        ]
    );
    // Released while connecting: Gone now, the connection closed when it comes up.
    let leg = calls.outgoing(now, dest, &our_setup(None), opts());
    drain(&mut calls);
    calls.send(now, leg, release(16, Initiator::Caller));
    assert_eq!(drain(&mut calls), vec![H323Output::Gone { leg }]);
    calls.connected(now, leg, 99);
    assert_eq!(drain(&mut calls), vec![H323Output::Close { conn: 99 }]);
    // The peer drops the connection mid-call: cause 41, cleared by the callee.
    let (leg, _) = outgoing(&mut calls, now, opts(), None);
    calls.connection_closed(now, CONN);
    let out = drain(&mut calls);
    assert_eq!(
        out,
        vec![
            H323Output::Event {
                leg,
                event: CallEvent::Release(Release {
                    cause: local_cause(Q850Cause::TEMPORARY_FAILURE),
                    initiator: Initiator::Callee,
                    sip_status: None,
                })
            },
            H323Output::Gone { leg }
        ]
    );
    assert!(calls.is_empty());
}

#[test]
fn unknown_calls_bad_setups_and_garbage() {
    let now = Instant::now();
    let mut calls = H323Calls::new(9);
    calls.connection_opened(CONN, peer_addr());
    // Garbage: counted, never answered.
    for junk in [
        &b""[..],
        &[0x08],
        &[0x08, 0x02, 0x00],
        &[0x03, 0x00, 0x00, 0x01, 0x05],
        &[0xFF; 40],
    ] {
        calls.handle_frame(now, CONN, junk);
        assert_eq!(
            drain(&mut calls),
            vec![H323Output::DecodeError { conn: CONN }]
        );
    }
    // A CONNECT for no call: RELEASE COMPLETE cause 81.
    let connect = Message::new(
        Dialect::H225,
        CallReference::pri(0x55, true),
        MessageType::CONNECT,
    );
    calls.handle_frame(now, CONN, &connect.encode());
    let out = drain(&mut calls);
    let f = frames(&out);
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].msg.cause().map(|c| c.value),
        Some(Q850Cause::INVALID_CALL_REFERENCE)
    );
    assert!(!f[0].msg.call_ref.flag());
    // STATUS ENQUIRY for no call: STATUS, Null.
    let enq = Message::new(
        Dialect::H225,
        CallReference::pri(0x56, false),
        MessageType::STATUS_ENQUIRY,
    );
    calls.handle_frame(now, CONN, &enq.encode());
    let out = drain(&mut calls);
    let f = frames(&out);
    assert_eq!(f[0].label, "status");
    assert_eq!(
        f[0].msg
            .get::<CallState>()
            .and_then(Result::ok)
            .map(|s| s.state),
        Some(CallStateValue::NULL)
    );
    // A RELEASE COMPLETE for no call: nothing.
    let rc = Message::release_complete(Dialect::H225, CallReference::pri(0x57, false), None);
    calls.handle_frame(now, CONN, &rc.encode());
    assert!(drain(&mut calls).is_empty());
    // A SETUP without bearer capability: cause 96, then the connection closes.
    let mut setup =
        Message::decode(&caller_setup(0x60, None, true), Dialect::H225).expect("decodes");
    setup.remove(mapping::q931::IeId::BEARER_CAPABILITY);
    calls.handle_frame(now, CONN, &setup.encode());
    let out = drain(&mut calls);
    assert_eq!(
        frames(&out)[0].msg.cause().map(|c| c.value),
        Some(Q850Cause::MANDATORY_IE_MISSING)
    );
    assert!(out.contains(&H323Output::Close { conn: CONN }));
    // A SETUP whose UUIE does not decode: cause 100.
    calls.connection_opened(CONN, peer_addr());
    let mut setup =
        Message::decode(&caller_setup(0x61, None, true), Dialect::H225).expect("decodes");
    setup.remove(mapping::q931::IeId::USER_USER);
    setup
        .push(mapping::q931::InfoElement::variable(
            0x7E,
            vec![0x05, 0xFF, 0xFF, 0xFF],
        ))
        .expect("fits");
    calls.handle_frame(now, CONN, &setup.encode());
    let out = drain(&mut calls);
    assert_eq!(out[0], H323Output::DecodeError { conn: CONN });
    assert_eq!(
        frames(&out)[0].msg.cause().map(|c| c.value),
        Some(Q850Cause::INVALID_IE_CONTENTS)
    );
    assert!(calls.is_empty());
}

#[test]
fn unknown_uuie_fields_do_not_fail_the_call() {
    // nonStandardData, genericData (H.460) and an unknown Q.931 element in a Setup.
    let now = Instant::now();
    let mut calls = H323Calls::new(10);
    calls.connection_opened(CONN, peer_addr());
    let mut msg = Message::decode(&caller_setup(0x70, None, true), Dialect::H225).expect("decodes");
    let mut info = uuie::decode(&msg).expect("decodes");
    info.h323_uu_pdu.generic_data = Some(vec![]);
    info.h323_uu_pdu.non_standard_control = Some(vec![]);
    uuie::attach(&mut msg, &info).expect("encodes");
    msg.push(mapping::q931::InfoElement::variable(0x73, vec![1, 2, 3]))
        .expect("fits");
    calls.handle_frame(now, CONN, &msg.encode());
    let out = drain(&mut calls);
    assert!(
        matches!(out.as_slice(), [H323Output::Incoming { .. }]),
        "{out:?}"
    );
}

/// The SETUP messages of a capture; `None` when the captures are not there.
fn capture_setups(file: &str) -> Option<Vec<Vec<u8>>> {
    let dir = capture_kit::shared_dir_or_skip("captures", file)?;
    let frames = capture_kit::read_frames(&dir.join(file));
    let mut out = Vec::new();
    for (key, stream) in capture_kit::tcp_streams(&frames) {
        if !capture_kit::is_h225(&key, &stream) {
            continue;
        }
        for pdu in capture_kit::tpkt_payloads(&stream.buf) {
            if Message::decode(pdu, Dialect::H225).is_ok_and(|m| m.msg_type == MessageType::SETUP) {
                out.push(pdu.to_vec());
            }
        }
    }
    Some(out)
}

#[test]
fn captured_setups_become_incoming_calls() {
    // (file, called number, fast start RTP address of the caller)
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "h323-cisco-gw2gw-faststart-tunnel-t38-ogw.pcapng",
            "1234",
            Some("14.50.245.3:16384"),
        ),
        (
            "h323-cisco-cucm-faststart-hold-resume.pcapng",
            "1234",
            Some("172.18.110.58:8488"),
        ),
        (
            "h323-cisco-cucm-gw-separate-h245-userinput-dtmf.pcapng",
            "98001",
            None,
        ),
        ("h323-openh323-callgen-h245-rtp-g711a.pcap", "", None),
    ];
    let now = Instant::now();
    for &(file, called, rtp) in cases {
        let Some(setups) = capture_setups(file) else {
            return;
        };
        assert!(!setups.is_empty(), "{file}: a SETUP");
        let mut calls = H323Calls::new(11);
        calls.connection_opened(CONN, peer_addr());
        calls.handle_frame(now, CONN, &setups[0]);
        let out = drain(&mut calls);
        let Some((leg, setup)) = out.iter().find_map(|o| match o {
            H323Output::Incoming { leg, setup, .. } => Some((*leg, setup.clone())),
            _ => None,
        }) else {
            panic!("{file}: no Incoming: {out:?}")
        };
        assert_eq!(setup.called.digits.as_str(), called, "{file}");
        assert_eq!(
            setup.media.as_ref().and_then(|m| m.rtp),
            rtp.map(|a| a.parse().expect("addr")),
            "{file}"
        );
        if rtp.is_none() {
            // No fast start, no tunnelling (both captures use a separate H.245
            // connection): the leg connects to the caller's h245Address or listens.
            assert!(
                out.iter().any(|o| matches!(
                    o,
                    H323Output::H245Connect { .. } | H323Output::H245Listen { .. }
                )),
                "{file}: {out:?}"
            );
            calls.send(now, leg, CallEvent::Proceeding);
            calls.send(
                now,
                leg,
                CallEvent::Connect {
                    connected: None,
                    media: Some(MediaExchange::Offer(media(
                        "192.0.2.10:20000",
                        vec![codec(CodecName::Pcma, 8)],
                    ))),
                },
            );
            let out = drain(&mut calls);
            assert_eq!(
                frames(&out).iter().map(|s| s.label).collect::<Vec<_>>(),
                ["callProceeding", "connect"],
                "{file}"
            );
            continue;
        }
        let offer = setup.media.clone().expect("offer");
        assert_eq!(offer.codecs, vec![codec(CodecName::Pcmu, 0)], "{file}");
        assert_eq!(offer.ptime, Some(20), "{file}");
        // Answer it the way the call core would: fast start goes back in ALERTING.
        let ours = media("192.0.2.10:20000", offer.codecs.clone());
        calls.send(now, leg, CallEvent::Proceeding);
        calls.send(
            now,
            leg,
            CallEvent::Alerting(Progress {
                descriptions: vec![],
                media: Some(MediaExchange::Answer(ours.clone())),
            }),
        );
        let out = drain(&mut calls);
        let alerting = frames(&out)
            .into_iter()
            .find(|s| s.label == "alerting")
            .expect("alerting");
        let answer =
            answer_of(&fast_of(&alerting).expect("fast start"), Some(&offer)).expect("answer");
        assert_eq!(answer.rtp, ours.rtp, "{file}");
        calls.send(now, leg, release(16, Initiator::Callee));
        assert!(drain(&mut calls).contains(&H323Output::Close { conn: CONN }));
    }
}

#[test]
fn every_captured_message_is_survived() {
    // Every H.225.0 message of every capture, fed on one connection per stream: no panic,
    // and every Setup that decodes becomes a call.
    let Some(dir) =
        capture_kit::shared_dir_or_skip("captures", "every_captured_message_is_survived")
    else {
        return;
    };
    let now = Instant::now();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("captures readable")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("h323-"))
        })
        .collect();
    files.sort();
    for path in files {
        let mut calls = H323Calls::new(12);
        let frames_ = capture_kit::read_frames(&path);
        for (i, (key, stream)) in capture_kit::tcp_streams(&frames_).into_iter().enumerate() {
            if !capture_kit::is_h225(&key, &stream) {
                continue;
            }
            let conn = i as ConnId;
            calls.connection_opened(conn, peer_addr());
            for pdu in capture_kit::tpkt_payloads(&stream.buf) {
                calls.handle_frame(now, conn, pdu);
            }
            drain(&mut calls);
        }
    }
}

/// Wire validation by an independent decoder: every frame the scenarios above send is
/// put on TCP 1720 in a pcap (text2pcap) and decoded by tshark, tunnelled H.245 and fast
/// start OLCs included: all found, none malformed. Skips when the tools are missing.
#[test]
fn our_frames_pass_tshark() {
    SEEN.with(|s| s.borrow_mut().clear());
    incoming_fast_start_call_answered_and_released();
    outgoing_call_with_fast_start_in_alerting_and_connect();
    outgoing_slow_start_through_tunnelled_h245();
    incoming_slow_start_answers_the_call_core_offer();
    release_complete_cause_maps_to_release();
    q931_timers_clear_outgoing_calls();
    unknown_calls_bad_setups_and_garbage();
    let frames_: Vec<Vec<u8>> = SEEN.with(|s| s.borrow().clone());
    assert!(
        frames_.len() > 20,
        "the scenarios sent {} frames",
        frames_.len()
    );
    let tmp = std::env::temp_dir().join(format!("h323-legs-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let txt = tmp.join("frames.txt");
    let pcap = tmp.join("frames.pcap");
    let mut dump = String::new();
    for f in &frames_ {
        for (i, chunk) in f.chunks(16).enumerate() {
            dump.push_str(&format!("{:06x}", i * 16));
            for b in chunk {
                dump.push_str(&format!(" {b:02x}"));
            }
            dump.push('\n');
        }
        dump.push('\n');
    }
    std::fs::write(&txt, dump).expect("temp file writable");
    let made = std::process::Command::new("text2pcap")
        .args(["-T", "11720,1720"])
        .arg(&txt)
        .arg(&pcap)
        .output()
        .is_ok_and(|o| o.status.success());
    if !made {
        let _ = std::fs::remove_dir_all(&tmp);
        println!("SKIPPED our_frames_pass_tshark: text2pcap not available");
        return;
    }
    let count = |filter: &str| -> Option<usize> {
        let out = std::process::Command::new("tshark")
            .args(["-n", "-r"])
            .arg(&pcap)
            .args(["-Y", filter])
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).lines().count())
    };
    let counts = (
        count("h225"),
        count("_ws.malformed || _ws.expert.severity >= \"error\""),
        count("h245"),
    );
    let _ = std::fs::remove_dir_all(&tmp);
    let (Some(h225), Some(bad), Some(h245)) = counts else {
        println!("SKIPPED our_frames_pass_tshark: tshark not available");
        return;
    };
    println!(
        "tshark: {} frames sent, {h225} H.225.0, {h245} with H.245, {bad} malformed",
        frames_.len()
    );
    assert_eq!(
        (h225, bad),
        (frames_.len(), 0),
        "tshark: H.225.0 frames decoded, malformed"
    );
    assert!(h245 > 5, "tunnelled H.245 and fast start OLCs seen");
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let now = Instant::now();
        let mut calls = H323Calls::new(13);
        calls.connection_opened(CONN, peer_addr());
        calls.handle_frame(now, CONN, &bytes);
        drain(&mut calls);
    }

    #[test]
    fn random_messages_on_live_calls_never_panic(
        t in any::<u8>(),
        flag in any::<bool>(),
        tail in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let now = Instant::now();
        let mut calls = H323Calls::new(14);
        let (_, _) = incoming(&mut calls, now, true, true);
        // A Q.931 header for the live call, then anything.
        let mut bytes = vec![0x08, 0x02, 0x01 | if flag { 0x80 } else { 0 }, 0x23, t & 0x7F];
        bytes.extend_from_slice(&tail);
        calls.handle_frame(now, CONN, &bytes);
        // A well-formed frame with a random UUIE.
        let mut msg = Message::new(Dialect::H225, CallReference::pri(0x0123, flag), MessageType(t & 0x7F));
        let mut uu = vec![0x05];
        uu.extend_from_slice(&tail);
        msg.push(mapping::q931::InfoElement::variable(0x7E, uu)).expect("fits");
        calls.handle_frame(now, CONN, &msg.encode());
        drain(&mut calls);
        calls.handle_timeout(now + Duration::from_secs(1000));
        drain(&mut calls);
    }
}

/// Q.931 §4.5.5 octet 5: the Setup's bearer capability names the law of our first
/// G.711 codec.
#[test]
fn setup_bearer_capability_follows_the_offered_law() {
    use mapping::q931::ies::{BearerCapability, Layer1Protocol};
    let now = Instant::now();
    for (codecs, law) in [
        (
            vec![codec(CodecName::Pcmu, 0), codec(CodecName::Pcma, 8)],
            Layer1Protocol::G711_ULAW,
        ),
        (gw_offer().codecs, Layer1Protocol::G711_ALAW),
    ] {
        let mut calls = H323Calls::new(5);
        let m = media("192.0.2.10:20000", codecs);
        let (_, setup) = outgoing(&mut calls, now, opts(), Some(m));
        let bc = setup
            .msg
            .get::<BearerCapability>()
            .expect("bearer capability")
            .expect("decodes");
        assert_eq!(bc.layer1, Some(law));
    }
}

#[test]
fn legs_waiting_for_admission() {
    let now = Instant::now();
    let mut calls = H323Calls::new(10);
    let leg = calls.outgoing_pending(now, &our_setup(Some(gw_offer())), opts());
    assert!(
        drain(&mut calls).is_empty(),
        "no connection before admission"
    );
    let (call_id, conf_id, crv) = calls.admission_ids(leg).expect("ids");
    let dest: SocketAddr = "198.51.100.30:1720".parse().expect("addr");
    calls.dial(now, leg, dest);
    assert_eq!(
        drain(&mut calls),
        vec![H323Output::Connect { leg, addr: dest }]
    );
    calls.dial(now, leg, dest);
    assert!(drain(&mut calls).is_empty(), "dialled once");
    calls.connected(now, leg, CONN);
    let out = drain(&mut calls);
    let f = frames(&out);
    let (cid, conf) = setup_ids(&f[0]);
    // The Setup carries what the ARQ named.
    assert_eq!(&cid.guid.0[..], &call_id[..]);
    assert_eq!(&conf.0.0[..], &conf_id[..]);
    assert_eq!(f[0].msg.call_ref.value() & 0x7FFF, u128::from(crv));

    // Refused: Release with the cause toward the call core, nothing on the wire.
    let refused = calls.outgoing_pending(now, &our_setup(None), opts());
    calls.not_admitted(now, refused, Q850Cause::SUBSCRIBER_ABSENT);
    let out = drain(&mut calls);
    assert!(frames(&out).is_empty());
    assert!(matches!(
        events(&out).as_slice(),
        [CallEvent::Release(r)] if r.cause.value == Q850Cause::SUBSCRIBER_ABSENT
            && r.initiator == Initiator::Gateway
    ));
    assert!(out.contains(&H323Output::Gone { leg: refused }));
    // Released by the call core while waiting: gone, and a late ACF dials nothing.
    let dropped = calls.outgoing_pending(now, &our_setup(None), opts());
    calls.send(now, dropped, release(16, Initiator::Caller));
    assert_eq!(drain(&mut calls), vec![H323Output::Gone { leg: dropped }]);
    calls.dial(now, dropped, dest);
    assert!(drain(&mut calls).is_empty());
}

#[path = "separate_h245_tests.rs"]
mod separate_h245_tests;
