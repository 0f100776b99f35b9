//! SIP over UDP and TCP (RFC 3261 §18) and the call core: the tokio shell around the
//! sans-IO [`Switch`] (which owns the [`SipService`]). Socket tasks only move bytes:
//! every datagram and every framed stream message goes to one core task that owns the
//! switch, its clock and its timers, sends what it outputs, and runs the calls' media
//! through the [`MediaEngine`].

use super::sip_framing::{Frame, FramingError, StreamDeframer};
use super::{Context, accept_loop};
use crate::admission::{Admission, CallGuard};
use crate::capture::{Capture, Dir};
use crate::cdr::CdrSink;
use crate::config::Config;
use crate::h323::call_leg::{H323LegId, H323Output};
use crate::media::engine::{MediaEngine, figures};
use crate::media::{MediaEvent, PortPool};
use crate::metrics::{Metrics, SIP_METHODS, SIP_STATUS_CLASSES};
use crate::radius::client::{AuthAnswer, CallPoint};
use crate::radius::shell::{AuthAnswers, RadiusHandle};
use crate::sip::endpoint::{ConnectionId, Output, Peer, Transport};
use crate::sip::service::{Notice, ServiceOutput, SipService};
use crate::sip::source_limit::SourceLimiter;
use crate::switch::{CallRecord, H245Input, Switch, SwitchOutput};
use crate::tls::{TlsClients, TlsTarget};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tracing::debug;

/// Largest SIP message read from a socket (a UDP datagram's worth, RFC 3261 §18.1.1);
/// the service applies the configured `sip.max_message_bytes` on top.
pub const MAX_MESSAGE: usize = 65_535;

/// Depth of the core's input queue; socket tasks wait when it is full (back-pressure
/// instead of unbounded memory under a flood).
const QUEUE: usize = 4096;

/// What socket tasks and the daemon tell the SIP core.
enum Input {
    Datagram {
        peer: SocketAddr,
        bytes: Vec<u8>,
    },
    UdpUp {
        local: SocketAddr,
        socket: Arc<UdpSocket>,
    },
    UdpDown {
        local: SocketAddr,
    },
    Stream {
        peer: Peer,
        bytes: Vec<u8>,
    },
    Unframed {
        peer: Peer,
        head: Vec<u8>,
    },
    ConnUp {
        id: ConnectionId,
        /// TCP or TLS.
        transport: Transport,
        /// The far end (responses and requests to it reuse the connection).
        addr: SocketAddr,
        writer: mpsc::Sender<Vec<u8>>,
    },
    ConnDown {
        id: ConnectionId,
    },
    /// An outbound SIP/TCP or SIP/TLS connection could not be made.
    ConnectFailed {
        transport: Transport,
        addr: SocketAddr,
    },
    H225Up {
        conn: ConnectionId,
        peer: SocketAddr,
        /// Our end of it (where a separate H.245 listener binds).
        local: Option<SocketAddr>,
        writer: mpsc::Sender<Vec<u8>>,
        /// The outgoing leg this connection was opened for.
        leg: Option<H323LegId>,
    },
    H225Frame {
        conn: ConnectionId,
        payload: Vec<u8>,
    },
    H225Down {
        conn: ConnectionId,
    },
    H225ConnectFailed {
        leg: H323LegId,
    },
    /// A separate H.245 connection is up.
    H245Up {
        leg: H323LegId,
        conn: ConnectionId,
        writer: mpsc::Sender<Vec<u8>>,
    },
    H245(H245Input),
    /// A D-channel frame (FCS slot removed) from a PRI trunk's span.
    SpanFrame {
        trunk: String,
        frame: Vec<u8>,
    },
    /// A PRI trunk's span came up (its far end connected) or went down.
    SpanState {
        trunk: String,
        up: bool,
    },
    /// A gatekeeper trunk's RAS socket is bound.
    RasUp {
        trunk: String,
        local: SocketAddr,
        socket: Arc<UdpSocket>,
    },
    RasDatagram {
        trunk: String,
        from: SocketAddr,
        bytes: Vec<u8>,
    },
    /// What a call's media session reports (a DTMF digit taken out of the RTP).
    Media(MediaEvent),
    /// The RADIUS answer for a call waiting for authorisation.
    RadiusAnswer {
        call: u64,
        answer: AuthAnswer,
    },
    Reconfigure(Box<Config>),
    Draining(bool),
    /// Clear every call, wait until their records are written, then answer.
    Shutdown(tokio::sync::oneshot::Sender<()>),
}

/// A handle on the SIP core task.
#[derive(Clone)]
pub struct SipHandle {
    tx: mpsc::Sender<Input>,
    next_connection: Arc<AtomicU64>,
    /// `sip.per_source_rate` and `sip.per_source_burst`, read by the socket tasks.
    limits: Arc<(AtomicU32, AtomicU32)>,
    /// Where the sockets record what they carry (`run --capture`).
    capture: Option<Capture>,
}

/// What the core starts from: its randomness (identifiers and digest nonces) and the
/// capture, if any.
pub struct CoreStart {
    /// Seed of the identifiers (tags, branches, call references).
    pub seed: u64,
    /// Secret of the digest nonces.
    pub secret: [u8; 32],
    /// The capture the sockets write to.
    pub capture: Option<Capture>,
}

impl CoreStart {
    /// Fresh randomness from the kernel, no capture.
    pub fn random() -> CoreStart {
        let (seed, secret) = randomness();
        CoreStart {
            seed,
            secret,
            capture: None,
        }
    }
}

