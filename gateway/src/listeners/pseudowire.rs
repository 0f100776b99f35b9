//! The TDM-over-IP span driver (`spans[].driver: {kind: pseudowire, ..}`): a PRI trunk's
//! E1/T1 carried as a CESoPSN (RFC 5086) or SAToP (RFC 4553) pseudowire over UDP toward
//! an E1-to-Ethernet device or another gateway.
//!
//! One tokio task per span owns a [`tdm::pseudowire::Pseudowire`] (packetizer, jitter
//! buffer, packet clock) and its UDP socket bound to `local`; on every packet clock tick
//! (`frames_per_packet` x 125 us, from `poll_timeout`) it plays the received frames into
//! the span's software TDM side and sends one packet to `remote`:
//!
//! - the D-channel timeslot (TS16 on E1) runs through [`tdm::pseudowire::DChannel`]
//!   (HDLC with a real FCS): frames found go to the core (`span_frame`), frames from the
//!   core are framed into the timeslot, idle flags between them;
//! - each B-channel's timeslot goes to the bearer bridge of [`super::span`]: 160 octets
//!   (20 ms) gathered are one RTP packet toward the relay; RTP from the relay fills a
//!   per-channel FIFO read one octet per frame (the law's silence when it runs dry).
//!
//! The span is up (`span_state(trunk, true)`) from the first good packet from `remote`
//! and down after [`SILENCE_DOWN`] without one, so the D-channel starts over.

use super::sip::SipHandle;
use super::span::{Bearer, SpanPorts};
use crate::config::{PseudowireDriver, PseudowireProtocol, SpanType};
use crate::metrics::{PseudowireMetrics, SpanMetrics};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tdm::pseudowire::{Config, DChannel, Frame, Protocol, Pseudowire, TdmPort};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// Without a good packet from the far end for this long the span is down.
pub const SILENCE_DOWN: Duration = Duration::from_secs(1);
/// Octets of a B-channel per RTP packet toward the relay: 20 ms.
const RTP_OCTETS: usize = 160;
/// The largest datagram read.
const MAX_DATAGRAM: usize = 2048;

/// Starts the pseudowire of PRI trunk `trunk`: B-channels `channels` (each in the
/// timeslot of its number), the D-channel in timeslot `dslot`.
#[allow(clippy::too_many_arguments)] // one call site, each argument named there
pub(super) async fn start_span(
    trunk: &str,
    driver: &PseudowireDriver,
    line: SpanType,
    ulaw: bool,
    channels: &[u8],
    dslot: u8,
    core: SipHandle,
    metrics: (SpanMetrics, PseudowireMetrics),
) -> io::Result<SpanPorts> {
    let protocol = match driver.protocol {
        PseudowireProtocol::Cesopsn => Protocol::Cesopsn,
        PseudowireProtocol::Satop if line == SpanType::E1 => Protocol::Satop,
        PseudowireProtocol::Satop => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "SAToP is implemented for E1 spans only",
            ));
        }
    };
    // CESoPSN carries every timeslot of the span (E1 1-31, T1 1-24), as a device
    // set up for a whole PRI expects, whatever subset the trunk's calls use.
    let last: u8 = if line == SpanType::E1 { 31 } else { 24 };
    let timeslots: Vec<u8> = (1..=last).collect();
    // RFC 5086 §5.2: the first sequence number should be random.
    let first_seq = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u16);
    let config = Config {
        protocol,
        timeslots,
        frames_per_packet: driver.frames_per_packet,
        jitter_buffer: Duration::from_millis(u64::from(driver.jitter_buffer_ms)),
        rtp: None,
        first_seq,
    };
    let pw = Pseudowire::new(config, Instant::now()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "timeslots out of range for the pseudowire",
        )
    })?;
    let socket = UdpSocket::bind(driver.local).await?;
    let bearer = Bearer::with_timeslots(ulaw, channels, metrics.0.bchannels_in_use.clone()).await?;
    let (tx, rx) = mpsc::channel::<Vec<u8>>(256);
    let port = Port {
        bearer: bearer.clone(),
        channels: channels
            .iter()
            .filter(|&&n| n != dslot)
            .map(|&n| Gather {
                channel: n,
                octets: [0; RTP_OCTETS],
                len: 0,
                play: [0; PLAY_BLOCK],
                played: PLAY_BLOCK,
            })
            .collect(),
        dslot: usize::from(dslot),
        dchannel: DChannel::default(),
        frames: Vec::with_capacity(8),
        packet: [0; 12 + RTP_OCTETS],
        silence: if ulaw { 0xFF } else { 0xD5 },
    };
    tokio::spawn(run(
        trunk.to_owned(),
        socket,
        driver.remote,
        pw,
        port,
        rx,
        core,
        metrics,
    ));
    Ok(SpanPorts {
        dchannel: tx,
        bearer,
    })
}

/// Octets taken from a B-channel's FIFO at once toward its timeslot (5 ms): the FIFO's
/// lock is taken once per block, not once per 125 us frame.
const PLAY_BLOCK: usize = 40;

