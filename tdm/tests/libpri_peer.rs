//! Our Q.921 against an independent LAPD: Debian's libpri in `tests/pri-peer/peer.c`, on
//! the far end of a test span (an AF_UNIX SOCK_SEQPACKET socket, `tdm::test_span`).
//!
//! The peer is built by the test with `gcc ... -lpri` (needs `build-essential` and
//! `libpri-dev`, tests/debian-packages.txt). Each test, for both roles (libpri network
//! and we user, then the reverse):
//! - both sides send SABME at once; both must report the link up (libpri `DCHAN_UP`, our
//!   DL-ESTABLISH);
//! - an I frame carrying a Q.931 STATUS ENQUIRY (encoded by `mapping`) is acknowledged,
//!   and libpri's STATUS comes back;
//! - we drop every frame for a while: libpri's T200/N200 run out (`DCHAN_DOWN`), the
//!   link is established again on both sides, and STATUS ENQUIRY works again;
//! - tshark decodes libpri's LINUX_LAPD capture with no malformed frame or expert
//!   error, and labels the directions right.
//!
//! Every wait is bounded; the clock is real (the peer runs on it).

mod common;

use std::time::Instant;

use common::{Core, Shell, T, check_capture, open_span};
use mapping::cause::Cause;
use mapping::number::{Digits, PartyNumber};
use mapping::q931::ies::{BearerCapability, ChannelId, Layer1Protocol, TransferCapability};
use mapping::q931::{CallReference, Dialect, Message, MessageType};
use tdm::q921::{Config, DataLink, Event, Output, Request, Side};

/// Our data link entity and what it told layer 3.
struct Link {
    link: DataLink,
    events: Vec<Event>,
}

impl Core for Link {
    fn frame(&mut self, now: Instant, frame: &[u8]) {
        if let Err(e) = self.link.handle_frame(now, frame) {
            eprintln!("rust: frame refused: {e}");
        }
    }

    fn timeout(&mut self, now: Instant) {
        self.link.handle_timeout(now);
    }

    fn deadline(&self) -> Option<Instant> {
        self.link.poll_timeout()
    }

    fn transmit(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(o) = self.link.poll_output() {
            match o {
                Output::Transmit(f) => out.push(f),
                Output::Event(e) => {
                    eprintln!("rust: {e:?}");
                    self.events.push(e);
                }
            }
        }
        out
    }

    fn recycle(&mut self, frame: Vec<u8>) {
        self.link.recycle(frame);
    }
}

impl Link {
    fn ups(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::EstablishIndication | Event::EstablishConfirm))
            .count()
    }

    /// Messages of type `t` received so far for call reference `cr` (flag set: the
    /// answer to a reference we allocated).
    fn received(&self, cr: u16, t: MessageType) -> usize {
        self.events
            .iter()
            .filter(|e| match e {
                Event::Data(d) => Message::decode(d, Dialect::Q931)
                    .is_ok_and(|m| m.msg_type == t && m.call_ref == CallReference::pri(cr, true)),
                _ => false,
            })
            .count()
    }

    fn send(&mut self, m: &Message) {
        self.link
            .handle_request(Instant::now(), Request::Data(&m.encode()))
            .expect("the message fits N201");
    }

    fn status_enquiry(&mut self, cr: u16) {
        self.send(&Message::new(
            Dialect::Q931,
            CallReference::pri(cr, false),
            MessageType::STATUS_ENQUIRY,
        ));
    }

    /// SETUP for speech on B-channel 1 (exclusive), 2000 calling 1000.
    fn setup(&mut self, cr: u16) {
        let number = |d: &str| PartyNumber::unknown(Digits::new(d).expect("test digits"));
        let mut m = Message::setup(
            Dialect::Q931,
            CallReference::pri(cr, false),
            &BearerCapability::circuit_64k(
                TransferCapability::SPEECH,
                Some(Layer1Protocol::G711_ALAW),
            ),
            &number("1000"),
            Some(&number("2000")),
        )
        .expect("short numbers fit");
        m.set(&ChannelId::pri_b_channel(1, true))
            .expect("a channel identification fits");
        m.set_sending_complete();
        self.send(&m);
    }
}

