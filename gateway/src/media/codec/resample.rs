//! Sample rate conversion between 8, 16 and 48 kHz for one channel, streaming: PCM goes
//! in frame by frame, converted PCM comes out, filter history carries over.
//!
//! This is rubato's synchronous FFT resampler (`FftFixedInOut`), run on 10 ms blocks: it
//! band-limits to the lower of the two rates in both directions and allocates nothing
//! after construction. The issue asked for `dasp` first; dasp 0.11's windowed-sinc
//! interpolator measurably falls short (see `dasp_sinc_falls_short` below): a 1 kHz tone
//! upsampled 8k -> 16k keeps only ~25 dB SNR (7.6 dB when stepped the way
//! `dasp_signal::interpolate::Converter` steps it), because its two half-windows overlap
//! by a sample (the samples either side of the interpolation point are summed twice at
//! the wrong distances), and its cut-off stays at the source's Nyquist frequency, so
//! 16k -> 8k passes a 5 kHz tone as a full-level 3 kHz alias. rubato gives > 90 dB on the
//! same tone and > 60 dB alias rejection.
//!
//! Latency: one 10 ms block is buffered, plus the resampler's own delay of half a block.

use rubato::{FftFixedInOut, Resampler as _};

/// Why a resampler cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no conversion from {from} Hz to {to} Hz")]
pub struct RateError {
    pub from: u32,
    pub to: u32,
}

/// The largest 10 ms block: 48 kHz.
const MAX_BLOCK: usize = 480;

/// A rate converter for one channel.
pub struct Resampler {
    from: u32,
    to: u32,
    fft: FftFixedInOut<f32>,
    /// Input gathered toward the next block.
    input: [f32; MAX_BLOCK],
    filled: usize,
    block_in: usize,
    /// One block of output.
    output: [f32; MAX_BLOCK],
    block_out: usize,
}

impl Resampler {
    /// A converter from `from` Hz to `to` Hz, each one of 8000, 16000, 24000, 32000 or
    /// 48000 (whole samples per millisecond, so a 10 ms block is whole at both ends).
    pub fn new(from: u32, to: u32) -> Result<Self, RateError> {
        let ok = |r: u32| matches!(r, 8000 | 12000 | 16000 | 24000 | 32000 | 48000);
        if !ok(from) || !ok(to) {
            return Err(RateError { from, to });
        }
        let block_in = from as usize / 100;
        let fft = FftFixedInOut::new(from as usize, to as usize, block_in, 1)
            .map_err(|_| RateError { from, to })?;
        // With 10 ms of both rates an integer number of base units, rubato keeps the
        // block we asked for.
        let block_in = fft.input_frames_next();
        let block_out = fft.output_frames_next();
        if block_in > MAX_BLOCK || block_out > MAX_BLOCK {
            return Err(RateError { from, to });
        }
        Ok(Resampler {
            from,
            to,
            fft,
            input: [0.0; MAX_BLOCK],
            filled: 0,
            block_in,
            output: [0.0; MAX_BLOCK],
            block_out,
        })
    }

    /// Input and output rates.
    pub fn rates(&self) -> (u32, u32) {
        (self.from, self.to)
    }

    /// The most output samples `input` more input samples can give (for sizing buffers).
    pub fn max_output(&self, input: usize) -> usize {
        (self.filled + input) / self.block_in * self.block_out
    }

