//! Adaptive jitter buffer for one direction of a transcoded stream (issue 6).
//!
//! Sans-IO: [`JitterBuffer::push`] takes each RTP packet with its arrival time,
//! [`JitterBuffer::pop`] is called by the consumer's playout clock whenever it needs the
//! next piece of audio. Payloads stay encoded, in slots allocated by [`JitterBuffer::new`];
//! nothing allocates afterwards.
//!
//! Timing, all in RTP timestamp ticks:
//! - *transit* = arrival − timestamp (RFC 3550 §6.4.1); the *floor* is the smallest transit
//!   of the last [`WINDOW`] packets (the fastest recent packet), and a packet's *spread*
//!   is its transit above the floor: how long it would have to wait if nothing waited for
//!   it.
//! - The *target* delay is `clamp(peak spread + one frame, min, max)`. The peak estimate
//!   jumps at once to any larger spread (a spike) and decays toward the spreads seen by
//!   1/512 of the difference per packet (about 10 s at 20 ms). The RFC 3550 A.8
//!   interarrival jitter is kept for the statistics.
//! - The *playout point* is the timestamp due next. At a talkspurt start (the marker bit,
//!   RFC 3551 §4.1, or a timestamp step with no sequence gap: the sender paused, as with
//!   Opus or G.729B DTX) playout waits until the head frame is `target` past its fastest
//!   possible arrival, so the target takes effect there. In a stream without pauses
//!   (G.711 from a trunk) the delay follows the target in single frames: an underrun
//!   below the target repeats the playout point (a concealed frame that does not advance
//!   it), and running far over the target drops a frame.
//! - A frame behind the playout point is late; a source restart or timestamp jump (a
//!   transit more than a second off the floor) empties the buffer and starts again.

use std::time::Instant;

/// Transits remembered for the floor (2.56 s of 20 ms packets).
const WINDOW: usize = 128;
/// Consecutive missing audio after which the talkspurt is taken to have ended (DTX, or
/// the far end stopped): `pop` says [`Popped::Waiting`] instead of [`Popped::Missing`].
const MISSING_RUN_MS: u32 = 100;
/// A transit this far beyond the buffer's reach from the floor is a new timeline.
const RESYNC_MS: u32 = 1000;
/// The peak spread estimate decays by 2^-DECAY_SHIFT of its excess per packet.
const DECAY_SHIFT: u32 = 9;

/// Sizes and delay bounds of one buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// The target delay never goes below this.
    pub min_delay_ms: u32,
    /// Nor above this; frames are dropped to stay under it when the stream allows.
    pub max_delay_ms: u32,
    /// Payload slots (indexed by sequence number modulo this).
    pub slots: usize,
    /// The largest payload a slot holds.
    pub max_payload: usize,
}

impl Default for JitterConfig {
    fn default() -> Self {
        JitterConfig {
            min_delay_ms: 20,
            max_delay_ms: 200,
            slots: 32,
            max_payload: 1500,
        }
    }
}

/// What became of a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Buffered for playout.
    Stored,
    /// Behind the playout point: its time has passed.
    Late,
    /// A packet with this sequence number is buffered or was just played.
    Duplicate,
    /// Its slot holds a frame not yet played (the buffer is full that far ahead).
    Overflow,
    /// Longer than [`JitterConfig::max_payload`].
    TooBig,
}

/// What the playout clock gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Popped {
    /// The frame due, `len` octets copied into the caller's buffer, spanning `ticks`.
    Frame {
        len: usize,
        payload_type: u8,
        ticks: u32,
    },
    /// The frame due is lost or late: the caller conceals `ticks`.
    Missing { ticks: u32 },
    /// Nothing due: buffering toward the target, or between talkspurts. The caller plays
    /// silence or comfort noise.
    Waiting,
}

