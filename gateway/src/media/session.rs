//! The per-call media task: the tokio shell around [`Relay`] and the tone source.
//!
//! One task per call owns the call's sockets (RTP and RTCP on side A, and on side B when
//! the call has an egress leg), waits on them, on its command channel and on a pacing
//! timer with one `select!`, and hands every datagram to the sans-IO [`Relay`]. What the
//! task does with a datagram depends on its [`Mode`]: relay it to the other side, echo it,
//! or only count it while a tone is played or the call is on hold.
//!
//! The task reads into one reusable buffer and sends with `try_send_to`: nothing on the
//! packet path allocates or waits. A send that fails (a full socket buffer, or
//! `ECONNREFUSED` after an ICMP port unreachable) loses that packet only.
//!
//! DTMF (RFC 4733): a side told to take telephone-events out of band
//! ([`SessionHandle::set_dtmf`]) has its events decoded instead of relayed, and each
//! digit goes to the call core as a [`MediaEvent`]; [`SessionHandle::send_dtmf`] plays a
//! digit toward a side as RFC 4733 packets, numbered inside the stream the relay emits
//! there ([`Relay::originate`]).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, Interval, MissedTickBehavior};
use zerocopy::FromBytes;

use super::dtmf::{DtmfDetector, DtmfGenerator, DtmfPolicy, EVENT_CLOCK_RATE, Numbering};
use super::g711::Law;
use super::inband_dtmf::{DetectorConfig, DtmfTone, InbandDetector, InbandGenerator};
use super::ports::BoundPair;
use super::quality::{CodecImpairment, Direction};
use super::relay::{PtMap, Relay, RelayConfig, Side};
use super::rtcp::LegFigures;
use super::rtp::{RtpHeader, RtpPacket, looks_like_rtcp};
use super::stats::StreamStats;
use super::tone::{RtpSender, SAMPLE_RATE, ToneGenerator};

/// Receive buffer: an Ethernet MTU's datagram with room to spare.
const BUF_LEN: usize = 2048;
/// Datagrams read from one socket per wake-up, so one busy socket cannot starve the rest.
const BURST: usize = 32;
/// Tone level: a quarter of full scale, about -12 dBov.
const TONE_AMPLITUDE: f32 = 0.25;
/// Bounds for a tone's packetisation time, in milliseconds.
const PTIME_RANGE: (u16, u16) = (5, 120);
/// Interval between the RFC 4733 packets of a generated digit (the usual 20 ms ptime).
const DTMF_PTIME_MS: u16 = 20;
/// Digits waiting to be played toward one side; more are dropped (signalling does not
/// deliver faster than a person dials, so this is never reached in a call).
const DTMF_QUEUE: usize = 32;

/// What the session does with the media.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Relay A <-> B through [`Relay`] (needs side B).
    Relay,
    /// Play a tone toward side A's peer (latched or expected address), every `ptime_ms`;
    /// packets from either side are counted, not forwarded.
    Tone {
        /// Tone frequency.
        hz: f32,
        /// RTP payload type of the packets (0 for PCMU, 8 for PCMA, or as negotiated).
        payload_type: u8,
        /// G.711 law of the payload.
        law: Law,
        /// Packetisation time (clamped to 5-120 ms).
        ptime_ms: u16,
    },
    /// Send the RTP arriving on side A back to side A's peer, with our SSRC.
    Echo,
    /// Neither send nor forward (hold, before answer); packets are counted.
    Silent,
}

/// New peer addresses for one side (re-INVITE, a new early dialog, H.245 OLC ack).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SideUpdate {
    /// The peer's RTP address, if known.
    pub expected: Option<SocketAddr>,
    /// The peer's RTCP address, if known (the RTP address with rtcp-mux).
    pub expected_rtcp: Option<SocketAddr>,
}

/// What a session tells the call core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaEvent {
    /// A DTMF digit taken out of the RFC 4733 events arriving on `side`.
    Dtmf {
        /// The call the session belongs to.
        call: u64,
        /// The side the events arrived on.
        side: Side,
        /// `0-9 * # A-D`.
        digit: char,
        /// Its length.
        duration_ms: u32,
    },
}

/// Where a session sends its [`MediaEvent`]s, and the call they are about.
#[derive(Debug, Clone)]
pub struct EventSink {
    /// The call.
    pub call: u64,
    /// The channel to the call core.
    pub tx: mpsc::UnboundedSender<MediaEvent>,
}

/// What a session counted, handed back by [`SessionHandle::close`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionReport {
    /// Packets received on side A.
    pub a: StreamStats,
    /// Packets received on side B.
    pub b: StreamStats,
    /// Datagrams (RTP and RTCP) sent toward side A's peer.
    pub sent_a: u64,
    /// Datagrams (RTP and RTCP) sent toward side B's peer.
    pub sent_b: u64,
    /// Datagrams the OS refused to send (lost, the session went on).
    pub send_errors: u64,
    /// DTMF digits taken out of the events arriving on side A.
    pub dtmf_in_a: u64,
    /// DTMF digits taken out of the events arriving on side B.
    pub dtmf_in_b: u64,
    /// DTMF digits played toward side A's peer as RFC 4733 events.
    pub dtmf_out_a: u64,
    /// DTMF digits played toward side B's peer as RFC 4733 events.
    pub dtmf_out_b: u64,
    /// Side A's leg as RTCP showed it: round trip, the peer's reports on what we send it.
    pub leg_a: LegFigures,
    /// Side B's leg, the same way.
    pub leg_b: LegFigures,
}

