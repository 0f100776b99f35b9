//! The RFC 4733 detector and generator: by hand, against three captured event streams
//! of real equipment, and by property (generator -> lossy, duplicating, reordering
//! network -> detector gives back the digits).

use super::*;
use crate::media::rtp::RtpPacket;
use proptest::prelude::*;
use std::collections::BTreeMap;

fn block(event: u8, end: bool, duration: u16) -> [u8; 4] {
    EventBlock {
        event,
        end,
        volume: 10,
        duration,
    }
    .to_bytes()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn digits(d: &mut DtmfDetector) -> Vec<Detected> {
    std::iter::from_fn(|| d.poll_digit()).collect()
}

#[test]
fn event_codes() {
    for (i, c) in "0123456789*#ABCD".chars().enumerate() {
        assert_eq!(digit_of(i as u8), Some(c));
        assert_eq!(event_of(c), Some(i as u8));
    }
    assert_eq!(event_of('d'), Some(15));
    assert_eq!(digit_of(16), None, "flash is not a digit");
    assert_eq!(event_of('E'), None);
    let b = EventBlock::parse([11, 0x80 | 0x40 | 7, 0x03, 0x20]);
    assert_eq!(
        b,
        EventBlock {
            event: 11,
            end: true,
            volume: 7,
            duration: 800
        }
    );
    // The reserved bit is read over and written clear.
    assert_eq!(b.to_bytes(), [11, 0x87, 0x03, 0x20]);
}

#[test]
fn one_digit_however_often_start_and_end_repeat() {
    let t0 = Instant::now();
    let mut d = DtmfDetector::default();
    let ts = 1_000_000;
    // Start three times (CUCM does), two updates, the end three times.
    for i in 0..3 {
        d.handle_packet(t0 + ms(i), true, ts, &block(5, false, 0))
            .unwrap();
    }
    d.handle_packet(t0 + ms(20), false, ts, &block(5, false, 400))
        .unwrap();
    assert_eq!(d.poll_digit(), None, "reported at its end");
    assert_eq!(d.poll_timeout(), Some(t0 + ms(20) + END_TIMEOUT));
    d.handle_packet(t0 + ms(40), false, ts, &block(5, false, 640))
        .unwrap();
    for i in 0..3 {
        d.handle_packet(t0 + ms(60 + i), false, ts, &block(5, true, 800))
            .unwrap();
    }
    assert_eq!(
        digits(&mut d),
        [Detected {
            digit: '5',
            duration_ms: 100,
            volume: 10,
            ended: true
        }]
    );
    assert_eq!(d.poll_timeout(), None);
    // A late update of the reported event changes nothing.
    d.handle_packet(t0 + ms(90), false, ts, &block(5, false, 640))
        .unwrap();
    assert_eq!(d.poll_digit(), None);
}

#[test]
fn the_same_digit_twice_is_two_events() {
    let t0 = Instant::now();
    let mut d = DtmfDetector::default();
    for (n, ts) in [(0u64, 100u32), (1, 2000)] {
        let at = t0 + ms(n * 300);
        d.handle_packet(at, true, ts, &block(1, false, 0)).unwrap();
        d.handle_packet(at + ms(40), false, ts, &block(1, true, 480))
            .unwrap();
    }
    let got: Vec<char> = digits(&mut d).iter().map(|x| x.digit).collect();
    assert_eq!(got, ['1', '1']);
}

#[test]
fn lost_end_is_ended_by_the_next_event_or_the_timeout() {
    let t0 = Instant::now();
    let mut d = DtmfDetector::default();
    d.handle_packet(t0, true, 0, &block(2, false, 0)).unwrap();
    d.handle_packet(t0 + ms(50), false, 0, &block(2, false, 400))
        .unwrap();
    // The next event begins: '2' is handed out with what was known of it.
    d.handle_packet(t0 + ms(200), true, 1600, &block(3, false, 0))
        .unwrap();
    let got = digits(&mut d);
    assert_eq!(got.len(), 1);
    assert_eq!(
        (got[0].digit, got[0].duration_ms, got[0].ended),
        ('2', 50, false)
    );
    // '3' never ends: the timeout does it.
    let due = d.poll_timeout().expect("an event in progress");
    assert_eq!(due, t0 + ms(200) + END_TIMEOUT);
    d.handle_timeout(due - ms(1));
    assert_eq!(d.poll_digit(), None);
    d.handle_timeout(due);
    let got = digits(&mut d);
    assert_eq!((got[0].digit, got[0].ended), ('3', false));
    assert_eq!(d.poll_timeout(), None);
}

#[test]
fn an_older_event_is_ignored() {
    let t0 = Instant::now();
    let mut d = DtmfDetector::default();
    d.handle_packet(t0, true, 5000, &block(7, true, 800))
        .unwrap();
    // A copy of an earlier event, reordered behind the newer one.
    d.handle_packet(t0, true, 4000, &block(6, true, 800))
        .unwrap();
    let got: Vec<char> = digits(&mut d).iter().map(|x| x.digit).collect();
    assert_eq!(got, ['7']);
}

#[test]
fn long_event_segments_are_one_digit() {
    // §2.5.1.3: a new timestamp without the marker continues the same event.
    let t0 = Instant::now();
    let mut d = DtmfDetector::default();
    d.handle_packet(t0, true, 0, &block(0, false, 0)).unwrap();
    d.handle_packet(t0 + ms(50), false, 0, &block(0, false, u16::MAX))
        .unwrap();
    d.handle_packet(t0 + ms(100), false, 65535, &block(0, false, 800))
        .unwrap();
    d.handle_packet(t0 + ms(150), false, 65535, &block(0, true, 1600))
        .unwrap();
    let got = digits(&mut d);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].duration_ms, (65535 + 1600) / 8);
}

