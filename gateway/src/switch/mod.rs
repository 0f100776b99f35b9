//! The call core (DESIGN.md "The pivot"): a call is an ingress leg and an egress leg
//! that share only the neutral call model. The switch routes new calls by the YAML
//! route tables, tries egress trunks in order (failing over on the rule's causes),
//! anchors media at the gateway, runs the per-call timers and ends every call with a
//! cause, an initiator and a [`CallRecord`].
//!
//! Sans-IO: it owns the SIP service and is fed bytes, `now` and the wall clock by the
//! shell, which carries out its [`SwitchOutput`]s.
//!
//! Legs: SIP (incoming and outgoing) and the built-in endpoint (`kind: local` trunks:
//! tone, echo or refusal). H.323 and TDM legs join through the same events.
//!
//! DTMF crosses in the form each leg's trunk wants (`dtmf:`): RFC 4733 events in the
//! media, or signalling (SIP INFO, H.245 UserInputIndication, Q.931 keypad). Two legs
//! that both negotiated telephone-event keep the events in the relay (payload types
//! renumbered by the [`PtRule`](media_plan::PtRule)s); otherwise the media task takes
//! the events out of the side that sends them ([`MediaCommand::Dtmf`]) and the switch
//! hands each digit to the other leg ([`Switch::media_dtmf`]), and digits that arrive as
//! signalling are played as events toward a leg that wants them
//! ([`MediaCommand::SendDtmf`]).

mod gatekeeper;
pub mod media_plan;
pub mod record;
pub mod routing;

use crate::config::{Config, H323Dtmf, LocalAnswer, LocalTrunk, SipDtmf, TrunkParams};
use crate::h323::call_leg::{ConnId, H323Calls, H323LegId, H323Options, H323Output};
use crate::media::relay::Side;
use crate::pri_calls::{PriCalls, PriLegId, PriOutput};
use crate::radius::attrs::AuthQuery;
use crate::radius::client::{AuthAnswer, CallPoint};
use crate::sip::call_leg::{LegId, LegNotice, OutgoingCall};
use crate::sip::endpoint::Peer;
use crate::sip::message::{NameAddr, Uri};
use crate::sip::service::{ServiceOutput, SipService};
pub use gatekeeper::gatekeeper_trunks;
use mapping::cause::{Cause, Q850Cause};
use mapping::model::{
    CallEvent, Info, Initiator, Media, MediaExchange, Progress, ProgressDescription, Release, Setup,
};
use mapping::sip::caller_id::{SipIdentityPolicy, caller_to_sip};
use mapping::sip::number_form::NumberForm;
use media_plan::{
    DtmfPolicy, MediaCommand, MediaMode, MediaPeer, MediaPorts, anchored, answer_toward_a,
    local_answer, offer_toward, own_offer, telephone_event, with_telephone_event,
    without_telephone_event,
};
pub use record::CallRecord;
use routing::{RoutePlan, number_text};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tracing::{debug, info};

/// A call, as the switch names it.
pub type CallId = u64;

/// What the switch asks the shell to do.
#[derive(Debug, Clone, PartialEq)]
pub enum SwitchOutput {
    /// A SIP output (transmit, metrics notices).
    Sip(ServiceOutput),
    /// A call came in (admission counts it until it ends).
    Started {
        /// The call.
        call: CallId,
    },
    /// An H.225.0 output (transmit, connect, close, metrics).
    H225(H323Output),
    /// Send a RAS datagram on the gatekeeper trunk's socket.
    Ras {
        /// The trunk (its socket).
        trunk: String,
        /// Where.
        to: SocketAddr,
        /// The datagram.
        bytes: Vec<u8>,
        /// The RAS message type (`GRQ`, `ARQ`, ...), for metrics.
        label: &'static str,
        /// A retransmission of an unanswered request.
        retransmission: bool,
    },
    /// A gatekeeper trunk's registration changed.
    RasRegistered {
        /// The trunk.
        trunk: String,
        /// Registered (RCF) or not.
        registered: bool,
    },
    /// A media command.
    Media(MediaCommand),
    /// A call on a trunk in `radius.authenticate` asks for authorisation; the answer
    /// comes back through [`Switch::authorized`] and the call waits unrouted until then.
    Authorize(AuthQuery),
    /// An accounting point of a call (only with `radius:`): routed, answered. The end
    /// is the [`SwitchOutput::Ended`] record.
    Accounting(CallPoint),
    /// A D-channel frame (from the address octet, no FCS) for PRI trunk `trunk`'s span.
    Span {
        /// The trunk.
        trunk: String,
        /// The frame.
        frame: Vec<u8>,
    },
    /// A PRI trunk's data link came up or went down.
    SpanLink {
        /// The trunk.
        trunk: String,
        /// Up or down.
        up: bool,
    },
    /// Connect B-channel `channel` of `trunk` to the relay at `relay` (its RTP goes
    /// there, the relay's comes back), or disconnect it (`None`: the call is over).
    Bearer {
        /// The trunk.
        trunk: String,
        /// The B-channel.
        channel: u8,
        /// The relay side's local RTP address.
        relay: Option<SocketAddr>,
    },
    /// An egress attempt failed and the call went on to its next trunk: write the
    /// attempt's record (the call goes on; its own record comes with [`Self::Ended`]).
    AttemptEnded {
        /// The attempt's record (`failed_over` set).
        record: Box<CallRecord>,
    },
    /// A call ended: stop its media (if started), write its record.
    Ended {
        /// The record, without media statistics.
        record: Box<CallRecord>,
        /// Whether a media session was started for it.
        media: bool,
    },
}

/// Per-call timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum CallTimer {
    /// No answer in `general.no_answer_seconds` (cause 19).
    NoAnswer,
    /// `general.max_call_seconds` after answer, or the credit a RADIUS Access-Accept
    /// granted, whichever is shorter (cause 102).
    MaxDuration,
    /// The built-in endpoint's ring time is over: answer or refuse.
    LocalAnswer,
    /// The egress answered without media; the caller is answered anyway.
    ConnectMedia,
    /// A call waiting for RADIUS authorisation got no answer in
    /// `general.no_answer_seconds` (the client always answers; this guards against a
    /// RADIUS task that is gone): released with `radius.unavailable_cause`.
    Authorize,
}

/// How long a caller's answer waits for a slow-start egress leg's media after its
/// Connect (H.245 TCS/MSD/OLC take a few round trips).
const CONNECT_MEDIA_WAIT: Duration = Duration::from_secs(3);

/// The telephone-event payload type the gateway offers when it adds telephone-event
/// itself, and assumes for an H.323 `rfc4733` trunk whose leg named none (H.245 fast
/// start carries no telephone-event; 101 is what Cisco gateways use).
const DEFAULT_TELEPHONE_EVENT_PT: u8 = 101;

/// How a trunk wants DTMF (its `dtmf:`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DtmfWant {
    /// RFC 4733 events in the RTP (SIP and H.323 `rfc4733`).
    Rfc4733,
    /// Call signalling: SIP INFO, H.245 UserInputIndication, Q.931 keypad.
    Signalling,
    /// In-band tones in the audio (SIP `inband`): relayed as audio, not converted.
    Inband,
    /// No DTMF (the built-in endpoint, or no leg yet).
    None,
}

/// How DTMF is carried on one side of a call, once its media is negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DtmfMode {
    /// RFC 4733 events with payload type `pt`; `negotiated` when the leg's media
    /// description named it (not when it is assumed for an H.323 leg).
    Rfc4733 { pt: u8, negotiated: bool },
    /// Call signalling.
    Signalling,
    /// In-band tones in G.711 audio: detected and generated by the media task.
    Inband,
    /// Nothing: digits toward it are not converted.
    Unconverted,
}

/// A call leg of either signalling protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Leg {
    Sip(LegId),
    H323(H323LegId),
    Pri(PriLegId),
}

impl std::fmt::Display for Leg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Leg::Sip(l) => write!(f, "{l}"),
            Leg::H323(l) => write!(f, "h323-{}", l.0),
            Leg::Pri(l) => write!(f, "{l}"),
        }
    }
}

