//! Call control tests on simulated time: layer 3 alone against hand-made messages, and
//! two full stacks (Q.931 over Q.921) against each other.

use std::time::{Duration, Instant};

use mapping::cause::{Cause, Q850Cause};
use mapping::number::{Digits, PartyNumber};
use mapping::q931::ies::{
    BearerCapability, CallState as CallStateIe, CallStateValue, ChannelId, Layer1Protocol,
    TransferCapability,
};
use mapping::q931::{CallReference, Dialect, IeId, Message, MessageType};

use super::*;
use crate::q921::{self, Side};

const S: Duration = Duration::from_secs(1);

fn setup_template() -> Message {
    let n = |d: &str| PartyNumber::unknown(Digits::new(d).expect("digits"));
    Message::setup(
        Dialect::Q931,
        CallReference::dummy(),
        &BearerCapability::circuit_64k(TransferCapability::SPEECH, Some(Layer1Protocol::G711_ALAW)),
        &n("1000"),
        Some(&n("2000")),
    )
    .expect("fits")
}

/// Layer 3 alone, the link up.
fn l3(side: Side, variant: Variant) -> Pri {
    let mut p = Pri::new(Config::e1(side, variant));
    p.handle_dl_event(Instant::now(), &q921::Event::EstablishConfirm);
    assert_eq!(drain(&mut p).1, vec![PriEvent::LinkUp]);
    p
}

/// (messages sent, events).
fn drain(p: &mut Pri) -> (Vec<Message>, Vec<PriEvent>) {
    let mut sent = Vec::new();
    let mut ev = Vec::new();
    while let Some(o) = p.poll_output() {
        match o {
            PriOutput::Transmit(b) => {
                sent.push(Message::decode(&b, Dialect::Q931).expect("we send valid messages"))
            }
            PriOutput::Event(e) => ev.push(e),
        }
    }
    (sent, ev)
}

fn types(ms: &[Message]) -> Vec<MessageType> {
    ms.iter().map(|m| m.msg_type).collect()
}

/// A message from the peer for call reference `crv`; `peer_allocated` says whose it is.
fn from_peer(crv: u16, peer_allocated: bool, t: MessageType) -> Message {
    Message::new(Dialect::Q931, CallReference::pri(crv, !peer_allocated), t)
}

fn with_cause(mut m: Message, v: Q850Cause) -> Message {
    m.set(&mapping::q931::ies::CauseIe::new(Cause::user(v)))
        .expect("fits");
    m
}

fn channel_of(m: &Message) -> Option<(u8, bool)> {
    m.get::<ChannelId>()
        .and_then(Result::ok)
        .map(|c| (c.b_channels()[0], c.exclusive))
}

fn peer_setup(crv: u16, channel: Option<(u8, bool)>) -> Message {
    let mut m = setup_template();
    m.call_ref = CallReference::pri(crv, false);
    if let Some((c, excl)) = channel {
        m.set(&ChannelId::pri_b_channel(c, excl)).expect("fits");
    }
    m
}

#[test]
fn call_states_map_to_both_sides_numbers() {
    assert_eq!(CallState::SetupSent.value(Side::User).0, 1);
    assert_eq!(CallState::SetupSent.value(Side::Network).0, 6);
    assert_eq!(CallState::SetupReceived.value(Side::Network).0, 1);
    assert_eq!(CallState::Received.value(Side::Network).0, 4);
    assert_eq!(CallState::DisconnectSent.value(Side::Network).0, 12);
    assert_eq!(CallState::ReleaseSent.value(Side::User).0, 19);
}

#[test]
fn outgoing_setup_carries_reference_channel_and_sending_complete() {
    let t0 = Instant::now();
    let mut p = l3(Side::User, Variant::EUROISDN);
    let call = p.setup(t0, setup_template(), None).unwrap();
    let (sent, _) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::SETUP]);
    assert_eq!(sent[0].call_ref, CallReference::pri(call.crv, false));
    // The user side takes channels from the bottom and prefers (ETSI).
    assert_eq!(channel_of(&sent[0]), Some((1, false)));
    assert!(sent[0].sending_complete());
    assert_eq!(p.poll_timeout(), Some(t0 + 4 * S));

    // NI-2: exclusive, no Sending complete; the network side takes from the top.
    let mut p = l3(Side::Network, Variant::NI2);
    // NI-2 restarted the interface as the link came up: acknowledge it.
    let mut ack = Message::new(
        Dialect::Q931,
        CallReference::global(2).reply(),
        MessageType::RESTART_ACKNOWLEDGE,
    );
    ack.set(&mapping::q931::ies::RestartIndicator(
        mapping::q931::ies::RestartClass::SINGLE_INTERFACE,
    ))
    .unwrap();
    p.handle_message(t0, &ack.encode()).unwrap();
    drain(&mut p);
    let mut tmpl = setup_template();
    tmpl.set_sending_complete();
    p.setup(t0, tmpl, None).unwrap();
    let (sent, _) = drain(&mut p);
    assert_eq!(channel_of(&sent[0]), Some((31, true)));
    assert!(!sent[0].has(IeId::SENDING_COMPLETE));
}

