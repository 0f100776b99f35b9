//! One relayed RTP stream between two legs, sans-IO (DESIGN.md practice 1).
//!
//! The shell reads a datagram from a leg's socket and calls [`Relay::handle_packet`] with
//! the arrival time, the source address and the side it came in on. The relay validates
//! it, latches the peer address, rewrites the packet in place (payload type, SSRC,
//! sequence number, timestamp) and says where to send it and how many bytes. Nothing on
//! this path allocates.
//!
//! Words: a *side* is one leg's end of the relay (`A` or `B`); a *direction* is named by
//! the side its packets arrive on (packets arriving on A leave toward B).
//!
//! RTCP (told apart by RFC 5761 §4) goes through the same call: SR/RR sender SSRCs are
//! rewritten to the SSRC we emit, the SR RTP timestamp is shifted like the stream's, and
//! report-block SSRCs that name our emitted SSRC are turned back into the source's SSRC.
//! Other RTCP packets (SDES, BYE, APP) and the report-block sequence/jitter fields pass
//! through unchanged.
//!
//! Passing RTCP through, the relay also measures each leg without sending reports of its
//! own ([`LegQuality`]): it remembers the SRs it forwards toward a side, and a report block
//! from that side about the stream we emit there whose LSR names one of them gives the
//! leg's round trip (RFC 3550 §6.4.1); the block's loss and jitter are the far peer's view
//! of what we send it. A side with [`SideConfig::own_rtcp`] (the gateway is the RTP source
//! there) instead gets the gateway's own reports ([`RtcpReporter`], sent through
//! [`Relay::poll_rtcp`]), and RTCP neither arrives from it nor reaches it through the relay.

use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use zerocopy::FromBytes;
use zerocopy::byteorder::{BigEndian, U32};

use super::g711::Law;
use super::rtcp::{Compound, LegFigures, LegQuality, RtcpPacket, RtcpReporter, Sending};
use super::rtp::{
    REPORT_BLOCK_LEN, RtcpHeader, RtcpType, RtpHeader, RtpPacket, SENDER_INFO_LEN, looks_like_rtcp,
    validate_rtcp,
};
use super::stats::{StatsTracker, StreamStats};
use super::transcode_path::{Transcode, TranscodePath};

/// One end of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Side {
    #[default]
    A,
    B,
}

impl Side {
    /// The side packets from this side are relayed toward.
    pub fn other(self) -> Side {
        match self {
            Side::A => Side::B,
            Side::B => Side::A,
        }
    }

    fn idx(self) -> usize {
        match self {
            Side::A => 0,
            Side::B => 1,
        }
    }
}

/// Configuration of one side, from that leg's negotiated session description.
#[derive(Debug, Clone, PartialEq)]
pub struct SideConfig {
    /// Where the peer said it sends and receives RTP (SDP c=/m=, H.245 OLC), if known.
    pub expected: Option<SocketAddr>,
    /// RTCP address of the peer: the RTP address when rtcp-mux, usually port + 1 otherwise.
    pub expected_rtcp: Option<SocketAddr>,
    /// Symmetric RTP (RFC 4961): latch onto the first packet from anywhere, not only from
    /// `expected`. Needed for peers behind NAT.
    pub latching: bool,
    /// RTP clock rate of the packets arriving from this side, in Hz.
    pub clock_rate: u32,
    /// The SSRC the relay emits toward this side, whatever sources feed it.
    pub send_ssrc: u32,
    /// The gateway is the RTP source toward this side (a transcoded or generated stream):
    /// RTCP from and toward this side is not relayed; the gateway sends its own reports
    /// there ([`Relay::poll_rtcp`]) and reads the side's reports itself.
    pub own_rtcp: bool,
}

impl SideConfig {
    /// A latching side with a G.711 clock and no known address.
    pub fn latching(send_ssrc: u32) -> Self {
        SideConfig {
            expected: None,
            expected_rtcp: None,
            latching: true,
            clock_rate: 8000,
            send_ssrc,
            own_rtcp: false,
        }
    }
}

/// The payload-type map full; it holds [`PtMap::CAPACITY`] pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("payload-type map is full ({} pairs)", PtMap::CAPACITY)]
pub struct PtMapFull;

/// (arrival side, PT in, PT out, G.711 laws in and out when converted).
type DirectedRule = (Side, u8, u8, Option<(Law, Law)>);

/// RFC 3389 comfort noise, static payload type 13 (RFC 3551 Table 4).
const COMFORT_NOISE_PT: u8 = 13;

/// (PT in, PT out, what to transcode) for the voice arriving on one side.
type TranscodeRule = (u8, u8, Transcode);

/// Payload-type pairs (PT on side A, PT on side B), e.g. the offerer's dynamic 101 for
/// telephone-event against our 96. Unmapped payload types pass unchanged. A pair may
/// also convert G.711 between A-law and u-law (same size, sample by sample), for legs
/// that settled on different laws (an H.323 slow-start channel against a SIP answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PtMap {
    pairs: [(u8, u8); PtMap::CAPACITY],
    len: usize,
    /// One-direction rules, checked before the pairs: (arrival side, PT in, PT out,
    /// G.711 law in and out when the payload is converted). H.245 lets each direction
    /// of a call use its own codec, so a call may need A->B and B->A to differ.
    directed: [DirectedRule; PtMap::CAPACITY],
    directed_len: usize,
    /// The transcoded voice stream arriving on each side, indexed by [`Side`].
    transcode: [Option<TranscodeRule>; 2],
}

impl PtMap {
    pub const CAPACITY: usize = 16;

    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces the pair for `a_pt`. Only the low 7 bits of each PT are kept.
    pub fn insert(&mut self, a_pt: u8, b_pt: u8) -> Result<(), PtMapFull> {
        let pair = (a_pt & 0x7f, b_pt & 0x7f);
        if let Some(p) = self.pairs[..self.len].iter_mut().find(|p| p.0 == pair.0) {
            *p = pair;
            return Ok(());
        }
        let slot = self.pairs.get_mut(self.len).ok_or(PtMapFull)?;
        *slot = pair;
        self.len += 1;
        Ok(())
    }

    /// Adds or replaces a one-direction rule: `pt_in` arriving on `from` leaves as
    /// `pt_out`, its G.711 payload converted from `laws.0` to `laws.1` when given.
    pub fn insert_directed(
        &mut self,
        from: Side,
        pt_in: u8,
        pt_out: u8,
        laws: Option<(Law, Law)>,
    ) -> Result<(), PtMapFull> {
        let rule = (
            from,
            pt_in & 0x7f,
            pt_out & 0x7f,
            laws.filter(|(a, b)| a != b),
        );
        let rules = &mut self.directed[..self.directed_len];
        if let Some(r) = rules.iter_mut().find(|r| r.0 == from && r.1 == rule.1) {
            *r = rule;
            return Ok(());
        }
        let slot = self.directed.get_mut(self.directed_len).ok_or(PtMapFull)?;
        *slot = rule;
        self.directed_len += 1;
        Ok(())
    }

