//! The test span driver (`spans[].driver: {kind: test, socket: PATH}`): the socket side
//! of a PRI trunk's E1/T1 span, for tests and simulated PBXes (a C program linking
//! Debian's libpri, `tests/pri-peer/peer.c`, sits on the far end).
//!
//! Two `AF_UNIX` `SOCK_SEQPACKET` listeners per span, each taking one far end at a time
//! (a new one replaces the old):
//!
//! - `PATH`: the D-channel, one message per LAPD frame plus the 2-octet FCS slot
//!   (`tdm::test_span`);
//! - `PATH.bearer`: the B-channels, one message per block of audio:
//!   `| B-channel number (1) | G.711 octets in the span's law (normally 160 = 20 ms) |`.
//!
//! The bearer bridge frames each B-channel into RTP (DESIGN.md "Media": "the TDM leg
//! frames it into 20 ms packets for the relay"): every B-channel has a loopback UDP
//! socket of its own; audio from the span goes out of it as RTP to the relay side the
//! call core names ([`SwitchOutput::Bearer`](crate::switch::SwitchOutput::Bearer)), and
//! RTP arriving on it goes to the span without its header. To the relay a B-channel is
//! an RTP peer like any other, so law conversion, DTMF and statistics work unchanged.
//!
//! Spans with `driver: {kind: pseudowire, ..}` are started here too, by
//! [`super::pseudowire`]; their bearer bridge is the same, with per-timeslot buffers
//! as its far end instead of the bearer socket.

use super::sip::SipHandle;
use crate::config::{Config, SpanDriver, TrunkParams};
use crate::metrics::{Metrics, SpanMetrics};
use prometheus::IntGauge;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_seqpacket::{UnixSeqpacket, UnixSeqpacketListener};
use tracing::{debug, info, warn};

/// The longest bearer message: channel octet and 100 ms of G.711.
const MAX_BEARER: usize = 1 + 800;

/// One PRI trunk's span as the core sees it.
pub struct SpanPorts {
    /// Frames to send on the D-channel (without FCS slot).
    pub dchannel: mpsc::Sender<Vec<u8>>,
    /// The bearer bridge.
    pub bearer: Arc<Bearer>,
}

/// The bearer bridge of one span.
pub struct Bearer {
    /// RTP payload type of the span's law (0 u-law, 8 A-law).
    payload_type: u8,
    /// Each B-channel's socket and the relay side it sends to.
    channels: HashMap<u8, Channel>,
    /// Where the B-channels' audio goes and comes from.
    far: Far,
    /// `gateway_span_bchannels_in_use{span}`.
    in_use: IntGauge,
}

/// The far end of a bearer bridge.
enum Far {
    /// The test span's bearer connection (one at a time).
    Seqpacket(Mutex<Option<Arc<UnixSeqpacket>>>),
    /// Timeslots a span driver reads and writes itself (the pseudowire octet by octet,
    /// DAHDI a block at a time): RTP payloads go into each channel's [`Fifo`], taken by
    /// [`Bearer::take_block`]; audio from the span comes through [`Bearer::send_audio`].
    Timeslots,
}

struct Channel {
    socket: Arc<UdpSocket>,
    state: Mutex<ChannelState>,
    /// Toward the timeslot (`Far::Timeslots` only).
    fifo: Mutex<Fifo>,
}

/// Most octets held toward a timeslot: 200 ms; older ones are dropped.
const FIFO_MAX: usize = 1600;
/// Octets gathered before a timeslot starts (again) being fed: 30 ms, one RTP packet
/// and half of the next, so packet jitter does not empty it every 20 ms.
const FIFO_PRIME: usize = 240;

/// RTP payloads waiting to be played into a timeslot, one octet per 125 us frame.
struct Fifo {
    q: VecDeque<u8>,
    primed: bool,
}

impl Fifo {
    fn new() -> Self {
        Fifo {
            q: VecDeque::with_capacity(FIFO_MAX + MAX_BEARER),
            primed: false,
        }
    }

    fn push(&mut self, payload: &[u8]) {
        let over = (self.q.len() + payload.len()).saturating_sub(FIFO_MAX);
        self.q.drain(..over.min(self.q.len()));
        self.q.extend(payload);
        if self.q.len() >= FIFO_PRIME {
            self.primed = true;
        }
    }