#[test]
fn t303_retransmits_then_clears() {
    let t0 = Instant::now();
    let mut p = l3(Side::User, Variant::EUROISDN);
    let call = p.setup(t0, setup_template(), Some(5)).unwrap();
    drain(&mut p);
    p.handle_timeout(t0 + 4 * S);
    assert_eq!(types(&drain(&mut p).0), vec![MessageType::SETUP]);
    p.handle_timeout(t0 + 8 * S);
    let (sent, ev) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::RELEASE_COMPLETE]);
    assert_eq!(
        sent[0].cause().unwrap().value,
        Q850Cause::RECOVERY_ON_TIMER_EXPIRY
    );
    assert!(matches!(ev[0], PriEvent::Cleared { call: c, .. } if c == call));
    assert_eq!(
        ev[1],
        PriEvent::Idle {
            call,
            channel: Some(5)
        }
    );
    assert_eq!(p.channel_state(5), Some(ChannelState::Idle));
    assert_eq!(p.poll_timeout(), None);
}

#[test]
fn t310_t305_t308_clear_and_take_the_channel_out_of_service() {
    let t0 = Instant::now();
    let mut p = l3(Side::User, Variant::EUROISDN);
    let call = p.setup(t0, setup_template(), None).unwrap();
    drain(&mut p);
    let mut cp = from_peer(call.crv, false, MessageType::CALL_PROCEEDING);
    cp.set(&ChannelId::pri_b_channel(1, true)).unwrap();
    p.handle_message(t0, &cp.encode()).unwrap();
    assert_eq!(p.call_state(call), CallState::OutgoingProceeding);
    drain(&mut p);
    // User-side T310 is 30 s: then DISCONNECT, cause 102.
    p.handle_timeout(t0 + 30 * S);
    let (sent, ev) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::DISCONNECT]);
    assert_eq!(
        sent[0].cause().unwrap().value,
        Q850Cause::RECOVERY_ON_TIMER_EXPIRY
    );
    assert!(matches!(ev[0], PriEvent::Cleared { by_peer: true, .. }));
    // T305 (30 s): RELEASE; T308 (4 s): RELEASE again; T308 again: maintenance.
    p.handle_timeout(t0 + 60 * S);
    assert_eq!(types(&drain(&mut p).0), vec![MessageType::RELEASE]);
    p.handle_timeout(t0 + 64 * S);
    assert_eq!(types(&drain(&mut p).0), vec![MessageType::RELEASE]);
    p.handle_timeout(t0 + 68 * S);
    let (sent, ev) = drain(&mut p);
    assert!(sent.is_empty());
    assert_eq!(
        ev,
        vec![
            PriEvent::Idle {
                call,
                channel: Some(1)
            },
            PriEvent::Maintenance { channel: 1 }
        ]
    );
    assert_eq!(p.channel_state(1), Some(ChannelState::Maintenance));
    // A RESTART of the channel brings it back.
    p.restart(t0 + 70 * S, Some(1)).unwrap();
    let (sent, _) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::RESTART]);
    assert!(sent[0].call_ref.is_global());
    let mut ack = sent[0].clone();
    ack.msg_type = MessageType::RESTART_ACKNOWLEDGE;
    ack.call_ref = ack.call_ref.reply();
    p.handle_message(t0 + 71 * S, &ack.encode()).unwrap();
    assert_eq!(
        drain(&mut p).1,
        vec![PriEvent::RestartAcknowledged { channels: vec![1] }]
    );
    assert_eq!(p.channel_state(1), Some(ChannelState::Idle));
}