    /// Transcodes the packets of `pt_in` arriving on `from` into `pt_out` (one voice
    /// stream per side; a second call replaces the first).
    pub fn insert_transcode(&mut self, from: Side, pt_in: u8, pt_out: u8, rule: Transcode) {
        self.transcode[from.idx()] = Some((pt_in & 0x7f, pt_out & 0x7f, rule));
    }

    /// The transcoding of the voice arriving on `from`, if any.
    pub fn transcoded(&self, from: Side) -> Option<(u8, u8, Transcode)> {
        self.transcode[from.idx()]
    }

    fn rule(&self, from: Side, pt: u8) -> Option<&DirectedRule> {
        self.directed[..self.directed_len]
            .iter()
            .find(|r| r.0 == from && r.1 == pt)
    }

    /// The conversion (law in, law out) for `pt` arriving on `from`, if any.
    pub fn conversion(&self, from: Side, pt: u8) -> Option<(Law, Law)> {
        self.rule(from, pt).and_then(|r| r.3)
    }

    /// The payload type to send toward the other side for `pt` arriving on `from`.
    pub fn translate(&self, from: Side, pt: u8) -> u8 {
        if let Some(r) = self.rule(from, pt) {
            return r.2;
        }
        let pairs = &self.pairs[..self.len];
        let found = match from {
            Side::A => pairs.iter().find(|p| p.0 == pt).map(|p| p.1),
            Side::B => pairs.iter().find(|p| p.1 == pt).map(|p| p.0),
        };
        found.unwrap_or(pt)
    }
}

/// Everything the relay needs to know at creation.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayConfig {
    pub a: SideConfig,
    pub b: SideConfig,
    pub pt_map: PtMap,
}

/// Send `len` bytes of the (rewritten) packet buffer to `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forward {
    pub to: SocketAddr,
    pub len: usize,
}

/// The peer address packets are accepted from (and sent back to) on one side.
#[derive(Debug, Clone, Copy, Default)]
struct Latch {
    addr: Option<SocketAddr>,
}

impl Latch {
    fn accept(&mut self, from: SocketAddr, expected: Option<SocketAddr>, latching: bool) -> bool {
        match self.addr {
            Some(addr) => addr == from,
            None if latching || expected == Some(from) => {
                self.addr = Some(from);
                true
            }
            None => false,
        }
    }
}

/// The source currently feeding a direction and how its numbers map onto ours.
#[derive(Debug, Clone, Copy)]
struct Source {
    ssrc: u32,
    seq_offset: u16,
    ts_offset: u32,
}

/// The newest packet emitted in a direction.
#[derive(Debug, Clone, Copy)]
struct Emitted {
    seq: u16,
    timestamp: u32,
    at: Instant,
}

/// SSRC, sequence and timestamp continuity of one direction (RFC 3550 §5.1, §8.2): one
/// SSRC out, numbers continuing across source changes.
#[derive(Debug, Clone, Copy)]
struct Continuity {
    out_ssrc: u32,
    source: Option<Source>,
    last: Option<Emitted>,
    /// RTP packets and payload octets emitted (an SR's sender counts; wrap like them).
    packets: u32,
    octets: u32,
}

impl Continuity {
    fn new(out_ssrc: u32) -> Self {
        Continuity {
            out_ssrc,
            source: None,
            last: None,
            packets: 0,
            octets: 0,
        }
    }

    fn count(&mut self, payload_len: usize) {
        self.packets = self.packets.wrapping_add(1);
        self.octets = self.octets.wrapping_add(payload_len as u32);
    }

    /// What an SR toward the far side says about this stream at `now`.
    fn sending(&self, now: Instant, clock_rate: u32) -> Option<Sending> {
        let last = self.last?;
        let elapsed = now.saturating_duration_since(last.at);
        let ticks = (elapsed.as_nanos() * u128::from(clock_rate) / 1_000_000_000) as u32;
        Some(Sending {
            packets: self.packets,
            octets: self.octets,
            rtp_timestamp: last.timestamp.wrapping_add(ticks),
        })
    }

    /// Maps one packet's numbers; returns (seq, timestamp, re-based onto an earlier source?).
    fn map(
        &mut self,
        now: Instant,
        ssrc: u32,
        seq: u16,
        ts: u32,
        clock_rate: u32,
    ) -> (u16, u32, bool) {
        let switched = self.source.is_none_or(|s| s.ssrc != ssrc);
        let rebased = switched && self.last.is_some();
        let source = match self.source {
            Some(s) if s.ssrc == ssrc => s,
            _ => {
                let (seq_offset, ts_offset) = match self.last {
                    // First source: its numbers are already random (RFC 3550 §5.1).
                    None => (0, 0),
                    Some(last) => {
                        let elapsed = now.saturating_duration_since(last.at);
                        let ticks =
                            (elapsed.as_nanos() * u128::from(clock_rate) / 1_000_000_000) as u32;
                        let next_ts = last.timestamp.wrapping_add(ticks.max(1));
                        (
                            last.seq.wrapping_add(1).wrapping_sub(seq),
                            next_ts.wrapping_sub(ts),
                        )
                    }
                };
                let s = Source {
                    ssrc,
                    seq_offset,
                    ts_offset,
                };
                self.source = Some(s);
                s
            }
        };
        let out_seq = seq.wrapping_add(source.seq_offset);
        let out_ts = ts.wrapping_add(source.ts_offset);
        // Only a newer sequence number moves the continuation point (reordering is kept).
        let newer = self
            .last
            .is_none_or(|l| (out_seq.wrapping_sub(l.seq) as i16) > 0 || switched);
        if newer {
            self.last = Some(Emitted {
                seq: out_seq,
                timestamp: out_ts,
                at: now,
            });
        }
        (out_seq, out_ts, rebased)
    }

    /// A packet of the current source that is not relayed (a telephone-event taken out
    /// of the media): the source's later packets move down by one, so the stream sent
    /// on has no gap where it was (a gap is a loss to the far end, which would conceal
    /// it and count it lost). Only a packet newer than the last one sent moves them.
    fn withhold(&mut self, ssrc: u32, seq: u16) {
        let (Some(source), Some(last)) = (self.source.as_mut(), self.last) else {
            return;
        };
        if source.ssrc == ssrc
            && (seq.wrapping_add(source.seq_offset).wrapping_sub(last.seq) as i16) > 0
        {
            source.seq_offset = source.seq_offset.wrapping_sub(1);
        }
    }

    /// Numbers a packet of the gateway's own stream that continues at `timestamp` (a
    /// transcoder's output): the next sequence number; relayed packets follow it.
    fn emit(&mut self, now: Instant, timestamp: u32) -> (u16, u32) {
        let seq = self.last.map_or_else(
            || (self.out_ssrc.wrapping_mul(0x9e37_79b9) >> 16) as u16,
            |l| l.seq.wrapping_add(1),
        );
        if let Some(source) = self.source.as_mut() {
            source.seq_offset = source.seq_offset.wrapping_add(1);
        }
        self.last = Some(Emitted {
            seq,
            timestamp,
            at: now,
        });
        (seq, timestamp)
    }

