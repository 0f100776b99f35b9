//! G.729 Annex A (with Annex B SID frames accepted) through Debian's libbcg729
//! (GPL-3.0; only with the `g729` cargo feature, see README "Licence").
//!
//! RTP payload (RFC 3551 §4.5.6): zero or more 10-octet frames of 10 ms (80 samples at
//! 8 kHz), optionally followed by one 2-octet Annex B comfort noise (SID) frame, which
//! always comes last. The bindings are our own crate `bcg729-ffi`.

use bcg729_ffi::{FRAME_OCTETS as FRAME, FRAME_SAMPLES as SAMPLES, Frame};

use super::{CodecError, CodecInfo, CodecKind, Decoder, Encoder, room};

/// Octets of one Annex B SID frame (RFC 3551 §4.5.6).
const SID: usize = 2;

/// A G.729 decoder channel.
pub struct G729Decoder {
    dec: bcg729_ffi::Decoder,
}

impl G729Decoder {
    /// A decoder in its initial state.
    pub fn new() -> Result<Self, CodecError> {
        bcg729_ffi::Decoder::new()
            .map(|dec| G729Decoder { dec })
            .ok_or(CodecError::Library(-1))
    }
}

/// `out` as one frame's worth of samples (callers slice exactly 80).
fn frame_mut(out: &mut [i16]) -> Option<&mut [i16; SAMPLES]> {
    out.try_into().ok()
}

impl Decoder for G729Decoder {
    fn info(&self) -> CodecInfo {
        CodecKind::G729.info()
    }

    fn decode(&mut self, payload: &[u8], pcm: &mut [i16]) -> Result<usize, CodecError> {
        let frames = payload.len() / FRAME;
        let sid = match payload.len() % FRAME {
            0 => false,
            SID => true,
            _ => return Err(CodecError::BadLength { len: payload.len() }),
        };
        if payload.is_empty() {
            return Err(CodecError::BadLength { len: 0 });
        }
        let n = (frames + usize::from(sid)) * SAMPLES;
        room(n, pcm.len())?;
        for (bits, out) in payload
            .chunks_exact(FRAME)
            .zip(pcm.chunks_exact_mut(SAMPLES))
        {
            if let (Ok(bits), Some(out)) = (bits.try_into(), frame_mut(out)) {
                self.dec.decode(Frame::Speech(bits), out);
            }
        }
        if sid {
            let bits = payload[frames * FRAME..].try_into();
            if let (Ok(bits), Some(out)) = (bits, frame_mut(&mut pcm[frames * SAMPLES..n])) {
                self.dec.decode(Frame::Sid(bits), out);
            }
        }
        Ok(n)
    }

    fn conceal(&mut self, samples: usize, pcm: &mut [i16]) -> Result<usize, CodecError> {
        // Frame erasure concealment of G.729 §4.4, one 10 ms frame at a time.
        let n = samples.min(pcm.len()) / SAMPLES * SAMPLES;
        for out in pcm[..n].chunks_exact_mut(SAMPLES) {
            if let Some(out) = frame_mut(out) {
                self.dec.decode(Frame::Erased, out);
            }
        }
        Ok(n)
    }
}

/// A G.729 encoder channel.
pub struct G729Encoder {
    enc: bcg729_ffi::Encoder,
}

impl G729Encoder {
    /// An encoder; `vad` turns on Annex B (silence sends 2-octet SID frames or nothing).
    pub fn new(vad: bool) -> Result<Self, CodecError> {
        bcg729_ffi::Encoder::new(vad)
            .map(|enc| G729Encoder { enc })
            .ok_or(CodecError::Library(-1))
    }
}

impl Encoder for G729Encoder {
    fn info(&self) -> CodecInfo {
        CodecKind::G729.info()
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        if pcm.len() % SAMPLES != 0 || pcm.is_empty() {
            return Err(CodecError::BadFrame { samples: pcm.len() });
        }
        room(pcm.len() / SAMPLES * FRAME, out.len())?;
        let mut len = 0usize;
        let mut ended = false;
        for frame in pcm.chunks_exact(SAMPLES) {
            let Ok(frame) = frame.try_into() else {
                continue;
            };
            let mut bits = [0u8; FRAME];
            let n = self.enc.encode(frame, &mut bits);
            // Every frame goes through the encoder (its state follows time), but a SID
            // frame ends the payload (RFC 3551 §4.5.6): what follows it in the same
            // packet is not sent.
            if !ended {
                out[len..len + n].copy_from_slice(&bits[..n]);
                len += n;
                ended = n == SID;
            }
        }
        Ok(len)
    }

    fn max_payload(&self, samples: usize) -> usize {
        samples.div_ceil(SAMPLES) * FRAME
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::codec::measure::{sine, tone_snr_db, zero_crossing_hz};

    #[test]
    fn round_trip_tone() {
        let pcm = sine(1000.0, 8000, 8000, 0.3);
        let mut enc = G729Encoder::new(false).expect("encoder");
        let mut dec = G729Decoder::new().expect("decoder");
        let mut out = Vec::new();
        for chunk in pcm.chunks_exact(160) {
            let mut bits = [0u8; 20];
            assert_eq!(enc.encode(chunk, &mut bits), Ok(20));
            let mut buf = [0i16; 160];
            assert_eq!(dec.decode(&bits, &mut buf), Ok(160));
            out.extend_from_slice(&buf);
        }
        let tail = &out[4000..];
        let f = zero_crossing_hz(tail, 8000);
        let snr = tone_snr_db(tail, 1000.0, 8000);
        assert!((f - 1000.0).abs() < 5.0 && snr > 10.0, "{f} Hz {snr} dB");
    }

    #[test]
    fn annex_b_sid_and_bad_lengths() {
        let mut dec = G729Decoder::new().expect("decoder");
        let mut pcm = [0i16; 240];
        // One speech frame then a SID frame (RFC 3551 §4.5.6): 160 samples.
        assert_eq!(dec.decode(&[0x55; 12], &mut pcm), Ok(160));
        // A SID frame alone.
        assert_eq!(dec.decode(&[0x12, 0x34], &mut pcm), Ok(80));
        assert_eq!(
            dec.decode(&[0; 7], &mut pcm),
            Err(CodecError::BadLength { len: 7 })
        );
        assert_eq!(
            dec.decode(&[], &mut pcm),
            Err(CodecError::BadLength { len: 0 })
        );
        assert!(matches!(
            dec.decode(&[0; 40], &mut pcm),
            Err(CodecError::BufferTooSmall { .. })
        ));
        assert_eq!(dec.conceal(160, &mut pcm), Ok(160));
    }

    #[test]
    fn vad_sends_sid_in_silence() {
        let mut enc = G729Encoder::new(true).expect("encoder");
        let mut dec = G729Decoder::new().expect("decoder");
        let silence = [0i16; 160];
        let mut lens = Vec::new();
        for _ in 0..50 {
            let mut bits = [0u8; 20];
            let n = enc.encode(&silence, &mut bits).expect("encode");
            lens.push(n);
            if n > 0 {
                let mut pcm = [0i16; 160];
                dec.decode(&bits[..n], &mut pcm).expect("decode");
            }
        }
        assert!(lens.iter().any(|&n| n % FRAME == SID || n == 0), "{lens:?}");
    }
}