#[test]
fn several_events_in_one_packet() {
    // §2.5.1.5: '1' (ended) then '2' in progress, '2' starting where '1' ended.
    let t0 = Instant::now();
    let mut d = DtmfDetector::default();
    let mut p = block(1, true, 800).to_vec();
    p.extend_from_slice(&block(2, false, 160));
    d.handle_packet(t0, true, 10_000, &p).unwrap();
    // The next packet updates '2' under its own start time.
    d.handle_packet(t0 + ms(20), false, 10_800, &block(2, true, 480))
        .unwrap();
    let got: Vec<(char, u32)> = digits(&mut d)
        .iter()
        .map(|x| (x.digit, x.duration_ms))
        .collect();
    assert_eq!(got, [('1', 100), ('2', 60)]);
}

#[test]
fn other_events_and_bad_payloads() {
    let t0 = Instant::now();
    let mut d = DtmfDetector::default();
    d.handle_packet(t0, true, 0, &block(16, true, 800)).unwrap();
    assert_eq!(d.poll_digit(), None, "flash is not a DTMF digit");
    assert_eq!(
        d.handle_packet(t0, true, 0, &[]),
        Err(DtmfError::BadLength(0))
    );
    assert_eq!(
        d.handle_packet(t0, true, 0, &[1, 2, 3, 4, 5]),
        Err(DtmfError::BadLength(5))
    );
}

#[test]
fn generated_sequence() {
    let mut g = DtmfGenerator::new('#', 100, 101, 8000, 20).expect("a digit");
    assert_eq!(g.interval(), ms(20));
    assert_eq!(g.duration_ticks(), 800);
    let mut buf = [0u8; 64];
    let mut out = Vec::new();
    let mut seq = 65534u16;
    while let Some(p) = g.write_next(
        Numbering {
            ssrc: 0xabcd,
            sequence: seq,
            // The stream's clock moves on; the event keeps its first timestamp.
            timestamp: 4000 + u32::from(seq.wrapping_sub(65534)) * 160,
        },
        &mut buf,
    ) {
        let rtp = RtpPacket::parse(&buf[..p.len]).expect("valid RTP");
        let b = EventBlock::parse(rtp.payload.try_into().expect("one block"));
        assert_eq!(rtp.header.marker(), p.marker);
        out.push((
            rtp.header.sequence.get(),
            rtp.header.timestamp.get(),
            rtp.header.payload_type(),
            rtp.header.ssrc.get(),
            p.marker,
            b.end,
            b.duration,
            b.event,
        ));
        seq = seq.wrapping_add(1);
    }
    assert!(g.is_done());
    assert_eq!(g.timestamp(), Some(4000));
    let expected: Vec<_> = [
        (65534, true, false, 160),
        (65535, false, false, 320),
        (0, false, false, 480),
        (1, false, false, 640),
        (2, false, true, 800),
        (3, false, true, 800),
        (4, false, true, 800),
    ]
    .into_iter()
    .map(|(s, m, e, dur)| (s, 4000, 101, 0xabcd, m, e, dur, 11))
    .collect();
    assert_eq!(out, expected);
    // Nothing more, and nothing into a short buffer.
    let n = Numbering {
        ssrc: 0,
        sequence: 0,
        timestamp: 0,
    };
    assert_eq!(g.write_next(n, &mut buf), None);
    let mut g = DtmfGenerator::new('1', 0, 96, 8000, 20).expect("a digit");
    assert_eq!(g.duration_ticks(), 800, "unknown duration: 100 ms");
    assert_eq!(g.write_next(n, &mut buf[..15]), None);
    assert!(g.write_next(n, &mut buf).is_some_and(|p| p.marker));
    assert_eq!(
        DtmfGenerator::new('1', 5, 96, 8000, 20).map(|g| g.duration_ticks()),
        Some(320),
        "at least 40 ms"
    );
    assert!(DtmfGenerator::new('x', 100, 96, 8000, 20).is_none());
}

