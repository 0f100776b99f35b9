//! In-band DTMF (issue 6): a detector and a generator of the ITU-T Q.23 push-button
//! signals in 8 kHz linear PCM, so a digit crosses between an RFC 4733 leg and a leg
//! that only carries tones (and the TDM bearer, which is G.711 at 8 kHz).
//!
//! A digit is one tone of the low group (697, 770, 852, 941 Hz) plus one of the high
//! group (1209, 1336, 1477, 1633 Hz) (Q.23, Figure 1).
//!
//! The detector (Q.24 receiver characteristics) runs Goertzel filters over blocks of 102
//! samples (12.75 ms): the 8 DTMF frequencies, then the second harmonics of the two
//! strongest as a talk-off check. A block holds a digit when both tones are above the
//! level threshold, their difference is within the twist limits (normal: high group
//! weaker, reverse: high group stronger), the two tones carry nearly all the block's
//! energy and neither has a strong second harmonic (speech and music have harmonics,
//! DTMF has none). A digit starts after two consecutive blocks agree (25.5 ms; any
//! tone of 38.25 ms or more spans two whole blocks, so Q.24's 40 ms minimum is always
//! met and tones under 25.5 ms never are) and ends after two blocks without it, so a
//! dropout under ~13 ms does not split a digit and a 40 ms pause always separates two.
//!
//! Frequency tolerance: tones within ±1.5 % are accepted (Q.24 operate range);
//! blocks of 12.75 ms cannot reject ±3.5 % off-frequency tones as Q.24 asks of a strict
//! receiver (a longer block would, at the cost of the 40 ms minimum).
//!
//! Sans-IO: time is the count of samples fed in; nothing allocates.

use std::f64::consts::TAU;

/// The sample rate of both sides (G.711, the TDM bearer).
pub const RATE: u32 = 8000;
/// Low group and high group frequencies (Q.23).
pub const LOW: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
pub const HIGH: [f64; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
/// The keypad: row = low group tone, column = high group tone (Q.23 Figure 1).
const KEYS: [[char; 4]; 4] = [
    ['1', '2', '3', 'A'],
    ['4', '5', '6', 'B'],
    ['7', '8', '9', 'C'],
    ['*', '0', '#', 'D'],
];
/// Detector block length in samples.
const BLOCK: usize = 102;
/// Linear amplitude of a 0 dBm0 sine in 16-bit PCM: G.711's full-scale sine is +3.14
/// dBm0 (G.711 Tables 1 and 2: A-law +3.14, µ-law +3.17), so 0 dBm0 peaks at 32767 * 10^(-3.14/20).
pub const DBM0_PEAK: f64 = 22_803.0;

/// The (low, high) frequencies of `digit`, or `None` if it is not a DTMF key.
pub fn frequencies(digit: char) -> Option<(f64, f64)> {
    let digit = digit.to_ascii_uppercase();
    for (r, row) in KEYS.iter().enumerate() {
        for (c, &k) in row.iter().enumerate() {
            if k == digit {
                return Some((LOW[r], HIGH[c]));
            }
        }
    }
    None
}

/// Detector settings (Q.24, values within the ranges of its Table 1 for most
/// Administrations).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// Weakest tone accepted, dBm0 per frequency.
    pub min_level_dbm0: f64,
    /// Largest normal twist (high group below low group), dB.
    pub normal_twist_db: f64,
    /// Largest reverse twist (high group above low group), dB.
    pub reverse_twist_db: f64,
    /// Least share of the block's energy the two tones must carry, dB (negative).
    pub min_tone_share_db: f64,
    /// Largest second harmonic relative to its fundamental, dB (negative).
    pub max_harmonic_db: f64,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            min_level_dbm0: -30.0,
            normal_twist_db: 8.0,
            reverse_twist_db: 4.0,
            min_tone_share_db: -1.0,
            max_harmonic_db: -20.0,
        }
    }
}

