#![no_main]
//! Received LAPD frames: the codec and the data link entity (both sides) must not panic,
//! whatever arrives and whenever timers run out.

use std::time::{Duration, Instant};

use tdm::q921::{Config, DataLink, Frame, Request, Side};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    for side in [Side::Network, Side::User] {
        let mut link = DataLink::new(Config::pri(side));
        let _ = link.handle_request(t0, Request::Establish);
        // Frames separated by 0xFF; a 0xFE octet alone is "time passes".
        for (n, chunk) in data.split(|&b| b == 0xFF).enumerate() {
            let now = t0 + Duration::from_millis(300 * n as u64);
            if chunk == [0xFE] {
                link.handle_timeout(now + Duration::from_secs(11));
            } else if let Ok(f) = Frame::decode(chunk) {
                let mut out = Vec::new();
                f.encode(&mut out);
                assert_eq!(out, chunk);
                let _ = link.handle_frame(now, chunk);
            } else {
                let _ = link.handle_frame(now, chunk);
            }
            if n % 3 == 0 {
                let _ = link.handle_request(now, Request::Data(chunk));
            }
            link.handle_timeout(now);
            while link.poll_output().is_some() {}
            let (vs, va, vr) = link.variables();
            assert!(vs < 128 && va < 128 && vr < 128);
            assert!(vs.wrapping_sub(va) & 0x7F <= 7, "at most k outstanding");
        }
    }
});