impl SessionReport {
    /// Packets received on `side` and the leg figures of `side`.
    fn side(&self, side: Side) -> (&StreamStats, &LegFigures) {
        match side {
            Side::A => (&self.a, &self.leg_a),
            Side::B => (&self.b, &self.leg_b),
        }
    }

    /// The E-model estimate (R, MOS) of the audio arriving on `from` as heard by the other
    /// side's peer (see [`super::quality::estimate`]): our loss and jitter on arrival, the
    /// far peer's reported loss and jitter, both legs' round trips. `None` when nothing
    /// arrived on `from`.
    pub fn quality(&self, from: Side, codec: CodecImpairment) -> Option<(f64, f64)> {
        let (stats, leg_in) = self.side(from);
        let (_, leg_out) = self.side(from.other());
        if stats.packets == 0 {
            return None;
        }
        let expected = stats.packets as f64 + stats.lost.max(0) as f64;
        let remote = leg_out.remote.unwrap_or_default();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
        let d = Direction {
            loss_in_pct: stats.lost.max(0) as f64 * 100.0 / expected,
            loss_out_pct: remote.loss_pct,
            rtt_in_ms: leg_in.rtt.map(|r| ms(r.avg)),
            rtt_out_ms: leg_out.rtt.map(|r| ms(r.avg)),
            jitter_ms: stats.jitter * 1000.0 / f64::from(stats.clock_rate.max(1000))
                + remote.jitter_ms,
        };
        Some(super::quality::estimate(codec, &d))
    }
}

/// Starts media tasks. See [`MediaSession::spawn`].
#[derive(Debug)]
pub struct MediaSession;

impl MediaSession {
    /// Starts the task for one call. `a` faces the ingress leg, `b` (absent for a built-in
    /// endpoint such as a tone or echo test) the egress leg. Must be called inside a tokio
    /// runtime.
    pub fn spawn(
        a: BoundPair,
        b: Option<BoundPair>,
        config: RelayConfig,
        mode: Mode,
    ) -> SessionHandle {
        Self::start(a, b, config, mode, None)
    }

    /// [`MediaSession::spawn`] for a session that reports [`MediaEvent`]s (DTMF digits
    /// taken out of the media) to `events`.
    pub fn spawn_with_events(
        a: BoundPair,
        b: Option<BoundPair>,
        config: RelayConfig,
        mode: Mode,
        events: EventSink,
    ) -> SessionHandle {
        Self::start(a, b, config, mode, Some(events))
    }

    fn start(
        a: BoundPair,
        b: Option<BoundPair>,
        config: RelayConfig,
        mode: Mode,
        events: Option<EventSink>,
    ) -> SessionHandle {
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = SessionHandle {
            tx,
            local_a: a.local,
            local_b: b.as_ref().map(|p| p.local),
        };
        tokio::spawn(run(a, b, config, mode, events, rx));
        handle
    }
}

/// Controls one session's task. Cloning gives another handle to the same task; the task
/// ends on [`SessionHandle::close`] or when every handle is dropped.
#[derive(Debug, Clone)]
pub struct SessionHandle {
    tx: mpsc::UnboundedSender<Command>,
    local_a: SocketAddr,
    local_b: Option<SocketAddr>,
}

impl SessionHandle {
    /// Our RTP address on `side` (RTCP is on the next port); `None` for an absent side B.
    pub fn local(&self, side: Side) -> Option<SocketAddr> {
        match side {
            Side::A => Some(self.local_a),
            Side::B => self.local_b,
        }
    }

    /// Points `side` at new peer addresses and releases its latch. Does not wait.
    pub fn repoint(&self, side: Side, update: SideUpdate) {
        self.command(Command::Repoint(side, update));
    }

    /// Replaces the payload-type map between A and B. Does not wait.
    pub fn set_pt_map(&self, map: PtMap) {
        self.command(Command::PtMap(map));
    }

    /// Switches what the session does with the media. Does not wait.
    pub fn set_mode(&self, mode: Mode) {
        self.command(Command::Mode(mode));
    }

    /// How `side` handles RFC 4733 telephone-events: their payload type there, and
    /// whether those arriving on it are taken out of band (decoded and reported as
    /// [`MediaEvent::Dtmf`] instead of relayed). Does not wait.
    pub fn set_dtmf(&self, side: Side, policy: DtmfPolicy) {
        self.command(Command::Dtmf(side, policy));
    }