/// What the detector reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfTone {
    /// A digit began; `at` is the sample count where its first block started.
    Start { digit: char, at: u64 },
    /// The digit ended after `duration` samples.
    End { digit: char, duration: u64 },
}

/// Goertzel coefficient 2 cos(2 pi f / fs) for each frequency: the 8 DTMF tones.
fn coefficients(freqs: &[f64; 4]) -> [f64; 4] {
    let mut c = [0.0; 4];
    for (c, f) in c.iter_mut().zip(freqs) {
        *c = 2.0 * (TAU * f / f64::from(RATE)).cos();
    }
    c
}

/// Power of `x` at `freq` as the mean square of the matching sinusoid (A^2/2).
fn goertzel(x: &[f64], coef: f64) -> f64 {
    let (mut s1, mut s2) = (0.0, 0.0);
    for &v in x {
        let s = v + coef * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    let mag2 = s1 * s1 + s2 * s2 - coef * s1 * s2;
    let n = x.len() as f64;
    2.0 * mag2 / (n * n)
}

fn db(ratio: f64) -> f64 {
    10.0 * ratio.max(1e-30).log10()
}

/// An in-band DTMF detector for one 8 kHz channel.
#[derive(Debug, Clone)]
pub struct InbandDetector {
    config: DetectorConfig,
    low: [f64; 4],
    high: [f64; 4],
    /// Mean square of a 0 dBm0 sine times the level threshold.
    min_power: f64,
    block: [f64; BLOCK],
    filled: usize,
    /// Samples fed so far, at the start of the current block.
    block_start: u64,
    /// Candidate of the previous block and of the one before.
    last: Option<char>,
    /// The digit being held, when it started, and blocks without it since.
    held: Option<(char, u64)>,
    misses: u8,
    /// Reported, not yet polled (at most a start and an end per block).
    events: [Option<DtmfTone>; 4],
}

impl Default for InbandDetector {
    fn default() -> Self {
        Self::new(DetectorConfig::default())
    }
}

impl InbandDetector {
    /// A detector with `config`.
    pub fn new(config: DetectorConfig) -> Self {
        let zero_dbm0 = DBM0_PEAK * DBM0_PEAK / 2.0;
        InbandDetector {
            config,
            low: coefficients(&LOW),
            high: coefficients(&HIGH),
            min_power: zero_dbm0 * 10f64.powf(config.min_level_dbm0 / 10.0),
            block: [0.0; BLOCK],
            filled: 0,
            block_start: 0,
            last: None,
            held: None,
            misses: 0,
            events: [None; 4],
        }
    }

    /// Feeds PCM; events become available through [`InbandDetector::poll`].
    pub fn process(&mut self, pcm: &[i16]) {
        for &s in pcm {
            self.block[self.filled] = f64::from(s);
            self.filled += 1;
            if self.filled == BLOCK {
                self.filled = 0;
                let candidate = self.classify();
                self.step(candidate);
                self.block_start += BLOCK as u64;
            }
        }
    }

    /// The next event, oldest first.
    pub fn poll(&mut self) -> Option<DtmfTone> {
        let first = self.events[0].take();
        self.events.rotate_left(1);
        first
    }

    /// The digit being heard now, if any.
    pub fn current(&self) -> Option<char> {
        self.held.map(|(d, _)| d)
    }

    fn push(&mut self, e: DtmfTone) {
        if let Some(slot) = self.events.iter_mut().find(|s| s.is_none()) {
            *slot = Some(e);
        }
    }

    /// Timing (module doc): two blocks to start, two to end.
    fn step(&mut self, candidate: Option<char>) {
        let now = self.block_start;
        match self.held {
            Some((digit, start)) => {
                if candidate == Some(digit) {
                    self.misses = 0;
                } else {
                    self.misses += 1;
                    if self.misses >= 2 {
                        // It ended where the first block without it began.
                        let end = now + BLOCK as u64 - 2 * BLOCK as u64;
                        self.push(DtmfTone::End {
                            digit,
                            duration: end.saturating_sub(start),
                        });
                        self.held = None;
                        self.misses = 0;
                    }
                }
            }
            None => {
                if let Some(d) = candidate
                    && self.last == Some(d)
                {
                    let start = now - BLOCK as u64;
                    self.held = Some((d, start));
                    self.misses = 0;
                    self.push(DtmfTone::Start {
                        digit: d,
                        at: start,
                    });
                }
            }
        }
        self.last = candidate;
    }

    /// The digit this block holds, if it passes every check.
    fn classify(&self) -> Option<char> {
        let x = &self.block;
        let total = x.iter().map(|v| v * v).sum::<f64>() / BLOCK as f64;
        if total < self.min_power {
            return None;
        }
        let strongest = |coefs: &[f64; 4]| {
            let mut best = (0usize, 0.0f64);
            for (i, &c) in coefs.iter().enumerate() {
                let p = goertzel(x, c);
                if p > best.1 {
                    best = (i, p);
                }
            }
            best
        };
        let (r, p_low) = strongest(&self.low);
        let (c, p_high) = strongest(&self.high);
        let cfg = &self.config;
        // Level of each tone (Q.24 sensitivity).
        if p_low < self.min_power || p_high < self.min_power {
            return None;
        }
        // Twist (Q.24): high minus low, in dB.
        let twist = db(p_high / p_low);
        if twist < -cfg.normal_twist_db || twist > cfg.reverse_twist_db {
            return None;
        }
        // The two tones must be (nearly) all there is.
        if db((p_low + p_high) / total) < cfg.min_tone_share_db {
            return None;
        }
        // Talk-off: no strong second harmonic of either tone, each against its
        // fundamental, both measured through a Hann window (sidelobes -31 dB). A
        // harmonic within 170 Hz of the other group's tone (2 x 697 next to 1336 for a
        // '2', say) sits in that tone's main lobe at this block length: it is left to the
        // energy-share test above.
        let mut w = [0.0; BLOCK];
        for (i, (w, v)) in w.iter_mut().zip(x).enumerate() {
            *w = v * (0.5 - 0.5 * (TAU * i as f64 / (BLOCK - 1) as f64).cos());
        }
        let coef = |f: f64| 2.0 * (TAU * f / f64::from(RATE)).cos();
        for (fund, other) in [(LOW[r], HIGH[c]), (HIGH[c], LOW[r])] {
            let harmonic = 2.0 * fund;
            if (harmonic - other).abs() < 170.0 {
                continue;
            }
            let ratio = goertzel(&w, coef(harmonic)) / goertzel(&w, coef(fund));
            if db(ratio) > cfg.max_harmonic_db {
                return None;
            }
        }
        Some(KEYS[r][c])
    }
}

/// Generator settings (Q.23).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeneratorConfig {
    /// Tone and pause durations in milliseconds.
    pub on_ms: u32,
    pub off_ms: u32,
    /// Level of each tone in dBm0: Q.23 leaves the levels to Administrations within
    /// limits, with the high group a little above the low (pre-emphasis for the line);
    /// -7 and -5 dBm0 are the usual sending levels.
    pub low_dbm0: f64,
    pub high_dbm0: f64,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            on_ms: 100,
            off_ms: 100,
            low_dbm0: -7.0,
            high_dbm0: -5.0,
        }
    }
}

