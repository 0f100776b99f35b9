#![no_main]
//! Received pseudowire packets: the depacketizer must not panic under any settings, and
//! every played frame is a whole frame.

use std::time::Duration;
use tdm::pseudowire::{Config, Depacketizer, Protocol, RtpConfig, TIMESLOTS};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else {
        return;
    };
    let config = Config {
        protocol: if head & 1 == 0 {
            Protocol::Cesopsn
        } else {
            Protocol::Satop
        },
        timeslots: vec![1, 2, 16],
        frames_per_packet: u16::from(head >> 4).max(1),
        jitter_buffer: Duration::from_millis(u64::from(head >> 2 & 3)),
        rtp: (head & 2 != 0).then_some(RtpConfig {
            payload_type: 96,
            ssrc: 1,
        }),
        first_seq: 0,
    };
    let mut d = Depacketizer::new(&config);
    let mut out = vec![[0u8; TIMESLOTS]; usize::from(config.frames_per_packet)];
    // Packets are separated by a length octet.
    let mut rest = rest;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let _ = d.receive(&tail[..n]);
        d.play(&mut out);
        rest = &tail[n..];
    }
});
