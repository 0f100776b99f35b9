//! A log-linear latency histogram: exact below 128 ns, then 64 buckets per power of two
//! (at most 1.6 % relative error), fixed size, no allocation per sample.

/// Buckets: 128 exact ones, then 64 per power of two up to 2^63.
const LINEAR: usize = 128;
const PER_OCTAVE: usize = 64;
const BUCKETS: usize = LINEAR + 57 * PER_OCTAVE;

/// Counts of values (nanoseconds) by bucket.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u64>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS],
            total: 0,
            max: 0,
        }
    }
}

fn index(v: u64) -> usize {
    if v < LINEAR as u64 {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros() as usize; // >= 7
    let shift = msb - 6; // v >> shift is in [64, 128)
    LINEAR + (shift - 1) * PER_OCTAVE + ((v >> shift) as usize - PER_OCTAVE)
}

/// The smallest value of bucket `i`.
fn lower(i: usize) -> u64 {
    if i < LINEAR {
        return i as u64;
    }
    let shift = (i - LINEAR) / PER_OCTAVE + 1;
    (((i - LINEAR) % PER_OCTAVE + PER_OCTAVE) as u64) << shift
}

impl Histogram {
    /// Counts one value.
    pub fn record(&mut self, v: u64) {
        self.counts[index(v)] += 1;
        self.total += 1;
        self.max = self.max.max(v);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// Values counted.
    pub fn count(&self) -> u64 {
        self.total
    }

    /// The largest value counted.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The value at quantile `q` (0..=1): the middle of its bucket, never above the max.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let lo = lower(i);
                let hi = if i + 1 < BUCKETS {
                    lower(i + 1)
                } else {
                    u64::MAX
                };
                return (lo + (hi - lo) / 2).min(self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        for i in 0..BUCKETS - 1 {
            assert!(lower(i) < lower(i + 1), "bucket {i}");
            assert_eq!(index(lower(i)), i);
            assert_eq!(index(lower(i + 1) - 1), i);
            if i >= LINEAR {
                let width = lower(i + 1) - lower(i);
                assert!(width as f64 / lower(i) as f64 <= 1.0 / 64.0 + 1e-9);
            }
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_within_two_percent() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v * 1_000);
        }
        for (q, want) in [
            (0.5, 50_000_000.0),
            (0.99, 99_000_000.0),
            (0.999, 99_900_000.0),
        ] {
            let got = h.quantile(q) as f64;
            assert!((got - want).abs() / want < 0.02, "q{q}: {got} vs {want}");
        }
        assert_eq!(h.quantile(1.0), 100_000_000);
        assert_eq!(h.max(), 100_000_000);
        let mut g = Histogram::default();
        g.record(5);
        g.merge(&h);
        assert_eq!(g.count(), 100_001);
        assert_eq!(g.quantile(0.0), 5);
    }
}
