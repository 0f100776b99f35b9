//! Opus (RFC 6716) through the system libopus, mono, as RTP payload per RFC 7587.
//!
//! The RTP clock is always 48 kHz (RFC 7587 §4.1) while the decoder writes PCM at the
//! rate the channel was built for (libopus decodes any packet at 8, 12, 16, 24 or 48 kHz),
//! so a call toward a G.711 leg decodes straight to 8 kHz and needs no resampler.

use opus::{Application, Bandwidth, Channels, ErrorCode, Repacketizer, Signal};

use super::{CodecError, CodecInfo, Decoder, Encoder, room};

/// The largest Opus packet we produce (RFC 6716 §3.4 R5: at most 1275 octets per frame;
/// a voice encoder at the default rate stays far below).
const MAX_PACKET: usize = 1275;

/// The formats of Opus decoded and encoded at `rate` (RFC 7587 §4.1, §7: "opus/48000/2"
/// in SDP whatever is sent).
/// RTP timestamp ticks (48 kHz, RFC 7587 §4.1) one Opus packet spans, from its TOC
/// and frame count (RFC 6716 §3.1); `None` for a packet that does not parse.
pub fn packet_ticks(payload: &[u8]) -> Option<u32> {
    opus::packet::get_nb_samples(payload, 48000)
        .ok()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
}

pub fn info(rate: u32) -> CodecInfo {
    CodecInfo {
        name: "opus",
        payload_type: None,
        sample_rate: rate,
        rtp_clock: 48000,
        // 2.5 ms, the shortest Opus frame (RFC 6716 §2.1.4).
        frame_samples: rate as usize / 400,
    }
}

fn valid_rate(rate: u32) -> Result<(), CodecError> {
    match rate {
        8000 | 12000 | 16000 | 24000 | 48000 => Ok(()),
        _ => Err(CodecError::Library(ErrorCode::BadArg as i32)),
    }
}

fn map_err(e: opus::Error) -> CodecError {
    match e.code() {
        ErrorCode::InvalidPacket => CodecError::Invalid,
        code => CodecError::Library(code as i32),
    }
}

/// An Opus decoder channel.
pub struct OpusDecoder {
    dec: opus::Decoder,
    rate: u32,
}

impl OpusDecoder {
    /// A mono decoder writing PCM at `rate` Hz.
    pub fn new(rate: u32) -> Result<Self, CodecError> {
        valid_rate(rate)?;
        let dec = opus::Decoder::new(rate, Channels::Mono).map_err(map_err)?;
        Ok(OpusDecoder { dec, rate })
    }
}

impl Decoder for OpusDecoder {
    fn info(&self) -> CodecInfo {
        info(self.rate)
    }

    fn decode(&mut self, payload: &[u8], pcm: &mut [i16]) -> Result<usize, CodecError> {
        // An empty payload would ask libopus for concealment: not a peer's packet.
        if payload.is_empty() {
            return Err(CodecError::BadLength { len: 0 });
        }
        // RFC 6716 §3.4 R1-R7 are checked by libopus (OPUS_INVALID_PACKET).
        let n = self.dec.get_nb_samples(payload).map_err(map_err)?;
        room(n, pcm.len())?;
        self.dec.decode(payload, pcm, false).map_err(map_err)
    }

    fn conceal(&mut self, samples: usize, pcm: &mut [i16]) -> Result<usize, CodecError> {
        // libopus conceals when given no packet (RFC 6716 §4.4); it wants whole 2.5 ms.
        let unit = self.rate as usize / 400;
        let n = samples.min(pcm.len()) / unit * unit;
        if n == 0 {
            return Ok(0);
        }
        self.dec.decode(&[], &mut pcm[..n], false).map_err(map_err)
    }
}

/// An Opus encoder channel (VoIP application, libopus defaults otherwise).
pub struct OpusEncoder {
    enc: opus::Encoder,
    rate: u32,
    repacketizer: Repacketizer,
    /// Three 10 ms packets, joined into one 30 ms packet (Opus has no 30 ms frame).
    parts: [[u8; MAX_PACKET]; 3],
    /// Bandwidth capped at wideband for 30 ms packets.
    capped: bool,
}

impl OpusEncoder {
    /// A mono encoder taking PCM at `rate` Hz.
    pub fn new(rate: u32) -> Result<Self, CodecError> {
        valid_rate(rate)?;
        let enc = opus::Encoder::new(rate, Channels::Mono, Application::Voip).map_err(map_err)?;
        let repacketizer = Repacketizer::new().map_err(map_err)?;
        Ok(OpusEncoder {
            enc,
            rate,
            repacketizer,
            parts: [[0; MAX_PACKET]; 3],
            capped: false,
        })
    }
}

impl OpusEncoder {
    /// Sets the encoder's complexity, 0 (cheapest) to 10 (libopus's default, best);
    /// the main lever on transcoding cost (BENCHMARKS.md).
    pub fn set_complexity(&mut self, complexity: i32) -> Result<(), CodecError> {
        self.enc
            .set_complexity(complexity.clamp(0, 10))
            .map_err(map_err)
    }
}

