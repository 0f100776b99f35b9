#![no_main]
//! G.729 payloads (feature `g729`): speech frames, Annex B SID frames, bad lengths; the
//! decoder returns errors, never panics, and libbcg729 is never handed a short frame.

use gateway::media::codec::g729::G729Decoder;
use gateway::media::codec::{Decoder, MAX_FRAME_SAMPLES};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut dec = G729Decoder::new().expect("decoder");
    let mut pcm = vec![0i16; MAX_FRAME_SAMPLES];
    for chunk in data.split(|&b| b == 0xff) {
        if let Ok(n) = dec.decode(chunk, &mut pcm) {
            assert_eq!(n % 80, 0);
        }
    }
    let _ = dec.conceal(160, &mut pcm);
});
