//! G.711 as a [`Decoder`]/[`Encoder`]: one octet per sample at 8 kHz (RFC 3551 §4.5.14),
//! over the tables of [`crate::media::g711`]. G.711 has no loss concealment of its own:
//! the decoder conceals with [`Concealer`] (G.711 Appendix I style).

use super::{CodecError, CodecInfo, Decoder, Encoder, room};
use crate::media::Law;
use crate::media::g711::{decode_into, encode_into};
use crate::media::plc::Concealer;

/// The formats of one law.
pub fn info(law: Law) -> CodecInfo {
    CodecInfo {
        name: match law {
            Law::Pcmu => "PCMU",
            Law::Pcma => "PCMA",
        },
        payload_type: Some(law.payload_type()),
        sample_rate: 8000,
        rtp_clock: 8000,
        frame_samples: 1,
    }
}

/// A G.711 channel. The codec is stateless, so one value serves as decoder and encoder;
/// the decoder keeps loss-concealment history.
#[derive(Debug, Clone)]
pub struct G711 {
    law: Law,
    plc: Concealer,
}

impl G711 {
    /// A channel of `law`.
    pub fn new(law: Law) -> Self {
        G711 {
            law,
            plc: Concealer::new(8000),
        }
    }
}

impl Decoder for G711 {
    fn info(&self) -> CodecInfo {
        info(self.law)
    }

    fn decode(&mut self, payload: &[u8], pcm: &mut [i16]) -> Result<usize, CodecError> {
        room(payload.len(), pcm.len())?;
        decode_into(self.law, payload, pcm);
        self.plc.good(&mut pcm[..payload.len()]);
        Ok(payload.len())
    }

    fn conceal(&mut self, samples: usize, pcm: &mut [i16]) -> Result<usize, CodecError> {
        let n = samples.min(pcm.len());
        self.plc.lost(&mut pcm[..n]);
        Ok(n)
    }
}

impl Encoder for G711 {
    fn info(&self) -> CodecInfo {
        info(self.law)
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        room(pcm.len(), out.len())?;
        encode_into(self.law, pcm, out);
        Ok(pcm.len())
    }

    fn max_payload(&self, samples: usize) -> usize {
        samples
    }
}
