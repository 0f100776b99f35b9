//! TDM over IP: an E1/T1 span carried over a packet network as a pseudowire.
//!
//! Two encapsulations, both sans-IO:
//!
//! - **CESoPSN** (RFC 5086, structure-aware), basic NxDS0 mode: every packet carries
//!   `frames_per_packet` TDM frames of the selected timeslots, octet-aligned, frame after
//!   frame, each frame's timeslots in ascending order (§4.1, §5.3 "basic NxDS0").
//! - **SAToP** (RFC 4553, structure-agnostic): every packet carries `frames_per_packet`
//!   whole 256-bit E1 frames including TS0. Toward the pseudowire we write a G.704 §2.3.2
//!   frame alignment pattern into TS0 (FAS `x0011011` in even frames, NFAS `x1A11111` in
//!   odd ones, Si = 1: no CRC-4); on receipt TS0 is checked the G.706 §4.1 way (three
//!   consecutive bad FAS lose alignment, FAS/NFAS/FAS regain it) and frames without
//!   alignment are played out as AIS.
//!
//! Each packet starts with the control word of RFC 4385 §3 / RFC 5086 §5.2 /
//! RFC 4553 §5.2 (`0000 L R M(2) | FRG(2) LEN(6) | sequence number(16)`), optionally
//! followed by an RTP header (RFC 5086 §5.2 / RFC 4553 §5.3: "may be used"; we place it
//! after the control word, never use its timestamp on receipt and default to none).
//!
//! [`Pseudowire`] joins a [`Packetizer`], a [`Depacketizer`] (jitter buffer) and the
//! packet clock (`frames_per_packet` x 125 us): at every [`Pseudowire::handle_timeout`]
//! tick it plays one packet's worth of frames out to the TDM side ([`TdmPort::receive`]),
//! takes as many from it ([`TdmPort::transmit`]) and queues one packet
//! ([`Pseudowire::poll_transmit`]). Buffers are allocated once.
//!
//! [`DChannel`] runs the D-channel of a PRI in TS16 through the software HDLC of
//! [`crate::hdlc`].
//!
//! Simplified: no fragmentation (FRG is always 00, fragmented packets are refused), no
//! CAS/signalling packets (M = 01), SAToP only for E1, octet-aligned (a SAToP packet must
//! start on a frame boundary, as ours do; no bit-level frame search), no CRC-4.

use std::time::{Duration, Instant};

use crate::hdlc::{self, BitOrder, Deframer, Framer, Limits};

/// Timeslots in an E1 frame (T1 uses the first 24 for CESoPSN).
pub const TIMESLOTS: usize = 32;
/// One TDM frame: octet `n` is timeslot `n`.
pub type Frame = [u8; TIMESLOTS];
/// The TDM frame period: 8000 frames per second.
pub const FRAME_PERIOD: Duration = Duration::from_micros(125);
/// Octets in the control word.
pub const CW_LEN: usize = 4;
/// Octets in the RTP fixed header we send (RFC 3550 §5.1, no CSRC).
pub const RTP_LEN: usize = 12;
/// The filler played out for a lost packet or a packet with L set: all ones, the AIS
/// pattern (RFC 4553 §6 and RFC 5086 §6: "all ones" unless configured otherwise).
pub const FILLER: u8 = 0xFF;
/// TS0 frame alignment signal with Si = 1 (G.704 §2.3.2, Table 4a: bits 2-8 `0011011`).
pub const FAS: u8 = 0x9B;
/// TS0 not-FAS word: Si = 1, bit 2 = 1, A (remote alarm) = 0, Sa4-Sa8 = 1.
pub const NFAS: u8 = 0xDF;
/// Ticks the clock catches up at most before it jumps (a shell that slept for long).
const MAX_CATCH_UP: u32 = 64;
/// Consecutive packets lost before the receiver enters the packet loss state (R bit).
const LOSS_ENTER: u32 = 3;
/// Consecutive packets played before it leaves it.
const LOSS_EXIT: u32 = 2;

/// The encapsulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// RFC 5086 basic NxDS0: the selected timeslots only.
    Cesopsn,
    /// RFC 4553: the whole E1 frame, TS0 included.
    Satop,
}

