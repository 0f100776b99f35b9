//! RFC 4733 telephone-events for DTMF, sans-IO: a detector that turns a received event
//! stream into one digit per event, and a generator that turns a digit into the packet
//! sequence of one event.
//!
//! The payload (RFC 4733 §2.3), one 4-byte block per event:
//!
//! ```text
//!  0                   1                   2                   3
//! |     event     |E|R| volume    |          duration             |
//! ```
//!
//! An event is named by the RTP timestamp of its start (§2.5.1.2): every packet of the
//! event carries it, the duration grows with each update, the last update has the E bit
//! and is sent three times (§2.5.1.4). Senders repeat the first packet too (the marker
//! on each copy). A long event is cut in segments with a new timestamp and no marker
//! (§2.5.1.3). Several consecutive events may share a packet, the timestamp naming the
//! first, each later one starting where the one before ended (§2.5.1.5).
//!
//! Neither side allocates, reads a clock or touches a socket: the media task gives the
//! arrival time and the stream's numbering, and owns the buffers.

use std::time::{Duration, Instant};

use zerocopy::IntoBytes;

use super::rtp::RtpHeader;

/// Size of one event block.
pub const EVENT_LEN: usize = 4;

/// The RTP clock of telephone-event for narrowband audio (RFC 4733 §7.1.1).
pub const EVENT_CLOCK_RATE: u32 = 8000;

/// How long an event may go without an update before it is taken as ended (all its end
/// packets lost). Updates come every 50 ms or faster (RFC 4733 §2.5.1.2 suggests 50 ms).
pub const END_TIMEOUT: Duration = Duration::from_millis(300);

/// Power level of the events we generate: -10 dBm0 (RFC 4733 §2.3.4; DTMF generators are
/// specified from -4 to -13 dBm0 per frequency).
pub const DEFAULT_VOLUME: u8 = 10;

/// Default length of a digit whose duration the signalling did not give (H.245
/// alphanumeric, SIP INFO without `Duration`): 100 ms, the usual dialler tone length.
pub const DEFAULT_DURATION_MS: u32 = 100;

/// Shortest digit we generate: ITU-T Q.24 receivers need 40 ms of tone.
pub const MIN_DURATION_MS: u32 = 40;

/// The DTMF character of an event code (RFC 4733 §3.2: 0-9, `*` = 10, `#` = 11, A-D =
/// 12-15); `None` for other events (flash, tones of other tables).
pub fn digit_of(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

/// The event code of a DTMF character (`a-d` taken as `A-D`).
pub fn event_of(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        'a'..='d' => Some(digit as u8 - b'a' + 12),
        _ => None,
    }
}

/// How one side of a call's media handles RFC 4733 telephone-events (set by the call
/// core from the side's trunk and negotiation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DtmfPolicy {
    /// The telephone-event payload type on this side (what its peer sends and expects);
    /// `None` when the side did not negotiate telephone-event.
    pub telephone_event_pt: Option<u8>,
    /// Take the events arriving on this side out of the media: they are not relayed but
    /// decoded, and each digit is reported to the call core.
    pub extract: bool,
    /// The side carries DTMF as tones in its G.711 audio (a SIP `inband` trunk): tones
    /// arriving on it are detected and reported as digits, and digits played toward it
    /// are tones written into the audio sent there (ITU-T Q.23/Q.24).
    pub inband: bool,
}

/// One event block as read from a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventBlock {
    /// Event code.
    pub event: u8,
    /// E: the last update of the event.
    pub end: bool,
    /// Power level in -dBm0 (0-63).
    pub volume: u8,
    /// Duration so far, in RTP clock ticks from the event's (segment's) timestamp.
    pub duration: u16,
}

impl EventBlock {
    /// Reads a 4-byte block.
    pub fn parse(b: [u8; EVENT_LEN]) -> EventBlock {
        EventBlock {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3f,
            duration: u16::from_be_bytes([b[2], b[3]]),
        }
    }