/// The scenario, with our entity on `side` and libpri on the other.
fn scenario(side: Side, we_listen: bool) {
    let role = match side {
        Side::User => "net",
        Side::Network => "cpe",
    };
    let (files, sock, mut peer) = open_span(role, "answer", we_listen, &[]);
    let mut span = Shell::new(
        sock,
        Link {
            // Our N200 outlasts libpri's while we are deaf: with equal timers the side
            // whose T200 started first gives up first, and our SABME would then reset
            // libpri's link before its own N200 ran out (no DCHAN_DOWN), a race a loaded
            // machine decides (seen in CI).
            link: DataLink::new(Config {
                n200: 12,
                ..Config::pri(side)
            }),
            events: Vec::new(),
        },
        side,
    );

    // Both sides send SABME (libpri does at start; we ask for it): up on both.
    span.core
        .link
        .handle_request(Instant::now(), Request::Establish)
        .expect("establish");
    span.run_until(&mut peer, 10 * T, |s, p| {
        s.link.is_established() && s.ups() == 1 && p.count("EVENT DCHAN_UP") == 1
    });

    // A call from us (Q.931 by mapping's codec): libpri rings and answers.
    span.core.setup(1);
    span.run_until(&mut peer, 5 * T, |_, p| p.count("EVENT RING") == 1);
    let ring = peer
        .seen
        .iter()
        .find(|l| l.starts_with("EVENT RING"))
        .expect("counted above");
    assert!(
        ring.contains("called=1000 calling=2000 channel=1"),
        "{ring}"
    );
    span.run_until(&mut peer, 5 * T, |s, _| {
        s.received(1, MessageType::CALL_PROCEEDING) == 1 && s.received(1, MessageType::CONNECT) == 1
    });
    // STATUS ENQUIRY in an I frame: acknowledged, answered with STATUS.
    span.core.status_enquiry(1);
    span.run_until(&mut peer, 5 * T, |s, _| {
        let (vs, va, _) = s.link.variables();
        s.received(1, MessageType::STATUS) == 1 && vs == va
    });
    // Cleared from our side.
    span.core.send(&Message::clearing(
        Dialect::Q931,
        CallReference::pri(1, false),
        MessageType::RELEASE,
        Some(Cause::NORMAL),
    ));
    span.run_until(&mut peer, 5 * T, |s, p| {
        s.received(1, MessageType::RELEASE_COMPLETE) == 1 && p.count("EVENT HANGUP") >= 1
    });

    // The line breaks one way: we hear nothing. A STATUS ENQUIRY for an unknown call gets
    // libpri to send an I frame (RELEASE COMPLETE, cause 81) we never acknowledge, so its
    // T200 runs N200 times and it gives up.
    let heal = Instant::now() + 8 * T;
    span.deaf_until = Some(heal);
    span.core.status_enquiry(2);
    span.run_until(&mut peer, 15 * T, |_, p| p.count("EVENT DCHAN_DOWN") >= 1);
    // The line heals: both come up again, and messages flow.
    span.run_until(&mut peer, 20 * T, |s, p| {
        Instant::now() >= heal
            && s.link.is_established()
            && s.ups() >= 2
            && p.count("EVENT DCHAN_UP") >= 2
    });
    span.core.status_enquiry(3);
    span.run_until(&mut peer, 5 * T, |s, _| {
        s.received(3, MessageType::RELEASE_COMPLETE) == 1
    });

    let ours = files.dir.path().join("ours.pcap");
    span.write_pcap(&ours);
    check_capture(&ours, if side == Side::Network { "net" } else { "cpe" });
    drop(span);
    let seen = peer.finish();
    assert!(seen.iter().all(|l| !l.contains("CONFIG_ERR")), "{seen:?}");
    let infos = check_capture(&files.pcap, role);
    let count = |what: &str| infos.iter().filter(|i| i.ends_with(what)).count();
    assert_eq!(count("| STATUS"), 1, "{infos:?}");
    assert_eq!(count("| SETUP"), 1, "{infos:?}");
    // Three enquiries; the one sent into the broken line was also retransmitted.
    assert!(count("| STATUS ENQUIRY") > 3, "{infos:?}");
}

#[test]
fn libpri_network_and_our_user_side() {
    scenario(Side::User, true);
}

#[test]
fn libpri_user_and_our_network_side() {
    scenario(Side::Network, false);
}