    /// Numbers one packet the gateway originates in this direction's stream at `now`:
    /// the sequence number after the last one emitted (the current source's numbers move
    /// up by one, so the packets relayed after it follow it), and the stream's timestamp
    /// now (the last emitted one moved on by the time since). A stream that emitted
    /// nothing yet starts from numbers derived from its SSRC, and its first source is
    /// re-based onto them.
    fn originate(&mut self, now: Instant, clock_rate: u32) -> (u16, u32) {
        let (seq, timestamp) = match self.last {
            Some(last) => {
                let elapsed = now.saturating_duration_since(last.at);
                let ticks = (elapsed.as_nanos() * u128::from(clock_rate) / 1_000_000_000) as u32;
                (last.seq.wrapping_add(1), last.timestamp.wrapping_add(ticks))
            }
            None => {
                // Unpredictable starting numbers (RFC 3550 §5.1) from the random SSRC.
                let mixed = self.out_ssrc.wrapping_mul(0x9e37_79b9);
                ((mixed >> 16) as u16, mixed.rotate_left(7))
            }
        };
        if let Some(source) = self.source.as_mut() {
            source.seq_offset = source.seq_offset.wrapping_add(1);
        }
        self.last = Some(Emitted {
            seq,
            timestamp,
            at: now,
        });
        (seq, timestamp)
    }
}

/// The numbers of a packet the gateway originates toward a side (RFC 4733 events)
/// inside the stream the relay emits there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Originated {
    /// The SSRC the relay emits toward that side.
    pub ssrc: u32,
    /// The packet's sequence number.
    pub sequence: u16,
    /// The stream's RTP timestamp at that moment.
    pub timestamp: u32,
}

/// State per side, indexed by [`Side`]: `latch`/`config`/`quality`/`reporter` describe the
/// peer on that side and our reports to it, `continuity`/`stats`/`path` the direction
/// whose packets arrive on that side.
#[derive(Debug)]
struct SideState {
    config: SideConfig,
    rtp_latch: Latch,
    rtcp_latch: Latch,
    continuity: Continuity,
    stats: StatsTracker,
    quality: LegQuality,
    reporter: Option<RtcpReporter>,
    /// The transcoder of this direction's voice, when the legs share no codec.
    path: Option<Box<TranscodePath>>,
    /// The next RTP timestamp of this direction's transcoded stream, `None` when the
    /// next packet starts a talkspurt (it then takes the stream's clock).
    path_ts: Option<u32>,
}

/// What became of an RTP packet.
enum Disposition {
    Forward(Forward),
    /// Taken into a transcoder: its audio leaves through [`Relay::poll_transcoded`].
    Transcoded,
    Dropped,
}

/// A bidirectional RTP/RTCP relay between side A and side B.
#[derive(Debug)]
pub struct Relay {
    sides: [SideState; 2],
    pt_map: PtMap,
}

impl Relay {
    pub fn new(config: RelayConfig) -> Self {
        let side = |config: SideConfig, out_ssrc: u32| SideState {
            reporter: config
                .own_rtcp
                .then(|| RtcpReporter::new(config.send_ssrc, out_ssrc ^ 0x5bd1_e995)),
            config,
            rtp_latch: Latch::default(),
            rtcp_latch: Latch::default(),
            continuity: Continuity::new(out_ssrc),
            stats: StatsTracker::new(),
            path: None,
            path_ts: None,
            quality: LegQuality::new(),
        };
        let (a_send, b_send) = (config.a.send_ssrc, config.b.send_ssrc);
        let mut relay = Relay {
            // Packets arriving on A are sent toward B with B's send SSRC, and vice versa.
            sides: [side(config.a, b_send), side(config.b, a_send)],
            pt_map: PtMap::new(),
        };
        relay.set_pt_map(config.pt_map);
        relay
    }

    /// Whether the voice arriving on `side` is transcoded.
    pub fn transcodes(&self, side: Side) -> bool {
        self.sides[side.idx()].path.is_some()
    }

    /// How often the transcoders' pacing clock must tick (the shortest output
    /// packetisation time); `None` when nothing is transcoded.
    pub fn transcode_interval(&self) -> Option<std::time::Duration> {
        self.sides
            .iter()
            .filter_map(|s| s.path.as_ref().map(|p| p.ptime()))
            .min()
    }

    /// The transcoder counters and jitter-buffer figures of the voice arriving on
    /// `side`, if it is transcoded.
    pub fn transcode_stats(
        &self,
        side: Side,
    ) -> Option<(super::transcode_path::PathStats, super::jitter::JitterStats)> {
        let p = self.sides[side.idx()].path.as_ref()?;
        Some((p.stats(), p.jitter_stats()))
    }

    /// Builds or drops the transcoders `map` asks for; an unchanged rule keeps its
    /// transcoder (and its codec state). The arrival side's RTP clock becomes the input
    /// codec's, so its jitter is measured in the right units.
    fn install_paths(&mut self, map: &PtMap) {
        for side in [Side::A, Side::B] {
            let want = map.transcoded(side).map(|(_, _, rule)| rule);
            let s = &mut self.sides[side.idx()];
            if s.path.as_ref().map(|p| p.rule()) == want {
                continue;
            }
            s.path_ts = None;
            s.path = want.and_then(|rule| match TranscodePath::new(rule) {
                Ok(p) => Some(Box::new(p)),
                Err(e) => {
                    tracing::warn!(error = %e, ?rule, "relay: cannot transcode, voice not relayed");
                    None
                }
            });
            if let Some(rule) = want {
                s.config.clock_rate = rule.codec_in.info().rtp_clock;
            }
        }
        // A transcoded call has a stream of ours on each side: the peers' reports about
        // their own streams describe nothing the other peer receives, so each side gets
        // our reports instead (RFC 3550 §7.2: a translator that changes the encoding
        // reports for itself).
        if map.transcoded(Side::A).is_some() || map.transcoded(Side::B).is_some() {
            for s in &mut self.sides {
                s.config.own_rtcp = true;
                if s.reporter.is_none() {
                    s.reporter = Some(RtcpReporter::new(
                        s.config.send_ssrc,
                        s.continuity.out_ssrc ^ 0x5bd1_e995,
                    ));
                }
            }
        }
    }

    /// The next transcoded packet toward the other side of `arrived_on`, written into
    /// `buf` (RTP header and payload) with the numbers of the stream emitted there;
    /// `None` when none is due. The session's pacing clock calls it every
    /// [`Relay::transcode_interval`], until `None`.
    pub fn poll_transcoded(
        &mut self,
        now: Instant,
        arrived_on: Side,
        buf: &mut [u8],
    ) -> Option<Forward> {
        let to = self.peer(arrived_on.other());
        let (pt_out, s) = (
            self.pt_map.transcoded(arrived_on).map(|r| r.1)?,
            &mut self.sides[arrived_on.idx()],
        );
        let path = s.path.as_mut()?;
        let header_len = std::mem::size_of::<RtpHeader>();
        let (out, marker) = path.pop(now, buf.get_mut(header_len..)?)?;
        let clock = path.output_info().rtp_clock;
        let (seq, ts) = match s.path_ts.filter(|_| !marker) {
            Some(ts) => s.continuity.emit(now, ts),
            // A talkspurt starts on the stream's clock (RFC 3550 §5.1).
            None => s.continuity.originate(now, clock),
        };
        s.path_ts = Some(ts.wrapping_add(out.rtp_ticks));
        s.continuity.count(out.len);
        let header = RtpHeader::new(pt_out, marker, seq, ts, s.continuity.out_ssrc);
        buf.get_mut(..header_len)?
            .copy_from_slice(zerocopy::IntoBytes::as_bytes(&header));
        Some(Forward {
            to: to?,
            len: header_len + out.len,
        })
    }

