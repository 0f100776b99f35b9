#![no_main]
//! Received Q.931 messages on a PRI interface (both sides): no panic, whatever arrives,
//! and every call the interface keeps holds a configured channel or none.

use std::time::{Duration, Instant};

use tdm::pri::{Config, Pri, Variant};
use tdm::q921::{Event, Side};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    for side in [Side::Network, Side::User] {
        let mut p = Pri::new(Config::e1(side, Variant::EUROISDN));
        p.handle_dl_event(t0, &Event::EstablishConfirm);
        // Messages separated by 0xFF; 0xFE alone: time passes; 0xFD alone: link down.
        for (n, chunk) in data.split(|&b| b == 0xFF).enumerate() {
            let now = t0 + Duration::from_secs(n as u64);
            match chunk {
                [0xFE] => p.handle_timeout(now + Duration::from_secs(200)),
                [0xFD] => p.handle_dl_event(now, &Event::ReleaseIndication),
                _ => {
                    let _ = p.handle_message(now, chunk);
                }
            }
            p.handle_timeout(now);
            while p.poll_output().is_some() {}
            for (call, _) in p.calls() {
                if let Some(ch) = p.call_channel(call) {
                    assert!(p.channel_state(ch).is_some(), "a configured channel");
                }
            }
        }
    }
});