/// One B-channel's audio from the span, gathered up to an RTP packet, and what it plays
/// into the span, taken from the bearer bridge a block at a time.
struct Gather {
    channel: u8,
    octets: [u8; RTP_OCTETS],
    len: usize,
    play: [u8; PLAY_BLOCK],
    /// Next octet of `play` to send; `PLAY_BLOCK` when it is used up.
    played: usize,
}

/// The span's TDM side in software: the D-channel's HDLC and the bearer bridge.
struct Port {
    bearer: Arc<Bearer>,
    channels: Vec<Gather>,
    dslot: usize,
    dchannel: DChannel,
    /// D-channel frames found during a tick, for the core.
    frames: Vec<Vec<u8>>,
    /// RTP scratch.
    packet: [u8; 12 + RTP_OCTETS],
    silence: u8,
}

impl TdmPort for Port {
    fn transmit(&mut self, frame: &mut Frame) {
        // Timeslots no B-channel uses are idle: the law's silence.
        frame.fill(self.silence);
        if let Some(o) = frame.get_mut(self.dslot) {
            *o = self.dchannel.next_octet();
        }
        for g in &mut self.channels {
            if let Some(o) = frame.get_mut(usize::from(g.channel)) {
                if g.played == PLAY_BLOCK {
                    self.bearer.take_block(g.channel, self.silence, &mut g.play);
                    g.played = 0;
                }
                *o = g.play[g.played];
                g.played += 1;
            }
        }
    }

    fn receive(&mut self, frame: &Frame) {
        if let Some(&o) = frame.get(self.dslot) {
            let frames = &mut self.frames;
            self.dchannel.receive_octet(o, |f| frames.push(f.to_vec()));
        }
        for g in &mut self.channels {
            let Some(&o) = frame.get(usize::from(g.channel)) else {
                continue;
            };
            g.octets[g.len] = o;
            g.len += 1;
            if g.len == RTP_OCTETS {
                g.len = 0;
                self.bearer
                    .send_audio(g.channel, &g.octets, &mut self.packet);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)] // one call site, each argument named there
async fn run(
    trunk: String,
    socket: UdpSocket,
    remote: SocketAddr,
    mut pw: Pseudowire,
    mut port: Port,
    mut from_core: mpsc::Receiver<Vec<u8>>,
    core: SipHandle,
    (span, mut pwm): (SpanMetrics, PseudowireMetrics),
) {
    let mut hdlc_seen = tdm::hdlc::DeframeStats::default();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut up = false;
    let mut last_rx: Option<Instant> = None;
    let mut bad: u64 = 0;
    loop {
        let deadline = pw
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_millis(1));
        tokio::select! {
            r = socket.recv_from(&mut buf) => match r {
                Ok((n, from)) if from == remote => {
                    let now = Instant::now();
                    match pw.handle_input(now, &buf[..n]) {
                        Ok(_) => {
                            last_rx = Some(now);
                            if !up {
                                up = true;
                                span.up.set(1);
                                info!(%trunk, %remote, "pseudowire receiving: span up");
                                if !core.span_state(&trunk, true).await {
                                    return;
                                }
                            }
                        }
                        Err(e) => {
                            bad += 1;
                            // The first and then every 1000th, not one line per packet.
                            if bad % 1000 == 1 {
                                debug!(%trunk, error = %e, bad, "pseudowire packet dropped");
                            }
                        }
                    }
                }
                Ok((_, from)) => debug!(%trunk, %from, "datagram not from the pseudowire's remote"),
                Err(e) => debug!(%trunk, error = %e, "pseudowire receive failed"),
            },
            frame = from_core.recv() => {
                let Some(frame) = frame else { return };
                port.dchannel.push_frame(&frame);
                span.frames_out.inc();
            }
            _ = tokio::time::sleep_until(deadline.into()) => {
                let now = Instant::now();
                pw.handle_timeout(now, &mut port);
                while let Some(p) = pw.poll_transmit() {
                    // Never waits: a full send buffer loses the packet, as a line would.
                    if let Err(e) = socket.try_send_to(p, remote)
                        && e.kind() != io::ErrorKind::WouldBlock
                    {
                        debug!(%trunk, error = %e, "pseudowire send failed");
                    }
                }
                pwm.update(&pw.stats());
                let h = port.dchannel.stats();
                span.bad_fcs.inc_by(h.bad_fcs.saturating_sub(hdlc_seen.bad_fcs));
                span.aborts.inc_by(h.invalid.saturating_sub(hdlc_seen.invalid));
                hdlc_seen = h;
                for f in port.frames.drain(..) {
                    span.frames_in.inc();
                    if !core.span_frame(&trunk, f).await {
                        return;
                    }
                }
                if up && last_rx.is_none_or(|t| now.duration_since(t) > SILENCE_DOWN) {
                    up = false;
                    span.up.set(0);
                    let st = pw.stats().rx;
                    warn!(
                        %trunk, %remote, received = st.packets, lost = st.lost, late = st.late,
                        malformed = st.malformed, resyncs = st.resyncs,
                        "pseudowire silent: span down"
                    );
                    if !core.span_state(&trunk, false).await {
                        return;
                    }
                }
            }
        }
    }
}
