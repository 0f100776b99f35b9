//! Comfort noise (RFC 3389): the CN payload (PT 13 at 8 kHz), a generator that plays
//! what a received payload describes, and an estimator that measures the background
//! noise of our own PCM so a silent stretch can be sent as CN toward a leg that
//! negotiated it.
//!
//! The payload is the noise level in −dBov (§3.1) and optionally reflection
//! coefficients of an all-pole model of its spectrum (§3.2), each quantized as
//! `round(128·k) + 127`. Sign convention (as G.711 Appendix II and the common
//! implementations use it): the model is 1/A(z) with A(z) = 1 + Σ a_i z^-i, the step-up
//! recursion takes a_i = k_i at order i, so k_1 = −R(1)/R(0) and low-pass noise has a
//! negative first coefficient. dBov is relative to the overload point: 0 dBov is a
//! full-scale square wave, RMS 32767 in 16-bit PCM (§3.1's example puts µ-law's at
//! ±8031 in 14 bits, the same point within 0.2 dB).
//!
//! No allocation anywhere; the generator and estimator work in `f32`/`f64` on small
//! fixed arrays.

use crate::media::codec::{CodecError, room};

/// Reflection coefficients kept; a payload's further ones are ignored, as §3 allows a
/// decoder to reduce the model order.
pub const MAX_ORDER: usize = 10;
/// The static payload type of CN at 8000 Hz (RFC 3551 Table 4, RFC 3389 §4).
pub const PAYLOAD_TYPE: u8 = 13;
/// 0 dBov in 16-bit PCM.
const OVERLOAD: f64 = 32767.0;

/// One CN payload (a SID frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CnPayload {
    /// Noise level in −dBov, 0 (overload) to 127 (§3.1).
    pub level: u8,
    order: usize,
    /// Quantized reflection coefficients, as on the wire (§3.2).
    quantized: [u8; MAX_ORDER],
}

/// Why a CN payload could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CnError {
    /// A CN payload has at least its level octet.
    #[error("empty comfort noise payload")]
    Empty,
}

impl CnPayload {
    /// A payload of `level` (−dBov, capped at 127) and up to [`MAX_ORDER`] reflection
    /// coefficients (each clamped to the quantizer's range).
    pub fn new(level: u8, reflection: &[f32]) -> Self {
        let mut quantized = [0u8; MAX_ORDER];
        let order = reflection.len().min(MAX_ORDER);
        for (q, &k) in quantized.iter_mut().zip(reflection) {
            *q = quantize(k);
        }
        CnPayload {
            level: level.min(127),
            order,
            quantized,
        }
    }

    /// Reads a payload of any length but zero: the level's reserved top bit is ignored
    /// (§3.1), coefficients past [`MAX_ORDER`] are dropped.
    pub fn parse(payload: &[u8]) -> Result<Self, CnError> {
        let (&level, rest) = payload.split_first().ok_or(CnError::Empty)?;
        let order = rest.len().min(MAX_ORDER);
        let mut quantized = [0u8; MAX_ORDER];
        quantized[..order].copy_from_slice(&rest[..order]);
        Ok(CnPayload {
            level: level & 0x7f,
            order,
            quantized,
        })
    }

    /// The payload's length on the wire.
    pub fn len(&self) -> usize {
        1 + self.order
    }

    /// Never empty: the level is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Writes the payload into `out` and returns its length.
    pub fn write(&self, out: &mut [u8]) -> Result<usize, CodecError> {
        room(self.len(), out.len())?;
        out[0] = self.level;
        out[1..self.len()].copy_from_slice(&self.quantized[..self.order]);
        Ok(self.len())
    }

    /// The model order (number of reflection coefficients).
    pub fn order(&self) -> usize {
        self.order
    }

    /// The reflection coefficients, zero past the order.
    pub fn reflection(&self) -> [f32; MAX_ORDER] {
        let mut k = [0.0; MAX_ORDER];
        for (k, &q) in k.iter_mut().zip(&self.quantized[..self.order]) {
            *k = dequantize(q);
        }
        k
    }
}

/// §3.2: k in [−1, 1] to `round(128·k) + 127`, kept within 0..=254 so the value read
/// back is never ±1 (a filter on the edge of stability).
pub fn quantize(k: f32) -> u8 {
    ((k * 128.0).round() + 127.0).clamp(0.0, 254.0) as u8
}

/// §3.2, the other way: `(N − 127) / 128`; 255 reads as 127/128.
pub fn dequantize(n: u8) -> f32 {
    (f32::from(n.min(254)) - 127.0) / 128.0
}

/// RMS of a level in −dBov.
fn level_rms(level_dbov: u8) -> f64 {
    OVERLOAD * 10f64.powf(-f64::from(level_dbov.min(127)) / 20.0)
}