impl SipHandle {
    /// Starts the signalling core for `config`.
    pub fn spawn(
        config: &Config,
        metrics: Metrics,
        admission: Admission,
        cdr: Option<CdrSink>,
        start: CoreStart,
        radius: Option<(RadiusHandle, AuthAnswers)>,
    ) -> SipHandle {
        let (tx, rx) = mpsc::channel(QUEUE);
        let CoreStart {
            seed,
            secret,
            capture,
        } = start;
        let service = SipService::new(config, seed, secret);
        let media_ip = config
            .listeners
            .sip
            .first()
            .map_or(std::net::IpAddr::from([127, 0, 0, 1]), |l| l.address.ip());
        let pool = PortPool::new(media_ip, config.media.rtp_port_range);
        let ptime = u16::try_from(config.media.ptime_ms).unwrap_or(20);
        let (mut engine, ports) = MediaEngine::new(pool, ptime, seed as u32);
        let media_events = engine.subscribe();
        let switch = Switch::new(Arc::new(config.clone()), service, Box::new(ports), seed);
        let tls = TlsClients::from_config(config);
        let handle = SipHandle {
            tx,
            next_connection: Arc::new(AtomicU64::new(1)),
            limits: Arc::new((
                AtomicU32::new(config.sip.per_source_rate),
                AtomicU32::new(config.sip.per_source_burst),
            )),
            capture,
        };
        tokio::spawn(forward_media_events(media_events, handle.tx.clone()));
        super::ras::start(config, handle.clone(), metrics.clone());
        tokio::spawn(core(
            rx,
            handle.clone(),
            Arc::new(config.clone()),
            switch,
            engine,
            Sinks {
                metrics,
                admission,
                cdr,
                radius,
            },
            tls,
        ));
        handle
    }

    /// A handle whose messages go nowhere (tests of other parts).
    pub fn detached() -> SipHandle {
        let (tx, _) = mpsc::channel(1);
        SipHandle {
            tx,
            next_connection: Arc::new(AtomicU64::new(1)),
            limits: Arc::new((AtomicU32::new(u32::MAX), AtomicU32::new(u32::MAX))),
            capture: None,
        }
    }

    /// A per-source limiter with the configured rate (one per socket task).
    fn limiter(&self) -> SourceLimiter {
        SourceLimiter::new(
            self.limits.0.load(Ordering::Relaxed),
            self.limits.1.load(Ordering::Relaxed),
        )
    }

    /// Applies a reloaded configuration.
    pub async fn reconfigure(&self, config: &Config) {
        // New limits apply to sockets and connections opened from now on.
        self.limits
            .0
            .store(config.sip.per_source_rate, Ordering::Relaxed);
        self.limits
            .1
            .store(config.sip.per_source_burst, Ordering::Relaxed);
        let _ = self
            .tx
            .send(Input::Reconfigure(Box::new(config.clone())))
            .await;
    }

    /// The capture the sockets write to, if any.
    pub fn capture(&self) -> Option<&Capture> {
        self.capture.as_ref()
    }

    /// A fresh connection id (SIP/TCP and H.225.0 connections share the counter).
    pub fn next_connection_id(&self) -> ConnectionId {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// An H.225.0 connection is up (accepted, or opened for `leg`); false when the core
    /// is gone.
    pub async fn h225_up(
        &self,
        conn: ConnectionId,
        peer: SocketAddr,
        local: Option<SocketAddr>,
        writer: mpsc::Sender<Vec<u8>>,
        leg: Option<H323LegId>,
    ) -> bool {
        self.send(Input::H225Up {
            conn,
            peer,
            local,
            writer,
            leg,
        })
        .await
    }

    /// One TPKT payload from an H.225.0 connection.
    pub async fn h225_frame(&self, conn: ConnectionId, payload: Vec<u8>) -> bool {
        self.send(Input::H225Frame { conn, payload }).await
    }

    /// An H.225.0 connection ended.
    pub async fn h225_down(&self, conn: ConnectionId) {
        let _ = self.send(Input::H225Down { conn }).await;
    }

    /// The connection for an outgoing H.323 leg could not be made.
    pub async fn h225_connect_failed(&self, leg: H323LegId) {
        let _ = self.send(Input::H225ConnectFailed { leg }).await;
    }

    /// What a separate H.245 listener or connection reports; false when the core is gone.
    pub async fn h245(&self, input: H245Input) -> bool {
        self.send(Input::H245(input)).await
    }

    /// PRI trunk `trunk`'s span came up or went down.
    pub async fn span_state(&self, trunk: &str, up: bool) -> bool {
        self.send(Input::SpanState {
            trunk: trunk.to_owned(),
            up,
        })
        .await
    }

    /// A D-channel frame from PRI trunk `trunk`'s span.
    pub async fn span_frame(&self, trunk: &str, frame: Vec<u8>) -> bool {
        self.send(Input::SpanFrame {
            trunk: trunk.to_owned(),
            frame,
        })
        .await
    }

    /// A separate H.245 connection for `leg` is up.
    pub async fn h245_up(
        &self,
        leg: H323LegId,
        conn: ConnectionId,
        writer: mpsc::Sender<Vec<u8>>,
    ) -> bool {
        self.send(Input::H245Up { leg, conn, writer }).await
    }

    /// A gatekeeper trunk's RAS socket is bound at `local`; false when the core is gone.
    pub async fn ras_up(&self, trunk: &str, local: SocketAddr, socket: Arc<UdpSocket>) -> bool {
        self.send(Input::RasUp {
            trunk: trunk.to_owned(),
            local,
            socket,
        })
        .await
    }

    /// One datagram on a gatekeeper trunk's RAS socket; false when the core is gone.
    pub async fn ras_datagram(&self, trunk: &str, from: SocketAddr, bytes: Vec<u8>) -> bool {
        self.send(Input::RasDatagram {
            trunk: trunk.to_owned(),
            from,
            bytes,
        })
        .await
    }

    /// Clears the calls still up and waits until their records are handed to the CDR
    /// writer.
    pub async fn shutdown(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Input::Shutdown(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Starts or stops draining (new calls refused).
    pub async fn set_draining(&self, draining: bool) {
        let _ = self.tx.send(Input::Draining(draining)).await;
    }

    async fn send(&self, input: Input) -> bool {
        self.tx.send(input).await.is_ok()
    }
}

/// Moves the media sessions' events into the core's queue (waiting when it is full,
/// like the socket tasks); ends with the engine or the core.
async fn forward_media_events(
    mut events: mpsc::UnboundedReceiver<MediaEvent>,
    core: mpsc::Sender<Input>,
) {
    while let Some(e) = events.recv().await {
        if core.send(Input::Media(e)).await.is_err() {
            return;
        }
    }
}

/// 8 bytes of seed and 32 of nonce secret from the kernel's generator; a clock-derived
/// fallback keeps the daemon running where /dev/urandom is missing (identifiers then are
/// merely unique, which RFC 3261 requires, not unpredictable).
pub fn randomness() -> (u64, [u8; 32]) {
    let mut buf = [0u8; 40];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf))
        .is_ok();
    if !ok {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (t >> ((i % 16) * 8)) as u8 ^ (std::process::id() as u8).wrapping_mul(i as u8);
        }
    }
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&buf[..8]);
    let mut secret = [0u8; 32];
    secret.copy_from_slice(&buf[8..]);
    (u64::from_le_bytes(seed), secret)
}