    /// The next octet, or `silence` while priming or after an underrun.
    fn pop(&mut self, silence: u8) -> u8 {
        if !self.primed {
            return silence;
        }
        match self.q.pop_front() {
            Some(o) => o,
            None => {
                self.primed = false;
                silence
            }
        }
    }
}

#[derive(Default)]
struct ChannelState {
    relay: Option<SocketAddr>,
    seq: u16,
    timestamp: u32,
    ssrc: u32,
}

impl Bearer {
    /// Connects (`Some`) or disconnects B-channel `channel` to the relay side at `relay`.
    pub fn connect(&self, channel: u8, relay: Option<SocketAddr>) {
        if let Some(c) = self.channels.get(&channel)
            && let Ok(mut s) = c.state.lock()
        {
            s.relay = relay;
        }
        let in_use = self
            .channels
            .values()
            .filter(|c| c.state.lock().is_ok_and(|s| s.relay.is_some()))
            .count();
        self.in_use.set(in_use as i64);
    }

    /// The loopback RTP address of each B-channel.
    pub fn addresses(&self) -> HashMap<u8, SocketAddr> {
        self.channels
            .iter()
            .filter_map(|(n, c)| Some((*n, c.socket.local_addr().ok()?)))
            .collect()
    }

    /// A bridge for `channels` whose far end is timeslot buffers (see [`Far`]); its RTP
    /// receiving tasks are running.
    pub(super) async fn with_timeslots(
        ulaw: bool,
        channels: &[u8],
        in_use: IntGauge,
    ) -> io::Result<Arc<Bearer>> {
        let bearer = Arc::new(Bearer {
            payload_type: if ulaw { 0 } else { 8 },
            channels: bind_channels(channels).await?,
            far: Far::Timeslots,
            in_use,
        });
        spawn_rtp_receivers(&bearer);
        Ok(bearer)
    }

    /// The next octets for B-channel `channel`'s timeslot into `out`: what the relay
    /// sent, or `silence` (the law's) where nothing is there. One lock for the block.
    pub(super) fn take_block(&self, channel: u8, silence: u8, out: &mut [u8]) {
        match self.channels.get(&channel).map(|c| c.fifo.lock()) {
            Some(Ok(mut f)) => out.iter_mut().for_each(|o| *o = f.pop(silence)),
            _ => out.fill(silence),
        }
    }

    /// Sends `audio` from B-channel `channel`'s timeslot as one RTP packet to its relay
    /// side, if connected; `packet` is scratch space (12 + `audio.len()` octets). Never
    /// waits: a full socket buffer drops the packet.
    pub(super) fn send_audio(&self, channel: u8, audio: &[u8], packet: &mut [u8]) {
        if let Some((c, target, len)) = self.rtp_packet(channel, audio, packet) {
            let _ = c.socket.try_send_to(&packet[..len], target);
        }
    }

    /// Writes the RTP packet for `audio` on `channel` into `packet`: the channel, its
    /// relay side and the packet's length, or `None` when it is not connected.
    fn rtp_packet(
        &self,
        channel: u8,
        audio: &[u8],
        packet: &mut [u8],
    ) -> Option<(&Channel, SocketAddr, usize)> {
        let ch = self.channels.get(&channel)?;
        let len = 12 + audio.len();
        let packet = packet.get_mut(..len)?;
        let mut s = ch.state.lock().ok()?;
        let relay = s.relay?;
        // RFC 3550 §5.1 fixed header, no CSRC, no extension.
        packet[0] = 0x80;
        packet[1] = self.payload_type;
        packet[2..4].copy_from_slice(&s.seq.to_be_bytes());
        packet[4..8].copy_from_slice(&s.timestamp.to_be_bytes());
        packet[8..12].copy_from_slice(&s.ssrc.to_be_bytes());
        s.seq = s.seq.wrapping_add(1);
        s.timestamp = s.timestamp.wrapping_add(audio.len() as u32);
        packet[12..].copy_from_slice(audio);
        Some((ch, relay, len))
    }
}

