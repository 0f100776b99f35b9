//! Our PRI stack (Q.931 over Q.921, `tdm::pri::PriStack`) against Debian's libpri on
//! the far end of the test span, as network side and as user side: calls both ways,
//! presentation restricted, busy and unallocated, normal clearing from either end,
//! RESTART of a channel and of the interface from either end, and glare on one
//! B-channel. Every scenario checks the events on both sides and has tshark read
//! libpri's capture. See tests/pri-peer/peer.c for the peer's actions.

mod common;

use std::path::Path;
use std::time::Instant;

use common::{Core, Peer, Shell, T, check_capture, open_span};
use mapping::cause::{Cause, Q850Cause};
use mapping::number::{Digits, NumberingPlan, PartyNumber, Presentation, Screening, TypeOfNumber};
use mapping::q931::ies::{BearerCapability, Layer1Protocol, TransferCapability};
use mapping::q931::{CallReference, Dialect, Message, MessageType};
use tdm::pri::{CallId, CallState, Config, PriEvent, PriStack, StackOutput, Variant};
use tdm::q921::{self, Side};

/// Our stack and what it reported.
struct Stack {
    s: PriStack,
    events: Vec<PriEvent>,
}

impl Core for Stack {
    fn frame(&mut self, now: Instant, frame: &[u8]) {
        if let Err(e) = self.s.handle_frame(now, frame) {
            eprintln!("rust: frame refused: {e}");
        }
    }

    fn timeout(&mut self, now: Instant) {
        self.s.handle_timeout(now);
    }

    fn deadline(&self) -> Option<Instant> {
        self.s.poll_timeout()
    }

    fn transmit(&mut self) -> Vec<Vec<u8>> {
        // Requests made on `s.l3` directly are moved down here.
        self.s.pump(Instant::now());
        let mut out = Vec::new();
        while let Some(o) = self.s.poll_output() {
            match o {
                StackOutput::Transmit(f) => out.push(f),
                StackOutput::Event(e) => {
                    eprintln!("rust: {e:?}");
                    self.events.push(e);
                }
                StackOutput::Link(e) => eprintln!("rust: link {e:?}"),
            }
        }
        out
    }

    fn recycle(&mut self, frame: Vec<u8>) {
        self.s.recycle(frame);
    }
}

impl Stack {
    fn up(&self) -> bool {
        self.events.contains(&PriEvent::LinkUp)
    }

    fn incoming(&self) -> Vec<(CallId, u8, Message)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                PriEvent::Incoming {
                    call,
                    channel,
                    setup,
                } => Some((*call, *channel, setup.clone())),
                _ => None,
            })
            .collect()
    }

    fn got(&self, call: CallId, t: MessageType) -> bool {
        self.events.iter().any(|e| {
            matches!(e, PriEvent::Message { call: c, message } if *c == call && message.msg_type == t)
        })
    }

    fn cleared(&self, call: CallId) -> Option<(Cause, bool)> {
        self.events.iter().find_map(|e| match e {
            PriEvent::Cleared {
                call: c,
                cause,
                by_peer,
            } if *c == call => Some((*cause, *by_peer)),
            _ => None,
        })
    }

    fn idle(&self, call: CallId) -> bool {
        self.events
            .iter()
            .any(|e| matches!(e, PriEvent::Idle { call: c, .. } if *c == call))
    }
}

fn number(d: &str, presentation: Presentation) -> PartyNumber {
    PartyNumber {
        digits: Digits::new(d).expect("test digits"),
        ton: TypeOfNumber::UNKNOWN,
        npi: NumberingPlan::ISDN,
        presentation: Some(presentation),
        screening: Some(Screening::USER_NOT_SCREENED),
    }
}

fn setup(presentation: Presentation) -> Message {
    Message::setup(
        Dialect::Q931,
        CallReference::dummy(),
        &BearerCapability::circuit_64k(TransferCapability::SPEECH, Some(Layer1Protocol::G711_ALAW)),
        &number("1000", Presentation::ALLOWED),
        Some(&number("2000", presentation)),
    )
    .expect("short numbers fit")
}

