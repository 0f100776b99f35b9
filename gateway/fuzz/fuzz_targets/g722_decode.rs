#![no_main]
//! G.722 payloads: the decoder takes any octets (every code is valid) without panic, and
//! the transcoder toward PCMU takes any payload.

use gateway::media::codec::g722::G722Decoder;
use gateway::media::codec::{CodecKind, Decoder, Transcoder};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut dec = G722Decoder::new();
    let mut pcm = vec![0i16; 2 * data.len()];
    assert_eq!(dec.decode(data, &mut pcm), Ok(2 * data.len()));
    let mut t = Transcoder::new(CodecKind::G722, CodecKind::Pcmu, 20).expect("valid pair");
    let mut out = [0u8; 160];
    for chunk in data.chunks(160) {
        t.push(chunk).expect("any G.722 payload decodes");
        while let Ok(Some(o)) = t.pop(&mut out) {
            assert!(o.len <= out.len());
        }
    }
});
