//! The RTP relay core on simulated time: header round trips, loss and jitter against
//! hand-computed figures, SSRC switch continuity, latching, PT rewrite, and proof that
//! the hot path does not allocate.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gateway::media::rtp::{Extension, validate_rtcp};
use gateway::media::{
    Forward, PtMap, Relay, RelayConfig, RtpError, RtpHeader, RtpPacket, Side, SideConfig,
};
use proptest::prelude::*;
use zerocopy::IntoBytes;

/// Counts allocations made by the current thread, so tests running in parallel do not
/// disturb each other.
struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counter is a
// const-initialised thread-local `Cell` without destructor, so touching it never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as our caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as our caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

const A_PEER: &str = "192.0.2.10:4000";
const B_PEER: &str = "198.51.100.20:6000";

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("literal address")
}

fn rtp(pt: u8, seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    let mut v = RtpHeader::new(pt, false, seq, ts, ssrc).as_bytes().to_vec();
    v.extend_from_slice(&[0xd5; 160]);
    v
}

fn header(packet: &[u8]) -> RtpHeader {
    *RtpPacket::parse(packet)
        .expect("relay output parses")
        .header
}

/// Both sides latching with rtcp-mux, B already latched so packets from A have somewhere to go.
fn relay_with(pt_map: PtMap) -> (Relay, Instant) {
    let mut relay = Relay::new(RelayConfig {
        // rtcp-mux on both sides: RTCP shares the RTP address.
        a: SideConfig {
            expected_rtcp: Some(addr(A_PEER)),
            ..SideConfig::latching(0xaaaa_0001)
        },
        b: SideConfig {
            expected_rtcp: Some(addr(B_PEER)),
            ..SideConfig::latching(0xbbbb_0002)
        },
        pt_map,
    });
    let t0 = Instant::now();
    let mut p = rtp(0, 1, 0, 0x0b0b);
    relay.handle_packet(t0, addr(B_PEER), Side::B, &mut p);
    (relay, t0)
}

fn ms(t0: Instant, n: u64) -> Instant {
    t0 + Duration::from_millis(n)
}

#[test]
fn forwards_to_other_side_with_our_ssrc() {
    let (mut relay, t0) = relay_with(PtMap::new());
    let mut p = rtp(8, 100, 1000, 0x1111);
    let fwd = relay
        .handle_packet(t0, addr(A_PEER), Side::A, &mut p)
        .expect("forwarded");
    assert_eq!(
        fwd,
        Forward {
            to: addr(B_PEER),
            len: 172
        }
    );
    let h = header(&p);
    assert_eq!(h.ssrc.get(), 0xbbbb_0002);
    assert_eq!(h.sequence.get(), 100);
    assert_eq!(h.timestamp.get(), 1000);
    assert_eq!(h.payload_type(), 8);
    assert_eq!(relay.stats(Side::A).packets, 1);
    assert_eq!(relay.stats(Side::A).octets, 160);
}

#[test]
fn payload_type_rewritten_both_ways() {
    let mut map = PtMap::new();
    map.insert(101, 96).expect("room");
    let (mut relay, t0) = relay_with(map);
    let mut p = rtp(101, 1, 0, 0x1111);
    relay
        .handle_packet(t0, addr(A_PEER), Side::A, &mut p)
        .expect("A to B");
    assert_eq!(header(&p).payload_type(), 96);
    let mut p = rtp(96, 2, 160, 0x0b0b);
    let fwd = relay
        .handle_packet(t0, addr(B_PEER), Side::B, &mut p)
        .expect("B to A");
    assert_eq!(fwd.to, addr(A_PEER));
    assert_eq!(header(&p).payload_type(), 101);
    // Unmapped PT and the marker bit survive.
    let mut p = rtp(0, 3, 320, 0x0b0b);
    p[1] |= 0x80;
    relay.handle_packet(t0, addr(B_PEER), Side::B, &mut p);
    assert_eq!(header(&p).payload_type(), 0);
    assert!(header(&p).marker());
}

