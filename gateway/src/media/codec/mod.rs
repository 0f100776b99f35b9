//! Audio codecs behind one interface, resampling, and the transcoder between two legs
//! that share no codec (issue 6).
//!
//! Sans-IO building blocks: a [`Decoder`] turns one RTP payload into 16-bit PCM at the
//! codec's sample rate, an [`Encoder`] turns PCM into a payload, both writing into
//! buffers the caller owns. Each holds the state of one channel (one direction of one
//! call); nothing allocates per frame once built. Bad payloads are errors, never panics.
//!
//! The RTP clock rate is not always the sample rate: G.722 samples at 16 kHz but its RTP
//! clock runs at 8 kHz (RFC 3551 §4.5.2), and Opus always uses a 48 kHz RTP clock
//! whatever it decodes to (RFC 7587 §4.1). [`CodecInfo`] carries both.

pub mod g711;
pub mod g722;
#[cfg(feature = "g729")]
pub mod g729;
pub mod l16;
pub mod measure;
pub mod opus;
#[cfg(test)]
mod pairs;
pub mod resample;
#[cfg(test)]
pub(crate) mod spandsp;
pub mod transcode;

pub use resample::Resampler;
pub use transcode::{Output, Transcoder, TranscoderError};

/// The longest frame any codec here produces or takes in one call: 120 ms at 48 kHz
/// (an Opus packet may carry up to 120 ms, RFC 6716 §3.2.5).
pub const MAX_FRAME_SAMPLES: usize = 5760;

/// Why a payload could not be decoded or a frame encoded. Peer input that is wrong is an
/// error of its own kind; a buffer the caller sized too small is another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The payload's length is not one the codec's RTP format allows.
    #[error("payload of {len} octets is not a whole number of frames")]
    BadLength { len: usize },
    /// The payload's content is invalid (the codec library refused it).
    #[error("invalid payload")]
    Invalid,
    /// The output buffer cannot hold the result.
    #[error("output buffer too small: {needed} needed, {got} given")]
    BufferTooSmall { needed: usize, got: usize },
    /// The PCM given to an encoder is not a frame length it can take.
    #[error("{samples} samples is not a frame length this encoder takes")]
    BadFrame { samples: usize },
    /// A codec library reported an error code.
    #[error("codec library error {0}")]
    Library(i32),
}

/// Which codec, with the parameters that change its RTP format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// G.711 µ-law, "PCMU" (RFC 3551 §4.5.14).
    Pcmu,
    /// G.711 A-law, "PCMA" (RFC 3551 §4.5.14).
    Pcma,
    /// Linear 16-bit big-endian, mono, at 8000 or 16000 Hz (RFC 3551 §4.5.11).
    L16 { rate: u32 },
    /// G.722 at 64 kbit/s (RFC 3551 §4.5.2).
    G722,
    /// G.729 Annex A, Annex B frames accepted (RFC 3551 §4.5.6).
    G729,
    /// Opus, mono, decoded and encoded at `rate` (8000, 12000, 16000, 24000 or 48000 Hz);
    /// the RTP clock is 48 kHz in every case (RFC 7587 §4.1).
    Opus { rate: u32 },
}

/// What a codec's frames look like on the wire and in PCM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecInfo {
    /// The SDP encoding name (RFC 3551 Table 4, RFC 7587 §7).
    pub name: &'static str,
    /// The static payload type, if the codec has one (RFC 3551 Table 4).
    pub payload_type: Option<u8>,
    /// PCM samples per second at the decoder's output and the encoder's input.
    pub sample_rate: u32,
    /// The RTP timestamp clock (RFC 3551 §4.5.2: 8000 for G.722; RFC 7587 §4.1: 48000
    /// for Opus).
    pub rtp_clock: u32,
    /// Samples of the codec's smallest frame (the unit a payload is a whole number of;
    /// 1 for sample-based codecs).
    pub frame_samples: usize,
}

impl CodecInfo {
    /// PCM samples in `ptime_ms` milliseconds.
    pub fn samples_in(&self, ptime_ms: u32) -> usize {
        (self.sample_rate as usize) * (ptime_ms as usize) / 1000
    }

    /// RTP timestamp ticks for `samples` PCM samples.
    pub fn rtp_ticks(&self, samples: usize) -> u32 {
        // Both rates are at most 48000: no overflow for any frame we handle.
        (samples as u64 * u64::from(self.rtp_clock) / u64::from(self.sample_rate.max(1))) as u32
    }
}

/// Turns RTP payloads of one stream into PCM. One per channel: codecs keep state from
/// frame to frame.
pub trait Decoder: Send {
    /// The codec's formats.
    fn info(&self) -> CodecInfo;
    /// Decodes one RTP payload into `pcm` and returns the number of samples written.
    fn decode(&mut self, payload: &[u8], pcm: &mut [i16]) -> Result<usize, CodecError>;
    /// Produces `samples` samples for a lost frame (concealment where the codec has it,
    /// silence otherwise) and returns the number written.
    fn conceal(&mut self, samples: usize, pcm: &mut [i16]) -> Result<usize, CodecError> {
        let n = samples.min(pcm.len());
        pcm[..n].fill(0);
        Ok(n)
    }
}

