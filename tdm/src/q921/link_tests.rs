//! Tests of the data link entity on simulated time.

use std::time::{Duration, Instant};

use super::*;

const S: Duration = Duration::from_secs(1);

/// What the entity sent, decoded, as (kind, command, P/F, N(S), N(R)).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Sent {
    kind: &'static str,
    command: bool,
    pf: bool,
    ns: Option<u8>,
    nr: Option<u8>,
    info: Vec<u8>,
}

fn split(link: &mut DataLink) -> (Vec<Sent>, Vec<Event>) {
    let side = link.config().side;
    let mut sent = Vec::new();
    let mut events = Vec::new();
    while let Some(o) = link.poll_output() {
        match o {
            Output::Transmit(bytes) => {
                let f = Frame::decode(&bytes).expect("we send valid frames");
                // A command from `side` carries the C/R bit side.cr_bit(true).
                let command = f.cr == side.cr_bit(true);
                let (ns, nr) = match f.control {
                    Control::I { ns, nr, .. } => (Some(ns), Some(nr)),
                    Control::S { nr, .. } => (None, Some(nr)),
                    Control::U { .. } => (None, None),
                };
                sent.push(Sent {
                    kind: f.kind(),
                    command,
                    pf: f.control.pf(),
                    ns,
                    nr,
                    info: f.info.to_vec(),
                });
            }
            Output::Event(e) => events.push(e),
        }
    }
    (sent, events)
}

/// A frame as the network-side peer of a user-side entity sends it.
fn from_net(command: bool, control: Control, info: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Frame {
        sapi: Sapi::CALL_CONTROL,
        cr: Side::Network.cr_bit(command),
        tei: 0,
        control,
        info,
    }
    .encode(&mut out);
    out
}

fn u(func: UFunction, pf: bool) -> Control {
    Control::U { func, pf }
}

fn s(func: SFunction, nr: u8, pf: bool) -> Control {
    Control::S { func, nr, pf }
}

fn i(ns: u8, nr: u8, p: bool) -> Control {
    Control::I { ns, nr, p }
}

/// A user-side entity brought up by the network's SABME at `t0`.
fn established(t0: Instant) -> DataLink {
    let mut l = DataLink::new(Config::pri(Side::User));
    l.handle_frame(t0, &from_net(true, u(UFunction::SABME, true), &[]))
        .unwrap();
    let (sent, ev) = split(&mut l);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].kind, sent[0].command, sent[0].pf),
        ("UA", false, true)
    );
    assert_eq!(ev, vec![Event::EstablishIndication]);
    assert_eq!(l.state(), State::MultipleFrameEstablished);
    assert_eq!(l.timer(Timer::T203), Some(t0 + 10 * S));
    l
}

#[test]
fn cr_bits_follow_the_side() {
    // §3.3.2: network commands C/R=1, user commands C/R=0.
    assert!(Side::Network.cr_bit(true));
    assert!(!Side::Network.cr_bit(false));
    assert!(!Side::User.cr_bit(true));
    assert!(Side::User.cr_bit(false));
    assert!(Side::User.received_is_command(true));
    assert!(Side::Network.received_is_command(false));
    let mut l = DataLink::new(Config::pri(Side::Network));
    let t0 = Instant::now();
    l.handle_request(t0, Request::Establish).unwrap();
    let (sent, _) = split(&mut l);
    assert_eq!(sent[0].kind, "SABME");
    // On the wire: 0x02 0x01 0x7F from the network.
    let mut l = DataLink::new(Config::pri(Side::Network));
    l.handle_request(t0, Request::Establish).unwrap();
    assert_eq!(
        l.poll_output(),
        Some(Output::Transmit(vec![0x02, 0x01, 0x7F]))
    );
}