    /// Statistics of the packets that arrived on `side`.
    pub fn stats(&self, side: Side) -> &StreamStats {
        self.sides[side.idx()].stats.stats()
    }

    /// The quality of `side`'s leg as RTCP showed it: round trip, and what its peer
    /// reports about the stream we send it.
    pub fn leg_figures(&self, side: Side) -> LegFigures {
        let s = &self.sides[side.idx()];
        // The stream toward `side` runs on the clock of the packets from the other side.
        let clock = self.sides[side.other().idx()].config.clock_rate;
        match &s.reporter {
            Some(r) => r.figures(clock),
            None => s.quality.figures(clock),
        }
    }

    /// Counts a packet of `payload_len` octets the gateway itself sent toward `toward` in
    /// the stream the relay emits there ([`Relay::originate`]), for our SR's sender counts.
    pub fn count_sent(&mut self, toward: Side, payload_len: usize) {
        self.sides[toward.other().idx()]
            .continuity
            .count(payload_len);
    }

    /// When the next own report is due ([`SideConfig::own_rtcp`]), if any.
    pub fn rtcp_timeout(&self) -> Option<Instant> {
        self.sides
            .iter()
            .filter_map(|s| s.reporter.as_ref()?.poll_timeout())
            .min()
    }

    /// Writes the next own report that is due at `now` (`wall`: the same instant on the
    /// wall clock) into `buf`: the side it goes to and where. Call until `None`. A report
    /// due toward a side with no known RTCP address is skipped.
    pub fn poll_rtcp(
        &mut self,
        now: Instant,
        wall: SystemTime,
        buf: &mut [u8],
    ) -> Option<(Side, Forward)> {
        for side in [Side::A, Side::B] {
            let back = &self.sides[side.other().idx()];
            let sending = back.continuity.sending(now, back.config.clock_rate);
            let s = &mut self.sides[side.idx()];
            let reception = s.stats.reception();
            let to = s.rtcp_latch.addr.or(s.config.expected_rtcp);
            let Some(reporter) = s.reporter.as_mut() else {
                continue;
            };
            if reporter.poll_timeout().is_none_or(|t| t > now) {
                continue;
            }
            let len = reporter.poll_report(now, wall, sending, reception, buf);
            if let (Some(len), Some(to)) = (len, to) {
                return Some((side, Forward { to, len }));
            }
        }
        None
    }

    /// Own reporters start their schedule with the first packet of the call.
    fn start_reporters(&mut self, now: Instant) {
        for s in &mut self.sides {
            if let Some(r) = s.reporter.as_mut() {
                r.start(now);
            }
        }
    }

    /// Whether RTCP stays in the gateway: with a side that has its own reports, any RTCP
    /// arrives from it or would go toward it.
    fn keeps_rtcp(&self) -> bool {
        self.sides.iter().any(|s| s.config.own_rtcp)
    }

    /// Reads the reports in an accepted compound packet from `side` at `now`: blocks about
    /// the stream we emit toward `side` feed its leg's figures (or its own reporter); an SR
    /// relayed onward (`forwarded`) is remembered toward the other side for its round trip.
    fn observe_rtcp(&mut self, now: Instant, side: Side, packet: &[u8], forwarded: bool) {
        // The stream toward `side` is the direction arriving on the other side.
        let toward = self.sides[side.other().idx()].continuity;
        let (ours, sent) = (toward.out_ssrc, toward.packets);
        if let Some(r) = self.sides[side.idx()].reporter.as_mut() {
            r.handle_rtcp(now, packet, sent);
            return;
        }
        let mut sr = None;
        for item in Compound::new(packet) {
            let Ok(p) = item else { break };
            let blocks = match p {
                RtcpPacket::Sr { info, blocks, .. } => {
                    sr = Some(info.ntp.middle());
                    blocks
                }
                RtcpPacket::Rr { blocks, .. } => blocks,
                _ => continue,
            };
            for b in blocks.filter(|b| b.ssrc == ours) {
                self.sides[side.idx()].quality.block_received(now, &b, sent);
            }
        }
        // The relay leaves the NTP timestamp as it is: what we saw is what the peer gets.
        if forwarded && let Some(mid) = sr {
            self.sides[side.other().idx()].quality.sr_sent(now, mid);
        }
    }

    /// The address RTP toward `side` goes to: the latched one, else the expected one.
    pub fn peer(&self, side: Side) -> Option<SocketAddr> {
        let s = &self.sides[side.idx()];
        s.rtp_latch.addr.or(s.config.expected)
    }

    /// New addresses for a side after a re-INVITE or a new fork: the latch is released so
    /// the next packet from the new peer can latch.
    pub fn repoint(
        &mut self,
        side: Side,
        expected: Option<SocketAddr>,
        expected_rtcp: Option<SocketAddr>,
    ) {
        let s = &mut self.sides[side.idx()];
        s.config.expected = expected;
        s.config.expected_rtcp = expected_rtcp;
        s.rtp_latch = Latch::default();
        s.rtcp_latch = Latch::default();
    }

    /// Numbers a packet the gateway itself sends toward `toward` at `now` (RFC 4733
    /// events generated from signalling) in the stream the relay emits there: same SSRC,
    /// the next sequence number, the timestamp the stream's clock has now. Relayed
    /// packets after it continue the numbering after it (RFC 3550 §5.1: one sequence per
    /// SSRC, no duplicates).
    pub fn originate(&mut self, now: Instant, toward: Side) -> Originated {
        // Packets toward `toward` are the direction arriving on the other side.
        let s = &mut self.sides[toward.other().idx()];
        let (sequence, timestamp) = s.continuity.originate(now, s.config.clock_rate);
        Originated {
            ssrc: s.continuity.out_ssrc,
            sequence,
            timestamp,
        }
    }

    /// A packet with `ssrc` and `seq` that arrived on `side` and is not relayed (see
    /// [`Relay::receive`]): the numbers of the stream sent on close the gap it leaves.
    pub fn withhold(&mut self, side: Side, ssrc: u32, seq: u16) {
        self.sides[side.idx()].continuity.withhold(ssrc, seq);
    }

    /// Replaces the payload-type map (new answer after a re-INVITE or H.245 exchange).
    pub fn set_pt_map(&mut self, pt_map: PtMap) {
        self.install_paths(&pt_map);
        self.pt_map = pt_map;
    }

