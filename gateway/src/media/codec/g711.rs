//! G.711 as a [`Decoder`]/[`Encoder`]: one octet per sample at 8 kHz (RFC 3551 §4.5.14),
//! over the tables of [`crate::media::g711`].

use super::{CodecError, CodecInfo, Decoder, Encoder, room};
use crate::media::Law;
use crate::media::g711::{decode_into, encode_into};

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

/// A G.711 channel: stateless, so one value serves as decoder and encoder.
#[derive(Debug, Clone, Copy)]
pub struct G711 {
    law: Law,
}

impl G711 {
    /// A channel of `law`.
    pub fn new(law: Law) -> Self {
        G711 { law }
    }
}

impl Decoder for G711 {
    fn info(&self) -> CodecInfo {
        info(self.law)
    }

    fn decode(&mut self, payload: &[u8], pcm: &mut [i16]) -> Result<usize, CodecError> {
        room(payload.len(), pcm.len())?;
        decode_into(self.law, payload, pcm);
        Ok(payload.len())
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
