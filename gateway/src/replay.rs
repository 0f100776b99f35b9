//! `gatewayd replay FILE`: feeds a capture's signalling through the sans-IO call core
//! (the same [`Switch`] the daemon runs) with the capture's timestamps as its clock,
//! and writes the call transcript it produces: what came in, what the core sent, and
//! how each call began and ended.
//!
//! What the gateway received is fed in: packets the file marks inbound (gatewayd's own
//! captures), else packets to one of the configured SIP or H.225.0 listeners. What the
//! gateway sent in the capture is not fed in; the core produces its own. A capture
//! written by `gatewayd run --capture` carries that run's randomness, so the core
//! produces the same tags, branches and call references, and the peers' answers in the
//! capture match; other captures replay with a fixed seed, and dialogs the gateway
//! created then do not match what the peers answered (their transcript shows it).
//! Timers fire at their deadlines between packets; the media is not run (ports are
//! counted, not bound).

use crate::capture::Dir;
use crate::capture::reader::{Capture, Packet, Proto};
use crate::config::{Config, SipTransport};
use crate::h323::call_leg::{ConnId, H323LegId, H323Output};
use crate::listeners::sip_framing::{Frame, StreamDeframer};
use crate::listeners::tpkt::TpktDeframer;
use crate::sip::endpoint::{Output, Peer, Transport};
use crate::sip::service::{ServiceOutput, SipService};
use crate::switch::media_plan::CountingPorts;
use crate::switch::{H245Input, Switch, SwitchOutput};
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What a replay found, besides its transcript.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Packets fed into the core.
    pub fed: usize,
    /// Packets the capture shows the gateway sending.
    pub sent_in_capture: usize,
    /// Messages the core sent during the replay.
    pub sent_by_replay: usize,
    /// Calls that ended (records produced).
    pub calls: usize,
    /// Whether the capture carried the randomness of its run.
    pub seeded: bool,
}

/// One TCP connection of the capture, by (remote, local).
enum Stream {
    Sip {
        peer: Peer,
        deframer: StreamDeframer,
        next_seq: Option<u32>,
    },
    H225 {
        conn: ConnId,
        deframer: TpktDeframer,
        next_seq: Option<u32>,
    },
    /// A separate H.245 connection (H.225.0 §7.2).
    H245 {
        conn: ConnId,
        deframer: TpktDeframer,
        next_seq: Option<u32>,
    },
}

/// The replay of one capture.
struct Replay<'a> {
    switch: Switch,
    base: Instant,
    t0: Duration,
    out: &'a mut String,
    summary: Summary,
    sip_udp: HashSet<SocketAddr>,
    sip_streams: HashMap<SocketAddr, Transport>,
    h225: HashSet<SocketAddr>,
    streams: HashMap<(SocketAddr, SocketAddr), Stream>,
    /// Outgoing H.225.0 connections asked for by the core, by peer address.
    connects: Vec<(SocketAddr, H323LegId)>,
    /// Our ends of the connections we opened.
    our_ends: HashSet<SocketAddr>,
    next_conn: ConnId,
    /// The time of the packet being fed.
    ts: Duration,
    /// Where the run's H.245 listeners were: the targets of connections the capture
    /// shows coming in to none of the configured listeners, by time, not yet taken.
    h245_listen_addrs: Vec<(Duration, SocketAddr)>,
    /// H.245 listeners of the replay, by address.
    h245_listening: HashMap<SocketAddr, H323LegId>,
    /// Outgoing H.245 connections asked for by the core, by peer address.
    h245_connects: Vec<(SocketAddr, H323LegId)>,
    /// The PRI trunks of the configuration, in its order.
    pri_trunks: Vec<String>,
    /// PRI trunks whose span has come up in the replay.
    spans_up: HashSet<String>,
}