#[derive(Debug, Clone)]
enum Egress {
    /// A signalling leg (SIP or H.323).
    Net {
        leg: Leg,
    },
    Local {
        cfg: LocalTrunk,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Routing,
    Early,
    Answered,
}

#[derive(Debug, Default)]
struct MediaState {
    a_local: Option<SocketAddr>,
    b_local: Option<SocketAddr>,
    /// The ingress offer (side A's payload types), when the INVITE had one.
    offer_a: Option<Media>,
    started: bool,
    /// The codec name that ended up on side A (for the record).
    codec: Option<String>,
    /// The voice codec side B settled on (its payload type).
    b_voice: Option<mapping::model::Codec>,
    /// The telephone-event payload type side A negotiated (in our answer to it, or its
    /// answer to our offer).
    te_a: Option<u8>,
    /// The telephone-event payload type side B negotiated (in its answer).
    te_b: Option<u8>,
    /// The DTMF policy last sent to the media task, per side (A, B).
    dtmf: [Option<DtmfPolicy>; 2],
}

#[derive(Debug)]
struct Call {
    ingress: Leg,
    ingress_trunk: String,
    setup: Setup,
    plan: Option<RoutePlan>,
    next_attempt: usize,
    egress: Option<Egress>,
    egress_trunk: Option<String>,
    phase: Phase,
    media: MediaState,
    start: SystemTime,
    started_at: Instant,
    answered_at: Option<SystemTime>,
    last_failure: Option<Release>,
    timers: Vec<(Instant, CallTimer)>,
    ingress_call_id: Option<String>,
    ingress_peer: Option<std::net::IpAddr>,
    egress_call_id: Option<String>,
    /// The egress answered; the caller's answer waits for the egress media.
    connect_pending: bool,
    /// Waiting for the RADIUS answer before routing.
    authorizing: bool,
    /// The longest the call may last after answer, from RADIUS.
    credit: Option<Duration>,
}

/// The call core.
pub struct Switch {
    cfg: Arc<Config>,
    sip: SipService,
    calls: HashMap<CallId, Call>,
    by_leg: HashMap<Leg, CallId>,
    h323: H323Calls,
    /// The ISDN PRI trunks (empty until [`Switch::start_spans`]).
    pri: PriCalls,
    /// RAS endpoints of the gatekeeper trunks.
    gatekeepers: gatekeeper::Gatekeepers,
    /// Peers of the H.225.0 connections, for ingress trunk matching.
    h225_peers: HashMap<ConnId, SocketAddr>,
    ports: Box<dyn MediaPorts>,
    timers: BTreeSet<(Instant, CallId, CallTimer)>,
    next_call: CallId,
    rng: u64,
    out: VecDeque<SwitchOutput>,
}

fn secs(wall: SystemTime) -> u64 {
    wall.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn release(cause: Q850Cause, initiator: Initiator) -> Release {
    Release {
        cause: Cause::user(cause),
        initiator,
        sip_status: None,
    }
}

impl Switch {
    /// A switch for `cfg` with its SIP service and a source of media ports.
    pub fn new(cfg: Arc<Config>, sip: SipService, ports: Box<dyn MediaPorts>, seed: u64) -> Switch {
        let h225 = h225_local(&cfg);
        Switch {
            cfg,
            sip,
            calls: HashMap::new(),
            by_leg: HashMap::new(),
            h323: {
                let mut h = H323Calls::new(seed ^ 0x4832_3233);
                h.set_inbound_options(H323Options {
                    local: h225,
                    ..H323Options::default()
                });
                h
            },
            gatekeepers: gatekeeper::Gatekeepers::default(),
            pri: PriCalls::default(),
            h225_peers: HashMap::new(),
            ports,
            timers: BTreeSet::new(),
            next_call: 0,
            rng: seed | 1,
            out: VecDeque::new(),
        }
    }

    /// The SIP service (registrations, metrics).
    pub fn sip(&self) -> &SipService {
        &self.sip
    }

    /// Mutable access to the SIP service (reconfiguration, draining).
    pub fn sip_mut(&mut self) -> &mut SipService {
        &mut self.sip
    }

    /// Applies a reloaded configuration: new calls use it, live calls keep their plan.
    pub fn reconfigure(&mut self, cfg: Arc<Config>) {
        self.sip.reconfigure(&cfg);
        self.cfg = cfg;
    }

    /// Calls in progress.
    pub fn active_calls(&self) -> usize {
        self.calls.len()
    }

    /// One SIP message from a transport.
    pub fn handle_sip(&mut self, now: Instant, wall: SystemTime, peer: Peer, bytes: &[u8]) {
        self.sip.handle_input(now, secs(wall), peer, bytes);
        self.pump(now, wall);
    }

    /// A stream message that could not be framed.
    pub fn reject_unframed(&mut self, now: Instant, wall: SystemTime, peer: Peer, head: &[u8]) {
        self.sip.reject_unframed(now, secs(wall), peer, head);
        self.pump(now, wall);
    }

    /// A SIP transport could not reach `peer`.
    pub fn sip_transport_error(&mut self, now: Instant, wall: SystemTime, peer: Peer) {
        self.sip.handle_transport_error(now, secs(wall), peer);
        self.pump(now, wall);
    }

    /// The media of `call` could not be started (ports vanished): the call ends with
    /// cause 47.
    pub fn media_failed(&mut self, now: Instant, wall: SystemTime, call: CallId) {
        if self.calls.contains_key(&call) {
            self.clear(
                now,
                wall,
                call,
                release(Q850Cause::RESOURCE_UNAVAILABLE, Initiator::Gateway),
            );
        }
    }

    /// Ends every call (shutdown after the drain timeout): both legs get `cause`, the
    /// gateway is the initiator, each call gets its record.
    pub fn clear_all(&mut self, now: Instant, wall: SystemTime, cause: Q850Cause) {
        let ids: Vec<CallId> = self.calls.keys().copied().collect();
        for id in ids {
            self.clear(now, wall, id, release(cause, Initiator::Gateway));
        }
        self.pump(now, wall);
    }

    /// The earliest deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.sip.poll_timeout(),
            self.h323.poll_timeout(),
            self.pri.poll_timeout(),
            self.gatekeepers.poll_timeout(),
            self.timers.first().map(|t| t.0),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fires what is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant, wall: SystemTime) {
        self.sip.handle_timeout(now, secs(wall));
        self.h323.handle_timeout(now);
        self.pri.handle_timeout(now);
        self.gatekeepers.handle_timeout(now);
        while let Some(&(at, call, timer)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            if let Some(c) = self.calls.get_mut(&call) {
                c.timers.retain(|t| *t != (at, timer));
            }
            self.on_timer(now, wall, call, timer);
        }
        self.pump(now, wall);
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<SwitchOutput> {
        self.out.pop_front()
    }

    fn set_timer(&mut self, call: CallId, at: Instant, timer: CallTimer) {
        if let Some(c) = self.calls.get_mut(&call) {
            c.timers.push((at, timer));
            self.timers.insert((at, call, timer));
        }
    }

    fn cancel_timer(&mut self, call: CallId, timer: CallTimer) {
        if let Some(c) = self.calls.get_mut(&call) {
            for (at, t) in c.timers.iter().filter(|(_, t)| *t == timer) {
                self.timers.remove(&(*at, call, *t));
            }
            c.timers.retain(|(_, t)| *t != timer);
        }
    }

    /// Moves the SIP service's outputs on, handling call events.
    fn pump(&mut self, now: Instant, wall: SystemTime) {
        loop {
            if let Some(o) = self.h323.poll_output() {
                self.h323_output(now, wall, o);
                continue;
            }
            if let Some(o) = self.pri.poll_output() {
                self.pri_output(now, wall, o);
                continue;
            }
            if let Some((trunk, o)) = self.gatekeepers.poll_output() {
                self.ras_output(now, wall, trunk, o);
                continue;
            }
            let Some(o) = self.sip.poll_output() else {
                break;
            };
            match o {
                ServiceOutput::Incoming { leg, trunk, setup } => {
                    let peer = self.sip.peer_of(leg).map(|a| a.ip());
                    self.incoming(now, wall, Leg::Sip(leg), trunk, *setup, peer)
                }
                ServiceOutput::Leg(LegNotice::Event { leg, event }) => {
                    self.leg_event(now, wall, Leg::Sip(leg), event)
                }
                ServiceOutput::Leg(LegNotice::Gone { leg }) => {
                    self.by_leg.remove(&Leg::Sip(leg));
                }
                other => self.out.push_back(SwitchOutput::Sip(other)),
            }
        }
    }

    fn send_leg(&mut self, now: Instant, wall: SystemTime, leg: Leg, event: CallEvent) {
        match leg {
            Leg::Sip(l) => self.sip.call_send(now, secs(wall), l, event),
            Leg::H323(l) => self.h323.send(now, l, event),
            Leg::Pri(l) => self.pri.send(now, l, event),
        }
    }

    /// The Call-ID (SIP) or call identifier (H.323, as hex) of a leg.
    fn call_id_of(&self, leg: Leg) -> Option<String> {
        match leg {
            Leg::Sip(l) => self.sip.call_id_of(l),
            Leg::H323(l) => self
                .h323
                .call_identifier(l)
                .map(|g| g.iter().map(|b| format!("{b:02x}")).collect()),
            Leg::Pri(l) => self.pri.call_id_of(l),
        }
    }

    // ----- H.225.0 input ---------------------------------------------------------------

    /// An inbound H.225.0 connection was accepted from `peer`.
    pub fn h225_opened(&mut self, conn: ConnId, peer: SocketAddr) {
        self.h225_peers.insert(conn, peer);
        self.h323.connection_opened(conn, peer);
    }

    /// One TPKT payload from an H.225.0 connection.
    pub fn handle_h225(&mut self, now: Instant, wall: SystemTime, conn: ConnId, payload: &[u8]) {
        self.h323.handle_frame(now, conn, payload);
        self.pump(now, wall);
    }

    /// An H.225.0 connection closed.
    pub fn h225_closed(&mut self, now: Instant, wall: SystemTime, conn: ConnId) {
        self.h225_peers.remove(&conn);
        self.h323.connection_closed(now, conn);
        self.pump(now, wall);
    }

    /// The connection the switch asked for (`H323Output::Connect`) is up.
    pub fn h225_connected(
        &mut self,
        now: Instant,
        wall: SystemTime,
        leg: H323LegId,
        conn: ConnId,
        peer: SocketAddr,
    ) {
        self.h225_peers.insert(conn, peer);
        self.h323.connected(now, leg, conn);
        self.pump(now, wall);
    }

    /// What the shell reports about separate H.245 connections (`H323Output::H245Listen`,
    /// `H245Connect`).
    pub fn h245_input(&mut self, now: Instant, wall: SystemTime, input: H245Input) {
        match input {
            H245Input::Listening { leg, addr } => self.h323.h245_listening(now, leg, addr),
            H245Input::Up { leg, conn } => self.h323.h245_up(now, leg, conn),
            H245Input::Failed { leg } => self.h323.h245_failed(now, leg),
            H245Input::Frame { conn, payload } => self.h323.handle_h245_frame(now, conn, &payload),
            H245Input::Down { conn } => self.h323.h245_closed(now, conn),
        }
        self.pump(now, wall);
    }

    /// The connection the switch asked for could not be made.
    pub fn h225_connect_failed(&mut self, now: Instant, wall: SystemTime, leg: H323LegId) {
        self.h323.connect_failed(now, leg);
        self.pump(now, wall);
    }

    /// The H.323 trunk a call from `peer` comes in on: one whose remote is (or resolved
    /// to) this IP.
    fn h323_ingress(&self, peer: SocketAddr) -> Option<String> {
        self.cfg
            .trunks
            .iter()
            .find(|t| match &t.params {
                // Its peer, or its gatekeeper (gatekeeper-routed calls).
                TrunkParams::H323(h) => h
                    .remote
                    .as_ref()
                    .iter()
                    .flat_map(|r| self.cfg.hosts.addrs(r))
                    .chain(
                        h.gatekeeper
                            .iter()
                            .flat_map(|g| self.cfg.hosts.addrs(&g.address)),
                    )
                    .any(|a| a.ip() == peer.ip()),
                _ => false,
            })
            .map(|t| t.name.clone())
    }

    /// True when `trunk` is an H.323 trunk with `h245_tunnelling: false`.
    /// The H.323 settings of trunk `name`, when it is an H.323 trunk.
    /// The codecs a SIP or H.323 trunk names, if it names any.
    fn trunk_codecs(&self, name: &str) -> Option<&[crate::config::Codec]> {
        match &self.cfg.trunk(name)?.params {
            TrunkParams::Sip(t) => t.codecs.as_deref(),
            TrunkParams::H323(t) => t.codecs.as_deref(),
            _ => None,
        }
    }

    fn h323_trunk(&self, name: Option<&str>) -> Option<&crate::config::H323Trunk> {
        let name = name?;
        self.cfg.trunks.iter().find_map(|t| match &t.params {
            TrunkParams::H323(h) if t.name == name => Some(h),
            _ => None,
        })
    }

    fn h323_output(&mut self, now: Instant, wall: SystemTime, o: H323Output) {
        match o {
            H323Output::Incoming { leg, conn, setup } => {
                let peer = self.h225_peers.get(&conn).copied();
                let trunk = peer.and_then(|p| self.h323_ingress(p));
                if let Some((tunnelling, dtmf)) = self
                    .h323_trunk(trunk.as_deref())
                    .map(|h| (h.h245_tunnelling, h.dtmf))
                {
                    if !tunnelling {
                        self.h323.refuse_tunnelling(leg);
                    }
                    self.h323.set_dtmf_form(leg, dtmf_form(dtmf));
                }
                match trunk {
                    // A registered gatekeeper trunk admits the call first (ARQ answerCall).
                    Some(trunk) if !self.sip.is_draining() && self.admits(&trunk) => {
                        self.admit_incoming(now, trunk, leg, *setup, peer.map(|p| p.ip()))
                    }
                    Some(trunk) if !self.sip.is_draining() => self.incoming(
                        now,
                        wall,
                        Leg::H323(leg),
                        trunk,
                        *setup,
                        peer.map(|p| p.ip()),
                    ),
                    found => {
                        // Not a configured peer (Q.850 21 call rejected), or draining
                        // (41 temporary failure, like SIP's 503).
                        let cause = if found.is_some() {
                            Q850Cause::TEMPORARY_FAILURE
                        } else {
                            Q850Cause::CALL_REJECTED
                        };
                        self.h323.send(
                            now,
                            leg,
                            CallEvent::Release(release(cause, Initiator::Gateway)),
                        );
                    }
                }
            }
            H323Output::Event { leg, event } => self.leg_event(now, wall, Leg::H323(leg), event),
            H323Output::Gone { leg } => {
                self.by_leg.remove(&Leg::H323(leg));
                self.ras_leg_gone(now, leg);
            }
            other => self.out.push_back(SwitchOutput::H225(other)),
        }
    }

    // ----- new calls ---------------------------------------------------------------

    fn incoming(
        &mut self,
        now: Instant,
        wall: SystemTime,
        leg: Leg,
        trunk: String,
        setup: Setup,
        peer: Option<std::net::IpAddr>,
    ) {
        self.next_call += 1;
        let id = self.next_call;
        self.by_leg.insert(leg, id);
        self.out.push_back(SwitchOutput::Started { call: id });
        let offer_a = setup.media.clone();
        self.calls.insert(
            id,
            Call {
                ingress: leg,
                ingress_trunk: trunk.clone(),
                setup,
                plan: None,
                next_attempt: 0,
                egress: None,
                egress_trunk: None,
                phase: Phase::Routing,
                media: MediaState {
                    offer_a,
                    ..MediaState::default()
                },
                start: wall,
                started_at: now,
                answered_at: None,
                last_failure: None,
                timers: Vec::new(),
                ingress_call_id: self.call_id_of(leg),
                ingress_peer: peer,
                egress_call_id: None,
                connect_pending: false,
                authorizing: false,
                credit: None,
            },
        );
        let authenticates = self
            .cfg
            .radius
            .as_ref()
            .is_some_and(|r| r.authenticate.contains(&trunk));
        if authenticates {
            let c = &self.calls[&id];
            let query = AuthQuery {
                call: id,
                trunk: trunk.clone(),
                calling: c
                    .setup
                    .calling
                    .as_ref()
                    .map(number_text)
                    .unwrap_or_default(),
                called: number_text(&c.setup.called),
                source: c.ingress_peer,
                call_id: c.ingress_call_id.clone(),
            };
            if let Some(c) = self.calls.get_mut(&id) {
                c.authorizing = true;
            }
            let wait = Duration::from_secs(u64::from(self.cfg.general.no_answer_seconds));
            self.set_timer(id, now + wait, CallTimer::Authorize);
            info!(call = id, %leg, ingress = %trunk, "call waits for RADIUS authorisation");
            self.out.push_back(SwitchOutput::Authorize(query));
            return;
        }
        self.route_call(now, wall, id);
    }

    /// The RADIUS answer for a call that waits for it: Accept routes it (with its
    /// credit), Reject and no answer release it with the configured causes.
    pub fn authorized(&mut self, now: Instant, wall: SystemTime, id: CallId, answer: AuthAnswer) {
        let Some(c) = self.calls.get_mut(&id).filter(|c| c.authorizing) else {
            return;
        };
        c.authorizing = false;
        self.cancel_timer(id, CallTimer::Authorize);
        let radius = self.cfg.radius.as_ref();
        let cause = |f: fn(&crate::config::Radius) -> u8, d: u8| Q850Cause(radius.map_or(d, f));
        match answer {
            AuthAnswer::Accept { limit } => {
                if let Some(c) = self.calls.get_mut(&id) {
                    c.credit = limit;
                }
                info!(call = id, credit_seconds = ?limit.map(|l| l.as_secs()), "RADIUS accepted the call");
                self.route_call(now, wall, id);
            }
            AuthAnswer::Reject => {
                info!(call = id, "RADIUS rejected the call");
                let q = cause(|r| r.reject_cause, 21);
                self.clear(now, wall, id, release(q, Initiator::Gateway));
            }
            AuthAnswer::Unavailable => {
                info!(call = id, "no RADIUS server answered");
                let q = cause(|r| r.unavailable_cause, 41);
                self.clear(now, wall, id, release(q, Initiator::Gateway));
            }
        }
        self.pump(now, wall);
    }

    /// Routes a call that came in (and was authorised, where that is asked).
    fn route_call(&mut self, now: Instant, wall: SystemTime, id: CallId) {
        let Some(c) = self.calls.get(&id) else {
            return;
        };
        let (leg, trunk) = (c.ingress, c.ingress_trunk.clone());
        let cfg = self.cfg.clone();
        let rng = &mut self.rng;
        let setup = &self.calls[&id].setup;
        let plan = routing::route(&cfg, &trunk, setup, |n| xorshift(rng, n));
        match plan {
            Ok(plan) => {
                info!(call = id, %leg, ingress = %trunk, rule = %plan.rule, "call routed");
                if let Some(c) = self.calls.get_mut(&id) {
                    c.plan = Some(plan);
                }
                if self.calls[&id].media.offer_a.is_some() {
                    match self.ports.reserve() {
                        Some(a) => {
                            if let Some(c) = self.calls.get_mut(&id) {
                                c.media.a_local = Some(a);
                            }
                        }
                        None => {
                            self.clear(
                                now,
                                wall,
                                id,
                                release(Q850Cause::RESOURCE_UNAVAILABLE, Initiator::Gateway),
                            );
                            return;
                        }
                    }
                }
                let no_answer = Duration::from_secs(u64::from(cfg.general.no_answer_seconds));
                self.set_timer(id, now + no_answer, CallTimer::NoAnswer);
                self.account(now, wall, id, false);
                // Q.931 §5.2.5.2 (H.225.0 the same): the call is routed, so the caller
                // hears CALL PROCEEDING now and stops its T303 (SIP's 100 went already).
                self.send_leg(now, wall, leg, CallEvent::Proceeding);
                self.attempt(now, wall, id);
            }
            Err(cause) => {
                info!(call = id, %leg, ingress = %trunk, "no route");
                self.clear(now, wall, id, release(cause, Initiator::Gateway));
            }
        }
    }

    /// Tries the next egress trunk of the plan; with none left the call is released
    /// with the last attempt's cause.
    fn attempt(&mut self, now: Instant, wall: SystemTime, id: CallId) {
        loop {
            let Some(c) = self.calls.get_mut(&id) else {
                return;
            };
            let plan = c.plan.as_ref();
            let Some(trunk) = plan.and_then(|p| p.attempts.get(c.next_attempt)).cloned() else {
                let r = c.last_failure.clone().unwrap_or_else(|| {
                    release(Q850Cause::NO_ROUTE_TO_DESTINATION, Initiator::Gateway)
                });
                self.clear(now, wall, id, r);
                return;
            };
            c.next_attempt += 1;
            c.egress_trunk = Some(trunk.clone());
            match self.start_egress(now, wall, id, &trunk) {
                Ok(()) => return,
                Err(r) => {
                    debug!(call = id, %trunk, cause = r.cause.value.0, "attempt failed at once");
                    let fails_over = self
                        .calls
                        .get(&id)
                        .and_then(|c| c.plan.as_ref())
                        .is_some_and(|p| p.fails_over_on(r.cause.value));
                    if !fails_over {
                        self.clear(now, wall, id, r);
                        return;
                    }
                    self.attempt_failed(now, wall, id, r);
                }
            }
        }
    }

    fn start_egress(
        &mut self,
        now: Instant,
        wall: SystemTime,
        id: CallId,
        trunk: &str,
    ) -> Result<(), Release> {
        let cfg = self.cfg.clone();
        let Some(t) = cfg.trunk(trunk) else {
            return Err(release(Q850Cause::NETWORK_OUT_OF_ORDER, Initiator::Gateway));
        };
        match &t.params {
            TrunkParams::Local(l) => {
                if let Some(c) = self.calls.get_mut(&id) {
                    c.egress = Some(Egress::Local { cfg: l.clone() });
                }
                if l.ring_ms > 0 {
                    self.local_ringing(now, wall, id, l);
                }
                self.set_timer(
                    id,
                    now + Duration::from_millis(u64::from(l.ring_ms)),
                    CallTimer::LocalAnswer,
                );
                Ok(())
            }
            TrunkParams::Sip(_) => self.start_sip(now, wall, id, trunk),
            TrunkParams::H323(h) => self.start_h323(now, id, trunk, h),
            TrunkParams::Pri(_) => self.start_pri(now, id, trunk),
            // H.323 and TDM egress legs are not wired to the call core yet.
            _ => Err(release(
                Q850Cause::SERVICE_NOT_IMPLEMENTED,
                Initiator::Gateway,
            )),
        }
    }

    fn start_sip(
        &mut self,
        now: Instant,
        wall: SystemTime,
        id: CallId,
        trunk: &str,
    ) -> Result<(), Release> {
        let Some(info) = self.sip.trunks().get(trunk).cloned() else {
            return Err(release(Q850Cause::NETWORK_OUT_OF_ORDER, Initiator::Gateway));
        };
        let Some(c) = self.calls.get(&id) else {
            return Ok(());
        };
        let plan = c.plan.clone().unwrap_or_else(|| RoutePlan {
            rule: String::new(),
            called: c.setup.called.clone(),
            calling: c.setup.calling.clone(),
            attempts: Vec::new(),
            failover: Vec::new(),
        });
        let called = number_text(&plan.called);
        // A trunk whose OPTIONS pings go unanswered is skipped (cause 38, a default
        // failover cause); its first remote that answers takes the call.
        if !self.sip.trunk_up(trunk) {
            return Err(release(Q850Cause::NETWORK_OUT_OF_ORDER, Initiator::Gateway));
        }
        let up = self.sip.up_remotes(trunk);
        let first_up = info
            .remotes
            .iter()
            .find(|r| up.is_empty() || up.contains(r))
            .map(|addr| Peer {
                transport: info.transport,
                addr: *addr,
                connection: None,
            });
        // Where the INVITE goes: the trunk's peer, or the called user's registrations.
        let (peer, request_uri) = match first_up {
            Some(peer) => {
                let host = match peer.addr {
                    SocketAddr::V4(a) => format!("{}:{}", a.ip(), a.port()),
                    SocketAddr::V6(a) => format!("[{}]:{}", a.ip(), a.port()),
                };
                let uri = Uri::parse(&format!("sip:{called}@{host}"))
                    .map_err(|_| release(Q850Cause::INVALID_NUMBER_FORMAT, Initiator::Gateway))?;
                (peer, uri)
            }
            None if info.has_users => {
                let bindings = self.sip.contacts_of(plan.called.digits.as_str(), now);
                let Some(b) = bindings.first() else {
                    return Err(release(Q850Cause::SUBSCRIBER_ABSENT, Initiator::Gateway));
                };
                let uri = Uri::parse(&b.uri)
                    .map_err(|_| release(Q850Cause::SUBSCRIBER_ABSENT, Initiator::Gateway))?;
                let addr = b
                    .source
                    .or_else(|| uri_addr(&uri))
                    .ok_or_else(|| release(Q850Cause::SUBSCRIBER_ABSENT, Initiator::Gateway))?;
                (
                    Peer {
                        transport: info.transport,
                        addr,
                        connection: None,
                    },
                    uri,
                )
            }
            None => return Err(release(Q850Cause::NETWORK_OUT_OF_ORDER, Initiator::Gateway)),
        };
        // Media: re-offer the caller's codecs (or our own for a delayed offer) at side B.
        let b_local = match c.media.b_local {
            Some(b) => b,
            None => match self.ports.reserve() {
                Some(b) => b,
                None => return Err(release(Q850Cause::RESOURCE_UNAVAILABLE, Initiator::Gateway)),
            },
        };
        let offer = match &c.media.offer_a {
            Some(m) => offer_toward(m, self.trunk_codecs(trunk), b_local),
            None => own_offer(
                self.trunk_codecs(trunk).unwrap_or(&self.cfg.media.codecs),
                self.cfg.media.ptime_ms as u16,
                b_local,
            ),
        };
        let offer = self.dtmf_offer(trunk, offer);
        let local = self.sip.local_address(peer.transport);
        let domain = local.ip().to_string();
        let policy = SipIdentityPolicy::new(&domain, info.trusted);
        let identity = caller_to_sip(
            plan.calling.as_ref(),
            c.setup.display_name.as_deref(),
            &policy,
            &NumberForm::default(),
        );
        let from = NameAddr::parse(&identity.from)
            .map_err(|_| release(Q850Cause::INVALID_NUMBER_FORMAT, Initiator::Gateway))?;
        let mut identity_headers = Vec::new();
        if let Some(v) = identity.p_asserted_identity {
            identity_headers.push(("P-Asserted-Identity".to_owned(), v));
        }
        if let Some(v) = identity.privacy {
            identity_headers.push(("Privacy".to_owned(), v));
        }
        if let Some(v) = identity.remote_party_id {
            identity_headers.push(("Remote-Party-ID".to_owned(), v));
        }
        // RFC 5806: the redirection history, most recent first.
        for r in &c.setup.redirection {
            let v = mapping::sip::redirection_to_diversion(r, &domain, &NumberForm::default());
            identity_headers.push(("Diversion".to_owned(), v));
        }
        let to_uri = request_uri.clone();
        let call = OutgoingCall {
            request_uri,
            to: NameAddr::new(to_uri),
            from,
            identity_headers,
            peer,
            trunk: trunk.to_owned(),
            credentials: info.credentials.clone(),
            media: Some(offer),
        };
        let leg = self.sip.call_start(now, secs(wall), call);
        self.by_leg.insert(Leg::Sip(leg), id);
        if let Some(c) = self.calls.get_mut(&id) {
            c.media.b_local = Some(b_local);
            c.egress = Some(Egress::Net { leg: Leg::Sip(leg) });
            c.egress_call_id = self.sip.call_id_of(leg);
        }
        debug!(call = id, %leg, %trunk, "outgoing SIP leg");
        Ok(())
    }

    fn start_h323(
        &mut self,
        now: Instant,
        id: CallId,
        trunk: &str,
        h: &crate::config::H323Trunk,
    ) -> Result<(), Release> {
        // Through the gatekeeper while registered (ARQ first); else directly to `remote`.
        let admit = h.gatekeeper.is_some() && self.admits(trunk);
        let addr = h.remote.as_ref().and_then(|r| self.cfg.hosts.first(r));
        if !admit && addr.is_none() {
            return Err(release(Q850Cause::NETWORK_OUT_OF_ORDER, Initiator::Gateway));
        }
        let Some(c) = self.calls.get(&id) else {
            return Ok(());
        };
        let b_local = match c.media.b_local {
            Some(b) => b,
            None => self
                .ports
                .reserve()
                .ok_or_else(|| release(Q850Cause::RESOURCE_UNAVAILABLE, Initiator::Gateway))?,
        };
        let mut setup = c.setup.clone();
        if let Some(plan) = &c.plan {
            setup.called = plan.called.clone();
            setup.calling = plan.calling.clone();
        }
        setup.media = Some(match &c.media.offer_a {
            Some(m) => offer_toward(m, h.codecs.as_deref(), b_local),
            None => own_offer(
                h.codecs.as_deref().unwrap_or(&self.cfg.media.codecs),
                self.cfg.media.ptime_ms as u16,
                b_local,
            ),
        });
        let opts = H323Options {
            fast_start: h.fast_start,
            tunnelling: h.h245_tunnelling,
            local: h225_local(&self.cfg),
        };
        let leg = match addr.filter(|_| !admit) {
            Some(addr) => self.h323.outgoing(now, addr, &setup, opts),
            None => {
                let leg = self.h323.outgoing_pending(now, &setup, opts);
                self.admit_h323(now, trunk, leg, &setup);
                leg
            }
        };
        self.h323.set_dtmf_form(leg, dtmf_form(h.dtmf));
        self.by_leg.insert(Leg::H323(leg), id);
        let call_id = self.call_id_of(Leg::H323(leg));
        if let Some(c) = self.calls.get_mut(&id) {
            c.media.b_local = Some(b_local);
            c.egress = Some(Egress::Net {
                leg: Leg::H323(leg),
            });
            c.egress_call_id = call_id;
        }
        debug!(call = id, %leg, %trunk, "outgoing H.323 leg");
        Ok(())
    }

    fn start_pri(&mut self, now: Instant, id: CallId, trunk: &str) -> Result<(), Release> {
        let Some(c) = self.calls.get(&id) else {
            return Ok(());
        };
        let b_local = match c.media.b_local {
            Some(b) => b,
            None => self
                .ports
                .reserve()
                .ok_or_else(|| release(Q850Cause::RESOURCE_UNAVAILABLE, Initiator::Gateway))?,
        };
        let mut setup = c.setup.clone();
        if let Some(plan) = &c.plan {
            setup.called = plan.called.clone();
            setup.calling = plan.calling.clone();
        }
        setup.media = None;
        let leg = match self.pri.outgoing(now, trunk, &setup) {
            Ok(leg) => leg,
            Err(r) => {
                if c.media.b_local.is_none() {
                    self.ports.release(b_local);
                }
                return Err(r);
            }
        };
        self.by_leg.insert(Leg::Pri(leg), id);
        let call_id = self.call_id_of(Leg::Pri(leg));
        if let Some(c) = self.calls.get_mut(&id) {
            c.media.b_local = Some(b_local);
            c.egress = Some(Egress::Net { leg: Leg::Pri(leg) });
            c.egress_call_id = call_id;
        }
        debug!(call = id, %leg, %trunk, "outgoing PRI leg");
        Ok(())
    }

    // ----- ISDN PRI ------------------------------------------------------------------

    /// Starts the PRI trunks' stacks (each asks for its data link); the shell calls it
    /// once its span drivers run.
    pub fn start_spans(&mut self, now: Instant, wall: SystemTime) {
        self.pri = PriCalls::new(now, &self.cfg);
        self.pump(now, wall);
    }

    /// The bearer bridge's RTP address of each B-channel of PRI trunk `trunk`.
    pub fn set_bearers(&mut self, trunk: &str, bearers: HashMap<u8, SocketAddr>) {
        self.pri.set_bearers(trunk, bearers);
    }

    /// One D-channel frame (FCS removed) from PRI trunk `trunk`'s span.
    pub fn handle_span_frame(&mut self, now: Instant, wall: SystemTime, trunk: &str, frame: &[u8]) {
        self.pri.handle_frame(now, trunk, frame);
        self.pump(now, wall);
    }

    /// PRI trunk `trunk`'s span came up or went down (the D-channel starts over).
    pub fn span_state(&mut self, now: Instant, wall: SystemTime, trunk: &str, up: bool) {
        self.pri.span_state(now, trunk, up);
        self.pump(now, wall);
    }

    /// A sent D-channel frame's buffer, back for reuse.
    pub fn recycle_span_frame(&mut self, trunk: &str, frame: Vec<u8>) {
        self.pri.recycle(trunk, frame);
    }

    fn pri_output(&mut self, now: Instant, wall: SystemTime, o: PriOutput) {
        match o {
            PriOutput::Transmit { trunk, frame } => {
                self.out.push_back(SwitchOutput::Span { trunk, frame })
            }
            PriOutput::Incoming { leg, trunk, setup } => {
                if self.sip.is_draining() {
                    let r = release(Q850Cause::TEMPORARY_FAILURE, Initiator::Gateway);
                    self.pri.send(now, leg, CallEvent::Release(r));
                } else {
                    self.incoming(now, wall, Leg::Pri(leg), trunk, *setup, None);
                }
            }
            PriOutput::Event { leg, event } => self.leg_event(now, wall, Leg::Pri(leg), event),
            // The bearer is connected once the call's relay runs (`bearer_up`).
            PriOutput::Channel { .. } => {}
            PriOutput::Gone {
                leg,
                trunk,
                channel,
            } => {
                self.by_leg.remove(&Leg::Pri(leg));
                if let Some(channel) = channel {
                    self.out.push_back(SwitchOutput::Bearer {
                        trunk,
                        channel,
                        relay: None,
                    });
                }
            }
            PriOutput::Link { trunk, up } => {
                self.out.push_back(SwitchOutput::SpanLink { trunk, up })
            }
        }
    }

    /// The relay of call `id` runs: a PRI leg's bearer is connected to its side.
    fn bearer_up(&mut self, id: CallId) {
        let Some(c) = self.calls.get(&id) else {
            return;
        };
        let egress = match &c.egress {
            Some(Egress::Net { leg }) => Some(*leg),
            _ => None,
        };
        let sides = [
            (Some(c.ingress), c.media.a_local),
            (egress, c.media.b_local),
        ];
        for (leg, local) in sides {
            if let (Some(Leg::Pri(l)), Some(relay)) = (leg, local)
                && let Some((trunk, channel)) = self.pri.channel_of(l)
            {
                self.out.push_back(SwitchOutput::Bearer {
                    trunk: trunk.to_owned(),
                    channel,
                    relay: Some(relay),
                });
            }
        }
    }

    // ----- the built-in endpoint ------------------------------------------------------

    fn local_ringing(&mut self, now: Instant, wall: SystemTime, id: CallId, l: &LocalTrunk) {
        let mut progress = Progress::default();
        if l.early_media && l.answer == LocalAnswer::Tone {
            if let Some(m) = self.local_media(id, l) {
                progress
                    .descriptions
                    .push(ProgressDescription::INBAND_AVAILABLE);
                progress.media = Some(MediaExchange::Answer(m));
            }
        }
        if let Some(c) = self.calls.get_mut(&id) {
            c.phase = Phase::Early;
        }
        self.send_ingress(now, wall, id, CallEvent::Alerting(progress));
    }

    /// Starts the built-in endpoint's media toward the caller and returns its answer.
    fn local_media(&mut self, id: CallId, l: &LocalTrunk) -> Option<Media> {
        let c = self.calls.get_mut(&id)?;
        let offer = c.media.offer_a.as_ref()?;
        let a = c.media.a_local?;
        let (answer, pt, law) = local_answer(offer, a)?;
        c.media.codec = answer.codecs.first().map(|k| mapping_codec_name(&k.name));
        if !c.media.started {
            c.media.started = true;
            let mode = match l.answer {
                LocalAnswer::Echo => MediaMode::Echo,
                _ => MediaMode::Tone {
                    hz: l.tone_hz as f32,
                    payload_type: pt,
                    law,
                },
            };
            let a_peer = MediaPeer::of(offer);
            self.out.push_back(SwitchOutput::Media(MediaCommand::Start {
                call: id,
                a,
                b: None,
                a_peer,
                b_peer: MediaPeer::default(),
                pt_map: Vec::new(),
                mode,
            }));
            self.bearer_up(id);
        }
        Some(answer)
    }

    fn local_answer(&mut self, now: Instant, wall: SystemTime, id: CallId) {
        let Some(Egress::Local { cfg: l }) = self.calls.get(&id).and_then(|c| c.egress.clone())
        else {
            return;
        };
        if l.answer == LocalAnswer::Refuse {
            let r = Release {
                cause: Cause::user(l.cause.0),
                initiator: Initiator::Callee,
                sip_status: None,
            };
            self.egress_failed(now, wall, id, r);
            return;
        }
        let has_offer = self
            .calls
            .get(&id)
            .is_some_and(|c| c.media.offer_a.is_some());
        if !has_offer {
            // A delayed offer (SIP INVITE without SDP, H.323 slow start): the endpoint
            // answers with an offer of the configured codecs from its own port; the
            // media starts when the caller's answer comes (the ACK's SDP, the H.245
            // logical channel), see `start_local_on_answer`.
            let a = match self.calls.get(&id).and_then(|c| c.media.a_local) {
                Some(a) => a,
                None => match self.ports.reserve() {
                    Some(a) => a,
                    None => {
                        let r = release(Q850Cause::RESOURCE_UNAVAILABLE, Initiator::Gateway);
                        self.egress_failed(now, wall, id, r);
                        return;
                    }
                },
            };
            let ptime = u16::try_from(self.cfg.media.ptime_ms).unwrap_or(20);
            let offer = own_offer(&self.cfg.media.codecs, ptime, a);
            if let Some(c) = self.calls.get_mut(&id) {
                c.media.a_local = Some(a);
            }
            self.answered(now, wall, id, Some(MediaExchange::Offer(offer)));
            return;
        }
        match self.local_media(id, &l) {
            Some(m) => self.answered(now, wall, id, Some(MediaExchange::Answer(m))),
            None => {
                // RFC 3398 §7.2.4.1: 65 becomes 488 toward SIP.
                let r = release(Q850Cause::BEARER_NOT_IMPLEMENTED, Initiator::Callee);
                self.egress_failed(now, wall, id, r);
            }
        }
    }

    // ----- events from legs ---------------------------------------------------------

    fn leg_event(&mut self, now: Instant, wall: SystemTime, leg: Leg, event: CallEvent) {
        let Some(&id) = self.by_leg.get(&leg) else {
            return;
        };
        let Some(c) = self.calls.get(&id) else {
            return;
        };
        if c.ingress == leg {
            self.ingress_event(now, wall, id, event);
        } else if matches!(c.egress, Some(Egress::Net { leg: l }) if l == leg) {
            self.egress_event(now, wall, id, event);
        }
    }

    fn ingress_event(&mut self, now: Instant, wall: SystemTime, id: CallId, event: CallEvent) {
        match event {
            CallEvent::Release(mut r) => {
                // The caller cleared, unless the leg itself gave up (a timer: the
                // gateway is the initiator, and the caller is told too).
                if r.initiator != Initiator::Gateway {
                    r.initiator = Initiator::Caller;
                }
                self.clear(now, wall, id, r);
            }
            CallEvent::Media(MediaExchange::Offer(m) | MediaExchange::Answer(m)) => {
                self.repoint(id, Side::A, &m);
                // Side A settled on its codec after B (H.323 slow start, a delayed
                // offer's ACK): renumber or convert between G.711 laws if they differ.
                // An H.323 leg reports asymmetric channels as [what we send, what it
                // sends]; otherwise one codec serves both directions.
                let b_voice = self.calls.get(&id).and_then(|c| c.media.b_voice.clone());
                let ingress_h245 = self
                    .calls
                    .get(&id)
                    .is_some_and(|c| matches!(c.ingress, Leg::H323(_)));
                let voice: Vec<&mapping::model::Codec> = m
                    .codecs
                    .iter()
                    .filter(|k| k.name != mapping::model::CodecName::TelephoneEvent)
                    .take(if ingress_h245 { 2 } else { 1 })
                    .collect();
                if let (Some(a_out), Some(b)) = (voice.first(), b_voice)
                    && self.media_started(id)
                {
                    let a_in = voice.get(1).unwrap_or(a_out);
                    let pairs = media_plan::voice_rules(a_in, a_out, &b, &b);
                    if !pairs.is_empty() {
                        self.out.push_back(SwitchOutput::Media(MediaCommand::PtMap {
                            call: id,
                            pairs,
                        }));
                    }
                }
                // Side A's telephone-event (the answer to our delayed offer, a re-INVITE).
                if let Some(te) = telephone_event(&m)
                    && let Some(c) = self.calls.get(&id)
                    && self.trunk_dtmf(&c.ingress_trunk) == DtmfWant::Rfc4733
                    && let Some(c) = self.calls.get_mut(&id)
                {
                    c.media.te_a = Some(te.payload_type);
                }
                self.update_dtmf(id);
            }
            CallEvent::Info(Info::Dtmf { digit, duration_ms }) => {
                self.deliver_dtmf(now, wall, id, Side::B, digit, duration_ms)
            }
            CallEvent::Info(info) => {
                if let Some(Egress::Net { leg }) =
                    self.calls.get(&id).and_then(|c| c.egress.clone())
                {
                    self.send_leg(now, wall, leg, CallEvent::Info(info));
                }
            }
            // The caller holds or resumes: so does the callee's leg (a built-in endpoint
            // has nothing to tell).
            CallEvent::Hold | CallEvent::Resume if self.answered_call(id) => {
                if let Some(Egress::Net { leg }) =
                    self.calls.get(&id).and_then(|c| c.egress.clone())
                {
                    self.send_leg(now, wall, leg, event);
                }
            }
            _ => {}
        }
    }

    fn egress_event(&mut self, now: Instant, wall: SystemTime, id: CallId, event: CallEvent) {
        match event {
            CallEvent::Proceeding => {}
            CallEvent::Alerting(p) => {
                let p = self.early(id, p);
                self.send_ingress(now, wall, id, CallEvent::Alerting(p));
            }
            CallEvent::Progress(p) => {
                let p = self.early(id, p);
                self.send_ingress(now, wall, id, CallEvent::Progress(p));
            }
            CallEvent::Connect { media, .. } => {
                let media = media.and_then(|m| self.egress_answer(id, m));
                let waiting = media.is_none()
                    && self
                        .calls
                        .get(&id)
                        .is_some_and(|c| !c.media.started && c.media.offer_a.is_some());
                if waiting {
                    // A slow-start H.323 leg answers before its media is open (H.245
                    // OLC after Connect): the caller's answer waits for it, bounded.
                    if let Some(c) = self.calls.get_mut(&id) {
                        c.connect_pending = true;
                    }
                    self.set_timer(id, now + CONNECT_MEDIA_WAIT, CallTimer::ConnectMedia);
                } else {
                    self.answered(now, wall, id, media);
                }
            }
            CallEvent::Media(m) => {
                let pending = self.calls.get(&id).is_some_and(|c| c.connect_pending);
                match m {
                    MediaExchange::Answer(_) if pending || !self.media_started(id) => {
                        let toward_a = self.egress_answer(id, m);
                        if pending {
                            self.cancel_timer(id, CallTimer::ConnectMedia);
                            if let Some(c) = self.calls.get_mut(&id) {
                                c.connect_pending = false;
                            }
                            self.answered(now, wall, id, toward_a);
                        }
                    }
                    MediaExchange::Offer(m) | MediaExchange::Answer(m) => {
                        self.repoint(id, Side::B, &m);
                        if let Some(te) = telephone_event(&m)
                            && let Some(c) = self.calls.get_mut(&id)
                        {
                            c.media.te_b = Some(te.payload_type);
                        }
                        self.update_dtmf(id);
                    }
                }
            }
            CallEvent::Info(Info::Dtmf { digit, duration_ms }) => {
                self.deliver_dtmf(now, wall, id, Side::A, digit, duration_ms)
            }
            CallEvent::Info(info) => {
                let leg = self.calls.get(&id).map(|c| c.ingress);
                if let Some(leg) = leg {
                    self.send_leg(now, wall, leg, CallEvent::Info(info));
                }
            }
            // The callee holds or resumes: the caller's leg is told in its own terms
            // (a sendonly/sendrecv re-INVITE, an empty/full TerminalCapabilitySet).
            CallEvent::Hold | CallEvent::Resume if self.answered_call(id) => {
                self.send_ingress(now, wall, id, event);
            }
            CallEvent::Release(mut r) => {
                r.initiator = if r.initiator == Initiator::Gateway {
                    Initiator::Gateway
                } else {
                    Initiator::Callee
                };
                self.egress_failed(now, wall, id, r);
            }
            _ => {}
        }
    }

    fn answered_call(&self, id: CallId) -> bool {
        self.calls
            .get(&id)
            .is_some_and(|c| c.phase == Phase::Answered)
    }

    fn early(&mut self, id: CallId, mut p: Progress) -> Progress {
        if let Some(c) = self.calls.get_mut(&id) {
            c.phase = Phase::Early;
        }
        p.media = p.media.and_then(|m| self.egress_answer(id, m));
        p
    }

    /// Side B answered (early or final): point the relay at it and turn the answer
    /// toward side A.
    fn egress_answer(&mut self, id: CallId, m: MediaExchange) -> Option<MediaExchange> {
        let MediaExchange::Answer(answer_b) = m else {
            return None;
        };
        let c = self.calls.get_mut(&id)?;
        let b = c.media.b_local?;
        let b_peer = MediaPeer::of(&answer_b);
        let b_is_h245 = matches!(c.egress, Some(Egress::Net { leg: Leg::H323(_) }));
        let (toward_a, pairs, a_local) = match (&c.media.offer_a, c.media.a_local) {
            (Some(offer_a), Some(a)) => {
                let (m, pairs) = answer_toward_a(offer_a, &answer_b, b_is_h245, a);
                (MediaExchange::Answer(m), pairs, a)
            }
            _ => {
                // Delayed offer from the caller: B's answer becomes our offer to A.
                let a = match c.media.a_local {
                    Some(a) => a,
                    None => {
                        let a = self.ports.reserve()?;
                        let c = self.calls.get_mut(&id)?;
                        c.media.a_local = Some(a);
                        a
                    }
                };
                (MediaExchange::Offer(anchored(&answer_b, a)), Vec::new(), a)
            }
        };
        let c = self.calls.get_mut(&id)?;
        c.media.te_b = telephone_event(&answer_b).map(|k| k.payload_type);
        c.media.codec = answer_b.codecs.first().map(|k| mapping_codec_name(&k.name));
        // A transcoded call names both codecs, the caller's first (CDR `codec`).
        if pairs.iter().any(|r| r.transcode.is_some())
            && let MediaExchange::Answer(m) = &toward_a
            && let (Some(ka), Some(kb)) = (m.codecs.first(), c.media.codec.as_ref())
        {
            c.media.codec = Some(format!("{}>{kb}", mapping_codec_name(&ka.name)));
        }
        c.media.b_voice = answer_b
            .codecs
            .iter()
            .find(|k| k.name != mapping::model::CodecName::TelephoneEvent)
            .cloned();
        if c.media.started {
            self.out
                .push_back(SwitchOutput::Media(MediaCommand::Repoint {
                    call: id,
                    side: Side::B,
                    peer: b_peer,
                }));
            self.out
                .push_back(SwitchOutput::Media(MediaCommand::PtMap { call: id, pairs }));
        } else {
            c.media.started = true;
            let a_peer = c
                .media
                .offer_a
                .as_ref()
                .map(MediaPeer::of)
                .unwrap_or_default();
            self.out.push_back(SwitchOutput::Media(MediaCommand::Start {
                call: id,
                a: a_local,
                b: Some(b),
                a_peer,
                b_peer,
                pt_map: pairs,
                mode: MediaMode::Relay,
            }));
            self.bearer_up(id);
        }
        let toward_a = self.dtmf_toward_a(id, toward_a);
        self.update_dtmf(id);
        Some(toward_a)
    }

    // ----- DTMF ------------------------------------------------------------------------

    /// A DTMF digit the media task took out of the RFC 4733 events arriving on `side`
    /// of `call`: it goes to the other leg in the form that leg wants.
    pub fn media_dtmf(
        &mut self,
        now: Instant,
        wall: SystemTime,
        call: CallId,
        side: Side,
        digit: char,
        duration_ms: u32,
    ) {
        debug!(call, ?side, %digit, duration_ms, "DTMF digit from the media");
        self.deliver_dtmf(now, wall, call, side.other(), digit, duration_ms);
        self.pump(now, wall);
    }

    /// How trunk `name` wants DTMF.
    fn trunk_dtmf(&self, name: &str) -> DtmfWant {
        match self.cfg.trunk(name).map(|t| &t.params) {
            Some(TrunkParams::Sip(s)) => match s.dtmf {
                SipDtmf::Rfc4733 => DtmfWant::Rfc4733,
                SipDtmf::Info => DtmfWant::Signalling,
                SipDtmf::Inband => DtmfWant::Inband,
            },
            Some(TrunkParams::H323(h)) => match h.dtmf {
                H323Dtmf::Rfc4733 => DtmfWant::Rfc4733,
                H323Dtmf::H245Alphanumeric | H323Dtmf::H245Signal | H323Dtmf::Q931Keypad => {
                    DtmfWant::Signalling
                }
            },
            // A TDM bearer carries DTMF as tones in its G.711 audio once the call is
            // through (ETSI EN 300 403 leaves keypad to overlap dialling): detected and
            // generated on the bridged RTP like a SIP `inband` trunk.
            Some(TrunkParams::Pri(_) | TrunkParams::Ss7(_) | TrunkParams::R2(_)) => {
                DtmfWant::Inband
            }
            Some(TrunkParams::Local(_)) | None => DtmfWant::None,
        }
    }

    /// How DTMF is carried on `side` of `c`: its trunk's wish against what its leg
    /// negotiated. A SIP leg that wants RFC 4733 without having negotiated
    /// telephone-event gets INFO; an H.323 leg is assumed to use
    /// [`DEFAULT_TELEPHONE_EVENT_PT`].
    fn dtmf_mode(&self, c: &Call, side: Side) -> DtmfMode {
        let (trunk, te, h323) = match side {
            Side::A => (
                Some(c.ingress_trunk.as_str()),
                c.media.te_a,
                matches!(c.ingress, Leg::H323(_)),
            ),
            Side::B => match &c.egress {
                Some(Egress::Net { leg }) => (
                    c.egress_trunk.as_deref(),
                    c.media.te_b,
                    matches!(leg, Leg::H323(_)),
                ),
                _ => (None, None, false),
            },
        };
        match trunk.map_or(DtmfWant::None, |t| self.trunk_dtmf(t)) {
            DtmfWant::Rfc4733 => match te {
                Some(pt) => DtmfMode::Rfc4733 {
                    pt,
                    negotiated: true,
                },
                None if h323 => DtmfMode::Rfc4733 {
                    pt: DEFAULT_TELEPHONE_EVENT_PT,
                    negotiated: false,
                },
                None => DtmfMode::Signalling,
            },
            DtmfWant::Signalling => DtmfMode::Signalling,
            DtmfWant::Inband => DtmfMode::Inband,
            DtmfWant::None => DtmfMode::Unconverted,
        }
    }

    /// Our offer toward an egress on `trunk`: telephone-event added for a trunk that
    /// wants RFC 4733, removed for one that wants signalling or in-band tones (so its
    /// peer sends DTMF the way the trunk says).
    fn dtmf_offer(&self, trunk: &str, offer: Media) -> Media {
        match self.trunk_dtmf(trunk) {
            DtmfWant::Rfc4733 => with_telephone_event(&offer, DEFAULT_TELEPHONE_EVENT_PT),
            DtmfWant::Signalling | DtmfWant::Inband => without_telephone_event(&offer),
            DtmfWant::None => offer,
        }
    }

    /// Our answer (or delayed offer) toward side A with telephone-event as A's trunk
    /// wants it: kept or added (A's own payload type) when A wants RFC 4733 and side B
    /// takes DTMF in some form the gateway converts, removed when A wants signalling.
    /// Notes the telephone-event side A ends up with.
    fn dtmf_toward_a(&mut self, id: CallId, ex: MediaExchange) -> MediaExchange {
        let Some(c) = self.calls.get(&id) else {
            return ex;
        };
        let want = self.trunk_dtmf(&c.ingress_trunk);
        let b_converts = self.dtmf_mode(c, Side::B) != DtmfMode::Unconverted;
        let a_te = c.media.offer_a.as_ref().and_then(telephone_event).cloned();
        let adjust = |m: Media, offer: bool| match want {
            DtmfWant::Rfc4733 if b_converts => match (&a_te, offer) {
                (_, true) => with_telephone_event(&m, DEFAULT_TELEPHONE_EVENT_PT),
                (Some(te), false) if telephone_event(&m).is_none() => {
                    let mut m = m;
                    m.codecs.push(te.clone());
                    m
                }
                _ => m,
            },
            DtmfWant::Signalling => without_telephone_event(&m),
            _ => m,
        };
        let ex = match ex {
            MediaExchange::Answer(m) => MediaExchange::Answer(adjust(m, false)),
            MediaExchange::Offer(m) => MediaExchange::Offer(adjust(m, true)),
        };
        if let MediaExchange::Answer(m) = &ex
            && let Some(c) = self.calls.get_mut(&id)
        {
            c.media.te_a = telephone_event(m)
                .filter(|_| want == DtmfWant::Rfc4733)
                .map(|k| k.payload_type);
        }
        ex
    }

    /// Tells the media task how each side handles telephone-events, when that changed:
    /// both sides RFC 4733 with telephone-event negotiated on both: relayed as they are
    /// (nothing to tell; the payload type follows with the first digit played, see
    /// [`Switch::deliver_dtmf`]); otherwise a side that sends RFC 4733 has its events
    /// taken out and reported.
    fn update_dtmf(&mut self, id: CallId) {
        let Some(c) = self.calls.get(&id) else {
            return;
        };
        if !c.media.started || !matches!(c.egress, Some(Egress::Net { .. })) {
            return;
        }
        let modes = [self.dtmf_mode(c, Side::A), self.dtmf_mode(c, Side::B)];
        let relayed = modes.iter().all(|m| {
            matches!(
                m,
                DtmfMode::Rfc4733 {
                    negotiated: true,
                    ..
                }
            )
        });
        // Tones are converted only toward a leg that takes digits in another form.
        let converts = |m: DtmfMode| matches!(m, DtmfMode::Rfc4733 { .. } | DtmfMode::Signalling);
        let policy = |m: DtmfMode, other: DtmfMode| match m {
            DtmfMode::Rfc4733 { pt, .. } => DtmfPolicy {
                telephone_event_pt: Some(pt),
                extract: !relayed,
                inband: false,
            },
            DtmfMode::Inband => DtmfPolicy {
                inband: converts(other),
                ..DtmfPolicy::default()
            },
            _ => DtmfPolicy::default(),
        };
        let wanted = [policy(modes[0], modes[1]), policy(modes[1], modes[0])];
        let sent = c.media.dtmf;
        let mut now_sent = sent;
        for (i, side) in [Side::A, Side::B].into_iter().enumerate() {
            let changed = match sent[i] {
                Some(p) => p != wanted[i],
                // A side the task was never told about extracts nothing already.
                None => wanted[i].extract || wanted[i].inband,
            };
            if changed {
                debug!(call = id, ?side, policy = ?wanted[i], "DTMF policy");
                self.out.push_back(SwitchOutput::Media(MediaCommand::Dtmf {
                    call: id,
                    side,
                    policy: wanted[i],
                }));
                now_sent[i] = Some(wanted[i]);
            }
        }
        if let Some(c) = self.calls.get_mut(&id) {
            c.media.dtmf = now_sent;
        }
    }

    /// A digit toward `to` (A: the ingress leg, B: the egress leg): RFC 4733 events in
    /// the media or signalling, as that leg takes DTMF.
    fn deliver_dtmf(
        &mut self,
        now: Instant,
        wall: SystemTime,
        id: CallId,
        to: Side,
        digit: char,
        duration_ms: u32,
    ) {
        let Some(c) = self.calls.get(&id) else {
            return;
        };
        let leg = match to {
            Side::A => Some(c.ingress),
            Side::B => match &c.egress {
                Some(Egress::Net { leg }) => Some(*leg),
                _ => None,
            },
        };
        let Some(leg) = leg else {
            debug!(call = id, %digit, "DTMF toward the built-in endpoint: ignored");
            return;
        };
        match self.dtmf_mode(c, to) {
            DtmfMode::Rfc4733 { pt, .. } if c.media.started => {
                // The task learns the side's payload type with the first digit it plays.
                let i = usize::from(to == Side::B);
                let told = c.media.dtmf[i];
                if told.and_then(|p| p.telephone_event_pt) != Some(pt) {
                    let policy = DtmfPolicy {
                        telephone_event_pt: Some(pt),
                        extract: told.is_some_and(|p| p.extract),
                        inband: false,
                    };
                    self.out.push_back(SwitchOutput::Media(MediaCommand::Dtmf {
                        call: id,
                        side: to,
                        policy,
                    }));
                    if let Some(c) = self.calls.get_mut(&id) {
                        c.media.dtmf[i] = Some(policy);
                    }
                }
                self.out
                    .push_back(SwitchOutput::Media(MediaCommand::SendDtmf {
                        call: id,
                        side: to,
                        digit,
                        duration_ms,
                    }));
            }
            DtmfMode::Rfc4733 { .. } | DtmfMode::Signalling => self.send_leg(
                now,
                wall,
                leg,
                CallEvent::Info(Info::Dtmf { digit, duration_ms }),
            ),
            // The media task writes the tones into the audio toward that leg (its
            // policy says in-band since the call's DTMF modes were settled).
            DtmfMode::Inband if c.media.started => {
                self.out
                    .push_back(SwitchOutput::Media(MediaCommand::SendDtmf {
                        call: id,
                        side: to,
                        digit,
                        duration_ms,
                    }));
            }
            DtmfMode::Inband | DtmfMode::Unconverted => {
                debug!(call = id, %leg, %digit, "DTMF toward a leg without media or DTMF: not converted");
            }
        }
    }

    fn media_started(&self, id: CallId) -> bool {
        self.calls.get(&id).is_some_and(|c| c.media.started)
    }

    /// The egress answered but its media never came (slow start that did not finish):
    /// answer the caller with its own first codec and let the relay latch onto side B.
    fn connect_without_media(&mut self, now: Instant, wall: SystemTime, id: CallId) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        if !c.connect_pending {
            return;
        }
        c.connect_pending = false;
        let (Some(offer), Some(a)) = (c.media.offer_a.clone(), c.media.a_local) else {
            return;
        };
        let mut answer = anchored(&offer, a);
        answer.codecs.truncate(1);
        let answer_b = Media {
            rtp: None,
            ..answer.clone()
        };
        let toward_a = self.egress_answer(id, MediaExchange::Answer(answer_b));
        self.answered(now, wall, id, toward_a);
    }

    /// The caller's answer to the built-in endpoint's offer (a delayed-offer call): the
    /// endpoint's media starts with the codec the caller chose. True when it did.
    fn start_local_on_answer(&mut self, id: CallId, answer: &Media) -> bool {
        let Some(c) = self.calls.get_mut(&id) else {
            return false;
        };
        let Some(Egress::Local { cfg: l }) = c.egress.clone() else {
            return false;
        };
        if c.media.started || c.media.offer_a.is_some() {
            return false;
        }
        let Some(a) = c.media.a_local else {
            return false;
        };
        let Some((voice, law)) = answer
            .codecs
            .iter()
            .find_map(|k| media_plan::law_of(k).map(|law| (k, law)))
        else {
            return false;
        };
        c.media.codec = Some(mapping_codec_name(&voice.name));
        c.media.started = true;
        let mode = match l.answer {
            LocalAnswer::Echo => MediaMode::Echo,
            _ => MediaMode::Tone {
                hz: l.tone_hz as f32,
                payload_type: voice.payload_type,
                law,
            },
        };
        self.out.push_back(SwitchOutput::Media(MediaCommand::Start {
            call: id,
            a,
            b: None,
            a_peer: MediaPeer::of(answer),
            b_peer: MediaPeer::default(),
            pt_map: Vec::new(),
            mode,
        }));
        self.bearer_up(id);
        true
    }

    fn repoint(&mut self, id: CallId, side: Side, m: &Media) {
        if side == Side::A && self.start_local_on_answer(id, m) {
            return;
        }
        if self.calls.get(&id).is_some_and(|c| c.media.started) {
            self.out
                .push_back(SwitchOutput::Media(MediaCommand::Repoint {
                    call: id,
                    side,
                    peer: MediaPeer::of(m),
                }));
        } else if side == Side::A
            && let Some(c) = self.calls.get_mut(&id)
            && c.media.offer_a.is_none()
        {
            // The ACK's answer to a delayed offer we made: the media can start now.
            let a_peer = MediaPeer::of(m);
            if let (Some(a), Some(b)) = (c.media.a_local, c.media.b_local) {
                c.media.started = true;
                self.out.push_back(SwitchOutput::Media(MediaCommand::Start {
                    call: id,
                    a,
                    b: Some(b),
                    a_peer,
                    b_peer: MediaPeer::default(),
                    pt_map: Vec::new(),
                    mode: MediaMode::Relay,
                }));
                self.bearer_up(id);
            }
        }
    }

    fn answered(
        &mut self,
        now: Instant,
        wall: SystemTime,
        id: CallId,
        media: Option<MediaExchange>,
    ) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        c.phase = Phase::Answered;
        c.answered_at = Some(wall);
        let credit = c.credit;
        self.cancel_timer(id, CallTimer::NoAnswer);
        let max = self
            .cfg
            .general
            .max_call_seconds
            .map(|m| Duration::from_secs(u64::from(m)));
        if let Some(limit) = [max, credit].into_iter().flatten().min() {
            self.set_timer(id, now + limit, CallTimer::MaxDuration);
        }
        self.account(now, wall, id, true);
        info!(call = id, "call answered");
        self.send_ingress(
            now,
            wall,
            id,
            CallEvent::Connect {
                connected: None,
                media,
            },
        );
    }