    /// Plays `digit` for `duration_ms` (0: the default 100 ms) toward `side`'s peer as
    /// RFC 4733 events with that side's telephone-event payload type, after the digits
    /// already waiting. Ignored when the side has no telephone-event payload type. Does
    /// not wait.
    pub fn send_dtmf(&self, side: Side, digit: char, duration_ms: u32) {
        self.command(Command::SendDtmf(side, digit, duration_ms));
    }

    /// What the session counted so far; zeros when the task is gone.
    pub async fn report(&self) -> SessionReport {
        let (reply, report) = oneshot::channel();
        if self.tx.send(Command::Report(reply)).is_err() {
            return SessionReport::default();
        }
        report.await.unwrap_or_default()
    }

    /// Whether the task still runs.
    pub fn is_running(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Stops the task, drops its sockets and returns what it counted. A task that is
    /// already gone reports zeros.
    pub async fn close(self) -> SessionReport {
        let (reply, report) = oneshot::channel();
        if self.tx.send(Command::Close(reply)).is_err() {
            return SessionReport::default();
        }
        report.await.unwrap_or_default()
    }

    fn command(&self, command: Command) {
        // A task that has ended has nothing left to change.
        let _ = self.tx.send(command);
    }
}

/// Messages from the handles to the task.
#[derive(Debug)]
enum Command {
    Repoint(Side, SideUpdate),
    PtMap(PtMap),
    Mode(Mode),
    Dtmf(Side, DtmfPolicy),
    SendDtmf(Side, char, u32),
    Report(oneshot::Sender<SessionReport>),
    Close(oneshot::Sender<SessionReport>),
}

/// Which of a side's two sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    Rtp,
    Rtcp,
}

/// The session's sockets, registered with the runtime.
struct Sockets {
    a: [UdpSocket; 2],
    b: Option<[UdpSocket; 2]>,
}

impl Sockets {
    fn new(a: BoundPair, b: Option<BoundPair>) -> io::Result<Self> {
        let pair = |p: BoundPair| -> io::Result<[UdpSocket; 2]> {
            Ok([UdpSocket::from_std(p.rtp)?, UdpSocket::from_std(p.rtcp)?])
        };
        Ok(Sockets {
            a: pair(a)?,
            b: b.map(pair).transpose()?,
        })
    }

    fn get(&self, side: Side, port: Port) -> Option<&UdpSocket> {
        let pair = match side {
            Side::A => Some(&self.a),
            Side::B => self.b.as_ref(),
        }?;
        Some(&pair[port as usize])
    }
}

/// What woke the task.
enum Event {
    Readable(Side, Port, io::Result<()>),
    Command(Option<Command>),
    Tick,
    /// A DTMF packet is due, or a received event timed out.
    Deadline,
}

/// The task: wait, dispatch, repeat.
async fn run(
    a: BoundPair,
    b: Option<BoundPair>,
    config: RelayConfig,
    mode: Mode,
    events: Option<EventSink>,
    mut rx: mpsc::UnboundedReceiver<Command>,
) {
    let mut engine = Engine::new(config, mode, events);
    let sockets = match Sockets::new(a, b) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "media session: cannot register sockets, no media");
            return serve_commands(&mut rx, &mut engine).await;
        }
    };
    let mut ticker = engine.ticker();
    let reply = loop {
        let deadline = engine.deadline();
        let event = tokio::select! {
            r = readable(sockets.get(Side::A, Port::Rtp)) => Event::Readable(Side::A, Port::Rtp, r),
            r = readable(sockets.get(Side::A, Port::Rtcp)) => Event::Readable(Side::A, Port::Rtcp, r),
            r = readable(sockets.get(Side::B, Port::Rtp)) => Event::Readable(Side::B, Port::Rtp, r),
            r = readable(sockets.get(Side::B, Port::Rtcp)) => Event::Readable(Side::B, Port::Rtcp, r),
            command = rx.recv() => Event::Command(command),
            () = tick(ticker.as_mut()) => Event::Tick,
            () = sleep_until(deadline) => Event::Deadline,
        };
        match event {
            Event::Readable(side, port, Ok(())) => engine.drain(&sockets, side, port),
            Event::Readable(_, _, Err(e)) => {
                // Only when the runtime's I/O driver is gone: the process is stopping.
                tracing::debug!(error = %e, "media session: socket readiness failed, stopping");
                break None;
            }
            Event::Command(None) => break None,
            Event::Command(Some(Command::Close(reply))) => break Some(reply),
            Event::Command(Some(command)) => {
                if engine.apply(command) {
                    ticker = engine.ticker();
                }
            }
            Event::Tick => {
                if engine.on_tick(&sockets) {
                    ticker = engine.ticker();
                }
            }
            Event::Deadline => engine.on_deadline(&sockets),
        }
    };
    // The ports are free again before the caller hears the session is closed.
    drop(sockets);
    if let Some(reply) = reply {
        let _ = reply.send(engine.report());
    }
}