/// One loopback RTP socket per B-channel.
async fn bind_channels(channels: &[u8]) -> io::Result<HashMap<u8, Channel>> {
    let mut chans = HashMap::new();
    for (i, &n) in channels.iter().enumerate() {
        let socket = Arc::new(UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?);
        let state = ChannelState {
            ssrc: 0x5350_0000 | (u32::from(n) << 8) | (i as u32 & 0xFF),
            ..ChannelState::default()
        };
        chans.insert(
            n,
            Channel {
                socket,
                state: Mutex::new(state),
                fifo: Mutex::new(Fifo::new()),
            },
        );
    }
    Ok(chans)
}

fn spawn_rtp_receivers(bearer: &Arc<Bearer>) {
    for (&n, c) in &bearer.channels {
        tokio::spawn(rtp_to_span(n, c.socket.clone(), bearer.clone()));
    }
}

fn seqpacket_listener(path: &Path) -> io::Result<UnixSeqpacketListener> {
    // A socket file left by an earlier run would make bind fail.
    let _ = std::fs::remove_file(path);
    UnixSeqpacketListener::bind(path)
}

/// One message into `buf`; `Ok(0)` when the far end closed.
async fn recv_into(sock: &UnixSeqpacket, buf: &mut [u8]) -> io::Result<usize> {
    sock.recv(buf).await.map(|m| m.bytes_read())
}

/// Starts the span drivers of the PRI trunks in `config`; returns what the core needs
/// of each (by trunk name). A span whose driver cannot start is logged and left out.
pub async fn start(
    config: &Config,
    core: SipHandle,
    metrics: &Metrics,
) -> HashMap<String, SpanPorts> {
    let mut out = HashMap::new();
    for t in &config.trunks {
        let TrunkParams::Pri(p) = &t.params else {
            continue;
        };
        let Some(span) = config.span(&p.span) else {
            continue;
        };
        let ulaw = match p.law {
            Some(crate::config::Law::Ulaw) => true,
            Some(crate::config::Law::Alaw) => false,
            None => span.line == crate::config::SpanType::T1,
        };
        let channels: Vec<u8> = match &p.channels {
            Some(set) => set
                .numbers()
                .iter()
                .filter_map(|&n| u8::try_from(n).ok())
                .collect(),
            None => span
                .bearer_timeslots()
                .into_iter()
                .filter_map(|n| u8::try_from(n).ok())
                .collect(),
        };
        let span_metrics = metrics.span(&span.name);
        let driver = match &span.driver {
            SpanDriver::Test(d) => d,
            SpanDriver::Pseudowire(pw) => {
                let dslot = u8::try_from(span.signalling_timeslot()).unwrap_or(16);
                let started = super::pseudowire::start_span(
                    &t.name,
                    pw,
                    span.line,
                    ulaw,
                    &channels,
                    dslot,
                    core.clone(),
                    (span_metrics, metrics.pseudowire(&span.name)),
                )
                .await;
                match started {
                    Ok(ports) => {
                        info!(trunk = %t.name, local = %pw.local, remote = %pw.remote, "pseudowire span running");
                        out.insert(t.name.clone(), ports);
                    }
                    Err(e) => {
                        warn!(trunk = %t.name, local = %pw.local, error = %e, "pseudowire span not started")
                    }
                }
                continue;
            }
            #[cfg(feature = "dahdi")]
            SpanDriver::Dahdi(d) => {
                let started = super::dahdi::start_span(
                    &t.name,
                    span,
                    d,
                    ulaw,
                    &channels,
                    core.clone(),
                    span_metrics,
                )
                .await;
                match started {
                    Ok(ports) => {
                        info!(trunk = %t.name, dahdi_span = d.span, "DAHDI span running");
                        out.insert(t.name.clone(), ports);
                    }
                    Err(e) => {
                        warn!(trunk = %t.name, dahdi_span = d.span, error = %e, "DAHDI span not started")
                    }
                }
                continue;
            }
            // `Config::load` refuses it in such a build; a parsed-only configuration
            // (replay) gets here.
            #[cfg(not(feature = "dahdi"))]
            SpanDriver::Dahdi(_) => {
                warn!(trunk = %t.name, span = %span.name, "this gatewayd was built without the DAHDI span driver (feature `dahdi`)");
                continue;
            }
        };
        let started = start_span(
            &t.name,
            &driver.socket,
            ulaw,
            &channels,
            core.clone(),
            span_metrics,
        )
        .await;
        match started {
            Ok(ports) => {
                info!(trunk = %t.name, socket = %driver.socket.display(), "test span listening");
                out.insert(t.name.clone(), ports);
            }
            Err(e) => {
                warn!(trunk = %t.name, socket = %driver.socket.display(), error = %e, "test span not started")
            }
        }
    }
    out
}

