//! A sans-IO tone source: a sine wave in G.711 frames, and the RTP packets that carry it.
//!
//! [`ToneGenerator`] writes one packetisation interval of G.711 octets into a buffer the
//! caller owns; [`RtpSender`] puts the RTP header (RFC 3550 §5.1) in front of it. Neither
//! allocates, reads a clock or touches a socket: the media task paces them.

use zerocopy::IntoBytes;

use super::g711::Law;
use super::rtp::RtpHeader;

/// G.711 samples per second (G.711 §2: 8000 samples/s), also its RTP clock rate
/// (RFC 3551 §4.5.14).
pub const SAMPLE_RATE: u32 = 8000;

/// The default packetisation time (RFC 3551 §4.5: 20 ms for G.711).
pub const DEFAULT_PTIME_MS: u16 = 20;

/// A sine tone encoded as G.711, phase continuous from one frame to the next.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    law: Law,
    /// Peak value in 16-bit linear units.
    peak: f64,
    /// Phase advance per sample, in cycles.
    step: f64,
    /// Current phase, in cycles, within [0, 1).
    phase: f64,
    samples_per_frame: usize,
}

impl ToneGenerator {
    /// A tone of `freq_hz` at `amplitude` of full scale (clamped to 0..=1), 20 ms frames.
    pub fn new(freq_hz: f32, amplitude: f32, law: Law) -> Self {
        let step = f64::from(freq_hz) / f64::from(SAMPLE_RATE);
        ToneGenerator {
            law,
            peak: f64::from(amplitude.clamp(0.0, 1.0)) * f64::from(i16::MAX),
            step: if step.is_finite() {
                step.rem_euclid(1.0)
            } else {
                0.0
            },
            phase: 0.0,
            samples_per_frame: samples_for(DEFAULT_PTIME_MS),
        }
    }

    /// The same tone with frames of `ptime_ms` milliseconds (at least 1).
    pub fn with_ptime(mut self, ptime_ms: u16) -> Self {
        self.samples_per_frame = samples_for(ptime_ms.max(1));
        self
    }

    /// The law frames are encoded with.
    pub fn law(&self) -> Law {
        self.law
    }

    /// Samples (= octets, = RTP timestamp units) in one frame.
    pub fn samples_per_frame(&self) -> usize {
        self.samples_per_frame
    }

    /// Writes the next frame into `out`, or as much of it as fits; returns the number of
    /// octets written. The phase carries over to the next call.
    pub fn next_frame(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.samples_per_frame);
        for o in &mut out[..n] {
            let sample = self.peak * (std::f64::consts::TAU * self.phase).sin();
            // In range: |peak| <= i16::MAX, and `as` saturates anyway.
            *o = self.law.encode(sample.round() as i16);
            self.phase += self.step;
            if self.phase >= 1.0 {
                self.phase -= 1.0;
            }
        }
        n
    }
}

/// Samples in `ptime_ms` at 8 kHz.
fn samples_for(ptime_ms: u16) -> usize {
    usize::from(ptime_ms) * SAMPLE_RATE as usize / 1000
}

/// Numbers the RTP packets of one stream we originate (RFC 3550 §5.1).
#[derive(Debug, Clone)]
pub struct RtpSender {
    payload_type: u8,
    ssrc: u32,
    sequence: u16,
    timestamp: u32,
    /// Set the marker on the next packet: the first of a talkspurt (RFC 3551 §4.1).
    marker: bool,
}

impl RtpSender {
    /// A stream with the given (random) SSRC. The first sequence number and timestamp
    /// are derived from the SSRC, so a random SSRC gives unpredictable starting numbers
    /// as RFC 3550 §5.1 asks; use [`RtpSender::with_start`] to choose them.
    pub fn new(payload_type: u8, ssrc: u32) -> Self {
        // A fixed odd multiplier spreads the SSRC bits (Knuth's multiplicative hash).
        let mixed = ssrc.wrapping_mul(0x9e37_79b9);
        RtpSender {
            payload_type: payload_type & 0x7f,
            ssrc,
            sequence: (mixed >> 16) as u16,
            timestamp: mixed.rotate_left(7),
            marker: true,
        }
    }

