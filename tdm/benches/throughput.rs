//! Throughput of the TDM cores on one core, no I/O: FCS, HDLC framing and deframing,
//! two Q.921 entities exchanging I frames, and two PRI stacks placing and clearing
//! calls. Prints figures (BENCHMARKS.md); asserts only that the work was done.
//!
//! `cargo bench -p tdm --bench throughput`

use std::hint::black_box;
use std::time::{Duration, Instant};

use mapping::cause::Cause;
use mapping::number::{Digits, PartyNumber};
use mapping::q931::ies::{BearerCapability, Layer1Protocol, TransferCapability};
use mapping::q931::{CallReference, Dialect, Message, MessageType};
use tdm::hdlc::{self, BitOrder, Deframer, Framer, Limits};
use tdm::pri::{CallState, Config, PriEvent, PriStack, StackOutput, Variant};
use tdm::q921::{self, DataLink, Output, Request, Side};

fn report(what: &str, n: u64, unit: &str, elapsed: Duration, extra: &str) {
    let rate = n as f64 / elapsed.as_secs_f64();
    println!("{what:<44} {rate:>14.0} {unit}/s  ({n} in {elapsed:.2?}){extra}");
}

fn fcs() {
    let frame = [0x5Au8; 260];
    let n = 400_000u64;
    let t = Instant::now();
    let mut acc = 0u16;
    for _ in 0..n {
        acc ^= hdlc::fcs(black_box(&frame));
    }
    black_box(acc);
    let e = t.elapsed();
    let mbps = (n * 260 * 8) as f64 / e.as_secs_f64() / 1e6;
    report(
        "FCS over 260-octet frames",
        n,
        "frames",
        e,
        &format!("  {mbps:.0} Mbit/s"),
    );
}

fn framing() {
    let frame: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(37)).collect();
    let n = 200_000u64;
    let mut f = Framer::new(BitOrder::MsbFirst);
    let mut stream = [0u8; 128];
    let mut total = 0u64;
    let t = Instant::now();
    for _ in 0..n {
        f.push_frame(black_box(&frame));
        let k = f.pending();
        f.fill(&mut stream[..k]);
        total += k as u64;
    }
    let e = t.elapsed();
    let mbps = (total * 8) as f64 / e.as_secs_f64() / 1e6;
    report(
        "HDLC framer, 64-octet frames",
        n,
        "frames",
        e,
        &format!("  {mbps:.0} Mbit/s of line"),
    );

    // The same stream through the deframer, in 32-octet pieces (a pseudowire packet).
    let reps = 200_000usize;
    let mut f = Framer::new(BitOrder::MsbFirst);
    let mut stream = Vec::with_capacity(reps * 80);
    for _ in 0..reps {
        f.push_frame(&frame);
        let k = f.pending();
        let at = stream.len();
        stream.resize(at + k, 0);
        f.fill(&mut stream[at..]);
    }
    let mut tail = [0u8; 2];
    f.fill(&mut tail);
    stream.extend_from_slice(&tail);
    let mut d = Deframer::new(BitOrder::MsbFirst, Limits::LAPD);
    let mut frames = 0u64;
    let t = Instant::now();
    for piece in stream.chunks(32) {
        d.feed(piece, |r| {
            if r.is_ok() {
                frames += 1;
            }
        });
    }
    let e = t.elapsed();
    assert_eq!(frames, reps as u64);
    let mbps = (stream.len() * 8) as f64 / e.as_secs_f64() / 1e6;
    report(
        "HDLC deframer, 64-octet frames",
        frames,
        "frames",
        e,
        &format!("  {mbps:.0} Mbit/s of line"),
    );
}

fn q921_pair() {
    let t0 = Instant::now();
    let mut a = DataLink::new(q921::Config::pri(Side::Network));
    let mut b = DataLink::new(q921::Config::pri(Side::User));
    a.handle_request(t0, Request::Establish).unwrap();
    let msg = [0x08u8; 40];
    let n = 300_000u64;
    let mut delivered = 0u64;
    let mut sent = 0u64;
    let t = Instant::now();
    while delivered < n {
        if sent < n && sent - delivered < 7 {
            a.handle_request(t0, Request::Data(&msg)).unwrap();
            sent += 1;
        }
        while let Some(o) = a.poll_output() {
            if let Output::Transmit(f) = o {
                let _ = b.handle_frame(t0, &f);
                a.recycle(f);
            }
        }
        while let Some(o) = b.poll_output() {
            match o {
                Output::Transmit(f) => {
                    let _ = a.handle_frame(t0, &f);
                    b.recycle(f);
                }
                Output::Event(q921::Event::Data(m)) => {
                    delivered += 1;
                    b.recycle(m);
                }
                Output::Event(_) => {}
            }
        }
    }
    report(
        "Q.921 I frames, 40 octets, acknowledged",
        delivered,
        "frames",
        t.elapsed(),
        "",
    );
}

