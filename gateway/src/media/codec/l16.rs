//! L16: uncompressed 16-bit signed samples in network byte order (RFC 3551 §4.5.11),
//! mono, at 8000 or 16000 Hz (the RTP clock is the sample rate; only the 44.1 kHz
//! variants have static payload types 10/11, so these are always dynamic). No loss
//! concealment of its own: the decoder conceals with [`Concealer`].

use super::{CodecError, CodecInfo, Decoder, Encoder, room};
use crate::media::plc::Concealer;

/// The formats of L16 at `rate`.
pub fn info(rate: u32) -> CodecInfo {
    CodecInfo {
        name: "L16",
        payload_type: None,
        sample_rate: rate,
        rtp_clock: rate,
        frame_samples: 1,
    }
}

/// An L16 channel: stateless but for the decoder's loss-concealment history.
#[derive(Debug, Clone)]
pub struct L16 {
    rate: u32,
    plc: Concealer,
}

impl L16 {
    /// A channel at 8000 or 16000 Hz.
    pub fn new(rate: u32) -> Result<Self, CodecError> {
        match rate {
            8000 | 16000 => Ok(L16 {
                rate,
                plc: Concealer::new(rate),
            }),
            _ => Err(CodecError::Library(-1)),
        }
    }
}

impl Decoder for L16 {
    fn info(&self) -> CodecInfo {
        info(self.rate)
    }

    fn decode(&mut self, payload: &[u8], pcm: &mut [i16]) -> Result<usize, CodecError> {
        if payload.len() % 2 != 0 {
            return Err(CodecError::BadLength { len: payload.len() });
        }
        let n = payload.len() / 2;
        room(n, pcm.len())?;
        for (o, b) in pcm.iter_mut().zip(payload.chunks_exact(2)) {
            *o = i16::from_be_bytes([b[0], b[1]]);
        }
        self.plc.good(&mut pcm[..n]);
        Ok(n)
    }

    fn conceal(&mut self, samples: usize, pcm: &mut [i16]) -> Result<usize, CodecError> {
        let n = samples.min(pcm.len());
        self.plc.lost(&mut pcm[..n]);
        Ok(n)
    }
}

impl Encoder for L16 {
    fn info(&self) -> CodecInfo {
        info(self.rate)
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        room(pcm.len() * 2, out.len())?;
        for (o, s) in out.chunks_exact_mut(2).zip(pcm) {
            o.copy_from_slice(&s.to_be_bytes());
        }
        Ok(pcm.len() * 2)
    }

    fn max_payload(&self, samples: usize) -> usize {
        samples * 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_byte_order() {
        let mut l16 = L16::new(16000).expect("valid rate");
        let mut out = [0u8; 4];
        assert_eq!(l16.encode(&[0x1234, -2], &mut out), Ok(4));
        assert_eq!(out, [0x12, 0x34, 0xff, 0xfe]);
        let mut pcm = [0i16; 2];
        assert_eq!(l16.decode(&out, &mut pcm), Ok(2));
        assert_eq!(pcm, [0x1234, -2]);
        assert_eq!(
            l16.decode(&out[..3], &mut pcm),
            Err(CodecError::BadLength { len: 3 })
        );
        assert!(L16::new(44100).is_err());
    }
}