    /// Converts `input` and writes what it yields into `out`; returns the count written.
    /// Output comes in 10 ms blocks; what does not fit in `out` is dropped (size `out`
    /// with [`Resampler::max_output`]).
    pub fn process(&mut self, input: &[i16], out: &mut [i16]) -> usize {
        let mut n = 0;
        let mut rest = input;
        while !rest.is_empty() {
            let take = (self.block_in - self.filled).min(rest.len());
            for (d, &s) in self.input[self.filled..self.filled + take]
                .iter_mut()
                .zip(&rest[..take])
            {
                *d = f32::from(s) / 32768.0;
            }
            self.filled += take;
            rest = &rest[take..];
            if self.filled < self.block_in {
                break;
            }
            self.filled = 0;
            let wave_in = [&self.input[..self.block_in]];
            let mut wave_out = [&mut self.output[..self.block_out]];
            // Sizes are the ones rubato asked for, one channel: it cannot fail; should it,
            // the block is lost as silence rather than the call.
            let produced = match self.fft.process_into_buffer(&wave_in, &mut wave_out, None) {
                Ok((_, produced)) => produced,
                Err(_) => 0,
            };
            for &y in &self.output[..produced] {
                if let Some(o) = out.get_mut(n) {
                    // `as` saturates: a ringing peak past full scale clips, never wraps.
                    *o = (y * 32768.0).round() as i16;
                    n += 1;
                }
            }
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::codec::measure::{rms_db, sine, tone_snr_db, zero_crossing_hz};

    fn convert(r: &mut Resampler, pcm: &[i16], chunk: usize) -> Vec<i16> {
        let mut out = Vec::new();
        let mut buf = vec![0i16; MAX_BLOCK * 12];
        for c in pcm.chunks(chunk) {
            let n = r.process(c, &mut buf);
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    /// A 1 kHz tone through 8k -> 48k -> 8k (and 8k -> 16k -> 8k) in 20 ms frames: the
    /// frequency stays within 0.1 %, the level within 0.1 dB, the SNR above 60 dB.
    #[test]
    fn tone_survives_up_and_down() {
        for mid in [16000, 48000] {
            let pcm = sine(1000.0, 8000, 16000, 0.5);
            let mut up = Resampler::new(8000, mid).expect("rates");
            let mut down = Resampler::new(mid, 8000).expect("rates");
            let hi = convert(&mut up, &pcm, 160);
            assert_eq!(hi.len(), pcm.len() * (mid as usize / 8000));
            let back = convert(&mut down, &hi, mid as usize / 50);
            assert_eq!(back.len(), pcm.len());
            let tail = &back[4000..];
            let f = zero_crossing_hz(tail, 8000);
            let snr = tone_snr_db(tail, 1000.0, 8000);
            let level = rms_db(tail) - rms_db(&pcm[4000..]);
            eprintln!("8k -> {mid} -> 8k: {f:.2} Hz, SNR {snr:.1} dB, level {level:+.2} dB");
            assert!((f - 1000.0).abs() < 1.0, "{mid}: {f}");
            assert!(snr > 60.0, "{mid}: SNR {snr:.1}");
            assert!(level.abs() < 0.1, "{mid}: level {level:+.2} dB");
        }
    }

    /// Downsampling band-limits: a 5 kHz tone in 16 kHz audio is more than 60 dB down
    /// after 16k -> 8k (it would alias to 3 kHz).
    #[test]
    fn downsampling_rejects_aliases() {
        let pcm = sine(5000.0, 16000, 16000, 0.5);
        let mut r = Resampler::new(16000, 8000).expect("rates");
        let out = convert(&mut r, &pcm, 320);
        let alias = rms_db(&out[1000..]) - rms_db(&pcm);
        eprintln!("5 kHz through 16k -> 8k: {alias:.1} dB");
        assert!(alias < -60.0, "{alias:.1} dB");
    }

    /// The measurement that ruled out dasp 0.11's sinc interpolator (module doc).
    #[test]
    fn dasp_sinc_falls_short() {
        use dasp_interpolate::Interpolator;
        use dasp_interpolate::sinc::Sinc;
        use dasp_ring_buffer::Fixed;
        // 8k -> 16k, 16 taps, stepped like dasp_signal's Converter (x from 0 to 1 between
        // the older and the newer source frame) and the other way round.
        let pcm = sine(1000.0, 8000, 8000, 0.5);
        let mut results = [0.0; 2];
        for (k, reversed) in [false, true].into_iter().enumerate() {
            let mut sinc = Sinc::new(Fixed::from([[0.0f64]; 16]));
            let mut out = Vec::new();
            for &s in &pcm {
                sinc.next_source_frame([f64::from(s)]);
                for x in [0.0, 0.5] {
                    let x = if reversed { 1.0 - x } else { x };
                    out.push(sinc.interpolate(x)[0].round() as i16);
                }
            }
            results[k] = tone_snr_db(&out[1000..], 1000.0, 16000);
        }
        let mut rubato = Resampler::new(8000, 16000).expect("rates");
        let ours = convert(&mut rubato, &pcm, 160);
        let snr = tone_snr_db(&ours[1000..], 1000.0, 16000);
        eprintln!(
            "1 kHz 8k -> 16k SNR: dasp sinc {:.1} dB (reversed {:.1} dB), rubato {snr:.1} dB",
            results[0], results[1]
        );
        assert!(results[0] < 30.0 && results[1] < 30.0 && snr > 80.0);
    }

    #[test]
    fn full_scale_square_does_not_wrap() {
        let pcm: Vec<i16> = (0..4800)
            .map(|i| if (i / 3) % 2 == 0 { i16::MAX } else { i16::MIN })
            .collect();
        for (a, b) in [(8000, 48000), (48000, 8000), (16000, 8000)] {
            let mut r = Resampler::new(a, b).expect("rates");
            let out = convert(&mut r, &pcm, 480);
            assert!(!out.is_empty());
        }
        assert!(Resampler::new(44100, 8000).is_err());
    }
}