#[test]
fn latching_only_from_expected_address_when_disabled() {
    let mut relay = Relay::new(RelayConfig {
        a: SideConfig {
            expected: Some(addr(A_PEER)),
            expected_rtcp: None,
            latching: false,
            clock_rate: 8000,
            send_ssrc: 1,
            own_rtcp: false,
        },
        b: SideConfig {
            expected: Some(addr(B_PEER)),
            ..SideConfig::latching(2)
        },
        pt_map: PtMap::new(),
    });
    let t0 = Instant::now();
    // Nothing has arrived from B yet: we send to its expected address.
    let mut p = rtp(0, 1, 0, 9);
    assert_eq!(
        relay.handle_packet(t0, addr("203.0.113.5:1234"), Side::A, &mut p),
        None,
        "stranger on a non-latching side is dropped"
    );
    assert_eq!(relay.stats(Side::A).dropped, 1);
    assert_eq!(relay.stats(Side::A).packets, 0);
    let mut p = rtp(0, 1, 0, 9);
    let fwd = relay.handle_packet(t0, addr(A_PEER), Side::A, &mut p);
    assert_eq!(fwd.map(|f| f.to), Some(addr(B_PEER)));

    // B is behind NAT: its packets come from elsewhere and it latches there.
    let nat = addr("203.0.113.99:40000");
    let mut p = rtp(0, 7, 0, 8);
    let fwd = relay.handle_packet(t0, nat, Side::B, &mut p);
    assert_eq!(fwd.map(|f| f.to), Some(addr(A_PEER)));
    assert_eq!(relay.peer(Side::B), Some(nat));
    let mut p = rtp(0, 2, 160, 9);
    let fwd = relay.handle_packet(t0, addr(A_PEER), Side::A, &mut p);
    assert_eq!(fwd.map(|f| f.to), Some(nat), "sent back where B latched");
    // Once latched, another source address on B is refused.
    let mut p = rtp(0, 8, 160, 8);
    assert_eq!(relay.handle_packet(t0, addr(B_PEER), Side::B, &mut p), None);

    // A re-INVITE repoints B and the latch is free again.
    relay.repoint(Side::B, Some(addr(B_PEER)), None);
    let mut p = rtp(0, 9, 320, 8);
    assert!(
        relay
            .handle_packet(t0, addr(B_PEER), Side::B, &mut p)
            .is_some()
    );
    assert_eq!(relay.peer(Side::B), Some(addr(B_PEER)));
}

#[test]
fn nowhere_to_send_is_counted_but_stats_still_kept() {
    let mut relay = Relay::new(RelayConfig {
        a: SideConfig::latching(1),
        b: SideConfig::latching(2),
        pt_map: PtMap::new(),
    });
    let mut p = rtp(0, 1, 0, 9);
    assert_eq!(
        relay.handle_packet(Instant::now(), addr(A_PEER), Side::A, &mut p),
        None
    );
    assert_eq!(relay.stats(Side::A).packets, 1);
    assert_eq!(relay.stats(Side::A).dropped, 1);
}

#[test]
fn loss_counted_from_sequence_gaps() {
    let (mut relay, t0) = relay_with(PtMap::new());
    for (i, seq) in [1u16, 2, 4, 7].into_iter().enumerate() {
        let mut p = rtp(0, seq, u32::from(seq) * 160, 0x1111);
        relay.handle_packet(ms(t0, 20 * i as u64), addr(A_PEER), Side::A, &mut p);
    }
    assert_eq!(relay.stats(Side::A).lost, 3); // 3, 5, 6
    // A late 5 arrives: one fewer lost.
    let mut p = rtp(0, 5, 800, 0x1111);
    relay.handle_packet(ms(t0, 100), addr(A_PEER), Side::A, &mut p);
    assert_eq!(relay.stats(Side::A).lost, 2);
    assert_eq!(relay.stats(Side::A).packets, 5);
}

#[test]
fn sequence_wrap_around() {
    let (mut relay, t0) = relay_with(PtMap::new());
    let mut out = Vec::new();
    for (i, seq) in [65533u16, 65534, 65535, 0, 2].into_iter().enumerate() {
        let mut p = rtp(0, seq, 160 * i as u32, 0x1111);
        relay.handle_packet(ms(t0, 20 * i as u64), addr(A_PEER), Side::A, &mut p);
        out.push(header(&p).sequence.get());
    }
    assert_eq!(out, [65533, 65534, 65535, 0, 2]);
    let s = relay.stats(Side::A);
    assert_eq!(s.lost, 1, "only seq 1 is missing across the wrap");
    assert_eq!(s.packets, 5);
}