/// Without sockets the task still answers its handle, so `close` reports.
async fn serve_commands(rx: &mut mpsc::UnboundedReceiver<Command>, engine: &mut Engine) {
    while let Some(command) = rx.recv().await {
        match command {
            Command::Close(reply) => {
                let _ = reply.send(engine.report());
                return;
            }
            other => {
                engine.apply(other);
            }
        }
    }
}

/// Readiness of a socket that may be absent (no side B): an absent one never wakes.
async fn readable(socket: Option<&UdpSocket>) -> io::Result<()> {
    match socket {
        Some(s) => s.readable().await,
        None => std::future::pending().await,
    }
}

/// The next pacing tick, or never when nothing is paced.
async fn tick(ticker: Option<&mut Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Until `deadline`, or never.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Digits waiting to be played toward one side, without allocation.
#[derive(Debug, Clone, Copy)]
struct DigitQueue {
    items: [(char, u32); DTMF_QUEUE],
    head: usize,
    len: usize,
}

impl DigitQueue {
    fn new() -> Self {
        DigitQueue {
            items: [('0', 0); DTMF_QUEUE],
            head: 0,
            len: 0,
        }
    }

    fn push(&mut self, digit: (char, u32)) -> bool {
        if self.len == DTMF_QUEUE {
            return false;
        }
        self.items[(self.head + self.len) % DTMF_QUEUE] = digit;
        self.len += 1;
        true
    }

    fn pop(&mut self) -> Option<(char, u32)> {
        if self.len == 0 {
            return None;
        }
        let d = self.items[self.head];
        self.head = (self.head + 1) % DTMF_QUEUE;
        self.len -= 1;
        Some(d)
    }
}

/// PCM scratch for in-band DTMF: 120 ms at 8 kHz, the longest G.711 packet handled at
/// once (longer payloads are taken in pieces).
const INBAND_PCM: usize = 960;

/// In-band DTMF on a side whose audio carries the tones (ITU-T Q.23/Q.24).
struct Inband {
    detector: InbandDetector,
    generator: InbandGenerator,
    pcm: [i16; INBAND_PCM],
    /// The G.711 payload type of the audio sent toward the side, and when the last
    /// packet went: while a digit plays and nothing is relayed there (an RFC 4733
    /// sender stops its audio during an event), the task sends the tones itself.
    audio_pt: Option<u8>,
    last_sent: Option<Instant>,
}

/// Packetisation of the tone packets the task sends itself.
const INBAND_PTIME: Duration = Duration::from_millis(20);

impl std::fmt::Debug for Inband {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inband").finish_non_exhaustive()
    }
}

/// The payload type, G.711 law and payload range of an RTP packet whose payload is
/// G.711 by its static payload type (RFC 3551 Table 4: 0 u-law, 8 A-law): in-band DTMF
/// is only read from and written into G.711 audio. `None` for RTCP, anything that does
/// not parse, and other payload types.
fn g711_payload(packet: &[u8]) -> Option<(u8, Law, std::ops::Range<usize>)> {
    if looks_like_rtcp(packet) {
        return None;
    }
    let p = RtpPacket::parse(packet).ok()?;
    let pt = p.header.payload_type();
    let law = match pt {
        0 => Law::Pcmu,
        8 => Law::Pcma,
        _ => return None,
    };
    let start = p.header_len();
    Some((pt, law, start..start + p.payload.len()))
}

/// DTMF on one side: what the call core asked for, the events arriving there, the digit
/// being played toward it and those waiting.
#[derive(Debug)]
struct SideDtmf {
    policy: DtmfPolicy,
    detector: DtmfDetector,
    playing: Option<DtmfGenerator>,
    /// When the next packet toward the side is due.
    next_at: Option<Instant>,
    waiting: DigitQueue,
    /// Tone detection and generation when the side carries DTMF in-band.
    inband: Option<Box<Inband>>,
    /// Digits taken out of the events arriving on the side.
    received: u64,
    /// Digits played toward the side.
    played: u64,
}

impl SideDtmf {
    fn new() -> Self {
        SideDtmf {
            policy: DtmfPolicy::default(),
            detector: DtmfDetector::new(EVENT_CLOCK_RATE),
            playing: None,
            next_at: None,
            waiting: DigitQueue::new(),
            inband: None,
            received: 0,
            played: 0,
        }
    }

    /// The payload type of the events taken out of this side, if it extracts.
    fn extracting(&self) -> Option<u8> {
        self.policy
            .telephone_event_pt
            .filter(|_| self.policy.extract)
    }

    /// Starts the next waiting digit, if any, at `at`.
    fn start_next(&mut self, at: Instant) {
        self.playing = None;
        self.next_at = None;
        let Some(pt) = self.policy.telephone_event_pt else {
            return;
        };
        while let Some((digit, duration_ms)) = self.waiting.pop() {
            if let Some(g) =
                DtmfGenerator::new(digit, duration_ms, pt, EVENT_CLOCK_RATE, DTMF_PTIME_MS)
            {
                self.playing = Some(g);
                self.next_at = Some(at);
                self.played += 1;
                return;
            }
        }
    }
}

