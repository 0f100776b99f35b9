//! RTCP reports, sans-IO: sender and receiver reports (RFC 3550 §6.4) with an SDES CNAME
//! (§6.5.1) written into a caller buffer, a reader for compound packets, NTP timestamps
//! (§4) and the round-trip time (§6.4.1); [`LegQuality`] measures one leg from the reports
//! the relay passes through, [`RtcpReporter`] is the gateway's own reporter for a side it
//! sends media to itself.
//!
//! Nothing here allocates: reports are written into the caller's buffer, read in place,
//! and the few sender reports remembered per leg live in fixed arrays. Bad input is an
//! [`RtpError`] or is skipped, never a panic.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::rtp::{REPORT_BLOCK_LEN, RTP_VERSION, RtcpHeader, RtcpType, RtpError, SENDER_INFO_LEN};

/// Seconds from the NTP prime epoch (1900-01-01) to the Unix epoch (RFC 5905 §6).
pub const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// Report blocks one SR/RR can hold: RC is five bits (RFC 3550 §6.4.1).
pub const MAX_BLOCKS: usize = 31;

/// Longest SDES item text: its length is one octet (RFC 3550 §6.5).
pub const MAX_CNAME: usize = 255;

/// SDES item type CNAME (RFC 3550 §6.5.1); 0 ends a chunk's item list.
const SDES_CNAME: u8 = 1;

/// A 64-bit NTP timestamp: seconds since 1900 in the high 32 bits, the fraction in the
/// low 32 (RFC 3550 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// The NTP timestamp of a wall-clock time (times before 1970 give 1970).
    pub fn from_system(t: SystemTime) -> NtpTime {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = d.as_secs().wrapping_add(NTP_UNIX_OFFSET);
        // nanos < 10^9, so the fraction fits 32 bits.
        let frac = (u64::from(d.subsec_nanos()) << 32) / 1_000_000_000;
        NtpTime((secs << 32) | frac)
    }

    /// The middle 32 bits (16.16 fixed point), as LSR and DLSR use them (RFC 3550 §6.4.1).
    pub fn middle(self) -> u32 {
        (self.0 >> 16) as u32
    }
}

/// A duration in the 16.16 units of LSR/DLSR (1/65536 s), saturating at `u32::MAX`.
pub fn to_short(d: Duration) -> u32 {
    let units = d.as_nanos().saturating_mul(65_536) / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// A 16.16 value (1/65536 s) as a duration.
pub fn from_short(units: u32) -> Duration {
    Duration::from_nanos(u64::from(units) * 1_000_000_000 / 65_536)
}

/// RFC 3550 §6.4.1: RTT = A − LSR − DLSR, every term in 1/65536 s (the middle 32 bits of
/// NTP timestamps). `None` when no SR was received (LSR 0) or the result is negative (a
/// clock step or a bogus report; the subtraction wraps above 2^31 then).
pub fn round_trip(arrival: u32, lsr: u32, dlsr: u32) -> Option<u32> {
    if lsr == 0 {
        return None;
    }
    let rtt = arrival.wrapping_sub(lsr).wrapping_sub(dlsr);
    (rtt < 1 << 31).then_some(rtt)
}

/// The sender information of an SR (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// Wall-clock time of the report.
    pub ntp: NtpTime,
    /// The same instant on the stream's RTP clock.
    pub rtp_timestamp: u32,
    /// Data packets sent since the start (wraps).
    pub packets: u32,
    /// Payload octets sent since the start (wraps).
    pub octets: u32,
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source the block is about.
    pub ssrc: u32,
    /// Fraction lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost, 24-bit signed on the wire (duplicates make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_seq: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received from the source, 0 if none.
    pub lsr: u32,
    /// Delay since that SR, in 1/65536 s.
    pub dlsr: u32,
}

impl ReportBlock {
    fn read(b: &[u8]) -> ReportBlock {
        // Callers pass exactly REPORT_BLOCK_LEN octets.
        let lost = u32::from_be_bytes([0, b[5], b[6], b[7]]);
        // Sign-extend the 24-bit two's complement value.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        ReportBlock {
            ssrc: be32(b, 0),
            fraction_lost: b[4],
            cumulative_lost,
            highest_seq: be32(b, 8),
            jitter: be32(b, 12),
            lsr: be32(b, 16),
            dlsr: be32(b, 20),
        }
    }

    fn write(&self, b: &mut [u8]) {
        put32(b, 0, self.ssrc);
        // Clamped to the 24-bit range (RFC 3550 §6.4.1 keeps the most positive/negative).
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32;
        put32(
            b,
            4,
            (u32::from(self.fraction_lost) << 24) | (lost & 0xff_ffff),
        );
        put32(b, 8, self.highest_seq);
        put32(b, 12, self.jitter);
        put32(b, 16, self.lsr);
        put32(b, 20, self.dlsr);
    }
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

