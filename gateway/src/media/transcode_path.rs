//! One transcoded direction of a call inside the relay (issue 6): the RTP packets of
//! one payload type arriving on a side are decoded, resampled and re-encoded in the
//! codec the other side receives, at its packetisation time.
//!
//! Sans-IO: [`TranscodePath::push`] takes each arriving packet's numbers and payload,
//! [`TranscodePath::pop`] hands out the next payload to send with the RTP timestamp
//! ticks it spans. A gap in the sequence numbers is concealed (the decoder's own
//! concealment) for up to [`MAX_CONCEALED`] packets; a longer gap, a duplicate or a
//! packet older than the last one is not (RFC 3550 A.1 ordering by sequence number).
//! Nothing allocates after [`TranscodePath::new`].

use super::codec::{CodecInfo, CodecKind, Output, Transcoder, TranscoderError};

/// A transcoded direction: the codec the packets arrive in, the one they leave in, and
/// the packetisation time of the packets that leave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transcode {
    /// Codec of the arriving packets.
    pub codec_in: CodecKind,
    /// Codec of the packets sent on.
    pub codec_out: CodecKind,
    /// Milliseconds of audio per packet sent (10, 20, 30 or 40).
    pub ptime_ms: u16,
}

/// Lost packets in a row that are concealed; a longer gap is a pause (silence
/// suppression, a hold) and is not filled.
pub const MAX_CONCEALED: u16 = 5;

/// What [`TranscodePath`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathStats {
    /// Payloads decoded.
    pub decoded: u64,
    /// Payloads the decoder refused (the packet is dropped, the call goes on).
    pub bad_payloads: u64,
    /// Lost packets concealed.
    pub concealed: u64,
    /// Duplicates and packets older than the newest one, dropped.
    pub out_of_order: u64,
    /// Payloads encoded and handed out.
    pub encoded: u64,
}

/// Decoder, resampler and encoder of one direction, with the input's sequence state.
pub struct TranscodePath {
    rule: Transcode,
    transcoder: Transcoder,
    in_info: CodecInfo,
    /// Sequence number and timestamp of the newest packet decoded.
    last: Option<(u16, u32)>,
    /// RTP ticks one input packet spans, learnt from consecutive packets.
    packet_ticks: Option<u32>,
    /// The next payload handed out starts a talkspurt (RFC 3551 §4.1 marker).
    marker: bool,
    stats: PathStats,
}