    /// Takes in a datagram that arrived at `now` from `from` on `side` without relaying
    /// it (the media task plays a tone, echoes or holds instead): it is validated, latched
    /// and counted like in [`Relay::handle_packet`], and `packet` is left as it was.
    /// Returns whether it was accepted (valid RTP/RTCP from that side's peer).
    pub fn receive(&mut self, now: Instant, from: SocketAddr, side: Side, packet: &[u8]) -> bool {
        self.start_reporters(now);
        let rtcp = looks_like_rtcp(packet);
        let s = &mut self.sides[side.idx()];
        let cfg = &s.config;
        let accepted = if rtcp {
            let ok = validate_rtcp(packet).is_ok()
                && s.rtcp_latch.accept(from, cfg.expected_rtcp, cfg.latching);
            if ok {
                s.stats.count_rtcp();
            }
            ok
        } else {
            match RtpPacket::parse(packet) {
                Ok(p) if s.rtp_latch.accept(from, cfg.expected, cfg.latching) => {
                    let h = p.header;
                    let (ssrc, seq, ts) = (h.ssrc.get(), h.sequence.get(), h.timestamp.get());
                    s.stats
                        .record(now, ssrc, seq, ts, p.payload.len(), cfg.clock_rate);
                    true
                }
                _ => false,
            }
        };
        if !accepted {
            s.stats.count_drop();
        } else if rtcp {
            self.observe_rtcp(now, side, packet, false);
        }
        accepted
    }

    /// Handles one datagram that arrived at `now` from `from` on `side`. On success the
    /// packet has been rewritten in place and its first `len` bytes go to `to`.
    pub fn handle_packet(
        &mut self,
        now: Instant,
        from: SocketAddr,
        side: Side,
        packet: &mut [u8],
    ) -> Option<Forward> {
        self.start_reporters(now);
        let disposition = if looks_like_rtcp(packet) {
            if self.keeps_rtcp() {
                // Taken in (latched, counted, read), never relayed; `receive` counts a drop.
                self.receive(now, from, side, packet);
                return None;
            }
            match self.handle_rtcp(now, from, side, packet) {
                Some(f) => Disposition::Forward(f),
                None => Disposition::Dropped,
            }
        } else {
            self.handle_rtp(now, from, side, packet)
        };
        match disposition {
            Disposition::Forward(f) => Some(f),
            Disposition::Transcoded => None,
            Disposition::Dropped => {
                self.sides[side.idx()].stats.count_drop();
                None
            }
        }
    }

    fn handle_rtp(
        &mut self,
        now: Instant,
        from: SocketAddr,
        side: Side,
        packet: &mut [u8],
    ) -> Disposition {
        let Ok(p) = RtpPacket::parse(packet) else {
            return Disposition::Dropped;
        };
        let h = p.header;
        let (ssrc, seq, ts, pt, payload_len, header_len) = (
            h.ssrc.get(),
            h.sequence.get(),
            h.timestamp.get(),
            h.payload_type(),
            p.payload.len(),
            p.header_len(),
        );
        let to = self.peer(side.other());
        let pt_out = self.pt_map.translate(side, pt);
        // The voice, and RFC 3389 comfort noise (static PT 13) that stands in for it.
        let transcoded = self
            .pt_map
            .transcoded(side)
            .is_some_and(|r| r.0 == pt || pt == COMFORT_NOISE_PT);
        let s = &mut self.sides[side.idx()];
        let cfg = &s.config;
        if !s.rtp_latch.accept(from, cfg.expected, cfg.latching) {
            return Disposition::Dropped;
        }
        let rate = cfg.clock_rate;
        s.stats.record(now, ssrc, seq, ts, payload_len, rate);
        if transcoded {
            let Some(path) = s.path.as_mut() else {
                return Disposition::Dropped;
            };
            path.push(now, seq, ts, h.marker(), pt, p.payload);
            return Disposition::Transcoded;
        }
        let Some(to) = to else {
            return Disposition::Dropped;
        };
        let (out_seq, out_ts, rebased) = s.continuity.map(now, ssrc, seq, ts, rate);
        s.continuity.count(payload_len);
        if let Some((from_law, to_law)) = self.pt_map.conversion(side, pt)
            && let Some(payload) = packet.get_mut(header_len..header_len + payload_len)
        {
            // G.711 A-law <-> u-law, in place (same size; G.711 §3 and §4 conversions
            // through the linear value).
            for b in payload {
                *b = to_law.encode(from_law.decode(*b));
            }
        }
        // Cannot fail: the parse above read the same prefix.
        let Ok((header, _)) = RtpHeader::mut_from_prefix(packet) else {
            return Disposition::Dropped;
        };
        header.set_payload_type(pt_out);
        if rebased {
            // Tell the far jitter buffer the timeline was re-based.
            header.set_marker(true);
        }
        header.sequence.set(out_seq);
        header.timestamp.set(out_ts);
        header.ssrc.set(s.continuity.out_ssrc);
        Disposition::Forward(Forward {
            to,
            len: packet.len(),
        })
    }

    fn handle_rtcp(
        &mut self,
        now: Instant,
        from: SocketAddr,
        side: Side,
        packet: &mut [u8],
    ) -> Option<Forward> {
        validate_rtcp(packet).ok()?;
        let to = {
            let other = &self.sides[side.other().idx()];
            other.rtcp_latch.addr.or(other.config.expected_rtcp)
        };
        let back = self.sides[side.other().idx()].continuity;
        let s = &mut self.sides[side.idx()];
        let cfg = &s.config;
        if !s.rtcp_latch.accept(from, cfg.expected_rtcp, cfg.latching) {
            return None;
        }
        s.stats.count_rtcp();
        let this = s.continuity;
        // Read before the rewrite: the blocks still name our SSRC.
        self.observe_rtcp(now, side, packet, to.is_some());
        let to = to?;
        let mut offset = 0;
        while offset < packet.len() {
            let (header, _) = RtcpHeader::ref_from_prefix(&packet[offset..]).ok()?;
            let len = header.byte_len();
            let kind = header.packet_type();
            let blocks = usize::from(header.count());
            // Inside the buffer: `validate_rtcp` walked the same lengths.
            let pkt = packet.get_mut(offset..offset + len)?;
            offset += len;
            let first_block = match kind {
                RtcpType::SR => RtcpHeader::LEN + 4 + SENDER_INFO_LEN,
                RtcpType::RR => RtcpHeader::LEN + 4,
                _ => continue,
            };
            let Some(sender) = word_mut(pkt, RtcpHeader::LEN) else {
                continue;
            };
            let sender_ssrc = sender.get();
            sender.set(this.out_ssrc);
            // SR sender info: NTP timestamp (8 bytes), then the RTP timestamp.
            if kind == RtcpType::SR
                && let Some(src) = this.source.filter(|s| s.ssrc == sender_ssrc)
                && let Some(ts) = word_mut(pkt, RtcpHeader::LEN + 4 + 8)
            {
                ts.set(ts.get().wrapping_add(src.ts_offset));
            }
            for i in 0..blocks {
                // A report about the stream we emit toward this side names the source.
                if let Some(src) = back.source
                    && let Some(w) = word_mut(pkt, first_block + i * REPORT_BLOCK_LEN)
                    && w.get() == back.out_ssrc
                {
                    w.set(src.ssrc);
                }
            }
        }
        Some(Forward {
            to,
            len: packet.len(),
        })
    }
}