/// Turns PCM into RTP payloads of one stream. One per channel.
pub trait Encoder: Send {
    /// The codec's formats.
    fn info(&self) -> CodecInfo;
    /// Encodes `pcm` (a whole number of the codec's frames, or one packet's worth for
    /// Opus) into `out` and returns the payload's length.
    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError>;
    /// The largest payload `samples` PCM samples can encode to.
    fn max_payload(&self, samples: usize) -> usize;
}

impl CodecKind {
    /// The formats of this codec.
    pub fn info(self) -> CodecInfo {
        match self {
            CodecKind::Pcmu => g711::info(crate::media::Law::Pcmu),
            CodecKind::Pcma => g711::info(crate::media::Law::Pcma),
            CodecKind::L16 { rate } => l16::info(rate),
            CodecKind::G722 => g722::INFO,
            CodecKind::G729 => CodecInfo {
                name: "G729",
                payload_type: Some(18),
                sample_rate: 8000,
                rtp_clock: 8000,
                frame_samples: 80,
            },
            CodecKind::Opus { rate } => opus::info(rate),
        }
    }

    /// A decoder for one channel.
    pub fn decoder(self) -> Result<Box<dyn Decoder>, CodecError> {
        Ok(match self {
            CodecKind::Pcmu => Box::new(g711::G711::new(crate::media::Law::Pcmu)),
            CodecKind::Pcma => Box::new(g711::G711::new(crate::media::Law::Pcma)),
            CodecKind::L16 { rate } => Box::new(l16::L16::new(rate)?),
            CodecKind::G722 => Box::new(g722::G722Decoder::new()),
            CodecKind::G729 => g729_decoder()?,
            CodecKind::Opus { rate } => Box::new(opus::OpusDecoder::new(rate)?),
        })
    }

    /// An encoder for one channel.
    pub fn encoder(self) -> Result<Box<dyn Encoder>, CodecError> {
        Ok(match self {
            CodecKind::Pcmu => Box::new(g711::G711::new(crate::media::Law::Pcmu)),
            CodecKind::Pcma => Box::new(g711::G711::new(crate::media::Law::Pcma)),
            CodecKind::L16 { rate } => Box::new(l16::L16::new(rate)?),
            CodecKind::G722 => Box::new(g722::G722Encoder::new()),
            CodecKind::G729 => g729_encoder()?,
            CodecKind::Opus { rate } => Box::new(opus::OpusEncoder::new(rate)?),
        })
    }
}

#[cfg(feature = "g729")]
fn g729_decoder() -> Result<Box<dyn Decoder>, CodecError> {
    Ok(Box::new(g729::G729Decoder::new()?))
}

#[cfg(feature = "g729")]
fn g729_encoder() -> Result<Box<dyn Encoder>, CodecError> {
    Ok(Box::new(g729::G729Encoder::new(false)?))
}

/// Without the `g729` feature there is no G.729 (the library is GPL-3.0, README).
#[cfg(not(feature = "g729"))]
fn g729_decoder() -> Result<Box<dyn Decoder>, CodecError> {
    Err(CodecError::Library(-1))
}

#[cfg(not(feature = "g729"))]
fn g729_encoder() -> Result<Box<dyn Encoder>, CodecError> {
    Err(CodecError::Library(-1))
}

/// Checks `needed` against `got`.
pub(crate) fn room(needed: usize, got: usize) -> Result<(), CodecError> {
    if needed > got {
        Err(CodecError::BufferTooSmall { needed, got })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RTP ticks per 20 ms: the RTP clock, not the sample rate (RFC 3551 §4.5.2 for
    /// G.722, RFC 7587 §4.1 for Opus).
    #[test]
    fn rtp_clock_is_not_the_sample_rate() {
        let g722 = CodecKind::G722.info();
        assert_eq!(g722.samples_in(20), 320);
        assert_eq!(g722.rtp_ticks(320), 160);
        for rate in [8000, 16000, 48000] {
            let opus = CodecKind::Opus { rate }.info();
            assert_eq!(opus.rtp_ticks(opus.samples_in(20)), 960);
        }
        let pcmu = CodecKind::Pcmu.info();
        assert_eq!(pcmu.rtp_ticks(160), 160);
        assert_eq!(CodecKind::L16 { rate: 16000 }.info().rtp_ticks(320), 320);
        assert_eq!(CodecKind::G729.info().payload_type, Some(18));
        assert_eq!(CodecKind::G722.info().payload_type, Some(9));
    }

    #[test]
    fn g729_needs_its_feature() {
        assert_eq!(CodecKind::G729.decoder().is_ok(), cfg!(feature = "g729"));
        assert_eq!(CodecKind::G729.encoder().is_ok(), cfg!(feature = "g729"));
    }
}