    /// The same stream starting at `sequence` and `timestamp`.
    pub fn with_start(mut self, sequence: u16, timestamp: u32) -> Self {
        self.sequence = sequence;
        self.timestamp = timestamp;
        self
    }

    /// The SSRC of the stream.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The sequence number the next packet will carry.
    pub fn next_sequence(&self) -> u16 {
        self.sequence
    }

    /// The timestamp the next packet will carry.
    pub fn next_timestamp(&self) -> u32 {
        self.timestamp
    }

    /// Changes the payload type of the following packets.
    pub fn set_payload_type(&mut self, payload_type: u8) {
        self.payload_type = payload_type & 0x7f;
    }

    /// Starts a new talkspurt after a pause of `gap_samples` clock ticks: the next packet
    /// carries the marker and a timestamp moved on by the gap (RFC 3550 §5.1: the
    /// timestamp follows the sampling clock, silence included).
    pub fn restart(&mut self, gap_samples: u32) {
        self.timestamp = self.timestamp.wrapping_add(gap_samples);
        self.marker = true;
    }

    /// Writes a packet carrying `payload` (`samples` clock ticks long) into `out` and
    /// returns its length, or `None` when `out` is too small.
    pub fn write_packet(&mut self, out: &mut [u8], payload: &[u8], samples: u32) -> Option<usize> {
        let len = RtpHeader::LEN + payload.len();
        out.get_mut(RtpHeader::LEN..len)?.copy_from_slice(payload);
        self.write_header(out, samples)?;
        Some(len)
    }

    /// Writes a packet carrying the next frame of `tone` into `out` and returns its
    /// length, or `None` when `out` cannot hold a whole frame.
    pub fn write_tone(&mut self, tone: &mut ToneGenerator, out: &mut [u8]) -> Option<usize> {
        let samples = tone.samples_per_frame();
        let len = RtpHeader::LEN + samples;
        tone.next_frame(out.get_mut(RtpHeader::LEN..len)?);
        // `samples` is at most 65535 ms worth of 8 kHz samples: it fits u32.
        self.write_header(out, samples as u32)?;
        Some(len)
    }