/// The RTP header's fields, when one is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpConfig {
    /// Payload type (dynamic, agreed out of band).
    pub payload_type: u8,
    /// Our SSRC.
    pub ssrc: u32,
}

/// A pseudowire's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The encapsulation.
    pub protocol: Protocol,
    /// CESoPSN: the timeslots carried (1-31), ascending, no repeats. Ignored for SAToP.
    pub timeslots: Vec<u8>,
    /// TDM frames per packet, 1-64.
    pub frames_per_packet: u16,
    /// The jitter buffer's depth: playout starts once this much is buffered.
    pub jitter_buffer: Duration,
    /// An RTP header after the control word, or none.
    pub rtp: Option<RtpConfig>,
    /// The first sequence number sent (RFC 5086 §5.2 suggests a random one).
    pub first_seq: u16,
}

impl Config {
    /// Octets of TDM data in one frame of a packet.
    pub fn octets_per_frame(&self) -> usize {
        match self.protocol {
            Protocol::Cesopsn => self.timeslots.len(),
            Protocol::Satop => TIMESLOTS,
        }
    }

    /// Octets of TDM data in one packet.
    pub fn payload_len(&self) -> usize {
        self.octets_per_frame() * usize::from(self.frames())
    }

    fn frames(&self) -> u16 {
        self.frames_per_packet.clamp(1, 64)
    }

    /// The packet period.
    pub fn packet_period(&self) -> Duration {
        FRAME_PERIOD * u32::from(self.frames())
    }

    /// Packets the jitter buffer holds before playout starts (at least one).
    pub fn depth_packets(&self) -> u32 {
        let p = self.packet_period().as_micros().max(1);
        u32::try_from(self.jitter_buffer.as_micros().div_ceil(p))
            .unwrap_or(u32::MAX)
            .clamp(1, 1024)
    }

    fn timeslot_ok(&self) -> bool {
        let mut last = 0u8;
        self.timeslots.iter().all(|&t| {
            let ok = (1..TIMESLOTS as u8).contains(&t) && t > last;
            last = t;
            ok
        })
    }
}

/// The control word (RFC 5086 §5.2; RFC 4553 §5.2 has the same layout with M reserved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ControlWord {
    /// L: the TDM data is invalid (local attachment circuit fault); payload may be absent.
    pub l: bool,
    /// R: the sender's receiver is in the packet loss state.
    pub r: bool,
    /// M: 00 normal, 10 RDI of the attachment circuit (with L = 0); 01, 11 reserved.
    pub m: u8,
    /// FRG: fragmentation, 00 in basic mode.
    pub frg: u8,
    /// LEN: the packet's length (CW, RTP, payload) when under 64 octets, else 0.
    pub len: u8,
    /// Sequence number.
    pub seq: u16,
}

impl ControlWord {
    /// M value for "RDI of the attachment circuit".
    pub const M_RDI: u8 = 0b10;

    /// The four octets on the wire.
    pub fn encode(&self) -> [u8; CW_LEN] {
        let s = self.seq.to_be_bytes();
        [
            u8::from(self.l) << 3 | u8::from(self.r) << 2 | (self.m & 3),
            (self.frg & 3) << 6 | (self.len & 0x3F),
            s[0],
            s[1],
        ]
    }

    /// Reads a control word; the first nibble must be 0 (RFC 4385 §3: it tells a PW
    /// control word from an IP header).
    pub fn decode(b: &[u8]) -> Result<ControlWord, PwError> {
        let b: &[u8; CW_LEN] = b
            .get(..CW_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(PwError::TooShort)?;
        if b[0] >> 4 != 0 {
            return Err(PwError::NotControlWord);
        }
        Ok(ControlWord {
            l: b[0] & 0x08 != 0,
            r: b[0] & 0x04 != 0,
            m: b[0] & 3,
            frg: b[1] >> 6,
            len: b[1] & 0x3F,
            seq: u16::from_be_bytes([b[2], b[3]]),
        })
    }
}

/// Why a received packet was dropped (peer input: counted, never fatal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PwError {
    /// Shorter than the control word (and RTP header).
    #[error("packet too short")]
    TooShort,
    /// The first nibble is not 0000.
    #[error("no control word")]
    NotControlWord,
    /// FRG is not 00 (fragmentation is not used in basic mode).
    #[error("fragmented packet")]
    Fragmented,
    /// LEN is larger than the packet, or smaller than its headers.
    #[error("bad length field")]
    BadLength,
    /// The RTP header is not RTP version 2 or runs past the packet.
    #[error("bad RTP header")]
    BadRtp,
    /// The payload is not the configured number of frames (and L is clear).
    #[error("payload of {0} octets, expected {1}")]
    PayloadSize(usize, usize),
}

