#![no_main]
//! RTP/RTCP bytes: the parser must not panic, and the relay must forward at most the bytes
//! it was given, from either side, with a source switch and RTCP on the way.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use gateway::media::rtp::validate_rtcp;
use gateway::media::{PtMap, Relay, RelayConfig, RtpPacket, Side, SideConfig};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = RtpPacket::parse(data);
    let _ = validate_rtcp(data);
    let a: SocketAddr = "192.0.2.10:4000".parse().expect("literal");
    let b: SocketAddr = "198.51.100.20:6000".parse().expect("literal");
    let mut map = PtMap::new();
    map.insert(101, 96).expect("empty map has room");
    let mut relay = Relay::new(RelayConfig {
        a: SideConfig {
            expected_rtcp: Some(a),
            ..SideConfig::latching(1)
        },
        b: SideConfig {
            expected: Some(b),
            expected_rtcp: Some(b),
            ..SideConfig::latching(2)
        },
        pt_map: map,
    });
    let t0 = Instant::now();
    // Split the input into datagrams at each 0xff, alternating sides.
    for (i, chunk) in data.split(|&x| x == 0xff).enumerate() {
        let mut buf = chunk.to_vec();
        let (from, side) = if i % 2 == 0 {
            (a, Side::A)
        } else {
            (b, Side::B)
        };
        let now = t0 + Duration::from_millis(20 * i as u64);
        if let Some(fwd) = relay.handle_packet(now, from, side, &mut buf) {
            assert!(fwd.len <= buf.len(), "forward within the buffer");
            if !gateway::media::rtp::looks_like_rtcp(&buf) {
                RtpPacket::parse(&buf[..fwd.len]).expect("relayed RTP still parses");
            }
        }
        let _ = relay.stats(side);
    }
});