/// The telephone-event packets of each UDP flow of a capture, fed to one detector per
/// flow: the digits each flow carried.
fn captured_digits(file: &str, pt: u8) -> Option<BTreeMap<String, Vec<Detected>>> {
    let dir = capture_kit::shared_dir_or_skip("captures", file)?;
    let frames = capture_kit::read_frames(&dir.join(file));
    let t0 = Instant::now();
    let mut flows: BTreeMap<String, (DtmfDetector, Vec<Detected>)> = BTreeMap::new();
    for (ts, (src, sport, dst, dport), bytes) in capture_kit::udp_datagrams(&frames) {
        let Ok(p) = RtpPacket::parse(&bytes) else {
            continue;
        };
        if p.header.payload_type() != pt || p.payload.len() != EVENT_LEN {
            continue;
        }
        let key = format!("{src:?}:{sport}->{dst:?}:{dport}");
        let (d, got) = flows.entry(key).or_default();
        d.handle_packet(
            t0 + ts,
            p.header.marker(),
            p.header.timestamp.get(),
            p.payload,
        )
        .expect("captured events are well formed");
        got.extend(digits(d));
    }
    Some(flows.into_iter().map(|(k, (_, got))| (k, got)).collect())
}

fn only_flow(flows: BTreeMap<String, Vec<Detected>>) -> Vec<Detected> {
    assert_eq!(flows.len(), 1, "{flows:?}");
    flows.into_values().next().unwrap_or_default()
}

fn text(d: &[Detected]) -> String {
    d.iter().map(|x| x.digit).collect()
}

#[test]
fn captured_cisco_rfc4733_stream() {
    // IOS 16.9 to CUCM: every end packet three times, audio interleaved.
    let Some(flows) = captured_digits("sip-cisco-cucm-gw-dtmf-rfc4733.pcapng", 101) else {
        return;
    };
    let got = only_flow(flows);
    assert_eq!(text(&got), "123456789*0#");
    let ms: Vec<u32> = got.iter().map(|d| d.duration_ms).collect();
    assert_eq!(ms, [60, 70, 80, 80, 100, 70, 100, 80, 80, 70, 80, 90]);
    assert!(got.iter().all(|d| d.ended && d.volume == 9));
}

#[test]
fn captured_cucm_rfc2833_stream_with_repeated_starts() {
    // CUCM: the start packet three times (marker on each), one update, the end three
    // times.
    let Some(flows) = captured_digits("sip-cisco-cucm-gw-dtmf-rfc2833.pcapng", 101) else {
        return;
    };
    let got = only_flow(flows);
    assert_eq!(text(&got), "123456789*0#");
    assert!(got.iter().all(|d| d.duration_ms == 100 && d.ended));
}

#[test]
fn captured_ip_dect_stream_on_pt_96() {
    // An IP-DECT gateway: updates every 30 ms, one end packet per event.
    let Some(flows) = captured_digits("sip-rtp-g711-dtmf-rfc2833.cap", 96) else {
        return;
    };
    let got = only_flow(flows);
    assert_eq!(text(&got), "6789123");
    assert!(got.iter().all(|d| d.duration_ms == 120 && d.ended));
}

/// One digit's packets as a generator writes them, numbered from `seq` and stamped at
/// `clock`: (marker, timestamp, end, payload).
fn generate(
    digit: char,
    duration_ms: u32,
    seq: &mut u16,
    clock: u32,
) -> Vec<(bool, u32, bool, Vec<u8>)> {
    let mut g = DtmfGenerator::new(digit, duration_ms, 101, 8000, 20).expect("a digit");
    let mut buf = [0u8; 16];
    let mut out = Vec::new();
    while let Some(p) = g.write_next(
        Numbering {
            ssrc: 1,
            sequence: *seq,
            timestamp: clock,
        },
        &mut buf,
    ) {
        *seq = seq.wrapping_add(1);
        out.push((p.marker, clock, p.end, buf[RtpHeader::LEN..p.len].to_vec()));
    }
    out
}