    /// An egress attempt failed and the call fails over: the attempt gets a record of
    /// its own (written like a call's, not counted as one) and the call remembers the
    /// cause for the case that no trunk is left.
    fn attempt_failed(&mut self, now: Instant, wall: SystemTime, id: CallId, r: Release) {
        let Some(c) = self.calls.get(&id) else {
            return;
        };
        let mut record = self.record_of(id, c, now, wall, &r);
        record.failed_over = true;
        self.out.push_back(SwitchOutput::AttemptEnded {
            record: Box::new(record),
        });
        if let Some(c) = self.calls.get_mut(&id) {
            c.last_failure = Some(r);
            c.egress_call_id = None;
        }
    }

    /// The egress attempt ended: fail over when the rule says so and the call is not
    /// answered, else clear the call.
    fn egress_failed(&mut self, now: Instant, wall: SystemTime, id: CallId, r: Release) {
        let Some(c) = self.calls.get_mut(&id) else {
            return;
        };
        let answered = c.phase == Phase::Answered;
        let fails_over = !answered
            && c.plan
                .as_ref()
                .is_some_and(|p| p.fails_over_on(r.cause.value));
        if fails_over {
            debug!(call = id, cause = r.cause.value.0, "failing over");
            if let Some(Egress::Net { leg }) = c.egress.take() {
                self.by_leg.remove(&leg);
            }
            self.cancel_timer(id, CallTimer::LocalAnswer);
            self.attempt_failed(now, wall, id, r);
            self.attempt(now, wall, id);
        } else {
            if let Some(Egress::Net { leg }) = c.egress.take() {
                self.by_leg.remove(&leg);
            }
            self.clear(now, wall, id, r);
        }
    }