    /// The 4 bytes of the block (R bit clear, RFC 4733 §2.3.3).
    pub fn to_bytes(self) -> [u8; EVENT_LEN] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3f),
            d[0],
            d[1],
        ]
    }
}

/// Why a telephone-event payload was not read. The packet is dropped and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    /// The payload is not a whole number of 4-byte blocks, or empty.
    #[error("telephone-event payload of {0} bytes is not a whole number of events")]
    BadLength(usize),
}

/// A digit taken from the event stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detected {
    /// `0-9 * # A-D`.
    pub digit: char,
    /// Its length, from the event's final duration.
    pub duration_ms: u32,
    /// Its power level in -dBm0.
    pub volume: u8,
    /// Whether its end was seen (false: taken as ended after [`END_TIMEOUT`] or when
    /// the next event began).
    pub ended: bool,
}

/// The event being received.
#[derive(Debug, Clone, Copy)]
struct Current {
    /// Timestamp of the current segment.
    timestamp: u32,
    event: u8,
    volume: u8,
    /// Ticks of the segments before the current one (long events, §2.5.1.3).
    base: u32,
    /// Total ticks so far.
    duration: u32,
    /// Handed out already (the later copies of its end packet are ignored).
    reported: bool,
    /// When the last packet of it arrived.
    last_at: Instant,
}

/// Capacity of the digit queue between [`DtmfDetector::handle_packet`] and
/// [`DtmfDetector::poll_digit`].
const QUEUE: usize = 8;

/// Digits waiting to be polled, without allocation.
#[derive(Debug, Clone, Copy)]
struct DigitQueue {
    items: [Option<Detected>; QUEUE],
    head: usize,
    len: usize,
}

impl DigitQueue {
    fn new() -> Self {
        DigitQueue {
            items: [None; QUEUE],
            head: 0,
            len: 0,
        }
    }

    /// Adds a digit; false when full (the caller polls after every packet, so a packet
    /// would need more than [`QUEUE`] events for that).
    fn push(&mut self, d: Detected) -> bool {
        if self.len == QUEUE {
            return false;
        }
        self.items[(self.head + self.len) % QUEUE] = Some(d);
        self.len += 1;
        true
    }

    fn pop(&mut self) -> Option<Detected> {
        if self.len == 0 {
            return None;
        }
        let d = self.items[self.head].take();
        self.head = (self.head + 1) % QUEUE;
        self.len -= 1;
        d
    }
}

/// Turns a received RFC 4733 stream into digits: one per event, however many times its
/// start and end packets come, in the order the events began.
///
/// Feed every packet of the telephone-event payload type with
/// [`DtmfDetector::handle_packet`], then take the digits with
/// [`DtmfDetector::poll_digit`]. A digit is handed out when its end arrives, when the
/// next event begins, or at [`DtmfDetector::poll_timeout`] if neither comes.
#[derive(Debug, Clone)]
pub struct DtmfDetector {
    clock_rate: u32,
    current: Option<Current>,
    queue: DigitQueue,
    /// Events the queue had no room for.
    dropped: u64,
}

impl Default for DtmfDetector {
    fn default() -> Self {
        Self::new(EVENT_CLOCK_RATE)
    }
}

impl DtmfDetector {
    /// A detector for events on a `clock_rate` Hz RTP clock (8000 for narrowband).
    pub fn new(clock_rate: u32) -> Self {
        DtmfDetector {
            clock_rate: clock_rate.max(1),
            current: None,
            queue: DigitQueue::new(),
            dropped: 0,
        }
    }