/// Replays `capture` through a call core configured by `cfg`; the transcript goes to
/// `out`. `progress` is told how many packets are done, for a progress display.
pub fn replay(
    cfg: Config,
    capture: &Capture,
    out: &mut String,
    mut progress: impl FnMut(usize, usize),
) -> Summary {
    let (seed, secret) = capture.seed.unwrap_or((0, [0; 32]));
    let base = Instant::now();
    let t0 = [
        capture.packets.first().map(|p| p.ts),
        capture.dframes.first().map(|d| d.ts),
    ]
    .into_iter()
    .flatten()
    .min()
    .unwrap_or(Duration::ZERO);
    let mut sip_udp = HashSet::new();
    let mut sip_streams = HashMap::new();
    for l in &cfg.listeners.sip {
        match l.transport {
            SipTransport::Udp => {
                sip_udp.insert(l.address);
            }
            SipTransport::Tcp => {
                sip_streams.insert(l.address, Transport::Tcp);
            }
            SipTransport::Tls => {
                sip_streams.insert(l.address, Transport::Tls);
            }
        }
    }
    let h225: HashSet<SocketAddr> = cfg.listeners.h225.iter().map(|l| l.address).collect();
    let pri_trunks: Vec<String> = cfg
        .trunks
        .iter()
        .filter(|t| matches!(t.params, crate::config::TrunkParams::Pri(_)))
        .map(|t| t.name.clone())
        .collect();
    // A separate H.245 connection comes in to a port the run bound on demand; the
    // capture shows it as a connection to none of the configured listeners.
    let h245_listen_addrs = capture
        .packets
        .iter()
        .filter(|p| {
            matches!(p.proto, Proto::Tcp { syn: true, .. })
                && p.dir == Some(Dir::In)
                && !h225.contains(&p.dst)
                && !sip_udp.contains(&p.dst)
                && !sip_streams.contains_key(&p.dst)
        })
        .map(|p| (p.ts, p.dst))
        .collect();
    let cfg = Arc::new(cfg);
    let sip = SipService::new_at(&cfg, seed, secret, base);
    let ports = CountingPorts::new(SocketAddr::from(([127, 0, 0, 1], 10_000)));
    let mut r = Replay {
        switch: Switch::new(cfg, sip, Box::new(ports), seed),
        base,
        t0,
        out,
        summary: Summary {
            seeded: capture.seed.is_some(),
            ..Summary::default()
        },
        sip_udp,
        sip_streams,
        h225,
        streams: HashMap::new(),
        connects: Vec::new(),
        our_ends: HashSet::new(),
        next_conn: 1,
        ts: t0,
        h245_listen_addrs,
        h245_listening: HashMap::new(),
        h245_connects: Vec::new(),
        pri_trunks,
        spans_up: HashSet::new(),
    };
    if !r.pri_trunks.is_empty() {
        r.switch.start_spans(base, Replay::wall(t0));
        // The bearers are not on the D-channel; any addresses do.
        for t in r.pri_trunks.clone() {
            let bearers = (1..=31u8)
                .map(|c| (c, SocketAddr::from(([127, 0, 0, 1], 30_000 + u16::from(c)))))
                .collect();
            r.switch.set_bearers(&t, bearers);
        }
        r.drain(base);
    }
    if capture.seed.is_none() {
        r.out.push_str(
            "# no gatewayd seed in this capture: identifiers differ from the captured run\n",
        );
    }
    // IP packets and D-channel frames, merged by capture time.
    let total = capture.packets.len() + capture.dframes.len();
    let mut frames = capture.dframes.iter().peekable();
    let mut done = 0;
    for p in &capture.packets {
        while let Some(d) = frames.next_if(|d| d.ts <= p.ts) {
            r.dframe(d);
            done += 1;
        }
        r.packet(p);
        done += 1;
        progress(done, total);
    }
    for d in frames {
        r.dframe(d);
        done += 1;
        progress(done, total);
    }
    // Timers still pending after the last packet are not run: the capture ends there.
    r.summary.clone()
}

