//! Per-source admission of SIP input: a token bucket per source IP address, so one
//! flooding peer cannot fill the SIP core's queue and starve the others. Sans-IO: the
//! caller passes `now`.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Instant;

/// Sources tracked at most; beyond it, buckets idle for the longest are forgotten
/// (a forgotten source starts again with a full bucket).
const MAX_SOURCES: usize = 65_536;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by source address.
#[derive(Debug)]
pub struct SourceLimiter {
    rate: f64,
    burst: f64,
    buckets: HashMap<IpAddr, Bucket>,
}

impl SourceLimiter {
    /// `rate` messages per second per source, `burst` above it at once.
    pub fn new(rate: u32, burst: u32) -> SourceLimiter {
        SourceLimiter {
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: HashMap::new(),
        }
    }

    /// Whether one more message from `source` at `now` is admitted.
    pub fn admit(&mut self, now: Instant, source: IpAddr) -> bool {
        if self.buckets.len() >= MAX_SOURCES && !self.buckets.contains_key(&source) {
            self.forget_idle();
        }
        let (rate, burst) = (self.rate, self.burst);
        let b = self.buckets.entry(source).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets the older half of the buckets.
    fn forget_idle(&mut self) {
        let mut ages: Vec<Instant> = self.buckets.values().map(|b| b.at).collect();
        ages.sort_unstable();
        if let Some(&cut) = ages.get(ages.len() / 2) {
            self.buckets.retain(|_, b| b.at > cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_flood_is_cut_to_the_rate_and_others_are_untouched() {
        let mut l = SourceLimiter::new(10, 5);
        let t0 = Instant::now();
        let flood: IpAddr = "192.0.2.1".parse().unwrap();
        let quiet: IpAddr = "192.0.2.2".parse().unwrap();
        let admitted = (0..100).filter(|_| l.admit(t0, flood)).count();
        assert_eq!(admitted, 5, "the burst only");
        assert!(l.admit(t0, quiet), "another source is served");
        // One second later: ten more.
        let t1 = t0 + Duration::from_secs(1);
        // One second refills ten tokens, capped at the burst of five.
        assert_eq!((0..100).filter(|_| l.admit(t1, flood)).count(), 5);
        let t2 = t1 + Duration::from_millis(300);
        assert_eq!((0..100).filter(|_| l.admit(t2, flood)).count(), 3);
    }

    #[test]
    fn the_table_stays_bounded() {
        let mut l = SourceLimiter::new(1, 1);
        let t0 = Instant::now();
        for i in 0..(MAX_SOURCES as u32 + 10) {
            let ip = IpAddr::from(i.to_be_bytes());
            assert!(l.admit(t0 + Duration::from_micros(u64::from(i)), ip));
        }
        assert!(l.buckets.len() <= MAX_SOURCES);
    }
}
