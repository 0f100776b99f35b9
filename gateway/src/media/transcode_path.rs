//! One transcoded direction of a call inside the relay (issue 6): the RTP packets of
//! one payload type arriving on a side go through an adaptive jitter buffer
//! ([`JitterBuffer`]), are decoded, resampled and re-encoded in the codec the other side
//! receives, and leave paced at that side's packetisation time.
//!
//! Sans-IO: [`TranscodePath::push`] takes each arriving packet with its arrival time;
//! [`TranscodePath::pop`], called by the session's pacing clock, hands out the payload
//! due at `now` (at most one per packetisation interval) with the RTP timestamp ticks it
//! spans. A frame the buffer reports missing is concealed (the decoder's own
//! concealment, or `plc` for the waveform codecs); an RFC 3389 comfort-noise packet
//! (static payload type 13) turns into generated noise at its level until speech
//! resumes; between talkspurts (DTX) nothing is sent and the next packet carries the
//! marker bit (RFC 3551 §4.1). Nothing allocates after [`TranscodePath::new`].

use std::time::{Duration, Instant};

use super::codec::{
    CodecInfo, CodecKind, MAX_FRAME_SAMPLES, Output, Transcoder, TranscoderError, opus,
};
use super::comfort_noise::{CnPayload, NoiseGenerator, PAYLOAD_TYPE as CN_PAYLOAD_TYPE};
use super::jitter::{JitterBuffer, JitterConfig, JitterStats, Popped, Pushed};

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

/// Jitter-buffer pulls per output packet at most (120 ms of 10 ms frames, and some).
const MAX_PULLS: usize = 16;

/// What [`TranscodePath`] counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathStats {
    /// Payloads decoded.
    pub decoded: u64,
    /// Payloads the decoder refused (the packet is dropped, the call goes on).
    pub bad_payloads: u64,
    /// Missing frames concealed.
    pub concealed: u64,
    /// Comfort-noise packets received.
    pub comfort_noise: u64,
    /// Payloads encoded and handed out.
    pub encoded: u64,
}

