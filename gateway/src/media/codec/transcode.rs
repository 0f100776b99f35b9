//! One direction of a transcoded call: RTP payloads in codec A at A's ptime in, payloads
//! in codec B at B's ptime out (decode -> resample -> encode), for two legs that share no
//! codec (issue 6). Ptime conversion (10/20/30/40 ms either side) is a PCM FIFO between
//! the resampler and the encoder. Every buffer is allocated when the transcoder is built.
//!
//! Sans-IO: [`Transcoder::push`] takes a payload as the jitter buffer plays it out
//! (`media::transcode_path`), [`Transcoder::pop`] hands out each payload B is due, with
//! the RTP timestamp ticks it spans in B's clock.

use super::{
    CodecError, CodecInfo, CodecKind, Decoder, Encoder, MAX_FRAME_SAMPLES, Resampler,
    resample::RateError,
};

/// Why a transcoder could not be built or a payload not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TranscoderError {
    /// The input payload could not be decoded, or PCM not encoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The two rates have no converter.
    #[error(transparent)]
    Rate(#[from] RateError),
    /// The output ptime is not one the codec can frame.
    #[error("ptime {0} ms is not supported")]
    Ptime(u32),
}

/// One payload ready to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    /// Payload length in the caller's buffer.
    pub len: usize,
    /// RTP timestamp ticks it spans (B's RTP clock: 8000 for G.722, 48000 for Opus).
    pub rtp_ticks: u32,
}

/// PCM held between the resampler and the encoder: three of the longest frames.
const FIFO: usize = 3 * MAX_FRAME_SAMPLES;

/// A transcoder for one direction of one call.
pub struct Transcoder {
    dec: Box<dyn Decoder>,
    enc: Box<dyn Encoder>,
    resampler: Option<Resampler>,
    out_info: CodecInfo,
    /// Samples per output payload at B's rate.
    out_frame: usize,
    decoded: Box<[i16]>,
    resampled: Box<[i16]>,
    fifo: Box<[i16]>,
    fifo_len: usize,
    /// Samples dropped because the FIFO was full (input faster than output).
    dropped: u64,
}

impl Transcoder {
    /// A transcoder from `from` to `to`, sending `ptime_ms` of audio per payload
    /// (10, 20, 30 or 40 ms; RFC 3551 §4.5 frame-based codecs need a whole number of
    /// frames, Opus 30 ms is three 10 ms frames).
    pub fn new(from: CodecKind, to: CodecKind, ptime_ms: u32) -> Result<Self, TranscoderError> {
        Self::with_codecs(from.decoder()?, to.encoder()?, ptime_ms)
    }

    /// The same with channels the caller built (an Opus encoder at a lower complexity,
    /// G.729 with Annex B VAD on, ...).
    pub fn with_codecs(
        dec: Box<dyn Decoder>,
        enc: Box<dyn Encoder>,
        ptime_ms: u32,
    ) -> Result<Self, TranscoderError> {
        if !matches!(ptime_ms, 10 | 20 | 30 | 40) {
            return Err(TranscoderError::Ptime(ptime_ms));
        }
        let (in_rate, out_info) = (dec.info().sample_rate, enc.info());
        let resampler = if in_rate == out_info.sample_rate {
            None
        } else {
            Some(Resampler::new(in_rate, out_info.sample_rate)?)
        };
        let out_frame = out_info.samples_in(ptime_ms);
        if out_frame == 0 || out_frame % out_info.frame_samples != 0 {
            return Err(TranscoderError::Ptime(ptime_ms));
        }
        Ok(Transcoder {
            dec,
            enc,
            resampler,
            out_info,
            out_frame,
            decoded: vec![0; MAX_FRAME_SAMPLES].into_boxed_slice(),
            // 8 kHz -> 48 kHz multiplies by 6; plus one 10 ms block held back.
            resampled: vec![0; 6 * MAX_FRAME_SAMPLES + 480].into_boxed_slice(),
            fifo: vec![0; FIFO].into_boxed_slice(),
            fifo_len: 0,
            dropped: 0,
        })
    }

    /// The output codec's formats.
    pub fn output_info(&self) -> CodecInfo {
        self.out_info
    }

    /// The largest payload [`Transcoder::pop`] writes.
    pub fn max_payload(&self) -> usize {
        self.enc.max_payload(self.out_frame)
    }

    /// PCM samples dropped because input came faster than output was taken.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Decodes one payload of codec A into the FIFO. A payload A cannot decode is an
    /// error and leaves the FIFO as it was.
    pub fn push(&mut self, payload: &[u8]) -> Result<(), TranscoderError> {
        let n = self.dec.decode(payload, &mut self.decoded)?;
        self.feed(n);
        Ok(())
    }

    /// Stands in for `samples` (at A's rate) of lost input: the decoder's concealment.
    pub fn push_lost(&mut self, samples: usize) -> Result<(), TranscoderError> {
        let n = self
            .dec
            .conceal(samples.min(MAX_FRAME_SAMPLES), &mut self.decoded)?;
        self.feed(n);
        Ok(())
    }

    /// Takes `pcm` at the input codec's sample rate as if decoded (comfort noise
    /// generated for an RFC 3389 CN packet); at most one longest frame per call.
    pub fn push_pcm(&mut self, pcm: &[i16]) {
        let n = pcm.len().min(MAX_FRAME_SAMPLES);
        self.decoded[..n].copy_from_slice(&pcm[..n]);
        self.feed(n);
    }

    /// Whether a whole output payload's worth of audio is waiting.
    pub fn ready(&self) -> bool {
        self.fifo_len >= self.out_frame
    }

    /// Resamples `n` decoded samples and appends them to the FIFO.
    fn feed(&mut self, n: usize) {
        let Transcoder {
            resampler,
            decoded,
            resampled,
            ..
        } = self;
        let pcm: &[i16] = match resampler {
            Some(r) => {
                let m = r.process(&decoded[..n], resampled);
                &resampled[..m]
            }
            None => &decoded[..n],
        };
        let len = pcm.len();
        // Full: the oldest audio goes (latency stays bounded; the count says so).
        if self.fifo_len + len > FIFO {
            let drop = (self.fifo_len + len - FIFO).min(self.fifo_len);
            self.fifo.copy_within(drop..self.fifo_len, 0);
            self.fifo_len -= drop;
            self.dropped += drop as u64;
        }
        let take = len.min(FIFO - self.fifo_len);
        self.fifo[self.fifo_len..self.fifo_len + take].copy_from_slice(&pcm[..take]);
        self.fifo_len += take;
    }

    /// Encodes the next payload of codec B into `out` when a whole ptime of PCM is in;
    /// `Ok(None)` when more input is needed.
    pub fn pop(&mut self, out: &mut [u8]) -> Result<Option<Output>, TranscoderError> {
        if self.fifo_len < self.out_frame {
            return Ok(None);
        }
        let len = self.enc.encode(&self.fifo[..self.out_frame], out)?;
        self.fifo.copy_within(self.out_frame..self.fifo_len, 0);
        self.fifo_len -= self.out_frame;
        Ok(Some(Output {
            len,
            rtp_ticks: self.out_info.rtp_ticks(self.out_frame),
        }))
    }
}