#[test]
fn establish_confirm_and_sabme_retries_until_released() {
    let t0 = Instant::now();
    let mut cfg = Config::pri(Side::User);
    cfg.auto_establish = false;
    let mut l = DataLink::new(cfg);
    l.handle_request(t0, Request::Establish).unwrap();
    assert_eq!(l.state(), State::AwaitingEstablishment);
    assert_eq!(l.poll_timeout(), Some(t0 + S));
    assert_eq!(split(&mut l).0[0].kind, "SABME");
    // SABME, then N200 = 3 retransmissions, then release (§5.5.1.3).
    for n in 1..=3u32 {
        l.handle_timeout(t0 + n * S);
        let (sent, ev) = split(&mut l);
        assert!(ev.is_empty());
        assert_eq!(sent.iter().filter(|f| f.kind == "SABME").count(), 1);
    }
    l.handle_timeout(t0 + 4 * S);
    let (sent, ev) = split(&mut l);
    assert!(sent.is_empty(), "auto_establish is off");
    assert_eq!(
        ev,
        vec![Event::Error(MdlError::G), Event::ReleaseIndication]
    );
    assert_eq!(l.state(), State::TeiAssigned);
    assert_eq!(l.poll_timeout(), None);

    // Again, answered this time: DL-ESTABLISH confirm.
    l.handle_request(t0, Request::Establish).unwrap();
    split(&mut l);
    l.handle_frame(t0, &from_net(false, u(UFunction::UA, true), &[]))
        .unwrap();
    let (_, ev) = split(&mut l);
    assert_eq!(ev, vec![Event::EstablishConfirm]);
    assert!(l.is_established());
}

#[test]
fn sabme_collision_comes_up() {
    // Both sides send SABME (§5.5.1.3): answer UA, come up on the peer's UA.
    let t0 = Instant::now();
    let mut l = DataLink::new(Config::pri(Side::User));
    l.handle_request(t0, Request::Establish).unwrap();
    split(&mut l);
    l.handle_frame(t0, &from_net(true, u(UFunction::SABME, true), &[]))
        .unwrap();
    let (sent, ev) = split(&mut l);
    assert_eq!(
        (sent[0].kind, sent[0].command, sent[0].pf),
        ("UA", false, true)
    );
    assert!(ev.is_empty());
    assert_eq!(l.state(), State::AwaitingEstablishment);
    l.handle_frame(t0, &from_net(false, u(UFunction::UA, true), &[]))
        .unwrap();
    let (_, ev) = split(&mut l);
    assert_eq!(ev, vec![Event::EstablishConfirm]);
    // A UA with F=0 is not an answer.
    let mut l = DataLink::new(Config::pri(Side::User));
    l.handle_request(t0, Request::Establish).unwrap();
    split(&mut l);
    l.handle_frame(t0, &from_net(false, u(UFunction::UA, false), &[]))
        .unwrap();
    assert_eq!(l.state(), State::AwaitingEstablishment);
}

#[test]
fn data_both_ways_and_acknowledgement() {
    let t0 = Instant::now();
    let mut l = established(t0);
    // Peer's I frame with N(S)=0: delivered, acknowledged with RR N(R)=1.
    l.handle_frame(t0, &from_net(true, i(0, 0, false), b"abc"))
        .unwrap();
    let (sent, ev) = split(&mut l);
    assert_eq!(ev, vec![Event::Data(b"abc".to_vec())]);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        (sent[0].kind, sent[0].command, sent[0].nr),
        ("RR", false, Some(1))
    );
    // Ours: I frame N(S)=0 N(R)=1, T200 running instead of T203.
    l.handle_request(t0, Request::Data(b"xyz")).unwrap();
    let (sent, _) = split(&mut l);
    assert_eq!(sent[0].kind, "I");
    assert_eq!(
        (sent[0].ns, sent[0].nr, sent[0].command),
        (Some(0), Some(1), true)
    );
    assert_eq!(sent[0].info, b"xyz");
    assert_eq!(l.timer(Timer::T200), Some(t0 + S));
    assert_eq!(l.timer(Timer::T203), None);
    // Acknowledged by RR N(R)=1: T200 stops, T203 restarts.
    let t1 = t0 + S / 2;
    l.handle_frame(t1, &from_net(false, s(SFunction::RR, 1, false), &[]))
        .unwrap();
    assert_eq!(l.timer(Timer::T200), None);
    assert_eq!(l.timer(Timer::T203), Some(t1 + 10 * S));
    assert_eq!(l.variables(), (1, 1, 1));
    // A poll (RR command P=1) is answered with RR response F=1.
    l.handle_frame(t1, &from_net(true, s(SFunction::RR, 1, true), &[]))
        .unwrap();
    let (sent, _) = split(&mut l);
    assert_eq!(
        (sent[0].kind, sent[0].command, sent[0].pf),
        ("RR", false, true)
    );
    // Too long for N201.
    assert_eq!(
        l.handle_request(t1, Request::Data(&[0; 261])),
        Err(TxError::TooLong(261))
    );
}