/// What a compound report holds; see [`write_compound`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report<'a> {
    /// The reporter's SSRC.
    pub ssrc: u32,
    /// Present: an SR; absent: an RR (RFC 3550 §6.4: SR only from active senders).
    pub sender: Option<SenderInfo>,
    /// Report blocks; only the first [`MAX_BLOCKS`] are written.
    pub blocks: &'a [ReportBlock],
    /// CNAME text; only the first [`MAX_CNAME`] octets are written.
    pub cname: &'a [u8],
}

impl Report<'_> {
    /// Octets [`write_compound`] needs for this report.
    pub fn len(&self) -> usize {
        let blocks = self.blocks.len().min(MAX_BLOCKS);
        let cname = self.cname.len().min(MAX_CNAME);
        let report = RtcpHeader::LEN
            + 4
            + if self.sender.is_some() {
                SENDER_INFO_LEN
            } else {
                0
            }
            + blocks * REPORT_BLOCK_LEN;
        // SDES: header, SSRC, CNAME item (type, length, text), then at least one null
        // octet ending the item list, up to a 32-bit boundary (RFC 3550 §6.5).
        let sdes = RtcpHeader::LEN + 4 + (2 + cname + 1).next_multiple_of(4);
        report + sdes
    }

    /// Never empty: a report always has its headers.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Writes a compound packet, SR or RR then SDES with the CNAME (RFC 3550 §6.1: the first
/// packet is a report, and the CNAME is in every compound packet), into `buf`. Returns the
/// length, or `None` when `buf` is shorter than [`Report::len`] (nothing useful written).
pub fn write_compound(buf: &mut [u8], report: &Report<'_>) -> Option<usize> {
    let total = report.len();
    let buf = buf.get_mut(..total)?;
    let blocks = &report.blocks[..report.blocks.len().min(MAX_BLOCKS)];
    let cname = &report.cname[..report.cname.len().min(MAX_CNAME)];
    let (kind, info_len) = match report.sender {
        Some(_) => (RtcpType::SR, SENDER_INFO_LEN),
        None => (RtcpType::RR, 0),
    };
    let first_len = RtcpHeader::LEN + 4 + info_len + blocks.len() * REPORT_BLOCK_LEN;
    // Every length here is a multiple of 4 and below 2^18, so the word count fits 16 bits.
    let words = |len: usize| ((len / 4 - 1) as u16).to_be_bytes();
    buf[0] = (RTP_VERSION << 6) | blocks.len() as u8;
    buf[1] = kind.0;
    buf[2..4].copy_from_slice(&words(first_len));
    put32(buf, 4, report.ssrc);
    let mut at = 8;
    if let Some(info) = report.sender {
        put32(buf, at, (info.ntp.0 >> 32) as u32);
        put32(buf, at + 4, info.ntp.0 as u32);
        put32(buf, at + 8, info.rtp_timestamp);
        put32(buf, at + 12, info.packets);
        put32(buf, at + 16, info.octets);
        at += SENDER_INFO_LEN;
    }
    for block in blocks {
        block.write(&mut buf[at..at + REPORT_BLOCK_LEN]);
        at += REPORT_BLOCK_LEN;
    }
    let sdes = &mut buf[at..];
    let sdes_len = sdes.len();
    sdes[0] = (RTP_VERSION << 6) | 1; // one chunk
    sdes[1] = RtcpType::SDES.0;
    sdes[2..4].copy_from_slice(&words(sdes_len));
    put32(sdes, 4, report.ssrc);
    sdes[8] = SDES_CNAME;
    sdes[9] = cname.len() as u8; // at most MAX_CNAME
    sdes[10..10 + cname.len()].copy_from_slice(cname);
    // The end-of-list null and the padding to the boundary.
    sdes[10 + cname.len()..].fill(0);
    Some(total)
}

/// The report blocks of one SR or RR, read on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlocks<'a>(&'a [u8]);

impl Iterator for ReportBlocks<'_> {
    type Item = ReportBlock;

    fn next(&mut self) -> Option<ReportBlock> {
        let (block, rest) = self.0.split_at_checked(REPORT_BLOCK_LEN)?;
        self.0 = rest;
        Some(ReportBlock::read(block))
    }
}

/// One packet of a compound RTCP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtcpPacket<'a> {
    /// A sender report.
    Sr {
        ssrc: u32,
        info: SenderInfo,
        blocks: ReportBlocks<'a>,
    },
    /// A receiver report.
    Rr { ssrc: u32, blocks: ReportBlocks<'a> },
    /// Source descriptions: the chunks, padding removed ([`first_cname`] reads them).
    Sdes { count: u8, chunks: &'a [u8] },
    /// BYE, APP, XR or a type we do not know: passed over.
    Other {
        packet_type: RtcpType,
        count: u8,
        body: &'a [u8],
    },
}

/// The packets of a compound RTCP packet in order. Each item is one packet, or the error
/// that stopped the walk (the iterator ends after it). Report blocks beyond the packet's
/// length are left out rather than refused.
#[derive(Debug, Clone)]
pub struct Compound<'a> {
    rest: &'a [u8],
}