fn msg(t: MessageType) -> Message {
    Message::new(Dialect::Q931, CallReference::dummy(), t)
}

fn role(side: Side) -> &'static str {
    match side {
        Side::User => "net",
        Side::Network => "cpe",
    }
}

/// A span to a peer doing `action`, our stack on `side`, the link up on both ends.
fn start(side: Side, action: &str, env: &[(&str, &str)]) -> (common::Span, Shell<Stack>, Peer) {
    let (span, sock, mut peer) = open_span(role(side), action, side == Side::User, env);
    let now = Instant::now();
    let stack = PriStack::new(
        now,
        q921::Config::pri(side),
        Config::e1(side, Variant::EUROISDN),
    );
    let mut shell = Shell::new(
        sock,
        Stack {
            s: stack,
            events: Vec::new(),
        },
        side,
    );
    shell.run_until(&mut peer, 10 * T, |s, p| {
        s.up() && p.count("EVENT DCHAN_UP") == 1
    });
    (span, shell, peer)
}

/// Closes our end and checks what libpri and tshark say.
fn finish(span: common::Span, shell: Shell<Stack>, peer: Peer, side: Side) -> Vec<String> {
    // Our own capture: tshark must see the same directions from our end.
    let ours = span.dir.path().join("ours.pcap");
    shell.write_pcap(&ours);
    // TDM_PRI_RECORD=DIR keeps our capture as DIR/<test name>.pcap (captures/ fixtures).
    if let Some(dir) = std::env::var_os("TDM_PRI_RECORD") {
        let name = std::thread::current()
            .name()
            .unwrap_or("pri")
            .replace("::", "-");
        std::fs::copy(&ours, Path::new(&dir).join(format!("{name}.pcap")))
            .expect("keep the capture");
    }
    let our_role = if side == Side::Network { "net" } else { "cpe" };
    check_capture(&ours, our_role);
    // Closing our end of the span ends the peer.
    drop(shell);
    let seen = peer.finish();
    assert!(seen.iter().all(|l| !l.contains("CONFIG_ERR")), "{seen:?}");
    check_capture(&span.pcap, role(side))
}

fn we_call_and_clear(side: Side) {
    let (span, mut sh, mut peer) = start(side, "answer", &[]);
    let call = sh
        .core
        .s
        .l3
        .setup(Instant::now(), setup(Presentation::RESTRICTED), None)
        .expect("a channel is free");
    sh.run_until(&mut peer, 5 * T, |s, p| {
        s.s.l3.call_state(call) == CallState::Active && p.count("EVENT RING") == 1
    });
    let ring = peer.line("EVENT RING").expect("libpri rang").to_owned();
    // libpri's PRES_PROHIB_USER_NUMBER_NOT_SCREENED is 0x20.
    assert!(ring.contains("called=1000 calling=2000"), "{ring}");
    assert!(ring.contains("pres=32"), "{ring}");
    for t in [
        MessageType::CALL_PROCEEDING,
        MessageType::ALERTING,
        MessageType::CONNECT,
    ] {
        assert!(sh.core.got(call, t), "{t:?}: {:?}", sh.core.events);
    }
    // We clear: DISCONNECT, libpri's RELEASE, our RELEASE COMPLETE.
    sh.core
        .s
        .l3
        .release(Instant::now(), call, Cause::NORMAL)
        .expect("known call");
    sh.run_until(&mut peer, 5 * T, |s, p| {
        s.idle(call) && p.count("EVENT HANGUP_ACK") == 1
    });
    assert!(
        peer.line("EVENT HANGUP_REQ cause=16").is_some(),
        "{:?}",
        peer.seen
    );
    let infos = finish(span, sh, peer, side);
    for m in [
        "SETUP",
        "CALL PROCEEDING",
        "ALERTING",
        "CONNECT",
        "CONNECT ACKNOWLEDGE",
        "DISCONNECT",
        "RELEASE",
        "RELEASE COMPLETE",
    ] {
        assert!(
            infos.iter().any(|i| i.ends_with(&format!("| {m}"))),
            "{m}: {infos:?}"
        );
    }
}