/// A metrics label from the endpoint's: known methods and status classes as they are,
/// anything else `other` (peer-chosen method names must not create series).
fn label(l: &str) -> &str {
    if SIP_METHODS.contains(&l) {
        return l;
    }
    match status_code(l) {
        Some(code) => SIP_STATUS_CLASSES[usize::from(code / 100 - 1)],
        None => "other",
    }
}

/// A response's label (its status code, 100-699).
fn status_code(l: &str) -> Option<u16> {
    l.parse::<u16>().ok().filter(|c| (100..700).contains(c))
}

/// Counts a SIP message in and out: by method or status class, and responses by code.
fn count_sip(metrics: &Metrics, l: &str, direction: &str) {
    metrics.message("sip", label(l), direction);
    if let Some(code) = status_code(l) {
        metrics
            .sip_responses
            .with_label_values(&[&code.to_string(), direction])
            .inc();
    }
}

/// Where the core's results go: metrics, call admission, call records (the CDR writer
/// and RADIUS accounting, with the answers to its Access-Requests).
struct Sinks {
    metrics: Metrics,
    admission: Admission,
    cdr: Option<CdrSink>,
    radius: Option<(RadiusHandle, AuthAnswers)>,
}

async fn core(
    mut rx: mpsc::Receiver<Input>,
    switch_handle: SipHandle,
    config: Arc<Config>,
    mut switch: Switch,
    mut media: MediaEngine,
    sinks: Sinks,
    mut tls: TlsClients,
) {
    let Sinks {
        metrics,
        admission,
        cdr,
        radius,
    } = sinks;
    let (radius, mut auth_answers) = match radius {
        Some((h, a)) => (Some(h), Some(a)),
        None => (None, None),
    };
    let mut udp: Vec<(SocketAddr, Arc<UdpSocket>)> = Vec::new();
    let mut conns: HashMap<ConnectionId, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut streams = Streams::default();
    let mut h225: HashMap<ConnectionId, mpsc::Sender<Vec<u8>>> = HashMap::new();
    let mut h245_listeners: HashMap<H323LegId, tokio::task::AbortHandle> = HashMap::new();
    // Our address on each H.225.0 connection.
    let mut h225_local: HashMap<ConnectionId, SocketAddr> = HashMap::new();
    let mut ras: HashMap<String, Arc<UdpSocket>> = HashMap::new();
    let mut guards: HashMap<u64, CallGuard> = HashMap::new();
    // Records waiting for their media figures before they go to the CDR writer.
    let mut closing = tokio::task::JoinSet::new();
    let mut shutdown: Option<tokio::sync::oneshot::Sender<()>> = None;
    // The PRI trunks' spans, then their stacks (which ask for the data links).
    let spans = super::span::start(&config, switch_handle.clone(), &metrics).await;
    if !spans.is_empty() {
        switch.start_spans(Instant::now(), SystemTime::now());
    }
    // After the stacks exist: they keep each B-channel's bearer address.
    for (trunk, ports) in &spans {
        switch.set_bearers(trunk, ports.bearer.addresses());
    }
    // The side of each PRI trunk, for the D-channel capture's direction header.
    let pri_sides: HashMap<String, tdm::q921::Side> = config
        .trunks
        .iter()
        .filter_map(|t| match &t.params {
            crate::config::TrunkParams::Pri(p) => Some((
                t.name.clone(),
                match p.side {
                    crate::config::PriSide::Network => tdm::q921::Side::Network,
                    crate::config::PriSide::User => tdm::q921::Side::User,
                },
            )),
            _ => None,
        })
        .collect();
    let tap = |trunk: &str, dir: crate::capture::Dir, frame: &[u8]| {
        if let (Some(c), Some(side)) = (switch_handle.capture(), pri_sides.get(trunk)) {
            c.lapd(trunk, dir, *side, frame);
        }
    };
    loop {
        // No timers before a socket is up: a REGISTER or OPTIONS sent then would only
        // fail as a transport error.
        // (A RAS socket or an H.225.0 connection counts: an H.323-only gateway has no
        // SIP socket, and its RAS and call timers must run.)
        let deadline = if udp.is_empty()
            && conns.is_empty()
            && ras.is_empty()
            && h225.is_empty()
            && spans.is_empty()
        {
            None
        } else {
            switch.poll_timeout()
        };
        let input = tokio::select! {
            input = rx.recv() => match input {
                Some(i) => Some(i),
                None => return,
            },
            () = sleep_until(deadline) => None,
            Some((call, answer)) = next_answer(&mut auth_answers) => {
                Some(Input::RadiusAnswer { call, answer })
            }
        };
        let now = Instant::now();
        let wall = SystemTime::now();
        match input {
            None => switch.handle_timeout(now, wall),
            Some(Input::Datagram { peer, bytes }) => {
                switch.handle_sip(now, wall, Peer::udp(peer), &bytes)
            }
            Some(Input::Stream { peer, bytes }) => switch.handle_sip(now, wall, peer, &bytes),
            Some(Input::Unframed { peer, head }) => switch.reject_unframed(now, wall, peer, &head),
            Some(Input::UdpUp { local, socket }) => udp.push((local, socket)),
            Some(Input::UdpDown { local }) => udp.retain(|(l, _)| *l != local),
            Some(Input::ConnUp {
                id,
                transport,
                addr,
                writer,
            }) => {
                // RFC 3261 §18.1.1 / RFC 5923 spirit: one connection per peer, reused.
                streams.up(id, transport, addr);
                for bytes in streams.take_pending(transport, addr) {
                    let _ = writer.try_send(bytes);
                }
                conns.insert(id, writer);
            }
            Some(Input::ConnectFailed { transport, addr }) => {
                streams.take_pending(transport, addr);
                let peer = Peer {
                    transport,
                    addr,
                    connection: None,
                };
                switch.sip_transport_error(now, wall, peer);
            }
            Some(Input::ConnDown { id }) => {
                streams.down(id);
                conns.remove(&id);
            }
            Some(Input::H225Up {
                conn,
                peer,
                local,
                writer,
                leg,
            }) => {
                h225.insert(conn, writer);
                if let Some(local) = local {
                    h225_local.insert(conn, local);
                }
                match leg {
                    Some(leg) => switch.h225_connected(now, wall, leg, conn, peer),
                    None => switch.h225_opened(conn, peer),
                }
            }
            Some(Input::H225Frame { conn, payload }) => {
                switch.handle_h225(now, wall, conn, &payload)
            }
            Some(Input::H225Down { conn }) => {
                h225.remove(&conn);
                h225_local.remove(&conn);
                switch.h225_closed(now, wall, conn);
            }
            Some(Input::H225ConnectFailed { leg }) => switch.h225_connect_failed(now, wall, leg),
            Some(Input::H245Up { leg, conn, writer }) => {
                // H.245 writers share the H.225.0 map: connection ids are unique.
                h225.insert(conn, writer);
                switch.h245_input(now, wall, H245Input::Up { leg, conn });
            }
            Some(Input::RasUp {
                trunk,
                local,
                socket,
            }) => {
                ras.insert(trunk.clone(), socket);
                switch.ras_bound(now, wall, &trunk, local);
            }
            Some(Input::RasDatagram { trunk, from, bytes }) => {
                switch.handle_ras(now, wall, &trunk, from, &bytes)
            }
            Some(Input::SpanFrame { trunk, frame }) => {
                tap(&trunk, crate::capture::Dir::In, &frame);
                switch.handle_span_frame(now, wall, &trunk, &frame)
            }
            Some(Input::SpanState { trunk, up }) => switch.span_state(now, wall, &trunk, up),
            Some(Input::H245(input)) => {
                if let H245Input::Down { conn } = &input {
                    h225.remove(conn);
                }
                switch.h245_input(now, wall, input);
            }
            Some(Input::Media(MediaEvent::Dtmf {
                call,
                side,
                digit,
                duration_ms,
            })) => switch.media_dtmf(now, wall, call, side, digit, duration_ms),
            Some(Input::RadiusAnswer { call, answer }) => {
                switch.authorized(now, wall, call, answer)
            }
            Some(Input::Reconfigure(cfg)) => {
                tls = TlsClients::from_config(&cfg);
                switch.reconfigure(Arc::new(*cfg))
            }
            Some(Input::Draining(d)) => switch.sip_mut().set_draining(d),
            Some(Input::Shutdown(reply)) => {
                switch.clear_all(now, wall, mapping::cause::Q850Cause::NORMAL_UNSPECIFIED);
                // H.225.0 §7.13: unregister from the gatekeepers (URQ) before leaving.
                switch.ras_unregister(now, wall);
                shutdown = Some(reply);
            }
        }
        while let Some(out) = switch.poll_output() {
            match out {
                SwitchOutput::Sip(ServiceOutput::Endpoint(Output::Transmit {
                    peer,
                    bytes,
                    label: l,
                })) => {
                    count_sip(&metrics, &l, "out");
                    let mut links = Links {
                        udp: &udp,
                        conns: &conns,
                        streams: &mut streams,
                        tls: &mut tls,
                        core: &switch_handle,
                        metrics: &metrics,
                    };
                    if !links.send(peer, bytes).await {
                        debug!(%peer, "SIP send failed");
                        switch.sip_transport_error(now, wall, peer);
                    }
                }
                SwitchOutput::Sip(ServiceOutput::Endpoint(Output::Retransmitted { label: l })) => {
                    metrics
                        .sip_retransmissions
                        .with_label_values(&[label(&l)])
                        .inc()
                }
                SwitchOutput::Sip(ServiceOutput::Endpoint(Output::Received { label: l })) => {
                    count_sip(&metrics, &l, "in")
                }
                SwitchOutput::Sip(ServiceOutput::Endpoint(Output::DecodeError { peer, error })) => {
                    metrics.decode_error("sip");
                    debug!(%peer, %error, "undecodable SIP message");
                }
                SwitchOutput::Sip(ServiceOutput::Notice(n)) => notice(&metrics, n),
                SwitchOutput::Sip(_) => {}
                SwitchOutput::H225(o) => h225_output(
                    &switch_handle,
                    &metrics,
                    &mut h225,
                    &mut h245_listeners,
                    &h225_local,
                    o,
                ),
                SwitchOutput::Ras {
                    trunk,
                    to,
                    bytes,
                    label: l,
                    retransmission,
                } => {
                    metrics.message("ras", l, "out");
                    if retransmission {
                        debug!(%trunk, label = l, "RAS request sent again");
                    }
                    if let Some(s) = ras.get(&trunk)
                        && let Err(e) = s.try_send_to(&bytes, to)
                    {
                        debug!(%trunk, %to, error = %e, "RAS send failed");
                    }
                }
                SwitchOutput::RasRegistered { trunk, registered } => metrics
                    .h323_registered
                    .with_label_values(&[&trunk])
                    .set(i64::from(registered)),
                SwitchOutput::Authorize(q) => match &radius {
                    Some(r) => r.authorize(q),
                    // `radius:` added by a reload: the client starts with the daemon.
                    None => switch.authorized(now, wall, q.call, AuthAnswer::Unavailable),
                },
                SwitchOutput::Accounting(p) => {
                    if let Some(r) = &radius {
                        r.point(p);
                    }
                }
                SwitchOutput::Started { call } => {
                    if let Ok(guard) = admission.admit() {
                        guards.insert(call, guard);
                    }
                }
                SwitchOutput::Media(command) => {
                    if let Err(e) = media.execute(command) {
                        debug!(%e, "media could not start");
                        switch.media_failed(now, wall, e.0);
                    }
                }
                SwitchOutput::Span { trunk, frame } => {
                    tap(&trunk, crate::capture::Dir::Out, &frame);
                    if let Some(p) = spans.get(&trunk) {
                        // A full queue drops the frame; Q.921 recovers it (T200).
                        let _ = p.dchannel.try_send(frame);
                    }
                }
                SwitchOutput::SpanLink { trunk, up } => {
                    metrics
                        .trunk_up
                        .with_label_values(&[&trunk])
                        .set(i64::from(up));
                }
                SwitchOutput::Bearer {
                    trunk,
                    channel,
                    relay,
                } => {
                    if let Some(p) = spans.get(&trunk) {
                        p.bearer.connect(channel, relay);
                    }
                }
                SwitchOutput::AttemptEnded { record } => {
                    if let Some(cdr) = &cdr
                        && !cdr.write((*record).clone())
                    {
                        tracing::error!(record = ?record, "CDR writer stopped; record only in this log");
                    }
                }
                SwitchOutput::Ended {
                    record,
                    media: started,
                } => {
                    let guard = guards.remove(&record.call);
                    let session = if started {
                        media.stop(record.call)
                    } else {
                        None
                    };
                    let metrics = metrics.clone();
                    let cdr = cdr.clone();
                    let radius = radius.clone();
                    closing.spawn(async move {
                        let mut record = *record;
                        if let Some(s) = session {
                            let m = figures(&s.close().await, record.codec.as_deref());
                            metrics.call_media(&m);
                            record.media = Some(m);
                        }
                        finished(&metrics, &record);
                        if let Some(r) = radius {
                            r.point(CallPoint::End(Box::new(record.clone())));
                        }
                        if let Some(cdr) = cdr
                            && !cdr.write(record.clone())
                        {
                            tracing::error!(record = ?record, "CDR writer stopped; record only in this log");
                        }
                        drop(guard);
                    });
                }
            }
        }
        metrics
            .sip_registrations
            .set(i64::try_from(switch.sip().registrations()).unwrap_or(i64::MAX));
        while closing.try_join_next().is_some() {}
        if let Some(reply) = shutdown.take() {
            // Every record of a cleared call goes to the writer before we answer.
            while closing.join_next().await.is_some() {}
            let _ = reply.send(());
        }
    }
}