impl Encoder for OpusEncoder {
    fn info(&self) -> CodecInfo {
        info(self.rate)
    }

    fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, CodecError> {
        let ms10 = self.rate as usize / 100;
        // Frame sizes libopus takes: 2.5, 5, 10, 20, 40, 60 ms (RFC 6716 §2.1.4 and
        // multi-frame packets up to 120 ms); 30 ms is three 10 ms frames in one packet
        // (code 3, RFC 6716 §3.2.5).
        let quarter = ms10 / 4;
        let ok = [quarter, 2 * quarter, ms10, 2 * ms10, 4 * ms10, 6 * ms10];
        if ok.contains(&pcm.len()) {
            return self.enc.encode(pcm, out).map_err(map_err);
        }
        if pcm.len() != 3 * ms10 {
            return Err(CodecError::BadFrame { samples: pcm.len() });
        }
        // A packet's frames share one TOC (RFC 6716 §3.1): mode and bandwidth must not
        // change inside it. Left to itself libopus may switch between SILK, hybrid and
        // CELT from one 10 ms frame to the next, so a channel sending 30 ms packets is
        // told it carries voice and capped at wideband (all a telephony leg carries),
        // which keeps it in SILK mode; should the TOCs still differ, the frame is an
        // error (`Invalid`) rather than a malformed packet.
        if !self.capped {
            self.enc
                .set_bandwidth(Bandwidth::Wideband)
                .map_err(map_err)?;
            self.enc.set_signal(Signal::Voice).map_err(map_err)?;
            self.capped = true;
        }
        let mut lens = [0usize; 3];
        for (i, (chunk, part)) in pcm.chunks_exact(ms10).zip(&mut self.parts).enumerate() {
            lens[i] = self.enc.encode(chunk, part).map_err(map_err)?;
        }
        let [p0, p1, p2] = &self.parts;
        let mut state = self.repacketizer.begin();
        state.cat(&p0[..lens[0]]).map_err(map_err)?;
        state.cat(&p1[..lens[1]]).map_err(map_err)?;
        state.cat(&p2[..lens[2]]).map_err(map_err)?;
        state.out(out).map_err(map_err)
    }

    fn max_payload(&self, samples: usize) -> usize {
        // One frame per 20 ms at most, each within the RFC 6716 limit, plus framing.
        MAX_PACKET * samples.div_ceil(self.rate as usize / 50).max(1) + 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::codec::measure::{sine, tone_snr_db, zero_crossing_hz};

    #[test]
    fn round_trip_at_each_rate_and_ptime() {
        for rate in [8000, 16000, 48000] {
            for ptime in [10, 20, 30, 40, 60] {
                let mut enc = OpusEncoder::new(rate).expect("encoder");
                let mut dec = OpusDecoder::new(rate).expect("decoder");
                let frame = rate as usize * ptime / 1000;
                let pcm = sine(1000.0, rate, frame * (1000 / ptime), 0.3);
                let mut out = Vec::new();
                let mut payload = [0u8; 4000];
                let mut buf = vec![0i16; frame];
                for chunk in pcm.chunks_exact(frame) {
                    let n = enc
                        .encode(chunk, &mut payload)
                        .unwrap_or_else(|e| panic!("{rate} {ptime}: {e}"));
                    let got = dec.decode(&payload[..n], &mut buf).expect("decode");
                    assert_eq!(got, frame, "{rate} Hz {ptime} ms");
                    out.extend_from_slice(&buf[..got]);
                }
                let tail = &out[out.len() / 2..];
                let f = zero_crossing_hz(tail, rate);
                assert!((f - 1000.0).abs() < 5.0, "{rate} Hz {ptime} ms: {f}");
                let snr = tone_snr_db(tail, 1000.0, rate);
                assert!(snr > 20.0, "{rate} Hz {ptime} ms: SNR {snr:.1}");
            }
        }
    }

    #[test]
    fn bad_packets_are_errors() {
        let mut dec = OpusDecoder::new(8000).expect("decoder");
        let mut pcm = [0i16; 960];
        assert!(dec.decode(&[], &mut pcm).is_err());
        // Code 3 with a frame count of 0 is invalid (RFC 6716 §3.2.5, R5).
        assert!(dec.decode(&[0x03, 0x00], &mut pcm).is_err());
        // A 120 ms packet does not fit in 960 samples at 8 kHz: refused, not truncated.
        assert!(matches!(
            dec.decode(&[0x1b, 0x86], &mut pcm[..10]),
            Err(CodecError::BufferTooSmall { .. }) | Err(CodecError::Invalid)
        ));
        assert!(dec.conceal(160, &mut pcm).is_ok());
        assert!(OpusDecoder::new(44100).is_err());
        let mut enc = OpusEncoder::new(8000).expect("encoder");
        let mut out = [0u8; 100];
        assert_eq!(
            enc.encode(&pcm[..123], &mut out),
            Err(CodecError::BadFrame { samples: 123 })
        );
    }
}
