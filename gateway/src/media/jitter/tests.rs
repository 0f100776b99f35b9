use super::*;
use std::time::Duration;

/// 20 ms at 8 kHz.
const FRAME: u32 = 160;

/// A clock in milliseconds from one start.
#[derive(Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn new() -> Self {
        Clock(Instant::now())
    }
    fn at(self, ms: u64) -> Instant {
        self.0 + Duration::from_millis(ms)
    }
}

/// Packet `i` of a 20 ms stream: its payload names it.
fn payload(i: u32) -> [u8; 4] {
    i.to_be_bytes()
}

fn push(jb: &mut JitterBuffer, now: Instant, seq: u16, ts: u32, marker: bool) -> Pushed {
    jb.push(now, seq, ts, marker, 0, FRAME, &payload(u32::from(seq)))
}

/// Pops and returns the packet number of a frame, `None` for `Missing`, panics on
/// `Waiting`.
fn pop_frame(jb: &mut JitterBuffer, now: Instant) -> Option<u32> {
    let mut out = [0u8; 1500];
    match jb.pop(now, &mut out) {
        Popped::Frame { len, .. } => {
            assert_eq!(len, 4);
            Some(u32::from_be_bytes([out[0], out[1], out[2], out[3]]))
        }
        Popped::Missing { ticks } => {
            assert_eq!(ticks, FRAME);
            None
        }
        Popped::Waiting => panic!("waiting"),
    }
}

fn is_waiting(jb: &mut JitterBuffer, now: Instant) -> bool {
    jb.pop(now, &mut [0u8; 1500]) == Popped::Waiting
}

#[test]
fn plays_in_order_after_the_target() {
    let c = Clock::new();
    let mut jb = JitterBuffer::new(8000, JitterConfig::default());
    assert!(is_waiting(&mut jb, c.at(0)));
    // No jitter: the target is its minimum, 20 ms (spread 0 + one frame).
    for i in 0..50u32 {
        assert_eq!(
            push(
                &mut jb,
                c.at(u64::from(i) * 20),
                i as u16,
                i * FRAME,
                i == 0
            ),
            Pushed::Stored
        );
        if i == 0 {
            assert!(is_waiting(&mut jb, c.at(10)));
        }
        if i >= 1 {
            assert_eq!(pop_frame(&mut jb, c.at(u64::from(i) * 20)), Some(i - 1));
        }
    }
    let s = jb.stats();
    assert_eq!((s.played, s.concealed, s.late, s.target_ms), (49, 0, 0, 20));
    assert_eq!(s.delay_ms, 20);
}

#[test]
fn reorders_and_refuses_duplicates() {
    let c = Clock::new();
    let cfg = JitterConfig {
        min_delay_ms: 60,
        ..JitterConfig::default()
    };
    let mut jb = JitterBuffer::new(8000, cfg);
    // Sent every 20 ms; 2 overtakes 1, 5 overtakes 4, 3 comes twice.
    for (t, i) in [
        (5u64, 0u32),
        (42, 2),
        (45, 1),
        (65, 3),
        (66, 3),
        (102, 5),
        (110, 4),
    ] {
        let r = push(&mut jb, c.at(t), i as u16, i * FRAME, false);
        assert_eq!(
            r,
            if t == 66 {
                Pushed::Duplicate
            } else {
                Pushed::Stored
            }
        );
    }
    let mut got = Vec::new();
    for k in 0..6u64 {
        got.push(pop_frame(&mut jb, c.at(62 + 20 * k)));
    }
    assert_eq!(got, [0, 1, 2, 3, 4, 5].map(Some));
    // Played already: a duplicate, not a late packet.
    assert_eq!(
        push(&mut jb, c.at(200), 2, 2 * FRAME, false),
        Pushed::Duplicate
    );
    assert_eq!(jb.stats().duplicates, 2);
}