#[test]
fn incoming_call_answered_by_the_user_side_and_t313() {
    let t0 = Instant::now();
    let mut p = l3(Side::User, Variant::EUROISDN);
    p.handle_message(t0, &peer_setup(7, Some((3, true))).encode())
        .unwrap();
    let (_, ev) = drain(&mut p);
    let call = CallId {
        crv: 7,
        ours: false,
    };
    assert!(matches!(&ev[0], PriEvent::Incoming { call: c, channel: 3, .. } if *c == call));
    // The first answer names the channel, exclusive; the flag says "to the originator".
    p.send(
        t0,
        call,
        Message::new(
            Dialect::Q931,
            CallReference::dummy(),
            MessageType::CALL_PROCEEDING,
        ),
    )
    .unwrap();
    p.send(
        t0,
        call,
        Message::new(Dialect::Q931, CallReference::dummy(), MessageType::ALERTING),
    )
    .unwrap();
    let (sent, _) = drain(&mut p);
    assert_eq!(sent[0].call_ref, CallReference::pri(7, true));
    assert_eq!(channel_of(&sent[0]), Some((3, true)));
    assert_eq!(channel_of(&sent[1]), None);
    assert_eq!(
        p.send(
            t0,
            call,
            Message::new(Dialect::Q931, CallReference::dummy(), MessageType::SETUP)
        ),
        Err(PriError::NotAllowed(
            MessageType::SETUP,
            CallState::Received
        ))
    );
    p.send(
        t0,
        call,
        Message::new(Dialect::Q931, CallReference::dummy(), MessageType::CONNECT),
    )
    .unwrap();
    assert_eq!(p.call_state(call), CallState::ConnectRequest);
    drain(&mut p);
    // No CONNECT ACKNOWLEDGE within T313: DISCONNECT.
    p.handle_timeout(t0 + 4 * S);
    let (sent, _) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::DISCONNECT]);
    // The peer's RELEASE ends it.
    p.handle_message(
        t0 + 5 * S,
        &from_peer(7, true, MessageType::RELEASE).encode(),
    )
    .unwrap();
    let (sent, ev) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::RELEASE_COMPLETE]);
    assert_eq!(
        ev,
        vec![PriEvent::Idle {
            call,
            channel: Some(3)
        }]
    );
}

#[test]
fn channel_selection_on_incoming_setups() {
    let t0 = Instant::now();
    let mut p = l3(Side::Network, Variant::EUROISDN);
    p.handle_message(t0, &peer_setup(1, Some((5, true))).encode())
        .unwrap();
    drain(&mut p);
    // Exclusive and busy: cause 44.
    p.handle_message(t0, &peer_setup(2, Some((5, true))).encode())
        .unwrap();
    let (sent, ev) = drain(&mut p);
    assert!(ev.is_empty());
    assert_eq!(types(&sent), vec![MessageType::RELEASE_COMPLETE]);
    assert_eq!(
        sent[0].cause().unwrap().value,
        Q850Cause::REQUESTED_CHANNEL_NOT_AVAILABLE
    );
    assert_eq!(sent[0].call_ref, CallReference::pri(2, true));
    // Preferred and busy: another one, named in the first answer.
    p.handle_message(t0, &peer_setup(3, Some((5, false))).encode())
        .unwrap();
    let (_, ev) = drain(&mut p);
    let PriEvent::Incoming { channel, .. } = ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(channel, 31);
    let call = CallId {
        crv: 3,
        ours: false,
    };
    p.send(
        t0,
        call,
        Message::new(
            Dialect::Q931,
            CallReference::dummy(),
            MessageType::CALL_PROCEEDING,
        ),
    )
    .unwrap();
    assert_eq!(channel_of(&drain(&mut p).0[0]), Some((31, true)));
    // A channel that does not exist (16 is the D-channel): cause 82.
    p.handle_message(t0, &peer_setup(4, Some((16, true))).encode())
        .unwrap();
    assert_eq!(
        drain(&mut p).0[0].cause().unwrap().value,
        Q850Cause::CHANNEL_DOES_NOT_EXIST
    );
    // No bearer capability: cause 96.
    let mut bad = peer_setup(5, None);
    bad.remove(IeId::BEARER_CAPABILITY);
    p.handle_message(t0, &bad.encode()).unwrap();
    assert_eq!(
        drain(&mut p).0[0].cause().unwrap().value,
        Q850Cause::MANDATORY_IE_MISSING
    );
    // All channels busy: cause 34.
    let mut q = Pri::new(Config {
        channels: vec![1],
        ..Config::e1(Side::Network, Variant::EUROISDN)
    });
    q.handle_message(t0, &peer_setup(1, None).encode()).unwrap();
    q.handle_message(t0, &peer_setup(2, None).encode()).unwrap();
    let (sent, _) = drain(&mut q);
    assert_eq!(
        sent[0].cause().unwrap().value,
        Q850Cause::NO_CIRCUIT_AVAILABLE
    );
    // A SETUP whose flag says we allocated the reference is ignored (§5.8.3.2 d).
    let mut odd = peer_setup(9, None);
    odd.call_ref = CallReference::pri(9, true);
    q.handle_message(t0, &odd.encode()).unwrap();
    assert_eq!(drain(&mut q), (vec![], vec![]));
}