/// Counters and current delays of one buffer. Counters are cumulative across
/// [`JitterBuffer::reset`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct JitterStats {
    /// Playout delay of the last frame played, above the fastest recent packet's transit.
    pub delay_ms: u32,
    /// The delay aimed at now.
    pub target_ms: u32,
    /// Packets that arrived behind the playout point.
    pub late: u64,
    /// Duplicate packets.
    pub duplicates: u64,
    /// Packets refused for want of a free slot.
    pub overflows: u64,
    /// [`Popped::Missing`] answers.
    pub concealed: u64,
    /// Frames played.
    pub played: u64,
    /// Times the buffer started over on a source restart or timestamp jump.
    pub resyncs: u64,
    /// Frames dropped to bring the delay back toward the target (added to the set).
    pub dropped: u64,
    /// RFC 3550 A.8 interarrival jitter, in milliseconds (added to the set).
    pub jitter_ms: u32,
}

/// One buffered packet; its payload is at `index * max_payload` in the data area.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    used: bool,
    marker: bool,
    payload_type: u8,
    seq: u16,
    timestamp: u32,
    ticks: u32,
    len: usize,
}

/// An adaptive jitter buffer for one RTP stream. See the module documentation.
pub struct JitterBuffer {
    clock_rate: u32,
    config: JitterConfig,
    slots: Box<[Slot]>,
    data: Box<[u8]>,
    /// Arrival times are RTP ticks since the first packet's arrival.
    epoch: Option<Instant>,
    /// Transit of the first packet of the timeline; transits are kept relative to it.
    base_transit: u32,
    /// Recent relative transits (ring), how many are valid, the next to replace.
    window: [i32; WINDOW],
    window_len: usize,
    window_pos: usize,
    /// Smallest transit in the window (relative).
    floor: i32,
    /// Peak spread estimate, ticks × 256.
    spread_q8: i64,
    /// RFC 3550 A.8 jitter, ticks × 16, and the previous packet's relative transit.
    jitter_q4: i64,
    last_transit: Option<i32>,
    /// Duration of the latest packet: what a missing frame stands for.
    frame_ticks: u32,
    playing: bool,
    /// The timestamp due next; `None` until the first playout.
    point: Option<u32>,
    /// Sequence number of the last frame played.
    last_seq: Option<u16>,
    /// Sequence numbers played lately: bit i is `played_top - i`.
    played_top: u16,
    played_mask: u64,
    /// Consecutive missing audio, in ticks.
    missing_run: u32,
    stats: JitterStats,
}

impl JitterBuffer {
    /// A buffer for a stream with RTP clock `clock_rate` (8000 for G.711 and G.722, 48000
    /// for Opus; 1 to 384000). `slots` is at least 2, `max_delay_ms` at least
    /// `min_delay_ms`, both at most a minute.
    pub fn new(clock_rate: u32, config: JitterConfig) -> Self {
        let min_delay_ms = config.min_delay_ms.min(60_000);
        let config = JitterConfig {
            min_delay_ms,
            max_delay_ms: config.max_delay_ms.clamp(min_delay_ms, 60_000),
            slots: config.slots.max(2),
            max_payload: config.max_payload,
        };
        let clock_rate = clock_rate.clamp(1, 384_000);
        JitterBuffer {
            clock_rate,
            config,
            slots: vec![Slot::default(); config.slots].into_boxed_slice(),
            data: vec![0; config.slots * config.max_payload].into_boxed_slice(),
            epoch: None,
            base_transit: 0,
            window: [0; WINDOW],
            window_len: 0,
            window_pos: 0,
            floor: 0,
            spread_q8: 0,
            jitter_q4: 0,
            last_transit: None,
            frame_ticks: clock_rate / 50,
            playing: false,
            point: None,
            last_seq: None,
            played_top: 0,
            played_mask: 0,
            missing_run: 0,
            stats: JitterStats::default(),
        }
    }

    /// The configuration in force (after the bounds of [`JitterBuffer::new`]).
    pub fn config(&self) -> JitterConfig {
        self.config
    }