/// Jitter buffer, decoder, resampler and encoder of one direction, and its pacing.
pub struct TranscodePath {
    rule: Transcode,
    transcoder: Transcoder,
    in_info: CodecInfo,
    jitter: JitterBuffer,
    /// The payload the jitter buffer plays out.
    slot: Box<[u8]>,
    /// Comfort noise at the input's sample rate, and scratch PCM for it.
    noise: NoiseGenerator,
    noise_pcm: Box<[i16]>,
    /// The last frame played was comfort noise: missing frames are noise, not speech.
    in_noise: bool,
    /// Packetisation interval of the output, and when the next packet is due (`None`
    /// between talkspurts: the next one goes as soon as it is ready).
    ptime: Duration,
    next_due: Option<Instant>,
    /// Ticks of the last frame of the input (for comfort noise without a length).
    last_ticks: u32,
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

/// RTP timestamp ticks one payload of `kind` spans, from its length (its TOC for
/// Opus); `None` when the length is not one the codec's RTP format allows.
pub fn payload_ticks(kind: CodecKind, payload: &[u8]) -> Option<u32> {
    let len = u32::try_from(payload.len()).ok()?;
    let ticks = match kind {
        // One octet per sample (G.711); G.722 packs two 16 kHz samples in an octet
        // and its RTP clock is 8 kHz (RFC 3551 §4.5.2).
        CodecKind::Pcmu | CodecKind::Pcma | CodecKind::G722 => len,
        // 10-octet frames of 80 samples, a 2-octet Annex B SID frame last (RFC 3551
        // §4.5.6).
        CodecKind::G729 => (len / 10) * 80 + if len % 10 == 2 { 80 } else { 0 },
        CodecKind::L16 { .. } => len / 2,
        CodecKind::Opus { .. } => opus::packet_ticks(payload)?,
    };
    (ticks > 0).then_some(ticks)
}

impl TranscodePath {
    /// The path for `rule`; an error when a codec is not in this build or the ptime
    /// cannot be framed.
    pub fn new(rule: Transcode) -> Result<Self, TranscoderError> {
        let transcoder = Transcoder::new(rule.codec_in, rule.codec_out, u32::from(rule.ptime_ms))?;
        let in_info = rule.codec_in.info();
        let jitter = JitterBuffer::new(in_info.rtp_clock, JitterConfig::default());
        let slot = vec![0u8; jitter.config().max_payload].into_boxed_slice();
        Ok(TranscodePath {
            rule,
            transcoder,
            in_info,
            jitter,
            slot,
            noise: NoiseGenerator::new(in_info.sample_rate, 0x5eed_0001),
            noise_pcm: vec![0; MAX_FRAME_SAMPLES].into_boxed_slice(),
            in_noise: false,
            ptime: Duration::from_millis(u64::from(rule.ptime_ms)),
            next_due: None,
            last_ticks: in_info.rtp_clock / 50,
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

    /// The output's packetisation interval (the pacing clock ticks at least this often).
    pub fn ptime(&self) -> Duration {
        self.ptime
    }

    /// What the path counted.
    pub fn stats(&self) -> PathStats {
        self.stats
    }

    /// What the jitter buffer counted, and its delays.
    pub fn jitter_stats(&self) -> JitterStats {
        self.jitter.stats()
    }

    /// One arriving packet: the input codec, or comfort noise (payload type 13).
    pub fn push(
        &mut self,
        now: Instant,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload_type: u8,
        payload: &[u8],
    ) -> Pushed {
        let ticks = if payload_type == CN_PAYLOAD_TYPE {
            self.last_ticks
        } else {
            match payload_ticks(self.rule.codec_in, payload) {
                Some(t) => t,
                None => {
                    self.stats.bad_payloads += 1;
                    return Pushed::TooBig;
                }
            }
        };
        self.last_ticks = ticks;
        self.jitter
            .push(now, seq, timestamp, marker, payload_type, ticks, payload)
    }

    /// PCM samples at the decoder's rate for `ticks` of the input's RTP clock.
    fn samples(&self, ticks: u32) -> usize {
        (u64::from(ticks) * u64::from(self.in_info.sample_rate)
            / u64::from(self.in_info.rtp_clock.max(1))) as usize
    }

    /// Feeds `ticks` of comfort noise into the transcoder.
    fn noise(&mut self, ticks: u32) {
        let n = self.samples(ticks).min(self.noise_pcm.len());
        self.noise.fill(&mut self.noise_pcm[..n]);
        self.transcoder.push_pcm(&self.noise_pcm[..n]);
    }

    /// The payload due at `now`, written into `out`, with whether it starts a talkspurt;
    /// `None` when nothing is due yet, the buffer is still filling, or the far end is
    /// between talkspurts.
    pub fn pop(&mut self, now: Instant, out: &mut [u8]) -> Option<(Output, bool)> {
        if self.next_due.is_some_and(|due| now < due) {
            return None;
        }
        for _ in 0..MAX_PULLS {
            if self.transcoder.ready() {
                return self.encode(now, out);
            }
            match self.jitter.pop(now, &mut self.slot) {
                Popped::Frame {
                    len,
                    payload_type,
                    ticks,
                } if payload_type == CN_PAYLOAD_TYPE => {
                    self.stats.comfort_noise += 1;
                    if let Ok(cn) = CnPayload::parse(&self.slot[..len]) {
                        self.noise.set_payload(&cn);
                    }
                    self.in_noise = true;
                    self.noise(ticks);
                }
                Popped::Frame { len, .. } => {
                    self.in_noise = false;
                    match self.transcoder.push(&self.slot[..len]) {
                        Ok(()) => self.stats.decoded += 1,
                        Err(e) => {
                            self.stats.bad_payloads += 1;
                            tracing::trace!(error = %e, "transcoder: payload not decoded");
                        }
                    }
                }
                Popped::Missing { ticks } if self.in_noise => self.noise(ticks),
                Popped::Missing { ticks } => {
                    if self.transcoder.push_lost(self.samples(ticks)).is_ok() {
                        self.stats.concealed += 1;
                    }
                }
                // Comfort noise goes on until the next update or speech (RFC 3389 §4).
                Popped::Waiting if self.in_noise => self.noise(self.last_ticks),
                Popped::Waiting => {
                    // Between talkspurts: nothing to send; the next packet starts one.
                    self.next_due = None;
                    self.marker = true;
                    return None;
                }
            }
        }
        None
    }

    fn encode(&mut self, now: Instant, out: &mut [u8]) -> Option<(Output, bool)> {
        let o = match self.transcoder.pop(out) {
            Ok(Some(o)) => o,
            Ok(None) => return None,
            Err(e) => {
                tracing::debug!(error = %e, "transcoder: frame not encoded");
                return None;
            }
        };
        self.stats.encoded += 1;
        // The pace holds; after a stall (the task was not scheduled) it restarts from
        // now instead of sending a burst.
        let next = self.next_due.unwrap_or(now) + self.ptime;
        self.next_due = Some(if next + self.ptime < now {
            now + self.ptime
        } else {
            next
        });
        Some((o, std::mem::take(&mut self.marker)))
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

    /// Runs `packets` (seq, payload type, payload; `None` = lost) through `path` with
    /// 20 ms arrivals and a 10 ms pacing clock, then 500 ms more of clock; returns the
    /// payloads handed out with their ticks and markers.
    fn run(
        path: &mut TranscodePath,
        packets: &[(u16, u8, Option<Vec<u8>>)],
    ) -> Vec<(Vec<u8>, u32, bool)> {
        let t0 = Instant::now();
        let mut out = [0u8; 1500];
        let mut sent = Vec::new();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let end = 20 * packets.len() as u64 + 500;
        let mut next_packet = 0;
        for tick in (0..end).step_by(10) {
            while let Some((seq, pt, p)) = packets.get(next_packet) {
                if 20 * next_packet as u64 > tick {
                    break;
                }
                if let Some(p) = p {
                    path.push(ms(tick), *seq, 160 * u32::from(*seq), false, *pt, p);
                }
                next_packet += 1;
            }
            while let Some((o, marker)) = path.pop(ms(tick), &mut out) {
                sent.push((out[..o.len].to_vec(), o.rtp_ticks, marker));
            }
        }
        sent
    }

    #[test]
    fn pcmu_to_g722_keeps_the_tone_and_changes_ptime() {
        let mut path = TranscodePath::new(rule(CodecKind::Pcmu, CodecKind::G722, 40))
            .expect("both codecs built in");
        let packets: Vec<_> = pcmu_packets(50)
            .into_iter()
            .enumerate()
            .map(|(i, p)| (i as u16, 0, Some(p)))
            .collect();
        let sent = run(&mut path, &packets);
        assert!(sent.len() >= 24, "{} packets for 1 s at 40 ms", sent.len());
        assert!(
            sent.iter().all(|s| s.1 == 320),
            "40 ms of G.722 is 320 ticks"
        );
        assert_eq!(sent.iter().filter(|s| s.2).count(), 1, "one talkspurt");
        let mut dec = CodecKind::G722.decoder().expect("g722");
        let mut frame = vec![0i16; 1920];
        let mut pcm = Vec::new();
        for (p, _, _) in &sent {
            let n = dec.decode(p, &mut frame).expect("decode");
            pcm.extend_from_slice(&frame[..n]);
        }
        // The tone without its first 100 ms and the concealment after its end (the
        // buffer conceals up to 100 ms before it calls the talkspurt over).
        let tone = &pcm[1600..pcm.len() - 3200];
        let hz = measure::zero_crossing_hz(tone, 16000);
        assert!((hz - 1000.0).abs() < 20.0, "{hz} Hz");
        let snr = measure::tone_snr_db(tone, 1000.0, 16000);
        assert!(snr > 25.0, "SNR {snr:.1} dB");
        let j = path.jitter_stats();
        assert!(j.target_ms >= 20 && j.target_ms <= 200, "{j:?}");
    }

    #[test]
    fn a_lost_packet_is_concealed_in_the_stream() {
        let mut path =
            TranscodePath::new(rule(CodecKind::Pcmu, CodecKind::Pcma, 20)).expect("g711");
        let packets: Vec<_> = pcmu_packets(20)
            .into_iter()
            .enumerate()
            .map(|(i, p)| (i as u16, 0, (i != 7).then_some(p)))
            .collect();
        let sent = run(&mut path, &packets);
        let s = path.stats();
        // The lost packet, and up to 100 ms after the stream ends (then the talkspurt
        // is over).
        assert_eq!(s.decoded, 19, "{s:?}");
        assert!((1..=6).contains(&s.concealed), "{s:?}");
        assert_eq!(
            sent.len() as u64,
            s.decoded + s.concealed,
            "each has its place"
        );
        assert_eq!(sent.iter().filter(|s| s.2).count(), 1);
    }

    #[test]
    fn comfort_noise_plays_until_speech_resumes() {
        let mut path =
            TranscodePath::new(rule(CodecKind::Pcmu, CodecKind::Pcmu, 20)).expect("g711");
        let mut cn = [0u8; 16];
        // RFC 3389 §3.1: level 40 (-40 dBov), no spectral information.
        let len = CnPayload::new(40, &[]).write(&mut cn).expect("fits");
        let mut packets: Vec<_> = pcmu_packets(10)
            .into_iter()
            .enumerate()
            .map(|(i, p)| (i as u16, 0, Some(p)))
            .collect();
        packets.push((10, CN_PAYLOAD_TYPE, Some(cn[..len].to_vec())));
        let sent = run(&mut path, &packets);
        let s = path.stats();
        assert_eq!(s.comfort_noise, 1, "{s:?}");
        // The noise goes on after the tone: well over the 11 packets received.
        assert!(sent.len() > 20, "{} packets", sent.len());
        let mut dec = CodecKind::Pcmu.decoder().expect("pcmu");
        let mut pcm = [0i16; 160];
        let n = dec
            .decode(&sent[sent.len() - 1].0, &mut pcm)
            .expect("decode");
        let level = measure::rms_db(&pcm[..n]);
        assert!((-50.0..-30.0).contains(&level), "noise at {level:.1} dB");
    }

    #[test]
    fn garbage_is_counted_not_fatal() {
        let mut path =
            TranscodePath::new(rule(CodecKind::Opus { rate: 8000 }, CodecKind::Pcmu, 20))
                .expect("opus");
        let packets: Vec<_> = (0..5u16).map(|i| (i, 111, Some(vec![0xff; 3]))).collect();
        let _ = run(&mut path, &packets);
        let s = path.stats();
        assert!(s.bad_payloads + s.decoded == 5, "{s:?}");
    }

    #[test]
    fn payload_lengths_give_ticks() {
        assert_eq!(payload_ticks(CodecKind::Pcmu, &[0; 160]), Some(160));
        assert_eq!(payload_ticks(CodecKind::G722, &[0; 160]), Some(160));
        assert_eq!(payload_ticks(CodecKind::G729, &[0; 20]), Some(160));
        assert_eq!(
            payload_ticks(CodecKind::G729, &[0; 22]),
            Some(240),
            "Annex B SID"
        );
        assert_eq!(
            payload_ticks(CodecKind::L16 { rate: 16000 }, &[0; 640]),
            Some(320)
        );
        assert_eq!(payload_ticks(CodecKind::Pcmu, &[]), None);
        // An Opus TOC byte for one 20 ms SILK frame (config 1, code 0, RFC 6716 §3.1).
        assert_eq!(
            payload_ticks(CodecKind::Opus { rate: 8000 }, &[0x08, 0]),
            Some(960)
        );
    }
}