/// The tone being played and the stream carrying it.
struct Playing {
    tone: ToneGenerator,
    ptime: Duration,
}

/// Everything the task holds apart from the sockets.
struct Engine {
    relay: Relay,
    mode: Mode,
    playing: Option<Playing>,
    /// Our stream toward side A for tones, with the SSRC the relay emits toward A.
    sender: RtpSender,
    /// When the last tone packet went out and how many samples it held, to move the
    /// timestamp over a pause.
    last_tone: Option<(Instant, u32)>,
    /// SSRC we emit toward side A.
    a_ssrc: u32,
    sent: [u64; 2],
    send_errors: u64,
    /// DTMF per side, indexed like `sent`.
    dtmf: [SideDtmf; 2],
    events: Option<EventSink>,
    buf: [u8; BUF_LEN],
}

fn idx(side: Side) -> usize {
    match side {
        Side::A => 0,
        Side::B => 1,
    }
}

impl Engine {
    fn new(config: RelayConfig, mode: Mode, events: Option<EventSink>) -> Self {
        let a_ssrc = config.a.send_ssrc;
        let mut engine = Engine {
            relay: Relay::new(config),
            mode: Mode::Silent,
            playing: None,
            sender: RtpSender::new(0, a_ssrc),
            last_tone: None,
            a_ssrc,
            sent: [0; 2],
            send_errors: 0,
            dtmf: [SideDtmf::new(), SideDtmf::new()],
            events,
            buf: [0; BUF_LEN],
        };
        engine.set_mode(mode);
        engine
    }

    /// Applies a command; returns whether the pacing timer must be rebuilt.
    fn apply(&mut self, command: Command) -> bool {
        match command {
            Command::Repoint(side, u) => self.relay.repoint(side, u.expected, u.expected_rtcp),
            Command::PtMap(map) => {
                self.relay.set_pt_map(map);
                // Transcoding may have started or stopped: its pacing clock with it.
                return true;
            }
            Command::Report(reply) => {
                // The handle may have stopped waiting; nothing to do then.
                let _ = reply.send(self.report());
            }
            Command::Mode(mode) => {
                self.set_mode(mode);
                return true;
            }
            Command::Dtmf(side, policy) => {
                let d = &mut self.dtmf[idx(side)];
                if d.policy.telephone_event_pt != policy.telephone_event_pt {
                    d.detector = DtmfDetector::new(EVENT_CLOCK_RATE);
                }
                if policy.inband && d.inband.is_none() {
                    d.inband = Some(Box::new(Inband {
                        detector: InbandDetector::new(DetectorConfig::default()),
                        generator: InbandGenerator::default(),
                        pcm: [0; INBAND_PCM],
                        audio_pt: None,
                        last_sent: None,
                    }));
                } else if !policy.inband {
                    d.inband = None;
                }
                d.policy = policy;
            }
            Command::SendDtmf(side, digit, duration_ms) => {
                let d = &mut self.dtmf[idx(side)];
                if let Some(ib) = d.inband.as_mut() {
                    match ib.generator.queue(digit) {
                        Ok(()) => d.played += 1,
                        Err(e) => {
                            tracing::warn!(?side, error = %e, "media session: in-band digit not played")
                        }
                    }
                    // The pacing clock now also plays tones.
                    return true;
                } else if d.policy.telephone_event_pt.is_none() {
                    tracing::debug!(?side, %digit, "media session: no telephone-event payload type, digit not played");
                } else if !d.waiting.push((digit, duration_ms)) {
                    tracing::warn!(?side, %digit, "media session: too many DTMF digits waiting, digit dropped");
                } else if d.playing.is_none() {
                    d.start_next(Instant::now());
                }
            }
            // Handled by the loop.
            Command::Close(_) => {}
        }
        false
    }

    fn set_mode(&mut self, mode: Mode) {
        self.mode = mode;
        self.playing = match mode {
            Mode::Tone {
                hz,
                payload_type,
                law,
                ptime_ms,
            } => {
                let ptime_ms = ptime_ms.clamp(PTIME_RANGE.0, PTIME_RANGE.1);
                self.sender.set_payload_type(payload_type);
                // RFC 3550 §5.1: the timestamp keeps pace with the clock over the pause;
                // the marker starts the new talkspurt (RFC 3551 §4.1).
                // The sender's timestamp already counts the last packet's samples.
                let gap = self.last_tone.map_or(0, |(at, samples)| {
                    let ticks = at.elapsed().as_millis() * u128::from(SAMPLE_RATE) / 1000;
                    u32::try_from(ticks)
                        .unwrap_or(u32::MAX)
                        .saturating_sub(samples)
                });
                self.sender.restart(gap);
                Some(Playing {
                    tone: ToneGenerator::new(hz, TONE_AMPLITUDE, law).with_ptime(ptime_ms),
                    ptime: Duration::from_millis(u64::from(ptime_ms)),
                })
            }
            Mode::Relay | Mode::Echo | Mode::Silent => None,
        };
    }