fn libpri_calls_and_clears(side: Side) {
    let (span, mut sh, mut peer) = start(side, "call:1000", &[("PEER_PRES", "restricted")]);
    sh.run_until(&mut peer, 5 * T, |s, _| s.incoming().len() == 1);
    let (call, channel, setup) = sh.core.incoming().remove(0);
    assert_eq!(channel, 1);
    assert_eq!(
        setup
            .called_number()
            .expect("called number")
            .digits
            .as_str(),
        "1000"
    );
    let calling = setup.calling_number().expect("calling number");
    assert_eq!(calling.digits.as_str(), "2000");
    assert_eq!(calling.presentation, Some(Presentation::RESTRICTED));
    let now = Instant::now();
    for t in [
        MessageType::CALL_PROCEEDING,
        MessageType::ALERTING,
        MessageType::CONNECT,
    ] {
        sh.core.s.l3.send(now, call, msg(t)).expect("allowed");
    }
    sh.run_until(&mut peer, 5 * T, |s, p| {
        s.s.l3.call_state(call) == CallState::Active && p.count("EVENT ANSWER channel") == 1
    });
    assert!(peer.line("EVENT PROCEEDING channel=1").is_some());
    assert!(peer.line("EVENT RINGING channel=1").is_some());
    // libpri clears 1 s after the answer.
    sh.run_until(&mut peer, 5 * T, |s, p| {
        s.idle(call) && p.count("EVENT HANGUP") == 1
    });
    let (cause, by_peer) = sh.core.cleared(call).expect("cleared");
    assert!(by_peer);
    assert_eq!(cause.value, Q850Cause::NORMAL_CLEARING);
    finish(span, sh, peer, side);
}

fn libpri_rejects(side: Side, cause: u8) {
    let (span, mut sh, mut peer) = start(side, &format!("reject:{cause}"), &[]);
    let call = sh
        .core
        .s
        .l3
        .setup(Instant::now(), setup(Presentation::ALLOWED), Some(3))
        .expect("channel 3 is free");
    sh.run_until(&mut peer, 5 * T, |s, p| {
        s.idle(call) && p.count("EVENT RING") == 1
    });
    let (c, by_peer) = sh.core.cleared(call).expect("cleared");
    assert!(by_peer);
    assert_eq!(c.value.0, cause);
    // Presentation allowed: libpri's PRES_ALLOWED_USER_NUMBER_NOT_SCREENED is 0.
    assert!(
        peer.line("EVENT RING")
            .is_some_and(|l| l.contains("channel=3") && l.contains("pres=0 "))
    );
    finish(span, sh, peer, side);
}

fn restarts(side: Side) {
    // libpri restarts channel 5 once the link is up; we restart channel 7, then the
    // interface.
    let (span, mut sh, mut peer) = start(side, "restart:5", &[]);
    sh.run_until(&mut peer, 5 * T, |s, p| {
        s.events
            .contains(&PriEvent::Restarted { channels: vec![5] })
            && p.line("EVENT RESTART_ACK channel=5").is_some()
    });
    sh.core
        .s
        .l3
        .restart(Instant::now(), Some(7))
        .expect("no restart pending");
    sh.run_until(&mut peer, 5 * T, |s, p| {
        s.events
            .contains(&PriEvent::RestartAcknowledged { channels: vec![7] })
            && p.line("EVENT RESTART channel=7").is_some()
    });
    sh.core
        .s
        .l3
        .restart(Instant::now(), None)
        .expect("no restart pending");
    sh.run_until(&mut peer, 5 * T, |s, _| {
        s.events.iter().any(
            |e| matches!(e, PriEvent::RestartAcknowledged { channels } if channels.len() == 30),
        )
    });
    let infos = finish(span, sh, peer, side);
    assert!(
        infos.iter().filter(|i| i.ends_with("| RESTART")).count() >= 3,
        "{infos:?}"
    );
    assert!(
        infos
            .iter()
            .filter(|i| i.ends_with("| RESTART ACKNOWLEDGE"))
            .count()
            >= 3,
        "{infos:?}"
    );
}