impl<'a> Compound<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Compound { rest: buf }
    }

    fn step(&mut self) -> Result<RtcpPacket<'a>, RtpError> {
        let buf = self.rest;
        let header = buf
            .get(..RtcpHeader::LEN)
            .ok_or(RtpError::TooShort(buf.len()))?;
        let version = header[0] >> 6;
        if version != RTP_VERSION {
            return Err(RtpError::BadVersion(version));
        }
        let count = header[0] & 0x1f;
        let padded = header[0] & 0x20 != 0;
        let packet_type = RtcpType(header[1]);
        let len = (usize::from(u16::from_be_bytes([header[2], header[3]])) + 1) * 4;
        let (packet, rest) = buf.split_at_checked(len).ok_or(RtpError::RtcpTruncated)?;
        self.rest = rest;
        let mut body = &packet[RtcpHeader::LEN..];
        if padded {
            // The last octet counts the padding, itself included (RFC 3550 §6.4.1).
            let pad = body.last().copied().unwrap_or(0);
            if pad == 0 || usize::from(pad) > body.len() {
                return Err(RtpError::BadPadding(pad));
            }
            body = &body[..body.len() - usize::from(pad)];
        }
        let blocks = |b: &'a [u8]| {
            let n = (usize::from(count) * REPORT_BLOCK_LEN)
                .min(b.len() / REPORT_BLOCK_LEN * REPORT_BLOCK_LEN);
            ReportBlocks(&b[..n])
        };
        Ok(match packet_type {
            RtcpType::SR => {
                let b = body
                    .get(..4 + SENDER_INFO_LEN)
                    .ok_or(RtpError::RtcpTruncated)?;
                RtcpPacket::Sr {
                    ssrc: be32(b, 0),
                    info: SenderInfo {
                        ntp: NtpTime((u64::from(be32(b, 4)) << 32) | u64::from(be32(b, 8))),
                        rtp_timestamp: be32(b, 12),
                        packets: be32(b, 16),
                        octets: be32(b, 20),
                    },
                    blocks: blocks(&body[4 + SENDER_INFO_LEN..]),
                }
            }
            RtcpType::RR => {
                let b = body.get(..4).ok_or(RtpError::RtcpTruncated)?;
                RtcpPacket::Rr {
                    ssrc: be32(b, 0),
                    blocks: blocks(&body[4..]),
                }
            }
            RtcpType::SDES => RtcpPacket::Sdes {
                count,
                chunks: body,
            },
            _ => RtcpPacket::Other {
                packet_type,
                count,
                body,
            },
        })
    }
}

impl<'a> Iterator for Compound<'a> {
    type Item = Result<RtcpPacket<'a>, RtpError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let item = self.step();
        if item.is_err() {
            self.rest = &[];
        }
        Some(item)
    }
}

/// The SSRC and CNAME of the first chunk of an SDES packet's `chunks`, if it has one.
pub fn first_cname(chunks: &[u8]) -> Option<(u32, &[u8])> {
    let ssrc = u32::from_be_bytes(chunks.get(..4)?.try_into().ok()?);
    let mut items = &chunks[4..];
    loop {
        let (&kind, rest) = items.split_first()?;
        if kind == 0 {
            return None;
        }
        let (&len, rest) = rest.split_first()?;
        let (text, rest) = rest.split_at_checked(usize::from(len))?;
        if kind == SDES_CNAME {
            return Some((ssrc, text));
        }
        items = rest;
    }
}

/// Sender reports remembered per leg: enough for the few in flight between two reports
/// (one every 5 s) whatever the round trip.
const SR_MEMORY: usize = 8;

/// Round-trip figures of one leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RttFigures {
    /// The newest measurement.
    pub last: Duration,
    /// The mean of every measurement.
    pub avg: Duration,
    /// The largest.
    pub max: Duration,
    /// How many measurements.
    pub samples: u32,
}

/// What the far peer of a leg says about the stream we send it (its newest report block).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RemoteFigures {
    /// Fraction lost in its newest report, in percent.
    pub fraction_lost_pct: f64,
    /// The largest fraction lost it reported, in percent.
    pub max_fraction_lost_pct: f64,
    /// Cumulative packets lost.
    pub cumulative_lost: i64,
    /// That loss in percent of the packets we had sent the peer when the report came
    /// (0-100; a few packets in flight make it a slight underestimate).
    pub loss_pct: f64,
    /// Interarrival jitter, in milliseconds.
    pub jitter_ms: f64,
    /// Report blocks about our stream received.
    pub reports: u32,
}

/// The quality of one leg as RTCP shows it: round-trip time and the far peer's reports.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LegFigures {
    pub rtt: Option<RttFigures>,
    pub remote: Option<RemoteFigures>,
}

/// Measures one leg (the gateway and the peer on one side) from RTCP passing through:
/// the relay notes each SR it sends toward the peer ([`LegQuality::sr_sent`]) and hands
/// over each report block the peer sends about the stream we emit toward it
/// ([`LegQuality::block_received`]); a block whose LSR is a remembered SR gives the
/// round trip, arrival − sent − DLSR (RFC 3550 §6.4.1, with our monotonic clock in place
/// of the NTP arrival time).
#[derive(Debug, Clone, Copy)]
pub struct LegQuality {
    /// (middle 32 bits of the SR's NTP timestamp as sent, when it was sent), a ring.
    srs: [Option<(u32, Instant)>; SR_MEMORY],
    next: usize,
    rtt_last: Duration,
    rtt_sum: Duration,
    rtt_max: Duration,
    rtt_samples: u32,
    remote: Option<ReportBlock>,
    /// RTP packets we had sent the peer when `remote` arrived.
    sent_then: u32,
    max_fraction_lost: u8,
    reports: u32,
}