#[test]
fn jitter_matches_hand_computation() {
    // 8 kHz, 20 ms packets (160 ticks). Arrivals at 0, 20, 50, 60 ms:
    //   transit (arrival ticks - ts): 0, 0, 400-320=80, 480-480=0
    //   D: -, 0, 80, 80
    //   J: 0, 0, 0 + (80-0)/16 = 5, 5 + (80-5)/16 = 9.6875
    let (mut relay, t0) = relay_with(PtMap::new());
    let expected = [0.0, 0.0, 5.0, 9.6875];
    for (i, (at, ts)) in [(0u64, 0u32), (20, 160), (50, 320), (60, 480)]
        .into_iter()
        .enumerate()
    {
        let mut p = rtp(0, i as u16, ts, 0x1111);
        relay.handle_packet(ms(t0, at), addr(A_PEER), Side::A, &mut p);
        let j = relay.stats(Side::A).jitter;
        assert!((j - expected[i]).abs() < 1e-9, "packet {i}: jitter {j}");
    }
    assert_eq!(relay.stats(Side::A).max_delta, Duration::from_millis(30));
}

#[test]
fn ssrc_switch_keeps_one_stream() {
    let (mut relay, t0) = relay_with(PtMap::new());
    let mut seen = Vec::new();
    let input = [
        (0u64, 0x1111u32, 100u16, 0u32),
        (20, 0x1111, 101, 160),
        (40, 0x1111, 102, 320),
        // A new fork answers with its own numbering, 20 ms later.
        (60, 0x2222, 5000, 777_777),
        (80, 0x2222, 5001, 777_937),
    ];
    for (at, ssrc, seq, ts) in input {
        let mut p = rtp(0, seq, ts, ssrc);
        relay
            .handle_packet(ms(t0, at), addr(A_PEER), Side::A, &mut p)
            .expect("forwarded");
        let h = header(&p);
        seen.push((
            h.ssrc.get(),
            h.sequence.get(),
            h.timestamp.get(),
            h.marker(),
        ));
    }
    assert_eq!(
        seen,
        [
            (0xbbbb_0002, 100, 0, false),
            (0xbbbb_0002, 101, 160, false),
            (0xbbbb_0002, 102, 320, false),
            (0xbbbb_0002, 103, 480, true),
            (0xbbbb_0002, 104, 640, false),
        ]
    );
    let s = relay.stats(Side::A);
    assert_eq!(s.ssrc_changes, 1);
    assert_eq!(s.lost, 0, "a new source is not a sequence gap");
}

#[test]
fn bad_packets_are_dropped_and_counted() {
    let (mut relay, t0) = relay_with(PtMap::new());
    let mut short = [0x80u8; 5];
    assert_eq!(
        relay.handle_packet(t0, addr(A_PEER), Side::A, &mut short),
        None
    );
    let mut v1 = rtp(0, 1, 0, 1);
    v1[0] = 0x40;
    assert_eq!(
        relay.handle_packet(t0, addr(A_PEER), Side::A, &mut v1),
        None
    );
    assert_eq!(relay.stats(Side::A).dropped, 2);
    assert_eq!(RtpPacket::parse(&v1), Err(RtpError::BadVersion(1)));
}