fn glare(side: Side) {
    // Both ends take B-channel 1 at once: our SETUP waits in layer 2 for the link, and
    // libpri sends its own as soon as the link is up.
    let (span, sock, mut peer) = open_span(
        role(side),
        "call:1000",
        side == Side::User,
        &[("PEER_CHANNEL", "1")],
    );
    let now = Instant::now();
    let mut stack = PriStack::new(
        now,
        q921::Config::pri(side),
        Config::e1(side, Variant::EUROISDN),
    );
    let ours = stack
        .l3
        .setup(now, setup(Presentation::ALLOWED), Some(1))
        .expect("channel 1 is free");
    let mut sh = Shell::new(
        sock,
        Stack {
            s: stack,
            events: Vec::new(),
        },
        side,
    );
    match side {
        Side::User => {
            // The network keeps channel 1 for its call, which we answer; ours moves to
            // the channel libpri gives it.
            sh.run_until(&mut peer, 10 * T, |s, _| s.incoming().len() == 1);
            let (theirs, channel, _) = sh.core.incoming().remove(0);
            assert_eq!(channel, 1);
            let now = Instant::now();
            for t in [
                MessageType::CALL_PROCEEDING,
                MessageType::ALERTING,
                MessageType::CONNECT,
            ] {
                sh.core.s.l3.send(now, theirs, msg(t)).expect("allowed");
            }
            sh.run_until(&mut peer, 5 * T, |s, p| {
                s.s.l3.call_state(ours) == CallState::Active
                    && s.s.l3.call_state(theirs) == CallState::Active
                    && p.count("EVENT ANSWER channel") == 1
            });
            let moved = sh.core.s.l3.call_channel(ours).expect("a channel");
            assert_ne!(moved, 1);
            assert!(sh.core.events.contains(&PriEvent::Channel {
                call: ours,
                channel: moved
            }));
            assert!(
                peer.line(&format!("EVENT ANSWERING channel={moved}"))
                    .is_some()
            );
        }
        Side::Network => {
            // We keep channel 1 (exclusive): libpri's call is refused with cause 44,
            // and libpri answers ours on channel 1.
            sh.run_until(&mut peer, 10 * T, |s, p| {
                s.s.l3.call_state(ours) == CallState::Active
                    && p.line("EVENT HANGUP cause=44").is_some()
            });
            assert_eq!(sh.core.s.l3.call_channel(ours), Some(1));
            assert!(sh.core.incoming().is_empty());
            assert!(peer.line("EVENT ANSWERING channel=1").is_some());
        }
    }
    finish(span, sh, peer, side);
}

