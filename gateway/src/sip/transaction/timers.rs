//! SIP timers (RFC 3261 §17 and Table 4; RFC 6026 §8.11 for L and M) as a small table of
//! deadlines. The next wake-up is the earliest armed deadline.

use std::time::{Duration, Instant};

/// The base timer values, configurable per deployment (RFC 3261 §17.1.1.1, §17.1.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// T1: RTT estimate (default 500 ms).
    pub t1: Duration,
    /// T2: maximum retransmit interval for non-INVITE requests and INVITE responses (4 s).
    pub t2: Duration,
    /// T4: maximum duration a message remains in the network (5 s).
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        TimerConfig {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl TimerConfig {
    /// 64*T1: the transaction timeout (Timers B, F, H, J, L, M).
    pub fn timeout(&self) -> Duration {
        self.t1 * 64
    }
}

/// The timers of RFC 3261 Table 4 that a transaction runs (C belongs to proxies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// INVITE request retransmit interval, unreliable transport (client).
    A,
    /// INVITE transaction timeout (client).
    B,
    /// Wait time for response retransmits (INVITE client, Completed).
    D,
    /// Non-INVITE request retransmit interval, unreliable transport (client).
    E,
    /// Non-INVITE transaction timeout (client).
    F,
    /// INVITE final response retransmit interval (server).
    G,
    /// Wait time for ACK receipt (server).
    H,
    /// Wait time for ACK retransmits (server, Confirmed).
    I,
    /// Wait time for non-INVITE request retransmits (server, Completed).
    J,
    /// Wait time for response retransmits (non-INVITE client, Completed).
    K,
    /// Wait time for accepted INVITE request retransmits (server, RFC 6026 Accepted).
    L,
    /// Wait time for retransmission of 2xx to INVITE (client, RFC 6026 Accepted).
    M,
}

const ALL: [Timer; 12] = [
    Timer::A,
    Timer::B,
    Timer::D,
    Timer::E,
    Timer::F,
    Timer::G,
    Timer::H,
    Timer::I,
    Timer::J,
    Timer::K,
    Timer::L,
    Timer::M,
];

fn slot(t: Timer) -> usize {
    ALL.iter()
        .position(|x| *x == t)
        .expect("every Timer variant is listed in ALL")
}

/// A table of armed deadlines, one slot per timer.
#[derive(Debug, Clone, Default)]
pub struct TimerTable {
    deadlines: [Option<Instant>; 12],
}

impl TimerTable {
    /// Arms `t` to fire at `now + after`.
    pub fn set(&mut self, t: Timer, now: Instant, after: Duration) {
        self.deadlines[slot(t)] = Some(now + after);
    }

    /// Disarms `t`.
    pub fn clear(&mut self, t: Timer) {
        self.deadlines[slot(t)] = None;
    }

    /// Disarms every timer.
    pub fn clear_all(&mut self) {
        self.deadlines = [None; 12];
    }

    /// The earliest armed deadline.
    pub fn next(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Takes (disarms and returns) the earliest timer due at `now`, if any.
    pub fn take_expired(&mut self, now: Instant) -> Option<Timer> {
        let (i, _) = self
            .deadlines
            .iter()
            .enumerate()
            .filter_map(|(i, d)| d.filter(|d| *d <= now).map(|d| (i, d)))
            .min_by_key(|(_, d)| *d)?;
        self.deadlines[i] = None;
        Some(ALL[i])
    }

    /// True when `t` is armed.
    pub fn is_armed(&self, t: Timer) -> bool {
        self.deadlines[slot(t)].is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earliest_deadline_fires_first() {
        let now = Instant::now();
        let mut t = TimerTable::default();
        t.set(Timer::B, now, Duration::from_secs(32));
        t.set(Timer::A, now, Duration::from_millis(500));
        assert_eq!(t.next(), Some(now + Duration::from_millis(500)));
        assert_eq!(t.take_expired(now), None);
        assert_eq!(
            t.take_expired(now + Duration::from_secs(40)),
            Some(Timer::A)
        );
        assert_eq!(
            t.take_expired(now + Duration::from_secs(40)),
            Some(Timer::B)
        );
        assert_eq!(t.next(), None);
    }
}
