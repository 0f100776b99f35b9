//! Packet-loss concealment for codecs without their own (G.711, G.722, L16), in the
//! manner of ITU-T G.711 Appendix I: the last pitch period of the output is repeated,
//! with smoothed joins; from 10 ms into a loss the repeated span grows to two, then three
//! periods (so a long loss does not buzz) and the level falls by 20 % per 10 ms, reaching
//! silence at 60 ms; the first good frame after a loss is cross-faded from the
//! synthesized signal.
//!
//! Unlike Appendix I this adds no delay: the join at the start of a loss is smoothed by
//! correcting the first quarter period of the synthesis toward the last real sample
//! instead of rewriting output already played. Works at any sample rate (the pitch range
//! and every length are in milliseconds). Buffers are allocated by [`Concealer::new`].

/// Shortest and longest pitch period searched: 5 ms and 15 ms (200 Hz to 66 Hz), as in
/// Appendix I (40 to 120 samples at 8 kHz).
const PITCH_MIN_MS_X10: u32 = 50;
const PITCH_MAX_MS_X10: u32 = 150;
/// Correlation window of the pitch search.
const WINDOW_MS_X10: u32 = 200;

/// Loss concealment state for one decoder channel.
#[derive(Debug, Clone)]
pub struct Concealer {
    /// Output history, newest last: three longest periods and a quarter (48.75 ms).
    history: Box<[i16]>,
    /// The history when the loss began: the waveform being repeated.
    snapshot: Box<[i16]>,
    pitch_min: usize,
    pitch_max: usize,
    window: usize,
    /// Samples in 10 ms.
    ten_ms: usize,
    /// Samples synthesized in the current loss; 0 when not in one.
    lost: usize,
    /// Pitch period found at the start of the loss, and a quarter of it (the join length).
    pitch: usize,
    join: usize,
    /// Periods in the repeated span, and the read position in it.
    periods: usize,
    pos: usize,
    /// While switching to more periods: the old span and position, and samples faded.
    fade: Option<(usize, usize, usize)>,
    /// Mismatch at the first join, faded out over `join` samples.
    correction: f32,
}

impl Concealer {
    /// A concealer for PCM at `sample_rate` Hz.
    pub fn new(sample_rate: u32) -> Self {
        let at = |ms_x10: u32| (sample_rate.max(1000) as usize * ms_x10 as usize) / 10_000;
        let (pitch_min, pitch_max) = (at(PITCH_MIN_MS_X10), at(PITCH_MAX_MS_X10));
        let len = 3 * pitch_max + pitch_max / 4;
        Concealer {
            history: vec![0; len].into_boxed_slice(),
            snapshot: vec![0; len].into_boxed_slice(),
            pitch_min,
            pitch_max,
            window: at(WINDOW_MS_X10).min(len - pitch_max),
            ten_ms: at(100),
            lost: 0,
            pitch: pitch_max,
            join: pitch_max / 4,
            periods: 1,
            pos: 0,
            fade: None,
            correction: 0.0,
        }
    }

    /// Every good decoded frame passes through here: it joins the history, and the first
    /// one after a loss is cross-faded from the synthesis (over a quarter period plus
    /// 4 ms for each further 10 ms lost, at most 10 ms).
    pub fn good(&mut self, pcm: &mut [i16]) {
        if self.lost > 0 {
            let extra = (self.lost / self.ten_ms).saturating_sub(1) * (4 * self.ten_ms / 10);
            let ola = (self.join + extra).min(self.ten_ms).min(pcm.len());
            for (j, s) in pcm[..ola].iter_mut().enumerate() {
                let w = (j + 1) as f32 / (ola + 1) as f32;
                let v = w * f32::from(*s) + (1.0 - w) * self.next_sample();
                *s = saturate(v);
            }
            self.lost = 0;
            self.fade = None;
        }
        self.remember(pcm);
    }

    /// Synthesizes `pcm.len()` samples for a lost frame.
    pub fn lost(&mut self, pcm: &mut [i16]) {
        if self.lost == 0 {
            self.begin();
        }
        for s in pcm.iter_mut() {
            *s = saturate(self.next_sample());
        }
        self.remember(pcm);
    }

    /// Appends output to the history.
    fn remember(&mut self, pcm: &[i16]) {
        let len = self.history.len();
        if pcm.len() >= len {
            self.history.copy_from_slice(&pcm[pcm.len() - len..]);
        } else {
            self.history.copy_within(pcm.len().., 0);
            self.history[len - pcm.len()..].copy_from_slice(pcm);
        }
    }