#[test]
fn status_and_call_reference_errors() {
    let t0 = Instant::now();
    let mut p = l3(Side::User, Variant::EUROISDN);
    // STATUS ENQUIRY for an unknown call: STATUS, Null, cause 30 (§5.8.10).
    p.handle_message(
        t0,
        &from_peer(40, true, MessageType::STATUS_ENQUIRY).encode(),
    )
    .unwrap();
    let (sent, _) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::STATUS]);
    assert_eq!(sent[0].call_ref, CallReference::pri(40, true));
    assert_eq!(
        sent[0].cause().unwrap().value,
        Q850Cause::RESPONSE_TO_STATUS_ENQUIRY
    );
    assert_eq!(
        sent[0].get::<CallStateIe>().unwrap().unwrap().state,
        CallStateValue::NULL
    );
    // Another message for an unknown call: RELEASE COMPLETE, cause 81.
    p.handle_message(t0, &from_peer(41, true, MessageType::CONNECT).encode())
        .unwrap();
    let (sent, _) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::RELEASE_COMPLETE]);
    assert_eq!(
        sent[0].cause().unwrap().value,
        Q850Cause::INVALID_CALL_REFERENCE
    );
    // RELEASE COMPLETE for an unknown call: nothing.
    p.handle_message(
        t0,
        &from_peer(42, true, MessageType::RELEASE_COMPLETE).encode(),
    )
    .unwrap();
    assert!(drain(&mut p).0.is_empty());
    // The global call reference with anything but RESTART/RESTART ACK/STATUS: STATUS 81.
    let g = Message::new(
        Dialect::Q931,
        CallReference::global(2),
        MessageType::STATUS_ENQUIRY,
    );
    p.handle_message(t0, &g.encode()).unwrap();
    let (sent, _) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::STATUS]);
    assert!(sent[0].call_ref.is_global() && sent[0].call_ref.flag());
    assert_eq!(
        sent[0].cause().unwrap().value,
        Q850Cause::INVALID_CALL_REFERENCE
    );

    // A known call: STATUS with its state; a message out of place: STATUS 98.
    p.handle_message(t0, &peer_setup(7, None).encode()).unwrap();
    drain(&mut p);
    p.handle_message(
        t0,
        &from_peer(7, true, MessageType::STATUS_ENQUIRY).encode(),
    )
    .unwrap();
    let (sent, _) = drain(&mut p);
    assert_eq!(
        sent[0].get::<CallStateIe>().unwrap().unwrap().state,
        CallStateValue::CALL_PRESENT
    );
    p.handle_message(t0, &from_peer(7, true, MessageType::ALERTING).encode())
        .unwrap();
    let (sent, _) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::STATUS]);
    assert_eq!(
        sent[0].cause().unwrap().value,
        Q850Cause::MESSAGE_NOT_COMPATIBLE_OR_NON_EXISTENT
    );
    // STATUS saying Null: the call is released locally (§5.8.11 c).
    let mut st = with_cause(
        from_peer(7, true, MessageType::STATUS),
        Q850Cause::RESPONSE_TO_STATUS_ENQUIRY,
    );
    st.set(&CallStateIe::new(CallStateValue::NULL)).unwrap();
    p.handle_message(t0, &st.encode()).unwrap();
    let (_, ev) = drain(&mut p);
    assert!(matches!(ev.last(), Some(PriEvent::Idle { .. })));
    assert!(p.calls().next().is_none());
    // Garbage is an error value, never a panic.
    assert!(p.handle_message(t0, &[0x08]).is_err());
    assert!(p.handle_message(t0, &[0x08, 0x00, 0x05]).is_err());
}

#[test]
fn link_failure_clears_calls_not_active_and_keeps_active_ones_for_t309() {
    let t0 = Instant::now();
    let mut p = l3(Side::Network, Variant::EUROISDN);
    p.handle_message(t0, &peer_setup(1, None).encode()).unwrap();
    p.handle_message(t0, &peer_setup(2, None).encode()).unwrap();
    let active = CallId {
        crv: 1,
        ours: false,
    };
    p.send(
        t0,
        active,
        Message::new(Dialect::Q931, CallReference::dummy(), MessageType::CONNECT),
    )
    .unwrap();
    assert_eq!(p.call_state(active), CallState::Active);
    drain(&mut p);
    p.handle_dl_event(t0, &q921::Event::ReleaseIndication);
    let (_, ev) = drain(&mut p);
    assert_eq!(ev[0], PriEvent::LinkDown);
    assert!(matches!(
        ev[2],
        PriEvent::Idle {
            call: CallId { crv: 2, .. },
            ..
        }
    ));
    assert_eq!(p.calls().count(), 1);
    // Back within T309: STATUS ENQUIRY for the call.
    p.handle_dl_event(t0 + 10 * S, &q921::Event::EstablishIndication);
    let (sent, _) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::STATUS_ENQUIRY]);
    // T309 stopped; T322 waits for the STATUS.
    assert_eq!(p.poll_timeout(), Some(t0 + 14 * S));
    // Down again past T309: cleared.
    p.handle_dl_event(t0 + 20 * S, &q921::Event::ReleaseIndication);
    p.handle_timeout(t0 + 110 * S);
    assert!(p.calls().next().is_none());
}

/// Two stacks over a simulated line, clock jumping to the next deadline.
struct Line {
    net: PriStack,
    user: PriStack,
    now: Instant,
    net_ev: Vec<PriEvent>,
    user_ev: Vec<PriEvent>,
}