fn link_loss_during_a_call(side: Side) {
    // A call is up; then we hear nothing for 8 s: libpri's T200/N200 run out and it
    // re-establishes. The call must end up in the same state on both ends (active on
    // both, or cleared on both), and a new call must work.
    let (span, mut sh, mut peer) = start(side, "answer", &[]);
    let call = sh
        .core
        .s
        .l3
        .setup(Instant::now(), setup(Presentation::ALLOWED), None)
        .expect("a channel is free");
    sh.run_until(&mut peer, 5 * T, |s, _| {
        s.s.l3.call_state(call) == CallState::Active
    });
    let heal = Instant::now() + 8 * T;
    sh.deaf_until = Some(heal);
    // A STATUS ENQUIRY into the broken line: libpri's STATUS goes unacknowledged.
    sh.core
        .s
        .l3
        .status_enquiry(Instant::now(), call)
        .expect("known call");
    sh.run_until(&mut peer, 15 * T, |_, p| p.count("EVENT DCHAN_DOWN") >= 1);
    sh.run_until(&mut peer, 20 * T, |s, p| {
        Instant::now() >= heal
            && s.s.link.is_established()
            && p.count("EVENT DCHAN_UP") >= 2
            && s.events.iter().filter(|e| **e == PriEvent::LinkUp).count() >= 2
    });
    // Let the audit (STATUS ENQUIRY / STATUS) settle.
    let settle = Instant::now() + 2 * T;
    sh.run_until(&mut peer, 5 * T, |_, _| Instant::now() >= settle);
    let ours = sh.core.s.l3.call_state(call);
    let libpri_cleared = peer.count("EVENT HANGUP") > 0;
    eprintln!("after the outage: ours {ours:?}, libpri cleared: {libpri_cleared}");
    assert_eq!(
        ours == CallState::Null,
        libpri_cleared,
        "{:?} / {:?}",
        sh.core.events,
        peer.seen
    );
    if ours != CallState::Null {
        // The audit after re-establishment found libpri's side of the call active.
        assert!(
            sh.core.events.iter().any(|e| matches!(e, PriEvent::Status { call: c, state, .. } if *c == call && state.0 == 10)),
            "{:?}",
            sh.core.events
        );
        sh.core
            .s
            .l3
            .release(Instant::now(), call, Cause::NORMAL)
            .expect("known call");
        sh.run_until(&mut peer, 5 * T, |s, _| s.idle(call));
    }
    let again = sh
        .core
        .s
        .l3
        .setup(Instant::now(), setup(Presentation::ALLOWED), None)
        .expect("a channel is free");
    sh.run_until(&mut peer, 5 * T, |s, _| {
        s.s.l3.call_state(again) == CallState::Active
    });
    finish(span, sh, peer, side);
}

#[test]
fn link_loss_during_a_call_with_libpri_network() {
    link_loss_during_a_call(Side::User);
}

#[test]
fn link_loss_during_a_call_with_libpri_user() {
    link_loss_during_a_call(Side::Network);
}

fn overlap_sending(side: Side) {
    // We dial "10", libpri asks for more (SETUP ACKNOWLEDGE), we send "00" with
    // Sending complete in INFORMATION, libpri answers the 4-digit number.
    let (span, mut sh, mut peer) = start(side, "overlap:4", &[]);
    let mut s10 = Message::setup(
        Dialect::Q931,
        CallReference::dummy(),
        &BearerCapability::circuit_64k(TransferCapability::SPEECH, Some(Layer1Protocol::G711_ALAW)),
        &number("10", Presentation::ALLOWED),
        Some(&number("2000", Presentation::ALLOWED)),
    )
    .expect("fits");
    s10.remove(mapping::q931::IeId::SENDING_COMPLETE);
    let call = sh
        .core
        .s
        .l3
        .setup_with(Instant::now(), s10, None, false)
        .expect("a channel is free");
    sh.run_until(&mut peer, 5 * T, |s, _| {
        s.s.l3.call_state(call) == CallState::OverlapSending
    });
    let mut info = msg(MessageType::INFORMATION);
    info.set(&mapping::q931::ies::CalledPartyNumber(number(
        "00",
        Presentation::ALLOWED,
    )))
    .expect("fits");
    info.set_sending_complete();
    sh.core
        .s
        .l3
        .send(Instant::now(), call, info)
        .expect("allowed in overlap sending");
    sh.run_until(&mut peer, 5 * T, |s, p| {
        s.s.l3.call_state(call) == CallState::Active && p.count("EVENT ANSWERING") == 1
    });
    assert!(peer.line("EVENT NEED_MORE").is_some(), "{:?}", peer.seen);
    assert!(
        peer.line("EVENT ANSWERING")
            .is_some_and(|l| l.ends_with("number=1000")),
        "{:?}",
        peer.seen
    );
    sh.core
        .s
        .l3
        .release(Instant::now(), call, Cause::NORMAL)
        .expect("known call");
    sh.run_until(&mut peer, 5 * T, |s, _| s.idle(call));
    let infos = finish(span, sh, peer, side);
    assert!(
        infos.iter().any(|i| i.ends_with("| SETUP ACKNOWLEDGE")),
        "{infos:?}"
    );
    assert!(
        infos.iter().any(|i| i.ends_with("| INFORMATION")),
        "{infos:?}"
    );
}