/// What a good packet said about the far end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Its control word.
    pub cw: ControlWord,
    /// Whether it was stored for playout (false: late or duplicate).
    pub stored: bool,
}

/// Frames in, packets out.
#[derive(Debug, Clone)]
pub struct Packetizer {
    config: Config,
    seq: u16,
    rtp_ts: u32,
    rtp_seq: u16,
    frame_no: u64,
}

impl Packetizer {
    /// A packetizer for `config`.
    pub fn new(config: &Config) -> Self {
        Packetizer {
            config: config.clone(),
            seq: config.first_seq,
            rtp_ts: 0,
            rtp_seq: config.first_seq,
            frame_no: 0,
        }
    }

    /// Largest packet this packetizer writes.
    pub fn max_packet(&self) -> usize {
        CW_LEN + RTP_LEN + self.config.payload_len()
    }

    /// Writes one packet for `frames` (one packet's worth) into `out` (cleared first;
    /// reserve [`Packetizer::max_packet`] once and it never grows). `l`: our TDM side is
    /// down (the payload is left out, RFC 5086 §5.2); `r`: our receiver is in the
    /// packet loss state. SAToP frames get their TS0 written here.
    pub fn packetize(&mut self, frames: &mut [Frame], l: bool, r: bool, out: &mut Vec<u8>) {
        out.clear();
        let payload = if l {
            0
        } else {
            self.config.octets_per_frame() * frames.len()
        };
        let header = CW_LEN + self.config.rtp.map_or(0, |_| RTP_LEN);
        let total = header + payload;
        let cw = ControlWord {
            l,
            r,
            m: 0,
            frg: 0,
            // §5.2: LEN only when the packet is shorter than 64 octets (Ethernet padding).
            len: if total < 64 { total as u8 } else { 0 },
            seq: self.seq,
        };
        self.seq = self.seq.wrapping_add(1);
        out.extend_from_slice(&cw.encode());
        if let Some(rtp) = self.config.rtp {
            out.extend_from_slice(&[0x80, rtp.payload_type & 0x7F]);
            out.extend_from_slice(&self.rtp_seq.to_be_bytes());
            out.extend_from_slice(&self.rtp_ts.to_be_bytes());
            out.extend_from_slice(&rtp.ssrc.to_be_bytes());
            self.rtp_seq = self.rtp_seq.wrapping_add(1);
            // The timestamp counts 125 us frames (8 kHz).
            self.rtp_ts = self.rtp_ts.wrapping_add(frames.len() as u32);
        }
        for f in frames.iter_mut() {
            match self.config.protocol {
                Protocol::Cesopsn => {
                    if !l {
                        out.extend(self.config.timeslots.iter().map(|&t| f[usize::from(t)]));
                    }
                }
                Protocol::Satop => {
                    f[0] = if self.frame_no % 2 == 0 { FAS } else { NFAS };
                    if !l {
                        out.extend_from_slice(f);
                    }
                }
            }
            self.frame_no = self.frame_no.wrapping_add(1);
        }
    }
}

/// One jitter buffer slot: a packet's payload, by sequence number.
#[derive(Debug, Clone)]
struct Slot {
    seq: u16,
    full: bool,
    /// L was set: play filler.
    invalid: bool,
    data: Vec<u8>,
}

/// The jitter buffer's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Play {
    /// Nothing buffered: filler.
    Empty,
    /// Buffering up to the depth before playout starts at `next`.
    Filling { next: u16 },
    /// Playing `next` at the next tick.
    Playing { next: u16 },
}