impl Line {
    fn new(variant: Variant) -> Line {
        let now = Instant::now();
        let mut l = Line {
            net: PriStack::new(
                now,
                q921::Config::pri(Side::Network),
                Config::e1(Side::Network, variant),
            ),
            user: PriStack::new(
                now,
                q921::Config::pri(Side::User),
                Config::e1(Side::User, variant),
            ),
            now,
            net_ev: Vec::new(),
            user_ev: Vec::new(),
        };
        l.settle();
        assert!(l.net_ev.contains(&PriEvent::LinkUp) && l.user_ev.contains(&PriEvent::LinkUp));
        l.net_ev.clear();
        l.user_ev.clear();
        l
    }

    /// Delivers everything in flight (no time passes).
    fn settle(&mut self) {
        let now = self.now;
        self.net.pump(now);
        self.user.pump(now);
        loop {
            let mut moved = false;
            while let Some(o) = self.net.poll_output() {
                moved = true;
                match o {
                    StackOutput::Transmit(f) => {
                        let _ = self.user.handle_frame(now, &f);
                    }
                    StackOutput::Event(e) => self.net_ev.push(e),
                    StackOutput::Link(_) => {}
                }
            }
            while let Some(o) = self.user.poll_output() {
                moved = true;
                match o {
                    StackOutput::Transmit(f) => {
                        let _ = self.net.handle_frame(now, &f);
                    }
                    StackOutput::Event(e) => self.user_ev.push(e),
                    StackOutput::Link(_) => {}
                }
            }
            if !moved {
                break;
            }
        }
    }

    fn msg(t: MessageType) -> Message {
        Message::new(Dialect::Q931, CallReference::dummy(), t)
    }

    fn incoming(ev: &[PriEvent]) -> Vec<(CallId, u8)> {
        ev.iter()
            .filter_map(|e| match e {
                PriEvent::Incoming { call, channel, .. } => Some((*call, *channel)),
                _ => None,
            })
            .collect()
    }

    fn idle_count(ev: &[PriEvent]) -> usize {
        ev.iter()
            .filter(|e| matches!(e, PriEvent::Idle { .. }))
            .count()
    }
}