#[test]
fn loss_is_missing_and_late_is_late() {
    let c = Clock::new();
    let mut jb = JitterBuffer::new(8000, JitterConfig::default());
    // 0, 1, (2 lost), 3, 4 ... and 2 turns up after its time.
    for i in [0u32, 1, 3, 4, 5] {
        push(&mut jb, c.at(u64::from(i) * 20), i as u16, i * FRAME, false);
    }
    let got: Vec<_> = (0..5u64)
        .map(|k| pop_frame(&mut jb, c.at(20 + 20 * k)))
        .collect();
    assert_eq!(got, [Some(0), Some(1), None, Some(3), Some(4)]);
    assert_eq!(push(&mut jb, c.at(200), 2, 2 * FRAME, false), Pushed::Late);
    let s = jb.stats();
    assert_eq!((s.late, s.concealed, s.played), (1, 1, 4));
}

/// Opus and G.729B send nothing in silence: a few `Missing`, then `Waiting` for as long
/// as the pause lasts; the next talkspurt (marker bit) plays again without a resync.
#[test]
fn dtx_pause_waits_then_resumes() {
    let c = Clock::new();
    let mut jb = JitterBuffer::new(8000, JitterConfig::default());
    for i in 0..10u32 {
        push(
            &mut jb,
            c.at(u64::from(i) * 20),
            i as u16,
            i * FRAME,
            i == 0,
        );
    }
    let mut missing = 0;
    let mut waiting = 0;
    for k in 0..200u64 {
        let mut out = [0u8; 1500];
        match jb.pop(c.at(20 + 20 * k), &mut out) {
            Popped::Frame { .. } => assert!(k < 10),
            Popped::Missing { .. } => missing += 1,
            Popped::Waiting => waiting += 1,
        }
    }
    assert!(missing <= 5, "{missing} missing");
    assert!(waiting >= 185);
    // 3 s of silence later, seq 10 with the marker bit.
    let ts = 10 * FRAME + 3 * 8000;
    for j in 0..5u32 {
        let r = push(
            &mut jb,
            c.at(3200 + u64::from(j) * 20),
            10 + j as u16,
            ts + j * FRAME,
            j == 0,
        );
        assert_eq!(r, Pushed::Stored);
    }
    assert!(is_waiting(&mut jb, c.at(3205)));
    assert_eq!(pop_frame(&mut jb, c.at(3225)), Some(10));
    assert_eq!(pop_frame(&mut jb, c.at(3245)), Some(11));
    assert_eq!(jb.stats().resyncs, 0);
}

/// A pause without the marker bit (lost, or never set) is seen from the sequence
/// numbers: no gap in them, a step in the timestamps.
#[test]
fn pause_without_marker_is_a_talkspurt() {
    let c = Clock::new();
    let mut jb = JitterBuffer::new(8000, JitterConfig::default());
    for i in 0..3u32 {
        push(&mut jb, c.at(u64::from(i) * 20), i as u16, i * FRAME, false);
    }
    // 60 ms pause, then 3 more (seq continues).
    for i in 3..6u32 {
        push(
            &mut jb,
            c.at(u64::from(i) * 20 + 60),
            i as u16,
            i * FRAME + 480,
            false,
        );
    }
    let mut got = Vec::new();
    for k in 0..10u64 {
        let mut out = [0u8; 1500];
        got.push(match jb.pop(c.at(20 + 20 * k), &mut out) {
            Popped::Frame { .. } => out[3] as i32,
            Popped::Missing { .. } => -1,
            Popped::Waiting => -2,
        });
    }
    assert_eq!(got, [0, 1, 2, -2, -2, -2, 3, 4, 5, -1]);
}

#[test]
fn sequence_and_timestamp_wrap() {
    let c = Clock::new();
    let mut jb = JitterBuffer::new(8000, JitterConfig::default());
    let seq0 = u16::MAX - 5;
    let ts0 = u32::MAX - 3 * FRAME + 7;
    let mut played = Vec::new();
    for i in 0..20u32 {
        let r = jb.push(
            c.at(u64::from(i) * 20),
            seq0.wrapping_add(i as u16),
            ts0.wrapping_add(i * FRAME),
            false,
            8,
            FRAME,
            &payload(i),
        );
        assert_eq!(r, Pushed::Stored);
        if i > 0 {
            played.push(pop_frame(&mut jb, c.at(u64::from(i) * 20 + 5)));
        }
    }
    assert_eq!(played, (0..19).map(Some).collect::<Vec<_>>());
}