/// Counters of a [`Depacketizer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxStats {
    /// Packets accepted into the jitter buffer.
    pub packets: u64,
    /// Packets dropped as malformed.
    pub malformed: u64,
    /// Packets that came after their playout time.
    pub late: u64,
    /// Packets received twice.
    pub duplicates: u64,
    /// Packets missing at their playout time (played as filler).
    pub lost: u64,
    /// Times the buffer ran dry or overflowed and started filling again
    /// (`underruns` + `overruns`).
    pub resyncs: u64,
    /// Times the buffer ran dry for as long as it is deep and started filling again.
    pub underruns: u64,
    /// Times a packet came too far ahead for the buffer, which started filling again
    /// from it.
    pub overruns: u64,
    /// SAToP: frames with a bad FAS while aligned.
    pub fas_errors: u64,
}

/// Packets in, frames out, through a jitter buffer ordered by sequence number.
#[derive(Debug, Clone)]
pub struct Depacketizer {
    config: Config,
    slots: Vec<Slot>,
    depth: u32,
    state: Play,
    highest: u16,
    lost_run: u32,
    played_run: u32,
    loss_state: bool,
    far_r: bool,
    far_l: bool,
    far_rdi: bool,
    aligned: bool,
    fas_bad: u8,
    fas_good: u8,
    rx_frame: u64,
    stats: RxStats,
}

/// Signed distance from `b` to `a` in sequence-number space.
fn seq_diff(a: u16, b: u16) -> i32 {
    i32::from(a.wrapping_sub(b) as i16)
}