impl Default for LegQuality {
    fn default() -> Self {
        LegQuality {
            srs: [None; SR_MEMORY],
            next: 0,
            rtt_last: Duration::ZERO,
            rtt_sum: Duration::ZERO,
            rtt_max: Duration::ZERO,
            rtt_samples: 0,
            remote: None,
            sent_then: 0,
            max_fraction_lost: 0,
            reports: 0,
        }
    }
}

impl LegQuality {
    pub fn new() -> Self {
        Self::default()
    }

    /// An SR whose NTP timestamp has these middle 32 bits left toward the peer at `at`.
    pub fn sr_sent(&mut self, at: Instant, ntp_middle: u32) {
        self.srs[self.next] = Some((ntp_middle, at));
        self.next = (self.next + 1) % SR_MEMORY;
    }

    /// A report block from the peer about the stream we emit toward it, arrived at `at`
    /// when we had sent it `sent` RTP packets. Returns the round trip when its LSR names
    /// a remembered SR.
    pub fn block_received(
        &mut self,
        at: Instant,
        block: &ReportBlock,
        sent: u32,
    ) -> Option<Duration> {
        self.remote = Some(*block);
        self.sent_then = sent;
        self.max_fraction_lost = self.max_fraction_lost.max(block.fraction_lost);
        self.reports = self.reports.saturating_add(1);
        if block.lsr == 0 {
            return None;
        }
        let (_, sent) = self
            .srs
            .iter()
            .flatten()
            .find(|(mid, _)| *mid == block.lsr)?;
        // DLSR longer than the time since we sent: clock granularity on a very short
        // path, or a bad report; the path took no measurable time then.
        let rtt = at
            .saturating_duration_since(*sent)
            .saturating_sub(from_short(block.dlsr));
        self.note_rtt(rtt);
        Some(rtt)
    }

    fn note_rtt(&mut self, rtt: Duration) {
        self.rtt_last = rtt;
        self.rtt_sum = self.rtt_sum.saturating_add(rtt);
        self.rtt_max = self.rtt_max.max(rtt);
        self.rtt_samples = self.rtt_samples.saturating_add(1);
    }

    /// The figures so far; `clock_rate` is the RTP clock of the stream we send the peer
    /// (its jitter is in those units).
    pub fn figures(&self, clock_rate: u32) -> LegFigures {
        let rtt = (self.rtt_samples > 0).then(|| RttFigures {
            last: self.rtt_last,
            avg: self.rtt_sum / self.rtt_samples,
            max: self.rtt_max,
            samples: self.rtt_samples,
        });
        let pct = |f: u8| f64::from(f) * 100.0 / 256.0;
        let remote = self.remote.map(|b| RemoteFigures {
            fraction_lost_pct: pct(b.fraction_lost),
            max_fraction_lost_pct: pct(self.max_fraction_lost),
            cumulative_lost: i64::from(b.cumulative_lost),
            loss_pct: (f64::from(b.cumulative_lost.max(0)) * 100.0
                / f64::from(self.sent_then.max(1)))
            .min(100.0),
            jitter_ms: f64::from(b.jitter) * 1000.0 / f64::from(clock_rate.max(1)),
            reports: self.reports,
        });
        LegFigures { rtt, remote }
    }
}

/// What the gateway sent toward the side, for an SR's sender info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sending {
    /// RTP packets sent (wraps).
    pub packets: u32,
    /// Payload octets sent (wraps).
    pub octets: u32,
    /// The stream's RTP timestamp at the report's instant.
    pub rtp_timestamp: u32,
}

/// What arrived from the side, for a report block (RFC 3550 A.3, A.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reception {
    /// The source received.
    pub ssrc: u32,
    /// Extended highest sequence number received.
    pub extended_max: u32,
    /// Packets expected (extended max − base + 1).
    pub expected: u64,
    /// Packets received.
    pub received: u64,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
}

/// RFC 3550 §6.2's minimum report interval, and half of it before the first report (§6.2).
const MIN_INTERVAL: Duration = Duration::from_secs(5);

/// §6.3.1: the randomised interval is divided by e − 3/2 to make up for the timer
/// reconsideration's bias toward early reports.
const COMPENSATION: f64 = std::f64::consts::E - 1.5;