    /// One arriving RTP packet: `ticks` is how many RTP timestamp ticks its payload spans
    /// (the caller knows from the codec).
    #[allow(clippy::too_many_arguments)]
    pub fn push(
        &mut self,
        now: Instant,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload_type: u8,
        ticks: u32,
        payload: &[u8],
    ) -> Pushed {
        if payload.len() > self.config.max_payload {
            return Pushed::TooBig;
        }
        // A frame spans at least one tick and at most a second (Opus tops out at 120 ms).
        let ticks = ticks.clamp(1, self.clock_rate);
        let epoch = *self.epoch.get_or_insert(now);
        let transit = self.ticks_since(epoch, now).wrapping_sub(timestamp);
        if self.window_len == 0 {
            self.base_transit = transit;
        }
        let mut rel = transit.wrapping_sub(self.base_transit) as i32;
        let reach = i64::from(self.ms_to_ticks(self.config.max_delay_ms + RESYNC_MS));
        let behind = self
            .point
            .is_some_and(|p| i64::from(timestamp.wrapping_sub(p) as i32) < -reach);
        if self.window_len > 0 && ((i64::from(rel) - i64::from(self.floor)).abs() > reach || behind)
        {
            self.resync();
            self.base_transit = transit;
            rel = 0;
        }
        self.observe(rel);
        self.frame_ticks = ticks;

        if let Some(point) = self.point {
            if (timestamp.wrapping_sub(point) as i32) < 0 {
                return if self.was_played(seq) {
                    self.stats.duplicates += 1;
                    Pushed::Duplicate
                } else {
                    self.stats.late += 1;
                    Pushed::Late
                };
            }
        }
        let index = usize::from(seq) % self.slots.len();
        let slot = self.slots[index];
        if slot.used {
            if slot.seq == seq {
                self.stats.duplicates += 1;
                return Pushed::Duplicate;
            }
            let stale = self
                .point
                .is_some_and(|p| (slot.timestamp.wrapping_sub(p) as i32) < 0);
            if !stale {
                self.stats.overflows += 1;
                return Pushed::Overflow;
            }
            // Overtaken by an overlapping frame and not yet swept by `pop`.
            self.stats.dropped += 1;
        }
        let start = index * self.config.max_payload;
        self.data[start..start + payload.len()].copy_from_slice(payload);
        self.slots[index] = Slot {
            used: true,
            marker,
            payload_type,
            seq,
            timestamp,
            ticks,
            len: payload.len(),
        };
        Pushed::Stored
    }

    /// Called by a playout clock each time the consumer needs the next piece of audio;
    /// copies the frame due at the playout point into `out` (which should hold
    /// [`JitterConfig::max_payload`] octets). `Missing` stands for a lost or late frame
    /// (the caller conceals `ticks`); `Waiting` comes before playout starts (buffering to
    /// the target delay) or when the talkspurt ended and nothing is due (the caller plays
    /// silence or comfort noise).
    pub fn pop(&mut self, now: Instant, out: &mut [u8]) -> Popped {
        let Some(epoch) = self.epoch else {
            return Popped::Waiting;
        };
        let now_t = self.ticks_since(epoch, now);
        let head = self.head();
        let point = match (self.playing, self.point) {
            (true, Some(point)) => point,
            _ => {
                self.playing = false;
                return match head {
                    Some(h) => self.start_when_due(h, now_t, out),
                    None => Popped::Waiting,
                };
            }
        };
        match head {
            Some(h) if self.slots[h].timestamp == point => self.play(h, now_t, out),
            Some(h) => {
                let slot = self.slots[h];
                let paused = slot.marker || self.last_seq == Some(slot.seq.wrapping_sub(1));
                if paused {
                    // A new talkspurt: the target applies from its first frame.
                    self.playing = false;
                    return self.start_when_due(h, now_t, out);
                }
                // A hole: lost, or still on its way.
                let gap = slot.timestamp.wrapping_sub(point);
                let below = self.below_target(point, now_t);
                self.missing(gap.min(self.frame_ticks), !below)
            }
            None => {
                let below = self.below_target(point, now_t);
                self.missing(self.frame_ticks, !below)
            }
        }
    }

    /// Counters and delays.
    pub fn stats(&self) -> JitterStats {
        JitterStats {
            target_ms: self.ticks_to_ms(self.target_ticks()),
            jitter_ms: self.ticks_to_ms(((self.jitter_q4 + 8) >> 4).clamp(0, 1 << 30) as u32),
            ..self.stats
        }
    }

    /// Empties the buffer and forgets the stream's timing (a new source, a re-INVITE);
    /// the counters carry on.
    pub fn reset(&mut self) {
        self.clear();
        self.epoch = None;
        self.spread_q8 = 0;
        self.jitter_q4 = 0;
    }

    /// Frames buffered now.
    pub fn buffered(&self) -> usize {
        self.slots.iter().filter(|s| s.used).count()
    }