impl Depacketizer {
    /// A depacketizer for `config`, with a buffer of twice the depth (and some margin).
    pub fn new(config: &Config) -> Self {
        let depth = config.depth_packets();
        let n = (2 * depth as usize + 4).next_power_of_two();
        let slot = Slot {
            seq: 0,
            full: false,
            invalid: false,
            data: vec![FILLER; config.payload_len()],
        };
        Depacketizer {
            config: config.clone(),
            slots: vec![slot; n],
            depth,
            state: Play::Empty,
            highest: 0,
            lost_run: 0,
            played_run: 0,
            loss_state: true,
            far_r: false,
            far_l: false,
            far_rdi: false,
            aligned: false,
            fas_bad: 0,
            fas_good: 0,
            rx_frame: 0,
            stats: RxStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> RxStats {
        self.stats
    }

    /// Whether our receiver is in the packet loss state (RFC 5086 §5.2 R bit): nothing
    /// received yet, or `LOSS_ENTER` packets in a row lost, until `LOSS_EXIT` played.
    pub fn loss_state(&self) -> bool {
        self.loss_state
    }

    /// The far end's last R bit: it does not receive us.
    pub fn far_loss(&self) -> bool {
        self.far_r
    }

    /// The far end's last L bit: its TDM side is down.
    pub fn far_fault(&self) -> bool {
        self.far_l
    }

    /// The far end's last M = 10: RDI on its attachment circuit.
    pub fn far_rdi(&self) -> bool {
        self.far_rdi
    }

    /// SAToP: whether the received TS0 is in frame alignment (CESoPSN: always true).
    pub fn frame_aligned(&self) -> bool {
        self.config.protocol == Protocol::Cesopsn || self.aligned
    }

    fn index(&self, seq: u16) -> usize {
        usize::from(seq) & (self.slots.len() - 1)
    }

    /// Takes one packet off the wire.
    pub fn receive(&mut self, packet: &[u8]) -> Result<Received, PwError> {
        let r = self.parse(packet);
        if r.is_err() {
            self.stats.malformed += 1;
        }
        r
    }

    fn parse(&mut self, packet: &[u8]) -> Result<Received, PwError> {
        let cw = ControlWord::decode(packet)?;
        if cw.frg != 0 {
            return Err(PwError::Fragmented);
        }
        let mut end = packet.len();
        if cw.len != 0 {
            // §5.2: LEN counts the packet without the padding a short one may carry.
            end = usize::from(cw.len);
            if end > packet.len() || end < CW_LEN {
                return Err(PwError::BadLength);
            }
        }
        let mut start = CW_LEN;
        if self.config.rtp.is_some() {
            let h = packet.get(start..end).ok_or(PwError::TooShort)?;
            if h.len() < RTP_LEN || h[0] >> 6 != 2 {
                return Err(PwError::BadRtp);
            }
            start += RTP_LEN + 4 * usize::from(h[0] & 0x0F);
            if h[0] & 0x10 != 0 {
                let x = packet.get(start + 2..start + 4).ok_or(PwError::BadRtp)?;
                start += 4 + 4 * usize::from(u16::from_be_bytes([x[0], x[1]]));
            }
            if start > end {
                return Err(PwError::BadRtp);
            }
        }
        let payload = &packet[start..end];
        let want = self.config.payload_len();
        if !cw.l && payload.len() != want {
            return Err(PwError::PayloadSize(payload.len(), want));
        }
        self.far_r = cw.r;
        self.far_l = cw.l;
        self.far_rdi = !cw.l && cw.m == ControlWord::M_RDI;
        let stored = self.store(cw, payload);
        if stored {
            self.stats.packets += 1;
        }
        Ok(Received { cw, stored })
    }

    fn store(&mut self, cw: ControlWord, payload: &[u8]) -> bool {
        let cap = self.slots.len() as i32;
        match self.state {
            Play::Empty => {
                self.state = Play::Filling { next: cw.seq };
                self.highest = cw.seq;
                self.clear();
            }
            Play::Filling { next } => {
                let d = seq_diff(cw.seq, next);
                if d < 0 && seq_diff(self.highest, cw.seq) < cap {
                    // An earlier packet overtaken by a later one: start from it.
                    self.state = Play::Filling { next: cw.seq };
                } else if d >= cap {
                    self.resync(cw.seq);
                }
            }
            Play::Playing { next } => {
                let d = seq_diff(cw.seq, next);
                if d < 0 {
                    self.stats.late += 1;
                    return false;
                }
                if d >= cap {
                    self.resync(cw.seq);
                }
            }
        }
        if seq_diff(cw.seq, self.highest) > 0 {
            self.highest = cw.seq;
        }
        let i = self.index(cw.seq);
        let slot = &mut self.slots[i];
        if slot.full && slot.seq == cw.seq {
            self.stats.duplicates += 1;
            return false;
        }
        slot.seq = cw.seq;
        slot.full = true;
        slot.invalid = cw.l;
        if !cw.l {
            slot.data.copy_from_slice(payload);
        }
        true
    }

    fn clear(&mut self) {
        for s in &mut self.slots {
            s.full = false;
        }
    }

    fn resync(&mut self, seq: u16) {
        self.stats.resyncs += 1;
        self.stats.overruns += 1;
        self.clear();
        self.state = Play::Filling { next: seq };
        self.highest = seq;
    }

    /// Plays one packet's worth of frames into `out` (`frames_per_packet` of them):
    /// the next packet in sequence, or filler while filling, for a lost packet and
    /// for one sent with L. Timeslots not carried are left as they are.
    pub fn play(&mut self, out: &mut [Frame]) {
        let mut next = match self.state {
            Play::Empty => None,
            Play::Filling { next } => {
                let span = seq_diff(self.highest, next) + 1;
                if span >= self.depth as i32 {
                    Some(next)
                } else {
                    None
                }
            }
            Play::Playing { next } => Some(next),
        };
        let mut slot_index = None;
        if let Some(n) = next {
            let i = self.index(n);
            if self.slots[i].full && self.slots[i].seq == n {
                slot_index = Some(i);
            }
        }
        match (next, slot_index) {
            (Some(_), Some(_)) => {
                self.lost_run = 0;
                self.played_run = self.played_run.saturating_add(1);
                if self.played_run >= LOSS_EXIT {
                    self.loss_state = false;
                }
            }
            (Some(_), None) => {
                self.stats.lost += 1;
                self.lost_run = self.lost_run.saturating_add(1);
                self.played_run = 0;
            }
            (None, _) => {
                self.lost_run = self.lost_run.saturating_add(1);
                self.played_run = 0;
            }
        }
        if self.lost_run >= LOSS_ENTER {
            self.loss_state = true;
        }
        let ops = self.config.octets_per_frame();
        let (data, valid) = match slot_index {
            Some(i) => {
                self.slots[i].full = false;
                (Some(i), !self.slots[i].invalid)
            }
            None => (None, false),
        };
        for (k, f) in out.iter_mut().enumerate() {
            let src = data
                .filter(|_| valid)
                .and_then(|i| self.slots[i].data.get(k * ops..(k + 1) * ops));
            match self.config.protocol {
                Protocol::Cesopsn => {
                    for (j, &t) in self.config.timeslots.iter().enumerate() {
                        f[usize::from(t)] = src.map_or(FILLER, |s| s[j]);
                    }
                }
                Protocol::Satop => {
                    match src {
                        Some(s) => f.copy_from_slice(s),
                        None => f.fill(FILLER),
                    }
                    self.align(f);
                }
            }
        }
        if let Some(n) = next.as_mut() {
            *n = n.wrapping_add(1);
            // Dry for as long as the buffer is deep: fill it again before playing.
            self.state = if self.lost_run >= self.depth.max(LOSS_ENTER) {
                self.stats.resyncs += 1;
                self.stats.underruns += 1;
                self.clear();
                Play::Empty
            } else {
                Play::Playing { next: *n }
            };
        }
    }

    /// G.706 §4.1 frame alignment on SAToP frames that start on frame boundaries:
    /// alignment is lost after three consecutive bad FAS words and regained after a
    /// FAS, an NFAS with bit 2 = 1 and a FAS again; unaligned frames play out as AIS.
    fn align(&mut self, f: &mut Frame) {
        let even = self.rx_frame % 2 == 0;
        self.rx_frame = self.rx_frame.wrapping_add(1);
        let fas_ok = f[0] & 0x7F == FAS & 0x7F;
        let nfas_ok = f[0] & 0x40 != 0;
        if self.aligned {
            if even {
                if fas_ok {
                    self.fas_bad = 0;
                } else {
                    self.stats.fas_errors += 1;
                    self.fas_bad += 1;
                    if self.fas_bad >= 3 {
                        self.aligned = false;
                        self.fas_good = 0;
                    }
                }
            }
        } else {
            // Search: the phase follows the FAS we find.
            match self.fas_good {
                0 | 2 if fas_ok => {
                    if self.fas_good == 2 {
                        self.aligned = true;
                        self.fas_bad = 0;
                    } else {
                        self.fas_good = 1;
                    }
                    self.rx_frame = 1;
                }
                1 if nfas_ok => self.fas_good = 2,
                _ => self.fas_good = 0,
            }
        }
        if !self.aligned {
            f.fill(FILLER);
        }
    }
}

/// The TDM side of a [`Pseudowire`]: one call per 125 us frame each way.
pub trait TdmPort {
    /// Fills the next frame toward the pseudowire (timeslots not carried are ignored;
    /// SAToP's TS0 is written by the packetizer).
    fn transmit(&mut self, frame: &mut Frame);
    /// Takes the next frame played out of the pseudowire.
    fn receive(&mut self, frame: &Frame);
}

/// Counters of a [`Pseudowire`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PwStats {
    /// Packets sent.
    pub sent: u64,
    /// Times the clock jumped instead of catching up.
    pub clock_jumps: u64,
    /// The receive side's counters.
    pub rx: RxStats,
}

/// A pseudowire endpoint: packetizer, jitter buffer and packet clock.
#[derive(Debug, Clone)]
pub struct Pseudowire {
    config: Config,
    tx: Packetizer,
    rx: Depacketizer,
    period: Duration,
    next_tick: Instant,
    tx_frames: Vec<Frame>,
    rx_frames: Vec<Frame>,
    out: Vec<Vec<u8>>,
    out_head: usize,
    out_len: usize,
    local_fault: bool,
    sent: u64,
    clock_jumps: u64,
}

/// Packets queued at most between two [`Pseudowire::poll_transmit`] drains.
const OUT_QUEUE: usize = 8;

impl Pseudowire {
    /// A pseudowire whose first packet is due at `now`. A config out of range is clamped
    /// (frames 1-64); CESoPSN timeslots must be 1-31, ascending, else `None`.
    pub fn new(config: Config, now: Instant) -> Option<Self> {
        if config.protocol == Protocol::Cesopsn
            && (config.timeslots.is_empty() || !config.timeslot_ok())
        {
            return None;
        }
        let tx = Packetizer::new(&config);
        let max = tx.max_packet();
        let frames = usize::from(config.frames());
        Some(Pseudowire {
            rx: Depacketizer::new(&config),
            period: config.packet_period(),
            next_tick: now,
            tx_frames: vec![[FILLER; TIMESLOTS]; frames],
            rx_frames: vec![[FILLER; TIMESLOTS]; frames],
            out: (0..OUT_QUEUE).map(|_| Vec::with_capacity(max)).collect(),
            out_head: 0,
            out_len: 0,
            local_fault: false,
            sent: 0,
            clock_jumps: 0,
            tx,
            config,
        })
    }