/// A source restart (new random timestamps) starts the buffer over, counted.
#[test]
fn timestamp_jump_resyncs() {
    let c = Clock::new();
    let mut jb = JitterBuffer::new(8000, JitterConfig::default());
    for i in 0..5u32 {
        push(&mut jb, c.at(u64::from(i) * 20), i as u16, i * FRAME, false);
        if i > 0 {
            pop_frame(&mut jb, c.at(u64::from(i) * 20 + 5));
        }
    }
    for j in 0..2u32 {
        let (seq, ts) = (40000 + j as u16, 0x8000_0000 + j * FRAME);
        let r = jb.push(
            c.at(100 + u64::from(j) * 20),
            seq,
            ts,
            false,
            0,
            FRAME,
            &payload(100 + j),
        );
        assert_eq!(r, Pushed::Stored);
    }
    assert_eq!(jb.stats().resyncs, 1);
    assert_eq!(pop_frame(&mut jb, c.at(125)), Some(100));
    assert_eq!(pop_frame(&mut jb, c.at(145)), Some(101));
    // And a jump backwards, far behind the playout point.
    let r = jb.push(c.at(160), 7, 0x1000, false, 0, FRAME, &payload(7));
    assert_eq!(r, Pushed::Stored);
    assert_eq!(jb.stats().resyncs, 2);
}

#[test]
fn overflow_and_too_big() {
    let c = Clock::new();
    let cfg = JitterConfig {
        slots: 8,
        max_payload: 4,
        ..JitterConfig::default()
    };
    let mut jb = JitterBuffer::new(8000, cfg);
    for i in 0..8u32 {
        assert_eq!(
            push(&mut jb, c.at(0), i as u16, i * FRAME, false),
            Pushed::Stored
        );
    }
    assert_eq!(
        push(&mut jb, c.at(0), 8, 8 * FRAME, false),
        Pushed::Overflow
    );
    assert_eq!(
        jb.push(c.at(0), 9, 9 * FRAME, false, 0, FRAME, &[0; 5]),
        Pushed::TooBig
    );
    assert_eq!(jb.stats().overflows, 1);
    assert_eq!(jb.buffered(), 8);
    jb.reset();
    assert_eq!(jb.buffered(), 0);
    assert_eq!(jb.stats().overflows, 1);
}

/// One late spike raises the target at once; it comes down slowly.
#[test]
fn target_rises_fast_and_falls_slowly() {
    let c = Clock::new();
    let mut jb = JitterBuffer::new(8000, JitterConfig::default());
    let mut ms = 0;
    for i in 0..100u32 {
        ms = u64::from(i) * 20 + if i == 50 { 150 } else { 0 };
        push(&mut jb, c.at(ms), i as u16, i * FRAME, false);
    }
    let _ = ms;
    let after = jb.stats().target_ms;
    assert!((150..=170).contains(&after), "target {after}");
    for i in 100..1100u32 {
        push(&mut jb, c.at(u64::from(i) * 20), i as u16, i * FRAME, false);
        let _ = jb.pop(c.at(u64::from(i) * 20), &mut [0u8; 1500]);
    }
    let later = jb.stats().target_ms;
    assert!(later < 60, "target {later}");
}

/// A consumer that starts late finds too much buffered: frames are dropped down to the
/// target, counted.
#[test]
fn far_over_target_drops_frames() {
    let c = Clock::new();
    let mut jb = JitterBuffer::new(8000, JitterConfig::default());
    for i in 0..20u32 {
        push(&mut jb, c.at(u64::from(i) * 20), i as u16, i * FRAME, false);
    }
    // At 400 ms the oldest frame is 400 ms old; the target is 20 ms.
    let first = pop_frame(&mut jb, c.at(400)).expect("a frame");
    assert!(first >= 15, "played {first}");
    let s = jb.stats();
    assert_eq!(s.dropped, u64::from(first));
    assert!(s.delay_ms <= 60, "delay {}", s.delay_ms);
}