    /// Takes in one packet of the telephone-event payload type: its marker bit, RTP
    /// timestamp and payload, arrived at `now`.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        marker: bool,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<(), DtmfError> {
        if payload.is_empty() || payload.len() % EVENT_LEN != 0 {
            return Err(DtmfError::BadLength(payload.len()));
        }
        // §2.5.1.5: the timestamp names the first event; each later one starts where the
        // one before it ended. Only the first can carry the marker.
        let mut start = timestamp;
        for (i, chunk) in payload.chunks_exact(EVENT_LEN).enumerate().take(QUEUE) {
            let mut b = [0u8; EVENT_LEN];
            b.copy_from_slice(chunk);
            let block = EventBlock::parse(b);
            self.block(now, marker && i == 0, start, block);
            start = start.wrapping_add(u32::from(block.duration));
        }
        Ok(())
    }

    fn block(&mut self, now: Instant, marker: bool, timestamp: u32, b: EventBlock) {
        if digit_of(b.event).is_none() {
            return;
        }
        if let Some(cur) = self.current.as_mut() {
            let age = timestamp.wrapping_sub(cur.timestamp) as i32;
            if age == 0 && cur.event == b.event {
                // Same event: a repeated start, an update, an end or its copies.
                if cur.reported {
                    return;
                }
                cur.duration = cur.duration.max(cur.base + u32::from(b.duration));
                cur.volume = b.volume;
                cur.last_at = now;
                if b.end {
                    self.report(true);
                }
                return;
            }
            if age <= 0 {
                // An event older than the current one (reordered, or a late copy).
                return;
            }
            if !cur.reported && cur.event == b.event && !marker {
                // §2.5.1.3: the next segment of a long event.
                cur.base = cur.duration;
                cur.timestamp = timestamp;
                cur.duration = cur.base + u32::from(b.duration);
                cur.last_at = now;
                if b.end {
                    self.report(true);
                }
                return;
            }
            if !cur.reported {
                // A new event began before the end of this one arrived.
                self.report(false);
            }
        }
        self.current = Some(Current {
            timestamp,
            event: b.event,
            volume: b.volume,
            base: 0,
            duration: u32::from(b.duration),
            reported: false,
            last_at: now,
        });
        if b.end {
            self.report(true);
        }
    }

    /// Hands out the current event.
    fn report(&mut self, ended: bool) {
        let Some(cur) = self.current.as_mut() else {
            return;
        };
        if cur.reported {
            return;
        }
        cur.reported = true;
        let Some(digit) = digit_of(cur.event) else {
            return;
        };
        let ms = u64::from(cur.duration) * 1000 / u64::from(self.clock_rate);
        let d = Detected {
            digit,
            duration_ms: u32::try_from(ms).unwrap_or(u32::MAX),
            volume: cur.volume,
            ended,
        };
        if !self.queue.push(d) {
            self.dropped += 1;
        }
    }

    /// The next digit, in the order the events began.
    pub fn poll_digit(&mut self) -> Option<Detected> {
        self.queue.pop()
    }

    /// When an event whose end never came is taken as ended.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current
            .filter(|c| !c.reported)
            .map(|c| c.last_at + END_TIMEOUT)
    }

    /// Ends an event that had no update for [`END_TIMEOUT`] by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.poll_timeout().is_some_and(|t| t <= now) {
            self.report(false);
        }
    }

    /// Digits lost because the queue was full (never, when polled after every packet).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// One packet of a generated event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    /// Bytes written (RTP header + one event block).
    pub len: usize,
    /// The marker bit: the first packet of the event.
    pub marker: bool,
    /// The E bit: the final duration (sent three times).
    pub end: bool,
}

/// The numbering of the stream an event goes out in: the caller's sequence number for
/// each packet, and the stream's clock when the event starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Numbering {
    /// SSRC of the stream.
    pub ssrc: u32,
    /// Sequence number of this packet.
    pub sequence: u16,
    /// The stream's RTP timestamp now (used for the first packet; the event keeps it).
    pub timestamp: u32,
}

/// Copies of the final packet (RFC 4733 §2.5.1.4: three in all).
const END_COPIES: u8 = 3;