impl Replay<'_> {
    fn now(&self, ts: Duration) -> Instant {
        self.base + ts.saturating_sub(self.t0)
    }

    fn wall(ts: Duration) -> SystemTime {
        UNIX_EPOCH + ts
    }

    /// The wall clock of the capture at replay instant `at`.
    fn wall_at(&self, at: Instant) -> SystemTime {
        Self::wall(self.t0 + at.duration_since(self.base))
    }

    fn offset(&self, at: Instant) -> f64 {
        at.duration_since(self.base).as_secs_f64()
    }

    fn line(&mut self, at: Instant, text: &str) {
        let _ = writeln!(self.out, "{:9.3}  {text}", self.offset(at));
    }

    /// Fires the core's timers due before `ts`.
    fn run_timers(&mut self, ts: Duration) {
        let now = self.now(ts);
        while let Some(due) = self.switch.poll_timeout() {
            if due > now {
                break;
            }
            let wall = self.wall_at(due);
            self.switch.handle_timeout(due, wall);
            self.drain(due);
        }
    }

    fn is_ours(&self, addr: SocketAddr) -> bool {
        self.sip_udp.contains(&addr)
            || self.sip_streams.contains_key(&addr)
            || self.h225.contains(&addr)
    }

    fn packet(&mut self, p: &Packet) {
        self.run_timers(p.ts);
        self.ts = p.ts;
        let now = self.now(p.ts);
        let wall = Self::wall(p.ts);
        self.h245_syn(now, wall, p);
        // The SYN of a connection the core asked for (whichever end of a connection
        // between two of our sockets the capture wrote it from).
        if let Proto::Tcp { syn: true, .. } = p.proto
            && let Some(i) = self.connects.iter().position(|(a, _)| *a == p.dst)
        {
            let (addr, leg) = self.connects.remove(i);
            self.our_ends.insert(p.src);
            let conn = self.new_conn();
            self.streams.insert(
                (addr, p.src),
                Stream::H225 {
                    conn,
                    deframer: TpktDeframer::new(),
                    next_seq: None,
                },
            );
            self.switch.h225_connected(now, wall, leg, conn, addr);
            self.drain(now);
        }
        let to_us = self.is_ours(p.dst) || self.our_ends.contains(&p.dst);
        let tcp = matches!(p.proto, Proto::Tcp { .. });
        // A TCP connection between two of our own sockets is written once, as sent
        // (see capture::synth): what one end sent, the other received.
        let inbound = match p.dir {
            Some(Dir::In) => true,
            Some(Dir::Out) => tcp && to_us,
            None => to_us,
        };
        if p.dir == Some(Dir::Out) || (p.dir.is_none() && !to_us) {
            self.outbound(p);
        }
        if !inbound {
            return;
        }
        match p.proto {
            Proto::Udp if self.sip_udp.contains(&p.dst) || p.dir.is_some() => {
                if p.payload.iter().all(|b| matches!(b, b'\r' | b'\n')) {
                    return;
                }
                self.summary.fed += 1;
                self.line(
                    now,
                    &format!("<- SIP/UDP {} from {}", first_line(&p.payload), p.src),
                );
                self.switch
                    .handle_sip(now, wall, Peer::udp(p.src), &p.payload);
                self.drain(now);
            }
            Proto::Udp => {}
            Proto::Tcp { seq, syn, fin } => self.tcp_in(now, wall, p, seq, syn, fin),
        }
    }

    /// The SYN of a separate H.245 connection: one the core asked to open, or one to a
    /// port it listens on.
    fn h245_syn(&mut self, now: Instant, wall: SystemTime, p: &Packet) {
        if !matches!(p.proto, Proto::Tcp { syn: true, .. }) {
            return;
        }
        let (key, leg) = if let Some(i) = self.h245_connects.iter().position(|(a, _)| *a == p.dst) {
            let (addr, leg) = self.h245_connects.remove(i);
            self.our_ends.insert(p.src);
            ((addr, p.src), leg)
        } else if let Some(leg) = self.h245_listening.remove(&p.dst) {
            self.line(now, &format!("<- H.245 connection from {}", p.src));
            ((p.src, p.dst), leg)
        } else {
            return;
        };
        let conn = self.new_conn();
        self.streams.insert(
            key,
            Stream::H245 {
                conn,
                deframer: TpktDeframer::new(),
                next_seq: None,
            },
        );
        self.switch
            .h245_input(now, wall, H245Input::Up { leg, conn });
        self.drain(now);
    }

    /// A D-channel frame: one the gateway received goes into its PRI stack (the span
    /// comes up at the trunk's first received frame, as when its far end connected);
    /// one it sent is counted.
    fn dframe(&mut self, d: &crate::capture::reader::DFrame) {
        self.run_timers(d.ts);
        let now = self.now(d.ts);
        let wall = Self::wall(d.ts);
        let trunk = match &d.interface {
            Some(n) if self.pri_trunks.contains(n) => n.clone(),
            _ => match self.pri_trunks.first() {
                Some(t) => t.clone(),
                // No PRI trunk to feed it to: the configuration is not the capture's.
                None => return,
            },
        };
        // The run's span came up when its far end connected, just before the first
        // frame from it (its SABME).
        if !d.sent && self.spans_up.insert(trunk.clone()) {
            self.line(now, &format!("   span of {trunk} up"));
            self.switch.span_state(now, wall, &trunk, true);
            self.drain(now);
        }
        if d.sent {
            self.summary.sent_in_capture += 1;
            return;
        }
        self.summary.fed += 1;
        self.line(now, &format!("<- PRI {trunk} {}", lapd_name(&d.frame)));
        self.switch.handle_span_frame(now, wall, &trunk, &d.frame);
        self.drain(now);
    }

    /// A packet the gateway sent in the capture: counted.
    fn outbound(&mut self, p: &Packet) {
        if !p.payload.is_empty() {
            self.summary.sent_in_capture += 1;
        }
    }

    fn new_conn(&mut self) -> ConnId {
        let c = self.next_conn;
        self.next_conn += 1;
        c
    }

    fn tcp_in(
        &mut self,
        now: Instant,
        wall: SystemTime,
        p: &Packet,
        seq: u32,
        syn: bool,
        fin: bool,
    ) {
        let key = (p.src, p.dst);
        if !self.streams.contains_key(&key) {
            let stream = if let Some(&transport) = self.sip_streams.get(&p.dst) {
                Stream::Sip {
                    peer: Peer {
                        transport,
                        addr: p.src,
                        connection: Some(self.new_conn()),
                    },
                    deframer: StreamDeframer::new(crate::listeners::sip::MAX_MESSAGE),
                    next_seq: None,
                }
            } else if self.h225.contains(&p.dst) || p.payload.starts_with(&[3, 0]) {
                let conn = self.new_conn();
                self.switch.h225_opened(conn, p.src);
                self.line(now, &format!("<- H.225.0 connection from {}", p.src));
                Stream::H225 {
                    conn,
                    deframer: TpktDeframer::new(),
                    next_seq: None,
                }
            } else {
                // A stream the gateway opened toward a SIP peer (its answers come back
                // on it), or one it does not know.
                Stream::Sip {
                    peer: Peer {
                        transport: Transport::Tcp,
                        addr: p.src,
                        connection: Some(self.new_conn()),
                    },
                    deframer: StreamDeframer::new(crate::listeners::sip::MAX_MESSAGE),
                    next_seq: None,
                }
            };
            self.streams.insert(key, stream);
        }
        let Some(stream) = self.streams.get_mut(&key) else {
            return;
        };
        let next = match stream {
            Stream::Sip { next_seq, .. }
            | Stream::H225 { next_seq, .. }
            | Stream::H245 { next_seq, .. } => next_seq,
        };
        if syn {
            *next = Some(seq.wrapping_add(1));
        }
        let data = fresh_bytes(next, seq, &p.payload);
        let mut sip = Vec::new();
        let mut h225 = Vec::new();
        let mut h245 = Vec::new();
        match stream {
            Stream::Sip { peer, deframer, .. } => {
                deframer.push(data);
                while let Ok(Some(f)) = deframer.next_frame() {
                    if let Frame::Message(m) = f {
                        sip.push((*peer, m));
                    }
                }
            }
            Stream::H225 { conn, deframer, .. } => {
                deframer.push(data);
                while let Ok(Some(f)) = deframer.next_frame() {
                    h225.push((*conn, f));
                }
            }
            Stream::H245 { conn, deframer, .. } => {
                deframer.push(data);
                while let Ok(Some(f)) = deframer.next_frame() {
                    h245.push((*conn, f));
                }
            }
        }
        for (peer, m) in sip {
            self.summary.fed += 1;
            let t = format!(
                "<- SIP/{:?} {} from {}",
                peer.transport,
                first_line(&m),
                peer.addr
            );
            self.line(now, &t.replace("Tcp", "TCP").replace("Tls", "TLS"));
            self.switch.handle_sip(now, wall, peer, &m);
            self.drain(now);
        }
        for (conn, f) in h225 {
            self.summary.fed += 1;
            self.line(now, &format!("<- H.225.0 {}", h225_name(&f)));
            self.switch.handle_h225(now, wall, conn, &f);
            self.drain(now);
        }
        for (conn, f) in h245 {
            self.summary.fed += 1;
            self.line(now, &format!("<- H.245 {}", h245_name(&f)));
            self.switch
                .h245_input(now, wall, H245Input::Frame { conn, payload: f });
            self.drain(now);
        }
        if fin {
            match self.streams.remove(&key) {
                Some(Stream::H225 { conn, .. }) => {
                    self.line(now, "<- H.225.0 connection closed");
                    self.switch.h225_closed(now, wall, conn);
                    self.drain(now);
                }
                Some(Stream::H245 { conn, .. }) => {
                    self.line(now, "<- H.245 connection closed");
                    self.switch.h245_input(now, wall, H245Input::Down { conn });
                    self.drain(now);
                }
                // A SIP stream's end changes nothing for the core.
                _ => {}
            }
        }
    }

    /// Writes what the core output.
    fn drain(&mut self, now: Instant) {
        while let Some(o) = self.switch.poll_output() {
            match o {
                SwitchOutput::Sip(ServiceOutput::Endpoint(Output::Transmit {
                    peer,
                    bytes,
                    ..
                })) => {
                    self.summary.sent_by_replay += 1;
                    let t = format!("-> SIP {} to {}", first_line(&bytes), peer.addr);
                    self.line(now, &t);
                }
                // RAS datagrams go to the gatekeeper sockets, which a replay leaves out,
                // as it leaves out RADIUS accounting.
                SwitchOutput::Sip(_)
                | SwitchOutput::Media(_)
                | SwitchOutput::Ras { .. }
                | SwitchOutput::RasRegistered { .. }
                | SwitchOutput::Accounting(_)
                // The bearer is media, which a replay does not run.
                | SwitchOutput::Bearer { .. } => {}
                SwitchOutput::Span { trunk, frame } => {
                    self.summary.sent_by_replay += 1;
                    self.line(now, &format!("-> PRI {trunk} {}", lapd_name(&frame)));
                }
                SwitchOutput::SpanLink { trunk, up } => self.line(
                    now,
                    &format!("   PRI {trunk} data link {}", if up { "up" } else { "down" }),
                ),
                // RADIUS is not in the capture: the replay authorises every call.
                SwitchOutput::Authorize(q) => {
                    self.line(
                        now,
                        &format!("   call {} authorised (replay: accept)", q.call),
                    );
                    let wall = self.wall_at(now);
                    self.switch.authorized(
                        now,
                        wall,
                        q.call,
                        crate::radius::client::AuthAnswer::Accept { limit: None },
                    );
                }
                SwitchOutput::Started { call } => {
                    self.line(now, &format!("   call {call} started"))
                }
                SwitchOutput::AttemptEnded { record } => {
                    let t = format!(
                        "   call {} attempt {} on {} failed: cause {} by {:?}, failing over",
                        record.call,
                        record.attempt,
                        record.egress_trunk.as_deref().unwrap_or("-"),
                        record.cause.value.0,
                        record.initiator,
                    );
                    self.line(now, &t);
                }
                SwitchOutput::Ended { record, .. } => {
                    self.summary.calls += 1;
                    let t = format!(
                        "   call {} ended: cause {} by {:?}, {} -> {}, answered {}",
                        record.call,
                        record.cause.value.0,
                        record.initiator,
                        record.ingress_trunk,
                        record.egress_trunk.as_deref().unwrap_or("-"),
                        if record.answer.is_some() { "yes" } else { "no" },
                    );
                    self.line(now, &t);
                }
                SwitchOutput::H225(H323Output::Transmit { bytes, .. }) => {
                    self.summary.sent_by_replay += 1;
                    let name = h225_name(bytes.get(4..).unwrap_or_default());
                    self.line(now, &format!("-> H.225.0 {name}"));
                }
                SwitchOutput::H225(H323Output::Connect { leg, addr }) => {
                    self.connects.push((addr, leg));
                    self.line(now, &format!("-> H.225.0 connect to {addr}"));
                }
                SwitchOutput::H225(H323Output::Close { .. }) => {
                    self.line(now, "-> H.225.0 connection closed")
                }
                SwitchOutput::H225(H323Output::H245Listen { leg, .. }) => {
                    self.h245_listen(now, leg)
                }
                SwitchOutput::H225(H323Output::H245StopListening { leg }) => {
                    self.h245_listening.retain(|_, l| *l != leg);
                }
                SwitchOutput::H225(H323Output::H245Connect { leg, addr }) => {
                    self.h245_connects.push((addr, leg));
                    self.line(now, &format!("-> H.245 connect to {addr}"));
                }
                SwitchOutput::H225(H323Output::H245Transmit { bytes, .. }) => {
                    self.summary.sent_by_replay += 1;
                    let name = h245_name(bytes.get(4..).unwrap_or_default());
                    self.line(now, &format!("-> H.245 {name}"));
                }
                SwitchOutput::H225(_) => {}
            }
        }
    }
}