fn pri_calls() {
    let now = Instant::now();
    let mut net = PriStack::new(
        now,
        q921::Config::pri(Side::Network),
        Config::e1(Side::Network, Variant::EUROISDN),
    );
    let mut user = PriStack::new(
        now,
        q921::Config::pri(Side::User),
        Config::e1(Side::User, Variant::EUROISDN),
    );
    let n = 20_000u64;
    let d = |s: &str| PartyNumber::unknown(Digits::new(s).expect("digits"));
    let template = Message::setup(
        Dialect::Q931,
        CallReference::dummy(),
        &BearerCapability::circuit_64k(TransferCapability::SPEECH, Some(Layer1Protocol::G711_ALAW)),
        &d("1000"),
        Some(&d("2000")),
    )
    .expect("fits");
    let mut done = 0u64;
    let t = Instant::now();
    // Moves frames both ways; returns the events each side reported.
    fn settle(
        now: Instant,
        net: &mut PriStack,
        user: &mut PriStack,
    ) -> (Vec<PriEvent>, Vec<PriEvent>) {
        let (mut ne, mut ue) = (Vec::new(), Vec::new());
        net.pump(now);
        user.pump(now);
        loop {
            let mut moved = false;
            while let Some(o) = net.poll_output() {
                moved = true;
                match o {
                    StackOutput::Transmit(f) => {
                        let _ = user.handle_frame(now, &f);
                        net.recycle(f);
                    }
                    StackOutput::Event(e) => ne.push(e),
                    StackOutput::Link(_) => {}
                }
            }
            while let Some(o) = user.poll_output() {
                moved = true;
                match o {
                    StackOutput::Transmit(f) => {
                        let _ = net.handle_frame(now, &f);
                        user.recycle(f);
                    }
                    StackOutput::Event(e) => ue.push(e),
                    StackOutput::Link(_) => {}
                }
            }
            if !moved {
                return (ne, ue);
            }
        }
    }
    settle(now, &mut net, &mut user);
    while done < n {
        let call = user
            .l3
            .setup(now, template.clone(), None)
            .expect("a channel");
        let (ne, _) = settle(now, &mut net, &mut user);
        let Some(PriEvent::Incoming { call: theirs, .. }) = ne
            .into_iter()
            .find(|e| matches!(e, PriEvent::Incoming { .. }))
        else {
            panic!("no incoming call")
        };
        for t in [
            MessageType::CALL_PROCEEDING,
            MessageType::ALERTING,
            MessageType::CONNECT,
        ] {
            net.l3
                .send(
                    now,
                    theirs,
                    Message::new(Dialect::Q931, CallReference::dummy(), t),
                )
                .unwrap();
        }
        settle(now, &mut net, &mut user);
        assert_eq!(user.l3.call_state(call), CallState::Active);
        user.l3.release(now, call, Cause::NORMAL).unwrap();
        settle(now, &mut net, &mut user);
        assert_eq!(user.l3.call_state(call), CallState::Null);
        done += 1;
    }
    report(
        "PRI calls (SETUP..RELEASE COMPLETE, 8 messages)",
        done,
        "calls",
        t.elapsed(),
        "",
    );
}

/// Two E1 spans' software TDM side for the pseudowire bench: a counter in every
/// timeslot and the D-channel's HDLC in TS16, as the gateway's driver runs it.
struct BenchPort {
    n: u8,
    d: tdm::pseudowire::DChannel,
    frames: u64,
}

impl tdm::pseudowire::TdmPort for BenchPort {
    fn transmit(&mut self, frame: &mut tdm::pseudowire::Frame) {
        self.n = self.n.wrapping_add(1);
        frame.fill(self.n);
        frame[16] = self.d.next_octet();
    }
    fn receive(&mut self, frame: &tdm::pseudowire::Frame) {
        self.d.receive_octet(frame[16], |_| {});
        self.frames += 1;
    }
}

/// A CESoPSN pseudowire pair (31 timeslots, 8 frames per packet): each tick plays out,
/// fills, packetizes and depacketizes on both ends, TS16 through HDLC both ways.
fn pseudowire(protocol: tdm::pseudowire::Protocol, what: &str) {
    use tdm::pseudowire::{Config, Pseudowire};
    let config = Config {
        protocol,
        timeslots: (1..=31).collect(),
        frames_per_packet: 8,
        jitter_buffer: Duration::from_millis(4),
        rtp: None,
        first_seq: 0,
    };
    let t0 = Instant::now();
    let mut a = Pseudowire::new(config.clone(), t0).expect("valid");
    let mut b = Pseudowire::new(config, t0).expect("valid");
    let new_port = || BenchPort {
        n: 0,
        d: tdm::pseudowire::DChannel::default(),
        frames: 0,
    };
    let (mut pa, mut pb) = (new_port(), new_port());
    let period = Duration::from_millis(1);
    let n = 200_000u32;
    let t = Instant::now();
    let mut buf = Vec::with_capacity(512);
    for i in 0..n {
        let now = t0 + period * i;
        a.handle_timeout(now, &mut pa);
        b.handle_timeout(now, &mut pb);
        while let Some(p) = a.poll_transmit() {
            buf.clear();
            buf.extend_from_slice(p);
            let _ = b.handle_input(now, black_box(&buf));
        }
        while let Some(p) = b.poll_transmit() {
            buf.clear();
            buf.extend_from_slice(p);
            let _ = a.handle_input(now, black_box(&buf));
        }
    }
    let e = t.elapsed();
    assert!(pa.frames > 0 && pb.frames > 0 && a.stats().rx.lost < 10);
    let spans = f64::from(2 * n) / e.as_secs_f64() / 1000.0;
    report(
        what,
        u64::from(2 * n),
        "packets",
        e,
        &format!("  {spans:.0} spans in real time"),
    );
}

fn main() {
    fcs();
    framing();
    q921_pair();
    pri_calls();
    pseudowire(
        tdm::pseudowire::Protocol::Cesopsn,
        "CESoPSN pair, 31 TS x 8 frames, TS16 HDLC",
    );
    pseudowire(
        tdm::pseudowire::Protocol::Satop,
        "SAToP pair, 32 TS x 8 frames, TS16 HDLC",
    );
}