#[test]
fn t200_retransmission_then_n200_reestablish_then_release() {
    let t0 = Instant::now();
    let mut l = established(t0);
    l.handle_request(t0, Request::Data(b"m0")).unwrap();
    split(&mut l);
    // T200: the last I frame again with P=1 (§5.6.7), timer recovery.
    l.handle_timeout(t0 + S);
    let (sent, _) = split(&mut l);
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].kind, sent[0].ns, sent[0].pf), ("I", Some(0), true));
    assert_eq!(l.state(), State::TimerRecovery);
    for n in 2..=3u32 {
        l.handle_timeout(t0 + n * S);
        let (sent, _) = split(&mut l);
        assert_eq!((sent[0].kind, sent[0].pf), ("I", true));
    }
    // N200 exhausted: re-establish (§5.7), the frame is discarded.
    l.handle_timeout(t0 + 4 * S);
    let (sent, ev) = split(&mut l);
    assert_eq!(ev, vec![Event::Error(MdlError::I)]);
    assert_eq!(sent[0].kind, "SABME");
    assert_eq!(l.state(), State::AwaitingEstablishment);
    // SABME unanswered N200 times: link down, and (auto) establishing again.
    for n in 5..=7u32 {
        l.handle_timeout(t0 + n * S);
        assert_eq!(split(&mut l).0[0].kind, "SABME");
    }
    l.handle_timeout(t0 + 8 * S);
    let (sent, ev) = split(&mut l);
    assert_eq!(
        ev,
        vec![Event::Error(MdlError::G), Event::ReleaseIndication]
    );
    assert_eq!(sent[0].kind, "SABME");
    // A further failed round is not indicated again.
    for n in 9..=12u32 {
        l.handle_timeout(t0 + n * S);
    }
    let (_, ev) = split(&mut l);
    assert_eq!(ev, vec![Event::Error(MdlError::G)]);
    // The peer answers: up again.
    l.handle_frame(t0 + 12 * S, &from_net(false, u(UFunction::UA, true), &[]))
        .unwrap();
    assert_eq!(split(&mut l).1, vec![Event::EstablishIndication]);
    assert_eq!(l.variables(), (0, 0, 0));
}

#[test]
fn poll_answered_in_timer_recovery_resends_the_rest() {
    let t0 = Instant::now();
    let mut l = established(t0);
    for m in [b"m0", b"m1", b"m2"] {
        l.handle_request(t0, Request::Data(m)).unwrap();
    }
    assert_eq!(split(&mut l).0.len(), 3);
    l.handle_timeout(t0 + S);
    let (sent, _) = split(&mut l);
    assert_eq!((sent[0].ns, sent[0].pf), (Some(2), true));
    // The peer got m0 only: RR F=1 N(R)=1 -> m1 and m2 again, back to state 7.
    l.handle_frame(t0 + S, &from_net(false, s(SFunction::RR, 1, true), &[]))
        .unwrap();
    let (sent, _) = split(&mut l);
    assert_eq!(
        sent.iter().map(|f| f.ns).collect::<Vec<_>>(),
        vec![Some(1), Some(2)]
    );
    assert_eq!(l.state(), State::MultipleFrameEstablished);
    assert_eq!(l.variables(), (3, 1, 0));
}