/// The next RADIUS answer, or never without RADIUS.
async fn next_answer(answers: &mut Option<AuthAnswers>) -> Option<(u64, AuthAnswer)> {
    match answers {
        Some(a) => a.recv().await,
        None => std::future::pending().await,
    }
}

/// Carries out an H.225.0 output of the switch.
fn h225_output(
    core: &SipHandle,
    metrics: &Metrics,
    conns: &mut HashMap<ConnectionId, mpsc::Sender<Vec<u8>>>,
    h245_listeners: &mut HashMap<H323LegId, tokio::task::AbortHandle>,
    h225_local: &HashMap<ConnectionId, SocketAddr>,
    o: H323Output,
) {
    match o {
        H323Output::Transmit { conn, bytes, label } => {
            metrics.message("h225", label, "out");
            if let Some(w) = conns.get(&conn)
                && w.try_send(bytes).is_err()
            {
                debug!(conn, "H.225.0 writer full or gone");
            }
        }
        H323Output::Connect { leg, addr } => {
            super::h225::connect(core.clone(), metrics.clone(), leg, addr)
        }
        // Dropping the writer makes its task close the connection.
        H323Output::Close { conn } => {
            conns.remove(&conn);
        }
        H323Output::DecodeError { conn } => {
            metrics.decode_error("h225");
            debug!(conn, "undecodable H.225.0 message");
        }
        H323Output::H245Transmit { conn, bytes, label } => {
            metrics.message("h245", label, "out");
            if let Some(w) = conns.get(&conn)
                && w.try_send(bytes).is_err()
            {
                debug!(conn, "H.245 writer full or gone");
            }
        }
        H323Output::H245Timeout { timer, .. } => {
            metrics.h245_timeouts.with_label_values(&[timer]).inc()
        }
        H323Output::H245Listen { leg, conn, ip } => {
            // A listener on 0.0.0.0 names no usable address: take the call's own.
            let ip = match h225_local.get(&conn) {
                Some(local) if ip.is_unspecified() => local.ip(),
                _ => ip,
            };
            let task = super::h245::listen(core.clone(), metrics.clone(), leg, ip);
            if let Some(old) = h245_listeners.insert(leg, task) {
                old.abort();
            }
        }
        H323Output::H245StopListening { leg } => {
            if let Some(task) = h245_listeners.remove(&leg) {
                task.abort();
            }
        }
        H323Output::H245Connect { leg, addr } => {
            super::h245::connect(core.clone(), metrics.clone(), leg, addr)
        }
        // The switch consumes call events itself.
        H323Output::Incoming { .. } | H323Output::Event { .. } | H323Output::Gone { .. } => {}
    }
}