/// Plays comfort noise: white noise at a level, shaped by reflection coefficients
/// through a lattice all-pole filter when given.
#[derive(Debug, Clone)]
pub struct NoiseGenerator {
    rng: u32,
    order: usize,
    k: [f32; MAX_ORDER],
    /// Lattice state: the backward errors b_m[n−1], m = 0..order.
    state: [f32; MAX_ORDER],
    /// Excitation RMS now, the one aimed at, the change per sample and samples left.
    gain: f32,
    target: f32,
    step: f32,
    left: usize,
    /// Samples over which a level change is spread (20 ms).
    ramp: usize,
    started: bool,
}

impl NoiseGenerator {
    /// A silent generator for PCM at `sample_rate`; `seed` picks the noise sequence.
    pub fn new(sample_rate: u32, seed: u32) -> Self {
        NoiseGenerator {
            // Xorshift never leaves 0; any other seed is a full-period start.
            rng: if seed == 0 { 0x9E37_79B9 } else { seed },
            order: 0,
            k: [0.0; MAX_ORDER],
            state: [0.0; MAX_ORDER],
            gain: 0.0,
            target: 0.0,
            step: 0.0,
            left: 0,
            ramp: (sample_rate as usize / 50).max(1),
            started: false,
        }
    }

    /// Noise at `level_dbov` (−dBov, §3.1) with spectrum `reflection` (up to
    /// [`MAX_ORDER`] used, each within ±127/128). The first setting applies at once,
    /// later ones glide over 20 ms.
    pub fn set(&mut self, level_dbov: u8, reflection: &[f32]) {
        self.order = reflection.len().min(MAX_ORDER);
        let mut flatness = 1.0f64;
        for (k, &r) in self.k.iter_mut().zip(reflection) {
            *k = r.clamp(-127.0 / 128.0, 127.0 / 128.0);
            flatness *= 1.0 - f64::from(*k) * f64::from(*k);
        }
        // An all-pole filter multiplies white noise power by 1/Π(1 − k²).
        self.target = (level_rms(level_dbov) * flatness.sqrt()) as f32;
        if self.started {
            self.left = self.ramp;
            self.step = (self.target - self.gain) / self.ramp as f32;
        } else {
            self.gain = self.target;
            self.left = 0;
            self.started = true;
        }
    }

    /// Plays what a received payload describes.
    pub fn set_payload(&mut self, payload: &CnPayload) {
        self.set(payload.level, &payload.reflection()[..payload.order]);
    }

    /// Fills `pcm` with noise.
    pub fn fill(&mut self, pcm: &mut [i16]) {
        let p = self.order;
        for s in pcm.iter_mut() {
            if self.left > 0 {
                self.left -= 1;
                self.gain = if self.left == 0 {
                    self.target
                } else {
                    self.gain + self.step
                };
            }
            let mut f = self.white() * self.gain;
            // Synthesis lattice, stage p down to 1: f_{m-1} = f_m − k_m·b_{m-1}[n−1],
            // b_m[n] = k_m·f_{m-1} + b_{m-1}[n−1]; the output is f_0 = b_0[n].
            for m in (1..=p).rev() {
                f -= self.k[m - 1] * self.state[m - 1];
                if m < p {
                    self.state[m] = self.k[m - 1] * f + self.state[m - 1];
                }
            }
            if p > 0 {
                self.state[0] = f;
            }
            *s = f.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16;
        }
    }

    /// Unit-variance white noise: uniform on [−√3, √3) from xorshift32.
    fn white(&mut self) -> f32 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 17;
        self.rng ^= self.rng << 5;
        (self.rng as i32) as f32 * (3.0f32.sqrt() / 2_147_483_648.0)
    }
}

/// Measures the background noise of PCM frames the caller judged silent: its level and,
/// for `order` > 0, reflection coefficients by Levinson-Durbin over the autocorrelation
/// (smoothed over frames, time constant 16 frames).
#[derive(Debug, Clone)]
pub struct NoiseEstimator {
    order: usize,
    /// Autocorrelation per sample, lags 0..=order, smoothed.
    r: [f64; MAX_ORDER + 1],
    /// The previous frame's last samples, newest last, for lags across frames.
    tail: [i16; MAX_ORDER],
    frames: u32,
}

impl NoiseEstimator {
    /// An estimator of `order` reflection coefficients (0 = level only; at most
    /// [`MAX_ORDER`]).
    pub fn new(order: usize) -> Self {
        NoiseEstimator {
            order: order.min(MAX_ORDER),
            r: [0.0; MAX_ORDER + 1],
            tail: [0; MAX_ORDER],
            frames: 0,
        }
    }