    fn send_ingress(&mut self, now: Instant, wall: SystemTime, id: CallId, event: CallEvent) {
        if let Some(leg) = self.calls.get(&id).map(|c| c.ingress) {
            self.send_leg(now, wall, leg, event);
        }
    }

    fn on_timer(&mut self, now: Instant, wall: SystemTime, id: CallId, timer: CallTimer) {
        match timer {
            CallTimer::LocalAnswer => self.local_answer(now, wall, id),
            CallTimer::ConnectMedia => self.connect_without_media(now, wall, id),
            CallTimer::Authorize => {
                info!(call = id, "no RADIUS answer in time");
                self.authorized(now, wall, id, AuthAnswer::Unavailable);
            }
            CallTimer::NoAnswer => {
                info!(call = id, "no answer");
                self.clear(
                    now,
                    wall,
                    id,
                    release(Q850Cause::NO_ANSWER, Initiator::Gateway),
                );
            }
            CallTimer::MaxDuration => {
                info!(call = id, "maximum call duration reached");
                self.clear(
                    now,
                    wall,
                    id,
                    release(Q850Cause::RECOVERY_ON_TIMER_EXPIRY, Initiator::Gateway),
                );
            }
        }
    }

    /// Ends a call: both legs are released with `r` (the side that released is already
    /// gone), the media stops and the record is written.
    fn clear(&mut self, now: Instant, wall: SystemTime, id: CallId, r: Release) {
        let Some(c) = self.calls.remove(&id) else {
            return;
        };
        for (at, t) in &c.timers {
            self.timers.remove(&(*at, id, *t));
        }
        let initiator = r.initiator;
        // Tell the legs that are still up.
        let toward_ingress = Release {
            initiator,
            ..r.clone()
        };
        if initiator != Initiator::Caller {
            self.send_leg(now, wall, c.ingress, CallEvent::Release(toward_ingress));
        }
        if let Some(Egress::Net { leg }) = &c.egress
            && initiator != Initiator::Callee
        {
            self.send_leg(now, wall, *leg, CallEvent::Release(r.clone()));
        }
        self.by_leg.remove(&c.ingress);
        if let Some(Egress::Net { leg }) = &c.egress {
            self.by_leg.remove(leg);
        }
        if !c.media.started {
            for a in [c.media.a_local, c.media.b_local].into_iter().flatten() {
                self.ports.release(a);
            }
        }
        let record = self.record_of(id, &c, now, wall, &r);
        info!(call = id, cause = r.cause.value.0, ?initiator, "call ended");
        self.out.push_back(SwitchOutput::Ended {
            record: Box::new(record),
            media: c.media.started,
        });
    }