    /// Starts a loss: finds the pitch and freezes the waveform to repeat.
    fn begin(&mut self) {
        self.snapshot.copy_from_slice(&self.history);
        self.pitch = self.find_pitch();
        self.join = (self.pitch / 4).max(1);
        self.periods = 1;
        self.pos = 0;
        self.fade = None;
        let h = self.snapshot.len();
        // What a one-period prediction gets wrong at the last real sample.
        self.correction =
            f32::from(self.snapshot[h - 1]) - f32::from(self.snapshot[h - 1 - self.pitch]);
    }

    /// The lag in the pitch range with the highest normalized correlation between the
    /// newest `window` samples and the same span that many samples earlier.
    fn find_pitch(&self) -> usize {
        let x = &self.snapshot;
        let h = x.len();
        let recent = &x[h - self.window..];
        let mut best = (self.pitch_max, 0.0f64);
        for lag in self.pitch_min..=self.pitch_max {
            let earlier = &x[h - self.window - lag..h - lag];
            let (mut num, mut energy) = (0i64, 0i64);
            for (&a, &b) in recent.iter().zip(earlier) {
                num += i64::from(a) * i64::from(b);
                energy += i64::from(b) * i64::from(b);
            }
            if num > 0 && energy > 0 {
                let score = num as f64 / (energy as f64).sqrt();
                if score > best.1 {
                    best = (lag, score);
                }
            }
        }
        best.0
    }

    /// Sample `i` of the span of the last `periods` periods, repeated end to start: its
    /// last quarter period is blended into the quarter period before the span, so the
    /// end runs smoothly into the start.
    fn periodic(&self, periods: usize, i: usize) -> f32 {
        let h = self.snapshot.len();
        let n = periods * self.pitch;
        let x = f32::from(self.snapshot[h - n + i]);
        let tail = n - self.join;
        if i < tail {
            return x;
        }
        let j = i - tail;
        let w = (j + 1) as f32 / (self.join + 1) as f32;
        (1.0 - w) * x + w * f32::from(self.snapshot[h - n - self.join + j])
    }

    /// The next synthesized sample of the current loss.
    fn next_sample(&mut self) -> f32 {
        let t = self.lost;
        if self.periods < 3 && t > 0 && t % self.ten_ms == 0 && t / self.ten_ms == self.periods {
            // One more period, read at the same phase; cross-faded over a join.
            self.fade = Some((self.periods, self.pos, 0));
            self.periods += 1;
            self.pos += self.pitch;
        }
        let mut v = self.periodic(self.periods, self.pos);
        if let Some((periods, pos, done)) = self.fade {
            let w = (done + 1) as f32 / (self.join + 1) as f32;
            v = w * v + (1.0 - w) * self.periodic(periods, pos);
            self.fade = (done + 1 < self.join).then_some((
                periods,
                (pos + 1) % (periods * self.pitch),
                done + 1,
            ));
        }
        if t < self.join {
            v += self.correction * (1.0 - (t + 1) as f32 / (self.join + 1) as f32);
        }
        self.pos = (self.pos + 1) % (self.periods * self.pitch);
        self.lost += 1;
        // Full level for 10 ms, then 20 % less per 10 ms: silent from 60 ms.
        let fall = t.saturating_sub(self.ten_ms) as f32 / (5 * self.ten_ms) as f32;
        v * (1.0 - fall).max(0.0)
    }
}