/// The gateway's own RTCP toward one side, when it is the RTP source there (a transcoded
/// or generated stream): SR (RR while it sent nothing) with one report block about the
/// side's source and an SDES CNAME, every 5 s randomised by ×[0.5, 1.5] / (e − 3/2)
/// (RFC 3550 §6.2, §6.3.1; the first after half of that); the side's reports about our
/// stream give its round trip and loss as in [`LegQuality`].
#[derive(Debug, Clone)]
pub struct RtcpReporter {
    ssrc: u32,
    /// RFC 7022 §4.2: a random per-session CNAME, 16 hex digits (no address or name in it).
    cname: [u8; 16],
    rng: u32,
    next_at: Option<Instant>,
    quality: LegQuality,
    /// Middle 32 bits of the newest SR from the side, and when it arrived (our LSR/DLSR).
    last_sr: Option<(u32, Instant)>,
    /// A.3: expected and received at the previous report, for the fraction lost.
    prior: Option<(u32, u64, u64)>,
}

impl RtcpReporter {
    /// A reporter for the stream with SSRC `ssrc`; `seed` makes its CNAME and intervals.
    pub fn new(ssrc: u32, seed: u32) -> Self {
        let mut rng = (seed ^ ssrc.rotate_left(13)) | 1;
        let mut cname = [0u8; 16];
        for pair in cname.chunks_mut(8) {
            let x = xorshift(&mut rng);
            for (i, c) in pair.iter_mut().enumerate() {
                *c = b"0123456789abcdef"[((x >> (i * 4)) & 0xf) as usize];
            }
        }
        RtcpReporter {
            ssrc,
            cname,
            rng,
            next_at: None,
            quality: LegQuality::new(),
            last_sr: None,
            prior: None,
        }
    }

    /// The CNAME it sends.
    pub fn cname(&self) -> &[u8] {
        &self.cname
    }

    /// Schedules the first report (half the minimum interval, randomised) if none is.
    pub fn start(&mut self, now: Instant) {
        if self.next_at.is_none() {
            self.next_at = Some(now + self.interval(MIN_INTERVAL / 2));
        }
    }

    /// When the next report is due; `None` before [`RtcpReporter::start`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.next_at
    }

    fn interval(&mut self, base: Duration) -> Duration {
        // Uniform in [0.5, 1.5) from 24 random bits.
        let u = f64::from(xorshift(&mut self.rng) >> 8) / f64::from(1u32 << 24);
        base.mul_f64((0.5 + u) / COMPENSATION)
    }

    /// Takes in a compound packet that arrived from the side at `now`, when we had sent
    /// it `sent` RTP packets: an SR is kept for our next report's LSR/DLSR, blocks about
    /// our stream feed the leg's figures.
    pub fn handle_rtcp(&mut self, now: Instant, packet: &[u8], sent: u32) {
        for item in Compound::new(packet) {
            let Ok(p) = item else { return };
            let blocks = match p {
                RtcpPacket::Sr { info, blocks, .. } => {
                    self.last_sr = Some((info.ntp.middle(), now));
                    blocks
                }
                RtcpPacket::Rr { blocks, .. } => blocks,
                _ => continue,
            };
            for block in blocks.filter(|b| b.ssrc == self.ssrc) {
                self.quality.block_received(now, &block, sent);
            }
        }
    }

    /// Writes the report due at `now` (`wall` is the same instant on the wall clock) into
    /// `buf` and schedules the next one. `sending` is what we sent toward the side (an SR
    /// when it has packets), `reception` what came from it (the report block). Returns
    /// the length; `None` when nothing is due or `buf` is too small.
    pub fn poll_report(
        &mut self,
        now: Instant,
        wall: SystemTime,
        sending: Option<Sending>,
        reception: Option<Reception>,
        buf: &mut [u8],
    ) -> Option<usize> {
        if self.next_at.is_none_or(|t| t > now) {
            return None;
        }
        self.next_at = Some(now + self.interval(MIN_INTERVAL));
        let ntp = NtpTime::from_system(wall);
        let sender = sending.filter(|s| s.packets > 0).map(|s| SenderInfo {
            ntp,
            rtp_timestamp: s.rtp_timestamp,
            packets: s.packets,
            octets: s.octets,
        });
        let block = reception.map(|r| self.block(now, r));
        let blocks = block.as_slice();
        let len = write_compound(
            buf,
            &Report {
                ssrc: self.ssrc,
                sender,
                blocks,
                cname: &self.cname,
            },
        )?;
        if sender.is_some() {
            self.quality.sr_sent(now, ntp.middle());
        }
        Some(len)
    }

    /// The report block about the side's source (RFC 3550 A.3 for the fraction lost).
    fn block(&mut self, now: Instant, r: Reception) -> ReportBlock {
        let (exp_prior, rec_prior) = match self.prior {
            Some((ssrc, e, rc)) if ssrc == r.ssrc => (e, rc),
            _ => (0, 0),
        };
        self.prior = Some((r.ssrc, r.expected, r.received));
        let expected = r.expected.saturating_sub(exp_prior);
        let received = r.received.saturating_sub(rec_prior);
        let fraction_lost = if expected == 0 || received >= expected {
            0
        } else {
            ((expected - received) * 256 / expected).min(255) as u8
        };
        let lost = i64::try_from(r.expected).unwrap_or(i64::MAX)
            - i64::try_from(r.received).unwrap_or(i64::MAX);
        let (lsr, dlsr) = self.last_sr.map_or((0, 0), |(mid, at)| {
            (mid, to_short(now.saturating_duration_since(at)))
        });
        ReportBlock {
            ssrc: r.ssrc,
            fraction_lost,
            cumulative_lost: lost.clamp(-0x80_0000, 0x7f_ffff) as i32,
            highest_seq: r.extended_max,
            jitter: r.jitter,
            lsr,
            dlsr,
        }
    }

    /// The leg's figures so far (see [`LegQuality::figures`]).
    pub fn figures(&self, clock_rate: u32) -> LegFigures {
        self.quality.figures(clock_rate)
    }
}