    /// The settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Our TDM side is down (L bit, RFC 5086 §5.2) or up again.
    pub fn set_local_fault(&mut self, fault: bool) {
        self.local_fault = fault;
    }

    /// The receive side (far-end flags, loss state, counters).
    pub fn receiver(&self) -> &Depacketizer {
        &self.rx
    }

    /// Counters.
    pub fn stats(&self) -> PwStats {
        PwStats {
            sent: self.sent,
            clock_jumps: self.clock_jumps,
            rx: self.rx.stats(),
        }
    }

    /// A packet from the far end.
    pub fn handle_input(&mut self, _now: Instant, packet: &[u8]) -> Result<Received, PwError> {
        self.rx.receive(packet)
    }

    /// The next packet clock tick.
    pub fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next_tick)
    }

    /// Runs every tick due by `now`: plays frames out to `tdm`, takes frames from it and
    /// queues a packet for each. Far behind (a stalled shell), the clock jumps to `now`.
    pub fn handle_timeout(&mut self, now: Instant, tdm: &mut impl TdmPort) {
        let mut n = 0;
        while now >= self.next_tick {
            if n == MAX_CATCH_UP {
                self.clock_jumps += 1;
                self.next_tick = now + self.period;
                break;
            }
            self.tick(tdm);
            self.next_tick += self.period;
            n += 1;
        }
    }

    fn tick(&mut self, tdm: &mut impl TdmPort) {
        self.rx.play(&mut self.rx_frames);
        for f in &self.rx_frames {
            tdm.receive(f);
        }
        for f in &mut self.tx_frames {
            tdm.transmit(f);
        }
        if self.out_len == OUT_QUEUE {
            // Nobody drained: the oldest packet is dropped.
            self.out_head = (self.out_head + 1) % OUT_QUEUE;
            self.out_len -= 1;
        }
        let i = (self.out_head + self.out_len) % OUT_QUEUE;
        self.tx.packetize(
            &mut self.tx_frames,
            self.local_fault,
            self.rx.loss_state(),
            &mut self.out[i],
        );
        self.out_len += 1;
        self.sent += 1;
    }

    /// The next packet to send, oldest first.
    pub fn poll_transmit(&mut self) -> Option<&[u8]> {
        if self.out_len == 0 {
            return None;
        }
        let i = self.out_head;
        self.out_head = (self.out_head + 1) % OUT_QUEUE;
        self.out_len -= 1;
        Some(&self.out[i])
    }
}

