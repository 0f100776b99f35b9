#![no_main]
//! The RAS endpoint: arbitrary datagrams (each a length octet then that many bytes)
//! after a registration and an admission request, then every timer run: no panic.
//!
//! Run: `cd gateway/fuzz && cargo fuzz run -s none ras_endpoint -- -max_total_time=60`

use gateway::h323::ras::{RasCall, RasConfig, RasEndpoint};
use std::time::{Duration, Instant};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = Instant::now();
    let gk = "192.0.2.100:1719".parse().expect("literal");
    let mut ep = RasEndpoint::new(
        RasConfig {
            gatekeeper: gk,
            gatekeeper_id: None,
            h323_ids: vec!["gw".into()],
            e164: vec!["1".into()],
            time_to_live: 60,
            ras_address: "192.0.2.1:40000".parse().expect("literal"),
            call_signal: "192.0.2.1:1720".parse().expect("literal"),
        },
        1,
    );
    ep.start(now);
    let call = RasCall {
        call_id: [1; 16],
        conference_id: [2; 16],
        crv: 5,
        answer: false,
        called: "5000".into(),
        calling: None,
    };
    let mut rest = data;
    let mut t = now;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let (datagram, next) = tail.split_at(n);
        ep.handle_datagram(t, gk, datagram);
        ep.admit(t, 1, call.clone());
        ep.disengage(t, 1, false);
        t += Duration::from_secs(2);
        ep.handle_timeout(t);
        while ep.poll_output().is_some() {}
        rest = next;
    }
    ep.unregister(t);
    ep.handle_timeout(t + Duration::from_secs(3600));
    while ep.poll_output().is_some() {}
});
