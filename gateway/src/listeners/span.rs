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

use super::sip::SipHandle;
use crate::config::{Config, SpanDriver, TrunkParams};
use std::collections::HashMap;
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
    /// The far end's bearer connection.
    far: Mutex<Option<Arc<UnixSeqpacket>>>,
}

struct Channel {
    socket: Arc<UdpSocket>,
    state: Mutex<ChannelState>,
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
    }

    /// The loopback RTP address of each B-channel.
    pub fn addresses(&self) -> HashMap<u8, SocketAddr> {
        self.channels
            .iter()
            .filter_map(|(n, c)| Some((*n, c.socket.local_addr().ok()?)))
            .collect()
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

/// Starts the test span drivers of the PRI trunks in `config`; returns what the core
/// needs of each (by trunk name). Spans with other drivers are left out (DAHDI and
/// pseudowire drivers are not in this build).
pub async fn start(config: &Config, core: SipHandle) -> HashMap<String, SpanPorts> {
    let mut out = HashMap::new();
    for t in &config.trunks {
        let TrunkParams::Pri(p) = &t.params else {
            continue;
        };
        let Some(span) = config.span(&p.span) else {
            continue;
        };
        let SpanDriver::Test(driver) = &span.driver else {
            warn!(trunk = %t.name, span = %span.name, "span driver not available in this build");
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
                .timeslots()
                .filter(|&n| n != span.signalling_timeslot())
                .filter_map(|n| u8::try_from(n).ok())
                .collect(),
        };
        match start_span(&t.name, &driver.socket, ulaw, &channels, core.clone()).await {
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
) -> io::Result<SpanPorts> {
    let dlistener = seqpacket_listener(path)?;
    let mut bpath = PathBuf::from(path);
    bpath.as_mut_os_string().push(".bearer");
    let blistener = seqpacket_listener(&bpath)?;
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
            },
        );
    }
    let bearer = Arc::new(Bearer {
        payload_type: if ulaw { 0 } else { 8 },
        channels: chans,
        far: Mutex::new(None),
    });
    let (tx, rx) = mpsc::channel::<Vec<u8>>(256);
    tokio::spawn(dchannel(trunk.to_owned(), dlistener, rx, core.clone()));
    tokio::spawn(bearer_far_end(blistener, bearer.clone()));
    for (&n, c) in &bearer.channels {
        tokio::spawn(rtp_to_span(n, c.socket.clone(), bearer.clone()));
    }
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
                    if let Err(e) = s.send(&msg).await {
                        debug!(%trunk, error = %e, "D-channel send failed");
                        far = None;
                    }
                }
            }
            n = read_far(&far, &mut buf) => match n {
                Ok(0) | Err(_) => {
                    info!(%trunk, "test span D-channel far end gone");
                    far = None;
                    if !core.span_state(&trunk, false).await {
                        return;
                    }
                }
                Ok(n) => match tdm::test_span::decode_dchannel(&buf[..n]) {
                    Ok(frame) => {
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
        if let Ok(mut f) = bearer.far.lock() {
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
            let Some(ch) = bearer.channels.get(&buf[0]) else {
                continue;
            };
            let audio = &buf[1..n];
            let target = {
                let Ok(mut s) = ch.state.lock() else {
                    continue;
                };
                let Some(relay) = s.relay else {
                    continue;
                };
                // RFC 3550 §5.1 fixed header, no CSRC, no extension.
                packet[0] = 0x80;
                packet[1] = bearer.payload_type;
                packet[2..4].copy_from_slice(&s.seq.to_be_bytes());
                packet[4..8].copy_from_slice(&s.timestamp.to_be_bytes());
                packet[8..12].copy_from_slice(&s.ssrc.to_be_bytes());
                s.seq = s.seq.wrapping_add(1);
                s.timestamp = s.timestamp.wrapping_add(audio.len() as u32);
                relay
            };
            packet[12..12 + audio.len()].copy_from_slice(audio);
            let _ = ch.socket.send_to(&packet[..12 + audio.len()], target).await;
        }
        if let Ok(mut f) = bearer.far.lock() {
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
        msg[0] = n;
        msg[1..1 + take].copy_from_slice(&payload[..take]);
        let far = bearer.far.lock().ok().and_then(|f| f.clone());
        if let Some(far) = far {
            let _ = far.send(&msg[..1 + take]).await;
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
}