    /// Tells RADIUS accounting (when configured) that a call was routed or answered.
    fn account(&mut self, now: Instant, wall: SystemTime, id: CallId, answered: bool) {
        if self.cfg.radius.is_none() {
            return;
        }
        let Some(c) = self.calls.get(&id) else {
            return;
        };
        // So far: the cause is a placeholder until the call ends.
        let r = release(Q850Cause::NORMAL_UNSPECIFIED, Initiator::Gateway);
        let record = Box::new(self.record_of(id, c, now, wall, &r));
        self.out.push_back(SwitchOutput::Accounting(if answered {
            CallPoint::Answer(record)
        } else {
            CallPoint::Attempt(record)
        }));
    }

    /// The record of a call as it stands at `wall`, ending with `r`.
    fn record_of(
        &self,
        id: CallId,
        c: &Call,
        now: Instant,
        wall: SystemTime,
        r: &Release,
    ) -> CallRecord {
        let initiator = r.initiator;
        CallRecord {
            call: id,
            node: self.cfg.general.node_name.clone(),
            ingress_trunk: c.ingress_trunk.clone(),
            egress_trunk: c.egress_trunk.clone(),
            egress_kind: c
                .egress_trunk
                .as_deref()
                .and_then(|t| self.cfg.trunk(t))
                .map(|t| leg_kind(&t.params)),
            rule: c.plan.as_ref().map(|p| p.rule.clone()),
            attempt: u32::try_from(c.next_attempt).unwrap_or(u32::MAX),
            failed_over: false,
            ingress_call_id: c.ingress_call_id.clone(),
            ingress_peer: c.ingress_peer,
            egress_call_id: c.egress_call_id.clone(),
            called_in: number_text(&c.setup.called),
            calling_in: c.setup.calling.as_ref().map(number_text),
            called_out: c.plan.as_ref().map(|p| number_text(&p.called)),
            calling_out: c
                .plan
                .as_ref()
                .and_then(|p| p.calling.as_ref().map(number_text)),
            start: c.start,
            answer: c.answered_at,
            end: wall,
            setup_ms: now.saturating_duration_since(c.started_at).as_millis() as u64,
            cause: r.cause,
            initiator,
            sip_status: r.sip_status,
            codec: c.media.codec.clone(),
            media: None,
        }
    }
}