    /// Takes one frame of background noise.
    pub fn update(&mut self, pcm: &[i16]) {
        if pcm.is_empty() {
            return;
        }
        let p = self.order;
        let sample = |n: isize| -> f64 {
            if n >= 0 {
                f64::from(pcm[n as usize])
            } else {
                f64::from(self.tail[(MAX_ORDER as isize + n) as usize])
            }
        };
        let mut frame = [0.0f64; MAX_ORDER + 1];
        for (lag, acc) in frame.iter_mut().enumerate().take(p + 1) {
            let mut sum = 0.0;
            for n in 0..pcm.len() as isize {
                sum += sample(n) * sample(n - lag as isize);
            }
            *acc = sum / pcm.len() as f64;
        }
        if self.frames == 0 {
            self.r = frame;
        } else {
            for (r, f) in self.r.iter_mut().zip(frame) {
                *r += (f - *r) / 16.0;
            }
        }
        self.frames = self.frames.saturating_add(1);
        // Keep the newest MAX_ORDER samples for the next frame's cross-frame lags.
        if pcm.len() >= MAX_ORDER {
            self.tail.copy_from_slice(&pcm[pcm.len() - MAX_ORDER..]);
        } else {
            self.tail.copy_within(pcm.len().., 0);
            self.tail[MAX_ORDER - pcm.len()..].copy_from_slice(pcm);
        }
    }

    /// The level in −dBov (127 before any frame, or for digital silence).
    pub fn level(&self) -> u8 {
        if self.r[0] <= 0.0 {
            return 127;
        }
        let dbov = -20.0 * (self.r[0].sqrt() / OVERLOAD).log10();
        dbov.round().clamp(0.0, 127.0) as u8
    }

    /// The reflection coefficients (Levinson-Durbin; zeros for silence), `order` of them.
    pub fn reflection(&self) -> [f32; MAX_ORDER] {
        let mut k = [0.0f32; MAX_ORDER];
        let p = self.order;
        // A faint white floor (−60 dB) keeps the recursion well conditioned.
        let r0 = self.r[0] * (1.0 + 1e-6);
        if r0 <= 0.0 {
            return k;
        }
        let mut a = [0.0f64; MAX_ORDER + 1];
        let mut err = r0;
        for i in 1..=p {
            // acc = R(i) + Σ_{j<i} a_j R(i−j); k_i = −acc / E_{i−1}.
            let acc = self.r[i]
                + a[1..i]
                    .iter()
                    .zip(self.r[1..i].iter().rev())
                    .map(|(a, r)| a * r)
                    .sum::<f64>();
            let ki = (-acc / err).clamp(-0.999, 0.999);
            let prev = a;
            for (j, aj) in a.iter_mut().enumerate().take(i).skip(1) {
                *aj = prev[j] + ki * prev[i - j];
            }
            a[i] = ki;
            err *= 1.0 - ki * ki;
            k[i - 1] = ki as f32;
        }
        k
    }

    /// The CN payload describing the noise measured.
    pub fn payload(&self) -> CnPayload {
        CnPayload::new(self.level(), &self.reflection()[..self.order])
    }