#[test]
fn stacks_call_user_to_network_and_clear() {
    let mut l = Line::new(Variant::EUROISDN);
    let now = l.now;
    let call = l.user.l3.setup(now, setup_template(), None).unwrap();
    l.settle();
    let inc = Line::incoming(&l.net_ev);
    assert_eq!(inc.len(), 1);
    let (ncall, ch) = inc[0];
    assert_eq!(ch, 1);
    for t in [
        MessageType::CALL_PROCEEDING,
        MessageType::ALERTING,
        MessageType::CONNECT,
    ] {
        l.net.l3.send(now, ncall, Line::msg(t)).unwrap();
    }
    l.settle();
    assert_eq!(l.user.l3.call_state(call), CallState::Active);
    assert_eq!(l.net.l3.call_state(ncall), CallState::Active);
    let got: Vec<MessageType> = l
        .user_ev
        .iter()
        .filter_map(|e| match e {
            PriEvent::Message { message, .. } => Some(message.msg_type),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        vec![
            MessageType::CALL_PROCEEDING,
            MessageType::ALERTING,
            MessageType::CONNECT
        ]
    );
    l.user.l3.release(now, call, Cause::NORMAL).unwrap();
    l.settle();
    assert!(l.net_ev.iter().any(|e| matches!(e, PriEvent::Cleared { by_peer: true, cause, .. } if cause.value == Q850Cause::NORMAL_CLEARING)));
    assert_eq!(Line::idle_count(&l.net_ev), 1);
    assert_eq!(Line::idle_count(&l.user_ev), 1);
    assert_eq!(l.net.l3.channel_state(1), Some(ChannelState::Idle));
    assert_eq!(l.user.l3.channel_state(1), Some(ChannelState::Idle));
    assert_eq!(l.net.l3.poll_timeout(), None);
}

#[test]
fn stacks_call_network_to_user_with_connect_acknowledge() {
    let mut l = Line::new(Variant::QSIG);
    let now = l.now;
    let call = l.net.l3.setup(now, setup_template(), None).unwrap();
    l.settle();
    let (ucall, ch) = Line::incoming(&l.user_ev)[0];
    assert_eq!(ch, 31);
    l.user
        .l3
        .send(now, ucall, Line::msg(MessageType::CONNECT))
        .unwrap();
    l.settle();
    // CONNECT ACKNOWLEDGE arrived: T313 stopped.
    assert_eq!(l.user.l3.call_state(ucall), CallState::Active);
    assert_eq!(l.user.l3.poll_timeout(), None);
    assert_eq!(l.net.l3.call_state(call), CallState::Active);
    l.net
        .l3
        .release(now, call, Cause::user(Q850Cause::USER_BUSY))
        .unwrap();
    l.settle();
    assert!(l.user_ev.iter().any(
        |e| matches!(e, PriEvent::Cleared { cause, .. } if cause.value == Q850Cause::USER_BUSY)
    ));
    assert_eq!(Line::idle_count(&l.user_ev), 1);
    assert_eq!(Line::idle_count(&l.net_ev), 1);
}

#[test]
fn stacks_glare_on_one_b_channel() {
    // Both sides take channel 7 at the same instant: the network keeps it, the user's
    // call moves to the channel the network gives it.
    let mut l = Line::new(Variant::EUROISDN);
    let now = l.now;
    let ucall = l.user.l3.setup(now, setup_template(), Some(7)).unwrap();
    let ncall = l.net.l3.setup(now, setup_template(), Some(7)).unwrap();
    l.settle();
    let n_inc = Line::incoming(&l.net_ev);
    let u_inc = Line::incoming(&l.user_ev);
    assert_eq!(u_inc.len(), 1);
    assert_eq!(u_inc[0].1, 7);
    assert_eq!(n_inc.len(), 1);
    assert_ne!(n_inc[0].1, 7);
    // Both answer; both calls become active on different channels.
    l.net
        .l3
        .send(now, n_inc[0].0, Line::msg(MessageType::CONNECT))
        .unwrap();
    l.user
        .l3
        .send(now, u_inc[0].0, Line::msg(MessageType::CONNECT))
        .unwrap();
    l.settle();
    assert_eq!(l.user.l3.call_state(ucall), CallState::Active);
    assert_eq!(l.net.l3.call_state(ncall), CallState::Active);
    assert_eq!(l.user.l3.call_channel(ucall), Some(n_inc[0].1));
    assert!(l.user_ev.contains(&PriEvent::Channel {
        call: ucall,
        channel: n_inc[0].1
    }));
    assert_eq!(
        l.user.l3.channel_state(7),
        Some(ChannelState::Busy(u_inc[0].0))
    );
}

#[test]
fn stacks_restart_of_a_channel_and_of_the_interface() {
    let mut l = Line::new(Variant::EUROISDN);
    let now = l.now;
    let call = l.net.l3.setup(now, setup_template(), Some(5)).unwrap();
    l.settle();
    let (ucall, _) = Line::incoming(&l.user_ev)[0];
    l.user
        .l3
        .send(now, ucall, Line::msg(MessageType::CONNECT))
        .unwrap();
    l.settle();
    l.user.l3.restart(now, Some(5)).unwrap();
    l.settle();
    assert!(
        l.net_ev
            .contains(&PriEvent::Restarted { channels: vec![5] })
    );
    assert!(
        l.user_ev
            .contains(&PriEvent::RestartAcknowledged { channels: vec![5] })
    );
    assert_eq!(l.net.l3.call_state(call), CallState::Null);
    assert_eq!(l.user.l3.call_state(ucall), CallState::Null);
    assert_eq!(Line::idle_count(&l.net_ev), 1);
    // The interface: every channel.
    l.net.l3.restart(now, None).unwrap();
    assert_eq!(
        l.net.l3.restart(now, None),
        Err(PriError::RestartInProgress)
    );
    l.settle();
    assert!(
        l.user_ev
            .iter()
            .any(|e| matches!(e, PriEvent::Restarted { channels } if channels.len() == 30))
    );
    assert!(
        l.net_ev.iter().any(
            |e| matches!(e, PriEvent::RestartAcknowledged { channels } if channels.len() == 30)
        )
    );
    assert!(
        (1..=31)
            .filter(|&c| c != 16)
            .all(|c| l.net.l3.channel_state(c) == Some(ChannelState::Idle))
    );
}

#[test]
fn unanswered_restart_goes_to_maintenance() {
    let t0 = Instant::now();
    let mut p = l3(Side::Network, Variant::EUROISDN);
    p.restart(t0, Some(2)).unwrap();
    drain(&mut p);
    for n in 1..=2u32 {
        p.handle_timeout(t0 + n * 120 * S);
        assert_eq!(types(&drain(&mut p).0), vec![MessageType::RESTART]);
    }
    p.handle_timeout(t0 + 360 * S);
    assert_eq!(drain(&mut p).1, vec![PriEvent::Maintenance { channel: 2 }]);
    assert_eq!(p.channel_state(2), Some(ChannelState::Maintenance));
}

#[test]
fn ni2_restarts_the_interface_when_the_link_first_comes_up() {
    let now = Instant::now();
    let mut l = Line {
        net: PriStack::new(
            now,
            q921::Config::pri(Side::Network),
            Config::e1(Side::Network, Variant::NI2),
        ),
        user: PriStack::new(
            now,
            q921::Config::pri(Side::User),
            Config::e1(Side::User, Variant::NI2),
        ),
        now,
        net_ev: Vec::new(),
        user_ev: Vec::new(),
    };
    l.settle();
    // Each side restarted the interface and acknowledged the other's restart.
    for ev in [&l.net_ev, &l.user_ev] {
        assert!(
            ev.iter()
                .any(|e| matches!(e, PriEvent::Restarted { channels } if channels.len() == 30)),
            "{ev:?}"
        );
        assert!(
            ev.iter().any(
                |e| matches!(e, PriEvent::RestartAcknowledged { channels } if channels.len() == 30)
            ),
            "{ev:?}"
        );
    }
    // Calls go once the channels are back.
    l.user.l3.setup(now, setup_template(), None).unwrap();
    l.settle();
    assert_eq!(Line::incoming(&l.net_ev).len(), 1);
}

fn info_digits(crv: u16, peer_allocated: bool, digits: &str, complete: bool) -> Message {
    let mut m = from_peer(crv, peer_allocated, MessageType::INFORMATION);
    m.set(&mapping::q931::ies::CalledPartyNumber(
        PartyNumber::unknown(Digits::new(digits).expect("digits")),
    ))
    .unwrap();
    if complete {
        m.set_sending_complete();
    }
    m
}

#[test]
fn overlap_receiving_on_the_network_side() {
    let t0 = Instant::now();
    let mut p = l3(Side::Network, Variant::EUROISDN);
    p.handle_message(t0, &peer_setup(3, None).encode()).unwrap();
    drain(&mut p);
    let call = CallId {
        crv: 3,
        ours: false,
    };
    p.send(t0, call, Line::msg(MessageType::SETUP_ACKNOWLEDGE))
        .unwrap();
    let (sent, _) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::SETUP_ACKNOWLEDGE]);
    assert!(
        channel_of(&sent[0]).is_some(),
        "the first answer names the channel"
    );
    assert_eq!(p.call_state(call).value(Side::Network).0, 2);
    assert_eq!(p.poll_timeout(), Some(t0 + 15 * S));
    // More digits: reported, T302 restarted.
    p.handle_message(t0 + 5 * S, &info_digits(3, true, "12", false).encode())
        .unwrap();
    let (_, ev) = drain(&mut p);
    assert!(
        matches!(&ev[0], PriEvent::Message { message, .. } if message.msg_type == MessageType::INFORMATION)
    );
    assert_eq!(p.poll_timeout(), Some(t0 + 20 * S));
    // T302 runs out: the call core decides.
    p.handle_timeout(t0 + 20 * S);
    assert_eq!(drain(&mut p).1, vec![PriEvent::DigitsTimeout { call }]);
    p.send(t0 + 20 * S, call, Line::msg(MessageType::CALL_PROCEEDING))
        .unwrap();
    let (sent, _) = drain(&mut p);
    assert_eq!(channel_of(&sent[0]), None, "the channel was named already");
    assert_eq!(p.call_state(call), CallState::IncomingProceeding);
    assert_eq!(p.poll_timeout(), None);
    // Sending complete in INFORMATION stops T302.
    p.handle_message(t0, &peer_setup(4, None).encode()).unwrap();
    let c4 = CallId {
        crv: 4,
        ours: false,
    };
    p.send(t0, c4, Line::msg(MessageType::SETUP_ACKNOWLEDGE))
        .unwrap();
    p.handle_message(t0, &info_digits(4, true, "99", true).encode())
        .unwrap();
    drain(&mut p);
    assert_eq!(p.poll_timeout(), None);
}