/// A PRI D-channel in one timeslot (TS16 on E1): LAPD frames HDLC-framed into the
/// timeslot's octets with idle flags between them, and frames found in the received
/// octets with their FCS checked (Q.921 §2). Bits go most significant first, as a PCM
/// octet is sent.
#[derive(Debug, Clone)]
pub struct DChannel {
    framer: Framer,
    deframer: Deframer,
}

impl Default for DChannel {
    fn default() -> Self {
        DChannel {
            framer: Framer::new(BitOrder::MsbFirst),
            deframer: Deframer::new(BitOrder::MsbFirst, Limits::LAPD),
        }
    }
}

impl DChannel {
    /// Queues a frame (address to last information octet; the FCS is added).
    pub fn push_frame(&mut self, frame: &[u8]) {
        self.framer.push_frame(frame);
    }

    /// Octets of queued frames not yet sent.
    pub fn pending(&self) -> usize {
        self.framer.pending()
    }

    /// The next octet for the timeslot.
    pub fn next_octet(&mut self) -> u8 {
        let mut o = [hdlc::FLAG];
        self.framer.fill(&mut o);
        o[0]
    }

    /// Takes a received octet of the timeslot; a complete good frame (without FCS) goes
    /// to `on_frame`. Frames with a bad FCS or shape are counted and dropped.
    pub fn receive_octet(&mut self, octet: u8, mut on_frame: impl FnMut(&[u8])) {
        self.deframer.feed(&[octet], |r| {
            if let Ok(f) = r {
                on_frame(f);
            }
        });
    }

    /// The deframer's counters.
    pub fn stats(&self) -> hdlc::DeframeStats {
        self.deframer.stats()
    }
}

#[cfg(test)]
mod tests;
