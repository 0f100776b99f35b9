//! Receive statistics for one RTP stream direction (RFC 3550 Appendix A.1, A.3, A.8).
//!
//! Fed by the relay with every valid RTP packet and its arrival time; no allocation.

use std::time::{Duration, Instant};

/// A sequence jump at least this large (forward) is a restart candidate (RFC 3550 A.1).
const MAX_DROPOUT: u16 = 3000;
/// A sequence at most this far behind is a late or duplicate packet (RFC 3550 A.1).
const MAX_MISORDER: u16 = 100;

/// What the relay counts for the packets arriving on one side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StreamStats {
    /// Valid RTP packets received.
    pub packets: u64,
    /// Payload octets received (header, CSRCs, extension and padding excluded, as in the
    /// SR sender octet count, RFC 3550 §6.4.1).
    pub octets: u64,
    /// Packets lost, summed over every source seen: expected minus received (RFC 3550 A.3).
    /// Negative when duplicates outnumber losses.
    pub lost: i64,
    /// Interarrival jitter in timestamp units of the current source (RFC 3550 A.8).
    pub jitter: f64,
    /// The RTP clock those units tick at (8000 for G.711, 48000 for Opus); 0 before
    /// the first packet.
    pub clock_rate: u32,
    /// Largest wall-clock gap between two consecutive packets.
    pub max_delta: Duration,
    /// Source (SSRC) changes seen.
    pub ssrc_changes: u64,
    /// RTCP packets forwarded.
    pub rtcp_packets: u64,
    /// Packets dropped: not RTP/RTCP, from an unexpected address, or nowhere to send.
    pub dropped: u64,
}

/// Sequence-number state of one source (RFC 3550 A.1).
#[derive(Debug, Clone, Copy)]
struct SeqState {
    base_seq: u16,
    max_seq: u16,
    /// Count of sequence wraps, shifted by 16 (A.1 keeps it that way).
    cycles: u32,
    /// Received packets counted for this source.
    received: u64,
    /// Next sequence expected after a big jump; `None` until one happens.
    bad_seq: Option<u16>,
}

impl SeqState {
    fn new(seq: u16) -> Self {
        SeqState {
            base_seq: seq,
            max_seq: seq,
            cycles: 0,
            received: 1,
            bad_seq: None,
        }
    }

    /// A.1 `update_seq` without probation. Returns false when the packet was not counted
    /// (a big jump not yet confirmed).
    fn update(&mut self, seq: u16) -> bool {
        let delta = seq.wrapping_sub(self.max_seq);
        if delta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles += 1 << 16;
            }
            self.max_seq = seq;
        } else if delta <= u16::MAX - MAX_MISORDER {
            // A very large jump: two sequential packets confirm the peer restarted.
            if self.bad_seq == Some(seq) {
                *self = SeqState::new(seq);
                return true;
            }
            self.bad_seq = Some(seq.wrapping_add(1));
            return false;
        }
        // else: duplicate or reordered, counted but max unchanged.
        self.received += 1;
        true
    }

    fn extended_max(&self) -> u64 {
        u64::from(self.cycles) + u64::from(self.max_seq)
    }

    fn expected(&self) -> u64 {
        self.extended_max() - u64::from(self.base_seq) + 1
    }

    fn lost(&self) -> i64 {
        // Both fit in i64: at most 2^32 + 2^16 expected.
        self.expected() as i64 - self.received as i64
    }
}

/// Statistics for one direction, with the per-source state needed to compute them.
#[derive(Debug, Clone, Default)]
pub struct StatsTracker {
    stats: StreamStats,
    ssrc: Option<u32>,
    seq: Option<SeqState>,
    /// Loss of earlier sources, already final.
    lost_before: i64,
    /// First arrival: the origin of the arrival clock in timestamp units.
    epoch: Option<Instant>,
    last_arrival: Option<Instant>,
    /// Relative transit time of the previous packet (A.8), `None` after a source change.
    transit: Option<u32>,
}