/// A continuous stream (no pauses) whose jitter grows: the delay follows the target
/// through held playout points on underruns, without a talkspurt to re-anchor on.
#[test]
fn continuous_stream_delay_grows_with_the_target() {
    let c = Clock::new();
    let mut jb = JitterBuffer::new(8000, JitterConfig::default());
    // Calm for 2 s, then every fourth packet 50 ms late.
    let mut arrivals: Vec<(u64, u32)> = (0..500u32)
        .map(|i| {
            (
                u64::from(i) * 20 + if i >= 100 && i % 4 == 0 { 50 } else { 0 },
                i,
            )
        })
        .collect();
    arrivals.sort();
    let mut late = 0;
    let mut next = 0;
    for k in 0..520u64 {
        let now = k * 20 + 10;
        while next < arrivals.len() && arrivals[next].0 <= now {
            let (t, i) = arrivals[next];
            if push(&mut jb, c.at(t), i as u16, i * FRAME, i == 0) == Pushed::Late {
                late += 1;
            }
            next += 1;
        }
        let _ = jb.pop(c.at(now), &mut [0u8; 1500]);
    }
    let s = jb.stats();
    assert!(s.target_ms >= 60, "target {}", s.target_ms);
    assert!(s.delay_ms >= 50, "delay {}", s.delay_ms);
    assert!(late <= 3, "{late} late");
}

/// A tiny deterministic generator for the simulation (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The figure: 20 ms packets, ±30 ms uniform jitter, 2 % loss, 60 s. The
/// target settles and under 1 % of packets arrive too late.
#[test]
fn simulation_uniform_jitter_and_loss() {
    let c = Clock::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut jb = JitterBuffer::new(8000, JitterConfig::default());
    const PACKETS: u32 = 3000;
    // Arrival times in µs: 60 ms base transit ± 30 ms.
    let mut arrivals: Vec<(u64, u32)> = Vec::new();
    for i in 0..PACKETS {
        let (lost, jitter) = (rng.unit() < 0.02, (rng.unit() * 60_000.0) as u64);
        if !lost {
            arrivals.push((u64::from(i) * 20_000 + 30_000 + jitter, i));
        }
    }
    let sent = arrivals.len();
    arrivals.sort();
    let at = |us: u64| c.0 + Duration::from_micros(us);
    let mut next = 0;
    let mut out = [0u8; 1500];
    let (mut frames, mut missing, mut waiting) = (0u64, 0u64, 0u64);
    let mut targets = Vec::new();
    let mut delay_sum = 0u64;
    let mut last_played: Option<u32> = None;
    // The playout clock ticks every 20 ms, offset 7 ms from the sender's.
    for tick in 0..(u64::from(PACKETS) + 20) {
        let now_us = tick * 20_000 + 7_000;
        while next < arrivals.len() && arrivals[next].0 <= now_us {
            let (t, i) = arrivals[next];
            jb.push(at(t), i as u16, i * FRAME, false, 0, FRAME, &payload(i));
            next += 1;
        }
        match jb.pop(at(now_us), &mut out) {
            Popped::Frame { .. } => {
                let i = u32::from_be_bytes([out[0], out[1], out[2], out[3]]);
                assert!(last_played.is_none_or(|l| i > l));
                last_played = Some(i);
                frames += 1;
                delay_sum += u64::from(jb.stats().delay_ms);
            }
            Popped::Missing { .. } => missing += 1,
            Popped::Waiting => waiting += 1,
        }
        if tick % 50 == 0 {
            targets.push(jb.stats().target_ms);
        }
    }
    let s = jb.stats();
    let late_pct = 100.0 * s.late as f64 / sent as f64;
    let settled = &targets[targets.len() - 30..];
    let (lo, hi) = (
        *settled.iter().min().expect("30 samples"),
        *settled.iter().max().expect("30 samples"),
    );
    println!(
        "jitter buffer, 20 ms packets, ±30 ms uniform jitter, 2 % loss, 60 s: \
         {sent} packets arrived, {frames} played, {} late ({late_pct:.2} %), {missing} \
         concealed, {waiting} waiting, {} dropped; target {} ms (last 30 s {lo}-{hi} ms), \
         mean playout delay {} ms, RFC 3550 jitter {} ms",
        s.late,
        s.dropped,
        s.target_ms,
        delay_sum / frames.max(1),
        s.jitter_ms,
    );
    assert!(late_pct < 1.0, "late {late_pct:.2} %");
    assert!(hi - lo <= 10, "target wanders {lo}-{hi} ms");
    assert!(
        (60..=110).contains(&s.target_ms),
        "target {} ms",
        s.target_ms
    );
    assert_eq!(s.resyncs, 0);
}