async fn start_span(
    trunk: &str,
    path: &Path,
    ulaw: bool,
    channels: &[u8],
    core: SipHandle,
    metrics: SpanMetrics,
) -> io::Result<SpanPorts> {
    let dlistener = seqpacket_listener(path)?;
    let mut bpath = PathBuf::from(path);
    bpath.as_mut_os_string().push(".bearer");
    let blistener = seqpacket_listener(&bpath)?;
    let bearer = Arc::new(Bearer {
        payload_type: if ulaw { 0 } else { 8 },
        channels: bind_channels(channels).await?,
        far: Far::Seqpacket(Mutex::new(None)),
        in_use: metrics.bchannels_in_use.clone(),
    });
    let (tx, rx) = mpsc::channel::<Vec<u8>>(256);
    tokio::spawn(dchannel(
        trunk.to_owned(),
        dlistener,
        rx,
        core.clone(),
        metrics,
    ));
    tokio::spawn(bearer_far_end(blistener, bearer.clone()));
    spawn_rtp_receivers(&bearer);
    Ok(SpanPorts {
        dchannel: tx,
        bearer,
    })
}

/// Accepts D-channel far ends one after the other; frames in go to the core, frames
/// from the core go to the far end connected now (dropped while none is).
async fn dchannel(
    trunk: String,
    mut listener: UnixSeqpacketListener,
    mut from_core: mpsc::Receiver<Vec<u8>>,
    core: SipHandle,
    metrics: SpanMetrics,
) {
    let mut far: Option<UnixSeqpacket> = None;
    let mut buf = vec![0u8; tdm::test_span::MAX_MESSAGE + 16];
    let mut msg = Vec::with_capacity(tdm::test_span::MAX_MESSAGE);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(s) => {
                    info!(%trunk, "test span D-channel far end connected");
                    far = Some(s);
                    metrics.up.set(1);
                    if !core.span_state(&trunk, true).await {
                        return;
                    }
                }
                Err(e) => {
                    warn!(%trunk, error = %e, "test span accept failed");
                    return;
                }
            },
            frame = from_core.recv() => {
                let Some(frame) = frame else { return };
                if let Some(s) = &far {
                    msg.clear();
                    tdm::test_span::encode_dchannel(&frame, &mut msg);
                    match s.send(&msg).await {
                        Ok(_) => metrics.frames_out.inc(),
                        Err(e) => {
                            debug!(%trunk, error = %e, "D-channel send failed");
                            far = None;
                        }
                    }
                }
            }
            n = read_far(&far, &mut buf) => match n {
                Ok(0) | Err(_) => {
                    info!(%trunk, "test span D-channel far end gone");
                    far = None;
                    metrics.up.set(0);
                    if !core.span_state(&trunk, false).await {
                        return;
                    }
                }
                Ok(n) => match tdm::test_span::decode_dchannel(&buf[..n]) {
                    Ok(frame) => {
                        metrics.frames_in.inc();
                        if !core.span_frame(&trunk, frame.to_vec()).await {
                            return;
                        }
                    }
                    Err(e) => debug!(%trunk, error = %e, "D-channel message dropped"),
                },
            },
        }
    }
}

/// Reads the connected far end, or waits forever when none is.
async fn read_far(far: &Option<UnixSeqpacket>, buf: &mut [u8]) -> io::Result<usize> {
    match far {
        Some(s) => recv_into(s, buf).await,
        None => std::future::pending().await,
    }
}