impl Replay<'_> {
    /// The core listens for a separate H.245 connection: on the address the run's
    /// listener had (the next connection the capture shows coming in to an unknown
    /// port), so the h245Address the core sends is the captured one.
    fn h245_listen(&mut self, now: Instant, leg: H323LegId) {
        let ts = self.ts;
        let wall = self.wall_at(now);
        let next = self.h245_listen_addrs.iter().position(|(t, _)| *t >= ts);
        let input = match next {
            Some(i) => {
                let (_, addr) = self.h245_listen_addrs.remove(i);
                self.h245_listening.insert(addr, leg);
                self.our_ends.insert(addr);
                self.line(now, &format!("-> H.245 listen on {addr}"));
                H245Input::Listening { leg, addr }
            }
            None => {
                self.line(now, "-> H.245 listen (no connection to it in the capture)");
                H245Input::Failed { leg }
            }
        };
        self.switch.h245_input(now, wall, input);
    }
}

/// The part of `payload` at `seq` not seen yet; advances `next`.
fn fresh_bytes<'p>(next: &mut Option<u32>, seq: u32, payload: &'p [u8]) -> &'p [u8] {
    let expected = *next.get_or_insert(seq);
    let behind = expected.wrapping_sub(seq) as i32;
    let skip = usize::try_from(behind.max(0)).unwrap_or(0);
    let data = payload.get(skip..).unwrap_or_default();
    if behind < 0 {
        // A gap: take the data as it comes (a replay cannot ask again).
        *next = Some(seq.wrapping_add(payload.len() as u32));
    } else {
        *next = Some(expected.wrapping_add(data.len() as u32));
    }
    data
}

