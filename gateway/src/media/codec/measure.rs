//! Measurements on decoded audio, for tests, benchmarks and commissioning: a test tone,
//! its frequency by zero crossings, and its SNR against the best-fitting sinusoid.
//!
//! Not on the hot path (these allocate and use floating point freely).

use std::f64::consts::TAU;

/// `samples` samples of a sine of `freq` Hz at `rate` Hz, peak `amplitude` of full scale.
pub fn sine(freq: f64, rate: u32, samples: usize, amplitude: f64) -> Vec<i16> {
    let peak = amplitude.clamp(0.0, 1.0) * f64::from(i16::MAX);
    (0..samples)
        .map(|n| (peak * (TAU * freq * n as f64 / f64::from(rate)).sin()).round() as i16)
        .collect()
}

/// The frequency of a steady tone from its zero crossings (upward ones, interpolated
/// between samples), or 0 when there are fewer than two.
pub fn zero_crossing_hz(pcm: &[i16], rate: u32) -> f64 {
    let mut first = None;
    let mut last = 0.0;
    let mut count = 0usize;
    for (i, w) in pcm.windows(2).enumerate() {
        let (a, b) = (f64::from(w[0]), f64::from(w[1]));
        if a < 0.0 && b >= 0.0 {
            let t = i as f64 + a / (a - b);
            if first.is_none() {
                first = Some(t);
            } else {
                count += 1;
            }
            last = t;
        }
    }
    match first {
        Some(f) if count > 0 && last > f => count as f64 * f64::from(rate) / (last - f),
        _ => 0.0,
    }
}

/// Signal-to-noise ratio in dB of a tone of `freq` Hz: the power of the least-squares
/// sinusoid at `freq` (free amplitude and phase, plus DC) over the power of what is left.
/// Independent of gain and delay, so it compares codecs that scale or shift the signal.
pub fn tone_snr_db(pcm: &[i16], freq: f64, rate: u32) -> f64 {
    let n = pcm.len();
    if n == 0 {
        return f64::NEG_INFINITY;
    }
    // Normal equations of [sin, cos, 1] (3x3), solved by Cramer's rule.
    let w = TAU * freq / f64::from(rate);
    let mut m = [[0.0f64; 3]; 3];
    let mut v = [0.0f64; 3];
    for (i, &s) in pcm.iter().enumerate() {
        let basis = [(w * i as f64).sin(), (w * i as f64).cos(), 1.0];
        for r in 0..3 {
            for c in 0..3 {
                m[r][c] += basis[r] * basis[c];
            }
            v[r] += basis[r] * f64::from(s);
        }
    }
    let det3 = |a: [[f64; 3]; 3]| {
        a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
    };
    let d = det3(m);
    if d.abs() < 1e-9 {
        return f64::NEG_INFINITY;
    }
    let mut coef = [0.0; 3];
    for (k, c) in coef.iter_mut().enumerate() {
        let mut mk = m;
        for r in 0..3 {
            mk[r][k] = v[r];
        }
        *c = det3(mk) / d;
    }
    let (mut sig, mut noise) = (0.0, 0.0);
    for (i, &s) in pcm.iter().enumerate() {
        let tone = coef[0] * (w * i as f64).sin() + coef[1] * (w * i as f64).cos();
        let e = f64::from(s) - tone - coef[2];
        sig += tone * tone;
        noise += e * e;
    }
    if noise <= 0.0 {
        return f64::INFINITY;
    }
    10.0 * (sig / noise).log10()
}

/// RMS level of `pcm` in dB relative to a full-scale sine (dBm0-like: a full-scale sine
/// is 0 dB; G.711's 0 dBm0 is about -3.14 dB on this scale).
pub fn rms_db(pcm: &[i16]) -> f64 {
    if pcm.is_empty() {
        return f64::NEG_INFINITY;
    }
    let p: f64 = pcm.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / pcm.len() as f64;
    let full = f64::from(i16::MAX).powi(2) / 2.0;
    10.0 * (p / full).log10()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_a_clean_tone() {
        let pcm = sine(1000.0, 8000, 8000, 0.5);
        assert!((zero_crossing_hz(&pcm, 8000) - 1000.0).abs() < 1.0);
        assert!(tone_snr_db(&pcm, 1000.0, 8000) > 80.0);
        assert!(tone_snr_db(&pcm, 1100.0, 8000) < 0.0);
        assert!((rms_db(&pcm) + 6.02).abs() < 0.1);
    }
}
