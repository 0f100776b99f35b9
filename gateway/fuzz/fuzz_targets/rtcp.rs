#![no_main]
//! RTCP bytes: the compound reader must not panic, the gateway's own reporter and the
//! pass-through measurement must take any report, and a relay with an own-reporting side
//! must keep writing well-formed reports.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use gateway::media::rtcp::{Compound, RtcpPacket, RtcpReporter, first_cname};
use gateway::media::rtp::validate_rtcp;
use gateway::media::{PtMap, Relay, RelayConfig, Side, SideConfig};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for item in Compound::new(data) {
        match item {
            Ok(RtcpPacket::Sr { blocks, .. } | RtcpPacket::Rr { blocks, .. }) => {
                let _ = blocks.count();
            }
            Ok(RtcpPacket::Sdes { chunks, .. }) => {
                let _ = first_cname(chunks);
            }
            _ => {}
        }
    }
    let t0 = Instant::now();
    let mut reporter = RtcpReporter::new(1, 7);
    reporter.handle_rtcp(t0, data, 50);
    let _ = reporter.figures(8000);

    let a: SocketAddr = "192.0.2.10:4000".parse().expect("literal");
    let b: SocketAddr = "198.51.100.20:6000".parse().expect("literal");
    let mut relay = Relay::new(RelayConfig {
        a: SideConfig {
            expected_rtcp: Some(a),
            own_rtcp: data.first().is_some_and(|x| x & 1 == 1),
            ..SideConfig::latching(1)
        },
        b: SideConfig {
            expected: Some(b),
            expected_rtcp: Some(b),
            ..SideConfig::latching(2)
        },
        pt_map: PtMap::new(),
    });
    let mut out = [0u8; 1500];
    // Split the input into datagrams at each 0xfe, alternating sides.
    for (i, chunk) in data.split(|&x| x == 0xfe).enumerate() {
        let mut buf = chunk.to_vec();
        let (from, side) = if i % 2 == 0 { (a, Side::A) } else { (b, Side::B) };
        let now = t0 + Duration::from_millis(700 * i as u64);
        if let Some(fwd) = relay.handle_packet(now, from, side, &mut buf) {
            assert!(fwd.len <= buf.len(), "forward within the buffer");
        }
        while let Some((_, fwd)) = relay.poll_rtcp(now, SystemTime::now(), &mut out) {
            assert_eq!(validate_rtcp(&out[..fwd.len]), Ok(2), "SR/RR + SDES");
        }
        let _ = relay.leg_figures(side);
    }
});