/// The first line of a SIP message (request line or status line), as sent, and the
/// stream direction its SDP names when it is not sendrecv (RFC 3264 §8.4: hold).
fn first_line(m: &[u8]) -> String {
    let end = m
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(m.len().min(120));
    let mut line = String::from_utf8_lossy(&m[..end]).into_owned();
    let body = m
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(&[][..], |i| &m[i + 4..]);
    for dir in ["sendonly", "recvonly", "inactive"] {
        let attr = format!("a={dir}");
        if body.windows(attr.len()).any(|w| w == attr.as_bytes()) {
            line.push_str(&format!(" [{dir}]"));
            break;
        }
    }
    line
}

/// The Q.931 message and H.225.0 body of a TPKT payload.
fn h225_name(payload: &[u8]) -> String {
    use mapping::q931::{Dialect, Message};
    match Message::decode(payload, Dialect::H225) {
        Ok(m) => {
            let uuie = crate::h323::uuie::decode(&m).ok();
            let body = uuie
                .as_ref()
                .map(|i| crate::h323::uuie::body_name(&i.h323_uu_pdu.h323_message_body));
            let mut line = format!("{} ({})", m.msg_type, body.unwrap_or("no UUIE"));
            // Tunnelled H.245 (H.225.0 §7.2.1), so hold and resume show in transcripts.
            let tunnelled = uuie
                .iter()
                .flat_map(|i| i.h323_uu_pdu.h245_control.iter().flatten());
            for (n, bytes) in tunnelled.enumerate() {
                line.push_str(if n == 0 { " + H.245 " } else { ", " });
                line.push_str(&h245_name(bytes));
            }
            line
        }
        Err(_) => "undecodable".to_owned(),
    }
}