#[test]
fn rej_recovery() {
    let t0 = Instant::now();
    let mut l = established(t0);
    for m in [b"m0", b"m1", b"m2"] {
        l.handle_request(t0, Request::Data(m)).unwrap();
    }
    split(&mut l);
    // §5.6.3.2: REJ N(R)=1 -> retransmit from N(S)=1.
    l.handle_frame(t0, &from_net(false, s(SFunction::REJ, 1, false), &[]))
        .unwrap();
    let (sent, _) = split(&mut l);
    assert_eq!(
        sent.iter()
            .map(|f| (f.ns, f.info.clone()))
            .collect::<Vec<_>>(),
        vec![(Some(1), b"m1".to_vec()), (Some(2), b"m2".to_vec())]
    );
    assert_eq!(l.variables(), (3, 1, 0));
    // Receiving side: an N(S) gap gives one REJ, then frames are dropped until the gap
    // is filled.
    l.handle_frame(t0, &from_net(true, i(1, 1, false), b"x"))
        .unwrap();
    let (sent, ev) = split(&mut l);
    assert!(ev.is_empty());
    assert_eq!((sent[0].kind, sent[0].nr), ("REJ", Some(0)));
    l.handle_frame(t0, &from_net(true, i(2, 1, false), b"y"))
        .unwrap();
    assert!(split(&mut l).0.is_empty());
    l.handle_frame(t0, &from_net(true, i(0, 1, false), b"w"))
        .unwrap();
    let (sent, ev) = split(&mut l);
    assert_eq!(ev, vec![Event::Data(b"w".to_vec())]);
    assert_eq!((sent[0].kind, sent[0].nr), ("RR", Some(1)));
}

#[test]
fn rnr_holds_transmission_until_the_peer_is_ready() {
    let t0 = Instant::now();
    let mut l = established(t0);
    l.handle_frame(t0, &from_net(false, s(SFunction::RNR, 0, false), &[]))
        .unwrap();
    l.handle_request(t0, Request::Data(b"held")).unwrap();
    assert!(split(&mut l).0.is_empty());
    // T200 polls the busy peer (§5.6.5).
    l.handle_timeout(t0 + S);
    let (sent, _) = split(&mut l);
    assert_eq!(
        (sent[0].kind, sent[0].command, sent[0].pf),
        ("RR", true, true)
    );
    assert_eq!(l.state(), State::TimerRecovery);
    // Still busy: polled again at the next T200.
    l.handle_frame(t0 + S, &from_net(false, s(SFunction::RNR, 0, true), &[]))
        .unwrap();
    assert!(split(&mut l).0.is_empty());
    l.handle_timeout(t0 + 2 * S);
    let (sent, _) = split(&mut l);
    assert_eq!((sent[0].kind, sent[0].pf), ("RR", true));
    // Ready: the held message goes.
    l.handle_frame(t0 + 2 * S, &from_net(false, s(SFunction::RR, 0, true), &[]))
        .unwrap();
    let (sent, _) = split(&mut l);
    assert_eq!((sent[0].kind, sent[0].info.as_slice()), ("I", &b"held"[..]));
}

#[test]
fn own_receiver_busy_sends_rnr() {
    let t0 = Instant::now();
    let mut l = established(t0);
    l.set_own_busy(t0, true);
    assert_eq!(split(&mut l).0[0].kind, "RNR");
    // An I frame while busy is discarded; its poll answered with RNR F=1.
    l.handle_frame(t0, &from_net(true, i(0, 0, true), b"x"))
        .unwrap();
    let (sent, ev) = split(&mut l);
    assert!(ev.is_empty());
    assert_eq!((sent[0].kind, sent[0].pf), ("RNR", true));
    l.set_own_busy(t0, false);
    assert_eq!(split(&mut l).0[0].kind, "RR");
}

#[test]
fn window_of_k_outstanding_frames() {
    let t0 = Instant::now();
    let mut l = established(t0);
    for n in 0..10u8 {
        l.handle_request(t0, Request::Data(&[n])).unwrap();
    }
    let (sent, _) = split(&mut l);
    assert_eq!(sent.len(), 7);
    // Three acknowledged: three more go.
    l.handle_frame(t0, &from_net(false, s(SFunction::RR, 3, false), &[]))
        .unwrap();
    let (sent, _) = split(&mut l);
    assert_eq!(
        sent.iter().map(|f| f.ns).collect::<Vec<_>>(),
        vec![Some(7), Some(8), Some(9)]
    );
    // T200 restarted for what remains.
    assert_eq!(l.timer(Timer::T200), Some(t0 + S));
}