    /// The pacing timer for the current mode (a tone's packets, or the transcoders'
    /// output while relaying): late ticks are delayed, never bunched.
    fn ticker(&self) -> Option<Interval> {
        let period = match (&self.playing, self.mode) {
            (Some(playing), _) => playing.ptime,
            (None, Mode::Relay) => {
                let tones = self.playing_inband().then_some(INBAND_PTIME);
                [self.relay.transcode_interval(), tones]
                    .into_iter()
                    .flatten()
                    .min()?
            }
            _ => return None,
        };
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Some(interval)
    }

    /// Whether an in-band digit is playing toward either side.
    fn playing_inband(&self) -> bool {
        self.dtmf
            .iter()
            .any(|d| d.inband.as_ref().is_some_and(|ib| !ib.generator.is_idle()))
    }

    /// One tick of the pacing timer; returns whether the timer must be rebuilt (the
    /// last in-band digit ended).
    fn on_tick(&mut self, sockets: &Sockets) -> bool {
        if self.playing.is_some() {
            self.send_tone(sockets);
            return false;
        }
        if self.mode != Mode::Relay {
            return false;
        }
        let now = Instant::now().into_std();
        for side in [Side::A, Side::B] {
            if self.relay.transcodes(side) {
                self.send_transcoded(sockets, now, side);
            }
        }
        let was_playing = self.playing_inband();
        for side in [Side::A, Side::B] {
            self.send_inband(sockets, Instant::from_std(now), side);
        }
        was_playing && !self.playing_inband()
    }

    /// Sends a packet of the in-band digit playing toward `side` when no relayed
    /// packet carried it during the last interval.
    fn send_inband(&mut self, sockets: &Sockets, now: Instant, side: Side) {
        let Some(ib) = self.dtmf[idx(side)].inband.as_mut() else {
            return;
        };
        if ib.generator.is_idle()
            // Relayed audio still flows (a little late, at most): the tones ride in it.
            || ib
                .last_sent
                .is_some_and(|t| now.duration_since(t) < INBAND_PTIME * 3 / 2)
        {
            return;
        }
        let Some(to) = self.relay.peer(side) else {
            return;
        };
        let pt = ib.audio_pt.unwrap_or(0);
        let o = self.relay.originate(now.into_std(), side);
        let header = RtpHeader::new(pt, false, o.sequence, o.timestamp, o.ssrc);
        let header_len = std::mem::size_of::<RtpHeader>();
        // 20 ms of 8 kHz G.711: one octet per sample.
        let len = header_len + 160;
        self.buf[..header_len].copy_from_slice(zerocopy::IntoBytes::as_bytes(&header));
        self.play_inband(side, len, now);
        self.send(sockets, side, Port::Rtp, len, to);
    }

    fn report(&self) -> SessionReport {
        SessionReport {
            a: self.relay.stats(Side::A).clone(),
            b: self.relay.stats(Side::B).clone(),
            sent_a: self.sent[0],
            sent_b: self.sent[1],
            send_errors: self.send_errors,
            dtmf_in_a: self.dtmf[0].received,
            dtmf_in_b: self.dtmf[1].received,
            dtmf_out_a: self.dtmf[0].played,
            dtmf_out_b: self.dtmf[1].played,
            leg_a: self.relay.leg_figures(Side::A),
            leg_b: self.relay.leg_figures(Side::B),
        }
    }

    /// The earliest DTMF deadline (a packet to play, or a received event to end) or own
    /// RTCP report due.
    fn deadline(&self) -> Option<Instant> {
        self.dtmf
            .iter()
            .flat_map(|d| [d.next_at, d.detector.poll_timeout().map(Instant::from_std)])
            .chain([self.relay.rtcp_timeout().map(Instant::from_std)])
            .flatten()
            .min()
    }

    /// Plays the DTMF packets that are due and ends received events that timed out.
    fn on_deadline(&mut self, sockets: &Sockets) {
        let now = Instant::now();
        for side in [Side::A, Side::B] {
            self.dtmf[idx(side)].detector.handle_timeout(now.into_std());
            self.report_digits(side);
            while self.dtmf[idx(side)].next_at.is_some_and(|t| t <= now) {
                self.play_dtmf(sockets, side, now);
            }
        }
        self.send_own_rtcp(sockets, now);
    }

    /// Sends the gateway's own RTCP reports that are due ([`super::SideConfig::own_rtcp`]):
    /// from the side's RTCP socket, or its RTP socket when the peer multiplexes
    /// (RFC 5761 §4: its RTCP address is its RTP address).
    fn send_own_rtcp(&mut self, sockets: &Sockets, now: Instant) {
        let wall = std::time::SystemTime::now();
        while let Some((side, fwd)) = self.relay.poll_rtcp(now.into_std(), wall, &mut self.buf) {
            let port = if Some(fwd.to) == self.relay.peer(side) {
                Port::Rtp
            } else {
                Port::Rtcp
            };
            self.send(sockets, side, port, fwd.len, fwd.to);
        }
    }