mod prop {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    /// One generated stream: per packet a delay (ms), lost, duplicated.
    #[derive(Debug, Clone)]
    struct Stream {
        ptime: u32,
        seq0: u16,
        ts0: u32,
        jitter_ms: u32,
        packets: Vec<(u32, bool, bool)>,
        min: u32,
        max: u32,
        slots: usize,
        markers: bool,
    }

    fn stream() -> impl Strategy<Value = Stream> {
        (
            proptest::sample::select(vec![10u32, 20, 30, 40]),
            any::<u16>(),
            any::<u32>(),
            0u32..=100,
            proptest::collection::vec((0u32..=1000, 0u8..100, 0u8..100), 20..250),
            0u32..=80,
            0u32..=250,
            2usize..=64,
            any::<bool>(),
        )
            .prop_map(
                |(ptime, seq0, ts0, jitter_ms, raw, min, extra, slots, markers)| Stream {
                    ptime,
                    seq0,
                    ts0,
                    jitter_ms,
                    packets: raw
                        .into_iter()
                        .map(|(d, l, u)| (d * jitter_ms / 1000, l < 5, u < 3))
                        .collect(),
                    min,
                    max: min + extra,
                    slots,
                    markers,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Random arrival orders, jitter, loss and duplicates: never a panic, every stored
        /// frame played at most once and in timestamp order, the target within its
        /// bounds and the playout delay within them but for the jitter's reach.
        #[test]
        fn arrivals_in_any_order(s in stream()) {
            let c = Clock::new();
            let cfg = JitterConfig { min_delay_ms: s.min, max_delay_ms: s.max, slots: s.slots, max_payload: 8 };
            let mut jb = JitterBuffer::new(8000, cfg);
            let ticks = 8 * s.ptime;
            // (arrival µs, packet index)
            let mut events: Vec<(u64, u32)> = Vec::new();
            for (i, &(delay, lost, dup)) in s.packets.iter().enumerate() {
                let i = i as u32;
                let t = (u64::from(i) * u64::from(s.ptime) + 40 + u64::from(delay)) * 1000;
                if !lost {
                    events.push((t, i));
                    if dup {
                        events.push((t + 3_000, i));
                    }
                }
            }
            events.sort();
            let end_ms = u64::from(s.ptime) * s.packets.len() as u64 + 2_000;
            let mut stored = HashSet::new();
            let mut played = HashSet::new();
            let mut last: Option<u32> = None;
            let mut next = 0;
            let mut out = [0u8; 8];
            let mut now_ms = 0;
            while now_ms <= end_ms {
                while next < events.len() && events[next].0 <= now_ms * 1000 {
                    let (t, i) = events[next];
                    let marker = s.markers && i % 25 == 0;
                    let r = jb.push(c.0 + Duration::from_micros(t), s.seq0.wrapping_add(i as u16),
                        s.ts0.wrapping_add(i * ticks), marker, 0, ticks, &payload(i));
                    if r == Pushed::Stored {
                        prop_assert!(stored.insert(i), "stored twice: {}", i);
                    }
                    next += 1;
                }
                let now = c.at(now_ms);
                if let Popped::Frame { len, ticks: t, .. } = jb.pop(now, &mut out) {
                    prop_assert_eq!((len, t), (4, ticks));
                    let i = u32::from_be_bytes([out[0], out[1], out[2], out[3]]);
                    prop_assert!(stored.contains(&i));
                    prop_assert!(played.insert(i), "played twice: {}", i);
                    prop_assert!(last.is_none_or(|l| i > l), "out of order: {} after {:?}", i, last);
                    last = Some(i);
                    let d = jb.stats().delay_ms;
                    let reach = s.jitter_ms + 1;
                    prop_assert!(d + reach >= s.min && d <= s.max + s.ptime + reach,
                        "delay {} outside [{}, {}] ± {}", d, s.min, s.max, reach);
                }
                let st = jb.stats();
                prop_assert!((s.min..=s.max).contains(&st.target_ms), "target {}", st.target_ms);
                now_ms += u64::from(s.ptime);
            }
            let st = jb.stats();
            prop_assert_eq!(st.resyncs, 0);
            prop_assert_eq!(st.played as usize, played.len());
            prop_assert_eq!(stored.len(), played.len() + st.dropped as usize + jb.buffered());
        }

        /// Anything at all, in any order: no panic, frames fit the buffer.
        #[test]
        fn arbitrary_calls(ops in proptest::collection::vec(
            (any::<bool>(), 0u64..200, any::<u16>(), any::<u32>(), any::<bool>(), 0u32..5000, 0usize..40), 1..300)) {
            let c = Clock::new();
            let cfg = JitterConfig { min_delay_ms: 10, max_delay_ms: 100, slots: 8, max_payload: 32 };
            let mut jb = JitterBuffer::new(8000, cfg);
            let mut now_ms = 0;
            let mut out = [0u8; 32];
            for (is_push, dt, seq, ts, marker, ticks, len) in ops {
                now_ms += dt;
                if is_push {
                    let r = jb.push(c.at(now_ms), seq, ts, marker, 0, ticks, &[7u8; 40][..len]);
                    prop_assert_eq!(r == Pushed::TooBig, len > 32);
                } else if let Popped::Frame { len, .. } = jb.pop(c.at(now_ms), &mut out) {
                    prop_assert!(len <= 32);
                    prop_assert!(out[..len].iter().all(|&b| b == 7));
                }
                let st = jb.stats();
                prop_assert!((10..=100).contains(&st.target_ms));
            }
        }
    }
}

/// The chain the transcoded path will run: G.711 packets of a 440 Hz tone through the
/// buffer with jitter and loss, frames decoded, `Missing` concealed by the decoder's
/// loss concealment: the tone comes out whole.
#[test]
fn feeds_a_decoder_with_concealment() {
    use crate::media::Law;
    use crate::media::codec::CodecKind;
    use crate::media::codec::measure::{sine, tone_snr_db, zero_crossing_hz};
    use crate::media::g711::encode_into;

    let c = Clock::new();
    let mut rng = Rng(42);
    let tone = sine(440.0, 8000, 8000 * 10, 0.5);
    let mut jb = JitterBuffer::new(8000, JitterConfig::default());
    let mut dec = CodecKind::Pcmu.decoder().expect("G.711");
    let mut arrivals: Vec<(u64, u32)> = Vec::new();
    for i in 0..500u32 {
        let (lost, jitter) = (rng.unit() < 0.03, (rng.unit() * 40_000.0) as u64);
        if !lost {
            arrivals.push((u64::from(i) * 20_000 + 20_000 + jitter, i));
        }
    }
    arrivals.sort();
    let (mut next, mut out, mut payload) = (0, Vec::new(), [0u8; 160]);
    let mut buf = [0u8; 1500];
    let mut pcm = [0i16; 160];
    for tick in 0..520u64 {
        let now_us = tick * 20_000 + 5_000;
        while next < arrivals.len() && arrivals[next].0 <= now_us {
            let (t, i) = arrivals[next];
            let at = i as usize * 160;
            encode_into(Law::Pcmu, &tone[at..at + 160], &mut payload);
            jb.push(
                c.0 + Duration::from_micros(t),
                i as u16,
                i * FRAME,
                i == 0,
                0,
                FRAME,
                &payload,
            );
            next += 1;
        }
        match jb.pop(c.0 + Duration::from_micros(now_us), &mut buf) {
            Popped::Frame { len, .. } => {
                let n = dec.decode(&buf[..len], &mut pcm).expect("valid G.711");
                out.extend_from_slice(&pcm[..n]);
            }
            Popped::Missing { ticks } => {
                let n = dec.conceal(ticks as usize, &mut pcm).expect("conceal");
                out.extend_from_slice(&pcm[..n]);
            }
            Popped::Waiting => {}
        }
    }
    let s = jb.stats();
    assert!(out.len() >= 490 * 160, "{} samples", out.len());
    let hz = zero_crossing_hz(&out, 8000);
    let snr = tone_snr_db(&out[..8000], 440.0, 8000);
    println!(
        "G.711 through the buffer, 3 % loss, 40 ms jitter: {} concealed, {} late, tone {hz:.1} Hz, SNR over the first second {snr:.1} dB",
        s.concealed, s.late
    );
    assert!((hz - 440.0).abs() < 2.0, "{hz} Hz");
    assert!(snr > 20.0, "SNR {snr:.1} dB");
}