fn notice(metrics: &Metrics, n: Notice) {
    match n {
        Notice::AuthFailed => metrics.sip_auth_failures.inc(),
        Notice::Registered { .. } => {}
        Notice::TransactionTimeout(timer) => metrics
            .sip_transaction_timeouts
            .with_label_values(&[timer])
            .inc(),
        Notice::Registration { trunk, registered } => {
            metrics
                .sip_trunk_registered
                .with_label_values(&[&trunk])
                .set(i64::from(registered));
            tracing::info!(%trunk, registered, "SIP trunk registration");
        }
        Notice::RegistrationFailed {
            trunk,
            reason,
            retry_in_seconds,
        } => {
            tracing::info!(%trunk, %reason, retry_in_seconds, "SIP trunk registration failed");
        }
        Notice::TrunkState { trunk, up } => {
            metrics
                .trunk_up
                .with_label_values(&[&trunk])
                .set(i64::from(up));
            tracing::info!(%trunk, up, "SIP trunk state (OPTIONS)");
        }
        Notice::TrunkRemote { trunk, remote, up } => {
            tracing::info!(%trunk, %remote, up, "SIP trunk remote state (OPTIONS)");
        }
        Notice::TrunkRemoved { trunk } => {
            // Absent series are fine: the trunk may have had neither gauge.
            let _ = metrics.trunk_up.remove_label_values(&[&trunk]);
            let _ = metrics.sip_trunk_registered.remove_label_values(&[&trunk]);
        }
    }
}