    /// Sends the next packet of the digit playing toward `side`, and schedules the one
    /// after it (or the next digit, one interval later).
    fn play_dtmf(&mut self, sockets: &Sockets, side: Side, now: Instant) {
        let d = &mut self.dtmf[idx(side)];
        let Some(g) = d.playing.as_mut() else {
            d.next_at = None;
            return;
        };
        let interval = g.interval();
        let o = self.relay.originate(now.into_std(), side);
        let n = Numbering {
            ssrc: o.ssrc,
            sequence: o.sequence,
            timestamp: o.timestamp,
        };
        let written = g.write_next(n, &mut self.buf);
        let done = g.is_done();
        // The schedule keeps its pace; after a late wake-up the next packet waits a
        // whole interval (no bunching).
        let next = match d.next_at {
            Some(t) if t + interval > now => t + interval,
            _ => now + interval,
        };
        if done {
            d.start_next(next + interval);
        } else {
            d.next_at = Some(next);
        }
        if let (Some(p), Some(to)) = (written, self.relay.peer(side)) {
            self.relay
                .count_sent(side, p.len.saturating_sub(RtpHeader::LEN));
            self.send(sockets, side, Port::Rtp, p.len, to);
        }
    }

    /// Hands the digits detected on `side` to the call core.
    fn report_digits(&mut self, side: Side) {
        let d = &mut self.dtmf[idx(side)];
        while let Some(digit) = d.detector.poll_digit() {
            d.received += 1;
            tracing::debug!(?side, digit = %digit.digit, duration_ms = digit.duration_ms, ended = digit.ended, "media session: DTMF digit received");
            if let Some(events) = &self.events {
                // A call core that is gone has no use for it.
                let _ = events.tx.send(MediaEvent::Dtmf {
                    call: events.call,
                    side,
                    digit: digit.digit,
                    duration_ms: digit.duration_ms,
                });
            }
        }
    }

    /// Takes a telephone-event packet out of the media when `side` extracts them: it is
    /// latched and counted but not relayed, and its digit is reported. Returns whether
    /// the packet was taken.
    fn extract_dtmf(
        &mut self,
        now: std::time::Instant,
        side: Side,
        from: SocketAddr,
        len: usize,
    ) -> bool {
        let Some(pt) = self.dtmf[idx(side)].extracting() else {
            return false;
        };
        let packet = &self.buf[..len];
        if looks_like_rtcp(packet) {
            return false;
        }
        let Ok(p) = RtpPacket::parse(packet) else {
            return false;
        };
        if p.header.payload_type() != pt {
            return false;
        }
        if self.relay.receive(now, from, side, packet) {
            let h = p.header;
            // The packets relayed after it close the gap it leaves.
            self.relay.withhold(side, h.ssrc.get(), h.sequence.get());
            if let Err(e) = self.dtmf[idx(side)].detector.handle_packet(
                now,
                h.marker(),
                h.timestamp.get(),
                p.payload,
            ) {
                tracing::trace!(error = %e, ?side, "media session: bad telephone-event");
            }
            self.report_digits(side);
        }
        true
    }

    /// Reads what is waiting on one socket, up to [`BURST`] datagrams.
    fn drain(&mut self, sockets: &Sockets, side: Side, port: Port) {
        let Some(socket) = sockets.get(side, port) else {
            return;
        };
        for _ in 0..BURST {
            match socket.try_recv_from(&mut self.buf) {
                Ok((len, from)) => self.on_datagram(sockets, side, len, from),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // An ICMP error reported on the socket (some systems do for unconnected
                // UDP): it concerns an earlier send, the socket still works.
                Err(e) => tracing::trace!(error = %e, ?side, ?port, "media session: receive error"),
            }
        }
    }

    /// One datagram of `len` bytes in the buffer, from `from` on `side`.
    fn on_datagram(&mut self, sockets: &Sockets, side: Side, len: usize, from: SocketAddr) {
        let now = Instant::now().into_std();
        if self.extract_dtmf(now, side, from, len) {
            return;
        }
        if self.mode == Mode::Relay {
            self.detect_inband(side, len);
        }
        let packet = &mut self.buf[..len];
        match self.mode {
            Mode::Relay => {
                let rtcp = looks_like_rtcp(packet);
                let Some(fwd) = self.relay.handle_packet(now, from, side, packet) else {
                    if self.relay.transcodes(side) {
                        self.send_transcoded(sockets, now, side);
                    }
                    return;
                };
                let to_side = side.other();
                // RTCP leaves from our RTCP port, unless the far peer takes it on its RTP
                // address (rtcp-mux, RFC 5761 §4): then from our RTP port.
                let port = if rtcp && Some(fwd.to) != self.relay.peer(to_side) {
                    Port::Rtcp
                } else {
                    Port::Rtp
                };
                if !rtcp {
                    self.play_inband(to_side, fwd.len, Instant::from_std(now));
                }
                self.send(sockets, to_side, port, fwd.len, fwd.to);
            }
            Mode::Echo => {
                let accepted = self.relay.receive(now, from, side, packet);
                if !accepted || side != Side::A || looks_like_rtcp(packet) {
                    return;
                }
                // Echoed media is a stream we send, so it carries our SSRC (RFC 3550 §8).
                let Ok((header, _)) = RtpHeader::mut_from_prefix(packet) else {
                    return;
                };
                header.ssrc.set(self.a_ssrc);
                let to = self.relay.peer(Side::A).unwrap_or(from);
                self.send(sockets, Side::A, Port::Rtp, len, to);
            }
            Mode::Tone { .. } | Mode::Silent => {
                self.relay.receive(now, from, side, packet);
            }
        }
    }