impl StatsTracker {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// What a report block about the current source needs (RFC 3550 A.3, A.8); `None`
    /// before the first packet.
    pub fn reception(&self) -> Option<super::rtcp::Reception> {
        let (ssrc, seq) = (self.ssrc?, self.seq?);
        Some(super::rtcp::Reception {
            ssrc,
            // The extended maximum is 32 bits on the wire (cycles count in the top 16).
            extended_max: seq.extended_max() as u32,
            expected: seq.expected(),
            received: seq.received,
            jitter: self.stats.jitter as u32,
        })
    }

    pub(crate) fn count_drop(&mut self) {
        self.stats.dropped += 1;
    }

    pub(crate) fn count_rtcp(&mut self) {
        self.stats.rtcp_packets += 1;
    }

    /// Records one valid RTP packet that arrived at `now`.
    pub fn record(
        &mut self,
        now: Instant,
        ssrc: u32,
        seq: u16,
        timestamp: u32,
        payload_len: usize,
        clock_rate: u32,
    ) {
        self.stats.packets += 1;
        self.stats.octets += payload_len as u64;
        self.stats.clock_rate = clock_rate;
        if let Some(last) = self.last_arrival {
            self.stats.max_delta = self
                .stats
                .max_delta
                .max(now.saturating_duration_since(last));
        }
        self.last_arrival = Some(now);

        if self.ssrc != Some(ssrc) {
            if self.ssrc.is_some() {
                self.stats.ssrc_changes += 1;
            }
            self.lost_before += self.seq.map_or(0, |s| s.lost());
            self.ssrc = Some(ssrc);
            self.seq = Some(SeqState::new(seq));
            self.transit = None;
            self.stats.jitter = 0.0;
        } else if let Some(state) = self.seq.as_mut() {
            state.update(seq);
        }
        self.stats.lost = self.lost_before + self.seq.map_or(0, |s| s.lost());

        // A.8: arrival in timestamp units; differences are taken modulo 2^32.
        let epoch = *self.epoch.get_or_insert(now);
        let elapsed = now.saturating_duration_since(epoch);
        let arrival = (elapsed.as_nanos() * u128::from(clock_rate) / 1_000_000_000) as u32;
        let transit = arrival.wrapping_sub(timestamp);
        if let Some(prev) = self.transit {
            let d = f64::from((transit.wrapping_sub(prev) as i32).unsigned_abs());
            self.stats.jitter += (d - self.stats.jitter) / 16.0;
        }
        self.transit = Some(transit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_counts_a_cycle() {
        let mut s = SeqState::new(65534);
        assert!(s.update(65535));
        assert!(s.update(0));
        assert!(s.update(1));
        assert_eq!(s.cycles, 1 << 16);
        assert_eq!(s.expected(), 4);
        assert_eq!(s.lost(), 0);
    }

    #[test]
    fn big_jump_needs_two_packets() {
        let mut s = SeqState::new(10);
        assert!(!s.update(20000));
        assert!(s.update(20001));
        assert_eq!(s.base_seq, 20001);
        assert_eq!(s.lost(), 0);
    }

    #[test]
    fn late_packet_is_counted_not_lost() {
        let mut s = SeqState::new(100);
        s.update(102);
        assert_eq!(s.lost(), 1);
        s.update(101);
        assert_eq!(s.lost(), 0);
        assert_eq!(s.max_seq, 102);
    }

    #[test]
    fn reception_for_a_report_block() {
        let mut t = StatsTracker::new();
        assert_eq!(t.reception(), None);
        let now = Instant::now();
        for seq in [65534u16, 65535, 1] {
            t.record(now, 9, seq, u32::from(seq) * 160, 160, 8000);
        }
        let r = t.reception().unwrap();
        assert_eq!(
            (r.ssrc, r.extended_max, r.expected, r.received),
            (9, 0x1_0001, 4, 3)
        );
    }
}