    /// Writes the fixed header, then advances the sequence number by one and the
    /// timestamp by `samples` (RFC 3550 §5.1).
    fn write_header(&mut self, out: &mut [u8], samples: u32) -> Option<()> {
        let header = RtpHeader::new(
            self.payload_type,
            self.marker,
            self.sequence,
            self.timestamp,
            self.ssrc,
        );
        out.get_mut(..RtpHeader::LEN)?
            .copy_from_slice(header.as_bytes());
        self.marker = false;
        self.sequence = self.sequence.wrapping_add(1);
        self.timestamp = self.timestamp.wrapping_add(samples);
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::rtp::RtpPacket;

    /// Power of `samples` at `freq` (Goertzel's second-order recursion).
    fn goertzel(samples: &[i16], freq: f64) -> f64 {
        let w = std::f64::consts::TAU * freq / f64::from(SAMPLE_RATE);
        let coeff = 2.0 * w.cos();
        let (mut s1, mut s2) = (0.0, 0.0);
        for &x in samples {
            let s = f64::from(x) + coeff * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        s1 * s1 + s2 * s2 - coeff * s1 * s2
    }

    fn decode_frames(tone: &mut ToneGenerator, frames: usize) -> Vec<i16> {
        let mut out = Vec::new();
        let mut frame = [0u8; 160];
        for _ in 0..frames {
            let n = tone.next_frame(&mut frame);
            out.extend(frame[..n].iter().map(|&c| tone.law().decode(c)));
        }
        out
    }

    #[test]
    fn a_second_of_1000_hz_peaks_at_1000_hz() {
        for law in [Law::Pcmu, Law::Pcma] {
            let mut tone = ToneGenerator::new(1000.0, 0.5, law);
            let pcm = decode_frames(&mut tone, 50);
            assert_eq!(pcm.len(), 8000);
            let at = goertzel(&pcm, 1000.0);
            for other in [700.0, 950.0, 1300.0, 2000.0] {
                let off = goertzel(&pcm, other);
                assert!(
                    at > 1000.0 * off,
                    "{law:?}: {at} at 1000 Hz vs {off} at {other}"
                );
            }
        }
    }

    #[test]
    fn phase_is_continuous_across_frames() {
        // Frame by frame equals one long run of the same oscillator.
        let mut framed = ToneGenerator::new(425.0, 0.8, Law::Pcma);
        let mut whole = ToneGenerator::new(425.0, 0.8, Law::Pcma).with_ptime(1000);
        let mut one = [0u8; 8000];
        assert_eq!(whole.next_frame(&mut one), 8000);
        let mut frame = [0u8; 160];
        for chunk in one.chunks(160) {
            assert_eq!(framed.next_frame(&mut frame), 160);
            assert_eq!(&frame[..], chunk);
        }
        // And a slow tone has no jump at frame boundaries: consecutive samples differ by
        // at most the sine's slope plus a quantisation step.
        let mut slow = ToneGenerator::new(50.0, 0.5, Law::Pcmu);
        let pcm = decode_frames(&mut slow, 20);
        let max_slope = 0.5 * 32767.0 * std::f64::consts::TAU * 50.0 / 8000.0;
        for pair in pcm.windows(2) {
            let d = f64::from((i32::from(pair[1]) - i32::from(pair[0])).abs());
            assert!(d <= max_slope + 1024.0, "{pair:?}");
        }
    }

    #[test]
    fn ptime_sets_frame_length() {
        let mut tone = ToneGenerator::new(400.0, 0.1, Law::Pcmu).with_ptime(30);
        assert_eq!(tone.samples_per_frame(), 240);
        let mut buf = [0u8; 300];
        assert_eq!(tone.next_frame(&mut buf), 240);
        assert_eq!(tone.next_frame(&mut buf[..100]), 100);
    }

    #[test]
    fn rtp_packets_are_numbered() {
        let mut tone = ToneGenerator::new(1000.0, 0.5, Law::Pcmu);
        let mut sender = RtpSender::new(0, 0x1234_5678).with_start(65535, 4_294_967_200);
        let mut buf = [0u8; 1500];
        let len = sender.write_tone(&mut tone, &mut buf).expect("fits");
        assert_eq!(len, 172);
        let p = RtpPacket::parse(&buf[..len]).expect("valid RTP");
        assert_eq!(p.header.version(), 2);
        assert!(p.header.marker());
        assert_eq!(p.header.payload_type(), 0);
        assert_eq!(p.header.sequence.get(), 65535);
        assert_eq!(p.header.timestamp.get(), 4_294_967_200);
        assert_eq!(p.header.ssrc.get(), 0x1234_5678);
        assert_eq!(p.payload.len(), 160);

        let len = sender.write_tone(&mut tone, &mut buf).expect("fits");
        let p = RtpPacket::parse(&buf[..len]).expect("valid RTP");
        assert!(!p.header.marker());
        assert_eq!(p.header.sequence.get(), 0);
        assert_eq!(p.header.timestamp.get(), 64);

        sender.restart(800);
        let len = sender
            .write_packet(&mut buf, &[0xff; 80], 80)
            .expect("fits");
        assert_eq!(len, 92);
        let p = RtpPacket::parse(&buf[..len]).expect("valid RTP");
        assert!(p.header.marker());
        assert_eq!(p.header.sequence.get(), 1);
        assert_eq!(p.header.timestamp.get(), 224 + 800);

        assert_eq!(sender.write_tone(&mut tone, &mut buf[..100]), None);
        assert_eq!(sender.next_sequence(), 2, "a failed write numbers nothing");
    }
}