    /// Sends what the transcoder of the voice arriving on `side` has due (the buffer is
    /// free: any packet in it was taken in).
    fn send_transcoded(&mut self, sockets: &Sockets, now: std::time::Instant, side: Side) {
        while let Some(fwd) = self.relay.poll_transcoded(now, side, &mut self.buf) {
            self.play_inband(side.other(), fwd.len, Instant::from_std(now));
            self.send(sockets, side.other(), Port::Rtp, fwd.len, fwd.to);
        }
    }

    /// Runs the in-band DTMF detector of `side` over the G.711 audio of the RTP packet
    /// of `len` bytes in the buffer, and reports each digit when it ends (its length
    /// known). A packet that is not G.711 RTP is left alone.
    fn detect_inband(&mut self, side: Side, len: usize) {
        let d = &mut self.dtmf[idx(side)];
        let Some(ib) = d.inband.as_mut() else {
            return;
        };
        let Some((_, law, payload)) = g711_payload(&self.buf[..len]) else {
            return;
        };
        for chunk in self.buf[payload].chunks(INBAND_PCM) {
            for (s, b) in ib.pcm.iter_mut().zip(chunk) {
                *s = law.decode(*b);
            }
            ib.detector.process(&ib.pcm[..chunk.len()]);
        }
        while let Some(tone) = ib.detector.poll() {
            let DtmfTone::End { digit, duration } = tone else {
                continue;
            };
            d.received += 1;
            // Samples at 8 kHz.
            let duration_ms = u32::try_from(duration / 8).unwrap_or(u32::MAX);
            tracing::debug!(?side, %digit, duration_ms, "media session: in-band DTMF digit");
            if let Some(events) = &self.events {
                let _ = events.tx.send(MediaEvent::Dtmf {
                    call: events.call,
                    side,
                    digit,
                    duration_ms,
                });
            }
        }
    }

    /// Writes the in-band digits playing toward `toward` into the G.711 payload of the
    /// RTP packet of `len` bytes in the buffer (tones, then the pause after each).
    fn play_inband(&mut self, toward: Side, len: usize, now: Instant) {
        let Some(ib) = self.dtmf[idx(toward)].inband.as_mut() else {
            return;
        };
        let Some((pt, law, payload)) = g711_payload(&self.buf[..len]) else {
            return;
        };
        ib.audio_pt = Some(pt);
        ib.last_sent = Some(now);
        if ib.generator.is_idle() {
            return;
        }
        for chunk in self.buf[payload].chunks_mut(INBAND_PCM) {
            let pcm = &mut ib.pcm[..chunk.len()];
            ib.generator.fill(pcm);
            for (b, s) in chunk.iter_mut().zip(pcm.iter()) {
                *b = law.encode(*s);
            }
        }
    }

    /// One packetisation interval of the tone toward side A's peer.
    fn send_tone(&mut self, sockets: &Sockets) {
        let Some(playing) = self.playing.as_mut() else {
            return;
        };
        // At most 120 ms of 8 kHz samples: fits u32.
        let samples = u32::try_from(playing.tone.samples_per_frame()).unwrap_or(u32::MAX);
        let Some(to) = self.relay.peer(Side::A) else {
            // Nobody to play to yet: keep the timestamp in step with the clock.
            self.sender.restart(samples);
            return;
        };
        if let Some(len) = self.sender.write_tone(&mut playing.tone, &mut self.buf) {
            self.last_tone = Some((Instant::now(), samples));
            self.send(sockets, Side::A, Port::Rtp, len, to);
        }
    }

    /// Sends the first `len` bytes of the buffer from `side`'s `port` to `to`.
    fn send(&mut self, sockets: &Sockets, side: Side, port: Port, len: usize, to: SocketAddr) {
        let Some(socket) = sockets.get(side, port) else {
            return;
        };
        match socket.try_send_to(&self.buf[..len], to) {
            Ok(_) => self.sent[idx(side)] += 1,
            // Full socket buffer, or ECONNREFUSED from an earlier ICMP port unreachable:
            // this packet is lost, the call goes on.
            Err(e) => {
                self.send_errors += 1;
                tracing::trace!(error = %e, %to, "media session: send failed");
            }
        }
    }
}