/// Accepts bearer far ends one after the other; each message is a B-channel's audio,
/// sent as RTP to the relay side the channel is connected to.
async fn bearer_far_end(mut listener: UnixSeqpacketListener, bearer: Arc<Bearer>) {
    let Far::Seqpacket(slot) = &bearer.far else {
        return;
    };
    let mut buf = vec![0u8; MAX_BEARER];
    let mut packet = vec![0u8; 12 + MAX_BEARER];
    loop {
        let far = match listener.accept().await {
            Ok(s) => Arc::new(s),
            Err(e) => {
                warn!(error = %e, "test span bearer accept failed");
                return;
            }
        };
        if let Ok(mut f) = slot.lock() {
            *f = Some(far.clone());
        }
        loop {
            let n = match recv_into(&far, &mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if n < 2 {
                continue;
            }
            let Some((ch, target, len)) = bearer.rtp_packet(buf[0], &buf[1..n], &mut packet) else {
                continue;
            };
            let _ = ch.socket.send_to(&packet[..len], target).await;
        }
        if let Ok(mut f) = slot.lock() {
            *f = None;
        }
    }
}

/// RTP from the relay on B-channel `n`'s socket: its payload goes to the span.
async fn rtp_to_span(n: u8, socket: Arc<UdpSocket>, bearer: Arc<Bearer>) {
    let mut buf = vec![0u8; 2048];
    let mut msg = vec![0u8; MAX_BEARER];
    loop {
        let Ok((len, _from)) = socket.recv_from(&mut buf).await else {
            return;
        };
        let Some(payload) = rtp_payload(&buf[..len]) else {
            continue;
        };
        // Telephone-events and comfort noise have no place on a B-channel.
        if buf[1] & 0x7F != bearer.payload_type {
            continue;
        }
        let take = payload.len().min(MAX_BEARER - 1);
        match &bearer.far {
            Far::Seqpacket(slot) => {
                msg[0] = n;
                msg[1..1 + take].copy_from_slice(&payload[..take]);
                let far = slot.lock().ok().and_then(|f| f.clone());
                if let Some(far) = far {
                    let _ = far.send(&msg[..1 + take]).await;
                }
            }
            Far::Timeslots => {
                if let Some(Ok(mut f)) = bearer.channels.get(&n).map(|c| c.fifo.lock()) {
                    f.push(&payload[..take]);
                }
            }
        }
    }
}

/// The payload of an RTP packet (RFC 3550 §5.1: CSRCs, extension and padding skipped).
fn rtp_payload(p: &[u8]) -> Option<&[u8]> {
    if p.len() < 12 || p[0] >> 6 != 2 {
        return None;
    }
    let mut start = 12 + 4 * usize::from(p[0] & 0x0F);
    if p[0] & 0x10 != 0 {
        let ext = p.get(start + 2..start + 4)?;
        start += 4 + 4 * usize::from(u16::from_be_bytes([ext[0], ext[1]]));
    }
    let mut end = p.len();
    if p[0] & 0x20 != 0 {
        end = end.checked_sub(usize::from(*p.last()?))?;
    }
    p.get(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtp_payload_skips_csrcs_extension_and_padding() {
        let mut p = vec![0x80, 8, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4];
        p.extend_from_slice(&[0xD5; 4]);
        assert_eq!(rtp_payload(&p), Some(&[0xD5u8; 4][..]));
        // One CSRC, an extension of one word, two octets of padding.
        let mut q = vec![0xB1, 8, 0, 1, 0, 0, 0, 160, 1, 2, 3, 4, 9, 9, 9, 9];
        q.extend_from_slice(&[0xBE, 0xDE, 0, 1, 7, 7, 7, 7]);
        q.extend_from_slice(&[0x55, 0x55, 0, 2]);
        assert_eq!(rtp_payload(&q), Some(&[0x55u8, 0x55][..]));
        assert_eq!(rtp_payload(&[0x80; 5]), None);
        assert_eq!(rtp_payload(&[0x40; 12]), None, "not version 2");
    }

    #[test]
    fn timeslot_fifo_primes_drains_and_caps() {
        let mut f = Fifo::new();
        f.push(&[1; 160]);
        assert_eq!(f.pop(0xD5), 0xD5, "not primed with one packet");
        f.push(&[2; 160]);
        assert_eq!(f.pop(0xD5), 1);
        for _ in 0..319 {
            f.pop(0xD5);
        }
        assert_eq!(f.pop(0xD5), 0xD5, "underrun plays silence");
        assert_eq!(f.pop(0xD5), 0xD5, "and waits to be primed again");
        for k in 0..20u8 {
            f.push(&[k; 160]);
        }
        assert_eq!(f.q.len(), FIFO_MAX);
        assert_eq!(f.pop(0xFF), 10, "the oldest were dropped");
    }
}