fn xorshift(x: &mut u32) -> u32 {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    *x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::rtp::validate_rtcp;
    use proptest::prelude::*;

    fn block(ssrc: u32, lsr: u32, dlsr: u32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 12,
            cumulative_lost: -3,
            highest_seq: 0x0001_0010,
            jitter: 40,
            lsr,
            dlsr,
        }
    }

    #[test]
    fn ntp_of_the_unix_epoch_and_middle_bits() {
        let t = UNIX_EPOCH + Duration::from_millis(1500);
        let ntp = NtpTime::from_system(t);
        assert_eq!(ntp.0 >> 32, NTP_UNIX_OFFSET + 1);
        assert_eq!(ntp.0 as u32, 1 << 31, "half a second");
        assert_eq!(
            ntp.middle(),
            (((NTP_UNIX_OFFSET + 1) as u32) << 16) | 0x8000
        );
        assert_eq!(to_short(Duration::from_millis(500)), 0x8000);
        assert_eq!(from_short(0x0001_8000), Duration::from_millis(1500));
    }

    #[test]
    fn round_trip_as_in_rfc_3550_figure_2() {
        // RFC 3550 §6.4.1's example: A 0xb710:8000 (46864.500 s), LSR 0xb705:2000
        // (46853.125 s), DLSR 0x0005:4000 (5.250 s): RTT 6.125 s.
        let rtt = round_trip(0xb710_8000, 0xb705_2000, 0x0005_4000).unwrap();
        assert_eq!(rtt, 0x0006_2000);
        assert_eq!(from_short(rtt), Duration::from_millis(6125));
        assert_eq!(round_trip(5, 0, 0), None, "no SR received");
        assert_eq!(round_trip(10, 8, 5), None, "negative");
    }

    #[test]
    fn sr_and_sdes_written_and_read_back() {
        let info = SenderInfo {
            ntp: NtpTime(0x1234_5678_9abc_def0),
            rtp_timestamp: 160,
            packets: 3,
            octets: 480,
        };
        let blocks = [block(7, 0x5678_9abc, 0x10000)];
        let report = Report {
            ssrc: 0xdead_beef,
            sender: Some(info),
            blocks: &blocks,
            cname: b"gw",
        };
        let mut buf = [0u8; 256];
        let len = write_compound(&mut buf, &report).unwrap();
        assert_eq!(len, report.len());
        assert_eq!(len, 8 + 20 + 24 + 16);
        assert_eq!(validate_rtcp(&buf[..len]), Ok(2));
        let packets: Vec<_> = Compound::new(&buf[..len]).map(Result::unwrap).collect();
        let RtcpPacket::Sr {
            ssrc,
            info: got,
            blocks: b,
        } = packets[0]
        else {
            panic!("{packets:?}")
        };
        assert_eq!((ssrc, got), (0xdead_beef, info));
        assert_eq!(b.collect::<Vec<_>>(), blocks);
        let RtcpPacket::Sdes { count: 1, chunks } = packets[1] else {
            panic!("{packets:?}")
        };
        assert_eq!(first_cname(chunks), Some((0xdead_beef, &b"gw"[..])));
        assert_eq!(write_compound(&mut buf[..len - 1], &report), None);
    }

    #[test]
    fn cname_of_a_multiple_of_four_still_gets_its_null() {
        let report = Report {
            ssrc: 1,
            sender: None,
            blocks: &[],
            cname: b"ab",
        };
        // 2 + 2 + 1 = 5 -> 8 octets of items.
        assert_eq!(report.len(), 8 + 16);
        let mut buf = [0xffu8; 64];
        let len = write_compound(&mut buf, &report).unwrap();
        assert_eq!(
            &buf[8..len],
            &[0x81, 202, 0, 3, 0, 0, 0, 1, 1, 2, b'a', b'b', 0, 0, 0, 0]
        );
    }

    #[test]
    fn reader_passes_over_other_types_and_trims_blocks() {
        // BYE, APP, XR (with padding), then an RR claiming 2 blocks with room for 1.
        let mut c = vec![0x81, 203, 0, 1, 0, 0, 0, 9];
        c.extend_from_slice(&[0x80, 204, 0, 2, 0, 0, 0, 9, b'n', b'a', b'm', b'e']);
        c.extend_from_slice(&[0xa0, 207, 0, 2, 0, 0, 0, 9, 1, 2, 0, 2]);
        c.extend_from_slice(&[0x82, 201, 0, 7, 0, 0, 0, 5]);
        c.extend_from_slice(&[0; 24]);
        let items: Vec<_> = Compound::new(&c).collect();
        assert_eq!(items.len(), 4);
        assert!(matches!(
            items[2],
            Ok(RtcpPacket::Other {
                packet_type: RtcpType::XR,
                body,
                ..
            }) if body == [0, 0, 0, 9, 1, 2]
        ));
        let Ok(RtcpPacket::Rr { ssrc: 5, blocks }) = items[3] else {
            panic!("{items:?}")
        };
        assert_eq!(blocks.count(), 1);
        // Truncated: an error, then nothing.
        let mut it = Compound::new(&c[..c.len() - 4]);
        assert_eq!(it.by_ref().filter(Result::is_err).count(), 1);
        assert_eq!(it.next(), None);
    }

    #[test]
    fn negative_cumulative_loss_survives() {
        let b = block(1, 2, 3);
        let mut raw = [0u8; 24];
        b.write(&mut raw);
        assert_eq!(&raw[4..8], &[12, 0xff, 0xff, 0xfd]);
        assert_eq!(ReportBlock::read(&raw), b);
    }

    #[test]
    fn leg_round_trip_from_a_relayed_sr() {
        let t0 = Instant::now();
        let mut q = LegQuality::new();
        q.sr_sent(t0, 0x1111_0000);
        q.sr_sent(t0 + Duration::from_secs(5), 0x1116_0000);
        // The peer held the second SR 250 ms (DLSR 0x4000) and its RR came back 330 ms
        // after we sent the SR: 80 ms round trip.
        let at = t0 + Duration::from_millis(5330);
        let rtt = q
            .block_received(at, &block(9, 0x1116_0000, 0x4000), 100)
            .unwrap();
        assert_eq!(rtt, Duration::from_millis(80));
        assert_eq!(
            q.block_received(at, &block(9, 0x2222_0000, 0), 100),
            None,
            "unknown LSR"
        );
        let f = q.figures(8000);
        let rtt = f.rtt.unwrap();
        assert_eq!((rtt.last, rtt.samples), (Duration::from_millis(80), 1));
        let remote = f.remote.unwrap();
        assert_eq!(remote.reports, 2);
        assert_eq!(remote.cumulative_lost, -3);
        assert_eq!(remote.loss_pct, 0.0, "duplicates are no loss");
        assert!((remote.jitter_ms - 5.0).abs() < 1e-9);
        assert!((remote.fraction_lost_pct - 12.0 * 100.0 / 256.0).abs() < 1e-9);
    }

    #[test]
    fn sr_memory_forgets_the_oldest() {
        let t0 = Instant::now();
        let mut q = LegQuality::new();
        for i in 0..=SR_MEMORY as u32 {
            q.sr_sent(t0, i + 1);
        }
        assert_eq!(q.block_received(t0, &block(1, 1, 0), 0), None);
        assert!(q.block_received(t0, &block(1, 2, 0), 0).is_some());
    }

    #[test]
    fn reporter_schedule_and_round_trip() {
        let t0 = Instant::now();
        let wall = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let mut r = RtcpReporter::new(0xabcd, 42);
        assert_eq!(r.poll_timeout(), None);
        r.start(t0);
        let first = r.poll_timeout().unwrap() - t0;
        // 2.5 s × [0.5, 1.5) / (e − 1.5).
        assert!(
            first >= Duration::from_millis(1025) && first < Duration::from_millis(3079),
            "{first:?}"
        );
        let mut buf = [0u8; 256];
        assert_eq!(
            r.poll_report(t0, wall, None, None, &mut buf),
            None,
            "not due"
        );
        let due = t0 + first;
        let sending = Sending {
            packets: 50,
            octets: 8000,
            rtp_timestamp: 8000,
        };
        let reception = Reception {
            ssrc: 0x77,
            extended_max: 149,
            expected: 100,
            received: 90,
            jitter: 24,
        };
        let len = r
            .poll_report(due, wall, Some(sending), Some(reception), &mut buf)
            .unwrap();
        let items: Vec<_> = Compound::new(&buf[..len]).map(Result::unwrap).collect();
        let RtcpPacket::Sr {
            ssrc,
            info,
            mut blocks,
        } = items[0]
        else {
            panic!("{items:?}")
        };
        assert_eq!((ssrc, info.packets, info.octets), (0xabcd, 50, 8000));
        let b = blocks.next().unwrap();
        assert_eq!(
            (b.ssrc, b.cumulative_lost, b.fraction_lost, b.lsr),
            (0x77, 10, 25, 0)
        );
        assert!(
            matches!(items[1], RtcpPacket::Sdes { chunks, .. } if first_cname(chunks) == Some((0xabcd, r.cname())))
        );
        let next = r.poll_timeout().unwrap() - due;
        assert!(
            next >= Duration::from_millis(2052) && next < Duration::from_millis(6157),
            "{next:?}"
        );

        // The peer's RR about us, 90 ms later, having held our SR 10 ms.
        let mut rr = [0u8; 64];
        let peer_block = ReportBlock {
            ssrc: 0xabcd,
            lsr: info.ntp.middle(),
            dlsr: to_short(Duration::from_millis(10)),
            ..ReportBlock::default()
        };
        let n = write_compound(
            &mut rr,
            &Report {
                ssrc: 0x77,
                sender: None,
                blocks: &[peer_block],
                cname: b"peer",
            },
        )
        .unwrap();
        r.handle_rtcp(due + Duration::from_millis(90), &rr[..n], 50);
        let rtt = r.figures(8000).rtt.unwrap();
        assert!(
            rtt.last.abs_diff(Duration::from_millis(80)) < Duration::from_micros(20),
            "{rtt:?}"
        );

        // With nothing sent: an RR.
        let later = r.poll_timeout().unwrap();
        let len = r.poll_report(later, wall, None, None, &mut buf).unwrap();
        assert_eq!(buf[1], 201);
        assert_eq!(buf[0] & 0x1f, 0);
        assert_eq!(validate_rtcp(&buf[..len]), Ok(2));
    }

    #[test]
    fn reporter_lsr_names_the_peers_sr() {
        let t0 = Instant::now();
        let mut r = RtcpReporter::new(1, 1);
        let mut sr = [0u8; 64];
        let n = write_compound(
            &mut sr,
            &Report {
                ssrc: 9,
                sender: Some(SenderInfo {
                    ntp: NtpTime(0x0000_1234_5678_0000),
                    ..SenderInfo::default()
                }),
                blocks: &[],
                cname: b"x",
            },
        )
        .unwrap();
        r.handle_rtcp(t0, &sr[..n], 0);
        r.start(t0);
        let due = r.poll_timeout().unwrap();
        let mut buf = [0u8; 128];
        let reception = Reception {
            ssrc: 9,
            ..Reception::default()
        };
        let len = r
            .poll_report(due, SystemTime::now(), None, Some(reception), &mut buf)
            .unwrap();
        let Some(Ok(RtcpPacket::Rr { mut blocks, .. })) = Compound::new(&buf[..len]).next() else {
            panic!()
        };
        let b = blocks.next().unwrap();
        assert_eq!(b.lsr, 0x1234_5678);
        assert_eq!(from_short(b.dlsr).as_millis(), (due - t0).as_millis());
    }

    fn arb_block() -> impl Strategy<Value = ReportBlock> {
        (
            any::<u32>(),
            any::<u8>(),
            -0x80_0000i32..=0x7f_ffff,
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
        )
            .prop_map(
                |(ssrc, fraction_lost, cumulative_lost, highest_seq, jitter, lsr, dlsr)| {
                    ReportBlock {
                        ssrc,
                        fraction_lost,
                        cumulative_lost,
                        highest_seq,
                        jitter,
                        lsr,
                        dlsr,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn build_then_parse_round_trips(
            ssrc in any::<u32>(),
            sender in proptest::option::of((any::<u64>(), any::<u32>(), any::<u32>(), any::<u32>())),
            blocks in proptest::collection::vec(arb_block(), 0..=MAX_BLOCKS),
            cname in proptest::collection::vec(1u8..=255, 0..=MAX_CNAME),
        ) {
            let sender = sender.map(|(ntp, rtp_timestamp, packets, octets)| SenderInfo {
                ntp: NtpTime(ntp), rtp_timestamp, packets, octets,
            });
            let report = Report { ssrc, sender, blocks: &blocks, cname: &cname };
            let mut buf = [0u8; 2048];
            let len = write_compound(&mut buf, &report).expect("room");
            prop_assert_eq!(len, report.len());
            prop_assert_eq!(len % 4, 0);
            prop_assert_eq!(validate_rtcp(&buf[..len]), Ok(2));
            let items: Vec<_> = Compound::new(&buf[..len]).collect();
            prop_assert_eq!(items.len(), 2);
            let got_blocks: Vec<ReportBlock> = match (items[0], sender) {
                (Ok(RtcpPacket::Sr { ssrc: s, info, blocks: b }), Some(want)) => {
                    prop_assert_eq!((s, info), (ssrc, want));
                    b.collect()
                }
                (Ok(RtcpPacket::Rr { ssrc: s, blocks: b }), None) => {
                    prop_assert_eq!(s, ssrc);
                    b.collect()
                }
                (other, _) => return Err(TestCaseError::fail(format!("{other:?}"))),
            };
            prop_assert_eq!(got_blocks, blocks);
            let Ok(RtcpPacket::Sdes { chunks, .. }) = items[1] else {
                return Err(TestCaseError::fail(format!("{:?}", items[1])));
            };
            prop_assert_eq!(first_cname(chunks), Some((ssrc, &cname[..])));
        }

        #[test]
        fn reader_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            for item in Compound::new(&data) {
                if let Ok(RtcpPacket::Sr { blocks, .. } | RtcpPacket::Rr { blocks, .. }) = item {
                    let _ = blocks.count();
                }
                if let Ok(RtcpPacket::Sdes { chunks, .. }) = item {
                    let _ = first_cname(chunks);
                }
            }
        }
    }
}