#[test]
fn t203_idle_poll() {
    let t0 = Instant::now();
    let mut l = established(t0);
    l.handle_timeout(t0 + 10 * S);
    let (sent, _) = split(&mut l);
    assert_eq!(
        (sent[0].kind, sent[0].command, sent[0].pf),
        ("RR", true, true)
    );
    assert_eq!(l.state(), State::TimerRecovery);
    l.handle_frame(
        t0 + 10 * S,
        &from_net(false, s(SFunction::RR, 0, true), &[]),
    )
    .unwrap();
    assert_eq!(l.state(), State::MultipleFrameEstablished);
    assert_eq!(l.timer(Timer::T203), Some(t0 + 20 * S));
}

#[test]
fn nr_error_and_frame_errors_reestablish() {
    let t0 = Instant::now();
    let mut l = established(t0);
    // N(R)=5 acknowledges frames never sent (§5.7.1).
    l.handle_frame(t0, &from_net(false, s(SFunction::RR, 5, false), &[]))
        .unwrap();
    let (sent, ev) = split(&mut l);
    assert_eq!(ev, vec![Event::Error(MdlError::J)]);
    assert_eq!(sent[0].kind, "SABME");
    assert_eq!(l.state(), State::AwaitingEstablishment);

    let mut l = established(t0);
    // An RR with an information field (§5.8.5).
    assert!(l.handle_frame(t0, &[0x02, 0x01, 0x01, 0x00, 0x55]).is_err());
    let (sent, ev) = split(&mut l);
    assert_eq!(ev, vec![Event::Error(MdlError::L)]);
    assert_eq!(sent[0].kind, "SABME");

    // Frames of another TEI or garbage change nothing.
    let mut l = established(t0);
    assert_eq!(
        l.handle_frame(t0, &[0x02, 0x03, 0x7F]),
        Err(RxError::NotOurs)
    );
    assert!(l.handle_frame(t0, &[0x02]).is_err());
    assert!(split(&mut l).0.is_empty());
    // DISC: UA and released.
    l.handle_frame(t0, &from_net(true, u(UFunction::DISC, true), &[]))
        .unwrap();
    let (sent, ev) = split(&mut l);
    assert_eq!(sent[0].kind, "UA");
    assert_eq!(ev[0], Event::ReleaseIndication);
}

#[test]
fn release_request() {
    let t0 = Instant::now();
    let mut l = established(t0);
    l.handle_request(t0, Request::Release).unwrap();
    let (sent, _) = split(&mut l);
    assert_eq!((sent[0].kind, sent[0].pf), ("DISC", true));
    assert_eq!(l.state(), State::AwaitingRelease);
    l.handle_frame(t0, &from_net(false, u(UFunction::UA, true), &[]))
        .unwrap();
    assert_eq!(split(&mut l).1, vec![Event::ReleaseConfirm]);
    assert_eq!(l.state(), State::TeiAssigned);
}

/// Two entities joined by a simulated line that may lose frames.
struct Pair {
    a: DataLink,
    b: DataLink,
    now: Instant,
    a_events: Vec<Event>,
    b_events: Vec<Event>,
    /// Frames put on the line so far; `lose(n)` decides the n-th.
    sent: usize,
    lose: Box<dyn Fn(usize) -> bool>,
}

impl Pair {
    fn new(lose: impl Fn(usize) -> bool + 'static) -> Self {
        Pair {
            a: DataLink::new(Config::pri(Side::Network)),
            b: DataLink::new(Config::pri(Side::User)),
            now: Instant::now(),
            a_events: Vec::new(),
            b_events: Vec::new(),
            sent: 0,
            lose: Box::new(lose),
        }
    }