/// The RFC 4733 packets of one digit: the first with the marker, one every packetisation
/// interval with the duration so far, all with the timestamp of the start, then the final
/// duration with the E bit three times. Pace it: one [`DtmfGenerator::write_next`] per
/// [`DtmfGenerator::interval`].
#[derive(Debug, Clone)]
pub struct DtmfGenerator {
    payload_type: u8,
    event: u8,
    volume: u8,
    /// Total duration in ticks (at most 65535: one segment).
    total: u16,
    /// Ticks per packet.
    step: u16,
    /// Packets written so far.
    sent: u32,
    /// End packets written so far.
    ends: u8,
    /// The event's timestamp, fixed by the first packet.
    timestamp: Option<u32>,
    interval: Duration,
}

impl DtmfGenerator {
    /// The packets of `digit` lasting `duration_ms` (0: [`DEFAULT_DURATION_MS`]; at least
    /// [`MIN_DURATION_MS`]; at most one segment, 8.19 s at 8 kHz) with payload type
    /// `payload_type`, an update every `ptime_ms` (at least 10) on a `clock_rate` clock.
    /// `None` for a character that is not a DTMF digit.
    pub fn new(
        digit: char,
        duration_ms: u32,
        payload_type: u8,
        clock_rate: u32,
        ptime_ms: u16,
    ) -> Option<Self> {
        let event = event_of(digit)?;
        let ms = match duration_ms {
            0 => DEFAULT_DURATION_MS,
            d => d.max(MIN_DURATION_MS),
        };
        let ticks = |ms: u64| u64::from(clock_rate.max(1)) * ms / 1000;
        let total = u16::try_from(ticks(u64::from(ms))).unwrap_or(u16::MAX);
        let ptime_ms = ptime_ms.max(10);
        let step = u16::try_from(ticks(u64::from(ptime_ms)))
            .unwrap_or(u16::MAX)
            .max(1);
        Some(DtmfGenerator {
            payload_type: payload_type & 0x7f,
            event,
            volume: DEFAULT_VOLUME,
            total: total.max(1),
            step,
            sent: 0,
            ends: 0,
            timestamp: None,
            interval: Duration::from_millis(u64::from(ptime_ms)),
        })
    }

    /// Time between two packets.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Whether every packet has been written.
    pub fn is_done(&self) -> bool {
        self.ends >= END_COPIES
    }

    /// The event's RTP timestamp, once the first packet is written.
    pub fn timestamp(&self) -> Option<u32> {
        self.timestamp
    }

    /// Ticks the event lasts.
    pub fn duration_ticks(&self) -> u16 {
        self.total
    }

    /// Writes the next packet into `out` with `n`'s SSRC and sequence number (and its
    /// timestamp, for the first packet). `None` when done or when `out` is shorter than
    /// a packet (then nothing is consumed).
    pub fn write_next(&mut self, n: Numbering, out: &mut [u8]) -> Option<EventPacket> {
        const LEN: usize = RtpHeader::LEN + EVENT_LEN;
        if self.is_done() || out.len() < LEN {
            return None;
        }
        let so_far = u32::from(self.step).saturating_mul(self.sent.saturating_add(1));
        let end = so_far >= u32::from(self.total);
        let duration = if end {
            self.total
        } else {
            // Below `total`, a u16.
            so_far as u16
        };
        let marker = self.sent == 0;
        let timestamp = *self.timestamp.get_or_insert(n.timestamp);
        let header = RtpHeader::new(self.payload_type, marker, n.sequence, timestamp, n.ssrc);
        out[..RtpHeader::LEN].copy_from_slice(header.as_bytes());
        let block = EventBlock {
            event: self.event,
            end,
            volume: self.volume,
            duration,
        };
        out[RtpHeader::LEN..LEN].copy_from_slice(&block.to_bytes());
        self.sent += 1;
        if end {
            self.ends += 1;
        }
        Some(EventPacket {
            len: LEN,
            marker,
            end,
        })
    }
}

#[cfg(test)]
mod tests;