/// Why a digit was not queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum GeneratorError {
    #[error("{0:?} is not a DTMF digit")]
    NotADigit(char),
    #[error("digit queue full")]
    Full,
}

const QUEUE: usize = 32;

/// An in-band DTMF generator for one 8 kHz channel: digits queued, PCM filled in.
#[derive(Debug, Clone)]
pub struct InbandGenerator {
    config: GeneratorConfig,
    queue: [char; QUEUE],
    head: usize,
    len: usize,
    /// The digit playing: its phase steps and amplitudes, and samples left of tone and
    /// of the pause after it.
    playing: Option<Playing>,
}

#[derive(Debug, Clone, Copy)]
struct Playing {
    step: (f64, f64),
    phase: (f64, f64),
    amp: (f64, f64),
    tone_left: u32,
    pause_left: u32,
}

impl Default for InbandGenerator {
    fn default() -> Self {
        Self::new(GeneratorConfig::default())
    }
}

impl InbandGenerator {
    /// A generator with `config`.
    pub fn new(config: GeneratorConfig) -> Self {
        InbandGenerator {
            config,
            queue: ['\0'; QUEUE],
            head: 0,
            len: 0,
            playing: None,
        }
    }

    /// Queues `digit` (`0-9 * # A-D`).
    pub fn queue(&mut self, digit: char) -> Result<(), GeneratorError> {
        frequencies(digit).ok_or(GeneratorError::NotADigit(digit))?;
        if self.len == QUEUE {
            return Err(GeneratorError::Full);
        }
        self.queue[(self.head + self.len) % QUEUE] = digit.to_ascii_uppercase();
        self.len += 1;
        Ok(())
    }