/// A draw in `0..n` (xorshift64: load sharing needs spread, not secrecy).
fn xorshift(state: &mut u64, n: u32) -> u32 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state % u64::from(n.max(1))) as u32
}

/// The `egress` metrics label of a trunk kind.
fn leg_kind(p: &TrunkParams) -> &'static str {
    match p {
        TrunkParams::Sip(_) => "sip",
        TrunkParams::H323(_) => "h323",
        TrunkParams::Pri(_) | TrunkParams::Ss7(_) | TrunkParams::R2(_) => "tdm",
        TrunkParams::Local(_) => "local",
    }
}

fn mapping_codec_name(n: &mapping::model::CodecName) -> String {
    crate::sip::sdp::codecs::name_to_sdp(n).to_owned()
}

/// The shell's report on a separate H.245 connection.
#[derive(Debug)]
pub enum H245Input {
    /// Listening for `leg` at `addr`.
    Listening {
        /// The leg.
        leg: H323LegId,
        /// Where.
        addr: SocketAddr,
    },
    /// The H.245 connection of `leg` is up as `conn`.
    Up {
        /// The leg.
        leg: H323LegId,
        /// The connection.
        conn: ConnId,
    },
    /// Listening or connecting for `leg` failed.
    Failed {
        /// The leg.
        leg: H323LegId,
    },
    /// One TPKT payload on an H.245 connection.
    Frame {
        /// The connection.
        conn: ConnId,
        /// The payload.
        payload: Vec<u8>,
    },
    /// An H.245 connection closed.
    Down {
        /// The connection.
        conn: ConnId,
    },
}

