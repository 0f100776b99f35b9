#![no_main]
//! A received D-channel bit stream: the deframer must not panic, every frame it hands
//! over is within the LAPD limits, and a frame framed again is found again.

use tdm::hdlc::{BitOrder, Deframer, Framer, Limits};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for order in [BitOrder::MsbFirst, BitOrder::LsbFirst] {
        let mut d = Deframer::new(order, Limits::LAPD);
        let mut frames = Vec::new();
        d.feed(data, |r| {
            if let Ok(f) = r {
                assert!((3..=264).contains(&f.len()));
                frames.push(f.to_vec());
            }
        });
        let mut fr = Framer::new(order);
        for f in &frames {
            fr.push_frame(f);
        }
        let mut stream = vec![0; fr.pending() + 1];
        fr.fill(&mut stream);
        let mut again = Vec::new();
        Deframer::new(order, Limits::LAPD)
            .feed(&stream, |r| again.push(r.expect("framed by us").to_vec()));
        assert_eq!(again, frames);
    }
});