    /// Moves frames until both are quiet; then jumps to the next deadline. Returns
    /// false when nothing is left to do.
    fn step(&mut self) -> bool {
        let mut moved = false;
        loop {
            let mut any = false;
            while let Some(o) = self.a.poll_output() {
                any = true;
                match o {
                    Output::Transmit(f) => {
                        self.sent += 1;
                        if !(self.lose)(self.sent) {
                            let _ = self.b.handle_frame(self.now, &f);
                        }
                    }
                    Output::Event(e) => self.a_events.push(e),
                }
            }
            while let Some(o) = self.b.poll_output() {
                any = true;
                match o {
                    Output::Transmit(f) => {
                        self.sent += 1;
                        if !(self.lose)(self.sent) {
                            let _ = self.a.handle_frame(self.now, &f);
                        }
                    }
                    Output::Event(e) => self.b_events.push(e),
                }
            }
            if !any {
                break;
            }
            moved = true;
        }
        if moved {
            return true;
        }
        let next = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(t) => {
                self.now = t;
                self.a.handle_timeout(t);
                self.b.handle_timeout(t);
                true
            }
            None => false,
        }
    }

    fn data(events: &[Event]) -> Vec<Vec<u8>> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Data(d) => Some(d.clone()),
                _ => None,
            })
            .collect()
    }

    fn run_until(&mut self, limit: Duration, done: impl Fn(&Pair) -> bool) {
        let end = self.now + limit;
        while !done(self) && self.now < end {
            if !self.step() {
                break;
            }
        }
        assert!(done(self), "not done by {limit:?}");
    }
}

#[test]
fn two_entities_both_establish_then_exchange() {
    let mut p = Pair::new(|_| false);
    let t = p.now;
    p.a.handle_request(t, Request::Establish).unwrap();
    p.b.handle_request(t, Request::Establish).unwrap();
    p.run_until(5 * S, |p| p.a.is_established() && p.b.is_established());
    assert_eq!(p.a_events, vec![Event::EstablishConfirm]);
    assert_eq!(p.b_events, vec![Event::EstablishConfirm]);
    let msgs: Vec<Vec<u8>> = (0..300u16).map(|n| n.to_be_bytes().to_vec()).collect();
    for m in &msgs {
        p.a.handle_request(p.now, Request::Data(m)).unwrap();
        p.b.handle_request(p.now, Request::Data(m)).unwrap();
    }
    p.run_until(5 * S, |p| {
        Pair::data(&p.a_events).len() == 300 && Pair::data(&p.b_events).len() == 300
    });
    assert_eq!(Pair::data(&p.a_events), msgs);
    assert_eq!(Pair::data(&p.b_events), msgs);
    // Sequence numbers wrapped (300 > 128) and nothing was retransmitted.
    assert_eq!(p.a.stats().i_retransmitted, 0);
    // Idle: T203 polls keep both up.
    let now = p.now;
    p.run_until(60 * S, |p| p.now >= now + 35 * S);
    assert!(p.a.is_established() && p.b.is_established());
}

#[test]
fn two_entities_over_a_lossy_line_deliver_everything_in_order() {
    // Every 7th frame is lost.
    let mut p = Pair::new(|n| n % 7 == 0);
    let t = p.now;
    p.a.handle_request(t, Request::Establish).unwrap();
    p.b.handle_request(t, Request::Establish).unwrap();
    p.run_until(10 * S, |p| p.a.is_established() && p.b.is_established());
    let msgs: Vec<Vec<u8>> = (0..200u16).map(|n| n.to_be_bytes().to_vec()).collect();
    for m in &msgs {
        p.a.handle_request(p.now, Request::Data(m)).unwrap();
    }
    p.run_until(300 * S, |p| Pair::data(&p.b_events).len() >= 200);
    assert_eq!(Pair::data(&p.b_events), msgs);
    assert!(p.a.stats().i_retransmitted > 0);
}