#[test]
fn overlap_sending_on_the_user_side() {
    let t0 = Instant::now();
    let mut p = l3(Side::User, Variant::EUROISDN);
    let mut tmpl = setup_template();
    tmpl.set_sending_complete();
    let call = p.setup_with(t0, tmpl, None, false).unwrap();
    let (sent, _) = drain(&mut p);
    assert!(!sent[0].sending_complete());
    let mut ack = from_peer(call.crv, false, MessageType::SETUP_ACKNOWLEDGE);
    ack.set(&ChannelId::pri_b_channel(1, true)).unwrap();
    p.handle_message(t0, &ack.encode()).unwrap();
    assert_eq!(p.call_state(call).value(Side::User).0, 2);
    assert_eq!(p.poll_timeout(), Some(t0 + 30 * S));
    let mut info = Line::msg(MessageType::INFORMATION);
    info.set_sending_complete();
    p.send(t0 + 10 * S, call, info).unwrap();
    assert_eq!(p.poll_timeout(), Some(t0 + 40 * S));
    let mut cp = from_peer(call.crv, false, MessageType::CALL_PROCEEDING);
    cp.set(&ChannelId::pri_b_channel(1, true)).unwrap();
    p.handle_message(t0 + 11 * S, &cp.encode()).unwrap();
    assert_eq!(p.call_state(call), CallState::OutgoingProceeding);
    assert_eq!(
        p.poll_timeout(),
        Some(t0 + 41 * S),
        "T310 (30 s), T304 stopped"
    );
    drain(&mut p);
    // T304 running out clears the call.
    let c2 = p.setup_with(t0, setup_template(), None, false).unwrap();
    p.handle_message(
        t0,
        &from_peer(c2.crv, false, MessageType::SETUP_ACKNOWLEDGE).encode(),
    )
    .unwrap();
    drain(&mut p);
    p.handle_timeout(t0 + 30 * S);
    let (sent, ev) = drain(&mut p);
    assert!(sent.iter().any(|m| m.msg_type == MessageType::DISCONNECT
        && m.call_ref == CallReference::pri(c2.crv, false)));
    assert!(ev.iter().any(|e| matches!(e, PriEvent::Cleared { call, cause, .. } if *call == c2 && cause.value == Q850Cause::RECOVERY_ON_TIMER_EXPIRY)));
}