    /// A source restart or timestamp jump: start over, keeping what the network taught.
    fn resync(&mut self) {
        self.clear();
        self.stats.resyncs += 1;
    }

    fn clear(&mut self) {
        for slot in self.slots.iter_mut() {
            slot.used = false;
        }
        self.window_len = 0;
        self.window_pos = 0;
        self.floor = 0;
        self.last_transit = None;
        self.playing = false;
        self.point = None;
        self.last_seq = None;
        self.played_mask = 0;
        self.missing_run = 0;
    }

    /// Takes one packet's relative transit into the floor, the spread estimate and the
    /// RFC 3550 A.8 jitter.
    fn observe(&mut self, rel: i32) {
        if self.window_len < WINDOW {
            self.window[self.window_len] = rel;
            self.window_len += 1;
            self.floor = if self.window_len == 1 {
                rel
            } else {
                self.floor.min(rel)
            };
        } else {
            let evicted = std::mem::replace(&mut self.window[self.window_pos], rel);
            self.window_pos = (self.window_pos + 1) % WINDOW;
            if evicted == self.floor && rel > evicted {
                self.floor = self.window.iter().copied().min().unwrap_or(rel);
            } else {
                self.floor = self.floor.min(rel);
            }
        }
        let spread = (i64::from(rel) - i64::from(self.floor)) << 8;
        if spread > self.spread_q8 {
            self.spread_q8 = spread;
        } else {
            self.spread_q8 -= (self.spread_q8 - spread) >> DECAY_SHIFT;
        }
        if let Some(last) = self.last_transit {
            // J += (|D| - J) / 16, kept ×16 (RFC 3550 A.8).
            let d = (i64::from(rel) - i64::from(last)).abs();
            self.jitter_q4 += d - ((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = Some(rel);
    }

    /// `clamp(peak spread + one frame, min, max)`.
    fn target_ticks(&self) -> u32 {
        let spread = u32::try_from(self.spread_q8 >> 8).unwrap_or(u32::MAX);
        spread.saturating_add(self.frame_ticks).clamp(
            self.ms_to_ticks(self.config.min_delay_ms),
            self.ms_to_ticks(self.config.max_delay_ms),
        )
    }

    /// The buffered frame with the earliest timestamp; frames behind the playout point
    /// (overtaken by an overlapping frame) are dropped on the way.
    fn head(&mut self) -> Option<usize> {
        let mut best: Option<usize> = None;
        for i in 0..self.slots.len() {
            let slot = self.slots[i];
            if !slot.used {
                continue;
            }
            if self
                .point
                .is_some_and(|p| (slot.timestamp.wrapping_sub(p) as i32) < 0)
            {
                self.slots[i].used = false;
                self.stats.dropped += 1;
                continue;
            }
            match best {
                Some(b) if (slot.timestamp.wrapping_sub(self.slots[b].timestamp) as i32) >= 0 => {}
                _ => best = Some(i),
            }
        }
        best
    }

    /// Starts playout at slot `h` once it is `target` past its fastest possible arrival.
    fn start_when_due(&mut self, h: usize, now_t: u32, out: &mut [u8]) -> Popped {
        let due = self.slots[h]
            .timestamp
            .wrapping_add(self.floor_abs())
            .wrapping_add(self.target_ticks());
        if (now_t.wrapping_sub(due) as i32) < 0 {
            return Popped::Waiting;
        }
        self.playing = true;
        self.point = Some(self.slots[h].timestamp);
        self.missing_run = 0;
        self.play(h, now_t, out)
    }

    /// Plays slot `h` (at the playout point), first dropping frames while the delay runs
    /// far over the target and the next frame is here to take their place.
    fn play(&mut self, mut h: usize, now_t: u32, out: &mut [u8]) -> Popped {
        let target = self.target_ticks();
        let margin = (2 * self.frame_ticks).max(self.ms_to_ticks(20));
        // Over the maximum only by the playout clock's own step (it started a talkspurt
        // up to one pop after it was due).
        let limit = target
            .saturating_add(margin)
            .min(self.ms_to_ticks(self.config.max_delay_ms) + self.frame_ticks);
        loop {
            let slot = self.slots[h];
            if self.delay_at(slot.timestamp, now_t) <= i64::from(limit) {
                break;
            }
            let next_ts = slot.timestamp.wrapping_add(slot.ticks);
            let Some(next) = self.find(next_ts) else {
                break;
            };
            self.slots[h].used = false;
            self.mark_played(slot.seq);
            self.stats.dropped += 1;
            h = next;
        }
        let slot = self.slots[h];
        self.slots[h].used = false;
        let len = slot.len.min(out.len());
        debug_assert!(len == slot.len, "pop's buffer is shorter than max_payload");
        let start = h * self.config.max_payload;
        out[..len].copy_from_slice(&self.data[start..start + len]);
        self.stats.delay_ms = self.ticks_to_ms(self.delay_at(slot.timestamp, now_t).max(0) as u32);
        self.point = Some(slot.timestamp.wrapping_add(slot.ticks));
        self.last_seq = Some(slot.seq);
        self.mark_played(slot.seq);
        self.missing_run = 0;
        self.stats.played += 1;
        Popped::Frame {
            len,
            payload_type: slot.payload_type,
            ticks: slot.ticks,
        }
    }

    /// A missing frame of `ticks`; after [`MISSING_RUN_MS`] of them the talkspurt is over.
    /// Below the target delay the playout point holds (`advance` false): the concealed
    /// frame stretches the delay, and the frame awaited still plays if it comes.
    fn missing(&mut self, ticks: u32, advance: bool) -> Popped {
        self.missing_run = self.missing_run.saturating_add(ticks);
        if self.missing_run > self.ms_to_ticks(MISSING_RUN_MS) {
            self.playing = false;
            return Popped::Waiting;
        }
        if advance {
            self.point = self.point.map(|p| p.wrapping_add(ticks));
        }
        self.stats.concealed += 1;
        Popped::Missing { ticks }
    }

    /// Whether holding the playout point one frame brings the delay nearer the target
    /// (so it settles within half a frame of it).
    fn below_target(&self, point: u32, now_t: u32) -> bool {
        self.delay_at(point, now_t) + i64::from(self.frame_ticks / 2)
            < i64::from(self.target_ticks())
    }

    fn find(&self, timestamp: u32) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.used && s.timestamp == timestamp)
    }

    /// How long after its fastest possible arrival the frame at `timestamp` plays at
    /// `now_t`.
    fn delay_at(&self, timestamp: u32, now_t: u32) -> i64 {
        i64::from(now_t.wrapping_sub(timestamp).wrapping_sub(self.floor_abs()) as i32)
    }

    fn floor_abs(&self) -> u32 {
        self.base_transit.wrapping_add(self.floor as u32)
    }

    fn mark_played(&mut self, seq: u16) {
        if self.played_mask == 0 {
            self.played_top = seq;
            self.played_mask = 1;
            return;
        }
        let d = seq.wrapping_sub(self.played_top) as i16;
        if d > 0 {
            self.played_mask = if d >= 64 { 0 } else { self.played_mask << d };
            self.played_mask |= 1;
            self.played_top = seq;
        } else if d > -64 {
            self.played_mask |= 1 << (-d);
        }
    }

    fn was_played(&self, seq: u16) -> bool {
        let d = self.played_top.wrapping_sub(seq) as i16;
        (0..64).contains(&d) && self.played_mask & (1 << d) != 0
    }

    /// RTP ticks from `epoch` to `now` (wrapping, as RTP timestamps do).
    fn ticks_since(&self, epoch: Instant, now: Instant) -> u32 {
        let d = now.saturating_duration_since(epoch);
        let rate = u64::from(self.clock_rate);
        d.as_secs()
            .wrapping_mul(rate)
            .wrapping_add(u64::from(d.subsec_nanos()) * rate / 1_000_000_000) as u32
    }

    /// Delays are at most a minute and a second, so this stays far below 2^31.
    fn ms_to_ticks(&self, ms: u32) -> u32 {
        (u64::from(ms) * u64::from(self.clock_rate) / 1000) as u32
    }

    fn ticks_to_ms(&self, ticks: u32) -> u32 {
        (u64::from(ticks) * 1000 / u64::from(self.clock_rate)) as u32
    }
}

#[cfg(test)]
mod tests;