/// A call's end in the metrics and the log (the CDR writer takes it from here).
fn finished(metrics: &Metrics, r: &CallRecord) {
    let outcome = crate::metrics::outcome_of(r);
    let egress = r.egress_kind.unwrap_or("none");
    metrics
        .calls
        .with_label_values(&["sip", egress, outcome])
        .inc();
    if let Some(answer) = r.answer
        && let Ok(setup) = answer.duration_since(r.start)
    {
        metrics
            .call_setup_seconds
            .with_label_values(&["sip", egress])
            .observe(setup.as_secs_f64());
    }
    tracing::info!(
        call = r.call,
        ingress = %r.ingress_trunk,
        egress = r.egress_trunk.as_deref().unwrap_or("-"),
        cause = r.cause.value.0,
        initiator = ?r.initiator,
        billable_seconds = r.billable_seconds(),
        packets_from_caller = r.media.map_or(0, |m| m.from_caller.packets),
        packets_from_callee = r.media.map_or(0, |m| m.from_callee.packets),
        mos_caller = r.media.and_then(|m| m.from_caller.mos),
        mos_callee = r.media.and_then(|m| m.from_callee.mos),
        "call record"
    );
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// How long an outbound SIP/TCP connect may take; the transaction then fails with a
/// transport error (RFC 3261 §8.1.3.1: as a 503).
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a TLS handshake may take, either way; a peer that stalls it is dropped.
const TLS_HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The SIP/TCP and SIP/TLS connections by transport and peer address, and what waits
/// for a connection being opened.
#[derive(Default)]
struct Streams {
    by_addr: HashMap<(Transport, SocketAddr), ConnectionId>,
    addr_of: HashMap<ConnectionId, (Transport, SocketAddr)>,
    pending: HashMap<(Transport, SocketAddr), Vec<Vec<u8>>>,
}

impl Streams {
    fn up(&mut self, id: ConnectionId, transport: Transport, addr: SocketAddr) {
        self.by_addr.insert((transport, addr), id);
        self.addr_of.insert(id, (transport, addr));
    }

    fn down(&mut self, id: ConnectionId) {
        if let Some(key) = self.addr_of.remove(&id)
            && self.by_addr.get(&key) == Some(&id)
        {
            self.by_addr.remove(&key);
        }
    }

    fn take_pending(&mut self, transport: Transport, addr: SocketAddr) -> Vec<Vec<u8>> {
        self.pending.remove(&(transport, addr)).unwrap_or_default()
    }
}

/// Opens a SIP/TCP connection toward `addr` (TLS on top when `tls` says how) and
/// serves it like an accepted one.
fn open_stream(core: SipHandle, metrics: Metrics, addr: SocketAddr, tls: Option<TlsTarget>) {
    let transport = if tls.is_some() {
        Transport::Tls
    } else {
        Transport::Tcp
    };
    tokio::spawn(async move {
        let failed = |why: &str| {
            debug!(%addr, ?transport, why, "SIP connect failed");
            Input::ConnectFailed { transport, addr }
        };
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => stream,
            _ => {
                let _ = core.send(failed("tcp")).await;
                return;
            }
        };
        let link = Link {
            transport,
            remote: addr,
            local: stream.local_addr().unwrap_or(addr),
            outgoing: true,
        };
        let Some(target) = tls else {
            connection(stream, link, core, metrics).await;
            return;
        };
        let connector = tokio_rustls::TlsConnector::from(target.config);
        match tokio::time::timeout(
            TLS_HANDSHAKE_TIMEOUT,
            connector.connect(target.name, stream),
        )
        .await
        {
            Ok(Ok(tls)) => connection(tls, link, core, metrics).await,
            Ok(Err(e)) => {
                metrics.sip_tls_handshake_failures.inc();
                let _ = core.send(failed(&e.to_string())).await;
            }
            Err(_) => {
                metrics.sip_tls_handshake_failures.inc();
                let _ = core.send(failed("handshake timeout")).await;
            }
        }
    });
}