#[test]
fn t301_no_answer_after_alerting() {
    let t0 = Instant::now();
    let mut p = l3(Side::Network, Variant::EUROISDN);
    let call = p.setup(t0, setup_template(), None).unwrap();
    let mut al = from_peer(call.crv, false, MessageType::ALERTING);
    al.set(&ChannelId::pri_b_channel(31, true)).unwrap();
    p.handle_message(t0, &al.encode()).unwrap();
    drain(&mut p);
    assert_eq!(p.poll_timeout(), Some(t0 + 180 * S));
    p.handle_timeout(t0 + 180 * S);
    let (sent, ev) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::DISCONNECT]);
    assert_eq!(sent[0].cause().unwrap().value, Q850Cause::NO_ANSWER);
    assert!(matches!(ev[0], PriEvent::Cleared { .. }));
}

#[test]
fn stacks_overlap_call() {
    let mut l = Line::new(Variant::EUROISDN);
    let now = l.now;
    let call = l
        .user
        .l3
        .setup_with(now, setup_template(), None, false)
        .unwrap();
    l.settle();
    let (ncall, _) = Line::incoming(&l.net_ev)[0];
    l.net
        .l3
        .send(now, ncall, Line::msg(MessageType::SETUP_ACKNOWLEDGE))
        .unwrap();
    l.settle();
    assert_eq!(l.user.l3.call_state(call), CallState::OverlapSending);
    let mut info = Line::msg(MessageType::INFORMATION);
    info.set(&mapping::q931::ies::CalledPartyNumber(
        PartyNumber::unknown(Digits::new("55").unwrap()),
    ))
    .unwrap();
    info.set_sending_complete();
    l.user.l3.send(now, call, info).unwrap();
    l.settle();
    assert!(l.net_ev.iter().any(|e| matches!(e, PriEvent::Message { message, .. } if message.msg_type == MessageType::INFORMATION && message.called_number().is_some_and(|n| n.digits.as_str() == "55"))));
    l.net
        .l3
        .send(now, ncall, Line::msg(MessageType::CONNECT))
        .unwrap();
    l.settle();
    assert_eq!(l.user.l3.call_state(call), CallState::Active);
    assert_eq!(l.net.l3.call_state(ncall), CallState::Active);
}

#[test]
fn t322_repeats_the_status_enquiry_then_clears() {
    let t0 = Instant::now();
    let mut p = l3(Side::Network, Variant::EUROISDN);
    p.handle_message(t0, &peer_setup(1, None).encode()).unwrap();
    let call = CallId {
        crv: 1,
        ours: false,
    };
    p.send(t0, call, Line::msg(MessageType::CONNECT)).unwrap();
    drain(&mut p);
    p.status_enquiry(t0, call).unwrap();
    // One enquiry at a time: a second request sends nothing.
    p.status_enquiry(t0, call).unwrap();
    assert_eq!(types(&drain(&mut p).0), vec![MessageType::STATUS_ENQUIRY]);
    for n in 1..=2u32 {
        p.handle_timeout(t0 + n * 4 * S);
        assert_eq!(types(&drain(&mut p).0), vec![MessageType::STATUS_ENQUIRY]);
    }
    p.handle_timeout(t0 + 12 * S);
    let (sent, ev) = drain(&mut p);
    assert_eq!(types(&sent), vec![MessageType::DISCONNECT]);
    assert!(matches!(ev[0], PriEvent::Cleared { .. }));
    // Answered in time: T322 stops, the state is reported.
    let mut p = l3(Side::Network, Variant::EUROISDN);
    p.handle_message(t0, &peer_setup(1, None).encode()).unwrap();
    p.send(t0, call, Line::msg(MessageType::CONNECT)).unwrap();
    p.status_enquiry(t0, call).unwrap();
    drain(&mut p);
    let mut st = with_cause(
        from_peer(1, true, MessageType::STATUS),
        Q850Cause::RESPONSE_TO_STATUS_ENQUIRY,
    );
    st.set(&CallStateIe::new(CallStateValue::ACTIVE)).unwrap();
    p.handle_message(t0 + S, &st.encode()).unwrap();
    assert!(matches!(
        drain(&mut p).1[0],
        PriEvent::Status {
            state: CallStateValue::ACTIVE,
            ..
        }
    ));
    assert_eq!(p.poll_timeout(), None);
}