fn saturate(v: f32) -> i16 {
    v.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::codec::measure::sine;

    /// The largest step between neighbouring samples of a 440 Hz sine at half scale
    /// (A·2π·f/fs).
    fn natural_step(rate: u32) -> f64 {
        0.5 * 32767.0 * std::f64::consts::TAU * 440.0 / f64::from(rate)
    }

    /// Runs `signal` through the concealer in 20 ms frames, frames in `lost` concealed.
    fn run(signal: &[i16], rate: u32, lost: &[usize]) -> Vec<i16> {
        let frame = rate as usize / 50;
        let mut plc = Concealer::new(rate);
        let mut out = Vec::new();
        for (k, chunk) in signal.chunks(frame).enumerate() {
            let mut pcm = chunk.to_vec();
            if lost.contains(&k) {
                plc.lost(&mut pcm);
            } else {
                plc.good(&mut pcm);
            }
            out.extend_from_slice(&pcm);
        }
        out
    }

    fn energy(a: &[i16], b: &[i16]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
            .sum()
    }

    fn max_step(pcm: &[i16]) -> f64 {
        pcm.windows(2)
            .map(|w| (f64::from(w[1]) - f64::from(w[0])).abs())
            .fold(0.0, f64::max)
    }

    /// One 20 ms frame of a 440 Hz sine dropped: the concealed frame is far closer to the
    /// original than silence, at 8 and 16 kHz, and nothing clicks at either join.
    #[test]
    fn sine_frame_concealed() {
        for rate in [8000u32, 16000] {
            let frame = rate as usize / 50;
            let signal = sine(440.0, rate, 10 * frame, 0.5);
            let out = run(&signal, rate, &[5]);
            let span = 5 * frame..7 * frame;
            let concealed = energy(&out[span.clone()], &signal[span.clone()]);
            let mut silenced = signal.clone();
            silenced[5 * frame..6 * frame].fill(0);
            let silence = energy(&silenced[span.clone()], &signal[span.clone()]);
            let ratio = silence / concealed.max(1.0);
            println!("{rate} Hz: error energy of silence / concealment = {ratio:.0}");
            assert!(ratio > 30.0, "{rate} Hz: ratio {ratio:.1}");
            let steps = max_step(&out[5 * frame - 4..7 * frame]);
            assert!(
                steps < 1.3 * natural_step(rate),
                "{rate} Hz: step {steps:.0} vs {:.0}",
                natural_step(rate)
            );
            assert_eq!(&out[..5 * frame], &signal[..5 * frame]);
        }
    }

    /// A long loss fades out and stays silent; recovery afterwards fades in without a
    /// click.
    #[test]
    fn long_loss_fades_to_silence() {
        let rate = 8000;
        let signal = sine(440.0, rate, 16 * 160, 0.5);
        let out = run(&signal, rate, &[4, 5, 6, 7, 8, 9]);
        // Level never rises during the loss after the first 10 ms, gone by 60 ms.
        let peak = |s: &[i16]| s.iter().map(|&v| i32::from(v).abs()).max().unwrap_or(0);
        let blocks: Vec<i32> = (0..12)
            .map(|b| peak(&out[640 + b * 80..640 + (b + 1) * 80]))
            .collect();
        assert!(blocks[0] > 15000, "{blocks:?}");
        assert!(
            blocks.windows(2).skip(1).all(|w| w[1] <= w[0] + 200),
            "{blocks:?}"
        );
        assert!(blocks[6..].iter().all(|&p| p == 0), "{blocks:?}");
        // The first good frame fades in from silence: no sample jumps more than a sine's.
        assert!(max_step(&out[10 * 160 - 1..11 * 160]) < 1.3 * natural_step(rate));
        assert_eq!(&out[11 * 160..], &signal[11 * 160..]);
    }

    /// Repeated frames at the period switches (10 and 20 ms) and the span joins: no step
    /// above a sine's own.
    #[test]
    fn no_clicks_through_a_40_ms_loss() {
        for rate in [8000u32, 16000] {
            let frame = rate as usize / 50;
            let signal = sine(440.0, rate, 10 * frame, 0.5);
            let out = run(&signal, rate, &[5, 6]);
            let steps = max_step(&out[5 * frame - 1..8 * frame]);
            assert!(
                steps < 1.3 * natural_step(rate),
                "{rate} Hz: step {steps:.0}"
            );
        }
    }

    proptest::proptest! {
        /// Any sequence of good and lost frames of any size at any rate: no panic, and a
        /// loss never outlasts 60 ms of sound.
        #[test]
        fn any_pattern(rate in proptest::sample::select(vec![8000u32, 16000, 48000, 11025]),
                       frames in proptest::collection::vec((proptest::prelude::any::<bool>(), 0usize..2000, proptest::prelude::any::<i16>()), 1..40)) {
            let mut plc = Concealer::new(rate);
            let mut lost_for = 0usize;
            for (lost, len, v) in frames {
                let mut pcm: Vec<i16> = (0..len).map(|i| if i % 2 == 0 { v } else { v.wrapping_neg() }).collect();
                if lost {
                    plc.lost(&mut pcm);
                    for (i, &s) in pcm.iter().enumerate() {
                        if lost_for + i >= rate as usize * 60 / 1000 {
                            proptest::prop_assert_eq!(s, 0);
                        }
                    }
                    lost_for += len;
                } else {
                    plc.good(&mut pcm);
                    lost_for = 0;
                }
            }
        }
    }

    /// Speech-like input with no history (silence) conceals as silence; odd frame sizes
    /// and frames longer than the history are taken.
    #[test]
    fn odd_sizes() {
        let mut plc = Concealer::new(8000);
        let mut pcm = [0i16; 37];
        plc.lost(&mut pcm);
        assert!(pcm.iter().all(|&s| s == 0));
        let mut big = sine(300.0, 8000, 1000, 0.3);
        plc.good(&mut big);
        let mut one = [0i16; 1];
        plc.lost(&mut one);
        plc.good(&mut one);
        let mut plc = Concealer::new(48000);
        let mut frame = sine(200.0, 48000, 960, 0.3);
        plc.good(&mut frame);
        plc.lost(&mut frame);
    }
}