#[test]
fn handle_packet_does_not_allocate() {
    let mut map = PtMap::new();
    map.insert(101, 96).expect("room");
    let (mut relay, t0) = relay_with(map);
    let a = addr(A_PEER);
    let b = addr(B_PEER);
    let mut buf = rtp(0, 0, 0, 0x1111);
    let mut rtcp = [0x80u8, 201, 0, 1, 0, 0, 0x11, 0x11];
    // Warm up: latching and the first source happen here too, but measure them anyway.
    let before = allocations();
    for i in 0..2000u32 {
        let now = t0 + Duration::from_millis(20 * u64::from(i));
        let ssrc = if i < 1000 { 0x1111 } else { 0x2222 };
        buf[..12].copy_from_slice(RtpHeader::new(101, false, i as u16, i * 160, ssrc).as_bytes());
        assert!(relay.handle_packet(now, a, Side::A, &mut buf).is_some());
        buf[..12].copy_from_slice(RtpHeader::new(96, false, i as u16, i * 160, 7).as_bytes());
        assert!(relay.handle_packet(now, b, Side::B, &mut buf).is_some());
        assert!(relay.handle_packet(now, a, Side::A, &mut rtcp).is_some());
        relay.handle_packet(now, b, Side::B, &mut [0u8; 3]);
        let _ = relay.stats(Side::A).jitter;
    }
    let after = allocations();
    assert_eq!(after - before, 0, "handle_packet allocated");
    // The counter does see allocations on this thread.
    let v = std::hint::black_box(vec![1u8; 16]);
    assert!(allocations() > after);
    drop(v);
}

/// A header with its CSRCs, extension (profile, data), payload and padding length.
type PacketParts = (RtpHeader, Vec<u32>, Option<(u16, Vec<u8>)>, Vec<u8>, u8);

fn arb_packet() -> impl Strategy<Value = PacketParts> {
    (
        any::<(bool, u8, u16, u32, u32)>(),
        prop::collection::vec(any::<u32>(), 0..=15),
        prop::option::of((any::<u16>(), prop::collection::vec(any::<u8>(), 0..3))),
        prop::collection::vec(any::<u8>(), 0..64),
        0u8..=8,
    )
        .prop_map(|((m, pt, seq, ts, ssrc), csrcs, ext, payload, pad)| {
            let ext = ext.map(|(profile, words)| {
                let data = words.iter().flat_map(|w| [*w; 4]).collect::<Vec<u8>>();
                (profile, data)
            });
            let mut h = RtpHeader::new(pt, m, seq, ts, ssrc);
            h.set_csrc_count(csrcs.len() as u8);
            h.set_extension(ext.is_some());
            h.set_padding(pad > 0);
            (h, csrcs, ext, payload, pad)
        })
}

proptest! {
    #[test]
    fn header_round_trip((h, csrcs, ext, payload, pad) in arb_packet()) {
        let mut bytes = h.as_bytes().to_vec();
        for c in &csrcs {
            bytes.extend_from_slice(&c.to_be_bytes());
        }
        if let Some((profile, data)) = &ext {
            bytes.extend_from_slice(&profile.to_be_bytes());
            bytes.extend_from_slice(&((data.len() / 4) as u16).to_be_bytes());
            bytes.extend_from_slice(data);
        }
        bytes.extend_from_slice(&payload);
        if pad > 0 {
            bytes.extend(std::iter::repeat_n(0, usize::from(pad) - 1));
            bytes.push(pad);
        }
        let p = RtpPacket::parse(&bytes).expect("well-formed packet parses");
        prop_assert_eq!(*p.header, h);
        prop_assert_eq!(p.csrcs.iter().map(|c| c.get()).collect::<Vec<_>>(), csrcs);
        prop_assert_eq!(
            p.extension,
            ext.as_ref().map(|(profile, data)| Extension { profile: *profile, data })
        );
        prop_assert_eq!(p.payload, &payload[..]);
        prop_assert_eq!(p.padding, pad);
        prop_assert_eq!(p.header_len() + p.payload.len() + usize::from(pad), bytes.len());
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        mut data in prop::collection::vec(any::<u8>(), 0..200),
        from_b in any::<bool>(),
        step_ms in 0u64..1000,
    ) {
        let _ = RtpPacket::parse(&data);
        let _ = validate_rtcp(&data);
        let (mut relay, t0) = relay_with(PtMap::new());
        let side = if from_b { Side::B } else { Side::A };
        let from = if from_b { addr(B_PEER) } else { addr(A_PEER) };
        let len = data.len();
        for i in 0..3 {
            let now = t0 + Duration::from_millis(step_ms * i);
            if let Some(fwd) = relay.handle_packet(now, from, side, &mut data) {
                prop_assert!(fwd.len <= len);
            }
        }
    }
}