const DIGITS: &str = "0123456789*#ABCD";

fn digit_strategy() -> impl Strategy<Value = char> {
    (0..DIGITS.len()).prop_map(|i| DIGITS.as_bytes()[i] as char)
}

proptest! {
    /// Generated events survive duplicated and lost packets (one end copy kept): the
    /// detector gives each digit once, in order, with its duration.
    #[test]
    fn generator_to_detector(
        digits_in in proptest::collection::vec((digit_strategy(), 40u32..3000), 1..12),
        copies in proptest::collection::vec(0u8..3, 1..2000),
        ts0 in any::<u32>(),
    ) {
        let t0 = Instant::now();
        let mut d = DtmfDetector::default();
        let mut seq = 0u16;
        let mut clock = ts0;
        let mut now = t0;
        let mut k = 0;
        let mut got = Vec::new();
        for &(digit, dur) in &digits_in {
            let packets = generate(digit, dur, &mut seq, clock);
            let mut end_seen = false;
            let last = packets.len() - 1;
            for (i, (marker, ts, end, payload)) in packets.into_iter().enumerate() {
                // 0: lost, 1: once, 2: twice; the last end copy always arrives if no
                // earlier one did.
                let mut n = copies.get(k % copies.len()).copied().unwrap_or(1);
                k += 1;
                if i == last && !end_seen {
                    n = n.max(1);
                }
                for _ in 0..n {
                    d.handle_packet(now, marker, ts, &payload).unwrap();
                    end_seen |= end;
                    got.extend(digits(&mut d).iter().map(|x| (x.digit, x.duration_ms)));
                }
                now += ms(20);
            }
            // 60 ms of silence and the clock moves on by the event and the pause.
            now += ms(60);
            clock = clock.wrapping_add(dur * 8 + 60 * 8);
        }
        prop_assert_eq!(got, digits_in);
        prop_assert_eq!(d.dropped(), 0);
    }

    /// Neighbouring packets swapped (reordering) never duplicate or reorder digits.
    #[test]
    fn reordering_keeps_the_digits(
        digits_in in proptest::collection::vec(digit_strategy(), 1..10),
        swaps in proptest::collection::vec(any::<bool>(), 1..200),
    ) {
        let t0 = Instant::now();
        let mut seq = 0u16;
        let mut clock = 0u32;
        let mut all = Vec::new();
        for &digit in &digits_in {
            all.extend(generate(digit, 100, &mut seq, clock));
            clock = clock.wrapping_add(1600);
        }
        let mut i = 0;
        while i + 1 < all.len() {
            if swaps[i % swaps.len()] {
                all.swap(i, i + 1);
                i += 1;
            }
            i += 1;
        }
        let mut d = DtmfDetector::default();
        let mut got = String::new();
        for (n, (marker, ts, _, payload)) in all.iter().enumerate() {
            d.handle_packet(t0 + ms(n as u64 * 20), *marker, *ts, payload).unwrap();
            got.extend(digits(&mut d).iter().map(|x| x.digit));
        }
        d.handle_timeout(t0 + ms(all.len() as u64 * 20) + END_TIMEOUT);
        got.extend(digits(&mut d).iter().map(|x| x.digit));
        prop_assert_eq!(got, digits_in.iter().collect::<String>());
    }

    /// Any bytes: an error or digits, never a panic, never more digits than blocks.
    #[test]
    fn any_payload(
        packets in proptest::collection::vec(
            (any::<bool>(), any::<u32>(), proptest::collection::vec(any::<u8>(), 0..40)),
            0..50,
        ),
    ) {
        let t0 = Instant::now();
        let mut d = DtmfDetector::default();
        let mut blocks = 0;
        let mut got = 0;
        for (n, (marker, ts, payload)) in packets.iter().enumerate() {
            if d.handle_packet(t0 + ms(n as u64), *marker, *ts, payload).is_ok() {
                blocks += payload.len() / EVENT_LEN;
            }
            got += digits(&mut d).len();
        }
        d.handle_timeout(t0 + ms(10_000));
        got += digits(&mut d).len();
        prop_assert!(got <= blocks);
    }
}