impl std::fmt::Debug for TranscodePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TranscodePath")
            .field("rule", &self.rule)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl TranscodePath {
    /// The path for `rule`; an error when a codec is not in this build or the ptime
    /// cannot be framed.
    pub fn new(rule: Transcode) -> Result<Self, TranscoderError> {
        let transcoder = Transcoder::new(rule.codec_in, rule.codec_out, u32::from(rule.ptime_ms))?;
        Ok(TranscodePath {
            rule,
            transcoder,
            in_info: rule.codec_in.info(),
            last: None,
            packet_ticks: None,
            marker: true,
            stats: PathStats::default(),
        })
    }

    /// The rule this path carries out.
    pub fn rule(&self) -> Transcode {
        self.rule
    }

    /// The output codec's formats (its RTP clock numbers the packets sent).
    pub fn output_info(&self) -> CodecInfo {
        self.transcoder.output_info()
    }

    /// The largest payload [`TranscodePath::pop`] writes.
    pub fn max_payload(&self) -> usize {
        self.transcoder.max_payload()
    }

    /// What the path counted.
    pub fn stats(&self) -> PathStats {
        self.stats
    }

    /// One arriving packet of the input codec.
    pub fn push(&mut self, seq: u16, timestamp: u32, marker: bool, payload: &[u8]) {
        if let Some((last_seq, last_ts)) = self.last {
            let ahead = seq.wrapping_sub(last_seq);
            if ahead == 0 || ahead > u16::MAX / 2 {
                self.stats.out_of_order += 1;
                return;
            }
            let ticks = timestamp.wrapping_sub(last_ts);
            if ahead == 1 && ticks > 0 && ticks < self.in_info.rtp_clock {
                self.packet_ticks = Some(ticks);
            }
            if ahead > 1 && ahead <= MAX_CONCEALED + 1 && !marker {
                self.conceal(ahead - 1);
            } else if ahead > MAX_CONCEALED + 1 || marker {
                self.marker = true;
            }
        }
        self.last = Some((seq, timestamp));
        match self.transcoder.push(payload) {
            Ok(()) => self.stats.decoded += 1,
            Err(e) => {
                self.stats.bad_payloads += 1;
                tracing::trace!(error = %e, "transcoder: payload not decoded");
            }
        }
    }

    /// Conceals `packets` lost packets of the length learnt so far (20 ms if unknown).
    fn conceal(&mut self, packets: u16) {
        let ticks = self
            .packet_ticks
            .unwrap_or(self.in_info.rtp_clock / 50)
            .max(1);
        // RTP ticks -> PCM samples at the decoder's rate (G.722 and Opus differ).
        let samples = (u64::from(ticks) * u64::from(self.in_info.sample_rate)
            / u64::from(self.in_info.rtp_clock.max(1))) as usize;
        for _ in 0..packets {
            if self.transcoder.push_lost(samples).is_ok() {
                self.stats.concealed += 1;
            }
        }
    }

    /// The next payload to send, written into `out`, with whether it starts a talkspurt;
    /// `None` until a whole packet's worth of audio is in.
    pub fn pop(&mut self, out: &mut [u8]) -> Option<(Output, bool)> {
        match self.transcoder.pop(out) {
            Ok(Some(o)) => {
                self.stats.encoded += 1;
                Some((o, std::mem::take(&mut self.marker)))
            }
            Ok(None) => None,
            Err(e) => {
                tracing::debug!(error = %e, "transcoder: frame not encoded");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::codec::measure;

    fn rule(codec_in: CodecKind, codec_out: CodecKind, ptime_ms: u16) -> Transcode {
        Transcode {
            codec_in,
            codec_out,
            ptime_ms,
        }
    }

    /// 20 ms PCMU packets of a 1 kHz tone.
    fn pcmu_packets(n: usize) -> Vec<Vec<u8>> {
        let mut enc = CodecKind::Pcmu.encoder().expect("pcmu");
        let tone = measure::sine(1000.0, 8000, 160 * n, 0.3);
        tone.chunks(160)
            .map(|c| {
                let mut out = vec![0u8; 160];
                let n = enc.encode(c, &mut out).expect("encode");
                out.truncate(n);
                out
            })
            .collect()
    }

    #[test]
    fn pcmu_to_g722_keeps_the_tone_and_changes_ptime() {
        let mut path = TranscodePath::new(rule(CodecKind::Pcmu, CodecKind::G722, 40))
            .expect("both codecs built in");
        let mut dec = CodecKind::G722.decoder().expect("g722");
        let mut pcm = Vec::new();
        let mut out = [0u8; 1500];
        let mut frame = vec![0i16; 1920];
        let mut markers = 0;
        for (i, p) in pcmu_packets(50).iter().enumerate() {
            path.push(i as u16, 160 * i as u32, i == 0, p);
            while let Some((o, marker)) = path.pop(&mut out) {
                assert_eq!(o.rtp_ticks, 320, "40 ms of G.722 is 320 ticks at 8 kHz");
                markers += usize::from(marker);
                let n = dec.decode(&out[..o.len], &mut frame).expect("decode");
                pcm.extend_from_slice(&frame[..n]);
            }
        }
        assert_eq!(markers, 1, "only the first packet starts a talkspurt");
        assert!(pcm.len() >= 16000 * 9 / 10, "{} samples", pcm.len());
        let hz = measure::zero_crossing_hz(&pcm[1600..], 16000);
        assert!((hz - 1000.0).abs() < 20.0, "{hz} Hz");
        let snr = measure::tone_snr_db(&pcm[1600..], 1000.0, 16000);
        assert!(snr > 25.0, "SNR {snr:.1} dB");
    }

    #[test]
    fn a_gap_is_concealed_and_old_packets_dropped() {
        let mut path =
            TranscodePath::new(rule(CodecKind::Pcmu, CodecKind::Pcma, 20)).expect("g711");
        let packets = pcmu_packets(10);
        let mut out = [0u8; 400];
        let mut sent = 0;
        for (seq, p) in [(0u16, 0), (1, 1), (4, 4), (3, 3), (4, 4), (5, 5)] {
            path.push(seq, 160 * u32::from(seq), false, &packets[p]);
            while path.pop(&mut out).is_some() {
                sent += 1;
            }
        }
        let s = path.stats();
        assert_eq!((s.decoded, s.concealed, s.out_of_order), (4, 2, 2));
        assert_eq!(sent, 6, "two decoded, two concealed, two decoded");
    }

    #[test]
    fn garbage_is_counted_not_fatal() {
        let mut path =
            TranscodePath::new(rule(CodecKind::Opus { rate: 8000 }, CodecKind::Pcmu, 20))
                .expect("opus");
        let mut out = [0u8; 400];
        for seq in 0..5u16 {
            path.push(seq, 960 * u32::from(seq), false, &[0xff; 3]);
            let _ = path.pop(&mut out);
        }
        assert!(path.stats().bad_payloads + path.stats().decoded == 5);
    }
}