/// What the core sends SIP on.
struct Links<'a> {
    udp: &'a [(SocketAddr, Arc<UdpSocket>)],
    conns: &'a HashMap<ConnectionId, mpsc::Sender<Vec<u8>>>,
    streams: &'a mut Streams,
    tls: &'a mut TlsClients,
    core: &'a SipHandle,
    metrics: &'a Metrics,
}

impl Links<'_> {
    /// Sends to a peer: UDP from a socket of the peer's address family, streams on
    /// their connection, else on the connection open to that address over the same
    /// transport, else on a new one (the message waits for it). False when there is no
    /// way to send.
    async fn send(&mut self, peer: Peer, bytes: Vec<u8>) -> bool {
        if peer.transport == Transport::Udp {
            let socket = self
                .udp
                .iter()
                .find(|(l, _)| l.is_ipv4() == peer.addr.is_ipv4())
                .or(self.udp.first());
            return match socket {
                Some((local, s)) => {
                    if let Some(c) = &self.core.capture {
                        c.udp(Dir::Out, *local, peer.addr, &bytes);
                    }
                    s.send_to(&bytes, peer.addr).await.is_ok()
                }
                None => false,
            };
        }
        let key = (peer.transport, peer.addr);
        let known = peer
            .connection
            .filter(|c| self.conns.contains_key(c))
            .or_else(|| self.streams.by_addr.get(&key).copied());
        if let Some(w) = known.and_then(|c| self.conns.get(&c)) {
            return w.try_send(bytes).is_ok();
        }
        let tls = match peer.transport {
            Transport::Tls => match self.tls.target(peer.addr) {
                Some(t) => Some(t),
                None => return false,
            },
            _ => None,
        };
        let first = !self.streams.pending.contains_key(&key);
        self.streams.pending.entry(key).or_default().push(bytes);
        if first {
            open_stream(self.core.clone(), self.metrics.clone(), peer.addr, tls);
        }
        true
    }
}

/// Tells the core a UDP socket is gone when its task ends (or is aborted on reload).
struct UdpGuard {
    local: SocketAddr,
    handle: SipHandle,
}

impl Drop for UdpGuard {
    fn drop(&mut self) {
        let _ = self
            .handle
            .tx
            .try_send(Input::UdpDown { local: self.local });
    }
}

/// Serves one SIP/UDP socket: each datagram is one message (RFC 3261 §18.3).
pub async fn serve_udp(socket: UdpSocket, ctx: Arc<Context>) {
    let socket = Arc::new(socket);
    let Ok(local) = socket.local_addr() else {
        return;
    };
    let handle = ctx.sip.clone();
    if !handle
        .send(Input::UdpUp {
            local,
            socket: socket.clone(),
        })
        .await
    {
        return;
    }
    let _guard = UdpGuard {
        local,
        handle: handle.clone(),
    };
    // One more byte than the limit shows an oversize datagram.
    let mut buf = vec![0u8; MAX_MESSAGE + 1];
    let mut limiter = handle.limiter();
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                debug!(error = %e, "SIP/UDP receive failed");
                continue;
            }
        };
        if !limiter.admit(Instant::now(), peer.ip()) {
            ctx.metrics.sip_rate_limited.inc();
            continue;
        }
        if n > MAX_MESSAGE {
            ctx.metrics.decode_error("sip");
            debug!(%peer, "SIP/UDP datagram over {MAX_MESSAGE} bytes dropped");
            continue;
        }
        // RFC 5626 §4.4.1 keep-alives over UDP (CRLF CRLF) carry no message.
        if buf[..n].iter().all(|b| matches!(b, b'\r' | b'\n')) {
            continue;
        }
        let bytes = buf[..n].to_vec();
        if let Some(c) = &handle.capture {
            c.udp(Dir::In, peer, local, &bytes);
        }
        if !handle.send(Input::Datagram { peer, bytes }).await {
            return;
        }
    }
}

