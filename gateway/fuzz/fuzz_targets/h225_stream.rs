#![no_main]
//! An H.225.0 call signalling stream: arbitrary bytes through the TPKT deframer into the
//! H.323 legs (Q.931 decode, User-user element, tunnelled H.245, fast start, the call
//! state machine), then every timer run: no panic, whatever the peer sends.
//!
//! Run: `cd gateway/fuzz && cargo fuzz run -s none h225_stream -- -max_total_time=60`

use gateway::h323::call_leg::{H323Calls, H323Output};
use gateway::listeners::tpkt::TpktDeframer;
use std::time::{Duration, Instant};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let mut calls = H323Calls::new(1);
    calls.connection_opened(1, "192.0.2.1:1720".parse().expect("literal"));
    let mut deframer = TpktDeframer::new();
    deframer.push(data);
    while let Ok(Some(frame)) = deframer.next_frame() {
        calls.handle_frame(now, 1, &frame);
        // Whatever H.245 connection a leg asks for comes up and gets the same bytes.
        let out: Vec<H323Output> = std::iter::from_fn(|| calls.poll_output()).collect();
        for o in out {
            match o {
                H323Output::H245Connect { leg, .. } => calls.h245_up(now, leg, 2),
                H323Output::H245Listen { leg, .. } => {
                    calls.h245_listening(now, leg, "192.0.2.1:40000".parse().expect("literal"))
                }
                _ => {}
            }
        }
        calls.handle_h245_frame(now, 2, &frame);
        while calls.poll_output().is_some() {}
    }
    calls.handle_timeout(now + Duration::from_secs(3600));
    while calls.poll_output().is_some() {}
});