/// Our H.225.0 call signalling address (the first listener), for
/// `sourceCallSignalAddress`.
fn h225_local(cfg: &Config) -> SocketAddr {
    cfg.listeners
        .h225
        .first()
        .map_or(SocketAddr::from(([127, 0, 0, 1], 1720)), |l| l.address)
}

/// The address of a SIP URI whose host is an IP literal (port 5060 when absent).
fn uri_addr(uri: &Uri) -> Option<SocketAddr> {
    use crate::sip::message::Host;
    let sip = uri.as_sip()?;
    let ip: std::net::IpAddr = match &sip.host {
        Host::Ipv4(v4) => (*v4).into(),
        Host::Ipv6(text) => text.parse::<std::net::Ipv6Addr>().ok()?.into(),
        Host::Name(_) => return None,
    };
    Some(SocketAddr::new(ip, sip.port.unwrap_or(5060)))
}

#[cfg(test)]
mod tests;

/// The leg's DTMF form for a trunk's `dtmf` (RFC 4733 goes in the media: the leg's
/// signalling form is never used then).
fn dtmf_form(d: crate::config::H323Dtmf) -> crate::h323::call_leg::DtmfForm {
    use crate::config::H323Dtmf;
    use crate::h323::call_leg::DtmfForm;
    match d {
        H323Dtmf::H245Signal => DtmfForm::Signal,
        H323Dtmf::Q931Keypad => DtmfForm::Keypad,
        H323Dtmf::H245Alphanumeric | H323Dtmf::Rfc4733 => DtmfForm::Alphanumeric,
    }
}