/// Serves one SIP/TCP listener: a task per connection.
pub async fn serve_tcp(listener: TcpListener, ctx: Arc<Context>) {
    accept_loop(listener, "sip/tcp", move |stream, peer| {
        let link = Link {
            transport: Transport::Tcp,
            remote: peer,
            local: stream.local_addr().unwrap_or(peer),
            outgoing: false,
        };
        connection(stream, link, ctx.sip.clone(), ctx.metrics.clone())
    })
    .await
}

/// Serves one SIP/TLS listener (`configured` is its address in the configuration,
/// which names its certificate): a task per connection, each starting with the TLS
/// handshake (RFC 3261 §26.2.1) with the certificate configured at that moment.
pub async fn serve_tls(listener: TcpListener, configured: SocketAddr, ctx: Arc<Context>) {
    accept_loop(listener, "sip/tls", move |stream, peer| {
        let ctx = ctx.clone();
        async move {
            let Some(config) = ctx.tls.get(configured) else {
                debug!(%peer, "SIP/TLS listener without a certificate; connection closed");
                return;
            };
            let link = Link {
                transport: Transport::Tls,
                remote: peer,
                local: stream.local_addr().unwrap_or(peer),
                outgoing: false,
            };
            let acceptor = tokio_rustls::TlsAcceptor::from(config);
            match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => connection(tls, link, ctx.sip.clone(), ctx.metrics.clone()).await,
                Ok(Err(e)) => {
                    ctx.metrics.sip_tls_handshake_failures.inc();
                    debug!(%peer, error = %e, "SIP/TLS handshake failed");
                }
                Err(_) => {
                    ctx.metrics.sip_tls_handshake_failures.inc();
                    debug!(%peer, "SIP/TLS handshake timed out");
                }
            }
        }
    })
    .await
}

/// A stream connection's ends.
struct Link {
    transport: Transport,
    remote: SocketAddr,
    local: SocketAddr,
    /// We opened it.
    outgoing: bool,
}

/// One SIP/TCP or SIP/TLS connection: messages framed by Content-Length (RFC 3261
/// §18.3) go to the core; what the core sends on this connection is written by a
/// writer task. A stream that cannot be framed is closed.
async fn connection<S>(stream: S, link: Link, handle: SipHandle, metrics: Metrics)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    let Link {
        transport,
        remote: addr,
        local,
        outgoing,
    } = link;
    let id = handle.next_connection.fetch_add(1, Ordering::Relaxed);
    let capture = handle.capture.clone();
    if let Some(c) = &capture {
        c.open(id, local, addr, outgoing);
    }
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (wtx, mut wrx) = mpsc::channel::<Vec<u8>>(256);
    if !handle
        .send(Input::ConnUp {
            id,
            transport,
            addr,
            writer: wtx.clone(),
        })
        .await
    {
        return;
    }
    let write_capture = capture.clone();
    let writing = tokio::spawn(async move {
        while let Some(bytes) = wrx.recv().await {
            if let Some(c) = &write_capture {
                c.data(id, Dir::Out, &bytes);
            }
            // TLS buffers records until flushed; TCP's flush is a no-op.
            if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                return;
            }
        }
        // TLS: close_notify (RFC 8446 §6.1) before the TCP FIN.
        let _ = writer.shutdown().await;
    });
    let peer = Peer {
        transport,
        addr,
        connection: Some(id),
    };
    let mut deframer = StreamDeframer::new(MAX_MESSAGE);
    let mut buf = vec![0u8; 16 * 1024];
    let mut limiter = handle.limiter();
    'read: loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(c) = &capture {
            c.data(id, Dir::In, &buf[..n]);
        }
        deframer.push(&buf[..n]);
        loop {
            match deframer.next_frame() {
                Ok(None) => break,
                // RFC 5626 §4.4.1: a CRLF CRLF ping is answered with a CRLF pong.
                Ok(Some(Frame::Ping)) => {
                    let _ = wtx.try_send(b"\r\n".to_vec());
                }
                Ok(Some(Frame::Message(_))) if !limiter.admit(Instant::now(), addr.ip()) => {
                    metrics.sip_rate_limited.inc();
                }
                Ok(Some(Frame::Message(bytes))) => {
                    if !handle.send(Input::Stream { peer, bytes }).await {
                        break 'read;
                    }
                }
                Err(e) => {
                    debug!(%addr, error = %e, "SIP/TCP stream cannot be framed; closing");
                    match e {
                        // The core answers 400 (and counts the decode error) first.
                        FramingError::ContentLength { head } => {
                            let _ = handle.send(Input::Unframed { peer, head }).await;
                        }
                        FramingError::TooLarge { .. } => metrics.decode_error("sip"),
                    }
                    break 'read;
                }
            }
        }
    }
    let _ = handle.send(Input::ConnDown { id }).await;
    drop(wtx);
    let _ = writing.await;
    if let Some(c) = &capture {
        c.close(id);
    }
}
