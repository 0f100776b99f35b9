#![no_main]
//! Opus payloads: libopus through our decoder at 8 and 48 kHz and the transcoder toward
//! PCMU: errors for bad packets, never a panic or a write past the buffer.

use gateway::media::codec::opus::OpusDecoder;
use gateway::media::codec::{CodecKind, Decoder, MAX_FRAME_SAMPLES, Transcoder};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    for rate in [8000, 48000] {
        let mut dec = OpusDecoder::new(rate).expect("valid rate");
        let mut pcm = vec![0i16; MAX_FRAME_SAMPLES];
        if let Ok(n) = dec.decode(data, &mut pcm) {
            assert!(n <= pcm.len());
        }
        let _ = dec.decode(data, &mut pcm[..160]);
        let _ = dec.conceal(160, &mut pcm);
    }
    let mut t =
        Transcoder::new(CodecKind::Opus { rate: 48000 }, CodecKind::Pcmu, 20).expect("valid pair");
    let mut out = [0u8; 160];
    let _ = t.push(data);
    while let Ok(Some(_)) = t.pop(&mut out) {}
});