/// The big-endian 32-bit word at `offset`, if it lies inside `buf`.
fn word_mut(buf: &mut [u8], offset: usize) -> Option<&mut U32<BigEndian>> {
    let tail = buf.get_mut(offset..)?;
    U32::<BigEndian>::mut_from_prefix(tail).ok().map(|(w, _)| w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::rtcp::{NtpTime, Report, ReportBlock, SenderInfo, write_compound};
    use zerocopy::IntoBytes;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("literal address")
    }

    /// A relay that latches side A (emitting 0xaaaa toward it) and expects side B at `b`
    /// (emitting 0xbbbb toward it).
    fn latched_a_expected_b(b: SocketAddr, pt_map: PtMap) -> Relay {
        Relay::new(RelayConfig {
            a: SideConfig::latching(0xaaaa),
            b: SideConfig {
                expected: Some(b),
                ..SideConfig::latching(0xbbbb)
            },
            pt_map,
        })
    }

    fn packet(pt: u8, seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
        let mut v = RtpHeader::new(pt, false, seq, ts, ssrc).as_bytes().to_vec();
        v.extend_from_slice(&[0xd5; 160]);
        v
    }

    #[test]
    fn originated_packets_take_their_place_in_the_stream() {
        let a = addr("192.0.2.1:4000");
        let b = addr("198.51.100.1:5000");
        let mut relay = latched_a_expected_b(b, PtMap::new());
        let t0 = Instant::now();
        for seq in [100u16, 101] {
            let mut p = packet(0, seq, u32::from(seq) * 160, 0x1234);
            relay
                .handle_packet(t0, a, Side::A, &mut p)
                .expect("relayed");
        }
        // 30 ms after the last relayed packet: the next number, the clock 240 ticks on.
        let o = relay.originate(t0 + std::time::Duration::from_millis(30), Side::B);
        assert_eq!(
            o,
            Originated {
                ssrc: 0xbbbb,
                sequence: 102,
                timestamp: 101 * 160 + 240
            }
        );
        assert_eq!(relay.originate(t0, Side::B).sequence, 103);
        // The source's next packet follows the originated ones.
        let mut p = packet(0, 102, 102 * 160, 0x1234);
        relay
            .handle_packet(t0, a, Side::A, &mut p)
            .expect("relayed");
        let h = RtpPacket::parse(&p).expect("valid").header;
        assert_eq!((h.sequence.get(), h.timestamp.get()), (104, 102 * 160));
        assert!(!h.marker());

        // Toward A nothing was emitted yet: numbers from the SSRC, and the first source
        // is re-based after them.
        let first = relay.originate(t0, Side::A);
        assert_eq!(first.ssrc, 0xaaaa);
        let mut p = packet(0, 7, 7, 0x5678);
        relay
            .handle_packet(t0, b, Side::B, &mut p)
            .expect("relayed");
        let h = RtpPacket::parse(&p).expect("valid").header;
        assert_eq!(h.sequence.get(), first.sequence.wrapping_add(1));
        assert_eq!(h.ssrc.get(), 0xaaaa);
        assert!(h.marker(), "re-based onto the originated numbers");
    }

    #[test]
    fn transcoded_packets_leave_in_our_stream() {
        use crate::media::codec::CodecKind;
        let a = addr("192.0.2.1:4000");
        let b = addr("198.51.100.1:5000");
        let mut map = PtMap::new();
        map.insert_transcode(
            Side::A,
            0,
            9,
            Transcode {
                codec_in: CodecKind::Pcmu,
                codec_out: CodecKind::G722,
                ptime_ms: 20,
            },
        );
        let mut relay = latched_a_expected_b(b, map);
        assert!(relay.transcodes(Side::A) && !relay.transcodes(Side::B));
        assert_eq!(
            relay.transcode_interval(),
            Some(std::time::Duration::from_millis(20))
        );
        let t0 = Instant::now();
        let mut out = [0u8; 1500];
        let mut sent = Vec::new();
        // Ten packets 20 ms apart, the pacing clock every 10 ms for 400 ms.
        for tick in 0..40u16 {
            let now = t0 + std::time::Duration::from_millis(u64::from(tick) * 10);
            if tick % 2 == 0 && tick < 20 {
                let seq = tick / 2;
                let mut p = packet(0, 100 + seq, u32::from(seq) * 160, 0x1234);
                assert_eq!(
                    relay.handle_packet(now, a, Side::A, &mut p),
                    None,
                    "taken in"
                );
            }
            while let Some(f) = relay.poll_transcoded(now, Side::A, &mut out) {
                assert_eq!((f.to, f.len), (b, 12 + 160));
                let h = RtpPacket::parse(&out[..f.len]).expect("valid").header;
                sent.push((
                    h.payload_type(),
                    h.marker(),
                    h.sequence.get(),
                    h.timestamp.get(),
                    h.ssrc.get(),
                ));
            }
        }
        // Ten, and the concealment after the stream stops (up to 100 ms).
        assert!((10..=15).contains(&sent.len()), "{}", sent.len());
        assert!(sent.iter().all(|p| p.0 == 9 && p.4 == 0xbbbb));
        assert_eq!(sent.iter().filter(|p| p.1).count(), 1, "one talkspurt");
        for w in sent.windows(2) {
            assert_eq!(w[1].2, w[0].2.wrapping_add(1));
            assert_eq!(
                w[1].3,
                w[0].3.wrapping_add(160),
                "20 ms of G.722 is 160 ticks"
            );
        }
        // Nothing counted as dropped: the packets were used.
        assert_eq!(relay.stats(Side::A).dropped, 0);
        assert_eq!(relay.stats(Side::A).packets, 10);
        let (path, jitter) = relay.transcode_stats(Side::A).expect("transcoded");
        assert_eq!((path.decoded, jitter.late), (10, 0));
        assert_eq!(path.encoded, sent.len() as u64);
        // A PCMU packet from B is not transcoded (no rule that way): relayed.
        let mut p = packet(0, 1, 0, 0x5678);
        assert!(relay.handle_packet(t0, b, Side::B, &mut p).is_some());
    }

    #[test]
    fn a_withheld_packet_leaves_no_gap() {
        let a = addr("192.0.2.1:4000");
        let b = addr("198.51.100.1:5000");
        let mut relay = latched_a_expected_b(b, PtMap::new());
        let t0 = Instant::now();
        let mut out = Vec::new();
        for seq in 10u16..16 {
            let mut p = packet(if seq % 2 == 1 { 101 } else { 0 }, seq, 0, 0x1234);
            if seq % 2 == 1 {
                // A telephone-event taken out of the media.
                assert!(relay.receive(t0, a, Side::A, &p));
                relay.withhold(Side::A, 0x1234, seq);
                continue;
            }
            relay
                .handle_packet(t0, a, Side::A, &mut p)
                .expect("relayed");
            out.push(RtpPacket::parse(&p).expect("valid").header.sequence.get());
        }
        assert_eq!(out, [10, 11, 12], "consecutive: no loss at the far end");
        // A late withheld packet (older than the last sent) moves nothing.
        relay.withhold(Side::A, 0x1234, 9);
        let mut p = packet(0, 16, 0, 0x1234);
        relay
            .handle_packet(t0, a, Side::A, &mut p)
            .expect("relayed");
        assert_eq!(
            RtpPacket::parse(&p).expect("valid").header.sequence.get(),
            13
        );
    }

    #[test]
    fn directed_rules_convert_one_direction() {
        let mut m = PtMap::new();
        m.insert_directed(Side::A, 0, 8, Some((Law::Pcmu, Law::Pcma)))
            .unwrap();
        assert_eq!(m.translate(Side::A, 0), 8);
        assert_eq!(m.conversion(Side::A, 0), Some((Law::Pcmu, Law::Pcma)));
        // B -> A is untouched: PCMA stays PCMA.
        assert_eq!(m.translate(Side::B, 8), 8);
        assert_eq!(m.conversion(Side::B, 8), None);
        // Same law: a renumbering only.
        m.insert_directed(Side::B, 8, 8, Some((Law::Pcma, Law::Pcma)))
            .unwrap();
        assert_eq!(m.conversion(Side::B, 8), None);
    }

    #[test]
    fn a_converted_packet_carries_the_other_law() {
        let mut map = PtMap::new();
        map.insert_directed(Side::A, 0, 8, Some((Law::Pcmu, Law::Pcma)))
            .unwrap();
        let cfg = |ssrc| SideConfig {
            expected: None,
            expected_rtcp: None,
            latching: true,
            clock_rate: 8000,
            send_ssrc: ssrc,
            own_rtcp: false,
        };
        let mut r = Relay::new(RelayConfig {
            a: cfg(1),
            b: SideConfig {
                expected: Some("127.0.0.1:4000".parse().unwrap()),
                ..cfg(2)
            },
            pt_map: map,
        });
        let mut pkt = vec![0x80, 0, 0, 1, 0, 0, 0, 160, 0, 0, 0, 9];
        let samples: Vec<i16> = (0..160).map(|i| ((i * 97) % 2000) as i16 - 1000).collect();
        pkt.extend(samples.iter().map(|&x| Law::Pcmu.encode(x)));
        let f = r
            .handle_packet(
                Instant::now(),
                "127.0.0.1:5000".parse().unwrap(),
                Side::A,
                &mut pkt,
            )
            .expect("forwarded");
        assert_eq!(f.len, 172);
        assert_eq!(pkt[1] & 0x7f, 8, "PCMA payload type");
        for (i, &x) in samples.iter().enumerate() {
            let back = Law::Pcma.decode(pkt[12 + i]);
            assert!(
                (i32::from(back) - i32::from(x)).abs() <= 64,
                "{x} -> {back}"
            );
        }
    }

    #[test]
    fn pt_map_both_ways_and_full() {
        let mut m = PtMap::new();
        m.insert(101, 96).expect("room");
        assert_eq!(m.translate(Side::A, 101), 96);
        assert_eq!(m.translate(Side::B, 96), 101);
        assert_eq!(m.translate(Side::A, 0), 0);
        for pt in 0..15 {
            m.insert(pt, pt).expect("room");
        }
        assert_eq!(m.insert(120, 121), Err(PtMapFull));
        m.insert(101, 97).expect("replace needs no room");
        assert_eq!(m.translate(Side::A, 101), 97);
    }

    #[test]
    fn receive_latches_and_counts_without_rewriting() {
        let mut relay = Relay::new(RelayConfig {
            a: SideConfig::latching(0xaaaa),
            b: SideConfig::latching(0xbbbb),
            pt_map: PtMap::new(),
        });
        let t0 = Instant::now();
        let a = addr("192.0.2.1:4000");
        let p = packet(0, 10, 1000, 0x1234);
        assert!(relay.receive(t0, a, Side::A, &p));
        assert_eq!(relay.peer(Side::A), Some(a));
        assert!(!relay.receive(t0, addr("192.0.2.9:4000"), Side::A, &p));
        assert!(!relay.receive(t0, a, Side::A, &[0x80, 0, 1]));
        let rr = [0x80, 201, 0, 1, 0, 0, 0, 0x77];
        assert!(relay.receive(t0, addr("192.0.2.1:4001"), Side::A, &rr));
        let s = relay.stats(Side::A);
        assert_eq!((s.packets, s.rtcp_packets, s.dropped), (1, 1, 2));
        assert_eq!(relay.stats(Side::B).packets, 0);
    }

    #[test]
    fn rtcp_sr_sender_ssrc_rewritten() {
        let mut relay = Relay::new(RelayConfig {
            a: SideConfig::latching(0xaaaa),
            b: SideConfig::latching(0xbbbb),
            pt_map: PtMap::new(),
        });
        let t0 = Instant::now();
        let a = addr("192.0.2.1:4000");
        let b = addr("198.51.100.1:5000");
        // Latch B's RTCP first so A's report has somewhere to go.
        let mut rr = [0x80, 201, 0, 1, 0, 0, 0, 0x77];
        assert_eq!(relay.handle_packet(t0, b, Side::B, &mut rr), None);
        let mut p = packet(0, 10, 1000, 0x1234);
        relay.handle_packet(t0, addr("192.0.2.1:3998"), Side::A, &mut p);
        // SR from A with one report block about our 0xaaaa stream.
        let mut sr = vec![0x81, 200, 0, 12, 0, 0, 0x12, 0x34];
        sr.extend_from_slice(&[0; 8]); // NTP
        sr.extend_from_slice(&1000u32.to_be_bytes());
        sr.extend_from_slice(&[0; 8]); // counts
        sr.extend_from_slice(&0xaaaau32.to_be_bytes());
        sr.extend_from_slice(&[0; 20]);
        let fwd = relay
            .handle_packet(t0, a, Side::A, &mut sr)
            .expect("forwarded");
        assert_eq!(fwd, Forward { to: b, len: 52 });
        assert_eq!(&sr[4..8], &0xbbbbu32.to_be_bytes());
        assert_eq!(&sr[16..20], &1000u32.to_be_bytes());
        // No source on B→A yet: the block keeps its SSRC.
        assert_eq!(&sr[28..32], &0xaaaau32.to_be_bytes());
        assert_eq!(relay.stats(Side::A).rtcp_packets, 1);
    }

    #[test]
    fn rtcp_compound_report_block_names_the_source() {
        let a = addr("192.0.2.1:4000");
        let b = addr("198.51.100.1:5000");
        let mut relay = Relay::new(RelayConfig {
            a: SideConfig {
                expected_rtcp: Some(a),
                ..SideConfig::latching(0xaaaa)
            },
            b: SideConfig {
                expected_rtcp: Some(b),
                ..SideConfig::latching(0xbbbb)
            },
            pt_map: PtMap::new(),
        });
        let t0 = Instant::now();
        // A latches its RTP address; then B's source 0x5555 feeds the stream A receives
        // as 0xaaaa.
        let mut p = packet(0, 1, 0, 0x1234);
        relay.handle_packet(t0, a, Side::A, &mut p);
        let mut p = packet(0, 1, 0, 0x5555);
        relay.handle_packet(t0, b, Side::B, &mut p);
        // BYE without sources (4 bytes), then an RR from A about 0xaaaa.
        let mut c = vec![0x80, 203, 0, 0, 0x81, 201, 0, 7, 0, 0, 0x12, 0x34];
        c.extend_from_slice(&0xaaaau32.to_be_bytes());
        c.extend_from_slice(&[0; 20]);
        let fwd = relay
            .handle_packet(t0, a, Side::A, &mut c)
            .expect("forwarded");
        assert_eq!(fwd, Forward { to: b, len: 36 });
        assert_eq!(&c[..4], &[0x80, 203, 0, 0], "BYE untouched");
        assert_eq!(&c[8..12], &0xbbbbu32.to_be_bytes(), "sender is our SSRC");
        assert_eq!(
            &c[12..16],
            &0x5555u32.to_be_bytes(),
            "block names B's source"
        );
    }

    fn report(ssrc: u32, sender: Option<SenderInfo>, blocks: &[ReportBlock]) -> Vec<u8> {
        let r = Report {
            ssrc,
            sender,
            blocks,
            cname: b"peer",
        };
        let mut buf = vec![0; r.len()];
        write_compound(&mut buf, &r).expect("sized");
        buf
    }

    #[test]
    fn relayed_sr_and_the_answering_rr_give_the_leg_round_trip() {
        let a = addr("192.0.2.1:4000");
        let a_rtcp = addr("192.0.2.1:4001");
        let b = addr("198.51.100.1:5000");
        let b_rtcp = addr("198.51.100.1:5001");
        let mut relay = Relay::new(RelayConfig {
            a: SideConfig {
                expected_rtcp: Some(a_rtcp),
                ..SideConfig::latching(0xaaaa)
            },
            b: SideConfig {
                expected_rtcp: Some(b_rtcp),
                ..SideConfig::latching(0xbbbb)
            },
            pt_map: PtMap::new(),
        });
        let t0 = Instant::now();
        let mut p = packet(0, 1, 0, 0x1234);
        relay.handle_packet(t0, a, Side::A, &mut p);
        let mut p = packet(0, 1, 0, 0x5555);
        relay.handle_packet(t0, b, Side::B, &mut p);
        // B's SR goes to A as it is (NTP untouched).
        let ntp = NtpTime(0x0000_1234_5678_0000);
        let info = SenderInfo {
            ntp,
            ..SenderInfo::default()
        };
        let mut sr = report(0x5555, Some(info), &[]);
        let fwd = relay
            .handle_packet(t0, b_rtcp, Side::B, &mut sr)
            .expect("relayed");
        assert_eq!(fwd.to, a_rtcp);
        // A answers 90 ms later about the stream it gets from us (0xaaaa), having held
        // the SR 10 ms: the leg between us and A takes 80 ms there and back.
        let block = ReportBlock {
            ssrc: 0xaaaa,
            fraction_lost: 64,
            cumulative_lost: 7,
            jitter: 80,
            lsr: ntp.middle(),
            dlsr: 655, // 9.99 ms
            ..ReportBlock::default()
        };
        let mut rr = report(0x1234, None, &[block]);
        let at = t0 + std::time::Duration::from_millis(90);
        let fwd = relay
            .handle_packet(at, a_rtcp, Side::A, &mut rr)
            .expect("relayed");
        assert_eq!(fwd.to, b_rtcp);
        assert_eq!(
            &rr[8..12],
            &0x5555u32.to_be_bytes(),
            "block names B's source"
        );
        let leg = relay.leg_figures(Side::A);
        let rtt = leg.rtt.expect("measured").last;
        assert!(
            rtt.abs_diff(std::time::Duration::from_millis(80))
                < std::time::Duration::from_micros(50),
            "{rtt:?}"
        );
        let remote = leg.remote.expect("A reported");
        assert_eq!(remote.cumulative_lost, 7);
        assert_eq!(remote.loss_pct, 100.0, "7 of the 1 packet we sent: capped");
        assert_eq!(remote.fraction_lost_pct, 25.0);
        assert_eq!(remote.jitter_ms, 10.0);
        // Nothing about B's leg yet: no SR went toward B.
        assert_eq!(relay.leg_figures(Side::B).rtt, None);
    }

    #[test]
    fn own_rtcp_side_gets_our_reports_not_the_relayed_ones() {
        let a = addr("192.0.2.1:4000");
        let a_rtcp = addr("192.0.2.1:4001");
        let b = addr("198.51.100.1:5000");
        let mut relay = Relay::new(RelayConfig {
            a: SideConfig {
                expected: Some(a),
                expected_rtcp: Some(a_rtcp),
                own_rtcp: true,
                ..SideConfig::latching(0xaaaa)
            },
            b: SideConfig::latching(0xbbbb),
            pt_map: PtMap::new(),
        });
        assert_eq!(
            relay.rtcp_timeout(),
            None,
            "no schedule before the first packet"
        );
        let t0 = Instant::now();
        for seq in 1..=10u16 {
            let mut p = packet(0, seq, u32::from(seq) * 160, 0x5555);
            relay
                .handle_packet(t0, b, Side::B, &mut p)
                .expect("RTP still relayed");
        }
        let mut p = packet(0, 1, 0, 0x1234);
        relay.handle_packet(t0, a, Side::A, &mut p);
        // RTCP either way stays here, and is not a drop.
        let mut rr = report(0x1234, None, &[]);
        assert_eq!(relay.handle_packet(t0, a_rtcp, Side::A, &mut rr), None);
        let mut sr = report(0x5555, Some(SenderInfo::default()), &[]);
        assert_eq!(relay.handle_packet(t0, b, Side::B, &mut sr), None);
        assert_eq!(relay.stats(Side::A).dropped, 0);
        assert_eq!(relay.stats(Side::A).rtcp_packets, 1);

        let due = relay.rtcp_timeout().expect("scheduled");
        let mut buf = [0u8; 256];
        assert_eq!(
            relay.poll_rtcp(t0, SystemTime::now(), &mut buf),
            None,
            "not yet"
        );
        let (side, fwd) = relay
            .poll_rtcp(due, SystemTime::now(), &mut buf)
            .expect("due");
        assert_eq!((side, fwd.to), (Side::A, a_rtcp));
        assert_eq!(relay.poll_rtcp(due, SystemTime::now(), &mut buf[..0]), None);
        let Some(Ok(RtcpPacket::Sr {
            ssrc,
            info,
            mut blocks,
        })) = Compound::new(&buf[..fwd.len]).next()
        else {
            panic!("an SR first")
        };
        assert_eq!((ssrc, info.packets, info.octets), (0xaaaa, 10, 1600));
        let b1 = blocks.next().expect("about A's source");
        assert_eq!(
            (b1.ssrc, b1.highest_seq, b1.cumulative_lost),
            (0x1234, 1, 0)
        );
        // A's answer gives the round trip.
        let block = ReportBlock {
            ssrc: 0xaaaa,
            lsr: info.ntp.middle(),
            ..ReportBlock::default()
        };
        let mut rr = report(0x1234, None, &[block]);
        let back = due + std::time::Duration::from_millis(30);
        assert_eq!(relay.handle_packet(back, a_rtcp, Side::A, &mut rr), None);
        let rtt = relay.leg_figures(Side::A).rtt.expect("measured").last;
        assert_eq!(rtt, std::time::Duration::from_millis(30));
    }
}