    /// Nothing playing and nothing queued.
    pub fn is_idle(&self) -> bool {
        self.playing.is_none() && self.len == 0
    }

    /// Writes the next `pcm.len()` samples: tones, pauses, and silence when idle.
    pub fn fill(&mut self, pcm: &mut [i16]) {
        for o in pcm {
            if self.playing.is_none() {
                self.start_next();
            }
            *o = match &mut self.playing {
                Some(p) if p.tone_left > 0 => {
                    let v = p.amp.0 * (TAU * p.phase.0).sin() + p.amp.1 * (TAU * p.phase.1).sin();
                    p.phase.0 = (p.phase.0 + p.step.0).fract();
                    p.phase.1 = (p.phase.1 + p.step.1).fract();
                    p.tone_left -= 1;
                    v.round() as i16
                }
                Some(p) => {
                    p.pause_left = p.pause_left.saturating_sub(1);
                    if p.pause_left == 0 {
                        self.playing = None;
                    }
                    0
                }
                None => 0,
            };
        }
    }

    fn start_next(&mut self) {
        if self.len == 0 {
            return;
        }
        let digit = self.queue[self.head];
        self.head = (self.head + 1) % QUEUE;
        self.len -= 1;
        let Some((fl, fh)) = frequencies(digit) else {
            return;
        };
        let amp = |dbm0: f64| DBM0_PEAK * 10f64.powf(dbm0 / 20.0);
        let ms = |v: u32| v.saturating_mul(RATE / 1000);
        self.playing = Some(Playing {
            step: (fl / f64::from(RATE), fh / f64::from(RATE)),
            phase: (0.0, 0.0),
            amp: (amp(self.config.low_dbm0), amp(self.config.high_dbm0)),
            tone_left: ms(self.config.on_ms),
            pause_left: ms(self.config.off_ms).max(1),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::Law;
    use crate::media::codec::measure::sine;
    use crate::media::codec::spandsp;

    const ALL: &str = "0123456789*#ABCD";

    fn detect(pcm: &[i16], config: DetectorConfig) -> String {
        let mut d = InbandDetector::new(config);
        let mut digits = String::new();
        for chunk in pcm.chunks(160) {
            d.process(chunk);
            while let Some(e) = d.poll() {
                if let DtmfTone::Start { digit, .. } = e {
                    digits.push(digit);
                }
            }
        }
        digits
    }

    fn generate(digits: &str, config: GeneratorConfig) -> Vec<i16> {
        let mut g = InbandGenerator::new(config);
        for d in digits.chars() {
            g.queue(d).expect("digit");
        }
        let mut pcm = Vec::new();
        let mut buf = [0i16; 160];
        while !g.is_idle() {
            g.fill(&mut buf);
            pcm.extend_from_slice(&buf);
        }
        pcm.extend_from_slice(&[0; 800]);
        pcm
    }

    fn through(law: Law, pcm: &[i16]) -> Vec<i16> {
        pcm.iter().map(|&s| law.decode(law.encode(s))).collect()
    }

    #[test]
    fn all_digits_through_alaw_and_ulaw() {
        let pcm = generate(ALL, GeneratorConfig::default());
        for law in [Law::Pcma, Law::Pcmu] {
            assert_eq!(
                detect(&through(law, &pcm), DetectorConfig::default()),
                ALL,
                "{law:?}"
            );
        }
    }

    #[test]
    fn timing_limits() {
        let short = |on, off| GeneratorConfig {
            on_ms: on,
            off_ms: off,
            ..GeneratorConfig::default()
        };
        // Q.24: 40 ms tones with 40 ms pauses are all detected, each once.
        assert_eq!(
            detect(&generate(ALL, short(40, 40)), DetectorConfig::default()),
            ALL
        );
        // Tones of 20 ms are not digits.
        assert_eq!(
            detect(&generate("123", short(20, 60)), DetectorConfig::default()),
            ""
        );
        // A 10 ms dropout inside a long tone does not make two digits.
        let mut pcm = generate("5", short(200, 50));
        pcm[800..880].fill(0);
        assert_eq!(detect(&pcm, DetectorConfig::default()), "5");
    }

    #[test]
    fn levels_and_twist() {
        let at = |low, high| GeneratorConfig {
            low_dbm0: low,
            high_dbm0: high,
            ..GeneratorConfig::default()
        };
        let d = DetectorConfig::default();
        assert_eq!(detect(&generate("9", at(-25.0, -25.0)), d), "9");
        assert_eq!(detect(&generate("9", at(-36.0, -36.0)), d), "");
        // Normal twist 6 dB accepted, 12 dB refused; reverse 3 dB accepted, 8 refused.
        assert_eq!(detect(&generate("9", at(-6.0, -12.0)), d), "9");
        assert_eq!(detect(&generate("9", at(-4.0, -16.0)), d), "");
        assert_eq!(detect(&generate("9", at(-10.0, -7.0)), d), "9");
        assert_eq!(detect(&generate("9", at(-14.0, -6.0)), d), "");
    }

    #[test]
    fn off_frequency_within_tolerance() {
        // ±1.5 % (Q.24): a 5 built from 770*1.015 and 1336*0.985 is still a 5.
        let n = 1600;
        let a = sine(770.0 * 1.015, RATE, n, 0.2);
        let b = sine(1336.0 * 0.985, RATE, n, 0.25);
        let pcm: Vec<i16> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        assert_eq!(detect(&pcm, DetectorConfig::default()), "5");
    }

    #[test]
    fn no_talk_off() {
        let d = DetectorConfig::default();
        // A 1 kHz test tone, a single DTMF frequency, and a dial-tone pair.
        assert_eq!(detect(&sine(1000.0, RATE, 16000, 0.5), d), "");
        assert_eq!(detect(&sine(697.0, RATE, 16000, 0.5), d), "");
        assert_eq!(detect(&sine(1336.0, RATE, 16000, 0.5), d), "");
        // Speech-like: a 125 Hz glottal pulse train (rich in harmonics, some of which
        // fall near DTMF frequencies) through a formant-ish resonance, plus noise.
        let mut seed = 12345u32;
        let mut noise = || {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            f64::from((seed >> 16) as i16) / 32768.0
        };
        let (mut y1, mut y2) = (0.0, 0.0);
        let mut speech = Vec::new();
        for i in 0..40000 {
            // Pitch glides 100..180 Hz, formant 700..1400 Hz.
            let t = i as f64 / 8000.0;
            let pitch = 140.0 + 40.0 * (TAU * 0.7 * t).sin();
            let excite = if (t * pitch).fract() < 0.05 { 1.0 } else { 0.0 } + 0.05 * noise();
            let f = 1050.0 + 350.0 * (TAU * 1.3 * t).sin();
            let r = 0.97;
            let c = 2.0 * r * (TAU * f / 8000.0).cos();
            let y = excite + c * y1 - r * r * y2;
            y2 = y1;
            y1 = y;
            speech.push((y * 6000.0).clamp(-32000.0, 32000.0) as i16);
        }
        // At about -11 dBFS it fools a detector that checks only levels (the test has
        // teeth); the energy-share and the harmonic checks each reject it on their own.
        let levels_only = DetectorConfig {
            min_tone_share_db: -40.0,
            max_harmonic_db: 40.0,
            normal_twist_db: 40.0,
            reverse_twist_db: 40.0,
            ..d
        };
        assert!(!detect(&speech, levels_only).is_empty());
        assert_eq!(detect(&speech, d), "");
        let no_harmonic_check = DetectorConfig {
            max_harmonic_db: 40.0,
            ..d
        };
        assert_eq!(detect(&speech, no_harmonic_check), "");
        let no_share_check = DetectorConfig {
            min_tone_share_db: -40.0,
            ..d
        };
        assert_eq!(detect(&speech, no_share_check), "");
        // Plain noise.
        let white: Vec<i16> = (0..16000).map(|_| (noise() * 8000.0) as i16).collect();
        assert_eq!(detect(&white, d), "");
    }

    #[test]
    fn events_carry_timing() {
        let pcm = generate("7", GeneratorConfig::default());
        let mut d = InbandDetector::default();
        d.process(&pcm);
        let Some(DtmfTone::Start { digit: '7', at }) = d.poll() else {
            panic!("start");
        };
        assert!(at < 102);
        let Some(DtmfTone::End {
            digit: '7',
            duration,
        }) = d.poll()
        else {
            panic!("end");
        };
        // 100 ms = 800 samples, within one block either way.
        assert!((duration as i64 - 800).abs() <= 102, "{duration}");
        assert_eq!(d.poll(), None);
    }

    #[test]
    fn generator_refuses_bad_digits() {
        let mut g = InbandGenerator::default();
        assert_eq!(g.queue('x'), Err(GeneratorError::NotADigit('x')));
        for _ in 0..QUEUE {
            g.queue('1').expect("room");
        }
        assert_eq!(g.queue('1'), Err(GeneratorError::Full));
    }

    /// spandsp's generator (`dtmf_tx`, Q.23 levels -10 dBm0 per tone, 50/55 ms) into
    /// our detector, through A-law.
    #[test]
    fn detects_spandsp_digits() {
        for (on, off, level) in [("50", "55", "-10"), ("100", "100", "-20")] {
            let bytes = spandsp::run(&["dtmftx", ALL, on, off, level], &[]);
            let pcm = through(Law::Pcma, &spandsp::from_le(&bytes));
            assert_eq!(
                detect(&pcm, DetectorConfig::default()),
                ALL,
                "{on}/{off} ms {level} dBm0"
            );
        }
    }

    /// Our generator into spandsp's detector (`dtmf_rx`), through µ-law.
    #[test]
    fn spandsp_detects_our_digits() {
        for config in [
            GeneratorConfig::default(),
            GeneratorConfig {
                on_ms: 50,
                off_ms: 50,
                ..GeneratorConfig::default()
            },
        ] {
            let pcm = through(Law::Pcmu, &generate(ALL, config));
            let out = spandsp::run(&["dtmfrx"], &spandsp::to_le(&pcm));
            let digits = String::from_utf8_lossy(&out).trim().to_string();
            assert_eq!(digits, ALL, "{config:?}");
        }
    }
}