    /// Forgets what was measured.
    pub fn reset(&mut self) {
        *self = NoiseEstimator::new(self.order);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RMS of `pcm` in dBov (a full-scale square wave is 0).
    fn dbov(pcm: &[i16]) -> f64 {
        let p: f64 = pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len() as f64;
        -10.0 * (p / (OVERLOAD * OVERLOAD)).log10()
    }

    #[test]
    fn payload_round_trip() {
        for level in 0..=127u8 {
            let p = CnPayload::new(level, &[]);
            let mut out = [0u8; 1];
            assert_eq!(p.write(&mut out), Ok(1));
            assert_eq!(out, [level]);
            assert_eq!(CnPayload::parse(&out), Ok(p));
        }
        // Reserved bit ignored, level capped, coefficients quantized to ±1/256.
        assert_eq!(CnPayload::parse(&[0x80 | 42]).map(|p| p.level), Ok(42));
        assert_eq!(CnPayload::new(200, &[]).level, 127);
        let ks = [-0.9f32, -0.5, 0.0, 0.25, 0.99];
        let p = CnPayload::new(60, &ks);
        let mut out = [0u8; 8];
        assert_eq!(p.write(&mut out), Ok(6));
        assert_eq!(out[..6], [60, 12, 63, 127, 159, 254]);
        let back = CnPayload::parse(&out[..6]).expect("valid");
        assert_eq!(back.order(), 5);
        for (a, b) in back.reflection().iter().zip(ks) {
            assert!((a - b).abs() <= 1.0 / 256.0 + 1e-6, "{a} vs {b}");
        }
        assert_eq!(
            p.write(&mut [0u8; 3]),
            Err(CodecError::BufferTooSmall { needed: 6, got: 3 })
        );
    }

    #[test]
    fn any_length_parses() {
        assert_eq!(CnPayload::parse(&[]), Err(CnError::Empty));
        let long = [30u8; 40];
        let p = CnPayload::parse(&long).expect("valid");
        assert_eq!(
            (p.level, p.order(), p.len()),
            (30, MAX_ORDER, 1 + MAX_ORDER)
        );
        assert_eq!(dequantize(255), 127.0 / 128.0);
        assert_eq!(dequantize(0), -127.0 / 128.0);
    }

    /// Noise RMS within 1 dB of the level asked for, white and shaped.
    #[test]
    fn generated_level() {
        let shapes: [&[f32]; 3] = [&[], &[-0.8, 0.3], &[0.5, -0.2, 0.1, -0.05]];
        for level in [20u8, 30, 40, 50, 60, 70, 80] {
            for (i, shape) in shapes.iter().enumerate() {
                let mut g = NoiseGenerator::new(8000, 1 + u32::from(level) * 7 + i as u32);
                g.set(level, shape);
                let mut pcm = vec![0i16; 16000];
                g.fill(&mut pcm);
                let got = dbov(&pcm[800..]);
                assert!(
                    (got - f64::from(level)).abs() < 1.0,
                    "level {level} shape {shape:?}: {got:.2} dBov"
                );
            }
        }
    }

    /// A later level glides instead of stepping; silence is silence.
    #[test]
    fn level_changes_glide() {
        let mut g = NoiseGenerator::new(8000, 5);
        g.set(40, &[]);
        let mut pcm = [0i16; 160];
        g.fill(&mut pcm);
        g.set(20, &[]);
        g.fill(&mut pcm);
        let first = dbov(&pcm[..40]);
        assert!(first > 30.0, "{first}");
        g.fill(&mut pcm);
        assert!((dbov(&pcm) - 20.0).abs() < 1.5);
        g.set(127, &[]);
        g.fill(&mut pcm);
        g.fill(&mut pcm);
        assert!(pcm.iter().all(|&s| s == 0));
    }

    proptest::proptest! {
        /// Any octets: a payload or `Empty`, never a panic; what is written back is the
        /// input up to the order kept, with the reserved bit cleared.
        #[test]
        fn parse_anything(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            match CnPayload::parse(&bytes) {
                Err(CnError::Empty) => proptest::prop_assert!(bytes.is_empty()),
                Ok(p) => {
                    let mut out = [0u8; 1 + MAX_ORDER];
                    let n = p.write(&mut out).expect("room for the largest");
                    proptest::prop_assert_eq!(n, bytes.len().min(1 + MAX_ORDER));
                    proptest::prop_assert_eq!(out[0], bytes[0] & 0x7f);
                    proptest::prop_assert_eq!(&out[1..n], &bytes[1..n]);
                    let mut g = NoiseGenerator::new(8000, 1);
                    g.set_payload(&p);
                    let mut pcm = [0i16; 160];
                    g.fill(&mut pcm);
                }
            }
        }
    }

    /// The estimator recovers level and coefficients of noise the generator shaped.
    #[test]
    fn estimates_shaped_noise() {
        let ks = [-0.6f32, 0.3, -0.1];
        let mut g = NoiseGenerator::new(8000, 77);
        g.set(35, &ks);
        let mut est = NoiseEstimator::new(MAX_ORDER);
        assert_eq!(est.level(), 127);
        let mut frame = [0i16; 160];
        for _ in 0..200 {
            g.fill(&mut frame);
            est.update(&frame);
        }
        let p = est.payload();
        assert!((i32::from(p.level) - 35).abs() <= 1, "level {}", p.level);
        let got = p.reflection();
        println!("reflection estimated {:?}", &got[..4]);
        for (i, &g) in got.iter().enumerate() {
            let want = ks.get(i).copied().unwrap_or(0.0);
            assert!((g - want).abs() < 0.06, "k{} = {g} (want {want})", i + 1);
        }
        // Round trip through the wire and a second generator: the same level.
        let mut bytes = [0u8; 11];
        let n = p.write(&mut bytes).expect("room");
        let mut g2 = NoiseGenerator::new(8000, 3);
        g2.set_payload(&CnPayload::parse(&bytes[..n]).expect("valid"));
        let mut pcm = vec![0i16; 16000];
        g2.fill(&mut pcm);
        assert!((dbov(&pcm) - 35.0).abs() < 1.5);
        est.reset();
        est.update(&[0; 160]);
        assert_eq!(est.payload().level, 127);
        assert!(est.reflection().iter().all(|&k| k == 0.0));
    }
}