#[test]
fn overlap_sending_to_libpri_network() {
    overlap_sending(Side::User);
}

#[test]
fn overlap_sending_to_libpri_user() {
    overlap_sending(Side::Network);
}

fn overlap_receiving(side: Side) {
    // libpri dials "10" without Sending complete; we ask for more (SETUP ACKNOWLEDGE),
    // libpri sends "0" and "0" in INFORMATION messages, we answer "1000".
    let (span, mut sh, mut peer) = start(side, "call:10", &[("PEER_MORE", "00")]);
    sh.run_until(&mut peer, 5 * T, |s, _| s.incoming().len() == 1);
    let (call, _, setup) = sh.core.incoming().remove(0);
    assert!(!setup.sending_complete());
    let mut number = setup
        .called_number()
        .expect("called number")
        .digits
        .as_str()
        .to_owned();
    assert_eq!(number, "10");
    sh.core
        .s
        .l3
        .send(Instant::now(), call, msg(MessageType::SETUP_ACKNOWLEDGE))
        .expect("allowed");
    sh.run_until(&mut peer, 5 * T, |s, _| {
        s.events
            .iter()
            .filter(|e| matches!(e, PriEvent::Message { message, .. } if message.msg_type == MessageType::INFORMATION))
            .count()
            == 2
    });
    for e in &sh.core.events {
        if let PriEvent::Message { message, .. } = e
            && message.msg_type == MessageType::INFORMATION
        {
            number.push_str(message.called_number().expect("digits").digits.as_str());
        }
    }
    assert_eq!(number, "1000");
    // The peer printed it before sending the digits; its line may still be on its way.
    if peer.line("EVENT SETUP_ACK").is_none() {
        peer.wait_line("EVENT SETUP_ACK", 5 * T);
    }
    let now = Instant::now();
    for t in [
        MessageType::CALL_PROCEEDING,
        MessageType::ALERTING,
        MessageType::CONNECT,
    ] {
        sh.core.s.l3.send(now, call, msg(t)).expect("allowed");
    }
    sh.run_until(&mut peer, 5 * T, |s, p| {
        s.s.l3.call_state(call) == CallState::Active && p.count("EVENT ANSWER channel") == 1
    });
    sh.run_until(&mut peer, 5 * T, |s, _| s.idle(call));
    finish(span, sh, peer, side);
}

#[test]
fn overlap_receiving_from_libpri_network() {
    overlap_receiving(Side::User);
}

#[test]
fn overlap_receiving_from_libpri_user() {
    overlap_receiving(Side::Network);
}

#[test]
fn user_side_calls_libpri_network_and_clears() {
    we_call_and_clear(Side::User);
}

#[test]
fn network_side_calls_libpri_user_and_clears() {
    we_call_and_clear(Side::Network);
}

#[test]
fn libpri_network_calls_our_user_side() {
    libpri_calls_and_clears(Side::User);
}

#[test]
fn libpri_user_calls_our_network_side() {
    libpri_calls_and_clears(Side::Network);
}

#[test]
fn libpri_network_answers_busy() {
    libpri_rejects(Side::User, 17);
}

#[test]
fn libpri_user_answers_unallocated_number() {
    libpri_rejects(Side::Network, 1);
}

#[test]
fn restart_both_ways_with_libpri_network() {
    restarts(Side::User);
}

#[test]
fn restart_both_ways_with_libpri_user() {
    restarts(Side::Network);
}

#[test]
fn glare_against_libpri_network() {
    glare(Side::User);
}

#[test]
fn glare_against_libpri_user() {
    glare(Side::Network);
}