#[test]
fn two_entities_recover_after_the_line_breaks() {
    // Frames 20..=60 are lost: both time out and re-establish.
    let mut p = Pair::new(|n| (20..=60).contains(&n));
    let t = p.now;
    p.a.handle_request(t, Request::Establish).unwrap();
    p.b.handle_request(t, Request::Establish).unwrap();
    p.run_until(5 * S, |p| p.a.is_established() && p.b.is_established());
    let sent_before = p.sent;
    assert!(sent_before < 20);
    p.run_until(600 * S, |p| {
        p.sent > 60 && p.a.is_established() && p.b.is_established()
    });
    let ups = |ev: &[Event]| {
        ev.iter()
            .filter(|e| matches!(e, Event::EstablishIndication | Event::EstablishConfirm))
            .count()
    };
    assert!(ups(&p.a_events) >= 2, "{:?}", p.a_events);
    assert!(ups(&p.b_events) >= 2, "{:?}", p.b_events);
    // And data still flows.
    p.a.handle_request(p.now, Request::Data(b"after")).unwrap();
    p.run_until(10 * S, |p| {
        Pair::data(&p.b_events) == vec![b"after".to_vec()]
    });
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever frames the line loses (a few percent, in bursts or alone), every message
    /// arrives once and in order, both ways, once the line is clean again.
    #[test]
    fn lossy_line_delivers_in_order(
        lost in proptest::collection::btree_set(0usize..400, 0..40),
        n in 1usize..60,
    ) {
        let lost = std::rc::Rc::new(lost);
        let l2 = lost.clone();
        let mut p = Pair::new(move |k| l2.contains(&k));
        let t = p.now;
        p.a.handle_request(t, Request::Establish).unwrap();
        p.b.handle_request(t, Request::Establish).unwrap();
        let msgs: Vec<Vec<u8>> = (0..n as u16).map(|k| k.to_be_bytes().to_vec()).collect();
        let mut queued = false;
        let end = p.now + 3000 * S;
        while p.now < end {
            if !queued && p.a.is_established() && p.b.is_established() {
                for m in &msgs {
                    p.a.handle_request(p.now, Request::Data(m)).unwrap();
                    p.b.handle_request(p.now, Request::Data(m)).unwrap();
                }
                queued = true;
            }
            if queued && Pair::data(&p.a_events).len() >= n && Pair::data(&p.b_events).len() >= n {
                break;
            }
            if !p.step() {
                break;
            }
        }
        // A re-establishment discards what was outstanding (§5.7), so only a run
        // without one must deliver everything; either way nothing is duplicated or
        // reordered.
        for got in [Pair::data(&p.a_events), Pair::data(&p.b_events)] {
            let mut last: Option<u16> = None;
            for g in &got {
                let v = u16::from_be_bytes([g[0], g[1]]);
                proptest::prop_assert!(last.is_none_or(|l| v > l), "order: {got:?}");
                last = Some(v);
            }
        }
        let reestablished = |ev: &[Event]| ev.iter().filter(|e| matches!(e, Event::EstablishIndication | Event::EstablishConfirm)).count() > 1;
        if !reestablished(&p.a_events) && !reestablished(&p.b_events) {
            proptest::prop_assert_eq!(Pair::data(&p.a_events), msgs.clone());
            proptest::prop_assert_eq!(Pair::data(&p.b_events), msgs);
        }
    }
}

#[test]
fn buffers_given_back_are_reused() {
    let t0 = Instant::now();
    let mut l = established(t0);
    let poll = from_net(true, s(SFunction::RR, 0, true), &[]);
    l.handle_frame(t0, &poll).unwrap();
    let Some(Output::Transmit(b)) = l.poll_output() else {
        panic!("an enquiry response")
    };
    let ptr = b.as_ptr();
    l.recycle(b);
    l.handle_frame(t0, &poll).unwrap();
    let Some(Output::Transmit(b)) = l.poll_output() else {
        panic!("an enquiry response")
    };
    assert_eq!(b.as_ptr(), ptr);
    // Acknowledged messages give their buffers back too.
    l.recycle(b);
    l.handle_request(t0, Request::Data(b"m")).unwrap();
    let Some(Output::Transmit(f)) = l.poll_output() else {
        panic!("the I frame")
    };
    l.recycle(f);
    l.handle_frame(t0, &from_net(false, s(SFunction::RR, 1, false), &[]))
        .unwrap();
    assert_eq!(l.variables(), (1, 1, 0));
}