/// A LAPD frame in a word or two: the unnumbered or supervisory function, or `I` and
/// the Q.931 message it carries.
fn lapd_name(frame: &[u8]) -> String {
    use tdm::q921::{Control, Frame};
    match Frame::decode(frame) {
        Ok(f) => match f.control {
            Control::U { func, .. } => func.to_string(),
            Control::S { func, nr, .. } => format!("{func} N(R)={nr}"),
            Control::I { ns, .. } => {
                use mapping::q931::{Dialect, Message};
                let what = Message::decode(f.info, Dialect::Q931)
                    .map_or_else(|_| "undecodable".to_owned(), |m| m.msg_type.to_string());
                format!("I N(S)={ns} {what}")
            }
        },
        Err(_) => "undecodable frame".to_owned(),
    }
}

/// An H.245 message's name; an empty capability set (H.323 §8.4.6 pause) says so.
fn h245_name(bytes: &[u8]) -> String {
    use h323_asn1::h245::{MultimediaSystemControlMessage as M, RequestMessage as Rq};
    let label = crate::h323::call_leg::h245_label(bytes);
    match h323_asn1::h245::decode(bytes) {
        Ok(M::request(Rq::terminalCapabilitySet(t)))
            if t.capability_table.is_none() && t.capability_descriptors.is_none() =>
        {
            format!("{label} (empty)")
        }
        _ => label.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_bytes_skips_retransmissions() {
        let mut next = None;
        assert_eq!(fresh_bytes(&mut next, 100, b"abc"), b"abc");
        assert_eq!(fresh_bytes(&mut next, 100, b"abc"), b"");
        assert_eq!(fresh_bytes(&mut next, 101, b"bcde"), b"de");
        assert_eq!(next, Some(105));
    }
}
